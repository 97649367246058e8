//! The GS1 Application Identifier table, as data.
//!
//! Each row is copied from the GS1 General Specifications (section 3, "GS1 Application
//! Identifier definitions") and the "predefined length" table (figure 7.8.5-2). A row
//! whose `ai` ends in `n` stands for ten AIs (`310n` is 3100–3105): the last digit is the
//! position of the implied decimal point, and GS1 defines only 0–5 for the six-digit
//! measures.
//!
//! The table only needs to be *complete enough to parse raw scans safely*: in a raw
//! element string an unknown AI means we cannot know where its value ends, so the scan
//! is reported as unparseable rather than guessed at. Bracketed input carries its own
//! boundaries, so unknown AIs there are kept as they are.

/// How long an AI's value may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    /// Exactly this many characters.
    Fixed(usize),
    /// Between `min` and `max` characters, inclusive.
    Variable {
        /// Fewest characters allowed (1 for most AIs).
        min: usize,
        /// Most characters allowed.
        max: usize,
    },
}

impl Length {
    /// The smallest allowed length.
    pub fn min(self) -> usize {
        match self {
            Length::Fixed(n) => n,
            Length::Variable { min, .. } => min,
        }
    }

    /// The largest allowed length.
    pub fn max(self) -> usize {
        match self {
            Length::Fixed(n) => n,
            Length::Variable { max, .. } => max,
        }
    }
}

/// Which characters an AI's value may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// Digits 0–9 only.
    Numeric,
    /// GS1 AI encodable character set 82 (digits, letters and `!"%&'()*+,-./:;<=>?_`).
    Alphanumeric,
    /// This many digits, then set 82 characters (e.g. AI 8003: N14 + X..16).
    NumericThenAlphanumeric(usize),
}

/// What the value means, beyond its characters; drives the semantic checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// No further structure is checked.
    Text,
    /// The first `digits` digits end in a GS1 mod-10 check digit (GTIN, SSCC, GLN, GSRN…).
    CheckDigit {
        /// How many leading digits the check digit covers, the check digit included.
        digits: usize,
    },
    /// `YYMMDD`; `DD = 00` means the last day of the month.
    Date,
    /// `YYMMDDHHMM` (AI 7003); here the day must be a real day.
    DateTime,
}

/// One row of the AI table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AiSpec {
    /// The AI as printed, e.g. `"01"`, or `"310n"` for a family with a decimal-point digit.
    pub ai: &'static str,
    /// The GS1 data title, e.g. `"GTIN"` or `"USE BY OR EXPIRY"`.
    pub title: &'static str,
    /// Allowed value length.
    pub length: Length,
    /// Allowed value characters.
    pub charset: Charset,
    /// Whether the AI is in the GS1 "predefined length" table, so a raw element string
    /// needs no FNC1/GS after it. Only AIs starting 00–04, 11–20, 31–36 or 41 are; every
    /// other AI needs a separator when it is not last, even if its length is fixed.
    pub predefined_length: bool,
    /// Semantic checks for the value.
    pub content: Content,
}

impl AiSpec {
    /// Whether `ai` (2–4 digits, as read) is this row. `n` in the pattern matches 0–5.
    fn matches(&self, ai: &str) -> bool {
        self.ai.len() == ai.len()
            && self.ai.bytes().zip(ai.bytes()).all(|(p, c)| match p {
                b'n' => (b'0'..=b'5').contains(&c),
                _ => p == c,
            })
    }
}

// Short constructors keep each table row on one line, so the table reads like the GS1 one.
const fn n(len: usize) -> (Length, Charset) {
    (Length::Fixed(len), Charset::Numeric)
}
const fn n_var(max: usize) -> (Length, Charset) {
    (Length::Variable { min: 1, max }, Charset::Numeric)
}
const fn x_var(max: usize) -> (Length, Charset) {
    (Length::Variable { min: 1, max }, Charset::Alphanumeric)
}

