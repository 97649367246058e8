//! The prescription state machine: [`receive`] creates a prescription, [`decide`] applies
//! one command to it, [`return_stale_to_review`] undoes approvals that no longer hold.
//! Each returns the new state and the events to audit, or a [`Refusal`] that changes nothing.

use std::collections::BTreeSet;

use rxgate_knowledge::Severity;
use serde_json::{Value, json};

use crate::approval::{approval_view_hash, check_action_for_finding, needs_justification, unknown_line};
use crate::authorisation::authorise;
use crate::command::{Command, CommandKind, Findings, Intake, LineDecision};
use crate::event::{Action, Event, Transition};
use crate::principal::Principal;
use crate::refusal::{Refusal, RefusalCode};
use crate::state::{
    CounselItem, Decision, DispenseRecord, LineAction, LineDrug, LineState, LineStatus, PatientBlocks, Proposal,
    RxState, RxStatus, Verification,
};

/// What the server knows *now* that the state does not: read from the database and the
/// knowledge store for this request, passed in so that the gate stays pure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// Hash of the prescription's current content as stored (lines, doses, patient data
    /// used by the checks), computed by the server the same way for every request.
    pub prescription_hash: String,
    /// Hash of the knowledge snapshot in force (`Snapshot::hash`).
    pub knowledge_hash: String,
    /// The patient's adverse-event blocks; must be the prescription's patient.
    pub blocks: PatientBlocks,
}

type Outcome = Result<Transition<RxState>, Refusal>;

/// Takes in a new prescription: every line starts in `HITL_REVIEW` (awaiting a decision)
/// and the prescription in `RX_RECEIVED`.
pub fn receive(principal: &Principal, intake: &Intake) -> Outcome {
    authorise(principal, CommandKind::Receive)?;
    let invalid = |reason: String| Err(Refusal::new(RefusalCode::InvalidIntake, reason));
    if intake.rx_id.trim().is_empty() || intake.patient_id.trim().is_empty() {
        return invalid("a prescription needs a prescription id and a patient id".into());
    }
    if intake.lines.is_empty() {
        return invalid(format!("prescription {} has no lines", intake.rx_id));
    }
    let mut seen = BTreeSet::new();
    for line in &intake.lines {
        if !seen.insert(line.line_no) {
            return invalid(format!("line {} appears twice in prescription {}", line.line_no, intake.rx_id));
        }
        if line.drug.generic.trim().is_empty() {
            return invalid(format!("line {} names no drug", line.line_no));
        }
    }
    let mut lines: Vec<LineState> = intake
        .lines
        .iter()
        .map(|l| LineState {
            line_no: l.line_no,
            drug: l.drug.clone(),
            status: LineStatus::HitlReview,
            severity: None,
            proposal: None,
            decision: None,
            replacement: None,
            scan_id: None,
            dispense: None,
        })
        .collect();
    lines.sort_by_key(|l| l.line_no);
    let state = RxState {
        rx_id: intake.rx_id.clone(),
        patient_id: intake.patient_id.clone(),
        status: RxStatus::Received,
        lines,
        verification: None,
        counselling: None,
    };
    let lines_json: Vec<Value> =
        state.lines.iter().map(|l| json!({"line_no": l.line_no, "generic": l.drug.generic})).collect();
    let event = Event {
        action: Action::RxReceived,
        rx_id: Some(state.rx_id.clone()),
        line_no: None,
        before: String::new(),
        after: json!({"rx_status": state.status.as_str(), "patient_id": state.patient_id, "lines": lines_json})
            .to_string(),
    };
    Ok(Transition { state, events: vec![event] })
}

