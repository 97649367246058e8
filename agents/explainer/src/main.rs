//! `rxgate-explainer`: see the crate documentation (`src/lib.rs`) and `--help`.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use rxgate_evals::Connection;
use rxgate_explainer::agent::LanguageModel;
use rxgate_explainer::server::Rest;
use rxgate_explainer::{Agent, AgentConfig};
use rxgate_models::{Availability, Language, ModelConfig, PromptVersion, load_explainer};

#[derive(Parser)]
#[command(
    name = "rxgate-explainer",
    version,
    about = "Explains the findings of verified prescriptions in English and Malay (local model, guarded; \
             templates otherwise) and posts them to rxgate"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// rxgate's base URL.
    #[arg(long, env = "RXGATE_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Agent token (`rxgate token --role agent --sub explainer`); read from the environment
    /// only, so that it does not show in the process list.
    #[arg(long, env = "RXGATE_TOKEN", hide_env_values = true, hide = true)]
    token: Option<String>,
    /// One pass over the queue, then exit.
    #[arg(long)]
    once: bool,
    /// How often the queue is read, in milliseconds: the pause between passes, and the pace
    /// of the reads between model calls while the model works through a backlog. Each read
    /// is audited, so this is not set lower than a pharmacist would notice.
    #[arg(long, default_value_t = 3000)]
    interval_ms: u64,
    /// Languages the model writes (comma-separated, `none` for templates only); the others
    /// get template text. Default: English only — the measured Malay faithful rate of the
    /// default model is near zero (README, "Explanations").
    #[arg(long, default_value = "en")]
    model_languages: String,
    /// A separate GGUF file for Malay (e.g. Gemma 3 270M); implies Malay is model-written.
    #[arg(long, env = "RXGATE_MODEL_MS", global = true)]
    model_ms: Option<String>,
    /// Prompt version for English and for Malay.
    #[arg(long, default_value = "v1", global = true)]
    prompt_en: String,
    #[arg(long, default_value = "v1", global = true)]
    prompt_ms: String,
    /// Cap on generated tokens per prescription.
    #[arg(long, default_value_t = 300)]
    tokens_per_rx: u32,
    /// How long to wait for the server to answer at start.
    #[arg(long, default_value_t = 60)]
    wait_secs: u64,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Measure the local model's faithful rate (share of outputs the explanation guard
    /// accepts) on a sample of the labelled set of registry findings, in English and Malay;
    /// prints JSON on stdout. `rxgate eval` runs this for its explanation quality section.
    Faithfulness(FaithfulnessArgs),
}

#[derive(clap::Args)]
struct FaithfulnessArgs {
    /// Findings to explain, spread evenly over the labelled set (each in every language).
    #[arg(long, default_value_t = 24)]
    sample: usize,
    /// Curated interactions in the labelled set (the faithfulness example's default).
    #[arg(long, default_value_t = 50)]
    interactions: usize,
    /// Languages to measure (comma-separated).
    #[arg(long, default_value = "en,ms")]
    languages: String,
    /// No model call starts after this many seconds; the figures then cover what ran.
    #[arg(long, default_value_t = 120)]
    time_budget_secs: u64,
}

fn languages(text: &str) -> anyhow::Result<Vec<Language>> {
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty() && *p != "none")
        .map(|p| Language::parse(p).with_context(|| format!("unknown language {p:?}")))
        .collect()
}

/// `rxgate-explainer faithfulness`: never fails for want of a model — it says so in the
/// JSON, so the eval table can show the reason instead of a rate.
fn faithfulness(cli: &Cli, args: &FaithfulnessArgs) -> anyhow::Result<()> {
    use rxgate_explainer::faithfulness::{Plan, measure, skipped};
    use rxgate_models::labelled_set;

    let wanted = languages(&args.languages)?;
    let mut config = ModelConfig::from_env();
    // One decoding thread unless told otherwise: on a 2-core CI machine with anything else
    // running, llama.cpp's two spinning threads were measured at 133 s for one explanation,
    // against about 1 s with one thread.
    if std::env::var_os("RXGATE_MODEL_THREADS").is_none() {
        config.threads = 1;
    }
    let (main, availability) = load_explainer(&config);
    let Availability::Model { name, .. } = &availability else {
        println!("{}", skipped(&availability.notice()));
        return Ok(());
    };
    let malay = cli
        .model_ms
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .map(|path| load_explainer(&ModelConfig { model_path: path.into(), ..config.clone() }));
    let mut explainers: BTreeMap<Language, &dyn rxgate_models::Explainer> = BTreeMap::new();
    let mut plan_languages = Vec::new();
    let mut model = name.clone();
    for &language in &wanted {
        let explainer: &dyn rxgate_models::Explainer = match (&malay, language) {
            (Some((e, Availability::Model { name: ms, .. })), Language::Ms) => {
                model = format!("{model}; ms: {ms}");
                e.as_ref()
            }
            _ => main.as_ref(),
        };
        explainers.insert(language, explainer);
        let version = prompt(if language == Language::Ms { &cli.prompt_ms } else { &cli.prompt_en })?;
        plan_languages.push((language, version));
    }

    let registry = labelled_set::registry();
    let cases = labelled_set::labelled_set(&registry, args.interactions);
    let sample = labelled_set::sample(&cases, args.sample);
    let drug_names = registry
        .generics()
        .flat_map(|(_, g)| std::iter::once(&g.inn).chain(&g.synonyms).chain(&g.brands))
        .map(|n| n.trim().to_lowercase())
        .filter(|n| n.chars().filter(|c| c.is_alphabetic()).count() >= 4)
        .collect();
    let plan = Plan {
        labelled_set: cases.len(),
        languages: plan_languages,
        time_budget: Duration::from_secs(args.time_budget_secs),
        max_tokens: config.max_tokens,
        threads: config.threads,
    };
    let report = measure(&explainers, &model, &sample, &plan, &rxgate_models::bundled_lexicon(), &drug_names);
    println!("{report}");
    Ok(())
}

