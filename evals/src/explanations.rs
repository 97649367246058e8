//! Explanation quality (issue 10, item 4): the local model's faithful rate in English and
//! Malay, on a sample of the labelled set of registry findings.
//!
//! The `rxgate` binary links no language model, so the measurement runs in the explainer
//! agent's binary (`rxgate-explainer faithfulness`, JSON on stdout), which holds the model,
//! the guard and the labelled set; this module starts it, waits within a time limit and
//! reads its answer. Anything that keeps a figure from being measured — no model file, no
//! explainer binary, a crash — becomes [`ExplanationQuality::skipped`] with the reason:
//! never a rate.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// One language's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LanguageQuality {
    /// `en` or `ms`.
    pub language: String,
    /// The prompt version the model was asked with.
    pub prompt_version: String,
    /// Model outputs (one per sampled finding).
    pub explained: u32,
    /// Outputs the explanation guard accepted.
    pub faithful: u32,
    /// faithful / explained; `None` when nothing was explained.
    pub rate: Option<f64>,
    /// Of the faithful ones, those the server's own check (without the template as
    /// reference) accepts too: what would reach the console.
    pub server_accepted: u32,
    /// Tokens the model generated.
    pub generated_tokens: u64,
    /// Seconds spent in model calls.
    pub seconds: f64,
    /// Rejected texts per kind of reason (a text may count under several kinds).
    pub rejections: BTreeMap<String, u32>,
    /// Accepted texts holding a digit or a registry drug name found nowhere in the facts: a
    /// guard bug whenever this is not empty.
    pub guard_escapes: Vec<serde_json::Value>,
}

/// The section of the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExplanationQuality {
    /// `measured` or `skipped`.
    pub status: String,
    /// Why nothing was measured.
    pub reason: Option<String>,
    /// The model (GGUF file name).
    pub model: Option<String>,
    /// Findings in the labelled set.
    pub labelled_set: usize,
    /// Findings sampled from it.
    pub sample: usize,
    /// Which audience each sampled finding was explained for.
    pub audiences: Option<String>,
    /// Cap on generated tokens per explanation.
    pub max_tokens: u32,
    /// Decoding threads.
    pub threads: u32,
    /// The time the measurement was allowed.
    pub time_budget_seconds: u64,
    /// The time budget ran out: the figures cover fewer findings than sampled.
    pub stopped_early: bool,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Per language.
    pub languages: Vec<LanguageQuality>,
}

impl ExplanationQuality {
    /// Not measured, and why.
    pub fn skipped(reason: impl Into<String>) -> ExplanationQuality {
        ExplanationQuality { status: "skipped".into(), reason: Some(reason.into()), ..ExplanationQuality::default() }
    }

    /// True when figures were measured.
    pub fn measured(&self) -> bool {
        self.status == "measured"
    }

    /// Every guard escape of every language.
    pub fn guard_escapes(&self) -> usize {
        self.languages.iter().map(|l| l.guard_escapes.len()).sum()
    }
}

/// How to measure.
#[derive(Debug, Clone)]
pub struct QualityConfig {
    /// Findings to sample; 0 skips the measurement.
    pub sample: usize,
    /// No model call starts after this long.
    pub time_budget: Duration,
    /// `rxgate-explainer`, or why it could not be found.
    pub explainer: Result<PathBuf, String>,
}

/// Where `rxgate-explainer` is: `explicit`, else `$RXGATE_EXPLAINER_BIN`, else beside
/// `beside` (the server binary or this executable: a workspace build puts them together).
pub fn find_explainer(explicit: Option<&Path>, beside: Option<&Path>) -> Result<PathBuf, String> {
    let candidate = explicit
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("RXGATE_EXPLAINER_BIN").filter(|b| !b.is_empty()).map(PathBuf::from))
        .or_else(|| {
            let dir = beside?.parent()?;
            Some(dir.join(format!("rxgate-explainer{}", std::env::consts::EXE_SUFFIX)))
        });
    match candidate {
        Some(bin) if bin.is_file() => Ok(bin),
        Some(bin) => Err(format!(
            "the explainer binary {} does not exist (cargo build --release -p rxgate-explainer, or set \
             RXGATE_EXPLAINER_BIN)",
            bin.display()
        )),
        None => Err("no explainer binary given (--explainer-bin or RXGATE_EXPLAINER_BIN)".into()),
    }
}

/// Runs the measurement. Never fails: what goes wrong is the skip reason.
pub fn measure(config: &QualityConfig) -> ExplanationQuality {
    if config.sample == 0 {
        return ExplanationQuality::skipped("not asked for (--explain-sample 0)");
    }
    let bin = match &config.explainer {
        Ok(bin) => bin,
        Err(reason) => return ExplanationQuality::skipped(reason.clone()),
    };
    match run(bin, config) {
        Ok(q) => q,
        Err(reason) => ExplanationQuality::skipped(reason),
    }
}

