//! One day of one cycle of a regimen for one patient: doses, hard stops, holds and what the
//! order still requires. A plain function of the request, the rules and the registry.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use num_traits::Zero;
use rxgate_knowledge::Registry;
use rxgate_units::Unit;

use crate::bsa::{BsaFormula, body_surface_area};
use crate::model::*;
use crate::num::{Q, format_decimal, q_int, relative_change};
use crate::pn::{PnAssessment, PnOrder, assess_pn};
use crate::rules::Rules;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Female,
    Male,
}

/// What is known of the patient; every field may be missing, and a dose that needs a
/// missing field is held, never guessed.
#[derive(Debug, Clone, Default)]
pub struct Patient {
    pub age_years: Option<Q>,
    pub age_days: Option<Q>,
    pub weight_kg: Option<Q>,
    pub height_cm: Option<Q>,
    pub sex: Option<Sex>,
    pub serum_creatinine_umol_l: Option<Q>,
    pub egfr_ml_min_1_73m2: Option<Q>,
    pub crcl_ml_min: Option<Q>,
    /// Lab code (unit in the name) → value.
    pub labs: BTreeMap<String, Q>,
}

impl Patient {
    fn age_in_years(&self) -> Option<Q> {
        self.age_years.clone().or_else(|| self.age_days.as_ref().map(|d| d / q_int(365)))
    }
}

/// A lab value as given, for callers that keep labs apart.
pub type LabValue = (String, Q);

/// Lifetime dose of a drug given before this order, across protocols.
#[derive(Debug, Clone)]
pub struct CumulativeDose {
    pub value: Q,
    /// `mg/m2` or a mass (`mg`, divided by today's BSA).
    pub unit: String,
}

/// One order line as prescribed or as about to be co-signed in this session.
#[derive(Debug, Clone, Default)]
pub struct Order {
    pub drug: String,
    pub route: Option<String>,
    pub container: Option<String>,
    /// Amount and unit (`mg`, `ug`, `g`).
    pub dose: Option<(Q, String)>,
}

/// What the regimen was approved with, to detect changes since.
#[derive(Debug, Clone, Default)]
pub struct Approval {
    pub weight_kg: Option<Q>,
    pub serum_creatinine_umol_l: Option<Q>,
    pub regimen_version: Option<String>,
}

#[derive(Debug, Clone)]
pub struct EvalRequest<'a> {
    pub regimen: &'a Regimen,
    pub cycle: u32,
    pub day: u32,
    pub patient: Patient,
    /// Keyed by drug as the caller named it.
    pub cumulative: BTreeMap<String, CumulativeDose>,
    pub orders: Vec<Order>,
    pub approval: Option<Approval>,
    /// Overrides the regimen's formula (DuBois on request).
    pub bsa_formula: Option<BsaFormula>,
    pub today: Option<NaiveDate>,
    pub parenteral_nutrition: Option<PnOrder>,
}

impl<'a> EvalRequest<'a> {
    pub fn new(regimen: &'a Regimen, cycle: u32, day: u32, patient: Patient) -> EvalRequest<'a> {
        EvalRequest {
            regimen,
            cycle,
            day,
            patient,
            cumulative: BTreeMap::new(),
            orders: Vec::new(),
            approval: None,
            bsa_formula: None,
            today: None,
            parenteral_nutrition: None,
        }
    }
}

/// A hard stop or a hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub code: String,
    pub message: String,
    pub drug: Option<String>,
    /// Who may document an override; `None` for hard stops, which no one may override.
    pub override_by: Option<OverrideRole>,
    pub sources: Vec<String>,
}

/// Something the audit log must record. Who and when are filled in by the caller for
/// evaluation findings; workflow events carry the actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// `publish`, `sign`, `hold`, `block`, `override`, `refuse`, `gravimetric`, `label`, `bcma`, `administer`.
    pub action: String,
    pub actor: Option<String>,
    pub at: Option<String>,
    pub code: String,
    pub detail: String,
}

