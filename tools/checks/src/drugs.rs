//! Turning the names a caller wrote into generics, keeping what was not understood.

use rxgate_knowledge::{GenericId, ProductId, Registry};

/// A drug as the caller named it, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drug {
    /// What the caller wrote.
    pub input: String,
    pub generic: GenericId,
    /// Set when the name identified one product (a product code, GTIN or unique brand).
    pub product: Option<ProductId>,
}

/// Resolves every name; the second list holds the names the registry does not know, in
/// the order given. Blank names are reported as unknown too: an empty line on a
/// prescription is a data error, not "nothing to check".
pub fn resolve_drugs(reg: &Registry, names: &[String]) -> (Vec<Drug>, Vec<String>) {
    let mut drugs = Vec::new();
    let mut unknown = Vec::new();
    for name in names {
        match reg.resolve(name) {
            Some(r) => drugs.push(Drug { input: name.clone(), generic: r.generic, product: r.product }),
            None => {
                if !unknown.contains(name) {
                    unknown.push(name.clone());
                }
            }
        }
    }
    (drugs, unknown)
}
