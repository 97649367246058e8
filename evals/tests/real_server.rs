//! One small suite through the real `rxgate mcp` binary, over a real rmcp client
//! connection. The binary is found from $RXGATE_BIN, else `$CARGO_TARGET_DIR` or the
//! workspace `target/` (`debug` then `release`); when none exists the test says so and
//! passes without running (build it with `cargo build -p rxgate`).

use std::path::PathBuf;

use rxgate_evals::judge::Outcome;
use rxgate_evals::suite::Suite;
use rxgate_evals::{ServerTarget, report, run_blocking};

fn rxgate_binary() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("RXGATE_BIN").map(PathBuf::from).filter(|p| p.exists()) {
        return Some(bin);
    }
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace.join("target"));
    let target = if target.is_relative() { workspace.join(target) } else { target };
    let exe = format!("rxgate{}", std::env::consts::EXE_SUFFIX);
    ["debug", "release"].iter().map(|profile| target.join(profile).join(&exe)).find(|p| p.exists())
}

const SMALL_SUITE: &str = r#"
[suite]
id = "smoke"
title = "Smoke"
category = "smoke"
tool = "ddi_check"

[[case]]
id = "simvastatin-itraconazole"
critical = true
source = "Itraconazole US PI (simvastatin contraindicated)"
input = { drugs = ["simvastatin", "itraconazole"] }
expect = { pair = ["simvastatin", "itraconazole"], min_severity = "major" }

[[case]]
id = "unknown-drug-is-not-a-pass"
critical = false
source = "rxgate contract (unknown is never safe)"
input = { drugs = ["zzqx-not-a-drug", "amlodipine"] }
expect = { alert = false }

[[case]]
id = "ace-thiazide-quiet"
critical = false
source = "Phansalkar 2013"
input = { drugs = ["enalapril", "indapamide"] }
expect = { alert = false, max_severity = "moderate" }
"#;

const PENDING_SUITE: &str = r#"
[suite]
id = "later"
title = "Later"
category = "later"
tool = "no_such_tool"

[[case]]
id = "x"
critical = true
source = "test"
input = {}
expect = {}
"#;

#[test]
fn a_small_suite_runs_through_the_real_rxgate_mcp() {
    let Some(bin) = rxgate_binary() else {
        eprintln!("SKIPPED: no rxgate binary (set RXGATE_BIN or run `cargo build -p rxgate`)");
        return;
    };
    let suites = vec![Suite::parse("smoke", SMALL_SUITE).unwrap(), Suite::parse("later", PENDING_SUITE).unwrap()];
    let run = run_blocking(&suites, &ServerTarget::ChildProcess(bin), false).unwrap();
    assert!(run.tools.iter().any(|t| t == "ddi_check"), "{:?}", run.tools);
    assert!(run.knowledge.is_some(), "results carry the knowledge stamp");
    let outcome =
        |id: &str| run.results.iter().find(|r| r.id == id).and_then(|r| r.judgement.clone()).map(|j| j.outcome);
    assert_eq!(outcome("simvastatin-itraconazole"), Some(Outcome::Caught));
    assert_eq!(outcome("unknown-drug-is-not-a-pass"), Some(Outcome::NotChecked));
    let later = run.results.iter().find(|r| r.suite == "later").unwrap();
    assert!(later.judgement.is_none());
    assert!(later.skipped.as_deref().unwrap().contains("tool not available"), "{:?}", later.skipped);

    let rows = report::category_rows(&run.results);
    let dir = tempfile::tempdir().unwrap();
    report::write_report(dir.path(), &run, &rows).unwrap();
    let html = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("Explanation quality"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("results.json")).unwrap()).unwrap();
    // Suites only: the section says it did not run, and gives no rate.
    assert_eq!(json["explanation_quality"]["status"], "skipped");
    assert!(json["explanation_quality"]["languages"].as_array().unwrap().is_empty());
    assert_eq!(json["skipped"], 1);
}
