//! Decoding speed of rxgate's llama.cpp generator, for `models/bench/speed` to compare with
//! llama.cpp's own `llama-bench` on the same model and threads in the same run.
//!
//! Prints one JSON line: the generator's tokens/s on a bare decode loop from an empty-ish
//! context (what `llama-bench -p 0 -n N` measures, `tg`) and on real explanation requests
//! (chat template, sampler chain, detokenising, early stop), median of `--reps`.
//!
//! ```text
//! cargo run -p rxgate-models --release --example speed -- [--tokens 128] [--reps 5]
//! ```

use rxgate_models::llama::LlamaGenerator;
use rxgate_models::{ModelConfig, RenderedPrompt};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let tokens: u32 = arg("--tokens").and_then(|v| v.parse().ok()).unwrap_or(128);
    let reps: usize = arg("--reps").and_then(|v| v.parse().ok()).unwrap_or(5);
    let config = ModelConfig::from_env();
    let Some(path) = config.resolved_model_path() else {
        eprintln!("no model at {}: run scripts/setup or set RXGATE_MODEL", config.model_path.display());
        std::process::exit(2);
    };
    let config = ModelConfig { model_path: path, ..config };
    let generator = LlamaGenerator::load(&config).expect("the model loads");

    // `llama-bench` tg starts from an empty context: one BOS-like token is the closest the
    // bare loop gets (it needs one token to start from).
    let mut bare = Vec::new();
    for _ in 0..reps {
        let s = generator.raw_decode_speed("The", tokens).expect("bare decode");
        bare.push(f64::from(s.generated_tokens) / (s.generate_ms / 1000.0));
    }
    // A real request through `Generator::generate`, capped at the same token count.
    let prompt = RenderedPrompt {
        system: "You rewrite medical text in plain English. Keep every drug name.".to_string(),
        user: "Rewrite in plain words and then explain it in detail: Clarithromycin inhibits CYP3A4, which clears \
               amlodipine, so amlodipine levels rise. This increases the risk of hypotension and acute kidney \
               injury."
            .to_string(),
    };
    let mut requests = Vec::new();
    let mut request_tokens = Vec::new();
    for _ in 0..reps {
        let g = rxgate_models::Generator::generate(&generator, &prompt, tokens).expect("generate");
        requests.push(f64::from(g.generated_tokens) / (g.generate_ms / 1000.0));
        request_tokens.push(f64::from(g.generated_tokens));
    }
    println!(
        "{{\"model\": {:?}, \"threads\": {}, \"tokens\": {tokens}, \"reps\": {reps}, \"bare_loop_tps\": {:.2}, \
         \"request_tps\": {:.2}, \"request_tokens\": {:.0}}}",
        generator.name(),
        config.threads,
        median(bare),
        median(requests),
        median(request_tokens)
    );
}
