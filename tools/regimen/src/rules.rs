//! The rules every regimen and order is held to (`data/rules.toml`): which drugs need which
//! supportive steps, the vinca and intrathecal never-event rules, and the thresholds of
//! holds, tolerances and re-approval. Data, so that a pharmacist can read and cite them.

use std::collections::BTreeMap;

use rxgate_knowledge::{Diagnostic, Loc, Pass, Registry};
use serde::Deserialize;

use crate::compile::{check_sources, diag, parse_toml};
use crate::model::{Container, Route, SupportKind};
use crate::num::{Q, q_from_f64, q_int};

#[derive(Debug, Clone, PartialEq)]
pub struct SupportRequirement {
    pub drug: String,
    pub kind: SupportKind,
    /// Only from this dose upwards, mg/m².
    pub min_dose_mg_m2: Option<Q>,
    pub why: String,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    pub requirements: Vec<SupportRequirement>,
    pub vinca_class: String,
    pub vinca_route: Route,
    pub vinca_container: Container,
    pub vinca_sources: Vec<String>,
    pub intrathecal_allowed: Vec<String>,
    pub intrathecal_never_with_vinca: Vec<String>,
    pub intrathecal_sources: Vec<String>,
    pub anthracycline_class: String,
    pub anthracycline_limits_mg_m2: BTreeMap<String, Q>,
    pub anthracycline_sources: Vec<String>,
    pub renal_hold_below_ml_min: Q,
    pub renal_sources: Vec<String>,
    pub calvert_gfr_cap_ml_min: Q,
    pub calvert_sources: Vec<String>,
    pub dose_tolerance_pct: Q,
    pub tolerance_sources: Vec<String>,
    pub reapproval_weight_pct: Q,
    pub reapproval_creatinine_pct: Q,
    pub reapproval_sources: Vec<String>,
    pub gravimetric_tolerance_pct: Q,
    pub gravimetric_sources: Vec<String>,
    pub pn_peripheral_max_mosm_l: Q,
    pub pn_sources: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    require: Vec<toml::Spanned<RawRequire>>,
    vinca: RawVinca,
    intrathecal: RawIntrathecal,
    anthracycline: RawAnthracycline,
    renal: RawRenal,
    calvert: RawCalvert,
    tolerance: RawTolerance,
    reapproval: RawReapproval,
    gravimetric: RawGravimetric,
    parenteral_nutrition: RawPn,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequire {
    drug: String,
    kind: String,
    min_dose: Option<RawAmount>,
    why: String,
    sources: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAmount {
    value: f64,
    unit: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVinca {
    class: String,
    route: String,
    container: String,
    sources: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIntrathecal {
    allowed: Vec<String>,
    never_with_vinca: Vec<String>,
    sources: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAnthracycline {
    class: String,
    limits: Vec<RawLimit>,
    sources: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimit {
    drug: String,
    value: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRenal {
    hold_below_ml_min: f64,
    sources: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalvert {
    gfr_cap_ml_min: f64,
    sources: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTolerance {
    dose_pct: f64,
    sources: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReapproval {
    weight_change_pct: f64,
    creatinine_change_pct: f64,
    sources: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGravimetric {
    tolerance_pct: f64,
    sources: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPn {
    peripheral_max_mosm_l: f64,
    sources: Vec<String>,
}

const FILE: &str = "rules.toml";

/// Reads and checks `rules.toml` against the registry: every drug is a formulary generic,
/// every class exists, every source is cited in `sources.csv`.
pub fn load_rules(text: &str, registry: &Registry) -> Result<Rules, Vec<Diagnostic>> {
    let mut d = Vec::new();
    let raw: RawRules = parse_toml(FILE, text, &mut d).ok_or_else(|| d.clone())?;
    let top = Loc::new(FILE, 1, 1);
    let generic = |name: &str, loc: &Loc, d: &mut Vec<Diagnostic>| -> String {
        match registry.resolve(name) {
            Some(r) => registry.generic(r.generic).inn.clone(),
            None => {
                d.push(diag(
                    loc.clone(),
                    Pass::Reference,
                    "not-in-formulary",
                    format!("`{name}` is not a formulary generic"),
                ));
                name.to_string()
            }
        }
    };
    let mut requirements = Vec::new();
    for req in &raw.require {
        let loc = crate::compile::loc_of(FILE, text, req.span().start);
        let r = req.get_ref();
        let drug = generic(&r.drug, &loc, &mut d);
        let Some(kind) = SupportKind::parse(&r.kind) else {
            d.push(diag(
                loc,
                Pass::Schema,
                "bad-kind",
                format!("`{}` is not hydration, premedication or monitoring", r.kind),
            ));
            continue;
        };
        let min = match &r.min_dose {
            Some(a) if a.unit.replace(' ', "") == "mg/m2" => q_from_f64(a.value),
            Some(a) => {
                d.push(diag(
                    loc.clone(),
                    Pass::Schema,
                    "bad-unit",
                    format!("min_dose must be in mg/m2, not `{}`", a.unit),
                ));
                None
            }
            None => None,
        };
        check_sources(registry, &r.sources, &loc, &mut d);
        requirements.push(SupportRequirement {
            drug,
            kind,
            min_dose_mg_m2: min,
            why: r.why.clone(),
            sources: r.sources.clone(),
        });
    }
    for class in [&raw.vinca.class, &raw.anthracycline.class] {
        if registry.class_by_id(class).is_none() {
            d.push(diag(
                top.clone(),
                Pass::Reference,
                "unknown-class",
                format!("class `{class}` is not in classes.csv"),
            ));
        }
    }
    let intrathecal_allowed: Vec<String> = raw.intrathecal.allowed.iter().map(|n| generic(n, &top, &mut d)).collect();
    let never: Vec<String> = raw.intrathecal.never_with_vinca.iter().map(|n| generic(n, &top, &mut d)).collect();
    let mut limits = BTreeMap::new();
    for l in &raw.anthracycline.limits {
        let drug = generic(&l.drug, &top, &mut d);
        limits.insert(drug, q_from_f64(l.value).unwrap_or_else(|| q_int(0)));
    }
    for sources in [
        &raw.vinca.sources,
        &raw.intrathecal.sources,
        &raw.anthracycline.sources,
        &raw.renal.sources,
        &raw.calvert.sources,
        &raw.tolerance.sources,
        &raw.reapproval.sources,
        &raw.gravimetric.sources,
        &raw.parenteral_nutrition.sources,
    ] {
        check_sources(registry, sources, &top, &mut d);
    }
    if !d.is_empty() {
        return Err(d);
    }
    let q = |v: f64| q_from_f64(v).unwrap_or_else(|| q_int(0));
    Ok(Rules {
        requirements,
        vinca_class: raw.vinca.class,
        vinca_route: Route::parse(&raw.vinca.route),
        vinca_container: Container::parse(&raw.vinca.container),
        vinca_sources: raw.vinca.sources,
        intrathecal_allowed,
        intrathecal_never_with_vinca: never,
        intrathecal_sources: raw.intrathecal.sources,
        anthracycline_class: raw.anthracycline.class,
        anthracycline_limits_mg_m2: limits,
        anthracycline_sources: raw.anthracycline.sources,
        renal_hold_below_ml_min: q(raw.renal.hold_below_ml_min),
        renal_sources: raw.renal.sources,
        calvert_gfr_cap_ml_min: q(raw.calvert.gfr_cap_ml_min),
        calvert_sources: raw.calvert.sources,
        dose_tolerance_pct: q(raw.tolerance.dose_pct),
        tolerance_sources: raw.tolerance.sources,
        reapproval_weight_pct: q(raw.reapproval.weight_change_pct),
        reapproval_creatinine_pct: q(raw.reapproval.creatinine_change_pct),
        reapproval_sources: raw.reapproval.sources,
        gravimetric_tolerance_pct: q(raw.gravimetric.tolerance_pct),
        gravimetric_sources: raw.gravimetric.sources,
        pn_peripheral_max_mosm_l: q(raw.parenteral_nutrition.peripheral_max_mosm_l),
        pn_sources: raw.parenteral_nutrition.sources,
    })
}

impl Rules {
    pub fn is_vinca(&self, registry: &Registry, drug: &str) -> bool {
        in_class(registry, drug, &self.vinca_class)
    }

    pub fn is_anthracycline(&self, registry: &Registry, drug: &str) -> bool {
        in_class(registry, drug, &self.anthracycline_class)
    }
}

fn in_class(registry: &Registry, drug: &str, class: &str) -> bool {
    match (registry.resolve(drug), registry.class_by_id(class)) {
        (Some(r), Some(c)) => registry.in_class(r.generic, c),
        _ => false,
    }
}
