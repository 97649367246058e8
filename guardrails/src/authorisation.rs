//! Which role may issue which command: one table, checked before any state is looked at,
//! so a role that may never do something gets 403 whatever state the prescription is in.

use crate::command::CommandKind;
use crate::principal::{Principal, Role};
use crate::refusal::{Refusal, RefusalCode};

/// The roles that may issue a kind of command.
pub fn allowed_roles(kind: CommandKind) -> &'static [Role] {
    use CommandKind as K;
    use Role::*;
    match kind {
        K::Receive => &[Pharmacist, Physician],
        // The agent's whole job: verify and propose. A pharmacist may do both by hand.
        K::StartVerification | K::RecordVerification | K::Propose => &[Pharmacist, Agent],
        // A scan is recorded by the scanner itself or by a pharmacist's handheld.
        K::BarcodeScanned => &[Pharmacist, Device],
        K::LineDecision | K::Dispense | K::CounselDone | K::Close | K::ReverseDispense => &[Pharmacist],
        // Only a prescriber changes an order (a pharmacist substitutes instead).
        K::AmendLine => &[Physician],
        // Anyone treating the patient may raise a block; only a pharmacist lifts it.
        K::ReportAdverseEvent => &[Pharmacist, Physician],
        K::LiftAdverseEventBlock => &[Pharmacist],
    }
}

/// Commands that change what reaches the patient. Only a human pharmacist issues them;
/// this list is checked *in addition to* [`allowed_roles`], so a mistaken edit of the
/// table still cannot let the agent (or a device) approve, dispense or close.
pub const PHARMACIST_ONLY: [CommandKind; 6] = [
    CommandKind::LineDecision,
    CommandKind::Dispense,
    CommandKind::ReverseDispense,
    CommandKind::CounselDone,
    CommandKind::Close,
    CommandKind::LiftAdverseEventBlock,
];

/// `Ok` when the principal's role may issue this kind of command; else a 403 refusal.
pub fn authorise(principal: &Principal, kind: CommandKind) -> Result<(), Refusal> {
    let in_table = allowed_roles(kind).contains(&principal.role);
    let pharmacist_only_ok = !PHARMACIST_ONLY.contains(&kind) || principal.role == Role::Pharmacist;
    if in_table && pharmacist_only_ok {
        Ok(())
    } else {
        Err(Refusal::new(
            RefusalCode::RoleNotAllowed,
            format!("a {} may not {}", principal.role, kind.as_str().replace('_', " ")),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agent_never_appears_beside_a_pharmacist_only_command() {
        for kind in PHARMACIST_ONLY {
            assert_eq!(allowed_roles(kind), [Role::Pharmacist], "{kind:?}");
        }
    }

    #[test]
    fn a_device_may_only_record_scans() {
        let device = Principal::new("scanner-1", Role::Device);
        let allowed: Vec<_> = CommandKind::ALL.into_iter().filter(|k| authorise(&device, *k).is_ok()).collect();
        assert_eq!(allowed, [CommandKind::BarcodeScanned]);
    }

    #[test]
    fn admin_takes_no_clinical_action() {
        let admin = Principal::new("ops", Role::Admin);
        assert!(CommandKind::ALL.into_iter().all(|k| authorise(&admin, k).unwrap_err().http_status() == 403));
    }
}
