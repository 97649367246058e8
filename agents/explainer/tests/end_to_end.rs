//! The explainer agent against the real `rxgate serve --demo` (the binary in `RXGATE_BIN`,
//! which `scripts/test` builds first): a pharmacist verifies the amlodipine + clarithromycin
//! prescription, one agent pass explains the interaction over MCP and REST, and the server
//! stores what its own guard accepted — in English and Malay, for pharmacist and patient —
//! with the facts hash of its own verification. Uses the real small model when
//! `scripts/setup` fetched it; otherwise the agent posts templates, and the test checks that.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use rxgate_evals::Connection;
use rxgate_explainer::agent::LanguageModel;
use rxgate_explainer::server::Rest;
use rxgate_explainer::{Agent, AgentConfig};
use rxgate_guardrails::findings_from_verification;
use rxgate_models::{
    Audience, Availability, ExplainRequest, Explainer, Explanation, Language, ModelConfig, PromptVersion, Source,
    TemplateExplainer, load_explainer,
};
use serde_json::Value;

const SECRET: &str = "explainer-test-secret-explainer-test-0123";

struct Server {
    child: Child,
    address: String,
    bin: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn token(&self, role: &str) -> String {
        let out = Command::new(&self.bin)
            .args(["token", "--role", role, "--sub", &format!("test-{role}")])
            .env("RXGATE_JWT_SECRET", SECRET)
            .env("RXGATE_DATA_DIR", self._dir.path())
            .output()
            .expect("rxgate token");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }
}

fn rxgate_bin() -> Option<PathBuf> {
    let bin = std::env::var_os("RXGATE_BIN").map(PathBuf::from)?;
    bin.is_file().then_some(bin)
}

fn serve_demo(bin: PathBuf) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(&bin)
        .args(["serve", "--addr", "127.0.0.1:0", "--demo"])
        .env("RXGATE_JWT_SECRET", SECRET)
        .env("RXGATE_DATA_DIR", dir.path())
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("rxgate serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let address = line.trim().strip_prefix("rxgate listening on ").expect("address line").to_string();
    Server { child, address, bin, _dir: dir }
}

/// A REST call's JSON answer.
async fn answer(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

/// The demo prescription whose lines are exactly `drugs`, verified by the pharmacist: its id
/// and the verification result.
async fn verify(server: &Server, pharmacist: &str, drugs: &[&str]) -> (i64, Value) {
    let http = reqwest::Client::new();
    let queue = answer(http.get(format!("{}/api/v1/pharmacy/queue", server.address)).bearer_auth(pharmacist)).await;
    let rx_id = queue["prescriptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|rx| {
            let on: Vec<&str> = rx["items"].as_array().unwrap().iter().filter_map(|i| i["drug"].as_str()).collect();
            on == drugs
        })
        .and_then(|rx| rx["rx_id"].as_i64())
        .unwrap_or_else(|| panic!("no demo prescription of {drugs:?}"));
    let verification =
        answer(http.post(format!("{}/api/v1/pharmacy/{rx_id}/verify", server.address)).bearer_auth(pharmacist)).await;
    (rx_id, verification)
}

