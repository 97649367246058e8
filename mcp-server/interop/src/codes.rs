//! Drug codes from an EHR mapped onto the knowledge registry.
//!
//! Order, first hit wins: RxNorm (crosswalk in `data/rxnorm.csv`, ingredient concepts) →
//! NDC / GTIN (an NDC becomes the GTIN-14 it is embedded in) → NPRA `MAL…` or rxgate
//! product code → the coding's display / the concept's text as a name → an analyst's
//! resolution of that exact code. Anything left is a [`PendingMapping`]: the caller must
//! keep the event waiting for an analyst, never drop the line.

use std::collections::BTreeMap;

use rxgate_knowledge::Registry;

use crate::fhir::{CodeableConcept, Coding, GTIN, NDC, NPRA_MAL, RXGATE_PRODUCT, RXNORM};

/// The RxNorm crosswalk shipped with the crate (RxCUI → INN).
pub const RXNORM_CROSSWALK: &str = include_str!("../data/rxnorm.csv");

/// How a code was understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MappedVia {
    RxNorm,
    Ndc,
    Gtin,
    Npra,
    ProductCode,
    Name,
    Analyst,
}

impl MappedVia {
    pub fn as_str(self) -> &'static str {
        match self {
            MappedVia::RxNorm => "rxnorm",
            MappedVia::Ndc => "ndc",
            MappedVia::Gtin => "gtin",
            MappedVia::Npra => "npra",
            MappedVia::ProductCode => "product_code",
            MappedVia::Name => "name",
            MappedVia::Analyst => "analyst",
        }
    }
}

/// A code the registry understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    /// The INN it resolved to.
    pub generic: String,
    /// The formulary product, when the code named one (GTIN, MAL, product code).
    pub product: Option<String>,
    pub via: MappedVia,
}

/// A code nobody could map yet: keyed by `system|code` (or `text|<normalised text>`), so
/// one analyst decision resolves every event waiting on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingMapping {
    pub key: String,
    pub system: Option<String>,
    pub code: Option<String>,
    /// What the sender called it (display or text), for the analyst.
    pub display: Option<String>,
}

/// The crosswalks and analyst decisions a mapping consults besides the registry.
#[derive(Debug, Clone, Default)]
pub struct CodeMaps {
    rxnorm: BTreeMap<String, String>,
    /// Analyst resolutions: pending key → INN.
    pub resolved: BTreeMap<String, String>,
}

/// A bad row in a crosswalk file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rxnorm.csv:{line}: {message}")]
pub struct CrosswalkError {
    pub line: usize,
    pub message: String,
}

impl CodeMaps {
    /// The bundled crosswalk, checked against `registry`: every target INN must exist.
    pub fn bundled(registry: &Registry) -> Result<CodeMaps, CrosswalkError> {
        CodeMaps::parse(RXNORM_CROSSWALK, registry)
    }

