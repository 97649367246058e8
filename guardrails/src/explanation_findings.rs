//! The findings of a stored verification that can be explained, each with the vetted
//! [`ExplanationFacts`] an explanation of it may use.
//!
//! Both sides derive the facts the same way from the same `verify_prescription` result: the
//! explainer agent from what `rx_get` returned, the server from the verification it stored.
//! The server never takes the agent's facts on trust; it compares the hash of its own with
//! the one posted and guards the text against its own.
//!
//! Input is the JSON of the verification (the contract's `verify_prescription` output):
//! `ddi_alerts[]` (`drugs`, `severity`, `mechanism`, `effect`, `management`,
//! `alternatives`), `allergy_alerts[]` (`generic`, `allergy`, `severity`, `rate_percent`,
//! `note`), `halal_flags[]` (`generic`/`drug`/`product`, `status`, `concerns[]` with
//! `ingredient`, `source`, `reason`; `alternatives`), and `lines[]` (`line_no`, `generic`)
//! to place a finding on a prescription line. Fields that are missing or malformed make
//! that finding unexplainable (it is skipped), never a guessed fact.

use serde_json::Value;

use crate::explanation_guard::{Effect, ExplanationFacts, FindingDetail, Mechanism};
use rxgate_knowledge::Severity;

/// One finding that can be explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainableFinding {
    /// Stable within a verification: `ddi:amlodipine+clarithromycin`,
    /// `allergy:cefalexin:penicillin`, `halal:<drug>:<ingredient>`.
    pub key: String,
    /// The prescription line the finding is about, when one of its drugs is on a line.
    pub line_no: Option<u32>,
    pub facts: ExplanationFacts,
}

/// Every explainable finding of a verification result, in the result's order.
pub fn findings_from_verification(result: &Value) -> Vec<ExplainableFinding> {
    let lines: Vec<(u32, String)> = array(result, "lines")
        .iter()
        .filter_map(|l| {
            let no = l.get("line_no")?.as_u64()?;
            Some((u32::try_from(no).ok()?, l.get("generic")?.as_str()?.to_lowercase()))
        })
        .collect();
    let line_of = |drugs: &[String]| {
        drugs.iter().find_map(|d| lines.iter().find(|(_, g)| g == &d.to_lowercase()).map(|(n, _)| *n))
    };
    let mut out = Vec::new();
    for a in array(result, "ddi_alerts") {
        let Some(facts) = interaction_facts(a) else { continue };
        let mut names: Vec<String> = facts.drugs.iter().map(|d| d.to_lowercase()).collect();
        names.sort();
        out.push(ExplainableFinding { key: format!("ddi:{}", names.join("+")), line_no: line_of(&facts.drugs), facts });
    }
    for a in array(result, "allergy_alerts") {
        let Some(facts) = allergy_facts(a) else { continue };
        let FindingDetail::Allergy { allergy, .. } = &facts.detail else { continue };
        let key = format!("allergy:{}:{}", facts.drugs[0].to_lowercase(), allergy.to_lowercase());
        out.push(ExplainableFinding { key, line_no: line_of(&facts.drugs), facts });
    }
    for h in array(result, "halal_flags") {
        for facts in halal_facts(h) {
            let FindingDetail::Halal { ingredient, .. } = &facts.detail else { continue };
            let key = format!("halal:{}:{}", facts.drugs[0].to_lowercase(), ingredient.to_lowercase());
            if out.iter().any(|f: &ExplainableFinding| f.key == key) {
                continue;
            }
            out.push(ExplainableFinding { key, line_no: line_of(&facts.drugs), facts });
        }
    }
    out
}

fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").trim().to_string()
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    array(v, key).iter().filter_map(Value::as_str).map(str::to_string).collect()
}

fn severity(v: &Value) -> Option<Severity> {
    Severity::parse(v.get("severity")?.as_str()?)
}

/// An interaction alert's facts: the registry's sentences verbatim, plus the mechanism and
/// effects read from them in the closed shapes the templates can state.
pub(crate) fn interaction_facts(a: &Value) -> Option<ExplanationFacts> {
    let drugs = strings(a, "drugs");
    if drugs.len() != 2 {
        return None;
    }
    let mechanism_text = text(a, "mechanism");
    let effect_text = text(a, "effect");
    Some(ExplanationFacts {
        detail: FindingDetail::Interaction { mechanism: mechanism_in(&mechanism_text, &drugs) },
        effects: effects_in(&effect_text),
        severity: Some(severity(a)?),
        drugs,
        mechanism_text,
        effect_text,
        management_text: text(a, "management"),
        other_names: strings(a, "alternatives"),
    })
}

