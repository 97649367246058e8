//! Allergy checks: the same drug, the same allergy class, published cross-reactivity
//! (with rates), and non-drug allergens found among a product's excipients.

use rxgate_knowledge::{AllergenTarget, ClassId, CrossReactivity, GenericId, ProductId, Registry, Severity, Target};

use crate::drugs::{Drug, resolve_drugs};

#[derive(Debug, Clone, Default)]
pub struct AllergyRequest {
    pub drugs: Vec<String>,
    pub allergies: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    SameDrug,
    SameClass,
    CrossReactive,
    /// A non-drug allergen (gelatin, soya…) in the product's excipients.
    Excipient,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::SameDrug => "same_drug",
            AlertKind::SameClass => "same_class",
            AlertKind::CrossReactive => "cross_reactive",
            AlertKind::Excipient => "excipient",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AllergyAlert {
    /// The drug as the caller wrote it.
    pub drug: String,
    pub generic: String,
    /// The allergy as the caller wrote it.
    pub allergy: String,
    pub kind: AlertKind,
    pub severity: Severity,
    pub rate_percent: Option<f64>,
    pub note: String,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AllergyReport {
    pub alerts: Vec<AllergyAlert>,
    pub unknown: Vec<String>,
}

/// What a patient's allergy entry was understood as.
enum Allergy<'r> {
    Drug(GenericId),
    Class(ClassId),
    Excipients(&'r [String]),
    /// "NKDA", "none": an explicit statement that there is nothing to check.
    None,
}

fn understand<'r>(reg: &'r Registry, text: &str) -> Option<Allergy<'r>> {
    if reg.no_allergy_words().iter().any(|w| *w == rxgate_knowledge::normalise_name(text)) {
        return Some(Allergy::None);
    }
    if let Some(a) = reg.allergen_by_name(text) {
        return Some(match &a.target {
            AllergenTarget::Class(c) => Allergy::Class(*c),
            AllergenTarget::Generic(g) => Allergy::Drug(*g),
            AllergenTarget::Excipients(list) => Allergy::Excipients(list),
        });
    }
    // "penicillin allergy", "allergic to sulfa": the allergen is the rest of the words.
    let trimmed: Vec<&str> = text
        .split_whitespace()
        .filter(|w| {
            !matches!(w.to_lowercase().as_str(), "allergy" | "allergic" | "to" | "intolerance" | "hypersensitivity")
        })
        .collect();
    if trimmed.len() != text.split_whitespace().count() && !trimmed.is_empty() {
        return understand(reg, &trimmed.join(" "));
    }
    reg.resolve(text).map(|r| Allergy::Drug(r.generic))
}

pub fn check(reg: &Registry, req: &AllergyRequest) -> AllergyReport {
    let (drugs, mut unknown) = resolve_drugs(reg, &req.drugs);
    let mut alerts = Vec::new();
    for allergy_text in &req.allergies {
        let Some(allergy) = understand(reg, allergy_text) else {
            if !unknown.contains(allergy_text) {
                unknown.push(allergy_text.clone());
            }
            continue;
        };
        for drug in &drugs {
            if let Some(alert) = alert_for(reg, drug, allergy_text, &allergy) {
                alerts.push(alert);
            }
        }
    }
    alerts.sort_by(|a, b| {
        b.severity.cmp(&a.severity).then_with(|| a.drug.cmp(&b.drug)).then_with(|| a.allergy.cmp(&b.allergy))
    });
    AllergyReport { alerts, unknown }
}

