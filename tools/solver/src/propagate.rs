//! Propagation to a fixpoint: each equation narrows each of its variables to what the
//! others allow, until nothing changes, something empties, or a limit says stop.
//!
//! Termination: value sets are finite and only shrink; intervals could shrink forever
//! (a cycle that halves a bound each round), so every interval narrowing is counted per
//! variable and the whole run has an evaluation budget. Hitting either is reported as
//! `partial` with the reason; the ranges returned are still sound, just not the fixpoint.

use std::collections::VecDeque;

use rxgate_units::Unit;

use crate::domain::{Domain, Limits, Op, Restricted, calculate};
use crate::equation::EquationKind;
use crate::range::Range;
use crate::system::{System, SystemError};

/// Knobs that bound the work of one solve. Defaults suit a medication order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SolveConfig {
    /// Largest value set kept exactly; larger results fall back to exact min/max (and a
    /// common step where one exists), with a note.
    pub max_set_size: usize,
    /// Largest number of element-wise operations for one set-by-set product or sum.
    pub max_pairwise_operations: usize,
    /// Largest number of distinct step sizes kept for one grid.
    pub max_increments: usize,
    /// How often one variable's interval may narrow before the solve is declared
    /// non-converging, plus 10 per equation the variable is in (a variable shared by many
    /// equations may legitimately be narrowed by each of them).
    pub max_narrowings_per_variable: usize,
    /// Total equation evaluations allowed for one solve.
    pub max_equation_evaluations: usize,
    /// GenPRES `onlyMinIncrMax`: two multi-valued sets combine to their min/max only.
    pub only_min_incr_max: bool,
}

impl Default for SolveConfig {
    fn default() -> SolveConfig {
        SolveConfig {
            max_set_size: 1000,
            max_pairwise_operations: 250_000,
            max_increments: 16,
            max_narrowings_per_variable: 100,
            max_equation_evaluations: 1_000_000,
            only_min_incr_max: false,
        }
    }
}

impl SolveConfig {
    /// The GenPRES notebook setting (`onlyMinIncrMax = true`), for comparisons.
    pub fn genpres_min_incr_max() -> SolveConfig {
        SolveConfig { only_min_incr_max: true, ..SolveConfig::default() }
    }

    fn limits(&self) -> Limits {
        Limits {
            max_set_size: self.max_set_size,
            max_pairwise: self.max_pairwise_operations,
            max_increments: self.max_increments,
            only_min_incr_max: self.only_min_incr_max,
        }
    }
}

/// Why a solve stopped short of fixing every variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartialReason {
    /// The fixpoint was reached; these variables still hold more than one value.
    Underdetermined {
        /// Names, in declaration order.
        unsolved: Vec<String>,
    },
    /// A variable kept narrowing by ever smaller steps (a propagation cycle with no end);
    /// stopped after `narrowings` rounds.
    NotConverging {
        /// The variable that kept changing.
        variable: String,
        /// The equation that changed it last.
        equation: String,
        /// How many times it had narrowed.
        narrowings: usize,
    },
    /// The evaluation budget ran out before a fixpoint.
    WorkBudgetExhausted {
        /// Equation evaluations done.
        evaluations: usize,
    },
}

impl std::fmt::Display for PartialReason {
    /// A sentence for the person reading the result.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PartialReason::Underdetermined { unsolved } => {
                write!(f, "more than one value is still possible for: {}", unsolved.join(", "))
            }
            PartialReason::NotConverging { variable, equation, narrowings } => write!(
                f,
                "`{variable}` kept narrowing by ever smaller steps in `{equation}` ({narrowings} times); \
                 stopped there — the ranges are safe but not the tightest"
            ),
            PartialReason::WorkBudgetExhausted { evaluations } => write!(
                f,
                "stopped after {evaluations} equation evaluations (the work budget); the ranges are \
                 safe but not the tightest"
            ),
        }
    }
}

