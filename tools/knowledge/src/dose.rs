//! Dosing rules (`dose_rules.toml`): age bands, dose ranges per route and patient group,
//! renal and hepatic adjustments. Every number is exact ([`Number`]) and every unit was
//! parsed and checked when the registry loaded, so a rule that exists can be applied.

use std::fmt;

use rxgate_units::{Number, Quantity, Unit};

use crate::model::{GenericId, SourceId};

/// Every dosing fact of a registry.
#[derive(Debug, Default)]
pub struct DoseRules {
    pub bands: Vec<AgeBand>,
    pub doses: Vec<DoseRule>,
    pub renal: Vec<RenalRule>,
    pub hepatic: Vec<HepaticRule>,
}

/// The routes a dose rule may name; callers' spellings are mapped onto these by
/// [`normalise_route`].
pub const ROUTES: &[&str] = &[
    "oral",
    "rectal",
    "iv",
    "im",
    "sc",
    "buccal",
    "sublingual",
    "intranasal",
    "inhalation",
    "topical",
    "transdermal",
    "infiltration",
    "intrathecal",
];

/// A route as a caller may write it (`PO`, `intravenous`, `IV bolus`…) mapped to a route
/// of [`ROUTES`]; `None` when it is not understood.
pub fn normalise_route(text: &str) -> Option<&'static str> {
    let key = text.trim().to_lowercase().replace(['-', '_'], " ");
    let key = key.split_whitespace().collect::<Vec<_>>().join(" ");
    let route = match key.as_str() {
        "oral" | "po" | "by mouth" | "per os" | "enteral" | "ng" | "nasogastric" | "peg" => "oral",
        "rectal" | "pr" | "per rectum" => "rectal",
        "iv" | "intravenous" | "iv bolus" | "iv infusion" | "intravenous infusion" | "intravenously" => "iv",
        "im" | "intramuscular" => "im",
        "sc" | "subcut" | "subcutaneous" | "sq" | "s/c" => "sc",
        "buccal" | "oromucosal" => "buccal",
        "sl" | "sublingual" => "sublingual",
        "intranasal" | "nasal" | "in" => "intranasal",
        "inhalation" | "inhaled" | "inh" | "nebulised" | "nebulized" | "neb" => "inhalation",
        "topical" | "cutaneous" => "topical",
        "transdermal" | "patch" => "transdermal",
        "infiltration" | "local infiltration" | "local" => "infiltration",
        "intrathecal" | "it" => "intrathecal",
        _ => return None,
    };
    Some(route)
}

/// Days in a year for converting ages: 365.25, exactly.
pub fn days_per_year() -> Number {
    Number::from_fraction(1461, 4).expect("non-zero denominator")
}

/// An age interval in days: `from_days` inclusive, `to_days` exclusive (open when `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeRange {
    pub from_days: Number,
    pub to_days: Option<Number>,
    /// How the range was written (`1–12 y`, `0–28 d`), for messages.
    pub label: String,
}

impl AgeRange {
    pub fn contains(&self, age_days: &Number) -> bool {
        *age_days >= self.from_days && self.to_days.as_ref().is_none_or(|to| age_days < to)
    }

    pub fn overlaps(&self, other: &AgeRange) -> bool {
        let starts_before_other_ends = other.to_days.as_ref().is_none_or(|to| self.from_days < *to);
        let other_starts_before_self_ends = self.to_days.as_ref().is_none_or(|to| other.from_days < *to);
        starts_before_other_ends && other_starts_before_self_ends
    }
}

/// A named age band such as `infant` (28 days to 1 year).
#[derive(Debug, Clone)]
pub struct AgeBand {
    pub id: String,
    pub range: AgeRange,
    pub sources: Vec<SourceId>,
}

/// One end of a weight interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightBound {
    pub kg: Number,
    pub inclusive: bool,
}

/// A weight interval in kg. SmPCs write "over 10 kg up to 33 kg" (`above`, `up_to`) and
/// WHO "below 20 kg" / "20 kg or more" (`below`, `from`); all four are supported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeightRange {
    pub lower: Option<WeightBound>,
    pub upper: Option<WeightBound>,
}

