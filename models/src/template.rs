//! The deterministic template explainer: English and Malay sentences written from the
//! facts alone. It is what the model is asked to rephrase, and what is shown whenever there
//! is no model or the guard rejects the model's text.

use rxgate_guardrails::{Effect, ExplanationFacts, FindingDetail, Language, Mechanism, Severity};

use crate::explainer::{Audience, ExplainRequest, Explainer, Explanation, ExplanationMeta, Source, Timings};

/// A template explanation in two parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateText {
    /// The explanation proper: what a model may rephrase.
    pub body: String,
    /// Fixed lines that are always shown as written (the registry's management advice for
    /// the pharmacist; "talk to your pharmacist" for the patient). Never given to a model,
    /// because advice is exactly what the guard forbids a model to write.
    pub footer: String,
}

impl TemplateText {
    /// Body and footer as one text.
    pub fn joined(&self) -> String {
        join_parts(&self.body, &self.footer)
    }
}

pub(crate) fn join_parts(body: &str, footer: &str) -> String {
    if footer.is_empty() { body.to_string() } else { format!("{body}\n{footer}") }
}

/// Explains from templates only.
#[derive(Debug, Clone, Copy, Default)]
pub struct TemplateExplainer;

impl Explainer for TemplateExplainer {
    fn explain(&self, request: &ExplainRequest) -> Explanation {
        let t = render_template(&request.facts, request.language, request.audience);
        Explanation {
            text: t.joined(),
            body: t.body.clone(),
            meta: ExplanationMeta {
                source: Source::Template,
                model: None,
                prompt_version: request.prompt_version,
                facts_hash: request.facts.hash(),
                language: request.language,
                audience: request.audience,
                prompt_tokens: 0,
                generated_tokens: 0,
                timings: Timings::default(),
                fallback_reasons: Vec::new(),
                rejected_text: None,
            },
        }
    }

    fn describe(&self) -> String {
        "template (no language model: explanations come from templates)".to_string()
    }
}

/// Renders the template text of a finding.
pub fn render_template(facts: &ExplanationFacts, language: Language, audience: Audience) -> TemplateText {
    let body = match (&facts.detail, language) {
        (FindingDetail::Interaction { mechanism }, Language::En) => interaction_en(facts, mechanism.as_ref(), audience),
        (FindingDetail::Interaction { mechanism }, Language::Ms) => interaction_ms(facts, mechanism.as_ref(), audience),
        (FindingDetail::Allergy { allergy, cross_reactivity_percent }, lang) => {
            allergy_text(facts, allergy, cross_reactivity_percent.as_deref(), lang, audience)
        }
        (FindingDetail::Dose { prescribed, limit, above }, lang) => {
            let p = format!("{} {}", prescribed.value, prescribed.unit);
            let l = format!("{} {}", limit.value, limit.unit);
            dose_text(facts, &p, &l, *above, lang, audience)
        }
        (FindingDetail::Halal { ingredient, source, doubtful }, lang) => {
            halal_text(facts, ingredient, source, *doubtful, lang, audience)
        }
        (FindingDetail::Counselling, lang) => counselling_text(facts, lang, audience),
    };
    TemplateText { body, footer: footer(facts, language, audience) }
}

fn footer(facts: &ExplanationFacts, language: Language, audience: Audience) -> String {
    match (audience, language) {
        (Audience::Pharmacist, Language::En) if !facts.management_text.is_empty() => {
            format!("Management: {}", facts.management_text)
        }
        (Audience::Pharmacist, Language::Ms) if !facts.management_text.is_empty() => {
            format!("Pengurusan (teks daftar, Bahasa Inggeris): {}", facts.management_text)
        }
        (Audience::Pharmacist, _) => String::new(),
        (Audience::Patient, Language::En) => {
            "Please talk to your pharmacist or doctor before you change how you take any medicine.".to_string()
        }
        (Audience::Patient, Language::Ms) => {
            "Sila berbincang dengan ahli farmasi atau doktor anda sebelum mengubah cara anda mengambil sebarang ubat."
                .to_string()
        }
    }
}

// ── words ───────────────────────────────────────────────────────────────────────────────

