//! Who may get in: 401 when the caller is not known (no token, a bad one, an expired one),
//! 403 when the caller is known but its role may not do this, and the metadata that tells
//! an MCP client how to authenticate.

use serde_json::{Value, json};

use crate::helpers::{Claims, ROLES, SECRET, body, now, rxgate, sign, spawn_app, spawn_in};

const INVENTORY: &str = "/api/v1/pharmacy/inventory/check/amlodipine";

fn tools_list() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
}

fn challenge(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("a 401 must carry WWW-Authenticate ({})", response.status()))
}

/// Tokens that must never get in, each with why.
fn bad_tokens() -> Vec<(&'static str, String)> {
    let now = now();
    let ok = |role| Claims { sub: "t", role, iss: "rxgate", aud: "rxgate", iat: now, exp: now + 600 };
    vec![
        ("garbage", "not-a-jwt".to_string()),
        ("expired", sign(&Claims { iat: now - 7200, exp: now - 3600, ..ok("pharmacist") }, SECRET)),
        ("another secret", sign(&ok("pharmacist"), "some-other-secret-some-other-secret-xx")),
        ("wrong issuer", sign(&Claims { iss: "someone-else", ..ok("pharmacist") }, SECRET)),
        ("wrong audience", sign(&Claims { aud: "someone-else", ..ok("pharmacist") }, SECRET)),
        ("unknown role", sign(&ok("root"), SECRET)),
        ("capitalised role", sign(&ok("Pharmacist"), SECRET)),
        ("empty subject", sign(&Claims { sub: "", ..ok("pharmacist") }, SECRET)),
    ]
}

