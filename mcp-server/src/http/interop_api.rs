//! The integration desk: `/api/v1/interop/*` (queues, events, unmapped codes and their
//! resolution, resending dead letters) for the console's integration panel, and the
//! inbound EHR webhook `POST /interop/webhook`, authenticated by its HMAC signature
//! instead of a bearer token (the EHR holds the shared secret, not a user's token).

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rxgate_storage::EventFilter;
use serde_json::{Value, json};

use super::fhir::{Access, guarded};
use super::middleware::{Caller, CorrelationId};
use super::{AppError, AppState};
use crate::auth::{Principal, Role};
use crate::sync::{self, IntakeResult};

/// Under `/api/v1` (bearer token and roles).
pub(super) fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/interop/summary", guarded(Access::InteropRead, get, summary))
        .route("/interop/events", guarded(Access::InteropRead, get, events))
        .route("/interop/events/{id}/retry", guarded(Access::InteropAct, post, retry))
        .route("/interop/mappings", guarded(Access::InteropRead, get, mappings))
        .route("/interop/mappings/resolve", guarded(Access::InteropAct, post, resolve))
        .route("/interop/med-list-pull", guarded(Access::InteropAct, post, med_list_pull))
}

/// Outside the bearer check: the signature is the authentication.
pub(super) fn webhook_routes() -> Router<AppState> {
    Router::new().route("/interop/webhook", post(webhook))
}

fn event_json(e: &rxgate_storage::InteropEvent) -> Value {
    json!({
        "id": e.id, "direction": e.direction, "kind": e.kind, "natural_key": e.natural_key,
        "correlation_id": e.correlation_id, "status": e.status, "attempts": e.attempts,
        "next_attempt_at": e.next_attempt_at, "last_error": e.last_error, "rx_id": e.rx_id,
        "duration_ms": e.duration_ms, "created_at": e.created_at, "updated_at": e.updated_at,
    })
}

/// `GET /api/v1/interop/summary`: KPI cards of the integration panel.
async fn summary(State(state): State<AppState>) -> Result<Json<Value>, AppError> {
    let mut tx = state.storage.begin_read().await?;
    let counts = tx.interop_counts().await?;
    let recent = tx.list_events(&EventFilter { limit: Some(500), ..EventFilter::default() }).await?;
    let (accepted, overridden) = tx.cds_feedback_counts().await?;
    tx.commit().await?;
    state.metrics.interop.set_counts(&counts);
    let outbound: Vec<_> = recent.iter().filter(|e| e.direction == "outbound").collect();
    let last_sync = outbound.iter().filter(|e| e.status == "done").map(|e| e.updated_at).max();
    let finished = outbound.iter().filter(|e| matches!(e.status.as_str(), "done" | "dead_letter")).count();
    let delivered = outbound.iter().filter(|e| e.status == "done").count();
    let mut latencies: Vec<i64> = outbound.iter().filter_map(|e| e.duration_ms).collect();
    latencies.sort_unstable();
    let p50 = latencies.get(latencies.len() / 2).copied();
    let feedback = accepted + overridden;
    Ok(Json(json!({
        "queue": {
            "pending": counts.pending, "retrying": counts.retrying, "dead_letter": counts.dead_letter,
            "needs_mapping": counts.needs_mapping, "done": counts.done,
        },
        "unresolved_mappings": counts.unresolved_mappings,
        "last_sync": last_sync,
        "success_rate": (finished > 0).then(|| delivered as f64 / finished as f64),
        "latency_ms_p50": p50,
        "cds": {"accepted": accepted, "overridden": overridden,
                "override_rate": (feedback > 0).then(|| overridden as f64 / feedback as f64)},
    })))
}

#[derive(Debug, serde::Deserialize)]
struct EventsQuery {
    status: Option<String>,
    rx_id: Option<i64>,
    limit: Option<i64>,
}

