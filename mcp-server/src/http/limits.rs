//! A deadline and an in-flight cap for request/response routes. The console's change feed
//! (SSE) and `/mcp` are exempt: they are meant to stay open, and are ended by shutdown.
//!
//! A request over its deadline is dropped where it stands: its database transaction rolls
//! back, so nothing half-done is kept (a dispense that did commit just before is safe to
//! retry with its idempotency key). Over the cap, a request is answered 503 at once rather
//! than queued: a counter that cannot be served now is better told so than kept waiting
//! behind a pile-up.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use super::AppError;

/// The limits of one server.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    deadline: Duration,
    in_flight: Arc<Semaphore>,
}

impl Limits {
    pub(crate) fn new(deadline: Duration, max_in_flight: usize) -> Limits {
        Limits { deadline, in_flight: Arc::new(Semaphore::new(max_in_flight)) }
    }
}

/// Route layer: refuses over the cap, ends over the deadline.
pub(super) async fn enforce(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    let Ok(_permit) = limits.in_flight.clone().try_acquire_owned() else {
        tracing::warn!(path = %request.uri().path(), "refused: too many requests in flight");
        return AppError::Busy.into_response();
    };
    let path = request.uri().path().to_string();
    match tokio::time::timeout(limits.deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(%path, deadline_ms = limits.deadline.as_millis() as u64, "request ran out of time");
            AppError::Timeout { after: limits.deadline }.into_response()
        }
    }
}
