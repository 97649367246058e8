//! Request guards: metrics for every request, and for `/mcp` and `/api/v1` the checks that
//! decide who may get through (Origin, bearer token, role).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{AppError, AppState, MCP_ROLES};
use crate::auth::{Principal, TokenError};

/// Loopback browser origins, any port, in rmcp's allow-list syntax.
pub(super) const LOOPBACK_ORIGIN_PATTERNS: &[&str] = &[
    "http://localhost:*",
    "http://127.0.0.1:*",
    "http://[::1]:*",
    "https://localhost:*",
    "https://127.0.0.1:*",
    "https://[::1]:*",
];

/// Counts and times every request by route template (never the raw path, which would
/// carry prescription ids into label values).
pub(super) async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_string();
    let method = request.method().as_str().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.record_request(&method, &route, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

/// The request's correlation id: the caller's `X-Request-Id` when it is a short token of
/// safe characters, else a fresh random one. It is echoed in the response and written in
/// every audit entry the request produces.
#[derive(Clone, Debug)]
pub(crate) struct CorrelationId(pub(crate) String);

pub(super) const REQUEST_ID: &str = "x-request-id";

fn fresh_id() -> String {
    let mut bytes = [0u8; 16];
    // Without randomness the id is still unique enough per process for correlation.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        bytes = nanos.to_le_bytes();
    }
    hex::encode(bytes)
}

pub(super) async fn correlate(mut request: Request, next: Next) -> Response {
    let given = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).filter(|v| {
        (8..=64).contains(&v.len()) && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    });
    let id = given.map_or_else(fresh_id, str::to_string);
    request.extensions_mut().insert(CorrelationId(id.clone()));
    let mut response = next.run(request).await;
    if let Ok(value) = axum::http::HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for CorrelationId {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<CorrelationId, AppError> {
        parts
            .extensions
            .get::<CorrelationId>()
            .cloned()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no correlation id: the `correlate` layer is missing")))
    }
}

/// Is this `Origin` header value allowed to call `/mcp`? Requests without an Origin
/// (non-browser clients) are; browser pages only from loopback hosts or the configured
/// extra origins. `null` (sandboxed frames, file URLs) is not.
pub(super) fn origin_allowed(origin: &str, extra: &[String]) -> bool {
    let origin = origin.trim().trim_end_matches('/');
    if extra.iter().any(|o| o.trim_end_matches('/').eq_ignore_ascii_case(origin)) {
        return true;
    }
    let Ok(uri) = origin.parse::<axum::http::Uri>() else { return false };
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    let host_ok =
        matches!(uri.host(), Some(h) if h.eq_ignore_ascii_case("localhost") || h == "127.0.0.1" || h == "[::1]");
    let bare = uri.path_and_query().is_none_or(|p| p.as_str() == "/" || p.as_str().is_empty());
    scheme_ok && host_ok && bare
}

/// `https://host` → `https://host:443`: rmcp's allow-list matches a port-less entry on any
/// port (deprecated), while a browser sends the default port implicitly.
pub(super) fn with_explicit_port(origin: &str) -> String {
    let origin = origin.trim_end_matches('/');
    match origin.parse::<axum::http::Uri>() {
        Ok(uri) if uri.port().is_none() => match uri.scheme_str() {
            Some("https") => format!("{origin}:443"),
            Some("http") => format!("{origin}:80"),
            _ => origin.to_string(),
        },
        _ => origin.to_string(),
    }
}

fn check_origin(state: &AppState, request: &Request) -> Result<(), AppError> {
    match request.headers().get(header::ORIGIN) {
        None => Ok(()),
        Some(value) => {
            let text = value.to_str().unwrap_or("<not text>");
            if origin_allowed(text, &state.extra_origins) {
                Ok(())
            } else {
                tracing::warn!(origin = text, "refused a cross-origin request to /mcp");
                Err(AppError::OriginNotAllowed { origin: text.to_string() })
            }
        }
    }
}

fn principal_of(state: &AppState, request: &Request, metadata_suffix: &str) -> Result<Principal, AppError> {
    let header = request.headers().get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or(""));
    state.keys.verify_header(header).map_err(|reason| AppError::Unauthorized {
        reason,
        resource_metadata: state.resource_metadata_url(metadata_suffix),
    })
}