fn allergy_facts(a: &Value) -> Option<ExplanationFacts> {
    let generic = Some(text(a, "generic")).filter(|g| !g.is_empty()).unwrap_or_else(|| text(a, "drug"));
    let allergy = text(a, "allergy");
    if generic.is_empty() || allergy.is_empty() {
        return None;
    }
    let rate = a.get("rate_percent").and_then(Value::as_f64).map(format_number);
    Some(ExplanationFacts {
        detail: FindingDetail::Allergy { allergy, cross_reactivity_percent: rate },
        drugs: vec![generic],
        severity: Some(severity(a)?),
        effects: vec![Effect::AllergicReaction],
        mechanism_text: String::new(),
        effect_text: text(a, "note"),
        management_text: String::new(),
        other_names: vec![],
    })
}

fn halal_facts(h: &Value) -> Vec<ExplanationFacts> {
    let name = ["generic", "drug", "product"].iter().map(|k| text(h, k)).find(|n| !n.is_empty());
    let Some(name) = name else { return vec![] };
    let status = text(h, "status");
    if status != "non_halal" && status != "doubtful" {
        return vec![];
    }
    array(h, "concerns")
        .iter()
        .filter_map(|c| {
            let ingredient = text(c, "ingredient");
            if ingredient.is_empty() {
                return None;
            }
            let concern_status = Some(text(c, "status")).filter(|s| !s.is_empty()).unwrap_or_else(|| status.clone());
            Some(ExplanationFacts {
                detail: FindingDetail::Halal {
                    ingredient,
                    source: Some(text(c, "source")).filter(|s| !s.is_empty()).unwrap_or_else(|| "unknown".into()),
                    doubtful: concern_status == "doubtful",
                },
                drugs: vec![name.clone()],
                severity: None,
                effects: vec![],
                mechanism_text: String::new(),
                effect_text: text(c, "reason"),
                management_text: String::new(),
                other_names: strings(h, "alternatives"),
            })
        })
        .collect()
}

