//! `rxgate-solver`: a GenPRES-style (Informedica GenSOLVER) constraint solver for medication
//! orders, re-implemented over exact rationals with units.
//!
//! A [`System`] holds variables — each a finite value set or an interval with inclusive or
//! exclusive ends and a grid of increments, in a UCUM unit — and equations of two shapes:
//! products `x = a * b * c` and sums `x = a + b + c` (`a = b` is a one-term sum). [`solve`]
//! narrows every variable to what the others allow, until a fixpoint.
//!
//! ```
//! use rxgate_solver::{Number, SolveConfig, Status, System, Unit, VariableSpec, solve};
//!
//! let unit = |u: &str| Unit::parse(u).unwrap();
//! let one = |v: &str| VariableSpec::new().values([Number::parse(v).unwrap()]);
//! let mut system = System::new();
//! system.add_variable("dose", VariableSpec::new().unit(unit("mg"))).unwrap();
//! system.add_variable("conc", one("24").unit(unit("mg/mL"))).unwrap();
//! system.add_variable("per_kg", one("15").unit(unit("mg/kg"))).unwrap();
//! system.add_variable("weight", one("8").unit(unit("kg"))).unwrap();
//! system.add_equation("dose = per_kg * weight").unwrap();
//! system.add_equation("dose = conc * volume").unwrap(); // `volume` is inferred as mL
//!
//! let solution = solve(&system, &SolveConfig::default()).unwrap();
//! assert_eq!(solution.status, Status::Solved);
//! let volume = solution.range("volume").unwrap();
//! assert_eq!(volume.to_string(), "[5] mL");
//! assert_eq!(volume.single_value().unwrap().to_exact_string(), "5");
//! ```
//!
//! The [`order`] module builds the standard medication-order equations (dose, dose per
//! time, rate, concentration, per kg and per m², frequency, administration time) for once,
//! timed, discontinuous and continuous schedules, with measurable volumes and tablet parts.
//!
//! Where we differ from GenPRES on purpose (each pinned by a test in `tests/genpres.rs`):
//! - Value sets combine exactly by default (`[1;2;3] × [4;5;6]` is `[4;5;6;8;10;12;15;18]`,
//!   not `[4..18]`); [`SolveConfig::genpres_min_incr_max`] reproduces GenPRES' notebook mode.
//!   Sets larger than the limits fall back to exact min/max (plus a common step), with a note.
//! - An emptied variable is `Status::Infeasible`, not an exception; a narrowing cycle or an
//!   exhausted budget is `Status::Partial` with the reason, not a loop or a cap hit silently.
//! - Dividing by a range that contains 0 gives no information instead of throwing; if the
//!   dividend cannot be 0, the divisor's 0 is excluded (`x = a·b`, `x = 1` proves `b ≠ 0`).
//! - Grids follow exact rules: dividing by any set member `v` gives step `i/v` (GenPRES only
//!   for `v = 1`); two grids intersect to their least common multiples.
//! - Units print canonically (`mg/kg/d`, never `mg/d/kg`).
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
