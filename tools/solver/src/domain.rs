//! The set of values a variable may still take, in base units (mg, mL, h, kg…), and the
//! arithmetic that over-approximates sums, products and quotients of such sets.
//!
//! Soundness rule for everything in this module: a computed domain may contain values that
//! are not reachable, but it must never miss one that is. Precision is lost on purpose
//! (a value set becomes its hull, an increment is dropped) only when a size limit says so.

use std::cmp::Ordering;

pub(crate) use crate::rational::Q;

/// One end of an interval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Bound {
    pub(crate) value: Q,
    pub(crate) inclusive: bool,
}

impl Bound {
    pub(crate) fn inclusive(value: Q) -> Bound {
        Bound { value, inclusive: true }
    }
}

/// A finite value set or an interval with an optional grid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Domain {
    /// Sorted, without duplicates. Only computed sets may be empty; a variable's domain never is.
    Set(Vec<Q>),
    /// `min`/`max` absent means unbounded. `incr` lists positive step sizes, sorted, none a
    /// multiple of another; a value is on the grid when it is a multiple of any of them.
    Interval { min: Option<Bound>, max: Option<Bound>, incr: Vec<Q> },
}

/// Limits that keep computation bounded.
#[derive(Clone, Debug)]
pub(crate) struct Limits {
    pub(crate) max_set_size: usize,
    pub(crate) max_pairwise: usize,
    pub(crate) max_increments: usize,
    pub(crate) only_min_incr_max: bool,
}

/// What happened when a domain was restricted.
#[derive(Debug)]
pub(crate) enum Restricted {
    Same,
    Narrowed(Domain),
    Empty,
}

/// Binary operation on domains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Add,
    Subtract,
    Multiply,
    Divide,
}

impl Op {
    fn noun(self) -> &'static str {
        match self {
            Op::Add => "sum",
            Op::Subtract => "difference",
            Op::Multiply => "product",
            Op::Divide => "quotient",
        }
    }

    fn apply(self, a: &Q, b: &Q) -> Q {
        match self {
            Op::Add => a + b,
            Op::Subtract => a - b,
            Op::Multiply => a * b,
            Op::Divide => a / b,
        }
    }
}

impl Domain {
    pub(crate) fn unrestricted() -> Domain {
        Domain::Interval { min: None, max: None, incr: Vec::new() }
    }

    pub(crate) fn is_unrestricted(&self) -> bool {
        matches!(self, Domain::Interval { min: None, max: None, incr } if incr.is_empty())
    }

    /// The single value, when exactly one is left.
    pub(crate) fn single(&self) -> Option<&Q> {
        match self {
            Domain::Set(values) if values.len() == 1 => values.first(),
            _ => None,
        }
    }

    pub(crate) fn contains(&self, value: &Q) -> bool {
        match self {
            Domain::Set(values) => values.binary_search(value).is_ok(),
            Domain::Interval { min, max, incr } => {
                above(value, min.as_ref()) && below(value, max.as_ref()) && on_grid(value, incr)
            }
        }
    }

    /// Smallest and largest value as inclusive/exclusive bounds.
    pub(crate) fn hull(&self) -> (Option<Bound>, Option<Bound>) {
        match self {
            Domain::Set(values) => {
                (values.first().cloned().map(Bound::inclusive), values.last().cloned().map(Bound::inclusive))
            }
            Domain::Interval { min, max, .. } => (min.clone(), max.clone()),
        }
    }

    fn increments(&self) -> &[Q] {
        match self {
            Domain::Set(_) => &[],
            Domain::Interval { incr, .. } => incr,
        }
    }

