//! Halal status of products and of ingredient lists, with the excipient, its source and
//! the reason for every concern, and halal alternatives of the same generic.

use chrono::NaiveDate;
use rxgate_knowledge::{GenericId, HalalStatus, ProductId, Registry};

use crate::drugs::resolve_drugs;

/// How a patient wants halal status handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Preference {
    /// Non-halal or doubtful products are blocked unless necessity applies.
    HalalOnly,
    /// Concerns are shown; nothing is blocked. The default.
    #[default]
    Warn,
    /// The patient has no halal preference; concerns are still disclosed.
    None,
}

impl Preference {
    pub fn parse(text: &str) -> Option<Preference> {
        match text {
            "halal_only" => Some(Preference::HalalOnly),
            "warn" => Some(Preference::Warn),
            "none" => Some(Preference::None),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngredientInput {
    pub name: String,
    pub source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HalalRequest {
    Drugs(Vec<String>),
    Ingredients(Vec<IngredientInput>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Concern {
    pub ingredient: String,
    pub source: String,
    pub status: HalalStatus,
    pub reason: String,
    pub sources: Vec<String>,
}

/// What should happen at the counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    None,
    Warn,
    Block,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::None => "none",
            Action::Warn => "warn",
            Action::Block => "block",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProductStatus {
    pub product: String,
    pub status: HalalStatus,
    pub concerns: Vec<Concern>,
    pub certificate: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HalalResult {
    /// The drug as the caller wrote it (absent for an ingredient list).
    pub drug: Option<String>,
    pub generic: Option<String>,
    /// The product judged, when one product was named or the generic has only one.
    pub product: Option<String>,
    /// The worst status among the products that could be dispensed for this drug.
    pub status: HalalStatus,
    pub concerns: Vec<Concern>,
    pub certificate: Option<String>,
    /// Halal products of the same generic.
    pub alternatives: Vec<String>,
    /// Every product of the generic with its own status, when a generic was named.
    pub products: Vec<ProductStatus>,
    pub action: Action,
    /// Darurah: an animal-derived medicine with no halal alternative is disclosed, not blocked.
    pub necessity_applies: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct HalalReport {
    pub results: Vec<HalalResult>,
    pub unknown: Vec<String>,
}

pub fn check(reg: &Registry, req: &HalalRequest, preference: Preference, today: Option<NaiveDate>) -> HalalReport {
    match req {
        HalalRequest::Drugs(names) => {
            let (drugs, unknown) = resolve_drugs(reg, names);
            let results =
                drugs.iter().map(|d| drug_result(reg, &d.input, d.generic, d.product, preference, today)).collect();
            HalalReport { results, unknown }
        }
        HalalRequest::Ingredients(list) => {
            let mut unknown = Vec::new();
            let mut concerns = Vec::new();
            let mut status = HalalStatus::Halal;
            let mut necessity = false;
            for i in list {
                let source = i.source.clone().unwrap_or_else(|| "unknown".to_string());
                let (s, concern, needs) = judge(reg, &i.name, &source);
                if reg.excipient(&i.name).is_none()
                    && reg.generic_by_inn(&i.name).is_none()
                    && !unknown.contains(&i.name)
                {
                    unknown.push(i.name.clone());
                }
                status = status.max(s);
                necessity |= needs;
                concerns.extend(concern);
            }
            let action = action_for(status, preference, necessity, false);
            let result = HalalResult {
                drug: None,
                generic: None,
                product: None,
                status,
                concerns,
                certificate: None,
                alternatives: Vec::new(),
                products: Vec::new(),
                action,
                necessity_applies: necessity,
            };
            HalalReport { results: vec![result], unknown }
        }
    }
}

/// One ingredient from one source: its status, the concern to show (if any), and whether
/// necessity applies.
fn judge(reg: &Registry, name: &str, source: &str) -> (HalalStatus, Option<Concern>, bool) {
    let excipient = reg.excipient(name);
    if let Some(e) = excipient
        && e.inherent_status == Some(HalalStatus::Halal)
    {
        return (HalalStatus::Halal, None, false);
    }
    let display = excipient.map_or_else(|| name.to_string(), |e| e.name.clone());
    // A name we cannot identify is unknown whatever its claimed source: "vegetable" says
    // nothing about an ingredient we cannot name (it could be an intoxicant).
    if excipient.is_none() && reg.resolve(name).is_none() {
        return (
            HalalStatus::Unknown,
            Some(Concern {
                ingredient: display,
                source: source.to_string(),
                status: HalalStatus::Unknown,
                reason: format!("{name} is not in the excipient registry; its halal status is unknown."),
                sources: Vec::new(),
            }),
            false,
        );
    }
    match reg.halal_rule(name, source) {
        Some(rule) if rule.status == HalalStatus::Halal => (HalalStatus::Halal, None, false),
        Some(rule) => (
            rule.status,
            Some(Concern {
                ingredient: display,
                source: source.to_string(),
                status: rule.status,
                reason: rule.reason.clone(),
                sources: crate::citations(reg, &rule.sources),
            }),
            rule.necessity_applies,
        ),
        None => (
            HalalStatus::Unknown,
            Some(Concern {
                ingredient: display,
                source: source.to_string(),
                status: HalalStatus::Unknown,
                reason: format!("No halal rule covers {name} from a {source} source; its status is unknown."),
                sources: Vec::new(),
            }),
            false,
        ),
    }
}

/// A valid certificate settles doubtful and unknown sources (the certifier verified them);
/// it cannot settle a non-halal ingredient, which the registry refuses to load anyway.
/// The second value says whether necessity (darurah) applies to any ingredient.
fn product_status(reg: &Registry, p: ProductId, today: Option<NaiveDate>) -> (ProductStatus, bool) {
    let product = reg.product(p);
    let mut status = HalalStatus::Halal;
    let mut concerns = Vec::new();
    let mut necessity = false;
    let active = product.active_source.as_ref().map(|s| (reg.generic(product.generic).inn.clone(), s.clone()));
    for (name, source) in product.excipients.iter().map(|e| (e.name.clone(), e.source.clone())).chain(active) {
        let (s, concern, needs) = judge(reg, &name, &source);
        status = status.max(s);
        necessity |= needs;
        concerns.extend(concern);
    }
    let certificate = product.halal_certificate.as_ref().filter(|c| match (c.expiry, today) {
        (Some(expiry), Some(today)) => expiry >= today,
        _ => true,
    });
    if certificate.is_some() && status != HalalStatus::NonHalal {
        status = HalalStatus::Halal;
        concerns.clear();
    }
    (
        ProductStatus {
            product: product.code.clone(),
            status,
            concerns,
            certificate: certificate.map(|c| c.number.clone()),
        },
        necessity,
    )
}

fn drug_result(
    reg: &Registry,
    input: &str,
    generic: GenericId,
    product: Option<ProductId>,
    preference: Preference,
    today: Option<NaiveDate>,
) -> HalalResult {
    let all = reg.products_of(generic);
    let judged_all: Vec<(ProductId, ProductStatus, bool)> = all
        .iter()
        .map(|&p| {
            let (s, n) = product_status(reg, p, today);
            (p, s, n)
        })
        .collect();
    let necessity = judged_all.iter().any(|(p, _, n)| *n && product.is_none_or(|q| q == *p));
    let statuses: Vec<(ProductId, ProductStatus)> = judged_all.into_iter().map(|(p, s, _)| (p, s)).collect();
    let alternatives: Vec<String> = statuses
        .iter()
        .filter(|(p, s)| s.status == HalalStatus::Halal && Some(*p) != product)
        .map(|(_, s)| s.product.clone())
        .collect();
    let judged: Vec<&(ProductId, ProductStatus)> = match product {
        Some(p) => statuses.iter().filter(|(q, _)| *q == p).collect(),
        None => statuses.iter().collect(),
    };
    let status = judged.iter().map(|(_, s)| s.status).max().unwrap_or(HalalStatus::Unknown);
    let mut concerns: Vec<Concern> = Vec::new();
    for (_, s) in &judged {
        for c in &s.concerns {
            if !concerns.contains(c) {
                concerns.push(c.clone());
            }
        }
    }
    let has_halal_alternative = !alternatives.is_empty();
    let single = (judged.len() == 1).then(|| judged[0]);
    HalalResult {
        drug: Some(input.to_string()),
        generic: Some(reg.generic(generic).inn.clone()),
        product: single.map(|(_, s)| s.product.clone()),
        status,
        concerns,
        certificate: single.and_then(|(_, s)| s.certificate.clone()),
        alternatives,
        products: if product.is_none() { statuses.into_iter().map(|(_, s)| s).collect() } else { Vec::new() },
        action: action_for(status, preference, necessity, has_halal_alternative),
        necessity_applies: necessity && !has_halal_alternative,
    }
}

/// `halal_only` blocks anything not known to be halal — except that a medicine needed out
/// of necessity with no halal alternative is disclosed and warned, never blocked.
fn action_for(status: HalalStatus, preference: Preference, necessity: bool, has_halal_alternative: bool) -> Action {
    if status == HalalStatus::Halal {
        return Action::None;
    }
    match preference {
        Preference::HalalOnly if necessity && !has_halal_alternative => Action::Warn,
        Preference::HalalOnly => Action::Block,
        Preference::Warn | Preference::None => Action::Warn,
    }
}
