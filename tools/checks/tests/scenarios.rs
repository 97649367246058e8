//! Clinical scenarios, written as data in `tests/scenarios/*.toml`, run against the bundled
//! knowledge registry. A failure names the scenario as a pharmacist would describe it.

mod common;

use common::{registry, run_cases, severity};
use rxgate_checks::{allergy, ddi};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DdiCase {
    name: String,
    drugs: Vec<String>,
    #[serde(default)]
    active: Vec<String>,
    pair: Option<[String; 2]>,
    group: Option<Vec<String>>,
    min_severity: Option<String>,
    max_severity: Option<String>,
    #[serde(default)]
    alternatives_include: Vec<String>,
}

#[derive(Deserialize)]
struct DdiFile {
    case: Vec<DdiCase>,
}

fn check_ddi(c: &DdiCase) -> Result<(), String> {
    let report =
        ddi::check(registry(), &ddi::DdiRequest { drugs: c.drugs.clone(), active_medications: c.active.clone() });
    if !report.unknown.is_empty() {
        return Err(format!("names not recognised: {:?}", report.unknown));
    }
    let describe = || {
        report
            .interactions
            .iter()
            .map(|i| format!("{:?} {} ({})", i.drugs, i.severity, i.rule))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let wanted: Option<Vec<String>> = match (&c.pair, &c.group) {
        (Some(p), _) => Some(p.to_vec()),
        (None, Some(g)) => Some(g.clone()),
        _ => None,
    };
    if let Some(mut wanted) = wanted {
        wanted.sort();
        let min = c.min_severity.as_deref().and_then(severity).ok_or("a pair case needs min_severity")?;
        // The most severe finding for exactly these drugs, whatever produced it.
        let found = report
            .interactions
            .iter()
            .filter(|i| {
                let mut d = i.drugs.clone();
                d.sort();
                d == wanted
            })
            .max_by_key(|i| i.severity);
        let Some(found) = found else { return Err(format!("no finding for {wanted:?}; got: [{}]", describe())) };
        if found.severity < min {
            return Err(format!("{wanted:?} is {} but must be at least {min}: {}", found.severity, found.mechanism));
        }
        if found.sources.is_empty() {
            return Err(format!("{wanted:?} has no sources"));
        }
        for alt in &c.alternatives_include {
            if !found.alternatives.contains(alt) {
                return Err(format!("alternatives {:?} should include {alt}", found.alternatives));
            }
        }
    }
    if let Some(max) = &c.max_severity {
        let highest = report.highest_severity;
        if highest > severity(max) {
            return Err(format!("nothing should exceed {max}, got: [{}]", describe()));
        }
    }
    Ok(())
}

#[test]
fn drug_interaction_scenarios() {
    let file: DdiFile = toml::from_str(include_str!("scenarios/ddi.toml")).expect("ddi.toml parses");
    run_cases(&file.case, |c| &c.name, check_ddi);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedAlert {
    drug: String,
    kind: String,
    min_severity: String,
    max_severity: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AllergyCase {
    name: String,
    drugs: Vec<String>,
    allergies: Vec<String>,
    #[serde(default)]
    expect: Vec<ExpectedAlert>,
    #[serde(default)]
    none: bool,
    max_severity: Option<String>,
    #[serde(default)]
    unknown: Vec<String>,
}

#[derive(Deserialize)]
struct AllergyFile {
    case: Vec<AllergyCase>,
}

fn check_allergy(c: &AllergyCase) -> Result<(), String> {
    let report =
        allergy::check(registry(), &allergy::AllergyRequest { drugs: c.drugs.clone(), allergies: c.allergies.clone() });
    let describe = || {
        report
            .alerts
            .iter()
            .map(|a| format!("{} {} {} ({})", a.generic, a.kind.as_str(), a.severity, a.note))
            .collect::<Vec<_>>()
            .join("; ")
    };
    if report.unknown != c.unknown {
        return Err(format!("unknown should be {:?}, got {:?}", c.unknown, report.unknown));
    }
    if c.none && !report.alerts.is_empty() {
        return Err(format!("expected no alert, got: [{}]", describe()));
    }
    if let Some(max) = &c.max_severity {
        if report.alerts.iter().map(|a| a.severity).max() > severity(max) {
            return Err(format!("nothing should exceed {max}, got: [{}]", describe()));
        }
    }
    for e in &c.expect {
        let found = report.alerts.iter().find(|a| a.generic == e.drug && a.kind.as_str() == e.kind);
        let Some(found) = found else {
            return Err(format!("expected {} {} alert, got: [{}]", e.drug, e.kind, describe()));
        };
        if Some(found.severity) < severity(&e.min_severity) {
            return Err(format!("{} {} is {} but must be at least {}", e.drug, e.kind, found.severity, e.min_severity));
        }
        if let Some(max) = &e.max_severity {
            if Some(found.severity) > severity(max) {
                return Err(format!("{} {} is {} but must be at most {max}", e.drug, e.kind, found.severity));
            }
        }
        if found.sources.is_empty() {
            return Err(format!("{} {} alert has no sources", e.drug, e.kind));
        }
    }
    Ok(())
}

#[test]
fn allergy_scenarios() {
    let file: AllergyFile = toml::from_str(include_str!("scenarios/allergy.toml")).expect("allergy.toml parses");
    run_cases(&file.case, |c| &c.name, check_allergy);
}
