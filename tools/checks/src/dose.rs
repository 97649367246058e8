//! Dose checking (`dose_calc`): the dose range a rule of the knowledge registry gives for
//! this patient — by age band, weight (mg/kg), body surface (mg/m², Mosteller), with
//! absolute maxima — adjusted for kidney function (Cockcroft–Gault, bedside Schwartz,
//! CKD-EPI 2021) and Child–Pugh class, compared exactly with the prescribed dose.
//!
//! Arithmetic is exact ([`Number`]); comparisons have no tolerance. The only roundings are
//! the kidney-function and BSA estimates documented in [`crate::renal`].
//!
//! Never a silent "safe": an unknown drug or route is returned in `unknown` with verdict
//! `no_rule`; a drug without a rule for this route or patient is `no_rule` with a flag
//! that says why; missing patient data that a rule needs is named in `unknown`, and an
//! absolute maximum is still enforced without it. A dose in a unit that cannot be compared
//! with the rule (mL against mg, with no concentration) is a [`DoseError`], not a verdict.

use std::fmt;

use rxgate_knowledge::{
    AdjustAction, DoseBasis, DoseLimits, DoseRule, HepaticRule, Registry, RenalMeasure, RenalRule, SourceId,
    days_per_year, dose_unit_basis, normalise_name, normalise_route,
};
use rxgate_units::{Number, Quantity, Unit};

pub use crate::renal::Sex;
use crate::renal::{ckd_epi_2021, cockcroft_gault, mosteller_bsa, schwartz_bedside, years_from_days};
pub use rxgate_knowledge::ChildPugh;

// ---- input ---------------------------------------------------------------------------------

/// The patient fields dosing may need; every field is optional and the report says which
/// were needed and missing. Numbers are exact; see [`crate::renal::number_from_f64`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Patient {
    pub age_days: Option<Number>,
    pub age_years: Option<Number>,
    pub weight_kg: Option<Number>,
    pub height_cm: Option<Number>,
    pub sex: Option<Sex>,
    pub serum_creatinine_umol_l: Option<Number>,
    pub egfr_ml_min_1_73m2: Option<Number>,
    pub crcl_ml_min: Option<Number>,
    pub child_pugh: Option<ChildPugh>,
}

/// How often the dose is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frequency {
    /// Regular doses: `q6h`, `tds`, `od`, `weekly`, or a number of doses per day.
    Regular { doses_per_day: Number, label: String },
    /// One dose only (`stat`, `once`).
    Once,
    /// As needed. With a minimum interval (`q4h prn`) the daily total is checked as if
    /// every permitted dose were given; without one it cannot be checked.
    AsNeeded { min_interval_h: Option<Number> },
}

impl Frequency {
    /// Reads the usual prescription abbreviations: `q4h` … `q72h`, `od`, `bd`, `tds`, `qds`,
    /// `qid`, `tid`, `bid`, `daily`, `nocte`, `mane`, `weekly`, `5 times daily`, `stat`,
    /// `once`, `prn`, `q4-6h prn` (the shorter interval counts).
    pub fn parse(text: &str) -> Result<Frequency, DoseError> {
        let bad = || DoseError::UnknownFrequency { text: text.to_string() };
        let key = text.trim().to_lowercase().replace(['.', '_'], "");
        let words: Vec<&str> = key.split_whitespace().collect();
        let prn = words.iter().any(|w| *w == "prn" || *w == "sos" || *w == "when required");
        let rest: Vec<&str> = words.iter().copied().filter(|w| *w != "prn" && *w != "sos").collect();
        let core = rest.join(" ");
        if core.is_empty() {
            return if prn { Ok(Frequency::AsNeeded { min_interval_h: None }) } else { Err(bad()) };
        }
        let per_day = |n: i64| Number::from(n);
        let named = match core.as_str() {
            "stat" | "once" | "single dose" | "one dose" | "x1" => {
                return if prn { Err(bad()) } else { Ok(Frequency::Once) };
            }
            "od" | "qd" | "daily" | "once daily" | "once a day" | "nocte" | "mane" | "on" | "om" | "q24h" => {
                Some(per_day(1))
            }
            "bd" | "bid" | "twice daily" | "twice a day" | "q12h" => Some(per_day(2)),
            "tds" | "tid" | "three times daily" | "three times a day" | "q8h" => Some(per_day(3)),
            "qds" | "qid" | "four times daily" | "four times a day" | "q6h" => Some(per_day(4)),
            "weekly" | "once weekly" | "once a week" | "qw" | "q1w" | "q7d" => Number::from_fraction(1, 7),
            _ => None,
        };
        let doses_per_day = match named {
            Some(n) => n,
            None => {
                if let Some(hours) = core.strip_prefix('q').and_then(|h| h.strip_suffix('h')) {
                    // q4-6h: the shorter interval is the most that may be given.
                    let shortest = hours.split('-').next().unwrap_or(hours);
                    let hours = Number::parse(shortest).map_err(|_| bad())?;
                    if hours.is_zero() || hours.is_negative() {
                        return Err(bad());
                    }
                    Number::from(Number::from(24).as_ratio() / hours.as_ratio())
                } else if let Some(times) = core
                    .strip_suffix(" times daily")
                    .or_else(|| core.strip_suffix(" times a day"))
                    .or_else(|| core.strip_suffix("x daily"))
                    .or_else(|| core.strip_suffix(" x daily"))
                    .or_else(|| core.strip_suffix("x/d"))
                {
                    let n = Number::parse(times.trim()).map_err(|_| bad())?;
                    if n.is_zero() || n.is_negative() {
                        return Err(bad());
                    }
                    n
                } else {
                    return Err(bad());
                }
            }
        };
        if prn {
            let interval = Number::from(Number::from(24).as_ratio() / doses_per_day.as_ratio());
            return Ok(Frequency::AsNeeded { min_interval_h: Some(interval) });
        }
        Ok(Frequency::Regular { doses_per_day, label: text.trim().to_string() })
    }

    /// A number of doses per day, as the contract's `doses_per_day`.
    pub fn doses_per_day(n: Number) -> Result<Frequency, DoseError> {
        if n.is_zero() || n.is_negative() {
            return Err(DoseError::UnknownFrequency { text: format!("{n} doses per day") });
        }
        Ok(Frequency::Regular { label: format!("{} doses a day", show(&n)), doses_per_day: n })
    }

    /// Doses in a day when given as often as allowed; `None` when it cannot be known.
    fn daily_count(&self) -> Option<Number> {
        match self {
            Frequency::Regular { doses_per_day, .. } => Some(doses_per_day.clone()),
            Frequency::Once => Some(Number::one()),
            Frequency::AsNeeded { min_interval_h } => {
                min_interval_h.as_ref().map(|h| Number::from(Number::from(24).as_ratio() / h.as_ratio()))
            }
        }
    }

