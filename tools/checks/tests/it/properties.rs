//! Properties of the checks over random orders drawn from the whole bundled formulary.

use std::collections::BTreeSet;

use proptest::prelude::*;
use rxgate_checks::{allergy, ddi};

use crate::common::registry;

fn inn(i: usize) -> String {
    let reg = registry();
    let (_, g) = reg.generics().nth(i % reg.generics().len()).expect("index in range");
    g.inn.clone()
}

/// What a finding is, independent of how the caller ordered the drugs.
fn keys(report: &ddi::DdiReport) -> BTreeSet<(Vec<String>, String, rxgate_checks::Severity)> {
    report
        .interactions
        .iter()
        .map(|i| {
            let mut d = i.drugs.clone();
            d.sort();
            (d, i.rule.clone(), i.severity)
        })
        .collect()
}

fn check(drugs: &[String]) -> ddi::DdiReport {
    ddi::check(registry(), &ddi::DdiRequest { drugs: drugs.to_vec(), active_medications: Vec::new() })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// The order in which drugs are written never changes the findings.
    #[test]
    fn ddi_is_symmetric_in_the_order_of_drugs(picks in proptest::collection::vec(0usize..10_000, 2..8), seed in any::<u64>()) {
        let drugs: Vec<String> = picks.iter().map(|&i| inn(i)).collect();
        let mut shuffled = drugs.clone();
        // A deterministic shuffle driven by the seed.
        let n = shuffled.len();
        for i in (1..n).rev() {
            let j = (seed.wrapping_mul(6364136223846793005).wrapping_add(i as u64) % (i as u64 + 1)) as usize;
            shuffled.swap(i, j);
        }
        prop_assert_eq!(keys(&check(&drugs)), keys(&check(&shuffled)));
        let reversed: Vec<String> = drugs.iter().rev().cloned().collect();
        prop_assert_eq!(check(&drugs).highest_severity, check(&reversed).highest_severity);
    }

    /// Adding a drug can add findings but never removes or weakens one.
    #[test]
    fn adding_a_drug_never_removes_an_interaction(picks in proptest::collection::vec(0usize..10_000, 2..7), extra in 0usize..10_000) {
        let drugs: Vec<String> = picks.iter().map(|&i| inn(i)).collect();
        let mut more = drugs.clone();
        more.push(inn(extra));
        let before = keys(&check(&drugs));
        let after = keys(&check(&more));
        prop_assert!(before.is_subset(&after), "lost: {:?}", before.difference(&after).collect::<Vec<_>>());
    }

    /// A name the registry does not know is always reported, whatever else is on the order.
    #[test]
    fn unknown_names_are_always_reported(picks in proptest::collection::vec(0usize..10_000, 0..5), junk in "zz[a-z]{6}") {
        let mut drugs: Vec<String> = picks.iter().map(|&i| inn(i)).collect();
        drugs.push(junk.clone());
        prop_assert!(check(&drugs).unknown.contains(&junk));
        let a = allergy::check(registry(), &allergy::AllergyRequest { drugs: drugs.clone(), allergies: vec![junk.clone()] });
        prop_assert!(a.unknown.contains(&junk));
    }
}

/// Every finding the checks can produce carries sources: checked exhaustively over every
/// pair of generics in the formulary.
#[test]
fn every_pair_finding_has_sources() {
    let reg = registry();
    let all: Vec<String> = reg.generics().map(|(_, g)| g.inn.clone()).collect();
    let mut missing = Vec::new();
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            for f in check(&[a.clone(), b.clone()]).interactions {
                if f.sources.is_empty() {
                    missing.push(format!("{:?} {}", f.drugs, f.rule));
                }
            }
        }
    }
    assert!(missing.is_empty(), "findings without sources: {missing:?}");
}
