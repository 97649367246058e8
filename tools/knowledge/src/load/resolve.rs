//! Pass 3: every name written in one file resolved against the others.

use std::collections::{HashMap, HashSet};

use crate::diagnostic::{Diagnostics, Loc, Pass};
use crate::load::RawRegistry;
use crate::load::raw::{ConditionToml, Named, spanned, toml_sources};
use crate::model::*;
use crate::registry::{NameMatch, NameTarget, Registry, normalise_name};
use crate::toml_file::TomlFile;

pub(crate) struct Files<'a> {
    pub(crate) kinds: TomlFile<'a>,
    pub(crate) ddi_rules: TomlFile<'a>,
    pub(crate) interactions: TomlFile<'a>,
    pub(crate) allergy: TomlFile<'a>,
    pub(crate) halal_rules: TomlFile<'a>,
}

/// Where each resolved fact was written, for the clinical-invariant pass.
#[derive(Default)]
pub(crate) struct Locs {
    pub(crate) generics: Vec<Loc>,
    pub(crate) products: Vec<Loc>,
    pub(crate) product_gtin: Vec<Option<Loc>>,
    pub(crate) product_mal: Vec<Option<Loc>>,
    pub(crate) curated: Vec<Loc>,
    pub(crate) cross: Vec<Loc>,
    pub(crate) stock: Vec<Loc>,
    pub(crate) class_parent: Vec<Loc>,
    pub(crate) names: Vec<(String, GenericId, Loc)>,
}

struct Ids {
    sources: HashMap<String, SourceId>,
    classes: HashMap<String, ClassId>,
    generics: HashMap<String, GenericId>,
    /// Synonyms and brands, to say "did you mean" when a file names a drug by a synonym.
    aliases: HashMap<String, GenericId>,
    kinds: HashMap<String, Vec<String>>,
    excipients: HashMap<String, String>,
    products: HashMap<String, ProductId>,
}

impl Ids {
    fn sources(&self, list: &[Named], d: &mut Diagnostics) -> Vec<SourceId> {
        list.iter()
            .filter_map(|s| match self.sources.get(&s.text) {
                Some(id) => Some(*id),
                None => {
                    d.push(
                        s.loc.clone(),
                        Pass::Reference,
                        "unknown-source",
                        format!("source `{}` is not in sources.csv", s.text),
                    );
                    None
                }
            })
            .collect()
    }

    fn class(&self, name: &Named, d: &mut Diagnostics) -> Option<ClassId> {
        let id = self.classes.get(&name.text).copied();
        if id.is_none() {
            d.push(
                name.loc.clone(),
                Pass::Reference,
                "unknown-class",
                format!("class `{}` is not in classes.csv", name.text),
            );
        }
        id
    }

    fn generic(&self, name: &Named, d: &mut Diagnostics) -> Option<GenericId> {
        let key = normalise_name(&name.text);
        if let Some(id) = self.generics.get(&key) {
            return Some(*id);
        }
        let hint = match self.aliases.get(&key) {
            Some(_) => " (it is a synonym or brand; name the generic by its INN)".to_string(),
            None => String::new(),
        };
        d.push(
            name.loc.clone(),
            Pass::Reference,
            "unknown-generic",
            format!("generic `{}` is not in generics.csv{hint}", name.text),
        );
        None
    }

    /// `class:<id>` or a generic INN.
    fn target(&self, name: &Named, d: &mut Diagnostics) -> Option<Target> {
        match name.text.strip_prefix("class:") {
            Some(class) => {
                self.class(&Named { text: class.trim().to_string(), loc: name.loc.clone() }, d).map(Target::Class)
            }
            None => self.generic(name, d).map(Target::Generic),
        }
    }

    fn severity(&self, value: &Named, d: &mut Diagnostics) -> Option<Severity> {
        let s = Severity::parse(&value.text);
        if s.is_none() {
            d.push(
                value.loc.clone(),
                Pass::Schema,
                "bad-severity",
                format!("severity `{}` must be minor, moderate, major or contraindicated", value.text),
            );
        }
        s
    }

