//! Reading a scan: bracketed, raw (with AIM identifier and FNC1/GS), or a plain GTIN.

use std::fmt;

use chrono::NaiveDate;

use crate::ai::{AiSpec, Charset, Content, Length, ai_spec, is_cset82};
use crate::date::{parse_yymmdd, parse_yymmddhhmm};
use crate::encode::{encode_bracketed, encode_raw};
use crate::gtin::{Gtin, GtinError, verify_check_digit};
use crate::problem::{ExpectedLength, Problem, UnparseableReason};

/// The ASCII group separator a scanner sends for FNC1.
pub(crate) const GS: char = '\u{1d}';

/// The longest value any GS1 AI allows; used to bound unknown AIs in bracketed input.
const LONGEST_GS1_VALUE: usize = 90;

/// One AI and its value, exactly as read (an invalid value is kept so it can be shown).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Element {
    /// The application identifier, 2–4 digits, e.g. `"17"` or `"3103"`.
    pub ai: String,
    /// The value, without separators or brackets.
    pub value: String,
}

impl Element {
    /// Builds an element without checking it; [`crate::ElementString`] checks.
    pub fn new(ai: impl Into<String>, value: impl Into<String>) -> Element {
        Element { ai: ai.into(), value: value.into() }
    }

    /// The AI table row, or `None` for an AI kept from bracketed input that the table
    /// does not know (an "other" element).
    pub fn spec(&self) -> Option<&'static AiSpec> {
        ai_spec(&self.ai)
    }
}

/// What a scan says about the pack.
///
/// The typed fields (`gtin`, `expiry`, `lot`, `serial`) hold only values that passed every
/// check, taken from the first occurrence of their AI; `elements` holds everything that
/// was read, valid or not, in scan order, including AIs the table does not know.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Gs1Scan {
    symbology: Option<String>,
    gtin: Option<Gtin>,
    expiry: Option<NaiveDate>,
    lot: Option<String>,
    serial: Option<String>,
    elements: Vec<Element>,
}

impl Gs1Scan {
    /// The AIM symbology identifier the scanner sent (`"]d2"` for GS1 DataMatrix), if any.
    pub fn symbology(&self) -> Option<&str> {
        self.symbology.as_deref()
    }

    /// The product, from AI (01) or a plain EAN/UPC/ITF-14 scan, if valid.
    pub fn gtin(&self) -> Option<&Gtin> {
        self.gtin.as_ref()
    }

    /// The expiry date from AI (17), `DD = 00` already resolved to the month's last day.
    pub fn expiry(&self) -> Option<NaiveDate> {
        self.expiry
    }

    /// The batch/lot from AI (10).
    pub fn lot(&self) -> Option<&str> {
        self.lot.as_deref()
    }

    /// The serial number from AI (21).
    pub fn serial(&self) -> Option<&str> {
        self.serial.as_deref()
    }

    /// Every element read, in scan order.
    pub fn elements(&self) -> &[Element] {
        &self.elements
    }

    /// The human-readable form, `(01)…(17)…(10)…`; a `(` inside a value is written `\(`.
    pub fn to_bracketed(&self) -> String {
        encode_bracketed(&self.elements)
    }

    /// The form a scanner sends, starting with FNC1 (as GS) and with GS after every
    /// element that needs one. The symbology identifier is not included: the scanner
    /// adds it, it is not part of the data.
    pub fn to_raw(&self) -> String {
        encode_raw(&self.elements)
    }
}

/// The result of [`parse`]: everything that could be read, and everything wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// What was read. Typed fields are only set from valid elements.
    pub scan: Gs1Scan,
    /// Problems in scan order; empty means the scan is fully valid.
    pub problems: Vec<Problem>,
}

impl Parsed {
    /// Whether the scan has no problems at all.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    /// The scan if it has no problems, for callers that must reject any doubt.
    pub fn into_result(self) -> Result<Gs1Scan, ParseError> {
        if self.problems.is_empty() {
            Ok(self.scan)
        } else {
            Err(ParseError { scan: Box::new(self.scan), problems: self.problems })
        }
    }
}

/// A scan with at least one problem, keeping what could still be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What could be read despite the problems (boxed to keep `Result` small).
    pub scan: Box<Gs1Scan>,
    /// At least one problem.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