/// Applies one command. The order of checks is fixed and documented because it decides
/// which refusal a caller sees: role (403) first, then facts, then state (409), then policy.
pub fn decide(state: &RxState, principal: &Principal, command: &Command, facts: &Facts) -> Outcome {
    authorise(principal, command.kind())?;
    if facts.blocks.patient_id != state.patient_id {
        return Err(Refusal::new(
            RefusalCode::FactsMismatch,
            format!("the adverse-event blocks passed in are not those of prescription {}'s patient", state.rx_id),
        ));
    }
    // A retried dispense is answered before the "closed" check: the client only learns its
    // earlier request succeeded.
    if let Command::Dispense { line_no, idempotency_key, .. } = command
        && let Some(line) = state.line(*line_no)
        && let Some(done) = &line.dispense
    {
        return if done.idempotency_key == *idempotency_key {
            Ok(Transition { state: state.clone(), events: Vec::new() })
        } else {
            Err(Refusal::new(
                RefusalCode::AlreadyDispensed,
                format!("line {line_no} of prescription {} was already dispensed", state.rx_id),
            ))
        };
    }
    if state.status == RxStatus::Closed {
        return Err(illegal(format!("prescription {} is closed", state.rx_id)));
    }
    match command {
        Command::StartVerification => start_verification(state),
        Command::RecordVerification(findings) => record_verification(state, findings, facts),
        Command::Propose { line_no, action, rationale } => {
            propose(state, principal, *line_no, *action, rationale, facts)
        }
        Command::LineDecision(decision) => line_decision(state, principal, decision, facts),
        Command::BarcodeScanned { line_no, matched, scan_id } => {
            barcode_scanned(state, *line_no, *matched, scan_id, facts)
        }
        Command::Dispense { line_no, idempotency_key, quantity } => {
            dispense(state, principal, *line_no, idempotency_key, *quantity, facts)
        }
        Command::CounselDone { items } => counsel_done(state, items),
        Command::Close => close(state),
        Command::AmendLine { line_no, drug, reason } => amend_line(state, *line_no, drug, reason),
        Command::ReverseDispense { line_no, reason } => reverse_dispense(state, principal, *line_no, reason),
    }
}

/// When the prescription content or the knowledge snapshot is no longer what the current
/// verification was made from, every approval resting on it is void: approved,
/// substituted and scanned lines go back to `HITL_REVIEW` and the prescription back to
/// `RX_RECEIVED`, to be verified and decided again. Dispensed, held and cancelled lines
/// keep their status.
///
/// Call it whenever [`decide`] answers `stale_verification` (and may call it on every
/// load). It needs no particular role because it only ever takes permissions away: audit
/// its events under whoever's request noticed. `None` when nothing is stale.
pub fn return_stale_to_review(state: &RxState, facts: &Facts) -> Option<Transition<RxState>> {
    let verification = state.verification.as_ref()?;
    let finished = matches!(state.status, RxStatus::Dispensed | RxStatus::CounselComplete | RxStatus::Closed);
    if finished || is_current(verification, facts) {
        return None;
    }
    let mut next = state.clone();
    let why = "the prescription or the knowledge snapshot changed since verification";
    let mut events = void_approvals(&mut next, None, why);
    events.push(Event {
        action: Action::ReturnedToReview,
        rx_id: Some(state.rx_id.clone()),
        line_no: None,
        before: json!({"rx_status": state.status.as_str(), "verification_hash": verification.hash}).to_string(),
        after: json!({
            "rx_status": next.status.as_str(),
            "reason": why,
            "prescription_hash": facts.prescription_hash,
            "knowledge_hash": facts.knowledge_hash,
        })
        .to_string(),
    });
    Some(Transition { state: next, events })
}

/// Voids every approval resting on the current verification: approved, substituted and
/// scanned lines (except `skip`) go back to `HITL_REVIEW`, proposals go, and the
/// prescription is back in `RX_RECEIVED`, to be verified again. Dispensed, held and
/// cancelled lines keep their status. Returns the per-line events.
fn void_approvals(next: &mut RxState, skip: Option<u32>, why: &str) -> Vec<Event> {
    let mut events = Vec::new();
    for line in &mut next.lines {
        line.proposal = None;
        if Some(line.line_no) == skip {
            continue;
        }
        if matches!(line.status, LineStatus::Approved | LineStatus::Substituted | LineStatus::BarcodeScan) {
            let before = line.status;
            line.status = LineStatus::HitlReview;
            line.decision = None;
            line.replacement = None;
            line.scan_id = None;
            events.push(Event {
                action: Action::ReturnedToReview,
                rx_id: Some(next.rx_id.clone()),
                line_no: Some(line.line_no),
                before: json!({"line_status": before.as_str()}).to_string(),
                after: json!({"line_status": line.status.as_str(), "reason": why}).to_string(),
            });
        }
    }
    next.verification = None;
    next.counselling = None;
    next.status = RxStatus::Received;
    events
}

