//! Whole-prescription review: what a pharmacist would do, implied by the tools' findings.
//!
//! The decision rule, from the most to the least severe (the prescription takes the most
//! severe action any finding implies):
//!
//! | finding | action |
//! |---|---|
//! | a contraindicated interaction, or dose verdict `contraindicated` | `substitute` when the tool names an alternative, else `cancel` |
//! | an allergy to the drug itself or its class (`same_drug`, `same_class`) at major or above, or any contraindicated allergy alert | `cancel` |
//! | a halal finding that blocks under the patient's preference | `substitute` with a halal product when one is named, else `hold` |
//! | an interruptive major interaction, a major cross-reactivity or excipient allergy, a dose verdict `overdose`, `underdose` or `adjust` | `hold` (review with the prescriber) |
//! | an input a tool did not recognise | `hold` (not checked is never clean) |
//! | nothing above | `dispense` |
//!
//! Moderate and minor findings, and non-blocking halal disclosures, are counselling points:
//! they do not stop dispensing.

use serde_json::Value;

use crate::suite::{Action, Severity};

/// The tools' answers for one prescription (`structuredContent` of each call).
#[derive(Debug, Default, Clone)]
pub struct RxFindings {
    /// `ddi_check` over every line and the active medications.
    pub ddi: Option<Value>,
    /// `allergy_check`, when the patient has recorded allergies.
    pub allergy: Option<Value>,
    /// `halal_filter`, when the patient has a halal preference.
    pub halal: Option<Value>,
    /// `dose_calc`, one per line, when the tool is served.
    pub doses: Vec<Value>,
}

fn arr(v: &Value) -> &[Value] {
    v.as_array().map(|a| a.as_slice()).unwrap_or_default()
}

fn sev(v: &Value) -> Option<Severity> {
    v.as_str().and_then(Severity::parse)
}

/// The action implied by the findings, with the reasons that led to it.
pub fn decide(f: &RxFindings) -> (Action, Vec<String>) {
    let mut action = Action::Dispense;
    let mut reasons = Vec::new();
    let mut raise = |a: Action, why: String| {
        action = action.max(a);
        reasons.push(format!("{a}: {why}"));
    };
    for out in [&f.ddi, &f.allergy, &f.halal].into_iter().flatten().chain(&f.doses) {
        let unknown: Vec<&str> = arr(&out["unknown"]).iter().filter_map(Value::as_str).collect();
        if !unknown.is_empty() {
            raise(Action::Hold, format!("not checked: {}", unknown.join(", ")));
        }
    }
    if let Some(ddi) = &f.ddi {
        for i in arr(&ddi["interactions"]) {
            let pair = arr(&i["drugs"]).iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" + ");
            match sev(&i["severity"]) {
                Some(Severity::Contraindicated) if !arr(&i["alternatives"]).is_empty() => {
                    raise(Action::Substitute, format!("{pair} contraindicated; alternatives named"))
                }
                Some(Severity::Contraindicated) => raise(Action::Cancel, format!("{pair} contraindicated")),
                Some(Severity::Major) if i["interruptive"].as_bool().unwrap_or(true) => {
                    raise(Action::Hold, format!("{pair} major"))
                }
                _ => {}
            }
        }
    }
    if let Some(allergy) = &f.allergy {
        for a in arr(&allergy["alerts"]) {
            let what =
                format!("{} / allergy {}", a["generic"].as_str().unwrap_or("?"), a["allergy"].as_str().unwrap_or("?"));
            let kind = a["kind"].as_str().unwrap_or_default();
            match sev(&a["severity"]) {
                Some(Severity::Contraindicated) => raise(Action::Cancel, format!("{what} contraindicated")),
                Some(Severity::Major) if matches!(kind, "same_drug" | "same_class") => {
                    raise(Action::Cancel, format!("{what} ({kind})"))
                }
                Some(Severity::Major) => raise(Action::Hold, format!("{what} ({kind})")),
                _ => {}
            }
        }
    }
    if let Some(halal) = &f.halal {
        for r in arr(&halal["results"]) {
            if r["blocking"].as_bool().unwrap_or(false) {
                let what = r["drug"].as_str().or(r["product"].as_str()).unwrap_or("?").to_string();
                if arr(&r["alternatives"]).is_empty() {
                    raise(Action::Hold, format!("{what} not halal, no halal alternative named"))
                } else {
                    raise(Action::Substitute, format!("{what} not halal; halal alternative named"))
                }
            }
        }
    }
    for d in &f.doses {
        let verdict = d["verdict"].as_str().unwrap_or_default();
        match verdict {
            "contraindicated" => {
                let alternatives = arr(&d["alternatives"]);
                let a = if alternatives.is_empty() { Action::Cancel } else { Action::Substitute };
                raise(a, "dose verdict contraindicated".to_string())
            }
            "overdose" | "underdose" | "adjust" => raise(Action::Hold, format!("dose verdict {verdict}")),
            _ => {}
        }
    }
    (action, reasons)
}

