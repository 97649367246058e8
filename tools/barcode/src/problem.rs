//! Typed problems found in a scan, each with a message a pharmacist can act on.

use std::fmt;

use crate::ai::ai_spec;

/// Something wrong with a scan. A scan can have several; none of them panics the parser.
///
/// Messages name the field the way it is printed under the barcode (`(17) USE BY OR
/// EXPIRY`) and say what to do, because they are shown at the dispensing bench.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// The text cannot be split into GS1 elements from here on.
    #[error("{}", unparseable_message(*at, reason))]
    Unparseable {
        /// 0-based index of the character (not byte) in the scanned text.
        at: usize,
        /// Why reading stopped there.
        reason: UnparseableReason,
    },
    /// A mod-10 check digit does not match: a misread, a damaged label or a wrong number.
    #[error(
        "{} {digits} fails its check digit (it should end in {expected}): the barcode was \
         misread or the label is damaged — rescan, and do not dispense on this number",
        label(ai)
    )]
    BadCheckDigit {
        /// The AI that carried the number (`01` also for a plain EAN/UPC scan).
        ai: String,
        /// The digits as read.
        digits: String,
        /// The check digit the other digits call for.
        expected: u8,
    },
    /// A value is shorter or longer than its AI allows.
    #[error(
        "{} should be {expected} but {value:?} has {} — part of the code is missing or a \
         separator was lost; rescan",
        label(ai),
        count(value.chars().count())
    )]
    WrongLength {
        /// The AI.
        ai: String,
        /// The value as read.
        value: String,
        /// What the AI allows.
        expected: ExpectedLength,
    },
    /// A numeric AI contains something other than digits.
    #[error(
        "{} must be digits only but reads {value:?}: the barcode is misread or wrongly \
         printed; rescan",
        label(ai)
    )]
    NotNumeric {
        /// The AI.
        ai: String,
        /// The value as read.
        value: String,
    },
    /// A value contains a character GS1 does not allow (outside character set 82).
    #[error(
        "{} contains {character:?}, which GS1 barcodes never carry: the scan is garbled \
         (check the scanner's keyboard layout); rescan",
        label(ai)
    )]
    InvalidCharacter {
        /// The AI.
        ai: String,
        /// The value as read.
        value: String,
        /// The first offending character.
        character: char,
    },
    /// A date field is not a real date (month 13, 31 February, hour 25…).
    #[error(
        "{} reads {value:?}, which is not a valid date ({fault}); do not rely on this \
         date — read it from the pack",
        label(ai)
    )]
    InvalidDate {
        /// The AI.
        ai: String,
        /// The value as read.
        value: String,
        /// What is wrong with it.
        fault: DateFault,
    },
    /// The same AI appears twice with different values, so the pack is ambiguous.
    #[error(
        "{} appears twice with different values ({first:?} and {second:?}): the label is \
         ambiguous — do not dispense on this scan; check the pack",
        label(ai)
    )]
    DuplicateAi {
        /// The AI.
        ai: String,
        /// The value that was kept.
        first: String,
        /// The conflicting value.
        second: String,
    },
}

impl Problem {
    /// A stable snake_case code for the problem kind, for wire formats owned elsewhere
    /// (the server maps these to its `problems` list without this crate knowing JSON).
    pub fn code(&self) -> &'static str {
        match self {
            Problem::Unparseable { .. } => "unparseable",
            Problem::BadCheckDigit { .. } => "bad_check_digit",
            Problem::WrongLength { .. } => "wrong_length",
            Problem::NotNumeric { .. } => "not_numeric",
            Problem::InvalidCharacter { .. } => "invalid_character",
            Problem::InvalidDate { .. } => "invalid_date",
            Problem::DuplicateAi { .. } => "duplicate_ai",
        }
    }
}

