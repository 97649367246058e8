//! What an operator or a monitoring system sees without any token: health, metrics,
//! errors, and a clean stop.

use serde_json::json;

use crate::helpers::{body, spawn_app};

#[tokio::test]
async fn healthz_answers_without_a_token_and_names_the_knowledge_in_force() {
    let app = spawn_app();
    let response = app.get("/healthz", None).await;
    assert_eq!(response.status(), 200);
    let health = body(response).await;
    assert_eq!(health["status"], "ok");
    let knowledge = &health["knowledge"];
    assert!(knowledge["version"].as_str().is_some_and(|v| !v.is_empty()), "{health}");
    assert_eq!(knowledge["hash"].as_str().map(str::len), Some(64), "{health}");
    let loaded_at = knowledge["loaded_at"].as_str().expect("loaded_at");
    assert!(chrono::DateTime::parse_from_rfc3339(loaded_at).is_ok(), "{loaded_at}");
    // Embedded SQLite in the data dir unless DATABASE_URL says otherwise.
    assert_eq!(health["database"], json!({"backend": "sqlite", "status": "ok"}));
}

#[tokio::test]
async fn with_a_postgres_database_url_the_server_runs_on_postgresql() {
    let Some(db) = rxgate_storage::testing::TestDatabase::postgres().await else { return };
    let app = crate::helpers::spawn_app_with(
        &[("RXGATE_JWT_SECRET", crate::helpers::SECRET), ("DATABASE_URL", db.target.as_str())],
        &[],
    );
    let health = body(app.get("/healthz", None).await).await;
    assert_eq!(health["database"], json!({"backend": "postgres", "status": "ok"}), "{health}");
    drop(app);
    db.drop_database().await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_tool_calls_by_outcome() {
    let app = spawn_app();
    let token = app.token("agent");
    app.get("/healthz", None).await;
    app.get("/api/v1/pharmacy/inventory/check/amlodipine", Some(&token)).await;
    app.mcp(&token, None, crate::helpers::initialize("2025-11-25")).await;
    let call = |id: u32, name: &str, args: serde_json::Value| json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": args}});
    app.mcp(&token, Some("2025-11-25"), call(2, "ddi_check", json!({"drugs": ["amlodipine"]}))).await;
    app.mcp(&token, Some("2025-11-25"), call(3, "ddi_check", json!({"drugs": "not a list"}))).await;

    let response = app.get("/metrics", None).await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    let text = response.text().await.unwrap();
    for expected in [
        r#"rxgate_http_requests_total{method="GET",route="/healthz",status="200"} 1"#,
        // The route template, never the drug in the path.
        r#"rxgate_http_requests_total{method="GET",route="/api/v1/pharmacy/inventory/check/{drug_code}",status="200"} 1"#,
        r#"rxgate_http_requests_total{method="POST",route="/mcp",status="200"} 3"#,
        r#"rxgate_mcp_tool_calls_total{tool="ddi_check",outcome="ok"} 1"#,
        r#"rxgate_mcp_tool_calls_total{tool="ddi_check",outcome="tool_error"} 1"#,
        "rxgate_http_request_duration_seconds_bucket",
        "rxgate_knowledge_info{",
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
    assert!(!text.contains("amlodipine"), "a path parameter leaked into a label:\n{text}");
}

#[tokio::test]
async fn an_unknown_path_gets_the_contract_error_body() {
    let app = spawn_app();
    let response = app.get("/no/such/thing", None).await;
    assert_eq!(response.status(), 404);
    let error = body(response).await;
    assert_eq!(error["error"]["code"], "not_found");
    assert!(error["error"]["message"].as_str().unwrap().contains("/no/such/thing"));
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly() {
    let mut app = spawn_app();
    assert_eq!(app.get("/healthz", None).await.status(), 200);
    let status = app.terminate();
    assert!(status.success(), "exit status after SIGTERM: {status}");
}