    /// Canonical form of an interval: minimal increments, bounds snapped onto the grid,
    /// `min = max` collapsed to a one-value set. `None` when nothing is left.
    pub(crate) fn normalized(self) -> Option<Domain> {
        match self {
            Domain::Set(values) => (!values.is_empty()).then_some(Domain::Set(values)),
            Domain::Interval { min, max, incr } => {
                let incr = minimal_increments(incr);
                let min = match (min, incr.is_empty()) {
                    (Some(bound), false) => Some(snap_up(&bound, &incr)),
                    (bound, _) => bound,
                };
                let max = match (max, incr.is_empty()) {
                    (Some(bound), false) => Some(snap_down(&bound, &incr)),
                    (bound, _) => bound,
                };
                if let (Some(low), Some(high)) = (&min, &max) {
                    match low.value.cmp(&high.value) {
                        Ordering::Greater => return None,
                        Ordering::Equal if low.inclusive && high.inclusive => {
                            return Some(Domain::Set(vec![low.value.clone()]));
                        }
                        Ordering::Equal => return None,
                        Ordering::Less => {}
                    }
                }
                Some(Domain::Interval { min, max, incr })
            }
        }
    }

    /// Intersects `self` (the current domain) with a computed over-approximation.
    /// Never widens: every bound, increment or value of `self` is kept or tightened.
    pub(crate) fn restrict(&self, computed: &Domain, limits: &Limits) -> Restricted {
        let result = match (self, computed) {
            (Domain::Set(mine), other) | (other, Domain::Set(mine)) => {
                // A set intersected with anything stays a set of its members that survive.
                let kept: Vec<Q> = mine.iter().filter(|v| other.contains(v)).cloned().collect();
                Domain::Set(kept)
            }
            (
                Domain::Interval { min: min1, max: max1, incr: incr1 },
                Domain::Interval { min: min2, max: max2, incr: incr2 },
            ) => Domain::Interval {
                min: tighter_min(min1.as_ref(), min2.as_ref()),
                max: tighter_max(max1.as_ref(), max2.as_ref()),
                incr: intersect_grids(incr1, incr2, limits.max_increments),
            },
        };
        match result.normalized() {
            None => Restricted::Empty,
            Some(domain) if &domain == self => Restricted::Same,
            Some(domain) => Restricted::Narrowed(domain),
        }
    }

    fn contains_zero(&self) -> bool {
        self.contains(&Q::zero())
    }

    fn negated(&self) -> Domain {
        match self {
            Domain::Set(values) => Domain::Set(values.iter().rev().map(|v| -v).collect()),
            Domain::Interval { min, max, incr } => Domain::Interval {
                min: max.as_ref().map(|b| Bound { value: -&b.value, inclusive: b.inclusive }),
                max: min.as_ref().map(|b| Bound { value: -&b.value, inclusive: b.inclusive }),
                incr: incr.clone(),
            },
        }
    }
}

/// Computes an over-approximation of `{a op b | a ∈ left, b ∈ right}`. Notes explain any
/// precision that was given up because of a limit.
pub(crate) fn calculate(op: Op, left: &Domain, right: &Domain, limits: &Limits, notes: &mut Vec<String>) -> Domain {
    if matches!(left, Domain::Set(v) if v.is_empty()) || matches!(right, Domain::Set(v) if v.is_empty()) {
        return Domain::Set(Vec::new());
    }
    match op {
        Op::Subtract => calculate(Op::Add, left, &right.negated(), limits, notes),
        Op::Divide => divide(left, right, limits, notes),
        Op::Add | Op::Multiply => combine(op, left, right, limits, notes),
    }
}

