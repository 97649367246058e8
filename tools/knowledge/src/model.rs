//! The facts of a registry, after validation. Ids are indexes into the registry's tables,
//! so a fact can only name something that exists.

use std::fmt;

use chrono::NaiveDate;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub(crate) u32);

        impl $name {
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

id_type!(
    /// A generic (INN) in the registry.
    GenericId
);
id_type!(
    /// A drug class.
    ClassId
);
id_type!(
    /// A citation in `sources.csv`.
    SourceId
);
id_type!(
    /// A product in the formulary.
    ProductId
);

/// Severity scale, lowest to highest; the order is the clinical order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Minor,
    Moderate,
    Major,
    Contraindicated,
}

impl Severity {
    pub const ALL: [Severity; 4] = [Severity::Minor, Severity::Moderate, Severity::Major, Severity::Contraindicated];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Minor => "minor",
            Severity::Moderate => "moderate",
            Severity::Major => "major",
            Severity::Contraindicated => "contraindicated",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub id: String,
    pub citation: String,
    pub url: Option<String>,
    pub licence: String,
}

#[derive(Debug, Clone)]
pub struct Class {
    pub id: String,
    pub name: String,
    pub parent: Option<ClassId>,
    /// Two different members prescribed together are a therapeutic duplication.
    pub duplication: bool,
    /// An allergy to one member is taken as an allergy to the class.
    pub allergy_group: bool,
    pub sources: Vec<SourceId>,
}

#[derive(Debug, Clone)]
pub struct Generic {
    pub inn: String,
    /// ATC codes, the primary first.
    pub atc: Vec<String>,
    /// Classes as written; see `Registry::classes_of` for the transitive set.
    pub classes: Vec<ClassId>,
    pub synonyms: Vec<String>,
    pub brands: Vec<String>,
    pub sources: Vec<SourceId>,
}

impl Generic {
    /// The ATC level-4 group of the primary code (`C08CA`), where alternatives are sought.
    pub fn atc_group(&self) -> Option<&str> {
        self.atc.first().and_then(|c| c.get(..5))
    }
}

/// One pharmacological property of a generic, e.g. `cyp3a4_inhibitor = strong`.
#[derive(Debug, Clone)]
pub struct PropertyFact {
    pub kind: String,
    pub level: String,
    pub sources: Vec<SourceId>,
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PropertyKind {
    pub id: String,
    pub levels: Vec<String>,
    pub description: String,
}

/// What a rule or curated fact applies to on one side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Generic(GenericId),
    Class(ClassId),
}

/// One condition a drug must meet to match one side of an inference rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// Has the property, at one of the levels when levels are given.
    Property {
        kind: String,
        levels: Vec<String>,
    },
    Class(ClassId),
    Generic(GenericId),
}

/// Which drug of an interacting pair to look for alternatives to first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replace {
    A,
    B,
    Both,
}

/// The clinical text of an interaction; may hold `{a}` and `{b}` placeholders.
#[derive(Debug, Clone)]
pub struct InteractionText {
    pub mechanism: String,
    pub effect: String,
    pub management: String,
}

/// An interaction inferred from properties: every drug meeting `a` with every drug meeting `b`.
#[derive(Debug, Clone)]
pub struct DdiRule {
    pub id: String,
    pub a: Vec<Condition>,
    pub b: Vec<Condition>,
    pub severity: Severity,
    pub text: InteractionText,
    pub replace: Replace,
    pub sources: Vec<SourceId>,
}

/// An interaction that needs several distinct drugs at once (e.g. the "triple whammy").
#[derive(Debug, Clone)]
pub struct GroupRule {
    pub id: String,
    pub members: Vec<Vec<Condition>>,
    pub severity: Severity,
    pub text: InteractionText,
    pub sources: Vec<SourceId>,
}