impl WeightRange {
    pub fn is_any(&self) -> bool {
        self.lower.is_none() && self.upper.is_none()
    }

    pub fn contains(&self, weight_kg: &Number) -> bool {
        let above_lower =
            self.lower.as_ref().is_none_or(|b| if b.inclusive { weight_kg >= &b.kg } else { weight_kg > &b.kg });
        let below_upper =
            self.upper.as_ref().is_none_or(|b| if b.inclusive { weight_kg <= &b.kg } else { weight_kg < &b.kg });
        above_lower && below_upper
    }

    pub fn overlaps(&self, other: &WeightRange) -> bool {
        // Each range must start before the other ends.
        let starts_before = |lower: &Option<WeightBound>, upper: &Option<WeightBound>| match (lower, upper) {
            (Some(l), Some(u)) => l.kg < u.kg || (l.kg == u.kg && l.inclusive && u.inclusive),
            _ => true,
        };
        starts_before(&self.lower, &other.upper) && starts_before(&other.lower, &self.upper)
    }

    /// True when the range holds no weight at all.
    pub fn is_empty(&self) -> bool {
        match (&self.lower, &self.upper) {
            (Some(l), Some(u)) => l.kg > u.kg || (l.kg == u.kg && !(l.inclusive && u.inclusive)),
            _ => false,
        }
    }
}

impl fmt::Display for WeightRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lower = self
            .lower
            .as_ref()
            .map(|b| format!("{} {} kg", if b.inclusive { "from" } else { "over" }, b.kg.to_decimal_string(3)));
        let upper = self
            .upper
            .as_ref()
            .map(|b| format!("{} {} kg", if b.inclusive { "up to" } else { "below" }, b.kg.to_decimal_string(3)));
        match (lower, upper) {
            (None, None) => f.write_str("any weight"),
            (Some(l), None) => f.write_str(&l),
            (None, Some(u)) => f.write_str(&u),
            (Some(l), Some(u)) => write!(f, "{l} {u}"),
        }
    }
}

/// What a dose is proportional to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoseBasis {
    /// A fixed amount (`mg`, `mg/d`).
    Fixed,
    /// Per kg of body weight (`mg/kg`, `mg/kg/d`).
    Weight,
    /// Per m² of body surface area (`mg/m2`, `mg/m2/d`).
    BodySurface,
}

impl DoseBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            DoseBasis::Fixed => "fixed",
            DoseBasis::Weight => "weight",
            DoseBasis::BodySurface => "bsa",
        }
    }
}

/// A range of doses in one unit (`10–15 mg/kg`), with absolute limits in the unit that
/// results for the patient (`max 1000 mg`).
#[derive(Debug, Clone)]
pub struct DoseLimits {
    pub min: Option<Number>,
    pub max: Option<Number>,
    pub unit: Unit,
    pub basis: DoseBasis,
    /// `unit` without its per-kg or per-m² part: what a patient receives (`mg`, `mg/d`).
    pub amount_unit: Unit,
    pub abs_min: Option<Quantity>,
    pub abs_max: Option<Quantity>,
}

/// One dosing rule: for a generic, by some routes, in some patients.
#[derive(Debug, Clone)]
pub struct DoseRule {
    pub id: String,
    pub generic: GenericId,
    /// Routes of [`ROUTES`]; never empty.
    pub routes: Vec<String>,
    /// Ages the rule covers; empty means any age.
    pub ages: Vec<AgeRange>,
    pub weight: WeightRange,
    /// Set when the rule applies only to a named indication (normalised, lower case).
    pub indication: Option<String>,
    pub per_dose: Option<DoseLimits>,
    pub per_day: Option<DoseLimits>,
    /// Doses must be at least this many hours apart.
    pub min_interval_h: Option<Number>,
    /// Set when the drug must not be given to these patients by these routes: the reason.
    pub avoid: Option<String>,
    pub note: Option<String>,
    pub sources: Vec<SourceId>,
}

