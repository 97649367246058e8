//! The real `rxgate serve --demo` for the agent's end-to-end tests, and the steps a
//! pharmacist takes in the console before a counter scan (verify, approve, arm).
//!
//! The binary is `RXGATE_BIN` (set by `scripts/env`), else the `rxgate` built beside this
//! test in the same target directory (`cargo test --workspace` builds it).

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

pub const SECRET: &str = "agent-test-secret-agent-test-secret-0123";
pub const WORKSTATION: &str = "ws-counter-1";

pub fn rxgate_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("RXGATE_BIN").map(PathBuf::from).filter(|p| p.exists()) {
        return bin;
    }
    let exe = std::env::current_exe().expect("test executable path");
    let beside = exe.parent().and_then(Path::parent).map(|dir| dir.join("rxgate")).expect("target dir");
    assert!(
        beside.exists(),
        "the rxgate binary is needed: build it (`cargo build -p rxgate`) or set RXGATE_BIN (looked for {})",
        beside.display()
    );
    beside
}

fn rxgate() -> Command {
    let mut cmd = Command::new(rxgate_bin());
    for var in ["RXGATE_DATA_DIR", "DATABASE_URL", "RXGATE_KNOWLEDGE_DIR", "RXGATE_ADDR", "RXGATE_PUBLIC_URL"] {
        cmd.env_remove(var);
    }
    cmd.env("RXGATE_JWT_SECRET", SECRET).env("RUST_LOG", "error");
    cmd
}

/// A free loopback port (bound and released; good enough for a test).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub struct Server {
    pub address: String,
    pub data_dir: PathBuf,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// `rxgate serve --demo` on `port` over `data_dir` (kept, so a restart finds the same
    /// database).
    pub fn start(data_dir: &Path, port: u16) -> Server {
        let mut child = rxgate()
            .args(["serve", "--demo", "--addr", &format!("127.0.0.1:{port}")])
            .env("RXGATE_DATA_DIR", data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("rxgate serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("first line");
        let address = line
            .trim()
            .strip_prefix("rxgate listening on ")
            .unwrap_or_else(|| panic!("rxgate serve did not report its address: {line:?}"))
            .to_string();
        Server { address, data_dir: data_dir.to_path_buf(), child }
    }

    /// Killed without warning (SIGKILL), as a crash or a pulled cable would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn token(&self, role: &str, sub: &str) -> String {
        let out = rxgate()
            .args(["token", "--role", role, "--sub", sub, "--ttl", "1h", "--data-dir"])
            .arg(&self.data_dir)
            .output()
            .expect("rxgate token");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }
}

pub async fn call(http: &reqwest::Client, method: &str, url: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = match method {
        "GET" => http.get(url),
        _ => http.post(url),
    }
    .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let response = req.send().await.expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// The demo prescription for omeprazole 20 mg alone: verified, line 1 approved for
/// dispense by `pharmacist`, and armed at [`WORKSTATION`] for `quantity`. Returns its id.
pub async fn arm_omeprazole(server: &Server, pharmacist: &str, quantity: u32) -> i64 {
    let http = reqwest::Client::new();
    let ph = server.token("pharmacist", pharmacist);
    let base = &server.address;
    let (_, queue) = call(&http, "GET", &format!("{base}/api/v1/pharmacy/queue"), &ph, None).await;
    let rx = queue["prescriptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|rx| {
            let items = rx["items"].as_array().unwrap();
            items.len() == 1 && items[0]["drug"].as_str().is_some_and(|d| d.eq_ignore_ascii_case("omeprazole"))
        })
        .unwrap_or_else(|| panic!("no demo prescription of omeprazole alone: {queue}"))["rx_id"]
        .as_i64()
        .unwrap();
    let (status, v) = call(&http, "POST", &format!("{base}/api/v1/pharmacy/{rx}/verify"), &ph, Some(json!({}))).await;
    assert_eq!(status, 200, "{v}");
    let view = v["lines"][0]["view_hash"].as_str().unwrap().to_string();
    let decision = json!({"line_decisions": [{"line_no": 1, "action": "dispense", "reason": "", "view_hash": view}]});
    let (status, v) = call(&http, "POST", &format!("{base}/api/v1/pharmacy/{rx}/approve"), &ph, Some(decision)).await;
    assert_eq!(status, 200, "{v}");
    let arm = json!({"line_no": 1, "quantity": quantity, "workstation": WORKSTATION});
    let (status, v) = call(&http, "POST", &format!("{base}/api/v1/pharmacy/{rx}/scan-station"), &ph, Some(arm)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["expected"], "omeprazole", "{v}");
    rx
}

/// Units of a product on hand, all lots together (the inventory check a pharmacist sees).
pub async fn on_hand(server: &Server, product: &str) -> i64 {
    let http = reqwest::Client::new();
    let ph = server.token("pharmacist", "stock-check");
    let (status, v) =
        call(&http, "GET", &format!("{}/api/v1/pharmacy/inventory/check/{product}", server.address), &ph, None).await;
    assert_eq!(status, 200, "{v}");
    v["products"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["product"] == product)
        .map(|p| p["qty_on_hand"].as_i64().unwrap())
        .sum()
}

pub fn recording(name: &str) -> rxgate_agent::recording::Recording {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    rxgate_agent::recording::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub fn agent_config(
    server: &str,
    token: &str,
    state_dir: &Path,
    printer: Option<String>,
) -> rxgate_agent::config::AgentConfig {
    rxgate_agent::config::AgentConfig {
        server: server.to_string(),
        token: token.to_string(),
        state_dir: state_dir.to_path_buf(),
        scanners: Vec::new(),
        printer_address: printer,
        printer_timeout: Duration::from_secs(2),
        pdf_spool: state_dir.join("pdf-spool"),
        print_poll: Duration::from_millis(100),
    }
}