fn prompt(text: &str) -> anyhow::Result<PromptVersion> {
    PromptVersion::parse(text).with_context(|| format!("unknown prompt version {text:?}"))
}

fn models(cli: &Cli) -> anyhow::Result<BTreeMap<Language, LanguageModel>> {
    let wanted = languages(&cli.model_languages)?;
    let mut out = BTreeMap::new();
    let config = ModelConfig::from_env();
    let (explainer, availability) = load_explainer(&config);
    eprintln!("rxgate-explainer: {}", availability.notice());
    let main: Arc<dyn rxgate_models::Explainer + Send + Sync> = Arc::from(explainer);
    if matches!(availability, Availability::Model { .. }) {
        for language in wanted {
            let version = prompt(if language == Language::Ms { &cli.prompt_ms } else { &cli.prompt_en })?;
            out.insert(language, LanguageModel { explainer: main.clone(), prompt_version: version });
        }
    }
    if let Some(path) = cli.model_ms.as_deref().filter(|p| !p.trim().is_empty()) {
        let ms_config = ModelConfig { model_path: path.into(), ..config };
        let (explainer, availability) = load_explainer(&ms_config);
        eprintln!("rxgate-explainer (Malay): {}", availability.notice());
        if matches!(availability, Availability::Model { .. }) {
            out.insert(
                Language::Ms,
                LanguageModel { explainer: Arc::from(explainer), prompt_version: prompt(&cli.prompt_ms)? },
            );
        }
    }
    let by_model: Vec<String> = out.keys().map(|l| l.as_str().to_string()).collect();
    eprintln!(
        "rxgate-explainer: model-written languages: [{}]; every other explanation comes from templates",
        by_model.join(", ")
    );
    Ok(out)
}

async fn connect(cli: &Cli, token: &str) -> anyhow::Result<Connection> {
    let url = format!("{}/mcp", cli.server.trim_end_matches('/'));
    let started = Instant::now();
    loop {
        match Connection::connect_http(&url, Some(token)).await {
            Ok(c) => {
                for tool in ["rx_queue", "rx_get"] {
                    if !c.has(tool) {
                        bail!("{url} does not list the MCP tool {tool}");
                    }
                }
                return Ok(c);
            }
            Err(e) if started.elapsed() < Duration::from_secs(cli.wait_secs) => {
                tracing::debug!(error = format!("{e:#}"), "server not ready yet");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let token = cli
        .token
        .clone()
        .filter(|t| !t.is_empty())
        .context("RXGATE_TOKEN is not set (`rxgate token --role agent --sub explainer`)")?;
    let config = AgentConfig {
        models: models(&cli)?,
        tokens_per_rx: cli.tokens_per_rx,
        poll_interval: Duration::from_millis(cli.interval_ms),
        ..AgentConfig::default()
    };
    let mcp = connect(&cli, &token).await?;
    eprintln!("rxgate-explainer: connected to {} at {}", mcp.server, cli.server);
    let mut agent = Agent::new(mcp, Rest::new(&cli.server, &token), config);
    loop {
        if let Err(e) = agent.pass().await {
            tracing::warn!(error = format!("{e:#}"), "pass failed; retrying");
        }
        if cli.once {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(cli.interval_ms)) => {}
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    let t = agent.total;
    eprintln!(
        "rxgate-explainer: {} prescriptions explained, {} explanations stored, {} templates upgraded to model text \
         ({} model-written, {} fallbacks), {:.1} generated tokens per prescription",
        t.prescriptions,
        t.stored,
        t.upgraded,
        t.from_model,
        t.fallbacks,
        t.tokens_per_prescription()
    );
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A measurement logs every rejected text at info; its figures are the output.
    let default_filter = if cli.command.is_some() {
        "warn,llama-cpp-2=error,llama_cpp_2=error"
    } else {
        "info,llama-cpp-2=warn,llama_cpp_2=warn,rmcp=warn"
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .init();
    if let Some(Command::Faithfulness(args)) = &cli.command {
        return match faithfulness(&cli, args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("rxgate-explainer faithfulness: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rxgate-explainer: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rxgate-explainer: {e:#}");
            ExitCode::FAILURE
        }
    }
}
