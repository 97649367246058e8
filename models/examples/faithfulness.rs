//! Faithfulness of the local model's explanations: runs the real model over a labelled set
//! of registry findings (interactions, allergies, halal flags) in English and Malay, for
//! each prompt version and audience, and reports the guard's accept rate (the faithful
//! rate), generated tokens and decoding speed against a bare llama.cpp decode loop.
//!
//! ```text
//! cargo run -p rxgate-models --release --example faithfulness -- [--interactions N]
//!     [--versions v1,v2] [--audiences pharmacist,patient] [--dump FILE]
//! ```
//! `RXGATE_MODEL` picks the GGUF file (default: SmolLM2-135M-Instruct Q4_1).

use std::collections::BTreeMap;
use std::io::Write;

use rxgate_models::labelled_set as dataset;
use rxgate_models::llama::LlamaGenerator;
use rxgate_models::{
    Audience, ExplainRequest, Explainer, GuardedExplainer, Language, ModelConfig, PromptVersion, Source,
    bundled_lexicon,
};

#[derive(Default)]
struct Tally {
    n: u32,
    accepted: u32,
    tokens: u64,
    generate_ms: f64,
    total_ms: f64,
    reasons: BTreeMap<String, u32>,
}

fn reason_kind(r: &str) -> String {
    r.split(':').next().unwrap_or(r).to_string()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let interactions: usize = arg("--interactions").and_then(|v| v.parse().ok()).unwrap_or(50);
    let versions: Vec<PromptVersion> = arg("--versions")
        .map(|v| v.split(',').filter_map(PromptVersion::parse).collect())
        .unwrap_or_else(|| PromptVersion::ALL.to_vec());
    let audiences: Vec<Audience> = arg("--audiences")
        .map(|v| v.split(',').filter_map(Audience::parse).collect())
        .unwrap_or_else(|| Audience::ALL.to_vec());
    let mut dump = arg("--dump").map(|p| std::fs::File::create(p).expect("dump file"));

    let config = ModelConfig::from_env();
    let Some(path) = config.resolved_model_path() else {
        eprintln!("no model at {}: run scripts/setup or set RXGATE_MODEL", config.model_path.display());
        std::process::exit(2);
    };
    let config = ModelConfig { model_path: path, ..config };
    let generator = LlamaGenerator::load(&config).expect("the model loads");
    println!(
        "model: {} (loaded in {:.0} ms), {} threads, cap {} tokens, {}",
        generator.name(),
        generator.load_ms,
        config.threads,
        config.max_tokens,
        if config.seed.is_some() { "seeded sampling" } else { "greedy" }
    );

    let reg = dataset::registry();
    let cases = dataset::labelled_set(&reg, interactions);
    let with_mechanism = cases
        .iter()
        .filter(|c| matches!(&c.facts.detail, rxgate_models::FindingDetail::Interaction { mechanism: Some(_) }))
        .count();
    println!(
        "labelled set: {} findings ({} with a structured mechanism), each in en and ms",
        cases.len(),
        with_mechanism
    );

    let explainer = GuardedExplainer::new(generator, bundled_lexicon(), config.max_tokens);
    let mut tallies: BTreeMap<(PromptVersion, Language, Audience), Tally> = BTreeMap::new();
    for &version in &versions {
        for &language in &Language::ALL {
            for &audience in &audiences {
                let tally = tallies.entry((version, language, audience)).or_default();
                for case in &cases {
                    let e = explainer.explain(&ExplainRequest {
                        facts: case.facts.clone(),
                        language,
                        audience,
                        prompt_version: version,
                    });
                    tally.n += 1;
                    tally.tokens += u64::from(e.meta.generated_tokens);
                    tally.generate_ms += e.meta.timings.generate_ms;
                    tally.total_ms += e.meta.timings.total_ms;
                    if e.meta.source == Source::Llm {
                        tally.accepted += 1;
                    }
                    for r in &e.meta.fallback_reasons {
                        *tally.reasons.entry(reason_kind(r)).or_default() += 1;
                    }
                    if let Some(f) = dump.as_mut() {
                        let model_text = e.meta.rejected_text.clone().unwrap_or_else(|| e.text.clone());
                        writeln!(
                            f,
                            "{version}\t{language}\t{}\t{}\t{}\t{}\t{:?}\t{}",
                            audience.as_str(),
                            case.id,
                            e.meta.source,
                            e.meta.generated_tokens,
                            e.meta.fallback_reasons,
                            model_text.replace('\n', " / ")
                        )
                        .expect("dump");
                    }
                }
            }
        }
    }

    println!("\nfaithful rate = share of model outputs the explanation guard accepted");
    println!(
        "{:<4} {:<3} {:<11} {:>4} {:>9} {:>8} {:>10} {:>9}",
        "ver", "lng", "audience", "n", "faithful", "rate", "tok/expl", "tok/s"
    );
    let mut best: Option<(f64, PromptVersion)> = None;
    let mut per_version: BTreeMap<PromptVersion, (u32, u32)> = BTreeMap::new();
    let (mut all_tokens, mut all_ms, mut all_n) = (0u64, 0f64, 0u32);
    for ((v, l, a), t) in &tallies {
        println!(
            "{:<4} {:<3} {:<11} {:>4} {:>9} {:>7.1}% {:>10.1} {:>9.1}",
            v.as_str(),
            l.as_str(),
            a.as_str(),
            t.n,
            t.accepted,
            100.0 * f64::from(t.accepted) / f64::from(t.n.max(1)),
            t.tokens as f64 / f64::from(t.n.max(1)),
            t.tokens as f64 / (t.generate_ms / 1000.0).max(1e-9)
        );
        let e = per_version.entry(*v).or_default();
        e.0 += t.accepted;
        e.1 += t.n;
        all_tokens += t.tokens;
        all_ms += t.generate_ms;
        all_n += t.n;
    }
    for (v, (acc, n)) in &per_version {
        let rate = f64::from(*acc) / f64::from((*n).max(1));
        println!("{v}: faithful {acc}/{n} = {:.1}%", 100.0 * rate);
        if best.is_none_or(|(b, _)| rate > b) {
            best = Some((rate, *v));
        }
    }
    if let Some((rate, v)) = best {
        println!("best prompt version: {v} ({:.1}%)", 100.0 * rate);
    }
    println!("\nrejection reasons (count by kind):");
    let mut reasons: BTreeMap<(PromptVersion, Language), BTreeMap<String, u32>> = BTreeMap::new();
    for ((v, l, _), t) in &tallies {
        let r = reasons.entry((*v, *l)).or_default();
        for (k, c) in &t.reasons {
            *r.entry(k.clone()).or_default() += c;
        }
    }
    for ((v, l), r) in reasons {
        println!("  {v} {l}: {r:?}");
    }

    let ours = all_tokens as f64 / (all_ms / 1000.0).max(1e-9);
    println!(
        "\ngenerated tokens per explanation: {:.1} (cap {})",
        all_tokens as f64 / f64::from(all_n.max(1)),
        config.max_tokens
    );
    let generator = explainer.generator();
    let mut raw_tps = Vec::new();
    let mut llama_tps = Vec::new();
    // The bare loop reads the same chat prompt as a real request (the first finding,
    // English, pharmacist) so both decode at the same context length.
    let first = &cases[0].facts;
    let body = rxgate_models::render_template(first, Language::En, Audience::Pharmacist).body;
    let kind = rxgate_models::PromptKind::for_request(first, Audience::Pharmacist);
    let prompt = rxgate_models::render_prompt(versions[0], kind, Language::En, &body, first);
    let chat = generator.format_prompt(&prompt).expect("chat template");
    for _ in 0..3 {
        let s = generator.raw_decode_speed(&chat, 128).expect("raw decode");
        raw_tps.push(f64::from(s.generated_tokens) / (s.generate_ms / 1000.0));
        llama_tps.push(f64::from(s.llama_eval_tokens) / (s.llama_eval_ms / 1000.0));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let raw = median(&mut raw_tps);
    let llama = median(&mut llama_tps);
    println!("decode speed, same model and {} threads, this run:", config.threads);
    println!("  explainer (chat template, sampler chain, detokenise, early stop): {ours:.1} tokens/s");
    println!("  bare llama.cpp loop, same prompt (greedy, 128 tokens, median of 3): {raw:.1} tokens/s");
    println!("  llama.cpp's own eval timer in that loop (llama_perf_context):     {llama:.1} tokens/s");
    println!("  explainer / bare loop: {:.0}%", 100.0 * ours / raw);
}