    /// Hours between doses; `None` for a single dose or an open `prn`.
    fn interval_h(&self) -> Option<Number> {
        match self {
            Frequency::Regular { doses_per_day, .. } => {
                Some(Number::from(Number::from(24).as_ratio() / doses_per_day.as_ratio()))
            }
            Frequency::Once => None,
            Frequency::AsNeeded { min_interval_h } => min_interval_h.clone(),
        }
    }

    fn describe(&self) -> String {
        match self {
            Frequency::Regular { label, .. } => label.clone(),
            Frequency::Once => "once".to_string(),
            Frequency::AsNeeded { min_interval_h: Some(h) } => format!("every {} h when required", show(h)),
            Frequency::AsNeeded { min_interval_h: None } => "when required".to_string(),
        }
    }
}

/// A dose check request, as the `dose_calc` tool receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct DoseRequest {
    /// Generic, synonym, brand or product code.
    pub drug: String,
    pub route: String,
    /// The prescribed amount per administration.
    pub dose: Number,
    /// Its UCUM unit (`mg`, `g`, `ug`, `[iU]`; `mg/kg` is multiplied by the weight).
    pub dose_unit: String,
    pub frequency: Frequency,
    pub indication: Option<String>,
    pub patient: Patient,
}

/// A request that cannot be checked as given: the server turns it into an MCP tool error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DoseError {
    /// The dose unit is not UCUM (`milligrams`).
    BadUnit { unit: String, message: String },
    /// The dose is zero or negative.
    BadDose { message: String },
    /// The frequency is not understood.
    UnknownFrequency { text: String },
    /// The dose's unit cannot be compared with the rule's (`mL` against `mg` without a
    /// concentration).
    UnitMismatch { prescribed: String, rule_unit: String, rule: String },
    /// A patient value that cannot be right (weight 0, negative age).
    BadPatient { field: &'static str, message: String },
}

impl fmt::Display for DoseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DoseError::BadUnit { unit, message } => write!(f, "dose.unit `{unit}` is not a UCUM unit: {message}"),
            DoseError::BadDose { message } => write!(f, "dose.value: {message}"),
            DoseError::UnknownFrequency { text } => write!(
                f,
                "frequency `{text}` is not understood; use q4h, q6h, q8h, q12h, q24h, od, bd, tds, qds, weekly, stat, prn, or give doses_per_day"
            ),
            DoseError::UnitMismatch { prescribed, rule_unit, rule } => write!(
                f,
                "dose in `{prescribed}` cannot be checked against rule `{rule}`, which is written in `{rule_unit}`; give the dose as an amount of drug (e.g. mg) — a volume needs the product's concentration"
            ),
            DoseError::BadPatient { field, message } => write!(f, "patient.{field}: {message}"),
        }
    }
}

impl std::error::Error for DoseError {}

// ---- output --------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    Ok,
    /// No rule could be applied: none exists for this drug, route or patient, or the
    /// patient data it needs is missing (see `flags` and `unknown`).
    NoRule,
    Underdose,
    /// The dose must change for renal or hepatic function; a flag says how.
    Adjust,
    Overdose,
    Contraindicated,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::NoRule => "no_rule",
            Verdict::Underdose => "underdose",
            Verdict::Adjust => "adjust",
            Verdict::Overdose => "overdose",
            Verdict::Contraindicated => "contraindicated",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a verdict was given, or what a pharmacist should know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlagCode {
    AboveMaxPerDose,
    AboveMaxPerDay,
    BelowMinPerDose,
    BelowMinPerDay,
    IntervalTooShort,
    AbsMaxCapped,
    MissingWeight,
    MissingHeight,
    MissingAge,
    RenalAdjust,
    RenalAvoid,
    RenalCaution,
    RenalDoseWithinAdjustedLimit,
    RenalFunctionUnknown,
    RenalFunctionEstimated,
    HepaticAdjust,
    HepaticAvoid,
    HepaticCaution,
    HepaticDoseWithinAdjustedLimit,
    HepaticFunctionUnknown,
    ContraindicatedForPatient,
    UnknownDrug,
    UnknownRoute,
    NoDoseRule,
    NoRuleForRoute,
    NoRuleForPatient,
    IndicationRequired,
    IndicationNotCovered,
    DailyTotalNotChecked,
    DailyTotalAssumed,
}

impl FlagCode {
    pub fn as_str(self) -> &'static str {
        match self {
            FlagCode::AboveMaxPerDose => "above_max_per_dose",
            FlagCode::AboveMaxPerDay => "above_max_per_day",
            FlagCode::BelowMinPerDose => "below_min_per_dose",
            FlagCode::BelowMinPerDay => "below_min_per_day",
            FlagCode::IntervalTooShort => "interval_too_short",
            FlagCode::AbsMaxCapped => "abs_max_capped",
            FlagCode::MissingWeight => "missing_weight",
            FlagCode::MissingHeight => "missing_height",
            FlagCode::MissingAge => "missing_age",
            FlagCode::RenalAdjust => "renal_adjust",
            FlagCode::RenalAvoid => "renal_avoid",
            FlagCode::RenalCaution => "renal_caution",
            FlagCode::RenalDoseWithinAdjustedLimit => "renal_dose_within_adjusted_limit",
            FlagCode::RenalFunctionUnknown => "renal_function_unknown",
            FlagCode::RenalFunctionEstimated => "renal_function_estimated",
            FlagCode::HepaticAdjust => "hepatic_adjust",
            FlagCode::HepaticAvoid => "hepatic_avoid",
            FlagCode::HepaticCaution => "hepatic_caution",
            FlagCode::HepaticDoseWithinAdjustedLimit => "hepatic_dose_within_adjusted_limit",
            FlagCode::HepaticFunctionUnknown => "hepatic_function_unknown",
            FlagCode::ContraindicatedForPatient => "contraindicated_for_patient",
            FlagCode::UnknownDrug => "unknown_drug",
            FlagCode::UnknownRoute => "unknown_route",
            FlagCode::NoDoseRule => "no_dose_rule",
            FlagCode::NoRuleForRoute => "no_rule_for_route",
            FlagCode::NoRuleForPatient => "no_rule_for_patient",
            FlagCode::IndicationRequired => "indication_required",
            FlagCode::IndicationNotCovered => "indication_not_covered",
            FlagCode::DailyTotalNotChecked => "daily_total_not_checked",
            FlagCode::DailyTotalAssumed => "daily_total_assumed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoseFlag {
    pub code: FlagCode,
    pub message: String,
}

/// A range computed for this patient, in the prescribed unit (per day: that unit per `d`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoseRange {
    pub min: Option<Number>,
    pub max: Option<Number>,
    pub unit: Unit,
}

