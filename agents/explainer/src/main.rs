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
    /// rxgate's base URL.
    #[arg(long, env = "RXGATE_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Agent token (`rxgate token --role agent --sub explainer`); read from the environment
    /// only, so that it does not show in the process list.
    #[arg(long, env = "RXGATE_TOKEN", hide_env_values = true, hide = true)]
    token: String,
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
    #[arg(long, env = "RXGATE_MODEL_MS")]
    model_ms: Option<String>,
    /// Prompt version for English and for Malay.
    #[arg(long, default_value = "v1")]
    prompt_en: String,
    #[arg(long, default_value = "v1")]
    prompt_ms: String,
    /// Cap on generated tokens per prescription.
    #[arg(long, default_value_t = 300)]
    tokens_per_rx: u32,
    /// How long to wait for the server to answer at start.
    #[arg(long, default_value_t = 60)]
    wait_secs: u64,
}

fn prompt(text: &str) -> anyhow::Result<PromptVersion> {
    PromptVersion::parse(text).with_context(|| format!("unknown prompt version {text:?}"))
}

fn models(cli: &Cli) -> anyhow::Result<BTreeMap<Language, LanguageModel>> {
    let mut wanted = Vec::new();
    for part in cli.model_languages.split(',').map(str::trim).filter(|p| !p.is_empty() && *p != "none") {
        wanted.push(Language::parse(part).with_context(|| format!("unknown language {part:?}"))?);
    }
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

async fn connect(cli: &Cli) -> anyhow::Result<Connection> {
    let url = format!("{}/mcp", cli.server.trim_end_matches('/'));
    let started = Instant::now();
    loop {
        match Connection::connect_http(&url, Some(&cli.token)).await {
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
    let config = AgentConfig {
        models: models(&cli)?,
        tokens_per_rx: cli.tokens_per_rx,
        poll_interval: Duration::from_millis(cli.interval_ms),
        ..AgentConfig::default()
    };
    let mcp = connect(&cli).await?;
    eprintln!("rxgate-explainer: connected to {} at {}", mcp.server, cli.server);
    let mut agent = Agent::new(mcp, Rest::new(&cli.server, &cli.token), config);
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
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("info,llama-cpp-2=warn,llama_cpp_2=warn,rmcp=warn")
            }),
        )
        .init();
    let cli = Cli::parse();
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
