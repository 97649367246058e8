//! The prescription commands of the REST API: verify, approve, dispense (scan and
//! hand-over), counsel-done (then close). Each loads the state, runs the guardrails and
//! persists with its audit entries in one transaction ([`crate::workflow`]).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use rxgate_guardrails::{Command, CounselItem, LineAction, LineDecision, RxStatus, approval_view_hash};
use rxgate_storage::NewCounselling;
use serde_json::{Value, json};

use super::middleware::{Caller, CorrelationId};
use super::{AppError, AppState};
use crate::dispense::{self, Actors, Outcome, ScanRequest};
use crate::operations::{self, Actor};
use crate::workflow;

/// `POST /api/v1/pharmacy/{rx_id}/verify`: the server runs every check on the stored
/// prescription (nothing the client sends is taken as a finding), stores the result and
/// its alerts, and records it through the gate. Answers the `verify_prescription` result
/// with `rx_status` and a `view_hash` per line (to post back with the decision).
pub(super) async fn verify(
    State(app): State<AppState>,
    Caller(principal): Caller,
    CorrelationId(correlation_id): CorrelationId,
    Path(rx_id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let rx_id = workflow::parse_rx_id(&rx_id)?;
    let actor = Actor { principal: &principal, correlation_id: &correlation_id };
    Ok(Json(operations::verify(&app.storage, &app.knowledge, actor, rx_id).await?))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ApproveBody {
    line_decisions: Vec<LineDecisionIn>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LineDecisionIn {
    line_no: u32,
    action: String,
    #[serde(default)]
    reason: String,
    justification: Option<String>,
    /// The `view_hash` the verification answered for this line. When absent, the decision
    /// is taken on the view as it is stored now.
    view_hash: Option<String>,
    /// The drug to dispense instead (generic, brand or product code); for `substitute`.
    replacement: Option<String>,
}

/// `POST /api/v1/pharmacy/{rx_id}/approve`: a pharmacist's decisions, all or none.
pub(super) async fn approve(
    State(app): State<AppState>,
    Caller(principal): Caller,
    CorrelationId(correlation_id): CorrelationId,
    Path(rx_id): Path<String>,
    Json(body): Json<ApproveBody>,
) -> Result<Json<Value>, AppError> {
    let rx_id = workflow::parse_rx_id(&rx_id)?;
    if body.line_decisions.is_empty() {
        return Err(AppError::bad_request("`line_decisions` must hold at least one decision"));
    }
    let snapshot = app.knowledge.current();
    let mut decisions = Vec::with_capacity(body.line_decisions.len());
    for d in &body.line_decisions {
        let action = LineAction::parse(&d.action).map_err(|e| AppError::BadRequest {
            message: e.to_string(),
            details: Some(json!({"known": LineAction::ALL.iter().map(|a| a.as_str()).collect::<Vec<_>>()})),
        })?;
        let replacement = match &d.replacement {
            Some(name) => Some(workflow::resolve_drug(&snapshot, name).ok_or_else(|| {
                AppError::bad_request(format!("replacement `{name}` is not in the knowledge registry"))
            })?),
            None => None,
        };
        decisions.push((d, action, replacement));
    }
    let mut tx = app.storage.begin().await?;
    let mut loaded = workflow::load(&mut tx, &snapshot, rx_id).await?;
    for (d, action, replacement) in decisions {
        let view_hash = match &d.view_hash {
            Some(h) => h.clone(),
            None => approval_view_hash(&loaded.state, &loaded.facts, d.line_no).map_err(AppError::Refused)?,
        };
        let replacement_severity = match &replacement {
            Some(r) => workflow::severity_with_replacement(
                &snapshot,
                &loaded,
                d.line_no,
                &r.generic,
                chrono::Utc::now().date_naive(),
            )?,
            None => None,
        };
        let command = Command::LineDecision(LineDecision {
            line_no: d.line_no,
            action,
            reason: d.reason.clone(),
            justification: d.justification.clone(),
            approved_view_hash: view_hash,
            replacement,
            replacement_severity,
        });
        let next = workflow::apply(tx, &mut loaded, &principal, &command, &correlation_id).await?;
        tx = next;
    }
    workflow::commit(tx, &mut loaded, &principal, &correlation_id).await?;
    Ok(Json(operations::state_json(&loaded)))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DispenseBody {
    line_no: u32,
    /// The GS1 scan of the pack in hand.
    barcode: String,
    quantity: u32,
    idempotency_key: Option<String>,
}

/// `POST /api/v1/pharmacy/{rx_id}/dispense`: scans the pack against the line's expected
/// product (the replacement if substituted) and, if it matches, hands it over: one record
/// per idempotency key, inventory decremented. A mismatch is recorded and answered 409
/// with the problems; nothing is dispensed.
pub(super) async fn dispense(
    State(app): State<AppState>,
    Caller(principal): Caller,
    CorrelationId(correlation_id): CorrelationId,
    Path(rx_id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<DispenseBody>,
) -> Result<Json<Value>, AppError> {
    let rx_id = workflow::parse_rx_id(&rx_id)?;
    let header_key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string);
    // Without a key, the same scan of the same line in the same quantity is the same dispense.
    let key = body.idempotency_key.clone().or(header_key).unwrap_or_else(|| {
        workflow::sha256_hex(format!("{rx_id}\n{}\n{}\n{}", body.line_no, body.barcode, body.quantity).as_bytes())
    });
    let snapshot = app.knowledge.current();
    let tx = app.storage.begin().await?;
    let request = ScanRequest {
        rx_id,
        line_no: body.line_no,
        barcode: &body.barcode,
        quantity: body.quantity,
        idempotency_key: key,
        device: None,
    };
    let actors = Actors { scanned_by: &principal, dispensed_by: &principal, correlation_id: &correlation_id };
    match dispense::scan_and_dispense(tx, &snapshot, &request, actors).await?.commit().await? {
        Outcome::Dispensed { replayed, dispense, barcode, prescription } => Ok(Json(json!({
            "replayed": replayed,
            "dispense": dispense,
            "barcode": barcode,
            "prescription": prescription,
        }))),
        Outcome::Mismatch { scan_id, message, problems, barcode } => Err(AppError::Rejected {
            code: "barcode_mismatch",
            message,
            details: Some(json!({"scan_id": scan_id, "problems": problems, "barcode": barcode})),
        }),
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CounselBody {
    /// The checklist items covered (`identity_confirmed`, `purpose`, …).
    items: Vec<String>,
}

/// `POST /api/v1/pharmacy/{rx_id}/counsel-done`: records the counselling checklist and,
/// since counselling is the last step, closes the prescription in the same transaction.
pub(super) async fn counsel_done(
    State(app): State<AppState>,
    Caller(principal): Caller,
    CorrelationId(correlation_id): CorrelationId,
    Path(rx_id): Path<String>,
    Json(body): Json<CounselBody>,
) -> Result<Json<Value>, AppError> {
    let rx_id = workflow::parse_rx_id(&rx_id)?;
    let mut items = Vec::with_capacity(body.items.len());
    for text in &body.items {
        items.push(CounselItem::parse(text).map_err(|e| AppError::BadRequest {
            message: e.to_string(),
            details: Some(json!({"required": CounselItem::REQUIRED.iter().map(|i| i.as_str()).collect::<Vec<_>>()})),
        })?);
    }
    let snapshot = app.knowledge.current();
    let mut tx = app.storage.begin().await?;
    let mut loaded = workflow::load(&mut tx, &snapshot, rx_id).await?;
    let command = Command::CounselDone { items: items.clone() };
    let tx = workflow::apply(tx, &mut loaded, &principal, &command, &correlation_id).await?;
    let mut tx = tx;
    tx.insert_counselling(&NewCounselling {
        rx_id,
        checklist: json!(items.iter().map(|i| i.as_str()).collect::<Vec<_>>()),
        done_by: principal.subject.clone(),
    })
    .await?;
    let tx = workflow::apply(tx, &mut loaded, &principal, &Command::Close, &correlation_id).await?;
    workflow::commit(tx, &mut loaded, &principal, &correlation_id).await?;
    debug_assert_eq!(loaded.state.status, RxStatus::Closed);
    Ok(Json(operations::state_json(&loaded)))
}

/// `POST /api/v1/pharmacy/{rx_id}/close` (beyond the contract): closes a prescription the
/// gate allows to close without counselling (every line cancelled or held); a dispensed one
/// closes through `counsel-done`.
pub(super) async fn close(
    State(app): State<AppState>,
    Caller(principal): Caller,
    CorrelationId(correlation_id): CorrelationId,
    Path(rx_id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let rx_id = workflow::parse_rx_id(&rx_id)?;
    let snapshot = app.knowledge.current();
    let mut tx = app.storage.begin().await?;
    let mut loaded = workflow::load(&mut tx, &snapshot, rx_id).await?;
    let tx = workflow::apply(tx, &mut loaded, &principal, &Command::Close, &correlation_id).await?;
    workflow::commit(tx, &mut loaded, &principal, &correlation_id).await?;
    Ok(Json(operations::state_json(&loaded)))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReverseBody {
    line_no: u32,
    /// `declined` (the patient did not take it) or `entered_in_error`.
    reason_code: String,
    reason: String,
    /// Whether the units go back on the shelf: only a sealed pack that never left the
    /// pharmacy's control is fit to restock.
    #[serde(default)]
    restock: bool,
}

/// `POST /api/v1/pharmacy/{rx_id}/reverse-dispense` (beyond the contract): undoes a line's
/// hand-over before the prescription is closed. The dispense record stays; a reversal row
/// says why, the stock comes back when `restock`, the line is held to be decided again,
/// and the EHR is told (DISPENSE_REVERSAL).
pub(super) async fn reverse_dispense(
    State(app): State<AppState>,
    Caller(principal): Caller,
    CorrelationId(correlation_id): CorrelationId,
    Path(rx_id): Path<String>,
    Json(body): Json<ReverseBody>,
) -> Result<Json<Value>, AppError> {
    let rx_id = workflow::parse_rx_id(&rx_id)?;
    if !matches!(body.reason_code.as_str(), "declined" | "entered_in_error") {
        return Err(AppError::BadRequest {
            message: format!("reason_code `{}` is not one of declined, entered_in_error", body.reason_code),
            details: None,
        });
    }
    let snapshot = app.knowledge.current();
    let mut tx = app.storage.begin().await?;
    let mut loaded = workflow::load(&mut tx, &snapshot, rx_id).await?;
    let handed_over = workflow::active_dispense(&mut tx, rx_id, body.line_no).await?;
    let command = Command::ReverseDispense { line_no: body.line_no, reason: body.reason.clone() };
    let mut tx = workflow::apply(tx, &mut loaded, &principal, &command, &correlation_id).await?;
    let dispense = handed_over.ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!("line {} of {rx_id} is dispensed but has no dispense record", body.line_no))
    })?;
    let reversal =
        tx.reverse_dispense(&dispense, &body.reason_code, body.reason.trim(), body.restock, &principal.subject).await?;
    workflow::commit(tx, &mut loaded, &principal, &correlation_id).await?;
    let mut out = operations::state_json(&loaded);
    out["reversal"] = json!({
        "dispense_id": reversal.dispense_id,
        "reason_code": reversal.reason_code,
        "reason": reversal.reason,
        "restocked": reversal.restocked,
        "quantity": dispense.quantity,
        "reversed_by": reversal.reversed_by,
        "at": reversal.at,
    });
    Ok(Json(out))
}