fn is_current(verification: &Verification, facts: &Facts) -> bool {
    verification.prescription_hash == facts.prescription_hash && verification.knowledge_hash == facts.knowledge_hash
}

fn ensure_current(state: &RxState, facts: &Facts) -> Result<(), Refusal> {
    match &state.verification {
        Some(v) if is_current(v, facts) => Ok(()),
        Some(_) => Err(Refusal::new(
            RefusalCode::StaleVerification,
            format!(
                "prescription {} or the knowledge snapshot changed since it was verified; it goes back to review and must be verified again",
                state.rx_id
            ),
        )),
        None => Err(illegal(format!("prescription {} has not been verified", state.rx_id))),
    }
}

fn illegal(reason: String) -> Refusal {
    Refusal::new(RefusalCode::IllegalTransition, reason)
}

fn in_review(status: RxStatus) -> bool {
    matches!(status, RxStatus::AlertsRaised | RxStatus::ReadyToDispense | RxStatus::HitlReview)
}

fn require_review(state: &RxState, what: &str) -> Result<(), Refusal> {
    if in_review(state.status) {
        Ok(())
    } else {
        Err(illegal(format!(
            "cannot {what}: prescription {} is {}, not awaiting review",
            state.rx_id,
            state.status.as_str()
        )))
    }
}

fn line_index(state: &RxState, line_no: u32) -> Result<usize, Refusal> {
    state.lines.iter().position(|l| l.line_no == line_no).ok_or_else(|| unknown_line(state, line_no))
}

fn blank(text: &str) -> bool {
    text.trim().is_empty()
}

/// A line whose part of the workflow is over, as far as completing the prescription goes.
fn line_settled(status: LineStatus) -> bool {
    matches!(status, LineStatus::Dispensed | LineStatus::Cancelled | LineStatus::Hold)
}

/// The prescription's status after a line changed during review: `DISPENSED` once every
/// line is settled and at least one was dispensed, otherwise still `HITL_REVIEW`.
fn settle(state: &mut RxState) {
    let all_settled = state.lines.iter().all(|l| line_settled(l.status));
    let any_dispensed = state.lines.iter().any(|l| l.status == LineStatus::Dispensed);
    state.status = if all_settled && any_dispensed { RxStatus::Dispensed } else { RxStatus::HitlReview };
}

fn rx_event(state: &RxState, next: &RxState, action: Action, extra: Value) -> Event {
    let mut after = json!({"rx_status": next.status.as_str()});
    merge(&mut after, extra);
    Event {
        action,
        rx_id: Some(state.rx_id.clone()),
        line_no: None,
        before: json!({"rx_status": state.status.as_str()}).to_string(),
        after: after.to_string(),
    }
}

fn line_event(state: &RxState, next: &RxState, index: usize, action: Action, extra: Value) -> Event {
    let (old, new) = (&state.lines[index], &next.lines[index]);
    let mut after = json!({"rx_status": next.status.as_str(), "line_status": new.status.as_str()});
    merge(&mut after, extra);
    Event {
        action,
        rx_id: Some(state.rx_id.clone()),
        line_no: Some(old.line_no),
        before: json!({"rx_status": state.status.as_str(), "line_status": old.status.as_str()}).to_string(),
        after: after.to_string(),
    }
}

fn merge(into: &mut Value, extra: Value) {
    if let (Value::Object(into), Value::Object(extra)) = (into, extra) {
        into.extend(extra);
    }
}

fn start_verification(state: &RxState) -> Outcome {
    let reopenable = in_review(state.status)
        && !state
            .lines
            .iter()
            .any(|l| matches!(l.status, LineStatus::Approved | LineStatus::Substituted | LineStatus::BarcodeScan));
    if state.status != RxStatus::Received && !reopenable {
        return Err(illegal(format!(
            "cannot start verification: prescription {} is {}{}",
            state.rx_id,
            state.status.as_str(),
            if in_review(state.status) { " and has approved lines" } else { "" }
        )));
    }
    let mut next = state.clone();
    next.status = RxStatus::AiVerifying;
    next.verification = None;
    let event = rx_event(state, &next, Action::VerificationStarted, json!({}));
    Ok(Transition { state: next, events: vec![event] })
}

