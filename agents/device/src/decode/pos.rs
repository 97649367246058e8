//! HID POS scanners (usage page 0x8C, "Barcode Scanner"): the decoded data arrives in
//! scanned-data input reports, not as key presses, so no keyboard layout, shift state or
//! control-key convention can corrupt it, and GS arrives as the byte 0x1D.
//!
//! The report layout is the one Honeywell and Zebra scanners use in HID POS mode (64
//! bytes, report id 0x02): `[0]` report id, `[1]` number of data bytes in this report,
//! `[2..5]` AIM symbology identifier (`]C1`; zeros when the scanner sends none), `[5..61]`
//! up to 56 data bytes, `[61]` the vendor's own symbology code, `[62]` reserved, `[63]`
//! continuation flag: non-zero when the barcode goes on in the next report (2D codes
//! longer than 56 bytes).

use super::{DecodeError, Decoder, Finish, Scan};

/// Report id of scanned-data reports.
pub const SCANNED_DATA_REPORT: u8 = 0x02;
/// Bytes in one report, report id included.
pub const REPORT_LEN: usize = 64;
const DATA_START: usize = 5;
const DATA_MAX: usize = 56;
const CONTINUATION: usize = 63;

/// Decodes HID POS scanned-data reports.
#[derive(Debug)]
pub struct PosDecoder {
    finish: Finish,
    data: Vec<u8>,
    symbology: Option<String>,
}

impl PosDecoder {
    pub fn new(finish: Finish) -> PosDecoder {
        PosDecoder { finish, data: Vec::new(), symbology: None }
    }
}

impl Decoder for PosDecoder {
    fn feed(&mut self, report: &[u8]) -> Vec<Result<Scan, DecodeError>> {
        if report.first() != Some(&SCANNED_DATA_REPORT) {
            // Other reports of the collection (status, settings) carry no scan.
            return Vec::new();
        }
        if report.len() < REPORT_LEN {
            self.data.clear();
            return vec![Err(DecodeError::ShortReport { len: report.len(), need: REPORT_LEN })];
        }
        let len = usize::from(report[1]).min(DATA_MAX);
        let aim = &report[2..5];
        if self.data.is_empty() && aim[0] == b']' {
            self.symbology = Some(aim.iter().map(|b| char::from(*b)).collect());
        }
        self.data.extend_from_slice(&report[DATA_START..DATA_START + len]);
        if report[CONTINUATION] != 0 {
            return Vec::new();
        }
        let data = std::mem::take(&mut self.data);
        let symbology = self.symbology.take();
        // Barcode data is bytes; GS1 data is ASCII. Anything else is kept visible (U+FFFD)
        // so the server's parser refuses it instead of the agent guessing.
        let text = String::from_utf8_lossy(&data);
        self.finish.apply(&text, symbology.as_deref()).into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Framing;

    fn report(aim: &[u8; 3], data: &[u8], more: bool) -> Vec<u8> {
        let mut r = vec![0u8; REPORT_LEN];
        r[0] = SCANNED_DATA_REPORT;
        r[1] = u8::try_from(data.len()).unwrap();
        r[2..5].copy_from_slice(aim);
        r[5..5 + data.len()].copy_from_slice(data);
        r[63] = u8::from(more);
        r
    }

    #[test]
    fn the_aim_identifier_from_the_report_leads_the_scan() {
        let mut d = PosDecoder::new(Finish::default());
        let out = d.feed(&report(b"]C1", b"0109501101530003\x1d10AB", false));
        assert_eq!(out, [Ok(Scan { text: "]C10109501101530003\u{1d}10AB".into(), symbology: Some("]C1".into()) })]);
    }

    #[test]
    fn a_long_code_is_joined_across_continuation_reports() {
        let mut d = PosDecoder::new(Finish::default());
        let first = [b'0'; 56];
        assert!(d.feed(&report(b"]d2", &first, true)).is_empty());
        let out = d.feed(&report(b"\0\0\0", b"99", false));
        let scan = out[0].as_ref().unwrap();
        assert_eq!(scan.text.len(), 3 + 58);
        assert!(scan.text.starts_with("]d2000") && scan.text.ends_with("099"));
    }

    #[test]
    fn no_identifier_means_none_is_invented() {
        let mut d = PosDecoder::new(Finish { framing: Framing::default() });
        let out = d.feed(&report(b"\0\0\0", b"4006381333931", false));
        assert_eq!(out, [Ok(Scan { text: "4006381333931".into(), symbology: None })]);
    }

    #[test]
    fn other_reports_and_short_reports_yield_no_scan() {
        let mut d = PosDecoder::new(Finish::default());
        assert!(d.feed(&[0x04, 1, 2, 3]).is_empty());
        assert!(matches!(d.feed(&[0x02, 1, 2])[..], [Err(DecodeError::ShortReport { .. })]));
    }
}
