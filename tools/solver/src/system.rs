//! A system of variables and equations, built from caller input and narrowed by [`crate::solve`].

use std::collections::{HashMap, VecDeque};

use rxgate_units::{Dimension, Number, Unit};
use thiserror::Error;

use crate::domain::{Bound, Domain, Limits, Q, Restricted, minimal_increments};
use crate::equation::{Equation, EquationKind, EquationParseError};
use crate::range::Range;

/// What a caller knows about a variable: all parts optional, numbers exact, in `unit`.
///
/// Without a unit, a spec with numbers describes a count (unit `1`); a spec without numbers
/// and without a unit leaves the unit to be inferred from the equations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VariableSpec {
    unit: Option<Unit>,
    min: Option<Bound>,
    max: Option<Bound>,
    increments: Vec<Number>,
    values: Option<Vec<Number>>,
}

/// Inclusive or exclusive end, for callers that get the flag as data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inclusion {
    /// The limit is allowed.
    Inclusive,
    /// The limit is not allowed.
    Exclusive,
}

impl VariableSpec {
    /// An unrestricted spec.
    pub fn new() -> VariableSpec {
        VariableSpec::default()
    }

    /// The unit the numbers of this spec are in.
    pub fn unit(mut self, unit: Unit) -> VariableSpec {
        self.unit = Some(unit);
        self
    }

    /// A lower limit.
    pub fn min(mut self, value: Number, inclusion: Inclusion) -> VariableSpec {
        self.min = Some(Bound { value: Q::from_big(value.as_ratio()), inclusive: inclusion == Inclusion::Inclusive });
        self
    }

    /// An upper limit.
    pub fn max(mut self, value: Number, inclusion: Inclusion) -> VariableSpec {
        self.max = Some(Bound { value: Q::from_big(value.as_ratio()), inclusive: inclusion == Inclusion::Inclusive });
        self
    }

    /// `min(value, Inclusive)`.
    pub fn min_inclusive(self, value: Number) -> VariableSpec {
        self.min(value, Inclusion::Inclusive)
    }

    /// `min(value, Exclusive)`.
    pub fn min_exclusive(self, value: Number) -> VariableSpec {
        self.min(value, Inclusion::Exclusive)
    }

    /// `max(value, Inclusive)`.
    pub fn max_inclusive(self, value: Number) -> VariableSpec {
        self.max(value, Inclusion::Inclusive)
    }

    /// `max(value, Exclusive)`.
    pub fn max_exclusive(self, value: Number) -> VariableSpec {
        self.max(value, Inclusion::Exclusive)
    }

    /// Adds a step size; with several, a value must be a multiple of any one of them.
    pub fn increment(mut self, step: Number) -> VariableSpec {
        self.increments.push(step);
        self
    }

    /// A finite set of allowed values.
    pub fn values(mut self, values: impl IntoIterator<Item = Number>) -> VariableSpec {
        self.values = Some(values.into_iter().collect());
        self
    }

    fn has_numbers(&self) -> bool {
        self.min.is_some() || self.max.is_some() || !self.increments.is_empty() || self.values.is_some()
    }

    /// The spec as a domain in base units; `None` when it admits no value at all.
    fn to_domain(&self, unit: &Unit, name: &str) -> Result<Option<Domain>, SystemError> {
        if let Some(step) = self.increments.iter().find(|s| s.is_zero() || s.is_negative()) {
            return Err(SystemError::InvalidSpec {
                variable: name.to_owned(),
                message: format!("increment {step} must be positive"),
            });
        }
        let scale = Q::from_big(&unit.base_factor());
        let to_base = |value: &Q| value * &scale;
        let bound = |b: &Option<Bound>| b.as_ref().map(|b| Bound { value: to_base(&b.value), inclusive: b.inclusive });
        let interval = Domain::Interval {
            min: bound(&self.min),
            max: bound(&self.max),
            incr: minimal_increments(self.increments.iter().map(|s| to_base(&Q::from_big(s.as_ratio()))).collect()),
        };
        let domain = match &self.values {
            Some(values) => {
                let mut base: Vec<Q> = values.iter().map(|v| to_base(&Q::from_big(v.as_ratio()))).collect();
                base.sort();
                base.dedup();
                base.retain(|v| interval.contains(v));
                Domain::Set(base)
            }
            None => interval,
        };
        Ok(domain.normalized())
    }
}

