//! The pharmacist's console as the server offers it: the page, the prescription card, the
//! change feed, the stats bar and the dispensing label. The page itself is driven in a real
//! browser by `tests/browser`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{SECRET, TestApp, body, spawn_app_with};

/// A pack of the demo inventory: azithromycin 250 mg capsules (Borneo), lot DL24B283.
const AZITHROMYCIN: &str = "(01)02952800135957(17)280229(10)DL24B283";

fn demo_app() -> TestApp {
    spawn_app_with(&[("RXGATE_JWT_SECRET", SECRET)], &["--demo"])
}

async fn rx_with(app: &TestApp, drugs: &[&str]) -> i64 {
    let queue = body(app.get("/api/v1/pharmacy/queue", Some(&app.token("pharmacist"))).await).await;
    queue["prescriptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|rx| {
            let items: Vec<&str> =
                rx["items"].as_array().unwrap().iter().map(|i| i["drug"].as_str().unwrap()).collect();
            items == drugs
        })
        .unwrap_or_else(|| panic!("no demo prescription with {drugs:?}"))["rx_id"]
        .as_i64()
        .unwrap()
}

async fn post(app: &TestApp, path: &str, payload: &Value) -> reqwest::Response {
    app.http.post(app.url(path)).bearer_auth(app.token("pharmacist")).json(payload).send().await.unwrap()
}

async fn audit_actions(app: &TestApp, rx: i64) -> Vec<String> {
    let db = app.database().await;
    let mut tx = db.begin_read().await.unwrap();
    let actions = tx.list_audit_for_rx(&rx.to_string()).await.unwrap().into_iter().map(|e| e.action).collect();
    drop(tx);
    db.close().await;
    actions
}

/// Verifies, substitutes clarithromycin with azithromycin and dispenses that line.
async fn substitute_and_dispense_line_2(app: &TestApp, rx: i64) {
    let base = format!("/api/v1/pharmacy/{rx}");
    assert_eq!(post(app, &format!("{base}/verify"), &json!({})).await.status(), 200);
    let decisions = json!({"line_decisions": [{"line_no": 2, "action": "substitute", "reason": "CYP3A4 interaction",
        "replacement": "azithromycin"}]});
    let response = post(app, &format!("{base}/approve"), &decisions).await;
    assert_eq!(response.status(), 200, "{}", body(response).await);
    let scan = json!({"line_no": 2, "barcode": AZITHROMYCIN, "quantity": 6});
    let response = post(app, &format!("{base}/dispense"), &scan).await;
    assert_eq!(response.status(), 200, "{}", body(response).await);
}

#[tokio::test]
async fn the_console_page_is_served_from_the_binary_with_a_strict_content_policy() {
    let app = demo_app();
    let page = app.get("/", None).await;
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<script type="module" src="/console/app.js"></script>"#), "{html}");
    for file in ["app.js", "api.js", "card.js", "i18n.js", "scanner.js", "sound.js", "style.css"] {
        let response = app.get(&format!("/console/{file}"), None).await;
        assert_eq!(response.status(), 200, "{file}");
    }
    assert_eq!(app.get("/console/secrets.txt", None).await.status(), 404);
    assert_eq!(app.get("/console/..%2FCargo.toml", None).await.status(), 404);
}

