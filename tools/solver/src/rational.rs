//! An exact rational that stays on the stack while it fits.
//!
//! Almost every number in a medication order is a small fraction, and `BigRational`
//! allocates for every operation. `Q` keeps numerator and denominator in `i64` and does
//! each operation in `i128`, which cannot overflow for a product or sum of two `i64`
//! fractions; a result that does not fit back in `i64` is kept as a `BigRational`.
//! Exactness never depends on the representation, only speed does.
//!
//! Invariant: a value is `Small` whenever it fits (reduced, denominator positive), so two
//! equal values always have the same representation and the derived `Eq`/`Hash` are exact.

use std::cmp::Ordering;
use std::ops::{Add, Div, Mul, Neg, Sub};

use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Q {
    /// numerator, denominator: reduced, denominator > 0.
    Small(i64, i64),
    /// Only for values that do not fit in `Small`; boxed so that sets of small values stay
    /// compact in memory.
    Big(Box<BigRational>),
}

fn gcd128(mut a: i128, mut b: i128) -> i128 {
    a = a.abs();
    b = b.abs();
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}

fn gcd64(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}

/// Reduces `n/d` (d ≠ 0) computed in i128 and stores it as small as possible.
fn from_i128(n: i128, d: i128) -> Q {
    debug_assert!(d != 0);
    if d == 1
        && let Ok(n) = i64::try_from(n)
    {
        return Q::Small(n, 1);
    }
    // 64-bit division is several times faster than 128-bit; most values fit.
    if let (Ok(small_n), Ok(small_d)) = (i64::try_from(n), i64::try_from(d))
        && small_n != i64::MIN
        && small_d != i64::MIN
    {
        let g = gcd64(small_n.unsigned_abs(), small_d.unsigned_abs()).max(1);
        let g = i64::try_from(g).unwrap_or(1);
        let (n, d) = (small_n / g, small_d / g);
        return if d < 0 { Q::Small(-n, -d) } else { Q::Small(n, d) };
    }
    let g = gcd128(n, d).max(1);
    let (mut n, mut d) = (n / g, d / g);
    if d < 0 {
        // Negating is safe: |n|, |d| ≤ 2^126 after any single i64 operation.
        n = -n;
        d = -d;
    }
    match (i64::try_from(n), i64::try_from(d)) {
        (Ok(n), Ok(d)) => Q::Small(n, d),
        _ => Q::Big(Box::new(BigRational::new(BigInt::from(n), BigInt::from(d)))),
    }
}

impl Q {
    pub(crate) fn zero() -> Q {
        Q::Small(0, 1)
    }

    pub(crate) fn one() -> Q {
        Q::Small(1, 1)
    }

    pub(crate) fn from_big(value: &BigRational) -> Q {
        match (value.numer().to_i64(), value.denom().to_i64()) {
            (Some(n), Some(d)) => Q::Small(n, d),
            _ => Q::Big(Box::new(value.clone())),
        }
    }

    fn from_big_owned(value: BigRational) -> Q {
        match (value.numer().to_i64(), value.denom().to_i64()) {
            (Some(n), Some(d)) => Q::Small(n, d),
            _ => Q::Big(Box::new(value)),
        }
    }

    pub(crate) fn to_big(&self) -> BigRational {
        match self {
            Q::Small(n, d) => BigRational::new_raw(BigInt::from(*n), BigInt::from(*d)),
            Q::Big(value) => (**value).clone(),
        }
    }

    pub(crate) fn is_zero(&self) -> bool {
        matches!(self, Q::Small(0, _))
    }

    pub(crate) fn is_positive(&self) -> bool {
        match self {
            Q::Small(n, _) => *n > 0,
            Q::Big(value) => value.is_positive(),
        }
    }

    pub(crate) fn is_integer(&self) -> bool {
        match self {
            Q::Small(_, d) => *d == 1,
            Q::Big(value) => value.is_integer(),
        }
    }

    pub(crate) fn abs(&self) -> Q {
        if self.is_positive() || self.is_zero() { self.clone() } else { -self }
    }