fn run(bin: &Path, config: &QualityConfig) -> Result<ExplanationQuality, String> {
    let mut child = Command::new(bin)
        .args(["faithfulness", "--sample", &config.sample.to_string()])
        .args(["--time-budget-secs", &config.time_budget.as_secs().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        // Its warnings (a model that failed to load) belong with the eval's own output.
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", bin.display()))?;
    let mut stdout = child.stdout.take().ok_or("no stdout from the explainer")?;
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        stdout.read_to_string(&mut out).map(|_| out)
    });
    // The budget bounds when the last model call starts; loading the model and finishing
    // that call need a little more.
    let deadline = Instant::now() + config.time_budget + Duration::from_secs(90);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{} faithfulness did not finish in time and was stopped", bin.display()));
            }
            Err(e) => return Err(format!("waiting for {}: {e}", bin.display())),
        }
    };
    let out =
        reader.join().map_err(|_| "the reader thread panicked")?.map_err(|e| format!("reading its output: {e}"))?;
    if !status.success() {
        return Err(format!("{} faithfulness failed ({status})", bin.display()));
    }
    serde_json::from_str::<ExplanationQuality>(out.trim())
        .map_err(|e| format!("could not read the answer of {} faithfulness: {e}", bin.display()))
}

fn pct(v: Option<f64>) -> String {
    v.map_or("—".to_string(), |v| format!("{:.1}%", v * 100.0))
}

/// The section as `rxgate eval` prints it.
pub fn table(q: &ExplanationQuality) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if !q.measured() {
        let _ = writeln!(
            out,
            "explanation quality: SKIPPED, no faithful rate reported: {}",
            q.reason.as_deref().unwrap_or("no reason given")
        );
        return out;
    }
    let _ = writeln!(
        out,
        "explanation quality: local model {} through the explanation guard; {} findings sampled from the labelled set \
         of {} ({}), greedy, at most {} tokens each, {} thread(s)",
        q.model.as_deref().unwrap_or("?"),
        q.sample,
        q.labelled_set,
        q.audiences.as_deref().unwrap_or("pharmacist and patient"),
        q.max_tokens,
        q.threads
    );
    let _ = writeln!(
        out,
        "{:<9} {:>6} {:>9} {:>8} {:>8} {:>9} {:>11} {:>8}",
        "language", "prompt", "explained", "faithful", "rate", "server ok", "tokens/expl", "s/expl"
    );
    for l in &q.languages {
        let per = |v: f64| if l.explained > 0 { format!("{:.1}", v / f64::from(l.explained)) } else { "—".into() };
        let _ = writeln!(
            out,
            "{:<9} {:>6} {:>9} {:>8} {:>8} {:>9} {:>11} {:>8}",
            l.language,
            l.prompt_version,
            l.explained,
            l.faithful,
            pct(l.rate),
            l.server_accepted,
            per(l.generated_tokens as f64),
            per(l.seconds)
        );
    }
    if q.stopped_early {
        let _ = writeln!(
            out,
            "the {} s budget ran out: the rates cover the findings explained, not all {} sampled",
            q.time_budget_seconds, q.sample
        );
    }
    let escapes = q.guard_escapes();
    if escapes > 0 {
        let _ =
            writeln!(out, "GUARD BUG: {escapes} accepted text(s) hold a number or drug name that is not in the facts:");
        for l in &q.languages {
            for e in &l.guard_escapes {
                let _ = writeln!(out, "  {e}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured() -> ExplanationQuality {
        serde_json::from_str(
            r#"{"status":"measured","model":"SmolLM2-135M-Instruct.Q4_1","labelled_set":58,"sample":24,
                "audiences":"alternating pharmacist, patient","max_tokens":80,"time_budget_seconds":120,
                "stopped_early":false,"seconds":61.5,
                "languages":[
                  {"language":"en","prompt_version":"v1","explained":24,"faithful":6,"rate":0.25,"server_accepted":5,
                   "generated_tokens":960,"seconds":30.0,"rejections":{"word not in the facts":12},"guard_escapes":[]},
                  {"language":"ms","prompt_version":"v1","explained":24,"faithful":0,"rate":0.0,"server_accepted":0,
                   "generated_tokens":1900,"seconds":31.0,"rejections":{"not written in ms":20},"guard_escapes":[]}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn the_table_states_the_model_the_sample_and_the_rate_per_language() {
        let text = table(&measured());
        assert!(text.contains("24 findings sampled from the labelled set of 58"), "{text}");
        assert!(text.contains("en") && text.contains("25.0%") && text.contains("0.0%"), "{text}");
        assert!(!text.contains("GUARD BUG"), "{text}");
    }

    #[test]
    fn a_skipped_measurement_says_why_and_reports_no_rate() {
        let q = ExplanationQuality::skipped(
            "explanations come from templates (no language model: models/x.gguf not found)",
        );
        let text = table(&q);
        assert!(text.contains("SKIPPED, no faithful rate reported") && text.contains("not found"), "{text}");
        assert!(!text.contains('%'), "{text}");
        assert_eq!(
            measure(&QualityConfig { sample: 0, time_budget: Duration::ZERO, explainer: Err("x".into()) }).status,
            "skipped"
        );
        let missing = QualityConfig { sample: 4, time_budget: Duration::ZERO, explainer: Err("no binary".into()) };
        assert_eq!(measure(&missing).reason.as_deref(), Some("no binary"));
    }

    #[test]
    fn an_accepted_text_with_an_invented_number_is_reported_as_a_guard_bug() {
        let mut q = measured();
        q.languages[0].guard_escapes.push(serde_json::json!({"case": "ddi:x", "not_in_facts": ["5"]}));
        assert_eq!(q.guard_escapes(), 1);
        assert!(table(&q).contains("GUARD BUG"));
    }

    #[test]
    fn a_missing_explainer_binary_is_a_reason_not_an_error() {
        let reason = find_explainer(Some(Path::new("/nonexistent/rxgate-explainer")), None).unwrap_err();
        assert!(reason.contains("does not exist"), "{reason}");
    }
}
