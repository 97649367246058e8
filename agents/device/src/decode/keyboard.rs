//! Keyboard-wedge scanners: the barcode arrives typed, as HID keyboard boot reports
//! (HID 1.11 appendix B.1: modifier bits, a reserved byte, up to six key usages from the
//! Keyboard/Keypad page 0x07), with a US layout assumed, Enter at the end of each scan.
//!
//! A key is typed when it appears in a report and was not in the previous one, so
//! - a key held over several reports is typed once, and a scanner that types the same
//!   character twice must release it in between (they all do: an empty report);
//! - with rollover (the next key pressed before the last is released) the keys are typed
//!   in the order they appear, each with the modifiers of the report it first appears in;
//! - a report with ErrorRollOver (usage 0x01) in its slots reports no state and is skipped.
//!
//! The GS1 group separator arrives as Ctrl+] (the ASCII control character of `]` is 0x1D)
//! or as Alt + keypad `0 2 9` (the Windows Alt-code), depending on how the scanner was set
//! up, or as a printable stand-in ([`super::Framing::gs_substitute`]).

use super::{DecodeError, Decoder, Finish, GS, Scan};

const LEFT_CTRL: u8 = 0x01;
const LEFT_SHIFT: u8 = 0x02;
const LEFT_ALT: u8 = 0x04;
const RIGHT_CTRL: u8 = 0x10;
const RIGHT_SHIFT: u8 = 0x20;
const RIGHT_ALT: u8 = 0x40;

const ERROR_ROLLOVER: u8 = 0x01;
const ENTER: u8 = 0x28;
const KEYPAD_ENTER: u8 = 0x58;
const RIGHT_BRACKET: u8 = 0x30;

/// The character a key types on a US layout, unshifted and shifted.
fn us_layout(usage: u8) -> Option<(char, char)> {
    const DIGITS: &[u8; 10] = b"1234567890";
    const SHIFTED_DIGITS: &[u8; 10] = b"!@#$%^&*()";
    Some(match usage {
        0x04..=0x1d => {
            let c = char::from(b'a' + (usage - 0x04));
            (c, c.to_ascii_uppercase())
        }
        0x1e..=0x27 => {
            let i = usize::from(usage - 0x1e);
            (char::from(DIGITS[i]), char::from(SHIFTED_DIGITS[i]))
        }
        0x2b => ('\t', '\t'),
        0x2c => (' ', ' '),
        0x2d => ('-', '_'),
        0x2e => ('=', '+'),
        0x2f => ('[', '{'),
        0x30 => (']', '}'),
        0x31 => ('\\', '|'),
        0x33 => (';', ':'),
        0x34 => ('\'', '"'),
        0x35 => ('`', '~'),
        0x36 => (',', '<'),
        0x37 => ('.', '>'),
        0x38 => ('/', '?'),
        0x54 => ('/', '/'),
        0x55 => ('*', '*'),
        0x56 => ('-', '-'),
        0x57 => ('+', '+'),
        0x59..=0x61 => {
            let c = char::from(b'1' + (usage - 0x59));
            (c, c)
        }
        0x62 => ('0', '0'),
        0x63 => ('.', '.'),
        _ => return None,
    })
}

/// The digit of a keypad key, for Alt-codes.
fn keypad_digit(usage: u8) -> Option<u32> {
    match usage {
        0x59..=0x61 => Some(u32::from(usage - 0x58)),
        0x62 => Some(0),
        _ => None,
    }
}

/// Decodes keyboard boot reports into scans.
#[derive(Debug)]
pub struct KeyboardDecoder {
    finish: Finish,
    /// Devices that number their reports put the id first; it is checked and dropped.
    report_id: Option<u8>,
    held: Vec<u8>,
    typed: String,
    /// Keypad digits typed while Alt is held: an Alt-code, typed when Alt is released.
    alt_code: Option<u32>,
    error: Option<DecodeError>,
}

impl KeyboardDecoder {
    pub fn new(finish: Finish, report_id: Option<u8>) -> KeyboardDecoder {
        KeyboardDecoder { finish, report_id, held: Vec::new(), typed: String::new(), alt_code: None, error: None }
    }

