//! `rxgate-agent`: see the crate documentation (`src/lib.rs`) and `--help`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use rxgate_agent::agent::{Agent, scan_loop};
use rxgate_agent::config::{self, Overrides};
use rxgate_agent::decode;
use rxgate_agent::recording;
use rxgate_agent::source::{self, RecordingSource};

#[derive(Parser)]
#[command(
    name = "rxgate-agent",
    version,
    about = "Counter device agent: HID barcode scanners and label printers for rxgate"
)]
struct Cli {
    /// TOML configuration file.
    #[arg(long, env = "RXGATE_AGENT_CONFIG")]
    config: Option<PathBuf>,
    /// rxgate base URL (default http://127.0.0.1:8080).
    #[arg(long, env = "RXGATE_SERVER")]
    server: Option<String>,
    /// Device token (`rxgate token --role device --sub WORKSTATION`).
    #[arg(long, env = "RXGATE_DEVICE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// File holding the device token.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Journals and the default PDF spool.
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// ZPL printer `host:port`.
    #[arg(long)]
    printer: Option<String>,
    /// List HID interfaces and which configured scanner each would be, then exit.
    #[arg(long)]
    list: bool,
    /// Replay a recorded HID report stream (`*.hidrec`) as if a scanner sent it, post the
    /// scans, print each answer as a JSON line, then exit.
    #[arg(long, value_name = "FILE")]
    simulate: Option<PathBuf>,
    /// With --simulate: keep the recording's pauses.
    #[arg(long)]
    real_time: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Read scanners and print jobs until stopped (the default).
    Run,
    /// Check the server, the printer and the journals; print JSON; exit 1 unless healthy.
    Health,
}

fn overrides(cli: &Cli) -> Overrides {
    Overrides {
        server: cli.server.clone(),
        token: cli.token.clone(),
        token_file: cli.token_file.clone(),
        state_dir: cli.state_dir.clone(),
        printer: cli.printer.clone(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rxgate-agent: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if cli.list {
        let scanners = match &cli.config {
            Some(path) => config::parse_file(&std::fs::read_to_string(path)?)?.scanners,
            None => Vec::new(),
        };
        for interface in source::list(&scanners)? {
            println!("{}", serde_json::to_string(&interface)?);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let config = config::load(cli.config.as_deref(), overrides(&cli))?;
    let agent = Agent::open(&config)?;

    if let Some(path) = &cli.simulate {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let rec = recording::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let decoder = decode::decoder(rec.format, rec.framing.clone(), rec.report_id);
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let source = RecordingSource::new(rec, cli.real_time);
        scan_loop(source, decoder, &name, &agent, &|| true);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let flush = agent.flush_scans().await;
            for (item, answer) in &flush.answered {
                let line = serde_json::json!({
                    "scan_id": item.scan_id, "scan": item.scan, "status": answer.status,
                    "outcome": answer.outcome(), "duplicate": answer.duplicate(),
                    "problems": answer.body["problems"], "rx_id": answer.body["rx_id"], "line_no": answer.body["line_no"],
                });
                println!("{line}");
            }
            if flush.stopped.is_none() || tokio::time::Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let left = agent.pending_scans();
        if left > 0 {
            eprintln!("rxgate-agent: {left} scan(s) kept in the journal for the next run");
            return Ok(ExitCode::FAILURE);
        }
        return Ok(ExitCode::SUCCESS);
    }

    match cli.command.unwrap_or(Command::Run) {
        Command::Health => {
            let report = agent.health(&config.state_dir).await;
            println!("{}", serde_json::to_string_pretty(&report)?);
            let healthy = report["server"]["reachable"] == true && report["pending_scans"] == 0;
            Ok(if healthy { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Run => {
            let running = Arc::new(AtomicBool::new(true));
            let mut threads = Vec::new();
            for (scanner, device) in source::open_scanners(&config.scanners)? {
                let agent = agent.clone();
                let running = running.clone();
                threads.push(std::thread::spawn(move || {
                    let decoder = decode::decoder(scanner.format, scanner.framing(), scanner.report_id);
                    scan_loop(device, decoder, &scanner.name, &agent, &|| running.load(Ordering::Relaxed));
                    tracing::warn!(scanner = %scanner.name, "scanner stopped");
                }));
            }
            if threads.is_empty() {
                tracing::warn!("no configured scanner is connected; posting queued scans and printing only");
            }
            let uploader = agent.clone();
            let printer = agent.clone();
            tokio::select! {
                () = async move { uploader.run_uploader().await } => {}
                () = async move { printer.run_printer(config.print_poll).await } => {}
                _ = tokio::signal::ctrl_c() => tracing::info!("stopping"),
            }
            running.store(false, Ordering::Relaxed);
            for t in threads {
                let _ = t.join();
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
