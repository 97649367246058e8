//! The printer-failed fallback: a label as a one-page PDF in the spool folder, for any
//! office printer.
//!
//! Written by hand rather than with a PDF crate (printpdf pulls in font, image and layout
//! machinery): the fallback must work whenever the label printer does not, so it should be
//! small enough to read in full. It shows the label's text fields (the `^FD` fields of the
//! ZPL, the dispense id among them) in Helvetica, a standard PDF font that needs no
//! embedding, and draws the label's Code 128 barcode (the `^BC` field) as filled bars from
//! the same module pattern `rxgate-label` prints, so the fallback label scans like the
//! thermal one.

use std::fmt::Write as _;

/// The text fields of a ZPL label, in order (`^FD…^FS`). A field after `^FH` has its
/// `_hh` hexadecimal escapes decoded (the label renderer escapes `^`, `~` and `_` so).
pub fn zpl_fields(zpl: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut hex = false;
    for command in zpl.split('^') {
        if command.starts_with("FH") {
            hex = true;
        } else if let Some(field) = command.strip_prefix("FD") {
            let field = field.trim_end();
            let text = if hex { unescape_fh(field) } else { field.to_string() };
            hex = false;
            if !text.is_empty() {
                fields.push(text);
            }
        }
    }
    fields
}

/// The data of the ZPL's Code 128 barcode: the `^FD` field after a `^BC` command.
pub fn zpl_barcode(zpl: &str) -> Option<String> {
    let mut after_bc = false;
    for command in zpl.split('^') {
        if command.starts_with("BC") {
            after_bc = true;
        } else if let Some(field) = command.strip_prefix("FD").filter(|_| after_bc) {
            return Some(field.trim_end().to_string()).filter(|f| !f.is_empty());
        }
    }
    None
}

fn unescape_fh(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded =
            (bytes[i] == b'_').then(|| field.get(i + 1..i + 3)).flatten().and_then(|h| u8::from_str_radix(h, 16).ok());
        match decoded {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn pdf_text(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '(' | ')' | '\\' => format!("\\{c}"),
            ' '..='~' => c.to_string(),
            _ => "?".to_string(),
        })
        .collect()
}

/// Width of one Code 128 module, in points (0.42 mm: above the 0.25 mm scanners need even
/// from an office printer at 300 dpi).
const MODULE_PT: f64 = 1.2;
/// Bar height and the quiet zone on each side (ten modules, as the symbology asks).
const BAR_HEIGHT_PT: f64 = 36.0;
const QUIET_MODULES: f64 = 10.0;