#[tokio::test]
async fn the_api_without_a_token_is_401_with_a_bearer_challenge_naming_the_metadata() {
    let app = spawn_app();
    let response = app.get(INVENTORY, None).await;
    assert_eq!(response.status(), 401);
    let expected = format!(r#"Bearer resource_metadata="{}/.well-known/oauth-protected-resource""#, app.address);
    assert_eq!(challenge(&response), expected);
    let error = body(response).await;
    assert_eq!(error["error"]["code"], "unauthorized");
}

#[tokio::test]
async fn mcp_without_a_token_is_401_pointing_at_the_mcp_metadata() {
    let app = spawn_app();
    let response = app.mcp_request(None, None, &tools_list()).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let expected = format!(r#"resource_metadata="{}/.well-known/oauth-protected-resource/mcp""#, app.address);
    assert!(challenge(&response).contains(&expected), "{}", challenge(&response));
}

#[tokio::test]
async fn bad_and_expired_tokens_are_401_invalid_token_on_the_api_and_on_mcp() {
    let app = spawn_app();
    for (why, token) in bad_tokens() {
        let response = app.get(INVENTORY, Some(&token)).await;
        assert_eq!(response.status(), 401, "api, {why}");
        assert!(challenge(&response).contains(r#"error="invalid_token""#), "api, {why}: {}", challenge(&response));
        let message = body(response).await["error"]["message"].as_str().unwrap().to_string();
        if why == "expired" {
            assert!(message.contains("expired"), "{message}");
        }

        let response = app.mcp_request(Some(&token), None, &tools_list()).send().await.unwrap();
        assert_eq!(response.status(), 401, "mcp, {why}");
        assert!(challenge(&response).contains(r#"error="invalid_token""#), "mcp, {why}");
    }
    // Not the bearer scheme at all.
    let response = app.http.get(app.url(INVENTORY)).header("Authorization", "Basic dXNlcjpwdw==").send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert!(challenge(&response).contains(r#"error="invalid_request""#));
}

/// Every endpoint of the contract × every role: 403 (never 401) where the role may not,
/// and past the role check (2xx, or 501 while the workflow is not wired) where it may.
#[tokio::test]
async fn authorisation_matrix_every_endpoint_for_every_role() {
    use crate::helpers::Method::{Get, Post};
    let app = spawn_app();
    let approve = json!({"line_decisions": [{"line_no": 1, "action": "dispense", "reason": "ok"}]});
    let dispense = json!({"line_no": 1, "barcode": "(01)02950374034256(17)270531(10)DL24A140", "quantity": 30});
    let matrix: Vec<(crate::helpers::Method, &str, Value, &[&str])> = vec![
        (Get, "/api/v1/whoami", Value::Null, &ROLES),
        (Get, "/api/v1/pharmacy/queue", Value::Null, &["pharmacist", "agent"]),
        (Post, "/api/v1/pharmacy/rx-1/verify", json!({}), &["pharmacist", "agent"]),
        (Post, "/api/v1/pharmacy/rx-1/approve", approve, &["pharmacist"]),
        (Post, "/api/v1/pharmacy/rx-1/dispense", dispense, &["pharmacist"]),
        (Post, "/api/v1/pharmacy/rx-1/print-label", json!({"format": "pdf"}), &["pharmacist"]),
        (Get, "/api/v1/pharmacy/1", Value::Null, &["pharmacist"]),
        (Get, "/api/v1/pharmacy/stats", Value::Null, &["pharmacist", "admin"]),
        (Get, "/api/v1/events", Value::Null, &["pharmacist"]),
        (Post, "/api/v1/pharmacy/rx-1/counsel-done", json!({"items": []}), &["pharmacist"]),
        (
            Get,
            "/api/v1/pharmacy/inventory/check/amlodipine",
            Value::Null,
            &["pharmacist", "physician", "agent", "admin"],
        ),
        (Post, "/api/v1/pharmacy/inventory/reorder", json!({"drug_code": "amlodipine"}), &["pharmacist", "admin"]),
        (
            Post,
            "/api/v1/pharmacy/adverse-events",
            json!({"patient_id": 999_999, "drug": "amoxicillin", "description": "rash"}),
            &["pharmacist", "physician"],
        ),
        (Post, "/mcp", tools_list(), &["pharmacist", "physician", "agent"]),
    ];
    let mut failures = Vec::new();
    for (method, path, payload, roles) in &matrix {
        for role in ROLES {
            let token = app.token(role);
            let response = match (method, *path) {
                (_, "/mcp") => app.mcp_request(Some(&token), None, payload).send().await.unwrap(),
                (Get, _) => app.get(path, Some(&token)).await,
                (Post, _) => app.http.post(app.url(path)).bearer_auth(&token).json(payload).send().await.unwrap(),
            };
            let status = response.status().as_u16();
            let may = roles.contains(&role);
            let row = format!("{method:?} {path} as {role}: {status}");
            if may && (status == 401 || status == 403 || status >= 500 && status != 501) {
                failures.push(format!("{row}, expected to pass the role check"));
            } else if !may {
                if status != 403 {
                    failures.push(format!("{row}, expected 403"));
                    continue;
                }
                let error = body(response).await;
                assert_eq!(error["error"]["code"], "forbidden", "{row}");
                assert_eq!(error["error"]["details"]["role"], role, "{row}");
            }
        }
    }
    assert!(failures.is_empty(), "authorisation matrix:\n{}", failures.join("\n"));
}

/// The agent proposes; a pharmacist decides. No route lets an agent token approve,
/// dispense, label or counsel, even with a well-formed request.
#[tokio::test]
async fn an_agent_token_is_refused_every_pharmacist_decision_over_rest() {
    let app = spawn_app();
    let token = app.token("agent");
    for action in ["approve", "dispense", "print-label", "counsel-done"] {
        let path = format!("/api/v1/pharmacy/rx-1/{action}");
        let response = app.http.post(app.url(&path)).bearer_auth(&token).json(&json!({})).send().await.unwrap();
        assert_eq!(response.status(), 403, "{path}");
    }
}

#[tokio::test]
async fn whoami_reports_the_principal_of_the_token() {
    let app = spawn_app();
    let response = app.get("/api/v1/whoami", Some(&app.token("physician"))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(response).await, json!({"sub": "test-physician", "role": "physician"}));
}

#[tokio::test]
async fn protected_resource_metadata_describes_the_server_and_the_mcp_endpoint() {
    let app = spawn_app();
    for (path, resource) in [
        ("/.well-known/oauth-protected-resource", app.address.clone()),
        ("/.well-known/oauth-protected-resource/mcp", format!("{}/mcp", app.address)),
    ] {
        let response = app.get(path, None).await;
        assert_eq!(response.status(), 200, "{path}");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
        let metadata = body(response).await;
        assert_eq!(metadata["resource"], resource.as_str(), "{path}");
        assert_eq!(metadata["bearer_methods_supported"], json!(["header"]), "{path}");
    }
}

#[tokio::test]
async fn a_web_page_on_another_origin_is_refused_even_with_a_valid_token() {
    let app = spawn_app();
    let token = app.token("agent");
    for origin in ["https://evil.example", "null", "http://localhost.evil.example"] {
        let response =
            app.mcp_request(Some(&token), None, &tools_list()).header("Origin", origin).send().await.unwrap();
        assert_eq!(response.status(), 403, "{origin}");
        assert_eq!(body(response).await["error"]["code"], "origin_not_allowed", "{origin}");
    }
    // Refused before the token is even looked at.
    let response =
        app.mcp_request(None, None, &tools_list()).header("Origin", "https://evil.example").send().await.unwrap();
    assert_eq!(response.status(), 403);
    for origin in ["http://localhost:5173", "http://127.0.0.1:8080"] {
        let response =
            app.mcp_request(Some(&token), None, &tools_list()).header("Origin", origin).send().await.unwrap();
        assert_eq!(response.status(), 200, "{origin}");
    }
}

#[tokio::test]
async fn a_configured_console_origin_is_allowed() {
    let app = crate::helpers::spawn_app_with(
        &[("RXGATE_JWT_SECRET", SECRET)],
        &["--allow-origin", "https://console.pharmacy.example"],
    );
    let response = app
        .mcp_request(Some(&app.token("pharmacist")), None, &tools_list())
        .header("Origin", "https://console.pharmacy.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// `rxgate token` and `rxgate serve` find the same secret in the data dir: generated once,
/// private to its owner, reused by both.
#[tokio::test]
async fn a_token_from_rxgate_token_is_accepted_by_rxgate_serve() {
    let data_dir = tempfile::tempdir().unwrap();
    let out = rxgate()
        .args(["token", "--role", "pharmacist", "--sub", "ph-0042", "--ttl", "15m"])
        .env("RXGATE_DATA_DIR", data_dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(token.split('.').count(), 3, "{token}");

    let secret = data_dir.path().join("jwt-secret");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777, 0o600);

    let app = spawn_in(data_dir, &[], &[]);
    let response = app.get("/api/v1/whoami", Some(&token)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(response).await, json!({"sub": "ph-0042", "role": "pharmacist"}));
    // A server with a different secret refuses it.
    let other = spawn_app();
    assert_eq!(other.get("/api/v1/whoami", Some(&token)).await.status(), 401);
}

#[test]
fn rxgate_token_refuses_an_unknown_role_a_bad_lifetime_and_an_empty_subject() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        ["--role", "root", "--ttl", "1h", "--sub", "x"],
        ["--role", "agent", "--ttl", "forever", "--sub", "x"],
        ["--role", "agent", "--ttl", "1h", "--sub", ""],
    ] {
        let out = rxgate().arg("token").args(args).env("RXGATE_DATA_DIR", dir.path()).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        assert!(out.stdout.is_empty(), "no token may be printed for {args:?}");
    }
}
