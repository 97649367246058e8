//! The per-category table, the HTML report and the JSON file.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;
use serde_json::json;

use crate::explanations::ExplanationQuality;
use crate::judge::Outcome;
use crate::run::{CaseResult, EVAL_TODAY, EvalRun};

/// One row of the table: one category.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CategoryRow {
    /// Category name.
    pub category: String,
    /// Cases that ran.
    pub cases: usize,
    /// Harmful orders among them (should alert).
    pub positives: usize,
    /// Harmful orders caught.
    pub caught: usize,
    /// Harmful orders missed.
    pub missed: usize,
    /// Misses of critical cases that would let the order through.
    pub critical_misses: usize,
    /// Orders that must not interrupt.
    pub negatives: usize,
    /// … that did not.
    pub correct_silence: usize,
    /// … that did.
    pub false_alerts: usize,
    /// Negative cases the server could not check.
    pub not_checked: usize,
    /// Cases that did not run.
    pub skipped: usize,
    /// Why they did not run.
    pub skipped_reason: Option<String>,
    /// caught / positives.
    pub sensitivity: Option<f64>,
    /// correct silence / (correct silence + false alerts).
    pub specificity: Option<f64>,
}

impl CategoryRow {
    /// Cases that passed.
    pub fn passed(&self) -> usize {
        self.caught + self.correct_silence
    }

    /// Cases that failed.
    pub fn failed(&self) -> usize {
        self.missed + self.false_alerts + self.not_checked
    }
}

fn ratio(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// Counts per category, in the order the categories first appear.
pub fn category_rows(results: &[CaseResult]) -> Vec<CategoryRow> {
    let mut rows: Vec<CategoryRow> = Vec::new();
    for r in results {
        let i = match rows.iter().position(|row| row.category == r.category) {
            Some(i) => i,
            None => {
                rows.push(CategoryRow { category: r.category.clone(), ..Default::default() });
                rows.len() - 1
            }
        };
        let row = &mut rows[i];
        let Some(j) = &r.judgement else {
            row.skipped += 1;
            if row.skipped_reason.is_none() {
                row.skipped_reason = r.skipped.clone();
            }
            continue;
        };
        row.cases += 1;
        if r.positive {
            row.positives += 1;
        } else {
            row.negatives += 1;
        }
        match j.outcome {
            Outcome::Caught => row.caught += 1,
            Outcome::Missed { .. } => row.missed += 1,
            Outcome::CorrectSilence => row.correct_silence += 1,
            Outcome::FalseAlert => row.false_alerts += 1,
            Outcome::NotChecked => row.not_checked += 1,
        }
        if r.critical_miss() {
            row.critical_misses += 1;
        }
    }
    for row in &mut rows {
        row.sensitivity = ratio(row.caught, row.positives);
        row.specificity = ratio(row.correct_silence, row.correct_silence + row.false_alerts);
    }
    rows
}

/// Sums of the rows.
pub fn totals(rows: &[CategoryRow]) -> CategoryRow {
    let mut t = CategoryRow { category: "all".into(), ..Default::default() };
    for r in rows {
        t.cases += r.cases;
        t.positives += r.positives;
        t.caught += r.caught;
        t.missed += r.missed;
        t.critical_misses += r.critical_misses;
        t.negatives += r.negatives;
        t.correct_silence += r.correct_silence;
        t.false_alerts += r.false_alerts;
        t.not_checked += r.not_checked;
        t.skipped += r.skipped;
    }
    t.sensitivity = ratio(t.caught, t.positives);
    t.specificity = ratio(t.correct_silence, t.correct_silence + t.false_alerts);
    t
}

fn pct(v: Option<f64>) -> String {
    v.map_or("—".to_string(), |v| format!("{:.1}%", v * 100.0))
}

/// The plain-text table printed by `rxgate eval`, without the closing line.
pub fn table(rows: &[CategoryRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<26} {:>5} {:>6} {:>6} {:>8} {:>6} {:>7} {:>7}  note",
        "category", "cases", "caught", "missed", "critical", "false", "sens.", "spec."
    );
    let _ =
        writeln!(out, "{:<26} {:>5} {:>6} {:>6} {:>8} {:>6} {:>7} {:>7}", "", "", "", "", "misses", "alerts", "", "");
    let total = totals(rows);
    for r in rows.iter().chain(std::iter::once(&total)) {
        let note = match (&r.skipped_reason, r.skipped) {
            (Some(reason), n) if r.cases == 0 => format!("skipped ({n}): {reason}"),
            (_, n) if n > 0 => format!("{n} skipped"),
            _ if r.not_checked > 0 => format!("{} not checked", r.not_checked),
            _ => String::new(),
        };
        let dash = |n: usize, any: bool| if any { n.to_string() } else { "—".to_string() };
        let ran = r.cases > 0;
        let _ = writeln!(
            out,
            "{:<26} {:>5} {:>6} {:>6} {:>8} {:>6} {:>7} {:>7}  {}",
            r.category,
            r.cases,
            dash(r.caught, ran),
            dash(r.missed, ran),
            dash(r.critical_misses, ran),
            dash(r.false_alerts, ran),
            pct(r.sensitivity),
            pct(r.specificity),
            note
        );
    }
    out
}

