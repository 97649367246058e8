//! rxgate's interoperability core: the FHIR R4 subset it reads and writes ([`fhir`]), drug
//! codes mapped onto the knowledge registry ([`codes`]), intake bundles read into a
//! prescription draft ([`intake`]), resources built from what the server holds
//! ([`output`]), CDS Hooks 2.0 ([`cds`]), the sync pipeline's retry state machine
//! ([`sync`]) and webhook signatures ([`signing`]).
//!
//! Pure: no I/O, clock or randomness. Times, registries and records are passed in; the
//! server (`mcp-server/src/http/fhir.rs`, `cds_hooks.rs`, `sync.rs`) does the rest.

pub mod cds;
pub mod codes;
pub mod fhir;
pub mod intake;
pub mod output;
pub mod signing;
pub mod sync;

use rxgate_checks::verify::{Line, PrescriptionCheck};
use rxgate_units::Number;

/// A draft as the whole-prescription check reads it. Doses or frequencies the checks cannot
/// read are left out of that line (the dose check then says it could not check), never
/// guessed.
pub fn checks_input(draft: &intake::PrescriptionDraft) -> PrescriptionCheck {
    let number = |v: Option<f64>| v.and_then(|v| Number::parse(&format!("{v}")).ok());
    let p = &draft.patient;
    let patient = rxgate_checks::dose::Patient {
        age_days: p.age_days.and_then(|d| Number::parse(&d.to_string()).ok()),
        weight_kg: number(p.weight_kg),
        height_cm: number(p.height_cm),
        sex: match p.sex.as_deref() {
            Some("female") => Some(rxgate_checks::dose::Sex::Female),
            Some("male") => Some(rxgate_checks::dose::Sex::Male),
            _ => None,
        },
        serum_creatinine_umol_l: number(p.serum_creatinine_umol_l),
        egfr_ml_min_1_73m2: number(p.egfr_ml_min_1_73m2),
        ..rxgate_checks::dose::Patient::default()
    };
    let lines = draft
        .lines
        .iter()
        .map(|l| Line {
            line_no: l.line_no,
            drug: l.drug.clone(),
            dose: match (&l.dose_value, &l.dose_unit) {
                (Some(v), Some(u)) => Number::parse(v).ok().map(|n| (n, u.clone())),
                _ => None,
            },
            frequency: l.frequency.as_deref().and_then(|f| rxgate_checks::dose::Frequency::parse(f).ok()),
            route: Some(l.route.clone()),
            duration_days: l.duration_days.and_then(|d| u32::try_from(d).ok()),
        })
        .collect();
    PrescriptionCheck {
        patient,
        allergies: p.allergies.clone(),
        active_medications: p.active_medications.clone(),
        halal_preference: rxgate_checks::halal::Preference::Warn,
        lines,
    }
}
