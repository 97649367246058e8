//! The approval policy that does not depend on who is acting: what a finding allows, and
//! the hash that binds a decision to what the pharmacist saw.

use rxgate_knowledge::Severity;

use crate::canonical::Canonical;
use crate::refusal::{Refusal, RefusalCode};
use crate::state::{LineAction, LineState, RxState};
use crate::workflow::Facts;

const VIEW_DOMAIN: &str = "rxgate-approval-view-v1";

/// The decisions a line's highest finding allows. A contraindicated line can never be
/// dispensed as prescribed, and holding it would only postpone the same answer, so it is
/// substituted or cancelled.
pub fn allowed_actions(severity: Option<Severity>) -> &'static [LineAction] {
    match severity {
        Some(Severity::Contraindicated) => &[LineAction::Substitute, LineAction::Cancel],
        _ => LineAction::ALL,
    }
}

/// Refuses an action the line's finding does not allow.
pub(crate) fn check_action_for_finding(line: &LineState, action: LineAction) -> Result<(), Refusal> {
    if allowed_actions(line.severity).contains(&action) {
        Ok(())
    } else {
        Err(Refusal::new(
            RefusalCode::Contraindicated,
            format!(
                "line {} ({}) has a contraindicated finding: it can only be substituted or cancelled, not {}",
                line.line_no,
                line.drug.generic,
                action.as_str()
            ),
        ))
    }
}

/// Whether the decision needs a written justification: dispensing despite a major finding.
pub fn needs_justification(severity: Option<Severity>, action: LineAction) -> bool {
    action == LineAction::Dispense && severity == Some(Severity::Major)
}

/// The hash of what a pharmacist is shown before deciding a line: the prescription
/// content, the knowledge snapshot, the verification result and the line's current
/// proposal. The console shows it with the line and posts it back with the decision;
/// [`crate::decide`] recomputes it and refuses the decision (`stale_view`) if anything the
/// pharmacist saw has changed since.
///
/// Refused (409) if the line does not exist or the prescription has not been verified.
pub fn approval_view_hash(state: &RxState, facts: &Facts, line_no: u32) -> Result<String, Refusal> {
    let line = state.line(line_no).ok_or_else(|| unknown_line(state, line_no))?;
    let verification = state.verification.as_ref().ok_or_else(|| {
        Refusal::new(
            RefusalCode::IllegalTransition,
            format!("prescription {} has not been verified yet, so there is nothing to approve", state.rx_id),
        )
    })?;
    let mut c = Canonical::new(VIEW_DOMAIN);
    c.text(&state.rx_id)
        .text(&state.patient_id)
        .uint(u64::from(line.line_no))
        .text(&line.drug.generic)
        .opt_text(line.severity.map(Severity::as_str))
        .text(&facts.prescription_hash)
        .text(&facts.knowledge_hash)
        .text(&verification.hash);
    match &line.proposal {
        Some(p) => c.text(p.action.as_str()).text(&p.rationale).text(&p.by),
        None => c.none(),
    };
    Ok(c.sha256_hex())
}

pub(crate) fn unknown_line(state: &RxState, line_no: u32) -> Refusal {
    Refusal::new(RefusalCode::UnknownLine, format!("prescription {} has no line {line_no}", state.rx_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_major_finding_dispensed_as_prescribed_needs_justification() {
        assert!(needs_justification(Some(Severity::Major), LineAction::Dispense));
        assert!(!needs_justification(Some(Severity::Major), LineAction::Cancel));
        assert!(!needs_justification(Some(Severity::Moderate), LineAction::Dispense));
        assert!(!needs_justification(None, LineAction::Dispense));
    }

    #[test]
    fn a_contraindicated_line_allows_only_substitute_or_cancel() {
        assert_eq!(allowed_actions(Some(Severity::Contraindicated)), [LineAction::Substitute, LineAction::Cancel]);
        assert_eq!(allowed_actions(Some(Severity::Major)), LineAction::ALL);
    }
}
