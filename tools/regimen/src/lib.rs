//! `rxgate-regimen`: chemotherapy regimens as readable, sourced data, and the rules that keep
//! them safe at the bedside.
//!
//! - [`compile`] reads regimen files (TOML) or the contract's inline `definition` (JSON) into a
//!   [`Regimen`], checking every drug against the formulary and every required supportive step
//!   (hydration, premedication) against [`Rules`]; problems come back as
//!   `file:line:column: rule: message`, like the knowledge registry's.
//! - [`evaluate`] doses one day of one cycle for one patient: BSA (Mosteller or DuBois), Calvert
//!   carboplatin with the GFR cap, mg/kg and age-banded paediatric doses, caps, dose
//!   modifications; lab and renal holds; cumulative anthracycline; re-approval after a change of
//!   weight or creatinine; and the never-events that no one can override.
//! - [`workflow`] is the two-person verification, override and hold/block life cycle of one
//!   chemotherapy order; every step returns its audit events. [`devices`] holds the gravimetric
//!   check, the BCMA match and the smart-pump profile; [`pn`] the neonatal parenteral-nutrition
//!   checks.
//!
//! Invariants: pure (no I/O, clock or randomness: dates and times are passed in); doses are
//! exact rationals from the regimen's numbers, the patient's numbers and the BSA rounded to
//! 0.01 m² (the square root is the only inexact step, and it is rounded the way a prescriber
//! would); a hard stop is never cleared by any override or signature.

mod bsa;
mod bundled;
mod compile;
pub mod devices;
mod evaluate;
mod model;
mod num;
pub mod pn;
mod rules;
pub mod workflow;

pub use bsa::{BsaFormula, body_surface_area};
pub use bundled::{bundled_regimen_files, bundled_rules_text};
pub use compile::{CompileOutput, compile, compile_definition_json, compile_files};
pub use evaluate::{
    Approval, AuditEvent, CumulativeDose, DoseLine, EvalRequest, Evaluation, Finding, LabValue, Order, Patient, Sex,
    evaluate,
};
pub use model::{
    AgeBand, Comparator, Container, DoseMethod, DoseModification, DoseSpec, DrugStep, HoldRule, LabCondition,
    OverrideRole, Population, Regimen, Route, SupportKind, SupportiveStep, WeightBand,
};
pub use num::{Q, format_decimal, parse_q};
pub use rules::{Rules, SupportRequirement, load_rules};

/// The registry of regimens in force: every bundled regimen compiled against one knowledge
/// snapshot. Built once per snapshot by the server.
#[derive(Debug, Clone)]
pub struct RegimenLibrary {
    pub rules: Rules,
    pub regimens: Vec<Regimen>,
}

impl RegimenLibrary {
    /// Compiles the bundled rules and regimens. An error here is a bug in shipped data, which
    /// the crate's tests catch.
    pub fn bundled(registry: &rxgate_knowledge::Registry) -> Result<RegimenLibrary, Vec<rxgate_knowledge::Diagnostic>> {
        let rules = load_rules(bundled_rules_text(), registry)?;
        let files = bundled_regimen_files();
        let regimens = compile_files(&files, registry, &rules)?;
        Ok(RegimenLibrary { rules, regimens })
    }

    /// A regimen by id or alias, case-insensitively (`CHOP` finds `CHOP-21`).
    pub fn find(&self, id: &str) -> Option<&Regimen> {
        // Punctuation and case do not distinguish regimens: `CHOP 21` is `chop-21`.
        let norm = |s: &str| s.chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_lowercase();
        let key = norm(id);
        self.regimens
            .iter()
            .find(|r| norm(&r.id) == key)
            .or_else(|| self.regimens.iter().find(|r| r.aliases.iter().any(|a| norm(a) == key)))
    }
}
