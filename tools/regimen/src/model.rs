//! A compiled regimen: every drug resolved to a formulary generic, every number exact, every
//! unit checked against its dose method. Built only by [`crate::compile`].

use chrono::NaiveDate;

use crate::bsa::BsaFormula;
use crate::num::Q;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Population {
    Adult,
    Paediatric,
}

/// How a dose is derived. Amounts are held in mg (per m², per kg, flat).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoseMethod {
    /// mg/m² × BSA.
    Bsa,
    /// mg/kg × weight.
    Weight,
    /// Target AUC (mg/mL·min) × (GFR + 25), GFR capped.
    Calvert,
    /// A fixed amount in mg (optionally by age band).
    Flat,
}

impl DoseMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            DoseMethod::Bsa => "bsa",
            DoseMethod::Weight => "weight",
            DoseMethod::Calvert => "calvert",
            DoseMethod::Flat => "flat",
        }
    }
}

/// A flat dose for children from `min_years` upwards (intrathecal methotrexate by age).
#[derive(Debug, Clone, PartialEq)]
pub struct AgeBand {
    pub min_years: Q,
    pub mg: Q,
}

/// Below this weight the dose is per kg instead (vincristine 0.05 mg/kg under 10 kg): BSA
/// overestimates the exposure of small infants.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightBand {
    pub below_kg: Q,
    pub mg_per_kg: Q,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DoseSpec {
    pub method: DoseMethod,
    /// mg/m², mg/kg or mg, by method; `None` for Calvert and for age-banded flat doses.
    pub amount: Option<Q>,
    /// The unit as written, for people (`mg/m2`).
    pub unit_text: String,
    /// Absolute maximum per dose, mg.
    pub cap_mg: Option<Q>,
    pub target_auc: Option<Q>,
    /// GFR used in Calvert is capped here (125 mL/min when estimated from creatinine).
    pub gfr_cap_ml_min: Q,
    pub age_bands: Vec<AgeBand>,
    pub weight_band: Option<WeightBand>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Route {
    Intravenous,
    Intrathecal,
    Oral,
    Subcutaneous,
    Intramuscular,
    Other(String),
}

impl Route {
    /// Reads the usual spellings (`iv`, `IV`, `intravenous`, `it`, `po`, `sc`, …).
    pub fn parse(text: &str) -> Route {
        match text.trim().to_lowercase().replace(['-', '_'], " ").replace('.', "").as_str() {
            "iv"
            | "intravenous"
            | "iv infusion"
            | "iv bolus"
            | "iv push"
            | "ivp"
            | "ivpb"
            | "iv piggyback"
            | "intravenous infusion"
            | "intravenous bolus"
            | "intravenous push" => Route::Intravenous,
            "it" | "intrathecal" | "ith" => Route::Intrathecal,
            "po" | "oral" | "by mouth" => Route::Oral,
            "sc" | "subcut" | "subcutaneous" | "sq" => Route::Subcutaneous,
            "im" | "intramuscular" => Route::Intramuscular,
            other => Route::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Route::Intravenous => "iv",
            Route::Intrathecal => "intrathecal",
            Route::Oral => "oral",
            Route::Subcutaneous => "subcutaneous",
            Route::Intramuscular => "intramuscular",
            Route::Other(s) => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Container {
    Minibag,
    Syringe,
    InfusionBag,
    Other(String),
}

impl Container {
    /// By the word that decides safety, so `minibag 50 mL` is a minibag and `10 mL syringe`
    /// a syringe.
    pub fn parse(text: &str) -> Container {
        let t = text.trim().to_lowercase().replace(['-', '_'], " ");
        if t.contains("syringe") {
            Container::Syringe
        } else if t.contains("minibag") || t.contains("mini bag") {
            Container::Minibag
        } else if t.contains("bag") || t == "infusion" {
            Container::InfusionBag
        } else {
            Container::Other(t)
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Container::Minibag => "minibag",
            Container::Syringe => "syringe",
            Container::InfusionBag => "infusion_bag",
            Container::Other(s) => s,
        }
    }
}

/// Final volume and duration of an infusion, for the pump profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Infusion {
    pub volume_ml: Q,
    pub minutes: Q,
    pub diluent: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DrugStep {
    /// The formulary generic (INN), as resolved.
    pub drug: String,
    pub route: Route,
    pub container: Option<Container>,
    pub days: Vec<u32>,
    /// Cycles this step runs in; empty means every cycle.
    pub cycles: Vec<u32>,
    pub dose: DoseSpec,
    /// Lifetime limit, mg/m².
    pub cumulative_limit_mg_m2: Option<Q>,
    pub infusion: Option<Infusion>,
    pub sources: Vec<String>,
}

impl DrugStep {
    pub fn runs_on(&self, cycle: u32, day: u32) -> bool {
        self.days.contains(&day) && (self.cycles.is_empty() || self.cycles.contains(&cycle))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupportKind {
    Hydration,
    Premedication,
    Monitoring,
}

impl SupportKind {
    pub fn parse(text: &str) -> Option<SupportKind> {
        match text.trim().to_lowercase().as_str() {
            "hydration" => Some(SupportKind::Hydration),
            "premedication" | "pre-medication" | "premed" => Some(SupportKind::Premedication),
            "monitoring" => Some(SupportKind::Monitoring),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SupportKind::Hydration => "hydration",
            SupportKind::Premedication => "premedication",
            SupportKind::Monitoring => "monitoring",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SupportiveStep {
    pub kind: SupportKind,
    pub days: Vec<u32>,
    pub description: String,
    /// Drugs this step supports (e.g. hydration for cisplatin); empty means the whole day.
    pub for_drugs: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparator {
    Lt,
    Gt,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LabCondition {
    /// Lab code with its unit in the name (`anc_10e9_l`).
    pub lab: String,
    pub comparator: Comparator,
    pub threshold: Q,
}

impl LabCondition {
    pub fn holds(&self, value: &Q) -> bool {
        match self.comparator {
            Comparator::Lt => value < &self.threshold,
            Comparator::Gt => value > &self.threshold,
        }
    }

    pub fn describe(&self) -> String {
        let op = match self.comparator {
            Comparator::Lt => "<",
            Comparator::Gt => ">",
        };
        format!("{} {op} {}", self.lab, crate::num::format_decimal(&self.threshold, 3))
    }
}

/// Who may document the override of a hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OverrideRole {
    /// The treating oncologist/haematologist.
    Physician,
    /// Cardiology, for cumulative anthracycline.
    Cardiologist,
    /// A supervising pharmacist (gravimetric deviation).
    Supervisor,
}

impl OverrideRole {
    pub fn parse(text: &str) -> Option<OverrideRole> {
        match text.trim().to_lowercase().as_str() {
            "physician" | "oncologist" => Some(OverrideRole::Physician),
            "cardiologist" | "cardiology" => Some(OverrideRole::Cardiologist),
            "supervisor" | "supervising_pharmacist" => Some(OverrideRole::Supervisor),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OverrideRole::Physician => "physician",
            OverrideRole::Cardiologist => "cardiologist",
            OverrideRole::Supervisor => "supervisor",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HoldRule {
    pub code: String,
    pub when: LabCondition,
    pub message: String,
    /// Drugs held; empty means the whole day's treatment.
    pub drugs: Vec<String>,
    pub override_by: OverrideRole,
    pub sources: Vec<String>,
}

/// A dose reduction by a lab value (doxorubicin 50 % when bilirubin is raised). When several
/// apply, the smallest factor wins.
#[derive(Debug, Clone, PartialEq)]
pub struct DoseModification {
    pub drug: String,
    pub when: LabCondition,
    pub factor: Q,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Regimen {
    pub id: String,
    pub name: String,
    pub aliases: Vec<String>,
    pub version: String,
    pub effective_from: Option<NaiveDate>,
    pub effective_to: Option<NaiveDate>,
    /// Newer version that supersedes this one, when known.
    pub superseded_by: Option<String>,
    pub cycle_length_days: u32,
    pub cycles: Option<u32>,
    pub bsa_formula: BsaFormula,
    pub population: Population,
    pub drugs: Vec<DrugStep>,
    pub supportive: Vec<SupportiveStep>,
    pub holds: Vec<HoldRule>,
    pub modifications: Vec<DoseModification>,
    pub sources: Vec<String>,
    /// Where it came from (`chop-21.toml`, `definition`).
    pub file: String,
}
