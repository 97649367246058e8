//! Behaviour beyond the GenPRES anchors: unit checks, termination, bounded value sets,
//! and the shape of results the MCP server reads. One `check` per scenario, cases as data.

use rxgate_solver::{
    Number, PartialReason, Solution, SolveConfig, Status, System, SystemError, Unit, VariableSpec, solve,
};

fn n(text: &str) -> Number {
    Number::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// `(name, unit, "min|max|incr|values")` where each part may be empty; `min`/`max` take a
/// leading `<` / trailing `>` for exclusive ends, `values` is `;`-separated.
type Declaration<'a> = (&'a str, &'a str, &'a str);

fn build(declarations: &[Declaration], equations: &[&str]) -> System {
    let mut system = System::new();
    for (name, unit, parts) in declarations {
        let mut spec = VariableSpec::new();
        if !unit.is_empty() {
            spec = spec.unit(Unit::parse(unit).expect("unit"));
        }
        let fields: Vec<&str> = parts.split('|').collect();
        if let Some(min) = fields.first().filter(|s| !s.is_empty()) {
            spec = match min.strip_prefix('<') {
                Some(v) => spec.min_exclusive(n(v)),
                None => spec.min_inclusive(n(min)),
            };
        }
        if let Some(max) = fields.get(1).filter(|s| !s.is_empty()) {
            spec = match max.strip_suffix('>') {
                Some(v) => spec.max_exclusive(n(v)),
                None => spec.max_inclusive(n(max)),
            };
        }
        if let Some(incr) = fields.get(2).filter(|s| !s.is_empty()) {
            spec = spec.increment(n(incr));
        }
        if let Some(values) = fields.get(3).filter(|s| !s.is_empty()) {
            spec = spec.values(values.split(';').map(n));
        }
        system.add_variable(name, spec).expect("declaration");
    }
    for equation in equations {
        system.add_equation(equation).expect("equation");
    }
    system
}

fn summary(solution: &Solution) -> String {
    let status = match &solution.status {
        Status::Solved => "solved".to_owned(),
        Status::Partial { reason } => match reason {
            PartialReason::Underdetermined { unsolved } => {
                format!("partial: unsolved {}", unsolved.join(", "))
            }
            PartialReason::NotConverging { variable, equation, narrowings } => {
                format!("partial: {variable} not converging in `{equation}` after {narrowings}")
            }
            PartialReason::WorkBudgetExhausted { evaluations } => {
                format!("partial: budget exhausted after {evaluations}")
            }
        },
        Status::Infeasible { variable, equation, .. } => format!("infeasible: {variable} in {equation:?}"),
    };
    let ranges: Vec<String> = solution.variables.iter().map(|(name, range)| format!("{name} {range}")).collect();
    format!("{status}; {}", ranges.join("; "))
}

fn check(declarations: &[Declaration], equations: &[&str], expected: &str) {
    let system = build(declarations, equations);
    let solution = solve(&system, &SolveConfig::default()).expect("units balance");
    assert_eq!(summary(&solution), expected, "{equations:?}");
}