impl DoseRule {
    /// True when the rule covers the age; `None` when the rule depends on age and the age
    /// is not known.
    pub fn covers_age(&self, age_days: Option<&Number>) -> Option<bool> {
        if self.ages.is_empty() {
            return Some(true);
        }
        age_days.map(|a| self.ages.iter().any(|r| r.contains(a)))
    }

    /// True when the rule covers the weight; `None` when it depends on weight and the
    /// weight is not known.
    pub fn covers_weight(&self, weight_kg: Option<&Number>) -> Option<bool> {
        if self.weight.is_any() {
            return Some(true);
        }
        weight_kg.map(|w| self.weight.contains(w))
    }

    /// The ages the rule covers, for messages (`infant, child`).
    pub fn ages_label(&self) -> String {
        if self.ages.is_empty() {
            "any age".to_string()
        } else {
            self.ages.iter().map(|a| a.label.as_str()).collect::<Vec<_>>().join(", ")
        }
    }
}

/// What a renal or hepatic rule asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdjustAction {
    /// The dose must fit the adjusted limits.
    Adjust,
    /// Do not give: contraindicated at this level of function.
    Avoid,
    /// No numeric change, but the prescriber must know (monitoring, short courses only).
    Caution,
}

impl AdjustAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AdjustAction::Adjust => "adjust",
            AdjustAction::Avoid => "avoid",
            AdjustAction::Caution => "caution",
        }
    }
}

/// How limits change under an adjustment. Absent parts leave the normal limits alone.
#[derive(Debug, Clone, Default)]
pub struct Adjustment {
    /// Multiplies the normal minimum and maximum per dose and per day (`1/2`).
    pub factor: Option<Number>,
    /// A cap on a single dose (`500 mg`, or per kg: `1 mg/kg`).
    pub per_dose_max: Option<Quantity>,
    /// A cap on the daily total (`1000 mg/d`).
    pub per_day_max: Option<Quantity>,
    /// Doses at least this many hours apart.
    pub min_interval_h: Option<Number>,
}

impl Adjustment {
    pub fn is_empty(&self) -> bool {
        self.factor.is_none()
            && self.per_dose_max.is_none()
            && self.per_day_max.is_none()
            && self.min_interval_h.is_none()
    }
}

/// The kidney function measure a renal rule is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenalMeasure {
    /// Creatinine clearance, mL/min (Cockcroft–Gault in adults).
    CrCl,
    /// Estimated GFR, mL/min/1.73 m² (CKD-EPI 2021 in adults, bedside Schwartz in children).
    Egfr,
}

impl RenalMeasure {
    pub fn as_str(self) -> &'static str {
        match self {
            RenalMeasure::CrCl => "crcl",
            RenalMeasure::Egfr => "egfr",
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            RenalMeasure::CrCl => "mL/min",
            RenalMeasure::Egfr => "mL/min/1.73 m²",
        }
    }
}

/// A renal adjustment: applies when `at_or_above ≤ function < below`.
#[derive(Debug, Clone)]
pub struct RenalRule {
    pub id: String,
    pub generic: GenericId,
    /// Set when the adjustment is for the dose rules of one indication only.
    pub indication: Option<String>,
    /// Routes it applies to; empty means every route.
    pub routes: Vec<String>,
    pub measure: RenalMeasure,
    pub below: Number,
    pub at_or_above: Option<Number>,
    pub action: AdjustAction,
    pub adjustment: Adjustment,
    pub message: String,
    pub sources: Vec<SourceId>,
}

impl RenalRule {
    pub fn applies_to(&self, function: &Number) -> bool {
        function < &self.below && self.at_or_above.as_ref().is_none_or(|a| function >= a)
    }

    pub fn applies_to_route(&self, route: &str) -> bool {
        self.routes.is_empty() || self.routes.iter().any(|r| r == route)
    }
}

/// Child–Pugh class of hepatic impairment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChildPugh {
    A,
    B,
    C,
}

impl ChildPugh {
    pub fn parse(text: &str) -> Option<ChildPugh> {
        match text.trim().to_ascii_uppercase().as_str() {
            "A" => Some(ChildPugh::A),
            "B" => Some(ChildPugh::B),
            "C" => Some(ChildPugh::C),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ChildPugh::A => "A",
            ChildPugh::B => "B",
            ChildPugh::C => "C",
        }
    }
}

