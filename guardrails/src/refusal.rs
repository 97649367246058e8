//! Why the gate said no. A refusal changes nothing: the caller keeps its current state,
//! records nothing as done, and answers with [`Refusal::http_status`] and the reason.

use std::fmt;

/// A machine-readable refusal code (`snake_case` on the wire) with its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalCode {
    /// 403: the principal's role may not issue this command at all.
    RoleNotAllowed,
    /// 403: a two-person rule was given the same person twice.
    SamePerson,
    /// 409: the command is not legal in the prescription's or line's current state.
    IllegalTransition,
    /// 409: the command names a line the prescription does not have.
    UnknownLine,
    /// 409: the intake is malformed (no lines, a repeated line number, an empty id).
    InvalidIntake,
    /// 409: the verification summary is inconsistent with itself or the prescription.
    InvalidVerification,
    /// 409: a line with a contraindicated finding can only be substituted or cancelled.
    Contraindicated,
    /// 409: dispensing a line with a major finding needs a written justification.
    JustificationRequired,
    /// 409: hold, substitute and cancel need a reason; lifting a block needs a reason.
    ReasonRequired,
    /// 409: a substitution must name the replacement drug.
    ReplacementRequired,
    /// 409: the prescription or knowledge snapshot changed since verification; call
    /// [`crate::return_stale_to_review`] and verify again.
    StaleVerification,
    /// 409: the pharmacist decided on a view (verification, proposal) that is no longer current.
    StaleView,
    /// 409: dispensing needs a matched barcode scan for that line first.
    ScanRequired,
    /// 409: an adverse-event block forbids this drug class for this patient.
    AdverseEventBlock,
    /// 409: the line was already dispensed under a different idempotency key.
    AlreadyDispensed,
    /// 409: a dispensed quantity must be positive.
    InvalidQuantity,
    /// 409: the counselling checklist is missing required items.
    CounsellingIncomplete,
    /// 409: the facts passed in belong to another patient or prescription.
    FactsMismatch,
    /// 409: the drug class is already blocked for this patient.
    AlreadyBlocked,
    /// 409: there is no active block for that drug class.
    NoActiveBlock,
}

impl RefusalCode {
    /// The code's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalCode::RoleNotAllowed => "role_not_allowed",
            RefusalCode::SamePerson => "same_person",
            RefusalCode::IllegalTransition => "illegal_transition",
            RefusalCode::UnknownLine => "unknown_line",
            RefusalCode::InvalidIntake => "invalid_intake",
            RefusalCode::InvalidVerification => "invalid_verification",
            RefusalCode::Contraindicated => "contraindicated",
            RefusalCode::JustificationRequired => "justification_required",
            RefusalCode::ReasonRequired => "reason_required",
            RefusalCode::ReplacementRequired => "replacement_required",
            RefusalCode::StaleVerification => "stale_verification",
            RefusalCode::StaleView => "stale_view",
            RefusalCode::ScanRequired => "scan_required",
            RefusalCode::AdverseEventBlock => "adverse_event_block",
            RefusalCode::AlreadyDispensed => "already_dispensed",
            RefusalCode::InvalidQuantity => "invalid_quantity",
            RefusalCode::CounsellingIncomplete => "counselling_incomplete",
            RefusalCode::FactsMismatch => "facts_mismatch",
            RefusalCode::AlreadyBlocked => "already_blocked",
            RefusalCode::NoActiveBlock => "no_active_block",
        }
    }

    /// 403 when *who* is acting is the problem (no state would make it legal for them),
    /// 409 when *what* is asked conflicts with the current state or policy.
    pub fn http_status(self) -> u16 {
        match self {
            RefusalCode::RoleNotAllowed | RefusalCode::SamePerson => 403,
            _ => 409,
        }
    }
}

impl fmt::Display for RefusalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The gate's "no", with a reason a pharmacist can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {reason}")]
pub struct Refusal {
    /// What kind of refusal; decides the HTTP status.
    pub code: RefusalCode,
    /// A sentence for the person who asked.
    pub reason: String,
}

impl Refusal {
    /// A refusal with a code and a reason.
    pub fn new(code: RefusalCode, reason: impl Into<String>) -> Refusal {
        Refusal { code, reason: reason.into() }
    }

    /// Shorthand for [`RefusalCode::http_status`].
    pub fn http_status(&self) -> u16 {
        self.code.http_status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_who_is_acting_makes_a_403_everything_else_is_409() {
        assert_eq!(RefusalCode::RoleNotAllowed.http_status(), 403);
        assert_eq!(RefusalCode::SamePerson.http_status(), 403);
        for code in [RefusalCode::IllegalTransition, RefusalCode::Contraindicated, RefusalCode::StaleView] {
            assert_eq!(code.http_status(), 409, "{code}");
        }
    }

    #[test]
    fn a_refusal_reads_as_code_then_reason() {
        let r = Refusal::new(RefusalCode::ScanRequired, "line 1 must be scanned");
        assert_eq!(r.to_string(), "scan_required: line 1 must be scanned");
    }
}
