//! `rxgate-explainer faithfulness`, the binary `rxgate eval` runs for its explanation quality
//! section: with the real small model when `scripts/setup` fetched it, and without one.

use std::process::Command;

use serde_json::Value;

fn faithfulness(sample: &str, model: Option<&str>) -> Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rxgate-explainer"));
    cmd.args(["faithfulness", "--sample", sample, "--time-budget-secs", "60"]).env_remove("RXGATE_MODEL_MS");
    if let Some(model) = model {
        cmd.env("RXGATE_MODEL", model);
    }
    let out = cmd.output().expect("rxgate-explainer runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

#[test]
fn without_a_model_it_says_why_and_reports_no_rate() {
    let report = faithfulness("2", Some("/nonexistent/model.gguf"));
    assert_eq!(report["status"], "skipped", "{report}");
    let reason = report["reason"].as_str().unwrap();
    assert!(reason.contains("templates") && reason.contains("/nonexistent/model.gguf"), "{reason}");
    assert!(report.get("languages").is_none(), "{report}");
}

#[test]
fn with_the_model_it_reports_the_guards_verdicts_per_language() {
    let report = faithfulness("2", None);
    if report["status"] == "skipped" {
        eprintln!("SKIPPED: {} (run scripts/setup to fetch the model)", report["reason"]);
        return;
    }
    eprintln!("{report:#}");
    assert_eq!(report["sample"], 2);
    assert!(report["labelled_set"].as_u64().unwrap() >= 50, "{report}");
    let languages: Vec<&str> =
        report["languages"].as_array().unwrap().iter().map(|l| l["language"].as_str().unwrap()).collect();
    assert_eq!(languages, ["en", "ms"]);
    for l in report["languages"].as_array().unwrap() {
        let (explained, faithful) = (l["explained"].as_u64().unwrap(), l["faithful"].as_u64().unwrap());
        assert!(explained <= 2 && faithful <= explained, "{l}");
        assert!(l["server_accepted"].as_u64().unwrap() <= faithful, "{l}");
        // Whatever the rate, the guard never let a number or drug outside the facts through.
        assert_eq!(l["guard_escapes"], serde_json::json!([]), "{l}");
    }
}
