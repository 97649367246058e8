//! Body surface area. The square root (Mosteller) and the powers (DuBois) are the only
//! inexact steps in dosing; the result is rounded to 0.01 m² — the precision a prescriber
//! writes and the one every later multiplication starts from exactly.

use crate::num::{Q, q_from_f64, round_to, to_f64};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BsaFormula {
    /// √(height cm × weight kg / 3600) (Mosteller, NEJM 1987).
    Mosteller,
    /// 0.007184 × W^0.425 × H^0.725 (Du Bois & Du Bois 1916).
    DuBois,
}

impl BsaFormula {
    pub fn parse(text: &str) -> Option<BsaFormula> {
        match text.trim().to_lowercase().replace(['-', '_', ' '], "").as_str() {
            "mosteller" => Some(BsaFormula::Mosteller),
            "dubois" => Some(BsaFormula::DuBois),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BsaFormula::Mosteller => "Mosteller",
            BsaFormula::DuBois => "DuBois",
        }
    }
}

/// BSA in m², rounded to 0.01 m². `None` for a non-positive height or weight.
pub fn body_surface_area(formula: BsaFormula, weight_kg: &Q, height_cm: &Q) -> Option<Q> {
    let (w, h) = (to_f64(weight_kg), to_f64(height_cm));
    if !(w > 0.0 && h > 0.0) {
        return None;
    }
    let m2 = match formula {
        BsaFormula::Mosteller => (w * h / 3600.0).sqrt(),
        BsaFormula::DuBois => 0.007184 * w.powf(0.425) * h.powf(0.725),
    };
    // Round via 6 decimals first so that binary noise (1.8249999…) cannot flip the cent.
    q_from_f64((m2 * 1e6).round() / 1e6).map(|q| round_to(&q, 2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::num::{parse_q, q_frac};

    fn bsa(f: BsaFormula, w: &str, h: &str) -> Q {
        body_surface_area(f, &parse_q(w).unwrap(), &parse_q(h).unwrap()).unwrap()
    }

    #[test]
    fn mosteller_matches_the_published_formula() {
        // √(170 × 70 / 3600) = 1.8181 → 1.82 m²
        assert_eq!(bsa(BsaFormula::Mosteller, "70", "170"), q_frac(182, 100));
        // √(180 × 80 / 3600) = 2.0 exactly
        assert_eq!(bsa(BsaFormula::Mosteller, "80", "180"), q_frac(2, 1));
    }

    #[test]
    fn dubois_differs_from_mosteller_for_the_same_patient() {
        // 0.007184 × 70^0.425 × 170^0.725 = 1.8097 → 1.81 m²
        assert_eq!(bsa(BsaFormula::DuBois, "70", "170"), q_frac(181, 100));
    }

    #[test]
    fn a_missing_or_zero_measurement_gives_no_bsa() {
        assert!(body_surface_area(BsaFormula::Mosteller, &parse_q("0").unwrap(), &parse_q("170").unwrap()).is_none());
    }
}