/// `/mcp`: Origin (403), bearer token (401), role (403), then the principal travels into
/// the MCP handler through the request's extensions.
pub(super) async fn guard_mcp(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let checked =
        check_origin(&state, &request).and_then(|()| principal_of(&state, &request, "/mcp")).and_then(|principal| {
            if MCP_ROLES.contains(&principal.role) {
                Ok(principal)
            } else {
                Err(AppError::Forbidden { role: principal.role, action: "use the MCP tools", allowed: MCP_ROLES })
            }
        });
    match checked {
        Ok(principal) => {
            tracing::debug!(sub = %principal.subject, role = %principal.role, "mcp request");
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(e) => e.into_response(),
    }
}

/// `/api/v1`: a valid bearer token or 401. Each handler then checks the role for what it
/// does (403), through the [`Caller`] extractor and [`super::api::authorize`].
pub(super) async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    match principal_of(&state, &request, "") {
        Ok(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(e) => e.into_response(),
    }
}

/// `/cds-services/{id}` (and its feedback): the JWT a trusted CDS client signed for this
/// service (CDS Hooks 2.0; `crate::cds_auth`), or one of rxgate's own bearer tokens.
pub(super) async fn authenticate_cds_client(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let header = request.headers().get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or(""));
    let token = header
        .and_then(|h| h.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_string());
    let checked = match token {
        Some(token) if crate::cds_auth::is_client_token(&token) => {
            let path = request.uri().path();
            // Feedback belongs to its service: a token for either URL is accepted there.
            let mut audiences = vec![format!("{}{path}", state.public_url)];
            if let Some(service) = path.strip_suffix("/feedback") {
                audiences.push(format!("{}{service}", state.public_url));
            }
            claim_cds_client_token(&state, &token, &audiences).await
        }
        _ => principal_of(&state, &request, ""),
    };
    match checked {
        Ok(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(e) => e.into_response(),
    }
}

/// A CDS client's token, verified and then claimed in the database: a token is good once,
/// on whichever instance sees it first.
async fn claim_cds_client_token(state: &AppState, token: &str, audiences: &[String]) -> Result<Principal, AppError> {
    let refuse = |reason: TokenError| {
        tracing::info!(%reason, "refused a CDS client token");
        AppError::Unauthorized { reason, resource_metadata: state.resource_metadata_url("") }
    };
    let verified = state.cds_clients.verify(token, audiences).map_err(refuse)?;
    let mut tx = state.storage.begin().await?;
    let first_use = tx.claim_cds_token_id(&verified.issuer, &verified.jti, verified.expires_at).await?;
    tx.commit().await?;
    if !first_use {
        return Err(refuse(TokenError::Invalid("this token was already used (`jti`)".into())));
    }
    Ok(verified.principal)
}

/// The authenticated caller of a REST handler: `Caller(principal): Caller`.
pub(crate) struct Caller(pub(crate) Principal);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Caller, AppError> {
        // Only `authenticate` puts a principal there; a route outside it that asks for one
        // is a wiring mistake, and it fails closed.
        parts.extensions.get::<Principal>().cloned().map(Caller).ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("handler asked for a principal on an unauthenticated route"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::origin_allowed;

    #[test]
    fn only_loopback_and_configured_origins_reach_mcp() {
        let extra = vec!["https://console.example.org".to_string()];
        for ok in [
            "http://localhost:8080",
            "http://127.0.0.1:5173",
            "https://localhost",
            "http://[::1]:3000",
            "https://console.example.org",
            "https://console.example.org/",
        ] {
            assert!(origin_allowed(ok, &extra), "{ok} should be allowed");
        }
        for bad in [
            "https://evil.example",
            "null",
            "http://localhost.evil.example",
            "http://127.0.0.1.nip.io",
            "file://",
            "ftp://localhost",
            "https://console.example.org:8443",
            "",
        ] {
            assert!(!origin_allowed(bad, &extra), "{bad} should be refused");
        }
    }
}
