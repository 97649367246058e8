//! `rxgate-explainer faithfulness`: the local model over a sample of the labelled set
//! ([`rxgate_models::labelled_set`]), every output through the explanation guard, the
//! faithful rate per language as JSON on stdout. `rxgate eval` runs it for its explanation
//! quality section: the `rxgate` binary links no model, this one does.
//!
//! The guard decides what is faithful; this module only counts. It also looks at every
//! accepted text for a digit or a registry drug name that appears nowhere in the facts or
//! the template — something the guard must never let through — and lists any it finds as
//! `guard_escapes`, which `rxgate eval` treats as a failure.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use rxgate_models::labelled_set::Case;
use rxgate_models::{
    Audience, DrugLexicon, ExplainRequest, Explainer, Facts, FindingDetail, Language, Mechanism, PromptVersion, Source,
    check_explanation, render_template,
};
use serde_json::{Value, json};

/// What to measure.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Findings of the labelled set the sample was drawn from (for the report).
    pub labelled_set: usize,
    /// The model per language, with its prompt version; a language without one is reported
    /// as not measured.
    pub languages: Vec<(Language, PromptVersion)>,
    /// Stop starting model calls after this long; the figures are then over what ran, and
    /// say so.
    pub time_budget: Duration,
    pub max_tokens: u32,
    /// Decoding threads (reported: speed depends on them, and greedy output may too).
    pub threads: i32,
}

/// One language's tally.
#[derive(Debug, Default)]
struct Tally {
    explained: u32,
    faithful: u32,
    /// Accepted by the guard with the template as reference (the agent's check) and again
    /// without it (the server's check): what would reach the console.
    server_accepted: u32,
    generated_tokens: u64,
    seconds: f64,
    /// Rejected texts per kind of reason (a text may count under several kinds).
    rejections: BTreeMap<String, u32>,
    escapes: Vec<Value>,
}

/// The audience of the `i`-th sampled finding: alternating, so both prompt kinds are in the
/// sample at half the cost of asking both for every finding.
fn audience_of(i: usize) -> Audience {
    if i.is_multiple_of(2) { Audience::Pharmacist } else { Audience::Patient }
}

/// The kind of a guard reason or generation error (`word not in the facts…: "x"` → the part
/// before the colon), for counting.
fn reason_kind(reason: &str) -> String {
    reason.split(':').next().unwrap_or(reason).trim().to_string()
}

/// Runs `explainers` (one per language in the plan) over `sample` and returns the report
/// JSON. `drug_names` are the registry's names (generic, synonym, brand), for the escape
/// check.
pub fn measure(
    explainers: &BTreeMap<Language, &dyn Explainer>,
    model: &str,
    sample: &[Case],
    plan: &Plan,
    lexicon: &DrugLexicon,
    drug_names: &BTreeSet<String>,
) -> Value {
    let started = Instant::now();
    let mut tallies: BTreeMap<Language, Tally> = BTreeMap::new();
    let mut stopped_early = false;
    'cases: for (i, case) in sample.iter().enumerate() {
        let audience = audience_of(i);
        // Languages interleaved per finding, so a time budget cuts them alike.
        for &(language, prompt_version) in &plan.languages {
            let Some(explainer) = explainers.get(&language) else { continue };
            if started.elapsed() >= plan.time_budget {
                stopped_early = true;
                break 'cases;
            }
            let request = ExplainRequest { facts: case.facts.clone(), language, audience, prompt_version };
            let call = Instant::now();
            let e = explainer.explain_capped(&request, plan.max_tokens);
            let tally = tallies.entry(language).or_default();
            tally.seconds += call.elapsed().as_secs_f64();
            tally.explained += 1;
            tally.generated_tokens += u64::from(e.meta.generated_tokens);
            // Texts per kind of reason: the guard names every unknown word separately.
            let kinds: BTreeSet<String> = e.meta.fallback_reasons.iter().map(|r| reason_kind(r)).collect();
            for kind in kinds {
                *tally.rejections.entry(kind).or_default() += 1;
            }
            if e.meta.source != Source::Llm {
                continue;
            }
            tally.faithful += 1;
            if check_explanation(&e.body, &case.facts, "", language, lexicon).is_accepted() {
                tally.server_accepted += 1;
            }
            let template = render_template(&case.facts, language, audience);
            let absent = absent_from_facts(&e.body, &case.facts, &template.body, drug_names);
            if !absent.is_empty() {
                tally.escapes.push(json!({
                    "case": case.id, "language": language.as_str(), "audience": audience.as_str(),
                    "text": e.body, "not_in_facts": absent,
                }));
            }
        }
    }
    let languages: Vec<Value> = plan
        .languages
        .iter()
        .map(|&(language, prompt_version)| {
            let t = tallies.remove(&language).unwrap_or_default();
            json!({
                "language": language.as_str(),
                "prompt_version": prompt_version.as_str(),
                "explained": t.explained,
                "faithful": t.faithful,
                "rate": (t.explained > 0).then(|| f64::from(t.faithful) / f64::from(t.explained)),
                "server_accepted": t.server_accepted,
                "generated_tokens": t.generated_tokens,
                "seconds": t.seconds,
                "rejections": t.rejections,
                "guard_escapes": t.escapes,
            })
        })
        .collect();
    json!({
        "status": "measured",
        "model": model,
        "labelled_set": plan.labelled_set,
        "sample": sample.len(),
        "audiences": "alternating pharmacist, patient",
        "max_tokens": plan.max_tokens,
        "threads": plan.threads,
        "time_budget_seconds": plan.time_budget.as_secs(),
        "stopped_early": stopped_early,
        "seconds": started.elapsed().as_secs_f64(),
        "languages": languages,
    })
}

