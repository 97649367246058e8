//! Generic substitution: cheaper bioequivalent products of the same generic, strength,
//! form and route. Narrow-therapeutic-index drugs are flagged, never suggested silently.

use rxgate_knowledge::{ProductId, Registry};

#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub product: String,
    pub brand: String,
    pub generic: String,
    pub strength: String,
    pub form: String,
    /// MYR per unit.
    pub unit_cost: f64,
    /// Saving against the product it would replace, in percent, one decimal.
    pub saving_pct: f64,
    /// The product it would replace.
    pub replaces: String,
    pub bioequivalent: bool,
    pub narrow_therapeutic_index: bool,
    /// Set for narrow-therapeutic-index drugs: switching needs a pharmacist's decision and
    /// monitoring.
    pub requires_review: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SuggestReport {
    pub generic: Option<String>,
    pub suggestions: Vec<Suggestion>,
    pub unknown: Vec<String>,
}

pub fn suggest(reg: &Registry, drug: &str) -> SuggestReport {
    let Some(resolved) = reg.resolve(drug) else {
        return SuggestReport { generic: None, suggestions: Vec::new(), unknown: vec![drug.to_string()] };
    };
    let generic = resolved.generic;
    let nti = reg.property(generic, "narrow_therapeutic_index").is_some();
    let inn = reg.generic(generic).inn.clone();
    // The product to replace: the one named, else the originator (or the dearest) of each
    // strength and form.
    let baselines: Vec<ProductId> = match resolved.product {
        Some(p) => vec![p],
        None => {
            let mut out: Vec<ProductId> = Vec::new();
            for &p in reg.products_of(generic) {
                let same = out.iter().position(|&q| same_presentation(reg, p, q));
                match same {
                    None => out.push(p),
                    Some(i) if is_better_baseline(reg, p, out[i]) => out[i] = p,
                    Some(_) => {}
                }
            }
            out
        }
    };
    let mut suggestions = Vec::new();
    for base in baselines {
        let b = reg.product(base);
        for &p in reg.products_of(generic) {
            let c = reg.product(p);
            if p == base || !same_presentation(reg, p, base) || !c.bioequivalent || c.unit_price_sen >= b.unit_price_sen
            {
                continue;
            }
            let saving = (b.unit_price_sen - c.unit_price_sen) as f64 * 100.0 / b.unit_price_sen as f64;
            suggestions.push(Suggestion {
                product: c.code.clone(),
                brand: c.brand.clone(),
                generic: inn.clone(),
                strength: c.strength.clone(),
                form: c.form.clone(),
                unit_cost: c.unit_price_sen as f64 / 100.0,
                saving_pct: (saving * 10.0).round() / 10.0,
                replaces: b.code.clone(),
                bioequivalent: true,
                narrow_therapeutic_index: nti,
                requires_review: nti.then(|| {
                    format!("{inn} has a narrow therapeutic index: switch products only with a pharmacist's decision and monitoring")
                }),
            });
        }
    }
    suggestions.sort_by(|a, b| b.saving_pct.total_cmp(&a.saving_pct).then_with(|| a.product.cmp(&b.product)));
    SuggestReport { generic: Some(inn), suggestions, unknown: Vec::new() }
}

fn same_presentation(reg: &Registry, p: ProductId, q: ProductId) -> bool {
    let (p, q) = (reg.product(p), reg.product(q));
    p.strength_value == q.strength_value
        && p.strength_unit == q.strength_unit
        && p.form.eq_ignore_ascii_case(&q.form)
        && p.route.eq_ignore_ascii_case(&q.route)
}

fn is_better_baseline(reg: &Registry, p: ProductId, current: ProductId) -> bool {
    let (p, c) = (reg.product(p), reg.product(current));
    (p.reference && !c.reference) || (p.reference == c.reference && p.unit_price_sen > c.unit_price_sen)
}
