//! Kidney function and body surface area from a patient's numbers.
//!
//! Cockcroft–Gault, bedside Schwartz and the unit conversions are rational, so they are
//! computed exactly. CKD-EPI 2021 has non-integer powers and Mosteller a square root:
//! CKD-EPI is computed in `f64` and rounded to 0.1 mL/min/1.73 m² (laboratories report
//! whole numbers, so this is finer than any report); Mosteller is computed with an exact
//! integer square root and rounded half up to 0.01 m², as BSA is written on charts and
//! chemotherapy orders. These are the only roundings in dose checking.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::Signed;
use rxgate_units::Number;

/// Biological sex, as the kidney-function equations use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    Female,
    Male,
}

impl Sex {
    pub fn parse(text: &str) -> Option<Sex> {
        match text.trim().to_lowercase().as_str() {
            "female" | "f" | "woman" => Some(Sex::Female),
            "male" | "m" | "man" => Some(Sex::Male),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Female => "female",
            Sex::Male => "male",
        }
    }
}

fn n(text: &str) -> Number {
    Number::parse(text).expect("constant")
}

fn mul(a: &Number, b: &Number) -> Number {
    Number::from(a.as_ratio() * b.as_ratio())
}

fn div(a: &Number, b: &Number) -> Option<Number> {
    (!b.is_zero()).then(|| Number::from(a.as_ratio() / b.as_ratio()))
}

/// µmol/L of creatinine per mg/dL.
pub fn creatinine_umol_per_mg_dl() -> Number {
    n("88.4")
}

/// Creatinine clearance (mL/min) by Cockcroft–Gault with creatinine in µmol/L:
/// (140 − age) × weight (kg) × k / SCr, with k = 1.23 for men and 1.04 for women
/// (the µmol/L form of ÷ 72 and × 0.85). `None` when creatinine is not positive.
/// Ages over 140 give 0 rather than a negative clearance.
pub fn cockcroft_gault(age_years: &Number, weight_kg: &Number, sex: Sex, creatinine_umol_l: &Number) -> Option<Number> {
    if !creatinine_umol_l.as_ratio().is_positive() {
        return None;
    }
    let k = match sex {
        Sex::Male => n("1.23"),
        Sex::Female => n("1.04"),
    };
    let years_left = Number::from(BigRational::from_integer(BigInt::from(140)) - age_years.as_ratio());
    let years_left = if years_left.is_negative() { Number::zero() } else { years_left };
    div(&mul(&mul(&years_left, weight_kg), &k), creatinine_umol_l)
}

/// eGFR (mL/min/1.73 m²) in children by the bedside Schwartz equation (2009):
/// 0.413 × height (cm) / SCr (mg/dL), with SCr (mg/dL) = SCr (µmol/L) ÷ 88.4.
pub fn schwartz_bedside(height_cm: &Number, creatinine_umol_l: &Number) -> Option<Number> {
    if !creatinine_umol_l.as_ratio().is_positive() {
        return None;
    }
    let scr_mg_dl = div(creatinine_umol_l, &creatinine_umol_per_mg_dl())?;
    div(&mul(&n("0.413"), height_cm), &scr_mg_dl)
}

/// eGFR (mL/min/1.73 m²) by the race-free CKD-EPI 2021 creatinine equation (Inker, NEJM
/// 2021): 142 × min(SCr/κ, 1)^α × max(SCr/κ, 1)^−1.200 × 0.9938^age × 1.012 (female),
/// κ = 0.7 (F) / 0.9 (M), α = −0.241 (F) / −0.302 (M), SCr in mg/dL. Rounded to 0.1.
pub fn ckd_epi_2021(age_years: &Number, sex: Sex, creatinine_umol_l: &Number) -> Option<Number> {
    if !creatinine_umol_l.as_ratio().is_positive() {
        return None;
    }
    let scr = creatinine_umol_l.to_f64() / 88.4;
    let (kappa, alpha, female) = match sex {
        Sex::Female => (0.7, -0.241, 1.012),
        Sex::Male => (0.9, -0.302, 1.0),
    };
    let ratio = scr / kappa;
    let egfr =
        142.0 * ratio.min(1.0).powf(alpha) * ratio.max(1.0).powf(-1.200) * 0.9938_f64.powf(age_years.to_f64()) * female;
    if !egfr.is_finite() {
        return None;
    }
    Number::parse(&format!("{egfr:.1}")).ok()
}

