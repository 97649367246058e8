//! Property tests: the safety properties a pharmacy relies on, over random packs.

use chrono::NaiveDate;
use proptest::prelude::*;
use rxgate_barcode::{
    AI_TABLE, AiSpec, Charset, Content, ElementString, Gtin, GtinError, Problem, gtin_check_digit, parse,
};

/// The day every property is checked on.
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

/// A valid GTIN-14 built from 13 random data digits and the computed check digit.
fn gtin14() -> impl Strategy<Value = String> {
    "[0-9]{13}".prop_map(|body| {
        let check = gtin_check_digit(&body).unwrap();
        format!("{body}{check}")
    })
}

/// Lot and serial values: 1–20 characters of GS1 character set 82 (brackets included,
/// so the bracketed encoder's escaping is exercised).
fn set82_text() -> impl Strategy<Value = String> {
    "[!\"%&'()*+,./0-9:;<=>?A-Z_a-z-]{1,20}"
}

/// Expiry dates a reader in 2026 maps back to the same century (1977–2076, GS1 7.12).
fn expiry() -> impl Strategy<Value = NaiveDate> {
    (1977i32..=2076, 1u32..=12, 1u32..=31).prop_filter_map("real date", |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
}

/// A random pack label: GTIN always, the rest optional, serial sometimes before lot.
fn label() -> impl Strategy<Value = ElementString> {
    (
        gtin14(),
        proptest::option::of(expiry()),
        proptest::option::of(set82_text()),
        proptest::option::of(set82_text()),
        any::<bool>(),
    )
        .prop_map(|(gtin, expiry, lot, serial, serial_first)| {
            let mut label = ElementString::new().with_gtin(&Gtin::parse(&gtin).unwrap());
            if let Some(expiry) = expiry {
                label = label.with_expiry(expiry);
            }
            let add_lot = |l: ElementString| match &lot {
                Some(lot) => l.with_lot(lot).unwrap(),
                None => l,
            };
            let add_serial = |l: ElementString| match &serial {
                Some(serial) => l.with_serial(serial).unwrap(),
                None => l,
            };
            if serial_first { add_lot(add_serial(label)) } else { add_serial(add_lot(label)) }
        })
}

/// A valid (AI, value) for one table row, built from the row itself: this is what lets
/// the round trip below exercise every AI's length, charset and separator rule.
fn element_for(spec: &'static AiSpec) -> impl Strategy<Value = (String, String)> {
    const SET82: &[u8] = b"!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
    let (min, max) = (spec.length.min(), spec.length.max());
    let numeric = match spec.charset {
        Charset::Numeric => usize::MAX,
        Charset::NumericThenAlphanumeric(n) => n,
        Charset::Alphanumeric => 0,
    };
    (
        0u8..=5,
        prop::collection::vec(any::<prop::sample::Index>(), min..=max),
        1u32..=12,
        1u32..=28,
        0u32..=23,
        0u32..=59,
    )
        .prop_map(move |(decimals, picks, month, day, hour, minute)| {
            let ai = spec.ai.replace('n', &decimals.to_string());
            let mut value: String =
                picks
                    .iter()
                    .enumerate()
                    .map(|(i, pick)| {
                        if i < numeric {
                            char::from(b'0' + (pick.index(10) as u8))
                        } else {
                            char::from(*pick.get(SET82))
                        }
                    })
                    .collect();
            match spec.content {
                Content::Text => {}
                Content::CheckDigit { digits } => {
                    let check = gtin_check_digit(&value[..digits - 1]).unwrap();
                    value.replace_range(digits - 1..digits, &check.to_string());
                }
                Content::Date => value = format!("{}{month:02}{day:02}", &value[..2]),
                Content::DateTime => {
                    value = format!("{}{month:02}{day:02}{hour:02}{minute:02}", &value[..2]);
                }
            }
            (ai, value)
        })
}

/// One to six distinct AIs from the whole table, in random order.
fn any_elements() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::sample::subsequence((0..AI_TABLE.len()).collect::<Vec<_>>(), 1..=6)
        .prop_shuffle()
        .prop_flat_map(|rows| rows.into_iter().map(|row| element_for(&AI_TABLE[row])).collect::<Vec<_>>())
}

/// Characters that matter to the parser, so random strings reach the deep branches.
fn scanner_noise() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\u{1d}".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just("]d2".to_owned()),
        Just("]".to_owned()),
        Just("\\(".to_owned()),
        Just("01".to_owned()),
        Just("17".to_owned()),
        Just("10".to_owned()),
        Just("7003".to_owned()),
        "[0-9]{1,14}",
        "[A-Za-z ]{1,3}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..16).prop_map(|pieces| pieces.concat())
}

