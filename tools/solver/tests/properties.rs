//! Properties that must hold for any system, checked on small random ones:
//! narrowing never widens, no solution is ever lost, every value left in a set has a
//! partner in every equation, and the order of equations does not matter.

use proptest::prelude::*;
use rxgate_solver::{Number, Solution, SolveConfig, Status, System, VariableSpec, solve};

const NAMES: [&str; 4] = ["a", "b", "c", "d"];

#[derive(Clone, Debug)]
struct Eq {
    product: bool,
    result: usize,
    terms: Vec<usize>,
}

impl Eq {
    fn text(&self) -> String {
        let op = if self.product { " * " } else { " + " };
        let terms: Vec<&str> = self.terms.iter().map(|&t| NAMES[t]).collect();
        format!("{} = {}", NAMES[self.result], terms.join(op))
    }

    fn holds(&self, assignment: &[i64]) -> bool {
        let terms = self.terms.iter().map(|&t| assignment[t]);
        let right = if self.product { terms.product::<i64>() } else { terms.sum::<i64>() };
        assignment[self.result] == right
    }
}

fn equation() -> impl Strategy<Value = Eq> {
    (any::<bool>(), Just((0..4).collect::<Vec<usize>>()).prop_shuffle(), 1..=2usize)
        .prop_map(|(product, order, count)| Eq { product, result: order[0], terms: order[1..=count].to_vec() })
}

fn value_set() -> impl Strategy<Value = Vec<i64>> {
    proptest::collection::btree_set(0..=8i64, 1..=4).prop_map(|s| s.into_iter().collect())
}

fn build(sets: &[Vec<i64>], equations: &[Eq]) -> System {
    let mut system = System::new();
    for (name, values) in NAMES.iter().zip(sets) {
        let spec = VariableSpec::new().values(values.iter().map(|&v| Number::from(v)));
        system.add_variable(name, spec).expect("declare");
    }
    for eq in equations {
        system.add_equation(&eq.text()).expect("equation");
    }
    system
}

fn run(system: &System) -> Solution {
    solve(system, &SolveConfig::default()).expect("dimensionless")
}

fn all_assignments(sets: &[Vec<i64>]) -> Vec<Vec<i64>> {
    sets.iter().fold(vec![Vec::new()], |acc, set| {
        acc.iter()
            .flat_map(|prefix| {
                set.iter().map(move |&v| {
                    let mut next = prefix.clone();
                    next.push(v);
                    next
                })
            })
            .collect()
    })
}

