//! The prescription operations that both faces of the server offer: REST (`/api/v1`) and
//! the MCP workflow tools (`rx_queue`, `rx_get`, `rx_verify`, `rx_propose`). Each one runs
//! in one transaction, goes through the gate ([`crate::workflow`]) where it changes
//! anything, and audits what it read or did — so an assistant on MCP and a pharmacist on
//! REST are held to exactly the same rules, by the same code.
//!
//! Nothing here knows about HTTP or MCP: callers pass who is acting and the request's
//! correlation id, and get JSON or an [`AppError`] back.

use rxgate_guardrails::{Command, LineAction, RxStatus, approval_view_hash};
use rxgate_storage::{
    AlertKind, NewAlert, NewProposal, NewVerification, Prescription, PrescriptionItem, QueueFilter, Storage,
};
use serde_json::{Value, json};

use crate::audit::{self, AuditContext, AuditEvent};
use crate::auth::Principal;
use crate::http::AppError;
use crate::knowledge_store::KnowledgeStore;
use crate::workflow::{self, Loaded};

/// Who acts, and under which request.
#[derive(Clone, Copy)]
pub(crate) struct Actor<'a> {
    pub(crate) principal: &'a Principal,
    pub(crate) correlation_id: &'a str,
}

pub(crate) fn item_json(item: &PrescriptionItem) -> Value {
    json!({
        "line_no": item.line_no,
        "drug": item.drug,
        "dose": {"value": item.dose_value, "unit": item.dose_unit},
        "frequency": item.frequency,
        "route": item.route,
        "duration_days": item.duration_days,
        "status": item.status,
        "decision": item.decision,
        "decision_reason": item.decision_reason,
        "approved_by": item.approved_by,
        "substituted_drug": item.substituted_drug,
        "version": item.version,
    })
}

/// A prescription as the queue shows it. `verified` says whether a stored verification
/// stands behind its current state (anything past `AI_VERIFYING`).
pub(crate) fn prescription_json(rx: &Prescription, items: &[PrescriptionItem]) -> Value {
    let verified = RxStatus::parse(&rx.status).is_ok_and(|s| !matches!(s, RxStatus::Received | RxStatus::AiVerifying));
    json!({
        "rx_id": rx.id,
        "patient_id": rx.patient_id,
        "prescriber": rx.prescriber,
        "status": rx.status,
        "verified": verified,
        "knowledge_hash": rx.knowledge_hash,
        "version": rx.version,
        "created_at": rx.created_at,
        "updated_at": rx.updated_at,
        "items": items.iter().map(item_json).collect::<Vec<_>>(),
    })
}

/// The gate's view of each line: status, finding severity, proposal, decision, dispense.
pub(crate) fn lines_json(loaded: &Loaded) -> Vec<Value> {
    loaded
        .state
        .lines
        .iter()
        .map(|l| {
            json!({
                "line_no": l.line_no,
                "generic": l.drug.generic,
                "status": l.status.as_str(),
                "severity": l.severity.map(|s| s.as_str()),
                "proposal": l.proposal.as_ref().map(|p| json!({
                    "action": p.action.as_str(), "rationale": p.rationale, "by": p.by,
                })),
                "decision": l.decision.as_ref().map(|d| json!({
                    "action": d.action.as_str(), "by": d.by, "reason": d.reason, "justification": d.justification,
                })),
                "replacement": l.replacement.as_ref().map(|r| r.generic.as_str()),
                "dispensed": l.dispense.as_ref().map(|d| json!({"quantity": d.quantity, "by": d.by})),
            })
        })
        .collect()
}

/// The state summary every command answers with.
pub(crate) fn state_json(loaded: &Loaded) -> Value {
    json!({"rx_id": loaded.rx.id, "status": loaded.state.status.as_str(), "version": loaded.rx.version,
        "lines": lines_json(loaded)})
}

/// Adds the `view_hash` of each line (what a decision on it must be bound to) to a stored
/// or fresh verification result.
fn with_view_hashes(loaded: &Loaded, mut result: Value) -> Value {
    if let Some(lines) = result["lines"].as_array_mut() {
        for line in lines {
            let line_no = line["line_no"].as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
            line["view_hash"] = json!(approval_view_hash(&loaded.state, &loaded.facts, line_no).ok());
        }
    }
    result
}

/// The queue, oldest first, with the lines. Reading it is reading patient data, so the
/// read is audited (which prescriptions, who, which request) in the same transaction.
pub(crate) async fn queue(storage: &Storage, actor: Actor<'_>, filter: &QueueFilter) -> Result<Value, AppError> {
    let mut tx = storage.begin().await?;
    let prescriptions = tx.list_prescriptions(filter).await?;
    let mut out = Vec::with_capacity(prescriptions.len());
    for rx in &prescriptions {
        let items = tx.list_items(rx.id).await?;
        out.push(prescription_json(rx, &items));
    }
    let ids: Vec<i64> = prescriptions.iter().map(|rx| rx.id).collect();
    let ctx = AuditContext { principal: actor.principal, correlation_id: actor.correlation_id };
    let event = AuditEvent {
        action: "queue_read",
        rx_id: None,
        line_no: None,
        before: String::new(),
        after: json!({ "rx_ids": ids }).to_string(),
    };
    audit::append(&mut tx, &ctx, event).await?;
    tx.commit().await?;

    let full_page = filter.limit.is_some_and(|limit| i64::try_from(ids.len()).unwrap_or(i64::MAX) == limit);
    let next_after = full_page.then(|| ids.last().copied()).flatten();
    Ok(json!({ "prescriptions": out, "next_after": next_after }))
}