fn severity_word(severity: Option<Severity>, language: Language, audience: Audience) -> Option<&'static str> {
    let s = severity?;
    Some(match (language, audience, s) {
        (Language::En, _, Severity::Minor) => "minor",
        (Language::En, _, Severity::Moderate) => "moderate",
        (Language::En, Audience::Pharmacist, Severity::Major) => "major",
        (Language::En, Audience::Patient, Severity::Major) => "serious",
        (Language::En, Audience::Pharmacist, Severity::Contraindicated) => "contraindicated",
        (Language::En, Audience::Patient, Severity::Contraindicated) => "very serious",
        (Language::Ms, _, Severity::Minor) => "ringan",
        (Language::Ms, _, Severity::Moderate) => "sederhana",
        (Language::Ms, _, Severity::Major) => "serius",
        (Language::Ms, Audience::Pharmacist, Severity::Contraindicated) => "kontraindikasi",
        (Language::Ms, Audience::Patient, Severity::Contraindicated) => "sangat serius",
    })
}

fn effect_words(effect: Effect, language: Language, audience: Audience) -> &'static str {
    use Effect::*;
    match (language, audience, effect) {
        (Language::En, Audience::Pharmacist, e) => match e {
            LowBloodPressure => "hypotension",
            KidneyInjury => "acute kidney injury",
            MuscleDamage => "myopathy and rhabdomyolysis",
            Bleeding => "bleeding",
            HeartRhythm => "QT prolongation and arrhythmia",
            SerotoninSyndrome => "serotonin syndrome",
            HighPotassium => "hyperkalaemia",
            LowBloodSugar => "hypoglycaemia",
            Drowsiness => "deep sedation and respiratory depression",
            HighBloodPressure => "a hypertensive crisis",
            SlowHeartRate => "bradycardia",
            Seizures => "seizures",
            Toxicity => "toxicity",
            ReducedEffect => "loss of effect",
            AllergicReaction => "an allergic reaction",
            Adverse => "adverse effects",
        },
        (Language::En, Audience::Patient, e) => match e {
            LowBloodPressure => "low blood pressure (dizziness or fainting)",
            KidneyInjury => "kidney damage",
            MuscleDamage => "muscle pain and muscle damage",
            Bleeding => "bleeding or bruising",
            HeartRhythm => "a dangerous change in heart rhythm",
            SerotoninSyndrome => "serotonin syndrome (agitation, fever, shaking)",
            HighPotassium => "high potassium in the blood",
            LowBloodSugar => "low blood sugar",
            Drowsiness => "heavy drowsiness and slow breathing",
            HighBloodPressure => "a sudden, very large rise in blood pressure",
            SlowHeartRate => "a very slow heartbeat",
            Seizures => "fits (seizures)",
            Toxicity => "toxic side effects",
            ReducedEffect => "the medicine working less well",
            AllergicReaction => "an allergic reaction (rash, swelling or trouble breathing)",
            Adverse => "unwanted side effects",
        },
        (Language::Ms, _, e) => match e {
            LowBloodPressure => "tekanan darah rendah (pening atau pitam)",
            KidneyInjury => "kecederaan buah pinggang",
            MuscleDamage => "sakit dan kerosakan otot",
            Bleeding => "pendarahan atau lebam",
            HeartRhythm => "gangguan irama jantung",
            SerotoninSyndrome => "sindrom serotonin (gelisah, demam, menggigil)",
            HighPotassium => "kalium darah tinggi",
            LowBloodSugar => "gula darah rendah",
            Drowsiness => "rasa sangat mengantuk dan pernafasan perlahan",
            HighBloodPressure => "kenaikan tekanan darah yang mendadak",
            SlowHeartRate => "denyutan jantung yang terlalu perlahan",
            Seizures => "sawan",
            Toxicity => "kesan keracunan ubat",
            ReducedEffect => "ubat menjadi kurang berkesan",
            AllergicReaction => "tindak balas alahan (ruam, bengkak atau sesak nafas)",
            Adverse => "kesan sampingan",
        },
    }
}

fn list(items: &[String], language: Language) -> String {
    let and = match language {
        Language::En => "and",
        Language::Ms => "dan",
    };
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} {and} {last}", rest.join(", ")),
    }
}