fn left_values(solution: &Solution, name: &str) -> Vec<i64> {
    let range = solution.range(name).expect("variable");
    range
        .values()
        .expect("sets stay sets")
        .iter()
        .map(|v| v.to_string().parse::<i64>().expect("integers stay integers"))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn no_solution_is_lost_and_every_value_has_support(
        sets in proptest::collection::vec(value_set(), 4),
        equations in proptest::collection::vec(equation(), 1..=3),
    ) {
        let solution = run(&build(&sets, &equations));
        let solutions: Vec<Vec<i64>> = all_assignments(&sets)
            .into_iter()
            .filter(|a| equations.iter().all(|eq| eq.holds(a)))
            .collect();
        if let Status::Infeasible { .. } = solution.status {
            prop_assert!(solutions.is_empty(), "declared infeasible but {solutions:?} solve it");
            return Ok(());
        }
        let left: Vec<Vec<i64>> = NAMES.iter().map(|n| left_values(&solution, n)).collect();
        // Sound: every full solution survives.
        for s in &solutions {
            for (i, value) in s.iter().enumerate() {
                prop_assert!(left[i].contains(value), "{} lost {value}", NAMES[i]);
            }
        }
        // Narrowing only.
        for (i, values) in left.iter().enumerate() {
            prop_assert!(values.iter().all(|v| sets[i].contains(v)), "{} widened", NAMES[i]);
        }
        // Support: each remaining value of each variable in an equation has partners in the
        // remaining sets that satisfy that equation.
        for eq in &equations {
            let vars: Vec<usize> = std::iter::once(eq.result).chain(eq.terms.iter().copied()).collect();
            let local: Vec<Vec<i64>> = (0..4)
                .map(|i| if vars.contains(&i) { left[i].clone() } else { vec![left[i][0]] })
                .collect();
            let satisfying: Vec<Vec<i64>> = all_assignments(&local)
                .into_iter()
                .filter(|a| eq.holds(a))
                .collect();
            for &v in &vars {
                for value in &left[v] {
                    prop_assert!(
                        satisfying.iter().any(|a| a[v] == *value),
                        "{}={value} has no support in `{}`", NAMES[v], eq.text()
                    );
                }
            }
        }
    }

    #[test]
    fn permuting_equations_does_not_change_the_result(
        sets in proptest::collection::vec(value_set(), 4),
        equations in proptest::collection::vec(equation(), 2..=3),
        rotation in 0..3usize,
    ) {
        let mut permuted = equations.clone();
        permuted.reverse();
        let len = permuted.len();
        permuted.rotate_left(rotation % len);
        let first = run(&build(&sets, &equations));
        let second = run(&build(&sets, &permuted));
        let infeasible = |s: &Solution| matches!(s.status, Status::Infeasible { .. });
        prop_assert_eq!(infeasible(&first), infeasible(&second));
        if !infeasible(&first) {
            prop_assert_eq!(&first.status, &second.status);
            for name in NAMES {
                prop_assert_eq!(
                    first.range(name).map(ToString::to_string),
                    second.range(name).map(ToString::to_string)
                );
            }
        }
    }

    #[test]
    fn interval_narrowing_never_widens(
        bounds in proptest::collection::vec((-4..=10i64, 0..=12i64, 0..=2usize), 4),
        equations in proptest::collection::vec(equation(), 1..=3),
    ) {
        let steps = ["", "1/2", "1"];
        let mut system = System::new();
        for (name, (min, width, step)) in NAMES.iter().zip(&bounds) {
            let mut spec = VariableSpec::new()
                .min_inclusive(Number::from(*min))
                .max_exclusive(Number::from(min + width + 1));
            if !steps[*step].is_empty() {
                spec = spec.increment(Number::parse(steps[*step]).expect("step"));
            }
            system.add_variable(name, spec).expect("declare");
        }
        for eq in &equations {
            system.add_equation(&eq.text()).expect("equation");
        }
        let before: Vec<_> = NAMES.iter().map(|n| system.range(n).expect("declared")).collect();
        let solution = run(&system);
        if matches!(solution.status, Status::Infeasible { .. }) {
            return Ok(());
        }
        for (i, name) in NAMES.iter().enumerate() {
            let after = solution.range(name).expect("variable");
            for k in -40..=100i64 {
                let candidate = Number::from_fraction(k, 4).expect("non-zero denominator");
                prop_assert!(
                    !after.contains(&candidate) || before[i].contains(&candidate),
                    "{name} widened: {} -> {after} admits {candidate}", before[i]
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    /// Every assignment on the variables' grids that satisfies all equations survives
    /// interval propagation (with open and closed ends and increments).
    #[test]
    fn interval_solutions_are_never_lost(
        bounds in proptest::collection::vec((-3..=6i64, 0..=4i64, any::<bool>(), any::<bool>()), 4),
        equations in proptest::collection::vec(equation(), 1..=3),
    ) {
        // Values are halves: k/2. `halves` decides the grid (1/2 or 1), `open` the max end.
        let mut system = System::new();
        let mut grids: Vec<Vec<i64>> = Vec::new();
        for (name, (min, width, halves, open)) in NAMES.iter().zip(&bounds) {
            let max = min + width;
            let step = if *halves { 1 } else { 2 };
            let mut spec = VariableSpec::new()
                .min_inclusive(Number::from(*min))
                .increment(Number::from_fraction(step, 2).expect("step"));
            spec = if *open {
                spec.max_exclusive(Number::from(max + 1))
            } else {
                spec.max_inclusive(Number::from(max))
            };
            system.add_variable(name, spec).expect("declare");
            let top = if *open { 2 * (max + 1) - 1 } else { 2 * max };
            grids.push((2 * min..=top).filter(|k| k % step == 0).collect());
        }
        for eq in &equations {
            system.add_equation(&eq.text()).expect("equation");
        }
        let solution = run(&system);
        let holds = |eq: &Eq, a: &[i64]| {
            let value = |i: usize| a[i] as f64 / 2.0;
            let terms = eq.terms.iter().map(|&t| value(t));
            let right: f64 = if eq.product { terms.product() } else { terms.sum() };
            value(eq.result) == right
        };
        for assignment in all_assignments(&grids) {
            if !equations.iter().all(|eq| holds(eq, &assignment)) {
                continue;
            }
            prop_assert!(
                !matches!(solution.status, Status::Infeasible { .. }),
                "declared infeasible but {assignment:?} (halves) solves it"
            );
            for (i, k) in assignment.iter().enumerate() {
                let value = Number::from_fraction(*k, 2).expect("halves");
                let range = solution.range(NAMES[i]).expect("variable");
                prop_assert!(range.contains(&value), "{} lost {value}: {range}", NAMES[i]);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Equations come from callers: any text parses or gives an error, and what parses
    /// prints back to the same equation.
    #[test]
    fn equation_parsing_is_total(text in "[a-c_ =*+/-]{0,16}") {
        if let Ok(equation) = rxgate_solver::Equation::parse(&text) {
            prop_assert_eq!(rxgate_solver::Equation::parse(&equation.to_string()), Ok(equation));
        }
    }

    /// Solving a solved system again changes nothing: the result is a fixpoint.
    #[test]
    fn solving_is_idempotent(
        sets in proptest::collection::vec(value_set(), 4),
        equations in proptest::collection::vec(equation(), 1..=3),
    ) {
        let first = run(&build(&sets, &equations));
        if matches!(first.status, Status::Infeasible { .. }) {
            return Ok(());
        }
        let ranges: Vec<String> = NAMES.iter().map(|n| first.range(n).expect("variable").to_string()).collect();
        let status = first.status.clone();
        let second = run(&first.into_system());
        prop_assert_eq!(&second.status, &status);
        for (name, before) in NAMES.iter().zip(&ranges) {
            prop_assert_eq!(&second.range(name).expect("variable").to_string(), before);
        }
    }
}
