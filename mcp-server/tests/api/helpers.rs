//! `spawn_app()`: the real `rxgate serve` binary on port 0 with a fresh data directory,
//! and a `TestApp` that talks to it. The process is killed when the `TestApp` is dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

/// The HS256 secret test servers run with, so tests can mint any token they need
/// (expired, wrong issuer, unknown role…).
pub(crate) const SECRET: &str = "test-secret-test-secret-test-secret-0123";

#[derive(Debug, Clone, Copy)]
pub(crate) enum Method {
    Get,
    Post,
}

pub(crate) const ROLES: [&str; 5] = ["pharmacist", "physician", "agent", "device", "admin"];

pub(crate) fn rxgate() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rxgate"));
    // A developer's own environment must not leak into the server under test.
    for var in ["RXGATE_JWT_SECRET", "RXGATE_DATA_DIR", "DATABASE_URL", "RXGATE_KNOWLEDGE_DIR", "RXGATE_ADDR"] {
        cmd.env_remove(var);
    }
    for var in ["RXGATE_PUBLIC_URL", "RXGATE_ALLOWED_ORIGINS", "RXGATE_ALLOWED_HOSTS"] {
        cmd.env_remove(var);
    }
    cmd.env("RUST_LOG", "error");
    cmd
}

pub(crate) struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub(crate) address: String,
    /// The data directory (SQLite file, secret).
    pub(crate) data_path: std::path::PathBuf,
    /// Kept so a temporary directory lives as long as the server.
    _data_dir: Option<tempfile::TempDir>,
    pub(crate) http: reqwest::Client,
    child: Child,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server with the test secret in `RXGATE_JWT_SECRET`.
pub(crate) fn spawn_app() -> TestApp {
    spawn_app_with(&[("RXGATE_JWT_SECRET", SECRET)], &[])
}

/// A server with extra environment variables and flags.
pub(crate) fn spawn_app_with(env: &[(&str, &str)], args: &[&str]) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp data dir");
    spawn_in(data_dir, env, args)
}

pub(crate) fn spawn_in(data_dir: tempfile::TempDir, env: &[(&str, &str)], args: &[&str]) -> TestApp {
    let mut app = spawn_at(data_dir.path(), env, args);
    app._data_dir = Some(data_dir);
    app
}

/// A server on a data directory the caller keeps (to restart on the same database).
pub(crate) fn spawn_at(data_path: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> TestApp {
    let mut cmd = rxgate();
    cmd.args(["serve", "--addr", "127.0.0.1:0"])
        .args(args)
        .env("RXGATE_DATA_DIR", data_path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("rxgate serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("first line of rxgate serve");
    let address = line
        .trim()
        .strip_prefix("rxgate listening on ")
        .unwrap_or_else(|| panic!("rxgate serve did not report its address: {line:?}"))
        .to_string();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("http client");
    TestApp { address, data_path: data_path.to_path_buf(), _data_dir: None, http, child }
}

#[derive(Serialize)]
pub(crate) struct Claims<'a> {
    pub(crate) sub: &'a str,
    pub(crate) role: &'a str,
    pub(crate) iss: &'a str,
    pub(crate) aud: &'a str,
    pub(crate) iat: i64,
    pub(crate) exp: i64,
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64
}

/// A token signed with `secret` for arbitrary claims.
pub(crate) fn sign(claims: &Claims<'_>, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

impl TestApp {
    /// A valid token for `role`, as `rxgate token` would make it.
    pub(crate) fn token(&self, role: &str) -> String {
        let now = now();
        sign(
            &Claims { sub: &format!("test-{role}"), role, iss: "rxgate", aud: "rxgate", iat: now, exp: now + 600 },
            SECRET,
        )
    }

    /// The server's own database (SQLite in its data dir), opened beside it, to seed data
    /// and read the audit log as an operator would.
    pub(crate) async fn database(&self) -> rxgate_storage::Storage {
        let path = self.data_path.join("rxgate.db");
        rxgate_storage::Storage::connect(path.to_str().expect("UTF-8 path")).await.expect("open the server's database")
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub(crate) async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.http.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("GET")
    }

    /// One raw JSON-RPC message to `/mcp`, with the headers a Streamable HTTP client sends.
    /// `protocol` is the `MCP-Protocol-Version` header (absent on `initialize`).
    pub(crate) fn mcp_request(
        &self,
        token: Option<&str>,
        protocol: Option<&str>,
        body: &Value,
    ) -> reqwest::RequestBuilder {
        let mut req =
            self.http.post(self.url("/mcp")).header("Accept", "application/json, text/event-stream").json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(p) = protocol {
            req = req.header("MCP-Protocol-Version", p);
        }
        req
    }

    /// A JSON-RPC call that must succeed at the HTTP level; returns the JSON-RPC message.
    pub(crate) async fn mcp(&self, token: &str, protocol: Option<&str>, body: Value) -> Value {
        let response = self.mcp_request(Some(token), protocol, &body).send().await.expect("POST /mcp");
        let status = response.status();
        let text = response.text().await.expect("body");
        assert_eq!(status, 200, "{body} -> {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }

    /// The server's process id (to signal it, e.g. SIGHUP for a knowledge reload).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the process to end.
    pub(crate) fn terminate(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
        assert!(sent.success());
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("rxgate serve did not stop within 5 s of SIGTERM");
    }
}

pub(crate) fn initialize(protocol: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": protocol,
        "capabilities": {},
        "clientInfo": {"name": "rxgate-tests", "version": "0"},
    }})
}

pub(crate) async fn body(response: reqwest::Response) -> Value {
    let text = response.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A patient in the server's database (an 8 kg infant; surrogate id returned).
pub(crate) async fn seed_patient(db: &rxgate_storage::Storage) -> i64 {
    let mut tx = db.begin().await.expect("begin");
    let patient = tx
        .insert_patient(&rxgate_storage::NewPatient {
            demo_name: "Demo Infant".into(),
            age_days: Some(240),
            weight_kg: Some(8.0),
            halal_preference: "none".into(),
            ..rxgate_storage::NewPatient::default()
        })
        .await
        .expect("insert patient");
    tx.commit().await.expect("commit");
    patient.id
}