    fn end_scan(&mut self, out: &mut Vec<Result<Scan, DecodeError>>) {
        let typed = std::mem::take(&mut self.typed);
        if let Some(error) = self.error.take() {
            out.push(Err(error));
            return;
        }
        if let Some(result) = self.finish.apply(&typed, None) {
            out.push(result);
        }
    }

    fn press(&mut self, usage: u8, modifiers: u8, out: &mut Vec<Result<Scan, DecodeError>>) {
        let ctrl = modifiers & (LEFT_CTRL | RIGHT_CTRL) != 0;
        let shift = modifiers & (LEFT_SHIFT | RIGHT_SHIFT) != 0;
        let alt = modifiers & (LEFT_ALT | RIGHT_ALT) != 0;
        if usage == ENTER || usage == KEYPAD_ENTER {
            self.end_scan(out);
            return;
        }
        if alt && let Some(digit) = keypad_digit(usage) {
            self.alt_code = Some(self.alt_code.unwrap_or(0).saturating_mul(10).saturating_add(digit));
            return;
        }
        if ctrl {
            if usage == RIGHT_BRACKET {
                self.typed.push(GS);
            } else {
                self.error.get_or_insert(DecodeError::UnknownKey { usage });
            }
            return;
        }
        match us_layout(usage) {
            Some((plain, shifted)) => self.typed.push(if shift { shifted } else { plain }),
            None => {
                self.error.get_or_insert(DecodeError::UnknownKey { usage });
            }
        }
    }
}

