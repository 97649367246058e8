//! Typed errors of the units crate.

use thiserror::Error;

/// A number could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NumberError {
    /// Nothing was given.
    #[error("empty number")]
    Empty,
    /// The text is not a decimal or a fraction.
    #[error("`{text}` is not a number (expected a decimal such as 0.5 or a fraction such as 1/3)")]
    Invalid {
        /// The text as given.
        text: String,
    },
    /// A fraction with a zero denominator.
    #[error("`{text}` divides by zero")]
    DivisionByZero {
        /// The text as given.
        text: String,
    },
    /// An exponent so large that the exact value would be unreasonable.
    #[error("`{text}` has an exponent beyond ±100")]
    ExponentTooLarge {
        /// The text as given.
        text: String,
    },
}

/// A unit string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UnitError {
    /// Nothing was given.
    #[error("empty unit")]
    Empty,
    /// An atom that is not in the supported UCUM subset.
    #[error("unknown unit `{symbol}` at column {column} of `{text}`")]
    UnknownSymbol {
        /// The unit string as given.
        text: String,
        /// The symbol that was not recognised.
        symbol: String,
        /// 1-based column of the symbol.
        column: usize,
    },
    /// A syntax error such as an unclosed `{` or a dangling operator.
    #[error("malformed unit `{text}` at column {column}: {message}")]
    Syntax {
        /// The unit string as given.
        text: String,
        /// 1-based column of the problem.
        column: usize,
        /// What was expected.
        message: String,
    },
}

/// Arithmetic on quantities that does not make sense physically.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QuantityError {
    /// Adding, subtracting, comparing or converting across unit groups (mg + mL).
    #[error("cannot combine `{left}` with `{right}`: different unit groups ({left_dimension} vs {right_dimension})")]
    IncompatibleUnits {
        /// Unit on the left.
        left: String,
        /// Unit on the right.
        right: String,
        /// Dimension of the left unit.
        left_dimension: String,
        /// Dimension of the right unit.
        right_dimension: String,
    },
    /// Division by a zero quantity.
    #[error("division by zero {unit}")]
    DivisionByZero {
        /// Unit of the zero divisor.
        unit: String,
    },
}