#[tokio::test]
async fn the_card_shows_the_verification_per_line_and_reading_it_is_audited() {
    let app = demo_app();
    let rx = rx_with(&app, &["amlodipine", "clarithromycin"]).await;
    assert_eq!(post(&app, &format!("/api/v1/pharmacy/{rx}/verify"), &json!({})).await.status(), 200);

    let response = app.get(&format!("/api/v1/pharmacy/{rx}"), Some(&app.token("pharmacist"))).await;
    assert_eq!(response.status(), 200);
    let card = body(response).await;
    assert_eq!(card["status"], "ALERTS_RAISED", "{card}");
    assert_eq!(card["verification"]["highest_severity"], "major", "{card}");
    for line in card["verification"]["lines"].as_array().unwrap() {
        assert!(line["view_hash"].as_str().is_some_and(|h| h.len() == 64), "{line}");
    }
    // Azithromycin replaces the macrolide, not the calcium-channel blocker.
    assert_eq!(card["substitutes"]["2"], json!(["azithromycin"]), "{card}");
    assert!(card["substitutes"]["1"].is_null(), "{card}");
    assert_eq!(card["patient_card"]["initials"], "D.A.", "{card}");
    assert_eq!(card["counselling_items"].as_array().unwrap().len(), 7, "{card}");
    assert_eq!(card["dispenses"], json!([]));

    assert!(audit_actions(&app, rx).await.iter().any(|a| a == "rx_read"));

    // An explanation stored for this verification (by the explainer agent) comes with the
    // card, with what it was written from.
    let db = app.database().await;
    let mut tx = db.begin().await.unwrap();
    let new = rxgate_storage::NewExplanation {
        rx_id: rx,
        verification_id: card["verification"]["verification_id"].as_i64().unwrap(),
        line_no: Some(2),
        finding_key: "ddi:amlodipine+clarithromycin".into(),
        language: "en".into(),
        audience: "pharmacist".into(),
        text: "Clarithromycin raises amlodipine levels.".into(),
        source: "llm".into(),
        model: Some("SmolLM2-135M-Instruct".into()),
        prompt_version: "v1".into(),
        facts_hash: "ab".repeat(32),
        generated_tokens: 9,
        created_by: "explainer".into(),
    };
    tx.put_explanation(&new).await.unwrap();
    tx.commit().await.unwrap();
    db.close().await;
    let card = body(app.get(&format!("/api/v1/pharmacy/{rx}"), Some(&app.token("pharmacist"))).await).await;
    let explanation = &card["explanations"][0];
    assert_eq!(explanation["source"], "llm", "{card}");
    assert_eq!(explanation["finding_key"], "ddi:amlodipine+clarithromycin", "{card}");
    assert_eq!(explanation["facts_hash"], "ab".repeat(32), "{card}");
    // A prescription that does not exist is a 404, not an empty card.
    assert_eq!(app.get("/api/v1/pharmacy/999999", Some(&app.token("pharmacist"))).await.status(), 404);
}

#[tokio::test]
async fn a_label_is_printed_only_for_what_was_handed_over_and_carries_its_dispense_id() {
    let app = demo_app();
    let rx = rx_with(&app, &["amlodipine", "clarithromycin"]).await;
    let label = format!("/api/v1/pharmacy/{rx}/print-label");

    let response = post(&app, &label, &json!({"format": "pdf"})).await;
    assert_eq!(response.status(), 409);
    assert_eq!(body(response).await["error"]["code"], "not_dispensed");

    substitute_and_dispense_line_2(&app, rx).await;
    let card = body(app.get(&format!("/api/v1/pharmacy/{rx}"), Some(&app.token("pharmacist"))).await).await;
    let dispense_id = card["dispenses"][0]["dispense_id"].as_str().unwrap().to_string();
    assert!(dispense_id.starts_with("RXD-"), "{card}");

    // Line 1 was not dispensed: no label for it.
    assert_eq!(post(&app, &label, &json!({"format": "pdf", "line_no": 1})).await.status(), 409);

    let pdf = post(&app, &label, &json!({"format": "pdf", "line_no": 2})).await;
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert_eq!(pdf.headers()["cache-control"], "no-store");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));

    let zpl = post(&app, &label, &json!({"format": "zpl"})).await;
    assert_eq!(zpl.status(), 200);
    let zpl = zpl.text().await.unwrap();
    assert!(zpl.starts_with("^XA") && zpl.contains(&format!("^BCN,120,Y,N,N^FH^FD{dispense_id}^FS")), "{zpl}");
    assert!(zpl.contains("AZITHROMYCIN"), "the substitute is what is labelled: {zpl}");
    // A substitute was not prescribed at the original dose: no "500 mg twice a day" on it.
    assert!(zpl.contains("Take as directed by your pharmacist") && !zpl.contains("twice a day"), "{zpl}");
    assert!(zpl.contains("Contains gelatin of porcine origin"), "halal disclosure on the label: {zpl}");

    let queued = post(&app, &label, &json!({"format": "zpl", "line_no": 2, "workstation": "counter-1"})).await;
    assert_eq!(queued.status(), 202);
    let queued = body(queued).await;
    assert_eq!(queued["print_jobs"][0]["dispense_id"], dispense_id.as_str(), "{queued}");

    let printed = audit_actions(&app, rx).await.into_iter().filter(|a| a == "label_printed").count();
    assert_eq!(printed, 3);
}

