//! Dose scenarios (`tests/scenarios/dose.toml`): a patient, a prescription, and what a
//! pharmacist expects `dose_calc` to say — the verdict, the range computed for this
//! patient, the flags that explain it, and the patient data it had to ask for.

use rxgate_checks::dose::{self, ChildPugh, DoseError, DoseRequest, Frequency, Patient, Sex};
use rxgate_units::Number;
use serde::Deserialize;

use crate::common::{registry, run_cases};

/// A number as written in a scenario: `8`, `7.5` or `"1/3"`.
#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum Num {
    Integer(i64),
    Float(f64),
    Text(String),
}

impl Num {
    fn number(&self) -> Number {
        match self {
            Num::Integer(i) => Number::from(*i),
            Num::Float(f) => rxgate_checks::renal::number_from_f64(*f).expect("finite"),
            Num::Text(t) => Number::parse(t).unwrap_or_else(|e| panic!("`{t}`: {e}")),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PatientCase {
    age_days: Option<Num>,
    age_years: Option<Num>,
    weight_kg: Option<Num>,
    height_cm: Option<Num>,
    sex: Option<String>,
    serum_creatinine_umol_l: Option<Num>,
    egfr_ml_min_1_73m2: Option<Num>,
    crcl_ml_min: Option<Num>,
    child_pugh: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DoseCase {
    name: String,
    drug: String,
    route: String,
    /// `"120 mg"`.
    dose: String,
    frequency: Option<String>,
    doses_per_day: Option<Num>,
    indication: Option<String>,
    #[serde(default)]
    patient: PatientCase,
    /// The expected verdict, or absent when `error` is expected.
    verdict: Option<String>,
    /// `[min, max]` per dose in the prescribed unit; `""` for "no limit".
    per_dose: Option<[String; 2]>,
    per_day: Option<[String; 2]>,
    /// Flags that must be present.
    #[serde(default)]
    flags: Vec<String>,
    /// Flags that must be absent.
    #[serde(default)]
    no_flags: Vec<String>,
    /// Exactly the expected `unknown` list when given.
    unknown: Option<Vec<String>>,
    rule: Option<String>,
    /// A typed error: `unit_mismatch`, `bad_unit`, `unknown_frequency`, `bad_patient`.
    error: Option<String>,
    /// Text the basis must contain.
    basis_contains: Option<String>,
}

#[derive(Deserialize)]
struct DoseFile {
    case: Vec<DoseCase>,
}

fn error_code(e: &DoseError) -> &'static str {
    match e {
        DoseError::BadUnit { .. } => "bad_unit",
        DoseError::BadDose { .. } => "bad_dose",
        DoseError::UnknownFrequency { .. } => "unknown_frequency",
        DoseError::UnitMismatch { .. } => "unit_mismatch",
        DoseError::BadPatient { .. } => "bad_patient",
    }
}

fn request(c: &DoseCase) -> Result<DoseRequest, DoseError> {
    let (value, unit) = c.dose.split_once(' ').unwrap_or_else(|| panic!("{}: dose must be `value unit`", c.name));
    let frequency = match (&c.frequency, &c.doses_per_day) {
        (Some(f), None) => Frequency::parse(f)?,
        (None, Some(n)) => Frequency::doses_per_day(n.number())?,
        _ => panic!("{}: give exactly one of frequency, doses_per_day", c.name),
    };
    let p = &c.patient;
    let num = |n: &Option<Num>| n.as_ref().map(Num::number);
    Ok(DoseRequest {
        drug: c.drug.clone(),
        route: c.route.clone(),
        dose: Number::parse(value).expect("dose value"),
        dose_unit: unit.to_string(),
        frequency,
        indication: c.indication.clone(),
        patient: Patient {
            age_days: num(&p.age_days),
            age_years: num(&p.age_years),
            weight_kg: num(&p.weight_kg),
            height_cm: num(&p.height_cm),
            sex: p.sex.as_deref().map(|s| Sex::parse(s).expect("sex")),
            serum_creatinine_umol_l: num(&p.serum_creatinine_umol_l),
            egfr_ml_min_1_73m2: num(&p.egfr_ml_min_1_73m2),
            crcl_ml_min: num(&p.crcl_ml_min),
            child_pugh: p.child_pugh.as_deref().map(|s| ChildPugh::parse(s).expect("child_pugh")),
        },
    })
}

fn range_matches(found: &Option<dose::DoseRange>, wanted: &[String; 2]) -> bool {
    let side = |n: Option<&Number>, w: &str| match (n, w) {
        (None, "") => true,
        (Some(n), w) if !w.is_empty() => Number::parse(w).is_ok_and(|w| w == *n),
        _ => false,
    };
    match found {
        Some(r) => side(r.min.as_ref(), &wanted[0]) && side(r.max.as_ref(), &wanted[1]),
        None => wanted[0].is_empty() && wanted[1].is_empty(),
    }
}

fn shown(r: &Option<dose::DoseRange>) -> String {
    match r {
        Some(r) => format!(
            "[{}, {}] {}",
            r.min.as_ref().map_or("-".into(), |n| n.to_exact_string()),
            r.max.as_ref().map_or("-".into(), |n| n.to_exact_string()),
            r.unit
        ),
        None => "none".into(),
    }
}

fn check_dose(c: &DoseCase) -> Result<(), String> {
    let result = request(c).and_then(|req| dose::check(registry(), &req));
    let report = match (result, &c.error) {
        (Err(e), Some(code)) if error_code(&e) == code => return Ok(()),
        (Err(e), _) => return Err(format!("error: {e}")),
        (Ok(r), Some(code)) => return Err(format!("expected a {code} error, got verdict {} ({})", r.verdict, r.basis)),
        (Ok(r), None) => r,
    };
    let flags: Vec<&str> = report.flags.iter().map(|f| f.code.as_str()).collect();
    let context = || {
        format!(
            "\n    basis: {}\n    per_dose {} per_day {}\n    flags: {}\n    unknown: {:?}",
            report.basis,
            shown(&report.per_dose),
            shown(&report.per_day),
            report.flags.iter().map(|f| format!("{} ({})", f.code.as_str(), f.message)).collect::<Vec<_>>().join("; "),
            report.unknown
        )
    };
    let wanted = c.verdict.as_deref().ok_or("a case needs `verdict` or `error`")?;
    if report.verdict.as_str() != wanted {
        return Err(format!("verdict {} but expected {wanted}{}", report.verdict, context()));
    }
    if let Some(r) = &c.per_dose
        && !range_matches(&report.per_dose, r)
    {
        return Err(format!("per dose {} but expected {r:?}{}", shown(&report.per_dose), context()));
    }
    if let Some(r) = &c.per_day
        && !range_matches(&report.per_day, r)
    {
        return Err(format!("per day {} but expected {r:?}{}", shown(&report.per_day), context()));
    }
    for f in &c.flags {
        if !flags.contains(&f.as_str()) {
            return Err(format!("flag {f} missing{}", context()));
        }
    }
    for f in &c.no_flags {
        if flags.contains(&f.as_str()) {
            return Err(format!("flag {f} should not be raised{}", context()));
        }
    }
    if let Some(u) = &c.unknown
        && &report.unknown != u
    {
        return Err(format!("unknown {:?} but expected {u:?}{}", report.unknown, context()));
    }
    if let Some(rule) = &c.rule
        && report.rule.as_deref() != Some(rule.as_str())
    {
        return Err(format!("rule {:?} but expected {rule}{}", report.rule, context()));
    }
    if let Some(text) = &c.basis_contains
        && !report.basis.contains(text.as_str())
    {
        return Err(format!("basis should contain `{text}`{}", context()));
    }
    // AC-5.2: an overdose or underdose always says which limit it broke.
    let explains = |codes: &[&str]| codes.iter().any(|c| flags.contains(c));
    match report.verdict.as_str() {
        "overdose" if !explains(&["above_max_per_dose", "above_max_per_day", "interval_too_short"]) => {
            return Err(format!("overdose without a limit flag{}", context()));
        }
        "underdose" if !explains(&["below_min_per_dose", "below_min_per_day"]) => {
            return Err(format!("underdose without a limit flag{}", context()));
        }
        _ => {}
    }
    if report.verdict.as_str() != "no_rule" && report.sources.is_empty() {
        return Err(format!("a verdict without sources{}", context()));
    }
    Ok(())
}

#[test]
fn dose_scenarios() {
    let file: DoseFile = toml::from_str(include_str!("../scenarios/dose.toml")).expect("dose.toml parses");
    run_cases(&file.case, |c| &c.name, check_dose);
}

#[test]
fn dose_rules_have_the_promised_breadth() {
    let rules = registry().dose_rules();
    let mut paediatric = std::collections::BTreeSet::new();
    let mut renal = std::collections::BTreeSet::new();
    let mut hepatic = std::collections::BTreeSet::new();
    let eighteen = Number::from(18 * 1461 / 4);
    for r in &rules.doses {
        let for_children = r.ages.is_empty() || r.ages.iter().any(|a| a.from_days < eighteen);
        let per_kg = [&r.per_dose, &r.per_day]
            .iter()
            .any(|l| l.as_ref().is_some_and(|l| l.basis != rxgate_knowledge::DoseBasis::Fixed));
        if for_children && per_kg && r.avoid.is_none() {
            paediatric.insert(r.generic);
        }
    }
    for r in &rules.renal {
        renal.insert(r.generic);
    }
    for r in &rules.hepatic {
        hepatic.insert(r.generic);
    }
    assert!(paediatric.len() >= 60, "{} drugs with paediatric per-kg or per-m² rules", paediatric.len());
    assert!(renal.len() >= 40, "{} drugs with renal rules", renal.len());
    assert!(hepatic.len() >= 5, "{} drugs with hepatic rules", hepatic.len());
}