impl DoseRange {
    fn describe(&self) -> String {
        let u = &self.unit;
        match (&self.min, &self.max) {
            (Some(a), Some(b)) if a == b => format!("{} {u}", show(a)),
            (Some(a), Some(b)) => format!("{}–{} {u}", show(a), show(b)),
            (None, Some(b)) => format!("max {} {u}", show(b)),
            (Some(a), None) => format!("min {} {u}", show(a)),
            (None, None) => format!("no limit in {u}"),
        }
    }
}

/// Kidney function as used for a renal rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenalFunction {
    pub measure: RenalMeasure,
    pub value: Number,
    /// `given`, `cockcroft-gault`, `bedside-schwartz`, `ckd-epi-2021`, or `given-egfr` /
    /// `given-crcl` when the other measure stood in.
    pub method: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoseReport {
    /// The drug as the caller wrote it.
    pub drug: String,
    /// The generic it resolved to.
    pub generic: Option<String>,
    pub verdict: Verdict,
    pub per_dose: Option<DoseRange>,
    pub per_day: Option<DoseRange>,
    /// Which rule and which numbers gave the range.
    pub basis: String,
    pub flags: Vec<DoseFlag>,
    /// Inputs not understood, and patient fields a rule needed (`patient.weight_kg`).
    pub unknown: Vec<String>,
    /// The dose rule applied.
    pub rule: Option<String>,
    /// Renal and hepatic rules applied.
    pub adjustments: Vec<String>,
    /// Citations of every rule used.
    pub sources: Vec<String>,
    /// The prescribed daily total, when it can be known.
    pub prescribed_per_day: Option<Quantity>,
    pub renal_function: Vec<RenalFunction>,
    pub bsa_m2: Option<Number>,
}

impl DoseReport {
    fn new(drug: &str) -> DoseReport {
        DoseReport {
            drug: drug.to_string(),
            generic: None,
            verdict: Verdict::NoRule,
            per_dose: None,
            per_day: None,
            basis: String::new(),
            flags: Vec::new(),
            unknown: Vec::new(),
            rule: None,
            adjustments: Vec::new(),
            sources: Vec::new(),
            prescribed_per_day: None,
            renal_function: Vec::new(),
            bsa_m2: None,
        }
    }

    fn flag(&mut self, code: FlagCode, message: impl Into<String>) {
        self.flags.push(DoseFlag { code, message: message.into() });
    }

    fn need(&mut self, field: &str) {
        if !self.unknown.iter().any(|u| u == field) {
            self.unknown.push(field.to_string());
        }
    }

    fn raise(&mut self, verdict: Verdict) {
        if verdict > self.verdict || self.verdict == Verdict::NoRule {
            self.verdict = verdict;
        }
    }

    fn cite(&mut self, reg: &Registry, ids: &[SourceId]) {
        for c in crate::citations(reg, ids) {
            if !self.sources.contains(&c) {
                self.sources.push(c);
            }
        }
    }
}

// ---- helpers -------------------------------------------------------------------------------

/// An exact number for people: `120`, `7.5`, `≈3.3333`.
fn show(n: &Number) -> String {
    let decimal = n.to_decimal_string(4);
    match Number::parse(&decimal) {
        Ok(back) if back == *n => decimal,
        _ => format!("≈{decimal}"),
    }
}

fn unit(text: &str) -> Unit {
    Unit::parse(text).expect("built-in unit")
}

fn mul(a: &Number, b: &Number) -> Number {
    Number::from(a.as_ratio() * b.as_ratio())
}

fn div(a: &Number, b: &Number) -> Number {
    Number::from(a.as_ratio() / b.as_ratio())
}

fn min_of(a: Option<Number>, b: Option<Number>) -> Option<Number> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if x <= y { x } else { y }),
        (x, None) => x,
        (None, y) => y,
    }
}

fn ids_of(ids: &[SourceId], reg: &Registry) -> String {
    ids.iter().map(|s| reg.source(*s).id.as_str()).collect::<Vec<_>>().join(", ")
}

/// The patient's measurements a rule may multiply by.
struct Body {
    weight_kg: Option<Number>,
    bsa_m2: Option<Number>,
}

/// What a quantity per kg or per m² comes to for this patient, in `target`. `Ok(None)`
/// when the weight or BSA it needs is missing.
fn for_patient(q: &Quantity, target: &Unit, body: &Body, rule: &str) -> Result<Option<Number>, DoseError> {
    let mismatch = || DoseError::UnitMismatch {
        prescribed: target.to_string(),
        rule_unit: q.unit().to_string(),
        rule: rule.to_string(),
    };
    if q.unit().dimension() == target.dimension() {
        return q.convert_to(target).map(|c| Some(c.value().clone())).map_err(|_| mismatch());
    }
    for (per, value) in [("kg", &body.weight_kg), ("m2", &body.bsa_m2)] {
        let per_unit = unit(per);
        if q.unit().multiply(&per_unit).0.dimension() == target.dimension() {
            let Some(v) = value else { return Ok(None) };
            let amount = q.multiply(&Quantity::new(v.clone(), per_unit));
            return amount.convert_to(target).map(|c| Some(c.value().clone())).map_err(|_| mismatch());
        }
    }
    Err(mismatch())
}

/// Limits of one rule for this patient, in the target unit, with the arithmetic shown.
struct Computed {
    range: DoseRange,
    shown: String,
    capped: Option<String>,
}