/// Whether a pack with this expiry date must not be used on `today`. GS1 expiry dates are
/// "use by": the pack is still usable on the expiry date itself.
pub fn is_expired(expiry: NaiveDate, today: NaiveDate) -> bool {
    expiry < today
}

/// Reads a scan. Never panics; anything wrong is a [`Problem`] in the result.
///
/// Accepted forms:
/// - bracketed: `(01)09501101530003(17)251231(10)ABC123`;
/// - raw: an optional AIM symbology identifier (`]d2`, `]C1`, `]Q3`, `]e0`, `]J1`), an
///   optional FNC1 sent as GS (U+001D), then elements with GS after each
///   variable-length one that is not last;
/// - a plain GTIN-8/12/13/14 (an EAN/UPC/ITF-14 scan, optionally with `]E0`, `]E4`,
///   `]I1`), normalised to 14 digits as element (01).
///
/// Any other symbology identifier (`]d1` plain Data Matrix, `]A0` Code 39…) is reported
/// as not GS1 rather than guessed at.
///
/// `today` only resolves two-digit years (GS1 century rule); leading and trailing
/// spaces, tabs and line endings (scanner suffixes) are ignored.
pub fn parse(scan: &str, today: NaiveDate) -> Parsed {
    let chars: Vec<char> = scan.chars().collect();
    let is_padding = |c: &char| matches!(c, ' ' | '\t' | '\r' | '\n');
    let start = chars.iter().position(|c| !is_padding(c)).unwrap_or(0);
    let end = chars.iter().rposition(|c| !is_padding(c)).map_or(0, |i| i + 1);
    let mut reader = Reader { chars: &chars[..end], pos: start, acc: Accumulator::new(today) };
    reader.read_scan();
    reader.acc.finish()
}

/// How a symbology identifier tells us to read the rest.
enum SymbologyKind {
    /// GS1-128, GS1 DataBar, GS1 DataMatrix, GS1 QR, GS1 DotCode: an element string.
    ElementString,
    /// EAN/UPC or ITF: digits of a GTIN.
    PlainGtin,
    /// Anything else (Code 39, plain DataMatrix…) does not carry GS1 data.
    NotGs1,
}

fn classify_symbology(id: &[char]) -> SymbologyKind {
    match id {
        [_, 'C', '1'] | [_, 'e', '0'..='2'] | [_, 'd', '2'] | [_, 'Q', '3'] | [_, 'J', '1'] => {
            SymbologyKind::ElementString
        }
        // EAN-13/UPC-A (]E0), EAN-8 (]E4), ITF (]I0/]I1). An add-on makes the length
        // wrong, which is reported rather than silently cut off.
        [_, 'E', _] | [_, 'I', _] => SymbologyKind::PlainGtin,
        _ => SymbologyKind::NotGs1,
    }
}

struct Reader<'a> {
    /// The scan without trailing padding.
    chars: &'a [char],
    pos: usize,
    acc: Accumulator,
}

