//! Pass 4: clinical invariants — facts that are each well-formed but unsafe together.

use std::collections::HashMap;

use crate::diagnostic::{Diagnostics, Pass};
use crate::load::resolve::Locs;
use crate::model::*;
use crate::registry::Registry;

pub(crate) fn check(reg: &Registry, locs: &Locs, d: &mut Diagnostics) {
    names_mean_one_drug(reg, locs, d);
    classes_are_acyclic(reg, locs, d);
    every_generic_has_a_product(reg, locs, d);
    products_are_well_identified(reg, locs, d);
    certified_halal_has_no_haram_ingredient(reg, locs, d);
    curated_pairs_are_pairs(reg, locs, d);
    cross_reactivity_links_two_things(reg, locs, d);
}

/// A name that means two drugs would make resolution depend on file order: a wrong-drug
/// error waiting to happen.
fn names_mean_one_drug(reg: &Registry, locs: &Locs, d: &mut Diagnostics) {
    let mut first: HashMap<&str, (GenericId, &crate::diagnostic::Loc)> = HashMap::new();
    for (name, generic, loc) in &locs.names {
        match first.get(name.as_str()) {
            Some((other, other_loc)) if other != generic => d.push(
                loc.clone(),
                Pass::Clinical,
                "ambiguous-name",
                format!(
                    "`{name}` already names `{}` ({other_loc}); it cannot also name `{}`",
                    reg.generic(*other).inn,
                    reg.generic(*generic).inn
                ),
            ),
            Some(_) => {}
            None => {
                first.insert(name, (*generic, loc));
            }
        }
    }
}

fn classes_are_acyclic(reg: &Registry, locs: &Locs, d: &mut Diagnostics) {
    for (i, class) in reg.classes.iter().enumerate() {
        let mut cur = class.parent;
        let mut steps = 0;
        while let Some(p) = cur {
            if p.index() == i || steps > reg.classes.len() {
                d.push(
                    locs.class_parent[i].clone(),
                    Pass::Clinical,
                    "class-cycle",
                    format!("class `{}` is its own ancestor", class.id),
                );
                break;
            }
            cur = reg.classes[p.index()].parent;
            steps += 1;
        }
    }
}

/// Every generic must be dispensable in the demo pharmacy, or a tool could name an
/// alternative nobody can supply.
fn every_generic_has_a_product(reg: &Registry, locs: &Locs, d: &mut Diagnostics) {
    for (i, g) in reg.generics.iter().enumerate() {
        if reg.products_by_generic[i].is_empty() {
            d.push(
                locs.generics[i].clone(),
                Pass::Clinical,
                "generic-without-product",
                format!("`{}` has no product in products.csv", g.inn),
            );
        }
    }
}

/// GS1 check digit over the data digits (weights 3,1,3… from the right).
fn gtin_check_digit_ok(gtin: &str) -> bool {
    if gtin.len() != 14 || !gtin.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let digits: Vec<u32> = gtin.bytes().map(|b| u32::from(b - b'0')).collect();
    let sum: u32 = digits[..13].iter().rev().enumerate().map(|(i, v)| if i % 2 == 0 { v * 3 } else { *v }).sum();
    (10 - sum % 10) % 10 == digits[13]
}

/// `MAL` + 8 digits + category letter + optional admin codes (NPRA).
fn mal_number_ok(mal: &str) -> bool {
    let Some(rest) = mal.strip_prefix("MAL") else { return false };
    let bytes = rest.as_bytes();
    bytes.len() >= 9
        && bytes.len() <= 14
        && bytes[..8].iter().all(u8::is_ascii_digit)
        && b"AXNTH".contains(&bytes[8])
        && bytes[9..].iter().all(|b| b"CERSYZ".contains(b))
}

