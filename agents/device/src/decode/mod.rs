//! HID reports in, scan strings out. Pure: no I/O, no clock.
//!
//! Two report formats are understood:
//! - [`keyboard`]: a scanner in keyboard-wedge mode types the barcode as key presses
//!   (HID usage page 0x07, boot-protocol reports: modifier byte, reserved byte, six key
//!   codes), ending each scan with Enter;
//! - [`pos`]: a scanner in HID POS mode (usage page 0x8C) sends the decoded data in
//!   "scanned data" reports with the AIM symbology identifier beside it.
//!
//! Both hand their raw text to [`Finish`], which applies what is configured per scanner:
//! the prefix and suffix the scanner was programmed to add, and the printable stand-in some
//! scanners send for the GS1 group separator (FNC1). The result keeps an AIM symbology
//! identifier (`]C1` GS1-128, `]d2` GS1 DataMatrix, `]e0` GS1 DataBar) at its front,
//! because the server's GS1 parser reads it to know the data is a GS1 element string.

pub mod keyboard;
pub mod pos;

/// The GS1 group separator (ASCII GS, 0x1D) that stands for FNC1 between fields.
pub const GS: char = '\u{1d}';

/// One decoded scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// The scan as the server reads it: optional AIM identifier, then the data with GS
    /// between variable-length GS1 fields.
    pub text: String,
    /// The AIM symbology identifier (`]C1`, `]d2`, `]E0`, …) when the scanner sent one.
    pub symbology: Option<String>,
}

/// Why a scan was dropped instead of posted. A dropped scan is logged; the pharmacist
/// scans again (a half-read barcode must never be guessed at).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The scanner is configured to send this prefix and the scan did not start with it:
    /// a partial read or another device typing.
    MissingPrefix { expected: String, got: String },
    /// Likewise for the suffix.
    MissingSuffix { expected: String, got: String },
    /// A key this layout does not map (keyboard mode).
    UnknownKey { usage: u8 },
    /// A report shorter than its format.
    ShortReport { len: usize, need: usize },
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::MissingPrefix { expected, got } => {
                write!(f, "scan {got:?} does not start with the configured prefix {expected:?}")
            }
            DecodeError::MissingSuffix { expected, got } => {
                write!(f, "scan {got:?} does not end with the configured suffix {expected:?}")
            }
            DecodeError::UnknownKey { usage } => write!(f, "key usage 0x{usage:02x} is not mapped in the US layout"),
            DecodeError::ShortReport { len, need } => write!(f, "report of {len} bytes, {need} expected"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// What a scanner was programmed to add around the data, per scanner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Framing {
    /// Stripped from the front; a scan without it is refused.
    pub prefix: String,
    /// Stripped from the end; a scan without it is refused.
    pub suffix: String,
    /// A printable character the scanner sends in place of GS (some keyboard-wedge
    /// set-ups cannot type a control character). It must be one GS1 data never contains
    /// (GS1 CSET 82 has no `~`, `#`, `$`, `@`, `^`, `|`, `{`, `}`).
    pub gs_substitute: Option<char>,
}

/// Turns a scanner's raw text into a [`Scan`], applying its [`Framing`].
#[derive(Debug, Clone, Default)]
pub struct Finish {
    pub framing: Framing,
}

impl Finish {
    /// `None` for an empty scan (a stray Enter), which is no scan at all.
    pub fn apply(&self, raw: &str, symbology: Option<&str>) -> Option<Result<Scan, DecodeError>> {
        let framing = &self.framing;
        let mut text = raw;
        if text.is_empty() {
            return None;
        }
        if !framing.prefix.is_empty() {
            match text.strip_prefix(framing.prefix.as_str()) {
                Some(rest) => text = rest,
                None => {
                    return Some(Err(DecodeError::MissingPrefix {
                        expected: framing.prefix.clone(),
                        got: raw.to_string(),
                    }));
                }
            }
        }
        if !framing.suffix.is_empty() {
            match text.strip_suffix(framing.suffix.as_str()) {
                Some(rest) => text = rest,
                None => {
                    return Some(Err(DecodeError::MissingSuffix {
                        expected: framing.suffix.clone(),
                        got: raw.to_string(),
                    }));
                }
            }
        }
        let mut text: String = match framing.gs_substitute {
            Some(sub) => text.chars().map(|c| if c == sub { GS } else { c }).collect(),
            None => text.to_string(),
        };
        // A symbology identifier from the report goes in front, unless the scanner also
        // transmitted it in the data.
        let symbology = match symbology {
            Some(aim) if !text.starts_with(aim) => {
                text.insert_str(0, aim);
                Some(aim.to_string())
            }
            Some(aim) => Some(aim.to_string()),
            None => aim_prefix(&text).map(str::to_string),
        };
        if text.is_empty() || symbology.as_deref() == Some(text.as_str()) {
            return None;
        }
        Some(Ok(Scan { text, symbology }))
    }
}

