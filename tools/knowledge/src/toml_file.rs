//! Reading a TOML file of the registry: syntax first, then shape, both with locations.

use std::ops::Range;

use serde::de::DeserializeOwned;

use crate::diagnostic::{Diagnostics, Loc, Pass};
use crate::text::line_col;

/// A TOML file's name and text, to turn spans into locations.
#[derive(Clone, Copy)]
pub(crate) struct TomlFile<'a> {
    pub(crate) name: &'static str,
    pub(crate) text: &'a str,
}

impl TomlFile<'_> {
    pub(crate) fn loc(&self, span: Range<usize>) -> Loc {
        let (line, column) = line_col(self.text, span.start);
        Loc::new(self.name, line, column)
    }

    /// Parses the file as `T`. A syntax error is reported as `toml-syntax` (parse pass); a
    /// well-formed file of the wrong shape (missing key, unknown key, wrong type) as
    /// `toml-schema`.
    pub(crate) fn parse<T: DeserializeOwned>(&self, d: &mut Diagnostics) -> Option<T> {
        if let Err(e) = self.text.parse::<toml::Table>() {
            let loc = e.span().map_or_else(|| Loc::new(self.name, 1, 1), |s| self.loc(s));
            d.push(loc, Pass::Parse, "toml-syntax", e.message().trim().to_string());
            return None;
        }
        match toml::from_str::<T>(self.text) {
            Ok(value) => Some(value),
            Err(e) => {
                let loc = e.span().map_or_else(|| Loc::new(self.name, 1, 1), |s| self.loc(s));
                d.push(loc, Pass::Schema, "toml-schema", e.message().trim().to_string());
                None
            }
        }
    }
}