#[test]
fn clinical_systems() {
    for (declarations, equations, expected) in [
        // Paracetamol 15 mg/kg for 8 kg from 24 mg/mL syrup: 120 mg is 5 mL.
        (
            vec![
                ("dose", "mg", ""),
                ("dose_per_kg", "mg/kg", "|||15"),
                ("weight", "kg", "|||8"),
                ("conc", "mg/mL", "|||24"),
                ("volume", "mL", ""),
            ],
            vec!["dose = dose_per_kg * weight", "dose = conc * volume"],
            "solved; dose [120] mg; dose_per_kg [15] mg/kg; weight [8] kg; conc [24] mg/mL; volume [5] mL",
        ),
        // Units convert exactly: a dose in g against a concentration in mg/mL.
        (
            vec![("dose", "g", "|||1/2"), ("conc", "mg/mL", "|||100"), ("volume", "mL", "")],
            vec!["dose = conc * volume"],
            "solved; dose [1/2] g; conc [100] mg/mL; volume [5] mL",
        ),
        // Exact thirds: 10 mg from 3 mg/mL is 10/3 mL.
        (
            vec![("dose", "mg", "|||10"), ("conc", "mg/mL", "|||3"), ("volume", "mL", "")],
            vec!["dose = conc * volume"],
            "solved; dose [10] mg; conc [3] mg/mL; volume [10/3] mL",
        ),
        // A range of doses gives a range of volumes, snapped to the 0.1 mL syringe, and
        // the dose comes back on the grid that syringe allows (24 mg/mL × 0.1 mL).
        (
            vec![("dose", "mg", "80|120"), ("conc", "mg/mL", "|||24"), ("volume", "mL", "||1/10")],
            vec!["dose = conc * volume"],
            "partial: unsolved dose, volume; dose [408/5..12/5..120] mg; conc [24] mg/mL; volume [17/5..1/10..5] mL",
        ),
        // An equation with units omitted everywhere is about counts.
        (vec![("a", "", "|||6"), ("b", "", "|||2")], vec!["a = b * c"], "solved; a [6]; b [2]; c [3]"),
        // An infeasible question names the variable and the equation.
        (
            vec![("dose", "mg", "|1000"), ("dose_per_kg", "mg/kg", "|||15"), ("weight", "kg", "|||80")],
            vec!["dose = dose_per_kg * weight"],
            "infeasible: dose in Some(\"dose = dose_per_kg * weight\"); dose <..1000] mg; dose_per_kg [15] mg/kg; weight [80] kg",
        ),
        // Negative values and sign cases: a = b + c with a fixed sum.
        (
            vec![("a", "", "|||0"), ("b", "", "-2|3"), ("c", "", "")],
            vec!["a = b + c"],
            "partial: unsolved b, c; a [0]; b [-2..3]; c [-3..2]",
        ),
    ] {
        check(&declarations, &equations, expected);
    }
}

#[test]
fn unbalanced_units_are_an_error_naming_the_equation() {
    let system = build(&[("dose", "mg", ""), ("conc", "mg/mL", ""), ("weight", "kg", "")], &["dose = conc * weight"]);
    let error = solve(&system, &SolveConfig::default()).expect_err("mg ≠ mg/mL·kg");
    assert_eq!(
        error.to_string(),
        "equation `dose[mg] = conc[mg/mL] * weight[kg]`: units do not balance: left side is mg (mass), right side is mg.kg/mL (mass·volume^-1·body weight)"
    );
    let system = build(&[("a", "mg", ""), ("b", "mL", "")], &["a = b"]);
    assert!(matches!(solve(&system, &SolveConfig::default()), Err(SystemError::UnitsDoNotBalance { .. })));
}

#[test]
fn restricting_with_a_unit_of_another_group_is_an_error() {
    let mut system = build(&[("dose", "mg", "")], &[]);
    let wrong = VariableSpec::new().unit(Unit::parse("mL").expect("unit")).max_inclusive(n("5"));
    assert_eq!(
        system.restrict("dose", wrong).expect_err("mL is not mass").to_string(),
        "variable `dose` is in `mg`; `mL` cannot be converted to it"
    );
    let right = VariableSpec::new().unit(Unit::parse("g").expect("unit")).max_inclusive(n("1/2"));
    system.restrict("dose", right).expect("g converts to mg");
    assert_eq!(system.range("dose").expect("dose").to_string(), "<..500] mg");
}

#[test]
fn a_narrowing_cycle_stops_with_a_reason() {
    // a = b/2 and b = a/2 with a > 0 would need a = a/4: bounds halve forever towards 0.
    // GenPRES loops until its cap; we report the cycle.
    let system = build(&[("a", "", "<0|1"), ("half", "", "|||1/2")], &["a = b * half", "b = a * half"]);
    let solution = solve(&system, &SolveConfig::default()).expect("units balance");
    match &solution.status {
        // The default allowance of 100 plus 10 for each of the two equations `a` is in.
        Status::Partial { reason: PartialReason::NotConverging { narrowings, .. } } => assert_eq!(*narrowings, 120),
        other => panic!("expected a non-convergence report, got {other:?}"),
    }
    // The ranges that come back are still sound (only narrowed).
    let a = solution.range("a").expect("a");
    assert!(a.max().is_some_and(|m| m.value < n("1")));
}

