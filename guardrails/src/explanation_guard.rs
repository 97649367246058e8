//! The explanation guard: every sentence a language model writes about a finding is checked
//! against the vetted facts it was given before anyone sees it.
//!
//! A small model rephrasing "clarithromycin inhibits CYP3A4, which clears amlodipine" can
//! write, fluently, that "CYP3A4 is responsible for producing amlodipine". The guard does not
//! try to understand the text; it looks for the ways a rephrasing goes wrong and rejects on
//! any of them, so the caller falls back to the template text:
//!
//! - a number, number word, unit or dose that is not in the facts;
//! - a drug name (from the registry's lexicon, or anything shaped like one) not in the facts,
//!   or a drug of the finding left out;
//! - a severity word that belongs to another severity level;
//! - an instruction to approve, dispense, change, stop or start a medicine (English and
//!   Malay phrasings) — explanations explain, people decide;
//! - a mechanism that contradicts the facts: something "produces" a drug, "induces" where
//!   the facts say "inhibits", levels "fall" where they rise, the wrong drug as the inhibitor,
//!   an enzyme the facts do not name;
//! - text in the other language, or a mix of English and Malay.
//!
//! The guard is deliberately strict: a rejected good sentence costs only a plainer template
//! sentence, an accepted wrong one can hurt a patient.
//!
//! Pure and deterministic like the rest of this crate: the drug lexicon is passed in.

use std::collections::BTreeSet;
use std::fmt;

use rxgate_knowledge::Severity;

use crate::canonical::Canonical;
use crate::explanation_vocabulary::{Vocabulary, stem};

/// The language an explanation is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    /// English.
    En,
    /// Bahasa Melayu.
    Ms,
}

impl Language {
    /// Both languages, English first.
    pub const ALL: [Language; 2] = [Language::En, Language::Ms];

    /// The ISO 639-1 code: `en` or `ms`.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Ms => "ms",
        }
    }

    /// Parses `en` or `ms` (also `bm`, the name Malaysians use for Bahasa Melayu).
    pub fn parse(text: &str) -> Option<Language> {
        match text.trim().to_ascii_lowercase().as_str() {
            "en" | "eng" | "english" => Some(Language::En),
            "ms" | "bm" | "malay" | "bahasa melayu" => Some(Language::Ms),
            _ => None,
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A clinical effect from a closed vocabulary, so that templates can name it in both
/// languages and the guard can compare it. Findings whose effect is outside the vocabulary
/// carry [`Effect::Adverse`] and the registry's English text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Effect {
    LowBloodPressure,
    KidneyInjury,
    MuscleDamage,
    Bleeding,
    HeartRhythm,
    SerotoninSyndrome,
    HighPotassium,
    LowBloodSugar,
    Drowsiness,
    HighBloodPressure,
    SlowHeartRate,
    Seizures,
    Toxicity,
    ReducedEffect,
    AllergicReaction,
    /// Some other unwanted effect, described only in the registry's English text.
    Adverse,
}

impl Effect {
    /// Every effect, in declaration order.
    pub const ALL: [Effect; 16] = [
        Effect::LowBloodPressure,
        Effect::KidneyInjury,
        Effect::MuscleDamage,
        Effect::Bleeding,
        Effect::HeartRhythm,
        Effect::SerotoninSyndrome,
        Effect::HighPotassium,
        Effect::LowBloodSugar,
        Effect::Drowsiness,
        Effect::HighBloodPressure,
        Effect::SlowHeartRate,
        Effect::Seizures,
        Effect::Toxicity,
        Effect::ReducedEffect,
        Effect::AllergicReaction,
        Effect::Adverse,
    ];

    /// A stable name, used in hashes and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::LowBloodPressure => "low_blood_pressure",
            Effect::KidneyInjury => "kidney_injury",
            Effect::MuscleDamage => "muscle_damage",
            Effect::Bleeding => "bleeding",
            Effect::HeartRhythm => "heart_rhythm",
            Effect::SerotoninSyndrome => "serotonin_syndrome",
            Effect::HighPotassium => "high_potassium",
            Effect::LowBloodSugar => "low_blood_sugar",
            Effect::Drowsiness => "drowsiness",
            Effect::HighBloodPressure => "high_blood_pressure",
            Effect::SlowHeartRate => "slow_heart_rate",
            Effect::Seizures => "seizures",
            Effect::Toxicity => "toxicity",
            Effect::ReducedEffect => "reduced_effect",
            Effect::AllergicReaction => "allergic_reaction",
            Effect::Adverse => "adverse",
        }
    }
}

/// How one drug changes another, in a shape both templates and the guard understand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mechanism {
    /// `actor` inhibits `pathway` (an enzyme or transporter such as CYP3A4 or P-gp), which
    /// clears `object`: `object` levels rise.
    Inhibition { actor: String, pathway: String, object: String },
    /// `actor` induces `pathway`, which clears `object`: `object` levels fall.
    Induction { actor: String, pathway: String, object: String },
    /// Both drugs cause the same effect and together it adds up.
    Additive { effect: Effect },
}

/// A number with its unit, as the checks reported it (`"4"`, `"g/day"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantity {
    /// Decimal text, e.g. `"4"` or `"0.5"`.
    pub value: String,
    /// UCUM-style unit text, e.g. `"mg"`, `"g/day"`, `"%"`.
    pub unit: String,
}

/// What kind of finding is explained, with the facts particular to that kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindingDetail {
    /// A drug–drug interaction.
    Interaction { mechanism: Option<Mechanism> },
    /// A drug the patient is allergic to, or that cross-reacts with the allergy.
    Allergy { allergy: String, cross_reactivity_percent: Option<String> },
    /// A dose outside the rule's range: `above` when over the limit, else under it.
    Dose { prescribed: Quantity, limit: Quantity, above: bool },
    /// A product with a non-halal or doubtful ingredient.
    Halal { ingredient: String, source: String, doubtful: bool },
    /// What to tell the patient when handing the medicines over.
    Counselling,
}

impl FindingDetail {
    /// A stable name of the kind of finding.
    pub fn kind(&self) -> &'static str {
        match self {
            FindingDetail::Interaction { .. } => "interaction",
            FindingDetail::Allergy { .. } => "allergy",
            FindingDetail::Dose { .. } => "dose",
            FindingDetail::Halal { .. } => "halal",
            FindingDetail::Counselling => "counselling",
        }
    }
}

/// The vetted facts of one finding: everything an explanation may say, and nothing else.
/// Built by the server from a tool result, never from model text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplanationFacts {
    pub detail: FindingDetail,
    /// Generic names of the drugs the finding is about, in the finding's order.
    pub drugs: Vec<String>,
    pub severity: Option<Severity>,
    pub effects: Vec<Effect>,
    /// The registry's English sentences, verbatim (may be empty).
    pub mechanism_text: String,
    pub effect_text: String,
    pub management_text: String,
    /// Further names the finding mentions (an alternative drug, a product).
    pub other_names: Vec<String>,
}

impl ExplanationFacts {
    /// SHA-256 (hex) of a canonical encoding of the facts: two explanations with the same
    /// hash were written from the same facts.
    pub fn hash(&self) -> String {
        let mut c = Canonical::new("rxgate.explanation_facts.v1");
        c.text(self.detail.kind());
        match &self.detail {
            FindingDetail::Interaction { mechanism } => match mechanism {
                None => {
                    c.none();
                }
                Some(Mechanism::Inhibition { actor, pathway, object }) => {
                    c.text("inhibition").text(actor).text(pathway).text(object);
                }
                Some(Mechanism::Induction { actor, pathway, object }) => {
                    c.text("induction").text(actor).text(pathway).text(object);
                }
                Some(Mechanism::Additive { effect }) => {
                    c.text("additive").text(effect.as_str());
                }
            },
            FindingDetail::Allergy { allergy, cross_reactivity_percent } => {
                c.text(allergy).opt_text(cross_reactivity_percent.as_deref());
            }
            FindingDetail::Dose { prescribed, limit, above } => {
                c.text(&prescribed.value).text(&prescribed.unit).text(&limit.value).text(&limit.unit);
                c.uint(u64::from(*above));
            }
            FindingDetail::Halal { ingredient, source, doubtful } => {
                c.text(ingredient).text(source).uint(u64::from(*doubtful));
            }
            FindingDetail::Counselling => {}
        }
        c.uint(self.drugs.len() as u64);
        for d in &self.drugs {
            c.text(d);
        }
        c.opt_text(self.severity.map(Severity::as_str));
        c.uint(self.effects.len() as u64);
        for e in &self.effects {
            c.text(e.as_str());
        }
        c.text(&self.mechanism_text).text(&self.effect_text).text(&self.management_text);
        c.uint(self.other_names.len() as u64);
        for n in &self.other_names {
            c.text(n);
        }
        c.sha256_hex()
    }

