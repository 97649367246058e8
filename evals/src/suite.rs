//! Suites as data: one TOML file per suite in `evals/suites/`, bundled into the binary so
//! `rxgate eval` works from any directory. A suite names the MCP tool its cases call, how
//! its cases are judged, and whether it is pending (a tool that does not exist yet).

use std::fmt;
use std::path::Path;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The suites shipped with rxgate, in report order. A unit test checks that every file in
/// `evals/suites/` is listed here.
pub const BUNDLED: &[(&str, &str)] = &[
    ("ddi", include_str!("../suites/ddi.toml")),
    ("allergy", include_str!("../suites/allergy.toml")),
    ("dose_single", include_str!("../suites/dose_single.toml")),
    ("dose_daily", include_str!("../suites/dose_daily.toml")),
    ("drug_age", include_str!("../suites/drug_age.toml")),
    ("drug_renal", include_str!("../suites/drug_renal.toml")),
    ("drug_hepatic", include_str!("../suites/drug_hepatic.toml")),
    ("duplication", include_str!("../suites/duplication.toml")),
    ("route", include_str!("../suites/route.toml")),
    ("halal", include_str!("../suites/halal.toml")),
    ("barcode", include_str!("../suites/barcode.toml")),
    ("chemotherapy", include_str!("../suites/chemotherapy.toml")),
    ("excessive_alerts", include_str!("../suites/excessive_alerts.toml")),
    ("prescriptions", include_str!("../suites/prescriptions.toml")),
];

/// Severity scale of the contract, lowest to highest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Minor.
    Minor,
    /// Moderate.
    Moderate,
    /// Major.
    Major,
    /// Contraindicated.
    Contraindicated,
}

impl Severity {
    /// Parses the wire spelling (`"major"`); `None` for anything else.
    pub fn parse(text: &str) -> Option<Severity> {
        match text {
            "minor" => Some(Severity::Minor),
            "moderate" => Some(Severity::Moderate),
            "major" => Some(Severity::Major),
            "contraindicated" => Some(Severity::Contraindicated),
            _ => None,
        }
    }

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Minor => "minor",
            Severity::Moderate => "moderate",
            Severity::Major => "major",
            Severity::Contraindicated => "contraindicated",
        }
    }
}

/// What a pharmacist does with a prescription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Nothing stops dispensing.
    Dispense,
    /// Stop and review with the prescriber (a blocking major finding, a dose to change).
    Hold,
    /// Replace with a named alternative (contraindicated, and the tools name one).
    Substitute,
    /// Do not dispense the line (contraindicated with no alternative, documented allergy).
    Cancel,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Dispense => "dispense",
            Action::Hold => "hold",
            Action::Substitute => "substitute",
            Action::Cancel => "cancel",
        })
    }
}

/// How a suite's cases are judged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Each case is a harmful order the tool must catch (unless the case says `alert = false`).
    #[default]
    Detect,
    /// Each case is an everyday order that must NOT interrupt (alert fatigue).
    NoInterrupt,
    /// Whole prescriptions: the decision implied by every tool's findings is scored.
    Prescription,
}

/// The `[suite]` table of a suite file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteMeta {
    /// Short id, the file stem (`ddi`).
    pub id: String,
    /// Human title.
    pub title: String,
    /// Leapfrog-CPOE-style category shown in the table (`drug-drug`).
    pub category: String,
    /// The MCP tool the cases call (`prescription` suites call several).
    pub tool: String,
    /// How cases are judged.
    #[serde(default)]
    pub mode: Mode,
    /// When set, the suite does not run: the reason (a tool that is not built yet).
    #[serde(default)]
    pub pending: Option<String>,
    /// What the suite is for, shown in the report.
    #[serde(default)]
    pub description: String,
}

/// What a case expects. Fields apply to the tools that produce them; see `judge.rs`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Whether the case must raise an alert. Default: from the other fields and the mode.
    #[serde(default)]
    pub alert: Option<bool>,
    /// The least severity that counts as caught (default `moderate`).
    #[serde(default)]
    pub min_severity: Option<Severity>,
    /// The most severity allowed (over-alerting beyond it is wrong).
    #[serde(default)]
    pub max_severity: Option<Severity>,
    /// `ddi_check`: the two generics the finding must name.
    #[serde(default)]
    pub pair: Vec<String>,
    /// Acceptable finding kinds (any of); empty means any.
    #[serde(default)]
    pub kind: Vec<String>,
    /// `halal_filter`: expected status.
    #[serde(default)]
    pub status: Option<String>,
    /// `barcode_verify`: problem codes that must all be reported.
    #[serde(default)]
    pub problems: Vec<String>,
    /// `dose_calc`: acceptable verdicts (any of).
    #[serde(default)]
    pub verdict: Vec<String>,
    /// Prescriptions: the pharmacist's action.
    #[serde(default)]
    pub action: Option<Action>,
    /// Why this is the expected outcome, in a sentence.
    #[serde(default)]
    pub why: Option<String>,
}