    /// 1/self; callers never pass zero.
    pub(crate) fn recip(&self) -> Q {
        match self {
            Q::Small(n, d) => from_i128(i128::from(*d), i128::from(*n)),
            Q::Big(value) => Q::from_big_owned(value.recip()),
        }
    }

    pub(crate) fn floor(&self) -> Q {
        match self {
            Q::Small(n, d) => Q::Small(n.div_euclid(*d), 1),
            Q::Big(value) => Q::from_big_owned(value.floor()),
        }
    }

    pub(crate) fn ceil(&self) -> Q {
        match self {
            Q::Small(n, d) => {
                let floor = n.div_euclid(*d);
                let ceil = if n.rem_euclid(*d) == 0 { floor } else { floor + 1 };
                Q::Small(ceil, 1)
            }
            Q::Big(value) => Q::from_big_owned(value.ceil()),
        }
    }

    /// An integer value as `i64`, when it is one and fits.
    pub(crate) fn to_integer_i64(&self) -> Option<i64> {
        match self {
            Q::Small(n, 1) => Some(*n),
            _ => None,
        }
    }

    /// gcd(a/b, c/d) = gcd(a, c) / lcm(b, d); gcd(0, x) = |x|.
    pub(crate) fn gcd(&self, other: &Q) -> Q {
        if self.is_zero() {
            return other.abs();
        }
        if other.is_zero() {
            return self.abs();
        }
        match (self, other) {
            (Q::Small(a, b), Q::Small(c, d)) => {
                let numerator = gcd128(i128::from(*a), i128::from(*c));
                let (b, d) = (i128::from(*b), i128::from(*d));
                let denominator = b / gcd128(b, d) * d;
                from_i128(numerator, denominator)
            }
            _ => {
                let (x, y) = (self.to_big(), other.to_big());
                Q::from_big_owned(BigRational::new(x.numer().gcd(y.numer()), x.denom().lcm(y.denom())))
            }
        }
    }

    /// lcm(a/b, c/d) = lcm(a, c) / gcd(b, d), for positive values.
    pub(crate) fn lcm(&self, other: &Q) -> Q {
        match (self, other) {
            (Q::Small(a, b), Q::Small(c, d)) => {
                let (a, c) = (i128::from(*a), i128::from(*c));
                let numerator = (a / gcd128(a, c).max(1) * c).abs();
                from_i128(numerator, gcd128(i128::from(*b), i128::from(*d)))
            }
            _ => {
                let (x, y) = (self.to_big(), other.to_big());
                Q::from_big_owned(BigRational::new(x.numer().lcm(y.numer()), x.denom().gcd(y.denom())))
            }
        }
    }
}

impl Ord for Q {
    fn cmp(&self, other: &Q) -> Ordering {
        match (self, other) {
            (Q::Small(a, b), Q::Small(c, d)) => {
                (i128::from(*a) * i128::from(*d)).cmp(&(i128::from(*c) * i128::from(*b)))
            }
            _ => self.to_big().cmp(&other.to_big()),
        }
    }
}

