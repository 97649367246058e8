//! `solver`: the GenPRES-style order solver, exact fractions in and out.

use std::collections::BTreeMap;

use rxgate_knowledge::Snapshot;
use rxgate_solver::{Inclusion, Number, Range, SolveConfig, Status, System, Unit, VariableSpec, solve};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ToolOutput;
use super::common::{KnowledgeStamp, NumberIn};

/// One increment or several.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum IncrIn {
    One(NumberIn),
    Many(Vec<NumberIn>),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VariableIn {
    /// UCUM unit (`mg`, `mg/kg/d`, `mL/h`…); absent for a count.
    pub(crate) unit: Option<String>,
    pub(crate) min: Option<NumberIn>,
    pub(crate) max: Option<NumberIn>,
    /// Default true.
    pub(crate) min_inclusive: Option<bool>,
    /// Default true.
    pub(crate) max_inclusive: Option<bool>,
    pub(crate) incr: Option<IncrIn>,
    pub(crate) values: Option<Vec<NumberIn>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SolverInput {
    pub(crate) variables: BTreeMap<String, VariableIn>,
    /// Products and sums, GenPRES style: `x = a * b * c`, `x = a + b + c`.
    pub(crate) equations: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct ExactNumber {
    pub(crate) value: f64,
    /// Exact fraction (`10/3`) or integer.
    pub(crate) exact: String,
}

impl ExactNumber {
    fn of(n: &Number) -> ExactNumber {
        ExactNumber { value: round4(n.to_f64()), exact: n.to_exact_string() }
    }
}

fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct VariableOut {
    pub(crate) unit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) min: Option<ExactNumber>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max: Option<ExactNumber>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) min_inclusive: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_inclusive: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) incr: Vec<ExactNumber>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) values: Option<Vec<ExactNumber>>,
    /// GenPRES notation, e.g. `[17/5..1/10..5] mL`.
    pub(crate) notation: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SolveStatus {
    Solved,
    Partial,
    Infeasible,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct SolverOutput {
    pub(crate) status: SolveStatus,
    pub(crate) variables: BTreeMap<String, VariableOut>,
    /// For `infeasible`: which variable emptied, in which equation. For `partial`: why
    /// solving stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) conflict: Option<String>,
    /// Precision given up to respect a limit, said plainly.
    pub(crate) notes: Vec<String>,
    pub(crate) knowledge: KnowledgeStamp,
}

fn variable_spec(name: &str, v: &VariableIn) -> Result<VariableSpec, String> {
    let mut spec = VariableSpec::new();
    if let Some(unit) = &v.unit {
        let parsed = Unit::parse(unit)
            .map_err(|e| format!("`variables.{name}.unit`: `{unit}` is not a UCUM unit we know: {e}"))?;
        spec = spec.unit(parsed);
    }
    let inclusion = |flag: Option<bool>| if flag.unwrap_or(true) { Inclusion::Inclusive } else { Inclusion::Exclusive };
    if let Some(min) = &v.min {
        spec = spec.min(min.parse(&format!("variables.{name}.min"))?, inclusion(v.min_inclusive));
    }
    if let Some(max) = &v.max {
        spec = spec.max(max.parse(&format!("variables.{name}.max"))?, inclusion(v.max_inclusive));
    }
    match &v.incr {
        Some(IncrIn::One(n)) => spec = spec.increment(n.parse(&format!("variables.{name}.incr"))?),
        Some(IncrIn::Many(list)) => {
            for (i, n) in list.iter().enumerate() {
                spec = spec.increment(n.parse(&format!("variables.{name}.incr[{i}]"))?);
            }
        }
        None => {}
    }
    if let Some(values) = &v.values {
        let parsed: Result<Vec<Number>, String> =
            values.iter().enumerate().map(|(i, n)| n.parse(&format!("variables.{name}.values[{i}]"))).collect();
        spec = spec.values(parsed?);
    }
    Ok(spec)
}

fn variable_out(range: &Range) -> VariableOut {
    let is_set = range.values().is_some();
    VariableOut {
        unit: range.unit().to_string(),
        min: range.min().map(|b| ExactNumber::of(&b.value)),
        max: range.max().map(|b| ExactNumber::of(&b.value)),
        min_inclusive: if is_set { None } else { range.min().map(|b| b.inclusive) },
        max_inclusive: if is_set { None } else { range.max().map(|b| b.inclusive) },
        incr: range.increments().iter().map(ExactNumber::of).collect(),
        values: range.values().map(|vs| vs.iter().map(ExactNumber::of).collect()),
        notation: range.to_string(),
    }
}

pub(crate) fn run(snapshot: &Snapshot, input: SolverInput) -> Result<ToolOutput, String> {
    if input.equations.is_empty() {
        return Err("`equations` must hold at least one equation like `dose = per_kg * weight`".to_string());
    }
    let mut system = System::new();
    for (name, v) in &input.variables {
        system.add_variable(name, variable_spec(name, v)?).map_err(|e| format!("variable `{name}`: {e}"))?;
    }
    for (i, eq) in input.equations.iter().enumerate() {
        system.add_equation(eq).map_err(|e| format!("`equations[{i}]` (`{eq}`): {e}"))?;
    }
    let solution = solve(&system, &SolveConfig::default()).map_err(|e| e.to_string())?;
    let (status, conflict) = match &solution.status {
        Status::Solved => (SolveStatus::Solved, None),
        Status::Partial { reason } => (SolveStatus::Partial, Some(reason.to_string())),
        Status::Infeasible { variable, equation, message } => (
            SolveStatus::Infeasible,
            Some(match equation {
                Some(eq) => format!("`{variable}` has no possible value (in `{eq}`): {message}"),
                None => format!("`{variable}` has no possible value: {message}"),
            }),
        ),
    };
    let out = SolverOutput {
        status,
        variables: solution.variables.iter().map(|(name, range)| (name.clone(), variable_out(range))).collect(),
        conflict,
        notes: solution.notes.clone(),
        knowledge: KnowledgeStamp::of(snapshot),
    };
    let summary = match &out.status {
        SolveStatus::Solved => format!(
            "solved: {}",
            out.variables.iter().map(|(n, v)| format!("{n} = {}", v.notation)).collect::<Vec<_>>().join("; ")
        ),
        SolveStatus::Partial => format!("partial: {}", out.conflict.as_deref().unwrap_or("")),
        SolveStatus::Infeasible => format!("INFEASIBLE: {}", out.conflict.as_deref().unwrap_or("")),
    };
    ToolOutput::new(summary, &out)
}