impl Reader<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn stop(&mut self, at: usize, reason: UnparseableReason) {
        self.acc.problems.push(Problem::Unparseable { at, reason });
        self.pos = self.chars.len();
    }

    fn read_scan(&mut self) {
        if self.at_end() {
            return self.stop(self.pos, UnparseableReason::Empty);
        }
        let mut kind = None;
        let symbology_at = self.pos;
        if self.peek() == Some(']') {
            let id = match self.chars.get(self.pos..self.pos + 3) {
                Some(id @ [_, code, modifier]) if code.is_ascii_alphabetic() && modifier.is_ascii_alphanumeric() => id,
                _ => {
                    return self.stop(self.pos, UnparseableReason::MalformedSymbologyIdentifier);
                }
            };
            self.acc.scan.symbology = Some(id.iter().collect());
            kind = Some(classify_symbology(id));
            self.pos += 3;
            if self.at_end() {
                return self.stop(self.pos, UnparseableReason::Empty);
            }
        }
        let rest = &self.chars[self.pos..];
        match kind {
            Some(SymbologyKind::NotGs1) => {
                let symbology = self.acc.scan.symbology.clone().unwrap_or_default();
                self.stop(symbology_at, UnparseableReason::NotGs1Symbology { symbology });
            }
            Some(SymbologyKind::PlainGtin) => self.read_plain_gtin(),
            _ if self.peek() == Some('(') => self.read_bracketed(),
            // Without an identifier or FNC1, a short run of digits can only be a 1D
            // EAN/UPC scan: the shortest element string with a GTIN is 16 digits, and
            // `to_raw` always starts with FNC1, so our own output never lands here.
            None if rest.len() < 16 && rest.iter().all(char::is_ascii_digit) => {
                self.read_plain_gtin();
            }
            _ => self.read_raw(),
        }
        // Only separators after the identifier (e.g. `]d2` + FNC1) is still an empty scan.
        if self.acc.scan.elements.is_empty() && self.acc.problems.is_empty() {
            self.acc.problems.push(Problem::Unparseable { at: self.chars.len(), reason: UnparseableReason::Empty });
        }
    }

    fn read_plain_gtin(&mut self) {
        let digits: String = self.chars[self.pos..].iter().collect();
        self.pos = self.chars.len();
        match Gtin::parse(&digits) {
            Ok(gtin) => {
                self.acc.scan.gtin = Some(gtin.clone());
                self.acc.scan.elements.push(Element::new("01", gtin.as_str()));
            }
            Err(err) => self.acc.problems.push(match err {
                GtinError::WrongLength { digits, .. } => {
                    Problem::WrongLength { ai: "01".to_owned(), value: digits, expected: ExpectedLength::GtinLengths }
                }
                GtinError::NotNumeric { digits } => Problem::NotNumeric { ai: "01".to_owned(), value: digits },
                GtinError::BadCheckDigit { digits, expected } => {
                    Problem::BadCheckDigit { ai: "01".to_owned(), digits, expected }
                }
            }),
        }
    }

    /// `(ai)value(ai)value…`. Values end at the next `(`; a literal `(` is written `\(`
    /// (the GS1 Barcode Syntax Resource convention), since set 82 allows brackets.
    fn read_bracketed(&mut self) {
        while !self.at_end() {
            while self.peek() == Some(' ') {
                self.pos += 1;
            }
            if self.peek() != Some('(') {
                return self.stop(self.pos, UnparseableReason::ExpectedOpenBracket);
            }
            let open = self.pos;
            let Some(close) = self.chars[open..].iter().position(|&c| c == ')') else {
                return self.stop(open, UnparseableReason::UnclosedBracket);
            };
            let close = open + close;
            let ai: String = self.chars[open + 1..close].iter().collect();
            if !(2..=4).contains(&ai.len()) || !ai.bytes().all(|b| b.is_ascii_digit()) {
                return self.stop(open + 1, UnparseableReason::BadBracketedAi { ai });
            }
            self.pos = close + 1;
            let mut value = String::new();
            while let Some(c) = self.peek() {
                match c {
                    '\\' if self.chars.get(self.pos + 1) == Some(&'(') => {
                        value.push('(');
                        self.pos += 2;
                    }
                    '(' => break,
                    _ => {
                        value.push(c);
                        self.pos += 1;
                    }
                }
            }
            // Set 82 has no space or GS, so either around a value is layout, never data.
            let value = value.trim_matches([' ', GS]).to_owned();
            self.acc.add(ai, value);
        }
    }

    /// AI, value, AI, value… with GS ending every value whose length is not predefined.
    fn read_raw(&mut self) {
        while !self.at_end() {
            // A leading FNC1, a trailing one, or a doubled one: none is ambiguous, so
            // they are skipped rather than rejected.
            if self.peek() == Some(GS) {
                self.pos += 1;
                continue;
            }
            let start = self.pos;
            let digits = self.chars[start..].iter().take(4).take_while(|c| c.is_ascii_digit()).count();
            if digits < 2 {
                let found = self.chars[start..].iter().take(4).collect();
                return self.stop(start, UnparseableReason::ExpectedAi { found });
            }
            let known = (2..=digits).find_map(|len| {
                let ai: String = self.chars[start..start + len].iter().collect();
                ai_spec(&ai).map(|spec| (ai, spec))
            });
            let Some((ai, spec)) = known else {
                let ai = self.chars[start..start + digits].iter().collect();
                return self.stop(start, UnparseableReason::UnknownAi { ai });
            };
            self.pos = start + ai.len();
            // A fixed-length value is read to its length; a variable one to the next GS.
            // Either stops early at a GS so a short field does not swallow the next AI.
            let limit = match spec.length {
                Length::Fixed(len) => len,
                Length::Variable { .. } => usize::MAX,
            };
            let value: String = self.chars[self.pos..].iter().take_while(|&&c| c != GS).take(limit).collect();
            self.pos += value.chars().count();
            self.acc.add(ai, value);
        }
    }
}