    fn conditions(&self, file: &TomlFile<'_>, list: &[ConditionToml], d: &mut Diagnostics) -> Option<Vec<Condition>> {
        let mut out = Vec::new();
        let mut ok = true;
        for c in list {
            let set = [c.property.is_some(), c.class.is_some(), c.generic.is_some()];
            let which = set.iter().filter(|x| **x).count();
            let span = c.property.as_ref().or(c.class.as_ref()).or(c.generic.as_ref()).map(|s| file.loc(s.span()));
            if which != 1 {
                let loc = span.unwrap_or_else(|| Loc::new(file.name, 1, 1));
                d.push(
                    loc,
                    Pass::Schema,
                    "bad-condition",
                    "a condition names exactly one of `property`, `class`, `generic`",
                );
                ok = false;
                continue;
            }
            if let Some(p) = &c.property {
                let named = spanned(file, p);
                match self.kinds.get(&named.text) {
                    None => {
                        d.push(
                            named.loc,
                            Pass::Reference,
                            "unknown-property",
                            format!("property `{}` is not in property_kinds.toml", named.text),
                        );
                        ok = false;
                    }
                    Some(levels) => {
                        let wanted = c.levels.clone().unwrap_or_default();
                        for l in &wanted {
                            if !levels.contains(l) {
                                d.push(
                                    named.loc.clone(),
                                    Pass::Reference,
                                    "unknown-level",
                                    format!("level `{l}` is not a level of `{}` ({})", named.text, levels.join(", ")),
                                );
                                ok = false;
                            }
                        }
                        out.push(Condition::Property { kind: named.text, levels: wanted });
                    }
                }
            } else if let Some(class) = &c.class {
                match self.class(&spanned(file, class), d) {
                    Some(id) => out.push(Condition::Class(id)),
                    None => ok = false,
                }
            } else if let Some(g) = &c.generic {
                match self.generic(&spanned(file, g), d) {
                    Some(id) => out.push(Condition::Generic(id)),
                    None => ok = false,
                }
            }
        }
        if out.is_empty() && ok {
            d.push(Loc::new(file.name, 1, 1), Pass::Schema, "empty-side", "a rule side needs at least one condition");
            ok = false;
        }
        ok.then_some(out)
    }
}

fn text(a: &str, b: &str, c: &str) -> InteractionText {
    InteractionText { mechanism: a.trim().to_string(), effect: b.trim().to_string(), management: c.trim().to_string() }
}