fn divide(left: &Domain, right: &Domain, limits: &Limits, notes: &mut Vec<String>) -> Domain {
    // x = a·b read backwards: a = x ÷ b. If b may be 0 while x may be 0, a is free;
    // if x cannot be 0 then b = 0 is impossible and may be left out of the divisor.
    if right.contains_zero() {
        if left.contains_zero() {
            return Domain::unrestricted();
        }
        match right {
            Domain::Set(values) => {
                let nonzero: Vec<Q> = values.iter().filter(|v| !v.is_zero()).cloned().collect();
                return divide(left, &Domain::Set(nonzero), limits, notes);
            }
            Domain::Interval { min, max, incr } => {
                let exclude_zero = |bound: &Option<Bound>| match bound {
                    Some(b) if b.value.is_zero() => Some(Bound { value: Q::zero(), inclusive: false }),
                    other => other.clone(),
                };
                let min_zero = min.as_ref().is_some_and(|b| b.value.is_zero());
                let max_zero = max.as_ref().is_some_and(|b| b.value.is_zero());
                if !min_zero && !max_zero {
                    // Zero strictly inside the divisor: the quotient is unbounded both ways.
                    return Domain::unrestricted();
                }
                let trimmed = Domain::Interval { min: exclude_zero(min), max: exclude_zero(max), incr: incr.clone() };
                return divide(left, &trimmed, limits, notes);
            }
        }
    }
    if let Domain::Set(values) = right
        && values.is_empty()
    {
        return Domain::Set(Vec::new());
    }
    combine(Op::Divide, left, right, limits, notes)
}

/// Sets combine element-wise when small enough; otherwise bounds combine by interval
/// arithmetic and grids combine by the rules in [`combined_increments`].
fn combine(op: Op, left: &Domain, right: &Domain, limits: &Limits, notes: &mut Vec<String>) -> Domain {
    if let (Domain::Set(a), Domain::Set(b)) = (left, right) {
        // GenPRES `onlyMinIncrMax` reduces any set-by-set result to its min/max (a single
        // value stays a single value).
        let reduce_to_bounds = limits.only_min_incr_max && (a.len() > 1 || b.len() > 1);
        if !reduce_to_bounds {
            let pairs = a.len().saturating_mul(b.len());
            if pairs <= limits.max_pairwise {
                let mut values: Vec<Q> = Vec::with_capacity(pairs);
                for x in a {
                    for y in b {
                        values.push(op.apply(x, y));
                    }
                }
                values.sort_unstable();
                values.dedup();
                if values.len() <= limits.max_set_size {
                    return Domain::Set(values);
                }
                notes.push(format!(
                    "the {} of {} and {} values gives {} distinct values, above the limit of {}: kept the exact min/max{} instead",
                    op.noun(),
                    a.len(),
                    b.len(),
                    values.len(),
                    limits.max_set_size,
                    grid_note(op)
                ));
            } else {
                notes.push(format!(
                    "the {} of {} and {} values needs {} operations, above the limit of {}: kept the exact min/max{} instead",
                    op.noun(),
                    a.len(),
                    b.len(),
                    pairs,
                    limits.max_pairwise,
                    grid_note(op)
                ));
            }
        } else {
            let (min, max) = interval_bounds(op, left, right);
            return Domain::Interval { min, max, incr: Vec::new() };
        }
    }
    let (min, max) = interval_bounds(op, left, right);
    let incr = combined_increments(op, left, right, limits);
    Domain::Interval { min, max, incr }
}

fn grid_note(op: Op) -> &'static str {
    match op {
        Op::Add | Op::Subtract | Op::Multiply => " and a common step",
        Op::Divide => "",
    }
}