fn record_verification(state: &RxState, findings: &Findings, facts: &Facts) -> Outcome {
    if state.status != RxStatus::AiVerifying {
        return Err(illegal(format!(
            "cannot record a verification: prescription {} is {}, not AI_VERIFYING",
            state.rx_id,
            state.status.as_str()
        )));
    }
    let invalid = |reason: String| Err(Refusal::new(RefusalCode::InvalidVerification, reason));
    if blank(&findings.verification_hash) {
        return invalid("a verification needs the hash of its result".into());
    }
    let mut seen = BTreeSet::new();
    for f in &findings.lines {
        if state.line(f.line_no).is_none() {
            return Err(unknown_line(state, f.line_no));
        }
        if !seen.insert(f.line_no) {
            return invalid(format!("line {} has two findings summaries", f.line_no));
        }
    }
    let line_max = findings.lines.iter().filter_map(|f| f.severity).max();
    if line_max != findings.highest_severity {
        return invalid(format!(
            "highest severity {} does not match the highest line finding {}",
            findings.highest_severity.map_or("none", |s| s.as_str()),
            line_max.map_or("none", |s| s.as_str())
        ));
    }
    let mut next = state.clone();
    for line in &mut next.lines {
        line.severity = findings.lines.iter().find(|f| f.line_no == line.line_no).and_then(|f| f.severity);
        // A proposal was made on the previous verification's findings.
        line.proposal = None;
    }
    next.verification = Some(Verification {
        hash: findings.verification_hash.clone(),
        highest_severity: findings.highest_severity,
        blocking: findings.blocking,
        prescription_hash: facts.prescription_hash.clone(),
        knowledge_hash: facts.knowledge_hash.clone(),
    });
    let alerts = findings.blocking || findings.highest_severity.is_some();
    next.status = if alerts { RxStatus::AlertsRaised } else { RxStatus::ReadyToDispense };
    let event = rx_event(
        state,
        &next,
        Action::VerificationRecorded,
        json!({
            "verification_hash": findings.verification_hash,
            "highest_severity": findings.highest_severity.map(|s| s.as_str()),
            "blocking": findings.blocking,
            "prescription_hash": facts.prescription_hash,
            "knowledge_hash": facts.knowledge_hash,
        }),
    );
    Ok(Transition { state: next, events: vec![event] })
}

fn undecided_line(state: &RxState, line_no: u32, what: &str) -> Result<usize, Refusal> {
    let index = line_index(state, line_no)?;
    let line = &state.lines[index];
    if matches!(line.status, LineStatus::HitlReview | LineStatus::Hold) {
        Ok(index)
    } else {
        Err(illegal(format!("cannot {what} line {line_no}: it is {}; it was already decided", line.status.as_str())))
    }
}

fn propose(
    state: &RxState,
    principal: &Principal,
    line_no: u32,
    action: LineAction,
    rationale: &str,
    facts: &Facts,
) -> Outcome {
    require_review(state, "propose")?;
    let index = undecided_line(state, line_no, "propose for")?;
    ensure_current(state, facts)?;
    if blank(rationale) {
        return Err(Refusal::new(RefusalCode::ReasonRequired, "a proposal needs a rationale the pharmacist can read"));
    }
    check_action_for_finding(&state.lines[index], action)?;
    let mut next = state.clone();
    next.status = RxStatus::HitlReview;
    next.lines[index].proposal =
        Some(Proposal { action, rationale: rationale.to_owned(), by: principal.subject.clone() });
    let event = line_event(
        state,
        &next,
        index,
        Action::ProposalRecorded,
        json!({"proposed_action": action.as_str(), "rationale": rationale}),
    );
    Ok(Transition { state: next, events: vec![event] })
}