/// `2.0` → `"2"`, `0.5` → `"0.5"`: numbers as a person writes them, so that the text and the
/// facts agree.
fn format_number(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// Effects named in the registry's effect text, in a fixed order (at most three).
pub fn effects_in(text: &str) -> Vec<Effect> {
    let t = text.to_lowercase();
    let table: &[(&[&str], Effect)] = &[
        (&["hypotension", "blood pressure drop", "low blood pressure"], Effect::LowBloodPressure),
        (&["kidney", "renal", "nephrotox"], Effect::KidneyInjury),
        (&["myopathy", "rhabdo", "muscle"], Effect::MuscleDamage),
        (&["bleed", "haemorrhag", "hemorrhag"], Effect::Bleeding),
        (&["qt", "arrhythm", "torsade"], Effect::HeartRhythm),
        (&["serotonin"], Effect::SerotoninSyndrome),
        (&["hyperkal", "potassium"], Effect::HighPotassium),
        (&["hypoglyc"], Effect::LowBloodSugar),
        (&["sedation", "respiratory depression", "drowsi", "cns depression"], Effect::Drowsiness),
        (&["hypertensive", "hypertension"], Effect::HighBloodPressure),
        (&["bradycard", "heart block"], Effect::SlowHeartRate),
        (&["seizure", "convuls"], Effect::Seizures),
        (&["toxicity", "toxic"], Effect::Toxicity),
        (
            &["reduced effect", "loss of", "failure", "less effective", "reduced exposure", "lower exposure"],
            Effect::ReducedEffect,
        ),
    ];
    let mut out: Vec<Effect> =
        table.iter().filter(|(keys, _)| keys.iter().any(|k| t.contains(k))).map(|(_, e)| *e).collect();
    out.truncate(3);
    out
}

/// The enzyme or transporter a mechanism text names, as written (`CYP3A4`, `P-gp`).
fn pathway_in(text: &str) -> Option<String> {
    for word in text.split(|c: char| !(c.is_alphanumeric() || c == '-')) {
        let lower = word.to_lowercase();
        if (lower.starts_with("cyp") && lower.len() > 3) || lower == "p-gp" || lower.starts_with("oatp") {
            return Some(word.to_string());
        }
    }
    None
}

/// A mechanism the templates can state, read from the registry's mechanism text; `None`
/// when the text is not one of these shapes (the pharmacist template then quotes it).
pub fn mechanism_in(text: &str, drugs: &[String]) -> Option<Mechanism> {
    let t = text.to_lowercase();
    if let Some(pathway) = pathway_in(text) {
        let verb_at = t.find("inhibit").map(|i| (i, true)).or_else(|| t.find("induc").map(|i| (i, false)));
        if let Some((at, inhibits)) = verb_at
            && drugs.len() == 2
        {
            // The actor is the drug named before the verb; the other drug is affected.
            let before = &t[..at];
            let actor_index = drugs.iter().position(|d| before.contains(&d.to_lowercase()))?;
            let actor = drugs[actor_index].clone();
            let object = drugs[1 - actor_index].clone();
            return Some(if inhibits {
                Mechanism::Inhibition { actor, pathway, object }
            } else {
                Mechanism::Induction { actor, pathway, object }
            });
        }
        return None;
    }
    let additive: &[(&[&str], Effect)] = &[
        (&["qt"], Effect::HeartRhythm),
        (&["serotonin"], Effect::SerotoninSyndrome),
        (&["bleed", "anticoagul", "platelet"], Effect::Bleeding),
        (&["potassium"], Effect::HighPotassium),
        (&["sedat", "cns depress", "respiratory depress"], Effect::Drowsiness),
        (&["bradycard", "av node", "heart rate"], Effect::SlowHeartRate),
        (&["hypotens", "blood pressure"], Effect::LowBloodPressure),
    ];
    additive
        .iter()
        .find(|(keys, _)| keys.iter().any(|k| t.contains(k)))
        .map(|(_, e)| Mechanism::Additive { effect: *e })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The shape `verify_prescription` returns for amlodipine (line 1) with clarithromycin
    /// (line 2), a cefalexin line for a penicillin-allergic patient, and a gelatin capsule.
    fn verification() -> Value {
        json!({
            "ddi_alerts": [{
                "drugs": ["clarithromycin", "amlodipine"], "severity": "major",
                "mechanism": "Clarithromycin strongly inhibits CYP3A4, the main clearance route of amlodipine.",
                "effect": "Higher amlodipine exposure: hypotension and acute kidney injury in older adults.",
                "management": "Prefer azithromycin.", "alternatives": ["azithromycin"], "sources": ["x"]
            }],
            "allergy_alerts": [{"drug": "Keflex", "generic": "cefalexin", "allergy": "penicillin",
                                "kind": "cross_reactive", "severity": "moderate", "rate_percent": 2.0,
                                "note": "First-generation cephalosporin.", "sources": []}],
            "halal_flags": [{"generic": "omeprazole", "status": "doubtful",
                             "concerns": [{"ingredient": "gelatin", "source": "unknown", "status": "doubtful",
                                           "reason": "Capsule shell gelatin of unstated origin."}],
                             "alternatives": []},
                            {"generic": "paracetamol", "status": "halal", "concerns": []}],
            "dose_warnings": [], "generic_suggestions": [], "highest_severity": "major", "blocking": true,
            "lines": [{"line_no": 1, "generic": "amlodipine"}, {"line_no": 2, "generic": "clarithromycin"},
                      {"line_no": 3, "generic": "cefalexin"}, {"line_no": 4, "generic": "omeprazole"}],
            "unknown": []
        })
    }

    #[test]
    fn a_verification_gives_one_finding_per_alert_with_facts_from_the_alert() {
        let found = findings_from_verification(&verification());
        let keys: Vec<(&str, Option<u32>)> = found.iter().map(|f| (f.key.as_str(), f.line_no)).collect();
        assert_eq!(
            keys,
            [
                ("ddi:amlodipine+clarithromycin", Some(2)),
                ("allergy:cefalexin:penicillin", Some(3)),
                ("halal:omeprazole:gelatin", Some(4)),
            ]
        );
        let ddi = &found[0].facts;
        assert_eq!(
            ddi.detail,
            FindingDetail::Interaction {
                mechanism: Some(Mechanism::Inhibition {
                    actor: "clarithromycin".into(),
                    pathway: "CYP3A4".into(),
                    object: "amlodipine".into()
                })
            }
        );
        assert_eq!(ddi.effects, [Effect::LowBloodPressure, Effect::KidneyInjury]);
        assert_eq!(ddi.severity, Some(Severity::Major));
        assert_eq!(
            found[1].facts.detail,
            FindingDetail::Allergy { allergy: "penicillin".into(), cross_reactivity_percent: Some("2".into()) }
        );
        assert_eq!(
            found[2].facts.detail,
            FindingDetail::Halal { ingredient: "gelatin".into(), source: "unknown".into(), doubtful: true }
        );
    }

    #[test]
    fn the_same_verification_gives_the_same_facts_hash() {
        let a = findings_from_verification(&verification());
        let b = findings_from_verification(&verification());
        assert_eq!(a[0].facts.hash(), b[0].facts.hash());
        let mut changed = verification();
        changed["ddi_alerts"][0]["severity"] = json!("moderate");
        assert_ne!(findings_from_verification(&changed)[0].facts.hash(), a[0].facts.hash());
    }

    #[test]
    fn an_alert_without_a_severity_or_drugs_is_not_explained() {
        let mut v = verification();
        v["ddi_alerts"][0]["severity"] = json!("unheard-of");
        v["allergy_alerts"][0]["allergy"] = json!("");
        let found = findings_from_verification(&v);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(findings_from_verification(&json!({"ddi_alerts": "nonsense"})).is_empty());
    }
}