fn compute(
    limits: &DoseLimits,
    target: &Unit,
    body: &Body,
    rule: &str,
    what: &str,
) -> Result<Option<Computed>, DoseError> {
    let scale = |v: &Number| for_patient(&Quantity::new(v.clone(), limits.unit.clone()), target, body, rule);
    let min = match &limits.min {
        Some(v) => match scale(v)? {
            Some(x) => Some(x),
            None => return Ok(None),
        },
        None => None,
    };
    let max = match &limits.max {
        Some(v) => match scale(v)? {
            Some(x) => Some(x),
            None => return Ok(None),
        },
        None => None,
    };
    let abs = |q: &Option<Quantity>| -> Result<Option<Number>, DoseError> {
        match q {
            Some(q) => for_patient(q, target, body, rule),
            None => Ok(None),
        }
    };
    let abs_max = abs(&limits.abs_max)?;
    let abs_min = abs(&limits.abs_min)?;
    let written = match (&limits.min, &limits.max) {
        (Some(a), Some(b)) => format!("{}–{} {}", show(a), show(b), limits.unit),
        (None, Some(b)) => format!("max {} {}", show(b), limits.unit),
        (Some(a), None) => format!("min {} {}", show(a), limits.unit),
        (None, None) => String::new(),
    };
    let factor = match limits.basis {
        DoseBasis::Fixed => String::new(),
        DoseBasis::Weight => format!(" × {} kg", show(body.weight_kg.as_ref().expect("scaled"))),
        DoseBasis::BodySurface => format!(" × {} m²", show(body.bsa_m2.as_ref().expect("scaled"))),
    };
    let mut range = DoseRange { min, max, unit: target.clone() };
    let before = range.describe();
    let mut capped = None;
    if let Some(cap) = abs_max {
        if range.max.as_ref().is_none_or(|m| *m > cap) {
            if range.max.is_some() {
                capped = Some(format!("{what} capped at the absolute maximum {} {target}", show(&cap)));
            }
            range.max = Some(cap);
        }
        if let (Some(lo), Some(hi)) = (&range.min, &range.max)
            && lo > hi
        {
            range.min = Some(hi.clone());
        }
    }
    if let Some(floor) = abs_min
        && range.min.as_ref().is_none_or(|m| *m < floor)
    {
        range.min = Some(floor);
    }
    let shown = if written.is_empty() {
        range.describe()
    } else if factor.is_empty() && capped.is_none() {
        written
    } else {
        let after = range.describe();
        let mut s = format!("{written}{factor} = {before}");
        if after != before {
            s.push_str(&format!(" → {after}"));
        }
        s
    };
    Ok(Some(Computed { range, shown, capped }))
}

/// The highest amount any of these rules could allow without knowing weight or BSA: the
/// absolute maximum of a per-kg rule, or a fixed rule's maximum. `None` when one of them
/// has no ceiling.
fn ceiling(limits: Option<&DoseLimits>, target: &Unit, rule: &str) -> Result<Option<Number>, DoseError> {
    let Some(l) = limits else { return Ok(None) };
    let body = Body { weight_kg: None, bsa_m2: None };
    let fixed_max = match (&l.max, l.basis) {
        (Some(m), DoseBasis::Fixed) => for_patient(&Quantity::new(m.clone(), l.unit.clone()), target, &body, rule)?,
        _ => None,
    };
    let abs = match &l.abs_max {
        Some(q) => for_patient(q, target, &body, rule)?,
        None => None,
    };
    Ok(min_of(fixed_max, abs))
}

fn matches_indication(rule: &str, given: &str) -> bool {
    let given = normalise_name(given);
    given == rule || given.contains(rule)
}

// ---- the check -----------------------------------------------------------------------------

fn validate(patient: &Patient) -> Result<(), DoseError> {
    let positive = |v: &Option<Number>, field: &'static str| match v {
        Some(n) if n.is_zero() || n.is_negative() => {
            Err(DoseError::BadPatient { field, message: format!("{} must be above zero", show(n)) })
        }
        _ => Ok(()),
    };
    positive(&patient.weight_kg, "weight_kg")?;
    positive(&patient.height_cm, "height_cm")?;
    positive(&patient.serum_creatinine_umol_l, "serum_creatinine_umol_l")?;
    for (v, field) in [
        (&patient.age_days, "age_days"),
        (&patient.age_years, "age_years"),
        (&patient.egfr_ml_min_1_73m2, "egfr_ml_min_1_73m2"),
        (&patient.crcl_ml_min, "crcl_ml_min"),
    ] {
        if let Some(n) = v
            && n.is_negative()
        {
            return Err(DoseError::BadPatient { field, message: format!("{} cannot be negative", show(n)) });
        }
    }
    Ok(())
}

