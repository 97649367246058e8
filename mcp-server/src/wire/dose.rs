//! `dose_calc`.

use rxgate_checks::dose::{self, DoseRange};
use rxgate_knowledge::Snapshot;
use rxgate_units::Number;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ToolOutput;
use super::common::{ChildPugh, KnowledgeStamp, NumberIn, Patient, Sex};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DoseIn {
    pub(crate) value: NumberIn,
    /// UCUM: `mg`, `g`, `ug`, `[iU]`, or `mg/kg` (multiplied by the weight).
    pub(crate) unit: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DoseCalcInput {
    /// Generic, brand or product code.
    pub(crate) drug: String,
    /// oral, intravenous, intramuscular, subcutaneous, rectal, …
    pub(crate) route: String,
    pub(crate) dose: DoseIn,
    /// q4h, q6h, q8h, q12h, q24h, od, bd, tds, qds, weekly, stat, prn…
    pub(crate) frequency: Option<String>,
    /// Alternative to `frequency`.
    pub(crate) doses_per_day: Option<NumberIn>,
    pub(crate) indication: Option<String>,
    pub(crate) patient: Patient,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct AmountOut {
    pub(crate) value: f64,
    /// Exact fraction when not an integer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) exact: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct RangeOut {
    pub(crate) min: Option<AmountOut>,
    pub(crate) max: Option<AmountOut>,
    pub(crate) unit: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct FlagOut {
    pub(crate) code: String,
    pub(crate) message: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct DoseCalcOutput {
    /// ok | underdose | overdose | adjust | contraindicated | no_rule
    pub(crate) verdict: String,
    pub(crate) generic: Option<String>,
    pub(crate) per_dose: Option<RangeOut>,
    pub(crate) per_day: Option<RangeOut>,
    /// Which rule and which numbers gave the range.
    pub(crate) basis: String,
    pub(crate) flags: Vec<FlagOut>,
    /// Inputs not understood, and patient fields a rule needed but did not get.
    pub(crate) unknown: Vec<String>,
    pub(crate) rule: Option<String>,
    pub(crate) adjustments: Vec<String>,
    pub(crate) sources: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) bsa_m2: Option<AmountOut>,
    pub(crate) knowledge: KnowledgeStamp,
}

pub(crate) fn amount(n: &Number) -> AmountOut {
    let value = (n.to_f64() * 10_000.0).round() / 10_000.0;
    AmountOut { value, exact: (!n.is_integer()).then(|| n.to_exact_string()) }
}

fn range(r: &DoseRange) -> RangeOut {
    RangeOut { min: r.min.as_ref().map(amount), max: r.max.as_ref().map(amount), unit: r.unit.to_string() }
}

fn exact(field: &str, v: Option<f64>) -> Result<Option<Number>, String> {
    v.map(|x| {
        rxgate_checks::renal::number_from_f64(x).ok_or_else(|| format!("`patient.{field}` must be a finite number"))
    })
    .transpose()
}

pub(crate) fn patient(p: &Patient) -> Result<dose::Patient, String> {
    Ok(dose::Patient {
        age_days: exact("age_days", p.age_days)?,
        age_years: exact("age_years", p.age_years)?,
        weight_kg: exact("weight_kg", p.weight_kg)?,
        height_cm: exact("height_cm", p.height_cm)?,
        sex: p.sex.map(|s| match s {
            Sex::Female => dose::Sex::Female,
            Sex::Male => dose::Sex::Male,
        }),
        serum_creatinine_umol_l: exact("serum_creatinine_umol_l", p.serum_creatinine_umol_l)?,
        egfr_ml_min_1_73m2: exact("egfr_ml_min_1_73m2", p.egfr_ml_min_1_73m2)?,
        crcl_ml_min: exact("crcl_ml_min", p.crcl_ml_min)?,
        child_pugh: p.child_pugh.map(|c| match c {
            ChildPugh::A => dose::ChildPugh::A,
            ChildPugh::B => dose::ChildPugh::B,
            ChildPugh::C => dose::ChildPugh::C,
        }),
    })
}

pub(crate) fn frequency(frequency: Option<&str>, doses_per_day: Option<&NumberIn>) -> Result<dose::Frequency, String> {
    match (frequency, doses_per_day) {
        (Some(f), _) => dose::Frequency::parse(f).map_err(|e| e.to_string()),
        (None, Some(n)) => {
            let n = n.parse("doses_per_day")?;
            Ok(dose::Frequency::Regular { label: format!("{} doses per day", n.to_exact_string()), doses_per_day: n })
        }
        (None, None) => Err("give `frequency` (e.g. q6h, tds, od, stat) or `doses_per_day`".to_string()),
    }
}

pub(crate) fn to_wire(r: dose::DoseReport, snapshot: &Snapshot) -> DoseCalcOutput {
    DoseCalcOutput {
        verdict: r.verdict.as_str().to_string(),
        generic: r.generic,
        per_dose: r.per_dose.as_ref().map(range),
        per_day: r.per_day.as_ref().map(range),
        basis: r.basis,
        flags: r
            .flags
            .iter()
            .map(|f| FlagOut { code: f.code.as_str().to_string(), message: f.message.clone() })
            .collect(),
        unknown: r.unknown,
        rule: r.rule,
        adjustments: r.adjustments,
        sources: r.sources,
        bsa_m2: r.bsa_m2.as_ref().map(amount),
        knowledge: KnowledgeStamp::of(snapshot),
    }
}

pub(crate) fn run(snapshot: &Snapshot, input: DoseCalcInput) -> Result<ToolOutput, String> {
    let request = dose::DoseRequest {
        drug: input.drug,
        route: input.route,
        dose: input.dose.value.parse("dose.value")?,
        dose_unit: input.dose.unit,
        frequency: frequency(input.frequency.as_deref(), input.doses_per_day.as_ref())?,
        indication: input.indication,
        patient: patient(&input.patient)?,
    };
    let report = dose::check(&snapshot.registry, &request).map_err(|e| e.to_string())?;
    let out = to_wire(report, snapshot);
    let mut summary = format!("{}: {}", out.verdict.to_uppercase(), out.basis);
    if !out.flags.is_empty() {
        let messages: Vec<&str> = out.flags.iter().map(|f| f.message.as_str()).collect();
        summary.push_str(&format!(" — {}", messages.join("; ")));
    }
    summary.push_str(&super::ddi::unknown_note(&out.unknown));
    ToolOutput::new(summary, &out)
}
