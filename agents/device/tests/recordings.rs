//! The recorded streams of three scanner styles decode to exactly the barcodes that were
//! scanned: a keyboard wedge with a US layout, a HID POS scanner with AIM identifiers, and
//! a keyboard wedge programmed with a prefix, a suffix and a printable GS stand-in.

use rxgate_agent::decode::{self, DecodeError, Scan};
use rxgate_agent::recording;

fn decode_file(name: &str) -> Vec<Result<Scan, DecodeError>> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let rec = recording::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut decoder = decode::decoder(rec.format, rec.framing.clone(), rec.report_id);
    rec.reports().flat_map(|r| decoder.feed(r)).collect()
}

fn ok(text: &str, aim: Option<&str>) -> Result<Scan, DecodeError> {
    Ok(Scan { text: text.to_string(), symbology: aim.map(str::to_string) })
}

/// Omeprazole 20 mg Losec (GTIN 02951793913177), lot DL24K570, expiry 2028-03-31.
const OMEPRAZOLE: &str = "0102951793913177" /* (01) */;
/// Amlodipine 5 mg Borneo (GTIN 02954817321484), expiry 2027-05-31, lot DL25D406.
const AMLODIPINE: &str = "010295481732148417270531" /* (01)(17) */;

#[test]
fn keyboard_wedge_us_layout_decodes_shift_rollover_and_ctrl_bracket_gs() {
    assert_eq!(
        decode_file("wedge-us.hidrec"),
        [
            ok(&format!("]C1{AMLODIPINE}10DL25D406"), Some("]C1")),
            ok(&format!("]C1{OMEPRAZOLE}10DL24K570\u{1d}17280331"), Some("]C1")),
        ]
    );
}

#[test]
fn hid_pos_reports_carry_the_aim_identifier_and_join_continuations() {
    let serial = format!("SN{}", "7".repeat(30));
    assert_eq!(
        decode_file("hidpos-aim.hidrec"),
        [
            ok(&format!("]C1{OMEPRAZOLE}10DL24K570\u{1d}17280331"), Some("]C1")),
            ok(&format!("]d2{OMEPRAZOLE}1728033110DL24K570\u{1d}21{serial}\u{1d}240OMEP-20-CAP"), Some("]d2")),
            ok(&format!("]C1{AMLODIPINE}10DL25D406"), Some("]C1")),
        ]
    );
}

#[test]
fn a_programmed_prefix_and_suffix_are_stripped_and_a_partial_read_is_dropped() {
    let out = decode_file("wedge-framed.hidrec");
    assert_eq!(out.len(), 3, "{out:?}");
    assert_eq!(out[0], ok(&format!("{OMEPRAZOLE}10DL24K570\u{1d}17280331"), None));
    assert!(
        matches!(&out[1], Err(DecodeError::MissingPrefix { got, .. }) if got == "1727053110DL25D406}"),
        "{:?}",
        out[1]
    );
    assert_eq!(out[2], ok(&format!("{AMLODIPINE}10DL25D406"), None));
}
