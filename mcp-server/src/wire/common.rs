//! Shapes shared by every tool: the patient, quantities, the knowledge stamp.

use rxgate_knowledge::Snapshot;
use rxgate_units::Number;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The patient, as far as the caller knows it. Every field is optional; a tool that needs
/// a field it did not get says so in `unknown` or in its error.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Patient {
    pub(crate) age_days: Option<f64>,
    pub(crate) age_years: Option<f64>,
    pub(crate) weight_kg: Option<f64>,
    pub(crate) height_cm: Option<f64>,
    pub(crate) sex: Option<Sex>,
    pub(crate) serum_creatinine_umol_l: Option<f64>,
    pub(crate) egfr_ml_min_1_73m2: Option<f64>,
    pub(crate) crcl_ml_min: Option<f64>,
    pub(crate) child_pugh: Option<ChildPugh>,
    pub(crate) pregnant: Option<bool>,
    #[serde(default)]
    pub(crate) allergies: Vec<String>,
    #[serde(default)]
    pub(crate) active_medications: Vec<String>,
    pub(crate) halal_preference: Option<HalalPreference>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Sex {
    Female,
    Male,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub(crate) enum ChildPugh {
    A,
    B,
    C,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum HalalPreference {
    HalalOnly,
    Warn,
    None,
}

impl From<HalalPreference> for rxgate_checks::halal::Preference {
    fn from(p: HalalPreference) -> Self {
        match p {
            HalalPreference::HalalOnly => rxgate_checks::halal::Preference::HalalOnly,
            HalalPreference::Warn => rxgate_checks::halal::Preference::Warn,
            HalalPreference::None => rxgate_checks::halal::Preference::None,
        }
    }
}

/// Which knowledge produced a result: every tool result carries it so a finding can be
/// traced to the exact registry content.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub(crate) struct KnowledgeStamp {
    pub(crate) version: String,
    /// SHA-256 of the registry files.
    pub(crate) hash: String,
}

impl KnowledgeStamp {
    pub(crate) fn of(snapshot: &Snapshot) -> KnowledgeStamp {
        KnowledgeStamp { version: snapshot.version.clone(), hash: snapshot.hash.clone() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Severity {
    Minor,
    Moderate,
    Major,
    Contraindicated,
}

impl From<rxgate_knowledge::Severity> for Severity {
    fn from(s: rxgate_knowledge::Severity) -> Self {
        match s {
            rxgate_knowledge::Severity::Minor => Severity::Minor,
            rxgate_knowledge::Severity::Moderate => Severity::Moderate,
            rxgate_knowledge::Severity::Major => Severity::Major,
            rxgate_knowledge::Severity::Contraindicated => Severity::Contraindicated,
        }
    }
}

impl Severity {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Severity::Minor => "minor",
            Severity::Moderate => "moderate",
            Severity::Major => "major",
            Severity::Contraindicated => "contraindicated",
        }
    }
}

/// `YYYY-MM-DD`, parsed with a message a person can act on.
pub(crate) fn parse_date(field: &str, text: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("`{field}` must be a date written YYYY-MM-DD, got `{text}`"))
}

/// A number as a JSON number (`0.5`) or an exact string (`"1/3"`, `"0.1"`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum NumberIn {
    Number(serde_json::Number),
    Text(String),
}

impl NumberIn {
    pub(crate) fn parse(&self, field: &str) -> Result<Number, String> {
        // A JSON number is read through its shortest decimal form, so 0.1 means exactly 1/10.
        let text = match self {
            NumberIn::Number(n) => n.to_string(),
            NumberIn::Text(t) => t.clone(),
        };
        Number::parse(&text).map_err(|e| format!("`{field}`: `{text}` is not a number: {e}"))
    }
}