/// Checks a prescribed dose against the registry's rules for this patient.
pub fn check(reg: &Registry, req: &DoseRequest) -> Result<DoseReport, DoseError> {
    validate(&req.patient)?;
    // A frequency built directly (not through `parse`) must still count at least one dose.
    let not_positive = |n: &Number| n.is_zero() || n.is_negative();
    match &req.frequency {
        Frequency::Regular { doses_per_day, label } if not_positive(doses_per_day) => {
            return Err(DoseError::UnknownFrequency { text: label.clone() });
        }
        Frequency::AsNeeded { min_interval_h: Some(h) } if not_positive(h) => {
            return Err(DoseError::UnknownFrequency { text: format!("every {} h", show(h)) });
        }
        _ => {}
    }
    let mut dose_unit = Unit::parse(req.dose_unit.trim())
        .map_err(|e| DoseError::BadUnit { unit: req.dose_unit.clone(), message: e.to_string() })?;
    if req.dose.is_zero() || req.dose.is_negative() {
        return Err(DoseError::BadDose { message: format!("{} must be above zero", show(&req.dose)) });
    }
    let mut out = DoseReport::new(&req.drug);
    let Some(resolved) = reg.resolve(&req.drug) else {
        out.need(&req.drug);
        out.flag(
            FlagCode::UnknownDrug,
            format!("`{}` is not in the knowledge registry: no dose can be checked", req.drug),
        );
        out.basis = format!("`{}` is not a known drug", req.drug);
        return Ok(out);
    };
    let generic = resolved.generic;
    let inn = reg.generic(generic).inn.clone();
    out.generic = Some(inn.clone());
    let Some(route) = normalise_route(&req.route) else {
        out.need(&req.route);
        out.flag(FlagCode::UnknownRoute, format!("route `{}` is not understood", req.route));
        out.basis = format!("route `{}` is not understood", req.route);
        return Ok(out);
    };
    let patient = &req.patient;
    let age_days = patient.age_days.clone().or_else(|| patient.age_years.as_ref().map(|y| mul(y, &days_per_year())));
    let age_years = age_days.as_ref().map(years_from_days);

    let rules = reg.dose_rules();
    let all: Vec<&DoseRule> = rules.doses_of(generic).collect();
    if all.is_empty() {
        out.flag(
            FlagCode::NoDoseRule,
            format!("the registry has no dosing rule for {inn}: check the dose against the product information"),
        );
        out.basis = format!("no dosing rule for {inn}");
        return Ok(out);
    }
    let by_route: Vec<&DoseRule> = all.iter().copied().filter(|r| r.routes.iter().any(|x| x == route)).collect();
    if by_route.is_empty() {
        let mut routes: Vec<&str> = all.iter().flat_map(|r| r.routes.iter().map(String::as_str)).collect();
        routes.sort();
        routes.dedup();
        out.flag(
            FlagCode::NoRuleForRoute,
            format!("no {route} dosing rule for {inn}; rules exist for: {}", routes.join(", ")),
        );
        out.basis = format!("no {route} dosing rule for {inn}");
        return Ok(out);
    }

    // A rule for a named indication applies only when the caller names it.
    let given_indication = req.indication.as_deref().filter(|s| !s.trim().is_empty());
    let for_indication: Vec<&DoseRule> = match given_indication {
        Some(given) => {
            let named: Vec<&DoseRule> = by_route
                .iter()
                .copied()
                .filter(|r| r.indication.as_deref().is_some_and(|i| matches_indication(i, given)))
                .collect();
            if named.is_empty() {
                out.flag(
                    FlagCode::IndicationNotCovered,
                    format!("no rule is specific to `{given}`; the general {route} rule for {inn} was used"),
                );
                by_route.iter().copied().filter(|r| r.indication.is_none()).collect()
            } else {
                named
            }
        }
        None => by_route.iter().copied().filter(|r| r.indication.is_none()).collect(),
    };
    if for_indication.is_empty() {
        let mut named: Vec<&str> = by_route.iter().filter_map(|r| r.indication.as_deref()).collect();
        named.sort();
        named.dedup();
        out.flag(
            FlagCode::IndicationRequired,
            format!("{route} {inn} is dosed by indication; name one of: {}", named.join(", ")),
        );
        out.need("indication");
        out.basis = format!("{route} {inn} needs an indication to choose a rule");
        return Ok(out);
    }

    // The rule whose ages and weights hold this patient.
    let weight = patient.weight_kg.as_ref();
    let definite: Vec<&DoseRule> = for_indication
        .iter()
        .copied()
        .filter(|r| r.covers_age(age_days.as_ref()) == Some(true) && r.covers_weight(weight) == Some(true))
        .collect();
    // A prescribed dose per kg is a dose for this patient's weight.
    let mut dose = Quantity::new(req.dose.clone(), dose_unit.clone());
    if let Some((DoseBasis::Weight, amount)) = dose_unit_basis(&dose_unit, false)
        && dose_unit != amount
    {
        match weight {
            Some(w) => {
                dose = dose.multiply(&Quantity::new(w.clone(), unit("kg")));
                dose_unit = dose.unit().clone();
            }
            None => {
                return Err(DoseError::BadPatient {
                    field: "weight_kg",
                    message: format!("a dose in {} needs the patient's weight", req.dose_unit),
                });
            }
        }
    }
    let day_unit = dose_unit.divide(&unit("d")).0;
    let frequency = &req.frequency;
    let daily_count = frequency.daily_count();
    let per_day_given = daily_count.as_ref().map(|n| Quantity::new(mul(dose.value(), n), day_unit.clone()));
    out.prescribed_per_day = per_day_given.clone();
    match frequency {
        Frequency::AsNeeded { min_interval_h: None } => out.flag(
            FlagCode::DailyTotalNotChecked,
            "as-needed dose without an interval: the daily total cannot be checked; state the minimum interval and a daily maximum",
        ),
        Frequency::AsNeeded { min_interval_h: Some(h) } => out.flag(
            FlagCode::DailyTotalAssumed,
            format!("as-needed every {} h: the daily total is checked as if every permitted dose were given", show(h)),
        ),
        _ => {}
    }

    let Some(rule) = definite.first().copied() else {
        let undetermined: Vec<&DoseRule> = for_indication
            .iter()
            .copied()
            .filter(|r| r.covers_age(age_days.as_ref()) != Some(false) && r.covers_weight(weight) != Some(false))
            .collect();
        if undetermined.is_empty() {
            let who = describe_patient(age_years.as_ref(), weight);
            let mut covered: Vec<String> =
                for_indication.iter().map(|r| format!("{} ({})", r.ages_label(), r.weight)).collect();
            covered.dedup();
            out.flag(
                FlagCode::NoRuleForPatient,
                format!("no {route} rule for {inn} covers this patient ({who}); rules cover: {}", covered.join("; ")),
            );
            out.basis = format!("no {route} rule for {inn} covers {who}");
            return Ok(out);
        }
        if undetermined.iter().any(|r| r.covers_age(age_days.as_ref()).is_none()) {
            out.need("patient.age_years");
            out.flag(
                FlagCode::MissingAge,
                format!("the {route} dose of {inn} depends on age; give age_years or age_days"),
            );
        }
        if undetermined.iter().any(|r| r.covers_weight(weight).is_none()) {
            out.need("patient.weight_kg");
            out.flag(FlagCode::MissingWeight, format!("the {route} dose of {inn} depends on weight; give weight_kg"));
        }
        out.basis = format!(
            "cannot choose among {} rules for {route} {inn} without the patient data above",
            undetermined.len()
        );
        ceiling_check(&mut out, &undetermined, &dose, per_day_given.as_ref(), reg)?;
        return Ok(out);
    };

    out.rule = Some(rule.id.clone());
    out.cite(reg, &rule.sources);
    if let Some(reason) = &rule.avoid {
        out.verdict = Verdict::Contraindicated;
        out.flag(FlagCode::ContraindicatedForPatient, format!("{inn} {route}, {}: {reason}", rule.ages_label()));
        out.basis = format!("{}: avoid — {reason} [{}]", rule.id, ids_of(&rule.sources, reg));
        return Ok(out);
    }

    // Body size.
    let needs = |b: DoseBasis| [&rule.per_dose, &rule.per_day].iter().any(|l| l.as_ref().is_some_and(|l| l.basis == b));
    let mut body = Body { weight_kg: weight.cloned(), bsa_m2: None };
    if needs(DoseBasis::BodySurface) {
        match (&patient.height_cm, weight) {
            (Some(h), Some(w)) => {
                body.bsa_m2 = mosteller_bsa(h, w);
                out.bsa_m2 = body.bsa_m2.clone();
            }
            (h, w) => {
                if h.is_none() {
                    out.need("patient.height_cm");
                    out.flag(
                        FlagCode::MissingHeight,
                        format!("{} is dosed per m²: height is needed for the BSA", rule.id),
                    );
                }
                if w.is_none() {
                    out.need("patient.weight_kg");
                    out.flag(
                        FlagCode::MissingWeight,
                        format!("{} is dosed per m²: weight is needed for the BSA", rule.id),
                    );
                }
            }
        }
    }
    if needs(DoseBasis::Weight) && weight.is_none() {
        out.need("patient.weight_kg");
        out.flag(FlagCode::MissingWeight, format!("{} is dosed per kg: weight is needed", rule.id));
    }

    // Renal and hepatic function first: an `avoid` stands whatever the dose.
    let mut changes: Vec<Change> = Vec::new();
    renal(reg, &mut out, generic, route, rule.indication.as_deref(), patient, age_years.as_ref(), &mut changes);
    hepatic(reg, &mut out, generic, route, patient, &mut changes);
    for c in &changes {
        out.adjustments.push(c.id.clone());
        out.cite(reg, c.sources);
    }

    let per_dose = match &rule.per_dose {
        Some(l) => compute(l, &dose_unit, &body, &rule.id, "per dose")?,
        None => None,
    };
    let per_day = match &rule.per_day {
        Some(l) => compute(l, &day_unit, &body, &rule.id, "per day")?,
        None => None,
    };
    let missing_body = (rule.per_dose.is_some() && per_dose.is_none()) || (rule.per_day.is_some() && per_day.is_none());
    if missing_body {
        out.basis = format!("{}: cannot compute the range without the patient data above", rule.id);
        ceiling_check(&mut out, &[rule], &dose, per_day_given.as_ref(), reg)?;
        apply_avoid(&mut out, &changes);
        return Ok(out);
    }
    let mut basis = vec![];
    let mut dose_range = per_dose.as_ref().map(|c| c.range.clone());
    let day_range = per_day.as_ref().map(|c| c.range.clone());
    if let Some(c) = &per_dose {
        basis.push(format!("{} per dose", c.shown));
    }
    if let Some(c) = &per_day {
        basis.push(format!("{} per day", c.shown));
    }
    for c in per_dose.iter().chain(per_day.iter()) {
        if let Some(msg) = &c.capped {
            out.flag(FlagCode::AbsMaxCapped, msg.clone());
        }
    }
    // A rule written only per day gives the single dose through the frequency.
    if dose_range.is_none()
        && let (Some(day), Some(n)) = (&day_range, &daily_count)
    {
        let r = DoseRange {
            min: day.min.as_ref().map(|m| div(m, n)),
            max: day.max.as_ref().map(|m| div(m, n)),
            unit: dose_unit.clone(),
        };
        basis.push(format!("÷ {} doses a day = {} per dose", show(n), r.describe()));
        dose_range = Some(r);
    }
    if let Some(h) = &rule.min_interval_h {
        basis.push(format!("at least {} h apart", show(h)));
    }
    let normal = Limits { dose: dose_range, day: day_range, interval: rule.min_interval_h.clone() };

    // Adjusted limits.
    let mut adjusted = normal.clone();
    for c in &changes {
        if c.action != AdjustAction::Adjust {
            continue;
        }
        let a = c.adjustment;
        if let Some(f) = &a.factor {
            for r in [adjusted.dose.as_mut(), adjusted.day.as_mut()].into_iter().flatten() {
                r.min = r.min.as_ref().map(|m| mul(m, f));
                r.max = r.max.as_ref().map(|m| mul(m, f));
            }
        }
        if let Some(cap) = &a.per_dose_max
            && let Some(v) = for_patient(cap, &dose_unit, &body, &c.id)?
        {
            cap_range(&mut adjusted.dose, v, &dose_unit);
        }
        if let Some(cap) = &a.per_day_max
            && let Some(v) = for_patient(cap, &day_unit, &body, &c.id)?
        {
            cap_range(&mut adjusted.day, v, &day_unit);
        }
        if let Some(h) = &a.min_interval_h {
            if adjusted.interval.as_ref().is_none_or(|x| x < h) {
                adjusted.interval = Some(h.clone());
            }
            // A longer interval lowers the daily total on purpose: the usual daily minimum
            // no longer says anything about underdosing.
            if let Some(day) = adjusted.day.as_mut() {
                day.min = None;
            }
        }
        basis.push(format!("{}: {}", c.id, describe_adjustment(a)));
    }
    out.per_dose = adjusted.dose.clone();
    out.per_day = adjusted.day.clone();
    out.basis = format!("{}: {} [{}]", rule.id, basis.join("; "), ids_of(&rule.sources, reg));

    // Compare, exactly.
    let given = dose.value();
    let day_given = per_day_given.as_ref().map(|q| q.value().clone());
    let interval = frequency.interval_h();
    let over = Excess::find(&normal, given, day_given.as_ref(), interval.as_ref());
    let over_adjusted = Excess::find(&adjusted, given, day_given.as_ref(), interval.as_ref());
    let shown_dose = format!("{} {}", show(given), dose_unit);
    let shown_day = day_given.as_ref().map(|d| format!("{} {day_unit}", show(d)));
    if over.any() {
        out.raise(Verdict::Overdose);
        if let Some(max) = &over.dose {
            out.flag(
                FlagCode::AboveMaxPerDose,
                format!("{shown_dose} per dose is above the maximum {} {dose_unit} for this patient", show(max)),
            );
        }
        if let Some(max) = &over.day {
            out.flag(
                FlagCode::AboveMaxPerDay,
                format!(
                    "{} a day ({shown_dose} {}) is above the maximum {} {day_unit}",
                    shown_day.clone().unwrap_or_default(),
                    frequency.describe(),
                    show(max)
                ),
            );
        }
        if let Some(h) = &over.interval {
            out.flag(
                FlagCode::IntervalTooShort,
                format!("{} is more often than every {} h", frequency.describe(), show(h)),
            );
        }
    }
    for c in &changes {
        let (code_adjust, code_ok, code_caution) = match c.kind {
            Kind::Renal => (FlagCode::RenalAdjust, FlagCode::RenalDoseWithinAdjustedLimit, FlagCode::RenalCaution),
            Kind::Hepatic => {
                (FlagCode::HepaticAdjust, FlagCode::HepaticDoseWithinAdjustedLimit, FlagCode::HepaticCaution)
            }
        };
        match c.action {
            AdjustAction::Adjust if over_adjusted.any() => {
                if !over.any() {
                    out.raise(Verdict::Adjust);
                }
                let mut how = Vec::new();
                if let Some(r) = &adjusted.dose
                    && over_adjusted.dose.is_some()
                {
                    how.push(format!("at most {} per dose", r.describe_max()));
                }
                if let Some(r) = &adjusted.day
                    && over_adjusted.day.is_some()
                {
                    how.push(format!("at most {} a day", r.describe_max()));
                }
                if let Some(h) = &over_adjusted.interval {
                    how.push(format!("doses at least {} h apart", show(h)));
                }
                out.flag(code_adjust, format!("{} ({}) — {}", c.message, c.context, how.join(", ")));
            }
            AdjustAction::Adjust => out.flag(
                code_ok,
                format!("{} ({}) — the prescribed dose is within the adjusted limit", c.message, c.context),
            ),
            AdjustAction::Caution => out.flag(code_caution, format!("{} ({})", c.message, c.context)),
            AdjustAction::Avoid => {}
        }
    }
    if !over.any() && !over_adjusted.any() {
        let mut under = false;
        if let Some(min) = adjusted.dose.as_ref().and_then(|r| r.min.as_ref())
            && given < min
        {
            under = true;
            out.flag(
                FlagCode::BelowMinPerDose,
                format!("{shown_dose} per dose is below the minimum {} {dose_unit} for this patient", show(min)),
            );
        }
        if let (Some(min), Some(d)) = (adjusted.day.as_ref().and_then(|r| r.min.as_ref()), &day_given)
            && !matches!(frequency, Frequency::Once)
            && d < min
        {
            under = true;
            out.flag(
                FlagCode::BelowMinPerDay,
                format!(
                    "{} a day is below the minimum {} {day_unit}",
                    shown_day.clone().unwrap_or_default(),
                    show(min)
                ),
            );
        }
        out.raise(if under { Verdict::Underdose } else { Verdict::Ok });
    }
    apply_avoid(&mut out, &changes);
    Ok(out)
}