async fn explanations(server: &Server, token: &str, rx_id: i64) -> Vec<Value> {
    let url = format!("{}/api/v1/pharmacy/{rx_id}/explanations", server.address);
    let listed = answer(reqwest::Client::new().get(url).bearer_auth(token)).await;
    listed["explanations"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_explains_clarithromycin_with_amlodipine_and_the_server_keeps_it() {
    let Some(bin) = rxgate_bin() else {
        eprintln!("SKIPPED: RXGATE_BIN is not set to a built rxgate (scripts/test sets it)");
        return;
    };
    let server = serve_demo(bin);
    let pharmacist = server.token("pharmacist");

    // The pharmacist verifies; the verification answers at once, without any explanation.
    let (rx_id, verification) = verify(&server, &pharmacist, &["amlodipine", "clarithromycin"]).await;
    let finding = findings_from_verification(&verification)
        .into_iter()
        .find(|f| f.key == "ddi:amlodipine+clarithromycin")
        .unwrap_or_else(|| panic!("no interaction finding in {verification}"));

    // One agent pass, with the real model for English when it is there.
    let (explainer, availability) = load_explainer(&ModelConfig::from_env());
    eprintln!("{}", availability.notice());
    let with_model = matches!(availability, Availability::Model { .. });
    let mut config = AgentConfig::default();
    if with_model {
        config.models.insert(
            Language::En,
            LanguageModel { explainer: Arc::from(explainer), prompt_version: PromptVersion::DEFAULT },
        );
    }
    let agent_token = server.token("agent");
    let mcp = Connection::connect_http(&format!("{}/mcp", server.address), Some(&agent_token)).await.unwrap();
    let mut agent = Agent::new(mcp, Rest::new(&server.address, &agent_token), config.clone());
    let stats = agent.pass().await.unwrap();
    eprintln!("{stats:?}");
    assert!(stats.prescriptions >= 1, "{stats:?}");
    assert!(
        stats.generated_tokens <= u64::from(config.tokens_per_rx) * u64::from(stats.prescriptions),
        "over the token budget: {stats:?}"
    );

    // The server returns four explanations of the finding, each from its own facts.
    let listed = explanations(&server, &pharmacist, rx_id).await;
    let ours: Vec<&Value> = listed.iter().filter(|e| e["finding_key"] == "ddi:amlodipine+clarithromycin").collect();
    let mut kinds: Vec<(String, String)> = ours
        .iter()
        .map(|e| (e["language"].as_str().unwrap().to_string(), e["audience"].as_str().unwrap().to_string()))
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [("en", "patient"), ("en", "pharmacist"), ("ms", "patient"), ("ms", "pharmacist")]
            .map(|(l, a)| (l.to_string(), a.to_string())),
        "{listed:?}"
    );
    for e in &ours {
        let text = e["text"].as_str().unwrap().to_lowercase();
        assert_eq!(e["facts_hash"], finding.facts.hash().as_str(), "{e}");
        assert!(text.contains("clarithromycin") || text.contains("klaritromisin"), "{e}");
        assert!(text.contains("amlodipin"), "{e}");
        // Malay has no model by default: its explanations are the vetted templates.
        if e["language"] == "ms" {
            assert_eq!(e["source"], "template", "{e}");
        }
        if e["source"] == "llm" {
            assert!(with_model, "{e}");
            assert!(e["model"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
        }
    }

    // A second pass finds nothing left to do, and does not ask the model again.
    let again = agent.pass().await.unwrap();
    assert_eq!((again.stored, again.upgraded, again.model_calls), (0, 0, 0), "{again:?}");
}

/// Stands in for the local model: the template's own wording marked as model text for the
/// pharmacist (the server's guard accepts it), and the same with an invented dose for the
/// patient (the server's guard refuses it). Counts its calls.
struct FakeModel {
    calls: AtomicU32,
}

impl Explainer for FakeModel {
    fn explain(&self, request: &ExplainRequest) -> Explanation {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut e = TemplateExplainer.explain(request);
        e.meta.source = Source::Llm;
        e.meta.model = Some("fake-model".to_string());
        e.meta.generated_tokens = 40;
        if request.audience == Audience::Patient {
            e.body = format!("{} Take 2.5 mg only.", e.body);
        }
        e
    }

    fn describe(&self) -> String {
        "fake".to_string()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_for_every_prescription_come_first_and_model_text_upgrades_them_once() {
    let Some(bin) = rxgate_bin() else {
        eprintln!("SKIPPED: RXGATE_BIN is not set to a built rxgate (scripts/test sets it)");
        return;
    };
    let server = serve_demo(bin);
    let pharmacist = server.token("pharmacist");
    // Two prescriptions verified before the agent looks: a queue, not a single order.
    let (interaction_rx, _) = verify(&server, &pharmacist, &["amlodipine", "clarithromycin"]).await;
    let (allergy_rx, _) = verify(&server, &pharmacist, &["amoxicillin"]).await;

    let fake = Arc::new(FakeModel { calls: AtomicU32::new(0) });
    let mut config = AgentConfig::default();
    config
        .models
        .insert(Language::En, LanguageModel { explainer: fake.clone(), prompt_version: PromptVersion::DEFAULT });
    let agent_token = server.token("agent");
    let mcp = Connection::connect_http(&format!("{}/mcp", server.address), Some(&agent_token)).await.unwrap();
    let mut agent = Agent::new(mcp, Rest::new(&server.address, &agent_token), config);
    let stats = agent.pass().await.unwrap();
    eprintln!("{stats:?}");
    assert_eq!(stats.prescriptions, 2, "{stats:?}");
    assert_eq!(fake.calls.load(Ordering::SeqCst), stats.model_calls);

    let mut all = Vec::new();
    for rx in [interaction_rx, allergy_rx] {
        let stored = explanations(&server, &pharmacist, rx).await;
        let slots: std::collections::BTreeSet<(String, String, String)> = stored
            .iter()
            .map(|e| {
                let f = |k: &str| e[k].as_str().unwrap().to_string();
                (f("finding_key"), f("language"), f("audience"))
            })
            .collect();
        assert_eq!(slots.len(), stored.len(), "one row per slot");
        assert!(
            !stored.is_empty() && stored.len() % 4 == 0,
            "every finding in en and ms, for both audiences: {stored:?}"
        );
        for e in &stored {
            let slot = (e["language"].as_str().unwrap(), e["audience"].as_str().unwrap());
            match slot {
                // No model for Malay; the server refused the patient texts: templates stay.
                ("ms", _) | (_, "patient") => assert_eq!(e["source"], "template", "{e}"),
                _ => {}
            }
            if e["source"] == "llm" {
                assert_eq!(e["model"], "fake-model", "{e}");
                assert!(e["upgraded_at"].is_string(), "model text replaced a template: {e}");
            }
        }
        assert!(
            stored.iter().any(|e| e["source"] == "llm"),
            "each prescription's first English pharmacist explanation is model text: {stored:?}"
        );
        all.extend(stored);
    }
    // Phase 1 for the whole queue before any model text: every template was stored before
    // the first upgrade.
    let at = |e: &Value, field: &str| {
        e[field].as_str().map(|t| chrono::DateTime::parse_from_rfc3339(t).expect("an RFC 3339 time"))
    };
    let last_template = all.iter().filter_map(|e| at(e, "created_at")).max().unwrap();
    let first_upgrade = all.iter().filter_map(|e| at(e, "upgraded_at")).min().unwrap();
    assert!(
        last_template <= first_upgrade,
        "a template was stored at {last_template}, after an upgrade at {first_upgrade}"
    );
    assert_eq!(stats.upgraded, u32::try_from(all.iter().filter(|e| e["source"] == "llm").count()).unwrap());
    assert!(stats.fallbacks >= 2, "the refused patient texts: {stats:?}");

    // The model tried every slot it could: a second pass asks it nothing (refused slots
    // included) and changes nothing.
    let again = agent.pass().await.unwrap();
    assert_eq!((again.stored, again.upgraded, again.model_calls), (0, 0, 0), "{again:?}");
}
