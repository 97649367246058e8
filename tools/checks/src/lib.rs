//! rxgate's deterministic clinical checks.
//!
//! Each check is a plain function of its input and a knowledge [`Registry`]: drug–drug
//! interactions ([`ddi`]), allergy and cross-reactivity ([`allergy`]), halal status
//! ([`halal`]), barcode verification ([`barcode`]), generic substitution ([`generics`]) and
//! stock ([`stock`]), and dose ranges for a patient ([`dose`], with kidney function and
//! body surface area in [`renal`]).
//!
//! Invariants:
//! - Pure: no I/O, clock or randomness; `today` is always a parameter. The same input and
//!   registry always give the same answer, in the same order.
//! - Never a silent "safe": a name the registry does not know is returned in `unknown`,
//!   never dropped; a check that could not look at something says so.
//! - Every finding carries the sources of the facts that produced it.
//!
//! [`Registry`]: rxgate_knowledge::Registry

pub mod allergy;
pub mod barcode;
pub mod ddi;
pub mod dose;
mod drugs;
pub mod generics;
pub mod halal;
pub mod renal;
pub mod stock;
pub mod verify;

pub use drugs::{Drug, resolve_drugs};
pub use rxgate_knowledge::Severity;

use rxgate_knowledge::{Registry, SourceId};

/// Citations of the given sources, in order, without repeats.
pub(crate) fn citations(reg: &Registry, ids: &[SourceId]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        let c = &reg.source(*id).citation;
        if !out.contains(c) {
            out.push(c.clone());
        }
    }
    out
}