/// Why a scan could not be split into elements.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnparseableReason {
    /// Nothing was scanned.
    #[error("nothing was scanned")]
    Empty,
    /// `]` was not followed by a symbology letter and modifier.
    #[error("the symbology identifier is malformed")]
    MalformedSymbologyIdentifier,
    /// The symbology identifier says the barcode does not carry GS1 data.
    #[error("this is a {} barcode ({symbology}), which does not carry GS1 data", symbology_name(symbology))]
    NotGs1Symbology {
        /// The identifier as scanned, e.g. `]A0` (Code 39).
        symbology: String,
    },
    /// Where an AI should start there are not two digits.
    #[error("expected an application identifier (digits) but found {found:?}")]
    ExpectedAi {
        /// Up to four characters found there.
        found: String,
    },
    /// A raw element string uses an AI this table does not know, so its length is unknown.
    #[error("application identifier {ai:?} is not one this system knows, so the rest cannot be split safely")]
    UnknownAi {
        /// The leading digits (up to four) found there.
        ai: String,
    },
    /// Bracketed form: text where `(` should start an AI.
    #[error("expected \"(\" to start an application identifier")]
    ExpectedOpenBracket,
    /// Bracketed form: `(` without a matching `)`.
    #[error("an application identifier is missing its closing \")\"")]
    UnclosedBracket,
    /// Bracketed form: the AI inside the brackets is not 2–4 digits.
    #[error("{ai:?} is not an application identifier (2–4 digits)")]
    BadBracketedAi {
        /// The text between the brackets.
        ai: String,
    },
}

/// What length an AI allows, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedLength {
    /// Exactly this many characters.
    Exactly(usize),
    /// Between `min` and `max` characters.
    Between {
        /// Fewest allowed.
        min: usize,
        /// Most allowed.
        max: usize,
    },
    /// A plain GTIN scan: 8, 12, 13 or 14 digits.
    GtinLengths,
}

impl fmt::Display for ExpectedLength {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedLength::Exactly(n) => write!(f, "exactly {}", count(*n)),
            ExpectedLength::Between { min, max } => write!(f, "{min} to {}", count(*max)),
            ExpectedLength::GtinLengths => f.write_str("8, 12, 13 or 14 digits"),
        }
    }
}

/// What is wrong with a date field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DateFault {
    /// Month outside 01–12.
    #[error("there is no month {0:02}")]
    Month(u32),
    /// Day beyond the end of the month (or `00` where a real day is required).
    #[error("day {day:02} does not exist in {month:02}/{year}")]
    Day {
        /// Day as read.
        day: u32,
        /// Month as read.
        month: u32,
        /// Year after applying the GS1 century rule.
        year: i32,
    },
    /// Hour or minute out of range (AI 7003).
    #[error("time {hour:02}:{minute:02} does not exist")]
    Time {
        /// Hour as read.
        hour: u32,
        /// Minute as read.
        minute: u32,
    },
}

fn unparseable_message(at: usize, reason: &UnparseableReason) -> String {
    match reason {
        UnparseableReason::Empty => format!("{reason}; scan the GS1 barcode on the pack"),
        UnparseableReason::NotGs1Symbology { .. } => {
            format!("{reason}; scan the GS1 DataMatrix (or other GS1 barcode) on the pack instead")
        }
        _ => format!(
            "the barcode could not be read at character {}: {reason}; rescan, or check the \
             details against the pack by eye",
            at + 1
        ),
    }
}

/// The family name for an AIM symbology identifier's code letter (ISO/IEC 15424).
fn symbology_name(symbology: &str) -> &'static str {
    match symbology.chars().nth(1) {
        Some('A') => "Code 39",
        Some('C') => "Code 128",
        Some('d') => "Data Matrix",
        Some('E') => "EAN/UPC",
        Some('e') => "GS1 DataBar",
        Some('F') => "Codabar",
        Some('I') => "ITF",
        Some('J') => "DotCode",
        Some('L') => "PDF417",
        Some('Q') => "QR Code",
        Some('z') => "Aztec",
        _ => "non-GS1",
    }
}

/// `"(17) USE BY OR EXPIRY"`, or just `"(ai)"` for an AI the table does not know.
fn label(ai: &str) -> String {
    match ai_spec(ai) {
        Some(spec) => format!("({ai}) {}", spec.title),
        None => format!("({ai})"),
    }
}

fn count(n: usize) -> String {
    if n == 1 { "1 character".to_owned() } else { format!("{n} characters") }
}
