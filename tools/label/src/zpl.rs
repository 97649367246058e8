//! The label as ZPL II for a 4 × 3 inch thermal label at 203 dpi (812 × 609 dots).

use crate::{LabelData, LabelError, code128};

/// A field's text with ZPL's command characters made harmless: `^FH` turns on hex escapes
/// with `_` as the indicator, so `^`, `~` and `_` itself are written as `_5E`, `_7E`, `_5F`.
fn field(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '^' => out.push_str("_5E"),
            '~' => out.push_str("_7E"),
            '_' => out.push_str("_5F"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Appends one text field at `(x, y)` dots with a font height of `h` dots.
fn text(out: &mut String, x: u32, y: u32, h: u32, value: &str) {
    out.push_str(&format!("^FO{x},{y}^A0N,{h},{h}^FB760,2,0,L^FH^FD{}^FS\n", field(value)));
}

/// Renders `label` as one ZPL II format (`^XA` … `^XZ`), UTF-8 (`^CI28`). The barcode is
/// `^BC` (Code 128) of the dispense id with its text printed below, the same payload as the
/// PDF's.
pub fn zpl(label: &LabelData) -> Result<String, LabelError> {
    // Validates the payload exactly as the PDF does, so a label is printable both ways or
    // neither.
    let symbol = code128(&label.dispense_id)?;
    let mut out = String::from("^XA\n^CI28\n^PW812\n^LL609\n");
    text(&mut out, 30, 20, 28, &format!("{}   {}", label.pharmacy, label.date));
    text(&mut out, 30, 56, 26, &format!("Patient / Pesakit: {}", label.patient));
    text(&mut out, 30, 92, 36, &format!("{} {}", label.drug.to_uppercase(), label.strength));
    text(&mut out, 30, 134, 26, &format!("Qty / Kuantiti: {}", label.quantity));
    text(&mut out, 30, 168, 24, &format!("EN: {}", label.directions.en));
    text(&mut out, 30, 222, 24, &format!("BM: {}", label.directions.ms));
    let mut y = 276;
    for warning in label.warnings.iter().take(2) {
        text(&mut out, 30, y, 22, &format!("! {} / {}", warning.en, warning.ms));
        y += 48;
    }
    text(&mut out, 30, 380, 22, &format!("Pharmacist / Ahli farmasi: {}", label.pharmacist));
    // ^BY2: 2-dot modules (0.25 mm at 203 dpi), within scanners' comfortable range.
    out.push_str(&format!("^FO30,420^BY2^BCN,120,Y,N,N^FH^FD{}^FS\n^XZ\n", field(&symbol.payload).replace('>', "><")));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Bilingual;

    fn label(dispense_id: &str) -> LabelData {
        LabelData {
            pharmacy: "Farmasi Demo".into(),
            patient: "A. (patient 1)".into(),
            drug: "azithromycin".into(),
            strength: "250 mg capsule".into(),
            directions: Bilingual::new("Take 500 mg by mouth once a day.", "Ambil 500 mg melalui mulut sekali sehari."),
            quantity: "6".into(),
            dispense_id: dispense_id.into(),
            date: "2026-11-23".into(),
            pharmacist: "aisyah".into(),
            warnings: vec![Bilingual::new("Keep out of reach of children", "Jauhkan daripada kanak-kanak")],
        }
    }

    #[test]
    fn a_label_is_one_format_with_a_code_128_of_the_dispense_id() {
        let z = zpl(&label("RXD-00000042")).unwrap();
        assert!(z.starts_with("^XA\n") && z.ends_with("^XZ\n"), "{z}");
        assert_eq!(z.matches("^XA").count(), 1);
        let barcode = z.lines().find(|l| l.contains("^BC")).expect("a ^BC field");
        assert!(barcode.contains("^FDRXD-00000042^FS"), "{barcode}");
        assert!(z.contains("BM: Ambil 500 mg"), "{z}");
        assert!(z.contains("Jauhkan daripada kanak-kanak"), "{z}");
    }

    #[test]
    fn text_cannot_inject_zpl_commands() {
        let mut l = label("RXD-1");
        l.patient = "X^XZ^XA~JR".into();
        let z = zpl(&l).unwrap();
        assert_eq!(z.matches("^XZ").count(), 1, "{z}");
        assert!(z.contains("X_5EXZ_5EXA_7EJR"), "{z}");
    }

    #[test]
    fn a_zpl_label_is_refused_for_an_id_the_barcode_cannot_carry() {
        assert!(zpl(&label("")).is_err());
    }
}
