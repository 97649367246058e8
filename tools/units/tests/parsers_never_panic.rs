//! Units and numbers arrive from people and other programs: parsing any text must return a
//! value or an error, never panic, and what parses must print back to something that parses
//! to the same value.

use proptest::prelude::*;
use rxgate_units::{Number, Unit};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn unit_parsing_is_total(text in "[a-zA-Z0-9./(){}\\[\\]_ -]{0,16}") {
        if let Ok(unit) = Unit::parse(&text) {
            let printed = unit.to_string();
            let again = Unit::parse(&printed);
            prop_assert_eq!(again, Ok(unit), "{} printed as {}", text, printed);
        }
    }

    #[test]
    fn clinical_looking_units_round_trip(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("mg"), Just("ug"), Just("g"), Just("mL"), Just("L"), Just("kg"), Just("m2"),
                Just("h"), Just("min"), Just("d"), Just("mmol"), Just("[iU]"), Just("{tbl}"),
                Just("{1.73_m2}"), Just("cm"),
            ],
            1..4,
        ),
        operators in proptest::collection::vec(prop_oneof![Just("."), Just("/")], 3),
    ) {
        let mut text = parts[0].to_owned();
        for (part, op) in parts[1..].iter().zip(&operators) {
            text.push_str(op);
            text.push_str(part);
        }
        if let Ok(unit) = Unit::parse(&text) {
            prop_assert_eq!(Unit::parse(&unit.to_string()), Ok(unit));
        }
    }

    #[test]
    fn number_parsing_is_total(text in "[0-9eE./+ -]{0,12}") {
        if let Ok(number) = Number::parse(&text) {
            prop_assert_eq!(Number::parse(&number.to_exact_string()), Ok(number));
        }
    }

    #[test]
    fn decimals_parse_exactly(integer in 0u32..100_000, fraction in 0u32..1000) {
        let number = Number::parse(&format!("{integer}.{fraction:03}")).expect("a decimal");
        let expected = Number::from_fraction(i64::from(integer) * 1000 + i64::from(fraction), 1000).expect("non-zero");
        prop_assert_eq!(number, expected);
    }
}
