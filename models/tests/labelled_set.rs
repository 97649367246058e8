//! The labelled set itself: enough findings, and every template text of every finding
//! passes the guard (the template is the fallback, so a guard that rejects it is wrong).

use rxgate_models::labelled_set as dataset;
use rxgate_models::{Audience, Language, bundled_lexicon, check_explanation, render_template};

#[test]
fn the_labelled_set_has_at_least_fifty_findings_and_every_template_passes_the_guard() {
    let reg = dataset::registry();
    let cases = dataset::labelled_set(&reg, 400);
    assert!(cases.len() >= 50, "only {} findings", cases.len());
    let lexicon = bundled_lexicon();
    let mut failures = Vec::new();
    for case in &cases {
        for language in Language::ALL {
            for audience in Audience::ALL {
                let t = render_template(&case.facts, language, audience);
                let verdict = check_explanation(&t.body, &case.facts, "", language, &lexicon);
                if !verdict.is_accepted() {
                    failures.push(format!(
                        "{} {language} {}: {:?}\n    {}",
                        case.id,
                        audience.as_str(),
                        verdict.reasons(),
                        t.body
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} template texts rejected by the guard:\n{}", failures.len(), failures.join("\n"));
}