/// A hepatic adjustment by Child–Pugh class.
#[derive(Debug, Clone)]
pub struct HepaticRule {
    pub id: String,
    pub generic: GenericId,
    pub routes: Vec<String>,
    pub child_pugh: Vec<ChildPugh>,
    pub action: AdjustAction,
    pub adjustment: Adjustment,
    pub message: String,
    pub sources: Vec<SourceId>,
}

impl HepaticRule {
    pub fn applies_to_route(&self, route: &str) -> bool {
        self.routes.is_empty() || self.routes.iter().any(|r| r == route)
    }
}

impl DoseRules {
    pub fn band(&self, id: &str) -> Option<&AgeBand> {
        self.bands.iter().find(|b| b.id == id)
    }

    pub fn doses_of(&self, generic: GenericId) -> impl Iterator<Item = &DoseRule> {
        self.doses.iter().filter(move |r| r.generic == generic)
    }

    pub fn renal_of(&self, generic: GenericId) -> impl Iterator<Item = &RenalRule> {
        self.renal.iter().filter(move |r| r.generic == generic)
    }

    pub fn hepatic_of(&self, generic: GenericId) -> impl Iterator<Item = &HepaticRule> {
        self.hepatic.iter().filter(move |r| r.generic == generic)
    }
}

/// What a dose unit is proportional to, and the amount a patient receives: `mg/kg` →
/// (weight, `mg`), `mg/m2/d` → (body surface, `mg/d`). `None` for units that are not an
/// amount per dose (or per day).
pub fn dose_unit_basis(unit: &Unit, per_day: bool) -> Option<(DoseBasis, Unit)> {
    let unit_of = |s: &str| Unit::parse(s).expect("built-in unit");
    let amounts = ["g", "mol", "eq", "[iU]"];
    let per_time = unit_of("d");
    let is_amount = |u: &Unit| {
        let u = if per_day { u.multiply(&per_time).0 } else { u.clone() };
        amounts.iter().any(|a| unit_of(a).dimension() == u.dimension())
    };
    if is_amount(unit) {
        return Some((DoseBasis::Fixed, unit.clone()));
    }
    for (basis, per) in [(DoseBasis::Weight, "kg"), (DoseBasis::BodySurface, "m2")] {
        let (amount, factor) = unit.multiply(&unit_of(per));
        if is_amount(&amount) && factor == Number::one().into_ratio() {
            return Some((basis, amount));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(text: &str) -> Number {
        Number::parse(text).unwrap()
    }

    #[test]
    fn weight_bands_follow_the_smpc_wording() {
        let bound = |kg: &str, inclusive| Some(WeightBound { kg: n(kg), inclusive });
        let band = WeightRange { lower: bound("10", false), upper: bound("33", true) };
        assert!(!band.contains(&n("10")), "10 kg belongs to the ≤10 kg band");
        assert!(band.contains(&n("10.1")));
        assert!(band.contains(&n("33")));
        assert!(!band.contains(&n("33.01")));
        let lower = WeightRange { lower: None, upper: bound("10", true) };
        assert!(!band.overlaps(&lower));
        let who_small = WeightRange { lower: None, upper: bound("20", false) };
        let who_large = WeightRange { lower: bound("20", true), upper: None };
        assert!(!who_small.overlaps(&who_large));
        assert!(who_large.contains(&n("20")) && !who_small.contains(&n("20")));
        assert!(band.overlaps(&WeightRange::default()));
    }

    #[test]
    fn age_ranges_are_half_open() {
        let infant = AgeRange { from_days: n("28"), to_days: Some(n("1461/4")), label: "infant".into() };
        let neonate = AgeRange { from_days: n("0"), to_days: Some(n("28")), label: "neonate".into() };
        assert!(!neonate.contains(&n("28")));
        assert!(infant.contains(&n("28")));
        assert!(!infant.overlaps(&neonate));
        assert_eq!(normalise_route("PO"), Some("oral"));
        assert_eq!(normalise_route("Intravenous"), Some("iv"));
        assert_eq!(normalise_route("by ear"), None);
    }
}
