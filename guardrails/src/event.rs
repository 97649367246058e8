//! What a successful command produces: the new state and the events to append to the
//! audit chain, in the same database transaction.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::AuditDraft;
use crate::principal::Principal;

/// What happened, as recorded in the audit chain's `action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A prescription was taken in.
    RxReceived,
    /// Checks started.
    VerificationStarted,
    /// Checks' result recorded.
    VerificationRecorded,
    /// A proposal was put in front of the pharmacist.
    ProposalRecorded,
    /// A pharmacist decided a line.
    LineDecided,
    /// A scan matched a line.
    BarcodeMatched,
    /// A scan did not match a line (the wrong product was picked).
    BarcodeMismatched,
    /// A line was handed over.
    LineDispensed,
    /// Counselling was completed.
    CounsellingCompleted,
    /// The prescription was closed.
    RxClosed,
    /// A line's approval no longer held (prescription or knowledge changed): back to review.
    ReturnedToReview,
    /// The prescriber changed a line's order in the EHR.
    LineAmended,
    /// A pharmacist reversed a line's hand-over (the dispense record stays).
    DispenseReversed,
    /// An adverse event was reported; the class is blocked for the patient.
    AdverseEventReported,
    /// A pharmacist lifted an adverse-event block.
    AdverseEventBlockLifted,
}

impl Action {
    /// The `snake_case` name written to the audit chain.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::RxReceived => "rx_received",
            Action::VerificationStarted => "verification_started",
            Action::VerificationRecorded => "verification_recorded",
            Action::ProposalRecorded => "proposal_recorded",
            Action::LineDecided => "line_decided",
            Action::BarcodeMatched => "barcode_matched",
            Action::BarcodeMismatched => "barcode_mismatched",
            Action::LineDispensed => "line_dispensed",
            Action::CounsellingCompleted => "counselling_completed",
            Action::RxClosed => "rx_closed",
            Action::ReturnedToReview => "returned_to_review",
            Action::LineAmended => "line_amended",
            Action::DispenseReversed => "dispense_reversed",
            Action::AdverseEventReported => "adverse_event_reported",
            Action::AdverseEventBlockLifted => "adverse_event_block_lifted",
        }
    }
}

/// One thing that happened, ready to become an [`AuditDraft`] once the server adds who,
/// when and the correlation id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// What happened.
    pub action: Action,
    /// The prescription, if any.
    pub rx_id: Option<String>,
    /// The line, if any.
    pub line_no: Option<u32>,
    /// Relevant state before, as JSON text.
    pub before: String,
    /// Relevant state after (including reason and justification), as JSON text.
    pub after: String,
}

impl Event {
    /// The audit draft for this event, done by `principal` at `at` within the request
    /// `correlation_id`.
    pub fn to_draft(&self, principal: &Principal, at: DateTime<Utc>, correlation_id: &str) -> AuditDraft {
        AuditDraft {
            at,
            actor: principal.subject.clone(),
            role: principal.role,
            action: self.action.as_str().to_owned(),
            rx_id: self.rx_id.clone(),
            line_no: self.line_no,
            before: self.before.clone(),
            after: self.after.clone(),
            correlation_id: correlation_id.to_owned(),
        }
    }
}

/// The outcome of an accepted command: persist `state` and append `events`, atomically.
/// `events` is empty only for an idempotent replay (a dispense retried with its key), in
/// which case `state` equals the state passed in and nothing needs writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition<S> {
    /// The new state.
    pub state: S,
    /// What to record, in order.
    pub events: Vec<Event>,
}

impl<S> Transition<S> {
    /// True for an idempotent replay: nothing to persist or record.
    pub fn is_replay(&self) -> bool {
        self.events.is_empty()
    }

    /// The audit drafts for every event, in order.
    pub fn drafts(&self, principal: &Principal, at: DateTime<Utc>, correlation_id: &str) -> Vec<AuditDraft> {
        self.events.iter().map(|e| e.to_draft(principal, at, correlation_id)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::Role;

    #[test]
    fn a_draft_carries_who_when_and_the_request_with_the_event() {
        let event = Event {
            action: Action::LineDecided,
            rx_id: Some("rx-1".into()),
            line_no: Some(2),
            before: r#"{"line_status":"HITL_REVIEW"}"#.into(),
            after: r#"{"line_status":"APPROVED"}"#.into(),
        };
        let at = DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let draft = event.to_draft(&Principal::new("ph-1", Role::Pharmacist), at, "req-9");
        assert_eq!(
            (draft.actor.as_str(), draft.role, draft.action.as_str(), draft.correlation_id.as_str()),
            ("ph-1", Role::Pharmacist, "line_decided", "req-9")
        );
        assert_eq!((draft.rx_id.as_deref(), draft.line_no, draft.at), (Some("rx-1"), Some(2), at));
    }
}
