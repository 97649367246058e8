//! `allergy_check`.

use rxgate_checks::allergy;
use rxgate_knowledge::Snapshot;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ToolOutput;
use super::common::{KnowledgeStamp, Patient, Severity};
use super::ddi::unknown_note;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AllergyCheckInput {
    pub(crate) drugs: Vec<String>,
    /// Allergies as recorded ("penicillin", "sulfa", "gelatin", "NKDA"…).
    pub(crate) allergies: Option<Vec<String>>,
    /// Used for `allergies` when the list above is absent.
    pub(crate) patient: Option<Patient>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct AllergyAlertOut {
    /// The drug as given.
    pub(crate) drug: String,
    pub(crate) generic: String,
    pub(crate) allergy: String,
    /// `same_drug`, `same_class`, `cross_reactive` or `excipient`.
    pub(crate) kind: String,
    pub(crate) severity: Severity,
    pub(crate) rate_percent: Option<f64>,
    pub(crate) note: String,
    pub(crate) sources: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct AllergyCheckOutput {
    pub(crate) alerts: Vec<AllergyAlertOut>,
    /// Drugs or allergies the registry does not know; they were NOT checked.
    pub(crate) unknown: Vec<String>,
    pub(crate) knowledge: KnowledgeStamp,
}

pub(crate) fn alert(a: allergy::AllergyAlert) -> AllergyAlertOut {
    AllergyAlertOut {
        drug: a.drug,
        generic: a.generic,
        allergy: a.allergy,
        kind: a.kind.as_str().to_string(),
        severity: a.severity.into(),
        rate_percent: a.rate_percent,
        note: a.note,
        sources: a.sources,
    }
}

pub(crate) fn run(snapshot: &Snapshot, input: AllergyCheckInput) -> Result<ToolOutput, String> {
    if input.drugs.is_empty() {
        return Err("`drugs` must name at least one drug".to_string());
    }
    let allergies = match (input.allergies, input.patient) {
        (Some(a), _) => a,
        (None, Some(p)) => p.allergies,
        (None, None) => {
            return Err("give `allergies` (a list, may be [\"NKDA\"]) or a `patient` with `allergies`".to_string());
        }
    };
    let report = allergy::check(&snapshot.registry, &allergy::AllergyRequest { drugs: input.drugs, allergies });
    let out = AllergyCheckOutput {
        alerts: report.alerts.into_iter().map(alert).collect(),
        unknown: report.unknown,
        knowledge: KnowledgeStamp::of(snapshot),
    };
    let mut summary = match out.alerts.first() {
        None => "No allergy alerts for the recognised drugs and allergies.".to_string(),
        Some(top) => format!(
            "{} alert(s); highest {}: {} with recorded allergy `{}` ({}).",
            out.alerts.len(),
            top.severity.as_str(),
            top.generic,
            top.allergy,
            top.kind
        ),
    };
    summary.push_str(&unknown_note(&out.unknown));
    ToolOutput::new(summary, &out)
}
