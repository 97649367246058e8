//! The rxgate knowledge registry.
//!
//! Clinical knowledge — generics, classes, pharmacological properties, interaction rules,
//! curated interactions, allergy cross-reactivity, halal rules, the demo formulary, stock
//! and recalls — is data in a folder of CSV and TOML files (`data/` beside this crate,
//! described in `data/README.md`). [`load`] turns the text of those files into a
//! [`Registry`] in four passes — parse → schema → referential integrity → clinical
//! invariants — and either returns the registry or every problem found, each located as
//! `file:line:column: rule: message`.
//!
//! Invariants:
//! - Pure: no file system, clock, network or randomness. The caller reads files; this crate
//!   only sees their text, so a registry's content fully determines its [`Snapshot`] hash.
//! - Every clinical fact carries at least one source that exists in `sources.csv`.
//! - A registry that failed validation cannot be constructed.

mod bundled;
mod csv_table;
mod diagnostic;
mod dose;
mod load;
mod model;
mod registry;
mod text;
mod toml_file;

pub use bundled::{FILES, bundled_files};
pub use diagnostic::{Diagnostic, Loc, Pass};
pub use dose::*;
pub use load::{SourceFile, load};
pub use model::*;
pub use registry::{NameMatch, Registry, Resolved, Snapshot, normalise_name};
