//! Smoke test with the real small model: loads the GGUF file when it is there and produces a
//! guarded explanation of the amlodipine + clarithromycin finding in English and Malay.
//! Skips, saying so, when the model file is absent (run `scripts/setup` to fetch it) or the
//! crate was built without the `llama` feature.

use rxgate_models::labelled_set as dataset;
use rxgate_models::{
    Audience, Availability, ExplainRequest, Explainer, FindingDetail, Language, Mechanism, ModelConfig, PromptVersion,
    Source, TemplateExplainer, bundled_lexicon, check_explanation, load_explainer, render_template,
};

#[test]
fn the_registry_finding_for_clarithromycin_and_amlodipine_has_an_inhibition_mechanism() {
    let reg = dataset::registry();
    let case = dataset::interaction_case(&reg, "clarithromycin", "amlodipine").expect("a curated finding");
    let FindingDetail::Interaction { mechanism: Some(Mechanism::Inhibition { actor, pathway, object }) } =
        &case.facts.detail
    else {
        panic!("expected an inhibition mechanism, got {:?}", case.facts.detail)
    };
    assert_eq!((actor.as_str(), pathway.as_str(), object.as_str()), ("clarithromycin", "CYP3A4", "amlodipine"));
    // Without a model the template explains it, in both languages.
    for language in Language::ALL {
        let e = TemplateExplainer.explain(&ExplainRequest {
            facts: case.facts.clone(),
            language,
            audience: Audience::Patient,
            prompt_version: PromptVersion::DEFAULT,
        });
        assert_eq!(e.meta.source, Source::Template);
        assert!(e.text.contains("amlodipine"), "{}", e.text);
    }
}

#[test]
fn the_real_model_writes_a_guarded_explanation_of_clarithromycin_with_amlodipine() {
    let config = ModelConfig::from_env();
    let Some(path) = config.resolved_model_path() else {
        eprintln!(
            "SKIPPED: no model file at {} (run scripts/setup, or set RXGATE_MODEL); explanations would come from \
             templates",
            config.model_path.display()
        );
        return;
    };
    if !cfg!(feature = "llama") {
        eprintln!("SKIPPED: rxgate-models built without the `llama` feature; {} not loaded", path.display());
        return;
    }
    let (explainer, availability) = load_explainer(&config);
    assert!(matches!(availability, Availability::Model { .. }), "{}", availability.notice());
    eprintln!("{}", availability.notice());

    let reg = dataset::registry();
    let case = dataset::interaction_case(&reg, "clarithromycin", "amlodipine").expect("a curated finding");
    let lexicon = bundled_lexicon();
    for language in Language::ALL {
        for audience in Audience::ALL {
            let e = explainer.explain(&ExplainRequest {
                facts: case.facts.clone(),
                language,
                audience,
                prompt_version: PromptVersion::DEFAULT,
            });
            eprintln!(
                "[{language} {}] source={} tokens={} ({:.0} ms) rejected={:?} model text={:?}\n{}\n",
                audience.as_str(),
                e.meta.source,
                e.meta.generated_tokens,
                e.meta.timings.total_ms,
                e.meta.fallback_reasons,
                e.meta.rejected_text,
                e.text
            );
            assert_eq!(e.meta.facts_hash, case.facts.hash());
            assert!(e.meta.model.is_some());
            assert!(e.meta.generated_tokens > 0, "the model generated nothing");
            assert!(e.meta.generated_tokens <= config.max_tokens);
            match e.meta.source {
                // Whatever was shown from the model passed the guard.
                Source::Llm => {
                    let template = render_template(&case.facts, language, audience);
                    let body = e.text.strip_suffix(template.footer.as_str()).unwrap_or(&e.text).trim_end();
                    let verdict = check_explanation(body, &case.facts, &template.body, language, &lexicon);
                    assert!(verdict.is_accepted(), "{body}");
                }
                Source::Template => assert!(!e.meta.fallback_reasons.is_empty()),
            }
        }
    }
}