/// The machine-readable results.
pub fn json_report(run: &EvalRun, rows: &[CategoryRow]) -> serde_json::Value {
    let total = totals(rows);
    json!({
        "generated_by": format!("rxgate-evals {}", env!("CARGO_PKG_VERSION")),
        "server": run.server,
        "tools": run.tools,
        "knowledge": run.knowledge,
        "today": EVAL_TODAY,
        "passed": total.passed(),
        "failed": total.failed(),
        "skipped": total.skipped,
        "critical_misses": total.critical_misses,
        "categories": rows,
        "totals": total,
        "suites": run.suites,
        "cases": run.results,
        "explanation_quality": quality(run),
    })
}

/// The explanation quality section, or why this run has none.
fn quality(run: &EvalRun) -> ExplanationQuality {
    run.explanation_quality
        .clone()
        .unwrap_or_else(|| ExplanationQuality::skipped("not run: this run measured the safety suites only"))
}

/// The explanation quality section of the HTML report.
fn quality_html(q: &ExplanationQuality) -> String {
    let mut h = String::from("<h2>Explanation quality</h2>");
    if !q.measured() {
        let _ = write!(
            h,
            "<div class=\"pending\"><strong>skipped — no faithful rate reported.</strong> {}</div>",
            esc(q.reason.as_deref().unwrap_or("no reason given"))
        );
        return h;
    }
    let _ = write!(
        h,
        "<p>The local model <code>{}</code> rephrased the vetted template of {} findings sampled evenly from the \
         labelled set of {} registry findings (interactions, allergies, halal flags; {}), greedy, at most {} tokens \
         each. <em>Faithful</em> is the share of its texts the explanation guard accepted (no number, unit, dose, drug \
         or severity outside the facts, no instruction, no contradicted mechanism, the right language, a closed \
         vocabulary); a rejected text is never shown — the template is. <em>Server accepts</em> counts the faithful \
         texts the server's own check (without the template as reference) accepts too. {:.0} s in all.</p>",
        esc(q.model.as_deref().unwrap_or("?")),
        q.sample,
        q.labelled_set,
        esc(q.audiences.as_deref().unwrap_or("pharmacist and patient")),
        q.max_tokens,
        q.seconds
    );
    h.push_str(
        "<table><tr><th class=\"l\">language</th><th>prompt</th><th>explained</th><th>faithful</th><th>rate</th>\
         <th>server accepts</th><th>tokens per text</th><th>seconds per text</th><th class=\"l\">rejected texts by reason (a text may have several)</th></tr>",
    );
    for l in &q.languages {
        let per = |v: f64| if l.explained > 0 { format!("{:.1}", v / f64::from(l.explained)) } else { "—".into() };
        let reasons: Vec<String> = l.rejections.iter().map(|(k, n)| format!("{k}: {n}")).collect();
        let _ = write!(
            h,
            "<tr><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
            esc(&l.language),
            esc(&l.prompt_version),
            l.explained,
            l.faithful,
            pct(l.rate),
            l.server_accepted,
            per(l.generated_tokens as f64),
            per(l.seconds),
            esc(&reasons.join("; "))
        );
    }
    h.push_str("</table>");
    if q.stopped_early {
        let _ = write!(
            h,
            "<p>The {} s budget ran out before every sampled finding was explained: the rates cover the texts in the \
             table.</p>",
            q.time_budget_seconds
        );
    }
    if q.guard_escapes() > 0 {
        h.push_str(
            "<p class=\"crit\">Guard bug: accepted texts with a number or drug name that is not in the facts:</p><ul>",
        );
        for e in q.languages.iter().flat_map(|l| &l.guard_escapes) {
            let _ = write!(h, "<li><pre>{}</pre></li>", esc(&e.to_string()));
        }
        h.push_str("</ul>");
    }
    h
}