const fn row(
    ai: &'static str,
    title: &'static str,
    format: (Length, Charset),
    predefined_length: bool,
    content: Content,
) -> AiSpec {
    AiSpec { ai, title, length: format.0, charset: format.1, predefined_length, content }
}

const TEXT: Content = Content::Text;
const DATE: Content = Content::Date;
const fn check(digits: usize) -> Content {
    Content::CheckDigit { digits }
}
/// Predefined length: no separator needed after it in a raw element string.
const PRE: bool = true;
/// Not predefined: a separator is needed unless it is the last element.
const SEP: bool = false;

/// The AI table. AIs are prefix-free (no AI is the start of another), which is what lets
/// a raw element string be split without separators after predefined-length AIs.
pub static AI_TABLE: &[AiSpec] = &[
    row("00", "SSCC", n(18), PRE, check(18)),
    row("01", "GTIN", n(14), PRE, check(14)),
    row("02", "CONTENT", n(14), PRE, check(14)),
    row("10", "BATCH/LOT", x_var(20), SEP, TEXT),
    row("11", "PROD DATE", n(6), PRE, DATE),
    row("12", "DUE DATE", n(6), PRE, DATE),
    row("13", "PACK DATE", n(6), PRE, DATE),
    row("15", "BEST BEFORE or BEST BY", n(6), PRE, DATE),
    row("16", "SELL BY", n(6), PRE, DATE),
    row("17", "USE BY OR EXPIRY", n(6), PRE, DATE),
    row("20", "VARIANT", n(2), PRE, TEXT),
    row("21", "SERIAL", x_var(20), SEP, TEXT),
    row("22", "CPV", x_var(20), SEP, TEXT),
    row("235", "TPX", x_var(28), SEP, TEXT),
    row("240", "ADDITIONAL ID", x_var(30), SEP, TEXT),
    row("241", "CUST. PART No.", x_var(30), SEP, TEXT),
    row("253", "GDTI", (Length::Variable { min: 13, max: 30 }, Charset::NumericThenAlphanumeric(13)), SEP, check(13)),
    row("30", "VAR. COUNT", n_var(8), SEP, TEXT),
    // Trade measures (31xx–36xx): six digits, the AI's last digit places the decimal point.
    row("310n", "NET WEIGHT (kg)", n(6), PRE, TEXT),
    row("311n", "LENGTH (m)", n(6), PRE, TEXT),
    row("312n", "WIDTH (m)", n(6), PRE, TEXT),
    row("313n", "HEIGHT (m)", n(6), PRE, TEXT),
    row("314n", "AREA (m²)", n(6), PRE, TEXT),
    row("315n", "NET VOLUME (l)", n(6), PRE, TEXT),
    row("316n", "NET VOLUME (m³)", n(6), PRE, TEXT),
    row("320n", "NET WEIGHT (lb)", n(6), PRE, TEXT),
    row("321n", "LENGTH (in)", n(6), PRE, TEXT),
    row("322n", "LENGTH (ft)", n(6), PRE, TEXT),
    row("323n", "LENGTH (yd)", n(6), PRE, TEXT),
    row("324n", "WIDTH (in)", n(6), PRE, TEXT),
    row("325n", "WIDTH (ft)", n(6), PRE, TEXT),
    row("326n", "WIDTH (yd)", n(6), PRE, TEXT),
    row("327n", "HEIGHT (in)", n(6), PRE, TEXT),
    row("328n", "HEIGHT (ft)", n(6), PRE, TEXT),
    row("329n", "HEIGHT (yd)", n(6), PRE, TEXT),
    row("330n", "GROSS WEIGHT (kg)", n(6), PRE, TEXT),
    row("331n", "LENGTH (m), log", n(6), PRE, TEXT),
    row("332n", "WIDTH (m), log", n(6), PRE, TEXT),
    row("333n", "HEIGHT (m), log", n(6), PRE, TEXT),
    row("334n", "AREA (m²), log", n(6), PRE, TEXT),
    row("335n", "VOLUME (l), log", n(6), PRE, TEXT),
    row("336n", "VOLUME (m³), log", n(6), PRE, TEXT),
    row("337n", "KG PER m²", n(6), PRE, TEXT),
    row("340n", "GROSS WEIGHT (lb)", n(6), PRE, TEXT),
    row("341n", "LENGTH (in), log", n(6), PRE, TEXT),
    row("342n", "LENGTH (ft), log", n(6), PRE, TEXT),
    row("343n", "LENGTH (yd), log", n(6), PRE, TEXT),
    row("344n", "WIDTH (in), log", n(6), PRE, TEXT),
    row("345n", "WIDTH (ft), log", n(6), PRE, TEXT),
    row("346n", "WIDTH (yd), log", n(6), PRE, TEXT),
    row("347n", "HEIGHT (in), log", n(6), PRE, TEXT),
    row("348n", "HEIGHT (ft), log", n(6), PRE, TEXT),
    row("349n", "HEIGHT (yd), log", n(6), PRE, TEXT),
    row("350n", "AREA (in²)", n(6), PRE, TEXT),
    row("351n", "AREA (ft²)", n(6), PRE, TEXT),
    row("352n", "AREA (yd²)", n(6), PRE, TEXT),
    row("353n", "AREA (in²), log", n(6), PRE, TEXT),
    row("354n", "AREA (ft²), log", n(6), PRE, TEXT),
    row("355n", "AREA (yd²), log", n(6), PRE, TEXT),
    row("356n", "NET WEIGHT (troy oz)", n(6), PRE, TEXT),
    row("357n", "NET VOLUME (oz)", n(6), PRE, TEXT),
    row("360n", "NET VOLUME (qt)", n(6), PRE, TEXT),
    row("361n", "NET VOLUME (gal.)", n(6), PRE, TEXT),
    row("362n", "VOLUME (qt), log", n(6), PRE, TEXT),
    row("363n", "VOLUME (gal.), log", n(6), PRE, TEXT),
    row("364n", "VOLUME (in³)", n(6), PRE, TEXT),
    row("365n", "VOLUME (ft³)", n(6), PRE, TEXT),
    row("366n", "VOLUME (yd³)", n(6), PRE, TEXT),
    row("367n", "VOLUME (in³), log", n(6), PRE, TEXT),
    row("368n", "VOLUME (ft³), log", n(6), PRE, TEXT),
    row("369n", "VOLUME (yd³), log", n(6), PRE, TEXT),
    row("37", "COUNT", n_var(8), SEP, TEXT),
    row("400", "ORDER NUMBER", x_var(30), SEP, TEXT),
    row("410", "SHIP TO LOC", n(13), PRE, check(13)),
    row("411", "BILL TO", n(13), PRE, check(13)),
    row("412", "PURCHASE FROM", n(13), PRE, check(13)),
    row("413", "SHIP FOR LOC", n(13), PRE, check(13)),
    row("414", "LOC No.", n(13), PRE, check(13)),
    row("415", "PAY TO", n(13), PRE, check(13)),
    row("416", "PROD/SERV LOC", n(13), PRE, check(13)),
    row("417", "PARTY", n(13), PRE, check(13)),
    row("422", "ORIGIN", n(3), SEP, TEXT),
    row("7003", "EXPIRY TIME", n(10), SEP, Content::DateTime),
    row("7004", "ACTIVE POTENCY", n_var(4), SEP, TEXT),
    // National Healthcare Reimbursement Numbers.
    row("710", "NHRN PZN", x_var(20), SEP, TEXT),
    row("711", "NHRN CIP", x_var(20), SEP, TEXT),
    row("712", "NHRN CN", x_var(20), SEP, TEXT),
    row("713", "NHRN DRN", x_var(20), SEP, TEXT),
    row("714", "NHRN AIM", x_var(20), SEP, TEXT),
    row("715", "NHRN NDC", x_var(20), SEP, TEXT),
    row("8003", "GRAI", (Length::Variable { min: 14, max: 30 }, Charset::NumericThenAlphanumeric(14)), SEP, check(14)),
    row("8004", "GIAI", x_var(30), SEP, TEXT),
    row("8006", "ITIP", n(18), SEP, check(14)),
    row("8012", "VERSION", x_var(20), SEP, TEXT),
    row("8017", "GSRN - PROVIDER", n(18), SEP, check(18)),
    row("8018", "GSRN - RECIPIENT", n(18), SEP, check(18)),
    row("90", "INTERNAL", x_var(30), SEP, TEXT),
    row("91", "INTERNAL", x_var(90), SEP, TEXT),
    row("92", "INTERNAL", x_var(90), SEP, TEXT),
    row("93", "INTERNAL", x_var(90), SEP, TEXT),
    row("94", "INTERNAL", x_var(90), SEP, TEXT),
    row("95", "INTERNAL", x_var(90), SEP, TEXT),
    row("96", "INTERNAL", x_var(90), SEP, TEXT),
    row("97", "INTERNAL", x_var(90), SEP, TEXT),
    row("98", "INTERNAL", x_var(90), SEP, TEXT),
    row("99", "INTERNAL", x_var(90), SEP, TEXT),
];