    pub fn parse(text: &str, registry: &Registry) -> Result<CodeMaps, CrosswalkError> {
        let mut rxnorm = BTreeMap::new();
        for (i, line) in text.lines().enumerate().skip(1) {
            let line_no = i + 1;
            if line.trim().is_empty() {
                continue;
            }
            let cols: Vec<&str> = line.split(',').collect();
            let bad = |message: String| CrosswalkError { line: line_no, message };
            let [rxcui, generic, sources] = cols[..] else {
                return Err(bad(format!("expected 3 columns, found {}", cols.len())));
            };
            if rxcui.is_empty() || !rxcui.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(format!("`{rxcui}` is not an RxCUI")));
            }
            if registry.generic_by_inn(generic).is_none() {
                return Err(bad(format!("`{generic}` is not a generic in the registry")));
            }
            if sources.split(';').any(|s| !registry.sources().iter().any(|known| known.id == s)) {
                return Err(bad(format!("source `{sources}` is not in sources.csv")));
            }
            if rxnorm.insert(rxcui.to_string(), generic.to_string()).is_some() {
                return Err(bad(format!("RxCUI {rxcui} listed twice")));
            }
        }
        Ok(CodeMaps { rxnorm, resolved: BTreeMap::new() })
    }

    /// Maps a medication concept, or says which code waits for an analyst.
    pub fn map_concept(&self, registry: &Registry, concept: &CodeableConcept) -> Result<Mapped, PendingMapping> {
        // Ranked by how exact the code is, whatever order the sender listed the codings in.
        let ranked = [MappedVia::RxNorm, MappedVia::Ndc, MappedVia::Gtin, MappedVia::Npra, MappedVia::ProductCode];
        for via in ranked {
            for coding in &concept.coding {
                if let Some(m) = self.map_coding(registry, coding, via) {
                    return Ok(m);
                }
            }
        }
        let names = concept.coding.iter().filter_map(|c| c.display.as_deref()).chain(concept.text.as_deref());
        for name in names {
            if let Some(m) = by_name(registry, name, MappedVia::Name) {
                return Ok(m);
            }
        }
        let pending = pending_for(concept);
        if let Some(generic) = self.resolved.get(&pending.key)
            && let Some(m) = by_name(registry, generic, MappedVia::Analyst)
        {
            return Ok(m);
        }
        Err(pending)
    }

    fn map_coding(&self, registry: &Registry, coding: &Coding, via: MappedVia) -> Option<Mapped> {
        let system = coding.system.as_deref()?;
        let code = coding.code.as_deref()?.trim();
        match (via, system) {
            (MappedVia::RxNorm, RXNORM) => self.rxnorm.get(code).and_then(|g| by_name(registry, g, via)),
            (MappedVia::Ndc, NDC) => ndc_to_gtin(code).and_then(|gtin| by_name(registry, &gtin, via)),
            (MappedVia::Gtin, GTIN) | (MappedVia::Gtin, "https://www.gs1.org/gtin") => {
                code.bytes().all(|b| b.is_ascii_digit()).then(|| by_name(registry, code, via)).flatten()
            }
            (MappedVia::Npra, NPRA_MAL) => {
                code.to_ascii_uppercase().starts_with("MAL").then(|| by_name(registry, code, via)).flatten()
            }
            (MappedVia::ProductCode, RXGATE_PRODUCT) => {
                let id = registry.product_by_code(code)?;
                let product = registry.product(id);
                Some(Mapped {
                    generic: registry.generic(product.generic).inn.clone(),
                    product: Some(product.code.clone()),
                    via,
                })
            }
            _ => None,
        }
    }
}

fn by_name(registry: &Registry, name: &str, via: MappedVia) -> Option<Mapped> {
    let resolved = registry.resolve(name)?;
    Some(Mapped {
        generic: registry.generic(resolved.generic).inn.clone(),
        product: resolved.product.map(|p| registry.product(p).code.clone()),
        via,
    })
}

/// The key an analyst's decision is stored under: the most exact code the sender gave.
pub fn pending_for(concept: &CodeableConcept) -> PendingMapping {
    let coded = concept.coding.iter().find(|c| c.system.is_some() && c.code.is_some());
    let display = concept.coding.iter().find_map(|c| c.display.clone()).or_else(|| concept.text.clone());
    match coded {
        Some(c) => PendingMapping {
            key: format!("{}|{}", c.system.as_deref().unwrap_or(""), c.code.as_deref().unwrap_or("").trim()),
            system: c.system.clone(),
            code: c.code.clone(),
            display,
        },
        None => PendingMapping {
            key: format!("text|{}", rxgate_knowledge::normalise_name(display.as_deref().unwrap_or(""))),
            system: None,
            code: None,
            display,
        },
    }
}

/// An NDC (10 digits in 4-4-2, 5-3-2 or 5-4-1 form, or the 11-digit 5-4-2 billing form)
/// as the GTIN-14 that carries it: `003` + the 10-digit NDC + check digit.
pub fn ndc_to_gtin(ndc: &str) -> Option<String> {
    let parts: Vec<&str> = ndc.split('-').collect();
    let ten = match parts[..] {
        [a, b, c] if a.len() + b.len() + c.len() == 10 => format!("{a}{b}{c}"),
        // 5-4-2 billing form: one segment was zero-padded; undo the padding.
        [a, b, c] if a.len() == 5 && b.len() == 4 && c.len() == 2 => {
            if let Some(a4) = a.strip_prefix('0') {
                format!("{a4}{b}{c}")
            } else if let Some(b3) = b.strip_prefix('0') {
                format!("{a}{b3}{c}")
            } else {
                format!("{a}{b}{}", c.strip_prefix('0')?)
            }
        }
        [digits] if digits.len() == 10 => digits.to_string(),
        _ => return None,
    };
    if !ten.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let body = format!("003{ten}");
    Some(format!("{body}{}", gs1_check_digit(&body)))
}