fn alert_for(reg: &Registry, drug: &Drug, allergy_text: &str, allergy: &Allergy<'_>) -> Option<AllergyAlert> {
    let g = drug.generic;
    let inn = reg.generic(g).inn.clone();
    let alert = |kind, severity, rate_percent, note: String, sources: Vec<String>| AllergyAlert {
        drug: drug.input.clone(),
        generic: inn.clone(),
        allergy: allergy_text.to_string(),
        kind,
        severity,
        rate_percent,
        note,
        sources,
    };
    match allergy {
        Allergy::None => None,
        Allergy::Drug(a) if *a == g => Some(alert(
            AlertKind::SameDrug,
            Severity::Contraindicated,
            None,
            format!("Documented allergy to {inn}."),
            crate::citations(reg, &reg.generic(g).sources),
        )),
        Allergy::Drug(a) => {
            if let Some(class) = shared_allergy_class(reg, *a, g) {
                if let Some(c) = narrower_cross_reactivity(reg, &Target::Generic(*a), class, g) {
                    return Some(cross(alert, reg, c));
                }
                let c = reg.class(class);
                return Some(alert(
                    AlertKind::SameClass,
                    Severity::Major,
                    None,
                    format!(
                        "{inn} and {} are both {}; an allergy to one is presumed for the class.",
                        reg.generic(*a).inn,
                        c.name.to_lowercase()
                    ),
                    crate::citations(reg, &c.sources),
                ));
            }
            cross_alert(reg, &Target::Generic(*a), g).map(|c| cross(alert, reg, c))
        }
        Allergy::Class(class) => {
            if reg.in_class(g, *class) {
                if let Some(c) = narrower_cross_reactivity(reg, &Target::Class(*class), *class, g) {
                    return Some(cross(alert, reg, c));
                }
                let c = reg.class(*class);
                return Some(alert(
                    AlertKind::SameClass,
                    Severity::Major,
                    None,
                    format!("{inn} is one of the {}.", c.name.to_lowercase()),
                    crate::citations(reg, &c.sources),
                ));
            }
            cross_alert(reg, &Target::Class(*class), g).map(|c| cross(alert, reg, c))
        }
        Allergy::Excipients(names) => {
            if is_the_allergen_itself(reg, g, names) {
                return Some(alert(
                    AlertKind::SameDrug,
                    Severity::Contraindicated,
                    None,
                    format!("{inn} is itself the recorded allergen."),
                    crate::citations(reg, &reg.generic(g).sources),
                ));
            }
            excipient_alert(reg, drug, names)
                .map(|(severity, note, sources)| alert(AlertKind::Excipient, severity, None, note, sources))
        }
    }
}

/// A published cross-reactivity that speaks to a narrower group than the shared class
/// (the drug itself, or a subclass such as selective COX-2 inhibitors within NSAIDs)
/// describes the risk better than "same class" does, so it takes precedence.
fn narrower_cross_reactivity<'r>(
    reg: &'r Registry,
    allergy: &Target,
    shared: ClassId,
    drug: GenericId,
) -> Option<&'r CrossReactivity> {
    let c = cross_alert(reg, allergy, drug)?;
    let narrower = match c.to {
        Target::Generic(t) => t == drug,
        Target::Class(t) => t != shared && is_descendant(reg, t, shared),
    };
    narrower.then_some(c)
}

fn is_descendant(reg: &Registry, class: ClassId, ancestor: ClassId) -> bool {
    let mut cur = reg.class(class).parent;
    while let Some(p) = cur {
        if p == ancestor {
            return true;
        }
        cur = reg.class(p).parent;
    }
    false
}

/// An allergen recorded as an excipient (macrogol, gelatin) can also be the active
/// ingredient of a product (a macrogol laxative): that is the allergen itself.
fn is_the_allergen_itself(reg: &Registry, g: GenericId, allergen: &[String]) -> bool {
    let generic = reg.generic(g);
    let names: Vec<String> =
        std::iter::once(&generic.inn).chain(&generic.synonyms).map(|n| rxgate_knowledge::normalise_name(n)).collect();
    allergen.iter().any(|a| {
        let mut forms = vec![rxgate_knowledge::normalise_name(a)];
        if let Some(e) = reg.excipient(a) {
            forms.extend(std::iter::once(&e.name).chain(&e.synonyms).map(|n| rxgate_knowledge::normalise_name(n)));
        }
        forms.iter().any(|f| names.contains(f))
    })
}

