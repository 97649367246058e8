//! The prescription workflow as the REST API runs it: load the gate's [`RxState`] from
//! storage, build the [`Facts`] of this request, call [`decide`], and persist the new state
//! (optimistic versions) with its audit entries in the same transaction.
//!
//! Storage keeps no serialised `RxState`: the state is rebuilt from the rows every time
//! (prescription and item status, the item's decision columns, the latest verification,
//! proposals made on it, dispenses and counselling), so what the gate decides on is always
//! what is stored. The per-line finding severities and the prescription hash a verification
//! was made from are kept in the stored verification result (`lines[].highest_severity`,
//! `prescription_hash`).
//!
//! A refusal changes nothing (the transaction is dropped), except `stale_verification`:
//! then [`return_stale_to_review`] is persisted and audited first, as the guardrails ask,
//! and the refusal is still answered (409).

use rxgate_guardrails::{
    Command, CounselItem, Decision, DispenseRecord, Facts, LineAction, LineDrug, LineState, LineStatus, Principal,
    Proposal, RefusalCode, RxState, RxStatus, Severity, Transition, Verification, decide, return_stale_to_review,
};
use rxgate_knowledge::Snapshot;
use rxgate_storage::{DispenseRecord as DispenseRow, Prescription, PrescriptionItem, Tx};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::audit;
use crate::http::AppError;
use crate::wire;

/// A prescription as loaded for one request: the rows and the gate's view of them.
pub(crate) struct Loaded {
    pub(crate) rx: Prescription,
    pub(crate) items: Vec<PrescriptionItem>,
    pub(crate) state: RxState,
    pub(crate) facts: Facts,
    /// The wire input of `verify_prescription` for the stored prescription.
    pub(crate) verify_input: Value,
    /// Transitions persisted in this transaction whose audit entries are still to be
    /// appended (by [`commit`], last, so lock order is always data rows then audit head).
    pending: Vec<Transition<RxState>>,
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn internal(message: String) -> AppError {
    AppError::Internal(anyhow::anyhow!(message))
}

/// The registry's view of a drug name: generic and transitive classes.
pub(crate) fn resolve_drug(snapshot: &Snapshot, name: &str) -> Option<LineDrug> {
    let registry = &snapshot.registry;
    let resolved = registry.resolve(name)?;
    Some(LineDrug {
        generic: registry.generic(resolved.generic).inn.clone(),
        classes: registry.classes_of(resolved.generic).iter().map(|c| registry.class(*c).id.clone()).collect(),
    })
}

fn drug_or_name(snapshot: &Snapshot, name: &str) -> LineDrug {
    resolve_drug(snapshot, name).unwrap_or_else(|| LineDrug { generic: name.to_string(), classes: Vec::new() })
}

fn severity_of(value: &Value) -> Option<Severity> {
    value.as_str().and_then(Severity::parse)
}

/// Parses the `{rx_id}` path segment.
pub(crate) fn parse_rx_id(text: &str) -> Result<i64, AppError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::NotFound { message: format!("no prescription `{text}`") })
}

