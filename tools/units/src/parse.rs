//! A parser for the UCUM subset: atoms, integer powers (`m2` is body surface, `min-1` is
//! per minute), `.` and `/` evaluated strictly left to right as UCUM says, parentheses,
//! a leading `/`, the unity `1`, and annotations in braces.

use crate::error::UnitError;
use crate::unit::Unit;

/// Parses a UCUM string into a canonical [`Unit`].
pub(crate) fn parse_unit(text: &str) -> Result<Unit, UnitError> {
    if text.trim().is_empty() {
        return Err(UnitError::Empty);
    }
    let mut parser = Parser { text, chars: text.char_indices().collect(), position: 0 };
    let unit = parser.term()?;
    if let Some(&(_, c)) = parser.chars.get(parser.position) {
        return Err(parser.syntax(format!("unexpected `{c}`")));
    }
    Ok(unit)
}

struct Parser<'a> {
    text: &'a str,
    chars: Vec<(usize, char)>,
    position: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.position).map(|&(_, c)| c)
    }

    fn column(&self) -> usize {
        self.position + 1
    }

    fn syntax(&self, message: String) -> UnitError {
        UnitError::Syntax { text: self.text.to_owned(), column: self.column(), message }
    }

    fn term(&mut self) -> Result<Unit, UnitError> {
        let mut unit = if self.peek() == Some('/') {
            self.position += 1;
            self.component()?.pow(-1)
        } else {
            self.component()?
        };
        while let Some(operator) = self.peek() {
            let combine = match operator {
                '.' => Unit::multiply,
                '/' => Unit::divide,
                _ => break,
            };
            self.position += 1;
            let right = self.component()?;
            // The value factor is deliberately dropped: parsing `g/mg` names a unit, and the
            // merged unit's own base factor already accounts for the cancelled atoms only
            // when no factor arises; reject such strings instead of silently rescaling.
            let (merged, factor) = combine(&unit, &right);
            if factor != num_traits::One::one() {
                return Err(self.syntax("two different units of one group (such as mg and g) in one unit".to_owned()));
            }
            unit = merged;
        }
        Ok(unit)
    }

    fn component(&mut self) -> Result<Unit, UnitError> {
        match self.peek() {
            None => Err(self.syntax("a unit is missing".to_owned())),
            Some('(') => {
                self.position += 1;
                let inner = self.term()?;
                if self.peek() != Some(')') {
                    return Err(self.syntax("expected `)`".to_owned()));
                }
                self.position += 1;
                Ok(inner)
            }
            Some('{') => self.annotation(),
            Some(c) if matches!(c, '.' | '/' | ')' | '}') => {
                Err(self.syntax(format!("a unit is missing before `{c}`")))
            }
            Some(_) => self.symbol(),
        }
    }

    fn annotation(&mut self) -> Result<Unit, UnitError> {
        let start = self.position;
        self.position += 1;
        let mut content = String::new();
        loop {
            match self.peek() {
                None => {
                    self.position = start;
                    return Err(self.syntax("unclosed `{`".to_owned()));
                }
                Some('}') => break,
                Some(c) if c == '{' || !(' '..='~').contains(&c) => {
                    return Err(self.syntax(format!("`{c}` is not allowed in an annotation")));
                }
                Some(c) => content.push(c),
            }
            self.position += 1;
        }
        self.position += 1;
        if content.is_empty() {
            self.position = start;
            return Err(self.syntax("empty annotation `{}`".to_owned()));
        }
        Ok(Unit::annotation(&content))
    }

    fn symbol(&mut self) -> Result<Unit, UnitError> {
        let start = self.position;
        let mut symbol = String::new();
        while let Some(c) = self.peek() {
            if matches!(c, '.' | '/' | '(' | ')' | '{' | '}') {
                break;
            }
            if c.is_whitespace() {
                return Err(self.syntax("spaces are not allowed in a unit".to_owned()));
            }
            symbol.push(c);
            self.position += 1;
            if c == '[' {
                while let Some(inner) = self.peek() {
                    symbol.push(inner);
                    self.position += 1;
                    if inner == ']' {
                        break;
                    }
                }
                if !symbol.ends_with(']') {
                    self.position = start;
                    return Err(self.syntax("unclosed `[`".to_owned()));
                }
            }
        }
        if self.peek() == Some('{') {
            // UCUM allows `mL{total}`, but an annotation that silently does not count is a
            // trap in a dose; a counted thing must stand alone, as in `mg/{tbl}`.
            return Err(self.syntax("an annotation must stand alone (write `mg/{tbl}`, not `mg{tbl}`)".to_owned()));
        }
        self.resolve(&symbol, start)
    }

    fn resolve(&self, symbol: &str, start: usize) -> Result<Unit, UnitError> {
        if symbol == "1" {
            return Ok(Unit::one());
        }
        if let Some(unit) = Unit::atom_by_code(symbol) {
            return Ok(unit);
        }
        let digits_start =
            symbol.char_indices().rev().take_while(|(_, c)| c.is_ascii_digit()).last().map(|(index, _)| index);
        let unknown =
            || UnitError::UnknownSymbol { text: self.text.to_owned(), symbol: symbol.to_owned(), column: start + 1 };
        let Some(digits_start) = digits_start else {
            return Err(unknown());
        };
        let (base, negative) = match symbol[..digits_start].strip_suffix('-') {
            Some(base) => (base, true),
            None => (&symbol[..digits_start], false),
        };
        let exponent: i32 = symbol[digits_start..].parse().map_err(|_| unknown())?;
        if base.is_empty() || exponent == 0 || exponent > 9 {
            return Err(unknown());
        }
        let unit = Unit::atom_by_code(base).ok_or_else(unknown)?;
        Ok(unit.pow(if negative { -exponent } else { exponent }))
    }
}

