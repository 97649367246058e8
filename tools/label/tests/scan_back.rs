//! AC-5.7: the barcode on a printed label scans back to its dispense id.
//!
//! The PDF is rasterised by poppler's `pdftoppm` (as a print driver would) and the page image
//! is read by `rxing`, a port of ZXing, with no hint of where the barcode is. So the test
//! proves that the PDF itself scans, not just that our module pattern is right.

use std::process::Command;

use rxgate_label::{Bilingual, LabelData, code128, directions, pdf};

fn label(dispense_id: &str) -> LabelData {
    LabelData {
        pharmacy: "Farmasi Komuniti Demo, Kuala Lumpur".into(),
        patient: "D.A. (patient 1)".into(),
        drug: "azithromycin".into(),
        strength: "250 mg capsule".into(),
        directions: directions("500", "mg", "od", "oral", Some(3)),
        quantity: "6 capsules".into(),
        dispense_id: dispense_id.into(),
        date: "2026-11-23".into(),
        pharmacist: "aisyah".into(),
        warnings: vec![Bilingual::new("Keep out of reach of children", "Jauhkan daripada kanak-kanak")],
    }
}

/// The page as 8-bit grey pixels at `dpi`, through `pdftoppm -gray` (binary PGM).
fn rasterise(pdf: &[u8], dpi: u32) -> Option<(Vec<u8>, u32, u32)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("label.pdf");
    std::fs::write(&input, pdf).expect("write pdf");
    let out = dir.path().join("page");
    let status = match Command::new("pdftoppm")
        .args(["-gray", "-r", &dpi.to_string(), "-singlefile"])
        .arg(&input)
        .arg(&out)
        .status()
    {
        Ok(status) => status,
        // CI installs poppler-utils (scripts/setup) and must not skip; a developer without
        // it still gets the decode check on the module pattern.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && std::env::var_os("CI").is_none() => return None,
        Err(e) => panic!("pdftoppm: {e}"),
    };
    assert!(status.success(), "pdftoppm failed on the label PDF");
    let pgm = std::fs::read(dir.path().join("page.pgm")).expect("page.pgm");
    Some(parse_pgm(&pgm))
}

/// Binary PGM (P5, maxval 255): header tokens separated by whitespace, then the pixels.
fn parse_pgm(bytes: &[u8]) -> (Vec<u8>, u32, u32) {
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..i]).to_string());
    }
    assert_eq!((fields[0].as_str(), fields[3].as_str()), ("P5", "255"), "pdftoppm -gray writes P5/255");
    let (width, height): (u32, u32) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let pixels = bytes[i + 1..].to_vec();
    assert_eq!(pixels.len(), (width * height) as usize);
    (pixels, width, height)
}

fn scan(pixels: Vec<u8>, width: u32, height: u32) -> String {
    let found = rxing::helpers::detect_in_luma(pixels, width, height, Some(rxing::BarcodeFormat::CODE_128))
        .expect("a Code 128 barcode on the label");
    found.getText().to_string()
}

#[test]
fn the_printed_label_scans_back_to_its_dispense_id() {
    // Ids of the shape the server prints, plus characters that switch code sets in other
    // encoders (digits runs, punctuation).
    for id in ["RXD-00000042", "RXD-7", "D2026/11-23:0001"] {
        let bytes = pdf(&label(id)).expect("label renders");
        assert!(bytes.starts_with(b"%PDF-"), "a PDF file");
        let Some((pixels, w, h)) = rasterise(&bytes, 300) else {
            eprintln!("pdftoppm not installed: skipping the rasterised-PDF scan");
            return;
        };
        assert_eq!(scan(pixels, w, h), id, "the label's barcode must scan as its dispense id");
    }
}

#[test]
fn a_low_resolution_print_still_scans() {
    // 203 dpi is the common thermal-printer resolution: about 2.4 dots per 0.3 mm module.
    let Some((pixels, w, h)) = rasterise(&pdf(&label("RXD-00001234")).unwrap(), 203) else { return };
    assert_eq!(scan(pixels, w, h), "RXD-00001234");
}

#[test]
fn the_module_pattern_itself_decodes_to_the_payload() {
    // Independent of poppler: draw the symbol's modules as a bitmap (4 px per module, 10
    // modules of quiet zone) and decode it.
    let symbol = code128("RXD-00000042").unwrap();
    let (module_px, quiet, rows) = (4usize, 10usize, 60usize);
    let width = (symbol.modules.len() + 2 * quiet) * module_px;
    let mut row = vec![255u8; width];
    for (i, &bar) in symbol.modules.iter().enumerate() {
        if bar {
            let x = (quiet + i) * module_px;
            row[x..x + module_px].fill(0);
        }
    }
    let pixels: Vec<u8> = std::iter::repeat_n(row, rows).flatten().collect();
    assert_eq!(scan(pixels, width as u32, rows as u32), "RXD-00000042");
}

#[test]
fn the_pdf_carries_both_languages() {
    // The content stream is compressed; poppler's pdftotext reads it back as a person would.
    let bytes = pdf(&label("RXD-1")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("l.pdf");
    std::fs::write(&input, &bytes).unwrap();
    let out = match Command::new("pdftotext").arg(&input).arg("-").output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && std::env::var_os("CI").is_none() => return,
        Err(e) => panic!("pdftotext: {e}"),
    };
    let text = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "AZITHROMYCIN 250 mg capsule",
        "EN: Take 500 mg by mouth once a day for 3 days.",
        "BM: Ambil 500 mg melalui mulut sekali sehari selama 3 hari.",
        "Jauhkan daripada kanak-kanak",
        "RXD-1",
    ] {
        assert!(text.contains(expected), "{expected:?} in {text}");
    }
}

#[test]
fn each_page_of_a_multi_label_pdf_scans_as_its_own_line() {
    let labels = [label("RXD-00000001"), label("RXD-00000002")];
    let bytes = rxgate_label::pdf_labels(&labels).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("labels.pdf");
    std::fs::write(&input, &bytes).unwrap();
    for (page, id) in [(1, "RXD-00000001"), (2, "RXD-00000002")] {
        let out = dir.path().join(format!("p{page}"));
        let status = match Command::new("pdftoppm")
            .args(["-gray", "-r", "300", "-singlefile", "-f", &page.to_string(), "-l", &page.to_string()])
            .arg(&input)
            .arg(&out)
            .status()
        {
            Ok(status) => status,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && std::env::var_os("CI").is_none() => return,
            Err(e) => panic!("pdftoppm: {e}"),
        };
        assert!(status.success());
        let (pixels, w, h) = parse_pgm(&std::fs::read(out.with_extension("pgm")).unwrap());
        assert_eq!(scan(pixels, w, h), id, "page {page}");
    }
}
