//! Runs suites through a connection: one `tools/call` per case (several for a prescription),
//! judged as the results come back, with a progress bar on stderr.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use serde_json::{Value, json};

use crate::client::Connection;
use crate::judge::{Judgement, Outcome, ToolResult, judge};
use crate::prescription::{RxFindings, decide, decide_from_verify};
use crate::suite::{Action, Case, Expect, Mode, Suite, SuiteMeta};

/// The date every date-dependent case is judged on (certificate and lot expiry), so the
/// figures do not drift with the calendar.
pub const EVAL_TODAY: &str = "2026-11-23";

/// One case after the run.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// Suite id.
    pub suite: String,
    /// Category of the suite.
    pub category: String,
    /// Case id.
    pub id: String,
    /// A miss could harm.
    pub critical: bool,
    /// The case is a harmful order (should alert).
    pub positive: bool,
    /// Where the expectation comes from.
    pub source: String,
    /// The case's note.
    pub note: Option<String>,
    /// Tool arguments.
    pub input: Value,
    /// Expected outcome.
    pub expected: Expect,
    /// The judgement; `None` when skipped.
    pub judgement: Option<Judgement>,
    /// Why the case did not run.
    pub skipped: Option<String>,
}

impl CaseResult {
    /// A critical case missed in a way that would let the order through.
    pub fn critical_miss(&self) -> bool {
        self.critical
            && matches!(self.judgement.as_ref().map(|j| j.outcome), Some(Outcome::Missed { unsafe_miss: true }))
    }
}

/// One suite after the run.
#[derive(Debug, Clone, Serialize)]
pub struct SuiteRun {
    /// Its `[suite]` table.
    pub meta: SuiteMeta,
    /// Number of cases.
    pub cases: usize,
    /// Why the whole suite did not run (pending, tool not available).
    pub skipped: Option<String>,
}

/// Everything a report needs.
#[derive(Debug, Clone, Serialize)]
pub struct EvalRun {
    /// `name version` of the server.
    pub server: String,
    /// Tools the server listed.
    pub tools: Vec<String>,
    /// The `knowledge` stamp of the first result (registry version and hash).
    pub knowledge: Option<Value>,
    /// Suites in order.
    pub suites: Vec<SuiteRun>,
    /// Cases in order.
    pub results: Vec<CaseResult>,
    /// The local model's faithful rates; `None` when this run did not look (suites only).
    pub explanation_quality: Option<crate::explanations::ExplanationQuality>,
}

fn result_row(meta: &SuiteMeta, case: &Case, judgement: Option<Judgement>, skipped: Option<String>) -> CaseResult {
    CaseResult {
        suite: meta.id.clone(),
        category: meta.category.clone(),
        id: case.id.clone(),
        critical: case.critical,
        positive: case.should_alert(meta.mode),
        source: case.source.clone(),
        note: case.note.clone(),
        input: case.input.clone(),
        expected: case.expect.clone(),
        judgement,
        skipped,
    }
}

/// Why a suite cannot run against this server, if it cannot.
fn suite_skip_reason(meta: &SuiteMeta, conn: &Connection) -> Option<String> {
    if let Some(reason) = &meta.pending {
        return Some(format!("pending: {reason}"));
    }
    let needed = if meta.mode == Mode::Prescription { "ddi_check" } else { meta.tool.as_str() };
    (!conn.has(needed)).then(|| format!("tool not available: the server does not list `{needed}`"))
}