/// Body surface area (m²) by Mosteller: √(height (cm) × weight (kg) / 3600), rounded half
/// up to 0.01 m². The square root is taken exactly on integers, never in floating point.
pub fn mosteller_bsa(height_cm: &Number, weight_kg: &Number) -> Option<Number> {
    let product = mul(height_cm, weight_kg);
    if !product.as_ratio().is_positive() {
        return None;
    }
    // floor(√(x · 10^8)) = floor(√x · 10^4): four decimals, then round to two.
    let scaled = product.as_ratio() * BigRational::from_integer(BigInt::from(100_000_000u64)) / BigInt::from(3600);
    let floor = scaled.floor().to_integer();
    let root = floor.sqrt();
    let hundredths = (root + BigInt::from(50)) / BigInt::from(100);
    Some(Number::from(BigRational::new(hundredths, BigInt::from(100))))
}

/// An age in whole and fractional years from days (365.25 days a year).
pub fn years_from_days(days: &Number) -> Number {
    Number::from(days.as_ratio() * BigRational::new(BigInt::from(4), BigInt::from(1461)))
}

/// A finite `f64` as an exact number, through its shortest decimal text (`7.5` → 15/2).
/// For callers that receive JSON numbers; `None` for NaN and infinities.
pub fn number_from_f64(value: f64) -> Option<Number> {
    if !value.is_finite() {
        return None;
    }
    Number::parse(&value.to_string()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(value: Option<Number>) -> String {
        value.expect("a value").to_exact_string()
    }

    #[test]
    fn cockcroft_gault_worked_examples() {
        // 60-year-old man, 72 kg, SCr 1.0 mg/dL (88.4 µmol/L): the mg/dL form gives 80 mL/min;
        // the µmol/L constant 1.23 gives 80 × 72 × 1.23 / 88.4 = 17712/221 ≈ 80.1.
        assert_eq!(exact(cockcroft_gault(&n("60"), &n("72"), Sex::Male, &n("88.4"))), "17712/221");
        // 80-year-old woman, 50 kg, SCr 120 µmol/L: 60 × 50 × 1.04 / 120 = 26 mL/min.
        assert_eq!(exact(cockcroft_gault(&n("80"), &n("50"), Sex::Female, &n("120"))), "26");
        // 45-year-old man, 80 kg, SCr 100 µmol/L: 95 × 80 × 1.23 / 100 = 93.48 mL/min.
        assert_eq!(cockcroft_gault(&n("45"), &n("80"), Sex::Male, &n("100")).unwrap().to_decimal_string(2), "93.48");
        assert_eq!(cockcroft_gault(&n("45"), &n("80"), Sex::Male, &n("0")), None);
    }

    #[test]
    fn bedside_schwartz_worked_examples() {
        // 120 cm, SCr 0.6 mg/dL (53.04 µmol/L): 0.413 × 120 / 0.6 = 82.6.
        assert_eq!(exact(schwartz_bedside(&n("120"), &n("53.04"))), "413/5");
        // 100 cm, SCr 0.4 mg/dL (35.36 µmol/L): 0.413 × 100 / 0.4 = 103.25.
        assert_eq!(schwartz_bedside(&n("100"), &n("35.36")).unwrap().to_decimal_string(2), "103.25");
    }

    #[test]
    fn ckd_epi_2021_matches_published_calculator_values() {
        // NKF CKD-EPI 2021 calculator: 50-year-old man, SCr 1.0 mg/dL → 92.
        let man = ckd_epi_2021(&n("50"), Sex::Male, &n("88.4")).unwrap();
        assert_eq!(man.to_decimal_string(0), "92");
        // 50-year-old woman, SCr 1.0 mg/dL → 69.
        let woman = ckd_epi_2021(&n("50"), Sex::Female, &n("88.4")).unwrap();
        assert_eq!(woman.to_decimal_string(0), "69");
        // 70-year-old man, SCr 2.0 mg/dL → 35.
        let older = ckd_epi_2021(&n("70"), Sex::Male, &n("176.8")).unwrap();
        assert_eq!(older.to_decimal_string(0), "35");
    }

    #[test]
    fn mosteller_worked_examples() {
        assert_eq!(exact(mosteller_bsa(&n("180"), &n("80"))), "2"); // √4
        assert_eq!(mosteller_bsa(&n("170"), &n("70")).unwrap().to_decimal_string(2), "1.82"); // √3.3056 = 1.8181
        assert_eq!(mosteller_bsa(&n("110"), &n("18")).unwrap().to_decimal_string(2), "0.74"); // √0.55 = 0.7416
        assert_eq!(mosteller_bsa(&n("0"), &n("18")), None);
    }

    #[test]
    fn json_numbers_become_exact() {
        assert_eq!(number_from_f64(7.5).unwrap().to_exact_string(), "15/2");
        assert_eq!(number_from_f64(0.1).unwrap().to_exact_string(), "1/10");
        assert!(number_from_f64(f64::NAN).is_none());
        assert_eq!(years_from_days(&n("1461")).to_exact_string(), "4");
    }
}