fn line_decision(state: &RxState, principal: &Principal, d: &LineDecision, facts: &Facts) -> Outcome {
    require_review(state, "decide a line")?;
    let index = undecided_line(state, d.line_no, "decide")?;
    ensure_current(state, facts)?;
    let line = &state.lines[index];
    if approval_view_hash(state, facts, d.line_no)? != d.approved_view_hash {
        return Err(Refusal::new(
            RefusalCode::StaleView,
            format!(
                "line {} changed since you looked at it (new verification or proposal); review it again",
                d.line_no
            ),
        ));
    }
    check_action_for_finding(line, d.action)?;
    let justification = d.justification.as_deref().filter(|j| !blank(j));
    if needs_justification(line.severity, d.action) && justification.is_none() {
        return Err(Refusal::new(
            RefusalCode::JustificationRequired,
            format!(
                "line {} ({}) has a major finding: dispensing it needs a written justification",
                d.line_no, line.drug.generic
            ),
        ));
    }
    if d.action != LineAction::Dispense && blank(&d.reason) {
        return Err(Refusal::new(
            RefusalCode::ReasonRequired,
            format!("to {} line {} give a reason", d.action.as_str(), d.line_no),
        ));
    }
    let replacement = match (d.action, &d.replacement) {
        (LineAction::Substitute, Some(r)) if !blank(&r.generic) => Some(r.clone()),
        (LineAction::Substitute, _) => {
            return Err(Refusal::new(
                RefusalCode::ReplacementRequired,
                format!("a substitution of line {} must name the replacement drug", d.line_no),
            ));
        }
        (_, Some(_)) => {
            return Err(Refusal::new(
                RefusalCode::ReplacementRequired,
                format!("only a substitution names a replacement; line {} is to {}", d.line_no, d.action.as_str()),
            ));
        }
        (_, None) => None,
    };
    if let Some(r) = &replacement {
        match d.replacement_severity {
            Some(Severity::Contraindicated) => {
                return Err(Refusal::new(
                    RefusalCode::Contraindicated,
                    format!(
                        "the replacement {} is contraindicated for this patient or with the other medicines on line {}; choose another or cancel",
                        r.generic, d.line_no
                    ),
                ));
            }
            Some(Severity::Major) if justification.is_none() => {
                return Err(Refusal::new(
                    RefusalCode::JustificationRequired,
                    format!(
                        "the replacement {} has a major finding on line {}: substituting it needs a written justification",
                        r.generic, d.line_no
                    ),
                ));
            }
            _ => {}
        }
    }
    let to_dispense: Option<&LineDrug> = match d.action {
        LineAction::Dispense => Some(&line.drug),
        LineAction::Substitute => replacement.as_ref(),
        LineAction::Hold | LineAction::Cancel => None,
    };
    if let Some(drug) = to_dispense {
        check_blocks(facts, drug, d.line_no)?;
    }
    let mut next = state.clone();
    let new = &mut next.lines[index];
    new.status = match d.action {
        LineAction::Dispense => LineStatus::Approved,
        LineAction::Substitute => LineStatus::Substituted,
        LineAction::Hold => LineStatus::Hold,
        LineAction::Cancel => LineStatus::Cancelled,
    };
    new.decision = Some(Decision {
        action: d.action,
        by: principal.subject.clone(),
        reason: d.reason.clone(),
        justification: justification.map(str::to_owned),
        view_hash: d.approved_view_hash.clone(),
    });
    new.replacement = replacement;
    settle(&mut next);
    let event = line_event(
        state,
        &next,
        index,
        Action::LineDecided,
        json!({
            "action": d.action.as_str(),
            "reason": d.reason,
            "justification": justification,
            "severity": line.severity.map(|s| s.as_str()),
            "replacement": next.lines[index].replacement.as_ref().map(|r| r.generic.as_str()),
            "view_hash": d.approved_view_hash,
        }),
    );
    Ok(Transition { state: next, events: vec![event] })
}

fn check_blocks(facts: &Facts, drug: &LineDrug, line_no: u32) -> Result<(), Refusal> {
    match facts.blocks.blocking(drug) {
        Some(block) => Err(Refusal::new(
            RefusalCode::AdverseEventBlock,
            format!(
                "line {line_no}: {} is in class {}, blocked for this patient after an adverse event ({}); a pharmacist must lift the block first",
                drug.generic, block.drug_class, block.description
            ),
        )),
        None => Ok(()),
    }
}

