//! `cargo run -p rxgate-label --example render -- OUT.pdf`: writes a sample label (PDF and ZPL).
fn main() {
    let out = std::env::args().nth(1).unwrap_or_else(|| "label.pdf".into());
    let label = rxgate_label::LabelData {
        pharmacy: "rxgate demo pharmacy".into(),
        patient: "D.A. (patient 1)".into(),
        drug: "azithromycin".into(),
        strength: "250 mg".into(),
        directions: rxgate_label::directions("500", "mg", "od", "oral", Some(3)),
        quantity: "6".into(),
        dispense_id: "RXD-00000042".into(),
        date: "2026-11-23".into(),
        pharmacist: "aisyah".into(),
        warnings: vec![rxgate_label::Bilingual::new("Keep out of reach of children", "Jauhkan daripada kanak-kanak")],
    };
    std::fs::write(&out, rxgate_label::pdf(&label).expect("pdf")).expect("write");
    print!("{}", rxgate_label::zpl(&label).expect("zpl"));
}
