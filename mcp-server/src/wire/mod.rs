//! The JSON shapes of the public contract (`shared/CONTRACT.md`) and their conversions
//! from the domain types of `rxgate-checks`. Only this module knows the wire format.

pub(crate) mod allergy;
pub(crate) mod barcode;
pub(crate) mod common;
pub(crate) mod ddi;
pub(crate) mod dose;
pub(crate) mod generics;
pub(crate) mod halal;
pub(crate) mod regimen;
pub(crate) mod solver;
pub(crate) mod verify;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A tool's answer: a short summary for people and the structured result for programs.
#[derive(Debug, Clone)]
pub(crate) struct ToolOutput {
    pub(crate) summary: String,
    pub(crate) structured: serde_json::Value,
}

impl ToolOutput {
    pub(crate) fn new<T: Serialize>(summary: String, value: &T) -> Result<ToolOutput, String> {
        let structured =
            serde_json::to_value(value).map_err(|e| format!("internal error: result not serialisable: {e}"))?;
        Ok(ToolOutput { summary, structured })
    }
}

/// Parses tool arguments, naming the exact field that is wrong
/// (`patient.weight_kg: invalid type: string "8", expected f64`).
pub(crate) fn parse_args<T: DeserializeOwned>(args: serde_json::Value) -> Result<T, String> {
    serde_path_to_error::deserialize(args).map_err(|e| {
        let path = e.path().to_string();
        if path == "." || path.is_empty() {
            format!("invalid input: {}", e.inner())
        } else {
            format!("invalid input at `{path}`: {}", e.inner())
        }
    })
}

pub(crate) fn join_names(names: &[String]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}