/// The table row for an AI as read (`"01"`, `"3103"`), if the table knows it.
pub fn ai_spec(ai: &str) -> Option<&'static AiSpec> {
    AI_TABLE.iter().find(|spec| spec.matches(ai))
}

/// Whether `c` is in GS1 AI encodable character set 82.
pub(crate) fn is_cset82(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!\"%&'()*+,-./:;<=>?_".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GS1 figure 7.8.5-2: the predefined-length flag follows from the first two digits.
    /// A row that disagrees would make the raw parser demand (or skip) a separator wrongly.
    #[test]
    fn predefined_length_flag_matches_the_gs1_prefix_table() {
        const PREDEFINED_PREFIXES: [&str; 22] = [
            "00", "01", "02", "03", "04", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20", "31", "32", "33",
            "34", "35", "36", "41",
        ];
        for spec in AI_TABLE {
            let expected = PREDEFINED_PREFIXES.contains(&&spec.ai[..2]);
            assert_eq!(spec.predefined_length, expected, "AI {}", spec.ai);
            if spec.predefined_length {
                assert!(matches!(spec.length, Length::Fixed(_)), "AI {}", spec.ai);
            }
        }
    }

    /// The checker slices the check-digit run as ASCII digits; a row where that run could
    /// be shorter than the value or contain letters would make it misread (or panic).
    #[test]
    fn check_digit_runs_are_numeric_and_always_present() {
        for spec in AI_TABLE {
            if let Content::CheckDigit { digits } = spec.content {
                assert!(digits <= spec.length.min(), "AI {}", spec.ai);
                let numeric = match spec.charset {
                    Charset::Numeric => usize::MAX,
                    Charset::NumericThenAlphanumeric(n) => n,
                    Charset::Alphanumeric => 0,
                };
                assert!(digits <= numeric, "AI {}", spec.ai);
            }
        }
    }

    /// Splitting a raw string relies on no AI being a prefix of another.
    #[test]
    fn ais_are_prefix_free() {
        let expand = |ai: &'static str| -> Vec<String> {
            match ai.strip_suffix('n') {
                Some(stem) => (0..=5).map(|d| format!("{stem}{d}")).collect(),
                None => vec![ai.to_owned()],
            }
        };
        let all: Vec<String> = AI_TABLE.iter().flat_map(|s| expand(s.ai)).collect();
        for a in &all {
            for b in &all {
                assert!(a == b || !b.starts_with(a.as_str()), "{a} is a prefix of {b}");
            }
        }
    }

    #[test]
    fn measure_family_matches_only_decimal_positions_zero_to_five() {
        assert_eq!(ai_spec("3103").map(|s| s.ai), Some("310n"));
        assert_eq!(ai_spec("3106"), None);
        assert_eq!(ai_spec("310"), None);
    }
}