/// Steps that every result value is a multiple of.
///
/// - product: `a ∈ iℤ, b ∈ jℤ ⇒ ab ∈ ijℤ`; a set member `v` times `iℤ` lies in `viℤ`;
/// - quotient by a set member `v`: `iℤ / v = (i/v)ℤ` (GenPRES does this for `v = 1` only);
/// - sum: `iℤ + jℤ = gcd(i, j)ℤ`, a set counts as `gcd(members)ℤ`.
fn combined_increments(op: Op, left: &Domain, right: &Domain, limits: &Limits) -> Vec<Q> {
    let steps_of = |domain: &Domain| -> Vec<Q> {
        match domain {
            Domain::Set(values) => set_gcd(values).into_iter().collect(),
            Domain::Interval { incr, .. } => incr.clone(),
        }
    };
    let pairwise = |xs: &[Q], ys: &[Q], f: &dyn Fn(&Q, &Q) -> Q| -> Vec<Q> {
        if xs.is_empty() || ys.is_empty() || xs.len() * ys.len() > limits.max_increments * 4 {
            return Vec::new();
        }
        let mut steps = Vec::new();
        for x in xs {
            for y in ys {
                let step = f(x, y).abs();
                if !step.is_zero() {
                    steps.push(step);
                }
            }
        }
        let steps = minimal_increments(steps);
        if steps.len() > limits.max_increments { Vec::new() } else { steps }
    };
    match op {
        Op::Add | Op::Subtract => pairwise(&steps_of(left), &steps_of(right), &rational_gcd),
        Op::Multiply => {
            let set_members = |domain: &Domain| -> Vec<Q> {
                match domain {
                    Domain::Set(values) => values.clone(),
                    Domain::Interval { incr, .. } => incr.clone(),
                }
            };
            match (left, right) {
                (Domain::Set(_), Domain::Set(_)) => pairwise(&steps_of(left), &steps_of(right), &|x, y| x * y),
                _ => pairwise(&set_members(left), &set_members(right), &|x, y| x * y),
            }
        }
        Op::Divide => match right {
            Domain::Set(divisors) => pairwise(left.increments(), divisors, &|x, y| x / y),
            Domain::Interval { .. } => Vec::new(),
        },
    }
}

fn set_gcd(values: &[Q]) -> Option<Q> {
    let gcd = values.iter().fold(Q::zero(), |acc, value| acc.gcd(value));
    (!gcd.is_zero()).then_some(gcd)
}

/// gcd of two step sizes (see [`Q::gcd`]); a named function so closures can take it.
fn rational_gcd(x: &Q, y: &Q) -> Q {
    x.gcd(y)
}

fn is_multiple(value: &Q, step: &Q) -> bool {
    (value / step).is_integer()
}

pub(crate) fn on_grid(value: &Q, incr: &[Q]) -> bool {
    incr.is_empty() || incr.iter().any(|step| is_multiple(value, step))
}

/// Sorted positive steps with every step that is a multiple of a smaller one removed
/// (its grid is contained in the smaller step's grid).
pub(crate) fn minimal_increments(mut steps: Vec<Q>) -> Vec<Q> {
    steps.retain(|s| s.is_positive());
    steps.sort();
    steps.dedup();
    let mut kept: Vec<Q> = Vec::with_capacity(steps.len());
    for step in steps {
        if !kept.iter().any(|small| is_multiple(&step, small)) {
            kept.push(step);
        }
    }
    kept
}

/// `∪ iℤ ∩ ∪ jℤ = ∪ lcm(i, j)ℤ`. If that would need too many steps, keep the current grid:
/// it is a superset of the intersection, so nothing is widened.
fn intersect_grids(current: &[Q], computed: &[Q], max_increments: usize) -> Vec<Q> {
    if computed.is_empty() {
        return current.to_vec();
    }
    if current.is_empty() {
        return computed.to_vec();
    }
    let mut steps = Vec::with_capacity(current.len() * computed.len());
    for i in current {
        for j in computed {
            steps.push(i.lcm(j));
        }
    }
    let steps = minimal_increments(steps);
    if steps.len() > max_increments { current.to_vec() } else { steps }
}

fn above(value: &Q, min: Option<&Bound>) -> bool {
    match min {
        None => true,
        Some(b) if b.inclusive => value >= &b.value,
        Some(b) => value > &b.value,
    }
}

fn below(value: &Q, max: Option<&Bound>) -> bool {
    match max {
        None => true,
        Some(b) if b.inclusive => value <= &b.value,
        Some(b) => value < &b.value,
    }
}

fn tighter_min(a: Option<&Bound>, b: Option<&Bound>) -> Option<Bound> {
    match (a, b) {
        (None, None) => None,
        (Some(x), None) | (None, Some(x)) => Some(x.clone()),
        (Some(x), Some(y)) => Some(match x.value.cmp(&y.value) {
            Ordering::Greater => x.clone(),
            Ordering::Less => y.clone(),
            Ordering::Equal => Bound { value: x.value.clone(), inclusive: x.inclusive && y.inclusive },
        }),
    }
}