/// Outcome of a solve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Every variable holds exactly one value.
    Solved,
    /// Sound ranges, but not every variable is fixed; the reason says why.
    Partial {
        /// Why.
        reason: PartialReason,
    },
    /// No assignment satisfies everything.
    Infeasible {
        /// The variable that emptied.
        variable: String,
        /// The equation that emptied it; `None` when the caller's own restriction did.
        equation: Option<String>,
        /// A sentence for a person.
        message: String,
    },
}

/// The result of [`solve`]: status, narrowed ranges in declaration order, and notes about
/// precision given up to stay within limits.
#[derive(Clone, Debug)]
pub struct Solution {
    /// Solved, partial or infeasible.
    pub status: Status,
    /// Each variable's narrowed range, in declaration order.
    pub variables: Vec<(String, Range)>,
    /// Sentences such as "kept the exact min/max instead of 10 000 values".
    pub notes: Vec<String>,
    system: System,
}

impl Solution {
    /// The narrowed range of a variable.
    pub fn range(&self, name: &str) -> Option<&Range> {
        self.variables.iter().find(|(n, _)| n == name).map(|(_, range)| range)
    }

    /// The narrowed system, to restrict further and solve again (GenPRES-style stepwise use).
    pub fn into_system(self) -> System {
        self.system
    }

    /// True when every variable holds one value.
    pub fn is_solved(&self) -> bool {
        self.status == Status::Solved
    }
}

/// Solves a system: narrows every variable to what the equations allow. Errors are
/// structural (units that do not balance); clinical impossibility is `Status::Infeasible`.
pub fn solve(system: &System, config: &SolveConfig) -> Result<Solution, SystemError> {
    let units = system.resolve_units()?;
    // Units stay as declared in the returned system: an inferred unit (or the default `1`)
    // must not block a later restriction that brings its own unit.
    let mut narrowed = system.clone();
    let mut domains: Vec<Domain> = narrowed.variables.iter().map(|v| v.domain.clone()).collect();
    let mut notes: Vec<String> = Vec::new();
    let status = match &system.emptied {
        Some(emptied) => {
            Status::Infeasible { variable: emptied.variable.clone(), equation: None, message: emptied.message.clone() }
        }
        None => run(&narrowed, &units, &mut domains, config, &mut notes),
    };
    for (variable, domain) in narrowed.variables.iter_mut().zip(domains) {
        variable.domain = domain;
    }
    let variables = narrowed
        .variables
        .iter()
        .zip(&units)
        .map(|(v, unit)| (v.name.clone(), Range::from_domain(&v.domain, unit)))
        .collect();
    Ok(Solution { status, variables, notes, system: narrowed })
}

