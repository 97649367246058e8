//! `rxgate`: the pharmacy-safety gateway binary. This file only parses the command line,
//! sets up logging and hands over; the work lives in the modules.

mod audit;
mod auth;
mod cds_auth;
mod config;
mod demo;
mod dispense;
mod http;
mod knowledge_store;
mod mcp;
mod operations;
mod startup;
mod sync;
mod telemetry;
mod wire;
mod workflow;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use rmcp::ServiceExt;

#[derive(Parser)]
#[command(name = "rxgate", version, about = "Pharmacy-safety gateway: deterministic checks served over MCP")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the tools over MCP on stdin/stdout, as principal `agent`.
    Mcp {
        /// Knowledge registry folder (default: $RXGATE_KNOWLEDGE_DIR, else the built-in one).
        #[arg(long)]
        knowledge: Option<PathBuf>,
        /// The prescription database of the workflow tools (`postgres://…` or a SQLite file;
        /// default: the SQLite file in the data dir). Opened on the first workflow call.
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
        #[command(flatten)]
        data: config::DataDirArgs,
    },
    /// Serve HTTP: MCP (Streamable HTTP) at /mcp, REST at /api/v1, /healthz, /metrics.
    Serve(config::ServeArgs),
    /// Print a signed bearer token for a principal (operators and tests).
    Token(config::TokenArgs),
    /// Work with knowledge registries.
    Knowledge {
        #[command(subcommand)]
        command: KnowledgeCommand,
    },
    /// Work with the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Run the safety eval suites through MCP against `rxgate mcp`; exit 1 on a critical miss.
    Eval(rxgate_evals::EvalArgs),
}

#[derive(Subcommand)]
enum KnowledgeCommand {
    /// Validate a registry folder; prints `file:line:column: rule: message` for every problem.
    Validate {
        /// The folder (default: tools/knowledge/data).
        dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Read the whole audit log and check its hash chain; prints OK or the first break
    /// (seq and kind); exit 1 on a break.
    Verify {
        /// The database (`postgres://…` or a SQLite file); default: the SQLite file in the data dir.
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
        #[command(flatten)]
        data: config::DataDirArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // stdout carries the MCP protocol in stdio mode: logs go to stderr, always. A server
    // says what it does by default; the one-shot commands stay quiet unless RUST_LOG asks.
    telemetry::init_logging(if matches!(cli.command, Command::Serve(_)) { "info" } else { "error" });
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rxgate: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Mcp { knowledge, database_url, data } => {
            let database = database_url.unwrap_or_else(|| startup::sqlite_path(&data.data_dir));
            let dir = knowledge.or_else(|| std::env::var_os("RXGATE_KNOWLEDGE_DIR").map(PathBuf::from));
            let snapshot = knowledge_store::load_initial(dir.as_deref())?;
            tracing::info!(version = %snapshot.version, hash = %snapshot.hash, "knowledge loaded");
            let store = Arc::new(knowledge_store::KnowledgeStore::new(snapshot));
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            runtime.block_on(async move {
                if let Some(dir) = dir {
                    tokio::spawn(knowledge_store::reload_on_sighup(store.clone(), dir));
                }
                let service = mcp::RxgateMcp::new(store, mcp::StorageSource::lazy(database))
                    .serve(rmcp::transport::stdio())
                    .await
                    .context("starting MCP on stdio")?;
                service.waiting().await.context("MCP session")?;
                anyhow::Ok(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(args) => {
            let config = config::Config::from_args(args)?;
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            runtime.block_on(async move {
                let app = startup::Application::build(config).await?;
                tracing::info!(address = %app.address(), "listening");
                // One line on stdout for whoever started us (tests, scripts): where to connect.
                println!("rxgate listening on http://{}", app.address());
                app.run_until_stopped().await
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Token(args) => {
            let keys = auth::JwtKeys::new(&args.data.jwt_secret()?);
            let principal = auth::Principal::new(args.sub, args.role);
            println!("{}", keys.issue(&principal, args.ttl, chrono::Utc::now().timestamp())?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval(args) => rxgate_evals::run_cli(args),
        Command::Audit { command: AuditCommand::Verify { database_url, data } } => {
            let database = database_url.unwrap_or_else(|| startup::sqlite_path(&data.data_dir));
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let verdict = runtime.block_on(async {
                let storage = rxgate_storage::Storage::connect(&database).await.context("opening the database")?;
                let verdict = audit::verify_log(&storage).await;
                storage.close().await;
                verdict
            })?;
            match verdict {
                Ok(n) => {
                    println!("audit log OK: {n} entries, chain intact");
                    Ok(ExitCode::SUCCESS)
                }
                Err(b) => {
                    println!(
                        "audit log BROKEN at seq {}: {} (expected seq {})",
                        b.seq,
                        b.kind.as_str(),
                        b.expected_seq
                    );
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Knowledge { command: KnowledgeCommand::Validate { dir } } => {
            let dir = dir.unwrap_or_else(|| PathBuf::from("tools/knowledge/data"));
            let files = knowledge_store::read_dir(&dir)?;
            match rxgate_knowledge::load(&files) {
                Ok(snapshot) => {
                    let r = &snapshot.registry;
                    println!(
                        "{}: valid — version {}, hash {}, {} generics, {} products, {} rules, {} curated interactions",
                        dir.display(),
                        snapshot.version,
                        snapshot.hash,
                        r.generics().len(),
                        r.products().len(),
                        r.ddi_rules().len(),
                        r.curated().len()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(problems) => {
                    for p in &problems {
                        println!("{}", with_dir(&dir, p));
                    }
                    eprintln!("{} problem(s); the registry was not accepted", problems.len());
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}

fn with_dir(dir: &std::path::Path, p: &rxgate_knowledge::Diagnostic) -> String {
    format!("{}/{p}", dir.display())
}
