//! Neonatal parenteral nutrition: estimated osmolarity (peripheral line at most 900 mOsm/L)
//! and glucose infusion rate.

use crate::num::{Q, q_int};
use crate::rules::Rules;

/// A day's PN bag as ordered. Percentages are g/100 mL of the final bag; electrolytes are
/// mmol/L of the final bag.
#[derive(Debug, Clone)]
pub struct PnOrder {
    pub weight_kg: Q,
    pub volume_ml_per_day: Q,
    pub dextrose_percent: Q,
    pub amino_acid_percent: Q,
    pub sodium_mmol_l: Q,
    pub potassium_mmol_l: Q,
    /// Laboratory or compounder's stated osmolarity, used instead of the estimate when given.
    pub stated_osmolarity_mosm_l: Option<Q>,
    /// Already on a central line: the osmolarity is reported but does not hold sign-off.
    pub central_line: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PnAssessment {
    pub osmolarity_mosm_l: Q,
    /// `estimated` (dextrose 5, amino acids 10 mOsm/g; Na and K 2 mOsm/mmol with their anion) or `stated`.
    pub osmolarity_basis: &'static str,
    pub gir_mg_kg_min: Q,
    pub dextrose_g_per_day: Q,
    pub central_line_required: bool,
}

/// Estimates osmolarity and computes GIR = dextrose mg per day / (weight kg × 1440 min).
pub fn assess_pn(order: &PnOrder, rules: &Rules) -> PnAssessment {
    // g/L = percent × 10.
    let dextrose_g_l = &order.dextrose_percent * q_int(10);
    let amino_g_l = &order.amino_acid_percent * q_int(10);
    let estimated =
        &dextrose_g_l * q_int(5) + &amino_g_l * q_int(10) + (&order.sodium_mmol_l + &order.potassium_mmol_l) * q_int(2);
    let (osmolarity, basis) = match &order.stated_osmolarity_mosm_l {
        Some(s) => (s.clone(), "stated"),
        None => (estimated, "estimated"),
    };
    let dextrose_g_per_day = &order.dextrose_percent * &order.volume_ml_per_day / q_int(100);
    let gir = if order.weight_kg > q_int(0) {
        &dextrose_g_per_day * q_int(1000) / (&order.weight_kg * q_int(1440))
    } else {
        q_int(0)
    };
    PnAssessment {
        central_line_required: osmolarity > rules.pn_peripheral_max_mosm_l && !order.central_line,
        osmolarity_mosm_l: osmolarity,
        osmolarity_basis: basis,
        gir_mg_kg_min: gir,
        dextrose_g_per_day,
    }
}