/// Collects elements, checks each one, and fills the typed fields.
struct Accumulator {
    today: NaiveDate,
    scan: Gs1Scan,
    problems: Vec<Problem>,
}

impl Accumulator {
    fn new(today: NaiveDate) -> Accumulator {
        Accumulator { today, scan: Gs1Scan::default(), problems: Vec::new() }
    }

    fn add(&mut self, ai: String, value: String) {
        let first = self.scan.elements.iter().find(|e| e.ai == ai);
        let is_repeat = first.is_some();
        if let Some(first) = first
            && first.value != value
        {
            self.problems.push(Problem::DuplicateAi {
                ai: ai.clone(),
                first: first.value.clone(),
                second: value.clone(),
            });
        }
        match check_element(&ai, &value, self.today) {
            Err(problem) => self.problems.push(problem),
            // Typed fields come from the first occurrence only, so a repeat (identical or
            // conflicting) can never change what the caller acts on.
            Ok(checked) if !is_repeat => match (ai.as_str(), checked) {
                ("01", Checked::Gtin(gtin)) => self.scan.gtin = Some(gtin),
                ("17", Checked::Date(date)) => self.scan.expiry = Some(date),
                ("10", _) => self.scan.lot = Some(value.clone()),
                ("21", _) => self.scan.serial = Some(value.clone()),
                _ => {}
            },
            Ok(_) => {}
        }
        self.scan.elements.push(Element { ai, value });
    }

    fn finish(self) -> Parsed {
        Parsed { scan: self.scan, problems: self.problems }
    }
}

/// What a valid value means, where that matters to the typed fields.
pub(crate) enum Checked {
    Gtin(Gtin),
    Date(NaiveDate),
    Other,
}

/// Checks one value against its AI: length, characters, check digit, date. Returns the
/// first problem only; a value with several faults needs rescanning either way.
pub(crate) fn check_element(ai: &str, value: &str, today: NaiveDate) -> Result<Checked, Problem> {
    let Some(spec) = ai_spec(ai) else {
        // An "other" element from bracketed input: only what holds for every AI.
        return check_characters(ai, value, Charset::Alphanumeric, 1, LONGEST_GS1_VALUE).map(|()| Checked::Other);
    };
    let (min, max) = (spec.length.min(), spec.length.max());
    check_characters(ai, value, spec.charset, min, max)?;
    match spec.content {
        Content::Text => Ok(Checked::Other),
        Content::CheckDigit { digits } => {
            // Length and characters are checked, so the first `digits` are ASCII digits.
            let number = &value[..digits];
            verify_check_digit(number).map_err(|expected| Problem::BadCheckDigit {
                ai: ai.to_owned(),
                digits: number.to_owned(),
                expected,
            })?;
            match ai {
                "01" | "02" => Gtin::parse(value)
                    .map(Checked::Gtin)
                    .map_err(|_| Problem::NotNumeric { ai: ai.to_owned(), value: value.to_owned() }),
                _ => Ok(Checked::Other),
            }
        }
        Content::Date => {
            parse_yymmdd(value, today, true).map(Checked::Date).map_err(|fault| invalid_date(ai, value, fault))
        }
        Content::DateTime => {
            parse_yymmddhhmm(value, today).map(|_| Checked::Other).map_err(|fault| invalid_date(ai, value, fault))
        }
    }
}

fn invalid_date(ai: &str, value: &str, fault: crate::problem::DateFault) -> Problem {
    Problem::InvalidDate { ai: ai.to_owned(), value: value.to_owned(), fault }
}