fn cross<F>(alert: F, reg: &Registry, c: &CrossReactivity) -> AllergyAlert
where
    F: Fn(AlertKind, Severity, Option<f64>, String, Vec<String>) -> AllergyAlert,
{
    let rate = c.rate_percent.map(|r| format!(" Reported cross-reactivity about {r}%.")).unwrap_or_default();
    alert(
        AlertKind::CrossReactive,
        c.severity,
        c.rate_percent,
        format!("{} ({}).{rate}", c.note.trim_end_matches('.'), c.basis),
        crate::citations(reg, &c.sources),
    )
}

/// The narrowest allergy-group class that both generics share.
fn shared_allergy_class(reg: &Registry, a: GenericId, b: GenericId) -> Option<ClassId> {
    let bs = reg.classes_of(b);
    reg.classes_of(a)
        .iter()
        .filter(|c| reg.class(**c).allergy_group && bs.binary_search(c).is_ok())
        .max_by_key(|c| reg.class_depth(**c))
        .copied()
}

/// Whether the allergy side of an entry covers the patient's allergy: the same generic or
/// class, or (for an allergy to one drug) a class that drug belongs to.
fn from_covers(reg: &Registry, entry_from: &Target, allergy: &Target) -> Option<usize> {
    match (entry_from, allergy) {
        (Target::Generic(e), Target::Generic(a)) if e == a => Some(3),
        (Target::Class(e), Target::Class(a)) if e == a => Some(2),
        (Target::Class(e), Target::Generic(a)) if reg.in_class(*a, *e) => Some(1),
        _ => None,
    }
}

/// The most specific published cross-reactivity from the allergy to the drug; on a tie the
/// more severe one.
fn cross_alert<'r>(reg: &'r Registry, allergy: &Target, drug: GenericId) -> Option<&'r CrossReactivity> {
    reg.cross_reactivity()
        .iter()
        .filter_map(|c| {
            let from = from_covers(reg, &c.from, allergy)?;
            let to = match c.to {
                Target::Generic(t) if t == drug => 3,
                Target::Class(t) if reg.in_class(drug, t) => 1,
                _ => return None,
            };
            Some((from + to, c.severity, c))
        })
        .max_by(|p, q| p.0.cmp(&q.0).then(p.1.cmp(&q.1)))
        .map(|(_, _, c)| c)
}

/// A non-drug allergen among the excipients: of the named product, or of the generic's
/// products when no product was named (all of them → major; some → moderate, naming the
/// products that are free of it).
fn excipient_alert(reg: &Registry, drug: &Drug, allergen: &[String]) -> Option<(Severity, String, Vec<String>)> {
    let contains =
        |p: ProductId| reg.product(p).excipients.iter().find(|e| allergen.contains(&e.name)).map(|e| e.name.clone());
    let products: Vec<ProductId> = match drug.product {
        Some(p) => vec![p],
        None => reg.products_of(drug.generic).to_vec(),
    };
    let with: Vec<(ProductId, String)> = products.iter().filter_map(|&p| contains(p).map(|e| (p, e))).collect();
    if with.is_empty() {
        return None;
    }
    let free: Vec<&str> =
        products.iter().filter(|p| contains(**p).is_none()).map(|&p| reg.product(p).code.as_str()).collect();
    let sources = reg.excipient(&with[0].1).map(|e| crate::citations(reg, &e.sources)).unwrap_or_default();
    let listed: Vec<String> = with.iter().map(|(p, e)| format!("{} ({e})", reg.product(*p).code)).collect();
    if free.is_empty() {
        Some((Severity::Major, format!("Contains the allergen: {}.", listed.join(", ")), sources))
    } else {
        Some((
            Severity::Moderate,
            format!("Some products contain the allergen: {}. Free of it: {}.", listed.join(", "), free.join(", ")),
            sources,
        ))
    }
}