/// The report when nothing could be measured, and why.
pub fn skipped(reason: &str) -> Value {
    json!({"status": "skipped", "reason": reason})
}

/// Digit runs and registry drug names in `text` that appear nowhere in the facts or the
/// template: a second look, independent of the guard's own tokenising, at the two things an
/// accepted text must never invent. Malay spellings of drug names are not registry names
/// and are left to the guard.
pub fn absent_from_facts(text: &str, facts: &Facts, template: &str, drug_names: &BTreeSet<String>) -> Vec<String> {
    let mut known = String::new();
    for part in facts_texts(facts).iter().map(String::as_str).chain([template]) {
        known.push_str(&part.to_lowercase());
        known.push('\n');
    }
    let mut known_digits: BTreeSet<String> = digit_runs(&known).into_iter().collect();
    // "The 2 medicines": the number of drugs is a fact.
    known_digits.insert(facts.drugs.len().to_string());
    let lowered = text.to_lowercase();
    let mut absent: Vec<String> = digit_runs(&lowered).into_iter().filter(|d| !known_digits.contains(d)).collect();
    let words: BTreeSet<&str> =
        lowered.split(|c: char| !(c.is_alphanumeric() || c == '-')).filter(|w| !w.is_empty()).collect();
    for name in drug_names {
        let named = if name.contains(' ') { lowered.contains(name.as_str()) } else { words.contains(name.as_str()) };
        if named && !known.contains(name.as_str()) {
            absent.push(name.clone());
        }
    }
    absent.sort();
    absent.dedup();
    absent
}

fn digit_runs(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_digit()).filter(|d| !d.is_empty()).map(str::to_string).collect()
}

