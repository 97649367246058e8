//! `ddi_check`.

use rxgate_checks::ddi;
use rxgate_knowledge::Snapshot;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{KnowledgeStamp, Patient, Severity};
use super::{ToolOutput, join_names};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DdiCheckInput {
    /// Drugs being prescribed: generic (INN), brand, product code or GTIN.
    pub(crate) drugs: Vec<String>,
    /// The patient; `active_medications` are checked against `drugs` too.
    pub(crate) patient: Option<Patient>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct OtherMechanismOut {
    pub(crate) rule: String,
    pub(crate) severity: Severity,
    pub(crate) mechanism: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct InteractionOut {
    /// Resolved generic names (INN).
    pub(crate) drugs: Vec<String>,
    pub(crate) severity: Severity,
    pub(crate) mechanism: String,
    pub(crate) effect: String,
    pub(crate) management: String,
    /// Generics for the same indication without this interaction.
    pub(crate) alternatives: Vec<String>,
    pub(crate) sources: Vec<String>,
    /// `curated`, `inferred`, `group` or `duplication`.
    pub(crate) kind: String,
    /// The rule or curated entry that produced the finding.
    pub(crate) rule: String,
    /// False when published work classes the pair as not worth interrupting for.
    pub(crate) interruptive: bool,
    pub(crate) involves_active_medication: bool,
    /// The names as given in the request.
    pub(crate) inputs: Vec<String>,
    pub(crate) other_mechanisms: Vec<OtherMechanismOut>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct DdiCheckOutput {
    pub(crate) interactions: Vec<InteractionOut>,
    pub(crate) highest_severity: Option<Severity>,
    /// Inputs the knowledge registry does not know; they were NOT checked.
    pub(crate) unknown: Vec<String>,
    pub(crate) knowledge: KnowledgeStamp,
}

pub(crate) fn to_wire(report: ddi::DdiReport, snapshot: &Snapshot) -> DdiCheckOutput {
    DdiCheckOutput {
        interactions: report.interactions.into_iter().map(interaction).collect(),
        highest_severity: report.highest_severity.map(Into::into),
        unknown: report.unknown,
        knowledge: KnowledgeStamp::of(snapshot),
    }
}

pub(crate) fn interaction(i: ddi::Interaction) -> InteractionOut {
    InteractionOut {
        drugs: i.drugs,
        severity: i.severity.into(),
        mechanism: i.mechanism,
        effect: i.effect,
        management: i.management,
        alternatives: i.alternatives,
        sources: i.sources,
        kind: i.kind.as_str().to_string(),
        rule: i.rule,
        interruptive: i.interruptive,
        involves_active_medication: i.involves_active_medication,
        inputs: i.inputs,
        other_mechanisms: i
            .other_mechanisms
            .into_iter()
            .map(|o| OtherMechanismOut { rule: o.rule, severity: o.severity.into(), mechanism: o.mechanism })
            .collect(),
    }
}

pub(crate) fn run(snapshot: &Snapshot, input: DdiCheckInput) -> Result<ToolOutput, String> {
    if input.drugs.is_empty() {
        return Err("`drugs` must name at least one drug".to_string());
    }
    let request = ddi::DdiRequest {
        drugs: input.drugs,
        active_medications: input.patient.map(|p| p.active_medications).unwrap_or_default(),
    };
    let out = to_wire(ddi::check(&snapshot.registry, &request), snapshot);
    let mut summary = match out.interactions.first() {
        None => "No interactions found between the recognised drugs.".to_string(),
        Some(top) => format!(
            "{} finding(s); highest {}: {} ({}).",
            out.interactions.len(),
            top.severity.as_str(),
            top.drugs.join(" + "),
            top.mechanism
        ),
    };
    summary.push_str(&unknown_note(&out.unknown));
    ToolOutput::new(summary, &out)
}

/// The sentence that says which inputs were not checked. Empty when all were.
pub(crate) fn unknown_note(unknown: &[String]) -> String {
    if unknown.is_empty() {
        String::new()
    } else {
        format!(" NOT CHECKED (unknown to the registry): {}.", join_names(unknown))
    }
}