#[test]
fn a_work_budget_is_reported_not_silent() {
    let system = build(&[("a", "", "<0|1"), ("half", "", "|||1/2")], &["a = b * half", "b = a * half"]);
    let config = SolveConfig { max_equation_evaluations: 10, ..SolveConfig::default() };
    let solution = solve(&system, &config).expect("units balance");
    assert_eq!(solution.status, Status::Partial { reason: PartialReason::WorkBudgetExhausted { evaluations: 10 } });
}

#[test]
fn large_set_products_fall_back_to_exact_bounds_with_a_note() {
    let thirds: Vec<String> = (1..=100).map(|k| format!("{k}/3")).collect();
    let sevenths: Vec<String> = (1..=100).map(|k| format!("{k}/101")).collect();
    let b = thirds.join(";");
    let c = sevenths.join(";");
    let system = build(&[("b", "", &format!("|||{b}")), ("c", "", &format!("|||{c}"))], &["a = b + c"]);
    let solution = solve(&system, &SolveConfig::default()).expect("units balance");
    let a = solution.range("a").expect("a");
    assert_eq!(a.to_string(), "[104/303..1/303..10400/303]");
    assert_eq!(solution.notes.len(), 1, "{:?}", solution.notes);
    assert!(solution.notes[0].contains("above the limit of 1000"), "{:?}", solution.notes);
    // With a higher limit the exact set is kept.
    let config = SolveConfig { max_set_size: 100_000, ..SolveConfig::default() };
    let solution = solve(&system, &config).expect("units balance");
    let values = solution.range("a").expect("a").values().map(<[Number]>::len);
    assert!(values.is_some_and(|count| count > 1000), "{values:?}");
    // Reading the sum backwards (b = a - c) would need 10 000 × 100 operations: that
    // direction keeps bounds only, and says so.
    assert!(solution.notes.iter().all(|note| note.contains("operations")), "{:?}", solution.notes);
}

#[test]
fn results_expose_exact_and_approximate_numbers() {
    let system = build(&[("dose", "mg", "|||10"), ("conc", "mg/mL", "|||3")], &["dose = conc * volume"]);
    let solution = solve(&system, &SolveConfig::default()).expect("units balance");
    let volume = solution.range("volume").expect("volume");
    let value = volume.single_value().expect("solved");
    assert_eq!(value.to_exact_string(), "10/3");
    assert_eq!(value.to_decimal_string(4), "3.3333");
    assert_eq!(volume.unit().to_string(), "mL");
    assert!(solution.is_solved());
}

#[test]
fn equations_may_come_before_declarations() {
    let mut system = System::new();
    system.add_equation("dose = conc * volume").expect("equation");
    system
        .add_variable("conc", VariableSpec::new().unit(Unit::parse("mg/mL").expect("unit")).values([n("24")]))
        .expect("a variable named by an equation can still be declared");
    assert!(matches!(
        system.add_variable("conc", VariableSpec::new()),
        Err(SystemError::DuplicateVariable(name)) if name == "conc"
    ));
    assert_eq!(
        system.add_variable("dose per kg", VariableSpec::new()).expect_err("space").to_string(),
        "`dose per kg` cannot be a variable name: use letters, digits, `_`, `.`, `[`, `]` and no spaces or `= * + - /`"
    );
}

#[test]
fn a_long_chain_reaches_its_fixpoint_without_a_convergence_alarm() {
    // x0 = x1 + one, …, x999 = x1000 + one with x1000 in [0..100]: x0 is in [1000..1100].
    let mut system = build(&[("one", "", "|||1"), ("x1000", "", "0|100|1")], &[]);
    for i in 0..1000 {
        system.add_equation(&format!("x{i} = x{} + one", i + 1)).expect("equation");
    }
    let solution = solve(&system, &SolveConfig::default()).expect("dimensionless");
    assert!(
        matches!(&solution.status, Status::Partial { reason: PartialReason::Underdetermined { .. } }),
        "{:?}",
        solution.status
    );
    assert_eq!(solution.range("x0").expect("x0").to_string(), "[1000..1..1100]");
}

#[test]
fn partial_reasons_read_as_sentences() {
    let reason = PartialReason::Underdetermined { unsolved: vec!["dose".to_owned(), "volume".to_owned()] };
    assert_eq!(reason.to_string(), "more than one value is still possible for: dose, volume");
}
