//! Quantities: an exact value with a unit. There is no constructor from a bare number; a
//! count is built explicitly with the unit `1`.

use std::cmp::Ordering;
use std::fmt;

use num_rational::BigRational;
use num_traits::Zero;

use crate::error::QuantityError;
use crate::number::Number;
use crate::unit::Unit;

/// An exact value with its unit, such as `500 mg` or `10/3 mL`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Quantity {
    value: Number,
    unit: Unit,
}

impl Quantity {
    /// A value in a unit; use [`Unit::one`] for plain counts.
    ///
    /// ```
    /// use rxgate_units::{Number, Quantity, Unit};
    /// let dose = Quantity::new(Number::from(120), Unit::parse("mg").unwrap());
    /// assert_eq!(dose.to_string(), "120 mg");
    /// ```
    ///
    /// A bare number is not a dose:
    ///
    /// ```compile_fail
    /// let dose = rxgate_units::Quantity::new(rxgate_units::Number::from(120));
    /// ```
    pub fn new(value: Number, unit: Unit) -> Quantity {
        Quantity { value, unit }
    }

    /// Parses a value and a unit string (`Quantity::parse("2.5", "mg/kg")`).
    pub fn parse(value: &str, unit: &str) -> Result<Quantity, crate::ParseQuantityError> {
        Ok(Quantity { value: Number::parse(value)?, unit: Unit::parse(unit)? })
    }

    /// The value in [`Quantity::unit`].
    pub fn value(&self) -> &Number {
        &self.value
    }

    /// The unit.
    pub fn unit(&self) -> &Unit {
        &self.unit
    }

    /// The same amount in another unit of the same group (`500 mg` → `0.5 g`).
    pub fn convert_to(&self, target: &Unit) -> Result<Quantity, QuantityError> {
        let factor = self.unit.conversion_factor(target).ok_or_else(|| incompatible(&self.unit, target))?;
        Ok(Quantity { value: Number::from(self.value.as_ratio() * factor), unit: target.clone() })
    }

    /// `other` converted into the unit of `self`, with errors phrased as `self` op `other`.
    fn aligned(&self, other: &Quantity) -> Result<Quantity, QuantityError> {
        other.convert_to(&self.unit).map_err(|_| incompatible(&self.unit, &other.unit))
    }

    /// `self + other`, in the unit of `self`; an error across groups (`mg + mL`).
    pub fn add(&self, other: &Quantity) -> Result<Quantity, QuantityError> {
        let other = self.aligned(other)?;
        Ok(Quantity { value: Number::from(self.value.as_ratio() + other.value.as_ratio()), unit: self.unit.clone() })
    }

    /// `self - other`, in the unit of `self`; an error across groups.
    pub fn subtract(&self, other: &Quantity) -> Result<Quantity, QuantityError> {
        let other = self.aligned(other)?;
        Ok(Quantity { value: Number::from(self.value.as_ratio() - other.value.as_ratio()), unit: self.unit.clone() })
    }

    /// `self × other`; the units combine (`mg/kg/d × kg` = `mg/d`).
    pub fn multiply(&self, other: &Quantity) -> Quantity {
        let (unit, factor) = self.unit.multiply(&other.unit);
        Quantity { value: Number::from(self.value.as_ratio() * other.value.as_ratio() * factor), unit }
    }

    /// `self ÷ other`; the units combine (`mg ÷ mg/mL` = `mL`).
    pub fn divide(&self, other: &Quantity) -> Result<Quantity, QuantityError> {
        if other.value.is_zero() {
            return Err(QuantityError::DivisionByZero { unit: other.unit.to_string() });
        }
        let (unit, factor) = self.unit.divide(&other.unit);
        Ok(Quantity { value: Number::from(self.value.as_ratio() / other.value.as_ratio() * factor), unit })
    }

    /// Compares two quantities of the same group exactly (`0.5 g` equals `500 mg`).
    pub fn compare(&self, other: &Quantity) -> Result<Ordering, QuantityError> {
        let other = self.aligned(other)?;
        Ok(self.value.cmp(&other.value))
    }

    /// The value in base units of its groups (mg, mL, h, kg…), used by exact solvers that
    /// want one scale per dimension.
    pub fn base_value(&self) -> BigRational {
        self.value.as_ratio() * self.unit.base_factor()
    }

    /// True when the value is zero.
    pub fn is_zero(&self) -> bool {
        self.value.as_ratio().is_zero()
    }
}

