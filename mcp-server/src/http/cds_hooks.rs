//! CDS Hooks 2.0: `GET /cds-services` (discovery, no token: it holds no patient data),
//! `POST /cds-services/{id}` (cards for `order-select` / `order-sign`), and
//! `POST /cds-services/{id}/feedback` (accepted / overridden, counted for the override rate).
//!
//! The cards come from the same whole-prescription check as the pharmacy's verification
//! (`rxgate_checks::verify`) on the draft orders plus the prefetched patient, allergies and
//! active medications. A hook call stores only the uuids of the cards it answered (so that
//! feedback counts only for cards this server issued), never the orders or the patient.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rxgate_interop::cds::{self, CardInput, DraftOrder, FeedbackBody, HookRequest};
use serde_json::{Value, json};

use super::fhir::{Access, guarded};
use super::middleware::CorrelationId;
use super::{AppError, AppState};

/// Discovery, outside authentication.
pub(super) fn public_routes() -> Router<AppState> {
    Router::new().route("/cds-services", get(discovery))
}

/// Service calls and feedback (authentication is layered on by the router).
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/cds-services/{id}", guarded(Access::CdsHooks, post, call))
        .route("/cds-services/{id}/feedback", guarded(Access::CdsHooks, post, feedback))
}

async fn discovery() -> Json<Value> {
    Json(cds::discovery())
}

async fn call(
    State(state): State<AppState>,
    CorrelationId(correlation_id): CorrelationId,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let request: HookRequest =
        serde_json::from_slice(&body).map_err(|e| AppError::bad_request(format!("not a CDS Hooks request: {e}")))?;
    cds::check_service(&id, &request).map_err(|e| match e {
        cds::HookError::UnknownService(_) => AppError::NotFound { message: e.to_string() },
        other => AppError::bad_request(other.to_string()),
    })?;
    let (snapshot, maps) = crate::sync::snapshot_and_maps(&state).await?;
    let today = chrono::Utc::now().date_naive();
    let bundle = cds::intake_bundle(&request);
    let draft = rxgate_interop::intake::read_bundle(&snapshot.registry, &maps, &bundle, today).map_err(|e| {
        AppError::BadRequest {
            message: format!("draftOrders: {e}"),
            details: Some(json!({"issues": e.issues.iter().map(|i| json!({"code": i.code, "diagnostics": i.diagnostics, "expression": i.expression})).collect::<Vec<_>>()})),
        }
    })?;
    let check = rxgate_interop::checks_input(&draft);
    let verification = rxgate_checks::verify::verify(&snapshot.registry, &check, today);
    let orders: Vec<DraftOrder> =
        draft.lines.iter().map(|l| DraftOrder { reference: l.source.clone(), generic: l.drug.clone() }).collect();
    // order-select: findings about the orders being selected (by reference).
    let selected: Vec<String> = if request.hook == "order-select" {
        orders.iter().filter(|o| request.context.selections.contains(&o.reference)).map(|o| o.generic.clone()).collect()
    } else {
        Vec::new()
    };
    let unmapped: Vec<String> =
        draft.pending.iter().map(|p| p.mapping.display.clone().unwrap_or_else(|| p.mapping.key.clone())).collect();
    let cards = cds::cards(&CardInput {
        hook_instance: &request.hook_instance,
        registry: &snapshot.registry,
        knowledge_version: &snapshot.version,
        verification: &verification,
        orders: &orders,
        selected: &selected,
        unmapped: &unmapped,
    });
    let mut tx = state.storage.begin().await?;
    tx.record_cds_cards(&id, &cards.iter().map(|c| c.uuid.clone()).collect::<Vec<_>>()).await?;
    tx.commit().await?;
    tracing::info!(
        correlation_id,
        service = %id,
        cards = cards.len(),
        critical = cards.iter().filter(|c| c.indicator == "critical").count(),
        "cds hook answered"
    );
    Ok(Json(json!({"cards": cards})).into_response())
}

async fn feedback(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<FeedbackBody>,
) -> Result<Response, AppError> {
    if id != cds::ORDER_SELECT && id != cds::ORDER_SIGN {
        return Err(AppError::NotFound { message: format!("service `{id}` does not exist") });
    }
    let mut tx = state.storage.begin().await?;
    let mut recorded = 0;
    for (i, f) in body.feedback.iter().enumerate() {
        if !f.outcome_is_valid() {
            return Err(AppError::bad_request(format!(
                "feedback[{i}].outcome must be `accepted` or `overridden`, not `{}`",
                f.outcome
            )));
        }
        let at = chrono::DateTime::parse_from_rfc3339(&f.outcome_timestamp)
            .map_err(|e| AppError::bad_request(format!("feedback[{i}].outcomeTimestamp: {e}")))?
            .with_timezone(&chrono::Utc);
        let reason = f
            .override_reason
            .as_ref()
            .and_then(|r| r["reason"]["code"].as_str().or_else(|| r["code"].as_str()).map(str::to_string));
        if f.outcome == "overridden" && reason.is_none() {
            return Err(AppError::bad_request(format!("feedback[{i}]: an override needs overrideReason.reason")));
        }
        if tx.cds_card_service(&f.card).await?.as_deref() != Some(id.as_str()) {
            return Err(AppError::bad_request(format!(
                "feedback[{i}].card `{}` is not a card service `{id}` issued",
                f.card
            )));
        }
        if tx.insert_cds_feedback(&id, &f.card, &f.outcome, reason.as_deref(), at).await? {
            recorded += 1;
            state.metrics.interop.feedback(&f.outcome);
        }
    }
    tx.commit().await?;
    Ok((StatusCode::OK, Json(json!({"recorded": recorded}))).into_response())
}