impl PartialOrd for Q {
    fn partial_cmp(&self, other: &Q) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Add for &Q {
    type Output = Q;
    fn add(self, other: &Q) -> Q {
        match (self, other) {
            (Q::Small(a, b), Q::Small(c, d)) => {
                let (a, b, c, d) = (i128::from(*a), i128::from(*b), i128::from(*c), i128::from(*d));
                if b == d { from_i128(a + c, b) } else { from_i128(a * d + c * b, b * d) }
            }
            _ => Q::from_big_owned(self.to_big() + other.to_big()),
        }
    }
}

impl Sub for &Q {
    type Output = Q;
    fn sub(self, other: &Q) -> Q {
        self + &(-other)
    }
}

impl Mul for &Q {
    type Output = Q;
    fn mul(self, other: &Q) -> Q {
        match (self, other) {
            (Q::Small(a, b), Q::Small(c, d)) => {
                from_i128(i128::from(*a) * i128::from(*c), i128::from(*b) * i128::from(*d))
            }
            _ => Q::from_big_owned(self.to_big() * other.to_big()),
        }
    }
}

impl Div for &Q {
    type Output = Q;
    fn div(self, other: &Q) -> Q {
        match (self, other) {
            (Q::Small(a, b), Q::Small(c, d)) => {
                from_i128(i128::from(*a) * i128::from(*d), i128::from(*b) * i128::from(*c))
            }
            _ => Q::from_big_owned(self.to_big() / other.to_big()),
        }
    }
}

impl Neg for &Q {
    type Output = Q;
    fn neg(self) -> Q {
        match self {
            Q::Small(n, d) => from_i128(-i128::from(*n), i128::from(*d)),
            Q::Big(value) => Q::from_big_owned(-(**value).clone()),
        }
    }
}

impl Neg for Q {
    type Output = Q;
    fn neg(self) -> Q {
        -&self
    }
}

impl From<i64> for Q {
    fn from(value: i64) -> Q {
        Q::Small(value, 1)
    }
}

impl Default for Q {
    fn default() -> Q {
        Q::zero()
    }
}

impl Zero for Q {
    fn zero() -> Q {
        Q::Small(0, 1)
    }
    fn is_zero(&self) -> bool {
        Q::is_zero(self)
    }
}

impl Add for Q {
    type Output = Q;
    fn add(self, other: Q) -> Q {
        &self + &other
    }
}

impl One for Q {
    fn one() -> Q {
        Q::Small(1, 1)
    }
}

impl Mul for Q {
    type Output = Q;
    fn mul(self, other: Q) -> Q {
        &self * &other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn big(n: i64, d: i64) -> BigRational {
        BigRational::new(BigInt::from(n), BigInt::from(d))
    }

    #[test]
    fn agrees_with_bigrational_at_the_edges() {
        let samples = [
            (0, 1),
            (1, 3),
            (-7, 2),
            (i64::MAX, 1),
            (i64::MIN + 1, 1),
            (1, i64::MAX),
            (-3, i64::MAX - 1),
            (i64::MAX, i64::MAX - 2),
            (123_456_789, 1_000_000_007),
        ];
        for &(a, b) in &samples {
            for &(c, d) in &samples {
                let (x, y) = (Q::from_big(&big(a, b)), Q::from_big(&big(c, d)));
                let (bx, by) = (big(a, b), big(c, d));
                assert_eq!((&x + &y).to_big(), &bx + &by, "{a}/{b} + {c}/{d}");
                assert_eq!((&x - &y).to_big(), &bx - &by, "{a}/{b} - {c}/{d}");
                assert_eq!((&x * &y).to_big(), &bx * &by, "{a}/{b} × {c}/{d}");
                if c != 0 {
                    assert_eq!((&x / &y).to_big(), &bx / &by, "{a}/{b} ÷ {c}/{d}");
                }
                assert_eq!(x.cmp(&y), bx.cmp(&by), "{a}/{b} <> {c}/{d}");
                assert_eq!(x == y, bx == by);
                // Equal values have one representation.
                assert_eq!(Q::from_big(&(&x + &y).to_big()), &x + &y);
            }
            let x = Q::from_big(&big(a, b));
            assert_eq!(x.floor().to_big(), big(a, b).floor());
            assert_eq!(x.ceil().to_big(), big(a, b).ceil());
        }
    }

    #[test]
    fn gcd_and_lcm_of_fractions() {
        let q = |n, d| Q::from_big(&big(n, d));
        assert_eq!(q(1, 10).lcm(&q(1, 2)), q(1, 2));
        assert_eq!(q(25, 1).lcm(&q(267, 500)), q(6675, 1));
        assert_eq!(q(1, 3).gcd(&q(1, 101)), q(1, 303));
        assert_eq!(q(4, 1).gcd(&q(1, 10)), q(1, 10));
        assert_eq!(Q::zero().gcd(&q(-3, 2)), q(3, 2));
    }
}
