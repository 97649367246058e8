//! Recorded HID report streams (`*.hidrec`): what a scanner sent, one report per line, so
//! tests and `rxgate-agent --simulate FILE` replay a scanner without the scanner.
//!
//! ```text
//! # free comment
//! !format keyboard          directives: format (keyboard | hid-pos), prefix, suffix,
//! !gs-substitute ~          gs-substitute, report-id (hex) — the scanner's set-up
//! 00 00 1e 00 00 00 00 00   a report, as hex bytes
//! wait 250                  a pause of 250 ms (replayed by --simulate, ignored by tests)
//! ```

use std::time::Duration;

use crate::decode::{Framing, ReportFormat};

/// One step of a recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Report(Vec<u8>),
    Wait(Duration),
}

/// A parsed recording: the scanner's set-up and its reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    pub format: ReportFormat,
    pub framing: Framing,
    pub report_id: Option<u8>,
    pub steps: Vec<Step>,
}

impl Recording {
    /// The reports alone, in order.
    pub fn reports(&self) -> impl Iterator<Item = &[u8]> {
        self.steps.iter().filter_map(|s| match s {
            Step::Report(r) => Some(r.as_slice()),
            Step::Wait(_) => None,
        })
    }
}

/// A directive value: the rest of the line, with `\x1d`-style escapes for bytes a text
/// file cannot show.
fn unescape(text: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                let byte = u8::from_str_radix(&hex, 16).map_err(|_| format!("bad escape \\x{hex}"))?;
                out.push(char::from(byte));
            }
            Some('s') => out.push(' '),
            Some('\\') => out.push('\\'),
            other => return Err(format!("bad escape \\{}", other.map(String::from).unwrap_or_default())),
        }
    }
    Ok(out)
}

/// Parses a recording; errors name the line.
pub fn parse(text: &str) -> Result<Recording, String> {
    let mut recording =
        Recording { format: ReportFormat::Keyboard, framing: Framing::default(), report_id: None, steps: Vec::new() };
    for (index, raw) in text.lines().enumerate() {
        let at = |message: String| format!("line {}: {message}", index + 1);
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(directive) = line.strip_prefix('!') {
            let (key, value) = directive.split_once(char::is_whitespace).unwrap_or((directive, ""));
            let value = unescape(value.trim()).map_err(at)?;
            match key {
                "format" => {
                    recording.format = ReportFormat::parse(&value)
                        .ok_or_else(|| at(format!("format `{value}`: expected keyboard or hid-pos")))?
                }
                "prefix" => recording.framing.prefix = value,
                "suffix" => recording.framing.suffix = value,
                "gs-substitute" => {
                    let mut chars = value.chars();
                    match (chars.next(), chars.next()) {
                        (Some(c), None) => recording.framing.gs_substitute = Some(c),
                        _ => return Err(at(format!("gs-substitute `{value}`: one character expected"))),
                    }
                }
                "report-id" => {
                    let id = u8::from_str_radix(value.trim_start_matches("0x"), 16)
                        .map_err(|_| at(format!("report-id `{value}`: a hex byte expected")))?;
                    recording.report_id = Some(id);
                }
                other => return Err(at(format!("unknown directive `!{other}`"))),
            }
            continue;
        }
        if let Some(ms) = line.strip_prefix("wait") {
            let ms: u64 = ms.trim().parse().map_err(|_| at(format!("`{line}`: wait MILLISECONDS expected")))?;
            recording.steps.push(Step::Wait(Duration::from_millis(ms)));
            continue;
        }
        let bytes = line
            .split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).map_err(|_| at(format!("`{b}` is not a hex byte"))))
            .collect::<Result<Vec<u8>, String>>()?;
        recording.steps.push(Step::Report(bytes));
    }
    Ok(recording)
}

/// Writes reports in the recording format (for `--record`).
pub fn format_report(report: &[u8]) -> String {
    report.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_reports_and_waits_parse_and_errors_name_the_line() {
        let r = parse("# c\n!format hid-pos\n!prefix \\x02\n!suffix \\s#\n02 00\nwait 5\n").unwrap();
        assert_eq!(r.format, ReportFormat::HidPos);
        assert_eq!((r.framing.prefix.as_str(), r.framing.suffix.as_str()), ("\u{2}", " #"));
        assert_eq!(r.steps, [Step::Report(vec![2, 0]), Step::Wait(Duration::from_millis(5))]);
        assert_eq!(parse("00\nzz").unwrap_err(), "line 2: `zz` is not a hex byte");
        assert!(parse("!format serial").unwrap_err().starts_with("line 1:"));
    }
}
