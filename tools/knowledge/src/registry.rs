//! A validated registry and the look-ups the clinical tools need.

use std::collections::HashMap;

use crate::model::*;

/// A registry put in force: its content identity and its facts. Every tool result reports
/// `version` and `hash` so that a finding can be traced to the knowledge that produced it.
#[derive(Debug)]
pub struct Snapshot {
    pub version: String,
    /// SHA-256 (hex) of the registry's files.
    pub hash: String,
    pub registry: Registry,
}

/// How a name given by a caller was understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameMatch {
    Inn,
    Synonym,
    Brand,
    ProductCode,
    Gtin,
    RegistrationNumber,
    /// Matched after dropping salt, strength or form words ("amlodipine besilate 5 mg").
    Normalised,
}

/// A name resolved to a generic, and to a product when the name identified one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    pub generic: GenericId,
    pub product: Option<ProductId>,
    pub matched: NameMatch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NameTarget {
    pub(crate) generic: GenericId,
    pub(crate) product: Option<ProductId>,
    pub(crate) matched: NameMatch,
}

#[derive(Debug, Default)]
pub struct Registry {
    pub(crate) version: String,
    pub(crate) title: String,
    pub(crate) demo: bool,
    pub(crate) drop_words: Vec<String>,
    pub(crate) no_allergy_words: Vec<String>,
    pub(crate) sources: Vec<Source>,
    pub(crate) classes: Vec<Class>,
    pub(crate) generics: Vec<Generic>,
    pub(crate) property_kinds: Vec<PropertyKind>,
    pub(crate) properties: Vec<Vec<PropertyFact>>,
    pub(crate) ddi_rules: Vec<DdiRule>,
    pub(crate) group_rules: Vec<GroupRule>,
    pub(crate) curated: Vec<CuratedInteraction>,
    pub(crate) allergens: Vec<Allergen>,
    pub(crate) cross_reactivity: Vec<CrossReactivity>,
    pub(crate) excipients: Vec<Excipient>,
    pub(crate) halal_rules: Vec<HalalRule>,
    pub(crate) products: Vec<Product>,
    pub(crate) stock: Vec<StockLot>,
    pub(crate) recalls: Vec<Recall>,
    pub(crate) dose: crate::dose::DoseRules,
    // Indexes, built once by `index`.
    pub(crate) names: HashMap<String, NameTarget>,
    pub(crate) class_closure: Vec<Vec<ClassId>>,
    pub(crate) class_members: Vec<Vec<GenericId>>,
    pub(crate) products_by_generic: Vec<Vec<ProductId>>,
    pub(crate) atc_groups: HashMap<String, Vec<GenericId>>,
    pub(crate) stock_by_product: Vec<Vec<usize>>,
    pub(crate) product_by_gtin: HashMap<String, ProductId>,
    pub(crate) excipient_by_name: HashMap<String, usize>,
    pub(crate) allergen_by_name: HashMap<String, usize>,
    pub(crate) curated_by_generic: Vec<Vec<usize>>,
    /// Per generic, the inference rules whose side `a` (first) and side `b` (second) it
    /// meets, as sorted rule indexes: a pair's rules are then an intersection, not a scan.
    pub(crate) rule_sides: Vec<(Vec<usize>, Vec<usize>)>,
}