    /// Every piece of text in the facts, for the guard's "was this in the facts?" questions.
    fn texts(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.drugs.iter().map(String::as_str).collect();
        out.extend(self.other_names.iter().map(String::as_str));
        out.extend([self.mechanism_text.as_str(), self.effect_text.as_str(), self.management_text.as_str()]);
        match &self.detail {
            FindingDetail::Interaction { mechanism: Some(Mechanism::Inhibition { actor, pathway, object }) }
            | FindingDetail::Interaction { mechanism: Some(Mechanism::Induction { actor, pathway, object }) } => {
                out.extend([actor.as_str(), pathway.as_str(), object.as_str()]);
            }
            FindingDetail::Interaction { .. } | FindingDetail::Counselling => {}
            FindingDetail::Allergy { allergy, cross_reactivity_percent } => {
                out.push(allergy);
                if let Some(p) = cross_reactivity_percent {
                    out.push(p);
                }
            }
            FindingDetail::Dose { prescribed, limit, .. } => {
                out.extend([prescribed.value.as_str(), prescribed.unit.as_str(), limit.value.as_str()]);
                out.push(limit.unit.as_str());
            }
            FindingDetail::Halal { ingredient, source, .. } => out.extend([ingredient.as_str(), source.as_str()]),
        }
        out
    }
}

/// Known drug names (generic names, synonyms, brands), lowercase, as the registry lists them.
/// Passed in so that the guard stays free of I/O.
#[derive(Debug, Clone, Default)]
pub struct DrugLexicon {
    single: BTreeSet<String>,
    multi: Vec<String>,
}

impl DrugLexicon {
    /// Builds a lexicon from names; names shorter than four letters are ignored because
    /// they collide with ordinary words.
    pub fn new<I, S>(names: I) -> DrugLexicon
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut lexicon = DrugLexicon::default();
        for name in names {
            let name = name.as_ref().trim().to_lowercase();
            if name.chars().filter(|c| c.is_alphabetic()).count() < 4 {
                continue;
            }
            if name.contains(' ') {
                lexicon.multi.push(name);
            } else {
                lexicon.single.insert(name);
            }
        }
        lexicon.multi.sort();
        lexicon.multi.dedup();
        lexicon
    }

    /// Every generic name, synonym and brand of a registry.
    pub fn from_registry(registry: &rxgate_knowledge::Registry) -> DrugLexicon {
        let mut names = Vec::new();
        for (_, g) in registry.generics() {
            names.push(g.inn.clone());
            names.extend(g.synonyms.iter().cloned());
            names.extend(g.brands.iter().cloned());
        }
        DrugLexicon::new(names)
    }

    /// How many names the lexicon holds.
    pub fn len(&self) -> usize {
        self.single.len() + self.multi.len()
    }

    /// True when the lexicon holds no names (the guard then relies on name shapes only).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why a generated text was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectReason {
    /// Nothing usable was generated.
    Empty,
    /// A number (or number word) that is not in the facts.
    InventedNumber(String),
    /// A unit or dose that is not in the facts.
    InventedUnit(String),
    /// A drug name that is not in the facts.
    UnknownDrug(String),
    /// A drug of the finding that the text does not mention.
    MissingDrug(String),
    /// A severity word of another severity level.
    WrongSeverity(String),
    /// An instruction to approve, dispense, change, stop or start a medicine.
    Instruction(String),
    /// A mechanism that contradicts the facts.
    Mechanism(String),
    /// The text is not (only) in the requested language.
    WrongLanguage { expected: Language, detail: String },
    /// A claim the facts do not support (what a drug treats, an overdose, an outcome).
    Unsupported(String),
    /// The text leaves out the finding's mechanism or effect.
    MissingFact(String),
    /// A word that is not in the facts, the template text or the plain-language list of
    /// the language (`data/explanation_vocabulary.txt`).
    UnknownWord(String),
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectReason::Empty => write!(f, "empty text"),
            RejectReason::InventedNumber(n) => write!(f, "number not in the facts: {n:?}"),
            RejectReason::InventedUnit(u) => write!(f, "unit or dose not in the facts: {u:?}"),
            RejectReason::UnknownDrug(d) => write!(f, "drug not in the facts: {d:?}"),
            RejectReason::MissingDrug(d) => write!(f, "drug of the finding not mentioned: {d:?}"),
            RejectReason::WrongSeverity(s) => write!(f, "severity word not in the facts: {s:?}"),
            RejectReason::Instruction(i) => write!(f, "instruction about a medicine: {i:?}"),
            RejectReason::Mechanism(m) => write!(f, "mechanism contradicts the facts: {m}"),
            RejectReason::WrongLanguage { expected, detail } => {
                write!(f, "not written in {expected}: {detail}")
            }
            RejectReason::Unsupported(c) => write!(f, "claim not in the facts: {c:?}"),
            RejectReason::MissingFact(m) => write!(f, "leaves out {m}"),
            RejectReason::UnknownWord(w) => {
                write!(f, "word not in the facts, the template or the plain-language list: {w:?}")
            }
        }
    }
}

/// The guard's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardVerdict {
    Accepted,
    Rejected { reasons: Vec<RejectReason> },
}

impl GuardVerdict {
    /// True when the text may be shown.
    pub fn is_accepted(&self) -> bool {
        matches!(self, GuardVerdict::Accepted)
    }

    /// The reasons for a rejection (empty when accepted).
    pub fn reasons(&self) -> &[RejectReason] {
        match self {
            GuardVerdict::Accepted => &[],
            GuardVerdict::Rejected { reasons } => reasons,
        }
    }
}

/// Checks a generated explanation against the facts it was written from.
///
/// `reference` is the vetted text the model was asked to rephrase (the template text,
/// written from the same facts); its words count as known. Pass `""` when there is none.
pub fn check_explanation(
    text: &str,
    facts: &ExplanationFacts,
    reference: &str,
    language: Language,
    lexicon: &DrugLexicon,
) -> GuardVerdict {
    let mut reasons = Vec::new();
    let lowered = text.to_lowercase();
    let words = words(&lowered);
    if words.len() < 3 {
        return GuardVerdict::Rejected { reasons: vec![RejectReason::Empty] };
    }
    let known = Known::from_facts(facts, reference);

    check_numbers(&lowered, &words, &known, &mut reasons);
    check_drugs(&words, &known, facts, lexicon, &mut reasons);
    check_severity(&words, &known, facts, &mut reasons);
    check_instructions(&words, &mut reasons);
    check_mechanism(&lowered, facts, &known, lexicon, &mut reasons);
    check_claims(&lowered, &words, facts, &known, &mut reasons);
    check_coverage(&lowered, &words, facts, &mut reasons);
    check_language(&lowered, language, &mut reasons);
    check_vocabulary(&words, facts, reference, language, lexicon, &mut reasons);

    reasons.dedup();
    if reasons.is_empty() { GuardVerdict::Accepted } else { GuardVerdict::Rejected { reasons } }
}

/// What the facts contain, prepared for look-ups.
struct Known {
    /// Every fact text and the reference, lowercase, for phrase look-ups.
    text: String,
    /// Lowercase words of every fact text.
    words: BTreeSet<String>,
    /// Canonical numbers of every fact text.
    numbers: BTreeSet<String>,
    /// Folded spellings of the words (for drug names in Malay spelling).
    folded: Vec<String>,
}

impl Known {
    fn from_facts(facts: &ExplanationFacts, reference: &str) -> Known {
        let mut words_set = BTreeSet::new();
        let mut numbers = BTreeSet::new();
        let mut all_text = String::new();
        for t in facts.texts().into_iter().chain([reference]) {
            all_text.push_str(&t.to_lowercase());
            all_text.push('\n');
            let lower = t.to_lowercase();
            for w in words(&lower) {
                for part in w.split(['-', '/']) {
                    words_set.insert(part.to_string());
                }
                words_set.insert(w);
            }
            for n in numbers_in(&lower) {
                numbers.insert(n.value);
            }
            if lower.contains('%') {
                words_set.insert("%".to_string());
            }
        }
        if let FindingDetail::Allergy { cross_reactivity_percent: Some(_), .. } = &facts.detail {
            words_set.insert("%".to_string());
        }
        // "Both" and "the two medicines" are facts when there are two drugs.
        numbers.insert(canonical_number(&facts.drugs.len().to_string()));
        let folded = words_set.iter().filter(|w| w.chars().count() >= 5).map(|w| fold_spelling(w)).collect();
        Known { text: all_text, words: words_set, numbers, folded }
    }

    fn has_word(&self, w: &str) -> bool {
        self.words.contains(w)
    }

    /// True when a drug-like word matches a word of the facts, allowing Malay spellings
    /// ("klaritromisin" for "clarithromycin", "amlodipin" for "amlodipine").
    fn has_name(&self, w: &str) -> bool {
        if self.words.contains(w) {
            return true;
        }
        let f = fold_spelling(w);
        self.folded.iter().any(|k| same_name(k, &f))
    }
}