/// The value without nulls and empty lists: what a case states, not every field it could.
fn compact(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
                .map(|(k, v)| (k, compact(v)))
                .collect(),
        ),
        other => other,
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A small horizontal bar chart of one category's outcomes.
fn svg_chart(r: &CategoryRow) -> String {
    let parts = [
        ("caught", r.caught, "#2e7d32"),
        ("missed", r.missed, "#c62828"),
        ("no alert (correct)", r.correct_silence, "#1565c0"),
        ("false alerts", r.false_alerts, "#ef6c00"),
        ("not checked", r.not_checked, "#757575"),
        ("skipped", r.skipped, "#bdbdbd"),
    ];
    let total: usize = parts.iter().map(|p| p.1).sum::<usize>().max(1);
    let width = 420.0;
    let mut x = 0.0;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="40" viewBox="0 0 {w} 40" role="img" aria-label="{}">"#,
        esc(&r.category),
        w = width
    );
    for (label, n, colour) in parts {
        if n == 0 {
            continue;
        }
        let w = width * n as f64 / total as f64;
        let _ = write!(
            svg,
            r#"<rect x="{x:.1}" y="4" width="{w:.1}" height="20" fill="{colour}"><title>{label}: {n}</title></rect>"#
        );
        if w > 18.0 {
            let _ = write!(
                svg,
                r##"<text x="{:.1}" y="18" font-size="11" fill="#fff" text-anchor="middle">{n}</text>"##,
                x + w / 2.0
            );
        }
        x += w;
    }
    svg.push_str(r##"<text x="0" y="37" font-size="10" fill="#444">"##);
    let legend: Vec<String> = parts.iter().filter(|p| p.1 > 0).map(|p| format!("{} {}", p.0, p.1)).collect();
    svg.push_str(&esc(&legend.join(" · ")));
    svg.push_str("</text></svg>");
    svg
}

