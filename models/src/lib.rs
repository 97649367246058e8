//! Explanations of vetted findings for pharmacists and patients, in English and Malay.
//!
//! An [`Explainer`] turns the [`Facts`] of one finding (from the server's own run of the
//! checks, never from model text) into a short explanation. Two implementations:
//!
//! - [`TemplateExplainer`]: deterministic sentences in English and Malay, written from the
//!   facts alone. Always available; the reference for everything else.
//! - [`GuardedExplainer`] over a [`Generator`]: a local language model *rephrases the
//!   template text* in plainer words (it is never asked to reason about the interaction:
//!   small models get mechanisms wrong fluently). Every output goes through the guard
//!   ([`rxgate_guardrails::check_explanation`]); a rejected output is logged with its
//!   reasons and the template text is used instead. With the `llama` feature,
//!   [`llama::LlamaGenerator`] runs any GGUF model through llama.cpp.
//!
//! [`load_explainer`] picks the model explainer when the model file loads and the template
//! explainer otherwise, and says which in its [`Availability`].
//!
//! Every [`Explanation`] records where it came from: [`Source::Llm`] or
//! [`Source::Template`], the model, the prompt version, the SHA-256 of the facts, tokens
//! and timings.
//!
//! # Invariants
//!
//! - The text shown is either vetted template text or model text the guard accepted.
//! - A prompt contains only facts from tool results: the template text and drug names.
//! - Without the `llama` feature this crate is pure and deterministic.

mod config;
mod explainer;
mod guarded;
#[cfg(feature = "labelled-set")]
pub mod labelled_set;
mod lexicon;
#[cfg(feature = "llama")]
pub mod llama;
mod prompts;
mod template;

pub use config::{Availability, DEFAULT_MODEL_PATH, ModelConfig, load_explainer};
pub use explainer::{Audience, ExplainRequest, Explainer, Explanation, ExplanationMeta, Source, Timings};
pub use guarded::{GenerateError, Generation, Generator, GuardedExplainer};
pub use lexicon::{bundled_lexicon, lexicon_from_registry};
pub use prompts::{PromptKind, PromptVersion, RenderedPrompt, render_prompt};
pub use rxgate_guardrails::{
    DrugLexicon, Effect, ExplainableFinding, ExplanationFacts as Facts, FindingDetail, GuardVerdict, Language,
    Mechanism, Quantity, RejectReason, Severity, check_explanation, effects_in, findings_from_verification,
    mechanism_in,
};
pub use template::{TemplateExplainer, TemplateText, render_template};
