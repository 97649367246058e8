//! Device hooks at compounding and administration: the gravimetric check, the BCMA match
//! (wristband + product scan against the order), and the smart-pump profile.

use chrono::NaiveDate;
use num_traits::Zero;
use rxgate_knowledge::Registry;
use serde_json::json;

use crate::model::Infusion;
use crate::num::{Q, format_decimal, q_int, relative_change, round_to};
use crate::rules::Rules;

/// The weighed preparation against the weight it should have.
#[derive(Debug, Clone, PartialEq)]
pub struct GravimetricResult {
    pub expected_g: Q,
    pub measured_g: Q,
    /// |measured − expected| / expected.
    pub deviation: Q,
    pub within_tolerance: bool,
}

impl GravimetricResult {
    pub fn deviation_pct_text(&self) -> String {
        format_decimal(&(&self.deviation * q_int(100)), 1)
    }
}

/// Expected weight of a drug volume: volume × specific gravity (g/mL).
pub fn expected_weight_g(volume_ml: &Q, specific_gravity: &Q) -> Q {
    volume_ml * specific_gravity
}

/// A deviation above the tolerance (10 %) blocks the label until a supervisor overrides.
pub fn gravimetric_check(expected_g: &Q, measured_g: &Q, rules: &Rules) -> GravimetricResult {
    let deviation = if expected_g.is_zero() { q_int(1) } else { relative_change(measured_g, expected_g) };
    GravimetricResult {
        expected_g: expected_g.clone(),
        measured_g: measured_g.clone(),
        within_tolerance: !expected_g.is_zero() && &deviation * q_int(100) <= rules.gravimetric_tolerance_pct,
        deviation,
    }
}

/// What administration must match.
#[derive(Debug, Clone)]
pub struct BcmaExpectation {
    pub patient_id: String,
    /// The ordered generic (INN).
    pub drug: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BcmaProblem {
    WrongPatient,
    UnreadableProduct,
    UnknownProduct,
    WrongProduct,
    Expired,
}

impl BcmaProblem {
    pub fn as_str(self) -> &'static str {
        match self {
            BcmaProblem::WrongPatient => "wrong_patient",
            BcmaProblem::UnreadableProduct => "unreadable_product",
            BcmaProblem::UnknownProduct => "unknown_product",
            BcmaProblem::WrongProduct => "wrong_product",
            BcmaProblem::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BcmaResult {
    pub matched: bool,
    pub problems: Vec<BcmaProblem>,
    /// The generic the product scan resolved to.
    pub scanned_drug: Option<String>,
}

/// Wristbands print the id with a prefix (`MRN:`) or none; compare the id itself.
fn wristband_id(scan: &str) -> String {
    let s = scan.trim();
    let s = s.split_once(':').map_or(s, |(_, id)| id);
    s.trim().to_uppercase()
}

/// The patient's wristband and the product (GS1) must both match the order.
pub fn bcma_check(
    expected: &BcmaExpectation,
    wristband: &str,
    product_scan: &str,
    registry: &Registry,
    today: NaiveDate,
) -> BcmaResult {
    let mut problems = Vec::new();
    if wristband_id(wristband) != expected.patient_id.trim().to_uppercase() || wristband.trim().is_empty() {
        problems.push(BcmaProblem::WrongPatient);
    }
    let parsed = rxgate_barcode::parse(product_scan, today);
    let mut scanned_drug = None;
    match parsed.scan.gtin() {
        None => problems.push(BcmaProblem::UnreadableProduct),
        Some(g) => match registry.product_by_gtin(g.as_str()) {
            None => problems.push(BcmaProblem::UnknownProduct),
            Some(pid) => {
                let inn = registry.generic(registry.product(pid).generic).inn.clone();
                let expected_inn = registry.resolve(&expected.drug).map(|r| registry.generic(r.generic).inn.clone());
                if expected_inn.as_deref() != Some(inn.as_str()) {
                    problems.push(BcmaProblem::WrongProduct);
                }
                scanned_drug = Some(inn);
            }
        },
    }
    if parsed.scan.expiry().is_some_and(|e| rxgate_barcode::is_expired(e, today)) {
        problems.push(BcmaProblem::Expired);
    }
    BcmaResult { matched: problems.is_empty(), problems, scanned_drug }
}

/// What a smart pump needs to run an infusion, all exact.
#[derive(Debug, Clone, PartialEq)]
pub struct PumpProfile {
    pub drug: String,
    pub dose_mg: Q,
    pub concentration_mg_ml: Q,
    pub rate_ml_h: Q,
    pub vtbi_ml: Q,
    pub duration_min: Q,
    pub patient_id: String,
    pub order_id: String,
}

/// Builds the profile from the dose and the regimen's final volume and duration.
pub fn pump_profile(
    drug: &str,
    dose_mg: &Q,
    infusion: &Infusion,
    patient_id: &str,
    order_id: &str,
) -> Option<PumpProfile> {
    if infusion.volume_ml.is_zero() || infusion.minutes.is_zero() {
        return None;
    }
    Some(PumpProfile {
        drug: drug.to_string(),
        dose_mg: dose_mg.clone(),
        concentration_mg_ml: dose_mg / &infusion.volume_ml,
        rate_ml_h: &infusion.volume_ml * q_int(60) / &infusion.minutes,
        vtbi_ml: infusion.volume_ml.clone(),
        duration_min: infusion.minutes.clone(),
        patient_id: patient_id.to_string(),
        order_id: order_id.to_string(),
    })
}

impl PumpProfile {
    /// The pump-ready export (`rxgate-pump-profile/1`): numbers as decimals at the pump's
    /// resolution (rate 0.1 mL/h, volume 0.1 mL, concentration 0.001 mg/mL), each with its
    /// exact fraction beside it so a pump library can check the rounding.
    pub fn to_json(&self) -> serde_json::Value {
        let num = |q: &Q, digits: u32, unit: &str| {
            let shown = round_to(q, digits);
            json!({
                "value": crate::num::to_f64(&shown),
                "exact": format!("{}", q),
                "unit": unit,
            })
        };
        json!({
            "format": "rxgate-pump-profile/1",
            "order_id": self.order_id,
            "patient_id": self.patient_id,
            "drug": self.drug,
            "dose": num(&self.dose_mg, 2, "mg"),
            "concentration": num(&self.concentration_mg_ml, 3, "mg/mL"),
            "rate": num(&self.rate_ml_h, 1, "mL/h"),
            "vtbi": num(&self.vtbi_ml, 1, "mL"),
            "duration_min": num(&self.duration_min, 0, "min"),
        })
    }
}
