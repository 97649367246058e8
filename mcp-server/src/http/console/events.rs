//! `GET /api/v1/events`: what changed, as server-sent events, read from the audit log.
//!
//! Every change to a prescription is written with its audit entry in one transaction, so
//! the log is a complete, ordered change feed that every server process shares: the feed
//! polls it for entries past the last `seq` it sent. An event says which prescription and
//! line changed and how (`line_decided`, `line_dispensed`, …), never patient data; the
//! console then reads what it needs through the audited API. Reads (`*_read`) are left out,
//! or a console re-reading on every event would feed itself.
//!
//! The event `id` is the audit `seq`, so a reconnecting `EventSource`-style client that
//! sends `Last-Event-ID` resumes where it stopped; a new client starts at the newest entry.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use futures_util::stream::{self, StreamExt};
use rxgate_storage::{AuditRecord, Storage};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::http::{AppError, AppState};

/// Cancelled when the server shuts down: open feeds end so graceful shutdown can finish.
#[derive(Clone)]
pub(in crate::http) struct FeedStop(pub(in crate::http) CancellationToken);

/// How often the log is polled. A change reaches the screen within this (plus the read):
/// well under the second a pharmacist would notice, at one cheap indexed query per console.
const POLL: Duration = Duration::from_millis(400);
const PAGE: i64 = 200;

struct Feed {
    storage: Storage,
    after: i64,
    pending: VecDeque<AuditRecord>,
}

fn is_change(record: &AuditRecord) -> bool {
    !record.action.ends_with("_read")
}

fn event_of(record: &AuditRecord) -> Event {
    let data = json!({
        "seq": record.seq,
        "action": record.action,
        "rx_id": record.rx_id.as_deref().and_then(|id| id.parse::<i64>().ok()),
        "line_no": record.line_no,
        "actor": record.actor,
        "at": record.at,
    });
    Event::default().id(record.seq.to_string()).event("change").data(data.to_string())
}

async fn poll(storage: &Storage, after: i64) -> Result<Vec<AuditRecord>, rxgate_storage::Error> {
    let mut tx = storage.begin_read().await?;
    let found = tx.list_audit(after, PAGE).await?;
    drop(tx);
    Ok(found)
}

fn feed(storage: Storage, after: i64) -> impl Stream<Item = Result<Event, Infallible>> {
    let start = Feed { storage, after, pending: VecDeque::new() };
    stream::unfold(start, |mut feed| async move {
        loop {
            if let Some(record) = feed.pending.pop_front() {
                return Some((Ok::<Event, Infallible>(event_of(&record)), feed));
            }
            match poll(&feed.storage, feed.after).await {
                Ok(records) => {
                    let full = i64::try_from(records.len()).unwrap_or(i64::MAX) == PAGE;
                    if let Some(last) = records.last() {
                        feed.after = last.seq;
                    }
                    feed.pending.extend(records.into_iter().filter(is_change));
                    if full {
                        continue;
                    }
                }
                // A database hiccup is not the client's problem: try again next tick.
                Err(e) => tracing::warn!(error = %e, "change feed: reading the audit log failed"),
            }
            if feed.pending.is_empty() {
                tokio::time::sleep(POLL).await;
            }
        }
    })
}

/// Opens the feed at `Last-Event-ID` when the client sends one, else at the newest entry.
pub(super) async fn events(
    State(app): State<AppState>,
    axum::Extension(FeedStop(stop)): axum::Extension<FeedStop>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let resume = headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<i64>().ok());
    let after = match resume {
        Some(seq) => seq.max(0),
        None => {
            let mut tx = app.storage.begin_read().await?;
            let head = tx.audit_head().await?;
            drop(tx);
            head.map_or(0, |(seq, _)| seq)
        }
    };
    // A first event tells the client where the feed starts (and that it is connected).
    let hello = stream::once(async move {
        Ok::<Event, Infallible>(
            Event::default().id(after.to_string()).event("ready").data(json!({"seq": after}).to_string()),
        )
    });
    let stream = hello.chain(feed(app.storage.clone(), after)).take_until(stop.cancelled_owned());
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