proptest! {
    /// What the label printer writes, the scanner reads back unchanged: raw (with and
    /// without a DataMatrix identifier) and bracketed.
    #[test]
    fn encode_then_parse_round_trips(label in label()) {
        for scan in [label.to_raw(), format!("]d2{}", label.to_raw()), label.to_bracketed()] {
            let read = parse(&scan, today());
            prop_assert!(read.is_clean(), "{scan:?}: {:?}", read.problems);
            prop_assert_eq!(read.scan.elements(), label.elements());
            let value_of = |ai: &str| {
                label.elements().iter().find(|e| e.ai == ai).map(|e| e.value.as_str())
            };
            prop_assert_eq!(read.scan.gtin().map(Gtin::as_str), value_of("01"));
            prop_assert_eq!(read.scan.lot(), value_of("10"));
            prop_assert_eq!(read.scan.serial(), value_of("21"));
            let expiry = read.scan.expiry().map(|d| d.format("%y%m%d").to_string());
            prop_assert_eq!(expiry.as_deref(), value_of("17"));
            // Re-encoding what was read gives the same text back.
            prop_assert_eq!(read.scan.to_bracketed(), label.to_bracketed());
            prop_assert_eq!(read.scan.to_raw(), label.to_raw());
        }
    }

    /// Every AI in the table survives encode → parse, next to any other, in any order:
    /// predefined-length AIs run into the next one, all others get their GS.
    #[test]
    fn every_table_ai_round_trips(elements in any_elements()) {
        let mut label = ElementString::new();
        for (ai, value) in &elements {
            label = label.with(ai, value).unwrap();
        }
        for scan in [label.to_raw(), label.to_bracketed()] {
            let read = parse(&scan, today());
            prop_assert!(read.is_clean(), "{scan:?}: {:?}", read.problems);
            prop_assert_eq!(read.scan.elements(), label.elements());
        }
    }

    /// The expiry read back is the very date that was printed, not just the same digits.
    #[test]
    fn expiry_round_trips_as_a_date(gtin in gtin14(), date in expiry()) {
        let label = ElementString::new()
            .with_gtin(&Gtin::parse(&gtin).unwrap())
            .with_expiry(date);
        prop_assert_eq!(parse(&label.to_raw(), today()).scan.expiry(), Some(date));
    }

    /// Arbitrary input never panics, and typed fields only ever hold valid values.
    #[test]
    fn parse_never_panics_on_arbitrary_text(scan in any::<String>()) {
        let read = parse(&scan, today());
        if let Some(gtin) = read.scan.gtin() {
            prop_assert!(Gtin::parse(gtin.as_str()).is_ok());
        }
    }

    #[test]
    fn parse_never_panics_on_scanner_like_noise(scan in scanner_noise()) {
        let read = parse(&scan, today());
        if let Some(gtin) = read.scan.gtin() {
            prop_assert!(Gtin::parse(gtin.as_str()).is_ok());
        }
        // Every problem renders a message for the bench.
        for problem in &read.problems {
            prop_assert!(!problem.to_string().is_empty());
        }
    }

    /// The barcode-swap safety property: changing any one digit of a valid GTIN (a misread
    /// or a mistyped number) is always caught by the check digit, never taken as another
    /// product. Mod-10 with weights 3 and 1 guarantees this because 1 and 3 are coprime
    /// to 10, so every single-digit change moves the weighted sum by a non-multiple of 10.
    #[test]
    fn every_single_digit_change_in_a_gtin_is_caught(
        gtin in gtin14(),
        position in 0usize..14,
        shift in 1u8..=9,
    ) {
        let mut digits = gtin.into_bytes();
        digits[position] = b'0' + (digits[position] - b'0' + shift) % 10;
        let changed = String::from_utf8(digits).unwrap();

        prop_assert!(
            matches!(Gtin::parse(&changed), Err(GtinError::BadCheckDigit { .. })),
            "{changed} was accepted"
        );
        for scan in [format!("(01){changed}(10)LOT1"), format!("]d201{changed}10LOT1"), changed.clone()] {
            let read = parse(&scan, today());
            prop_assert_eq!(read.scan.gtin(), None);
            prop_assert!(
                read.problems.iter().any(|p| matches!(p, Problem::BadCheckDigit { .. })),
                "{scan}: {:?}", read.problems
            );
        }
    }
}
