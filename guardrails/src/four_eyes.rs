//! The two-person rule ("four eyes"): some steps (later: chemotherapy verification at
//! prescribing and at compounding, publishing a regimen) need two *different* people. The
//! helper only counts signatures; which step needs it is the caller's rule.

use serde::{Deserialize, Serialize};

use crate::principal::{Principal, Role};
use crate::refusal::{Refusal, RefusalCode};

/// Signatures collected so far for one step that needs two different people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FourEyes {
    /// What is being signed, e.g. `chemo_prescribing_check` (for messages and audit).
    pub step: String,
    /// Roles whose holders may sign. Never `agent` or `device`: those are not people.
    pub eligible: Vec<Role>,
    /// Subjects who signed, in order.
    pub signers: Vec<String>,
}

impl FourEyes {
    /// How many different people must sign.
    pub const REQUIRED: usize = 2;

    /// An unsigned step. `agent` and `device` are dropped from `eligible` whatever the
    /// caller passes, because a two-person rule is about two humans.
    pub fn new(step: impl Into<String>, eligible: &[Role]) -> FourEyes {
        let eligible = eligible.iter().copied().filter(|r| !matches!(r, Role::Agent | Role::Device)).collect();
        FourEyes { step: step.into(), eligible, signers: Vec::new() }
    }

    /// Adds a signature. Refused (403) for an ineligible role or a person who already
    /// signed; refused (409) once the step already has its two signatures.
    pub fn sign(&self, principal: &Principal) -> Result<FourEyes, Refusal> {
        if !self.eligible.contains(&principal.role) {
            return Err(Refusal::new(
                RefusalCode::RoleNotAllowed,
                format!("a {} may not sign {}", principal.role, self.step),
            ));
        }
        if self.signers.contains(&principal.subject) {
            return Err(Refusal::new(
                RefusalCode::SamePerson,
                format!("{} needs two different people; {} already signed", self.step, principal.subject),
            ));
        }
        if self.is_satisfied() {
            return Err(Refusal::new(
                RefusalCode::IllegalTransition,
                format!("{} already has its two signatures", self.step),
            ));
        }
        let mut next = self.clone();
        next.signers.push(principal.subject.clone());
        Ok(next)
    }

    /// True once two different eligible people signed.
    pub fn is_satisfied(&self) -> bool {
        self.signers.len() >= FourEyes::REQUIRED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pharmacist(sub: &str) -> Principal {
        Principal::new(sub, Role::Pharmacist)
    }

    #[test]
    fn two_different_pharmacists_satisfy_the_rule() {
        let step = FourEyes::new("chemo_prescribing_check", &[Role::Pharmacist]);
        let once = step.sign(&pharmacist("ph1")).unwrap();
        assert!(!once.is_satisfied());
        let twice = once.sign(&pharmacist("ph2")).unwrap();
        assert!(twice.is_satisfied());
    }

    #[test]
    fn one_person_cannot_sign_twice_even_with_another_role() {
        let step = FourEyes::new("chemo_prescribing_check", &[Role::Pharmacist, Role::Physician]);
        let once = step.sign(&pharmacist("alex")).unwrap();
        let err = once.sign(&Principal::new("alex", Role::Physician)).unwrap_err();
        assert_eq!((err.code, err.http_status()), (RefusalCode::SamePerson, 403));
    }

    #[test]
    fn an_agent_is_never_one_of_the_two_people() {
        let step = FourEyes::new("chemo_prescribing_check", &[Role::Pharmacist, Role::Agent]);
        let err = step.sign(&Principal::new("assistant", Role::Agent)).unwrap_err();
        assert_eq!(err.code, RefusalCode::RoleNotAllowed);
    }

    #[test]
    fn a_third_signature_is_refused() {
        let done = FourEyes::new("publish_regimen", &[Role::Pharmacist])
            .sign(&pharmacist("a"))
            .and_then(|s| s.sign(&pharmacist("b")))
            .unwrap();
        assert_eq!(done.sign(&pharmacist("c")).unwrap_err().code, RefusalCode::IllegalTransition);
    }
}