/// A one-page PDF (4 × 3 inch label) with `title`, `lines` and, when given, the barcode
/// drawn across the bottom.
pub fn label_pdf(title: &str, lines: &[String], barcode: Option<&rxgate_label::Code128>) -> Vec<u8> {
    let (width, height) = (288, 216);
    let mut content = String::new();
    // Text stops above the barcode when there is one.
    let text_floor = if barcode.is_some() { 14 + BAR_HEIGHT_PT as i32 + 6 } else { 10 };
    if let Some(symbol) = barcode {
        let _ = writeln!(content, "0 g");
        for (is_bar, start, run) in symbol.runs() {
            if is_bar {
                let x = (QUIET_MODULES + start as f64) * MODULE_PT;
                let _ = writeln!(content, "{x:.2} 12 {:.2} {BAR_HEIGHT_PT:.2} re f", run as f64 * MODULE_PT);
            }
        }
    }
    let _ = writeln!(content, "BT /F1 11 Tf 14 {} Td ({}) Tj ET", height - 22, pdf_text(title));
    for (i, line) in lines.iter().enumerate() {
        let y = height - 42 - 14 * i32::try_from(i).unwrap_or(i32::MAX / 16);
        if y < text_floor {
            break;
        }
        let _ = writeln!(content, "BT /F1 9 Tf 14 {y} Td ({}) Tj ET", pdf_text(line));
    }
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] \
             /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}endstream", content.len()),
    ];
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        let _ = write!(out, "{} 0 obj\n{object}\nendobj\n", i + 1);
    }
    let xref = out.len();
    let _ = write!(out, "xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        let _ = writeln!(out, "{offset:010} 00000 n ");
    }
    let _ = write!(out, "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1);
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bars drawn, read back from the content stream as modules (bar or space).
    fn drawn_modules(pdf: &str) -> Vec<bool> {
        let mut bars: Vec<(usize, usize)> = pdf
            .lines()
            .filter_map(|l| l.strip_suffix(" re f"))
            .map(|l| {
                let n: Vec<f64> = l.split(' ').map(|t| t.parse().unwrap()).collect();
                ((n[0] / MODULE_PT - QUIET_MODULES).round() as usize, (n[2] / MODULE_PT).round() as usize)
            })
            .collect();
        bars.sort();
        let end = bars.last().map_or(0, |(s, w)| s + w);
        let mut modules = vec![false; end];
        for (start, width) in bars {
            modules[start..start + width].iter_mut().for_each(|m| *m = true);
        }
        modules
    }

    #[test]
    fn the_fallback_draws_exactly_the_symbol_the_thermal_label_prints() {
        let zpl = "^XA^FO20,20^FDAzithromycin 250 mg^FS^FO20,60^BCN,80,Y,N,N^FDRXD-00000042^FS^XZ";
        let payload = zpl_barcode(zpl).expect("the ^BC field");
        assert_eq!(payload, "RXD-00000042");
        // `rxgate-label`'s own test scans this symbol back to its payload from a rendered page.
        let symbol = rxgate_label::code128(&payload).unwrap();
        let pdf = String::from_utf8(label_pdf("fallback", &zpl_fields(zpl), Some(&symbol))).unwrap();
        // A Code 128 symbol ends on a bar (the stop pattern), so the drawn bars span it all.
        assert_eq!(drawn_modules(&pdf), symbol.modules);
        let right_edge = (QUIET_MODULES * 2.0 + symbol.modules.len() as f64) * MODULE_PT;
        assert!(right_edge <= 288.0, "the symbol and its quiet zones fit the label: {right_edge}");
        assert_eq!(zpl_barcode("^XA^FO20,20^FDno barcode here^FS^XZ"), None);
    }

    #[test]
    fn fields_come_out_of_the_zpl_in_order() {
        let zpl = "^XA^FO20,20^A0N,30,30^FDOmeprazole 20 mg^FS^FO20,60^BCN,80,Y,N,N^FDD-000042^FS^XZ";
        assert_eq!(zpl_fields(zpl), ["Omeprazole 20 mg", "D-000042"]);
        let escaped = "^XA^FO20,20^FH^FDParacetamol_5F120 mg_7E^FS\n^FO1,1^FDa_5Fb^FS^XZ";
        assert_eq!(zpl_fields(escaped), ["Paracetamol_120 mg~", "a_5Fb"]);
    }

    #[test]
    fn the_pdf_has_a_consistent_cross_reference_table() {
        let pdf = String::from_utf8(label_pdf("Label (printer offline)", &["D-000042 (x)".into()], None)).unwrap();
        assert!(pdf.starts_with("%PDF-1.4\n") && pdf.ends_with("%%EOF\n"));
        assert!(pdf.contains("(D-000042 \\(x\\)) Tj"));
        // Every xref offset points at the start of its object.
        let xref_at: usize = pdf.rsplit("startxref\n").next().unwrap().lines().next().unwrap().parse().unwrap();
        let table = &pdf[xref_at..];
        for (i, line) in table.lines().skip(3).take(5).enumerate() {
            let offset: usize = line[..10].parse().unwrap();
            assert!(pdf[offset..].starts_with(&format!("{} 0 obj", i + 1)), "object {}", i + 1);
        }
    }
}
