//! `dose_rules.toml`: parsed with the other files (pass 1), then numbers, units, names,
//! bands and sources checked once the generics and sources are known (passes 2–3), then
//! the clinical invariants of dosing (pass 4).

use std::collections::HashSet;

use rxgate_units::{Number, Quantity, Unit};
use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::{Diagnostics, Loc, Pass};
use crate::dose::*;
use crate::load::raw::toml_sources;
use crate::model::{GenericId, SourceId};
use crate::registry::{Registry, normalise_name};
use crate::toml_file::TomlFile;

pub(crate) const FILE: &str = "dose_rules.toml";

// ---- shape ---------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct DoseRulesToml {
    #[serde(default)]
    band: Vec<BandToml>,
    #[serde(default)]
    dose: Vec<DoseToml>,
    #[serde(default)]
    renal: Vec<RenalToml>,
    #[serde(default)]
    hepatic: Vec<HepaticToml>,
}

/// A number as a pharmacist writes it: `15`, `7.5` or `"1/2"`.
#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum NumText {
    Integer(i64),
    Float(f64),
    Text(String),
}

impl NumText {
    fn number(&self) -> Option<Number> {
        match self {
            NumText::Integer(i) => Some(Number::from(*i)),
            // Rust prints the shortest text that reads back as the same f64, so `7.5` and
            // `0.1` become exactly 15/2 and 1/10.
            NumText::Float(f) => f.is_finite().then(|| Number::parse(&f.to_string()).ok()).flatten(),
            NumText::Text(t) => Number::parse(t).ok(),
        }
    }

