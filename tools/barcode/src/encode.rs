//! Writing element strings, for labels and test fixtures.

use chrono::NaiveDate;

use crate::ai::{Length, ai_spec};
use crate::date::format_yymmdd;
use crate::gtin::Gtin;
use crate::problem::{Problem, UnparseableReason};
use crate::scan::{Element, GS, check_element};

/// A checked list of elements to encode, built one AI at a time.
///
/// Every element is checked against the AI table when added, so what this writes always
/// parses back to the same elements (for dates, within ±49 years of the reader's `today`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ElementString {
    elements: Vec<Element>,
}

impl ElementString {
    /// An empty element string.
    pub fn new() -> ElementString {
        ElementString::default()
    }

    /// Adds (01) GTIN. Cannot fail: a [`Gtin`] is always valid.
    pub fn with_gtin(mut self, gtin: &Gtin) -> ElementString {
        self.elements.push(Element::new("01", gtin.as_str()));
        self
    }

    /// Adds (17) USE BY OR EXPIRY as `YYMMDD` with the real day (never `00`).
    pub fn with_expiry(mut self, expiry: NaiveDate) -> ElementString {
        self.elements.push(Element::new("17", format_yymmdd(expiry)));
        self
    }

    /// Adds (10) BATCH/LOT: 1–20 characters of GS1 set 82.
    pub fn with_lot(self, lot: &str) -> Result<ElementString, Problem> {
        self.with("10", lot)
    }

    /// Adds (21) SERIAL: 1–20 characters of GS1 set 82.
    pub fn with_serial(self, serial: &str) -> Result<ElementString, Problem> {
        self.with("21", serial)
    }

    /// Adds any AI in the table, checked like a scan would be. An AI the table does not
    /// know is refused (as `Unparseable` at 0), since a raw scan of it could not be split.
    /// Dates are checked as if read on 2000-01-01; leap years agree for all of 1951–2050,
    /// the years a two-digit year maps to from there.
    pub fn with(mut self, ai: &str, value: &str) -> Result<ElementString, Problem> {
        if ai_spec(ai).is_none() {
            return Err(Problem::Unparseable { at: 0, reason: UnparseableReason::UnknownAi { ai: ai.to_owned() } });
        }
        let reference_day = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
        check_element(ai, value, reference_day)?;
        self.elements.push(Element::new(ai, value));
        Ok(self)
    }

    /// The elements in the order they were added.
    pub fn elements(&self) -> &[Element] {
        &self.elements
    }

    /// The human-readable form, e.g. `(01)09501101530003(17)251231(10)ABC123`.
    pub fn to_bracketed(&self) -> String {
        encode_bracketed(&self.elements)
    }

    /// The form a scanner sends (FNC1 as GS first, GS after variable-length fields).
    pub fn to_raw(&self) -> String {
        encode_raw(&self.elements)
    }
}

pub(crate) fn encode_bracketed(elements: &[Element]) -> String {
    let mut out = String::new();
    for element in elements {
        out.push('(');
        out.push_str(&element.ai);
        out.push(')');
        // `(` would start a new AI when read back, so it is escaped; `)` is unambiguous.
        out.push_str(&element.value.replace('(', "\\("));
    }
    out
}

pub(crate) fn encode_raw(elements: &[Element]) -> String {
    // The leading FNC1 marks the data as GS1: without it a short all-digit string
    // would read as a plain GTIN.
    let mut out = String::from(GS);
    for (i, element) in elements.iter().enumerate() {
        out.push_str(&element.ai);
        out.push_str(&element.value);
        let is_last = i + 1 == elements.len();
        // Only a predefined-length AI whose value really has that length may run into
        // the next AI; anything else (including a damaged value kept from a scan) gets a
        // separator so the reader cannot misplace the boundary.
        let self_delimiting = ai_spec(&element.ai)
            .is_some_and(|spec| spec.predefined_length && spec.length == Length::Fixed(element.value.chars().count()));
        if !is_last && !self_delimiting {
            out.push(GS);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gtin() -> Gtin {
        Gtin::parse("09501101530003").unwrap()
    }

    #[test]
    fn label_for_a_pack_in_both_forms() {
        let label = ElementString::new()
            .with_gtin(&gtin())
            .with_expiry(NaiveDate::from_ymd_opt(2027, 2, 28).unwrap())
            .with_lot("ABC(1)")
            .and_then(|l| l.with_serial("XYZ"))
            .unwrap();
        assert_eq!(label.to_bracketed(), "(01)09501101530003(17)270228(10)ABC\\(1)(21)XYZ");
        // GS only after the lot: GTIN and expiry have predefined lengths, serial is last.
        assert_eq!(label.to_raw(), "\u{1d}010950110153000317270228".to_owned() + "10ABC(1)\u{1d}21XYZ");
    }

    #[test]
    fn fixed_length_ai_without_predefined_length_still_gets_a_separator() {
        let label = ElementString::new().with("422", "276").and_then(|l| l.with_lot("L1")).unwrap();
        assert_eq!(label.to_raw(), "\u{1d}422276\u{1d}10L1");
    }

    #[test]
    fn the_printer_cannot_encode_what_a_scanner_would_reject() {
        let long_lot = "L".repeat(21);
        let refused = [
            ElementString::new().with_lot(""),
            ElementString::new().with_lot(&long_lot),
            ElementString::new().with_serial("SN 1"),
            ElementString::new().with("01", "09501101530004"),
            ElementString::new().with("17", "270230"),
            ElementString::new().with("7240", "X"),
        ];
        for result in refused {
            assert!(result.is_err(), "{result:?}");
        }
        // Leap day in a leap year is fine.
        assert!(ElementString::new().with("17", "280229").is_ok());
    }
}
