//! Adverse-event blocks: a reported reaction to a drug blocks dispensing any drug of the
//! same class to that patient, at once and on every prescription (the block is checked at
//! decision and again at dispense), until a pharmacist lifts it with a reason.

use serde_json::json;

use crate::authorisation::authorise;
use crate::command::PatientCommand;
use crate::event::{Action, Event, Transition};
use crate::principal::Principal;
use crate::refusal::{Refusal, RefusalCode};
use crate::state::{AdverseEventBlock, BlockLift, PatientBlocks};

/// Applies a command to a patient's blocks.
pub fn decide_patient(
    blocks: &PatientBlocks,
    principal: &Principal,
    command: &PatientCommand,
) -> Result<Transition<PatientBlocks>, Refusal> {
    authorise(principal, command.kind())?;
    let mut next = blocks.clone();
    let event = match command {
        PatientCommand::ReportAdverseEvent { drug_class, description } => {
            if drug_class.trim().is_empty() || description.trim().is_empty() {
                return Err(Refusal::new(
                    RefusalCode::ReasonRequired,
                    "an adverse-event report needs the drug class and a description of what happened",
                ));
            }
            if blocks.active(drug_class).is_some() {
                return Err(Refusal::new(
                    RefusalCode::AlreadyBlocked,
                    format!("class {drug_class} is already blocked for this patient"),
                ));
            }
            next.blocks.push(AdverseEventBlock {
                drug_class: drug_class.clone(),
                description: description.clone(),
                reported_by: principal.subject.clone(),
                lifted: None,
            });
            Event {
                action: Action::AdverseEventReported,
                rx_id: None,
                line_no: None,
                before: json!({"patient_id": blocks.patient_id, "drug_class": drug_class, "blocked": false})
                    .to_string(),
                after: json!({
                    "patient_id": blocks.patient_id,
                    "drug_class": drug_class,
                    "blocked": true,
                    "description": description,
                })
                .to_string(),
            }
        }
        PatientCommand::LiftAdverseEventBlock { drug_class, reason } => {
            if reason.trim().is_empty() {
                return Err(Refusal::new(
                    RefusalCode::ReasonRequired,
                    format!("lifting the block on {drug_class} needs a reason"),
                ));
            }
            let Some(block) = next.blocks.iter_mut().find(|b| b.lifted.is_none() && b.drug_class == *drug_class) else {
                return Err(Refusal::new(
                    RefusalCode::NoActiveBlock,
                    format!("class {drug_class} is not blocked for this patient"),
                ));
            };
            block.lifted = Some(BlockLift { by: principal.subject.clone(), reason: reason.clone() });
            Event {
                action: Action::AdverseEventBlockLifted,
                rx_id: None,
                line_no: None,
                before: json!({"patient_id": blocks.patient_id, "drug_class": drug_class, "blocked": true}).to_string(),
                after: json!({
                    "patient_id": blocks.patient_id,
                    "drug_class": drug_class,
                    "blocked": false,
                    "reason": reason,
                })
                .to_string(),
            }
        }
    };
    Ok(Transition { state: next, events: vec![event] })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::Role;
    use crate::state::LineDrug;

    fn report(class: &str) -> PatientCommand {
        PatientCommand::ReportAdverseEvent { drug_class: class.into(), description: "angioedema".into() }
    }

    fn lift(class: &str, reason: &str) -> PatientCommand {
        PatientCommand::LiftAdverseEventBlock { drug_class: class.into(), reason: reason.into() }
    }

    #[test]
    fn a_report_blocks_the_class_until_a_pharmacist_lifts_it_with_a_reason() {
        let doctor = Principal::new("dr-7", Role::Physician);
        let pharmacist = Principal::new("ph-1", Role::Pharmacist);
        let lisinopril = LineDrug { generic: "lisinopril".into(), classes: vec!["ace_inhibitor".into()] };

        let blocked = decide_patient(&PatientBlocks::none("p-1"), &doctor, &report("ace_inhibitor")).unwrap().state;
        assert!(blocked.blocking(&lisinopril).is_some());

        assert_eq!(decide_patient(&blocked, &doctor, &lift("ace_inhibitor", "ok")).unwrap_err().http_status(), 403);
        assert_eq!(
            decide_patient(&blocked, &pharmacist, &lift("ace_inhibitor", "  ")).unwrap_err().code,
            RefusalCode::ReasonRequired
        );
        let lifted =
            decide_patient(&blocked, &pharmacist, &lift("ace_inhibitor", "reaction attributed to another drug"))
                .unwrap();
        assert!(lifted.state.blocking(&lisinopril).is_none());
        assert_eq!(lifted.events[0].action, Action::AdverseEventBlockLifted);
        assert_eq!(lifted.state.blocks.len(), 1, "a lifted block stays on record");
    }

    #[test]
    fn double_reports_and_lifting_nothing_are_refused() {
        let pharmacist = Principal::new("ph-1", Role::Pharmacist);
        let blocked = decide_patient(&PatientBlocks::none("p-1"), &pharmacist, &report("nsaid")).unwrap().state;
        assert_eq!(
            decide_patient(&blocked, &pharmacist, &report("nsaid")).unwrap_err().code,
            RefusalCode::AlreadyBlocked
        );
        assert_eq!(
            decide_patient(&blocked, &pharmacist, &lift("statin", "why")).unwrap_err().code,
            RefusalCode::NoActiveBlock
        );
    }

    #[test]
    fn the_agent_can_neither_report_nor_lift() {
        let agent = Principal::new("assistant", Role::Agent);
        let blocks = PatientBlocks::none("p-1");
        assert_eq!(decide_patient(&blocks, &agent, &report("nsaid")).unwrap_err().http_status(), 403);
        assert_eq!(decide_patient(&blocks, &agent, &lift("nsaid", "x")).unwrap_err().http_status(), 403);
    }
}
