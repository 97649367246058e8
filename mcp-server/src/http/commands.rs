//! The prescription commands of the REST API: verify, approve, dispense (scan and
//! hand-over), counsel-done (then close). Each loads the state, runs the guardrails and
//! persists with its audit entries in one transaction ([`crate::workflow`]).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use rxgate_guardrails::{Command, CounselItem, LineAction, LineDecision, RxStatus, approval_view_hash};
use rxgate_storage::{AlertKind, NewAlert, NewBarcodeScan, NewCounselling, NewDispense, NewVerification};
use serde_json::{Value, json};

use super::middleware::{Caller, CorrelationId};
use super::{AppError, AppState};
use crate::workflow::{self, Loaded};

fn bad(message: impl Into<String>) -> AppError {
    AppError::BadRequest { message: message.into(), details: None }
}

fn line_nos_of(result: &Value, generics: &[&str]) -> Vec<i64> {
    result["lines"]
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .filter(|l| l["generic"].as_str().is_some_and(|g| generics.iter().any(|x| x.eq_ignore_ascii_case(g))))
                .filter_map(|l| l["line_no"].as_i64())
                .collect()
        })
        .unwrap_or_default()
}

/// The state summary every command answers with.
fn state_json(loaded: &Loaded) -> Value {
    let lines: Vec<Value> = loaded
        .state
        .lines
        .iter()
        .map(|l| {
            json!({
                "line_no": l.line_no,
                "generic": l.drug.generic,
                "status": l.status.as_str(),
                "severity": l.severity.map(|s| s.as_str()),
                "decision": l.decision.as_ref().map(|d| json!({
                    "action": d.action.as_str(), "by": d.by, "reason": d.reason, "justification": d.justification,
                })),
                "replacement": l.replacement.as_ref().map(|r| r.generic.as_str()),
                "dispensed": l.dispense.as_ref().map(|d| json!({"quantity": d.quantity, "by": d.by})),
            })
        })
        .collect();
    json!({"rx_id": loaded.rx.id, "status": loaded.state.status.as_str(), "version": loaded.rx.version, "lines": lines})
}

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
    let snapshot = app.knowledge.current();
    let mut tx = app.storage.begin().await?;
    let mut loaded = workflow::load(&mut tx, &snapshot, rx_id).await?;
    let tx = workflow::apply(tx, &mut loaded, &principal, &Command::StartVerification, &correlation_id).await?;
    let mut tx = tx;
    let run = workflow::run_verification(&snapshot, &loaded, chrono::Local::now().date_naive())?;
    let stored = tx
        .insert_verification(&NewVerification {
            rx_id,
            result: run.result.clone(),
            verification_hash: run.hash.clone(),
            knowledge_version: snapshot.version.clone(),
            knowledge_hash: snapshot.hash.clone(),
        })
        .await?;
    for ddi in run.result["ddi_alerts"].as_array().into_iter().flatten() {
        let drugs: Vec<&str> = ddi["drugs"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let new = NewAlert {
            rx_id,
            verification_id: Some(stored.id),
            line_nos: line_nos_of(&run.result, &drugs),
            severity: ddi["severity"].as_str().unwrap_or("unknown").to_string(),
            payload: ddi.clone(),
        };
        tx.insert_alert(AlertKind::Ddi, &new).await?;
    }
    for alert in run.result["allergy_alerts"].as_array().into_iter().flatten() {
        let generic = alert["generic"].as_str().unwrap_or_default();
        let new = NewAlert {
            rx_id,
            verification_id: Some(stored.id),
            line_nos: line_nos_of(&run.result, &[generic]),
            severity: alert["severity"].as_str().unwrap_or("unknown").to_string(),
            payload: alert.clone(),
        };
        tx.insert_alert(AlertKind::Allergy, &new).await?;
    }
    let command = Command::RecordVerification(run.findings.clone());
    let tx = workflow::apply(tx, &mut loaded, &principal, &command, &correlation_id).await?;
    workflow::commit(tx, &mut loaded, &principal, &correlation_id).await?;

    let mut out = run.result;
    if let Some(lines) = out["lines"].as_array_mut() {
        for line in lines {
            let line_no = line["line_no"].as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
            line["view_hash"] = json!(approval_view_hash(&loaded.state, &loaded.facts, line_no).ok());
        }
    }
    out["rx_id"] = json!(rx_id);
    out["rx_status"] = json!(loaded.state.status.as_str());
    out["verification_id"] = json!(stored.id);
    Ok(Json(out))
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
        return Err(bad("`line_decisions` must hold at least one decision"));
    }
    let snapshot = app.knowledge.current();
    let mut decisions = Vec::with_capacity(body.line_decisions.len());
    for d in &body.line_decisions {
        let action = LineAction::parse(&d.action).map_err(|e| AppError::BadRequest {
            message: e.to_string(),
            details: Some(json!({"known": LineAction::ALL.iter().map(|a| a.as_str()).collect::<Vec<_>>()})),
        })?;
        let replacement = match &d.replacement {
            Some(name) => Some(
                workflow::resolve_drug(&snapshot, name)
                    .ok_or_else(|| bad(format!("replacement `{name}` is not in the knowledge registry")))?,
            ),
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
        let command = Command::LineDecision(LineDecision {
            line_no: d.line_no,
            action,
            reason: d.reason.clone(),
            justification: d.justification.clone(),
            approved_view_hash: view_hash,
            replacement,
        });
        let next = workflow::apply(tx, &mut loaded, &principal, &command, &correlation_id).await?;
        tx = next;
    }
    workflow::commit(tx, &mut loaded, &principal, &correlation_id).await?;
    Ok(Json(state_json(&loaded)))
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
    let mut tx = app.storage.begin().await?;
    let mut loaded = workflow::load(&mut tx, &snapshot, rx_id).await?;
    let line = loaded.state.line(body.line_no).cloned().ok_or_else(|| {
        AppError::Refused(rxgate_guardrails::Refusal::new(
            rxgate_guardrails::RefusalCode::UnknownLine,
            format!("prescription {rx_id} has no line {}", body.line_no),
        ))
    })?;
    let dispense_command =
        Command::Dispense { line_no: body.line_no, idempotency_key: key.clone(), quantity: body.quantity };

    // Already handed over: a retry with the same key answers the original record; another
    // key is refused by the gate.
    if line.dispense.is_some() {
        let tx = workflow::apply(tx, &mut loaded, &principal, &dispense_command, &correlation_id).await?;
        let mut tx = tx;
        let record = tx.get_dispense_by_key(&key).await?;
        workflow::commit(tx, &mut loaded, &principal, &correlation_id).await?;
        return Ok(Json(json!({
            "replayed": true,
            "dispense": record.map(|r| json!({"id": r.id, "product": r.product, "lot": r.lot, "quantity": r.quantity, "idempotency_key": r.idempotency_key})),
            "prescription": state_json(&loaded),
        })));
    }

    let expected =
        rxgate_checks::barcode::Expected { gtin: None, product: Some(line.drug_to_dispense().generic.clone()) };
    let scan = crate::wire::barcode::verify(&snapshot, &body.barcode, &expected, chrono::Local::now().date_naive())
        .map_err(|message| bad(format!("`barcode`: {message}")))?;
    let stored_scan = tx
        .insert_barcode_scan(&NewBarcodeScan {
            rx_id,
            line_no: i64::from(body.line_no),
            scan: body.barcode.clone(),
            matched: scan.matched,
            problems: scan.problems.clone(),
            device: None,
        })
        .await?;
    let scanned =
        Command::BarcodeScanned { line_no: body.line_no, matched: scan.matched, scan_id: stored_scan.id.to_string() };
    let tx = workflow::apply(tx, &mut loaded, &principal, &scanned, &correlation_id).await?;
    let scan_json = serde_json::to_value(&scan).unwrap_or(Value::Null);
    if !scan.matched {
        workflow::commit(tx, &mut loaded, &principal, &correlation_id).await?;
        let messages: Vec<&str> = scan.problem_details.iter().map(|p| p.message.as_str()).collect();
        return Err(AppError::Rejected {
            code: "barcode_mismatch",
            message: format!("the scanned pack does not match line {}: {}", body.line_no, messages.join("; ")),
            details: Some(json!({"scan_id": stored_scan.id, "problems": scan.problems, "barcode": scan_json})),
        });
    }
    let (product, lot) = match (&scan.product, &scan.parsed.lot) {
        (Some(p), Some(l)) => (p.clone(), l.clone()),
        _ => {
            return Err(AppError::Rejected {
                code: "lot_required",
                message: "the scan must carry the product's GTIN and a lot (AI 10) to take it out of stock".into(),
                details: Some(json!({"barcode": scan_json})),
            });
        }
    };
    let tx = workflow::apply(tx, &mut loaded, &principal, &dispense_command, &correlation_id).await?;
    let mut tx = tx;
    let outcome = tx
        .dispense(&NewDispense {
            idempotency_key: key.clone(),
            rx_id,
            line_no: i64::from(body.line_no),
            product,
            lot,
            quantity: i64::from(body.quantity),
            dispensed_by: principal.subject.clone(),
        })
        .await
        .map_err(|e| match e {
            rxgate_storage::Error::InsufficientStock { product, lot, on_hand, requested } => AppError::Rejected {
                code: "insufficient_stock",
                message: format!("{product} lot {lot} has {on_hand} on hand, {requested} requested"),
                details: None,
            },
            rxgate_storage::Error::NotFound(what) => AppError::Rejected {
                code: "not_in_stock",
                message: format!("the scanned lot is not in inventory ({what})"),
                details: None,
            },
            other => AppError::from(other),
        })?;
    workflow::commit(tx, &mut loaded, &principal, &correlation_id).await?;
    let r = outcome.record();
    Ok(Json(json!({
        "replayed": matches!(outcome, rxgate_storage::DispenseOutcome::Replayed(_)),
        "dispense": {"id": r.id, "product": r.product, "lot": r.lot, "quantity": r.quantity, "idempotency_key": r.idempotency_key},
        "barcode": scan_json,
        "prescription": state_json(&loaded),
    })))
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
    Ok(Json(state_json(&loaded)))
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
    Ok(Json(state_json(&loaded)))
}
