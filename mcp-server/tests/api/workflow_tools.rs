//! The MCP workflow tools an assistant uses on the real queue: `rx_queue`, `rx_get`,
//! `rx_verify`, `rx_propose`. They read, verify and propose through the same gate and
//! audit as REST — and no tool approves, dispenses or closes.

use serde_json::{Value, json};

use crate::helpers::{SECRET, TestApp, body, spawn_app_with};

fn demo_app() -> TestApp {
    spawn_app_with(&[("RXGATE_JWT_SECRET", SECRET)], &["--demo"])
}

/// `tools/call` on the 2025-11-25 protocol; returns the `result` object.
async fn call(app: &TestApp, token: &str, name: &str, arguments: Value) -> Value {
    let request = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": name, "arguments": arguments}});
    app.mcp(token, Some("2025-11-25"), request).await["result"].clone()
}

fn ok(result: &Value) -> &Value {
    assert_ne!(result["isError"], true, "{result}");
    &result["structuredContent"]
}

fn error_text(result: &Value) -> String {
    assert_eq!(result["isError"], true, "expected a tool error: {result}");
    result["content"][0]["text"].as_str().unwrap().to_string()
}

async fn rx_with(app: &TestApp, token: &str, drugs: &[&str]) -> i64 {
    let queue = call(app, token, "rx_queue", json!({})).await;
    let queue = ok(&queue);
    queue["prescriptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|rx| {
            let items: Vec<String> =
                rx["items"].as_array().unwrap().iter().map(|i| i["drug"].as_str().unwrap().to_lowercase()).collect();
            items == drugs
        })
        .unwrap_or_else(|| panic!("no demo prescription with {drugs:?}: {queue}"))["rx_id"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn the_tool_list_offers_the_workflow_tools_and_none_that_approves_dispenses_or_closes() {
    let app = demo_app();
    let list = app
        .mcp(
            &app.token("agent"),
            Some("2025-11-25"),
            json!({"jsonrpc": "2.0", "id": 1,
        "method": "tools/list"}),
        )
        .await;
    let tools = list["result"]["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    for wanted in ["rx_queue", "rx_get", "rx_verify", "rx_propose", "verify_prescription"] {
        assert!(names.contains(&wanted), "{names:?}");
    }
    for name in &names {
        for verb in ["approve", "dispense", "close", "counsel"] {
            assert!(!name.contains(verb), "an MCP tool named {name} must not exist");
        }
    }
    // Writing tools say so; reading ones say they only read.
    let annotation =
        |name: &str| tools.iter().find(|t| t["name"] == name).unwrap()["annotations"]["readOnlyHint"].clone();
    assert_eq!(annotation("rx_queue"), true);
    assert_eq!(annotation("rx_propose"), false);
    assert_eq!(annotation("rx_verify"), false);
}

#[tokio::test]
async fn an_agent_verifies_reads_and_proposes_but_the_line_waits_for_a_pharmacist() {
    let app = demo_app();
    let agent = app.token("agent");
    let rx = rx_with(&app, &agent, &["amlodipine", "clarithromycin"]).await;

    let got = call(&app, &agent, "rx_get", json!({"rx_id": rx})).await;
    assert!(ok(&got)["verification"].is_null(), "not verified yet: {got}");
    assert!(ok(&got)["patient"]["halal_preference"].is_string(), "{got}");

    let verified = call(&app, &agent, "rx_verify", json!({"rx_id": rx})).await;
    let v = ok(&verified);
    assert_eq!(v["rx_status"], "ALERTS_RAISED", "{v}");
    assert_eq!(v["blocking"], true, "{v}");
    let pair = v["ddi_alerts"].as_array().unwrap().iter().any(|a| {
        let drugs = a["drugs"].as_array().unwrap();
        drugs.contains(&json!("amlodipine")) && drugs.contains(&json!("clarithromycin"))
    });
    assert!(pair, "{v}");

    // The stored verification comes back with what a decision must be bound to.
    let got = call(&app, &agent, "rx_get", json!({"rx_id": rx})).await;
    let stored = &ok(&got)["verification"];
    assert_eq!(stored["verification_id"], v["verification_id"], "{got}");
    assert!(stored["lines"].as_array().unwrap().iter().all(|l| l["view_hash"].as_str().is_some_and(|h| h.len() == 64)));

    // Proposing a substitute puts it in front of the pharmacist; the line stays undecided.
    let proposed = call(
        &app,
        &agent,
        "rx_propose",
        json!({"rx_id": rx, "line_no": 2, "action": "substitute",
            "rationale": "clarithromycin inhibits CYP3A4 and raises amlodipine levels; azithromycin does not"}),
    )
    .await;
    let p = ok(&proposed);
    assert_eq!(p["proposal_status"], "pending_pharmacist", "{p}");
    let line2 = p["lines"].as_array().unwrap().iter().find(|l| l["line_no"] == 2).unwrap();
    assert_eq!(line2["status"], "HITL_REVIEW", "{p}");
    assert!(line2["decision"].is_null(), "a proposal decides nothing: {p}");
    assert_eq!(line2["proposal"]["action"], "substitute", "{p}");

    // The pharmacist sees it on REST, and the agent still cannot approve there.
    let ph = app.token("pharmacist");
    let queue = body(app.get("/api/v1/pharmacy/queue", Some(&ph)).await).await;
    let status =
        queue["prescriptions"].as_array().unwrap().iter().find(|r| r["rx_id"] == rx).unwrap()["status"].clone();
    assert_eq!(status, "HITL_REVIEW", "{queue}");
    let approve = app
        .http
        .post(app.url(&format!("/api/v1/pharmacy/{rx}/approve")))
        .bearer_auth(&agent)
        .json(&json!({"line_decisions": [{"line_no": 2, "action": "substitute", "replacement": "azithromycin"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(approve.status(), 403);

    // Every workflow call left an audit entry under the agent.
    let db = app.database().await;
    let mut tx = db.begin_read().await.unwrap();
    let actions: Vec<String> = tx
        .list_audit(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.actor == "test-agent")
        .map(|r| r.action)
        .collect();
    for wanted in ["queue_read", "rx_read", "proposal_recorded"] {
        assert!(actions.iter().any(|a| a == wanted), "{wanted} not in {actions:?}");
    }
}

#[tokio::test]
async fn bad_workflow_calls_are_tool_errors_a_person_can_act_on_and_change_nothing() {
    let app = demo_app();
    let agent = app.token("agent");
    let rx = rx_with(&app, &agent, &["amlodipine", "clarithromycin"]).await;

    // Proposing before verification: the gate refuses.
    let early = call(
        &app,
        &agent,
        "rx_propose",
        json!({"rx_id": rx, "line_no": 1, "action": "dispense",
        "rationale": "fine"}),
    )
    .await;
    assert!(error_text(&early).contains(':'), "{early}");

    ok(&call(&app, &agent, "rx_verify", json!({"rx_id": rx})).await);
    let no_reason =
        call(&app, &agent, "rx_propose", json!({"rx_id": rx, "line_no": 2, "action": "substitute", "rationale": " "}))
            .await;
    assert!(error_text(&no_reason).starts_with("reason_required"), "{no_reason}");
    let bad_action =
        call(&app, &agent, "rx_propose", json!({"rx_id": rx, "line_no": 2, "action": "approve", "rationale": "x"}))
            .await;
    assert!(error_text(&bad_action).contains("dispense"), "lists the known actions: {bad_action}");
    let missing = call(&app, &agent, "rx_get", json!({"rx_id": 999_999})).await;
    assert!(error_text(&missing).starts_with("not_found"), "{missing}");
    let wrong_type = call(&app, &agent, "rx_get", json!({"rx_id": "one"})).await;
    assert!(error_text(&wrong_type).contains("rx_id"), "{wrong_type}");

    let got = call(&app, &agent, "rx_get", json!({"rx_id": rx})).await;
    assert!(ok(&got)["proposals"].as_array().unwrap().is_empty(), "refused proposals leave nothing: {got}");
}

#[tokio::test]
async fn a_scanner_token_cannot_use_the_workflow_tools() {
    let app = demo_app();
    let response = app
        .mcp_request(
            Some(&app.token("device")),
            Some("2025-11-25"),
            &json!({"jsonrpc": "2.0", "id": 1,
            "method": "tools/call", "params": {"name": "rx_queue", "arguments": {}}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}
