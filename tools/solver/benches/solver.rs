//! Solver benchmarks, shaped like GenPRES' own (`benchmark/Program.fs`, EquationBenchmarks):
//!
//! | ours                      | GenPRES                | GenPRES figure (issue 4)   |
//! |---------------------------|------------------------|----------------------------|
//! | `one_constraint`          | `SolveCountMinIncl`    | 98–153 µs                  |
//! | `sum_sets/1_eq/100`       | `Solve_1_Eqs_100`      | 12.8–28 ms (44 ms in repo) |
//! | `sum_sets/1_eq/200`       | `Solve_1_Eqs_200`      | 51–105 ms (178 ms in repo) |
//! | `sum_sets/3_eqs/…`        | `Solve_3_Eqs_…`        | 46 / 179 ms in repo        |
//! | `random_sets/…/10`,`/20`  | `Solve_*_Eqs_Rand_…`   | 25 / 272 ms in repo        |
//! | `paediatric_order`        | —                      | —                          |
//! | `chain/{10,100,1000}`     | —                      | —                          |
//!
//! Baselines measured in the same run: one BigRational multiplication, and building each
//! system without solving. After criterion, a short table of ratios against the baselines
//! is printed (timed with `Instant` in this process, median of several rounds).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};
use num_bigint::BigInt;
use num_rational::BigRational;
use rxgate_solver::order::{Formulation, Order, OrderVariable, Schedule};
use rxgate_solver::{Number, SolveConfig, System, VariableSpec, solve};

/// GenPRES' benchmark solves with full value sets (no min/max reduction); our limits are
/// raised so that the same cartesian work is done and no fallback kicks in.
fn full_sets() -> SolveConfig {
    SolveConfig { max_set_size: 1_000_000, max_pairwise_operations: 10_000_000, ..SolveConfig::default() }
}

fn positive() -> VariableSpec {
    VariableSpec::new().min_exclusive(Number::zero())
}

/// `a = b + c` (and for three equations `d = f * a`, `d = e * b`), every variable > 0,
/// `b` and `c` given as value sets.
fn sum_system(equations: usize, b: &[Number], c: &[Number]) -> System {
    let all = ["a = b + c", "d = f * a", "d = e * b"];
    let mut system = System::new();
    for name in ["a", "b", "c", "d", "e", "f"] {
        system.add_variable(name, positive()).expect("declare");
    }
    for eq in &all[..equations] {
        system.add_equation(eq).expect("equation");
    }
    system.restrict("b", VariableSpec::new().values(b.iter().cloned())).expect("b");
    system.restrict("c", VariableSpec::new().values(c.iter().cloned())).expect("c");
    system
}

fn one_to(n: i64) -> Vec<Number> {
    (1..=n).map(Number::from).collect()
}

/// Deterministic stand-in for GenPRES' `Random(seed)` lists of n/d with n, d < 1000.
fn random_rationals(seed: u64, count: usize) -> Vec<Number> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        i64::try_from((state >> 33) % 999).unwrap_or(0) + 1
    };
    (0..count)
        .map(|_| {
            let numerator = next();
            let denominator = next();
            Number::from_fraction(numerator, denominator).unwrap_or_else(Number::one)
        })
        .collect()
}

fn one_constraint_system() -> System {
    let mut system = System::new();
    for name in ["a", "b", "c"] {
        system.add_variable(name, positive()).expect("declare");
    }
    system.add_equation("a = b + c").expect("equation");
    system
}

fn one_constraint(base: &System) {
    let mut system = base.clone();
    system.restrict("a", VariableSpec::new().min_inclusive(Number::from(10))).expect("a");
    black_box(solve(&system, &SolveConfig::default()).expect("solve"));
}

/// Paracetamol IV for a 10 kg infant, 4×/day over 15 min, 10–15 mg/kg per dose, 10 mg/mL.
fn paediatric_order() -> Order {
    let value = |v: i64| VariableSpec::new().values([Number::from(v)]);
    let range = |lo: i64, hi: i64| VariableSpec::new().min_inclusive(Number::from(lo)).max_inclusive(Number::from(hi));
    Order::new(Schedule::Timed, Formulation::Liquid)
        .set(OrderVariable::Weight, value(10))
        .set(OrderVariable::DoseQuantityPerKg, range(10, 15))
        .set(OrderVariable::DosePerTimePerKg, range(40, 60))
        .set(OrderVariable::Frequency, VariableSpec::new().values(one_to(4).into_iter().skip(2)))
        .set(OrderVariable::Concentration, value(10))
        .set(OrderVariable::AdminTime, value(15))
}

/// `x0 = x1 + one, x1 = x2 + one, …` with `one = {1}` and the last `x` in `[0..100]` on an
/// integer grid: propagation walks the chain and every variable ends up a shifted range.
fn chain(length: usize) -> System {
    let mut system = System::new();
    system.add_variable("one", VariableSpec::new().values([Number::one()])).expect("one");
    system
        .add_variable(
            &format!("x{length}"),
            VariableSpec::new().min_inclusive(Number::zero()).max_inclusive(Number::from(100)).increment(Number::one()),
        )
        .expect("last");
    for i in 0..length {
        system.add_equation(&format!("x{i} = x{} + one", i + 1)).expect("equation");
    }
    system
}

