//! Shared by the scenario and property tests: the registry, loaded once — the bundled one,
//! or the folder named by `RXGATE_KNOWLEDGE_DIR` (to try a registry before it ships).

use std::sync::OnceLock;

use rxgate_knowledge::{Registry, Snapshot};

pub(crate) fn registry() -> &'static Registry {
    static SNAPSHOT: OnceLock<Snapshot> = OnceLock::new();
    &SNAPSHOT
        .get_or_init(|| match rxgate_knowledge::load(&files()) {
            Ok(s) => s,
            Err(problems) => {
                let lines: Vec<String> = problems.iter().take(30).map(|p| p.to_string()).collect();
                panic!("bundled registry does not validate:\n{}", lines.join("\n"))
            }
        })
        .registry
}

pub(crate) fn severity(text: &str) -> Option<rxgate_checks::Severity> {
    if text == "none" {
        None
    } else {
        Some(rxgate_knowledge::Severity::parse(text).unwrap_or_else(|| panic!("bad severity `{text}` in scenario")))
    }
}

/// Runs every case and reports all failures at once, by case name.
pub(crate) fn run_cases<C>(cases: &[C], name: impl Fn(&C) -> &str, check: impl Fn(&C) -> Result<(), String>) {
    let failures: Vec<String> =
        cases.iter().filter_map(|c| check(c).err().map(|e| format!("- {}\n    {e}", name(c)))).collect();
    assert!(failures.is_empty(), "{} of {} scenarios failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

fn files() -> Vec<rxgate_knowledge::SourceFile> {
    let Some(dir) = std::env::var_os("RXGATE_KNOWLEDGE_DIR") else { return rxgate_knowledge::bundled_files() };
    let dir = std::path::PathBuf::from(dir);
    rxgate_knowledge::FILES
        .iter()
        .filter_map(|(name, _)| {
            let text = std::fs::read_to_string(dir.join(name)).ok()?;
            Some(rxgate_knowledge::SourceFile { name: name.to_string(), text })
        })
        .collect()
}