pub(crate) fn resolve(raw: RawRegistry, files: Files<'_>, d: &mut Diagnostics) -> Option<(Registry, Locs)> {
    let mut locs = Locs::default();
    let mut reg = Registry {
        version: raw.registry.version.get_ref().clone(),
        title: raw.registry.title.clone(),
        demo: raw.registry.demo,
        drop_words: raw
            .registry
            .names
            .salt_words
            .iter()
            .chain(&raw.registry.names.form_words)
            .map(|w| normalise_name(w))
            .collect(),
        no_allergy_words: raw.registry.names.no_allergy_words.iter().map(|w| normalise_name(w)).collect(),
        ..Registry::default()
    };

    // Sources.
    let mut ids = Ids {
        sources: HashMap::new(),
        classes: HashMap::new(),
        generics: HashMap::new(),
        aliases: HashMap::new(),
        kinds: HashMap::new(),
        excipients: HashMap::new(),
        products: HashMap::new(),
    };
    for s in &raw.sources {
        if ids.sources.insert(s.id.text.clone(), SourceId(reg.sources.len() as u32)).is_some() {
            d.push(
                s.id.loc.clone(),
                Pass::Reference,
                "duplicate-id",
                format!("source `{}` is defined twice", s.id.text),
            );
        }
        reg.sources.push(Source {
            id: s.id.text.clone(),
            citation: s.citation.clone(),
            url: s.url.clone(),
            licence: s.licence.clone(),
        });
    }

    // Classes: ids first, then parents, so a parent may be written after its child.
    for (i, c) in raw.classes.iter().enumerate() {
        if ids.classes.insert(c.id.text.clone(), ClassId(i as u32)).is_some() {
            d.push(
                c.id.loc.clone(),
                Pass::Reference,
                "duplicate-id",
                format!("class `{}` is defined twice", c.id.text),
            );
        }
    }
    for c in &raw.classes {
        let parent = c.parent.as_ref().and_then(|p| ids.class(p, d));
        locs.class_parent.push(c.parent.as_ref().map_or_else(|| c.id.loc.clone(), |p| p.loc.clone()));
        reg.classes.push(Class {
            id: c.id.text.clone(),
            name: c.name.clone(),
            parent,
            duplication: c.duplication,
            allergy_group: c.allergy_group,
            sources: ids.sources(&c.sources, d),
        });
    }

    // Generics.
    for (i, g) in raw.generics.iter().enumerate() {
        let id = GenericId(i as u32);
        if ids.generics.insert(normalise_name(&g.inn.text), id).is_some() {
            d.push(
                g.inn.loc.clone(),
                Pass::Reference,
                "duplicate-id",
                format!("generic `{}` is defined twice", g.inn.text),
            );
        }
        for alias in g.synonyms.iter().chain(&g.brands) {
            ids.aliases.insert(normalise_name(&alias.text), id);
        }
    }
    for (i, g) in raw.generics.iter().enumerate() {
        let id = GenericId(i as u32);
        locs.generics.push(g.inn.loc.clone());
        locs.names.push((normalise_name(&g.inn.text), id, g.inn.loc.clone()));
        for s in &g.synonyms {
            locs.names.push((normalise_name(&s.text), id, s.loc.clone()));
        }
        for b in &g.brands {
            locs.names.push((normalise_name(&b.text), id, b.loc.clone()));
        }
        reg.generics.push(Generic {
            inn: normalise_name(&g.inn.text),
            atc: g.atc.iter().map(|a| a.text.clone()).collect(),
            classes: g.classes.iter().filter_map(|c| ids.class(c, d)).collect(),
            synonyms: g.synonyms.iter().map(|s| s.text.clone()).collect(),
            brands: g.brands.iter().map(|s| s.text.clone()).collect(),
            sources: ids.sources(&g.sources, d),
        });
    }

    // Property kinds and properties.
    if let Some(kinds) = &raw.kinds {
        for k in &kinds.kind {
            let named = spanned(&files.kinds, &k.id);
            if k.levels.is_empty() {
                d.push(
                    named.loc.clone(),
                    Pass::Schema,
                    "empty-levels",
                    format!("property `{}` needs at least one level", named.text),
                );
            }
            if ids.kinds.insert(named.text.clone(), k.levels.clone()).is_some() {
                d.push(
                    named.loc,
                    Pass::Reference,
                    "duplicate-id",
                    format!("property `{}` is defined twice", k.id.get_ref()),
                );
            }
            reg.property_kinds.push(PropertyKind {
                id: k.id.get_ref().clone(),
                levels: k.levels.clone(),
                description: k.description.clone(),
            });
        }
    }
    reg.properties = vec![Vec::new(); reg.generics.len()];
    for p in &raw.properties {
        let Some(g) = ids.generic(&p.generic, d) else { continue };
        let Some(levels) = ids.kinds.get(&p.kind.text) else {
            d.push(
                p.kind.loc.clone(),
                Pass::Reference,
                "unknown-property",
                format!("property `{}` is not in property_kinds.toml", p.kind.text),
            );
            continue;
        };
        if !levels.contains(&p.level.text) {
            d.push(
                p.level.loc.clone(),
                Pass::Reference,
                "unknown-level",
                format!("level `{}` is not a level of `{}` ({})", p.level.text, p.kind.text, levels.join(", ")),
            );
            continue;
        }
        let facts = &mut reg.properties[g.index()];
        if let Some(existing) = facts.iter().find(|f| f.kind == p.kind.text) {
            d.push(
                p.kind.loc.clone(),
                Pass::Clinical,
                "conflicting-property",
                format!(
                    "`{}` already has `{}` = `{}`; one fact per property and drug",
                    p.generic.text, p.kind.text, existing.level
                ),
            );
            continue;
        }
        facts.push(PropertyFact {
            kind: p.kind.text.clone(),
            level: p.level.text.clone(),
            sources: ids.sources(&p.sources, d),
            note: p.note.clone(),
        });
    }

    // Inference rules.
    if let Some(rules) = &raw.ddi_rules {
        let f = &files.ddi_rules;
        let mut seen = HashSet::new();
        for r in &rules.rule {
            let id = spanned(f, &r.id);
            if !seen.insert(id.text.clone()) {
                d.push(id.loc.clone(), Pass::Reference, "duplicate-id", format!("rule `{}` is defined twice", id.text));
            }
            let replace = match r.replace.as_ref().map(|s| s.get_ref().as_str()) {
                None | Some("both") => Some(Replace::Both),
                Some("a") => Some(Replace::A),
                Some("b") => Some(Replace::B),
                Some(other) => {
                    let loc = f.loc(r.replace.as_ref().map(|s| s.span()).unwrap_or(0..0));
                    d.push(loc, Pass::Schema, "bad-replace", format!("replace `{other}` must be a, b or both"));
                    None
                }
            };
            let (a, b) = (ids.conditions(f, &r.a, d), ids.conditions(f, &r.b, d));
            let severity = ids.severity(&spanned(f, &r.severity), d);
            let sources = ids.sources(&toml_sources(f, &r.sources, d), d);
            if let (Some(a), Some(b), Some(severity), Some(replace)) = (a, b, severity, replace) {
                reg.ddi_rules.push(DdiRule {
                    id: id.text,
                    a,
                    b,
                    severity,
                    text: text(&r.mechanism, &r.effect, &r.management),
                    replace,
                    sources,
                });
            }
        }
        for r in &rules.group_rule {
            let id = spanned(f, &r.id);
            if r.members.len() < 2 {
                d.push(id.loc.clone(), Pass::Schema, "group-too-small", "a group rule needs at least two members");
            }
            let members: Option<Vec<Vec<Condition>>> = r.members.iter().map(|m| ids.conditions(f, m, d)).collect();
            let severity = ids.severity(&spanned(f, &r.severity), d);
            let sources = ids.sources(&toml_sources(f, &r.sources, d), d);
            if let (Some(members), Some(severity)) = (members, severity) {
                reg.group_rules.push(GroupRule {
                    id: id.text,
                    members,
                    severity,
                    text: text(&r.mechanism, &r.effect, &r.management),
                    sources,
                });
            }
        }
    }

    // Curated interactions.
    if let Some(curated) = &raw.interactions {
        let f = &files.interactions;
        for c in &curated.interaction {
            let a = ids.target(&spanned(f, &c.a), d);
            let b = ids.target(&spanned(f, &c.b), d);
            let severity = ids.severity(&spanned(f, &c.severity), d);
            let alternatives: Vec<GenericId> =
                c.alternatives.iter().filter_map(|alt| ids.generic(&spanned(f, alt), d)).collect();
            let sources = ids.sources(&toml_sources(f, &c.sources, d), d);
            if let (Some(a), Some(b), Some(severity)) = (a, b, severity) {
                locs.curated.push(f.loc(c.a.span()));
                reg.curated.push(CuratedInteraction {
                    id: c.id.clone(),
                    a,
                    b,
                    severity,
                    text: text(&c.mechanism, &c.effect, &c.management),
                    alternatives,
                    interruptive: c.interruptive,
                    sources,
                });
            }
        }
    }

    // Excipients (before allergy and halal, which name them).
    for e in &raw.excipients {
        let status = e.inherent_status.as_ref().and_then(|s| {
            let st = HalalStatus::parse(&s.text);
            if st.is_none() {
                d.push(
                    s.loc.clone(),
                    Pass::Schema,
                    "bad-status",
                    format!("status `{}` must be halal, doubtful, non_halal or unknown", s.text),
                );
            }
            st
        });
        for name in std::iter::once(&e.name).chain(&e.synonyms) {
            if ids.excipients.insert(normalise_name(&name.text), e.name.text.clone()).is_some() {
                d.push(
                    name.loc.clone(),
                    Pass::Reference,
                    "duplicate-id",
                    format!("excipient name `{}` is used twice", name.text),
                );
            }
        }
        reg.excipients.push(Excipient {
            name: e.name.text.clone(),
            synonyms: e.synonyms.iter().map(|s| s.text.clone()).collect(),
            inherent_status: status,
            sources: ids.sources(&e.sources, d),
            note: e.note.clone(),
        });
    }
    let excipient = |ids: &Ids, name: &Named, d: &mut Diagnostics| -> Option<String> {
        let found = ids.excipients.get(&normalise_name(&name.text)).cloned();
        if found.is_none() {
            d.push(
                name.loc.clone(),
                Pass::Reference,
                "unknown-excipient",
                format!("excipient `{}` is not in excipients.csv", name.text),
            );
        }
        found
    };

    // Allergy.
    if let Some(allergy) = &raw.allergy {
        let f = &files.allergy;
        for a in &allergy.allergen {
            let id = spanned(f, &a.id);
            let sources = ids.sources(&toml_sources(f, &a.sources, d), d);
            let target = match (&a.class, &a.generic, &a.excipients) {
                (Some(c), None, None) => ids.class(&spanned(f, c), d).map(AllergenTarget::Class),
                (None, Some(g), None) => ids.generic(&spanned(f, g), d).map(AllergenTarget::Generic),
                (None, None, Some(list)) => {
                    let names: Vec<String> = list.iter().filter_map(|e| excipient(&ids, &spanned(f, e), d)).collect();
                    (names.len() == list.len()).then_some(AllergenTarget::Excipients(names))
                }
                _ => {
                    d.push(
                        id.loc.clone(),
                        Pass::Schema,
                        "bad-allergen",
                        "an allergen names exactly one of `class`, `generic`, `excipients`",
                    );
                    None
                }
            };
            if let Some(target) = target {
                reg.allergens.push(Allergen {
                    id: id.text,
                    names: a.names.iter().map(|n| normalise_name(n)).collect(),
                    target,
                    sources,
                });
            }
        }
        for c in &allergy.cross_reactivity {
            let from = ids.target(&spanned(f, &c.from), d);
            let to = ids.target(&spanned(f, &c.to), d);
            let severity = ids.severity(&spanned(f, &c.severity), d);
            let sources = ids.sources(&toml_sources(f, &c.sources, d), d);
            if let Some(rate) = &c.rate_percent
                && !(0.0..=100.0).contains(rate.get_ref())
            {
                d.push(
                    f.loc(rate.span()),
                    Pass::Clinical,
                    "bad-rate",
                    "a cross-reactivity rate is a percentage between 0 and 100",
                );
            }
            if let (Some(from), Some(to), Some(severity)) = (from, to, severity) {
                locs.cross.push(f.loc(c.from.span()));
                reg.cross_reactivity.push(CrossReactivity {
                    from,
                    to,
                    basis: c.basis.clone(),
                    rate_percent: c.rate_percent.as_ref().map(|r| *r.get_ref()),
                    severity,
                    note: c.note.clone(),
                    sources,
                });
            }
        }
    }

    // Halal rules.
    if let Some(halal) = &raw.halal_rules {
        let f = &files.halal_rules;
        for r in &halal.rule {
            let ingredient = spanned(f, &r.ingredient);
            let ingredient =
                if ingredient.text == "*" { Some(None) } else { excipient(&ids, &ingredient, d).map(Some) };
            let status_named = spanned(f, &r.status);
            let status = HalalStatus::parse(&status_named.text);
            if status.is_none() || status == Some(HalalStatus::Unknown) {
                d.push(
                    status_named.loc,
                    Pass::Schema,
                    "bad-status",
                    "a halal rule's status must be halal, doubtful or non_halal",
                );
            }
            let sources = ids.sources(&toml_sources(f, &r.sources, d), d);
            if let (Some(ingredient), Some(status)) = (ingredient, status) {
                reg.halal_rules.push(HalalRule {
                    ingredient,
                    source: normalise_name(r.source.get_ref()),
                    status,
                    reason: r.reason.trim().to_string(),
                    necessity_applies: r.necessity_applies,
                    sources,
                });
            }
        }
    }

    // Products.
    let mut product_names: Vec<(String, NameTarget)> = Vec::new();
    let mut brand_count: HashMap<String, usize> = HashMap::new();
    for p in &raw.products {
        *brand_count.entry(normalise_name(&p.brand)).or_default() += 1;
    }
    for (i, p) in raw.products.iter().enumerate() {
        let id = ProductId(i as u32);
        if ids.products.insert(p.code.text.to_uppercase(), id).is_some() {
            d.push(
                p.code.loc.clone(),
                Pass::Reference,
                "duplicate-id",
                format!("product `{}` is defined twice", p.code.text),
            );
        }
        let Some(generic) = ids.generic(&p.generic, d) else { continue };
        let excipients = p
            .excipients
            .iter()
            .filter_map(|e| excipient(&ids, &e.name, d).map(|name| Ingredient { name, source: e.source.clone() }))
            .collect();
        locs.products.push(p.loc.clone());
        locs.product_gtin.push(p.gtin.as_ref().map(|g| g.loc.clone()));
        locs.product_mal.push(p.mal_no.as_ref().map(|m| m.loc.clone()));
        locs.names.push((normalise_name(&p.code.text), generic, p.code.loc.clone()));
        let product_target = |matched| NameTarget { generic, product: Some(id), matched };
        let mut names = vec![(normalise_name(&p.code.text), product_target(NameMatch::ProductCode))];
        if let Some(g) = &p.gtin {
            names.push((g.text.clone(), product_target(NameMatch::Gtin)));
        }
        if let Some(m) = &p.mal_no {
            names.push((normalise_name(&m.text), product_target(NameMatch::RegistrationNumber)));
        }
        let brand_key = normalise_name(&p.brand);
        if brand_count.get(&brand_key) == Some(&1) {
            names.push((brand_key.clone(), product_target(NameMatch::Brand)));
        } else {
            names.push((brand_key.clone(), NameTarget { generic, product: None, matched: NameMatch::Brand }));
        }
        locs.names.push((brand_key, generic, p.code.loc.clone()));
        reg.products.push(Product {
            code: p.code.text.clone(),
            generic,
            brand: p.brand.clone(),
            strength: p.strength.text.clone(),
            strength_value: p.strength_value,
            strength_unit: p.strength_unit.clone(),
            form: p.form.clone(),
            route: p.route.clone(),
            excipients,
            active_source: p.active_source.clone(),
            halal_certificate: p
                .halal_cert
                .as_ref()
                .map(|n| HalalCertificate { number: n.clone(), expiry: p.halal_cert_expiry }),
            gtin: p.gtin.as_ref().map(|g| g.text.clone()),
            mal_no: p.mal_no.as_ref().map(|m| m.text.clone()),
            manufacturer: p.manufacturer.clone(),
            unit_price_sen: p.unit_price_sen,
            pack_size: p.pack_size,
            reference: p.reference,
            bioequivalent: p.bioequivalent,
            demo: p.demo,
            sources: ids.sources(&p.sources, d),
        });
        product_names.extend(names);
    }

    for s in &raw.stock {
        let Some(&product) = ids.products.get(&s.product.text.to_uppercase()) else {
            d.push(
                s.product.loc.clone(),
                Pass::Reference,
                "unknown-product",
                format!("product `{}` is not in products.csv", s.product.text),
            );
            continue;
        };
        locs.stock.push(s.loc.clone());
        reg.stock.push(StockLot {
            product,
            lot: s.lot.clone(),
            expiry: s.expiry,
            qty_on_hand: s.qty_on_hand,
            reorder_level: s.reorder_level,
        });
    }
    for r in &raw.recalls {
        let Some(&product) = ids.products.get(&r.product.text.to_uppercase()) else {
            d.push(
                r.product.loc.clone(),
                Pass::Reference,
                "unknown-product",
                format!("product `{}` is not in products.csv", r.product.text),
            );
            continue;
        };
        reg.recalls.push(Recall {
            product,
            lot: r.lot.clone(),
            date: r.date,
            reason: r.reason.clone(),
            sources: ids.sources(&r.sources, d),
        });
    }

    // Name index: generic names first so that they win over product names.
    let mut names: Vec<(String, NameTarget)> = Vec::new();
    for (i, g) in reg.generics.iter().enumerate() {
        let generic = GenericId(i as u32);
        let t = |matched| NameTarget { generic, product: None, matched };
        names.push((g.inn.clone(), t(NameMatch::Inn)));
        names.extend(g.synonyms.iter().map(|s| (normalise_name(s), t(NameMatch::Synonym))));
        names.extend(g.brands.iter().map(|s| (normalise_name(s), t(NameMatch::Brand))));
    }
    names.extend(product_names);
    reg.index(names);
    Some((reg, locs))
}