impl Decoder for KeyboardDecoder {
    fn feed(&mut self, report: &[u8]) -> Vec<Result<Scan, DecodeError>> {
        let mut out = Vec::new();
        let body = match self.report_id {
            Some(id) if report.first() == Some(&id) => &report[1..],
            Some(_) => return out,
            None => report,
        };
        if body.len() < 3 {
            out.push(Err(DecodeError::ShortReport { len: report.len(), need: 8 }));
            return out;
        }
        let modifiers = body[0];
        let keys: Vec<u8> = body[2..].iter().copied().filter(|k| *k != 0).collect();
        if keys.contains(&ERROR_ROLLOVER) {
            return out;
        }
        if modifiers & (LEFT_ALT | RIGHT_ALT) == 0
            && let Some(code) = self.alt_code.take()
        {
            match char::from_u32(code) {
                Some(c) if code < 0x80 => self.typed.push(c),
                _ => {
                    self.error.get_or_insert(DecodeError::UnknownKey { usage: 0 });
                }
            }
        }
        for key in &keys {
            if !self.held.contains(key) {
                self.press(*key, modifiers, &mut out);
            }
        }
        self.held = keys;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Framing;

    fn report(modifiers: u8, keys: &[u8]) -> Vec<u8> {
        let mut r = vec![modifiers, 0];
        r.extend_from_slice(keys);
        r.resize(8, 0);
        r
    }

    fn decode(reports: &[Vec<u8>]) -> Vec<Result<Scan, DecodeError>> {
        let mut d = KeyboardDecoder::new(Finish::default(), None);
        reports.iter().flat_map(|r| d.feed(r)).collect()
    }

    fn texts(reports: &[Vec<u8>]) -> Vec<String> {
        decode(reports).into_iter().map(|r| r.expect("scan").text).collect()
    }

    const UP: u8 = 0;

    #[test]
    fn shifted_and_unshifted_keys_type_the_us_characters() {
        // "]C12" then Enter: `]` unshifted, `C` with left shift, `1`, `2`.
        let reports = [
            report(UP, &[0x30]),
            report(UP, &[]),
            report(LEFT_SHIFT, &[0x06]),
            report(UP, &[]),
            report(UP, &[0x1e]),
            report(UP, &[]),
            report(UP, &[0x1f]),
            report(UP, &[ENTER]),
            report(UP, &[]),
        ];
        assert_eq!(texts(&reports), ["]C12"]);
    }

    #[test]
    fn a_repeated_digit_is_typed_twice_only_because_it_was_released_between() {
        let released =
            [report(UP, &[0x1e]), report(UP, &[]), report(UP, &[0x1e]), report(UP, &[]), report(UP, &[ENTER])];
        assert_eq!(texts(&released), ["11"]);
        // Held across two reports (no release): one key press, one character.
        let held = [report(UP, &[0x1e]), report(UP, &[0x1e]), report(UP, &[]), report(UP, &[ENTER])];
        assert_eq!(texts(&held), ["1"]);
    }

    #[test]
    fn rollover_types_keys_in_the_order_they_went_down() {
        // `0` down, `1` down while `0` still held, `0` up, `1` up.
        let reports = [
            report(UP, &[0x27]),
            report(UP, &[0x27, 0x1e]),
            report(UP, &[0x1e]),
            report(UP, &[]),
            report(UP, &[ENTER]),
        ];
        assert_eq!(texts(&reports), ["01"]);
        // Keys that move between slots are still the same held keys.
        let moved = [report(UP, &[0x27, 0x1e]), report(UP, &[0x1e, 0x27]), report(UP, &[]), report(UP, &[ENTER])];
        assert_eq!(texts(&moved), ["01"]);
    }

    #[test]
    fn an_error_rollover_report_changes_nothing() {
        let reports = [
            report(UP, &[0x1e]),
            report(UP, &[ERROR_ROLLOVER; 6]),
            report(UP, &[0x1e]),
            report(UP, &[]),
            report(UP, &[ENTER]),
        ];
        assert_eq!(texts(&reports), ["1"]);
    }

    #[test]
    fn ctrl_right_bracket_and_alt_029_are_the_group_separator() {
        let ctrl = [
            report(UP, &[0x1e]),
            report(UP, &[]),
            report(LEFT_CTRL, &[RIGHT_BRACKET]),
            report(LEFT_CTRL, &[]),
            report(UP, &[]),
            report(UP, &[0x1f]),
            report(UP, &[]),
            report(UP, &[ENTER]),
        ];
        assert_eq!(texts(&ctrl), ["1\u{1d}2"]);
        let alt = [
            report(LEFT_ALT, &[]),
            report(LEFT_ALT, &[0x62]),
            report(LEFT_ALT, &[]),
            report(LEFT_ALT, &[0x5a]),
            report(LEFT_ALT, &[]),
            report(LEFT_ALT, &[0x61]),
            report(LEFT_ALT, &[]),
            report(UP, &[]),
            report(UP, &[0x1f]),
            report(UP, &[]),
            report(UP, &[ENTER]),
        ];
        assert_eq!(texts(&alt), ["\u{1d}2"]);
    }

    #[test]
    fn a_right_shift_types_capitals_too_and_a_report_id_is_dropped() {
        let mut d = KeyboardDecoder::new(Finish::default(), Some(1));
        let mut out = Vec::new();
        for r in [report(RIGHT_SHIFT, &[0x04]), report(UP, &[]), report(UP, &[ENTER])] {
            let mut numbered = vec![1];
            numbered.extend(r);
            out.extend(d.feed(&numbered));
        }
        assert_eq!(out, [Ok(Scan { text: "A".into(), symbology: None })]);
    }

    #[test]
    fn an_unmapped_key_spoils_the_scan_rather_than_being_skipped() {
        // F1 (0x3a) in the middle of a scan: the scan is refused, the next one is fine.
        let reports = [
            report(UP, &[0x1e]),
            report(UP, &[0x3a]),
            report(UP, &[]),
            report(UP, &[ENTER]),
            report(UP, &[]),
            report(UP, &[0x1f]),
            report(UP, &[]),
            report(UP, &[ENTER]),
        ];
        let out = decode(&reports);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0], Err(DecodeError::UnknownKey { usage: 0x3a }));
        assert_eq!(out[1].as_ref().unwrap().text, "2");
    }

    #[test]
    fn the_configured_stand_in_for_gs_is_replaced() {
        let finish = Finish { framing: Framing { gs_substitute: Some('~'), ..Framing::default() } };
        let mut d = KeyboardDecoder::new(finish, None);
        let reports = [
            report(UP, &[0x1e]),
            report(UP, &[]),
            report(LEFT_SHIFT, &[0x35]),
            report(UP, &[]),
            report(UP, &[0x1f]),
            report(UP, &[ENTER]),
        ];
        let out: Vec<_> = reports.iter().flat_map(|r| d.feed(r)).collect();
        assert_eq!(out[0].as_ref().unwrap().text, "1\u{1d}2");
    }
}
