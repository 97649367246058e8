//! Exact rational numbers as clinicians write them: `"0.1"`, `"2.5e-3"`, `"1/3"`.
//!
//! Every number is a [`BigRational`] so that `1/3 mL × 3` is exactly `1 mL`; the
//! floating-point form exists only for display.

use std::fmt;
use std::str::FromStr;

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};

use crate::error::NumberError;

/// An exact rational number.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Number(BigRational);

impl Number {
    /// Parses a decimal (`"0.1"`, `"-2"`, `"2.5e-3"`) or a fraction of two decimals (`"1/3"`).
    pub fn parse(text: &str) -> Result<Number, NumberError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(NumberError::Empty);
        }
        match trimmed.split_once('/') {
            Some((numerator, denominator)) => {
                let numerator = parse_decimal(numerator.trim(), text)?;
                let denominator = parse_decimal(denominator.trim(), text)?;
                if denominator.is_zero() {
                    return Err(NumberError::DivisionByZero { text: text.to_owned() });
                }
                Ok(Number(numerator / denominator))
            }
            None => parse_decimal(trimmed, text).map(Number),
        }
    }

    /// Builds a number from an integer.
    pub fn from_integer(value: i64) -> Number {
        Number(BigRational::from_integer(BigInt::from(value)))
    }

    /// Builds `numerator / denominator`; `None` when the denominator is zero.
    pub fn from_fraction(numerator: i64, denominator: i64) -> Option<Number> {
        if denominator == 0 {
            return None;
        }
        Some(Number(BigRational::new(BigInt::from(numerator), BigInt::from(denominator))))
    }

    /// Zero.
    pub fn zero() -> Number {
        Number(BigRational::zero())
    }

    /// One.
    pub fn one() -> Number {
        Number(BigRational::one())
    }

    /// The exact value.
    pub fn as_ratio(&self) -> &BigRational {
        &self.0
    }

    /// The exact value, by value.
    pub fn into_ratio(self) -> BigRational {
        self.0
    }

    /// True for whole numbers.
    pub fn is_integer(&self) -> bool {
        self.0.is_integer()
    }

    /// True for zero.
    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    /// True for values below zero.
    pub fn is_negative(&self) -> bool {
        self.0.is_negative()
    }

    /// The nearest `f64`, for display only; never feed it back into a calculation.
    pub fn to_f64(&self) -> f64 {
        ratio_to_f64(&self.0)
    }

    /// The exact form: `"10/3"`, `"5"`, `"-1/2"`.
    pub fn to_exact_string(&self) -> String {
        self.to_string()
    }

    /// A decimal rounded half away from zero to at most `digits` fractional digits,
    /// with trailing zeros removed (`10/3` → `"3.3333"` for 4 digits).
    pub fn to_decimal_string(&self, digits: u32) -> String {
        let scale = BigInt::from(10u32).pow(digits);
        let scaled = &self.0 * BigRational::from_integer(scale.clone());
        let rounded = scaled.round().to_integer();
        let negative = rounded.is_negative();
        let magnitude = rounded.abs();
        let whole = &magnitude / &scale;
        let fraction = &magnitude % &scale;
        let mut text = if negative { format!("-{whole}") } else { whole.to_string() };
        if digits > 0 && !fraction.is_zero() {
            let fraction = format!("{:0>width$}", fraction, width = digits as usize);
            text.push('.');
            text.push_str(fraction.trim_end_matches('0'));
        }
        text
    }
}

/// Converts a rational to the nearest `f64` without overflowing on huge numerators.
pub(crate) fn ratio_to_f64(value: &BigRational) -> f64 {
    if let (Some(n), Some(d)) = (value.numer().to_f64(), value.denom().to_f64())
        && n.is_finite()
        && d.is_finite()
        && d != 0.0
    {
        return n / d;
    }
    // Both parts are too large for f64: shift them down together.
    let bits = value.numer().bits().max(value.denom().bits());
    let shift = bits.saturating_sub(1000);
    let n = (value.numer() >> shift).to_f64().unwrap_or(f64::NAN);
    let d = (value.denom() >> shift).to_f64().unwrap_or(f64::NAN);
    n / d
}

fn parse_decimal(part: &str, whole: &str) -> Result<BigRational, NumberError> {
    let invalid = || NumberError::Invalid { text: whole.to_owned() };
    let (mantissa, exponent) = match part.find(['e', 'E']) {
        Some(position) => {
            let exponent: i32 = part[position + 1..].parse().map_err(|_| invalid())?;
            if exponent.unsigned_abs() > 100 {
                return Err(NumberError::ExponentTooLarge { text: whole.to_owned() });
            }
            (&part[..position], exponent)
        }
        None => (part, 0),
    };
    let (negative, digits) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
    };
    let (integer_part, fraction_part) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (integer_part.is_empty() && fraction_part.is_empty()) || !all_digits(integer_part) || !all_digits(fraction_part)
    {
        return Err(invalid());
    }
    let joined = format!("{integer_part}{fraction_part}");
    let mut numerator: BigInt = joined.parse().map_err(|_| invalid())?;
    if negative {
        numerator = -numerator;
    }
    let ten = BigInt::from(10u32);
    let scale = exponent - i32::try_from(fraction_part.len()).map_err(|_| invalid())?;
    let value = if scale >= 0 {
        BigRational::from_integer(numerator * ten.pow(scale.unsigned_abs()))
    } else {
        BigRational::new(numerator, ten.pow(scale.unsigned_abs()))
    };
    Ok(value)
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_integer() {
            write!(f, "{}", self.0.numer())
        } else {
            write!(f, "{}/{}", self.0.numer(), self.0.denom())
        }
    }
}

impl FromStr for Number {
    type Err = NumberError;

    fn from_str(text: &str) -> Result<Number, NumberError> {
        Number::parse(text)
    }
}

impl From<BigRational> for Number {
    fn from(value: BigRational) -> Number {
        Number(value)
    }
}

impl From<i64> for Number {
    fn from(value: i64) -> Number {
        Number::from_integer(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, exact: &str) {
        let number = Number::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(number.to_exact_string(), exact, "parsing {input:?}");
    }

    #[test]
    fn parses_decimals_and_fractions_exactly() {
        for (input, exact) in [
            ("0.1", "1/10"),
            ("5", "5"),
            ("-2", "-2"),
            ("+2", "2"),
            ("2.5e-3", "1/400"),
            ("1E3", "1000"),
            ("1/3", "1/3"),
            ("10/3", "10/3"),
            ("0.5/2", "1/4"),
            ("-1/2", "-1/2"),
            (" 12.50 ", "25/2"),
            (".5", "1/2"),
            ("7.", "7"),
        ] {
            check(input, exact);
        }
    }

    #[test]
    fn rejects_what_is_not_a_number() {
        for input in ["", "abc", "1/0", "1..2", "e5", "1e", "1/", "--1", "1e999"] {
            assert!(Number::parse(input).is_err(), "{input:?} should not parse");
        }
    }

    #[test]
    fn formats_decimals_for_people() {
        let ten_thirds = Number::parse("10/3").unwrap();
        assert_eq!(ten_thirds.to_decimal_string(4), "3.3333");
        assert_eq!(Number::parse("2/3").unwrap().to_decimal_string(2), "0.67");
        assert_eq!(Number::parse("-5/2").unwrap().to_decimal_string(0), "-3");
        assert_eq!(Number::parse("120").unwrap().to_decimal_string(3), "120");
        assert!((ten_thirds.to_f64() - 3.333_333).abs() < 1e-6);
    }
}