/// The GS1 mod-10 check digit of a 13-digit body.
fn gs1_check_digit(body: &str) -> u32 {
    let sum: u32 =
        body.bytes().rev().enumerate().map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 }).sum();
    (10 - sum % 10) % 10
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhir::CodeableConcept;

    fn registry() -> Registry {
        rxgate_knowledge::load(&rxgate_knowledge::bundled_files()).expect("bundled registry").registry
    }

    fn check(concept: CodeableConcept, expect: Result<(&str, MappedVia), &str>) {
        let reg = registry();
        let maps = CodeMaps::bundled(&reg).expect("crosswalk");
        match (maps.map_concept(&reg, &concept), expect) {
            (Ok(m), Ok((generic, via))) => assert_eq!((m.generic.as_str(), m.via), (generic, via), "{concept:?}"),
            (Err(p), Err(key)) => assert_eq!(p.key, key, "{concept:?}"),
            (got, want) => panic!("{concept:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn the_bundled_rxnorm_crosswalk_names_only_known_generics() {
        let reg = registry();
        let maps = CodeMaps::bundled(&reg).expect("every RxCUI maps onto a registry generic");
        assert!(maps.rxnorm.len() >= 10);
    }

    #[test]
    fn codes_map_in_order_rxnorm_then_gtin_then_npra_then_name() {
        let reg = registry();
        let (_, product) = reg.products().find(|(_, p)| p.gtin.is_some() && p.mal_no.is_some()).expect("a product");
        let gtin = product.gtin.clone().expect("gtin");
        let mal = product.mal_no.clone().expect("mal");
        let inn = reg.generic(product.generic).inn.clone();

        // RxNorm wins even when listed last and the display names another drug.
        let mut c = CodeableConcept::coded(GTIN, &gtin, Some("paracetamol"));
        c.coding.push(Coding::new(RXNORM, "17767", None));
        check(c, Ok(("amlodipine", MappedVia::RxNorm)));
        check(CodeableConcept::coded(GTIN, &gtin, Some("something else")), Ok((&inn, MappedVia::Gtin)));
        check(CodeableConcept::coded(NPRA_MAL, &mal, None), Ok((&inn, MappedVia::Npra)));
        check(CodeableConcept::coded(RXGATE_PRODUCT, &product.code, None), Ok((&inn, MappedVia::ProductCode)));
        // An RxCUI outside the crosswalk falls through to the display name.
        check(
            CodeableConcept::coded(RXNORM, "999999999", Some("Clarithromycin 500 mg tablet")),
            Ok(("clarithromycin", MappedVia::Name)),
        );
        check(CodeableConcept::text("acetaminophen"), Ok(("paracetamol", MappedVia::Name)));
    }

    #[test]
    fn an_unknown_code_is_pending_never_dropped_and_an_analyst_can_resolve_it() {
        let concept = CodeableConcept::coded("urn:oid:2.16.840.1.113883.6.88", "X-42", Some("Zyxomab 10 mg"));
        check(concept.clone(), Err("urn:oid:2.16.840.1.113883.6.88|X-42"));
        check(CodeableConcept::text("Zyxomab"), Err("text|zyxomab"));

        let reg = registry();
        let mut maps = CodeMaps::bundled(&reg).expect("crosswalk");
        maps.resolved.insert("urn:oid:2.16.840.1.113883.6.88|X-42".into(), "amlodipine".into());
        let m = maps.map_concept(&reg, &concept).expect("resolved by the analyst");
        assert_eq!((m.generic.as_str(), m.via), ("amlodipine", MappedVia::Analyst));
    }

    #[test]
    fn ndc_codes_become_the_gtin_that_embeds_them() {
        // 4-4-2 NDC 0071-0155-23 → `003` + 0071015523 + GS1 check digit 7 (sum 53).
        assert_eq!(ndc_to_gtin("0071-0155-23").as_deref(), Some("00300710155237"));
        // The 11-digit billing form pads the 4-digit labeler segment; the GTIN is the same.
        assert_eq!(ndc_to_gtin("00071-0155-23").as_deref(), Some("00300710155237"));
        assert_eq!(ndc_to_gtin("0071015523").as_deref(), Some("00300710155237"));
        assert_eq!(ndc_to_gtin("12-34"), None);
        assert_eq!(ndc_to_gtin("abcd-efgh-ij"), None);
    }
}