fn tighter_max(a: Option<&Bound>, b: Option<&Bound>) -> Option<Bound> {
    match (a, b) {
        (None, None) => None,
        (Some(x), None) | (None, Some(x)) => Some(x.clone()),
        (Some(x), Some(y)) => Some(match x.value.cmp(&y.value) {
            Ordering::Less => x.clone(),
            Ordering::Greater => y.clone(),
            Ordering::Equal => Bound { value: x.value.clone(), inclusive: x.inclusive && y.inclusive },
        }),
    }
}

/// The smallest grid value at or above (strictly above when exclusive) the bound.
fn snap_up(bound: &Bound, incr: &[Q]) -> Bound {
    let value = incr
        .iter()
        .map(|step| {
            let quotient = &bound.value / step;
            let mut k = quotient.ceil();
            if !bound.inclusive && quotient.is_integer() {
                k = &k + &Q::one();
            }
            &k * step
        })
        .min()
        .unwrap_or_else(|| bound.value.clone());
    Bound::inclusive(value)
}

/// The largest grid value at or below (strictly below when exclusive) the bound.
fn snap_down(bound: &Bound, incr: &[Q]) -> Bound {
    let value = incr
        .iter()
        .map(|step| {
            let quotient = &bound.value / step;
            let mut k = quotient.floor();
            if !bound.inclusive && quotient.is_integer() {
                k = &k - &Q::one();
            }
            &k * step
        })
        .max()
        .unwrap_or_else(|| bound.value.clone());
    Bound::inclusive(value)
}

/// An end of an operand interval in extended arithmetic.
#[derive(Clone, Debug)]
enum End {
    NegInf,
    Finite(Q, bool),
    PosInf,
}

impl End {
    fn rank(&self) -> i8 {
        match self {
            End::NegInf => -1,
            End::Finite(..) => 0,
            End::PosInf => 1,
        }
    }

    fn sign(&self) -> Ordering {
        match self {
            End::NegInf => Ordering::Less,
            End::PosInf => Ordering::Greater,
            End::Finite(v, _) => v.cmp(&Q::zero()),
        }
    }

    fn infinite(sign: Ordering) -> End {
        if sign == Ordering::Less { End::NegInf } else { End::PosInf }
    }

    fn from_min(bound: Option<&Bound>) -> End {
        bound.map_or(End::NegInf, |b| End::Finite(b.value.clone(), b.inclusive))
    }

    fn from_max(bound: Option<&Bound>) -> End {
        bound.map_or(End::PosInf, |b| End::Finite(b.value.clone(), b.inclusive))
    }
}

fn compare_ends(a: &End, b: &End) -> Ordering {
    match (a, b) {
        (End::Finite(x, _), End::Finite(y, _)) => x.cmp(y),
        _ => a.rank().cmp(&b.rank()),
    }
}

/// Sum or product of two interval ends. `0 × ∞` is the value 0 (reached on the zero edge
/// when the zero is inclusive, approached otherwise); the far corners supply the infinity.
fn corner(op: Op, a: &End, b: &End) -> End {
    match op {
        Op::Add => match (a, b) {
            (End::Finite(x, i), End::Finite(y, j)) => End::Finite(x + y, *i && *j),
            (End::NegInf, _) | (_, End::NegInf) => End::NegInf,
            _ => End::PosInf,
        },
        _ => match (a, b) {
            (End::Finite(x, i), End::Finite(y, j)) => End::Finite(x * y, *i && *j),
            (End::Finite(x, i), _) | (_, End::Finite(x, i)) if x.is_zero() => End::Finite(Q::zero(), *i),
            _ => End::infinite(if a.sign() == b.sign() { Ordering::Greater } else { Ordering::Less }),
        },
    }
}

