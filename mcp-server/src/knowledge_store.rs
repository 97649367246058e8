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
    current: RwLock<InForce>,
}

/// A snapshot and when it was put in force (reported by `/healthz`).
#[derive(Clone)]
struct InForce {
    snapshot: Arc<Snapshot>,
    loaded_at: chrono::DateTime<chrono::Utc>,
}

impl KnowledgeStore {
    pub(crate) fn new(snapshot: Snapshot) -> KnowledgeStore {
        KnowledgeStore { current: RwLock::new(InForce { snapshot: Arc::new(snapshot), loaded_at: chrono::Utc::now() }) }
    }

    pub(crate) fn current(&self) -> Arc<Snapshot> {
        self.in_force().snapshot
    }

    /// The snapshot in force and when it was loaded.
    pub(crate) fn current_with_loaded_at(&self) -> (Arc<Snapshot>, chrono::DateTime<chrono::Utc>) {
        let InForce { snapshot, loaded_at } = self.in_force();
        (snapshot, loaded_at)
    }

    fn in_force(&self) -> InForce {
        // A poisoned lock only means a writer panicked between two valid states; the
        // snapshot inside is still a complete, validated one.
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Validates `files` and, only if they pass, puts them in force.
    pub(crate) fn reload(&self, files: &[SourceFile]) -> Result<Arc<Snapshot>, Vec<Diagnostic>> {
        let snapshot = Arc::new(rxgate_knowledge::load(files)?);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) =
            InForce { snapshot: snapshot.clone(), loaded_at: chrono::Utc::now() };
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

/// The registry in `dir`, else the one built in.
pub(crate) fn load_initial(dir: Option<&Path>) -> anyhow::Result<Snapshot> {
    let files = match dir {
        Some(dir) => read_dir(dir)?,
        None => rxgate_knowledge::bundled_files(),
    };
    rxgate_knowledge::load(&files).map_err(|problems| {
        let lines: Vec<String> = problems.iter().take(20).map(|p| p.to_string()).collect();
        anyhow::anyhow!("the knowledge registry failed validation ({} problems):\n{}", problems.len(), lines.join("\n"))
    })
}

/// Re-reads `dir` on every SIGHUP and puts it in force if it validates; otherwise logs
/// every problem and keeps serving the snapshot in force.
pub(crate) async fn reload_on_sighup(store: Arc<KnowledgeStore>, dir: std::path::PathBuf) {
    let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP; knowledge reload by signal is off");
        return;
    };
    while hangups.recv().await.is_some() {
        let result = read_dir(&dir).map_err(|e| vec![e.to_string()]).and_then(|files| {
            store.reload(&files).map_err(|problems| problems.iter().map(ToString::to_string).collect())
        });
        match result {
            Ok(s) => tracing::info!(version = %s.version, hash = %s.hash, "knowledge reloaded"),
            Err(problems) => {
                tracing::error!(count = problems.len(), first = %problems.first().cloned().unwrap_or_default(),
                    "knowledge reload refused; the previous snapshot stays in force")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registry_that_fails_validation_is_never_put_in_force() {
        let files = rxgate_knowledge::bundled_files();
        let store = KnowledgeStore::new(rxgate_knowledge::load(&files).expect("bundled registry valid"));
        let before = store.current();
        let broken: Vec<SourceFile> = files
            .iter()
            .map(|f| {
                let mut f = f.clone();
                if f.name == "sources.csv" {
                    // Drop every citation: every fact now points at a missing source.
                    f.text = f.text.lines().next().unwrap_or("").to_string() + "\n";
                }
                f
            })
            .collect();
        assert!(store.reload(&broken).is_err());
        assert!(Arc::ptr_eq(&before, &store.current()), "the previous snapshot must stay in force");

        let mut changed = files.clone();
        changed.iter_mut().find(|f| f.name == "sources.csv").expect("sources").text.push('\n');
        let after = store.reload(&changed).expect("valid registry accepted");
        assert_ne!(after.hash, before.hash);
        assert_eq!(store.current().hash, after.hash);
    }
}