fn check_characters(ai: &str, value: &str, charset: Charset, min: usize, max: usize) -> Result<(), Problem> {
    let len = value.chars().count();
    if !(min..=max).contains(&len) {
        return Err(Problem::WrongLength {
            ai: ai.to_owned(),
            value: value.to_owned(),
            expected: if min == max { ExpectedLength::Exactly(min) } else { ExpectedLength::Between { min, max } },
        });
    }
    let numeric_prefix = match charset {
        Charset::Numeric => usize::MAX,
        Charset::Alphanumeric => 0,
        Charset::NumericThenAlphanumeric(digits) => digits,
    };
    for (i, c) in value.chars().enumerate() {
        if i < numeric_prefix && !c.is_ascii_digit() {
            return Err(Problem::NotNumeric { ai: ai.to_owned(), value: value.to_owned() });
        }
        if !is_cset82(c) {
            return Err(Problem::InvalidCharacter { ai: ai.to_owned(), value: value.to_owned(), character: c });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use expect_test::{Expect, expect};

    use super::*;

    /// The day every scenario is scanned on.
    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    /// Renders what a pharmacist's screen would need: the typed facts, every element as
    /// read, and each problem as its code and message.
    fn check(scan: &str, expect: Expect) {
        let read = parse(scan, today());
        let s = &read.scan;
        let mut out = String::new();
        let mut line = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                writeln!(out, "{name}: {value}").unwrap();
            }
        };
        line("symbology", s.symbology().map(str::to_owned));
        line("gtin", s.gtin().map(Gtin::to_string));
        line("expiry", s.expiry().map(|d| d.to_string()));
        line("lot", s.lot().map(str::to_owned));
        line("serial", s.serial().map(str::to_owned));
        for e in s.elements() {
            let known = if e.spec().is_some() { "" } else { " (other)" };
            writeln!(out, "({}) {:?}{known}", e.ai, e.value).unwrap();
        }
        for p in &read.problems {
            writeln!(out, "{}: {p}", p.code()).unwrap();
        }
        expect.assert_eq(&out);
    }

    #[test]
    fn bracketed_datamatrix_text_as_printed_under_the_code() {
        check(
            "(01)09501101530003(17)271231(10)ABC123(21)XYZ",
            expect![[r#"
            gtin: 09501101530003
            expiry: 2027-12-31
            lot: ABC123
            serial: XYZ
            (01) "09501101530003"
            (17) "271231"
            (10) "ABC123"
            (21) "XYZ"
        "#]],
        );
    }

    #[test]
    fn raw_scan_with_gs_after_the_lot() {
        check(
            "01095011015300031727123110ABC123\u{1d}21XYZ",
            expect![[r#"
            gtin: 09501101530003
            expiry: 2027-12-31
            lot: ABC123
            serial: XYZ
            (01) "09501101530003"
            (17) "271231"
            (10) "ABC123"
            (21) "XYZ"
        "#]],
        );
    }

    #[test]
    fn datamatrix_symbology_identifier_is_kept() {
        check(
            "]d201095011015300031727123110ABC123\u{1d}21XYZ",
            expect![[r#"
            symbology: ]d2
            gtin: 09501101530003
            expiry: 2027-12-31
            lot: ABC123
            serial: XYZ
            (01) "09501101530003"
            (17) "271231"
            (10) "ABC123"
            (21) "XYZ"
        "#]],
        );
    }

    #[test]
    fn fnc1_sent_as_leading_gs_and_scanner_suffix_ignored() {
        check(
            "]d2\u{1d}0109501101530003\u{1d}17271231\u{1d}",
            expect![[r#"
            symbology: ]d2
            gtin: 09501101530003
            expiry: 2027-12-31
            (01) "09501101530003"
            (17) "271231"
        "#]],
        );
        check(
            "(01) 09501101530003 (17) 271231",
            expect![[r#"
            gtin: 09501101530003
            expiry: 2027-12-31
            (01) "09501101530003"
            (17) "271231"
        "#]],
        );
        check(
            "\u{1d}01095011015300031727123110ABC123\r\n",
            expect![[r#"
            gtin: 09501101530003
            expiry: 2027-12-31
            lot: ABC123
            (01) "09501101530003"
            (17) "271231"
            (10) "ABC123"
        "#]],
        );
    }

    #[test]
    fn gs1_128_with_lot_last_needs_no_separator() {
        check(
            "]C1010950110153000317271231",
            expect![[r#"
            symbology: ]C1
            gtin: 09501101530003
            expiry: 2027-12-31
            (01) "09501101530003"
            (17) "271231"
        "#]],
        );
        check(
            "]C101095011015300031727123110LOT-42/B",
            expect![[r#"
            symbology: ]C1
            gtin: 09501101530003
            expiry: 2027-12-31
            lot: LOT-42/B
            (01) "09501101530003"
            (17) "271231"
            (10) "LOT-42/B"
        "#]],
        );
    }

    #[test]
    fn serial_before_lot_is_split_at_the_gs() {
        check(
            "]d2010950110153000321SN0001\u{1d}10ABC123\u{1d}17270600",
            expect![[r#"
            symbology: ]d2
            gtin: 09501101530003
            expiry: 2027-06-30
            lot: ABC123
            serial: SN0001
            (01) "09501101530003"
            (21) "SN0001"
            (10) "ABC123"
            (17) "270600"
        "#]],
        );
    }

    #[test]
    fn day_00_means_the_last_day_of_the_month_including_leap_february() {
        check(
            "(01)09501101530003(17)280200",
            expect![[r#"
            gtin: 09501101530003
            expiry: 2028-02-29
            (01) "09501101530003"
            (17) "280200"
        "#]],
        );
        check(
            "(01)09501101530003(17)270200",
            expect![[r#"
            gtin: 09501101530003
            expiry: 2027-02-28
            (01) "09501101530003"
            (17) "270200"
        "#]],
        );
        check(
            "(01)09501101530003(17)270400",
            expect![[r#"
            gtin: 09501101530003
            expiry: 2027-04-30
            (01) "09501101530003"
            (17) "270400"
        "#]],
        );
    }

    /// Scanned in 2026: YY 76 is 50 years ahead (this century), YY 77 is 51 ahead (1977).
    #[test]
    fn two_digit_years_follow_the_gs1_century_window() {
        check(
            "(17)761231",
            expect![[r#"
            expiry: 2076-12-31
            (17) "761231"
        "#]],
        );
        check(
            "(17)770101",
            expect![[r#"
            expiry: 1977-01-01
            (17) "770101"
        "#]],
        );
    }

    #[test]
    fn misread_gtin_is_rejected_by_its_check_digit() {
        check(
            "(01)09501101530004(17)271231(10)ABC123",
            expect![[r#"
            expiry: 2027-12-31
            lot: ABC123
            (01) "09501101530004"
            (17) "271231"
            (10) "ABC123"
            bad_check_digit: (01) GTIN 09501101530004 fails its check digit (it should end in 3): the barcode was misread or the label is damaged — rescan, and do not dispense on this number
        "#]],
        );
        check(
            "]d201095011015300041727123110ABC123",
            expect![[r#"
            symbology: ]d2
            expiry: 2027-12-31
            lot: ABC123
            (01) "09501101530004"
            (17) "271231"
            (10) "ABC123"
            bad_check_digit: (01) GTIN 09501101530004 fails its check digit (it should end in 3): the barcode was misread or the label is damaged — rescan, and do not dispense on this number
        "#]],
        );
    }

    #[test]
    fn too_short_gtin_is_rejected() {
        check(
            "(01)0950110153(10)ABC",
            expect![[r#"
            lot: ABC
            (01) "0950110153"
            (10) "ABC"
            wrong_length: (01) GTIN should be exactly 14 characters but "0950110153" has 10 characters — part of the code is missing or a separator was lost; rescan
        "#]],
        );
        check(
            "950110153",
            expect![[r#"
            wrong_length: (01) GTIN should be 8, 12, 13 or 14 digits but "950110153" has 9 characters — part of the code is missing or a separator was lost; rescan
        "#]],
        );
    }

    #[test]
    fn letters_in_a_numeric_field_are_rejected() {
        check(
            "(01)0950110153000O",
            expect![[r#"
            (01) "0950110153000O"
            not_numeric: (01) GTIN must be digits only but reads "0950110153000O": the barcode is misread or wrongly printed; rescan
        "#]],
        );
        check(
            "(01)09501101530003(17)27I231",
            expect![[r#"
            gtin: 09501101530003
            (01) "09501101530003"
            (17) "27I231"
            not_numeric: (17) USE BY OR EXPIRY must be digits only but reads "27I231": the barcode is misread or wrongly printed; rescan
        "#]],
        );
    }

    #[test]
    fn impossible_dates_are_problems_not_panics() {
        check(
            "(17)271301",
            expect![[r#"
            (17) "271301"
            invalid_date: (17) USE BY OR EXPIRY reads "271301", which is not a valid date (there is no month 13); do not rely on this date — read it from the pack
        "#]],
        );
        check(
            "(17)270231",
            expect![[r#"
            (17) "270231"
            invalid_date: (17) USE BY OR EXPIRY reads "270231", which is not a valid date (day 31 does not exist in 02/2027); do not rely on this date — read it from the pack
        "#]],
        );
        check(
            "(7003)2712312460",
            expect![[r#"
            (7003) "2712312460"
            invalid_date: (7003) EXPIRY TIME reads "2712312460", which is not a valid date (time 24:60 does not exist); do not rely on this date — read it from the pack
        "#]],
        );
    }

    #[test]
    fn unknown_ai_in_bracketed_form_is_kept_as_other() {
        check(
            "(01)09501101530003(7240)ABC-12(10)LOT7",
            expect![[r#"
            gtin: 09501101530003
            lot: LOT7
            (01) "09501101530003"
            (7240) "ABC-12" (other)
            (10) "LOT7"
        "#]],
        );
    }

    #[test]
    fn unknown_ai_in_raw_form_stops_with_its_position() {
        check(
            "]d20109501101530003724012\u{1d}10LOT7",
            expect![[r#"
            symbology: ]d2
            gtin: 09501101530003
            (01) "09501101530003"
            unparseable: the barcode could not be read at character 20: application identifier "7240" is not one this system knows, so the rest cannot be split safely; rescan, or check the details against the pack by eye
        "#]],
        );
    }

    #[test]
    fn garbage_is_unparseable_never_a_panic() {
        check(
            "hello",
            expect![[r#"
            unparseable: the barcode could not be read at character 1: expected an application identifier (digits) but found "hell"; rescan, or check the details against the pack by eye
        "#]],
        );
        check(
            "",
            expect![[r#"
            unparseable: nothing was scanned; scan the GS1 barcode on the pack
        "#]],
        );
        check(
            " \r\n",
            expect![[r#"
            unparseable: nothing was scanned; scan the GS1 barcode on the pack
        "#]],
        );
        check(
            "]d2",
            expect![[r#"
            symbology: ]d2
            unparseable: nothing was scanned; scan the GS1 barcode on the pack
        "#]],
        );
        check(
            "]d2\u{1d}",
            expect![[r#"
            symbology: ]d2
            unparseable: nothing was scanned; scan the GS1 barcode on the pack
        "#]],
        );
        check(
            "]",
            expect![[r#"
            unparseable: the barcode could not be read at character 1: the symbology identifier is malformed; rescan, or check the details against the pack by eye
        "#]],
        );
        check(
            "(01",
            expect![[r#"
            unparseable: the barcode could not be read at character 1: an application identifier is missing its closing ")"; rescan, or check the details against the pack by eye
        "#]],
        );
        check(
            "(ab)12",
            expect![[r#"
            unparseable: the barcode could not be read at character 2: "ab" is not an application identifier (2–4 digits); rescan, or check the details against the pack by eye
        "#]],
        );
        check(
            "x(01)09501101530003",
            expect![[r#"
            unparseable: the barcode could not be read at character 1: expected an application identifier (digits) but found "x(01"; rescan, or check the details against the pack by eye
        "#]],
        );
    }

    #[test]
    fn plain_ean_upc_scans_become_gtin_14() {
        check(
            "4006381333931",
            expect![[r#"
            gtin: 04006381333931
            (01) "04006381333931"
        "#]],
        );
        check(
            "]E04006381333931",
            expect![[r#"
            symbology: ]E0
            gtin: 04006381333931
            (01) "04006381333931"
        "#]],
        );
        check(
            "96385074",
            expect![[r#"
            gtin: 00000096385074
            (01) "00000096385074"
        "#]],
        );
        check(
            "036000291452",
            expect![[r#"
            gtin: 00036000291452
            (01) "00036000291452"
        "#]],
        );
        check(
            "]E040063813339310012",
            expect![[r#"
            symbology: ]E0
            wrong_length: (01) GTIN should be 8, 12, 13 or 14 digits but "40063813339310012" has 17 characters — part of the code is missing or a separator was lost; rescan
        "#]],
        );
    }

    #[test]
    fn non_gs1_barcode_is_named() {
        check(
            "]A0RX12345",
            expect![[r#"
                symbology: ]A0
                unparseable: this is a Code 39 barcode (]A0), which does not carry GS1 data; scan the GS1 DataMatrix (or other GS1 barcode) on the pack instead
            "#]],
        );
    }

    #[test]
    fn conflicting_duplicate_ai_is_a_problem_and_the_first_value_is_kept() {
        check(
            "(01)09501101530003(10)A1(10)B2",
            expect![[r#"
            gtin: 09501101530003
            lot: A1
            (01) "09501101530003"
            (10) "A1"
            (10) "B2"
            duplicate_ai: (10) BATCH/LOT appears twice with different values ("A1" and "B2"): the label is ambiguous — do not dispense on this scan; check the pack
        "#]],
        );
        check(
            "(10)A1(10)A1",
            expect![[r#"
            lot: A1
            (10) "A1"
            (10) "A1"
        "#]],
        );
    }

    /// A lost GS after a lot is only detectable when the run-on exceeds the lot's 20
    /// characters; a shorter run-on is indistinguishable from a real lot (first case:
    /// the serial is swallowed into the lot). Printers, not parsers, must prevent that.
    #[test]
    fn missing_separator_that_overflows_the_lot_is_caught() {
        check(
            "]d2010950110153000310ABC21SERIAL",
            expect![[r#"
            symbology: ]d2
            gtin: 09501101530003
            lot: ABC21SERIAL
            (01) "09501101530003"
            (10) "ABC21SERIAL"
        "#]],
        );
        check(
            "]d2010950110153000310ABCDEFGHIJ21SERIAL1234567",
            expect![[r#"
            symbology: ]d2
            gtin: 09501101530003
            (01) "09501101530003"
            (10) "ABCDEFGHIJ21SERIAL1234567"
            wrong_length: (10) BATCH/LOT should be 1 to 20 characters but "ABCDEFGHIJ21SERIAL1234567" has 25 characters — part of the code is missing or a separator was lost; rescan
        "#]],
        );
    }

    #[test]
    fn other_healthcare_ais() {
        check(
            "(01)09501101530003(3103)000250(7003)2712312359(710)PZN1234567(422)276",
            expect![[r#"
                gtin: 09501101530003
                (01) "09501101530003"
                (3103) "000250"
                (7003) "2712312359"
                (710) "PZN1234567"
                (422) "276"
            "#]],
        );
        check(
            "(10)AB\\(1)",
            expect![[r#"
            lot: AB(1)
            (10) "AB(1)"
        "#]],
        );
        check(
            "(00)106141411234567897(8017)795260646688514634",
            expect![[r#"
            (00) "106141411234567897"
            (8017) "795260646688514634"
        "#]],
        );
        check(
            "(00)106141411234567890",
            expect![[r#"
            (00) "106141411234567890"
            bad_check_digit: (00) SSCC 106141411234567890 fails its check digit (it should end in 7): the barcode was misread or the label is damaged — rescan, and do not dispense on this number
        "#]],
        );
    }

    #[test]
    fn expiry_day_itself_is_not_expired() {
        let expiry = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        assert!(!is_expired(expiry, NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()));
        assert!(is_expired(expiry, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()));
    }

    #[test]
    fn into_result_keeps_what_was_read() {
        let err = parse("(01)09501101530003(17)271301", today()).into_result().unwrap_err();
        assert_eq!(err.scan.gtin().map(Gtin::as_str), Some("09501101530003"));
        assert_eq!(err.problems.len(), 1);
    }
}
