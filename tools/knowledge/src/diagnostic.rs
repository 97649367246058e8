//! Problems found while loading a registry, each with a precise location.

use std::fmt;

/// Where a fact was written: file name (relative to the registry folder), 1-based line and
/// column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Loc {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl Loc {
    pub fn new(file: &str, line: usize, column: usize) -> Loc {
        Loc { file: file.to_string(), line, column }
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// The loading pass that found a problem. Passes run in this order and a later pass only
/// runs when the earlier ones found no error, so a message never rests on a broken premise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pass {
    Parse,
    Schema,
    Reference,
    Clinical,
}

/// One problem, printed as `file:line:column: rule: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub loc: Loc,
    pub pass: Pass,
    /// A short stable name of the rule that was broken, e.g. `unknown-source`.
    pub rule: &'static str,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.loc, self.rule, self.message)
    }
}

/// Collects diagnostics across files so that a pharmacist fixing a registry sees every
/// problem at once rather than one per run.
#[derive(Debug, Default)]
pub(crate) struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub(crate) fn push(&mut self, loc: Loc, pass: Pass, rule: &'static str, message: impl Into<String>) {
        self.items.push(Diagnostic { loc, pass, rule, message: message.into() });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub(crate) fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort_by(|a, b| a.loc.cmp(&b.loc).then(a.rule.cmp(b.rule)));
        self.items.dedup();
        self.items
    }
}
