//! The knowledge snapshot in force, and how a new one replaces it.
//!
//! Requests take an `Arc` of the current snapshot and keep it for their whole duration, so
//! a reload never changes the knowledge under a request in flight. A registry that fails
//! validation is never put in force: the previous snapshot stays.

use std::path::Path;
use std::sync::{Arc, RwLock};

use anyhow::Context;
use rxgate_knowledge::{Diagnostic, Snapshot, SourceFile};

pub(crate) struct KnowledgeStore {
    current: RwLock<Arc<Snapshot>>,
}

impl KnowledgeStore {
    pub(crate) fn new(snapshot: Snapshot) -> KnowledgeStore {
        KnowledgeStore { current: RwLock::new(Arc::new(snapshot)) }
    }

    pub(crate) fn current(&self) -> Arc<Snapshot> {
        // A poisoned lock only means a writer panicked between two valid states; the
        // snapshot inside is still a complete, validated one.
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Validates `files` and, only if they pass, puts them in force.
    pub(crate) fn reload(&self, files: &[SourceFile]) -> Result<Arc<Snapshot>, Vec<Diagnostic>> {
        let snapshot = Arc::new(rxgate_knowledge::load(files)?);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = snapshot.clone();
        Ok(snapshot)
    }
}

/// Reads the registry files of a folder. Missing optional files are skipped; the loader
/// reports missing required ones with their names.
pub(crate) fn read_dir(dir: &Path) -> anyhow::Result<Vec<SourceFile>> {
    if !dir.is_dir() {
        anyhow::bail!("{} is not a folder", dir.display());
    }
    let mut files = Vec::new();
    for (name, _) in rxgate_knowledge::FILES {
        let path = dir.join(name);
        if path.exists() {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            files.push(SourceFile { name: name.to_string(), text });
        }
    }
    Ok(files)
}

/// The registry named by `dir`, else by `RXGATE_KNOWLEDGE_DIR`, else the one built in.
pub(crate) fn load_initial(dir: Option<&Path>) -> anyhow::Result<Snapshot> {
    let env_dir = std::env::var_os("RXGATE_KNOWLEDGE_DIR").map(std::path::PathBuf::from);
    let files = match dir.map(Path::to_path_buf).or(env_dir) {
        Some(dir) => read_dir(&dir)?,
        None => rxgate_knowledge::bundled_files(),
    };
    rxgate_knowledge::load(&files).map_err(|problems| {
        let lines: Vec<String> = problems.iter().take(20).map(|p| p.to_string()).collect();
        anyhow::anyhow!("the knowledge registry failed validation ({} problems):\n{}", problems.len(), lines.join("\n"))
    })
}
