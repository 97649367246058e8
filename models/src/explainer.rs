//! The explainer trait and what it returns.

use std::fmt;

use rxgate_guardrails::{ExplanationFacts, Language};

use crate::prompts::PromptVersion;

/// Who reads the explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Audience {
    Pharmacist,
    Patient,
}

impl Audience {
    pub const ALL: [Audience; 2] = [Audience::Pharmacist, Audience::Patient];

    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Pharmacist => "pharmacist",
            Audience::Patient => "patient",
        }
    }

    pub fn parse(text: &str) -> Option<Audience> {
        match text {
            "pharmacist" => Some(Audience::Pharmacist),
            "patient" => Some(Audience::Patient),
            _ => None,
        }
    }
}

/// One explanation to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainRequest {
    pub facts: ExplanationFacts,
    pub language: Language,
    pub audience: Audience,
    pub prompt_version: PromptVersion,
}

/// Where the text of an explanation came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Written by the language model and accepted by the guard.
    Llm,
    /// The deterministic template (no model, or the guard rejected the model's text).
    Template,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Llm => "llm",
            Source::Template => "template",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Wall-clock milliseconds spent on one explanation (zero for templates).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Timings {
    /// Reading the prompt (prefill).
    pub prompt_ms: f64,
    /// Generating the answer.
    pub generate_ms: f64,
    /// Everything, including the guard.
    pub total_ms: f64,
}

/// Everything needed to audit an explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplanationMeta {
    pub source: Source,
    /// The model file's name (`None` for templates written without a model).
    pub model: Option<String>,
    pub prompt_version: PromptVersion,
    /// SHA-256 (hex) of the canonical encoding of the facts.
    pub facts_hash: String,
    pub language: Language,
    pub audience: Audience,
    pub prompt_tokens: u32,
    pub generated_tokens: u32,
    pub timings: Timings,
    /// Why the model's text was not used (guard reasons or a generation error); empty when
    /// the model's text was accepted or no model was asked.
    pub fallback_reasons: Vec<String>,
    /// The model's text when the guard rejected it, kept for audit and evaluation only.
    pub rejected_text: Option<String>,
}

/// An explanation and its metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The text to show: the explanation, then the fixed lines (management for the
    /// pharmacist, "talk to your pharmacist" for the patient).
    pub text: String,
    /// The explanation proper, without the fixed lines: what the guard checked (model
    /// text) or the template body. This is what the server guards again and stores.
    pub body: String,
    pub meta: ExplanationMeta,
}

/// Writes an explanation of one finding. Never fails: an explainer that cannot use its
/// model falls back to the template and says so in the metadata.
pub trait Explainer {
    fn explain(&self, request: &ExplainRequest) -> Explanation;

    /// Like [`Explainer::explain`], generating at most `max_tokens` (a caller's budget);
    /// explainers without a model ignore the cap.
    fn explain_capped(&self, request: &ExplainRequest, max_tokens: u32) -> Explanation {
        let _ = max_tokens;
        self.explain(request)
    }

    /// A short description for logs and the console ("template", "llm:SmolLM2-…").
    fn describe(&self) -> String;
}
