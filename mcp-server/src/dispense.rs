//! Scan and hand-over of one line, the one path both a pharmacist's REST dispense and a
//! counter scanner's scan (`/api/v1/devices/scans`) take: the pack is verified against
//! the line's expected product (the replacement if substituted), the scan is recorded
//! matched or not, and a match is dispensed once per idempotency key with stock taken
//! out, all through the gate.
//!
//! The scan and the hand-over may be by different principals: at the counter the device
//! records the scan (`BarcodeScanned`, which a device may issue) and the pharmacist who
//! armed the line dispenses (`Dispense` is pharmacist-only). Each transition is audited
//! under the principal that issued it, which is why this module keeps its own list of
//! transitions to audit instead of [`workflow::commit`]'s single principal.

use rxgate_guardrails::{Command, Principal, RxState, Transition, decide};
use rxgate_knowledge::Snapshot;
use rxgate_storage::{NewBarcodeScan, NewDispense, Tx};
use serde_json::{Value, json};

use crate::http::AppError;
use crate::operations::state_json;
use crate::workflow::{self, Loaded};

/// One scan of a pack for one line.
pub(crate) struct ScanRequest<'a> {
    pub(crate) rx_id: i64,
    pub(crate) line_no: u32,
    /// The GS1 scan of the pack in hand, as read.
    pub(crate) barcode: &'a str,
    pub(crate) quantity: u32,
    /// The same key always means the same dispense.
    pub(crate) idempotency_key: String,
    /// The scanning device (its workstation), stored with the scan.
    pub(crate) device: Option<&'a str>,
}

/// Who scans, who hands over, under which request.
#[derive(Clone, Copy)]
pub(crate) struct Actors<'a> {
    pub(crate) scanned_by: &'a Principal,
    pub(crate) dispensed_by: &'a Principal,
    pub(crate) correlation_id: &'a str,
}

/// What the scan led to.
pub(crate) enum Outcome {
    /// Handed over now (`replayed: false`) or earlier under the same key.
    Dispensed { replayed: bool, dispense: Option<Value>, barcode: Option<Value>, prescription: Value },
    /// The pack does not match the line: the scan is recorded, nothing is dispensed.
    Mismatch { scan_id: i64, message: String, problems: Vec<String>, barcode: Value },
}

/// The transaction with everything written but the audit entries, which [`Pending::commit`]
/// appends last (lock order: data rows, then the audit head).
pub(crate) struct Pending {
    pub(crate) tx: Tx,
    pub(crate) outcome: Outcome,
    audits: Vec<(Transition<RxState>, Principal)>,
    correlation_id: String,
}

impl Pending {
    /// Appends the audit entries, each under its own principal, and commits.
    pub(crate) async fn commit(mut self) -> Result<Outcome, AppError> {
        for (transition, by) in &self.audits {
            workflow::audit_transition(&mut self.tx, transition, by, &self.correlation_id).await?;
        }
        self.tx.commit().await?;
        Ok(self.outcome)
    }
}

/// One command through the gate, persisted in `tx`, its audit queued under `by`. A refusal
/// goes through [`workflow::apply`], which knows what a stale verification requires.
async fn step(
    tx: Tx,
    loaded: &mut Loaded,
    by: &Principal,
    command: &Command,
    correlation_id: &str,
    audits: &mut Vec<(Transition<RxState>, Principal)>,
) -> Result<Tx, AppError> {
    let mut tx = tx;
    match decide(&loaded.state, by, command, &loaded.facts) {
        Ok(transition) => {
            if !transition.is_replay() {
                workflow::persist(&mut tx, loaded, &transition.state).await?;
                audits.push((transition, by.clone()));
            }
            Ok(tx)
        }
        Err(_) => workflow::apply(tx, loaded, by, command, correlation_id).await,
    }
}