/// Runs every case of `suites`.
pub async fn run_suites(conn: &Connection, suites: &[Suite], show_progress: bool) -> anyhow::Result<EvalRun> {
    let total: usize = suites.iter().map(|s| s.cases.len()).sum();
    let bar = if show_progress {
        ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} eval [{bar:32}] {pos}/{len} {msg}")
            .expect("a valid progress template")
            .progress_chars("=> "),
    );
    let mut run = EvalRun {
        server: conn.server.clone(),
        tools: conn.tools.iter().cloned().collect(),
        knowledge: None,
        suites: Vec::new(),
        results: Vec::new(),
        explanation_quality: None,
    };
    for suite in suites {
        let meta = &suite.suite;
        bar.set_message(meta.id.clone());
        let skipped = suite_skip_reason(meta, conn);
        run.suites.push(SuiteRun { meta: meta.clone(), cases: suite.cases.len(), skipped: skipped.clone() });
        for case in &suite.cases {
            let row = if let Some(reason) = &skipped {
                result_row(meta, case, None, Some(reason.clone()))
            } else if let Some(missing) = case.requires.iter().find(|t| !conn.has(t)) {
                result_row(meta, case, None, Some(format!("tool not available: `{missing}`")))
            } else if meta.mode == Mode::Prescription {
                let j = run_prescription(conn, case, &mut run.knowledge).await?;
                result_row(meta, case, Some(j), None)
            } else {
                let result = conn.call(&meta.tool, &case.input).await?;
                remember_knowledge(&mut run.knowledge, &result);
                let j = judge(&meta.tool, meta.mode, case, &result);
                result_row(meta, case, Some(j), None)
            };
            run.results.push(row);
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    Ok(run)
}

fn remember_knowledge(slot: &mut Option<Value>, result: &ToolResult) {
    if slot.is_none()
        && let ToolResult::Ok(v) = result
        && v.get("knowledge").is_some()
    {
        *slot = Some(v["knowledge"].clone());
    }
}

fn ok_value(result: ToolResult, errors: &mut Vec<String>, tool: &str) -> Option<Value> {
    match result {
        ToolResult::Ok(v) => Some(v),
        ToolResult::ToolError(e) => {
            errors.push(format!("{tool}: {e}"));
            None
        }
    }
}

/// Runs one prescription through the tools and judges the implied action.
async fn run_prescription(conn: &Connection, case: &Case, knowledge: &mut Option<Value>) -> anyhow::Result<Judgement> {
    let expected = case.expect.action.unwrap_or(Action::Dispense);
    let patient = case.input.get("patient").cloned().unwrap_or_else(|| json!({}));
    let items: Vec<Value> = case.input["items"].as_array().cloned().unwrap_or_default();
    let (got, reasons) = if conn.has("verify_prescription") {
        let r = conn.call("verify_prescription", &case.input).await?;
        remember_knowledge(knowledge, &r);
        match r {
            ToolResult::Ok(v) => decide_from_verify(&v),
            ToolResult::ToolError(e) => (Action::Hold, vec![format!("hold: verify_prescription error: {e}")]),
        }
    } else {
        let drugs: Vec<Value> = items.iter().map(|i| i["drug"].clone()).collect();
        let mut errors = Vec::new();
        let mut findings = RxFindings::default();
        let mut ddi_args = json!({"drugs": drugs});
        let active = patient["active_medications"].as_array().cloned().unwrap_or_default();
        if !active.is_empty() {
            ddi_args["patient"] = json!({"active_medications": active});
        }
        let r = conn.call("ddi_check", &ddi_args).await?;
        remember_knowledge(knowledge, &r);
        findings.ddi = ok_value(r, &mut errors, "ddi_check");
        let allergies = patient["allergies"].as_array().cloned().unwrap_or_default();
        if !allergies.is_empty() && conn.has("allergy_check") {
            let r = conn.call("allergy_check", &json!({"drugs": drugs, "allergies": allergies})).await?;
            findings.allergy = ok_value(r, &mut errors, "allergy_check");
        }
        let preference = patient["halal_preference"].as_str().unwrap_or("none");
        if preference != "none" && conn.has("halal_filter") {
            let args = json!({"drugs": drugs, "preference": preference, "today": EVAL_TODAY});
            let r = conn.call("halal_filter", &args).await?;
            findings.halal = ok_value(r, &mut errors, "halal_filter");
        }
        if conn.has("dose_calc") {
            for item in &items {
                if item.get("dose").is_none() {
                    continue;
                }
                let mut args =
                    json!({"drug": item["drug"], "route": item["route"], "dose": item["dose"], "patient": patient});
                for key in ["frequency", "doses_per_day", "indication"] {
                    if let Some(v) = item.get(key) {
                        args[key] = v.clone();
                    }
                }
                let r = conn.call("dose_calc", &args).await?;
                if let Some(v) = ok_value(r, &mut errors, "dose_calc") {
                    findings.doses.push(v);
                }
            }
        }
        let (mut action, mut reasons) = decide(&findings);
        if !errors.is_empty() {
            action = action.max(Action::Hold);
            reasons.extend(errors.into_iter().map(|e| format!("hold: tool error: {e}")));
        }
        (action, reasons)
    };
    let observed = if reasons.is_empty() { got.to_string() } else { format!("{got} ({})", reasons.join("; ")) };
    let positive = expected != Action::Dispense;
    let outcome = match (positive, got == expected) {
        (true, true) => Outcome::Caught,
        (false, true) => Outcome::CorrectSilence,
        (true, false) => Outcome::Missed { unsafe_miss: got == Action::Dispense },
        (false, false) => Outcome::FalseAlert,
    };
    let detail = if got == expected { String::new() } else { format!("expected {expected}, the findings imply {got}") };
    Ok(Judgement { outcome, observed, detail })
}