fn bigrational_multiplication() {
    let a = BigRational::new(BigInt::from(355), BigInt::from(113));
    let b = BigRational::new(BigInt::from(22), BigInt::from(7));
    black_box(black_box(&a) * black_box(&b));
}

fn benches(c: &mut Criterion) {
    c.bench_function("baseline/bigrational_mul", |b| b.iter(bigrational_multiplication));

    let base = one_constraint_system();
    c.bench_function("baseline/build_one_constraint_system", |b| b.iter(|| black_box(one_constraint_system())));
    c.bench_function("one_constraint", |b| b.iter(|| one_constraint(&base)));

    let config = full_sets();
    let mut group = c.benchmark_group("sum_sets");
    for equations in [1usize, 3] {
        for size in [100i64, 200] {
            let values = one_to(size);
            let system = sum_system(equations, &values, &values);
            group.bench_with_input(BenchmarkId::new(format!("{equations}_eq"), size), &system, |b, system| {
                b.iter(|| black_box(solve(system, &config).expect("solve")))
            });
        }
    }
    group.finish();

    let mut group = c.benchmark_group("random_sets");
    for equations in [1usize, 3] {
        for size in [10usize, 20] {
            let system = sum_system(equations, &random_rationals(1, size), &random_rationals(2, size));
            group.bench_with_input(BenchmarkId::new(format!("{equations}_eq"), size), &system, |b, system| {
                b.iter(|| black_box(solve(system, &config).expect("solve")))
            });
        }
    }
    group.finish();

    let order = paediatric_order();
    c.bench_function("baseline/build_paediatric_order_system", |b| {
        b.iter(|| black_box(order.system().expect("system")))
    });
    c.bench_function("paediatric_order", |b| {
        b.iter(|| black_box(order.solve(&SolveConfig::default()).expect("solve")))
    });

    let mut group = c.benchmark_group("chain");
    for length in [10usize, 100, 1000] {
        let system = chain(length);
        group.bench_with_input(BenchmarkId::new("build", length), &length, |b, &n| b.iter(|| black_box(chain(n))));
        group.bench_with_input(BenchmarkId::new("solve", length), &system, |b, system| {
            b.iter(|| black_box(solve(system, &SolveConfig::default()).expect("solve")))
        });
    }
    group.finish();
}

/// Median wall time of `f` over a few rounds, each long enough to be measurable.
fn median_time(mut f: impl FnMut()) -> Duration {
    let mut iterations = 1u32;
    loop {
        let start = Instant::now();
        for _ in 0..iterations {
            f();
        }
        if start.elapsed() > Duration::from_millis(20) || iterations >= 1 << 20 {
            break;
        }
        iterations *= 2;
    }
    let mut rounds: Vec<Duration> = (0..5)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iterations {
                f();
            }
            start.elapsed() / iterations
        })
        .collect();
    rounds.sort();
    rounds[2]
}

fn print_ratios() {
    let multiplication = median_time(bigrational_multiplication);
    let base = one_constraint_system();
    let config = full_sets();
    let hundred = sum_system(1, &one_to(100), &one_to(100));
    let two_hundred = sum_system(1, &one_to(200), &one_to(200));
    let order = paediatric_order();
    let chains: Vec<(usize, System)> = [10usize, 100, 1000].map(|n| (n, chain(n))).into();
    let mut rows: Vec<(String, Duration, Option<f64>)> = vec![
        ("one_constraint".to_owned(), median_time(|| one_constraint(&base)), Some(98e-6)),
        (
            "sum_sets/1_eq/100".to_owned(),
            median_time(|| {
                black_box(solve(&hundred, &config).expect("solve"));
            }),
            Some(12.8e-3),
        ),
        (
            "sum_sets/1_eq/200".to_owned(),
            median_time(|| {
                black_box(solve(&two_hundred, &config).expect("solve"));
            }),
            Some(51e-3),
        ),
        (
            "paediatric_order".to_owned(),
            median_time(|| {
                black_box(order.solve(&SolveConfig::default()).expect("solve"));
            }),
            None,
        ),
        (
            "baseline/build_paediatric_order_system".to_owned(),
            median_time(|| {
                black_box(order.system().expect("system"));
            }),
            None,
        ),
    ];
    for (n, system) in &chains {
        rows.push((
            format!("chain/solve/{n}"),
            median_time(|| {
                black_box(solve(system, &SolveConfig::default()).expect("solve"));
            }),
            None,
        ));
    }
    println!();
    println!("baseline: one BigRational multiplication = {multiplication:?}");
    println!("{:<42} {:>12} {:>16} {:>22}", "benchmark", "time", "× bigrat mul", "GenPRES best / ours");
    for (name, time, genpres) in rows {
        let ratio = time.as_secs_f64() / multiplication.as_secs_f64();
        let speedup = genpres.map(|g| format!("{:.1}×", g / time.as_secs_f64())).unwrap_or_else(|| "—".to_owned());
        println!("{name:<42} {time:>12.2?} {ratio:>16.0} {speedup:>22}");
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion);
    criterion.final_summary();
    if std::env::args().any(|a| a == "--bench") {
        print_ratios();
    }
}