fn incompatible(left: &Unit, right: &Unit) -> QuantityError {
    QuantityError::IncompatibleUnits {
        left: left.to_string(),
        right: right.to_string(),
        left_dimension: left.dimension().to_string(),
        right_dimension: right.dimension().to_string(),
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.unit.is_one() { write!(f, "{}", self.value) } else { write!(f, "{} {}", self.value, self.unit) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> Quantity {
        let (value, unit) = text.split_once(' ').expect("value and unit");
        Quantity::parse(value, unit).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    enum Op {
        Add,
        Subtract,
        Multiply,
        Divide,
        Convert,
    }

    /// (left, operation, right, expected): `expected` is the exact result or the error text.
    fn check(left: &str, op: Op, right: &str, expected: &str) {
        let result = match op {
            Op::Add => q(left).add(&q(right)),
            Op::Subtract => q(left).subtract(&q(right)),
            Op::Multiply => Ok(q(left).multiply(&q(right))),
            Op::Divide => q(left).divide(&q(right)),
            Op::Convert => q(left).convert_to(&Unit::parse(right).expect("unit")),
        };
        let shown = match result {
            Ok(quantity) => quantity.to_string(),
            Err(error) => error.to_string(),
        };
        assert_eq!(shown, expected, "{left} op {right}");
    }

    #[test]
    fn clinical_arithmetic() {
        use Op::*;
        for (left, op, right, expected) in [
            ("500 mg", Convert, "g", "1/2 g"),
            ("0.5 g", Convert, "mg", "500 mg"),
            ("1 mg", Convert, "ug", "1000 ug"),
            ("250 ng", Convert, "ug", "1/4 ug"),
            ("1 L", Convert, "mL", "1000 mL"),
            ("1 dL", Convert, "mL", "100 mL"),
            ("90 min", Convert, "h", "3/2 h"),
            ("1 wk", Convert, "d", "7 d"),
            ("1 d", Convert, "h", "24 h"),
            ("1 mmol", Convert, "mol", "1/1000 mol"),
            ("4 g/d", Convert, "mg/h", "500/3 mg/h"),
            ("1 mg/kg/d", Multiply, "8 kg", "8 mg/d"),
            ("15 mg/kg", Multiply, "8 kg", "120 mg"),
            ("120 mg", Divide, "24 mg/mL", "5 mL"),
            ("2 mL/h", Multiply, "3 h", "6 mL"),
            ("2 mL/h", Multiply, "30 min", "1 mL"),
            ("1 mg/mL", Multiply, "1/2 mL/h", "1/2 mg/h"),
            ("10 ug/kg/h", Multiply, "50 kg", "500 ug/h"),
            ("100 mg/m2", Multiply, "0.42 m2", "42 mg"),
            ("400 mg", Divide, "10 kg", "40 mg/kg"),
            ("20 mg/kg", Divide, "2 d", "10 mg/kg/d"),
            ("10 mg", Divide, "3 mL", "10/3 mg/mL"),
            ("400 mg", Divide, "400 mg", "1"),
            ("1 g", Divide, "250 mg", "4"),
            ("5 mL", Divide, "0 h", "division by zero h"),
            ("500 mg", Add, "0.5 g", "1000 mg"),
            ("1 h", Add, "30 min", "3/2 h"),
            ("1 mg/kg/d", Add, "1 mg/kg/d", "2 mg/kg/d"),
            ("1 g", Subtract, "1 mg", "999/1000 g"),
            ("1 mg", Add, "1 mL", "cannot combine `mg` with `mL`: different unit groups (mass vs volume)"),
            (
                "1 mg/kg",
                Add,
                "1 mg",
                "cannot combine `mg/kg` with `mg`: different unit groups (mass·body weight^-1 vs mass)",
            ),
            (
                "2 {tbl}",
                Add,
                "1 {drop}",
                "cannot combine `{tbl}` with `{drop}`: different unit groups ({tbl} vs {drop})",
            ),
            ("1 U", Convert, "mg", "cannot combine `U` with `mg`: different unit groups (international units vs mass)"),
        ] {
            check(left, op, right, expected);
        }
    }

    #[test]
    fn exact_comparisons_across_units() {
        assert_eq!(q("0.5 g").compare(&q("500 mg")), Ok(Ordering::Equal));
        assert_eq!(q("1 h").compare(&q("59 min")), Ok(Ordering::Greater));
        assert!(q("1 mg").compare(&q("1 mL")).is_err());
        assert_eq!(q("1 mg/d").base_value(), q("1000 ug/d").base_value());
    }
}