/// Lower case, single spaces, no surrounding space: how every name is compared.
pub fn normalise_name(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

impl Registry {
    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn title(&self) -> &str {
        &self.title
    }

    /// True when products, GTINs and registration numbers are demo data.
    pub fn is_demo(&self) -> bool {
        self.demo
    }

    /// Entries that state there is no allergy ("nkda", "none").
    pub fn no_allergy_words(&self) -> &[String] {
        &self.no_allergy_words
    }

    pub fn generics(&self) -> impl ExactSizeIterator<Item = (GenericId, &Generic)> {
        self.generics.iter().enumerate().map(|(i, g)| (GenericId(i as u32), g))
    }

    pub fn generic(&self, id: GenericId) -> &Generic {
        &self.generics[id.index()]
    }

    pub fn generic_by_inn(&self, inn: &str) -> Option<GenericId> {
        let key = normalise_name(inn);
        self.generics.iter().position(|g| g.inn == key).map(|i| GenericId(i as u32))
    }

    pub fn class(&self, id: ClassId) -> &Class {
        &self.classes[id.index()]
    }

    /// How many ancestors the class has: 0 for a top-level class. A deeper class is a
    /// narrower, more specific statement.
    pub fn class_depth(&self, class: ClassId) -> usize {
        let mut depth = 0;
        let mut cur = self.classes[class.index()].parent;
        // Parents are checked acyclic at load; the bound only guards against a bug there.
        while let Some(p) = cur {
            if depth > self.classes.len() {
                break;
            }
            depth += 1;
            cur = self.classes[p.index()].parent;
        }
        depth
    }

    pub fn class_by_id(&self, id: &str) -> Option<ClassId> {
        self.classes.iter().position(|c| c.id == id).map(|i| ClassId(i as u32))
    }

    pub fn source(&self, id: SourceId) -> &Source {
        &self.sources[id.index()]
    }

    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    pub fn product(&self, id: ProductId) -> &Product {
        &self.products[id.index()]
    }

    pub fn products(&self) -> impl ExactSizeIterator<Item = (ProductId, &Product)> {
        self.products.iter().enumerate().map(|(i, p)| (ProductId(i as u32), p))
    }

    pub fn products_of(&self, generic: GenericId) -> &[ProductId] {
        &self.products_by_generic[generic.index()]
    }

    pub fn product_by_gtin(&self, gtin14: &str) -> Option<ProductId> {
        self.product_by_gtin.get(gtin14).copied()
    }

    pub fn product_by_code(&self, code: &str) -> Option<ProductId> {
        self.products.iter().position(|p| p.code.eq_ignore_ascii_case(code)).map(|i| ProductId(i as u32))
    }

    /// Every class the generic belongs to, including ancestors, sorted.
    pub fn classes_of(&self, generic: GenericId) -> &[ClassId] {
        &self.class_closure[generic.index()]
    }

    pub fn in_class(&self, generic: GenericId, class: ClassId) -> bool {
        self.class_closure[generic.index()].binary_search(&class).is_ok()
    }

    /// Generics belonging to the class or any of its descendants.
    pub fn members_of(&self, class: ClassId) -> &[GenericId] {
        &self.class_members[class.index()]
    }

    pub fn matches_target(&self, generic: GenericId, target: &Target) -> bool {
        match target {
            Target::Generic(g) => *g == generic,
            Target::Class(c) => self.in_class(generic, *c),
        }
    }

    pub fn properties_of(&self, generic: GenericId) -> &[PropertyFact] {
        &self.properties[generic.index()]
    }

    pub fn property(&self, generic: GenericId, kind: &str) -> Option<&PropertyFact> {
        self.properties[generic.index()].iter().find(|p| p.kind == kind)
    }

    pub fn property_kinds(&self) -> &[PropertyKind] {
        &self.property_kinds
    }

    /// Generics whose primary ATC code is in the level-4 group (`J01FA`).
    pub fn generics_in_atc_group(&self, group: &str) -> &[GenericId] {
        self.atc_groups.get(group).map_or(&[], Vec::as_slice)
    }

    pub fn ddi_rules(&self) -> &[DdiRule] {
        &self.ddi_rules
    }

    pub fn group_rules(&self) -> &[GroupRule] {
        &self.group_rules
    }

    pub fn curated(&self) -> &[CuratedInteraction] {
        &self.curated
    }

    /// Indexes into [`Registry::curated`] of entries that can apply to the generic (named
    /// directly or through one of its classes).
    pub fn curated_touching(&self, generic: GenericId) -> &[usize] {
        &self.curated_by_generic[generic.index()]
    }

    /// Indexes into [`Registry::ddi_rules`] of the rules whose side `a` the generic meets.
    pub fn rules_as_a(&self, generic: GenericId) -> &[usize] {
        &self.rule_sides[generic.index()].0
    }

    /// Indexes into [`Registry::ddi_rules`] of the rules whose side `b` the generic meets.
    pub fn rules_as_b(&self, generic: GenericId) -> &[usize] {
        &self.rule_sides[generic.index()].1
    }

    pub fn condition_holds(&self, generic: GenericId, condition: &Condition) -> bool {
        match condition {
            Condition::Generic(g) => *g == generic,
            Condition::Class(c) => self.in_class(generic, *c),
            Condition::Property { kind, levels } => {
                self.property(generic, kind).is_some_and(|p| levels.is_empty() || levels.contains(&p.level))
            }
        }
    }

    pub fn all_hold(&self, generic: GenericId, conditions: &[Condition]) -> bool {
        conditions.iter().all(|c| self.condition_holds(generic, c))
    }

    pub fn allergens(&self) -> &[Allergen] {
        &self.allergens
    }

    pub fn allergen_by_name(&self, name: &str) -> Option<&Allergen> {
        self.allergen_by_name.get(&normalise_name(name)).map(|&i| &self.allergens[i])
    }

    pub fn cross_reactivity(&self) -> &[CrossReactivity] {
        &self.cross_reactivity
    }

    pub fn excipient(&self, name: &str) -> Option<&Excipient> {
        self.excipient_by_name.get(&normalise_name(name)).map(|&i| &self.excipients[i])
    }

    pub fn halal_rules(&self) -> &[HalalRule] {
        &self.halal_rules
    }

    /// The rule for an ingredient from a source: a rule naming the ingredient wins over a
    /// `*` rule. `None` when no rule speaks to this ingredient and source.
    pub fn halal_rule(&self, ingredient: &str, source: &str) -> Option<&HalalRule> {
        let canonical = self.excipient(ingredient).map_or_else(|| normalise_name(ingredient), |e| e.name.clone());
        let source = normalise_name(source);
        self.halal_rules
            .iter()
            .find(|r| r.ingredient.as_deref() == Some(canonical.as_str()) && r.source == source)
            .or_else(|| self.halal_rules.iter().find(|r| r.ingredient.is_none() && r.source == source))
    }

    pub fn stock_of(&self, product: ProductId) -> impl Iterator<Item = &StockLot> {
        self.stock_by_product[product.index()].iter().map(|&i| &self.stock[i])
    }

    pub fn recall(&self, product: ProductId, lot: &str) -> Option<&Recall> {
        self.recalls.iter().find(|r| r.product == product && r.lot.eq_ignore_ascii_case(lot))
    }

    pub fn recalls(&self) -> &[Recall] {
        &self.recalls
    }

    /// Dosing rules, renal and hepatic adjustments (`dose_rules.toml`).
    pub fn dose_rules(&self) -> &crate::dose::DoseRules {
        &self.dose
    }

    /// Resolves a drug name as a caller may write it: INN, USAN/BAN synonym, brand, product
    /// code, GTIN or NPRA registration number, case-insensitively; failing that, after
    /// dropping salt, strength and dose-form words. `None` means unknown — never "no drug".
    pub fn resolve(&self, name: &str) -> Option<Resolved> {
        let key = normalise_name(name);
        if key.is_empty() {
            return None;
        }
        if let Some(t) = self.names.get(&key) {
            return Some(Resolved { generic: t.generic, product: t.product, matched: t.matched });
        }
        if key.len() == 13 || key.len() == 12 || key.len() == 8 {
            let padded = format!("{key:0>14}");
            if let Some(t) = self.names.get(&padded) {
                return Some(Resolved { generic: t.generic, product: t.product, matched: t.matched });
            }
        }
        let kept: Vec<&str> = key.split(' ').filter(|w| !self.is_droppable(w)).collect();
        if kept.is_empty() || kept.len() == key.split(' ').count() {
            return None;
        }
        self.names.get(&kept.join(" ")).map(|t| Resolved {
            generic: t.generic,
            product: t.product,
            matched: NameMatch::Normalised,
        })
    }

    fn is_droppable(&self, word: &str) -> bool {
        word.starts_with(|c: char| c.is_ascii_digit()) || self.drop_words.iter().any(|w| w == word)
    }

    /// Builds the look-up indexes. Called once, by the loader, after references resolved.
    pub(crate) fn index(&mut self, names: Vec<(String, NameTarget)>) {
        let n = self.generics.len();
        self.class_closure = (0..n)
            .map(|g| {
                let mut all = Vec::new();
                for &c in &self.generics[g].classes {
                    let mut cur = Some(c);
                    // Parents were checked acyclic by the loader; the bound is belt and braces.
                    let mut steps = 0;
                    while let Some(id) = cur {
                        if steps > self.classes.len() {
                            break;
                        }
                        all.push(id);
                        cur = self.classes[id.index()].parent;
                        steps += 1;
                    }
                }
                all.sort();
                all.dedup();
                all
            })
            .collect();
        self.class_members = vec![Vec::new(); self.classes.len()];
        for (g, closure) in self.class_closure.iter().enumerate() {
            for c in closure {
                self.class_members[c.index()].push(GenericId(g as u32));
            }
        }
        self.products_by_generic = vec![Vec::new(); n];
        for (i, p) in self.products.iter().enumerate() {
            self.products_by_generic[p.generic.index()].push(ProductId(i as u32));
        }
        self.atc_groups.clear();
        for (i, g) in self.generics.iter().enumerate() {
            if let Some(group) = g.atc_group() {
                self.atc_groups.entry(group.to_string()).or_default().push(GenericId(i as u32));
            }
        }
        self.stock_by_product = vec![Vec::new(); self.products.len()];
        for (i, s) in self.stock.iter().enumerate() {
            self.stock_by_product[s.product.index()].push(i);
        }
        self.product_by_gtin = self
            .products
            .iter()
            .enumerate()
            .filter_map(|(i, p)| Some((p.gtin.clone()?, ProductId(i as u32))))
            .collect();
        self.excipient_by_name.clear();
        for (i, e) in self.excipients.iter().enumerate() {
            for name in std::iter::once(&e.name).chain(&e.synonyms) {
                self.excipient_by_name.insert(normalise_name(name), i);
            }
        }
        self.allergen_by_name.clear();
        for (i, a) in self.allergens.iter().enumerate() {
            for name in std::iter::once(&a.id).chain(&a.names) {
                self.allergen_by_name.insert(normalise_name(name), i);
            }
        }
        self.curated_by_generic = (0..n)
            .map(|g| {
                let g = GenericId(g as u32);
                self.curated
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| self.matches_target(g, &c.a) || self.matches_target(g, &c.b))
                    .map(|(i, _)| i)
                    .collect()
            })
            .collect();
        self.rule_sides = (0..n)
            .map(|g| {
                let g = GenericId(g as u32);
                let side = |pick: fn(&DdiRule) -> &[Condition]| {
                    self.ddi_rules
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| self.all_hold(g, pick(r)))
                        .map(|(i, _)| i)
                        .collect()
                };
                (side(|r| &r.a), side(|r| &r.b))
            })
            .collect();
        self.names.clear();
        // The first meaning of a name wins: INN before synonym before brand before product
        // (the loader rejects a name that means two different generics).
        for (key, target) in names {
            self.names.entry(key).or_insert(target);
        }
    }
}
