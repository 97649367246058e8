//! The labelled set for the faithfulness measurement (feature `labelled-set`): real findings
//! from the bundled registry, run through the checks crate, each turned into the vetted
//! [`Facts`] an explanation may use (the label: what a faithful explanation may say).
//!
//! One set for every measurement of it: `examples/faithfulness.rs` (the full study), the
//! tests, and `rxgate-explainer faithfulness`, which `rxgate eval` runs for its explanation
//! quality section on a [`sample`] of it.

use rxgate_checks::allergy::{AllergyRequest, check as allergy_check};
use rxgate_checks::ddi::{DdiRequest, Interaction, check as ddi_check};
use rxgate_checks::halal::{HalalRequest, Preference, check as halal_check};
use rxgate_knowledge::{HalalStatus, Registry, Target};

use crate::{Effect, Facts, FindingDetail, effects_in, mechanism_in};

/// One labelled finding: where it came from (curated entry id, allergy or halal rule) and
/// its facts.
#[derive(Debug, Clone)]
pub struct Case {
    pub id: String,
    pub facts: Facts,
}

/// The registry compiled into rxgate, which the set is drawn from.
pub fn registry() -> Registry {
    rxgate_knowledge::load(&rxgate_knowledge::bundled_files()).expect("the bundled registry loads").registry
}

/// The facts of an interaction finding as the checks report it.
pub fn interaction_facts(i: &Interaction) -> Facts {
    Facts {
        detail: FindingDetail::Interaction { mechanism: mechanism_in(&i.mechanism, &i.drugs) },
        drugs: i.drugs.clone(),
        severity: Some(i.severity),
        effects: effects_in(&i.effect),
        mechanism_text: i.mechanism.clone(),
        effect_text: i.effect.clone(),
        management_text: i.management.clone(),
        other_names: i.alternatives.clone(),
    }
}

/// The registry's finding for two drugs, as the checks report it.
pub fn interaction_case(reg: &Registry, a: &str, b: &str) -> Option<Case> {
    let report = ddi_check(reg, &DdiRequest { drugs: vec![a.to_string(), b.to_string()], active_medications: vec![] });
    let i = report.interactions.into_iter().next()?;
    Some(Case { id: format!("{}:{}", i.kind.as_str(), i.rule), facts: interaction_facts(&i) })
}

fn first_member(reg: &Registry, t: &Target) -> Option<String> {
    match t {
        Target::Generic(g) => Some(reg.generic(*g).inn.clone()),
        Target::Class(c) => reg.members_of(*c).first().map(|g| reg.generic(*g).inn.clone()),
    }
}

/// Findings for the curated pairs of the registry (a class side stands for its first
/// member), then allergy and halal findings; `interactions` caps the interactions.
pub fn labelled_set(reg: &Registry, interactions: usize) -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for c in reg.curated() {
        if cases.len() >= interactions {
            break;
        }
        let (Some(a), Some(b)) = (first_member(reg, &c.a), first_member(reg, &c.b)) else { continue };
        if a == b || !seen.insert((a.clone(), b.clone())) {
            continue;
        }
        if let Some(case) = interaction_case(reg, &a, &b) {
            cases.push(case);
        }
    }
    for (drug, allergy) in [
        ("amoxicillin", "penicillin"),
        ("cefalexin", "penicillin"),
        ("ceftriaxone", "penicillin"),
        ("meropenem", "penicillin"),
        ("ibuprofen", "nsaids"),
        ("sulfamethoxazole", "sulfa"),
        ("azithromycin", "macrolides"),
        ("ciprofloxacin", "quinolones"),
        ("carbamazepine", "aromatic antiepileptics"),
        ("enalapril", "ace inhibitor"),
    ] {
        let report = allergy_check(reg, &AllergyRequest { drugs: vec![drug.into()], allergies: vec![allergy.into()] });
        if let Some(a) = report.alerts.into_iter().next() {
            cases.push(Case {
                id: format!("allergy:{}:{}", a.generic, a.kind.as_str()),
                facts: Facts {
                    detail: FindingDetail::Allergy {
                        allergy: a.allergy.clone(),
                        cross_reactivity_percent: a.rate_percent.map(|r| format!("{r}")),
                    },
                    drugs: vec![a.generic.clone()],
                    severity: Some(a.severity),
                    effects: vec![Effect::AllergicReaction],
                    mechanism_text: String::new(),
                    effect_text: a.note.clone(),
                    management_text: String::new(),
                    other_names: vec![],
                },
            });
        }
    }
    let mut halal = 0;
    for (_, g) in reg.generics() {
        if halal >= 8 {
            break;
        }
        let report = halal_check(reg, &HalalRequest::Drugs(vec![g.inn.clone()]), Preference::Warn, None);
        let Some(r) = report.results.into_iter().next() else { continue };
        let Some(concern) = r.concerns.first() else { continue };
        if !matches!(r.status, HalalStatus::NonHalal | HalalStatus::Doubtful) {
            continue;
        }
        halal += 1;
        cases.push(Case {
            id: format!("halal:{}:{}", g.inn, concern.ingredient),
            facts: Facts {
                detail: FindingDetail::Halal {
                    ingredient: concern.ingredient.clone(),
                    source: concern.source.clone(),
                    doubtful: r.status == HalalStatus::Doubtful,
                },
                drugs: vec![g.inn.clone()],
                severity: None,
                effects: vec![],
                mechanism_text: String::new(),
                effect_text: concern.reason.clone(),
                management_text: String::new(),
                other_names: r.alternatives.clone(),
            },
        });
    }
    cases
}

/// `n` cases spread evenly over `cases` (all of them when `n` is larger), in order, so that
/// a small sample keeps the set's mix of interactions, allergies and halal flags and is the
/// same sample on every run.
pub fn sample(cases: &[Case], n: usize) -> Vec<Case> {
    if n >= cases.len() {
        return cases.to_vec();
    }
    (0..n).map(|i| cases[i * cases.len() / n].clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_spreads_over_the_set_and_is_the_same_every_time() {
        let cases: Vec<Case> = (0..10)
            .map(|i| Case {
                id: i.to_string(),
                facts: Facts {
                    detail: FindingDetail::Counselling,
                    drugs: vec![],
                    severity: None,
                    effects: vec![],
                    mechanism_text: String::new(),
                    effect_text: String::new(),
                    management_text: String::new(),
                    other_names: vec![],
                },
            })
            .collect();
        let ids = |s: Vec<Case>| s.into_iter().map(|c| c.id).collect::<Vec<_>>().join(",");
        assert_eq!(ids(sample(&cases, 4)), "0,2,5,7");
        assert_eq!(ids(sample(&cases, 4)), ids(sample(&cases, 4)));
        assert_eq!(ids(sample(&cases, 20)).split(',').count(), 10);
        assert_eq!(ids(sample(&cases, 0)), "");
    }
}