/// The AIM symbology identifier at the front of `text` (ISO/IEC 15424: `]`, a code
/// character, a modifier character), if there is one.
pub fn aim_prefix(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let ok =
        bytes.len() >= 3 && bytes[0] == b']' && bytes[1].is_ascii_alphabetic() && (bytes[2].is_ascii_alphanumeric());
    ok.then(|| &text[..3])
}

/// A decoder of one report format: fed reports in order, yields finished scans.
pub trait Decoder: Send {
    /// Feeds one report (as read from the device, report id included when the device
    /// numbers its reports); returns the scans it completed.
    fn feed(&mut self, report: &[u8]) -> Vec<Result<Scan, DecodeError>>;
}

/// Which decoder a scanner needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReportFormat {
    /// Keyboard wedge, boot-protocol reports.
    Keyboard,
    /// HID POS scanned-data reports.
    HidPos,
}

impl ReportFormat {
    /// Parses `keyboard` / `hid-pos`.
    pub fn parse(text: &str) -> Option<ReportFormat> {
        match text {
            "keyboard" => Some(ReportFormat::Keyboard),
            "hid-pos" => Some(ReportFormat::HidPos),
            _ => None,
        }
    }
}

/// A decoder for `format` with `framing`.
pub fn decoder(format: ReportFormat, framing: Framing, report_id: Option<u8>) -> Box<dyn Decoder> {
    let finish = Finish { framing };
    match format {
        ReportFormat::Keyboard => Box::new(keyboard::KeyboardDecoder::new(finish, report_id)),
        ReportFormat::HidPos => Box::new(pos::PosDecoder::new(finish)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finish(prefix: &str, suffix: &str, gs: Option<char>) -> Finish {
        Finish { framing: Framing { prefix: prefix.into(), suffix: suffix.into(), gs_substitute: gs } }
    }

    #[test]
    fn framing_is_stripped_and_the_gs_stand_in_becomes_gs() {
        let scan = finish("<", ">", Some('~')).apply("<]C1010950110153000310ABC~17271231>", None).unwrap().unwrap();
        assert_eq!(scan.text, "]C1010950110153000310ABC\u{1d}17271231");
        assert_eq!(scan.symbology.as_deref(), Some("]C1"));
    }

    #[test]
    fn a_scan_without_its_configured_framing_is_refused_not_guessed() {
        let f = finish("<", ">", None);
        assert!(matches!(f.apply("]C1010950110153000>", None), Some(Err(DecodeError::MissingPrefix { .. }))));
        assert!(matches!(f.apply("<]C1010950110153000", None), Some(Err(DecodeError::MissingSuffix { .. }))));
    }

    #[test]
    fn an_empty_scan_or_a_bare_identifier_is_no_scan() {
        assert_eq!(finish("", "", None).apply("", None), None);
        assert_eq!(finish("<", ">", None).apply("<>", None), None);
        assert_eq!(finish("", "", None).apply("", Some("]C1")), None);
    }

    #[test]
    fn the_report_symbology_goes_in_front_once() {
        let f = finish("", "", None);
        assert_eq!(f.apply("0109501101530003", Some("]d2")).unwrap().unwrap().text, "]d20109501101530003");
        assert_eq!(f.apply("]d20109501101530003", Some("]d2")).unwrap().unwrap().text, "]d20109501101530003");
    }
}