fn run(
    system: &System,
    units: &[Unit],
    domains: &mut [Domain],
    config: &SolveConfig,
    notes: &mut Vec<String>,
) -> Status {
    let limits = config.limits();
    let compiled: Vec<(EquationKind, Vec<usize>)> = system
        .equations
        .iter()
        .map(|eq| {
            let vars = eq.variables().map(|n| system.position(n).unwrap_or_default()).collect();
            (eq.kind(), vars)
        })
        .collect();
    let mut occurs: Vec<Vec<usize>> = vec![Vec::new(); domains.len()];
    for (e, (_, vars)) in compiled.iter().enumerate() {
        for &v in vars {
            if !occurs[v].contains(&e) {
                occurs[v].push(e);
            }
        }
    }
    let mut queue: VecDeque<usize> = (0..compiled.len()).collect();
    let mut queued = vec![true; compiled.len()];
    let mut narrowings = vec![0usize; domains.len()];
    let mut evaluations = 0usize;
    while let Some(e) = queue.pop_front() {
        queued[e] = false;
        evaluations += 1;
        if evaluations > config.max_equation_evaluations {
            return Status::Partial { reason: PartialReason::WorkBudgetExhausted { evaluations: evaluations - 1 } };
        }
        let (kind, vars) = &compiled[e];
        // Positions after the last change were projected from final domains already; only
        // a change after position 0 leaves earlier projections stale.
        let mut revisit_self = false;
        for position in 0..vars.len() {
            let mut local_notes = Vec::new();
            let computed = project(*kind, vars, position, domains, &limits, &mut local_notes);
            let v = vars[position];
            for note in local_notes {
                let note = format!("`{}`: {note}", system.equations[e]);
                if !notes.contains(&note) {
                    notes.push(note);
                }
            }
            if computed.is_unrestricted() {
                continue;
            }
            match domains[v].restrict(&computed, &limits) {
                Restricted::Same => {}
                Restricted::Empty => {
                    let unit = &units[v];
                    return Status::Infeasible {
                        variable: system.variables[v].name.clone(),
                        equation: Some(system.equations[e].to_string()),
                        message: format!(
                            "`{}` {} cannot meet {} required by `{}`: no value is left",
                            system.variables[v].name,
                            Range::from_domain(&domains[v], unit),
                            Range::from_domain(&computed, unit),
                            system.equations[e]
                        ),
                    };
                }
                Restricted::Narrowed(domain) => {
                    if matches!(domain, Domain::Interval { .. }) {
                        narrowings[v] += 1;
                        let allowed = config.max_narrowings_per_variable + 10 * occurs[v].len();
                        if narrowings[v] > allowed {
                            domains[v] = domain;
                            return Status::Partial {
                                reason: PartialReason::NotConverging {
                                    variable: system.variables[v].name.clone(),
                                    equation: system.equations[e].to_string(),
                                    narrowings: narrowings[v] - 1,
                                },
                            };
                        }
                    }
                    domains[v] = domain;
                    revisit_self |= position > 0;
                    for &other in &occurs[v] {
                        if other != e && !queued[other] {
                            queued[other] = true;
                            queue.push_back(other);
                        }
                    }
                }
            }
            // A left-hand side computed as an exact set that survived whole: every term value
            // took part in some combination that is still allowed, so no term can narrow now.
            if position == 0 && matches!(computed, Domain::Set(_)) && domains[v] == computed {
                break;
            }
        }
        if revisit_self && !queued[e] {
            queued[e] = true;
            queue.push_back(e);
        }
    }
    let unsolved: Vec<String> = domains
        .iter()
        .zip(&system.variables)
        .filter(|(d, _)| d.single().is_none())
        .map(|(_, v)| v.name.clone())
        .collect();
    if unsolved.is_empty() {
        Status::Solved
    } else {
        Status::Partial { reason: PartialReason::Underdetermined { unsolved } }
    }
}

/// What the other variables of an equation allow for the variable at `position`
/// (0 is the left-hand side).
fn project(
    kind: EquationKind,
    vars: &[usize],
    position: usize,
    domains: &[Domain],
    limits: &Limits,
    notes: &mut Vec<String>,
) -> Domain {
    let (combine, inverse) = match kind {
        EquationKind::Product => (Op::Multiply, Op::Divide),
        EquationKind::Sum => (Op::Add, Op::Subtract),
    };
    let fold_terms = |skip: Option<usize>, notes: &mut Vec<String>| -> Option<Domain> {
        let mut acc: Option<Domain> = None;
        for (i, &v) in vars.iter().enumerate().skip(1) {
            if Some(i) == skip {
                continue;
            }
            acc = Some(match acc {
                None => domains[v].clone(),
                Some(sofar) => calculate(combine, &sofar, &domains[v], limits, notes),
            });
        }
        acc
    };
    if position == 0 {
        return fold_terms(None, notes).unwrap_or_else(Domain::unrestricted);
    }
    let result = &domains[vars[0]];
    match fold_terms(Some(position), notes) {
        None => result.clone(),
        Some(others) => calculate(inverse, result, &others, limits, notes),
    }
}
