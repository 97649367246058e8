//! The pharmacist's console: the page itself (`/`, `/console/*`, files from `hitl-ui/`
//! compiled into the binary) and the API reads and actions only the console needs:
//!
//! | route | what |
//! |---|---|
//! | `GET /api/v1/pharmacy/{rx_id}` | one prescription as the verification card shows it (audited read) |
//! | `GET /api/v1/events` | server-sent events: the change feed, read from the audit log |
//! | `GET /api/v1/pharmacy/stats` | today's counts for the bottom bar |
//! | `POST /api/v1/pharmacy/{rx_id}/print-label` | the label of a dispensed line, PDF or ZPL (audited) |
//!
//! Everything the console shows comes from the database, never from this process's memory,
//! so a console connected to any of several `rxgate serve` processes sees the same thing.

mod assets;
mod detail;
mod events;
mod label;
mod stats;

use axum::Router;
use axum::routing::{get, post};

use super::AppState;
use super::api::{Endpoint, guarded};

pub(super) use events::FeedStop;

/// The page and its files; no token needed to load them (the page holds no data).
pub(super) fn pages() -> Router<AppState> {
    Router::new().route("/", get(assets::index)).route("/console/{file}", get(assets::file))
}

/// The console's API routes, each behind its [`Endpoint`] role check.
pub(super) fn api_routes() -> Router<AppState> {
    use Endpoint as E;
    Router::new()
        .route("/pharmacy/stats", guarded(E::Stats, get, stats::stats))
        .route("/pharmacy/{rx_id}", guarded(E::RxDetail, get, detail::detail))
        .route("/pharmacy/{rx_id}/print-label", guarded(E::PrintLabel, post, label::print_label))
}

/// The change feed: a stream that stays open, so outside the request deadline.
pub(super) fn feed_routes() -> Router<AppState> {
    Router::new().route("/events", guarded(Endpoint::Events, get, events::events))
}