impl AuditEvent {
    pub(crate) fn new(
        action: &str,
        actor: Option<&str>,
        at: Option<&str>,
        code: &str,
        detail: impl Into<String>,
    ) -> AuditEvent {
        AuditEvent {
            action: action.to_string(),
            actor: actor.map(str::to_string),
            at: at.map(str::to_string),
            code: code.to_string(),
            detail: detail.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DoseLine {
    pub drug: String,
    pub route: Route,
    pub container: Option<Container>,
    pub dose_mg: Q,
    pub basis: String,
    pub capped: bool,
    pub infusion: Option<Infusion>,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Evaluation {
    pub regimen_id: String,
    pub regimen_version: String,
    pub bsa_m2: Option<Q>,
    pub bsa_formula: BsaFormula,
    /// GFR used (mL/min) and how it was obtained.
    pub gfr: Option<(Q, String)>,
    pub doses: Vec<DoseLine>,
    pub hard_stops: Vec<Finding>,
    pub holds: Vec<Finding>,
    pub requires: Vec<String>,
    /// Names the registry does not know (drugs, cumulative keys, dose units). Never "no problem".
    pub unknown: Vec<String>,
    pub supportive: Vec<SupportiveStep>,
    pub parenteral_nutrition: Option<PnAssessment>,
    pub audit: Vec<AuditEvent>,
}

impl Evaluation {
    pub fn is_blocked(&self) -> bool {
        !self.hard_stops.is_empty()
    }
}

struct Out {
    hard_stops: Vec<Finding>,
    holds: Vec<Finding>,
    requires: Vec<String>,
    unknown: Vec<String>,
}

impl Out {
    fn stop(&mut self, code: &str, drug: Option<&str>, message: String, sources: &[String]) {
        if self.hard_stops.iter().any(|f| f.code == code && f.drug.as_deref() == drug) {
            return;
        }
        self.hard_stops.push(Finding {
            code: code.to_string(),
            message,
            drug: drug.map(str::to_string),
            override_by: None,
            sources: sources.to_vec(),
        });
    }

    fn hold(&mut self, code: &str, drug: Option<&str>, message: String, by: OverrideRole, sources: &[String]) {
        if self.holds.iter().any(|f| f.code == code && f.drug.as_deref() == drug) {
            return;
        }
        self.holds.push(Finding {
            code: code.to_string(),
            message,
            drug: drug.map(str::to_string),
            override_by: Some(by),
            sources: sources.to_vec(),
        });
    }

    fn require(&mut self, what: &str) {
        if !self.requires.iter().any(|r| r == what) {
            self.requires.push(what.to_string());
        }
    }
}

fn d(q: &Q) -> String {
    format_decimal(q, 3)
}

/// GFR for Calvert and the renal hold, best source first: a measured or calculated CrCl the
/// caller gives (labs, then patient), eGFR, then Cockcroft–Gault from serum creatinine.
fn gfr_of(p: &Patient) -> Option<(Q, String)> {
    if let Some(v) = p.labs.get("crcl_ml_min") {
        return Some((v.clone(), format!("CrCl {} mL/min (labs)", d(v))));
    }
    if let Some(v) = &p.crcl_ml_min {
        return Some((v.clone(), format!("CrCl {} mL/min", d(v))));
    }
    if let Some(v) = p.labs.get("egfr_ml_min_1_73m2").or(p.egfr_ml_min_1_73m2.as_ref()) {
        return Some((v.clone(), format!("eGFR {} mL/min/1.73 m2", d(v))));
    }
    let scr = p.labs.get("serum_creatinine_umol_l").or(p.serum_creatinine_umol_l.as_ref())?;
    let (age, weight) = (p.age_in_years()?, p.weight_kg.as_ref()?);
    if scr.is_zero() {
        return None;
    }
    // Cockcroft–Gault in µmol/L: 1.23 (male) or 1.04 (female); unknown sex takes the lower
    // constant, which gives the lower carboplatin dose.
    let (k, sex) = match p.sex {
        Some(Sex::Male) => (Q::new(123.into(), 100.into()), "male"),
        Some(Sex::Female) => (Q::new(104.into(), 100.into()), "female"),
        None => (Q::new(104.into(), 100.into()), "sex unknown: female constant"),
    };
    let v = (q_int(140) - age) * weight * k / scr;
    Some((v.clone(), format!("Cockcroft-Gault {} mL/min ({sex})", d(&v))))
}

fn mg_of(amount: &Q, unit: &str) -> Option<Q> {
    let (u, mg) = (Unit::parse(unit.trim()).ok()?, Unit::parse("mg").ok()?);
    u.conversion_factor(&mg).map(|f| amount * f)
}

/// Evaluates one day of one cycle.
pub fn evaluate(req: &EvalRequest<'_>, rules: &Rules, registry: &Registry) -> Evaluation {
    let r = req.regimen;
    let p = &req.patient;
    let mut out = Out { hard_stops: vec![], holds: vec![], requires: vec![], unknown: vec![] };
    let formula = req.bsa_formula.unwrap_or(r.bsa_formula);
    let bsa = match (&p.weight_kg, &p.height_cm) {
        (Some(w), Some(h)) => body_surface_area(formula, w, h),
        _ => None,
    };
    let gfr = gfr_of(p);
    let today: Vec<&DrugStep> = r.drugs.iter().filter(|s| s.runs_on(req.cycle, req.day)).collect();

    if let Some(n) = r.cycles
        && (req.cycle == 0 || req.cycle > n)
    {
        out.hold(
            "cycle_beyond_protocol",
            None,
            format!("cycle {} is outside the {n} cycles of {}", req.cycle, r.id),
            OverrideRole::Physician,
            &r.sources,
        );
    }

    let mut doses = Vec::new();
    for step in &today {
        never_events_of_step(step, rules, registry, &mut out);
        if let Some(line) = dose_step(step, p, bsa.as_ref(), formula, gfr.as_ref(), r, &mut out) {
            doses.push(line);
        }
    }

    if !today.is_empty() {
        lab_holds(r, &today, p, gfr.as_ref(), &mut out);
        if let Some((v, basis)) = &gfr
            && v < &rules.renal_hold_below_ml_min
        {
            out.hold(
                "renal_do_not_proceed",
                None,
                format!(
                    "{basis} is below {} mL/min: do not proceed until a physician documents an override",
                    d(&rules.renal_hold_below_ml_min)
                ),
                OverrideRole::Physician,
                &rules.renal_sources,
            );
        }
        out.require("two_person_verify");
    }

    cumulative_anthracycline(req, &today, bsa.as_ref(), rules, registry, &doses, &mut out);
    orders(req, &today, &doses, bsa.as_ref(), rules, registry, &mut out);
    reapproval(req, rules, &mut out);
    version(req, &mut out);

    let parenteral_nutrition = req.parenteral_nutrition.as_ref().map(|pn| {
        let a = assess_pn(pn, rules);
        if a.central_line_required {
            out.hold(
                "central_line_required",
                None,
                format!(
                    "PN osmolarity {} mOsm/L is above {} mOsm/L: central line required before sign-off",
                    format_decimal(&a.osmolarity_mosm_l, 0),
                    d(&rules.pn_peripheral_max_mosm_l)
                ),
                OverrideRole::Physician,
                &rules.pn_sources,
            );
            out.require("central_line");
        }
        a
    });

    let supportive = r.supportive.iter().filter(|s| s.days.contains(&req.day)).cloned().collect();
    let mut audit = Vec::new();
    for f in &out.hard_stops {
        audit.push(AuditEvent::new("block", None, None, &f.code, f.message.clone()));
    }
    for f in &out.holds {
        audit.push(AuditEvent::new("hold", None, None, &f.code, f.message.clone()));
    }
    Evaluation {
        regimen_id: r.id.clone(),
        regimen_version: r.version.clone(),
        bsa_m2: bsa,
        bsa_formula: formula,
        gfr,
        doses,
        hard_stops: out.hard_stops,
        holds: out.holds,
        requires: out.requires,
        unknown: out.unknown,
        supportive,
        parenteral_nutrition,
        audit,
    }
}

fn never_events_of_step(step: &DrugStep, rules: &Rules, registry: &Registry, out: &mut Out) {
    if rules.is_vinca(registry, &step.drug) {
        vinca_checks(&step.drug, &step.route, step.container.as_ref(), rules, out);
    }
    if step.route == Route::Intrathecal && !rules.intrathecal_allowed.contains(&step.drug) {
        out.stop(
            "intrathecal_not_allowed",
            Some(&step.drug),
            format!("{} must never be given intrathecally — safety stop", step.drug),
            &rules.intrathecal_sources,
        );
    }
}

fn vinca_checks(drug: &str, route: &Route, container: Option<&Container>, rules: &Rules, out: &mut Out) {
    if route != &rules.vinca_route {
        out.stop(
            "vinca_route",
            Some(drug),
            format!(
                "{drug} by {} route: vinca alkaloids are intravenous only, fatal by other routes — safety stop",
                route.as_str()
            ),
            &rules.vinca_sources,
        );
    }
    match container {
        Some(c) if c == &rules.vinca_container => {}
        Some(Container::Syringe) => out.stop(
            "vinca_syringe",
            Some(drug),
            "Vinca must be minibag — safety stop".to_string(),
            &rules.vinca_sources,
        ),
        other => out.stop(
            "vinca_container",
            Some(drug),
            format!(
                "Vinca must be minibag — safety stop ({drug} in {})",
                other.map_or("no stated container", |c| c.as_str())
            ),
            &rules.vinca_sources,
        ),
    }
}

fn dose_step(
    step: &DrugStep,
    p: &Patient,
    bsa: Option<&Q>,
    formula: BsaFormula,
    gfr: Option<&(Q, String)>,
    r: &Regimen,
    out: &mut Out,
) -> Option<DoseLine> {
    let spec = &step.dose;
    let missing = |out: &mut Out, what: &str| {
        out.hold(
            "missing_data",
            Some(&step.drug),
            format!("{} cannot be dosed without {what}: hold until it is recorded", step.drug),
            OverrideRole::Physician,
            &step.sources,
        );
        None
    };
    let (mut dose, mut basis) = match spec.method {
        DoseMethod::Bsa => {
            let band = spec.weight_band.as_ref().zip(p.weight_kg.as_ref()).filter(|(b, w)| *w < &b.below_kg);
            if let Some((band, w)) = band {
                let v = &band.mg_per_kg * w;
                (
                    v.clone(),
                    format!(
                        "{} mg/kg x {} kg (under {} kg: per kg) = {} mg",
                        d(&band.mg_per_kg),
                        d(w),
                        d(&band.below_kg),
                        d(&v)
                    ),
                )
            } else {
                let Some(bsa) = bsa else { return missing(out, "weight and height (BSA)") };
                let amount = spec.amount.clone()?;
                let v = &amount * bsa;
                (v.clone(), format!("{} mg/m2 x {} m2 ({}) = {} mg", d(&amount), d(bsa), formula.as_str(), d(&v)))
            }
        }
        DoseMethod::Weight => {
            let Some(w) = &p.weight_kg else { return missing(out, "weight") };
            let amount = spec.amount.clone()?;
            let v = &amount * w;
            (v.clone(), format!("{} mg/kg x {} kg = {} mg", d(&amount), d(w), d(&v)))
        }
        DoseMethod::Calvert => {
            let Some((g, how)) = gfr else { return missing(out, "creatinine clearance (GFR)") };
            let auc = spec.target_auc.clone()?;
            let capped = if g > &spec.gfr_cap_ml_min { spec.gfr_cap_ml_min.clone() } else { g.clone() };
            let v = &auc * (&capped + q_int(25));
            let cap_note = if g > &spec.gfr_cap_ml_min {
                format!(", capped at {} mL/min", d(&spec.gfr_cap_ml_min))
            } else {
                String::new()
            };
            (v.clone(), format!("Calvert: AUC {} x (GFR {}{cap_note} + 25) = {} mg; {how}", d(&auc), d(&capped), d(&v)))
        }
        DoseMethod::Flat => {
            if spec.age_bands.is_empty() {
                let v = spec.amount.clone()?;
                (v.clone(), format!("flat {} mg", d(&v)))
            } else {
                let Some(age) = p.age_in_years() else { return missing(out, "age") };
                let Some(band) = spec.age_bands.iter().rev().find(|b| b.min_years <= age) else {
                    out.hold(
                        "no_dose_for_age",
                        Some(&step.drug),
                        format!("{} has no dose in {} for age {} years", step.drug, r.id, d(&age)),
                        OverrideRole::Physician,
                        &step.sources,
                    );
                    return None;
                };
                (band.mg.clone(), format!("{} mg for age {} years and over", d(&band.mg), d(&band.min_years)))
            }
        }
    };
    let factor = r
        .modifications
        .iter()
        .filter(|m| m.drug == step.drug)
        .filter(|m| p.labs.get(&m.when.lab).is_some_and(|v| m.when.holds(v)))
        .map(|m| (m.factor.clone(), m.when.describe()))
        .min_by(|a, b| a.0.cmp(&b.0));
    if let Some((f, why)) = factor {
        dose = &dose * &f;
        basis = format!("{basis}; x {} for {why} = {} mg", d(&f), d(&dose));
    }
    let mut capped = false;
    if let Some(cap) = &spec.cap_mg
        && &dose > cap
    {
        basis = format!("{basis}; capped at {} mg", d(cap));
        dose = cap.clone();
        capped = true;
    }
    Some(DoseLine {
        drug: step.drug.clone(),
        route: step.route.clone(),
        container: step.container.clone(),
        dose_mg: dose,
        basis,
        capped,
        infusion: step.infusion.clone(),
        sources: step.sources.clone(),
    })
}

fn lab_holds(r: &Regimen, today: &[&DrugStep], p: &Patient, gfr: Option<&(Q, String)>, out: &mut Out) {
    for h in &r.holds {
        if !h.drugs.is_empty() && !today.iter().any(|s| h.drugs.contains(&s.drug)) {
            continue;
        }
        let value = p.labs.get(&h.when.lab).cloned().or_else(|| match h.when.lab.as_str() {
            "crcl_ml_min" => gfr.map(|g| g.0.clone()),
            _ => None,
        });
        let drug = (h.drugs.len() == 1).then(|| h.drugs[0].as_str());
        match value {
            None => out.hold(
                "lab_missing",
                None,
                format!("{} not given: hold until a result is available (rule {})", h.when.lab, h.code),
                h.override_by,
                &h.sources,
            ),
            Some(v) if h.when.holds(&v) => {
                out.hold(&h.code, drug, format!("{} (value {})", h.message, d(&v)), h.override_by, &h.sources)
            }
            Some(_) => {}
        }
    }
}

fn resolve(registry: &Registry, name: &str) -> Option<String> {
    registry.resolve(name).map(|r| registry.generic(r.generic).inn.clone())
}

fn cumulative_anthracycline(
    req: &EvalRequest<'_>,
    today: &[&DrugStep],
    bsa: Option<&Q>,
    rules: &Rules,
    registry: &Registry,
    doses: &[DoseLine],
    out: &mut Out,
) {
    let mut prior: BTreeMap<String, Q> = BTreeMap::new();
    for (name, c) in &req.cumulative {
        let Some(drug) = resolve(registry, name) else {
            out.unknown.push(format!("cumulative.{name}"));
            continue;
        };
        let per_m2 = if c.unit.replace(' ', "").eq_ignore_ascii_case("mg/m2") {
            Some(c.value.clone())
        } else {
            match (mg_of(&c.value, &c.unit), bsa) {
                (Some(mg), Some(b)) if !b.is_zero() => Some(mg / b),
                (Some(_), _) => {
                    out.hold(
                        "missing_data",
                        Some(&drug),
                        format!("cumulative {drug} in {} needs the BSA to compare with the limit", c.unit),
                        OverrideRole::Physician,
                        &rules.anthracycline_sources,
                    );
                    None
                }
                (None, _) => {
                    out.unknown.push(format!("cumulative.{name}.unit"));
                    None
                }
            }
        };
        if let Some(v) = per_m2 {
            *prior.entry(drug).or_insert_with(Q::zero) += v;
        }
    }
    for step in today.iter().filter(|s| rules.is_anthracycline(registry, &s.drug)) {
        let limit =
            step.cumulative_limit_mg_m2.clone().or_else(|| rules.anthracycline_limits_mg_m2.get(&step.drug).cloned());
        let Some(limit) = limit else { continue };
        let this = match (doses.iter().find(|l| l.drug == step.drug), bsa) {
            (Some(l), Some(b)) if !b.is_zero() => &l.dose_mg / b,
            _ => step.dose.amount.clone().unwrap_or_else(Q::zero),
        };
        let before = prior.get(&step.drug).cloned().unwrap_or_else(Q::zero);
        let after = &before + &this;
        if !req.cumulative.keys().any(|k| resolve(registry, k).as_deref() == Some(&step.drug)) {
            out.require("cumulative_dose_history");
        }
        // Reaching the lifetime limit is already the decision point: the next dose would pass it.
        if after >= limit {
            out.hold(
                "cumulative_anthracycline",
                Some(&step.drug),
                format!(
                    "cumulative {} would reach {} mg/m2 ({} before + {} now), at or above the lifetime limit of {} mg/m2: cardiology override required",
                    step.drug,
                    d(&after),
                    d(&before),
                    d(&this),
                    d(&limit)
                ),
                OverrideRole::Cardiologist,
                &rules.anthracycline_sources,
            );
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn orders(
    req: &EvalRequest<'_>,
    today: &[&DrugStep],
    doses: &[DoseLine],
    bsa: Option<&Q>,
    rules: &Rules,
    registry: &Registry,
    out: &mut Out,
) {
    let mut resolved = Vec::new();
    for (i, o) in req.orders.iter().enumerate() {
        let Some(drug) = resolve(registry, &o.drug) else {
            out.unknown.push(o.drug.clone());
            continue;
        };
        let step = today.iter().find(|s| s.drug == drug);
        let route = o.route.as_deref().map(Route::parse).or_else(|| step.map(|s| s.route.clone()));
        let container = o.container.as_deref().map(Container::parse).or_else(|| step.and_then(|s| s.container.clone()));
        let Some(route) = route else {
            out.hold(
                "route_missing",
                Some(&drug),
                format!("order {} ({drug}) has no route", i + 1),
                OverrideRole::Physician,
                &[],
            );
            continue;
        };
        resolved.push((drug.clone(), route.clone()));
        if rules.is_vinca(registry, &drug) {
            vinca_checks(&drug, &route, container.as_ref(), rules, out);
        }
        if route == Route::Intrathecal && !rules.intrathecal_allowed.contains(&drug) {
            out.stop(
                "intrathecal_not_allowed",
                Some(&drug),
                format!("{drug} must never be given intrathecally — safety stop"),
                &rules.intrathecal_sources,
            );
        }
        let Some(step) = step else {
            out.hold(
                "order_not_in_regimen",
                Some(&drug),
                format!("{drug} is not part of {} on cycle {} day {}", req.regimen.id, req.cycle, req.day),
                OverrideRole::Physician,
                &req.regimen.sources,
            );
            continue;
        };
        if route != step.route && !rules.is_vinca(registry, &drug) {
            out.hold(
                "route_mismatch",
                Some(&drug),
                format!("{drug} ordered {} but the regimen gives it {}", route.as_str(), step.route.as_str()),
                OverrideRole::Physician,
                &step.sources,
            );
        }
        let Some((amount, unit)) = &o.dose else { continue };
        // A dose written per m² or per kg is the amount for this patient.
        let u = unit.trim();
        let ordered = match (mg_of(amount, u), u.strip_suffix("/m2"), u.strip_suffix("/kg")) {
            (Some(mg), _, _) => Some(mg),
            (None, Some(mass), _) => mg_of(amount, mass).zip(bsa).map(|(mg, b)| mg * b),
            (None, _, Some(mass)) => mg_of(amount, mass).zip(req.patient.weight_kg.as_ref()).map(|(mg, w)| mg * w),
            _ => None,
        };
        let Some(ordered) = ordered else {
            out.unknown.push(format!("orders[{i}].dose.unit: {unit}"));
            continue;
        };
        let cap = match step.dose.method {
            DoseMethod::Calvert => {
                step.dose.target_auc.as_ref().map(|auc| auc * (&step.dose.gfr_cap_ml_min + q_int(25)))
            }
            _ => step.dose.cap_mg.clone(),
        };
        if let Some(cap) = &cap
            && &ordered > cap
        {
            let why = match step.dose.method {
                DoseMethod::Calvert => format!(
                    "the most Calvert allows is {} mg (AUC x (GFR capped at {} + 25))",
                    d(cap),
                    d(&step.dose.gfr_cap_ml_min)
                ),
                _ => format!("the cap is {} mg", d(cap)),
            };
            let mut sources = step.sources.clone();
            if step.dose.method == DoseMethod::Calvert {
                sources.extend(rules.calvert_sources.iter().cloned());
            }
            out.stop(
                "dose_above_cap",
                Some(&drug),
                format!("{drug} {} mg ordered: {why} — safety stop", d(&ordered)),
                &sources,
            );
            continue;
        }
        if let Some(line) = doses.iter().find(|l| l.drug == drug) {
            let off = relative_change(&ordered, &line.dose_mg);
            if off * q_int(100) > rules.dose_tolerance_pct {
                out.hold(
                    "dose_deviation",
                    Some(&drug),
                    format!(
                        "{drug} {} mg ordered, {} mg calculated ({}): more than {}% apart",
                        d(&ordered),
                        d(&line.dose_mg),
                        line.basis,
                        d(&rules.dose_tolerance_pct)
                    ),
                    OverrideRole::Physician,
                    &rules.tolerance_sources,
                );
            }
        }
    }
    let vinca = resolved.iter().find(|(drug, _)| rules.is_vinca(registry, drug));
    let intrathecal = resolved
        .iter()
        .find(|(drug, route)| *route == Route::Intrathecal && rules.intrathecal_never_with_vinca.contains(drug));
    if let (Some((v, _)), Some((it, _))) = (vinca, intrathecal) {
        out.stop(
            "vinca_with_intrathecal",
            Some(v),
            format!("{v} co-signed in the same session as intrathecal {it}: intrathecal drugs are issued and checked apart from vinca alkaloids — safety stop"),
            &rules.intrathecal_sources,
        );
    }
}

fn reapproval(req: &EvalRequest<'_>, rules: &Rules, out: &mut Out) {
    let Some(a) = &req.approval else { return };
    let p = &req.patient;
    if let (Some(then), Some(now)) = (&a.weight_kg, &p.weight_kg)
        && relative_change(now, then) * q_int(100) > rules.reapproval_weight_pct
    {
        out.require("re_approval");
    }
    let scr_now = p.labs.get("serum_creatinine_umol_l").or(p.serum_creatinine_umol_l.as_ref());
    if let (Some(then), Some(now)) = (&a.serum_creatinine_umol_l, scr_now)
        && relative_change(now, then) * q_int(100) > rules.reapproval_creatinine_pct
    {
        out.require("re_approval");
    }
}

fn version(req: &EvalRequest<'_>, out: &mut Out) {
    let r = req.regimen;
    let approved_other =
        req.approval.as_ref().and_then(|a| a.regimen_version.as_ref()).is_some_and(|v| v != &r.version);
    let out_of_window =
        req.today.is_some_and(|t| r.effective_to.is_some_and(|e| t > e) || r.effective_from.is_some_and(|f| t < f));
    if approved_other || out_of_window || r.superseded_by.is_some() {
        out.require("confirm_regimen_version");
    }
}
