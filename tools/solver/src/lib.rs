//! `rxgate-solver`: a GenPRES-style (Informedica GenSOLVER) constraint solver for medication
//! orders, re-implemented over exact rationals with units.
//!
//! A [`System`] holds variables — each a finite value set or an interval with inclusive or
//! exclusive ends and a grid of increments, in a UCUM unit — and equations of two shapes:
//! products `x = a * b * c` and sums `x = a + b + c` (`a = b` is a one-term sum). [`solve`]
//! narrows every variable to what the others allow, until a fixpoint.
//!
//! Invariants:
//! - **Pure**: no I/O, clock, randomness or async runtime; the result depends only on the
//!   system and the [`SolveConfig`].
//! - **Exact**: every number is a rational; units are converted exactly (values are held in
//!   base units internally and shown in each variable's own unit).
//! - **Narrowing only**: a variable's range never widens — a looser limit is ignored.
//! - **Sound**: a value that satisfies every equation is never removed; precision given up
//!   to respect a limit (a large value set kept as its exact min/max) is reported in notes.
//! - **Terminating**: value sets only shrink; interval narrowings per variable and equation
//!   evaluations are bounded, and hitting a bound is reported as `partial` with the reason.
//! - Domain types carry no serde; the server crate owns the wire format.

mod domain;
mod equation;
pub mod order;
mod propagate;
mod range;
mod rational;
mod system;

pub use equation::{Equation, EquationKind, EquationParseError};
pub use propagate::{PartialReason, Solution, SolveConfig, Status, solve};
pub use range::{Bound, Range};
pub use rxgate_units::{Number, Quantity, Unit};
pub use system::{Inclusion, System, SystemError, VariableSpec};