/// Loads the prescription, its patient and everything the gate needs, in `tx`.
pub(crate) async fn load(tx: &mut Tx, snapshot: &Snapshot, rx_id: i64) -> Result<Loaded, AppError> {
    let rx = tx.get_prescription(rx_id).await?;
    let items = tx.list_items(rx_id).await?;
    let patient = tx.get_patient(rx.patient_id).await?;
    let blocks = crate::http::patient_blocks(tx, rx.patient_id).await?;

    // The verification input (and so the prescription hash): patient data the checks use
    // and the prescribed lines exactly as stored.
    let verify_input = json!({
        "patient": {
            "age_days": patient.age_days.map(|d| d as f64),
            "weight_kg": patient.weight_kg,
            "height_cm": patient.height_cm,
            "sex": patient.sex.as_deref().filter(|s| matches!(*s, "female" | "male")),
            "serum_creatinine_umol_l": patient.serum_creatinine_umol_l,
            "egfr_ml_min_1_73m2": patient.egfr_ml_min_1_73m2,
            "crcl_ml_min": patient.crcl_ml_min,
            "child_pugh": patient.child_pugh.as_deref().filter(|c| matches!(*c, "A" | "B" | "C")),
            "pregnant": patient.pregnant,
            "allergies": patient.allergies,
            "active_medications": patient.active_medications,
            "halal_preference": Some(patient.halal_preference.as_str())
                .filter(|h| matches!(*h, "halal_only" | "warn" | "none")),
        },
        "items": items.iter().map(|i| json!({
            "line_no": i.line_no,
            "drug": i.drug,
            "dose": {"value": i.dose_value, "unit": i.dose_unit},
            "frequency": i.frequency,
            "route": i.route,
            "duration_days": i.duration_days,
        })).collect::<Vec<_>>(),
    });
    let prescription_hash =
        sha256_hex(format!("rxgate-prescription-v1\n{}\n{}\n{verify_input}", rx.id, rx.patient_id).as_bytes());

    let status = RxStatus::parse(&rx.status).map_err(|e| internal(format!("prescription {rx_id}: {e}")))?;
    let verification_row = if matches!(status, RxStatus::Received | RxStatus::AiVerifying) {
        None
    } else {
        tx.latest_verification(rx_id).await?
    };
    let line_severity = |line_no: i64| -> Option<Severity> {
        let result = &verification_row.as_ref()?.result;
        result["lines"]
            .as_array()?
            .iter()
            .find(|l| l["line_no"].as_i64() == Some(line_no))
            .and_then(|l| severity_of(&l["highest_severity"]))
    };
    let proposals = match &verification_row {
        Some(v) => {
            tx.list_proposals(rx_id).await?.into_iter().filter(|p| p.created_at >= v.created_at).collect::<Vec<_>>()
        }
        None => Vec::new(),
    };
    let dispenses = active_dispenses(tx, rx_id).await?;

    let mut lines = Vec::with_capacity(items.len());
    for item in &items {
        let line_no =
            u32::try_from(item.line_no).map_err(|_| internal(format!("line {} out of range", item.line_no)))?;
        let line_status =
            LineStatus::parse(&item.status).map_err(|e| internal(format!("prescription {rx_id}: {e}")))?;
        let decision = match &item.decision {
            Some(action) => Some(Decision {
                action: LineAction::parse(action).map_err(|e| internal(format!("prescription {rx_id}: {e}")))?,
                by: item.approved_by.clone().unwrap_or_default(),
                reason: item.decision_reason.clone().unwrap_or_default(),
                justification: item.justification.clone(),
                view_hash: item.approved_view_hash.clone().unwrap_or_default(),
            }),
            None => None,
        };
        let proposal = if matches!(line_status, LineStatus::HitlReview | LineStatus::Hold) {
            proposals.iter().rev().find(|p| p.line_no == item.line_no).and_then(|p| {
                Some(Proposal {
                    action: LineAction::parse(&p.action).ok()?,
                    rationale: p.rationale.clone(),
                    by: p.proposed_by.clone(),
                })
            })
        } else {
            None
        };
        let dispense = dispenses.iter().find(|d| d.line_no == item.line_no).map(|d| DispenseRecord {
            idempotency_key: d.idempotency_key.clone(),
            quantity: u32::try_from(d.quantity).unwrap_or(0),
            by: d.dispensed_by.clone(),
        });
        lines.push(LineState {
            line_no,
            drug: drug_or_name(snapshot, &item.drug),
            status: line_status,
            severity: line_severity(item.line_no),
            proposal,
            decision,
            replacement: item.substituted_drug.as_deref().map(|d| drug_or_name(snapshot, d)),
            scan_id: item.barcode_scan_id.map(|id| id.to_string()),
            dispense,
        });
    }
    let verification = verification_row.as_ref().map(|v| Verification {
        hash: v.verification_hash.clone(),
        highest_severity: severity_of(&v.result["highest_severity"]),
        blocking: v.result["blocking"].as_bool().unwrap_or(true),
        prescription_hash: v.result["prescription_hash"].as_str().unwrap_or_default().to_string(),
        knowledge_hash: v.knowledge_hash.clone(),
    });
    let counselling = if matches!(status, RxStatus::CounselComplete | RxStatus::Closed) {
        tx.latest_counselling(rx_id).await?.and_then(|c| {
            c.checklist.as_array().map(|a| {
                a.iter().filter_map(|i| i.as_str().and_then(|t| CounselItem::parse(t).ok())).collect::<Vec<_>>()
            })
        })
    } else {
        None
    };
    let state = RxState {
        rx_id: rx.id.to_string(),
        patient_id: rx.patient_id.to_string(),
        status,
        lines,
        verification,
        counselling,
    };
    let facts = Facts { prescription_hash, knowledge_hash: snapshot.hash.clone(), blocks };
    Ok(Loaded { rx, items, state, facts, verify_input, pending: Vec::new() })
}