fn describe_patient(age_years: Option<&Number>, weight: Option<&Number>) -> String {
    let age = age_years.map_or("age unknown".to_string(), |a| format!("{} y", a.to_decimal_string(2)));
    let weight = weight.map_or("weight unknown".to_string(), |w| format!("{} kg", show(w)));
    format!("{age}, {weight}")
}

fn cap_range(range: &mut Option<DoseRange>, cap: Number, unit: &Unit) {
    let r = range.get_or_insert_with(|| DoseRange { min: None, max: None, unit: unit.clone() });
    if r.max.as_ref().is_none_or(|m| *m > cap) {
        r.max = Some(cap.clone());
    }
    if r.min.as_ref().is_some_and(|m| *m > cap) {
        r.min = Some(cap);
    }
}

impl DoseRange {
    fn describe_max(&self) -> String {
        match &self.max {
            Some(m) => format!("{} {}", show(m), self.unit),
            None => self.describe(),
        }
    }
}

fn describe_adjustment(a: &rxgate_knowledge::Adjustment) -> String {
    let mut parts = Vec::new();
    if let Some(f) = &a.factor {
        parts.push(format!("× {} of the usual dose", show(f)));
    }
    if let Some(q) = &a.per_dose_max {
        parts.push(format!("max {} {} per dose", show(q.value()), q.unit()));
    }
    if let Some(q) = &a.per_day_max {
        parts.push(format!("max {} {}", show(q.value()), q.unit()));
    }
    if let Some(h) = &a.min_interval_h {
        parts.push(format!("at least {} h apart", show(h)));
    }
    parts.join(", ")
}

