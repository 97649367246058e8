//! `rxgate-evals`: clinical safety eval suites run through the real MCP interface.
//!
//! Suites are data (`evals/suites/*.toml`, bundled). [`run_cli`] starts `rxgate mcp` as a
//! child process, connects with rmcp's client, lists the tools, calls them for every case,
//! judges each result ([`judge`]), prints a per-category table ending with the line
//! `N passed, M failed`, and writes `index.html` and `results.json`. A suite whose tool the
//! server does not list is skipped with a reason, never counted as passed. The explanation
//! quality section ([`explanations`]) runs the local model out of process, in
//! `rxgate-explainer`, because this binary links no model.

pub mod client;
pub mod explanations;
pub mod judge;
pub mod prescription;
pub mod report;
pub mod run;
pub mod suite;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

pub use client::{Connection, ServerTarget};

/// `rxgate eval [SUITE…] [--report DIR] [--server-bin PATH]`.
#[derive(Debug, Clone, clap::Args)]
pub struct EvalArgs {
    /// Suites to run, by id or category (`ddi`, `halal`…) or a path to a suite `.toml`; all when none.
    pub suites: Vec<String>,
    /// Folder for `index.html` and `results.json`.
    #[arg(long, default_value = "evals-report")]
    pub report: PathBuf,
    /// The rxgate binary to start as `BIN mcp` (default: $RXGATE_BIN, else the running binary).
    #[arg(long)]
    pub server_bin: Option<PathBuf>,
    /// Connect to a running `rxgate serve` at this Streamable HTTP URL instead (`http://127.0.0.1:8080/mcp`;
    /// bearer token from $RXGATE_TOKEN, e.g. `rxgate token --role agent --sub evals`).
    #[arg(long, conflicts_with = "server_bin")]
    pub server_url: Option<String>,
    /// Findings of the labelled set the local model explains for the explanation quality
    /// section (each in English and Malay); 0 skips it. About 1 s per explanation on an idle
    /// 2-core machine.
    #[arg(long, default_value_t = 24)]
    pub explain_sample: usize,
    /// No model call of the explanation quality section starts after this many seconds.
    #[arg(long, default_value_t = 120)]
    pub explain_budget_secs: u64,
    /// The `rxgate-explainer` binary that runs the model (default: $RXGATE_EXPLAINER_BIN,
    /// else the one beside the server binary).
    #[arg(long)]
    pub explainer_bin: Option<PathBuf>,
}

/// Resolves where the server is: `--server-url`, `--server-bin`, `$RXGATE_BIN`, else an
/// `rxgate` next to the current executable.
pub fn server_target(args: &EvalArgs) -> anyhow::Result<ServerTarget> {
    if let Some(url) = &args.server_url {
        return Ok(ServerTarget::StreamableHttp(url.clone()));
    }
    if let Some(bin) = &args.server_bin {
        return Ok(ServerTarget::ChildProcess(bin.clone()));
    }
    if let Some(bin) = std::env::var_os("RXGATE_BIN").filter(|b| !b.is_empty()) {
        return Ok(ServerTarget::ChildProcess(PathBuf::from(bin)));
    }
    let me = std::env::current_exe().context("finding the current executable")?;
    let dir = me.parent().context("the current executable has no folder")?;
    Ok(ServerTarget::ChildProcess(dir.join(format!("rxgate{}", std::env::consts::EXE_SUFFIX))))
}

/// Runs the selected suites against the server and returns the run (no printing).
pub fn run_blocking(suites: &[suite::Suite], target: &ServerTarget, progress: bool) -> anyhow::Result<run::EvalRun> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let conn = Connection::connect(target).await?;
        let result = run::run_suites(&conn, suites, progress).await;
        conn.close().await;
        result
    })
}

/// The whole command: runs, prints the table and the closing line, writes the report.
/// Exit code 1 on any critical miss, or on any guard escape in the explanation quality
/// section.
pub fn run_cli(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let suites = suite::select(&args.suites)?;
    let target = server_target(&args)?;
    let mut run = run_blocking(&suites, &target, true)?;
    let beside = match &target {
        ServerTarget::ChildProcess(bin) => Some(bin.clone()),
        ServerTarget::StreamableHttp(_) => std::env::current_exe().ok(),
    };
    eprintln!("explanation quality: running the local model on {} findings…", args.explain_sample);
    let quality = explanations::measure(&explanations::QualityConfig {
        sample: args.explain_sample,
        time_budget: Duration::from_secs(args.explain_budget_secs),
        explainer: explanations::find_explainer(args.explainer_bin.as_deref(), beside.as_deref()),
    });
    let escapes = quality.guard_escapes();
    run.explanation_quality = Some(quality);
    let rows = report::category_rows(&run.results);
    let total = report::totals(&rows);
    print!("{}", report::table(&rows));
    for s in run.suites.iter().filter(|s| s.skipped.is_some()) {
        println!("skipped {} ({} cases): {}", s.meta.id, s.cases, s.skipped.as_deref().unwrap_or_default());
    }
    if let Some(q) = &run.explanation_quality {
        print!("{}", explanations::table(q));
    }
    report::write_report(&args.report, &run, &rows)?;
    println!("report: {}", args.report.join("index.html").display());
    if total.critical_misses > 0 {
        println!("{} critical miss(es):", total.critical_misses);
        for r in run.results.iter().filter(|r| r.critical_miss()) {
            let detail = r.judgement.as_ref().map(|j| j.detail.as_str()).unwrap_or_default();
            println!("  {}/{}: {detail}", r.suite, r.id);
        }
    }
    println!("{} passed, {} failed", total.passed(), total.failed());
    // A low faithful rate is a figure; an unfaithful text the guard let through is a bug.
    Ok(if total.critical_misses > 0 || escapes > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