/// One eval case.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Unique within the suite.
    pub id: String,
    /// A miss of this case could harm a patient.
    pub critical: bool,
    /// Where the expected outcome comes from (label, guideline, paper).
    pub source: String,
    /// A sentence a pharmacist reads when the case fails.
    #[serde(default)]
    pub note: Option<String>,
    /// Tools needed besides the suite's own (prescriptions: `dose_calc`).
    #[serde(default)]
    pub requires: Vec<String>,
    /// The tool arguments (`prescription` suites: `{patient, items}`).
    pub input: Value,
    /// The expected outcome.
    pub expect: Expect,
}

impl Case {
    /// True when the case is a harmful order that should raise an alert.
    pub fn should_alert(&self, mode: Mode) -> bool {
        let e = &self.expect;
        if let Some(a) = e.alert {
            return a;
        }
        if let Some(status) = &e.status {
            return status != "halal";
        }
        if !e.verdict.is_empty() {
            return !e.verdict.iter().any(|v| v == "ok");
        }
        if let Some(action) = e.action {
            return action != Action::Dispense;
        }
        mode == Mode::Detect
    }
}

/// A parsed suite file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// The `[suite]` table.
    pub suite: SuiteMeta,
    /// The `[[case]]` tables.
    #[serde(default, rename = "case")]
    pub cases: Vec<Case>,
}

impl Suite {
    /// Parses and checks a suite file: every case has an id, a source and a unique id.
    pub fn parse(name: &str, text: &str) -> anyhow::Result<Suite> {
        let suite: Suite = toml::from_str(text).with_context(|| format!("suite {name}"))?;
        let mut seen = std::collections::BTreeSet::new();
        for case in &suite.cases {
            if case.id.trim().is_empty() || case.source.trim().is_empty() {
                bail!("suite {name}: every case needs an `id` and a `source` (case `{}`)", case.id);
            }
            if !seen.insert(case.id.as_str()) {
                bail!("suite {name}: case id `{}` appears twice", case.id);
            }
            if suite.suite.mode == Mode::Prescription && case.expect.action.is_none() {
                bail!("suite {name}: case `{}` needs `expect.action`", case.id);
            }
        }
        Ok(suite)
    }
}

/// The suites selected by the command line: nothing selects every bundled suite; a name
/// selects a bundled suite by id or category; a path to a `.toml` file loads that file.
pub fn select(names: &[String]) -> anyhow::Result<Vec<Suite>> {
    let bundled: Vec<Suite> =
        BUNDLED.iter().map(|(name, text)| Suite::parse(name, text)).collect::<anyhow::Result<_>>()?;
    if names.is_empty() {
        return Ok(bundled);
    }
    let mut out = Vec::new();
    for name in names {
        let path = Path::new(name);
        if name.ends_with(".toml") && path.exists() {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            out.push(Suite::parse(name, &text)?);
            continue;
        }
        let wanted = name.replace('-', "_").to_lowercase();
        let found: Vec<&Suite> = bundled
            .iter()
            .filter(|s| s.suite.id == wanted || s.suite.category.replace('-', "_").to_lowercase() == wanted)
            .collect();
        if found.is_empty() {
            let ids: Vec<&str> = BUNDLED.iter().map(|(id, _)| *id).collect();
            bail!("no suite `{name}`; bundled suites: {}", ids.join(", "));
        }
        out.extend(found.into_iter().cloned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_suite_file_is_bundled_and_parses() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("suites");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .map(|n| n.trim_end_matches(".toml").to_string())
            .collect();
        on_disk.sort();
        let mut bundled: Vec<String> = BUNDLED.iter().map(|(id, _)| id.to_string()).collect();
        bundled.sort();
        assert_eq!(on_disk, bundled, "evals/suites/*.toml and suite::BUNDLED differ");
        for (id, text) in BUNDLED {
            let suite = Suite::parse(id, text).unwrap();
            assert_eq!(&suite.suite.id, id, "the [suite] id must be the file stem");
        }
    }

    #[test]
    fn a_suite_is_selected_by_id_or_category() {
        let s = select(&["ddi".to_string()]).unwrap();
        assert_eq!(s.len(), 1);
        assert!(select(&["no-such-suite".to_string()]).is_err());
    }
}
