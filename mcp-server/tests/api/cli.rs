//! `rxgate knowledge validate` as an operator uses it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn rxgate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rxgate"))
}

fn bundled_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/knowledge/data")
}

fn copy_registry(to: &Path) {
    for entry in std::fs::read_dir(bundled_dir()).expect("registry folder") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

#[test]
fn validate_accepts_the_bundled_registry() {
    let out = rxgate().args(["knowledge", "validate"]).arg(bundled_dir()).output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("valid"), "{stdout}");
}

#[test]
fn validate_points_at_the_broken_cell_and_exits_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_registry(dir.path());
    let generics = dir.path().join("generics.csv");
    let text = std::fs::read_to_string(&generics).expect("read");
    let row = text.lines().position(|l| l.starts_with("amlodipine,")).expect("amlodipine row");
    let broken: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| if i == row { l.replacen("dihydropyridine_ccb", "no_such_class", 1) } else { l.to_string() })
        .collect();
    std::fs::write(&generics, broken.join("\n") + "\n").expect("write");

    let out = rxgate().args(["knowledge", "validate"]).arg(dir.path()).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains("unknown-class"))
        .unwrap_or_else(|| panic!("no unknown-class line in {stdout}"));
    let col = broken[row].find("no_such_class").map(|c| c + 1).expect("col");
    let expected_prefix = format!("{}:{}:", generics.display(), row + 1);
    assert!(line.starts_with(&expected_prefix), "{line} should start with {expected_prefix}");
    assert!(line.contains("no_such_class"), "{line}");
    // The column points at the `classes` cell, which starts at or before the bad id.
    let reported_col: usize = line[expected_prefix.len()..].split(':').next().unwrap().parse().expect("column");
    assert!(reported_col <= col, "column {reported_col} is past the bad id at {col}");
}

#[test]
fn validate_reports_a_missing_folder_clearly() {
    let out = rxgate().args(["knowledge", "validate", "/no/such/folder"]).output().expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a folder"));
}
