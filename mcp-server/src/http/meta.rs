//! Unauthenticated endpoints about the server itself: health, metrics, and the RFC 9728
//! protected-resource metadata that tells an MCP client how to authenticate.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::{AppError, AppState};
use crate::auth::Role;
use crate::telemetry::METRICS_CONTENT_TYPE;

/// `GET /healthz`: up, which knowledge is in force, and whether the database answers
/// (503 when it does not, so a load balancer stops sending work here).
pub(super) async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let (snapshot, loaded_at) = state.knowledge.current_with_loaded_at();
    let backend = match state.storage.backend() {
        rxgate_storage::Backend::Sqlite => "sqlite",
        rxgate_storage::Backend::Postgres => "postgres",
    };
    let database_ok = match state.storage.ping().await {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "database ping failed");
            false
        }
    };
    let status = if database_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let sync = if database_ok { crate::sync::health(&state).await } else { Value::Null };
    (
        status,
        Json(json!({
            "status": if database_ok { "ok" } else { "degraded" },
            "version": env!("CARGO_PKG_VERSION"),
            "database": {"backend": backend, "status": if database_ok { "ok" } else { "unavailable" }},
            "knowledge": {
                "version": snapshot.version,
                "hash": snapshot.hash,
                "loaded_at": loaded_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            },
            "sync": sync,
        })),
    )
}

/// `GET /metrics`.
pub(super) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let snapshot = state.knowledge.current();
    state.metrics.set_knowledge(&snapshot.version.to_string(), &snapshot.hash.to_string());
    // Queue gauges come from the database, so every process reports the shared queues.
    crate::sync::health(&state).await;
    (StatusCode::OK, [(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], state.metrics.render())
}

/// RFC 9728 metadata for `resource`. Tokens are issued by the operator (`rxgate token`),
/// not by an OAuth authorization server, so `authorization_servers` is absent.
fn resource_metadata(resource: String) -> Json<Value> {
    Json(json!({
        "resource": resource,
        "resource_name": "rxgate pharmacy-safety gateway",
        "bearer_methods_supported": ["header"],
        "rxgate_token_algorithm": "HS256",
        "rxgate_roles": Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "rxgate_token_command": "rxgate token --role ROLE --sub NAME [--ttl 1h]",
    }))
}

/// `GET /.well-known/oauth-protected-resource`: the whole server (REST and MCP).
pub(super) async fn resource_metadata_root(State(state): State<AppState>) -> Json<Value> {
    resource_metadata(state.public_url.to_string())
}

/// `GET /.well-known/oauth-protected-resource/mcp`: the MCP endpoint (RFC 9728 §3.1
/// path-suffixed form, which MCP clients try first).
pub(super) async fn resource_metadata_mcp(State(state): State<AppState>) -> Json<Value> {
    resource_metadata(format!("{}/mcp", state.public_url))
}

pub(super) async fn not_found(uri: Uri) -> AppError {
    AppError::NotFound { message: format!("no such endpoint: {}", uri.path()) }
}
