//! GTIN: the product identity on the pack, and the GS1 mod-10 check digit that guards it.

use std::fmt;

/// The GS1 mod-10 check digit for `digits`, the data digits *without* the check digit.
///
/// Weights are 3, 1, 3, … starting from the rightmost data digit, so the same function
/// serves GTIN-8/12/13/14, SSCC and GLN, and leading zeros never change the result.
/// Returns `None` if `digits` is empty or contains anything but ASCII digits.
pub fn gtin_check_digit(digits: &str) -> Option<u8> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Summing modulo 10 as we go keeps any input length from overflowing.
    let sum = digits.bytes().rev().enumerate().fold(0u8, |sum, (i, b)| {
        let weight = if i % 2 == 0 { 3 } else { 1 };
        (sum + (b - b'0') * weight) % 10
    });
    Some((10 - sum) % 10)
}

/// Whether the last digit of `digits` is the correct check digit for the rest.
/// `Err(expected)` gives the digit that would have been correct.
pub(crate) fn verify_check_digit(digits: &str) -> Result<(), u8> {
    let (data, check) = digits.split_at(digits.len().saturating_sub(1));
    let expected = gtin_check_digit(data).unwrap_or(0);
    if check.bytes().next() == Some(b'0' + expected) { Ok(()) } else { Err(expected) }
}

/// A Global Trade Item Number that is known to be valid: 14 ASCII digits whose last
/// digit is the correct check digit. GTIN-8, -12 and -13 are stored zero-padded to 14
/// digits, which is how AI (01) carries them, so equal products compare equal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gtin(String);

/// Why a string is not a valid GTIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GtinError {
    /// Not 8, 12, 13 or 14 characters long.
    #[error(
        "a GTIN has 8, 12, 13 or 14 digits but {digits:?} has {len}; \
         the number is incomplete — rescan, or type it from the pack"
    )]
    WrongLength {
        /// The text that was offered.
        digits: String,
        /// Its length in characters.
        len: usize,
    },
    /// Contains something other than digits.
    #[error("a GTIN is digits only but {digits:?} contains other characters; rescan the pack")]
    NotNumeric {
        /// The text that was offered.
        digits: String,
    },
    /// The check digit does not match: a misread or a damaged label.
    #[error(
        "GTIN {digits} fails its check digit (it should end in {expected}): the barcode \
         was misread or the label is damaged — rescan, and do not dispense on this number"
    )]
    BadCheckDigit {
        /// The digits as read.
        digits: String,
        /// The check digit the other digits call for.
        expected: u8,
    },
}

impl Gtin {
    /// Parses a GTIN-8, -12, -13 or -14 and checks its check digit.
    pub fn parse(digits: &str) -> Result<Gtin, GtinError> {
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(GtinError::NotNumeric { digits: digits.to_owned() });
        }
        // All bytes are ASCII digits, so byte length is the digit count.
        if ![8, 12, 13, 14].contains(&digits.len()) {
            return Err(GtinError::WrongLength { digits: digits.to_owned(), len: digits.chars().count() });
        }
        verify_check_digit(digits)
            .map_err(|expected| GtinError::BadCheckDigit { digits: digits.to_owned(), expected })?;
        Ok(Gtin(format!("{digits:0>14}")))
    }

    /// The 14-digit form, as carried in AI (01).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Gtin {
    type Err = GtinError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Gtin::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits_of_published_gs1_examples() {
        // GS1 General Specifications worked examples and the GS1 test GTIN 09501101530003.
        assert_eq!(gtin_check_digit("0950110153000"), Some(3));
        assert_eq!(gtin_check_digit("629104150021"), Some(3));
        assert_eq!(gtin_check_digit("9638507"), Some(4));
        assert_eq!(gtin_check_digit("03600029145"), Some(2));
        assert_eq!(gtin_check_digit(""), None);
        assert_eq!(gtin_check_digit("12a"), None);
    }

    #[test]
    fn every_gtin_length_normalises_to_fourteen_digits() {
        let cases = [
            ("96385074", "00000096385074"),
            ("036000291452", "00036000291452"),
            ("4006381333931", "04006381333931"),
            ("09501101530003", "09501101530003"),
        ];
        for (input, want) in cases {
            assert_eq!(Gtin::parse(input).map(|g| g.to_string()), Ok(want.to_owned()));
        }
    }

    #[test]
    fn invalid_gtins_say_why() {
        assert!(matches!(Gtin::parse("950110153"), Err(GtinError::WrongLength { len: 9, .. })));
        assert!(matches!(Gtin::parse("0950110153000O"), Err(GtinError::NotNumeric { .. })));
        assert_eq!(
            Gtin::parse("09501101530004"),
            Err(GtinError::BadCheckDigit { digits: "09501101530004".to_owned(), expected: 3 })
        );
    }
}
