//! The Code 128 symbol of a dispense id, as a row of modules that both renderings draw.

use crate::LabelError;

/// Longest dispense id we print: 40 characters keep the symbol within a 100 mm label at a
/// module width scanners read comfortably.
const MAX_LEN: usize = 40;

/// A Code 128 symbol: `modules[i]` is true for a bar module, false for a space. Start,
/// check and stop characters included; no quiet zone (the renderer leaves it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code128 {
    /// The text encoded.
    pub payload: String,
    /// Bar (true) or space (false), one per module, left to right.
    pub modules: Vec<bool>,
}

impl Code128 {
    /// Runs of equal modules as `(is_bar, start, width)`, left to right.
    pub fn runs(&self) -> Vec<(bool, usize, usize)> {
        let mut runs: Vec<(bool, usize, usize)> = Vec::new();
        for (i, &bar) in self.modules.iter().enumerate() {
            match runs.last_mut() {
                Some((b, _, width)) if *b == bar => *width += 1,
                _ => runs.push((bar, i, 1)),
            }
        }
        runs
    }
}

/// Encodes `payload` in Code 128 set B (every printable ASCII character, so the id is
/// printed under the bars exactly as it scans).
pub fn code128(payload: &str) -> Result<Code128, LabelError> {
    let bad = |why| LabelError::BadDispenseId(payload.to_string(), why);
    if payload.is_empty() {
        return Err(bad("it is empty"));
    }
    if payload.chars().count() > MAX_LEN {
        return Err(bad("it is longer than 40 characters"));
    }
    if !payload.chars().all(|c| (' '..='~').contains(&c)) {
        return Err(bad("only printable ASCII can be encoded"));
    }
    // `Ɓ` selects code set B in barcoders' notation.
    let symbol = barcoders::sym::code128::Code128::new(format!("\u{0181}{payload}"))
        .map_err(|_| bad("the encoder refused it"))?;
    let modules = symbol.encode().into_iter().map(|m| m == 1).collect();
    Ok(Code128 { payload: payload.to_string(), modules })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symbol_has_start_data_check_and_stop_characters() {
        // 11 modules per character (start, each data character, check) and 13 for stop.
        let symbol = code128("RXD-12").unwrap();
        assert_eq!(symbol.modules.len(), 11 * (1 + 6 + 1) + 13);
        assert!(symbol.modules[0], "starts with a bar");
        assert!(*symbol.modules.last().unwrap(), "ends with the stop's final bar");
        // Start B is 11010010000 (ISO/IEC 15417 table 1, value 104).
        let start: String = symbol.modules[..11].iter().map(|&b| if b { '1' } else { '0' }).collect();
        assert_eq!(start, "11010010000");
    }

    #[test]
    fn ids_a_scanner_could_not_read_back_are_refused() {
        for id in ["", "Ż-not-ascii", "tab\there", &"9".repeat(41)] {
            assert!(code128(id).is_err(), "{id:?}");
        }
    }
}
