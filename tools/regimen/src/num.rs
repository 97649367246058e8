//! Exact numbers: regimen data and patient values become rationals at the edge, so a dose of
//! 1.4 mg/m² × 1.82 m² is exactly 2.548 mg and a Calvert dose is exact to the milligram.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{Signed, ToPrimitive, Zero};
use rxgate_units::Number;

/// An exact rational.
pub type Q = BigRational;

/// Reads `1.4`, `75`, `1/3` or `2.5e-3` exactly.
pub fn parse_q(text: &str) -> Option<Q> {
    Number::parse(text.trim()).ok().map(Number::into_ratio)
}

pub(crate) fn q_int(v: i64) -> Q {
    Q::from_integer(BigInt::from(v))
}

pub(crate) fn q_frac(n: i64, d: i64) -> Q {
    Q::new(BigInt::from(n), BigInt::from(d))
}

/// From a JSON/TOML float: its shortest decimal text is what the author wrote.
pub(crate) fn q_from_f64(v: f64) -> Option<Q> {
    if !v.is_finite() {
        return None;
    }
    parse_q(&format!("{v}"))
}

pub(crate) fn to_f64(q: &Q) -> f64 {
    q.numer().to_f64().unwrap_or(f64::NAN) / q.denom().to_f64().unwrap_or(f64::NAN)
}

/// Rounds half away from zero to `digits` decimals, exactly.
pub(crate) fn round_to(q: &Q, digits: u32) -> Q {
    let scale = Q::from_integer(BigInt::from(10u32).pow(digits));
    let scaled = q * &scale;
    let half = q_frac(1, 2);
    let rounded = if scaled.is_negative() { (scaled - half).ceil() } else { (scaled + half).floor() };
    rounded / scale
}

/// A rational as a decimal with at most `digits` places, trailing zeros dropped.
pub fn format_decimal(q: &Q, digits: u32) -> String {
    let r = round_to(q, digits);
    let text = Number::from(r).to_decimal_string(digits);
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_string() } else { text }
}

/// `a` relative to `b`, as a fraction (`0.1` is 10 %). `b` must not be zero.
pub(crate) fn relative_change(a: &Q, b: &Q) -> Q {
    if b.is_zero() {
        return Q::zero();
    }
    ((a - b) / b).abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_read_exactly_and_printed_back() {
        let q = parse_q("1.4").unwrap() * parse_q("1.82").unwrap();
        assert_eq!(q, q_frac(2548, 1000));
        assert_eq!(format_decimal(&q, 2), "2.55");
        assert_eq!(format_decimal(&q_int(45), 2), "45");
    }
}
