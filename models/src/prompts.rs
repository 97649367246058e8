//! Versioned prompts from `prompts/` (compiled in), and how a request picks one.

use std::fmt;

use rxgate_guardrails::{ExplanationFacts, FindingDetail, Language};

use crate::explainer::Audience;

/// A version of the prompt set; explanations record the version they were written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PromptVersion {
    /// A short instruction in the target language.
    V1,
    /// Explicit rules in an English system prompt; drug names repeated.
    V2,
}

impl PromptVersion {
    pub const ALL: [PromptVersion; 2] = [PromptVersion::V1, PromptVersion::V2];
    /// The version used when nothing else is asked for: the best measured faithful rate
    /// (SmolLM2-135M, 54 findings in English: v1 46%, v2 43%; Malay ~0% for both). With the
    /// closed vocabulary, v1 in English: 31 of 116 outputs (27%; v2 not re-measured).
    pub const DEFAULT: PromptVersion = PromptVersion::V1;

    pub fn as_str(self) -> &'static str {
        match self {
            PromptVersion::V1 => "v1",
            PromptVersion::V2 => "v2",
        }
    }

    pub fn parse(text: &str) -> Option<PromptVersion> {
        PromptVersion::ALL.into_iter().find(|v| v.as_str() == text)
    }
}

impl fmt::Display for PromptVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which prompt of a version a finding uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    InteractionPharmacist,
    Patient,
    Counselling,
    DoseWarning,
    HalalFlag,
}

impl PromptKind {
    pub fn for_request(facts: &ExplanationFacts, audience: Audience) -> PromptKind {
        match (audience, &facts.detail) {
            (Audience::Patient, _) => PromptKind::Patient,
            (Audience::Pharmacist, FindingDetail::Interaction { .. } | FindingDetail::Allergy { .. }) => {
                PromptKind::InteractionPharmacist
            }
            (Audience::Pharmacist, FindingDetail::Dose { .. }) => PromptKind::DoseWarning,
            (Audience::Pharmacist, FindingDetail::Halal { .. }) => PromptKind::HalalFlag,
            (Audience::Pharmacist, FindingDetail::Counselling) => PromptKind::Counselling,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PromptKind::InteractionPharmacist => "interaction_pharmacist",
            PromptKind::Patient => "patient",
            PromptKind::Counselling => "counselling",
            PromptKind::DoseWarning => "dose_warning",
            PromptKind::HalalFlag => "halal_flag",
        }
    }
}

macro_rules! prompt_files {
    ($($v:ident / $k:literal),* $(,)?) => {
        fn raw(version: PromptVersion, kind: PromptKind, language: Language) -> &'static str {
            match (version.as_str(), kind.as_str(), language) {
                $(
                    (stringify!($v), $k, Language::En) => include_str!(concat!("../../prompts/", stringify!($v), "/", $k, ".en.txt")),
                    (stringify!($v), $k, Language::Ms) => include_str!(concat!("../../prompts/", stringify!($v), "/", $k, ".ms.txt")),
                )*
                _ => unreachable!("every version has every kind in both languages"),
            }
        }
    };
}

prompt_files![
    v1 / "interaction_pharmacist",
    v1 / "patient",
    v1 / "counselling",
    v1 / "dose_warning",
    v1 / "halal_flag",
    v2 / "interaction_pharmacist",
    v2 / "patient",
    v2 / "counselling",
    v2 / "dose_warning",
    v2 / "halal_flag",
];

/// A prompt ready for the model's chat template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedPrompt {
    pub system: String,
    pub user: String,
}

/// Fills a prompt with the template text to rephrase and the finding's drug names — the
/// only things a prompt may contain.
pub fn render_prompt(
    version: PromptVersion,
    kind: PromptKind,
    language: Language,
    reference: &str,
    facts: &ExplanationFacts,
) -> RenderedPrompt {
    let text = raw(version, kind, language);
    let (system, user) = text.split_once("\n---\n").unwrap_or(("", text));
    let drugs = facts.drugs.join(", ");
    let fill = |s: &str| s.replace("{reference}", reference).replace("{drugs}", &drugs).trim().to_string();
    RenderedPrompt { system: fill(system), user: fill(user) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prompt_has_a_system_part_and_the_reference_placeholder() {
        for v in PromptVersion::ALL {
            for k in [
                PromptKind::InteractionPharmacist,
                PromptKind::Patient,
                PromptKind::Counselling,
                PromptKind::DoseWarning,
                PromptKind::HalalFlag,
            ] {
                for l in Language::ALL {
                    let raw = raw(v, k, l);
                    assert!(raw.contains("\n---\n"), "{v}/{}.{l}: no system part", k.as_str());
                    assert!(raw.contains("{reference}"), "{v}/{}.{l}: no {{reference}}", k.as_str());
                }
            }
        }
    }
}