    fn shown(&self) -> String {
        match self {
            NumText::Integer(i) => i.to_string(),
            NumText::Float(f) => f.to_string(),
            NumText::Text(t) => t.clone(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BandToml {
    id: Spanned<String>,
    #[serde(default)]
    age_days: Option<Spanned<Vec<NumText>>>,
    #[serde(default)]
    age_years: Option<Spanned<Vec<NumText>>>,
    sources: Spanned<Vec<String>>,
    #[serde(default, rename = "note")]
    _note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightToml {
    #[serde(default)]
    above: Option<NumText>,
    #[serde(default)]
    from: Option<NumText>,
    #[serde(default)]
    up_to: Option<NumText>,
    #[serde(default)]
    below: Option<NumText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsToml {
    #[serde(default)]
    min: Option<NumText>,
    #[serde(default)]
    max: Option<NumText>,
    unit: String,
    #[serde(default)]
    abs_min: Option<String>,
    #[serde(default)]
    abs_max: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DoseToml {
    id: Spanned<String>,
    generic: Spanned<String>,
    routes: Spanned<Vec<String>>,
    #[serde(default)]
    bands: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    age_days: Option<Spanned<Vec<NumText>>>,
    #[serde(default)]
    age_years: Option<Spanned<Vec<NumText>>>,
    #[serde(default)]
    weight_kg: Option<Spanned<WeightToml>>,
    #[serde(default)]
    indication: Option<String>,
    #[serde(default)]
    basis: Option<Spanned<String>>,
    #[serde(default)]
    per_dose: Option<Spanned<LimitsToml>>,
    #[serde(default)]
    per_day: Option<Spanned<LimitsToml>>,
    #[serde(default)]
    min_interval_h: Option<Spanned<NumText>>,
    #[serde(default)]
    avoid: Option<String>,
    #[serde(default)]
    note: Option<String>,
    sources: Spanned<Vec<String>>,
}

/// The adjustment fields shared by `[[renal]]` and `[[hepatic]]` (serde cannot flatten
/// them into a struct that denies unknown fields).
struct AdjustToml<'a> {
    factor: &'a Option<Spanned<NumText>>,
    per_dose_max: &'a Option<Spanned<String>>,
    per_day_max: &'a Option<Spanned<String>>,
    min_interval_h: &'a Option<Spanned<NumText>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RenalToml {
    id: Spanned<String>,
    generic: Spanned<String>,
    #[serde(default)]
    routes: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    indication: Option<String>,
    measure: Spanned<String>,
    below: Spanned<NumText>,
    #[serde(default)]
    at_or_above: Option<Spanned<NumText>>,
    action: Spanned<String>,
    #[serde(default)]
    factor: Option<Spanned<NumText>>,
    #[serde(default)]
    per_dose_max: Option<Spanned<String>>,
    #[serde(default)]
    per_day_max: Option<Spanned<String>>,
    #[serde(default)]
    min_interval_h: Option<Spanned<NumText>>,
    message: String,
    sources: Spanned<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HepaticToml {
    id: Spanned<String>,
    generic: Spanned<String>,
    #[serde(default)]
    routes: Option<Spanned<Vec<String>>>,
    child_pugh: Spanned<Vec<String>>,
    action: Spanned<String>,
    #[serde(default)]
    factor: Option<Spanned<NumText>>,
    #[serde(default)]
    per_dose_max: Option<Spanned<String>>,
    #[serde(default)]
    per_day_max: Option<Spanned<String>>,
    #[serde(default)]
    min_interval_h: Option<Spanned<NumText>>,
    message: String,
    sources: Spanned<Vec<String>>,
}

/// Pass 1: syntax and shape. An absent file is an empty set of rules.
pub(crate) fn parse(file: &TomlFile<'_>, present: bool, d: &mut Diagnostics) -> Option<DoseRulesToml> {
    if !present {
        return Some(DoseRulesToml::default());
    }
    file.parse(d)
}

// ---- resolution ----------------------------------------------------------------------------

/// Where each rule was written, for the invariant pass.
#[derive(Default)]
pub(crate) struct DoseLocs {
    doses: Vec<Loc>,
    renal: Vec<Loc>,
    hepatic: Vec<Loc>,
}

struct Ctx<'a, 'f> {
    file: &'a TomlFile<'f>,
    reg: &'a Registry,
}

impl Ctx<'_, '_> {
    fn loc<T>(&self, s: &Spanned<T>) -> Loc {
        self.file.loc(s.span())
    }

    fn number(&self, value: &NumText, loc: &Loc, what: &str, d: &mut Diagnostics) -> Option<Number> {
        let n = value.number();
        match &n {
            None => d.push(
                loc.clone(),
                Pass::Schema,
                "bad-number",
                format!("{what} `{}` is not a number (write 7.5, 15 or \"1/2\")", value.shown()),
            ),
            Some(n) if n.is_negative() => {
                d.push(loc.clone(), Pass::Schema, "bad-number", format!("{what} `{}` is negative", value.shown()));
                return None;
            }
            Some(_) => {}
        }
        n
    }

    fn unit(&self, text: &str, loc: &Loc, d: &mut Diagnostics) -> Option<Unit> {
        match Unit::parse(text) {
            Ok(u) => Some(u),
            Err(e) => {
                d.push(loc.clone(), Pass::Schema, "bad-unit", e.to_string());
                None
            }
        }
    }

    /// `"1000 mg"` → a quantity.
    fn quantity(&self, text: &str, loc: &Loc, d: &mut Diagnostics) -> Option<Quantity> {
        let Some((value, unit)) = text.trim().split_once(char::is_whitespace) else {
            d.push(
                loc.clone(),
                Pass::Schema,
                "bad-quantity",
                format!("`{text}` must be a number and a unit, like `1000 mg` or `4 g/d`"),
            );
            return None;
        };
        let value = self.number(&NumText::Text(value.to_string()), loc, "amount", d)?;
        let unit = self.unit(unit.trim(), loc, d)?;
        Some(Quantity::new(value, unit))
    }

    fn generic(&self, name: &Spanned<String>, d: &mut Diagnostics) -> Option<GenericId> {
        let text = name.get_ref();
        if let Some(id) = self.reg.generic_by_inn(text) {
            return Some(id);
        }
        let hint = match self.reg.resolve(text) {
            Some(r) => format!(" (it names `{}`; write the INN)", self.reg.generic(r.generic).inn),
            None => String::new(),
        };
        d.push(
            self.loc(name),
            Pass::Reference,
            "unknown-generic",
            format!("generic `{text}` is not in generics.csv{hint}"),
        );
        None
    }

    fn sources(&self, list: &Spanned<Vec<String>>, d: &mut Diagnostics) -> Vec<SourceId> {
        let named = toml_sources(self.file, list, d);
        named
            .iter()
            .filter_map(|s| match self.reg.sources.iter().position(|x| x.id == s.text) {
                Some(i) => Some(SourceId(i as u32)),
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

    fn routes(&self, list: &Spanned<Vec<String>>, d: &mut Diagnostics) -> Vec<String> {
        let loc = self.loc(list);
        if list.get_ref().is_empty() {
            d.push(loc.clone(), Pass::Schema, "missing-value", "`routes` needs at least one route");
        }
        list.get_ref()
            .iter()
            .filter_map(|r| {
                let key = r.trim().to_lowercase();
                if ROUTES.contains(&key.as_str()) {
                    Some(key)
                } else {
                    d.push(
                        loc.clone(),
                        Pass::Schema,
                        "bad-route",
                        format!("route `{r}` must be one of: {}", ROUTES.join(", ")),
                    );
                    None
                }
            })
            .collect()
    }

    /// `[from]` or `[from, to]` in days or years → an age range in days.
    fn age_range(&self, list: &Spanned<Vec<NumText>>, years: bool, d: &mut Diagnostics) -> Option<AgeRange> {
        let loc = self.loc(list);
        let values = list.get_ref();
        if values.is_empty() || values.len() > 2 {
            d.push(
                loc,
                Pass::Schema,
                "bad-age",
                "an age range is `[from]` or `[from, to]` (from inclusive, to exclusive)",
            );
            return None;
        }
        let numbers: Option<Vec<Number>> = values.iter().map(|v| self.number(v, &loc, "age", d)).collect();
        let numbers = numbers?;
        let scale = if years { days_per_year() } else { Number::one() };
        let days = |n: &Number| Number::from(n.as_ratio() * scale.as_ratio());
        let unit = if years { "y" } else { "d" };
        let label = match values.len() {
            1 => format!("≥ {} {unit}", values[0].shown()),
            _ => format!("{}–{} {unit}", values[0].shown(), values[1].shown()),
        };
        let range = AgeRange { from_days: days(&numbers[0]), to_days: numbers.get(1).map(days), label };
        if let Some(to) = &range.to_days
            && *to <= range.from_days
        {
            d.push(loc, Pass::Clinical, "bad-range", "an age range must end after it starts");
            return None;
        }
        Some(range)
    }

    fn limits(&self, spanned: &Spanned<LimitsToml>, per_day: bool, d: &mut Diagnostics) -> Option<DoseLimits> {
        let loc = self.loc(spanned);
        let raw = spanned.get_ref();
        let unit = self.unit(&raw.unit, &loc, d)?;
        let what = if per_day { "per_day" } else { "per_dose" };
        let Some((basis, amount_unit)) = dose_unit_basis(&unit, per_day) else {
            let expected = if per_day { "mg/d, mg/kg/d or mg/m2/d" } else { "mg, mg/kg or mg/m2" };
            d.push(
                loc,
                Pass::Schema,
                "bad-unit",
                format!(
                    "{what} unit `{}` is not an amount {}like {expected}",
                    raw.unit,
                    if per_day { "per day " } else { "per dose " }
                ),
            );
            return None;
        };
        let min = raw.min.as_ref().and_then(|m| self.number(m, &loc, "min", d));
        let max = raw.max.as_ref().and_then(|m| self.number(m, &loc, "max", d));
        let abs = |text: &Option<String>, d: &mut Diagnostics| -> Option<Quantity> {
            let q = self.quantity(text.as_deref()?, &loc, d)?;
            if q.unit().dimension() != amount_unit.dimension() {
                d.push(
                    loc.clone(),
                    Pass::Schema,
                    "bad-unit",
                    format!("{what} absolute limit `{}` must be in a unit like `{amount_unit}`", q),
                );
                return None;
            }
            Some(q)
        };
        let abs_min = abs(&raw.abs_min, d);
        let abs_max = abs(&raw.abs_max, d);
        if min.is_none() && max.is_none() && abs_max.is_none() {
            d.push(loc.clone(), Pass::Schema, "missing-value", format!("{what} needs `min`, `max` or `abs_max`"));
        }
        if let (Some(lo), Some(hi)) = (&min, &max)
            && lo > hi
        {
            d.push(loc.clone(), Pass::Clinical, "min-above-max", format!("{what} min {lo} is above max {hi}"));
        }
        if let (Some(lo), Some(hi)) = (&abs_min, &abs_max)
            && lo.compare(hi).is_ok_and(|o| o.is_gt())
        {
            d.push(loc.clone(), Pass::Clinical, "min-above-max", format!("{what} abs_min {lo} is above abs_max {hi}"));
        }
        Some(DoseLimits { min, max, unit, basis, amount_unit, abs_min, abs_max })
    }

    fn adjustment(&self, raw: AdjustToml<'_>, loc: &Loc, d: &mut Diagnostics) -> Adjustment {
        let factor = raw.factor.as_ref().and_then(|f| {
            let floc = self.loc(f);
            let n = self.number(f.get_ref(), &floc, "factor", d)?;
            if n.is_zero() || n > Number::one() {
                d.push(floc, Pass::Clinical, "bad-factor", "a dose factor must be above 0 and at most 1");
                return None;
            }
            Some(n)
        });
        let capped = |s: &Option<Spanned<String>>, per_day: bool, d: &mut Diagnostics| -> Option<Quantity> {
            let s = s.as_ref()?;
            let qloc = self.loc(s);
            let q = self.quantity(s.get_ref(), &qloc, d)?;
            if dose_unit_basis(q.unit(), per_day).is_none() {
                let expected = if per_day { "mg/d or mg/kg/d" } else { "mg or mg/kg" };
                d.push(qloc, Pass::Schema, "bad-unit", format!("`{}` must be in a unit like {expected}", s.get_ref()));
                return None;
            }
            Some(q)
        };
        let per_dose_max = capped(raw.per_dose_max, false, d);
        let per_day_max = capped(raw.per_day_max, true, d);
        let min_interval_h =
            raw.min_interval_h.as_ref().and_then(|m| self.number(m.get_ref(), loc, "min_interval_h", d));
        Adjustment { factor, per_dose_max, per_day_max, min_interval_h }
    }

    fn action(&self, s: &Spanned<String>, adjustment: &Adjustment, d: &mut Diagnostics) -> Option<AdjustAction> {
        let loc = self.loc(s);
        let action = match s.get_ref().as_str() {
            "adjust" => AdjustAction::Adjust,
            "avoid" => AdjustAction::Avoid,
            "caution" => AdjustAction::Caution,
            other => {
                d.push(loc, Pass::Schema, "bad-action", format!("action `{other}` must be adjust, avoid or caution"));
                return None;
            }
        };
        match action {
            AdjustAction::Adjust if adjustment.is_empty() => d.push(
                loc,
                Pass::Schema,
                "missing-value",
                "an `adjust` rule needs factor, per_dose_max, per_day_max or min_interval_h",
            ),
            AdjustAction::Avoid | AdjustAction::Caution if !adjustment.is_empty() => d.push(
                loc,
                Pass::Schema,
                "bad-action",
                format!("an `{}` rule cannot also change the dose; use `adjust`", action.as_str()),
            ),
            _ => {}
        }
        Some(action)
    }
}

/// Passes 2–3 for dose rules: numbers, units, names, bands and sources.
pub(crate) fn resolve(
    raw: &DoseRulesToml,
    file: &TomlFile<'_>,
    reg: &Registry,
    d: &mut Diagnostics,
) -> (DoseRules, DoseLocs) {
    let ctx = Ctx { file, reg };
    let mut rules = DoseRules::default();
    let mut locs = DoseLocs::default();
    let mut ids: HashSet<String> = HashSet::new();
    let mut unique = |id: &Spanned<String>, d: &mut Diagnostics| {
        if !ids.insert(id.get_ref().clone()) {
            d.push(ctx.loc(id), Pass::Reference, "duplicate-id", format!("`{}` is defined twice", id.get_ref()));
        }
    };

    for b in &raw.band {
        unique(&b.id, d);
        let range = match (&b.age_days, &b.age_years) {
            (Some(days), None) => ctx.age_range(days, false, d),
            (None, Some(years)) => ctx.age_range(years, true, d),
            _ => {
                d.push(ctx.loc(&b.id), Pass::Schema, "bad-age", "a band has exactly one of `age_days`, `age_years`");
                None
            }
        };
        let sources = ctx.sources(&b.sources, d);
        if let Some(mut range) = range {
            range.label = b.id.get_ref().clone();
            rules.bands.push(AgeBand { id: b.id.get_ref().clone(), range, sources });
        }
    }

    for r in &raw.dose {
        unique(&r.id, d);
        let loc = ctx.loc(&r.id);
        let generic = ctx.generic(&r.generic, d);
        let routes = ctx.routes(&r.routes, d);
        let mut ages = Vec::new();
        if let Some(bands) = &r.bands {
            for name in bands.get_ref() {
                match rules.band(name) {
                    Some(b) => ages.push(b.range.clone()),
                    None => d.push(
                        ctx.loc(bands),
                        Pass::Reference,
                        "unknown-band",
                        format!("age band `{name}` is not a [[band]] of this file"),
                    ),
                }
            }
        }
        ages.extend(r.age_days.as_ref().and_then(|a| ctx.age_range(a, false, d)));
        ages.extend(r.age_years.as_ref().and_then(|a| ctx.age_range(a, true, d)));
        let weight = r.weight_kg.as_ref().map(|w| {
            let wloc = ctx.loc(w);
            let raw = w.get_ref();
            let bound = |value: &Option<NumText>, inclusive: bool, d: &mut Diagnostics| {
                value.as_ref().and_then(|n| ctx.number(n, &wloc, "weight", d)).map(|kg| WeightBound { kg, inclusive })
            };
            if (raw.above.is_some() && raw.from.is_some()) || (raw.up_to.is_some() && raw.below.is_some()) {
                d.push(
                    wloc.clone(),
                    Pass::Schema,
                    "bad-range",
                    "give one lower (`above` or `from`) and one upper (`up_to` or `below`) weight",
                );
            }
            let lower = bound(&raw.above, false, d).or_else(|| bound(&raw.from, true, d));
            let upper = bound(&raw.up_to, true, d).or_else(|| bound(&raw.below, false, d));
            let range = WeightRange { lower, upper };
            if range.is_empty() {
                d.push(wloc, Pass::Clinical, "bad-range", "a weight band must end above where it starts");
            }
            range
        });
        let per_dose = r.per_dose.as_ref().and_then(|l| ctx.limits(l, false, d));
        let per_day = r.per_day.as_ref().and_then(|l| ctx.limits(l, true, d));
        if let Some(basis) = &r.basis {
            let wanted = basis.get_ref().as_str();
            if !["fixed", "weight", "bsa"].contains(&wanted) {
                d.push(
                    ctx.loc(basis),
                    Pass::Schema,
                    "bad-basis",
                    format!("basis `{wanted}` must be fixed, weight or bsa"),
                );
            }
            for limits in per_dose.iter().chain(per_day.iter()) {
                if limits.basis.as_str() != wanted {
                    let per = match wanted {
                        "weight" => "per kg (mg/kg)",
                        "bsa" => "per m² (mg/m2)",
                        _ => "a fixed amount (mg)",
                    };
                    d.push(
                        ctx.loc(basis),
                        Pass::Schema,
                        "basis-unit-mismatch",
                        format!(
                            "rule `{}` is dosed by {wanted} but unit `{}` is not {per}",
                            r.id.get_ref(),
                            limits.unit
                        ),
                    );
                }
            }
        }
        let min_interval_h =
            r.min_interval_h.as_ref().and_then(|m| ctx.number(m.get_ref(), &ctx.loc(m), "min_interval_h", d));
        let avoid = r.avoid.as_ref().map(|s| s.trim().to_string());
        match (&avoid, per_dose.is_some() || per_day.is_some() || r.per_dose.is_some() || r.per_day.is_some()) {
            (Some(_), true) => d.push(
                loc.clone(),
                Pass::Schema,
                "bad-rule",
                "a rule with `avoid` gives no dose; write the dose in another rule",
            ),
            (None, false) => {
                d.push(loc.clone(), Pass::Schema, "bad-rule", "a dose rule needs `per_dose`, `per_day` or `avoid`")
            }
            _ => {}
        }
        let sources = ctx.sources(&r.sources, d);
        if let Some(generic) = generic {
            locs.doses.push(loc);
            rules.doses.push(DoseRule {
                id: r.id.get_ref().clone(),
                generic,
                routes,
                ages,
                weight: weight.unwrap_or_default(),
                indication: r.indication.as_deref().map(normalise_name).filter(|s| !s.is_empty()),
                per_dose,
                per_day,
                min_interval_h,
                avoid,
                note: r.note.clone(),
                sources,
            });
        }
    }

    for r in &raw.renal {
        unique(&r.id, d);
        let loc = ctx.loc(&r.id);
        let generic = ctx.generic(&r.generic, d);
        let routes = r.routes.as_ref().map(|l| ctx.routes(l, d)).unwrap_or_default();
        let measure = match r.measure.get_ref().as_str() {
            "crcl" => Some(RenalMeasure::CrCl),
            "egfr" => Some(RenalMeasure::Egfr),
            other => {
                d.push(
                    ctx.loc(&r.measure),
                    Pass::Schema,
                    "bad-measure",
                    format!("measure `{other}` must be crcl or egfr"),
                );
                None
            }
        };
        let below = ctx.number(r.below.get_ref(), &ctx.loc(&r.below), "below", d);
        let at_or_above = r.at_or_above.as_ref().and_then(|a| ctx.number(a.get_ref(), &ctx.loc(a), "at_or_above", d));
        if let (Some(b), Some(a)) = (&below, &at_or_above)
            && a >= b
        {
            d.push(ctx.loc(&r.below), Pass::Clinical, "bad-range", format!("at_or_above {a} must be below {b}"));
        }
        let adjust = AdjustToml {
            factor: &r.factor,
            per_dose_max: &r.per_dose_max,
            per_day_max: &r.per_day_max,
            min_interval_h: &r.min_interval_h,
        };
        let adjustment = ctx.adjustment(adjust, &loc, d);
        let action = ctx.action(&r.action, &adjustment, d);
        let sources = ctx.sources(&r.sources, d);
        if let (Some(generic), Some(measure), Some(below), Some(action)) = (generic, measure, below, action) {
            locs.renal.push(loc);
            rules.renal.push(RenalRule {
                id: r.id.get_ref().clone(),
                generic,
                indication: r.indication.as_deref().map(normalise_name).filter(|s| !s.is_empty()),
                routes,
                measure,
                below,
                at_or_above,
                action,
                adjustment,
                message: r.message.trim().to_string(),
                sources,
            });
        }
    }

    for r in &raw.hepatic {
        unique(&r.id, d);
        let loc = ctx.loc(&r.id);
        let generic = ctx.generic(&r.generic, d);
        let routes = r.routes.as_ref().map(|l| ctx.routes(l, d)).unwrap_or_default();
        let mut classes = Vec::new();
        for c in r.child_pugh.get_ref() {
            match ChildPugh::parse(c) {
                Some(class) => classes.push(class),
                None => d.push(
                    ctx.loc(&r.child_pugh),
                    Pass::Schema,
                    "bad-child-pugh",
                    format!("Child–Pugh class `{c}` must be A, B or C"),
                ),
            }
        }
        if classes.is_empty() {
            d.push(ctx.loc(&r.child_pugh), Pass::Schema, "missing-value", "`child_pugh` needs at least one class");
        }
        let adjust = AdjustToml {
            factor: &r.factor,
            per_dose_max: &r.per_dose_max,
            per_day_max: &r.per_day_max,
            min_interval_h: &r.min_interval_h,
        };
        let adjustment = ctx.adjustment(adjust, &loc, d);
        let action = ctx.action(&r.action, &adjustment, d);
        let sources = ctx.sources(&r.sources, d);
        if let (Some(generic), Some(action)) = (generic, action) {
            locs.hepatic.push(loc);
            rules.hepatic.push(HepaticRule {
                id: r.id.get_ref().clone(),
                generic,
                routes,
                child_pugh: classes,
                action,
                adjustment,
                message: r.message.trim().to_string(),
                sources,
            });
        }
    }
    (rules, locs)
}

// ---- clinical invariants -------------------------------------------------------------------

fn shares_route(a: &[String], b: &[String]) -> bool {
    a.is_empty() || b.is_empty() || a.iter().any(|r| b.contains(r))
}

fn ages_overlap(a: &[AgeRange], b: &[AgeRange]) -> bool {
    a.is_empty() || b.is_empty() || a.iter().any(|x| b.iter().any(|y| x.overlaps(y)))
}

/// Pass 4: two rules that could both apply to one patient would make the answer depend
/// on file order, so they are refused; so are limits that cannot be met.
pub(crate) fn check(reg: &Registry, rules: &DoseRules, locs: &DoseLocs, d: &mut Diagnostics) {
    let inn = |g: GenericId| reg.generic(g).inn.clone();
    for (i, a) in rules.doses.iter().enumerate() {
        for (j, b) in rules.doses.iter().enumerate().skip(i + 1) {
            if a.generic == b.generic
                && a.indication == b.indication
                && shares_route(&a.routes, &b.routes)
                && ages_overlap(&a.ages, &b.ages)
                && a.weight.overlaps(&b.weight)
            {
                d.push(
                    locs.doses[j].clone(),
                    Pass::Clinical,
                    "overlapping-rules",
                    format!(
                        "rule `{}` overlaps `{}` ({}): both apply to {} by {} at {} and {}; split the ages or weights",
                        b.id,
                        a.id,
                        locs.doses[i],
                        inn(a.generic),
                        b.routes.join("/"),
                        b.ages_label(),
                        b.weight
                    ),
                );
            }
        }
        // A per-dose minimum above the per-day maximum can never be prescribed.
        if let (Some(dose), Some(day)) = (&a.per_dose, &a.per_day)
            && dose.basis == day.basis
            && let (Some(min), Some(max)) = (&dose.min, &day.max)
        {
            let per_day_unit = day.unit.multiply(&Unit::parse("d").expect("unit")).0;
            if per_day_unit.dimension() == dose.unit.dimension() {
                let max_as_dose = Quantity::new(max.clone(), per_day_unit);
                if Quantity::new(min.clone(), dose.unit.clone()).compare(&max_as_dose).is_ok_and(|o| o.is_gt()) {
                    d.push(
                        locs.doses[i].clone(),
                        Pass::Clinical,
                        "min-above-max",
                        format!("rule `{}`: the minimum single dose is above the daily maximum", a.id),
                    );
                }
            }
        }
    }
    for (i, a) in rules.renal.iter().enumerate() {
        for (j, b) in rules.renal.iter().enumerate().skip(i + 1) {
            let lo = |r: &RenalRule| r.at_or_above.clone().unwrap_or_else(Number::zero);
            if a.generic == b.generic
                && a.measure == b.measure
                && a.indication == b.indication
                && shares_route(&a.routes, &b.routes)
                && lo(a) < b.below
                && lo(b) < a.below
            {
                d.push(
                    locs.renal[j].clone(),
                    Pass::Clinical,
                    "overlapping-rules",
                    format!("renal rule `{}` overlaps `{}` ({}) for {}", b.id, a.id, locs.renal[i], inn(a.generic)),
                );
            }
        }
    }
    for (i, a) in rules.hepatic.iter().enumerate() {
        for (j, b) in rules.hepatic.iter().enumerate().skip(i + 1) {
            if a.generic == b.generic
                && shares_route(&a.routes, &b.routes)
                && a.child_pugh.iter().any(|c| b.child_pugh.contains(c))
            {
                d.push(
                    locs.hepatic[j].clone(),
                    Pass::Clinical,
                    "overlapping-rules",
                    format!("hepatic rule `{}` overlaps `{}` ({}) for {}", b.id, a.id, locs.hepatic[i], inn(a.generic)),
                );
            }
        }
    }
}
