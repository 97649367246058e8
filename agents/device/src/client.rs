//! The agent's calls to rxgate (`/api/v1/devices/*`), with the device token.
//!
//! A scan's answer is *final* when the body carries an `outcome` (dispensed, mismatch, no
//! armed line, refused): the server has recorded it against the `scan_id` and a replay
//! would get the same answer. Anything else (no connection, a timeout, 5xx, a 409 without
//! an outcome from a concurrent change, 401 after a token expired) leaves the scan in the
//! journal to be tried again, in order.

use std::time::Duration;

use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    server: String,
    token: String,
}

/// The server's final answer to a scan.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanAnswer {
    pub status: u16,
    pub body: Value,
}

impl ScanAnswer {
    pub fn outcome(&self) -> &str {
        self.body["outcome"].as_str().unwrap_or_default()
    }
    pub fn duplicate(&self) -> bool {
        self.body["duplicate"].as_bool().unwrap_or(false)
    }
}

/// Why a call must be tried again later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    pub reason: String,
    /// The server answered and the request itself was refused (401, 403, 400): retrying soon
    /// will not help; an operator must fix the token or the agent.
    pub needs_operator: bool,
}

impl std::fmt::Display for Retry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

fn retry(reason: impl Into<String>) -> Retry {
    Retry { reason: reason.into(), needs_operator: false }
}

impl Client {
    pub fn new(server: &str, token: &str, timeout: Duration) -> anyhow::Result<Client> {
        let http = reqwest::Client::builder().timeout(timeout).connect_timeout(timeout).build()?;
        Ok(Client { http, server: server.trim_end_matches('/').to_string(), token: token.to_string() })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server)
    }

    /// Posts one scan.
    pub async fn post_scan(&self, scan_id: &str, scan: &str, scanned_at: &str) -> Result<ScanAnswer, Retry> {
        let body = json!({"scan_id": scan_id, "scan": scan, "scanned_at": scanned_at});
        let response = self
            .http
            .post(self.url("/api/v1/devices/scans"))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .map_err(|e| retry(format!("server unreachable: {e}")))?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| retry(format!("reading the answer: {e}")))?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if body.get("outcome").and_then(Value::as_str).is_some() {
            return Ok(ScanAnswer { status, body });
        }
        let needs_operator = matches!(status, 400 | 401 | 403 | 404 | 422);
        Err(Retry { reason: format!("HTTP {status}: {text}"), needs_operator })
    }

    /// The print jobs queued for this workstation.
    pub async fn print_jobs(&self) -> Result<Vec<Value>, Retry> {
        let response = self
            .http
            .get(self.url("/api/v1/devices/print-jobs"))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| retry(format!("server unreachable: {e}")))?;
        let status = response.status().as_u16();
        let body: Value = response.json().await.map_err(|e| retry(format!("reading print jobs: {e}")))?;
        if status != 200 {
            return Err(Retry { reason: format!("HTTP {status}: {body}"), needs_operator: status < 500 });
        }
        Ok(body["jobs"].as_array().cloned().unwrap_or_default())
    }

    /// Reports what became of a print job.
    pub async fn report_print(&self, job_id: i64, status: &str, detail: &str) -> Result<(), Retry> {
        let response = self
            .http
            .post(self.url(&format!("/api/v1/devices/print-jobs/{job_id}/status")))
            .bearer_auth(&self.token)
            .json(&json!({"status": status, "detail": detail}))
            .send()
            .await
            .map_err(|e| retry(format!("server unreachable: {e}")))?;
        match response.status().as_u16() {
            200 => Ok(()),
            // The job is gone or not ours: nothing to report any more.
            404 => Ok(()),
            other => Err(Retry {
                reason: format!("HTTP {other}: {}", response.text().await.unwrap_or_default()),
                needs_operator: other < 500,
            }),
        }
    }

    /// `GET /healthz`.
    pub async fn healthz(&self) -> Result<Value, Retry> {
        let response =
            self.http.get(self.url("/healthz")).send().await.map_err(|e| retry(format!("server unreachable: {e}")))?;
        response.json().await.map_err(|e| retry(format!("reading /healthz: {e}")))
    }
}