/// 1/[lo, hi] for an interval that does not contain 0 (0 may be an exclusive end).
fn reciprocal(lo: &End, hi: &End) -> (End, End) {
    let invert = |end: &End, towards: Ordering| match end {
        End::NegInf | End::PosInf => End::Finite(Q::zero(), false),
        End::Finite(v, _) if v.is_zero() => End::infinite(towards),
        End::Finite(v, inclusive) => End::Finite(v.recip(), *inclusive),
    };
    let positive = lo.sign() != Ordering::Less;
    if positive {
        (invert(hi, Ordering::Greater), invert(lo, Ordering::Greater))
    } else {
        (invert(hi, Ordering::Less), invert(lo, Ordering::Less))
    }
}

/// Interval bounds of `left op right` for add and multiply (subtract and divide are
/// rewritten before). Ties between corners are inclusive if any corner is.
fn interval_bounds(op: Op, left: &Domain, right: &Domain) -> (Option<Bound>, Option<Bound>) {
    let (min1, max1) = left.hull();
    let (min2, max2) = right.hull();
    let (a_lo, a_hi) = (End::from_min(min1.as_ref()), End::from_max(max1.as_ref()));
    let (mut b_lo, mut b_hi) = (End::from_min(min2.as_ref()), End::from_max(max2.as_ref()));
    let op = match op {
        Op::Divide => {
            (b_lo, b_hi) = reciprocal(&b_lo, &b_hi);
            Op::Multiply
        }
        other => other,
    };
    let corners: Vec<End> = match op {
        Op::Add | Op::Subtract => vec![corner(op, &a_lo, &b_lo), corner(op, &a_hi, &b_hi)],
        Op::Multiply | Op::Divide => {
            vec![corner(op, &a_lo, &b_lo), corner(op, &a_lo, &b_hi), corner(op, &a_hi, &b_lo), corner(op, &a_hi, &b_hi)]
        }
    };
    let pick = |wanted: Ordering| -> End {
        let mut best = corners[0].clone();
        for candidate in &corners[1..] {
            match compare_ends(candidate, &best) {
                ordering if ordering == wanted => best = candidate.clone(),
                Ordering::Equal => {
                    if let (End::Finite(v, i), End::Finite(_, j)) = (candidate, &best) {
                        best = End::Finite(v.clone(), *i || *j);
                    }
                }
                _ => {}
            }
        }
        best
    };
    let to_bound = |end: End| match end {
        End::Finite(value, inclusive) => Some(Bound { value, inclusive }),
        End::NegInf | End::PosInf => None,
    };
    (to_bound(pick(Ordering::Less)), to_bound(pick(Ordering::Greater)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> Q {
        Q::from_big(rxgate_units::Number::parse(text).expect("number").as_ratio())
    }

    fn bound(text: &str) -> Option<Bound> {
        match text {
            "" => None,
            _ => {
                let inclusive = !text.ends_with('x');
                Some(Bound { value: q(text.trim_end_matches('x')), inclusive })
            }
        }
    }

    /// `"[1..2]"`-free shorthand: `("1", "2x")` is 1 inclusive to 2 exclusive.
    fn interval(min: &str, max: &str) -> Domain {
        Domain::Interval { min: bound(min), max: bound(max), incr: Vec::new() }
    }

    fn limits() -> Limits {
        Limits { max_set_size: 1000, max_pairwise: 100_000, max_increments: 16, only_min_incr_max: false }
    }

    fn show(domain: &Domain) -> String {
        let (min, max) = domain.hull();
        let end = |b: Option<Bound>| match b {
            None => "_".to_owned(),
            Some(b) => {
                format!("{}{}", rxgate_units::Number::from(b.value.to_big()), if b.inclusive { "" } else { "x" })
            }
        };
        format!("{}..{}", end(min), end(max))
    }

    #[test]
    fn interval_arithmetic_with_open_and_closed_ends() {
        // (left, op, right, expected) — GenPRES MinMaxCalculator cases plus sign cases.
        for (left, op, right, expected) in [
            (("1", "2"), Op::Multiply, ("2", "3"), "2..6"),
            (("1x", ""), Op::Multiply, ("2", ""), "2x.._"),
            (("1", ""), Op::Multiply, ("2", "3"), "2.._"),
            (("", "1"), Op::Multiply, ("2", "3"), "_..3"),
            (("1x", ""), Op::Add, ("2", ""), "3x.._"),
            (("1", ""), Op::Add, ("0x", ""), "1x.._"),
            (("1", "1"), Op::Divide, ("0x", ""), "0x.._"),
            (("1", "1"), Op::Divide, ("", ""), "_.._"),
            (("-2", "3"), Op::Multiply, ("-5", "1"), "-15..10"),
            (("0x", "5"), Op::Multiply, ("1", ""), "0x.._"),
            (("0", "5"), Op::Multiply, ("1", ""), "0.._"),
            (("-1", "0x"), Op::Multiply, ("1", ""), "_..0x"),
            (("1x", "10x"), Op::Divide, ("0x", "2x"), "1/2x.._"),
            (("1", "2"), Op::Divide, ("-4", "-2"), "-1..-1/4"),
            (("5", "10"), Op::Subtract, ("1", "2x"), "3x..9"),
            (("0", "10"), Op::Divide, ("0", "2"), "_.._"),
            (("1", "10"), Op::Divide, ("0", "2"), "1/2.._"),
        ] {
            let result =
                calculate(op, &interval(left.0, left.1), &interval(right.0, right.1), &limits(), &mut Vec::new());
            assert_eq!(show(&result), expected, "{left:?} {op:?} {right:?}");
        }
    }

    #[test]
    fn restriction_snaps_to_the_grid_and_never_widens() {
        let with_incr = |min: &str, max: &str, incr: &[&str]| Domain::Interval {
            min: bound(min),
            max: bound(max),
            incr: incr.iter().map(|s| q(s)).collect(),
        };
        let current = with_incr("3", "", &["2"]).normalized().expect("non-empty");
        assert_eq!(current, with_incr("4", "", &["2"]));
        let Restricted::Narrowed(snapped) = current.restrict(&interval("5", ""), &limits()) else {
            panic!("a higher minimum narrows");
        };
        assert_eq!(snapped, with_incr("6", "", &["2"]));
        assert!(matches!(snapped.restrict(&interval("1", ""), &limits()), Restricted::Same));
        assert_eq!(with_incr("3x", "7", &["2"]).normalized(), Some(with_incr("4", "6", &["2"])));
        assert_eq!(with_incr("", "5x", &["2"]).normalized(), Some(with_incr("", "4", &["2"])));
        let fine = with_incr("", "", &["1/10"]);
        let Restricted::Narrowed(coarse) = fine.restrict(&with_incr("", "", &["1/2"]), &limits()) else {
            panic!("a coarser grid narrows");
        };
        assert_eq!(coarse, with_incr("", "", &["1/2"]));
        assert!(matches!(coarse.restrict(&with_incr("", "", &["1/10"]), &limits()), Restricted::Same));
        assert!(matches!(
            with_incr("11/100", "19/100", &["1/10"]).restrict(&Domain::unrestricted(), &limits()),
            Restricted::Empty
        ));
    }

    #[test]
    fn products_of_sets_are_exact_and_bounded() {
        let set = |xs: &[&str]| Domain::Set(xs.iter().map(|s| q(s)).collect());
        let product = calculate(Op::Multiply, &set(&["3", "6"]), &set(&["2", "4", "6"]), &limits(), &mut Vec::new());
        assert_eq!(product, set(&["6", "12", "18", "24", "36"]));
        let small = Limits { max_set_size: 3, ..limits() };
        let mut notes = Vec::new();
        let fallback = calculate(Op::Multiply, &set(&["3", "6"]), &set(&["2", "4", "6"]), &small, &mut notes);
        assert_eq!(fallback, Domain::Interval { min: bound("6"), max: bound("36"), incr: vec![q("6")] });
        assert_eq!(notes.len(), 1, "{notes:?}");
    }
}