fn products_are_well_identified(reg: &Registry, locs: &Locs, d: &mut Diagnostics) {
    let mut gtins: HashMap<&str, &str> = HashMap::new();
    let mut mals: HashMap<&str, &str> = HashMap::new();
    for (i, p) in reg.products.iter().enumerate() {
        let loc = &locs.products[i];
        if let Some(gtin) = &p.gtin {
            let gloc = locs.product_gtin[i].clone().unwrap_or_else(|| loc.clone());
            if !gtin_check_digit_ok(gtin) {
                d.push(
                    gloc.clone(),
                    Pass::Clinical,
                    "bad-gtin",
                    format!("GTIN `{gtin}` is not 14 digits with a valid check digit"),
                );
            }
            if let Some(other) = gtins.insert(gtin, &p.code) {
                d.push(
                    gloc.clone(),
                    Pass::Clinical,
                    "duplicate-gtin",
                    format!("GTIN `{gtin}` is also `{other}`: a scan must identify one product"),
                );
            }
            // Restricted-circulation numbers (GS1 prefixes 02 and 20–29) can never collide with
            // a real trade item.
            if reg.demo && !(gtin.starts_with("02") || gtin.starts_with("002")) {
                d.push(
                    gloc,
                    Pass::Clinical,
                    "demo-not-marked",
                    format!("demo GTIN `{gtin}` must use the GS1 restricted-circulation prefix 02"),
                );
            }
        }
        if let Some(mal) = &p.mal_no {
            let mloc = locs.product_mal[i].clone().unwrap_or_else(|| loc.clone());
            if !mal_number_ok(mal) {
                d.push(
                    mloc.clone(),
                    Pass::Clinical,
                    "bad-registration",
                    format!("`{mal}` is not an NPRA number like MAL19991234AZ"),
                );
            }
            if let Some(other) = mals.insert(mal, &p.code) {
                d.push(mloc.clone(), Pass::Clinical, "duplicate-registration", format!("`{mal}` is also `{other}`"));
            }
            if reg.demo && !mal.starts_with("MAL9999") {
                d.push(
                    mloc,
                    Pass::Clinical,
                    "demo-not-marked",
                    format!("demo registration `{mal}` must start with MAL9999"),
                );
            }
        }
        if reg.demo && (!p.demo || !p.code.starts_with("DEMO-")) {
            d.push(
                loc.clone(),
                Pass::Clinical,
                "demo-not-marked",
                format!("product `{}` must have a DEMO- code and demo=true", p.code),
            );
        }
    }
}

/// A halal certificate on a product that contains a non-halal ingredient is a contradiction
/// a pharmacist must resolve before either fact is trusted.
fn certified_halal_has_no_haram_ingredient(reg: &Registry, locs: &Locs, d: &mut Diagnostics) {
    for (i, p) in reg.products.iter().enumerate() {
        if p.halal_certificate.is_none() {
            continue;
        }
        let active = p.active_source.as_ref().map(|s| (reg.generic(p.generic).inn.clone(), s.clone()));
        let ingredients = p.excipients.iter().map(|e| (e.name.clone(), e.source.clone())).chain(active);
        for (name, source) in ingredients {
            if let Some(rule) = reg.halal_rule(&name, &source)
                && rule.status == HalalStatus::NonHalal
            {
                d.push(
                    locs.products[i].clone(),
                    Pass::Clinical,
                    "halal-certificate-contradiction",
                    format!("`{}` is halal-certified but contains {name} ({source}), which is non_halal", p.code),
                );
            }
        }
    }
}

fn curated_pairs_are_pairs(reg: &Registry, locs: &Locs, d: &mut Diagnostics) {
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    let key = |t: &Target| match t {
        Target::Generic(g) => reg.generic(*g).inn.clone(),
        Target::Class(c) => format!("class:{}", reg.class(*c).id),
    };
    for (i, c) in reg.curated.iter().enumerate() {
        if c.a == c.b {
            d.push(
                locs.curated[i].clone(),
                Pass::Clinical,
                "self-interaction",
                "a curated interaction needs two different sides",
            );
        }
        let (a, b) = (key(&c.a), key(&c.b));
        let pair = if a <= b { (a, b) } else { (b, a) };
        if let Some(first) = seen.insert(pair.clone(), i) {
            d.push(
                locs.curated[i].clone(),
                Pass::Clinical,
                "duplicate-interaction",
                format!("{} + {} is already curated at {}", pair.0, pair.1, locs.curated[first]),
            );
        }
    }
}

fn cross_reactivity_links_two_things(reg: &Registry, locs: &Locs, d: &mut Diagnostics) {
    for (i, c) in reg.cross_reactivity.iter().enumerate() {
        if c.from == c.to {
            d.push(
                locs.cross[i].clone(),
                Pass::Clinical,
                "self-cross-reactivity",
                "cross-reactivity needs two different sides",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtin_check_digits() {
        assert!(gtin_check_digit_ok("09501101530003"));
        assert!(!gtin_check_digit_ok("09501101530004"));
        assert!(!gtin_check_digit_ok("9501101530003"));
    }

    #[test]
    fn npra_numbers() {
        assert!(mal_number_ok("MAL19991234AZ"));
        assert!(mal_number_ok("MAL99990123X"));
        assert!(!mal_number_ok("MAL1234AZ"));
        assert!(!mal_number_ok("MAL19991234QZ"));
    }
}
