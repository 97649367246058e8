//! `verify_prescription`: every check on a whole prescription at once.

use rxgate_checks::{halal::Preference, verify};
use rxgate_knowledge::Snapshot;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ToolOutput;
use super::allergy::{AllergyAlertOut, alert};
use super::common::{KnowledgeStamp, Patient, Severity};
use super::ddi::{InteractionOut, interaction, unknown_note};
use super::dose::{DoseCalcOutput, DoseIn, frequency, patient, to_wire as dose_to_wire};
use super::generics::{SuggestionOut, suggestion};
use super::halal::{HalalResultOut, result as halal_result};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ItemIn {
    pub(crate) line_no: u32,
    pub(crate) drug: String,
    pub(crate) dose: Option<DoseIn>,
    pub(crate) frequency: Option<String>,
    pub(crate) route: Option<String>,
    pub(crate) duration_days: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyInput {
    pub(crate) patient: Patient,
    pub(crate) items: Vec<ItemIn>,
    /// YYYY-MM-DD; today by default (halal certificate expiry).
    pub(crate) today: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct DoseWarningOut {
    pub(crate) line_no: u32,
    pub(crate) drug: String,
    /// Present when the dose could be checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) result: Option<DoseCalcOutput>,
    /// Why the dose could not be checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct LineGenericsOut {
    pub(crate) line_no: u32,
    pub(crate) drug: String,
    pub(crate) suggestions: Vec<SuggestionOut>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct LineSummaryOut {
    pub(crate) line_no: u32,
    pub(crate) generic: Option<String>,
    pub(crate) highest_severity: Option<Severity>,
    pub(crate) blocking: bool,
    pub(crate) reasons: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct VerifyOutput {
    pub(crate) ddi_alerts: Vec<InteractionOut>,
    pub(crate) allergy_alerts: Vec<AllergyAlertOut>,
    /// Every line whose dose is not plainly `ok`: out of range, needs adjusting, has no
    /// rule, or could not be checked.
    pub(crate) dose_warnings: Vec<DoseWarningOut>,
    /// Products that are not known to be halal.
    pub(crate) halal_flags: Vec<HalalResultOut>,
    pub(crate) generic_suggestions: Vec<LineGenericsOut>,
    pub(crate) highest_severity: Option<Severity>,
    /// True when any finding forbids dispensing without a pharmacist's decision.
    pub(crate) blocking: bool,
    pub(crate) lines: Vec<LineSummaryOut>,
    pub(crate) unknown: Vec<String>,
    pub(crate) knowledge: KnowledgeStamp,
}

/// Builds the domain request from the wire input; errors name the field.
pub(crate) fn request(input: &VerifyInput) -> Result<verify::PrescriptionCheck, String> {
    if input.items.is_empty() {
        return Err("`items` must hold at least one line".to_string());
    }
    let mut lines = Vec::new();
    for (i, item) in input.items.iter().enumerate() {
        let dose = match &item.dose {
            Some(d) => Some((d.value.parse(&format!("items[{i}].dose.value"))?, d.unit.clone())),
            None => None,
        };
        let frequency = match &item.frequency {
            Some(f) => Some(frequency(Some(f), None).map_err(|e| format!("`items[{i}].frequency`: {e}"))?),
            None => None,
        };
        lines.push(verify::Line {
            line_no: item.line_no,
            drug: item.drug.clone(),
            dose,
            frequency,
            route: item.route.clone(),
            duration_days: item.duration_days,
        });
    }
    Ok(verify::PrescriptionCheck {
        patient: patient(&input.patient)?,
        allergies: input.patient.allergies.clone(),
        active_medications: input.patient.active_medications.clone(),
        halal_preference: input.patient.halal_preference.map_or(Preference::Warn, Preference::from),
        lines,
    })
}

pub(crate) fn to_wire(v: verify::Verification, rx: &verify::PrescriptionCheck, snapshot: &Snapshot) -> VerifyOutput {
    let drug_of =
        |line_no: u32| rx.lines.iter().find(|l| l.line_no == line_no).map(|l| l.drug.clone()).unwrap_or_default();
    VerifyOutput {
        ddi_alerts: v.ddi.interactions.into_iter().map(interaction).collect(),
        allergy_alerts: v.allergy.alerts.into_iter().map(alert).collect(),
        dose_warnings: v
            .doses
            .into_iter()
            .filter(|d| !matches!(&d.result, Ok(r) if r.verdict == rxgate_checks::dose::Verdict::Ok))
            .map(|d| {
                let drug = drug_of(d.line_no);
                match d.result {
                    Ok(r) => DoseWarningOut {
                        line_no: d.line_no,
                        drug,
                        result: Some(dose_to_wire(r, snapshot)),
                        error: None,
                    },
                    Err(e) => DoseWarningOut { line_no: d.line_no, drug, result: None, error: Some(e) },
                }
            })
            .collect(),
        halal_flags: v
            .halal
            .results
            .into_iter()
            .filter(|r| r.status != rxgate_knowledge::HalalStatus::Halal)
            .map(halal_result)
            .collect(),
        generic_suggestions: v
            .generics
            .into_iter()
            .filter(|(_, s)| !s.suggestions.is_empty())
            .map(|(line_no, s)| LineGenericsOut {
                line_no,
                drug: drug_of(line_no),
                suggestions: s.suggestions.into_iter().map(suggestion).collect(),
            })
            .collect(),
        highest_severity: v.highest_severity.map(Into::into),
        blocking: v.blocking,
        lines: v
            .lines
            .into_iter()
            .map(|l| LineSummaryOut {
                line_no: l.line_no,
                generic: l.generic,
                highest_severity: l.highest_severity.map(Into::into),
                blocking: l.blocking,
                reasons: l.reasons,
            })
            .collect(),
        unknown: v.unknown,
        knowledge: KnowledgeStamp::of(snapshot),
    }
}

pub(crate) fn run(snapshot: &Snapshot, input: VerifyInput, today: chrono::NaiveDate) -> Result<ToolOutput, String> {
    let today = match &input.today {
        Some(t) => super::common::parse_date("today", t)?,
        None => today,
    };
    let rx = request(&input)?;
    let v = verify::verify(&snapshot.registry, &rx, today);
    let out = to_wire(v, &rx, snapshot);
    let mut summary = if out.blocking {
        let reasons: Vec<String> =
            out.lines.iter().flat_map(|l| l.reasons.iter().map(move |r| format!("line {}: {r}", l.line_no))).collect();
        format!("BLOCKING — pharmacist decision required: {}.", reasons.join("; "))
    } else {
        "No blocking finding; a pharmacist still approves every line.".to_string()
    };
    summary.push_str(&unknown_note(&out.unknown));
    ToolOutput::new(summary, &out)
}