/// Every text of the facts (the guard's own list is private to it).
fn facts_texts(facts: &Facts) -> Vec<String> {
    let mut out: Vec<String> = facts.drugs.iter().chain(&facts.other_names).cloned().collect();
    out.extend([facts.mechanism_text.clone(), facts.effect_text.clone(), facts.management_text.clone()]);
    match &facts.detail {
        FindingDetail::Interaction {
            mechanism:
                Some(Mechanism::Inhibition { actor, pathway, object } | Mechanism::Induction { actor, pathway, object }),
        } => out.extend([actor.clone(), pathway.clone(), object.clone()]),
        FindingDetail::Interaction { .. } => {}
        FindingDetail::Allergy { allergy, cross_reactivity_percent } => {
            out.push(allergy.clone());
            out.extend(cross_reactivity_percent.clone());
        }
        FindingDetail::Dose { prescribed, limit, .. } => {
            out.extend([prescribed.value.clone(), prescribed.unit.clone(), limit.value.clone(), limit.unit.clone()]);
        }
        FindingDetail::Halal { ingredient, source, .. } => out.extend([ingredient.clone(), source.clone()]),
        FindingDetail::Counselling => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use rxgate_models::{Effect, Explanation, Severity, TemplateExplainer};

    use super::*;

    fn interaction() -> Facts {
        Facts {
            detail: FindingDetail::Interaction { mechanism: None },
            drugs: vec!["clarithromycin".into(), "amlodipine".into()],
            severity: Some(Severity::Major),
            effects: vec![Effect::LowBloodPressure],
            mechanism_text: "Clarithromycin inhibits CYP3A4, raising amlodipine levels.".into(),
            effect_text: "Hypotension.".into(),
            management_text: "Use azithromycin.".into(),
            other_names: vec!["azithromycin".into()],
        }
    }

    fn names() -> BTreeSet<String> {
        ["clarithromycin", "amlodipine", "azithromycin", "simvastatin", "mefenamic acid"]
            .map(String::from)
            .into_iter()
            .collect()
    }

    #[test]
    fn a_digit_or_a_drug_that_is_not_in_the_facts_is_found_and_facts_are_not() {
        let facts = interaction();
        let check = |text: &str| absent_from_facts(text, &facts, "", &names());
        assert!(
            check("Clarithromycin slows CYP3A4, so amlodipine levels rise; azithromycin is another choice.").is_empty()
        );
        assert!(check("The 2 medicines together lower blood pressure.").is_empty(), "the number of drugs is a fact");
        assert_eq!(check("Keep amlodipine at 2.5 mg."), ["5"], "2 is the number of drugs, 5 is invented");
        assert_eq!(check("Clarithromycin raises simvastatin levels."), ["simvastatin"]);
        assert_eq!(check("Like mefenamic acid, it lowers blood pressure."), ["mefenamic acid"]);
    }

    /// Answers like a guarded model: model text for the pharmacist, the template (rejected
    /// model text) for the patient, and one accepted text with an invented number in Malay.
    struct Fake;

    impl Explainer for Fake {
        fn explain(&self, request: &ExplainRequest) -> Explanation {
            let mut e = TemplateExplainer.explain(request);
            e.meta.generated_tokens = 30;
            if request.audience == Audience::Pharmacist {
                e.meta.source = Source::Llm;
                if request.language == Language::Ms {
                    e.body = "Klaritromisin dan amlodipin: 40 kali.".into();
                }
            } else {
                e.meta.fallback_reasons =
                    vec!["word not in the facts, the template or the plain-language list: \"x\"".into()];
            }
            e
        }

        fn describe(&self) -> String {
            "fake".into()
        }
    }

    #[test]
    fn rates_count_what_the_guard_accepted_per_language_and_list_escapes() {
        let case = Case { id: "ddi:test".into(), facts: interaction() };
        let sample = vec![case.clone(), case.clone(), case];
        let plan = Plan {
            labelled_set: 58,
            languages: vec![(Language::En, PromptVersion::DEFAULT), (Language::Ms, PromptVersion::DEFAULT)],
            time_budget: Duration::from_secs(60),
            max_tokens: 80,
            threads: 1,
        };
        let fake = Fake;
        let explainers: BTreeMap<Language, &dyn Explainer> =
            [(Language::En, &fake as &dyn Explainer), (Language::Ms, &fake as &dyn Explainer)].into_iter().collect();
        let report = measure(&explainers, "fake", &sample, &plan, &DrugLexicon::default(), &names());
        assert_eq!(report["status"], "measured");
        assert_eq!((report["sample"].as_u64(), report["labelled_set"].as_u64()), (Some(3), Some(58)));
        let en = &report["languages"][0];
        // Findings 0 and 2 went to the pharmacist, 1 to the patient.
        assert_eq!((en["explained"].as_u64(), en["faithful"].as_u64()), (Some(3), Some(2)), "{en}");
        assert_eq!(en["rejections"]["word not in the facts, the template or the plain-language list"], 1);
        assert_eq!(en["guard_escapes"], json!([]));
        let ms = &report["languages"][1];
        assert_eq!(ms["guard_escapes"].as_array().unwrap().len(), 2, "{ms}");
        assert_eq!(ms["guard_escapes"][0]["not_in_facts"], json!(["40"]));
        assert_eq!(report["stopped_early"], false);

        let none = Plan { time_budget: Duration::ZERO, ..plan };
        let report = measure(&explainers, "fake", &sample, &none, &DrugLexicon::default(), &names());
        assert_eq!(
            (report["stopped_early"].as_bool(), report["languages"][0]["explained"].as_u64()),
            (Some(true), Some(0))
        );
        assert_eq!(report["languages"][0]["rate"], Value::Null, "no rate without a measurement");
    }
}
