//! `POST/GET /api/v1/pharmacy/{rx_id}/explanations`: the server keeps an explanation only if
//! its own guard accepts the text against facts it derives from its own stored verification.

use rxgate_guardrails::findings_from_verification;
use serde_json::{Value, json};

use crate::helpers::{SECRET, TestApp, body, spawn_app_with};

/// The demo's amlodipine + clarithromycin prescription, verified by a pharmacist; returns
/// its id and the facts hash of the interaction finding, as the server derives it.
async fn verified_amlodipine_clarithromycin(app: &TestApp) -> (i64, String) {
    let pharmacist = app.token("pharmacist");
    let queue = body(app.get("/api/v1/pharmacy/queue", Some(&pharmacist)).await).await;
    let rx = queue["prescriptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|rx| rx["items"].as_array().unwrap().iter().any(|i| i["drug"] == "clarithromycin"))
        .and_then(|rx| {
            let drugs: Vec<&str> = rx["items"].as_array()?.iter().filter_map(|i| i["drug"].as_str()).collect();
            drugs.contains(&"amlodipine").then(|| rx["rx_id"].as_i64().unwrap())
        })
        .expect("the demo queue has amlodipine with clarithromycin");
    let verified =
        app.http.post(app.url(&format!("/api/v1/pharmacy/{rx}/verify"))).bearer_auth(&pharmacist).send().await.unwrap();
    assert_eq!(verified.status(), 200);
    let result = body(verified).await;
    let finding = findings_from_verification(&result)
        .into_iter()
        .find(|f| f.key == "ddi:amlodipine+clarithromycin")
        .unwrap_or_else(|| panic!("no interaction finding in {result}"));
    (rx, finding.facts.hash())
}

async fn post(app: &TestApp, token: &str, rx: i64, explanation: &Value) -> (u16, Value) {
    let response = app
        .http
        .post(app.url(&format!("/api/v1/pharmacy/{rx}/explanations")))
        .bearer_auth(token)
        .json(explanation)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), body(response).await)
}

fn explanation(text: &str, facts_hash: &str, language: &str) -> Value {
    json!({
        "finding_key": "ddi:amlodipine+clarithromycin", "language": language, "audience": "patient",
        "text": text, "source": "llm", "model": "SmolLM2-135M-Instruct (test)", "prompt_version": "v1",
        "facts_hash": facts_hash, "generated_tokens": 40,
    })
}

/// Stands in for the template: the server guards a template like any text.
const TEMPLATE: &str = "Clarithromycin slows down how your body clears amlodipine. This can cause low blood pressure.";

const FAITHFUL: &str = "Clarithromycin slows down how your body clears amlodipine, so more amlodipine stays in \
                        your blood. This can cause low blood pressure and kidney damage.";

#[tokio::test]
async fn a_faithful_explanation_is_stored_once_and_listed_with_its_provenance() {
    let app = spawn_app_with(&[("RXGATE_JWT_SECRET", SECRET)], &["--demo"]);
    let (rx, hash) = verified_amlodipine_clarithromycin(&app).await;
    let agent = app.token("agent");
    let (status, stored) = post(&app, &agent, rx, &explanation(FAITHFUL, &hash, "en")).await;
    assert_eq!(status, 201, "{stored}");
    assert_eq!(stored["source"], "llm");
    assert_eq!(stored["facts_hash"], hash.as_str());
    assert_eq!(stored["line_no"], 2, "the finding sits on the clarithromycin line");
    // A repost changes nothing.
    let (status, again) = post(&app, &agent, rx, &explanation(FAITHFUL, &hash, "en")).await;
    assert_eq!((status, again["replayed"].as_bool()), (200, Some(true)), "{again}");
    assert_eq!(again["explanation_id"], stored["explanation_id"]);

    let listed =
        body(app.get(&format!("/api/v1/pharmacy/{rx}/explanations"), Some(&app.token("pharmacist"))).await).await;
    let all = listed["explanations"].as_array().unwrap();
    assert_eq!(all.len(), 1, "{listed}");
    assert_eq!(all[0]["text"], FAITHFUL);
    assert_eq!(all[0]["model"], "SmolLM2-135M-Instruct (test)");

    // Stored and refused explanations are on the audit record.
    let db = app.database().await;
    let mut tx = db.begin_read().await.unwrap();
    let actions: Vec<String> = tx.list_audit(0, 1000).await.unwrap().into_iter().map(|e| e.action).collect();
    assert_eq!(actions.iter().filter(|a| *a == "explanation_stored").count(), 1);
}

