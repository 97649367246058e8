//! Dispensing labels: what goes on the pack a patient takes home.
//!
//! [`LabelData`] holds the label's content, already decided by the caller (the server reads
//! the prescription, the dispense record and the clock). [`pdf`] renders it as a one-page PDF
//! with a vector Code 128 barcode of the dispense id ([`pdf_labels`]: several, a page each); [`zpl`] renders the same label as ZPL II
//! text for a thermal printer (`^BC`). [`directions`] writes the bilingual directions from a
//! line's dose and frequency.
//!
//! **Invariants.** Pure: no file system, network, clock or randomness of our own (the PDF
//! library stamps a per-process counter into the trailer `/ID`, nothing else varies). Both
//! renderings carry the same barcode payload, and the payload is checked before anything is
//! drawn: a label whose barcode would not scan back to its dispense id is never produced.

mod barcode;
mod directions;
mod pdf;
mod zpl;

pub use barcode::{Code128, code128};
pub use directions::directions;
pub use pdf::{pdf, pdf_labels};
pub use zpl::zpl;

/// A text in both label languages: English and Bahasa Melayu.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bilingual {
    /// English.
    pub en: String,
    /// Bahasa Melayu.
    pub ms: String,
}

impl Bilingual {
    /// Both texts.
    pub fn new(en: impl Into<String>, ms: impl Into<String>) -> Bilingual {
        Bilingual { en: en.into(), ms: ms.into() }
    }
}

/// Everything printed on one dispensing label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelData {
    /// The dispensing pharmacy's name (and address line, if wanted).
    pub pharmacy: String,
    /// Who the medicine is for, as the label may show it: initials and the surrogate id,
    /// never a full name (`"A. (patient 12)"`).
    pub patient: String,
    /// Drug as dispensed (generic name, or the product's name).
    pub drug: String,
    /// Strength and form (`"250 mg capsule"`).
    pub strength: String,
    /// How to take it.
    pub directions: Bilingual,
    /// How much is in the pack (`"6 capsules"`).
    pub quantity: String,
    /// The dispense record's id as printed and encoded in the barcode (printable ASCII).
    pub dispense_id: String,
    /// Date dispensed, as printed (`"2026-11-23"`): the caller reads the clock.
    pub date: String,
    /// The pharmacist who dispensed it.
    pub pharmacist: String,
    /// Warnings, each in both languages.
    pub warnings: Vec<Bilingual>,
}

/// Why a label cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    /// The dispense id is empty, too long, or holds a character Code 128 set B cannot encode
    /// (only printable ASCII, space to `~`).
    #[error("dispense id {0:?} cannot be encoded as a Code 128 barcode: {1}")]
    BadDispenseId(String, &'static str),
}
