//! A language model behind the guard: the model rephrases the template text, the guard
//! checks every word against the facts, and the template is used when the guard says no.

use std::time::Instant;

use rxgate_guardrails::{DrugLexicon, GuardVerdict, check_explanation};

use crate::explainer::{ExplainRequest, Explainer, Explanation, ExplanationMeta, Source, Timings};
use crate::prompts::{PromptKind, RenderedPrompt, render_prompt};
use crate::template::{join_parts, render_template};

/// What a generator produced for one prompt.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Generation {
    pub text: String,
    pub prompt_tokens: u32,
    pub generated_tokens: u32,
    pub prompt_ms: f64,
    pub generate_ms: f64,
}

/// Why a generator produced nothing.
#[derive(Debug, thiserror::Error)]
#[error("generation failed: {0}")]
pub struct GenerateError(pub String);

/// Something that turns a chat prompt into text: llama.cpp in production, a fake in tests.
pub trait Generator {
    /// The model's name, recorded in every explanation it writes.
    fn model_name(&self) -> &str;
    fn generate(&self, prompt: &RenderedPrompt, max_tokens: u32) -> Result<Generation, GenerateError>;
}

/// Explains with a model, guarded; falls back to the template.
pub struct GuardedExplainer<G> {
    generator: G,
    lexicon: DrugLexicon,
    max_tokens: u32,
}

impl<G: Generator> GuardedExplainer<G> {
    pub fn new(generator: G, lexicon: DrugLexicon, max_tokens: u32) -> GuardedExplainer<G> {
        GuardedExplainer { generator, lexicon, max_tokens }
    }

    pub fn generator(&self) -> &G {
        &self.generator
    }
}

/// The model's answer without chat debris: surrounding quotes, a "Rewritten text:" lead-in,
/// and a trailing sentence cut off by the token cap.
fn tidy(text: &str) -> String {
    let mut t = text.trim();
    // A lead-in line ("Here's a rewritten version of the text in simple English:").
    if let Some((first, rest)) = t.split_once('\n')
        && first.trim_end().ends_with(':')
    {
        t = rest.trim();
    }
    for lead in ["Rewritten text:", "Rewrite:", "Text:", "Teks:", "Here is the rewritten text:"] {
        if let Some(rest) = t.strip_prefix(lead) {
            t = rest.trim();
        }
    }
    let t = t.trim_matches(|c| c == '"' || c == '“' || c == '”').trim();
    // Drop an unfinished last sentence (the token cap hit mid-sentence).
    if !t.ends_with(['.', '!', '?', ')'])
        && let Some(end) = t.rfind(['.', '!', '?'])
    {
        return t[..=end].to_string();
    }
    t.to_string()
}

impl<G: Generator> Explainer for GuardedExplainer<G> {
    fn explain(&self, request: &ExplainRequest) -> Explanation {
        self.explain_capped(request, self.max_tokens)
    }

    fn explain_capped(&self, request: &ExplainRequest, max_tokens: u32) -> Explanation {
        let max_tokens = max_tokens.min(self.max_tokens);
        let started = Instant::now();
        let template = render_template(&request.facts, request.language, request.audience);
        let kind = PromptKind::for_request(&request.facts, request.audience);
        let prompt = render_prompt(request.prompt_version, kind, request.language, &template.body, &request.facts);
        let mut meta = ExplanationMeta {
            source: Source::Template,
            model: Some(self.generator.model_name().to_string()),
            prompt_version: request.prompt_version,
            facts_hash: request.facts.hash(),
            language: request.language,
            audience: request.audience,
            prompt_tokens: 0,
            generated_tokens: 0,
            timings: Timings::default(),
            fallback_reasons: Vec::new(),
            rejected_text: None,
        };
        let (text, body) = match self.generator.generate(&prompt, max_tokens) {
            Ok(g) => {
                meta.prompt_tokens = g.prompt_tokens;
                meta.generated_tokens = g.generated_tokens;
                meta.timings.prompt_ms = g.prompt_ms;
                meta.timings.generate_ms = g.generate_ms;
                let candidate = tidy(&g.text);
                match check_explanation(&candidate, &request.facts, &template.body, request.language, &self.lexicon) {
                    GuardVerdict::Accepted => {
                        meta.source = Source::Llm;
                        (join_parts(&candidate, &template.footer), candidate)
                    }
                    GuardVerdict::Rejected { reasons } => {
                        let reasons: Vec<String> = reasons.iter().map(ToString::to_string).collect();
                        tracing::info!(
                            facts_hash = %meta.facts_hash,
                            language = %request.language,
                            prompt = %request.prompt_version,
                            reasons = ?reasons,
                            "explanation guard rejected the model's text; using the template"
                        );
                        meta.fallback_reasons = reasons;
                        meta.rejected_text = Some(candidate);
                        (template.joined(), template.body.clone())
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "model generation failed; using the template");
                meta.fallback_reasons = vec![e.to_string()];
                (template.joined(), template.body.clone())
            }
        };
        meta.timings.total_ms = started.elapsed().as_secs_f64() * 1000.0;
        Explanation { text, body, meta }
    }

    fn describe(&self) -> String {
        format!("llm:{} (guarded; template fallback)", self.generator.model_name())
    }
}

#[cfg(test)]
mod tests {
    use rxgate_guardrails::{Effect, ExplanationFacts, FindingDetail, Language, Mechanism, Severity};

