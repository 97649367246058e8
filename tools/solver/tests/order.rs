//! Clinical orders through the order model. Each case reads like a prescription: what the
//! prescriber and the product fix, and what the pharmacist should see come back.

use rxgate_solver::order::{Formulation, Order, OrderUnits, OrderVariable, Schedule};
use rxgate_solver::{Number, SolveConfig, Status, Unit, VariableSpec};

use OrderVariable::*;

fn n(text: &str) -> Number {
    Number::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn unit(text: &str) -> Unit {
    Unit::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// A spec from `"15"` (one value), `"10..15"` (inclusive range), `"2;3;4"` (value set),
/// optionally followed by a unit: `"10..40 ug/kg/h"`.
fn v(text: &str) -> VariableSpec {
    let (numbers, unit_text) = text.split_once(' ').unwrap_or((text, ""));
    let mut spec = VariableSpec::new();
    if !unit_text.is_empty() {
        spec = spec.unit(unit(unit_text));
    }
    match numbers.split_once("..") {
        Some((min, max)) => spec.min_inclusive(n(min)).max_inclusive(n(max)),
        None => spec.values(numbers.split(';').map(n)),
    }
}

fn tablet(fractions: &[&str]) -> Formulation {
    Formulation::Countable { form: unit("{tbl}"), fractions: fractions.iter().map(|f| n(f)).collect() }
}

/// Solves and compares the listed variables' printed ranges.
fn check(case: &str, order: &Order, expected: &[(OrderVariable, &str)]) -> Status {
    let solution = order.solve(&SolveConfig::default()).unwrap_or_else(|e| panic!("{case}: {e}"));
    for (variable, want) in expected {
        let got =
            solution.range(variable.name()).unwrap_or_else(|| panic!("{case}: no {}", variable.name())).to_string();
        assert_eq!(
            &got,
            want,
            "{case}: {}\n  status: {:?}\n  notes: {:?}",
            variable.name(),
            solution.status,
            solution.notes
        );
    }
    solution.status
}

#[test]
fn paracetamol_syrup_15_mg_per_kg_for_8_kg_is_5_ml() {
    let order = Order::new(Schedule::Discontinuous, Formulation::Liquid)
        .set(Weight, v("8"))
        .set(DoseQuantityPerKg, v("15"))
        .set(Concentration, v("24"))
        .set(Frequency, v("4"));
    let status = check(
        "paracetamol 15 mg/kg, 8 kg, 24 mg/mL",
        &order,
        &[
            (DoseQuantity, "[120] mg"),
            (OrderableQuantity, "[5] mL"),
            (DosePerTime, "[480] mg/d"),
            (DosePerTimePerKg, "[60] mg/kg/d"),
            (OrderablePerTime, "[20] mL/d"),
        ],
    );
    assert_eq!(status, Status::Solved);
}

#[test]
fn paracetamol_dose_range_gives_measurable_volumes() {
    // 10–15 mg/kg for 8 kg = 80–120 mg; 24 mg/mL → 3.4–5 mL in 0.1 mL steps.
    let order = Order::new(Schedule::Discontinuous, Formulation::Liquid)
        .set(Weight, v("8"))
        .set(DoseQuantityPerKg, v("10..15"))
        .set(Concentration, v("24"))
        .set(Frequency, v("4"));
    check(
        "paracetamol 10–15 mg/kg, 8 kg",
        &order,
        &[
            (OrderableQuantity, "[17/5..1/10..5] mL"),
            (DoseQuantity, "[408/5..12/5..120] mg"),
            (DoseQuantityPerKg, "[51/5..3/10..15] mg/kg"),
        ],
    );
}

#[test]
fn gentamicin_7_mg_per_kg_q24h_for_20_kg() {
    // 140 mg once daily from 40 mg/mL = 3.5 mL, infused over 30 min = 7 mL/h.
    let order = Order::new(Schedule::Timed, Formulation::Liquid)
        .set(Weight, v("20"))
        .set(DosePerTimePerKg, v("7"))
        .set(Frequency, v("1"))
        .set(Concentration, v("40"))
        .set(AdminTime, v("30"));
    let status = check(
        "gentamicin 7 mg/kg/d, 20 kg",
        &order,
        &[
            (DoseQuantity, "[140] mg"),
            (DosePerTime, "[140] mg/d"),
            (OrderableQuantity, "[7/2] mL"),
            (OrderableRate, "[7] mL/h"),
            (DoseRate, "[280] mg/h"),
        ],
    );
    assert_eq!(status, Status::Solved);
}

#[test]
fn morphine_infusion_10_to_40_ug_per_kg_per_h_for_50_kg() {
    // 0.5–2 mg/h from 1 mg/mL = 0.5–2 mL/h; the rule is given in ug and converted exactly.
    let order = Order::new(Schedule::Continuous, Formulation::Liquid)
        .set(Weight, v("50"))
        .set(DoseRatePerKg, v("10..40 ug/kg/h"))
        .set(Concentration, v("1"));
    check(
        "morphine 10–40 ug/kg/h, 50 kg, 1 mg/mL",
        &order,
        &[
            (DoseRate, "[1/2..1/10..2] mg/h"),
            (OrderableRate, "[1/2..1/10..2] mL/h"),
            (DoseRatePerKg, "[1/100..1/500..1/25] mg/kg/h"),
        ],
    );
    // The same order in ug keeps the rule's own unit.
    let in_micrograms = Order::new(Schedule::Continuous, Formulation::Liquid)
        .with_units(OrderUnits { substance: unit("ug"), ..OrderUnits::default() })
        .set(Weight, v("50"))
        .set(DoseRatePerKg, v("10..40"))
        .set(Concentration, v("1 mg/mL"));
    check("morphine in ug", &in_micrograms, &[(DoseRate, "[500..100..2000] ug/h"), (Concentration, "[1000] ug/mL")]);
}

#[test]
fn prednisolone_tablets_split_in_halves() {
    // 1–2 mg/kg for 13 kg = 13–26 mg; 5 mg tablets in halves → 3–5 tablets.
    let order = Order::new(Schedule::Discontinuous, tablet(&["1", "1/2"]))
        .set(Weight, v("13"))
        .set(DoseQuantityPerKg, v("1..2"))
        .set(Concentration, v("5"))
        .set(Frequency, v("1"));
    check(
        "prednisolone 1–2 mg/kg, 13 kg, 5 mg tablets",
        &order,
        &[(OrderableQuantity, "[3..1/2..5] {tbl}"), (DoseQuantity, "[15..5/2..25] mg")],
    );
    // Whole tablets only: 15, 20 or 25 mg.
    let whole = Order::new(Schedule::Discontinuous, tablet(&["1"]))
        .set(Weight, v("13"))
        .set(DoseQuantityPerKg, v("1..2"))
        .set(Concentration, v("5"))
        .set(Frequency, v("1"));
    check(
        "prednisolone whole tablets",
        &whole,
        &[(OrderableQuantity, "[3..1..5] {tbl}"), (DoseQuantity, "[15..5..25] mg")],
    );
}

#[test]
fn a_dose_that_no_tablet_can_give_is_infeasible() {
    // 1 mg/kg for 13 kg = 13 mg exactly; 5 mg tablets in halves cannot make 13 mg.
    let order = Order::new(Schedule::Once, tablet(&["1", "1/2"]))
        .set(Weight, v("13"))
        .set(DoseQuantityPerKg, v("1"))
        .set(Concentration, v("5"));
    let solution = order.solve(&SolveConfig::default()).expect("balanced");
    assert!(matches!(&solution.status, Status::Infeasible { .. }), "{:?}", solution.status);
}

#[test]
fn go_scn_25_paracetamol_iv_infant_10_kg() {
    // GenPRES docs/scenarios/Infant.md. The rules' full inputs live in GenPRES' external
    // spreadsheet; the norm doses shown in the scenario are used.
    let start = Order::new(Schedule::OnceTimed, Formulation::Liquid)
        .set(Weight, v("10"))
        .set(DoseQuantityPerKg, v("20"))
        .set(Concentration, v("10"))
        .set(AdminTime, v("15..20"));
    check(
        "start: 200 mg = 20 mg/kg; 20 mL; 60–80 mL/h over 15–20 min",
        &start,
        &[(DoseQuantity, "[200] mg"), (OrderableQuantity, "[20] mL"), (OrderableRate, "[60..1/10..80] mL/h")],
    );
    let maintenance = Order::new(Schedule::Timed, Formulation::Liquid)
        .set(Weight, v("10"))
        .set(DosePerTimePerKg, v("60"))
        .set(Frequency, v("4"))
        .set(Concentration, v("10"))
        .set(AdminTime, v("15"));
    let status = check(
        "maintenance: 4×/d 150 mg = 60 mg/kg/d; 15 mL; 60 mL/h over 15 min",
        &maintenance,
        &[(DoseQuantity, "[150] mg"), (OrderableQuantity, "[15] mL"), (OrderableRate, "[60] mL/h")],
    );
    assert_eq!(status, Status::Solved);
    let oral = Order::new(Schedule::Discontinuous, Formulation::Liquid)
        .set(Weight, v("10"))
        .set(Frequency, v("4"))
        .set(Concentration, v("24"))
        .set(OrderableQuantity, v("9.5"));
    check(
        "oral syrup: 4×/d 9.5 mL of 24 mg/mL = 228 mg = 91.2 mg/kg/d",
        &oral,
        &[(DoseQuantity, "[228] mg"), (DosePerTimePerKg, "[456/5] mg/kg/d")],
    );
    let rectal =
        Order::new(Schedule::Discontinuous, Formulation::Countable { form: unit("{supp}"), fractions: vec![n("1")] })
            .set(Weight, v("10"))
            .set(Frequency, v("3"))
            .set(Concentration, v("180"))
            .set(OrderableQuantity, v("1"));
    check(
        "rectal: 3×/d 180 mg = 54 mg/kg/d",
        &rectal,
        &[(DoseQuantity, "[180] mg"), (DosePerTimePerKg, "[54] mg/kg/d")],
    );
}

#[test]
fn go_scn_26_paracetamol_newborn_3_kg() {
    // GenPRES docs/scenarios/Newborn.md.
    let start = Order::new(Schedule::OnceTimed, Formulation::Liquid)
        .set(Weight, v("3"))
        .set(DoseQuantityPerKg, v("20"))
        .set(Concentration, v("10"))
        .set(AdminTime, v("15..20"));
    check(
        "iv start: 60 mg = 20 mg/kg; 6 mL; 18–24 mL/h",
        &start,
        &[(DoseQuantity, "[60] mg"), (OrderableQuantity, "[6] mL"), (OrderableRate, "[18..1/10..24] mL/h")],
    );
    let maintenance = Order::new(Schedule::Timed, Formulation::Liquid)
        .set(Weight, v("3"))
        .set(DosePerTimePerKg, v("40"))
        .set(Frequency, v("4"))
        .set(Concentration, v("10"))
        .set(AdminTime, v("15"));
    check(
        "iv maintenance: 4×/d 30 mg = 40 mg/kg/d; 3 mL; 12 mL/h",
        &maintenance,
        &[(DoseQuantity, "[30] mg"), (OrderableQuantity, "[3] mL"), (OrderableRate, "[12] mL/h")],
    );
    // The scenario shows 31.2–43.2 mg (1.3–1.8 mL) 3×/d; a 30–45 mg/kg/d rule (assumed:
    // the rule itself is not in the GenPRES repository) reproduces it through the 0.1 mL grid.
    let oral = Order::new(Schedule::Discontinuous, Formulation::Liquid)
        .set(Weight, v("3"))
        .set(DosePerTimePerKg, v("30..45"))
        .set(Frequency, v("3"))
        .set(Concentration, v("24"));
    check(
        "oral: 3×/d 31.2–43.2 mg; 1.3–1.8 mL of 24 mg/mL",
        &oral,
        &[
            (OrderableQuantity, "[13/10..1/10..9/5] mL"),
            (DoseQuantity, "[156/5..12/5..216/5] mg"),
            (DosePerTimePerKg, "[156/5..12/5..216/5] mg/kg/d"),
        ],
    );
}

#[test]
fn a_large_volume_is_measured_in_half_millilitres() {
    // 40 mg/kg for 20 kg of 24 mg/mL: 800 mg is 33 1/3 mL, not measurable in 0.5 mL steps
    // exactly, so a 30–40 mg/kg range is asked and the volumes come back on the 0.5 grid.
    let order = Order::new(Schedule::Once, Formulation::Liquid)
        .set(Weight, v("20"))
        .set(DoseQuantityPerKg, v("30..40"))
        .set(Concentration, v("24"));
    let solution = order.solve(&SolveConfig::default()).expect("balanced");
    assert_eq!(solution.range("orderable_qty").expect("volume").to_string(), "[25..1/2..33] mL");
    assert!(solution.notes.iter().any(|n| n.contains("0.5 mL steps")), "{:?}", solution.notes);
}

#[test]
fn a_variable_outside_the_schedule_is_an_error() {
    let order = Order::new(Schedule::Once, Formulation::Liquid).set(Frequency, v("3"));
    let error = order.solve(&SolveConfig::default()).expect_err("no frequency in once");
    assert_eq!(error.to_string(), "variable `frequency`: is not part of a Once order");
}

#[test]
fn a_volume_range_spanning_5_ml_lists_what_a_syringe_can_measure() {
    // 10–20 mg/kg for 8 kg = 80–160 mg of 24 mg/mL: 3.4–6.5 mL, in 0.1 mL steps up to 5 mL
    // and 0.5 mL steps above.
    let order = Order::new(Schedule::Once, Formulation::Liquid)
        .set(Weight, v("8"))
        .set(DoseQuantityPerKg, v("10..20"))
        .set(Concentration, v("24"));
    let solution = order.solve(&SolveConfig::default()).expect("balanced");
    let volume = solution.range("orderable_qty").expect("volume");
    let values: Vec<String> = volume.values().expect("a set").iter().map(|n| n.to_decimal_string(1)).collect();
    assert_eq!(values.first().map(String::as_str), Some("3.4"));
    assert!(values.contains(&"5".to_owned()));
    assert!(!values.contains(&"5.1".to_owned()), "{values:?}");
    assert_eq!(&values[values.len() - 3..], ["5.5", "6", "6.5"]);
    assert!(solution.notes.iter().any(|n| n.contains("spans 5 mL")), "{:?}", solution.notes);
    // Every dose that comes back can be drawn up: 5.5 mL is 132 mg.
    let dose = solution.range("dose_qty").expect("dose");
    assert!(dose.contains(&n("132")) && !dose.contains(&n("122.4")), "{dose}");
}
