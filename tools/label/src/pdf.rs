//! The label as a one-page PDF (100 × 75 mm) with the built-in Helvetica faces, whose
//! WinAnsi encoding covers English and Malay, and the barcode drawn as filled rectangles.

use printpdf::{
    BuiltinFont, Color, Mm, Op, PaintMode, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, Rect, Rgb,
    TextItem,
};

use crate::{LabelData, LabelError, code128};

const WIDTH_MM: f32 = 100.0;
const HEIGHT_MM: f32 = 75.0;
const MARGIN: f32 = 12.0;
/// 0.3 mm per module: above the 0.25 mm most handheld scanners need, and the symbol of a
/// 12-character id (167 modules) stays under 55 mm.
const MODULE_PT: f32 = 0.3 * 72.0 / 25.4;
const BAR_HEIGHT: f32 = 34.0;
/// ISO/IEC 15417 asks for at least 10 modules of quiet zone on each side.
const QUIET_MODULES: f32 = 10.0;
// The page margin is the barcode's left quiet zone; the right one is the empty label width.
const _: () = assert!(MARGIN >= QUIET_MODULES * MODULE_PT);

fn black() -> Color {
    Color::Rgb(Rgb { r: 0.0, g: 0.0, b: 0.0, icc_profile: None })
}

/// Breaks `text` into lines of at most `max_chars`, at spaces where possible. Helvetica
/// averages about half an em per character, which is what `max_chars` is computed from.
fn wrap(text: &str, max_chars: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > max_chars {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Writes text line by line from the top down.
struct Writer {
    ops: Vec<Op>,
    y: f32,
}

impl Writer {
    fn line(&mut self, text: &str, size: f32, bold: bool) {
        let font = if bold { BuiltinFont::HelveticaBold } else { BuiltinFont::Helvetica };
        let width = WIDTH_MM * 72.0 / 25.4 - 2.0 * MARGIN;
        let max_chars = ((width / (size * 0.52)) as usize).max(10);
        for part in wrap(text, max_chars) {
            self.y -= size * 1.2;
            self.ops.extend([
                Op::StartTextSection,
                Op::SetTextCursor { pos: Point { x: Pt(MARGIN), y: Pt(self.y) } },
                Op::SetFont { font: PdfFontHandle::Builtin(font), size: Pt(size) },
                Op::ShowText { items: vec![TextItem::Text(part)] },
                Op::EndTextSection,
            ]);
        }
    }

    fn gap(&mut self, points: f32) {
        self.y -= points;
    }
}

/// Renders `label` as PDF bytes: header, patient, drug and quantity, directions in English
/// then Malay, warnings, pharmacist, and the dispense id as Code 128 with its text below.
pub fn pdf(label: &LabelData) -> Result<Vec<u8>, LabelError> {
    pdf_labels(std::slice::from_ref(label))
}

/// Several labels (the lines of one prescription) as one PDF, a page each, in order.
/// Nothing is rendered unless every label's barcode can be.
pub fn pdf_labels(labels: &[LabelData]) -> Result<Vec<u8>, LabelError> {
    let pages = labels.iter().map(page).collect::<Result<Vec<_>, _>>()?;
    let title = labels.iter().map(|l| l.dispense_id.as_str()).collect::<Vec<_>>().join(", ");
    let mut doc = PdfDocument::new(&format!("Label {title}"));
    let mut warnings = Vec::new();
    Ok(doc.with_pages(pages).save(&PdfSaveOptions::default(), &mut warnings))
}

fn page(label: &LabelData) -> Result<PdfPage, LabelError> {
    let symbol = code128(&label.dispense_id)?;
    let height = HEIGHT_MM * 72.0 / 25.4;
    let mut w = Writer { ops: vec![Op::SaveGraphicsState, Op::SetFillColor { col: black() }], y: height - 6.0 };

    w.line(&format!("{}    {}", label.pharmacy, label.date), 8.0, true);
    w.line(&format!("Patient / Pesakit: {}", label.patient), 7.5, false);
    w.gap(2.0);
    w.line(&format!("{} {}", label.drug.to_uppercase(), label.strength), 11.0, true);
    w.line(&format!("Quantity / Kuantiti: {}", label.quantity), 7.5, false);
    w.gap(2.0);
    w.line(&format!("EN: {}", label.directions.en), 8.0, true);
    w.line(&format!("BM: {}", label.directions.ms), 8.0, true);
    for warning in &label.warnings {
        w.line(&format!("! {} / {}", warning.en, warning.ms), 7.0, false);
    }
    w.line(&format!("Pharmacist / Ahli farmasi: {}", label.pharmacist), 7.0, false);

    // The barcode sits at the bottom, left-aligned after its quiet zone; the bars are
    // filled rectangles, one per run of bar modules, so the symbol is exact at any zoom.
    let x0 = MARGIN;
    let bar_bottom = 16.0;
    for (is_bar, start, width) in symbol.runs() {
        if is_bar {
            let mut rect = Rect::from_xywh(
                Pt(x0 + start as f32 * MODULE_PT),
                Pt(bar_bottom),
                Pt(width as f32 * MODULE_PT),
                Pt(BAR_HEIGHT),
            );
            rect.mode = Some(PaintMode::Fill);
            w.ops.push(Op::DrawRectangle { rectangle: rect });
        }
    }
    w.ops.extend([
        Op::StartTextSection,
        Op::SetTextCursor { pos: Point { x: Pt(x0), y: Pt(bar_bottom - 9.0) } },
        Op::SetFont { font: PdfFontHandle::Builtin(BuiltinFont::Courier), size: Pt(8.0) },
        Op::ShowText { items: vec![TextItem::Text(symbol.payload.clone())] },
        Op::EndTextSection,
        Op::RestoreGraphicsState,
    ]);

    Ok(PdfPage::new(Mm(WIDTH_MM), Mm(HEIGHT_MM), w.ops))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_directions_wrap_at_spaces_and_lose_no_word() {
        let text = "Take 500 mg by mouth twice a day for 5 days and complete the whole course";
        let lines = wrap(text, 20);
        assert!(lines.iter().all(|l| l.chars().count() <= 20), "{lines:?}");
        assert_eq!(lines.join(" "), text);
    }
}