#[cfg(test)]
mod tests {
    use crate::Unit;

    fn check(input: &str, canonical: &str) {
        let unit = Unit::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(unit.to_string(), canonical, "canonical form of {input:?}");
        let again = Unit::parse(canonical).unwrap_or_else(|e| panic!("{canonical}: {e}"));
        assert_eq!(again, unit, "{canonical:?} must parse back to the same unit");
    }

    #[test]
    fn clinical_units_print_back_canonically() {
        for (input, canonical) in [
            ("mg", "mg"),
            ("mg/kg/d", "mg/kg/d"),
            ("mg/d/kg", "mg/kg/d"),
            ("mg/kg", "mg/kg"),
            ("mg/m2", "mg/m2"),
            ("mg/mL", "mg/mL"),
            ("mL/h", "mL/h"),
            ("mg/kg/h", "mg/kg/h"),
            ("umol/L", "umol/L"),
            ("mL/min", "mL/min"),
            ("mL/min/{1.73_m2}", "mL/min/{1.73_m2}"),
            ("ug/kg/min", "ug/kg/min"),
            ("ug.kg-1.min-1", "ug/kg/min"),
            ("mmol/L", "mmol/L"),
            ("mg/d", "mg/d"),
            ("[iU]/kg/h", "[iU]/kg/h"),
            ("U/kg", "U/kg"),
            ("{tbl}", "{tbl}"),
            ("mg/{tbl}", "mg/{tbl}"),
            ("{drop}/min", "{drop}/min"),
            ("/d", "/d"),
            ("1/d", "/d"),
            ("1", "1"),
            ("{dose}/d", "{dose}/d"),
            ("mg/(kg.d)", "mg/kg/d"),
            ("kg/kg", "1"),
            ("cm", "cm"),
            ("m", "m"),
            ("meq/L", "meq/L"),
            ("s-1", "/s"),
            ("mL.h-1", "mL/h"),
        ] {
            check(input, canonical);
        }
    }

    #[test]
    fn bad_units_are_reported_with_a_column() {
        for (input, message) in [
            ("", "empty unit"),
            ("mg/", "malformed unit `mg/` at column 4: a unit is missing"),
            ("mgg", "unknown unit `mgg` at column 1 of `mgg`"),
            ("mg/kgg", "unknown unit `kgg` at column 4 of `mg/kgg`"),
            ("mg/{tbl", "malformed unit `mg/{tbl` at column 4: unclosed `{`"),
            (
                "mg{tbl}",
                "malformed unit `mg{tbl}` at column 3: an annotation must stand alone (write `mg/{tbl}`, not `mg{tbl}`)",
            ),
            (
                "mg/g",
                "malformed unit `mg/g` at column 5: two different units of one group (such as mg and g) in one unit",
            ),
            ("mg kg", "malformed unit `mg kg` at column 3: spaces are not allowed in a unit"),
            ("(mg", "malformed unit `(mg` at column 4: expected `)`"),
            ("10", "unknown unit `10` at column 1 of `10`"),
            ("{}", "malformed unit `{}` at column 1: empty annotation `{}`"),
        ] {
            let error = Unit::parse(input).expect_err(input);
            assert_eq!(error.to_string(), message, "error for {input:?}");
        }
    }
}