/// When weight, BSA or age is missing, an absolute maximum still holds: a dose above the
/// highest ceiling of every rule that could apply is an overdose whatever the missing
/// value is.
fn ceiling_check(
    out: &mut DoseReport,
    candidates: &[&DoseRule],
    dose: &Quantity,
    per_day: Option<&Quantity>,
    reg: &Registry,
) -> Result<(), DoseError> {
    let mut dose_ceiling: Option<Number> = None;
    let mut day_ceiling: Option<Number> = None;
    let mut dose_bounded = true;
    let mut day_bounded = true;
    for r in candidates {
        if r.avoid.is_some() {
            continue;
        }
        match ceiling(r.per_dose.as_ref(), dose.unit(), &r.id)? {
            Some(c) => dose_ceiling = Some(dose_ceiling.map_or(c.clone(), |x: Number| if x > c { x } else { c })),
            None => dose_bounded = false,
        }
        match per_day {
            Some(d) => match ceiling(r.per_day.as_ref(), d.unit(), &r.id)? {
                Some(c) => day_ceiling = Some(day_ceiling.map_or(c.clone(), |x: Number| if x > c { x } else { c })),
                None => day_bounded = false,
            },
            None => day_bounded = false,
        }
        out.cite(reg, &r.sources);
    }
    let mut over = false;
    if dose_bounded
        && let Some(c) = &dose_ceiling
        && dose.value() > c
    {
        over = true;
        out.flag(
            FlagCode::AboveMaxPerDose,
            format!(
                "{} {} per dose is above the absolute maximum {} {} of every rule that could apply",
                show(dose.value()),
                dose.unit(),
                show(c),
                dose.unit()
            ),
        );
    }
    if day_bounded
        && let (Some(c), Some(d)) = (&day_ceiling, per_day)
        && d.value() > c
    {
        over = true;
        out.flag(
            FlagCode::AboveMaxPerDay,
            format!(
                "{} {} is above the absolute maximum {} {} of every rule that could apply",
                show(d.value()),
                d.unit(),
                show(c),
                d.unit()
            ),
        );
    }
    if over {
        out.raise(Verdict::Overdose);
        let r = |c: Option<Number>, u: &Unit| DoseRange { min: None, max: c, unit: u.clone() };
        if dose_bounded {
            out.per_dose = Some(r(dose_ceiling, dose.unit()));
        }
        if let (true, Some(d)) = (day_bounded, per_day) {
            out.per_day = Some(r(day_ceiling, d.unit()));
        }
    } else {
        out.verdict = Verdict::NoRule;
    }
    Ok(())
}

fn apply_avoid(out: &mut DoseReport, changes: &[Change]) {
    for c in changes {
        if c.action == AdjustAction::Avoid {
            out.verdict = Verdict::Contraindicated;
            let code = match c.kind {
                Kind::Renal => FlagCode::RenalAvoid,
                Kind::Hepatic => FlagCode::HepaticAvoid,
            };
            out.flag(code, format!("{} ({})", c.message, c.context));
        }
    }
}

#[derive(Clone)]
struct Limits {
    dose: Option<DoseRange>,
    day: Option<DoseRange>,
    interval: Option<Number>,
}

/// Which limits a prescription exceeds, with the limit it exceeds.
#[derive(Default)]
struct Excess {
    dose: Option<Number>,
    day: Option<Number>,
    interval: Option<Number>,
}

impl Excess {
    fn find(limits: &Limits, dose: &Number, day: Option<&Number>, interval: Option<&Number>) -> Excess {
        let max = |r: &Option<DoseRange>| r.as_ref().and_then(|r| r.max.clone());
        Excess {
            dose: max(&limits.dose).filter(|m| dose > m),
            day: max(&limits.day).filter(|m| day.is_some_and(|d| d > m)),
            interval: limits.interval.clone().filter(|h| interval.is_some_and(|i| i < h)),
        }
    }

    fn any(&self) -> bool {
        self.dose.is_some() || self.day.is_some() || self.interval.is_some()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Renal,
    Hepatic,
}

/// A renal or hepatic rule that applies to this patient.
struct Change<'r> {
    kind: Kind,
    id: String,
    action: AdjustAction,
    adjustment: &'r rxgate_knowledge::Adjustment,
    message: String,
    /// The function that triggered it (`CrCl 25 mL/min by Cockcroft–Gault`).
    context: String,
    sources: &'r [SourceId],
}