/// True when two folded spellings name the same drug: a couple of letters may differ in a
/// long name (Malay spellings), none in a short one.
fn same_name(a: &str, b: &str) -> bool {
    let tolerance = if a.chars().count().min(b.chars().count()) >= 8 { 1 } else { 0 };
    edit_distance(a, b) <= tolerance
}

// ── tokens ──────────────────────────────────────────────────────────────────────────────

/// Lowercase words: letters, digits, hyphens and apostrophes inside words.
fn words(lowered: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = lowered.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let inner_joiner = (c == '-' || c == '\'' || c == '’')
            && !cur.is_empty()
            && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
        if c.is_alphanumeric() || inner_joiner {
            cur.push(c);
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Sentences (split on `.`, `!`, `?`, `;`, `:` and line breaks, but not on decimal points).
fn sentences(lowered: &str) -> Vec<String> {
    let chars: Vec<char> = lowered.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let decimal_point =
            c == '.' && i > 0 && chars[i - 1].is_ascii_digit() && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
        if matches!(c, '.' | '!' | '?' | ';' | ':' | '\n') && !decimal_point {
            if !cur.trim().is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            cur.clear();
        } else {
            cur.push(c);
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

struct NumberToken {
    value: String,
    /// The letters right after the number (`"mg"` in `"20mg"` or `"20 mg"`), or a `%`.
    unit_after: String,
}

/// Numbers written with digits that are not part of an identifier such as `CYP3A4`.
fn numbers_in(lowered: &str) -> Vec<NumberToken> {
    let chars: Vec<char> = lowered.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_alphabetic()) {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || (matches!(chars[i], '.' | ',')
                        && chars.get(i + 1).is_some_and(|c| c.is_ascii_digit())
                        && chars[i - 1].is_ascii_digit()))
            {
                i += 1;
            }
            let raw: String = chars[start..i].iter().collect();
            let mut j = i;
            while j < chars.len() && chars[j] == ' ' {
                j += 1;
            }
            let mut unit = String::new();
            if chars.get(j) == Some(&'%') {
                unit.push('%');
            } else {
                while j < chars.len() && (chars[j].is_alphabetic() || chars[j] == 'µ' || chars[j] == '/') {
                    unit.push(chars[j]);
                    j += 1;
                }
            }
            out.push(NumberToken { value: canonical_number(&raw), unit_after: unit });
        } else {
            i += 1;
        }
    }
    out
}

/// `"4.0"` → `"4"`, `"1,000"` → `"1000"`, `"0.50"` → `"0.5"`.
fn canonical_number(raw: &str) -> String {
    let mut s: String = raw.chars().filter(|c| *c != ',').collect();
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    let trimmed = s.trim_start_matches('0');
    if trimmed.is_empty() || trimmed.starts_with('.') { format!("0{trimmed}") } else { trimmed.to_string() }
}

/// Folds English and Malay spellings of a drug name onto one form.
fn fold_spelling(word: &str) -> String {
    let mut s = word.to_lowercase().replace("ph", "f").replace("th", "t").replace("qu", "kw").replace('x', "ks");
    // A "c" that sounds like "s" is written "s" in Malay (klaritromisin, sefuroksim).
    s = s.replace("ci", "si").replace("ce", "se").replace("cy", "si");
    s = s.replace('y', "i").replace('c', "k").replace('z', "s");
    while s.ends_with('e') {
        s.pop();
    }
    s
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// True when `phrase` (lowercase words separated by single spaces) occurs in `text` on word
/// boundaries.
fn has_phrase(text_words: &[String], phrase: &str) -> bool {
    let p: Vec<&str> = phrase.split(' ').collect();
    text_words.windows(p.len()).any(|w| w.iter().zip(&p).all(|(a, b)| a == b))
}

// ── numbers and units ───────────────────────────────────────────────────────────────────

const UNITS: &[&str] = &[
    "mg",
    "mcg",
    "µg",
    "μg",
    "ug",
    "g",
    "gram",
    "grams",
    "gm",
    "milligram",
    "milligrams",
    "microgram",
    "micrograms",
    "kg",
    "ml",
    "millilitre",
    "millilitres",
    "milliliter",
    "milliliters",
    "l",
    "litre",
    "litres",
    "mmol",
    "meq",
    "iu",
    "unit",
    "units",
    "unit/kg",
    "mg/kg",
    "mg/day",
    "g/day",
    "mg/dl",
    "mmol/l",
    "tablet",
    "tablets",
    "tab",
    "capsule",
    "capsules",
    "puff",
    "puffs",
    "drop",
    "drops",
    "%",
    "percent",
    "peratus",
    "biji",
    "sudu",
    "dos",
];

/// Units that are unmistakable even without a number in front of them.
const STANDALONE_UNITS: &[&str] =
    &["mg", "mcg", "µg", "μg", "ml", "mmol", "meq", "milligram", "milligrams", "microgram", "micrograms"];

/// Number words and the number they stand for.
const NUMBER_WORDS: &[(&str, &str)] = &[
    ("two", "2"),
    ("three", "3"),
    ("four", "4"),
    ("five", "5"),
    ("six", "6"),
    ("seven", "7"),
    ("eight", "8"),
    ("nine", "9"),
    ("ten", "10"),
    ("twelve", "12"),
    ("fourteen", "14"),
    ("twenty", "20"),
    ("hundred", "100"),
    ("thousand", "1000"),
    ("twice", "2"),
    ("double", "2"),
    ("doubled", "2"),
    ("triple", "3"),
    ("tripled", "3"),
    ("half", "0.5"),
    ("dua", "2"),
    ("tiga", "3"),
    ("empat", "4"),
    ("lima", "5"),
    ("enam", "6"),
    ("tujuh", "7"),
    ("lapan", "8"),
    ("sembilan", "9"),
    ("sepuluh", "10"),
    ("separuh", "0.5"),
    ("ganda", "2"),
    ("berganda", "2"),
    ("seratus", "100"),
    ("ratus", "100"),
    ("ribu", "1000"),
];

fn check_numbers(lowered: &str, words: &[String], known: &Known, out: &mut Vec<RejectReason>) {
    for n in numbers_in(lowered) {
        if !known.numbers.contains(&n.value) {
            out.push(RejectReason::InventedNumber(n.value.clone()));
        }
        let unit_known = n.unit_after.split('/').all(|p| p.is_empty() || known.has_word(p));
        if !n.unit_after.is_empty() && UNITS.contains(&n.unit_after.as_str()) && !unit_known {
            out.push(RejectReason::InventedUnit(format!("{} {}", n.value, n.unit_after)));
        }
    }
    for w in words {
        // Reduplicated Malay words ("kedua-dua", "dua-dua") mean "both", not a count.
        if w.starts_with("ke") && w.contains('-') {
            continue;
        }
        for part in w.split('-') {
            if let Some((_, digits)) = NUMBER_WORDS.iter().find(|(word, _)| *word == part)
                && !known.numbers.contains(*digits)
                && !known.has_word(part)
            {
                out.push(RejectReason::InventedNumber(part.to_string()));
            }
        }
        if STANDALONE_UNITS.contains(&w.as_str()) && !known.has_word(w) {
            out.push(RejectReason::InventedUnit(w.clone()));
        }
    }
}

// ── drug names ──────────────────────────────────────────────────────────────────────────

/// Endings of generic names (WHO INN stems), English and Malay spellings.
const DRUG_STEMS: &[&str] = &[
    "mycin",
    "micin",
    "misin",
    "pril",
    "sartan",
    "statin",
    "olol",
    "azole",
    "asol",
    "prazole",
    "prasol",
    "dipine",
    "dipin",
    "cillin",
    "silin",
    "floxacin",
    "floksasin",
    "tidine",
    "tidin",
    "parin",
    "oxetine",
    "oksetin",
    "triptan",
    "caine",
    "kain",
    "azepam",
    "asepam",
    "barbital",
    "profen",
    "fenac",
    "fenak",
    "cycline",
    "siklin",
    "conazole",
    "konasol",
    "gliptin",
    "glitazone",
    "formin",
    "semide",
    "thiazide",
    "tiasid",
    "vastatin",
    "oxacin",
    "triptyline",
    "tiptilin",
    "amine",
    "amin",
];

/// Ordinary words that happen to end like drug names.
const NOT_DRUGS: &[&str] = &[
    "vitamin",
    "vitamine",
    "examine",
    "determine",
    "amine",
    "amines",
    "histamine",
    "serotonin",
    "dopamine",
    "noradrenaline",
    "adrenaline",
    "protein",
    "routine",
    "medicine",
    "medicines",
    "feminine",
    "famine",
    "doctrine",
    "masculine",
    "machine",
    "engine",
    "online",
    "guideline",
    "baseline",
    "determined",
    "caffeine",
    "nicotine",
    "jamin",
    "menjamin",
    "amin",
    "yasmin",
    "bermain",
    "lain",
    "kain",
    "main",
    "ingin",
    "mungkin",
    "kemungkinan",
    "lemak",
    "batin",
    "nikotin",
    "kafein",
    "vitamins",
    "creatinine",
    "kreatinin",
    "tyramine",
    "tiramin",
];

fn looks_like_drug(word: &str, lexicon: &DrugLexicon) -> bool {
    if lexicon.single.contains(word) {
        return true;
    }
    word.chars().count() >= 7
        && word.chars().all(|c| c.is_alphabetic())
        && !NOT_DRUGS.contains(&word)
        && DRUG_STEMS.iter().any(|s| word.ends_with(s))
}

fn check_drugs(
    words: &[String],
    known: &Known,
    facts: &ExplanationFacts,
    lexicon: &DrugLexicon,
    out: &mut Vec<RejectReason>,
) {
    for w in words {
        for part in w.split(['-', '/']) {
            if looks_like_drug(part, lexicon) && !known.has_name(part) {
                out.push(RejectReason::UnknownDrug(part.to_string()));
            }
        }
    }
    for name in &lexicon.multi {
        if has_phrase(words, name) && !name.split(' ').all(|p| known.has_name(p)) {
            out.push(RejectReason::UnknownDrug(name.clone()));
        }
    }
    // Every drug of the finding must be named, or the explanation is about nothing.
    for drug in &facts.drugs {
        let parts: Vec<String> = words_of(drug);
        let mentioned = parts.iter().all(|p| {
            let f = fold_spelling(p);
            words.iter().any(|w| w == p || w.split(['-', '/']).any(|x| same_name(&fold_spelling(x), &f)))
        });
        if !mentioned {
            out.push(RejectReason::MissingDrug(drug.clone()));
        }
    }
}

fn words_of(text: &str) -> Vec<String> {
    words(&text.to_lowercase())
}

// ── severity ────────────────────────────────────────────────────────────────────────────

/// Severity words and the levels they may describe.
const SEVERITY_WORDS: &[(&str, &[Severity])] = &[
    ("minor", &[Severity::Minor]),
    ("mild", &[Severity::Minor]),
    ("slight", &[Severity::Minor]),
    ("harmless", &[]),
    ("ringan", &[Severity::Minor]),
    ("moderate", &[Severity::Moderate]),
    ("sederhana", &[Severity::Moderate]),
    ("major", &[Severity::Major]),
    ("serious", &[Severity::Major, Severity::Contraindicated]),
    ("severe", &[Severity::Major, Severity::Contraindicated]),
    ("serius", &[Severity::Major, Severity::Contraindicated]),
    ("teruk", &[Severity::Major, Severity::Contraindicated]),
    ("contraindicated", &[Severity::Contraindicated]),
    ("contraindication", &[Severity::Contraindicated]),
    ("kontraindikasi", &[Severity::Contraindicated]),
    ("dikontraindikasikan", &[Severity::Contraindicated]),
    ("fatal", &[Severity::Contraindicated]),
    ("deadly", &[Severity::Contraindicated]),
    ("life-threatening", &[Severity::Contraindicated]),
    ("maut", &[Severity::Contraindicated]),
    ("safe", &[]),
    ("selamat", &[]),
];

fn check_severity(words: &[String], known: &Known, facts: &ExplanationFacts, out: &mut Vec<RejectReason>) {
    for w in words {
        if let Some((word, levels)) = SEVERITY_WORDS.iter().find(|(s, _)| s == w) {
            let fits = facts.severity.is_some_and(|s| levels.contains(&s));
            if !fits && !known.has_word(word) {
                out.push(RejectReason::WrongSeverity(w.clone()));
            }
        }
    }
    // "No interaction", "tiada interaksi": denying the finding is the worst severity error.
    for phrase in ["no interaction", "not interact", "no risk", "tiada interaksi", "tidak berinteraksi", "tiada risiko"]
    {
        if has_phrase(words, phrase) {
            out.push(RejectReason::WrongSeverity(phrase.to_string()));
        }
    }
}

// ── instructions ────────────────────────────────────────────────────────────────────────

/// Single words that instruct someone to act on a medicine.
const INSTRUCTION_WORDS: &[&str] = &[
    "stop",
    "stops",
    "stopping",
    "stopped",
    "discontinue",
    "discontinuing",
    "discontinued",
    "cease",
    "quit",
    "skip",
    "pause",
    "pausing",
    "withhold",
    "adjust",
    "adjusted",
    "adjusting",
    "laraskan",
    "approve",
    "approved",
    "approving",
    "dispense",
    "dispensing",
    "dispensed",
    "berhenti",
    "hentikan",
    "menghentikan",
    "henti",
    "luluskan",
    "meluluskan",
    "diluluskan",
    "dispens",
    "mendispens",
    "mendispenskan",
    "didispens",
    "tukar",
    "tukarkan",
    "menukar",
    "menukarkan",
    "gantikan",
    "menggantikan",
    "mulakan",
    "memulakan",
    "langkau",
    "tangguhkan",
    "elakkan",
];

/// Phrases that instruct someone to act on a medicine.
const INSTRUCTION_PHRASES: &[&str] = &[
    "start taking",
    "start using",
    "begin taking",
    "switch to",
    "switch from",
    "switch your",
    "change your",
    "change the dose",
    "change to",
    "increase the dose",
    "increase your dose",
    "reduce the dose",
    "reduce your dose",
    "lower the dose",
    "lower your dose",
    "raise the dose",
    "double the dose",
    "halve the dose",
    "adjust the dose",
    "adjust your dose",
    "take more",
    "take less",
    "take an extra",
    "take it",
    "take them",
    "take both",
    "do not take",
    "don't take",
    "dont take",
    "avoid taking",
    "you should take",
    "should not be taken",
    "must not be taken",
    "mula mengambil",
    "mula makan",
    "jangan ambil",
    "jangan makan",
    "jangan mengambil",
    "kurangkan dos",
    "tambah dos",
    "tambahkan dos",
    "naikkan dos",
    "turunkan dos",
    "gandakan dos",
    "ambil lebih",
    "ambil kurang",
    "makan ubat",
    "ambil ubat",
];

fn check_instructions(words: &[String], out: &mut Vec<RejectReason>) {
    for w in words {
        if INSTRUCTION_WORDS.contains(&w.as_str()) {
            out.push(RejectReason::Instruction(w.clone()));
        }
    }
    for p in INSTRUCTION_PHRASES {
        if has_phrase(words, p) {
            out.push(RejectReason::Instruction((*p).to_string()));
        }
    }
}

// ── mechanism ───────────────────────────────────────────────────────────────────────────

const INHIBIT_WORDS: &[&str] = &[
    "inhibit",
    "inhibits",
    "inhibiting",
    "inhibited",
    "inhibitor",
    "inhibition",
    "blocks",
    "block",
    "blocking",
    "menghalang",
    "merencat",
    "perencat",
    "direncat",
    "dihalang",
    "menyekat",
];
const INDUCE_WORDS: &[&str] = &[
    "induce",
    "induces",
    "inducing",
    "induced",
    "inducer",
    "induction",
    "mengaruh",
    "aruhan",
    "pengaruh",
    "merangsang",
    "mempercepat",
    "mempercepatkan",
];
const LEVEL_WORDS: &[&str] = &[
    "level",
    "levels",
    "exposure",
    "concentration",
    "concentrations",
    "amount",
    "amounts",
    "paras",
    "kepekatan",
    "jumlah",
    "kadar",
];
const DOWN_WORDS: &[&str] = &[
    "decrease",
    "decreases",
    "decreased",
    "decreasing",
    "lower",
    "lowers",
    "lowered",
    "lowering",
    "reduce",
    "reduces",
    "reduced",
    "reducing",
    "fall",
    "falls",
    "drop",
    "drops",
    "less",
    "menurun",
    "menurunkan",
    "mengurangkan",
    "berkurang",
    "berkurangan",
    "turun",
    "kurang",
];
const UP_WORDS: &[&str] = &[
    "increase",
    "increases",
    "increased",
    "increasing",
    "raise",
    "raises",
    "raised",
    "rise",
    "rises",
    "higher",
    "build",
    "meningkat",
    "meningkatkan",
    "bertambah",
    "menaikkan",
    "naik",
    "tinggi",
];
/// Stems of verbs that claim one thing makes another.
const PRODUCTION_STEMS: &[&str] =
    &["produc", "synthesi", "manufactur", "generat", "creat", "menghasil", "penghasil", "membentuk"];

fn check_mechanism(
    lowered: &str,
    facts: &ExplanationFacts,
    known: &Known,
    lexicon: &DrugLexicon,
    out: &mut Vec<RejectReason>,
) {
    for sentence in sentences(lowered) {
        let sw = words(&sentence);
        // "X produces / is responsible for producing / makes Y": an enzyme or a drug never
        // makes another drug in these findings.
        for (i, w) in sw.iter().enumerate() {
            let not_a_verb = matches!(w.as_str(), "product" | "products" | "produk") || w.starts_with("creatin");
            if PRODUCTION_STEMS.iter().any(|s| w.starts_with(s)) && !not_a_verb && !known.has_word(w) {
                out.push(RejectReason::Mechanism(format!("says something {w} a substance")));
            }
            let next_at = if sw.get(i + 1).is_some_and(|n| n == "the") { i + 2 } else { i + 1 };
            if matches!(w.as_str(), "make" | "makes" | "made" | "making" | "membuat" | "menjadikan")
                && let Some(next) = sw.get(next_at)
                && is_entity(next, facts, lexicon)
                && sw.get(next_at + 1).is_none_or(|n| PRODUCT_FOLLOWERS.contains(&n.as_str()))
            {
                out.push(RejectReason::Mechanism(format!("says something {w} {next}")));
            }
        }
        // An enzyme the facts do not name.
        for w in &sw {
            if (w.starts_with("cyp") || w == "p-gp" || w.starts_with("oatp") || w.starts_with("ugt"))
                && !known.has_word(w)
            {
                out.push(RejectReason::Mechanism(format!("names {w}, which is not in the facts")));
            }
        }
        let FindingDetail::Interaction { mechanism: Some(m) } = &facts.detail else { continue };
        match m {
            Mechanism::Inhibition { actor, pathway, object } => {
                opposite_direction(&sw, INDUCE_WORDS, DOWN_WORDS, "induction or falling levels", known, out);
                wrong_actor(&sw, INHIBIT_WORDS, actor, &[pathway, object], out);
            }
            Mechanism::Induction { actor, pathway, object } => {
                opposite_direction(&sw, INHIBIT_WORDS, UP_WORDS, "inhibition or rising levels", known, out);
                wrong_actor(&sw, INDUCE_WORDS, actor, &[pathway, object], out);
            }
            Mechanism::Additive { .. } => {
                for w in &sw {
                    if (INHIBIT_WORDS.contains(&w.as_str()) || INDUCE_WORDS.contains(&w.as_str())) && !known.has_word(w)
                    {
                        out.push(RejectReason::Mechanism(format!("claims {w}; the facts say the effects add up")));
                    }
                }
            }
        }
    }
}

/// Words after "makes <drug>" that show the drug is the thing made ("makes amlodipine and
/// …", "makes amlodipine in the liver"), not a cause ("makes amlodipine build up").
const PRODUCT_FOLLOWERS: &[&str] =
    &["and", "in", "from", "by", "for", "which", "that", "dan", "di", "dalam", "daripada", "yang", "oleh"];

fn is_entity(word: &str, facts: &ExplanationFacts, lexicon: &DrugLexicon) -> bool {
    looks_like_drug(word, lexicon)
        || word.starts_with("cyp")
        || facts.drugs.iter().any(|d| same_name(&fold_spelling(d), &fold_spelling(word)))
}

/// The facts go one way; the sentence says the opposite (a verb of the opposite mechanism,
/// or levels moving the wrong way within four words of a level word).
fn opposite_direction(
    sw: &[String],
    opposite_verbs: &[&str],
    opposite_moves: &[&str],
    what: &str,
    known: &Known,
    out: &mut Vec<RejectReason>,
) {
    for (i, w) in sw.iter().enumerate() {
        if opposite_verbs.contains(&w.as_str()) && !known.has_word(w) {
            out.push(RejectReason::Mechanism(format!("says {what} ({w})")));
        }
        if LEVEL_WORDS.contains(&w.as_str()) {
            let lo = i.saturating_sub(4);
            let hi = (i + 5).min(sw.len());
            if let Some(m) = sw[lo..hi].iter().find(|x| opposite_moves.contains(&x.as_str())) {
                out.push(RejectReason::Mechanism(format!("says {what} ({m} {w})")));
            }
        }
    }
}

/// The drug or enzyme named just before the mechanism verb must be the actor of the facts.
fn wrong_actor(sw: &[String], verbs: &[&str], actor: &str, others: &[&String], out: &mut Vec<RejectReason>) {
    let matches_name = |w: &str, name: &str| {
        let parts = words_of(name);
        parts.iter().any(|p| p == w || same_name(&fold_spelling(p), &fold_spelling(w)))
    };
    for (i, w) in sw.iter().enumerate() {
        if !verbs.contains(&w.as_str()) {
            continue;
        }
        // Passive Malay/English ("dihalang oleh", "is inhibited by") put the actor after.
        let passive = w.starts_with("di") || w.ends_with("ed");
        let before = sw[..i].iter().rev().find_map(|x| {
            if matches_name(x, actor) {
                Some(true)
            } else if others.iter().any(|o| matches_name(x, o)) {
                Some(false)
            } else {
                None
            }
        });
        if !passive && before == Some(false) {
            out.push(RejectReason::Mechanism(format!("the wrong drug or enzyme {w}; the facts say {actor} does")));
        }
    }
}

// ── claims and coverage ─────────────────────────────────────────────────────────────────

/// Stems of claims about what a drug is for: the facts never say, so the model invented it.
const TREATMENT_STEMS: &[&str] =
    &["treat", "cure", "heal", "merawat", "rawatan", "dirawat", "mengubati", "menyembuh", "indicat"];
/// Phrases that blame an overdose instead of the combination.
const OVERDOSE_PHRASES: &[&str] = &["in excess", "too much", "overdose", "excessive", "terlalu banyak", "berlebihan"];
/// Outcomes and uses a model likes to add; allowed only when the facts name them.
const OUTCOME_PHRASES: &[&str] = &[
    "liver",
    "hati",
    "stroke",
    "death",
    "die",
    "dies",
    "mati",
    "kematian",
    "cancer",
    "kanser",
    "heart attack",
    "serangan jantung",
    "coma",
    "koma",
    "addiction",
    "ketagihan",
    "pregnan",
    "hamil",
    "infection",
    "jangkitan",
    "diabetes",
    "kencing manis",
    "blind",
    "buta",
    "used for",
    "used to",
    "digunakan untuk",
    "dosage",
    "organ",
];

fn check_claims(lowered: &str, words: &[String], facts: &ExplanationFacts, known: &Known, out: &mut Vec<RejectReason>) {
    for w in words {
        if TREATMENT_STEMS.iter().any(|s| w.starts_with(s)) && !known.has_word(w) {
            out.push(RejectReason::Unsupported(w.clone()));
        }
    }
    let dose_finding = matches!(facts.detail, FindingDetail::Dose { .. });
    for p in OVERDOSE_PHRASES {
        if !dose_finding && lowered.contains(p) && !known.text.contains(p) {
            out.push(RejectReason::Unsupported((*p).to_string()));
        }
    }
    // Whole words or phrases only ("die" is not "diet", "hati" is not "hati-hati").
    for p in OUTCOME_PHRASES {
        let first = p.split(' ').next().unwrap_or(p);
        let present = if p.contains(' ') {
            has_phrase(words, p)
        } else {
            words.iter().any(|w| w == p || w.strip_suffix('s') == Some(p) || (w.starts_with(first) && *p == "pregnan"))
        };
        if present && !known.text.contains(p) {
            out.push(RejectReason::Unsupported((*p).to_string()));
        }
    }
}

/// Words that show an effect is mentioned, in English and Malay.
fn effect_cues(effect: Effect) -> &'static [&'static str] {
    match effect {
        Effect::LowBloodPressure => {
            &["hypotens", "blood pressure", "tekanan darah", "hipotensi", "dizz", "faint", "pening", "pitam"]
        }
        Effect::KidneyInjury => &["kidney", "renal", "buah pinggang", "ginjal"],
        Effect::MuscleDamage => &["muscle", "myopathy", "rhabdo", "otot"],
        Effect::Bleeding => &["bleed", "bruis", "haemorrhag", "pendarahan", "berdarah", "lebam"],
        Effect::HeartRhythm => &["qt", "rhythm", "arrhythm", "heartbeat", "irama jantung", "jantung"],
        Effect::SerotoninSyndrome => &["serotonin"],
        Effect::HighPotassium => &["potassium", "hyperkal", "kalium"],
        Effect::LowBloodSugar => &["blood sugar", "hypoglyc", "glucose", "gula"],
        Effect::Drowsiness => &["drows", "sedat", "sleep", "breath", "respirat", "mengantuk", "pernafasan"],
        Effect::HighBloodPressure => &["blood pressure", "hypertens", "tekanan darah"],
        Effect::SlowHeartRate => &["heartbeat", "heart rate", "bradycard", "denyutan jantung", "jantung"],
        Effect::Seizures => &["seizure", "fits", "convuls", "sawan"],
        Effect::Toxicity => &["toxic", "side effect", "harm", "keracunan", "kesan sampingan"],
        Effect::ReducedEffect => &["less well", "less effective", "work", "kurang berkesan", "berkesan", "effect"],
        Effect::AllergicReaction => &["allerg", "alahan", "rash", "ruam"],
        Effect::Adverse => &["side effect", "effect", "harm", "kesan"],
    }
}

/// Evidence that a text states the facts' mechanism: a mechanism verb, or levels moving
/// the right way (an "up" word within four words of a level word).
const INHIBITION_CUES: &[&str] = &[
    "inhibit",
    "block",
    "slow",
    "build",
    "stays",
    "stay in",
    "accumulat",
    "merencat",
    "menghalang",
    "melambat",
    "perlahan",
    "kekal",
    "terkumpul",
];
const INDUCTION_CUES: &[&str] =
    &["induc", "speed", "faster", "quicker", "mengaruh", "mempercepat", "lebih cepat", "cepat"];

fn levels_move(words: &[String], moves: &[&str]) -> bool {
    words.iter().enumerate().any(|(i, w)| {
        LEVEL_WORDS.contains(&w.as_str())
            && words[i.saturating_sub(4)..(i + 5).min(words.len())].iter().any(|x| moves.contains(&x.as_str()))
    })
}

fn check_coverage(lowered: &str, words: &[String], facts: &ExplanationFacts, out: &mut Vec<RejectReason>) {
    let says = |cues: &[&str]| cues.iter().any(|c| lowered.contains(c));
    if let FindingDetail::Interaction { mechanism: Some(m) } = &facts.detail {
        match m {
            Mechanism::Inhibition { .. } => {
                if !says(INHIBITION_CUES) && !levels_move(words, UP_WORDS) {
                    out.push(RejectReason::MissingFact("the mechanism (levels rise)".to_string()));
                }
                for c in ["faster", "quicker", "speeds up", "speed up", "mempercepat", "lebih cepat"] {
                    if lowered.contains(c) {
                        out.push(RejectReason::Mechanism(format!("says {c}; the facts say clearance slows")));
                    }
                }
            }
            Mechanism::Induction { .. } => {
                if !says(INDUCTION_CUES) && !levels_move(words, DOWN_WORDS) {
                    out.push(RejectReason::MissingFact("the mechanism (levels fall)".to_string()));
                }
                for c in ["slows", "slow down", "build up", "builds up", "melambatkan", "terkumpul"] {
                    if lowered.contains(c) {
                        out.push(RejectReason::Mechanism(format!("says {c}; the facts say clearance speeds up")));
                    }
                }
            }
            Mechanism::Additive { effect } => {
                if !says(effect_cues(*effect)) {
                    out.push(RejectReason::MissingFact(format!("the shared effect ({})", effect.as_str())));
                }
            }
        }
    }
    let needs_effect = matches!(
        facts.detail,
        FindingDetail::Interaction { .. } | FindingDetail::Counselling | FindingDetail::Dose { above: true, .. }
    );
    if needs_effect && !facts.effects.is_empty() && !facts.effects.iter().any(|e| says(effect_cues(*e))) {
        out.push(RejectReason::MissingFact("every effect of the finding".to_string()));
    }
}

// ── closed vocabulary ───────────────────────────────────────────────────────────────────

/// Every word must be known: a name from the facts (a drug in either spelling, the enzyme,
/// the allergen, the ingredient), a word of the reference text, a word of the registry's
/// English sentences when the explanation is in English, or a word on the language's
/// plain-language list — in any inflection. Numbers and drug-shaped words are left to their
/// own checks, which name them better. The registry's sentences are English, so in a Malay
/// explanation their words do not count: "and" in a Malay sentence is a mix-up.
fn check_vocabulary(
    words: &[String],
    facts: &ExplanationFacts,
    reference: &str,
    language: Language,
    lexicon: &DrugLexicon,
    out: &mut Vec<RejectReason>,
) {
    let vocabulary = Vocabulary::bundled();
    let mut texts: Vec<&str> = facts.texts();
    if language != Language::En {
        let prose = [facts.mechanism_text.as_str(), facts.effect_text.as_str(), facts.management_text.as_str()];
        texts.retain(|t| !prose.contains(t) || t.is_empty());
    }
    texts.push(reference);
    let mut known = BTreeSet::new();
    for t in &texts {
        for w in words_of(t) {
            for part in w.split(['-', '/']).chain([w.as_str()]) {
                known.insert(part.to_string());
                known.insert(stem(part, language));
            }
        }
    }
    // The effects the finding names, and the shared effect of an additive mechanism.
    let mut effects = facts.effects.clone();
    if let FindingDetail::Interaction { mechanism: Some(Mechanism::Additive { effect }) } = &facts.detail {
        effects.push(*effect);
    }
    let names: Vec<String> = names_of(facts).iter().flat_map(|n| words_of(n)).map(|w| fold_spelling(&w)).collect();
    let allowed = |part: &str| {
        part.is_empty()
            || part.chars().any(|c| c.is_ascii_digit())
            || NUMBER_WORDS.iter().any(|(n, _)| *n == part)
            || known.contains(part)
            || known.contains(&stem(part, language))
            || looks_like_drug(part, lexicon)
            || (part.chars().count() >= 5 && names.iter().any(|n| same_name(n, &fold_spelling(part))))
            || vocabulary.allows(part, language, &effects)
    };
    let mut reported = BTreeSet::new();
    for w in words {
        let w = w.trim_matches(|c| c == '\'' || c == '’');
        if allowed(w) || w.split(['-', '/', '\'', '’']).all(allowed) {
            continue;
        }
        if reported.insert(w.to_string()) {
            out.push(RejectReason::UnknownWord(w.to_string()));
        }
    }
}

/// The names a finding mentions (drugs, alternatives, enzyme, allergen, ingredient), which
/// may appear in either language and in Malay spelling.
fn names_of(facts: &ExplanationFacts) -> Vec<&str> {
    let mut out: Vec<&str> = facts.drugs.iter().chain(&facts.other_names).map(String::as_str).collect();
    match &facts.detail {
        FindingDetail::Interaction { mechanism: Some(Mechanism::Inhibition { actor, pathway, object }) }
        | FindingDetail::Interaction { mechanism: Some(Mechanism::Induction { actor, pathway, object }) } => {
            out.extend([actor.as_str(), pathway.as_str(), object.as_str()]);
        }
        FindingDetail::Allergy { allergy, .. } => out.push(allergy),
        FindingDetail::Halal { ingredient, source, .. } => out.extend([ingredient.as_str(), source.as_str()]),
        FindingDetail::Interaction { .. } | FindingDetail::Dose { .. } | FindingDetail::Counselling => {}
    }
    out
}

// ── language ────────────────────────────────────────────────────────────────────────────

const EN_STOP: &[&str] = &[
    "the",
    "and",
    "of",
    "to",
    "is",
    "are",
    "with",
    "this",
    "that",
    "may",
    "can",
    "your",
    "for",
    "it",
    "be",
    "in",
    "by",
    "which",
    "when",
    "not",
    "or",
    "these",
    "has",
    "have",
    "will",
    "its",
    "so",
    "if",
    "from",
    "as",
    "an",
    "a",
    "could",
    "more",
    "into",
    "than",
    "they",
    "their",
    "you",
    "does",
    "do",
    "both",
    "blood",
    "body",
    "levels",
    "risk",
    "take",
    "taking",
    "medicine",
    "medicines",
    "drug",
    "drugs",
    "because",
    "causes",
    "cause",
    "high",
    "low",
    "together",
];
const MS_STOP: &[&str] = &[
    "dan",
    "yang",
    "ini",
    "itu",
    "untuk",
    "dengan",
    "boleh",
    "tidak",
    "anda",
    "ubat",
    "adalah",
    "akan",
    "dalam",
    "kepada",
    "oleh",
    "jika",
    "atau",
    "lebih",
    "darah",
    "kerana",
    "supaya",
    "mungkin",
    "telah",
    "juga",
    "pada",
    "ke",
    "di",
    "daripada",
    "menyebabkan",
    "paras",
    "badan",
    "tahap",
    "risiko",
    "bersama",
    "kesan",
    "kedua-dua",
    "ia",
    "tekanan",
    "rendah",
    "tinggi",
    "meningkatkan",
    "ada",
    "sangat",
    "perlu",
    "apabila",
    "bagi",
    "serta",
    "tersebut",
];

fn language_score(words: &[String]) -> (usize, usize) {
    let en = words.iter().filter(|w| EN_STOP.contains(&w.as_str())).count();
    let ms = words.iter().filter(|w| MS_STOP.contains(&w.as_str())).count();
    (en, ms)
}

fn check_language(lowered: &str, language: Language, out: &mut Vec<RejectReason>) {
    let all = words(lowered);
    let (en, ms) = language_score(&all);
    let (own, other) = match language {
        Language::En => (en, ms),
        Language::Ms => (ms, en),
    };
    if own == 0 || other * 2 >= own {
        out.push(RejectReason::WrongLanguage {
            expected: language,
            detail: format!("{en} English and {ms} Malay function words"),
        });
    }
    for s in sentences(lowered) {
        let sw = words(&s);
        let (en, ms) = language_score(&sw);
        let (own, other) = match language {
            Language::En => (en, ms),
            Language::Ms => (ms, en),
        };
        if other >= 2 && other > own {
            out.push(RejectReason::WrongLanguage {
                expected: language,
                detail: format!("a sentence in the other language: {:?}", s.trim()),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The finding from the issue: clarithromycin inhibits CYP3A4, which clears amlodipine.
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
            effect_text: "Higher amlodipine exposure: hypotension, and hospital admission with acute kidney injury \
                          (about two-fold) and hypotension (about three-fold) in older adults."
                .into(),
            management_text: "Prefer azithromycin, which does not inhibit CYP3A4; if clarithromycin is essential, \
                              consider pausing amlodipine for the course and monitor blood pressure and creatinine."
                .into(),
            other_names: vec!["azithromycin".into()],
        }
    }

    fn paracetamol_overdose() -> ExplanationFacts {
        ExplanationFacts {
            detail: FindingDetail::Dose {
                prescribed: Quantity { value: "6".into(), unit: "g/day".into() },
                limit: Quantity { value: "4".into(), unit: "g/day".into() },
                above: true,
            },
            drugs: vec!["paracetamol".into()],
            severity: Some(Severity::Major),
            effects: vec![Effect::Toxicity],
            mechanism_text: String::new(),
            effect_text: String::new(),
            management_text: String::new(),
            other_names: vec![],
        }
    }

    fn lexicon() -> DrugLexicon {
        DrugLexicon::new([
            "clarithromycin",
            "amlodipine",
            "azithromycin",
            "erythromycin",
            "simvastatin",
            "warfarin",
            "paracetamol",
            "ibuprofen",
            "valproic acid",
        ])
    }

    /// One case: the text, the facts, the language, and the reasons expected (as their
    /// Display text, substring match); an empty list means "accepted".
    fn check(text: &str, facts: &ExplanationFacts, language: Language, expected: &[&str]) {
        let verdict = check_explanation(text, facts, "", language, &lexicon());
        let got: Vec<String> = verdict.reasons().iter().map(ToString::to_string).collect();
        if expected.is_empty() {
            assert!(verdict.is_accepted(), "expected {text:?} to be accepted, got {got:#?}");
        } else {
            for e in expected {
                assert!(
                    got.iter().any(|g| g.contains(e)),
                    "expected a reason containing {e:?} for {text:?}, got {got:#?}"
                );
            }
        }
    }

    #[test]
    fn faithful_rephrasings_are_accepted() {
        let f = clarithromycin_amlodipine();
        check(
            "Clarithromycin blocks CYP3A4, the enzyme that clears amlodipine, so amlodipine levels in the blood rise. \
             This can cause low blood pressure and kidney injury. This is a major interaction.",
            &f,
            Language::En,
            &[],
        );
        check(
            "Clarithromycin slows down how your body clears amlodipine, so more amlodipine stays in your blood and \
             your blood pressure can drop too low.",
            &f,
            Language::En,
            &[],
        );
        check(
            "Klaritromisin menghalang enzim CYP3A4 yang menguraikan amlodipin. Ini meningkatkan paras amlodipin \
             dalam darah dan boleh menyebabkan tekanan darah rendah serta kecederaan buah pinggang.",
            &f,
            Language::Ms,
            &[],
        );
        check(
            "Clarithromycin makes amlodipine build up, and hospital admissions with kidney injury were about \
             two-fold higher.",
            &f,
            Language::En,
            &[],
        );
    }

    #[test]
    fn the_smollm2_production_claim_is_rejected() {
        let f = clarithromycin_amlodipine();
        check(
            "Clarithromycin inhibits CYP3A4, which is responsible for producing amlodipine.",
            &f,
            Language::En,
            &["mechanism contradicts", "producing"],
        );
        check("CYP3A4 makes amlodipine, and clarithromycin stops it.", &f, Language::En, &["makes amlodipine"]);
        check(
            "CYP3A4 menghasilkan amlodipin dan klaritromisin menghalangnya dalam badan.",
            &f,
            Language::Ms,
            &["menghasilkan"],
        );
    }

    #[test]
    fn a_reversed_mechanism_is_rejected() {
        let f = clarithromycin_amlodipine();
        check(
            "Clarithromycin induces CYP3A4, so amlodipine is cleared faster.",
            &f,
            Language::En,
            &["induction or falling levels (induces)"],
        );
        check(
            "Clarithromycin inhibits CYP3A4 and this decreases amlodipine levels in the blood.",
            &f,
            Language::En,
            &["decreases"],
        );
        check(
            "Amlodipine inhibits CYP3A4 and raises clarithromycin levels in the blood.",
            &f,
            Language::En,
            &["wrong drug or enzyme"],
        );
        check(
            "Klaritromisin mengaruh CYP3A4 dan menurunkan paras amlodipin dalam darah.",
            &f,
            Language::Ms,
            &["mengaruh", "menurunkan"],
        );
        check(
            "Clarithromycin inhibits CYP2D6, which clears amlodipine, and the levels of amlodipine rise.",
            &f,
            Language::En,
            &["names cyp2d6"],
        );
    }

    #[test]
    fn invented_numbers_doses_and_units_are_rejected() {
        let f = clarithromycin_amlodipine();
        check(
            "Clarithromycin raises amlodipine levels; keep amlodipine at 5 mg while on clarithromycin.",
            &f,
            Language::En,
            &["number not in the facts: \"5\"", "unit or dose not in the facts: \"5 mg\""],
        );
        check(
            "Clarithromycin raises amlodipine levels about ten times and the blood pressure can fall.",
            &f,
            Language::En,
            &["\"ten\""],
        );
        check(
            "With clarithromycin, 40% of patients on amlodipine get low blood pressure.",
            &f,
            Language::En,
            &["\"40\""],
        );
        let dose = paracetamol_overdose();
        check(
            "The prescribed paracetamol dose of 6 g/day is above the maximum of 4 g/day and can be toxic.",
            &dose,
            Language::En,
            &[],
        );
        check(
            "The prescribed paracetamol dose of 8 g/day is above the maximum of 4 g/day.",
            &dose,
            Language::En,
            &["\"8\""],
        );
        check("The paracetamol dose is above the maximum of 4000 mg per day.", &dose, Language::En, &["4000"]);
    }

    #[test]
    fn a_drug_that_is_not_in_the_finding_is_rejected() {
        let f = clarithromycin_amlodipine();
        check(
            "Erythromycin inhibits CYP3A4 and raises amlodipine levels in the blood.",
            &f,
            Language::En,
            &["drug not in the facts: \"erythromycin\"", "not mentioned: \"clarithromycin\""],
        );
        // A name the lexicon does not know but that is shaped like a generic name.
        check(
            "Clarithromycin and amlodipine interact, like telithromycin does with amlodipine.",
            &f,
            Language::En,
            &["telithromycin"],
        );
        check("Clarithromycin raises amlodipine levels, as with valproic acid.", &f, Language::En, &["valproic acid"]);
        // The alternative named in the facts may be mentioned.
        check(
            "Unlike azithromycin, clarithromycin blocks CYP3A4, so amlodipine builds up and can cause low blood \
             pressure.",
            &f,
            Language::En,
            &[],
        );
    }

    #[test]
    fn instructions_to_act_on_a_medicine_are_rejected() {
        let f = clarithromycin_amlodipine();
        for (text, lang, reason) in [
            ("Stop taking amlodipine while you take clarithromycin.", Language::En, "stop"),
            ("The pharmacist should approve clarithromycin with amlodipine.", Language::En, "approve"),
            ("It is fine to dispense clarithromycin with amlodipine.", Language::En, "dispense"),
            ("Switch to azithromycin instead of clarithromycin with amlodipine.", Language::En, "switch to"),
            ("Reduce the dose of amlodipine when you take clarithromycin.", Language::En, "reduce the dose"),
            ("Berhenti mengambil amlodipin semasa anda makan klaritromisin.", Language::Ms, "berhenti"),
            ("Hentikan amlodipin dan teruskan klaritromisin.", Language::Ms, "hentikan"),
            ("Ahli farmasi boleh luluskan klaritromisin dengan amlodipin.", Language::Ms, "luluskan"),
            ("Jangan ambil amlodipin bersama klaritromisin.", Language::Ms, "jangan ambil"),
        ] {
            check(text, &f, lang, &[reason]);
        }
    }

    #[test]
    fn a_wrong_severity_is_rejected() {
        let f = clarithromycin_amlodipine();
        check("This is a minor interaction between clarithromycin and amlodipine.", &f, Language::En, &["minor"]);
        check("Clarithromycin with amlodipine is contraindicated.", &f, Language::En, &["contraindicated"]);
        check("There is no interaction between clarithromycin and amlodipine.", &f, Language::En, &["no interaction"]);
        check("Interaksi klaritromisin dan amlodipin ini adalah ringan.", &f, Language::Ms, &["ringan"]);
        check(
            "Clarithromycin blocks CYP3A4 and amlodipine builds up, which can cause low blood pressure; this is a \
             serious interaction.",
            &f,
            Language::En,
            &[],
        );
    }

    #[test]
    fn the_wrong_language_or_a_mix_is_rejected() {
        let f = clarithromycin_amlodipine();
        let english = "Clarithromycin blocks CYP3A4, so amlodipine levels in the blood rise and the blood pressure \
                       can fall.";
        check(english, &f, Language::Ms, &["not written in ms"]);
        let malay = "Klaritromisin menghalang CYP3A4, jadi paras amlodipin dalam darah meningkat dan tekanan darah \
                     boleh menjadi rendah.";
        check(malay, &f, Language::En, &["not written in en"]);
        let mixed = "Klaritromisin menghalang CYP3A4 dan paras amlodipin dalam darah meningkat. This can cause the \
                     blood pressure to fall and it is a risk for the kidneys.";
        check(mixed, &f, Language::Ms, &["a sentence in the other language"]);
    }

    /// What SmolLM2-135M actually wrote for this finding (first runs, prompt v2).
    #[test]
    fn smollm2_inventions_about_use_overdose_and_adjustment_are_rejected() {
        let f = clarithromycin_amlodipine();
        check(
            "Clarithromycin is a medication used to treat antibiotic-resistant infections, and it can also help with \
             the treatment of amlodipine. However, when taken in excess, it can increase the risk of hypotension and \
             acute kidney injury. This makes it important to monitor amlodipine levels closely and adjust them \
             accordingly.",
            &f,
            Language::En,
            &[
                "claim not in the facts: \"treat\"",
                "\"in excess\"",
                "\"infection\"",
                "\"adjust\"",
                "leaves out the mechanism",
            ],
        );
        check(
            "Clarithromycin is a medication used to treat amlodipine, which helps your body clear it from the blood. \
             However, if you take too much of this medicine can cause kidney damage and other serious side effects.",
            &f,
            Language::En,
            &["\"treat\"", "\"too much\"", "leaves out the mechanism"],
        );
        check(
            "Clarithromycin makes the body clear amlodipine faster, so amlodipine levels in the blood rise and the \
             blood pressure can drop.",
            &f,
            Language::En,
            &["says faster"],
        );
        check("Clarithromycin and amlodipine can cause liver damage.", &f, Language::En, &["\"liver\""]);
        check(
            "Clarithromycin and amlodipine interfere with the production of CYP3A4, so amlodipine builds up and \
             blood pressure falls.",
            &f,
            Language::En,
            &["production"],
        );
    }

    #[test]
    fn a_rephrasing_that_leaves_out_the_effect_is_rejected() {
        check(
            "Clarithromycin blocks the enzyme CYP3A4, so amlodipine levels rise in the blood.",
            &clarithromycin_amlodipine(),
            Language::En,
            &["leaves out every effect"],
        );
    }

    /// What the closed vocabulary is for: fluent inventions that no other check lists.
    #[test]
    fn words_that_nobody_vetted_are_rejected() {
        let f = clarithromycin_amlodipine();
        for (text, lang, word) in [
            // Invented mechanisms.
            (
                "Clarithromycin blocks CYP3A4 in the gut wall, so amlodipine levels rise and blood pressure can fall.",
                Language::En,
                "gut",
            ),
            (
                "Clarithromycin pushes amlodipine off albumin, so amlodipine levels rise and blood pressure can fall.",
                Language::En,
                "albumin",
            ),
            (
                "Klaritromisin menghalang hormon CYP3A4, jadi paras amlodipin meningkat dan tekanan darah rendah.",
                Language::Ms,
                "hormon",
            ),
            // A drug class, a food and a population the facts do not name.
            (
                "Clarithromycin, like other macrolides, makes amlodipine build up and blood pressure fall.",
                Language::En,
                "macrolides",
            ),
            (
                "Clarithromycin, like grapefruit, makes amlodipine build up, so blood pressure can fall.",
                Language::En,
                "grapefruit",
            ),
            (
                "Clarithromycin makes amlodipine build up in elderly women, so blood pressure can fall.",
                Language::En,
                "elderly",
            ),
            // Instructions in words the instruction list does not hold.
            ("Hold amlodipine while clarithromycin builds up levels and blood pressure falls.", Language::En, "hold"),
            (
                "Clarithromycin makes amlodipine build up; cut back on amlodipine since blood pressure can fall.",
                Language::En,
                "cut",
            ),
            (
                "Klaritromisin menghalang CYP3A4 dan paras amlodipin meningkat; tinggalkan amlodipin kerana tekanan \
                 darah rendah.",
                Language::Ms,
                "tinggalkan",
            ),
            // One English word in a Malay sentence: the function-word count cannot see it.
            (
                "Klaritromisin menghalang CYP3A4, jadi paras amlodipin dalam darah meningkat and boleh menyebabkan \
                 tekanan darah rendah.",
                Language::Ms,
                "and",
            ),
            // An effect the finding does not have, in plain words.
            (
                "Clarithromycin makes amlodipine build up, so blood pressure falls and you may get a rash.",
                Language::En,
                "rash",
            ),
        ] {
            check(text, &f, lang, &[&format!("plain-language list: \"{word}\"")]);
        }
    }

    /// The list must not let through what another check forbids: no instruction, number,
    /// outcome, treatment or production word, and no advice verb.
    #[test]
    fn the_vocabulary_holds_no_forbidden_word() {
        let mut forbidden: Vec<(&str, &str)> = Vec::new();
        forbidden.extend(INSTRUCTION_WORDS.iter().map(|w| (*w, "instruction")));
        forbidden.extend(NUMBER_WORDS.iter().map(|(w, _)| (*w, "number")));
        forbidden.extend(OUTCOME_PHRASES.iter().filter(|p| !p.contains(' ')).map(|w| (*w, "outcome")));
        forbidden.extend(SEVERITY_WORDS.iter().filter(|(_, l)| l.is_empty()).map(|(w, _)| (*w, "severity")));
        forbidden.extend(
            ["should", "must", "avoid", "hold", "withdraw", "ensure", "recommend", "advise"].map(|w| (w, "advice")),
        );
        forbidden.extend(
            ["liver", "grapefruit", "alcohol-free", "elderly", "children", "pregnancy", "hati"].map(|w| (w, "claim")),
        );
        let v = Vocabulary::bundled();
        let mut found = Vec::new();
        for (lang, effect, s) in v.all_stems() {
            for (w, why) in &forbidden {
                if stem(w, *lang) == *s {
                    found.push(format!("{lang} {effect:?}: {w} ({why})"));
                }
            }
            // "Product" is a noun (the halal finding's product); the mechanism check knows.
            let noun = matches!(s.as_str(), "product" | "produk");
            if !noun && TREATMENT_STEMS.iter().chain(PRODUCTION_STEMS).any(|t| s.starts_with(t)) {
                found.push(format!("{lang} {effect:?}: {s} (treatment or production)"));
            }
        }
        assert!(found.is_empty(), "forbidden words on the plain-language list: {found:#?}");
    }

    #[test]
    fn empty_text_is_rejected() {
        check("  ", &clarithromycin_amlodipine(), Language::En, &["empty text"]);
    }

    #[test]
    fn the_facts_hash_depends_on_every_fact() {
        let a = clarithromycin_amlodipine();
        let mut b = a.clone();
        b.severity = Some(Severity::Moderate);
        let mut c = a.clone();
        c.drugs.reverse();
        assert_eq!(a.hash(), clarithromycin_amlodipine().hash());
        assert_ne!(a.hash(), b.hash());
        assert_ne!(a.hash(), c.hash());
        assert_eq!(a.hash().len(), 64);
    }

    #[test]
    fn numbers_inside_enzyme_names_are_not_numbers() {
        let got: Vec<String> =
            numbers_in("cyp3a4 and cyp2c9, 5-ht3, 20mg, 0.50 %").into_iter().map(|n| n.value).collect();
        assert_eq!(got, ["5", "20", "0.5"]);
        assert_eq!(fold_spelling("clarithromycin"), "klaritromisin");
        assert_eq!(fold_spelling("amlodipine"), fold_spelling("amlodipin"));
        assert!(!same_name(&fold_spelling("erythromycin"), &fold_spelling("azithromycin")));
    }
}