fn barcode_scanned(state: &RxState, line_no: u32, matched: bool, scan_id: &str, facts: &Facts) -> Outcome {
    let index = line_index(state, line_no)?;
    let line = &state.lines[index];
    let approved_status = match line.decision.as_ref().map(|d| d.action) {
        Some(LineAction::Substitute) => LineStatus::Substituted,
        _ => LineStatus::Approved,
    };
    let scannable = matches!(line.status, LineStatus::Approved | LineStatus::Substituted | LineStatus::BarcodeScan);
    if state.status != RxStatus::HitlReview || !scannable {
        return Err(illegal(format!(
            "cannot scan for line {line_no}: it is {} (prescription {}); only an approved or substituted line is scanned",
            line.status.as_str(),
            state.status.as_str()
        )));
    }
    ensure_current(state, facts)?;
    if blank(scan_id) {
        return Err(illegal("a scan needs its scan id".into()));
    }
    let mut next = state.clone();
    let new = &mut next.lines[index];
    let action = if matched {
        new.status = LineStatus::BarcodeScan;
        new.scan_id = Some(scan_id.to_owned());
        Action::BarcodeMatched
    } else {
        // A wrong product voids any earlier match: the next hand-over needs a fresh scan.
        new.status = approved_status;
        new.scan_id = None;
        Action::BarcodeMismatched
    };
    let event = line_event(state, &next, index, action, json!({"scan_id": scan_id, "matched": matched}));
    Ok(Transition { state: next, events: vec![event] })
}

fn dispense(
    state: &RxState,
    principal: &Principal,
    line_no: u32,
    idempotency_key: &str,
    quantity: u32,
    facts: &Facts,
) -> Outcome {
    let index = line_index(state, line_no)?;
    let line = &state.lines[index];
    if state.status != RxStatus::HitlReview {
        return Err(illegal(format!("cannot dispense: prescription {} is {}", state.rx_id, state.status.as_str())));
    }
    match line.status {
        LineStatus::BarcodeScan => {}
        LineStatus::Approved | LineStatus::Substituted => {
            return Err(Refusal::new(
                RefusalCode::ScanRequired,
                format!("line {line_no} must be scanned and match before it is dispensed"),
            ));
        }
        other => {
            return Err(illegal(format!(
                "cannot dispense line {line_no}: it is {}, not approved and scanned",
                other.as_str()
            )));
        }
    }
    ensure_current(state, facts)?;
    if blank(idempotency_key) {
        return Err(illegal("a dispense needs an idempotency key".into()));
    }
    if quantity == 0 {
        return Err(Refusal::new(RefusalCode::InvalidQuantity, "the quantity dispensed must be positive"));
    }
    check_blocks(facts, line.drug_to_dispense(), line_no)?;
    let mut next = state.clone();
    next.lines[index].status = LineStatus::Dispensed;
    next.lines[index].dispense =
        Some(DispenseRecord { idempotency_key: idempotency_key.to_owned(), quantity, by: principal.subject.clone() });
    settle(&mut next);
    let event = line_event(
        state,
        &next,
        index,
        Action::LineDispensed,
        json!({
            "generic": line.drug_to_dispense().generic,
            "quantity": quantity,
            "scan_id": line.scan_id,
            "idempotency_key": idempotency_key,
        }),
    );
    Ok(Transition { state: next, events: vec![event] })
}

fn counsel_done(state: &RxState, items: &[CounselItem]) -> Outcome {
    if state.status != RxStatus::Dispensed {
        return Err(illegal(format!(
            "cannot record counselling: prescription {} is {}, not DISPENSED",
            state.rx_id,
            state.status.as_str()
        )));
    }
    let done: BTreeSet<CounselItem> = items.iter().copied().collect();
    let missing: Vec<&str> = CounselItem::REQUIRED.iter().filter(|i| !done.contains(i)).map(|i| i.as_str()).collect();
    if !missing.is_empty() {
        return Err(Refusal::new(
            RefusalCode::CounsellingIncomplete,
            format!("counselling is missing: {}", missing.join(", ")),
        ));
    }
    let mut next = state.clone();
    next.status = RxStatus::CounselComplete;
    next.counselling = Some(done.into_iter().collect());
    let items: Vec<&str> = items.iter().map(|i| i.as_str()).collect();
    let event = rx_event(state, &next, Action::CounsellingCompleted, json!({"items": items}));
    Ok(Transition { state: next, events: vec![event] })
}

