//! Judging one tool result against one case. Pure: the same result always gets the same
//! verdict, so this file is tested with hand-made results (see the tests at the bottom).
//!
//! Vocabulary, after screening tests: a case that *should alert* is a positive; it is
//! `Caught` or `Missed`. A case that must not interrupt is a negative; it is a
//! `CorrectSilence` or a `FalseAlert`. An input the server did not recognise is never a
//! pass: on a positive it is a miss, on a negative it is `NotChecked`.

use serde::Serialize;
use serde_json::Value;

use crate::suite::{Case, Mode, Severity};

/// What came back from `tools/call`.
#[derive(Debug, Clone)]
pub enum ToolResult {
    /// `structuredContent` of a successful call.
    Ok(Value),
    /// `isError: true`, with the text the server gave.
    ToolError(String),
}

/// The outcome of one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// A positive case the system caught as expected.
    Caught,
    /// A positive case the system did not catch as expected. `unsafe_miss` is true when the
    /// system's answer would let the order through without interrupting.
    Missed {
        /// The order would have gone through.
        unsafe_miss: bool,
    },
    /// A negative case with no interrupting alert.
    CorrectSilence,
    /// A negative case that interrupted.
    FalseAlert,
    /// A negative case the system could not check (unknown input, tool error).
    NotChecked,
}

impl Outcome {
    /// Passed cases count towards `N passed`.
    pub fn passed(self) -> bool {
        matches!(self, Outcome::Caught | Outcome::CorrectSilence)
    }
}

/// A judged case: the outcome, what was observed, and why it failed (if it did).
#[derive(Debug, Clone, Serialize)]
pub struct Judgement {
    /// The outcome.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// The system's answer in one line.
    pub observed: String,
    /// Why the case failed, for the report; empty when it passed.
    pub detail: String,
}

impl Judgement {
    fn new(outcome: Outcome, observed: String, detail: impl Into<String>) -> Judgement {
        Judgement { outcome, observed, detail: detail.into() }
    }
}