/// A curated pair; it replaces whatever the rules infer for the drugs it matches.
#[derive(Debug, Clone)]
pub struct CuratedInteraction {
    /// Optional stable name of the entry, reported with findings.
    pub id: Option<String>,
    pub a: Target,
    pub b: Target,
    pub severity: Severity,
    pub text: InteractionText,
    pub alternatives: Vec<GenericId>,
    /// False for combinations published as not worth interrupting a prescriber for.
    pub interruptive: bool,
    pub sources: Vec<SourceId>,
}

#[derive(Debug, Clone)]
pub enum AllergenTarget {
    /// A drug class (penicillins).
    Class(ClassId),
    /// A single drug named as an allergen group.
    Generic(GenericId),
    /// Non-drug allergens found in products as excipients (gelatin, soya…).
    Excipients(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct Allergen {
    pub id: String,
    pub names: Vec<String>,
    pub target: AllergenTarget,
    pub sources: Vec<SourceId>,
}

#[derive(Debug, Clone)]
pub struct CrossReactivity {
    pub from: Target,
    pub to: Target,
    pub basis: String,
    pub rate_percent: Option<f64>,
    pub severity: Severity,
    pub note: String,
    pub sources: Vec<SourceId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HalalStatus {
    Halal,
    Unknown,
    Doubtful,
    NonHalal,
}

impl HalalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HalalStatus::Halal => "halal",
            HalalStatus::Doubtful => "doubtful",
            HalalStatus::NonHalal => "non_halal",
            HalalStatus::Unknown => "unknown",
        }
    }

    pub fn parse(text: &str) -> Option<HalalStatus> {
        [HalalStatus::Halal, HalalStatus::Doubtful, HalalStatus::NonHalal, HalalStatus::Unknown]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

#[derive(Debug, Clone)]
pub struct Excipient {
    pub name: String,
    pub synonyms: Vec<String>,
    /// Set when the status cannot depend on where the excipient came from.
    pub inherent_status: Option<HalalStatus>,
    pub sources: Vec<SourceId>,
    pub note: Option<String>,
}

/// Halal status of an ingredient from a given source; `ingredient = None` means any.
#[derive(Debug, Clone)]
pub struct HalalRule {
    pub ingredient: Option<String>,
    pub source: String,
    pub status: HalalStatus,
    pub reason: String,
    /// Darurah: disclose and warn, never hard-block, where no alternative exists.
    pub necessity_applies: bool,
    pub sources: Vec<SourceId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingredient {
    pub name: String,
    pub source: String,
}

#[derive(Debug, Clone)]
pub struct HalalCertificate {
    pub number: String,
    pub expiry: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct Product {
    pub code: String,
    pub generic: GenericId,
    pub brand: String,
    /// As written (`500 mg`, `24 mg/mL`); the amount and unit are split in `strength_value`.
    pub strength: String,
    pub strength_value: f64,
    pub strength_unit: String,
    pub form: String,
    pub route: String,
    pub excipients: Vec<Ingredient>,
    /// Source of the active ingredient when it is animal-derived (heparin: porcine).
    pub active_source: Option<String>,
    pub halal_certificate: Option<HalalCertificate>,
    pub gtin: Option<String>,
    pub mal_no: Option<String>,
    pub manufacturer: String,
    /// Price per unit in sen (1/100 MYR), exact.
    pub unit_price_sen: i64,
    pub pack_size: u32,
    pub reference: bool,
    pub bioequivalent: bool,
    pub demo: bool,
    pub sources: Vec<SourceId>,
}

#[derive(Debug, Clone)]
pub struct StockLot {
    pub product: ProductId,
    pub lot: String,
    pub expiry: NaiveDate,
    pub qty_on_hand: i64,
    pub reorder_level: i64,
}

#[derive(Debug, Clone)]
pub struct Recall {
    pub product: ProductId,
    pub lot: String,
    pub date: NaiveDate,
    pub reason: String,
    pub sources: Vec<SourceId>,
}