/// One prescription as a reviewer needs it: the rows, the patient facts the checks use
/// (contract `Patient`), the gate's view of each line, the latest stored verification with
/// each line's `view_hash`, and the proposals on it. An audited read.
pub(crate) async fn get(
    storage: &Storage,
    knowledge: &KnowledgeStore,
    actor: Actor<'_>,
    rx_id: i64,
) -> Result<Value, AppError> {
    let snapshot = knowledge.current();
    let mut tx = storage.begin().await?;
    let loaded = workflow::load(&mut tx, &snapshot, rx_id).await?;
    let verification = if loaded.state.verification.is_some() {
        tx.latest_verification(rx_id).await?.map(|v| {
            let mut result = with_view_hashes(&loaded, v.result);
            result["verification_id"] = json!(v.id);
            result["verified_at"] = json!(v.created_at);
            result["knowledge_version"] = json!(v.knowledge_version);
            result
        })
    } else {
        None
    };
    let proposals: Vec<Value> = tx
        .list_proposals(rx_id)
        .await?
        .into_iter()
        .map(|p| {
            json!({"proposal_id": p.id, "line_no": p.line_no, "action": p.action, "rationale": p.rationale,
                "proposed_by": p.proposed_by, "created_at": p.created_at})
        })
        .collect();
    let ctx = AuditContext { principal: actor.principal, correlation_id: actor.correlation_id };
    let event = AuditEvent {
        action: "rx_read",
        rx_id: Some(rx_id.to_string()),
        line_no: None,
        before: String::new(),
        after: String::new(),
    };
    audit::append(&mut tx, &ctx, event).await?;
    tx.commit().await?;

    Ok(json!({
        "prescription": prescription_json(&loaded.rx, &loaded.items),
        "patient": loaded.verify_input["patient"],
        "status": loaded.state.status.as_str(),
        "lines": lines_json(&loaded),
        "verification": verification,
        "proposals": proposals,
    }))
}

/// Runs every check on the stored prescription (nothing a client sends is taken as a
/// finding), stores the result and its alerts, and records it through the gate. Answers
/// the `verify_prescription` result with `rx_status` and a `view_hash` per line.
pub(crate) async fn verify(
    storage: &Storage,
    knowledge: &KnowledgeStore,
    actor: Actor<'_>,
    rx_id: i64,
) -> Result<Value, AppError> {
    let snapshot = knowledge.current();
    let mut tx = storage.begin().await?;
    let mut loaded = workflow::load(&mut tx, &snapshot, rx_id).await?;
    let mut tx =
        workflow::apply(tx, &mut loaded, actor.principal, &Command::StartVerification, actor.correlation_id).await?;
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
        let drugs: Vec<&str> =
            ddi["drugs"].as_array().into_iter().flatten().filter_map(Value::as_str).collect::<Vec<_>>();
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
    let tx = workflow::apply(tx, &mut loaded, actor.principal, &command, actor.correlation_id).await?;
    workflow::commit(tx, &mut loaded, actor.principal, actor.correlation_id).await?;

    let mut out = with_view_hashes(&loaded, run.result);
    out["rx_id"] = json!(rx_id);
    out["rx_status"] = json!(loaded.state.status.as_str());
    out["verification_id"] = json!(stored.id);
    Ok(out)
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

/// A proposed decision on one line, put in front of a pharmacist. It decides nothing:
/// the line stays in review until a pharmacist approves, substitutes, holds or cancels it.
pub(crate) struct ProposalIn<'a> {
    pub(crate) line_no: u32,
    pub(crate) action: &'a str,
    pub(crate) rationale: &'a str,
}

pub(crate) async fn propose(
    storage: &Storage,
    knowledge: &KnowledgeStore,
    actor: Actor<'_>,
    rx_id: i64,
    proposal: ProposalIn<'_>,
) -> Result<Value, AppError> {
    let action = LineAction::parse(proposal.action).map_err(|e| AppError::BadRequest {
        message: e.to_string(),
        details: Some(json!({"known": LineAction::ALL.iter().map(|a| a.as_str()).collect::<Vec<_>>()})),
    })?;
    if proposal.line_no == 0 {
        return Err(AppError::bad_request("`line_no` starts at 1"));
    }
    let snapshot = knowledge.current();
    let mut tx = storage.begin().await?;
    let mut loaded = workflow::load(&mut tx, &snapshot, rx_id).await?;
    let command =
        Command::Propose { line_no: proposal.line_no, action, rationale: proposal.rationale.trim().to_string() };
    let mut tx = workflow::apply(tx, &mut loaded, actor.principal, &command, actor.correlation_id).await?;
    let stored = tx
        .insert_proposal(&NewProposal {
            rx_id,
            line_no: i64::from(proposal.line_no),
            action: action.as_str().to_string(),
            rationale: proposal.rationale.trim().to_string(),
            proposed_by: actor.principal.subject.clone(),
        })
        .await?;
    workflow::commit(tx, &mut loaded, actor.principal, actor.correlation_id).await?;
    let mut out = state_json(&loaded);
    out["proposal_id"] = json!(stored.id);
    out["proposal_status"] = json!("pending_pharmacist");
    Ok(out)
}