    use super::*;
    use crate::explainer::Audience;
    use crate::prompts::PromptVersion;

    /// A generator that answers with a fixed text and remembers nothing.
    struct Fake(&'static str);

    impl Generator for Fake {
        fn model_name(&self) -> &str {
            "fake"
        }
        fn generate(&self, prompt: &RenderedPrompt, _max_tokens: u32) -> Result<Generation, GenerateError> {
            assert!(prompt.user.contains("clears amlodipine"), "the prompt carries the template text: {prompt:?}");
            Ok(Generation { text: self.0.to_string(), prompt_tokens: 10, generated_tokens: 20, ..Default::default() })
        }
    }

    /// A generator that answers with a fixed text whatever the prompt.
    struct FakeAny(&'static str);

    impl Generator for FakeAny {
        fn model_name(&self) -> &str {
            "fake"
        }
        fn generate(&self, _prompt: &RenderedPrompt, _max_tokens: u32) -> Result<Generation, GenerateError> {
            Ok(Generation { text: self.0.to_string(), ..Default::default() })
        }
    }

    fn request(language: Language) -> ExplainRequest {
        ExplainRequest {
            facts: ExplanationFacts {
                detail: FindingDetail::Interaction {
                    mechanism: Some(Mechanism::Inhibition {
                        actor: "clarithromycin".into(),
                        pathway: "CYP3A4".into(),
                        object: "amlodipine".into(),
                    }),
                },
                drugs: vec!["clarithromycin".into(), "amlodipine".into()],
                severity: Some(Severity::Major),
                effects: vec![Effect::LowBloodPressure],
                mechanism_text: String::new(),
                effect_text: String::new(),
                management_text: String::new(),
                other_names: vec![],
            },
            language,
            audience: Audience::Patient,
            prompt_version: PromptVersion::V2,
        }
    }

    #[test]
    fn an_accepted_rephrasing_is_shown_with_the_fixed_footer() {
        let e = GuardedExplainer::new(
            Fake(
                "\"Clarithromycin slows how your body clears amlodipine, so amlodipine builds up in your blood and your \
                 blood pressure can get too low.\"",
            ),
            DrugLexicon::default(),
            64,
        )
        .explain(&request(Language::En));
        assert_eq!(e.meta.source, Source::Llm, "{:?}", e.meta.fallback_reasons);
        assert_eq!(e.meta.model.as_deref(), Some("fake"));
        assert!(e.text.starts_with("Clarithromycin slows how"), "{}", e.text);
        assert!(e.text.ends_with("before you change how you take any medicine."), "{}", e.text);
    }

    #[test]
    fn the_smollm2_failure_falls_back_to_the_template_and_says_why() {
        let e = GuardedExplainer::new(
            Fake("Clarithromycin inhibits CYP3A4, which is responsible for producing amlodipine."),
            DrugLexicon::default(),
            64,
        )
        .explain(&request(Language::En));
        assert_eq!(e.meta.source, Source::Template);
        assert!(e.meta.fallback_reasons.iter().any(|r| r.contains("producing")), "{:?}", e.meta.fallback_reasons);
        assert!(e.text.starts_with("Clarithromycin slows down how your body clears amlodipine"), "{}", e.text);
        assert_eq!(e.meta.generated_tokens, 20);
    }

    #[test]
    fn english_text_for_a_malay_request_falls_back() {
        let e = GuardedExplainer::new(
            FakeAny("Clarithromycin slows how your body clears amlodipine, so amlodipine builds up in your blood."),
            DrugLexicon::default(),
            64,
        )
        .explain(&request(Language::Ms));
        assert_eq!(e.meta.source, Source::Template);
        assert!(e.text.contains("melambatkan penyingkiran"), "{}", e.text);
    }

    #[test]
    fn a_cut_off_sentence_is_dropped() {
        assert_eq!(tidy("Rewritten text: \"A b c. D e"), "A b c.");
        assert_eq!(tidy("A b c (x)"), "A b c (x)");
        assert_eq!(tidy("Here's a rewritten version:\n\n\"A b c.\""), "A b c.");
    }
}
