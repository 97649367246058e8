//! What callers read back: a variable's values in its own unit, exact.

use std::fmt;

use rxgate_units::{Number, Unit};

use crate::domain::{Domain, Q};

/// One end of a range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bound {
    /// The limit, in the range's unit.
    pub value: Number,
    /// Whether the limit itself is allowed.
    pub inclusive: bool,
}

/// The values a variable may take, in [`Range::unit`].
///
/// Either a finite value set (`values()` is `Some`; `min`/`max` are then its smallest and
/// largest member, inclusive) or an interval with optional ends and an optional grid of
/// increments (a value is allowed when it is a multiple of any increment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Range {
    unit: Unit,
    min: Option<Bound>,
    max: Option<Bound>,
    increments: Vec<Number>,
    values: Option<Vec<Number>>,
}

impl Range {
    pub(crate) fn from_domain(domain: &Domain, unit: &Unit) -> Range {
        let scale = Q::from_big(&unit.base_factor());
        let to_user = |value: &Q| Number::from((value / &scale).to_big());
        let to_bound = |bound: Option<crate::domain::Bound>| {
            bound.map(|b| Bound { value: to_user(&b.value), inclusive: b.inclusive })
        };
        let (min, max) = domain.hull();
        match domain {
            Domain::Set(values) => Range {
                unit: unit.clone(),
                min: to_bound(min),
                max: to_bound(max),
                increments: Vec::new(),
                values: Some(values.iter().map(to_user).collect()),
            },
            Domain::Interval { incr, .. } => Range {
                unit: unit.clone(),
                min: to_bound(min),
                max: to_bound(max),
                increments: incr.iter().map(to_user).collect(),
                values: None,
            },
        }
    }

    /// The unit every number of this range is expressed in.
    pub fn unit(&self) -> &Unit {
        &self.unit
    }

    /// Lower limit; for a value set, its smallest member.
    pub fn min(&self) -> Option<&Bound> {
        self.min.as_ref()
    }

    /// Upper limit; for a value set, its largest member.
    pub fn max(&self) -> Option<&Bound> {
        self.max.as_ref()
    }

    /// Step sizes of the grid (empty when there is none).
    pub fn increments(&self) -> &[Number] {
        &self.increments
    }

    /// The finite value set, when the range is one.
    pub fn values(&self) -> Option<&[Number]> {
        self.values.as_deref()
    }

    /// The value, when exactly one is left.
    pub fn single_value(&self) -> Option<&Number> {
        match self.values.as_deref() {
            Some([only]) => Some(only),
            _ => None,
        }
    }

    /// True when `value` (in this range's unit) is allowed.
    pub fn contains(&self, value: &Number) -> bool {
        if let Some(values) = &self.values {
            return values.contains(value);
        }
        let above = self.min.as_ref().is_none_or(|b| if b.inclusive { value >= &b.value } else { value > &b.value });
        let below = self.max.as_ref().is_none_or(|b| if b.inclusive { value <= &b.value } else { value < &b.value });
        let on_grid = self.increments.is_empty()
            || self.increments.iter().any(|step| (value.as_ratio() / step.as_ratio()).is_integer());
        above && below && on_grid
    }

    /// True when nothing is known yet.
    pub fn is_unrestricted(&self) -> bool {
        self.values.is_none() && self.min.is_none() && self.max.is_none() && self.increments.is_empty()
    }

    /// GenPRES-style notation with exact numbers: `[1;2;3]`, `<0..5>`, `[1/5..1/10..500]`,
    /// `[12/5..2/5;1/2;3/5..460]`, `<..>`; the unit is not included.
    pub fn notation(&self) -> String {
        let join = |numbers: &[Number]| numbers.iter().map(Number::to_string).collect::<Vec<_>>().join(";");
        if let Some(values) = &self.values {
            return format!("[{}]", join(values));
        }
        let open = match &self.min {
            Some(b) if b.inclusive => "[",
            _ => "<",
        };
        let close = match &self.max {
            Some(b) if b.inclusive => "]",
            _ => ">",
        };
        let min = self.min.as_ref().map(|b| b.value.to_string()).unwrap_or_default();
        let max = self.max.as_ref().map(|b| b.value.to_string()).unwrap_or_default();
        if self.increments.is_empty() {
            format!("{open}{min}..{max}{close}")
        } else {
            format!("{open}{min}..{}..{max}{close}", join(&self.increments))
        }
    }
}

impl fmt::Display for Range {
    /// The notation followed by the unit, e.g. `[120;240] mg`; no unit for `1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.unit.is_one() { f.write_str(&self.notation()) } else { write!(f, "{} {}", self.notation(), self.unit) }
    }
}