/// Kidney function in the measure a rule is written in, and the patient fields missing
/// when it cannot be had.
fn renal_function(
    measure: RenalMeasure,
    patient: &Patient,
    age_years: Option<&Number>,
) -> Result<RenalFunction, Vec<&'static str>> {
    let given = match measure {
        RenalMeasure::CrCl => &patient.crcl_ml_min,
        RenalMeasure::Egfr => &patient.egfr_ml_min_1_73m2,
    };
    if let Some(v) = given {
        return Ok(RenalFunction { measure, value: v.clone(), method: "given" });
    }
    let scr = patient.serum_creatinine_umol_l.as_ref();
    let adult = age_years.map(|a| *a >= Number::from(18));
    let mut missing = Vec::new();
    match adult {
        Some(false) => match (patient.height_cm.as_ref(), scr) {
            (Some(h), Some(s)) => {
                if let Some(v) = schwartz_bedside(h, s) {
                    return Ok(RenalFunction { measure, value: v, method: "bedside-schwartz" });
                }
            }
            (h, s) => {
                if s.is_none() {
                    missing.push("patient.serum_creatinine_umol_l");
                }
                if h.is_none() {
                    missing.push("patient.height_cm");
                }
            }
        },
        Some(true) => {
            let age = age_years.expect("known");
            match measure {
                RenalMeasure::CrCl => match (patient.weight_kg.as_ref(), patient.sex, scr) {
                    (Some(w), Some(sex), Some(s)) => {
                        if let Some(v) = cockcroft_gault(age, w, sex, s) {
                            return Ok(RenalFunction { measure, value: v, method: "cockcroft-gault" });
                        }
                    }
                    (w, sex, s) => {
                        if s.is_none() {
                            missing.push("patient.serum_creatinine_umol_l");
                        }
                        if w.is_none() {
                            missing.push("patient.weight_kg");
                        }
                        if sex.is_none() {
                            missing.push("patient.sex");
                        }
                    }
                },
                RenalMeasure::Egfr => match (patient.sex, scr) {
                    (Some(sex), Some(s)) => {
                        if let Some(v) = ckd_epi_2021(age, sex, s) {
                            return Ok(RenalFunction { measure, value: v, method: "ckd-epi-2021" });
                        }
                    }
                    (sex, s) => {
                        if s.is_none() {
                            missing.push("patient.serum_creatinine_umol_l");
                        }
                        if sex.is_none() {
                            missing.push("patient.sex");
                        }
                    }
                },
            }
        }
        None => {
            missing.push("patient.age_years");
            if scr.is_none() {
                missing.push("patient.serum_creatinine_umol_l");
            }
        }
    }
    // The other measure, when given, stands in (flagged).
    let (other, method) = match measure {
        RenalMeasure::CrCl => (&patient.egfr_ml_min_1_73m2, "given-egfr"),
        RenalMeasure::Egfr => (&patient.crcl_ml_min, "given-crcl"),
    };
    match other {
        Some(v) => Ok(RenalFunction { measure, value: v.clone(), method }),
        None => Err(missing),
    }
}

fn method_text(f: &RenalFunction) -> String {
    let name = match f.measure {
        RenalMeasure::CrCl => "CrCl",
        RenalMeasure::Egfr => "eGFR",
    };
    let how = match f.method {
        "given" => "as given".to_string(),
        "cockcroft-gault" => "by Cockcroft–Gault".to_string(),
        "bedside-schwartz" => "by bedside Schwartz".to_string(),
        "ckd-epi-2021" => "by CKD-EPI 2021".to_string(),
        "given-egfr" => "taken from the given eGFR".to_string(),
        "given-crcl" => "taken from the given CrCl".to_string(),
        other => other.to_string(),
    };
    format!("{name} {} {} {how}", show(&f.value), f.measure.unit())
}

#[allow(clippy::too_many_arguments)]
fn renal<'r>(
    reg: &'r Registry,
    out: &mut DoseReport,
    generic: rxgate_knowledge::GenericId,
    route: &str,
    indication: Option<&str>,
    patient: &Patient,
    age_years: Option<&Number>,
    changes: &mut Vec<Change<'r>>,
) {
    let rules: Vec<&RenalRule> = reg
        .dose_rules()
        .renal_of(generic)
        .filter(|r| r.applies_to_route(route) && (r.indication.is_none() || r.indication.as_deref() == indication))
        .collect();
    if rules.is_empty() {
        return;
    }
    let mut measures: Vec<RenalMeasure> = rules.iter().map(|r| r.measure).collect();
    measures.dedup();
    for measure in measures {
        match renal_function(measure, patient, age_years) {
            Ok(function) => {
                let context = method_text(&function);
                if function.method != "given" {
                    out.flag(FlagCode::RenalFunctionEstimated, context.clone());
                }
                for r in rules.iter().filter(|r| r.measure == measure && r.applies_to(&function.value)) {
                    changes.push(Change {
                        kind: Kind::Renal,
                        id: r.id.clone(),
                        action: r.action,
                        adjustment: &r.adjustment,
                        message: r.message.clone(),
                        context: context.clone(),
                        sources: &r.sources,
                    });
                }
                out.renal_function.push(function);
            }
            Err(missing) => {
                for m in &missing {
                    out.need(m);
                }
                let lowest = rules.iter().filter(|r| r.measure == measure).map(|r| &r.below).max();
                out.flag(
                    FlagCode::RenalFunctionUnknown,
                    format!(
                        "kidney function unknown: the dose must be reduced or avoided when {} is below {} {}; give {}",
                        if measure == RenalMeasure::CrCl { "CrCl" } else { "eGFR" },
                        lowest.map(show).unwrap_or_default(),
                        measure.unit(),
                        missing.join(", ")
                    ),
                );
            }
        }
    }
}

fn hepatic<'r>(
    reg: &'r Registry,
    out: &mut DoseReport,
    generic: rxgate_knowledge::GenericId,
    route: &str,
    patient: &Patient,
    changes: &mut Vec<Change<'r>>,
) {
    let rules: Vec<&HepaticRule> = reg.dose_rules().hepatic_of(generic).filter(|r| r.applies_to_route(route)).collect();
    if rules.is_empty() {
        return;
    }
    let Some(class) = patient.child_pugh else {
        let mut classes: Vec<&str> = rules.iter().flat_map(|r| r.child_pugh.iter().map(|c| c.as_str())).collect();
        classes.sort();
        classes.dedup();
        out.flag(
            FlagCode::HepaticFunctionUnknown,
            format!(
                "the dose changes in hepatic impairment (Child–Pugh {}); give child_pugh if the liver is impaired",
                classes.join("/")
            ),
        );
        return;
    };
    for r in rules.iter().filter(|r| r.child_pugh.contains(&class)) {
        changes.push(Change {
            kind: Kind::Hepatic,
            id: r.id.clone(),
            action: r.action,
            adjustment: &r.adjustment,
            message: r.message.clone(),
            context: format!("Child–Pugh {}", class.as_str()),
            sources: &r.sources,
        });
    }
}
