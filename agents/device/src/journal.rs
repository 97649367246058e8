//! A file-backed, append-only journal: the agent's memory of every scan and print job
//! until the server has answered for it.
//!
//! Why a journal file and not SQLite: one process writes it, strictly in arrival order, and
//! only ever appends; replay order is file order; a crash mid-write can only tear the last
//! line, which is skipped on reading (that entry was never acknowledged to anyone, and a
//! torn scan line never reached the server). Each append is flushed to disk (`sync_data`)
//! before the scan is posted, so a scan the server answered is always on disk first. It
//! needs no schema, no migrations and no native library, and an operator can read it with
//! `cat`. Acknowledged entries are dropped by rewriting the file (write a temporary file,
//! sync, rename) when it is opened and whenever nothing is pending.
//!
//! Lines are JSON: `{"op":"add","key","item"}`, `{"op":"note","key","item"}` (the latest
//! state of an entry, e.g. "printed, not yet reported") and `{"op":"done","key"}`.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// An entry not yet acknowledged.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub item: Value,
    /// The latest note, if any.
    pub note: Option<Value>,
}

/// See the module documentation.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    pending: Vec<Entry>,
    /// Lines in the file, to know when a rewrite is worth it.
    lines: usize,
}

impl Journal {
    /// Opens (creating) the journal at `path`, reads what is pending and compacts the file.
    pub fn open(path: &Path) -> std::io::Result<Journal> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut pending: Vec<Entry> = Vec::new();
        if path.exists() {
            let reader = BufReader::new(File::open(path)?);
            let lines: Vec<String> = reader.lines().collect::<Result<_, _>>()?;
            let last = lines.len().saturating_sub(1);
            for (index, line) in lines.iter().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let value: Value = match serde_json::from_str(line) {
                    Ok(v) => v,
                    Err(e) if index == last => {
                        tracing::warn!(path = %path.display(), error = %e, "torn last journal line skipped");
                        continue;
                    }
                    Err(e) => {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            format!("{}:{}: {e}", path.display(), index + 1),
                        ));
                    }
                };
                let key = value["key"].as_str().unwrap_or_default().to_string();
                match value["op"].as_str() {
                    Some("add") if !pending.iter().any(|e| e.key == key) => {
                        pending.push(Entry { key, item: value["item"].clone(), note: None })
                    }
                    Some("note") => {
                        if let Some(e) = pending.iter_mut().find(|e| e.key == key) {
                            e.note = Some(value["item"].clone());
                        }
                    }
                    Some("done") => pending.retain(|e| e.key != key),
                    _ => {}
                }
            }
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let mut journal = Journal { path: path.to_path_buf(), file, pending, lines: usize::MAX };
        journal.compact()?;
        Ok(journal)
    }

    /// Entries not yet acknowledged, oldest first.
    pub fn pending(&self) -> &[Entry] {
        &self.pending
    }

    /// Whether `key` is pending.
    pub fn contains(&self, key: &str) -> bool {
        self.pending.iter().any(|e| e.key == key)
    }

    fn write(&mut self, line: &Value) -> std::io::Result<()> {
        let mut text = line.to_string();
        text.push('\n');
        self.file.write_all(text.as_bytes())?;
        self.file.sync_data()?;
        self.lines += 1;
        Ok(())
    }

    /// Records a new entry, on disk before it returns. A key already pending is left as it is.
    pub fn add(&mut self, key: &str, item: Value) -> std::io::Result<()> {
        if self.contains(key) {
            return Ok(());
        }
        self.write(&json!({"op": "add", "key": key, "item": item}))?;
        self.pending.push(Entry { key: key.to_string(), item, note: None });
        Ok(())
    }

    /// Records the latest state of a pending entry.
    pub fn note(&mut self, key: &str, item: Value) -> std::io::Result<()> {
        self.write(&json!({"op": "note", "key": key, "item": item}))?;
        if let Some(e) = self.pending.iter_mut().find(|e| e.key == key) {
            e.note = Some(item);
        }
        Ok(())
    }

    /// Acknowledges an entry: it will not be replayed again.
    pub fn done(&mut self, key: &str) -> std::io::Result<()> {
        self.write(&json!({"op": "done", "key": key}))?;
        self.pending.retain(|e| e.key != key);
        if self.pending.is_empty() && self.lines > 1000 {
            self.compact()?;
        }
        Ok(())
    }

    /// Rewrites the file with only what is pending.
    fn compact(&mut self) -> std::io::Result<()> {
        let tmp = self.path.with_extension("compact");
        {
            let mut out = File::create(&tmp)?;
            for e in &self.pending {
                writeln!(out, "{}", json!({"op": "add", "key": e.key, "item": e.item}))?;
                if let Some(note) = &e.note {
                    writeln!(out, "{}", json!({"op": "note", "key": e.key, "item": note}))?;
                }
            }
            out.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        self.file = OpenOptions::new().append(true).open(&self.path)?;
        self.lines = self.pending.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_entries_survive_a_restart_in_order_and_acknowledged_ones_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scans.jsonl");
        {
            let mut j = Journal::open(&path).unwrap();
            for k in ["a", "b", "c"] {
                j.add(k, json!({"scan": k})).unwrap();
            }
            j.note("c", json!({"tries": 1})).unwrap();
            j.done("a").unwrap();
        }
        let j = Journal::open(&path).unwrap();
        let keys: Vec<&str> = j.pending().iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["b", "c"]);
        assert_eq!(j.pending()[1].note, Some(json!({"tries": 1})));
    }

    #[test]
    fn a_torn_last_line_is_skipped_but_a_corrupt_middle_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scans.jsonl");
        std::fs::write(&path, "{\"op\":\"add\",\"key\":\"a\",\"item\":1}\n{\"op\":\"add\",\"ke").unwrap();
        assert_eq!(Journal::open(&path).unwrap().pending().len(), 1);
        std::fs::write(&path, "garbage\n{\"op\":\"add\",\"key\":\"a\",\"item\":1}\n").unwrap();
        assert!(Journal::open(&path).is_err());
    }
}
