//! `rxgate-units`: the UCUM subset rxgate needs for medication orders, with exact rational
//! arithmetic.
//!
//! - [`Number`]: exact rationals parsed from decimals (`0.1`, `2.5e-3`) or fractions (`1/3`),
//!   printed back exactly (`10/3`) or as a rounded decimal for people.
//! - [`Unit`]: parsed from UCUM strings (`mg/kg/d`, `mL/min/{1.73_m2}`), printed canonically.
//!   Units belong to groups ([`Group`]): mass, volume, time, body weight (`kg` is the
//!   patient's weight, so `mg/kg` is not dimensionless), body surface (`m2`), substance,
//!   international units, equivalents, length, and one group per annotation (`{tbl}`).
//! - [`Quantity`]: a value that always carries a unit. Adding across groups is a typed
//!   error; multiplying and dividing combine units.
//!
//! Why written rather than taken: the `ucum` crate computes in `f64` (so `1/3 mL × 3` is not
//! `1 mL`) and is young; `uom` checks dimensions at compile time and cannot read UCUM
//! strings that arrive at run time. A small table-driven subset with exact rationals is
//! less code than adapting either, and it can make body weight and body surface their own
//! groups, which neither does.
//!
//! A dose cannot be built without a unit: [`Quantity::new`] takes a [`Unit`], and a plain
//! count is written with the explicit unit `1` ([`Unit::one`]).
//!
//! Invariants: the crate is pure (no I/O, clock, randomness or async runtime); every
//! conversion is exact; a unit holds at most one atom per group, so equal units are
//! structurally equal and print identically.

mod error;
mod number;
mod parse;
mod quantity;
mod unit;

pub use error::{NumberError, QuantityError, UnitError};
pub use number::Number;
pub use quantity::Quantity;
pub use unit::{Dimension, Group, Unit};

/// A quantity could not be read: either its number or its unit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseQuantityError {
    /// The number part.
    #[error(transparent)]
    Number(#[from] NumberError),
    /// The unit part.
    #[error(transparent)]
    Unit(#[from] UnitError),
}
