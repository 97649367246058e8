//! One error type for every HTTP handler, rendered as the contract's error body:
//! `{"error": {"code", "message", "details"?}}`.
//!
//! Client errors are returned as they are, with a message a person can act on. Internal
//! errors are logged with their full chain and shown only as "something went wrong", so no
//! SQL, path or stack detail ever reaches a client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::auth::{Role, TokenError};

#[derive(Debug)]
pub(crate) enum AppError {
    /// No usable bearer token: 401 with a `WWW-Authenticate` challenge that names the
    /// protected-resource metadata (RFC 9728 §5.1).
    Unauthorized {
        reason: TokenError,
        resource_metadata: String,
    },
    /// A console login with an unknown user or a wrong password: 401, the same answer for
    /// both.
    LoginFailed,
    /// A valid token whose role may not do this: 403.
    Forbidden {
        role: Role,
        action: &'static str,
        allowed: &'static [Role],
    },
    /// A browser page on another site: 403, before any token is looked at.
    OriginNotAllowed {
        origin: String,
    },
    NotFound {
        message: String,
    },
    BadRequest {
        message: String,
        details: Option<Value>,
    },
    /// The human gate said no (`rxgate-guardrails`): 403 for who is acting, 409 for the
    /// state or policy of the moment; nothing was changed.
    Refused(rxgate_guardrails::Refusal),
    /// The state moved under the request (optimistic version check): 409, reload and retry.
    Conflict {
        message: String,
    },
    /// A request the current facts refuse (a scan that does not match, stock that is not
    /// there): 409 with its own code and details; nothing was handed over.
    Rejected {
        code: &'static str,
        message: String,
        details: Option<Value>,
    },
    /// A system behind us (the EHR) failed, could not be trusted or answered nonsense: 502
    /// with its own code; worth retrying later.
    Upstream {
        code: &'static str,
        message: String,
    },
    /// More requests in flight than the server takes at once: 503, retry shortly.
    Busy,
    /// The request ran past its deadline and was abandoned (its transaction rolled back): 503.
    Timeout {
        after: std::time::Duration,
    },
    Internal(anyhow::Error),
}

impl AppError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthorized { .. } | AppError::LoginFailed => StatusCode::UNAUTHORIZED,
            AppError::Forbidden { .. } | AppError::OriginNotAllowed { .. } => StatusCode::FORBIDDEN,
            AppError::NotFound { .. } => StatusCode::NOT_FOUND,
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Upstream { .. } => StatusCode::BAD_GATEWAY,
            AppError::Conflict { .. } | AppError::Rejected { .. } => StatusCode::CONFLICT,
            AppError::Refused(r) => StatusCode::from_u16(r.http_status()).unwrap_or(StatusCode::CONFLICT),
            AppError::Busy | AppError::Timeout { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            AppError::Unauthorized { .. } => "unauthorized",
            AppError::LoginFailed => "invalid_credentials",
            AppError::Forbidden { .. } => "forbidden",
            AppError::OriginNotAllowed { .. } => "origin_not_allowed",
            AppError::NotFound { .. } => "not_found",
            AppError::BadRequest { .. } => "bad_request",
            AppError::Conflict { .. } => "conflict",
            AppError::Rejected { code, .. } | AppError::Upstream { code, .. } => code,
            AppError::Refused(r) => r.code.as_str(),
            AppError::Busy => "busy",
            AppError::Timeout { .. } => "timeout",
            AppError::Internal(_) => "internal",
        }
    }
}

impl From<rxgate_storage::Error> for AppError {
    fn from(e: rxgate_storage::Error) -> AppError {
        use rxgate_storage::Error as E;
        match e {
            E::NotFound(what) => AppError::NotFound { message: format!("not found: {what}") },
            E::Conflict(what) => AppError::Conflict { message: format!("changed by someone else meanwhile: {what}") },
            other => AppError::Internal(anyhow::Error::new(other).context("database")),
        }
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> AppError {
        AppError::Internal(e)
    }
}

/// The `WWW-Authenticate` challenge of a 401 (RFC 6750 §3, RFC 9728 §5.1). A missing token
/// gets no `error` attribute; a bad one gets `invalid_token`.
fn challenge(reason: &TokenError, resource_metadata: &str) -> String {
    match reason {
        TokenError::Missing => format!(r#"Bearer resource_metadata="{resource_metadata}""#),
        TokenError::Malformed => {
            format!(r#"Bearer error="invalid_request", resource_metadata="{resource_metadata}""#)
        }
        TokenError::Expired | TokenError::Invalid(_) => format!(
            r#"Bearer error="invalid_token", error_description="{}", resource_metadata="{resource_metadata}""#,
            reason.to_string().replace('"', "'")
        ),
    }
}

impl AppError {
    /// Message, details and (for 401) the challenge of this error, as answered.
    fn parts(&self) -> (String, Option<Value>, Option<String>) {
        match self {
            AppError::Unauthorized { reason, resource_metadata } => {
                (reason.to_string(), None, Some(challenge(reason, resource_metadata)))
            }
            AppError::LoginFailed => ("unknown user or wrong password".to_string(), None, None),
            AppError::Forbidden { role, action, allowed } => (
                format!("the role `{role}` may not {action}"),
                Some(json!({
                    "role": role.as_str(),
                    "allowed_roles": allowed.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                })),
                None,
            ),
            AppError::OriginNotAllowed { origin } => {
                (format!("requests from the web origin {origin} are not accepted; use a local client"), None, None)
            }
            AppError::NotFound { message } | AppError::Conflict { message } | AppError::Upstream { message, .. } => {
                (message.clone(), None, None)
            }
            AppError::BadRequest { message, details } | AppError::Rejected { message, details, .. } => {
                (message.clone(), details.clone(), None)
            }
            AppError::Refused(r) => (r.reason.clone(), None, None),
            AppError::Busy => {
                ("the server is at its limit of requests in flight; retry in a moment".to_string(), None, None)
            }
            AppError::Timeout { after } => (
                format!(
                    "the request took longer than {} ms and was abandoned (what it had not committed was rolled back); retry — a dispense with the same idempotency key is recorded once",
                    after.as_millis()
                ),
                None,
                None,
            ),
            AppError::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "internal error");
                ("something went wrong".to_string(), None, None)
            }
        }
    }

    /// A 400 with only a message: the request itself is wrong and nothing was changed.
    pub(crate) fn bad_request(message: impl Into<String>) -> AppError {
        AppError::BadRequest { message: message.into(), details: None }
    }

    /// The error as an MCP tool error's text: the same code and message a REST client
    /// gets, so an assistant can act on it the same way.
    pub(crate) fn tool_message(&self) -> String {
        let (message, details, _) = self.parts();
        match details {
            Some(details) => format!("{}: {message} ({details})", self.code()),
            None => format!("{}: {message}", self.code()),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = self.code();
        let (message, details, www_authenticate) = self.parts();
        let mut body = json!({"code": code, "message": message});
        if let Some(details) = details {
            body["details"] = details;
        }
        let busy = matches!(self, AppError::Busy);
        let mut response = (status, Json(json!({ "error": body }))).into_response();
        if busy {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let Some(value) = www_authenticate.and_then(|v| HeaderValue::from_str(&v).ok()) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}