/// A prescription's dispenses that were not reversed: what the patient has in hand.
pub(crate) async fn active_dispenses(tx: &mut Tx, rx_id: i64) -> Result<Vec<DispenseRow>, AppError> {
    let reversed: Vec<i64> = tx.list_reversals(rx_id).await?.into_iter().map(|r| r.dispense_id).collect();
    Ok(tx.list_dispenses(rx_id).await?.into_iter().filter(|d| !reversed.contains(&d.id)).collect())
}

/// The line's dispense that stands (not reversed), if any.
pub(crate) async fn active_dispense(tx: &mut Tx, rx_id: i64, line_no: u32) -> Result<Option<DispenseRow>, AppError> {
    Ok(active_dispenses(tx, rx_id).await?.into_iter().find(|d| d.line_no == i64::from(line_no)))
}

/// Writes `next` over the rows of `loaded` (prescription always, so concurrent requests on
/// one prescription conflict on its version; items where they changed). Storage
/// `Conflict` becomes 409.
pub(crate) async fn persist(tx: &mut Tx, loaded: &mut Loaded, next: &RxState) -> Result<(), AppError> {
    for (item, line) in loaded.items.iter_mut().zip(&next.lines) {
        let old = loaded.state.line(line.line_no);
        if old == Some(line) {
            continue;
        }
        let mut updated = item.clone();
        updated.status = line.status.as_str().to_string();
        updated.decision = line.decision.as_ref().map(|d| d.action.as_str().to_string());
        updated.decision_reason = line.decision.as_ref().map(|d| d.reason.clone());
        updated.justification = line.decision.as_ref().and_then(|d| d.justification.clone());
        updated.approved_by = line.decision.as_ref().map(|d| d.by.clone());
        updated.approved_view_hash = line.decision.as_ref().map(|d| d.view_hash.clone());
        updated.substituted_drug = line.replacement.as_ref().map(|r| r.generic.clone());
        updated.barcode_scan_id = line.scan_id.as_deref().and_then(|s| s.parse().ok());
        *item = tx.update_item(&updated).await?;
    }
    let mut rx = loaded.rx.clone();
    rx.status = next.status.as_str().to_string();
    loaded.rx = tx.update_prescription(&rx).await?;
    loaded.state = next.clone();
    Ok(())
}

/// Appends a transition's audit entries (call after the rows it describes).
pub(crate) async fn audit_transition(
    tx: &mut Tx,
    transition: &Transition<RxState>,
    principal: &Principal,
    correlation_id: &str,
) -> Result<(), AppError> {
    let at = tx.now();
    audit::append_drafts(tx, transition.drafts(principal, at, correlation_id)).await?;
    Ok(())
}

/// One command through the gate on the loaded state: on `Ok` the state is persisted in
/// `tx` and its audit entries queued for [`commit`] (nothing for an idempotent replay); on
/// a refusal nothing is written (drop `tx`), except that a stale verification is returned
/// to review, persisted, audited and committed before the 409 is answered.
pub(crate) async fn apply(
    mut tx: Tx,
    loaded: &mut Loaded,
    principal: &Principal,
    command: &Command,
    correlation_id: &str,
) -> Result<Tx, AppError> {
    match decide(&loaded.state, principal, command, &loaded.facts) {
        Ok(transition) => {
            if !transition.is_replay() {
                persist(&mut tx, loaded, &transition.state).await?;
                loaded.pending.push(transition);
            }
            Ok(tx)
        }
        Err(refusal) if refusal.code == RefusalCode::StaleVerification => {
            if let Some(back) = return_stale_to_review(&loaded.state, &loaded.facts) {
                loaded.pending.clear();
                persist(&mut tx, loaded, &back.state).await?;
                audit_transition(&mut tx, &back, principal, correlation_id).await?;
                tx.commit().await?;
            }
            Err(AppError::Refused(refusal))
        }
        Err(refusal) => Err(AppError::Refused(refusal)),
    }
}