fn close(state: &RxState) -> Outcome {
    // Nothing was or will be handed over: there is nobody to counsel.
    let nothing_dispensed = in_review(state.status)
        && state.lines.iter().all(|l| matches!(l.status, LineStatus::Cancelled | LineStatus::Hold));
    match state.status {
        RxStatus::CounselComplete => {}
        _ if nothing_dispensed => {}
        RxStatus::Dispensed => {
            return Err(Refusal::new(
                RefusalCode::CounsellingIncomplete,
                format!("prescription {} cannot be closed before counselling is done", state.rx_id),
            ));
        }
        other => {
            return Err(illegal(format!(
                "cannot close prescription {}: it is {}; lines are still to be decided or dispensed",
                state.rx_id,
                other.as_str()
            )));
        }
    }
    let mut next = state.clone();
    next.status = RxStatus::Closed;
    let event = rx_event(state, &next, Action::RxClosed, json!({}));
    Ok(Transition { state: next, events: vec![event] })
}

fn amend_line(state: &RxState, line_no: u32, drug: &LineDrug, reason: &str) -> Outcome {
    let index = line_index(state, line_no)?;
    let line = &state.lines[index];
    match line.status {
        LineStatus::Dispensed => {
            return Err(Refusal::new(
                RefusalCode::AlreadyDispensed,
                format!(
                    "line {line_no} of prescription {} was already handed over; a change cannot apply to it — the prescriber sends a new prescription",
                    state.rx_id
                ),
            ));
        }
        LineStatus::Cancelled => {
            return Err(illegal(format!(
                "line {line_no} of prescription {} was cancelled; a change cannot revive it — the prescriber sends a new prescription",
                state.rx_id
            )));
        }
        _ => {}
    }
    if drug.generic.trim().is_empty() {
        return Err(Refusal::new(RefusalCode::InvalidIntake, format!("the change of line {line_no} names no drug")));
    }
    if blank(reason) {
        return Err(Refusal::new(RefusalCode::ReasonRequired, "a change of an order needs a reason"));
    }
    let mut next = state.clone();
    // Checks look at the whole prescription: a changed line can create or remove findings on
    // the others, so every approval made on the old verification goes.
    let why = format!("line {line_no} was changed by the prescriber");
    let mut events = void_approvals(&mut next, Some(line_no), &why);
    let changed = &mut next.lines[index];
    changed.drug = drug.clone();
    changed.status = LineStatus::HitlReview;
    changed.severity = None;
    changed.decision = None;
    changed.replacement = None;
    changed.scan_id = None;
    events.insert(
        0,
        line_event(
            state,
            &next,
            index,
            Action::LineAmended,
            json!({"generic_before": line.drug.generic, "generic": drug.generic, "reason": reason}),
        ),
    );
    Ok(Transition { state: next, events })
}

