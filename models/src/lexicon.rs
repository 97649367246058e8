//! The drug lexicon the guard uses to recognise drug names.

use rxgate_guardrails::DrugLexicon;
use rxgate_knowledge::Registry;

/// Every generic name, synonym and brand of a registry.
pub fn lexicon_from_registry(registry: &Registry) -> DrugLexicon {
    DrugLexicon::from_registry(registry)
}

/// The lexicon of the registry compiled into rxgate (`tools/knowledge/data`). An empty
/// lexicon if that registry does not load (the guard then recognises drug names by shape).
pub fn bundled_lexicon() -> DrugLexicon {
    match rxgate_knowledge::load(&rxgate_knowledge::bundled_files()) {
        Ok(snapshot) => lexicon_from_registry(&snapshot.registry),
        Err(problems) => {
            tracing::warn!(problems = problems.len(), "bundled registry did not load; drug lexicon is empty");
            DrugLexicon::default()
        }
    }
}