/// The self-contained HTML report.
pub fn html_report(run: &EvalRun, rows: &[CategoryRow]) -> String {
    let total = totals(rows);
    let mut h = String::new();
    h.push_str(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>rxgate safety evals</title><style>",
    );
    h.push_str(
        "body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}table{border-collapse:collapse;margin:1em 0}\
         th,td{border:1px solid #ccc;padding:4px 8px;text-align:right;vertical-align:top}th{background:#f3f3f3}\
         td.l,th.l{text-align:left}.crit{color:#b71c1c;font-weight:bold}.pending{background:#fff8e1;border:1px solid #ffcc80;padding:1em}\
         code,pre{font-size:12px}pre{white-space:pre-wrap;margin:0}.cat{margin:1em 0}",
    );
    h.push_str("</style></head><body><h1>rxgate safety evals</h1>");
    let knowledge = run
        .knowledge
        .as_ref()
        .map(|k| format!("{} ({})", k["version"].as_str().unwrap_or("?"), k["hash"].as_str().unwrap_or("?")))
        .unwrap_or_else(|| "?".to_string());
    let _ = write!(
        h,
        "<p>Server <code>{}</code> over MCP (stdio); knowledge {}; cases judged as of {}. Tools listed: {}.</p>",
        esc(&run.server),
        esc(&knowledge),
        EVAL_TODAY,
        esc(&run.tools.join(", "))
    );
    let _ = write!(
        h,
        "<p><strong>{} passed, {} failed</strong>, {} skipped; <span class=\"crit\">{} critical miss(es)</span>.</p>",
        total.passed(),
        total.failed(),
        total.skipped,
        total.critical_misses
    );
    h.push_str("<h2>By category</h2><table><tr><th class=\"l\">category</th><th>cases</th><th>caught</th><th>missed</th><th>critical misses</th><th>false alerts</th><th>sensitivity</th><th>specificity</th><th class=\"l\">note</th></tr>");
    for r in rows.iter().chain(std::iter::once(&total)) {
        let note = r
            .skipped_reason
            .clone()
            .filter(|_| r.skipped > 0)
            .map(|s| format!("{} skipped: {s}", r.skipped))
            .unwrap_or_default();
        let _ = write!(
            h,
            "<tr><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
            esc(&r.category),
            r.cases,
            r.caught,
            r.missed,
            if r.critical_misses > 0 { "crit" } else { "" },
            r.critical_misses,
            r.false_alerts,
            pct(r.sensitivity),
            pct(r.specificity),
            esc(&note)
        );
    }
    h.push_str("</table><h2>Charts</h2>");
    for r in rows {
        let _ = write!(h, "<div class=\"cat\"><strong>{}</strong><br>{}</div>", esc(&r.category), svg_chart(r));
    }
    h.push_str("<h2>Suites</h2><ul>");
    for s in &run.suites {
        let status = s.skipped.clone().unwrap_or_else(|| "ran".to_string());
        let _ = write!(
            h,
            "<li><strong>{}</strong> ({}, {} cases, tool <code>{}</code>): {} — {}</li>",
            esc(&s.meta.title),
            esc(&s.meta.id),
            s.cases,
            esc(&s.meta.tool),
            esc(&status),
            esc(&s.meta.description)
        );
    }
    h.push_str("</ul><h2>Misses, false alerts and unchecked cases</h2>");
    let failures: Vec<&CaseResult> =
        run.results.iter().filter(|r| r.judgement.as_ref().is_some_and(|j| !j.outcome.passed())).collect();
    if failures.is_empty() {
        h.push_str("<p>None.</p>");
    } else {
        h.push_str("<table><tr><th class=\"l\">case</th><th class=\"l\">outcome</th><th class=\"l\">input</th><th class=\"l\">expected</th><th class=\"l\">observed</th><th class=\"l\">source</th></tr>");
        for r in failures {
            let j = r.judgement.as_ref().expect("filtered on judgement");
            let outcome = match j.outcome {
                Outcome::Missed { unsafe_miss: true } if r.critical => "CRITICAL MISS".to_string(),
                Outcome::Missed { unsafe_miss: true } => "miss (order would go through)".to_string(),
                Outcome::Missed { unsafe_miss: false } => "miss (flagged, but not as expected)".to_string(),
                Outcome::FalseAlert => "false alert".to_string(),
                Outcome::NotChecked => "not checked".to_string(),
                _ => String::new(),
            };
            let expected = compact(serde_json::to_value(&r.expected).unwrap_or_default()).to_string();
            let _ = write!(
                h,
                "<tr><td class=\"l\">{}/{}{}</td><td class=\"l {}\">{}<br>{}</td><td class=\"l\"><pre>{}</pre></td><td class=\"l\"><pre>{}</pre></td><td class=\"l\">{}</td><td class=\"l\">{}</td></tr>",
                esc(&r.suite),
                esc(&r.id),
                r.note.as_ref().map(|n| format!("<br><small>{}</small>", esc(n))).unwrap_or_default(),
                if outcome.starts_with("CRITICAL") { "crit" } else { "" },
                esc(&outcome),
                esc(&j.detail),
                esc(&serde_json::to_string(&r.input).unwrap_or_default()),
                esc(&expected),
                esc(&j.observed),
                esc(&r.source)
            );
        }
        h.push_str("</table>");
    }
    h.push_str(&quality_html(&quality(run)));
    h.push_str(
        "<h2>For comparison</h2><ul><li>Leapfrog CPOE test: hospitals caught 53.9% (2009) → 65.6% (2018) of potentially \
         harmful orders; basic categories 85.6%, advanced 46.1% in 2018 (Classen et al., JAMA Netw Open 2020;3:e205547).</li>\
         <li>62 hospitals detected 53% of potentially fatal orders (Metzger et al., Health Aff 2010).</li>\
         <li>ONC high-priority pairs alerted in 69% of tests across 19 systems (McEvoy et al., JAMIA 2017).</li>\
         <li>Alert override rates 46–96% (systematic review, JMIR Med Inform 2020): why the excessive-alert suite matters.</li></ul>",
    );
    h.push_str("</body></html>\n");
    h
}

