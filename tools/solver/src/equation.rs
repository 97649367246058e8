//! Equations in GenPRES form: `x = a * b * c` (product) or `x = a + b + c` (sum).
//! `a = b` is a one-term sum. Division is written as a product read the other way round
//! (`dose = conc * volume` also gives `volume = dose / conc`).

use std::fmt;

use thiserror::Error;

/// Whether the right-hand side multiplies or adds its terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EquationKind {
    /// `x = a * b * …`
    Product,
    /// `x = a + b + …` (also `x = a`).
    Sum,
}

/// A parsed equation: a result variable and one or more terms.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Equation {
    result: String,
    kind: EquationKind,
    terms: Vec<String>,
}

/// Why an equation could not be read; `column` is 1-based.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("equation `{text}`, column {column}: {message}")]
pub struct EquationParseError {
    /// The equation as given.
    pub text: String,
    /// 1-based column of the problem.
    pub column: usize,
    /// What is wrong, in words.
    pub message: String,
}

impl Equation {
    /// Builds an equation from names; `terms` must not be empty.
    pub fn new(result: &str, kind: EquationKind, terms: &[&str]) -> Option<Equation> {
        if terms.is_empty() || result.is_empty() || terms.iter().any(|t| t.is_empty()) {
            return None;
        }
        Some(Equation { result: result.to_owned(), kind, terms: terms.iter().map(|t| (*t).to_owned()).collect() })
    }

    /// Parses `x = a * b`, `x = a + b + c` or `x = a`. Names are any run of characters other
    /// than white space and `= * + - /`, so GenPRES names like `[1.gentamicin]_dos_qty` work.
    pub fn parse(text: &str) -> Result<Equation, EquationParseError> {
        let error = |column: usize, message: &str| EquationParseError {
            text: text.to_owned(),
            column,
            message: message.to_owned(),
        };
        let tokens = tokenize(text).map_err(|(column, message)| error(column, &message))?;
        let mut iter = tokens.iter().peekable();
        let result = match iter.next() {
            Some(Token::Name(name, _)) => name.clone(),
            Some(token) => return Err(error(token.column(), "expected a variable name")),
            None => return Err(error(1, "empty equation")),
        };
        match iter.next() {
            Some(Token::Equals(_)) => {}
            Some(token) => return Err(error(token.column(), "expected `=` after the first name")),
            None => {
                return Err(error(text.chars().count() + 1, "expected `=` after the first name"));
            }
        }
        let mut terms = Vec::new();
        let mut kind: Option<EquationKind> = None;
        loop {
            match iter.next() {
                Some(Token::Name(name, _)) => terms.push(name.clone()),
                Some(token) => return Err(error(token.column(), "expected a variable name")),
                None => {
                    return Err(error(text.chars().count() + 1, "expected a variable name after `=` or an operator"));
                }
            }
            match iter.next() {
                None => break,
                Some(Token::Operator(op, column)) => {
                    let this = if *op == '*' { EquationKind::Product } else { EquationKind::Sum };
                    if kind.is_some_and(|k| k != this) {
                        return Err(error(
                            *column,
                            "cannot mix `*` and `+` in one equation; split it with a helper variable",
                        ));
                    }
                    kind = Some(this);
                }
                Some(Token::Equals(column)) => {
                    return Err(error(*column, "only one `=` is allowed"));
                }
                Some(Token::Name(_, column)) => {
                    return Err(error(*column, "expected `*` or `+` between names"));
                }
            }
        }
        Ok(Equation { result, kind: kind.unwrap_or(EquationKind::Sum), terms })
    }

    /// The left-hand side.
    pub fn result(&self) -> &str {
        &self.result
    }

    /// Product or sum.
    pub fn kind(&self) -> EquationKind {
        self.kind
    }

    /// The right-hand side names in order.
    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// The result followed by the terms.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.result.as_str()).chain(self.terms.iter().map(String::as_str))
    }
}

impl fmt::Display for Equation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let operator = match self.kind {
            EquationKind::Product => " * ",
            EquationKind::Sum => " + ",
        };
        write!(f, "{} = {}", self.result, self.terms.join(operator))
    }
}

enum Token {
    Name(String, usize),
    Equals(usize),
    Operator(char, usize),
}

impl Token {
    fn column(&self) -> usize {
        match self {
            Token::Name(_, c) | Token::Equals(c) | Token::Operator(_, c) => *c,
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, (usize, String)> {
    let mut tokens = Vec::new();
    let mut name = String::new();
    let mut name_start = 0;
    let flush = |name: &mut String, start: usize, tokens: &mut Vec<Token>| {
        if !name.is_empty() {
            tokens.push(Token::Name(std::mem::take(name), start));
        }
    };
    for (index, c) in text.chars().enumerate() {
        let column = index + 1;
        match c {
            c if c.is_whitespace() => flush(&mut name, name_start, &mut tokens),
            '=' => {
                flush(&mut name, name_start, &mut tokens);
                tokens.push(Token::Equals(column));
            }
            '*' | '+' => {
                flush(&mut name, name_start, &mut tokens);
                tokens.push(Token::Operator(c, column));
            }
            '-' | '/' => {
                return Err((
                    column,
                    format!(
                        "`{c}` is not supported: write `a = b {} c` as `b = a {} c`",
                        c,
                        if c == '-' { '+' } else { '*' }
                    ),
                ));
            }
            _ => {
                if name.is_empty() {
                    name_start = column;
                }
                name.push(c);
            }
        }
    }
    flush(&mut name, name_start, &mut tokens);
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        let shown = match Equation::parse(input) {
            Ok(eq) => format!("{:?} {eq}", eq.kind()),
            Err(e) => e.to_string(),
        };
        assert_eq!(shown, expected, "parsing {input:?}");
    }

    #[test]
    fn parses_products_sums_and_identities() {
        for (input, expected) in [
            ("x = a * b * c", "Product x = a * b * c"),
            ("x=a*b", "Product x = a * b"),
            ("x = a + b + c", "Sum x = a + b + c"),
            ("a = b", "Sum a = b"),
            ("[1.gentamicin]_dos_qty = [1]_prs_frq * x", "Product [1.gentamicin]_dos_qty = [1]_prs_frq * x"),
            ("", "equation ``, column 1: empty equation"),
            ("x", "equation `x`, column 2: expected `=` after the first name"),
            ("x =", "equation `x =`, column 4: expected a variable name after `=` or an operator"),
            (
                "x = a * b + c",
                "equation `x = a * b + c`, column 11: cannot mix `*` and `+` in one equation; split it with a helper variable",
            ),
            ("x = a b", "equation `x = a b`, column 7: expected `*` or `+` between names"),
            ("x = a = b", "equation `x = a = b`, column 7: only one `=` is allowed"),
            ("x = a / b", "equation `x = a / b`, column 7: `/` is not supported: write `a = b / c` as `b = a * c`"),
            ("x = a - b", "equation `x = a - b`, column 7: `-` is not supported: write `a = b - c` as `b = a + c`"),
            ("= a", "equation `= a`, column 1: expected a variable name"),
            ("x = * a", "equation `x = * a`, column 5: expected a variable name"),
            ("x = a *", "equation `x = a *`, column 8: expected a variable name after `=` or an operator"),
        ] {
            check(input, expected);
        }
    }
}