/// Appends the queued audit entries, in order, and commits.
pub(crate) async fn commit(
    mut tx: Tx,
    loaded: &mut Loaded,
    principal: &Principal,
    correlation_id: &str,
) -> Result<(), AppError> {
    for transition in std::mem::take(&mut loaded.pending) {
        audit_transition(&mut tx, &transition, principal, correlation_id).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The highest finding on `line_no` if `generic` replaced its drug: the whole prescription
/// checked again (interactions with the other lines and active medicines, allergies,
/// duplication, halal, patient state). The original's dose is left out: it was written for
/// the original drug, and the replacement's dose is the label's, not this order's.
pub(crate) fn severity_with_replacement(
    snapshot: &Snapshot,
    loaded: &Loaded,
    line_no: u32,
    generic: &str,
    today: chrono::NaiveDate,
) -> Result<Option<Severity>, AppError> {
    let mut input = loaded.verify_input.clone();
    for item in input["items"].as_array_mut().into_iter().flatten() {
        if item["line_no"].as_u64() == Some(u64::from(line_no)) {
            item["drug"] = json!(generic);
            item["dose"] = Value::Null;
        }
    }
    let input: wire::verify::VerifyInput =
        wire::parse_args(input).map_err(|e| internal(format!("stored prescription: {e}")))?;
    let rx = wire::verify::request(&input)
        .map_err(|message| AppError::bad_request(format!("the stored prescription: {message}")))?;
    let v = rxgate_checks::verify::verify(&snapshot.registry, &rx, today);
    Ok(v.lines.iter().find(|l| l.line_no == line_no).and_then(|l| l.highest_severity))
}

/// The server's own run of `verify_prescription` on the stored prescription, the gate's
/// summary of it, and the result as stored and answered.
pub(crate) struct ServerVerification {
    pub(crate) findings: rxgate_guardrails::Findings,
    /// The `verify_prescription` output plus `prescription_hash`.
    pub(crate) result: Value,
    pub(crate) hash: String,
}

pub(crate) fn run_verification(
    snapshot: &Snapshot,
    loaded: &Loaded,
    today: chrono::NaiveDate,
) -> Result<ServerVerification, AppError> {
    let input: wire::verify::VerifyInput =
        wire::parse_args(loaded.verify_input.clone()).map_err(|e| internal(format!("stored prescription: {e}")))?;
    let rx = wire::verify::request(&input).map_err(|message| AppError::BadRequest {
        message: format!("the stored prescription: {message}"),
        details: None,
    })?;
    let v = rxgate_checks::verify::verify(&snapshot.registry, &rx, today);
    let lines: Vec<rxgate_guardrails::LineFinding> = v
        .lines
        .iter()
        .map(|l| rxgate_guardrails::LineFinding { line_no: l.line_no, severity: l.highest_severity })
        .collect();
    let highest = lines.iter().filter_map(|l| l.severity).max();
    let blocking = v.blocking || !v.unknown.is_empty();
    let out = wire::verify::to_wire(v, &rx, snapshot);
    let mut result = serde_json::to_value(&out).map_err(|e| internal(format!("verification result: {e}")))?;
    result["blocking"] = json!(blocking);
    result["prescription_hash"] = json!(loaded.facts.prescription_hash);
    let hash = sha256_hex(format!("rxgate-verification-v1\n{result}").as_bytes());
    let findings =
        rxgate_guardrails::Findings { verification_hash: hash.clone(), highest_severity: highest, blocking, lines };
    Ok(ServerVerification { findings, result, hash })
}
