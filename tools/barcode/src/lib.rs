//! GS1 barcode reading for medication safety: element strings in, typed facts and typed
//! problems out.
//!
//! A pharmacy scans a pack's GS1 DataMatrix (or GS1-128, GS1 QR, DataBar, or a plain
//! EAN/UPC) to prove that the product, lot and expiry in hand are the ones on the
//! prescription. [`parse`] reads the scan; [`ElementString`] writes one for labels and test
//! fixtures.
//!
//! ```
//! use chrono::NaiveDate;
//! use rxgate_barcode::parse;
//!
//! let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
//! let read = parse("]d2\u{1d}01095011015300031727020010ABC123\u{1d}21XYZ", today);
//! assert!(read.is_clean());
//! assert_eq!(read.scan.gtin().unwrap().as_str(), "09501101530003");
//! assert_eq!(read.scan.expiry(), NaiveDate::from_ymd_opt(2027, 2, 28)); // DD = 00
//! assert_eq!(read.scan.lot(), Some("ABC123"));
//! ```
//!
//! # Invariants
//!
//! - **Pure**: no I/O, no clock, no randomness. `today` is always a parameter; the same
//!   input and `today` give the same result.
//! - **Total**: [`parse`] never panics. Every fault is a [`Problem`] with a position or a
//!   field, and what could still be read is returned alongside.
//! - **No guessing**: a raw element string with an AI not in [`AI_TABLE`] stops there as
//!   [`Problem::Unparseable`], because its length, and so the next AI, is unknown.
//! - **Typed fields are valid**: [`Gs1Scan::gtin`], [`Gs1Scan::expiry`], [`Gs1Scan::lot`]
//!   and [`Gs1Scan::serial`] are set only from elements that passed every check, from the
//!   first occurrence of their AI. [`Gs1Scan::elements`] keeps everything as read.
//! - **A [`Gtin`] is always valid**: 14 digits with a correct mod-10 check digit; every
//!   single-digit misread of a GTIN is therefore rejected.
//! - **Round trip**: for elements built by [`ElementString`], parsing
//!   [`ElementString::to_raw`] or [`ElementString::to_bracketed`] gives the same elements.
//! - Domain types only: no serde here; the server owns the wire format
//!   ([`Problem::code`] gives stable codes for it).
//!
//! # Known limits
//!
//! - A scanner (often a keyboard wedge) that drops GS turns `10ABC` GS `21XYZ` into the lot
//!   `ABC21XYZ`. That is only detectable when the run-on exceeds the lot's 20 characters;
//!   configure scanners to transmit GS.
//! - GS1 pairing rules (e.g. (01) excludes (02), (21) requires (01)) are not checked;
//!   each element is checked on its own, plus conflicting duplicates.
//! - Values in bracketed text end at the next `(`; a literal `(` must be written `\(`.

#![warn(missing_docs)]

mod ai;
mod date;
mod encode;
mod gtin;
mod problem;
mod scan;

pub use ai::{AI_TABLE, AiSpec, Charset, Content, Length, ai_spec};
pub use encode::ElementString;
pub use gtin::{Gtin, GtinError, gtin_check_digit};
pub use problem::{DateFault, ExpectedLength, Problem, UnparseableReason};
pub use scan::{Element, Gs1Scan, ParseError, Parsed, is_expired, parse};
