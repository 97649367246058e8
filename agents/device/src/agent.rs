//! The running agent: scans go to the journal first, then to the server in order; print
//! jobs come from the server into the journal, then to the printer (or the PDF spool), and
//! their status back to the server.
//!
//! Nothing is acknowledged before the server has answered for it: a scan leaves the
//! journal only when the server gave a final answer (recorded against its `scan_id`), a
//! print job only when the server took its status. After a crash or an outage the journal
//! replays in order, and the server's idempotency per `scan_id` makes a replay of a scan
//! it had already recorded (its answer lost on the way back) harmless.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::client::{Client, Retry, ScanAnswer};
use crate::config::AgentConfig;
use crate::decode::{Decoder, Scan};
use crate::journal::Journal;
use crate::printer::{self, Printed};
use crate::source::{Read, ReportSource};

/// A scan as journalled and posted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScanItem {
    pub scan_id: String,
    pub scan: String,
    /// RFC 3339, the agent's clock when the decoder finished the scan.
    pub scanned_at: String,
    pub scanner: String,
}

/// What one pass over the journal did.
#[derive(Debug, Default)]
pub struct Flush {
    /// Final answers, in journal order.
    pub answered: Vec<(ScanItem, ScanAnswer)>,
    /// Why the pass stopped before the end (the rest stays queued, in order).
    pub stopped: Option<Retry>,
}