/// The action implied by a `verify_prescription` result, when the server has that tool:
/// the same rule, applied to its `ddi_alerts`, `allergy_alerts`, `halal_flags` and
/// `dose_warnings[].result` (the individual tools' shapes). A result the server marks
/// `blocking` is never dispensed.
pub fn decide_from_verify(v: &Value) -> (Action, Vec<String>) {
    let unknown = v.get("unknown").cloned().unwrap_or(Value::Array(vec![]));
    let findings = RxFindings {
        ddi: Some(serde_json::json!({"interactions": v["ddi_alerts"], "unknown": unknown})),
        allergy: Some(serde_json::json!({"alerts": v["allergy_alerts"]})),
        halal: Some(serde_json::json!({"results": v["halal_flags"]})),
        doses: arr(&v["dose_warnings"]).iter().map(|w| w.get("result").cloned().unwrap_or_else(|| w.clone())).collect(),
    };
    let (mut action, mut reasons) = decide(&findings);
    if v["blocking"].as_bool().unwrap_or(false) && action == Action::Dispense {
        action = Action::Hold;
        reasons.push("hold: verify_prescription marks the prescription blocking".to_string());
    }
    (action, reasons)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_clean_prescription_is_dispensed() {
        let f = RxFindings {
            ddi: Some(
                json!({"interactions": [{"drugs": ["a", "b"], "severity": "minor", "interruptive": false}], "unknown": []}),
            ),
            ..Default::default()
        };
        assert_eq!(decide(&f).0, Action::Dispense);
    }

    #[test]
    fn contraindicated_with_an_alternative_is_substituted_without_one_cancelled() {
        let with = RxFindings {
            ddi: Some(
                json!({"interactions": [{"drugs": ["simvastatin", "clarithromycin"], "severity": "contraindicated", "alternatives": ["azithromycin"]}], "unknown": []}),
            ),
            ..Default::default()
        };
        assert_eq!(decide(&with).0, Action::Substitute);
        let without = RxFindings {
            ddi: Some(
                json!({"interactions": [{"drugs": ["a", "b"], "severity": "contraindicated", "alternatives": []}], "unknown": []}),
            ),
            ..Default::default()
        };
        assert_eq!(decide(&without).0, Action::Cancel);
    }

    #[test]
    fn a_class_allergy_cancels_and_a_major_interaction_holds() {
        let f = RxFindings {
            ddi: Some(
                json!({"interactions": [{"drugs": ["warfarin", "ibuprofen"], "severity": "major", "interruptive": true}], "unknown": []}),
            ),
            allergy: Some(
                json!({"alerts": [{"generic": "amoxicillin", "allergy": "penicillin", "kind": "same_class", "severity": "major"}], "unknown": []}),
            ),
            ..Default::default()
        };
        let (a, reasons) = decide(&f);
        assert_eq!(a, Action::Cancel);
        assert_eq!(reasons.len(), 2);
    }

    #[test]
    fn a_blocking_halal_finding_substitutes_and_an_unknown_drug_holds() {
        let f = RxFindings {
            halal: Some(json!({"results": [{"drug": "X", "blocking": true, "alternatives": ["Y"]}], "unknown": []})),
            ..Default::default()
        };
        assert_eq!(decide(&f).0, Action::Substitute);
        let f = RxFindings { ddi: Some(json!({"interactions": [], "unknown": ["zzqx"]})), ..Default::default() };
        assert_eq!(decide(&f).0, Action::Hold);
    }

    #[test]
    fn verify_prescription_results_follow_the_same_rule() {
        let v = json!({"blocking": true, "ddi_alerts": [], "halal_flags": [], "dose_warnings": [],
            "allergy_alerts": [{"generic": "amoxicillin", "allergy": "penicillin", "kind": "same_class", "severity": "major"}], "unknown": []});
        assert_eq!(decide_from_verify(&v).0, Action::Cancel);
        let v = json!({"blocking": true, "ddi_alerts": [], "allergy_alerts": [], "halal_flags": [], "dose_warnings": [], "unknown": []});
        assert_eq!(decide_from_verify(&v).0, Action::Hold);
    }

    #[test]
    fn an_overdose_holds() {
        let f = RxFindings { doses: vec![json!({"verdict": "overdose", "unknown": []})], ..Default::default() };
        assert_eq!(decide(&f).0, Action::Hold);
    }
}