fn reverse_dispense(state: &RxState, principal: &Principal, line_no: u32, reason: &str) -> Outcome {
    let index = line_index(state, line_no)?;
    let line = &state.lines[index];
    if line.status != LineStatus::Dispensed {
        return Err(illegal(format!("cannot reverse line {line_no}: it is {}, not dispensed", line.status.as_str())));
    }
    if blank(reason) {
        return Err(Refusal::new(RefusalCode::ReasonRequired, "reversing a dispense needs a reason"));
    }
    let mut next = state.clone();
    let reversed = &mut next.lines[index];
    reversed.status = LineStatus::Hold;
    reversed.scan_id = None;
    reversed.dispense = None;
    reversed.decision = Some(Decision {
        action: LineAction::Hold,
        by: principal.subject.clone(),
        reason: format!("dispense reversed: {}", reason.trim()),
        justification: None,
        view_hash: line.decision.as_ref().map(|d| d.view_hash.clone()).unwrap_or_default(),
    });
    reversed.replacement = None;
    // What was counselled no longer matches what the patient takes home.
    next.counselling = None;
    settle(&mut next);
    let event = line_event(
        state,
        &next,
        index,
        Action::DispenseReversed,
        json!({
            "generic": line.drug_to_dispense().generic,
            "idempotency_key": line.dispense.as_ref().map(|d| d.idempotency_key.clone()),
            "quantity": line.dispense.as_ref().map(|d| d.quantity),
            "reason": reason,
        }),
    );
    Ok(Transition { state: next, events: vec![event] })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{IntakeLine, LineFinding};
    use crate::principal::Role;
    use rxgate_knowledge::Severity;

    fn facts() -> Facts {
        Facts { prescription_hash: "c1".into(), knowledge_hash: "k1".into(), blocks: PatientBlocks::none("p") }
    }

    fn verified(severity: Option<Severity>) -> RxState {
        let ph = Principal::new("ph", Role::Pharmacist);
        let intake = Intake {
            rx_id: "rx".into(),
            patient_id: "p".into(),
            lines: vec![
                IntakeLine { line_no: 2, drug: LineDrug { generic: "b".into(), classes: vec![] } },
                IntakeLine { line_no: 1, drug: LineDrug { generic: "a".into(), classes: vec![] } },
            ],
        };
        let state = receive(&ph, &intake).unwrap().state;
        let state = decide(&state, &ph, &Command::StartVerification, &facts()).unwrap().state;
        let findings = Findings {
            verification_hash: "v".into(),
            highest_severity: severity,
            blocking: false,
            lines: vec![LineFinding { line_no: 1, severity }],
        };
        decide(&state, &ph, &Command::RecordVerification(findings), &facts()).unwrap().state
    }

    #[test]
    fn intake_sorts_lines_and_every_line_awaits_review() {
        let state = verified(None);
        assert_eq!(state.lines.iter().map(|l| l.line_no).collect::<Vec<_>>(), [1, 2]);
        assert!(state.lines.iter().all(|l| l.status == LineStatus::HitlReview));
    }

    #[test]
    fn a_verification_with_findings_raises_alerts_and_one_without_is_ready() {
        assert_eq!(verified(None).status, RxStatus::ReadyToDispense);
        assert_eq!(verified(Some(Severity::Minor)).status, RxStatus::AlertsRaised);
        let v = verified(Some(Severity::Major));
        assert_eq!(v.verification.as_ref().map(|v| v.knowledge_hash.as_str()), Some("k1"));
        assert_eq!(v.lines[0].severity, Some(Severity::Major));
        assert_eq!(v.lines[1].severity, None);
    }

    #[test]
    fn settle_needs_every_line_settled_and_one_dispensed() {
        let mut state = verified(None);
        state.lines[0].status = LineStatus::Dispensed;
        state.lines[1].status = LineStatus::Approved;
        settle(&mut state);
        assert_eq!(state.status, RxStatus::HitlReview);
        state.lines[1].status = LineStatus::Hold;
        settle(&mut state);
        assert_eq!(state.status, RxStatus::Dispensed);
        state.lines[0].status = LineStatus::Cancelled;
        settle(&mut state);
        assert_eq!(state.status, RxStatus::HitlReview, "nothing dispensed: closed from review instead");
    }

    #[test]
    fn nothing_is_stale_before_a_verification_exists() {
        let ph = Principal::new("ph", Role::Pharmacist);
        let intake = Intake {
            rx_id: "rx".into(),
            patient_id: "p".into(),
            lines: vec![IntakeLine { line_no: 1, drug: LineDrug { generic: "a".into(), classes: vec![] } }],
        };
        let state = receive(&ph, &intake).unwrap().state;
        let mut changed = facts();
        changed.knowledge_hash = "k2".into();
        assert_eq!(return_stale_to_review(&state, &changed), None);
        assert_eq!(return_stale_to_review(&verified(None), &changed).unwrap().state.status, RxStatus::Received);
    }
}