pub struct Agent {
    client: Client,
    // std mutexes: held only around journal reads and appends, never across an await.
    scans: Mutex<Journal>,
    prints: Mutex<Journal>,
    /// One flush at a time, so answers are taken in journal order.
    flushing: tokio::sync::Mutex<()>,
    wake: Notify,
    printer: Option<String>,
    printer_timeout: Duration,
    spool: std::path::PathBuf,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a journal half-written (each append is
    // one write), so a poisoned lock is still safe to use.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Agent {
    pub fn open(config: &AgentConfig) -> anyhow::Result<Arc<Agent>> {
        let client = Client::new(&config.server, &config.token, Duration::from_secs(5))?;
        Ok(Arc::new(Agent {
            client,
            scans: Mutex::new(Journal::open(&config.state_dir.join("scans.jsonl"))?),
            prints: Mutex::new(Journal::open(&config.state_dir.join("print-jobs.jsonl"))?),
            flushing: tokio::sync::Mutex::new(()),
            wake: Notify::new(),
            printer: config.printer_address.clone(),
            printer_timeout: config.printer_timeout,
            spool: config.pdf_spool.clone(),
        }))
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Journals a decoded scan (on disk when this returns) and wakes the uploader.
    pub fn record(&self, scan: &Scan, scanner: &str) -> std::io::Result<ScanItem> {
        let item = ScanItem {
            scan_id: uuid::Uuid::new_v4().to_string(),
            scan: scan.text.clone(),
            scanned_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            scanner: scanner.to_string(),
        };
        self.record_item(&item)?;
        Ok(item)
    }

    /// Journals a scan item as it is (a replay of a known `scan_id` included).
    pub fn record_item(&self, item: &ScanItem) -> std::io::Result<()> {
        let value = serde_json::to_value(item).map_err(std::io::Error::other)?;
        lock(&self.scans).add(&item.scan_id, value)?;
        tracing::info!(scan_id = %item.scan_id, scanner = %item.scanner, "scan journalled");
        self.wake.notify_one();
        Ok(())
    }

    pub fn pending_scans(&self) -> usize {
        lock(&self.scans).pending().len()
    }

    pub fn pending_print_jobs(&self) -> usize {
        lock(&self.prints).pending().len()
    }

    /// Posts pending scans in order until one cannot be answered now.
    pub async fn flush_scans(&self) -> Flush {
        let _one = self.flushing.lock().await;
        let pending: Vec<ScanItem> =
            lock(&self.scans).pending().iter().filter_map(|e| serde_json::from_value(e.item.clone()).ok()).collect();
        let mut flush = Flush::default();
        for item in pending {
            match self.client.post_scan(&item.scan_id, &item.scan, &item.scanned_at).await {
                Ok(answer) => {
                    tracing::info!(
                        scan_id = %item.scan_id,
                        outcome = answer.outcome(),
                        duplicate = answer.duplicate(),
                        status = answer.status,
                        problems = %answer.body["problems"],
                        "scan answered"
                    );
                    if let Err(e) = lock(&self.scans).done(&item.scan_id) {
                        flush.stopped = Some(Retry { reason: format!("journal: {e}"), needs_operator: true });
                        return flush;
                    }
                    flush.answered.push((item, answer));
                }
                Err(retry) => {
                    tracing::warn!(scan_id = %item.scan_id, reason = %retry, "scan kept for replay");
                    flush.stopped = Some(retry);
                    break;
                }
            }
        }
        flush
    }

    /// Posts scans as they come, retrying with backoff (250 ms doubling to 30 s) while the
    /// server is away. Runs until the task is dropped.
    pub async fn run_uploader(&self) {
        let mut backoff = Duration::from_millis(250);
        loop {
            let flush = self.flush_scans().await;
            match flush.stopped {
                None => {
                    backoff = Duration::from_millis(250);
                    self.wake.notified().await;
                }
                Some(retry) => {
                    let max = if retry.needs_operator { 60 } else { 30 };
                    tokio::select! {
                        () = self.wake.notified() => {}
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(max));
                }
            }
        }
    }

    /// One pass over print jobs: fetch the queued ones (if the server answers), print each
    /// not yet printed, report each not yet reported. Returns what was printed now.
    pub async fn poll_print_jobs(&self) -> Result<Vec<(i64, Printed)>, Retry> {
        let fetched = self.client.print_jobs().await;
        if let Ok(jobs) = &fetched {
            let mut journal = lock(&self.prints);
            for job in jobs {
                let Some(id) = job["id"].as_i64() else { continue };
                let item = json!({"id": id, "zpl": job["zpl"], "rx_id": job["rx_id"], "line_no": job["line_no"]});
                journal
                    .add(&id.to_string(), item)
                    .map_err(|e| Retry { reason: format!("journal: {e}"), needs_operator: true })?;
            }
        }
        let pending = lock(&self.prints).pending().to_vec();
        let mut printed = Vec::new();
        let mut stopped = fetched.err();
        for entry in pending {
            let id = entry.item["id"].as_i64().unwrap_or_default();
            let result = match &entry.note {
                Some(note) => Printed {
                    status: match note["status"].as_str() {
                        Some("printed") => "printed",
                        Some("fallback_pdf") => "fallback_pdf",
                        _ => "failed",
                    },
                    detail: note["detail"].as_str().unwrap_or_default().to_string(),
                },
                None => {
                    let zpl = entry.item["zpl"].as_str().unwrap_or_default();
                    let started = Instant::now();
                    let result =
                        printer::print(self.printer.as_deref(), self.printer_timeout, &self.spool, id, zpl).await;
                    tracing::info!(job_id = id, status = result.status, detail = %result.detail,
                        ms = started.elapsed().as_secs_f64() * 1000.0, "label handled");
                    let note = json!({"status": result.status, "detail": result.detail});
                    lock(&self.prints)
                        .note(&entry.key, note)
                        .map_err(|e| Retry { reason: format!("journal: {e}"), needs_operator: true })?;
                    printed.push((id, result.clone()));
                    result
                }
            };
            match self.client.report_print(id, result.status, &result.detail).await {
                Ok(()) => {
                    lock(&self.prints)
                        .done(&entry.key)
                        .map_err(|e| Retry { reason: format!("journal: {e}"), needs_operator: true })?;
                }
                Err(retry) => stopped = Some(retry),
            }
        }
        match stopped {
            Some(retry) if printed.is_empty() => Err(retry),
            _ => Ok(printed),
        }
    }

    /// Polls for print jobs every `interval`. Runs until the task is dropped.
    pub async fn run_printer(&self, interval: Duration) {
        loop {
            if let Err(retry) = self.poll_print_jobs().await {
                tracing::warn!(reason = %retry, "print jobs: will try again");
            }
            tokio::time::sleep(interval).await;
        }
    }

    /// The `health` report.
    pub async fn health(&self, state_dir: &Path) -> Value {
        let server = self.client.healthz().await;
        let printer = match &self.printer {
            Some(address) => {
                let reachable = tokio::time::timeout(self.printer_timeout, tokio::net::TcpStream::connect(address))
                    .await
                    .is_ok_and(|r| r.is_ok());
                json!({"address": address, "reachable": reachable})
            }
            None => json!({"address": null, "reachable": false, "fallback": "pdf"}),
        };
        json!({
            "server": {"reachable": server.is_ok(), "detail": server.unwrap_or_else(|e| json!(e.reason))},
            "printer": printer,
            "pending_scans": self.pending_scans(),
            "pending_print_jobs": self.pending_print_jobs(),
            "state_dir": state_dir.display().to_string(),
        })
    }
}

/// Reads `source` until it ends, decoding and journalling every scan (blocking: run it on
/// its own thread). Returns the scans journalled.
pub fn scan_loop(
    mut source: impl ReportSource,
    mut decoder: Box<dyn Decoder>,
    scanner: &str,
    agent: &Agent,
    keep_going: &dyn Fn() -> bool,
) -> Vec<ScanItem> {
    let mut journalled = Vec::new();
    while keep_going() {
        match source.read(Duration::from_millis(200)) {
            Read::Report(report) => {
                for result in decoder.feed(&report) {
                    match result {
                        Ok(scan) => match agent.record(&scan, scanner) {
                            Ok(item) => journalled.push(item),
                            Err(e) => {
                                tracing::error!(error = %e, "cannot journal a scan: it is NOT recorded; scan again")
                            }
                        },
                        Err(e) => tracing::warn!(scanner, error = %e, "scan dropped; scan the pack again"),
                    }
                }
            }
            Read::Idle => {}
            Read::End => break,
        }
    }
    journalled
}