/// Scans `request.barcode` against the line and, on a match, dispenses it in `tx`. Errors
/// (refusals, stock) leave nothing written; the caller drops `tx`.
pub(crate) async fn scan_and_dispense(
    mut tx: Tx,
    snapshot: &Snapshot,
    request: &ScanRequest<'_>,
    actors: Actors<'_>,
) -> Result<Pending, AppError> {
    let ScanRequest { rx_id, line_no, barcode, quantity, .. } = *request;
    let key = request.idempotency_key.clone();
    let cid = actors.correlation_id;
    let mut audits = Vec::new();
    let mut loaded = workflow::load(&mut tx, snapshot, rx_id).await?;
    let line = loaded.state.line(line_no).cloned().ok_or_else(|| {
        AppError::Refused(rxgate_guardrails::Refusal::new(
            rxgate_guardrails::RefusalCode::UnknownLine,
            format!("prescription {rx_id} has no line {line_no}"),
        ))
    })?;
    let dispense_command = Command::Dispense { line_no, idempotency_key: key.clone(), quantity };

    // Already handed over: a retry with the same key answers the original record; another
    // key is refused by the gate.
    if line.dispense.is_some() {
        let mut tx = step(tx, &mut loaded, actors.dispensed_by, &dispense_command, cid, &mut audits).await?;
        let record = tx.get_dispense_by_key(&key).await?;
        let outcome = Outcome::Dispensed {
            replayed: true,
            dispense: record.map(|r| json!({"id": r.id, "product": r.product, "lot": r.lot, "quantity": r.quantity, "idempotency_key": r.idempotency_key})),
            barcode: None,
            prescription: state_json(&loaded),
        };
        return Ok(Pending { tx, outcome, audits, correlation_id: cid.to_string() });
    }

    // An order the prescriber cancelled in the EHR is never filled (issue 11).
    crate::sync::refuse_if_cancelled_by_ehr(&mut tx, rx_id, line_no).await?;
    let expected =
        rxgate_checks::barcode::Expected { gtin: None, product: Some(line.drug_to_dispense().generic.clone()) };
    let scan = crate::wire::barcode::verify(snapshot, barcode, &expected, chrono::Local::now().date_naive())
        .map_err(|message| AppError::bad_request(format!("`barcode`: {message}")))?;
    let stored_scan = tx
        .insert_barcode_scan(&NewBarcodeScan {
            rx_id,
            line_no: i64::from(line_no),
            scan: barcode.to_string(),
            matched: scan.matched,
            problems: scan.problems.clone(),
            device: request.device.map(str::to_string),
        })
        .await?;
    let scanned = Command::BarcodeScanned { line_no, matched: scan.matched, scan_id: stored_scan.id.to_string() };
    let tx = step(tx, &mut loaded, actors.scanned_by, &scanned, cid, &mut audits).await?;
    let scan_json = serde_json::to_value(&scan).unwrap_or(Value::Null);
    if !scan.matched {
        let messages: Vec<&str> = scan.problem_details.iter().map(|p| p.message.as_str()).collect();
        let outcome = Outcome::Mismatch {
            scan_id: stored_scan.id,
            message: format!("the scanned pack does not match line {line_no}: {}", messages.join("; ")),
            problems: scan.problems.clone(),
            barcode: scan_json,
        };
        return Ok(Pending { tx, outcome, audits, correlation_id: cid.to_string() });
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
    let mut tx = step(tx, &mut loaded, actors.dispensed_by, &dispense_command, cid, &mut audits).await?;
    let stored = tx
        .dispense(&NewDispense {
            idempotency_key: key.clone(),
            rx_id,
            line_no: i64::from(line_no),
            product,
            lot,
            quantity: i64::from(quantity),
            dispensed_by: actors.dispensed_by.subject.clone(),
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
    let r = stored.record();
    let outcome = Outcome::Dispensed {
        replayed: matches!(stored, rxgate_storage::DispenseOutcome::Replayed(_)),
        dispense: Some(
            json!({"id": r.id, "product": r.product, "lot": r.lot, "quantity": r.quantity, "idempotency_key": r.idempotency_key}),
        ),
        barcode: Some(scan_json),
        prescription: state_json(&loaded),
    };
    Ok(Pending { tx, outcome, audits, correlation_id: cid.to_string() })
}