/// A mistake in how the system was put together (not an infeasible clinical question).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SystemError {
    /// A variable name was declared twice.
    #[error("variable `{0}` is declared twice")]
    DuplicateVariable(String),
    /// A name that could not be written in an equation.
    #[error("`{0}` cannot be a variable name: use letters, digits, `_`, `.`, `[`, `]` and no spaces or `= * + - /`")]
    InvalidName(String),
    /// A name that no equation or declaration introduced.
    #[error("unknown variable `{0}`")]
    UnknownVariable(String),
    /// An equation could not be parsed.
    #[error(transparent)]
    Equation(#[from] EquationParseError),
    /// A spec that makes no sense on its own (such as a zero increment).
    #[error("variable `{variable}`: {message}")]
    InvalidSpec {
        /// Variable name.
        variable: String,
        /// What is wrong.
        message: String,
    },
    /// A spec in a unit of another group than the variable's.
    #[error("variable `{variable}` is in `{expected}`; `{given}` cannot be converted to it")]
    UnitMismatch {
        /// Variable name.
        variable: String,
        /// The variable's unit.
        expected: String,
        /// The unit given.
        given: String,
    },
    /// An equation whose two sides are in different unit groups.
    #[error("equation `{equation}`: units do not balance: left side is {left}, right side is {right}")]
    UnitsDoNotBalance {
        /// The equation, with units.
        equation: String,
        /// Left-hand unit and group.
        left: String,
        /// Right-hand unit and group.
        right: String,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct Variable {
    pub(crate) name: String,
    pub(crate) unit: Option<Unit>,
    pub(crate) domain: Domain,
    /// Declared with `add_variable` (rather than only named in an equation).
    pub(crate) declared: bool,
}

/// A variable emptied by a caller's own restriction, before any equation was involved.
#[derive(Clone, Debug)]
pub(crate) struct Emptied {
    pub(crate) variable: String,
    pub(crate) message: String,
}

/// Variables and equations. Restricting only ever narrows; solving never changes the
/// system it is given.
#[derive(Clone, Debug, Default)]
pub struct System {
    pub(crate) variables: Vec<Variable>,
    index: HashMap<String, usize>,
    pub(crate) equations: Vec<Equation>,
    pub(crate) emptied: Option<Emptied>,
}

impl System {
    /// An empty system.
    pub fn new() -> System {
        System::default()
    }

    /// Declares a variable. Variables named only in equations are declared unrestricted.
    /// Equations may come first: a variable they introduced can still be declared once.
    pub fn add_variable(&mut self, name: &str, spec: VariableSpec) -> Result<(), SystemError> {
        if let Some(&position) = self.index.get(name) {
            if self.variables[position].declared {
                return Err(SystemError::DuplicateVariable(name.to_owned()));
            }
        } else {
            check_name(name)?;
            self.declare(name);
        }
        if let Some(&position) = self.index.get(name) {
            self.variables[position].declared = true;
        }
        self.restrict(name, spec)
    }

    /// Parses and adds an equation.
    pub fn add_equation(&mut self, text: &str) -> Result<(), SystemError> {
        let equation = Equation::parse(text)?;
        self.push_equation(equation);
        Ok(())
    }

    /// Adds an equation built in code.
    pub fn push_equation(&mut self, equation: Equation) {
        for name in equation.variables() {
            if !self.index.contains_key(name) {
                self.declare(name);
            }
        }
        self.equations.push(equation);
    }

    fn declare(&mut self, name: &str) {
        self.index.insert(name.to_owned(), self.variables.len());
        self.variables.push(Variable {
            name: name.to_owned(),
            unit: None,
            domain: Domain::unrestricted(),
            declared: false,
        });
    }

    /// Narrows a variable with what the caller now knows (GenPRES `setVariableValues`).
    /// A looser limit is ignored; a restriction that leaves nothing makes the next solve
    /// `infeasible`, naming this variable.
    pub fn restrict(&mut self, name: &str, spec: VariableSpec) -> Result<(), SystemError> {
        let position = *self.index.get(name).ok_or_else(|| SystemError::UnknownVariable(name.to_owned()))?;
        let variable = &mut self.variables[position];
        let spec_unit = match (&spec.unit, &variable.unit) {
            (Some(given), Some(own)) => {
                if given.dimension() != own.dimension() {
                    return Err(SystemError::UnitMismatch {
                        variable: name.to_owned(),
                        expected: own.to_string(),
                        given: given.to_string(),
                    });
                }
                given.clone()
            }
            (Some(given), None) => {
                variable.unit = Some(given.clone());
                given.clone()
            }
            (None, Some(own)) => own.clone(),
            (None, None) if spec.has_numbers() => {
                variable.unit = Some(Unit::one());
                Unit::one()
            }
            (None, None) => return Ok(()),
        };
        let limits = Limits { max_set_size: usize::MAX, max_pairwise: 0, max_increments: 64, only_min_incr_max: false };
        let outcome = match spec.to_domain(&spec_unit, name)? {
            None => Restricted::Empty,
            Some(domain) => variable.domain.restrict(&domain, &limits),
        };
        match outcome {
            Restricted::Same => {}
            Restricted::Narrowed(domain) => variable.domain = domain,
            Restricted::Empty => {
                if self.emptied.is_none() {
                    let before = Range::from_domain(&variable.domain, &spec_unit);
                    self.emptied = Some(Emptied {
                        variable: name.to_owned(),
                        message: format!(
                            "`{name}` {before} cannot be set to {}: no value is left",
                            describe_spec(&spec, &spec_unit)
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// Coarsens the grid of an interval with a finite min and max until it has at most
    /// `max_count` values, trying `candidates` (in the variable's unit) from fine to coarse.
    /// GenORDER does this to keep pick lists short; it only ever narrows.
    /// Returns whether the variable changed.
    pub fn increase_increment(
        &mut self,
        name: &str,
        candidates: &[Number],
        max_count: usize,
    ) -> Result<bool, SystemError> {
        let position = *self.index.get(name).ok_or_else(|| SystemError::UnknownVariable(name.to_owned()))?;
        let unit = self.variables[position].unit.clone().unwrap_or_else(Unit::one);
        let mut changed = false;
        for candidate in candidates {
            if grid_count(&self.variables[position].domain).is_some_and(|n| n <= max_count) {
                break;
            }
            let step = VariableSpec::new().unit(unit.clone()).increment(candidate.clone());
            let before = self.variables[position].domain.clone();
            self.restrict(name, step)?;
            changed |= self.variables[position].domain != before;
        }
        Ok(changed)
    }

    /// The current range of a variable, in its unit (`1` while the unit is not known yet).
    pub fn range(&self, name: &str) -> Option<Range> {
        let variable = &self.variables[*self.index.get(name)?];
        Some(Range::from_domain(&variable.domain, variable.unit.as_ref().unwrap_or(&Unit::one())))
    }

    /// The equations in the order they were added.
    pub fn equations(&self) -> &[Equation] {
        &self.equations
    }

    /// Variable names in declaration order.
    pub fn variable_names(&self) -> impl Iterator<Item = &str> {
        self.variables.iter().map(|v| v.name.as_str())
    }

    pub(crate) fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// Units for every variable: declared ones, then inferred through the equations, then
    /// `1` for what is still unknown. Checks that every equation balances.
    pub(crate) fn resolve_units(&self) -> Result<Vec<Unit>, SystemError> {
        let mut units: Vec<Option<Unit>> = self.variables.iter().map(|v| v.unit.clone()).collect();
        let positions: Vec<Vec<usize>> =
            self.equations.iter().map(|eq| eq.variables().filter_map(|n| self.position(n)).collect()).collect();
        // A worklist, not repeated sweeps: a chain of n equations learns one unit per step,
        // and sweeping would make that quadratic.
        let mut occurs: Vec<Vec<usize>> = vec![Vec::new(); units.len()];
        for (e, vars) in positions.iter().enumerate() {
            for &v in vars {
                occurs[v].push(e);
            }
        }
        let mut queue: VecDeque<usize> = (0..positions.len()).collect();
        let mut next_unknown = 0;
        loop {
            while let Some(e) = queue.pop_front() {
                let vars = &positions[e];
                let mut missing = (0..vars.len()).filter(|&i| units[vars[i]].is_none());
                let (Some(only), None) = (missing.next(), missing.next()) else { continue };
                let v = vars[only];
                units[v] = Some(infer_unit(self.equations[e].kind(), vars, only, &units));
                queue.extend(occurs[v].iter().copied());
            }
            while next_unknown < units.len() && units[next_unknown].is_some() {
                next_unknown += 1;
            }
            if next_unknown == units.len() {
                break;
            }
            // Nothing left to infer from: an unknown unit is a count.
            units[next_unknown] = Some(Unit::one());
            queue.extend(occurs[next_unknown].iter().copied());
        }
        let units: Vec<Unit> = units.into_iter().map(|u| u.unwrap_or_else(Unit::one)).collect();
        for (equation, vars) in self.equations.iter().zip(&positions) {
            let left = &units[vars[0]];
            let left_dimension = left.dimension();
            let right = right_unit(equation.kind(), &vars[1..], &units, &left_dimension);
            let balanced = match equation.kind() {
                EquationKind::Product => right.dimension() == left_dimension,
                EquationKind::Sum => vars[1..].iter().all(|&v| units[v].dimension() == left_dimension),
            };
            if !balanced {
                let with_units = annotate(equation, vars, &units);
                return Err(SystemError::UnitsDoNotBalance {
                    equation: with_units,
                    left: format!("{left} ({})", left_dimension),
                    right: format!("{right} ({})", right.dimension()),
                });
            }
        }
        Ok(units)
    }
}

/// The right-hand unit to show: the product's unit, or for a sum the first term that does
/// not match the left side.
fn right_unit(kind: EquationKind, terms: &[usize], units: &[Unit], left: &Dimension) -> Unit {
    match kind {
        EquationKind::Product => terms.iter().fold(Unit::one(), |acc, &t| acc.multiply(&units[t]).0),
        EquationKind::Sum => terms
            .iter()
            .map(|&t| units[t].clone())
            .find(|u| &u.dimension() != left)
            .unwrap_or_else(|| units[terms[0]].clone()),
    }
}

fn infer_unit(kind: EquationKind, vars: &[usize], missing: usize, units: &[Option<Unit>]) -> Unit {
    let known = |i: usize| units[vars[i]].clone().unwrap_or_else(Unit::one);
    match kind {
        EquationKind::Sum => {
            let other = if missing == 0 { 1 } else { 0 };
            known(other)
        }
        EquationKind::Product => {
            let others =
                (1..vars.len()).filter(|&i| i != missing).fold(Unit::one(), |acc, i| acc.multiply(&known(i)).0);
            if missing == 0 { others } else { known(0).divide(&others).0 }
        }
    }
}

/// A declared name must be one an equation can refer to.
fn check_name(name: &str) -> Result<(), SystemError> {
    let bad = |c: char| c.is_whitespace() || matches!(c, '=' | '*' | '+' | '-' | '/');
    if name.is_empty() || name.chars().any(bad) {
        return Err(SystemError::InvalidName(name.to_owned()));
    }
    Ok(())
}

/// The equation with each variable's unit, for error messages: `dose[mg] = conc[mg/mL] * …`.
fn annotate(equation: &Equation, vars: &[usize], units: &[Unit]) -> String {
    let named = |i: usize, name: &str| format!("{name}[{}]", units[vars[i]]);
    let operator = match equation.kind() {
        EquationKind::Product => " * ",
        EquationKind::Sum => " + ",
    };
    let terms: Vec<String> = equation.terms().iter().enumerate().map(|(i, t)| named(i + 1, t)).collect();
    format!("{} = {}", named(0, equation.result()), terms.join(operator))
}

/// A spec in range notation, for the message when it empties a variable.
fn describe_spec(spec: &VariableSpec, unit: &Unit) -> String {
    match spec.to_domain(unit, "") {
        Ok(Some(domain)) => Range::from_domain(&domain, unit).to_string(),
        _ => "an empty range".to_owned(),
    }
}

/// Number of grid values of a bounded interval with an increment.
fn grid_count(domain: &Domain) -> Option<usize> {
    match domain {
        Domain::Set(values) => Some(values.len()),
        Domain::Interval { min: Some(min), max: Some(max), incr } if !incr.is_empty() => {
            // Several grids overlap, so their values are listed and deduplicated; a grid
            // too large to list counts as "too many" (None), which only makes callers
            // coarsen further.
            let mut values: Vec<Q> = Vec::new();
            for step in incr {
                let first = (&min.value / step).ceil().to_integer_i64()?;
                let last = (&max.value / step).floor().to_integer_i64()?;
                let count = usize::try_from(last.checked_sub(first)?.checked_add(1)?).ok()?;
                if count > 100_000 {
                    return None;
                }
                if incr.len() == 1 {
                    return Some(count);
                }
                values.extend((first..=last).map(|k| &Q::from(k) * step));
            }
            values.sort();
            values.dedup();
            Some(values.len())
        }
        Domain::Interval { .. } => None,
    }
}