/// Judges `result` of `tool` for `case`.
pub fn judge(tool: &str, mode: Mode, case: &Case, result: &ToolResult) -> Judgement {
    let positive = case.should_alert(mode);
    let value = match result {
        ToolResult::Ok(v) => v,
        ToolResult::ToolError(message) => {
            let observed = format!("tool error: {message}");
            return if positive {
                Judgement::new(Outcome::Missed { unsafe_miss: true }, observed, "the tool returned an error")
            } else {
                Judgement::new(Outcome::NotChecked, observed, "the tool returned an error")
            };
        }
    };
    // `dose_calc` lists the patient fields it would have used but did not get
    // (`patient.height_cm`) in `unknown`; its verdict still stands. Any other unknown
    // input (a drug, an allergy, a unit) means the case was not checked.
    let unknown: Vec<String> = strings(&value["unknown"])
        .into_iter()
        .filter(|u| !(tool == "dose_calc" && u.starts_with("patient.")))
        .collect();
    if !unknown.is_empty() {
        let observed = format!("not checked: unknown {}", unknown.join(", "));
        return if positive {
            Judgement::new(Outcome::Missed { unsafe_miss: true }, observed, "input not recognised, so not checked")
        } else {
            Judgement::new(Outcome::NotChecked, observed, "input not recognised, so not checked")
        };
    }
    match tool {
        "ddi_check" => judge_ddi(case, positive, value),
        "allergy_check" => judge_allergy(case, positive, value),
        "halal_filter" => judge_halal(case, positive, value),
        "barcode_verify" => judge_barcode(case, positive, value),
        "dose_calc" => judge_dose(case, positive, value),
        "regimen_eval" => judge_regimen(case, positive, value),
        other => Judgement::new(
            if positive { Outcome::Missed { unsafe_miss: true } } else { Outcome::NotChecked },
            String::new(),
            format!("no judge for tool `{other}`"),
        ),
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

fn severity(v: &Value) -> Option<Severity> {
    v.as_str().and_then(Severity::parse)
}

fn same_set(a: &[String], b: &[String]) -> bool {
    let norm = |v: &[String]| {
        let mut v: Vec<String> = v.iter().map(|s| s.trim().to_lowercase()).collect();
        v.sort();
        v
    };
    norm(a) == norm(b)
}

/// One finding of `ddi_check` or `allergy_check`, reduced to what judging needs.
struct Finding {
    label: String,
    severity: Severity,
    kind: String,
    interruptive: bool,
}

fn describe(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "no finding".to_string();
    }
    findings
        .iter()
        .map(|f| {
            let quiet = if f.interruptive { "" } else { ", non-interruptive" };
            format!("{} {} ({}{quiet})", f.label, f.severity.as_str(), f.kind)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn judge_positive_findings(case: &Case, relevant: &[Finding], all: &[Finding]) -> Judgement {
    let e = &case.expect;
    let min = e.min_severity.unwrap_or(Severity::Moderate);
    let kind_ok = |f: &Finding| e.kind.is_empty() || e.kind.iter().any(|k| k == &f.kind);
    let best = relevant.iter().filter(|f| kind_ok(f)).map(|f| f.severity).max();
    let observed = describe(all);
    let interrupts = relevant.iter().any(|f| f.severity >= Severity::Major);
    match best {
        Some(s) if s >= min && e.max_severity.is_none_or(|max| s <= max) => {
            Judgement::new(Outcome::Caught, observed, "")
        }
        Some(s) if s < min => Judgement::new(
            Outcome::Missed { unsafe_miss: !interrupts },
            observed,
            format!("found at {} but at least {} was expected", s.as_str(), min.as_str()),
        ),
        Some(s) => Judgement::new(
            Outcome::Missed { unsafe_miss: false },
            observed,
            format!(
                "over-alerted: {} where at most {} is warranted",
                s.as_str(),
                e.max_severity.map_or("?", Severity::as_str)
            ),
        ),
        None => {
            let what = if e.kind.is_empty() { String::new() } else { format!(" of kind {}", e.kind.join("/")) };
            Judgement::new(
                Outcome::Missed { unsafe_miss: !interrupts },
                observed,
                format!("no finding{what} for this order (expected at least {})", min.as_str()),
            )
        }
    }
}

/// A negative case passes when nothing interrupts: no finding above `max_severity`
/// (default `moderate`), and no finding the server itself marks interruptive at moderate
/// or above. With `alert = false` and no `max_severity` on an allergy case, any alert is
/// a false alert.
fn judge_negative_findings(max: Severity, all: &[Finding]) -> Judgement {
    let observed = describe(all);
    let interrupting: Vec<&Finding> = all
        .iter()
        .filter(|f| f.severity > max || (f.interruptive && f.severity >= Severity::Moderate && max < Severity::Major))
        .collect();
    if interrupting.is_empty() {
        Judgement::new(Outcome::CorrectSilence, observed, "")
    } else {
        let first = interrupting[0];
        Judgement::new(
            Outcome::FalseAlert,
            observed,
            format!(
                "interrupts: {} {} (allowed: at most {}, non-interruptive)",
                first.label,
                first.severity.as_str(),
                max.as_str()
            ),
        )
    }
}

fn judge_ddi(case: &Case, positive: bool, value: &Value) -> Judgement {
    let all: Vec<Finding> = value["interactions"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .filter_map(|i| {
            Some(Finding {
                label: strings(&i["drugs"]).join(" + "),
                severity: severity(&i["severity"])?,
                kind: i["kind"].as_str().unwrap_or_default().to_string(),
                // Absent means the server does not grade interruption: assume it interrupts.
                interruptive: i["interruptive"].as_bool().unwrap_or(true),
            })
        })
        .collect();
    if !positive {
        return judge_negative_findings(case.expect.max_severity.unwrap_or(Severity::Moderate), &all);
    }
    let pair = &case.expect.pair;
    let relevant: Vec<Finding> = value["interactions"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .zip(&all)
        .filter(|(i, _)| pair.is_empty() || same_set(&strings(&i["drugs"]), pair))
        .map(|(_, f)| Finding {
            label: f.label.clone(),
            severity: f.severity,
            kind: f.kind.clone(),
            interruptive: f.interruptive,
        })
        .collect();
    judge_positive_findings(case, &relevant, &all)
}

fn judge_allergy(case: &Case, positive: bool, value: &Value) -> Judgement {
    let all: Vec<Finding> = value["alerts"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .filter_map(|a| {
            Some(Finding {
                label: format!(
                    "{} / allergy {}",
                    a["generic"].as_str().or(a["drug"].as_str()).unwrap_or("?"),
                    a["allergy"].as_str().unwrap_or("?")
                ),
                severity: severity(&a["severity"])?,
                kind: a["kind"].as_str().unwrap_or_default().to_string(),
                interruptive: true,
            })
        })
        .collect();
    if positive {
        judge_positive_findings(case, &all, &all)
    } else {
        match case.expect.max_severity {
            Some(max) => judge_negative_findings(max, &all),
            None if all.is_empty() => Judgement::new(Outcome::CorrectSilence, describe(&all), ""),
            None => Judgement::new(Outcome::FalseAlert, describe(&all), "an alert where none is warranted"),
        }
    }
}

fn judge_halal(case: &Case, positive: bool, value: &Value) -> Judgement {
    let Some(first) = value["results"].get(0) else {
        return Judgement::new(
            if positive { Outcome::Missed { unsafe_miss: true } } else { Outcome::NotChecked },
            "no result".to_string(),
            "halal_filter returned no result",
        );
    };
    let got = first["status"].as_str().unwrap_or("unknown").to_string();
    let concerns: Vec<String> = first["concerns"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|c| format!("{}:{}", c["ingredient"].as_str().unwrap_or("?"), c["source"].as_str().unwrap_or("?")))
        .collect();
    let observed = if concerns.is_empty() { got.clone() } else { format!("{got} (concerns: {})", concerns.join(", ")) };
    let expected = case.expect.status.clone().unwrap_or_else(|| if positive { "non_halal" } else { "halal" }.into());
    if got == "unknown" {
        let outcome = if positive { Outcome::Missed { unsafe_miss: true } } else { Outcome::NotChecked };
        return Judgement::new(outcome, observed, "status unknown: the product was not judged");
    }
    match (positive, got == expected) {
        (true, true) => Judgement::new(Outcome::Caught, observed, ""),
        (true, false) => Judgement::new(
            Outcome::Missed { unsafe_miss: got == "halal" },
            observed,
            format!("expected {expected}, got {got}"),
        ),
        (false, _) if got == "halal" => Judgement::new(Outcome::CorrectSilence, observed, ""),
        (false, _) => Judgement::new(Outcome::FalseAlert, observed, format!("expected halal, got {got}")),
    }
}

fn judge_barcode(case: &Case, positive: bool, value: &Value) -> Judgement {
    let matched = value["match"].as_bool().unwrap_or(false);
    let problems = strings(&value["problems"]);
    let observed = format!("match {matched}, problems [{}]", problems.join(", "));
    if !positive {
        return if matched {
            Judgement::new(Outcome::CorrectSilence, observed, "")
        } else {
            Judgement::new(Outcome::FalseAlert, observed, "the right pack was rejected")
        };
    }
    let missing: Vec<&String> = case.expect.problems.iter().filter(|p| !problems.contains(p)).collect();
    if !matched && missing.is_empty() {
        Judgement::new(Outcome::Caught, observed, "")
    } else if matched {
        Judgement::new(Outcome::Missed { unsafe_miss: true }, observed, "the wrong pack was accepted")
    } else {
        let missing: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        Judgement::new(
            Outcome::Missed { unsafe_miss: false },
            observed,
            format!("rejected, but without problem(s) {}", missing.join(", ")),
        )
    }
}

fn judge_dose(case: &Case, positive: bool, value: &Value) -> Judgement {
    let verdict = value["verdict"].as_str().unwrap_or("?").to_string();
    let flags: Vec<String> = value["flags"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .filter_map(|f| f["code"].as_str().map(str::to_string))
        .collect();
    let observed = if flags.is_empty() { verdict.clone() } else { format!("{verdict} (flags: {})", flags.join(", ")) };
    if verdict == "no_rule" {
        let outcome = if positive { Outcome::Missed { unsafe_miss: true } } else { Outcome::NotChecked };
        return Judgement::new(outcome, observed, "no dosing rule: the dose was not checked");
    }
    let expected = &case.expect.verdict;
    match (positive, expected.contains(&verdict)) {
        (true, true) => Judgement::new(Outcome::Caught, observed, ""),
        (true, false) => Judgement::new(
            Outcome::Missed { unsafe_miss: verdict == "ok" },
            observed,
            format!("expected {}, got {verdict}", expected.join(" or ")),
        ),
        (false, _) if verdict == "ok" => Judgement::new(Outcome::CorrectSilence, observed, ""),
        (false, _) => Judgement::new(Outcome::FalseAlert, observed, format!("expected ok, got {verdict}")),
    }
}

/// `regimen_eval`: hard stops and holds interrupt; `requires` (re-approval, version
/// confirmation…) does not on its own. With `kind`, a positive is caught only when one of
/// those codes is a hard stop, a hold or a requirement; without it, any hard stop or hold.
fn judge_regimen(case: &Case, positive: bool, value: &Value) -> Judgement {
    let codes = |key: &str| -> Vec<String> {
        value[key]
            .as_array()
            .map(|a| a.as_slice())
            .unwrap_or_default()
            .iter()
            .filter_map(|f| f["code"].as_str().map(str::to_string))
            .collect()
    };
    let (stops, holds, requires) = (codes("hard_stops"), codes("holds"), strings(&value["requires"]));
    let observed =
        format!("hard stops [{}]; holds [{}]; requires [{}]", stops.join(", "), holds.join(", "), requires.join(", "));
    let interrupts = !stops.is_empty() || !holds.is_empty();
    if !positive {
        return if interrupts {
            Judgement::new(Outcome::FalseAlert, observed, "a hard stop or hold where none is warranted")
        } else {
            Judgement::new(Outcome::CorrectSilence, observed, "")
        };
    }
    let kinds = &case.expect.kind;
    let caught = if kinds.is_empty() {
        interrupts
    } else {
        kinds.iter().any(|k| stops.contains(k) || holds.contains(k) || requires.contains(k))
    };
    if caught {
        Judgement::new(Outcome::Caught, observed, "")
    } else {
        let want = if kinds.is_empty() { "a hard stop or hold".to_string() } else { kinds.join(" or ") };
        Judgement::new(Outcome::Missed { unsafe_miss: !interrupts }, observed, format!("expected {want}"))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::suite::{Case, Expect};

    fn case(expect: Expect, critical: bool) -> Case {
        Case { id: "t".into(), critical, source: "test".into(), note: None, requires: vec![], input: json!({}), expect }
    }

    #[test]
    fn regimen_hard_stop_is_caught_and_a_clean_cycle_is_silent() {
        let stop = ToolResult::Ok(
            json!({"hard_stops": [{"code": "vinca_syringe", "message": "m"}], "holds": [], "requires": [], "unknown": []}),
        );
        let clean =
            ToolResult::Ok(json!({"hard_stops": [], "holds": [], "requires": ["two_person_verify"], "unknown": []}));
        let positive =
            case(Expect { alert: Some(true), kind: vec!["vinca_syringe".into()], ..Default::default() }, true);
        let negative = case(Expect { alert: Some(false), ..Default::default() }, false);
        assert_eq!(judge("regimen_eval", Mode::Detect, &positive, &stop).outcome, Outcome::Caught);
        assert_eq!(
            judge("regimen_eval", Mode::Detect, &positive, &clean).outcome,
            Outcome::Missed { unsafe_miss: true }
        );
        assert_eq!(judge("regimen_eval", Mode::Detect, &negative, &clean).outcome, Outcome::CorrectSilence);
        assert_eq!(judge("regimen_eval", Mode::Detect, &negative, &stop).outcome, Outcome::FalseAlert);
    }

    #[test]
    fn regimen_hold_of_the_wrong_kind_is_a_miss_but_not_unsafe() {
        let hold = ToolResult::Ok(
            json!({"hard_stops": [], "holds": [{"code": "anc_low", "message": "m"}], "requires": [], "unknown": []}),
        );
        let want_stop =
            case(Expect { alert: Some(true), kind: vec!["dose_above_cap".into()], ..Default::default() }, true);
        assert_eq!(
            judge("regimen_eval", Mode::Detect, &want_stop, &hold).outcome,
            Outcome::Missed { unsafe_miss: false }
        );
    }

    fn ddi(findings: Value) -> ToolResult {
        ToolResult::Ok(json!({"interactions": findings, "unknown": []}))
    }

    fn pair_major() -> Expect {
        Expect {
            pair: vec!["simvastatin".into(), "clarithromycin".into()],
            min_severity: Some(Severity::Major),
            ..Default::default()
        }
    }

    #[test]
    fn a_contraindicated_pair_found_at_contraindicated_is_caught() {
        let r = ddi(
            json!([{"drugs": ["clarithromycin", "simvastatin"], "severity": "contraindicated", "kind": "curated", "interruptive": true}]),
        );
        let j = judge("ddi_check", Mode::Detect, &case(pair_major(), true), &r);
        assert_eq!(j.outcome, Outcome::Caught, "{j:?}");
    }

    #[test]
    fn a_pair_found_only_at_moderate_is_an_unsafe_miss() {
        let r = ddi(
            json!([{"drugs": ["simvastatin", "clarithromycin"], "severity": "moderate", "kind": "inferred", "interruptive": true}]),
        );
        let j = judge("ddi_check", Mode::Detect, &case(pair_major(), true), &r);
        assert_eq!(j.outcome, Outcome::Missed { unsafe_miss: true });
        assert!(j.detail.contains("at least major"), "{}", j.detail);
    }

    #[test]
    fn a_finding_for_another_pair_does_not_count() {
        let r = ddi(
            json!([{"drugs": ["simvastatin", "amlodipine"], "severity": "major", "kind": "curated", "interruptive": true}]),
        );
        let j = judge("ddi_check", Mode::Detect, &case(pair_major(), true), &r);
        assert_eq!(j.outcome, Outcome::Missed { unsafe_miss: true });
    }

    #[test]
    fn an_unknown_drug_is_a_miss_never_a_pass() {
        let r = ToolResult::Ok(json!({"interactions": [], "unknown": ["zzqx"]}));
        assert_eq!(
            judge("ddi_check", Mode::Detect, &case(pair_major(), true), &r).outcome,
            Outcome::Missed { unsafe_miss: true }
        );
        let quiet = case(Expect { alert: Some(false), ..Default::default() }, false);
        assert_eq!(judge("ddi_check", Mode::NoInterrupt, &quiet, &r).outcome, Outcome::NotChecked);
    }

    #[test]
    fn a_tool_error_on_a_harmful_order_is_a_miss() {
        let r = ToolResult::ToolError("bad input".into());
        let j = judge("ddi_check", Mode::Detect, &case(pair_major(), true), &r);
        assert_eq!(j.outcome, Outcome::Missed { unsafe_miss: true });
        assert!(!j.outcome.passed());
    }

    #[test]
    fn a_non_interruptive_minor_finding_is_correct_silence() {
        let r = ddi(
            json!([{"drugs": ["lisinopril", "hydrochlorothiazide"], "severity": "minor", "kind": "curated", "interruptive": false}]),
        );
        let quiet = case(Expect::default(), false);
        assert_eq!(judge("ddi_check", Mode::NoInterrupt, &quiet, &r).outcome, Outcome::CorrectSilence);
    }

    #[test]
    fn an_interruptive_moderate_or_any_major_finding_is_a_false_alert() {
        let quiet = case(Expect::default(), false);
        let r = ddi(
            json!([{"drugs": ["metformin", "gliclazide"], "severity": "moderate", "kind": "inferred", "interruptive": true}]),
        );
        assert_eq!(judge("ddi_check", Mode::NoInterrupt, &quiet, &r).outcome, Outcome::FalseAlert);
        let r = ddi(
            json!([{"drugs": ["metformin", "gliclazide"], "severity": "major", "kind": "inferred", "interruptive": false}]),
        );
        assert_eq!(judge("ddi_check", Mode::NoInterrupt, &quiet, &r).outcome, Outcome::FalseAlert);
        let r = ddi(
            json!([{"drugs": ["metformin", "gliclazide"], "severity": "moderate", "kind": "inferred", "interruptive": false}]),
        );
        assert_eq!(judge("ddi_check", Mode::NoInterrupt, &quiet, &r).outcome, Outcome::CorrectSilence);
    }

    #[test]
    fn low_cross_reactivity_must_warn_but_not_hard_stop() {
        let e = Expect {
            min_severity: Some(Severity::Minor),
            max_severity: Some(Severity::Moderate),
            ..Default::default()
        };
        let c = case(e, false);
        let alert = |sev: &str| {
            ToolResult::Ok(
                json!({"alerts": [{"generic": "cefuroxime", "allergy": "penicillin", "kind": "cross_reactive", "severity": sev}], "unknown": []}),
            )
        };
        assert_eq!(judge("allergy_check", Mode::Detect, &c, &alert("moderate")).outcome, Outcome::Caught);
        assert_eq!(
            judge("allergy_check", Mode::Detect, &c, &alert("major")).outcome,
            Outcome::Missed { unsafe_miss: false }
        );
    }

    #[test]
    fn a_sulfonamide_non_antibiotic_may_inform_but_not_interrupt() {
        let e = Expect { alert: Some(false), max_severity: Some(Severity::Moderate), ..Default::default() };
        let c = case(e, false);
        let r = ToolResult::Ok(
            json!({"alerts": [{"generic": "hydrochlorothiazide", "allergy": "sulfa", "kind": "cross_reactive", "severity": "minor"}], "unknown": []}),
        );
        assert_eq!(judge("allergy_check", Mode::Detect, &c, &r).outcome, Outcome::CorrectSilence);
        let r = ToolResult::Ok(
            json!({"alerts": [{"generic": "hydrochlorothiazide", "allergy": "sulfa", "kind": "cross_reactive", "severity": "major"}], "unknown": []}),
        );
        assert_eq!(judge("allergy_check", Mode::Detect, &c, &r).outcome, Outcome::FalseAlert);
    }

    #[test]
    fn halal_status_is_judged_exactly_and_a_halal_answer_to_porcine_is_unsafe() {
        let c = case(Expect { status: Some("non_halal".into()), ..Default::default() }, true);
        let r = |s: &str| ToolResult::Ok(json!({"results": [{"status": s, "concerns": []}], "unknown": []}));
        assert_eq!(judge("halal_filter", Mode::Detect, &c, &r("non_halal")).outcome, Outcome::Caught);
        assert_eq!(
            judge("halal_filter", Mode::Detect, &c, &r("doubtful")).outcome,
            Outcome::Missed { unsafe_miss: false }
        );
        assert_eq!(judge("halal_filter", Mode::Detect, &c, &r("halal")).outcome, Outcome::Missed { unsafe_miss: true });
        let clean = case(Expect { status: Some("halal".into()), ..Default::default() }, false);
        assert_eq!(judge("halal_filter", Mode::Detect, &clean, &r("doubtful")).outcome, Outcome::FalseAlert);
        assert_eq!(judge("halal_filter", Mode::Detect, &clean, &r("unknown")).outcome, Outcome::NotChecked);
    }

    #[test]
    fn a_swapped_pack_must_be_rejected_for_the_right_reason() {
        let c = case(Expect { problems: vec!["wrong_product".into()], ..Default::default() }, true);
        let r = |m: bool, p: &[&str]| ToolResult::Ok(json!({"match": m, "problems": p}));
        assert_eq!(judge("barcode_verify", Mode::Detect, &c, &r(false, &["wrong_product"])).outcome, Outcome::Caught);
        assert_eq!(
            judge("barcode_verify", Mode::Detect, &c, &r(true, &[])).outcome,
            Outcome::Missed { unsafe_miss: true }
        );
        assert_eq!(
            judge("barcode_verify", Mode::Detect, &c, &r(false, &["expired"])).outcome,
            Outcome::Missed { unsafe_miss: false }
        );
        let right = case(Expect { alert: Some(false), ..Default::default() }, false);
        assert_eq!(judge("barcode_verify", Mode::Detect, &right, &r(false, &["expired"])).outcome, Outcome::FalseAlert);
    }

    #[test]
    fn missing_patient_fields_do_not_void_a_dose_verdict_but_an_unknown_drug_does() {
        let over = case(Expect { verdict: vec!["overdose".into()], ..Default::default() }, true);
        let r = ToolResult::Ok(json!({"verdict": "overdose", "flags": [], "unknown": ["patient.height_cm"]}));
        assert_eq!(judge("dose_calc", Mode::Detect, &over, &r).outcome, Outcome::Caught);
        let r = ToolResult::Ok(json!({"verdict": "ok", "flags": [], "unknown": ["zzqx"]}));
        assert_eq!(judge("dose_calc", Mode::Detect, &over, &r).outcome, Outcome::Missed { unsafe_miss: true });
    }

    #[test]
    fn dose_no_rule_is_never_a_pass() {
        let over = case(Expect { verdict: vec!["overdose".into()], ..Default::default() }, true);
        let r = |v: &str| ToolResult::Ok(json!({"verdict": v, "flags": [], "unknown": []}));
        assert_eq!(judge("dose_calc", Mode::Detect, &over, &r("overdose")).outcome, Outcome::Caught);
        assert_eq!(judge("dose_calc", Mode::Detect, &over, &r("ok")).outcome, Outcome::Missed { unsafe_miss: true });
        assert_eq!(
            judge("dose_calc", Mode::Detect, &over, &r("no_rule")).outcome,
            Outcome::Missed { unsafe_miss: true }
        );
        let fine = case(Expect { verdict: vec!["ok".into()], ..Default::default() }, false);
        assert_eq!(judge("dose_calc", Mode::Detect, &fine, &r("ok")).outcome, Outcome::CorrectSilence);
        assert_eq!(judge("dose_calc", Mode::Detect, &fine, &r("overdose")).outcome, Outcome::FalseAlert);
        assert_eq!(judge("dose_calc", Mode::Detect, &fine, &r("no_rule")).outcome, Outcome::NotChecked);
    }
}