#[tokio::test]
async fn the_server_refuses_what_its_guard_rejects_and_says_why() {
    let app = spawn_app_with(&[("RXGATE_JWT_SECRET", SECRET)], &["--demo"]);
    let (rx, hash) = verified_amlodipine_clarithromycin(&app).await;
    let agent = app.token("agent");
    for (text, language, reason) in [
        // An invented dose.
        (
            "Clarithromycin makes amlodipine build up; keep amlodipine at 2.5 mg so blood pressure does not fall.",
            "en",
            "2.5",
        ),
        // The wrong drug.
        ("Erythromycin slows how your body clears amlodipine, so blood pressure can fall.", "en", "erythromycin"),
        // An instruction.
        ("Stop amlodipine while you take clarithromycin, because blood pressure can fall.", "en", "stop"),
        // English where Malay was asked for.
        (FAITHFUL, "ms", "not written in ms"),
        // An invented mechanism word.
        ("Clarithromycin blocks a hormone that clears amlodipine, so blood pressure can fall.", "en", "hormone"),
    ] {
        let (status, answer) = post(&app, &agent, rx, &explanation(text, &hash, language)).await;
        assert_eq!(status, 422, "{text}: {answer}");
        assert_eq!(answer["error"]["code"], "explanation_rejected");
        let reasons = answer["error"]["details"]["reasons"].to_string().to_lowercase();
        assert!(reasons.contains(reason), "{text}: expected a reason about {reason:?}, got {reasons}");
    }
    // Facts the server did not derive, and a finding it does not have.
    let (status, answer) = post(&app, &agent, rx, &explanation(FAITHFUL, &"0".repeat(64), "en")).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (422, Some("facts_mismatch")), "{answer}");
    let mut unknown = explanation(FAITHFUL, &hash, "en");
    unknown["finding_key"] = json!("ddi:amlodipine+simvastatin");
    let (status, answer) = post(&app, &agent, rx, &unknown).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (422, Some("unknown_finding")), "{answer}");

    let listed = body(app.get(&format!("/api/v1/pharmacy/{rx}/explanations"), Some(&agent)).await).await;
    assert_eq!(listed["explanations"].as_array().unwrap().len(), 0, "nothing refused was stored: {listed}");
}

#[tokio::test]
async fn only_the_agent_posts_explanations_and_only_after_verification() {
    let app = spawn_app_with(&[("RXGATE_JWT_SECRET", SECRET)], &["--demo"]);
    let (status, _) = post(&app, &app.token("agent"), 1, &explanation(FAITHFUL, &"0".repeat(64), "en")).await;
    assert_eq!(status, 409, "prescription 1 is not verified yet");
    let (rx, hash) = verified_amlodipine_clarithromycin(&app).await;
    for role in ["pharmacist", "physician", "device", "admin"] {
        let (status, _) = post(&app, &app.token(role), rx, &explanation(FAITHFUL, &hash, "en")).await;
        assert_eq!(status, 403, "{role} must not post explanations");
    }
}