/// Reads server-sent events until `want` matches one, or fails after a few seconds.
async fn next_event(stream: &mut reqwest::Response, buffer: &mut String, want: impl Fn(&str, &Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let kind = block.lines().find_map(|l| l.strip_prefix("event:")).map(str::trim).unwrap_or("message");
            let data: String = block.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim).collect();
            if data.is_empty() {
                continue;
            }
            let data: Value = serde_json::from_str(&data).unwrap();
            assert!(
                !data["action"].as_str().is_some_and(|a| a.ends_with("_read")),
                "a read in the change feed: {data}"
            );
            if want(kind, &data) {
                return data;
            }
        }
        let chunk = tokio::time::timeout_at(deadline, stream.chunk()).await.expect("an event within 15 s").unwrap();
        buffer.push_str(&String::from_utf8_lossy(&chunk.expect("the feed stays open")));
    }
}

#[tokio::test]
async fn the_change_feed_reports_changes_from_the_database_and_never_reads() {
    let app = demo_app();
    let rx = rx_with(&app, &["omeprazole"]).await;
    let mut feed = app.http.get(app.url("/api/v1/events")).bearer_auth(app.token("pharmacist")).send().await.unwrap();
    assert_eq!(feed.status(), 200);
    assert!(feed.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let mut buffer = String::new();
    let ready = next_event(&mut feed, &mut buffer, |kind, _| kind == "ready").await;
    assert!(ready["seq"].as_i64().unwrap() > 0, "{ready}");

    // A read (audited) and a change: only the change comes through.
    let _ = app.get("/api/v1/pharmacy/queue", Some(&app.token("pharmacist"))).await;
    assert_eq!(post(&app, &format!("/api/v1/pharmacy/{rx}/verify"), &json!({})).await.status(), 200);
    let change = next_event(&mut feed, &mut buffer, |kind, data| kind == "change" && data["rx_id"] == rx).await;
    assert!(change["seq"].as_i64().unwrap() > ready["seq"].as_i64().unwrap(), "{change}");

    // The feed follows every later change too.
    let response = post(
        &app,
        &format!("/api/v1/pharmacy/{rx}/approve"),
        &json!({"line_decisions": [
        {"line_no": 1, "action": "dispense", "reason": ""}]}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let decided = next_event(&mut feed, &mut buffer, |_, data| data["action"] == "line_decided").await;
    assert_eq!((decided["rx_id"].as_i64(), decided["line_no"].as_i64()), (Some(rx), Some(1)), "{decided}");
}

async fn stats(app: &TestApp) -> Value {
    body(app.get("/api/v1/pharmacy/stats", Some(&app.token("pharmacist"))).await).await
}

#[tokio::test]
async fn the_stats_bar_counts_today_and_what_awaits_a_pharmacist() {
    let app = demo_app();
    let before = stats(&app).await;
    assert_eq!(before["total_today"], 8, "{before}");
    assert_eq!(before["pending_approvals"], 0, "{before}");
    assert_eq!(before["average_seconds_to_dispense"], Value::Null, "{before}");

    let rx = rx_with(&app, &["amlodipine", "clarithromycin"]).await;
    substitute_and_dispense_line_2(&app, rx).await;
    let during = stats(&app).await;
    assert_eq!(during["pending_approvals"], 1, "line 1 still awaits a decision: {during}");
    assert_eq!(during["dispensed_today"], 0, "one line of two is not a dispensed prescription: {during}");
}