/// `GET /api/v1/interop/events?status=dead_letter,pending`: the event stream, newest first.
async fn events(State(state): State<AppState>, Query(q): Query<EventsQuery>) -> Result<Json<Value>, AppError> {
    let statuses: Vec<String> = q
        .status
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    for s in &statuses {
        if rxgate_interop::sync::Status::parse(s).is_none() {
            return Err(AppError::BadRequest {
                message: format!("unknown status `{s}`"),
                details: Some(json!({"known": ["pending", "done", "needs_mapping", "dead_letter"]})),
            });
        }
    }
    let mut tx = state.storage.begin_read().await?;
    let events = tx.list_events(&EventFilter { statuses, rx_id: q.rx_id, limit: q.limit }).await?;
    tx.commit().await?;
    Ok(Json(json!({"events": events.iter().map(event_json).collect::<Vec<_>>()})))
}

/// `POST /api/v1/interop/events/{id}/retry`: a dead letter goes round again.
async fn retry(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Json<Value>, AppError> {
    let event = sync::requeue(&state, id).await?;
    Ok(Json(json!({"event": event_json(&event)})))
}

#[derive(Debug, serde::Deserialize)]
struct MappingsQuery {
    status: Option<String>,
}

/// `GET /api/v1/interop/mappings?status=pending`: codes waiting for an analyst.
async fn mappings(State(state): State<AppState>, Query(q): Query<MappingsQuery>) -> Result<Json<Value>, AppError> {
    let mut tx = state.storage.begin_read().await?;
    let rows = tx.list_mappings(q.status.as_deref()).await?;
    tx.commit().await?;
    Ok(Json(json!({"mappings": rows.iter().map(|m| json!({
        "key": m.key, "system": m.system, "code": m.code, "display": m.display, "used_as": m.used_as,
        "status": m.status, "generic": m.generic, "resolved_by": m.resolved_by,
        "created_at": m.created_at, "resolved_at": m.resolved_at,
    })).collect::<Vec<_>>()})))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    /// The pending key (`system|code` or `text|name`).
    key: String,
    /// What it means: a generic, brand or product code the registry knows.
    generic: String,
}

/// `POST /api/v1/interop/mappings/resolve`: maps the code; events waiting on it are
/// reprocessed at once.
async fn resolve(
    State(state): State<AppState>,
    Caller(principal): Caller,
    CorrelationId(correlation_id): CorrelationId,
    Json(body): Json<ResolveBody>,
) -> Result<Json<Value>, AppError> {
    let reprocessed =
        sync::resolve_and_reprocess(&state, &body.key, &body.generic, &principal, &correlation_id).await?;
    Ok(Json(json!({"key": body.key, "reprocessed": reprocessed})))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PullBody {
    /// Our patient (surrogate id).
    patient_id: i64,
    /// The EHR's id of the same patient, as its search takes it.
    ehr_patient: String,
}

/// `POST /api/v1/interop/med-list-pull`: the patient's active medications, from the EHR.
async fn med_list_pull(
    State(state): State<AppState>,
    CorrelationId(correlation_id): CorrelationId,
    Json(body): Json<PullBody>,
) -> Result<Json<Value>, AppError> {
    Ok(Json(sync::med_list_pull(&state, body.patient_id, &body.ehr_patient, &correlation_id).await?))
}

#[derive(Debug, serde::Deserialize)]
struct WebhookBody {
    /// `PRESCRIPTION_NEW` or `PRESCRIPTION_CANCEL`.
    event: String,
    /// For `PRESCRIPTION_NEW`: the intake bundle.
    bundle: Option<Value>,
    /// For `PRESCRIPTION_CHANGE`: the MedicationRequest naming its `priorPrescription`.
    medication_request: Option<Value>,
    /// For `PRESCRIPTION_CANCEL`: the natural key of the prescription (as taken in).
    prescription_key: Option<String>,
    /// For `PRESCRIPTION_CANCEL`: only this order (`system|value`); all when absent.
    ehr_request: Option<String>,
}

/// `POST /interop/webhook`: the EHR pushes new, changed and cancelled prescriptions, signed.
async fn webhook(
    State(state): State<AppState>,
    CorrelationId(correlation_id): CorrelationId,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let Some(secret) = state.sync.secret.as_deref() else {
        return Err(AppError::Rejected {
            code: "webhook_disabled",
            message: "inbound webhooks need RXGATE_EHR_SECRET on this server".into(),
            details: None,
        });
    };
    let signature = headers.get(rxgate_interop::signing::SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    if let Err(e) = rxgate_interop::signing::verify(secret, signature, &body, chrono::Utc::now().timestamp()) {
        tracing::warn!(correlation_id, error = %e, "webhook signature refused");
        return Ok((
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"code": "bad_signature", "message": e.to_string()}})),
        )
            .into_response());
    }
    let request: WebhookBody = serde_json::from_slice(&body)
        .map_err(|e| AppError::BadRequest { message: format!("webhook body: {e}"), details: None })?;
    let ehr = Principal::new("ehr-webhook", Role::Physician);
    match rxgate_interop::sync::EventKind::parse(&request.event) {
        Some(rxgate_interop::sync::EventKind::PrescriptionNew) => {
            let bundle_value = request.bundle.ok_or_else(|| AppError::BadRequest {
                message: "PRESCRIPTION_NEW needs `bundle`".into(),
                details: None,
            })?;
            let payload = bundle_value.to_string();
            let (snapshot, maps) = sync::snapshot_and_maps(&state).await?;
            let draft = sync::read_payload(&snapshot, &maps, &payload)
                .map_err(|message| AppError::BadRequest { message, details: None })?;
            let answer = match sync::intake(&state, &draft, &payload, &ehr, &correlation_id).await? {
                IntakeResult::Queued { event, rx_id, replayed, .. } => {
                    json!({"event_id": event.id, "status": "done", "rx_id": rx_id, "replayed": replayed})
                }
                IntakeResult::NeedsMapping { event, pending } => json!({
                    "event_id": event.id, "status": "needs_mapping",
                    "pending": pending.iter().map(|p| &p.key).collect::<Vec<_>>(),
                }),
            };
            Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
        }
        Some(rxgate_interop::sync::EventKind::PrescriptionChange) => {
            let request = request.medication_request.ok_or_else(|| AppError::BadRequest {
                message: "PRESCRIPTION_CHANGE needs `medication_request`".into(),
                details: None,
            })?;
            let (snapshot, maps) = sync::snapshot_and_maps(&state).await?;
            let change = rxgate_interop::intake::read_change(&snapshot.registry, &maps, &request)
                .map_err(|e| AppError::BadRequest { message: e.to_string(), details: None })?;
            let answer = match sync::change_from_ehr(&state, &change, &request.to_string(), &ehr, &correlation_id)
                .await?
            {
                sync::ChangeResult::Applied { event, rx_id, line_no, replayed } => json!({
                    "event_id": event.id, "status": "done", "rx_id": rx_id, "line_no": line_no, "replayed": replayed,
                }),
                sync::ChangeResult::NeedsMapping { event, pending } => json!({
                    "event_id": event.id, "status": "needs_mapping",
                    "pending": pending.iter().map(|p| &p.key).collect::<Vec<_>>(),
                }),
            };
            Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
        }
        Some(rxgate_interop::sync::EventKind::PrescriptionCancel) => {
            let key = request.prescription_key.ok_or_else(|| AppError::BadRequest {
                message: "PRESCRIPTION_CANCEL needs `prescription_key`".into(),
                details: None,
            })?;
            let payload = String::from_utf8_lossy(&body).to_string();
            let answer =
                sync::cancel_from_ehr(&state, &key, request.ehr_request.as_deref(), &payload, &correlation_id).await?;
            Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
        }
        _ => Err(AppError::BadRequest {
            message: format!("`{}` is not an inbound event this server takes", request.event),
            details: Some(json!({"known": ["PRESCRIPTION_NEW", "PRESCRIPTION_CHANGE", "PRESCRIPTION_CANCEL"]})),
        }),
    }
}