/// Writes `index.html` and `results.json` into `dir`.
pub fn write_report(dir: &Path, run: &EvalRun, rows: &[CategoryRow]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join("index.html"), html_report(run, rows)).context("writing index.html")?;
    let json = serde_json::to_string_pretty(&json_report(run, rows))?;
    std::fs::write(dir.join("results.json"), json).context("writing results.json")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::Judgement;
    use crate::suite::Expect;

    fn result(category: &str, positive: bool, critical: bool, outcome: Option<Outcome>) -> CaseResult {
        CaseResult {
            suite: category.into(),
            category: category.into(),
            id: "c".into(),
            critical,
            positive,
            source: "s".into(),
            note: None,
            input: serde_json::json!({}),
            expected: Expect::default(),
            judgement: outcome.map(|outcome| Judgement { outcome, observed: String::new(), detail: String::new() }),
            skipped: outcome.is_none().then(|| "tool not available: `dose_calc`".to_string()),
        }
    }

    #[test]
    fn rows_count_sensitivity_specificity_and_critical_misses_and_skips_are_not_passes() {
        let results = vec![
            result("ddi", true, true, Some(Outcome::Caught)),
            result("ddi", true, true, Some(Outcome::Missed { unsafe_miss: true })),
            result("ddi", true, true, Some(Outcome::Missed { unsafe_miss: false })),
            result("ddi", true, false, Some(Outcome::Caught)),
            result("quiet", false, false, Some(Outcome::CorrectSilence)),
            result("quiet", false, false, Some(Outcome::FalseAlert)),
            result("dose", true, true, None),
        ];
        let rows = category_rows(&results);
        assert_eq!(rows.len(), 3);
        let ddi = &rows[0];
        assert_eq!((ddi.cases, ddi.caught, ddi.missed, ddi.critical_misses), (4, 2, 2, 1));
        assert_eq!(ddi.sensitivity, Some(0.5));
        assert_eq!(rows[1].specificity, Some(0.5));
        assert_eq!((rows[2].cases, rows[2].skipped), (0, 1));
        let t = totals(&rows);
        assert_eq!((t.passed(), t.failed(), t.skipped), (3, 3, 1));
        let text = table(&rows);
        assert!(text.contains("skipped (1): tool not available"), "{text}");
    }
}
