//! Reading a CSV file of the registry into rows whose every cell knows its location.

use crate::diagnostic::{Diagnostics, Loc, Pass};
use crate::text::csv_field_columns;

pub(crate) struct Table {
    pub(crate) rows: Vec<Row>,
}

pub(crate) struct Row {
    file: &'static str,
    line: usize,
    cells: Vec<(usize, String)>,
    header: std::rc::Rc<Vec<String>>,
}

/// A cell's text and where it was written.
#[derive(Clone, Copy)]
pub(crate) struct Cell<'a> {
    pub(crate) text: &'a str,
    file: &'static str,
    line: usize,
    column: usize,
}

impl Cell<'_> {
    pub(crate) fn loc(&self) -> Loc {
        Loc::new(self.file, self.line, self.column)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.text.trim().is_empty()
    }

    /// The trimmed text, or a `missing-value` error.
    pub(crate) fn required(&self, column: &str, d: &mut Diagnostics) -> Option<String> {
        let text = self.text.trim();
        if text.is_empty() {
            d.push(self.loc(), Pass::Schema, "missing-value", format!("`{column}` must not be empty"));
            return None;
        }
        Some(text.to_string())
    }

    pub(crate) fn optional(&self) -> Option<String> {
        let text = self.text.trim();
        (!text.is_empty()).then(|| text.to_string())
    }

    /// A `;`-separated list; empty items are dropped.
    pub(crate) fn list(&self) -> Vec<String> {
        self.text.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
    }

    pub(crate) fn boolean(&self, column: &str, d: &mut Diagnostics) -> Option<bool> {
        match self.text.trim() {
            "true" => Some(true),
            "false" | "" => Some(false),
            other => {
                d.push(
                    self.loc(),
                    Pass::Schema,
                    "bad-boolean",
                    format!("`{column}` must be true or false, found `{other}`"),
                );
                None
            }
        }
    }

    pub(crate) fn parse<T: std::str::FromStr>(&self, column: &str, what: &str, d: &mut Diagnostics) -> Option<T> {
        let text = self.required(column, d)?;
        match text.parse() {
            Ok(v) => Some(v),
            Err(_) => {
                d.push(self.loc(), Pass::Schema, "bad-value", format!("`{column}` must be {what}, found `{text}`"));
                None
            }
        }
    }

    pub(crate) fn date(&self, column: &str, d: &mut Diagnostics) -> Option<chrono::NaiveDate> {
        let text = self.required(column, d)?;
        match chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
            Ok(date) => Some(date),
            Err(_) => {
                d.push(
                    self.loc(),
                    Pass::Schema,
                    "bad-date",
                    format!("`{column}` must be a real date YYYY-MM-DD, found `{text}`"),
                );
                None
            }
        }
    }
}

impl Row {
    pub(crate) fn loc(&self) -> Loc {
        Loc::new(self.file, self.line, 1)
    }

    pub(crate) fn cell(&self, name: &str) -> Cell<'_> {
        let index = self.header.iter().position(|h| h == name);
        match index.and_then(|i| self.cells.get(i)) {
            Some((column, text)) => Cell { text, file: self.file, line: self.line, column: *column },
            // Absent optional columns read as empty; required ones were checked with the header.
            None => Cell { text: "", file: self.file, line: self.line, column: 1 },
        }
    }
}

/// Parses `text` as a CSV file whose header must contain every `required` column and may
/// contain `optional` ones; any other column is an error (it is usually a typo).
pub(crate) fn read(
    file: &'static str,
    text: &str,
    required: &[&str],
    optional: &[&str],
    d: &mut Diagnostics,
) -> Option<Table> {
    let lines: Vec<&str> = text.lines().collect();
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(text.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_string()).collect(),
        Err(e) => {
            d.push(Loc::new(file, 1, 1), Pass::Parse, "csv-syntax", e.to_string());
            return None;
        }
    };
    let header_columns = csv_field_columns(lines.first().copied().unwrap_or(""));
    let mut ok = true;
    for name in required {
        if !header.iter().any(|h| h == name) {
            d.push(Loc::new(file, 1, 1), Pass::Schema, "missing-column", format!("header must have a `{name}` column"));
            ok = false;
        }
    }
    for (i, name) in header.iter().enumerate() {
        if !required.contains(&name.as_str()) && !optional.contains(&name.as_str()) {
            let column = header_columns.get(i).copied().unwrap_or(1);
            let mut known: Vec<&str> = required.to_vec();
            known.extend_from_slice(optional);
            d.push(
                Loc::new(file, 1, column),
                Pass::Schema,
                "unknown-column",
                format!("unknown column `{name}`; expected one of: {}", known.join(", ")),
            );
            ok = false;
        }
    }
    if !ok {
        return None;
    }
    let header = std::rc::Rc::new(header);
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(1, |p| p.line() as usize);
                d.push(Loc::new(file, line, 1), Pass::Parse, "csv-syntax", e.to_string());
                ok = false;
                continue;
            }
        };
        let line = record.position().map_or(1, |p| p.line() as usize);
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if record.len() != header.len() {
            d.push(
                Loc::new(file, line, 1),
                Pass::Parse,
                "csv-field-count",
                format!("row has {} fields but the header has {}", record.len(), header.len()),
            );
            ok = false;
            continue;
        }
        let columns = csv_field_columns(lines.get(line - 1).copied().unwrap_or(""));
        let cells =
            record.iter().enumerate().map(|(i, f)| (columns.get(i).copied().unwrap_or(1), f.to_string())).collect();
        rows.push(Row { file, line, cells, header: header.clone() });
    }
    ok.then_some(Table { rows })
}
