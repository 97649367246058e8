//! The chemotherapy acceptance pack, sections A–G, as scenario files in `tests/scenarios/`.
//! Each case is data; this harness runs it and says, in pharmacy terms, what went wrong.

mod support;

use std::collections::BTreeMap;

use rxgate_regimen::devices::{BcmaExpectation, bcma_check, gravimetric_check, pump_profile};
use rxgate_regimen::workflow::{Action, Check, ChemoOrder, Person, Role, apply, publish};
use rxgate_regimen::*;
use serde::Deserialize;
use support::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    section: String,
    title: String,
    #[serde(default)]
    compile: Vec<CompileCase>,
    #[serde(default)]
    eval: Vec<EvalCase>,
    #[serde(default)]
    workflow: Vec<WorkflowCase>,
    #[serde(default)]
    publish: Vec<PublishCase>,
    #[serde(default)]
    gravimetric: Vec<GravimetricCase>,
    #[serde(default)]
    bcma: Vec<BcmaCase>,
    #[serde(default)]
    pump: Vec<PumpCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompileCase {
    id: String,
    /// A regimen file's text (compiled as `case.toml`) …
    text: Option<String>,
    /// … or an inline definition.
    definition: Option<toml::Value>,
    accepted: bool,
    #[serde(default)]
    rules: Vec<String>,
    /// `file:line` of the first diagnostic of the first expected rule.
    at: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DoseExpect {
    drug: String,
    mg: toml::Value,
    /// Relative tolerance in percent (default: exact).
    tolerance_pct: Option<f64>,
    #[serde(default)]
    basis_contains: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct EvalExpect {
    #[serde(default)]
    hard_stops: Vec<String>,
    no_hard_stops: Option<bool>,
    #[serde(default)]
    holds: Vec<String>,
    no_holds: Option<bool>,
    #[serde(default)]
    not_holds: Vec<String>,
    #[serde(default)]
    requires: Vec<String>,
    #[serde(default)]
    not_requires: Vec<String>,
    #[serde(default)]
    doses: Vec<DoseExpect>,
    #[serde(default)]
    no_dose_for: Vec<String>,
    bsa_m2: Option<toml::Value>,
    #[serde(default)]
    unknown: Vec<String>,
    #[serde(default)]
    message_contains: Vec<String>,
    central_line_required: Option<bool>,
    gir_mg_kg_min: Option<toml::Value>,
    osmolarity_mosm_l: Option<toml::Value>,
    #[serde(default)]
    definition_rules: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EvalCase {
    id: String,
    #[serde(flatten)]
    request: RequestIn,
    expect: EvalExpect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepIn {
    action: String,
    by: String,
    role: String,
    check: Option<String>,
    code: Option<String>,
    reason: Option<String>,
    expected_g: Option<toml::Value>,
    measured_g: Option<toml::Value>,
    matched: Option<bool>,
    /// The step must be refused (true) or accepted (false).
    refused: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct WorkflowExpect {
    label_printed: Option<bool>,
    administered: Option<bool>,
    /// Audit actions that must appear, in this order (other events may come between).
    #[serde(default)]
    audit: Vec<String>,
    #[serde(default)]
    refusal_contains: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkflowCase {
    id: String,
    order: RequestIn,
    steps: Vec<StepIn>,
    expect: WorkflowExpect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishCase {
    id: String,
    regimen_file: Option<String>,
    text: Option<String>,
    author: String,
    author_role: String,
    approver: String,
    approver_role: String,
    published: bool,
    reason_contains: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GravimetricCase {
    id: String,
    expected_g: toml::Value,
    measured_g: toml::Value,
    within_tolerance: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BcmaCase {
    id: String,
    patient_id: String,
    drug: String,
    wristband: String,
    product_scan: String,
    today: String,
    matched: bool,
    #[serde(default)]
    problems: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PumpCase {
    id: String,
    order: RequestIn,
    drug: String,
    rate_ml_h: toml::Value,
    vtbi_ml: toml::Value,
    concentration_mg_ml: toml::Value,
}

fn codes(f: &[Finding]) -> Vec<&str> {
    f.iter().map(|x| x.code.as_str()).collect()
}

fn close(actual: &Q, expected: &Q, tolerance_pct: Option<f64>) -> bool {
    match tolerance_pct {
        None => actual == expected,
        Some(t) => {
            let (a, e) = (to_f(actual), to_f(expected));
            ((a - e) / e).abs() * 100.0 <= t
        }
    }
}

fn to_f(q: &Q) -> f64 {
    format_decimal(q, 9).parse().unwrap()
}

fn check_eval(file: &str, case: &EvalCase) -> Vec<String> {
    let (ev, diags) = run(&case.request);
    let e = &case.expect;
    let mut fails = Vec::new();
    let stops = codes(&ev.hard_stops);
    let holds = codes(&ev.holds);
    let ctx = format!(
        "hard stops {:?}, holds {:?}, requires {:?}, doses {:?}",
        stops,
        holds,
        ev.requires,
        ev.doses
            .iter()
            .map(|d| format!("{} {} mg ({})", d.drug, format_decimal(&d.dose_mg, 3), d.basis))
            .collect::<Vec<_>>()
    );
    for c in &e.hard_stops {
        if !stops.contains(&c.as_str()) {
            fails.push(format!("missed hard stop `{c}`"));
        }
    }
    if e.no_hard_stops == Some(true) && !stops.is_empty() {
        fails.push("hard stop where none is warranted".into());
    }
    for c in &e.holds {
        if !holds.contains(&c.as_str()) {
            fails.push(format!("missed hold `{c}`"));
        }
    }
    for c in &e.not_holds {
        if holds.contains(&c.as_str()) {
            fails.push(format!("unwarranted hold `{c}`"));
        }
    }
    if e.no_holds == Some(true) && !holds.is_empty() {
        fails.push("hold where none is warranted".into());
    }
    for r in &e.requires {
        if !ev.requires.contains(r) {
            fails.push(format!("does not require `{r}`"));
        }
    }
    for r in &e.not_requires {
        if ev.requires.contains(r) {
            fails.push(format!("requires `{r}` without cause"));
        }
    }
    for want in &e.doses {
        match ev.doses.iter().find(|d| d.drug == want.drug) {
            None => fails.push(format!("no dose computed for {}", want.drug)),
            Some(d) => {
                if !close(&d.dose_mg, &q(&want.mg), want.tolerance_pct) {
                    fails.push(format!(
                        "{} dose {} mg, expected {} mg",
                        want.drug,
                        format_decimal(&d.dose_mg, 4),
                        q(&want.mg)
                    ));
                }
                for t in &want.basis_contains {
                    if !d.basis.contains(t) {
                        fails.push(format!("{} basis `{}` lacks `{t}`", want.drug, d.basis));
                    }
                }
            }
        }
    }
    for drug in &e.no_dose_for {
        if ev.doses.iter().any(|d| &d.drug == drug) {
            fails.push(format!("a dose was computed for {drug} although it must not be"));
        }
    }
    if let Some(b) = &e.bsa_m2
        && ev.bsa_m2.as_ref() != Some(&q(b))
    {
        fails.push(format!("BSA {:?}, expected {}", ev.bsa_m2.as_ref().map(|x| format_decimal(x, 2)), q(b)));
    }
    for u in &e.unknown {
        if !ev.unknown.iter().any(|x| x.contains(u.as_str())) {
            fails.push(format!("`{u}` not reported unknown ({:?})", ev.unknown));
        }
    }
    let messages: Vec<&str> = ev.hard_stops.iter().chain(&ev.holds).map(|f| f.message.as_str()).collect();
    for t in &e.message_contains {
        if !messages.iter().any(|m| m.contains(t.as_str())) {
            fails.push(format!("no message contains `{t}` ({messages:?})"));
        }
    }
    if let Some(want) = e.central_line_required {
        match &ev.parenteral_nutrition {
            Some(p) if p.central_line_required == want => {}
            other => fails.push(format!("central line required: expected {want}, got {other:?}")),
        }
    }
    if let Some(g) = &e.gir_mg_kg_min {
        let got = ev.parenteral_nutrition.as_ref().map(|p| p.gir_mg_kg_min.clone());
        if got.as_ref() != Some(&q(g)) {
            fails.push(format!("GIR {:?}, expected {}", got.map(|x| format_decimal(&x, 3)), q(g)));
        }
    }
    if let Some(o) = &e.osmolarity_mosm_l {
        let got = ev.parenteral_nutrition.as_ref().map(|p| p.osmolarity_mosm_l.clone());
        if got.as_ref() != Some(&q(o)) {
            fails.push(format!("osmolarity {:?}, expected {}", got.map(|x| format_decimal(&x, 1)), q(o)));
        }
    }
    for r in &e.definition_rules {
        if !diags.iter().any(|d| d.rule == r) {
            fails.push(format!("definition problem `{r}` not reported ({diags:?})"));
        }
    }
    // Section G, for every evaluation: each hold and each hard stop has its audit record.
    let audited = |action: &str, code: &str| ev.audit.iter().any(|a| a.action == action && a.code == code);
    for f in &ev.hard_stops {
        if !audited("block", &f.code) {
            fails.push(format!("hard stop {} has no audit record", f.code));
        }
    }
    for f in &ev.holds {
        if !audited("hold", &f.code) {
            fails.push(format!("hold {} has no audit record", f.code));
        }
    }
    fails.into_iter().map(|f| format!("{file} eval `{}`: {f}\n    ({ctx})", case.id)).collect()
}

fn check_compile(file: &str, case: &CompileCase) -> Vec<String> {
    let lib = library();
    let out = match (&case.text, &case.definition) {
        (Some(t), None) => compile("case.toml", t, registry(), &lib.rules),
        (None, Some(d)) => compile_definition_json(&serde_json::to_value(d).unwrap(), registry(), &lib.rules),
        _ => panic!("{file} compile `{}`: give exactly one of text and definition", case.id),
    };
    let mut fails = Vec::new();
    let shown: Vec<String> = out.diagnostics.iter().map(|d| d.to_string()).collect();
    let accepted = out.regimen.is_some() && out.diagnostics.is_empty();
    if accepted != case.accepted {
        fails.push(format!("accepted = {accepted}, expected {}", case.accepted));
    }
    for r in &case.rules {
        if !out.diagnostics.iter().any(|d| d.rule == r) {
            fails.push(format!("rule `{r}` not reported"));
        }
    }
    if let (Some(at), Some(rule)) = (&case.at, case.rules.first()) {
        let first = out.diagnostics.iter().find(|d| d.rule == rule);
        let loc = first.map(|d| format!("{}:{}", d.loc.file, d.loc.line));
        if loc.as_deref() != Some(at.as_str()) {
            fails.push(format!("`{rule}` reported at {loc:?}, expected {at}"));
        }
    }
    fails.into_iter().map(|f| format!("{file} compile `{}`: {f}\n    ({shown:?})", case.id)).collect()
}

fn person(id: &str, role: &str) -> Person {
    Person::new(id, Role::parse(role).unwrap_or_else(|| panic!("role {role}")))
}

fn check_workflow(file: &str, case: &WorkflowCase) -> Vec<String> {
    let (ev, _) = run(&case.order);
    let rules = &library().rules;
    let mut order = ChemoOrder::from_evaluation("MRN-1", &ev);
    let mut audit: Vec<AuditEvent> = ev.audit.clone();
    let mut refusals = Vec::new();
    let mut fails = Vec::new();
    for (i, s) in case.steps.iter().enumerate() {
        let by = person(&s.by, &s.role);
        let code = || s.code.clone().unwrap_or_default();
        let reason = || s.reason.clone().unwrap_or_default();
        let action = match s.action.as_str() {
            "sign" => Action::Sign {
                check: if s.check.as_deref() == Some("compounding") { Check::Compounding } else { Check::Prescribing },
                by,
            },
            "override_hold" => Action::OverrideHold { code: code(), by, reason: reason() },
            "override_hard_stop" => Action::OverrideHardStop { code: code(), by, reason: reason() },
            "gravimetric" => Action::RecordGravimetric {
                by,
                expected_g: q(s.expected_g.as_ref().unwrap()),
                measured_g: q(s.measured_g.as_ref().unwrap()),
            },
            "override_gravimetric" => Action::OverrideGravimetric { by, reason: reason() },
            "print_label" => Action::PrintLabel { by },
            "bcma" => Action::Bcma { by, matched: s.matched.unwrap_or(false) },
            "administer" => Action::Administer { by },
            other => panic!("{file} workflow `{}`: unknown action {other}", case.id),
        };
        let applied = apply(&order, &action, &format!("2026-11-23T10:{i:02}:00Z"), rules);
        if applied.audit.is_empty() {
            fails.push(format!("step {} ({}) produced no audit record", i + 1, s.action));
        }
        if let Some(why) = &applied.refused {
            refusals.push(why.clone());
            if !applied.audit.iter().any(|a| a.action == "block") {
                fails.push(format!("refused step {} was not audited as a block", i + 1));
            }
        }
        if let Some(want) = s.refused
            && want != applied.refused.is_some()
        {
            fails.push(format!(
                "step {} ({} by {}): refused = {}, expected {want} ({:?})",
                i + 1,
                s.action,
                s.by,
                applied.refused.is_some(),
                applied.refused
            ));
        }
        audit.extend(applied.audit);
        order = applied.order;
        // A hard stop is never cleared by any step.
        if order.hard_stops.len() < ev.hard_stops.len() {
            fails.push(format!("step {} removed a hard stop", i + 1));
        }
    }
    let e = &case.expect;
    if let Some(want) = e.label_printed
        && order.label_printed != want
    {
        fails.push(format!("label printed = {}, expected {want}", order.label_printed));
    }
    if let Some(want) = e.administered
        && order.administered != want
    {
        fails.push(format!("administered = {}, expected {want}", order.administered));
    }
    let mut at = 0;
    for want in &e.audit {
        match audit[at..].iter().position(|a| &a.action == want) {
            Some(p) => at += p + 1,
            None => fails.push(format!(
                "audit lacks `{want}` in order ({:?})",
                audit.iter().map(|a| &a.action).collect::<Vec<_>>()
            )),
        }
    }
    for t in &e.refusal_contains {
        if !refusals.iter().any(|r| r.contains(t.as_str())) {
            fails.push(format!("no refusal says `{t}` ({refusals:?})"));
        }
    }
    fails.into_iter().map(|f| format!("{file} workflow `{}`: {f}", case.id)).collect()
}

fn check_publish(file: &str, case: &PublishCase) -> Vec<String> {
    let lib = library();
    let text = match (&case.regimen_file, &case.text) {
        (Some(f), None) => bundled_regimen_files().into_iter().find(|x| &x.name == f).expect("bundled file").text,
        (None, Some(t)) => t.clone(),
        _ => panic!("{file} publish `{}`: one of regimen_file and text", case.id),
    };
    let compiled = compile("case.toml", &text, registry(), &lib.rules);
    let (result, audit) = publish(
        &compiled,
        &person(&case.author, &case.author_role),
        &person(&case.approver, &case.approver_role),
        "2026-11-23T09:00:00Z",
    );
    let mut fails = Vec::new();
    if result.is_ok() != case.published {
        fails.push(format!("published = {}, expected {} ({result:?})", result.is_ok(), case.published));
    }
    let want_action = if case.published { "publish" } else { "block" };
    if !audit.iter().any(|a| a.action == want_action && a.at.is_some() && a.actor.is_some()) {
        fails.push(format!("no `{want_action}` audit record with actor and time ({audit:?})"));
    }
    if let (Some(t), Err(why)) = (&case.reason_contains, &result)
        && !why.contains(t.as_str())
    {
        fails.push(format!("refusal `{why}` does not say `{t}`"));
    }
    fails.into_iter().map(|f| format!("{file} publish `{}`: {f}", case.id)).collect()
}

fn check_devices(file: &str, f: &ScenarioFile) -> Vec<String> {
    let mut fails = Vec::new();
    let rules = &library().rules;
    for c in &f.gravimetric {
        let g = gravimetric_check(&q(&c.expected_g), &q(&c.measured_g), rules);
        if g.within_tolerance != c.within_tolerance {
            fails.push(format!(
                "{file} gravimetric `{}`: within = {}, deviation {}%",
                c.id,
                g.within_tolerance,
                g.deviation_pct_text()
            ));
        }
    }
    for c in &f.bcma {
        let today = chrono::NaiveDate::parse_from_str(&c.today, "%Y-%m-%d").unwrap();
        let r = bcma_check(
            &BcmaExpectation { patient_id: c.patient_id.clone(), drug: c.drug.clone() },
            &c.wristband,
            &c.product_scan,
            registry(),
            today,
        );
        let got: Vec<&str> = r.problems.iter().map(|p| p.as_str()).collect();
        if r.matched != c.matched || c.problems.iter().any(|p| !got.contains(&p.as_str())) {
            fails.push(format!("{file} bcma `{}`: matched = {}, problems {got:?}", c.id, r.matched));
        }
    }
    for c in &f.pump {
        let (ev, _) = run(&c.order);
        let line = ev.doses.iter().find(|d| d.drug == c.drug).expect("dose line for pump case");
        let infusion = line.infusion.as_ref().expect("regimen gives an infusion");
        let p = pump_profile(&line.drug, &line.dose_mg, infusion, "MRN-1", "ORD-1").expect("profile");
        let checks = [
            ("rate", &p.rate_ml_h, &c.rate_ml_h),
            ("vtbi", &p.vtbi_ml, &c.vtbi_ml),
            ("concentration", &p.concentration_mg_ml, &c.concentration_mg_ml),
        ];
        for (what, got, want) in checks {
            if !close(got, &q(want), Some(0.1)) {
                fails.push(format!("{file} pump `{}`: {what} {}, expected {}", c.id, format_decimal(got, 4), q(want)));
            }
        }
        let json = serde_json::to_string(&p.to_json()).unwrap();
        let run = pump_simulator::load_and_run(&json).unwrap_or_else(|e| panic!("simulator refused the export: {e}"));
        if run.minutes == 0
            || (run.delivered_ml - to_f(&p.vtbi_ml)).abs() > 0.1
            || (run.delivered_mg - to_f(&line.dose_mg)).abs() / to_f(&line.dose_mg) > 0.01
        {
            fails.push(format!("{file} pump `{}`: simulator delivered {run:?}", c.id));
        }
    }
    fails
}

#[path = "support/pump_simulator.rs"]
mod pump_simulator;

#[path = "support/hard_stops_never_clear.rs"]
mod hard_stops_never_clear;

#[test]
fn chemotherapy_acceptance_pack() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scenarios");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut fails = Vec::new();
    let mut per_section: BTreeMap<String, usize> = BTreeMap::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(path).unwrap();
        let f: ScenarioFile = toml::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let n = f.compile.len()
            + f.eval.len()
            + f.workflow.len()
            + f.publish.len()
            + f.gravimetric.len()
            + f.bcma.len()
            + f.pump.len();
        assert!(n > 0, "{name} ({}) has no case", f.title);
        *per_section.entry(f.section.clone()).or_default() += n;
        fails.extend(f.compile.iter().flat_map(|c| check_compile(&name, c)));
        fails.extend(f.eval.iter().flat_map(|c| check_eval(&name, c)));
        fails.extend(f.workflow.iter().flat_map(|c| check_workflow(&name, c)));
        fails.extend(f.publish.iter().flat_map(|c| check_publish(&name, c)));
        fails.extend(check_devices(&name, &f));
    }
    for s in ["A", "B", "C", "D", "E", "F", "G"] {
        assert!(per_section.get(s).copied().unwrap_or(0) > 0, "section {s} has no scenario");
    }
    assert!(fails.is_empty(), "{} failure(s):\n{}", fails.len(), fails.join("\n"));
}
