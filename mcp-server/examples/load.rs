//! Bounded load test of `rxgate serve` on loopback: `verify_prescription` over REST
//! (`POST /api/v1/tools/verify_prescription`) and over MCP (`tools/call`, Streamable HTTP),
//! each against `/healthz` on the same server in the same run, at 20 and 200 concurrent
//! clients. Reports throughput and latency percentiles, and each as a ratio to `/healthz`,
//! so the figures mean something on any machine.
//!
//! ```text
//! source scripts/env && cargo run --release -p rxgate --example load -- [SECONDS] [CLIENTS,…]
//! ```
//! Defaults: 5 s per measurement, clients 20,200. Uses `$RXGATE_BIN` (the release binary).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const SECRET: &str = "load-test-secret-load-test-secret-0123";

fn prescription() -> Value {
    json!({
        "patient": {"age_years": 67, "weight_kg": 72, "sex": "male", "egfr_ml_min_1_73m2": 55,
            "allergies": ["penicillin"], "active_medications": ["simvastatin"], "halal_preference": "halal_only"},
        "items": [
            {"line_no": 1, "drug": "amlodipine", "dose": {"value": 5, "unit": "mg"}, "frequency": "od", "route": "oral"},
            {"line_no": 2, "drug": "clarithromycin", "dose": {"value": 500, "unit": "mg"}, "frequency": "bd", "route": "oral"},
            {"line_no": 3, "drug": "paracetamol", "dose": {"value": 1, "unit": "g"}, "frequency": "q6h", "route": "oral"},
        ],
    })
}

#[derive(Clone, Copy, Debug)]
enum Target {
    Healthz,
    Rest,
    Mcp,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Healthz => "GET /healthz",
            Target::Rest => "REST verify_prescription",
            Target::Mcp => "MCP verify_prescription",
        }
    }
}

struct Run {
    requests: usize,
    errors: usize,
    seconds: f64,
    latencies: Vec<Duration>,
}

impl Run {
    fn throughput(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[index]
    }
}

async fn one(client: &reqwest::Client, base: &str, token: &str, target: Target) -> bool {
    let response = match target {
        Target::Healthz => client.get(format!("{base}/healthz")).send().await,
        Target::Rest => {
            client
                .post(format!("{base}/api/v1/tools/verify_prescription"))
                .bearer_auth(token)
                .json(&prescription())
                .send()
                .await
        }
        Target::Mcp => {
            let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "verify_prescription", "arguments": prescription()}});
            client
                .post(format!("{base}/mcp"))
                .bearer_auth(token)
                .header("Accept", "application/json, text/event-stream")
                .header("MCP-Protocol-Version", "2025-11-25")
                .json(&body)
                .send()
                .await
        }
    };
    match response {
        Ok(r) if r.status().is_success() => {
            let text = r.text().await.unwrap_or_default();
            // An MCP tool error is still HTTP 200: count it as the failure it is.
            !text.contains("\"isError\":true")
        }
        _ => false,
    }
}

async fn measure(base: &str, token: &str, target: Target, clients: usize, seconds: u64) -> Run {
    let client = reqwest::Client::builder().pool_max_idle_per_host(clients).build().expect("client");
    let base: Arc<str> = base.into();
    let token: Arc<str> = token.into();
    // Warm-up: connections open, caches filled.
    for _ in 0..clients.min(20) {
        one(&client, &base, &token, target).await;
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            while Instant::now() < deadline {
                let t = Instant::now();
                let ok = one(&client, &base, &token, target).await;
                latencies.push(t.elapsed());
                errors += usize::from(!ok);
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (l, e) = task.await.expect("client task");
        latencies.extend(l);
        errors += e;
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    Run { requests: latencies.len(), errors, seconds, latencies }
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(5);
    let levels: Vec<usize> = match args.next() {
        Some(list) => list.split(',').map(str::parse).collect::<Result<_, _>>()?,
        None => vec![20, 200],
    };
    let bin = std::env::var("RXGATE_BIN").map_err(|_| anyhow::anyhow!("set RXGATE_BIN (source scripts/env)"))?;
    let data = tempfile::tempdir()?;
    let mut child = Command::new(&bin)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("RXGATE_DATA_DIR", data.path())
        .env("RXGATE_JWT_SECRET", SECRET)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line)?;
    let base = line.trim().strip_prefix("rxgate listening on ").unwrap_or_default().to_string();
    anyhow::ensure!(!base.is_empty(), "rxgate serve did not start: {line:?}");
    let token = Command::new(&bin)
        .args(["token", "--role", "agent", "--sub", "load-test", "--ttl", "1h"])
        .env("RXGATE_DATA_DIR", data.path())
        .env("RXGATE_JWT_SECRET", SECRET)
        .output()?;
    let token = String::from_utf8(token.stdout)?.trim().to_string();

    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("rxgate load test: {base}, {seconds} s per measurement, {cores} cores (client and server share them)");
    println!("| clients | target | req/s | × /healthz | p50 ms | p99 ms | p99 ÷ /healthz p99 | errors |");
    println!("|---:|---|---:|---:|---:|---:|---:|---:|");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        for &clients in &levels {
            let baseline = measure(&base, &token, Target::Healthz, clients, seconds).await;
            for target in [Target::Healthz, Target::Rest, Target::Mcp] {
                let run = match target {
                    Target::Healthz => None,
                    _ => Some(measure(&base, &token, target, clients, seconds).await),
                };
                let run = run.as_ref().unwrap_or(&baseline);
                println!(
                    "| {clients} | {} | {:.0} | {:.3} | {:.2} | {:.2} | {:.1} | {} |",
                    target.name(),
                    run.throughput(),
                    run.throughput() / baseline.throughput(),
                    run.percentile(0.5).as_secs_f64() * 1e3,
                    run.percentile(0.99).as_secs_f64() * 1e3,
                    run.percentile(0.99).as_secs_f64() / baseline.percentile(0.99).as_secs_f64().max(1e-9),
                    run.errors,
                );
            }
        }
    });
    let _ = child.kill();
    let _ = child.wait();
    Ok(())
}