#[tokio::test]
async fn the_template_comes_first_and_the_model_text_replaces_it_once_never_the_other_way() {
    let app = spawn_app_with(&[("RXGATE_JWT_SECRET", SECRET)], &["--demo"]);
    let (rx, hash) = verified_amlodipine_clarithromycin(&app).await;
    let agent = app.token("agent");
    let mut template = explanation(TEMPLATE, &hash, "en");
    template["source"] = json!("template");
    template["model"] = Value::Null;
    template["generated_tokens"] = json!(0);

    // The template is what the pharmacist reads seconds after verifying.
    let (status, stored) = post(&app, &agent, rx, &template).await;
    assert_eq!((status, stored["outcome"].as_str()), (201, Some("stored")), "{stored}");
    assert_eq!(stored["upgraded_at"], Value::Null);

    // A model text the server's guard rejects leaves the template where it is.
    let invented = explanation("Keep amlodipine at 2.5 mg while you take clarithromycin.", &hash, "en");
    let (status, refused) = post(&app, &agent, rx, &invented).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("explanation_rejected")), "{refused}");

    // A faithful model text replaces it in place.
    let (status, upgraded) = post(&app, &agent, rx, &explanation(FAITHFUL, &hash, "en")).await;
    assert_eq!((status, upgraded["outcome"].as_str()), (200, Some("upgraded")), "{upgraded}");
    assert_eq!(upgraded["explanation_id"], stored["explanation_id"], "same row");
    assert_eq!((upgraded["source"].as_str(), upgraded["text"].as_str()), (Some("llm"), Some(FAITHFUL)));
    assert_eq!(upgraded["created_at"], stored["created_at"]);
    assert!(upgraded["upgraded_at"].is_string(), "{upgraded}");

    // A template arriving late does not replace the model text; a repost changes nothing.
    for repost in [&template, &explanation(FAITHFUL, &hash, "en")] {
        let (status, unchanged) = post(&app, &agent, rx, repost).await;
        assert_eq!((status, unchanged["outcome"].as_str()), (200, Some("unchanged")), "{unchanged}");
        assert_eq!((unchanged["source"].as_str(), unchanged["text"].as_str()), (Some("llm"), Some(FAITHFUL)));
        assert_eq!(unchanged["replayed"], true);
    }
    let listed =
        body(app.get(&format!("/api/v1/pharmacy/{rx}/explanations"), Some(&app.token("pharmacist"))).await).await;
    let all = listed["explanations"].as_array().unwrap();
    assert_eq!(all.len(), 1, "{listed}");
    assert_eq!((all[0]["source"].as_str(), all[0]["text"].as_str()), (Some("llm"), Some(FAITHFUL)));

    // The audit record keeps the template a pharmacist may have read before the upgrade.
    let db = app.database().await;
    let mut tx = db.begin_read().await.unwrap();
    let log = tx.list_audit(0, 1000).await.unwrap();
    let count = |action: &str| log.iter().filter(|e| e.action == action).count();
    assert_eq!((count("explanation_stored"), count("explanation_upgraded"), count("explanation_refused")), (1, 1, 1));
    let upgrade = log.iter().find(|e| e.action == "explanation_upgraded").unwrap();
    let before: Value = serde_json::from_str(&upgrade.before).unwrap();
    let after: Value = serde_json::from_str(&upgrade.after).unwrap();
    assert_eq!((before["source"].as_str(), before["text"].as_str()), (Some("template"), Some(TEMPLATE)));
    assert_eq!(
        (after["source"].as_str(), after["model"].as_str()),
        (Some("llm"), Some("SmolLM2-135M-Instruct (test)"))
    );
}

#[tokio::test]
async fn a_model_text_posted_first_is_stored_and_a_later_template_does_not_replace_it() {
    let app = spawn_app_with(&[("RXGATE_JWT_SECRET", SECRET)], &["--demo"]);
    let (rx, hash) = verified_amlodipine_clarithromycin(&app).await;
    let agent = app.token("agent");
    let (status, stored) = post(&app, &agent, rx, &explanation(FAITHFUL, &hash, "en")).await;
    assert_eq!((status, stored["outcome"].as_str()), (201, Some("stored")), "{stored}");
    let mut template = explanation(TEMPLATE, &hash, "en");
    template["source"] = json!("template");
    let (status, unchanged) = post(&app, &agent, rx, &template).await;
    assert_eq!(
        (status, unchanged["outcome"].as_str(), unchanged["source"].as_str()),
        (200, Some("unchanged"), Some("llm"))
    );
    assert_eq!(unchanged["upgraded_at"], Value::Null);
}
