//! MCP over Streamable HTTP at `/mcp`, driven by a bare JSON-RPC client so that every
//! header and field on the wire is the one this test wrote. Both protocol eras the issue
//! names are exercised: 2025-11-25 (initialize handshake) and 2026-07-28 (stateless:
//! `server/discover`, per-request `_meta`, `Mcp-Method`/`Mcp-Name` headers).

use serde_json::{Value, json};

use crate::helpers::{TestApp, initialize, spawn_app};

const MODERN: &str = "2026-07-28";

fn modern_meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
    })
}

/// A 2026-07-28 request: `_meta` in the params and the routing headers beside it.
async fn modern(app: &TestApp, token: &str, id: u32, method: &str, mut params: Value) -> Value {
    params["_meta"] = modern_meta();
    let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    let mut req = app.mcp_request(Some(token), Some(MODERN), &body).header("Mcp-Method", method);
    if let Some(name) = params.get("name").and_then(Value::as_str) {
        req = req.header("Mcp-Name", name);
    }
    let response = req.send().await.expect("POST /mcp");
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{method}: {text}");
    serde_json::from_str(&text).unwrap()
}

fn tool_names(list: &Value) -> Vec<String> {
    list["result"]["tools"].as_array().expect("tools").iter().map(|t| t["name"].as_str().unwrap().to_string()).collect()
}

fn assert_major_amlodipine_clarithromycin(result: &Value) {
    let result = &result["result"];
    assert_ne!(result["isError"], true, "{result}");
    let out = &result["structuredContent"];
    assert!(matches!(out["highest_severity"].as_str(), Some("major" | "contraindicated")), "{out}");
    let pair = out["interactions"].as_array().unwrap().iter().find(|i| {
        let drugs = i["drugs"].as_array().unwrap();
        drugs.contains(&json!("amlodipine")) && drugs.contains(&json!("clarithromycin"))
    });
    assert!(pair.is_some_and(|p| p["alternatives"].as_array().unwrap().contains(&json!("azithromycin"))), "{out}");
    assert_eq!(out["knowledge"]["hash"].as_str().map(str::len), Some(64));
    assert!(result["content"][0]["text"].as_str().is_some_and(|t| !t.trim().is_empty()), "{result}");
}

#[tokio::test]
async fn an_agent_on_2025_11_25_initializes_lists_the_tools_and_checks_an_interaction() {
    let app = spawn_app();
    let token = app.token("agent");
    let init = app.mcp(&token, None, initialize("2025-11-25")).await;
    let result = &init["result"];
    assert_eq!(result["protocolVersion"], "2025-11-25", "{init}");
    assert_eq!(result["serverInfo"]["name"], "rxgate");
    assert!(result["capabilities"]["tools"].is_object());

    let accepted = app
        .mcp_request(
            Some(&token),
            Some("2025-11-25"),
            &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 202);

    let list = app.mcp(&token, Some("2025-11-25"), json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})).await;
    let names = tool_names(&list);
    for tool in ["ddi_check", "allergy_check", "halal_filter", "barcode_verify", "generic_suggest", "stock_check"] {
        assert!(names.iter().any(|n| n == tool), "{tool} missing from {names:?}");
    }

    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "ddi_check", "arguments": {"drugs": ["amlodipine", "clarithromycin"]}}});
    assert_major_amlodipine_clarithromycin(&app.mcp(&token, Some("2025-11-25"), call).await);
}

#[tokio::test]
async fn an_agent_on_2026_07_28_discovers_the_server_and_checks_an_interaction_statelessly() {
    let app = spawn_app();
    let token = app.token("agent");
    let discover = modern(&app, &token, 1, "server/discover", json!({})).await;
    let versions = discover["result"]["supportedVersions"].as_array().expect("supportedVersions");
    for v in [MODERN, "2025-11-25"] {
        assert!(versions.contains(&json!(v)), "{v} not offered: {discover}");
    }
    let list = modern(&app, &token, 2, "tools/list", json!({})).await;
    assert!(tool_names(&list).contains(&"ddi_check".to_string()));
    let call = modern(
        &app,
        &token,
        3,
        "tools/call",
        json!({"name": "ddi_check", "arguments": {"drugs": ["amlodipine", "clarithromycin"]}}),
    )
    .await;
    assert_major_amlodipine_clarithromycin(&call);
}

#[tokio::test]
async fn no_mcp_session_is_kept_so_any_request_stands_alone() {
    // Stateless by design (several `rxgate serve` processes on one database behave as
    // one): no Mcp-Session-Id is handed out, and a call needs no earlier handshake.
    let app = spawn_app();
    let token = app.token("pharmacist");
    let response = app.mcp_request(Some(&token), None, &initialize("2025-11-25")).send().await.unwrap();
    assert!(response.headers().get("mcp-session-id").is_none());
    let call = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
        "params": {"name": "ddi_check", "arguments": {"drugs": ["amlodipine", "clarithromycin"]}}});
    assert_major_amlodipine_clarithromycin(&app.mcp(&token, Some("2025-11-25"), call).await);
}

#[tokio::test]
async fn bad_input_is_a_tool_error_naming_the_field_and_an_unknown_tool_a_protocol_error() {
    let app = spawn_app();
    let token = app.token("agent");
    let bad = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "ddi_check", "arguments": {"drugs": ["amlodipine"], "patient": {"weight_kg": "eight"}}}});
    let result = app.mcp(&token, Some("2025-11-25"), bad).await;
    assert_eq!(result["result"]["isError"], true, "{result}");
    let text = result["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("patient.weight_kg"), "{text}");

    let unknown = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "approve_everything", "arguments": {}}});
    let result = app.mcp(&token, Some("2025-11-25"), unknown).await;
    assert!(result["error"]["message"].as_str().unwrap().contains("unknown tool"), "{result}");
}

#[tokio::test]
async fn a_foreign_host_header_is_refused_dns_rebinding() {
    let app = spawn_app();
    let response = app
        .mcp_request(Some(&app.token("agent")), None, &initialize("2025-11-25"))
        .header("Host", "attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}