fn effects_phrase(facts: &ExplanationFacts, language: Language, audience: Audience) -> String {
    let mut words: Vec<String> = Vec::new();
    for e in &facts.effects {
        let w = effect_words(*e, language, audience).to_string();
        if !words.contains(&w) {
            words.push(w);
        }
    }
    if words.is_empty() {
        words.push(effect_words(Effect::Adverse, language, audience).to_string());
    }
    list(&words, language)
}

fn capitalise(text: &str) -> String {
    let mut c = text.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn drugs_phrase(facts: &ExplanationFacts, language: Language) -> String {
    list(&facts.drugs, language)
}

fn pair(facts: &ExplanationFacts) -> (String, String) {
    let a = facts.drugs.first().cloned().unwrap_or_default();
    let b = facts.drugs.get(1).cloned().unwrap_or_else(|| a.clone());
    (a, b)
}

// ── interactions ────────────────────────────────────────────────────────────────────────

fn interaction_en(facts: &ExplanationFacts, mechanism: Option<&Mechanism>, audience: Audience) -> String {
    let effects = effects_phrase(facts, Language::En, audience);
    let severity = severity_word(facts.severity, Language::En, audience);
    let (a, b) = pair(facts);
    let mut out = match (mechanism, audience) {
        (Some(Mechanism::Inhibition { actor, pathway, object }), Audience::Pharmacist) => format!(
            "{} inhibits {pathway}, which clears {object}, so {object} levels rise. This increases the risk of {effects}.",
            capitalise(actor)
        ),
        (Some(Mechanism::Inhibition { actor, object, .. }), Audience::Patient) => format!(
            "{} slows down how your body clears {object}, so more {object} stays in your blood. This can cause {effects}.",
            capitalise(actor)
        ),
        (Some(Mechanism::Induction { actor, pathway, object }), Audience::Pharmacist) => format!(
            "{} induces {pathway}, which clears {object}, so {object} levels fall. This can lead to {effects}.",
            capitalise(actor)
        ),
        (Some(Mechanism::Induction { actor, object, .. }), Audience::Patient) => format!(
            "{} makes your body clear {object} faster, so less {object} stays in your blood. This can cause {effects}.",
            capitalise(actor)
        ),
        (Some(Mechanism::Additive { effect }), _) => format!(
            "{} and {b} can each cause {}; used together, the risk adds up.",
            capitalise(&a),
            effect_words(*effect, Language::En, audience)
        ),
        (None, Audience::Pharmacist) if !facts.mechanism_text.is_empty() => {
            format!("{} and {b} interact. {} This can cause {effects}.", capitalise(&a), facts.mechanism_text)
        }
        (None, _) => format!("{} and {b} can affect each other. This can cause {effects}.", capitalise(&a)),
    };
    if let Some(s) = severity {
        match audience {
            Audience::Pharmacist => out.push_str(&format!(" Severity: {s}.")),
            Audience::Patient => out.push_str(&format!(" This is a {s} interaction.")),
        }
    }
    out
}

fn interaction_ms(facts: &ExplanationFacts, mechanism: Option<&Mechanism>, audience: Audience) -> String {
    let effects = effects_phrase(facts, Language::Ms, audience);
    let severity = severity_word(facts.severity, Language::Ms, audience);
    let (a, b) = pair(facts);
    let mut out = match (mechanism, audience) {
        (Some(Mechanism::Inhibition { actor, pathway, object }), Audience::Pharmacist) => format!(
            "{} merencat {pathway}, laluan yang menyingkirkan {object}, jadi paras {object} dalam darah meningkat. \
             Ini meningkatkan risiko {effects}.",
            capitalise(actor)
        ),
        (Some(Mechanism::Inhibition { actor, object, .. }), Audience::Patient) => format!(
            "{} melambatkan penyingkiran {object} daripada badan anda, jadi lebih banyak {object} kekal dalam \
             darah. Ini boleh menyebabkan {effects}.",
            capitalise(actor)
        ),
        (Some(Mechanism::Induction { actor, pathway, object }), Audience::Pharmacist) => format!(
            "{} mengaruh {pathway}, laluan yang menyingkirkan {object}, jadi paras {object} dalam darah menurun. \
             Ini boleh menyebabkan {effects}.",
            capitalise(actor)
        ),
        (Some(Mechanism::Induction { actor, object, .. }), Audience::Patient) => format!(
            "{} mempercepatkan penyingkiran {object} daripada badan anda, jadi kurang {object} kekal dalam darah. \
             Ini boleh menyebabkan {effects}.",
            capitalise(actor)
        ),
        (Some(Mechanism::Additive { effect }), _) => format!(
            "{} dan {b} masing-masing boleh menyebabkan {}; apabila digunakan bersama, risikonya bertambah.",
            capitalise(&a),
            effect_words(*effect, Language::Ms, audience)
        ),
        (None, _) => format!("{} dan {b} boleh saling mempengaruhi. Ini boleh menyebabkan {effects}.", capitalise(&a)),
    };
    if let Some(s) = severity {
        match audience {
            Audience::Pharmacist => out.push_str(&format!(" Tahap keterukan: {s}.")),
            Audience::Patient => out.push_str(&format!(" Ini ialah interaksi yang {s}.")),
        }
    }
    out
}

// ── allergy, dose, halal, counselling ───────────────────────────────────────────────────

fn allergy_text(
    facts: &ExplanationFacts,
    allergy: &str,
    rate: Option<&str>,
    language: Language,
    audience: Audience,
) -> String {
    let drug = facts.drugs.first().cloned().unwrap_or_default();
    let severity = severity_word(facts.severity, language, audience);
    match (language, audience) {
        (Language::En, Audience::Pharmacist) => {
            let rate = rate.map(|r| format!(" (cross-reactivity about {r}%)")).unwrap_or_default();
            let mut s = format!(
                "{} may cause an allergic reaction in this patient, who has a recorded {allergy} allergy{rate}.",
                capitalise(&drug)
            );
            if let Some(sev) = severity {
                s.push_str(&format!(" Severity: {sev}."));
            }
            s
        }
        (Language::En, Audience::Patient) => {
            let mut s =
                format!("You have a recorded allergy to {allergy}, and {drug} can cause a similar allergic reaction.");
            if let Some(sev) = severity {
                s.push_str(&format!(" This is a {sev} warning."));
            }
            s
        }
        (Language::Ms, Audience::Pharmacist) => {
            let rate = rate.map(|r| format!(" (kereaktifan silang kira-kira {r}%)")).unwrap_or_default();
            let mut s = format!(
                "{} boleh menyebabkan tindak balas alahan pada pesakit ini, yang mempunyai rekod alahan \
                 {allergy}{rate}.",
                capitalise(&drug)
            );
            if let Some(sev) = severity {
                s.push_str(&format!(" Tahap keterukan: {sev}."));
            }
            s
        }
        (Language::Ms, Audience::Patient) => {
            let mut s = format!(
                "Anda mempunyai rekod alahan terhadap {allergy}, dan {drug} boleh menyebabkan tindak balas alahan \
                 yang serupa."
            );
            if let Some(sev) = severity {
                s.push_str(&format!(" Ini ialah amaran yang {sev}."));
            }
            s
        }
    }
}

fn dose_text(
    facts: &ExplanationFacts,
    prescribed: &str,
    limit: &str,
    above: bool,
    language: Language,
    audience: Audience,
) -> String {
    let drug = facts.drugs.first().cloned().unwrap_or_default();
    let effects = effects_phrase(facts, language, audience);
    match (language, above) {
        (Language::En, true) => format!(
            "The prescribed {drug} dose of {prescribed} is above the maximum of {limit}. Too much {drug} can cause \
             {effects}."
        ),
        (Language::En, false) => format!(
            "The prescribed {drug} dose of {prescribed} is below the minimum of {limit}. Too little {drug} may not \
             work well enough."
        ),
        (Language::Ms, true) => format!(
            "Dos {drug} yang ditetapkan, {prescribed}, melebihi had maksimum {limit}. Terlalu banyak {drug} boleh \
             menyebabkan {effects}."
        ),
        (Language::Ms, false) => format!(
            "Dos {drug} yang ditetapkan, {prescribed}, kurang daripada had minimum {limit}. Dos yang terlalu rendah \
             mungkin tidak cukup berkesan."
        ),
    }
}

fn halal_source_ms(source: &str) -> String {
    match source.to_lowercase().as_str() {
        "porcine" | "pig" | "pork" => "babi".to_string(),
        "bovine" | "cow" | "cattle" => "lembu".to_string(),
        "animal" => "haiwan".to_string(),
        "fish" | "marine" => "ikan".to_string(),
        "plant" | "vegetable" => "tumbuhan".to_string(),
        "synthetic" => "sintetik".to_string(),
        "alcohol" | "ethanol" => "alkohol".to_string(),
        "unknown" => "yang tidak diketahui".to_string(),
        other => other.to_string(),
    }
}

fn halal_text(
    facts: &ExplanationFacts,
    ingredient: &str,
    source: &str,
    doubtful: bool,
    language: Language,
    audience: Audience,
) -> String {
    let drug = drugs_phrase(facts, language);
    match (language, audience, doubtful) {
        (Language::En, Audience::Pharmacist, false) => {
            format!("{} contains {ingredient} ({source} source), so it is not halal.", capitalise(&drug))
        }
        (Language::En, Audience::Pharmacist, true) => {
            format!("{} contains {ingredient} ({source} source), so its halal status is doubtful.", capitalise(&drug))
        }
        (Language::En, Audience::Patient, false) => {
            format!("{} contains {ingredient} ({source} source), so this product is not halal.", capitalise(&drug))
        }
        (Language::En, Audience::Patient, true) => format!(
            "{} contains {ingredient} ({source} source), so it is not certain that this product is halal.",
            capitalise(&drug)
        ),
        (Language::Ms, _, false) => format!(
            "{} mengandungi {ingredient} daripada sumber {}, jadi produk ini tidak halal.",
            capitalise(&drug),
            halal_source_ms(source)
        ),
        (Language::Ms, _, true) => format!(
            "{} mengandungi {ingredient} daripada sumber {}, jadi status halal produk ini diragui (syubhah).",
            capitalise(&drug),
            halal_source_ms(source)
        ),
    }
}

fn counselling_text(facts: &ExplanationFacts, language: Language, audience: Audience) -> String {
    let drugs = drugs_phrase(facts, language);
    let effects = effects_phrase(facts, language, audience);
    match (language, audience) {
        (Language::En, Audience::Pharmacist) => {
            format!("Counsel the patient on {drugs}: report {effects} at once.")
        }
        (Language::En, Audience::Patient) => {
            format!("While you are on {drugs}, tell your pharmacist or doctor straight away if you notice {effects}.")
        }
        (Language::Ms, Audience::Pharmacist) => {
            format!("Nasihatkan pesakit tentang {drugs}: laporkan {effects} dengan segera.")
        }
        (Language::Ms, Audience::Patient) => format!(
            "Semasa anda menggunakan {drugs}, beritahu ahli farmasi atau doktor dengan segera jika anda mengalami \
             {effects}."
        ),
    }
}

#[cfg(test)]
mod tests {
    use rxgate_guardrails::{DrugLexicon, Quantity, check_explanation};

    use super::*;
    use crate::prompts::PromptVersion;

    fn clarithromycin_amlodipine() -> ExplanationFacts {
        ExplanationFacts {
            detail: FindingDetail::Interaction {
                mechanism: Some(Mechanism::Inhibition {
                    actor: "clarithromycin".into(),
                    pathway: "CYP3A4".into(),
                    object: "amlodipine".into(),
                }),
            },
            drugs: vec!["clarithromycin".into(), "amlodipine".into()],
            severity: Some(Severity::Major),
            effects: vec![Effect::LowBloodPressure, Effect::KidneyInjury],
            mechanism_text: "Clarithromycin strongly inhibits CYP3A4, the main clearance route of amlodipine.".into(),
            effect_text: String::new(),
            management_text: "Prefer azithromycin, which does not inhibit CYP3A4.".into(),
            other_names: vec!["azithromycin".into()],
        }
    }

    fn check(facts: &ExplanationFacts, language: Language, audience: Audience, expect: &str) {
        let got = render_template(facts, language, audience).joined();
        assert_eq!(got, expect, "\n{language} {audience:?} template changed");
    }

    #[test]
    fn clarithromycin_amlodipine_in_english_and_malay() {
        let f = clarithromycin_amlodipine();
        check(
            &f,
            Language::En,
            Audience::Pharmacist,
            "Clarithromycin inhibits CYP3A4, which clears amlodipine, so amlodipine levels rise. This increases the \
             risk of hypotension and acute kidney injury. Severity: major.\nManagement: Prefer azithromycin, which \
             does not inhibit CYP3A4.",
        );
        check(
            &f,
            Language::En,
            Audience::Patient,
            "Clarithromycin slows down how your body clears amlodipine, so more amlodipine stays in your blood. This \
             can cause low blood pressure (dizziness or fainting) and kidney damage. This is a serious interaction.\n\
             Please talk to your pharmacist or doctor before you change how you take any medicine.",
        );
        check(
            &f,
            Language::Ms,
            Audience::Patient,
            "Clarithromycin melambatkan penyingkiran amlodipine daripada badan anda, jadi lebih banyak amlodipine \
             kekal dalam darah. Ini boleh menyebabkan tekanan darah rendah (pening atau pitam) dan kecederaan buah \
             pinggang. Ini ialah interaksi yang serius.\nSila berbincang dengan ahli farmasi atau doktor anda sebelum \
             mengubah cara anda mengambil sebarang ubat.",
        );
    }

    #[test]
    fn dose_halal_allergy_and_counselling_templates() {
        let mut dose = clarithromycin_amlodipine();
        dose.detail = FindingDetail::Dose {
            prescribed: Quantity { value: "6".into(), unit: "g/day".into() },
            limit: Quantity { value: "4".into(), unit: "g/day".into() },
            above: true,
        };
        dose.drugs = vec!["paracetamol".into()];
        dose.effects = vec![Effect::Toxicity];
        dose.management_text = String::new();
        check(
            &dose,
            Language::Ms,
            Audience::Pharmacist,
            "Dos paracetamol yang ditetapkan, 6 g/day, melebihi had maksimum 4 g/day. Terlalu banyak paracetamol \
             boleh menyebabkan kesan keracunan ubat.",
        );
        let mut halal = dose.clone();
        halal.detail = FindingDetail::Halal { ingredient: "gelatin".into(), source: "porcine".into(), doubtful: false };
        check(
            &halal,
            Language::Ms,
            Audience::Pharmacist,
            "Paracetamol mengandungi gelatin daripada sumber babi, jadi produk ini tidak halal.",
        );
        let mut allergy = dose.clone();
        allergy.detail =
            FindingDetail::Allergy { allergy: "penicillin".into(), cross_reactivity_percent: Some("2".into()) };
        allergy.drugs = vec!["cefalexin".into()];
        allergy.severity = Some(Severity::Moderate);
        check(
            &allergy,
            Language::En,
            Audience::Pharmacist,
            "Cefalexin may cause an allergic reaction in this patient, who has a recorded penicillin allergy \
             (cross-reactivity about 2%). Severity: moderate.",
        );
        let mut counsel = clarithromycin_amlodipine();
        counsel.detail = FindingDetail::Counselling;
        check(
            &counsel,
            Language::En,
            Audience::Pharmacist,
            "Counsel the patient on clarithromycin and amlodipine: report hypotension and acute kidney injury at \
             once.\nManagement: Prefer azithromycin, which does not inhibit CYP3A4.",
        );
    }

    /// The template is the fallback: it must pass the guard itself, or the guard is wrong.
    #[test]
    fn every_template_body_passes_the_guard() {
        let lexicon = DrugLexicon::new(["clarithromycin", "amlodipine", "azithromycin", "paracetamol"]);
        let f = clarithromycin_amlodipine();
        for language in Language::ALL {
            for audience in Audience::ALL {
                let t = render_template(&f, language, audience);
                let verdict = check_explanation(&t.body, &f, "", language, &lexicon);
                assert!(verdict.is_accepted(), "{language} {audience:?}: {:?}\n{}", verdict.reasons(), t.body);
            }
        }
    }

    #[test]
    fn the_template_explainer_says_where_its_text_came_from() {
        let request = ExplainRequest {
            facts: clarithromycin_amlodipine(),
            language: Language::Ms,
            audience: Audience::Pharmacist,
            prompt_version: PromptVersion::V1,
        };
        let e = TemplateExplainer.explain(&request);
        assert_eq!(e.meta.source, Source::Template);
        assert_eq!(e.meta.model, None);
        assert_eq!(e.meta.facts_hash, request.facts.hash());
        assert!(e.text.starts_with("Clarithromycin merencat CYP3A4"), "{}", e.text);
    }
}
