//! Reading scenario files into the crate's requests. Test-only: the crate itself has no
//! wire format.

use std::collections::BTreeMap;

use rxgate_knowledge::{Registry, Snapshot};
use rxgate_regimen::pn::PnOrder;
use rxgate_regimen::*;
use serde::Deserialize;

pub(crate) fn snapshot() -> &'static Snapshot {
    static SNAP: std::sync::OnceLock<Snapshot> = std::sync::OnceLock::new();
    SNAP.get_or_init(|| rxgate_knowledge::load(&rxgate_knowledge::bundled_files()).expect("bundled registry loads"))
}

pub(crate) fn registry() -> &'static Registry {
    &snapshot().registry
}

pub(crate) fn library() -> &'static RegimenLibrary {
    static LIB: std::sync::OnceLock<RegimenLibrary> = std::sync::OnceLock::new();
    LIB.get_or_init(|| {
        RegimenLibrary::bundled(registry()).unwrap_or_else(|d| {
            panic!("bundled regimens must compile:\n{}", d.iter().map(|x| x.to_string()).collect::<Vec<_>>().join("\n"))
        })
    })
}

/// A TOML number (int or float) or a fraction string, exactly.
pub(crate) fn q(v: &toml::Value) -> Q {
    match v {
        toml::Value::Integer(i) => parse_q(&i.to_string()).unwrap(),
        toml::Value::Float(f) => parse_q(&format!("{f}")).unwrap(),
        toml::Value::String(s) => parse_q(s).unwrap_or_else(|| panic!("not a number: {s}")),
        other => panic!("not a number: {other}"),
    }
}

pub(crate) fn oq(v: &Option<toml::Value>) -> Option<Q> {
    v.as_ref().map(q)
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct PatientIn {
    pub(crate) age_years: Option<toml::Value>,
    pub(crate) age_days: Option<toml::Value>,
    pub(crate) weight_kg: Option<toml::Value>,
    pub(crate) height_cm: Option<toml::Value>,
    pub(crate) sex: Option<String>,
    pub(crate) serum_creatinine_umol_l: Option<toml::Value>,
    pub egfr_ml_min_1_73m2: Option<toml::Value>,
    pub(crate) crcl_ml_min: Option<toml::Value>,
    #[serde(default)]
    pub(crate) labs: BTreeMap<String, toml::Value>,
}

impl PatientIn {
    pub(crate) fn to_patient(&self) -> Patient {
        Patient {
            age_years: oq(&self.age_years),
            age_days: oq(&self.age_days),
            weight_kg: oq(&self.weight_kg),
            height_cm: oq(&self.height_cm),
            sex: self.sex.as_deref().map(|s| if s == "male" { Sex::Male } else { Sex::Female }),
            serum_creatinine_umol_l: oq(&self.serum_creatinine_umol_l),
            egfr_ml_min_1_73m2: oq(&self.egfr_ml_min_1_73m2),
            crcl_ml_min: oq(&self.crcl_ml_min),
            labs: self.labs.iter().map(|(k, v)| (k.clone(), q(v))).collect(),
        }
    }
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct AmountIn {
    pub(crate) value: toml::Value,
    pub(crate) unit: String,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrderIn {
    pub(crate) drug: String,
    pub(crate) route: Option<String>,
    pub(crate) container: Option<String>,
    pub(crate) dose: Option<AmountIn>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApprovalIn {
    pub(crate) weight_kg: Option<toml::Value>,
    pub(crate) serum_creatinine_umol_l: Option<toml::Value>,
    pub(crate) regimen_version: Option<String>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct PnIn {
    pub(crate) weight_kg: toml::Value,
    pub(crate) volume_ml_per_day: toml::Value,
    pub(crate) dextrose_percent: toml::Value,
    pub(crate) amino_acid_percent: toml::Value,
    pub(crate) sodium_mmol_l: toml::Value,
    pub(crate) potassium_mmol_l: toml::Value,
    pub(crate) stated_osmolarity_mosm_l: Option<toml::Value>,
    #[serde(default)]
    pub(crate) central_line: bool,
}

/// The request part of an evaluation scenario.
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequestIn {
    /// A bundled regimen id or alias.
    pub(crate) regimen: Option<String>,
    /// The contract's inline interchange form.
    pub(crate) definition: Option<toml::Value>,
    pub(crate) cycle: u32,
    pub(crate) day: u32,
    #[serde(default)]
    pub(crate) patient: PatientIn,
    #[serde(default)]
    pub(crate) cumulative: BTreeMap<String, AmountIn>,
    #[serde(default)]
    pub(crate) orders: Vec<OrderIn>,
    pub(crate) approval: Option<ApprovalIn>,
    pub(crate) bsa_formula: Option<String>,
    pub(crate) today: Option<String>,
    pub(crate) parenteral_nutrition: Option<PnIn>,
}

/// Evaluates a request; inline definitions are compiled first and their clinical problems
/// must not silently disappear (the harness asserts on them separately).
pub(crate) fn run(req: &RequestIn) -> (Evaluation, Vec<rxgate_knowledge::Diagnostic>) {
    let lib = library();
    let compiled;
    let (regimen, diagnostics) = match (&req.regimen, &req.definition) {
        (Some(id), None) => (lib.find(id).unwrap_or_else(|| panic!("no bundled regimen `{id}`")), vec![]),
        (None, Some(def)) => {
            let json = serde_json::to_value(def).unwrap();
            let out = compile_definition_json(&json, registry(), &lib.rules);
            compiled = out.regimen.clone().unwrap_or_else(|| panic!("definition unreadable: {:?}", out.diagnostics));
            (&compiled, out.diagnostics)
        }
        _ => panic!("a scenario names exactly one of `regimen` and `definition`"),
    };
    let mut r = EvalRequest::new(regimen, req.cycle, req.day, req.patient.to_patient());
    r.cumulative = req
        .cumulative
        .iter()
        .map(|(k, a)| (k.clone(), CumulativeDose { value: q(&a.value), unit: a.unit.clone() }))
        .collect();
    r.orders = req
        .orders
        .iter()
        .map(|o| Order {
            drug: o.drug.clone(),
            route: o.route.clone(),
            container: o.container.clone(),
            dose: o.dose.as_ref().map(|d| (q(&d.value), d.unit.clone())),
        })
        .collect();
    r.approval = req.approval.as_ref().map(|a| Approval {
        weight_kg: oq(&a.weight_kg),
        serum_creatinine_umol_l: oq(&a.serum_creatinine_umol_l),
        regimen_version: a.regimen_version.clone(),
    });
    r.bsa_formula = req.bsa_formula.as_deref().map(|f| BsaFormula::parse(f).expect("bsa formula"));
    r.today = req.today.as_deref().map(|t| chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").unwrap());
    r.parenteral_nutrition = req.parenteral_nutrition.as_ref().map(|p| PnOrder {
        weight_kg: q(&p.weight_kg),
        volume_ml_per_day: q(&p.volume_ml_per_day),
        dextrose_percent: q(&p.dextrose_percent),
        amino_acid_percent: q(&p.amino_acid_percent),
        sodium_mmol_l: q(&p.sodium_mmol_l),
        potassium_mmol_l: q(&p.potassium_mmol_l),
        stated_osmolarity_mosm_l: oq(&p.stated_osmolarity_mosm_l),
        central_line: p.central_line,
    });
    (evaluate(&r, &lib.rules, registry()), diagnostics)
}
