//! The closed vocabulary of an explanation: every word a model writes must come from the
//! facts, the vetted template text, or a small list of function words and plain-language
//! words for its language (`data/explanation_vocabulary.txt`).
//!
//! The other checks of the guard look for known ways a rephrasing goes wrong (a number, a
//! drug, an instruction). A small model also invents in ways nobody listed — "the liver
//! enzyme", "a hormone", "grapefruit", "in elderly women" — and each invented word is a claim
//! the facts do not make. A closed vocabulary turns that open list into a closed one: a word
//! nobody vetted is rejected, and the caller falls back to the template.
//!
//! The list is data so that a pharmacist can review it: a plain word per line or several per
//! line, in sections `[en]`, `[ms]` (always allowed) and `[en effect]`, `[ms effect]`
//! (allowed only when the facts name that effect, e.g. `[en low_blood_pressure]` allows
//! "dizzy" only in an explanation of a finding that can lower blood pressure).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use crate::explanation_guard::{Effect, Language};

const VOCABULARY: &str = include_str!("../data/explanation_vocabulary.txt");

/// The parsed vocabulary: words always allowed, and words allowed with an effect, per
/// language, as stems (see [`stem`]).
#[derive(Debug, Default)]
pub(crate) struct Vocabulary {
    common: BTreeMap<Language, BTreeSet<String>>,
    by_effect: BTreeMap<(Language, Effect), BTreeSet<String>>,
}

/// A line of the vocabulary file that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VocabularyError {
    pub(crate) line: usize,
    pub(crate) message: String,
}

impl Vocabulary {
    /// The bundled vocabulary. Its parse is checked by a unit test, so a broken file fails
    /// the build's tests, never a request.
    pub(crate) fn bundled() -> &'static Vocabulary {
        static V: OnceLock<Vocabulary> = OnceLock::new();
        V.get_or_init(|| Vocabulary::parse(VOCABULARY).unwrap_or_default())
    }

    pub(crate) fn parse(text: &str) -> Result<Vocabulary, Vec<VocabularyError>> {
        let mut v = Vocabulary::default();
        let mut errors = Vec::new();
        let mut section: Option<(Language, Option<Effect>)> = None;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                let mut parts = header.split_whitespace();
                let language = parts.next().and_then(Language::parse);
                let effect = parts.next().map(|e| Effect::ALL.into_iter().find(|x| x.as_str() == e));
                section = match (language, effect) {
                    (Some(l), None) => Some((l, None)),
                    (Some(l), Some(Some(e))) => Some((l, Some(e))),
                    _ => {
                        errors.push(VocabularyError { line: i + 1, message: format!("unknown section [{header}]") });
                        None
                    }
                };
                continue;
            }
            let Some((language, effect)) = section else {
                errors.push(VocabularyError { line: i + 1, message: "words before any section".into() });
                continue;
            };
            for word in line.split_whitespace() {
                let word = word.to_lowercase();
                if !word.chars().all(|c| c.is_alphabetic() || c == '-' || c == '\'') {
                    errors.push(VocabularyError { line: i + 1, message: format!("not a plain word: {word:?}") });
                    continue;
                }
                let set = match effect {
                    None => v.common.entry(language).or_default(),
                    Some(e) => v.by_effect.entry((language, e)).or_default(),
                };
                set.insert(stem(&word, language));
            }
        }
        if errors.is_empty() { Ok(v) } else { Err(errors) }
    }

    /// True when `word` (lowercase, one word without hyphens) is on the list for `language`,
    /// or on an effect's list for one of `effects`.
    pub(crate) fn allows(&self, word: &str, language: Language, effects: &[Effect]) -> bool {
        let s = stem(word, language);
        self.common.get(&language).is_some_and(|set| set.contains(&s))
            || effects
                .iter()
                .chain([Effect::Adverse].iter())
                .any(|e| self.by_effect.get(&(language, *e)).is_some_and(|set| set.contains(&s)))
    }

    /// Every listed word form's stem, for the test that no forbidden word is on the list.
    #[cfg(test)]
    pub(crate) fn all_stems(&self) -> impl Iterator<Item = (&Language, Option<&Effect>, &String)> {
        self.common
            .iter()
            .flat_map(|(l, set)| set.iter().map(move |w| (l, None, w)))
            .chain(self.by_effect.iter().flat_map(|((l, e), set)| set.iter().map(move |w| (l, Some(e), w))))
    }
}

/// A crude stem, so that "clears", "cleared" and "clearing" are one word and the list stays
/// short. English: one inflection suffix, then a final "e" ("rises", "rising" → "ris").
/// Malay: enclitics and the suffixes -kan, -an, -i; the prefixes with nasal changes
/// (meN-, peN-) are listed as whole words instead, since undoing them needs a dictionary.
pub(crate) fn stem(word: &str, language: Language) -> String {
    let w = word.to_lowercase();
    match language {
        Language::En => {
            let mut s = w.clone();
            for (suffix, replacement) in
                [("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""), ("ly", "")]
            {
                if let Some(base) = w.strip_suffix(suffix)
                    && base.chars().count() >= 3
                    && !w.ends_with("ss")
                {
                    s = format!("{base}{replacement}");
                    break;
                }
            }
            if s.chars().count() > 3 && s.ends_with('e') {
                s.pop();
            }
            s
        }
        Language::Ms => {
            let mut s = w.clone();
            for clitic in ["nya", "lah", "kah"] {
                if let Some(base) = s.strip_suffix(clitic)
                    && base.chars().count() >= 3
                {
                    s = base.to_string();
                    break;
                }
            }
            for prefix in ["di", "ber", "ter"] {
                if let Some(base) = s.strip_prefix(prefix)
                    && base.chars().count() >= 4
                {
                    s = base.to_string();
                    break;
                }
            }
            for suffix in ["kan", "an", "i"] {
                if let Some(base) = s.strip_suffix(suffix)
                    && base.chars().count() >= 4
                {
                    s = base.to_string();
                    break;
                }
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_vocabulary_parses() {
        if let Err(errors) = Vocabulary::parse(VOCABULARY) {
            panic!("data/explanation_vocabulary.txt: {errors:#?}");
        }
    }

    #[test]
    fn inflections_share_a_stem() {
        for (a, b) in [("clears", "cleared"), ("rises", "rising"), ("levels", "level"), ("increases", "increased")] {
            assert_eq!(stem(a, Language::En), stem(b, Language::En), "{a} / {b}");
        }
        assert_eq!(stem("menyebabkannya", Language::Ms), stem("menyebabkan", Language::Ms));
        assert_eq!(stem("dipengaruhi", Language::Ms), stem("pengaruh", Language::Ms));
        // Short words keep their letters ("bed" is not "b").
        assert_eq!(stem("bed", Language::En), "bed");
    }

    #[test]
    fn effect_words_are_allowed_only_with_their_effect() {
        let v = Vocabulary::bundled();
        assert!(v.allows("dizziness", Language::En, &[Effect::LowBloodPressure]));
        assert!(!v.allows("dizziness", Language::En, &[Effect::Bleeding]));
        assert!(v.allows("pening", Language::Ms, &[Effect::LowBloodPressure]));
        assert!(v.allows("the", Language::En, &[]));
        assert!(!v.allows("the", Language::Ms, &[]));
        assert!(!v.allows("grapefruit", Language::En, &Effect::ALL));
    }
}
