//! Units as products of powers of atoms, one atom per unit group.
//!
//! A [`Unit`] keeps at most one atom per [`Group`]: multiplying `mg/mL` by `L` converts the
//! litre to millilitres and cancels the volume, giving `mg` with the value scaled by 1000.
//! That keeps units canonical, so equality of units is structural and printing is stable.

use std::fmt;

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Pow};

/// A unit group, i.e. a dimension that cannot be converted into another one.
///
/// Body weight is its own group so that `mg/kg` is not dimensionless; body surface area
/// (`m2`) is not length squared for the same reason; international units cannot be converted
/// to mass without a drug-specific factor, so they are a group too. Each annotation
/// (`{tbl}`, `{drop}`, `{1.73_m2}`) is a group of its own so that tablets never add to drops.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    /// Drug mass: `g`, `mg`, `ug`, `ng`.
    Mass,
    /// Amount of substance: `mol`, `mmol`, `umol`, `nmol`.
    Substance,
    /// Equivalents: `eq`, `meq`.
    Equivalent,
    /// International units: `[iU]`, `[IU]`, `U` and their milli/kilo forms.
    InternationalUnit,
    /// Volume: `L`, `dL`, `mL`, `uL`.
    Volume,
    /// Length: `m`, `cm`, `mm`.
    Length,
    /// A counted thing named by a UCUM annotation, such as `{tbl}`.
    Annotation(Box<str>),
    /// Patient body weight: `kg`.
    BodyWeight,
    /// Body surface area: `m2`.
    BodySurface,
    /// Time: `s`, `min`, `h`, `d`, `wk`.
    Time,
}

impl Group {
    /// Position in a numerator, so that `mg.mL` rather than `mL.mg` is printed.
    fn numerator_rank(&self) -> u8 {
        match self {
            Group::Mass => 0,
            Group::Substance => 1,
            Group::Equivalent => 2,
            Group::InternationalUnit => 3,
            Group::Volume => 4,
            Group::Length => 5,
            Group::Annotation(_) => 6,
            Group::BodyWeight => 7,
            Group::BodySurface => 8,
            Group::Time => 9,
        }
    }

    /// Position in a denominator, chosen so clinical units print the usual way:
    /// `mg/kg/d`, `ug/kg/min`, `mg/m2`, `mL/min/{1.73_m2}`, `mg/{tbl}`.
    fn denominator_rank(&self) -> u8 {
        match self {
            Group::BodyWeight => 0,
            Group::BodySurface => 1,
            Group::Volume => 2,
            Group::Mass => 3,
            Group::Substance => 4,
            Group::Equivalent => 5,
            Group::InternationalUnit => 6,
            Group::Length => 7,
            Group::Time => 8,
            Group::Annotation(_) => 9,
        }
    }

    fn name(&self) -> String {
        match self {
            Group::Mass => "mass".to_owned(),
            Group::Substance => "substance".to_owned(),
            Group::Equivalent => "equivalents".to_owned(),
            Group::InternationalUnit => "international units".to_owned(),
            Group::Volume => "volume".to_owned(),
            Group::Length => "length".to_owned(),
            Group::Annotation(name) => format!("{{{name}}}"),
            Group::BodyWeight => "body weight".to_owned(),
            Group::BodySurface => "body surface".to_owned(),
            Group::Time => "time".to_owned(),
        }
    }
}

/// One row of the atom table: code, group, and size relative to the group's base atom.
struct AtomDef {
    code: &'static str,
    group: Group,
    numerator: i64,
    denominator: i64,
}

const fn atom(code: &'static str, group: Group, numerator: i64, denominator: i64) -> AtomDef {
    AtomDef { code, group, numerator, denominator }
}

/// The supported UCUM subset. Each group's base atom has factor 1; the others are exact
/// multiples. The bases are the clinical everyday units (mg, mL, h…), not SI ones, so that
/// values held in base units by a solver stay small fractions: 5 mg/d is 5/24 mg/h here but
/// 1/17 280 000 g/s in SI.
static ATOMS: &[AtomDef] = &[
    atom("g", Group::Mass, 1_000, 1),
    atom("mg", Group::Mass, 1, 1),
    atom("ug", Group::Mass, 1, 1_000),
    atom("ng", Group::Mass, 1, 1_000_000),
    atom("mol", Group::Substance, 1_000, 1),
    atom("mmol", Group::Substance, 1, 1),
    atom("umol", Group::Substance, 1, 1_000),
    atom("nmol", Group::Substance, 1, 1_000_000),
    atom("eq", Group::Equivalent, 1_000, 1),
    atom("meq", Group::Equivalent, 1, 1),
    atom("[iU]", Group::InternationalUnit, 1, 1),
    atom("[IU]", Group::InternationalUnit, 1, 1),
    atom("U", Group::InternationalUnit, 1, 1),
    atom("m[iU]", Group::InternationalUnit, 1, 1_000),
    atom("m[IU]", Group::InternationalUnit, 1, 1_000),
    atom("mU", Group::InternationalUnit, 1, 1_000),
    atom("k[iU]", Group::InternationalUnit, 1_000, 1),
    atom("k[IU]", Group::InternationalUnit, 1_000, 1),
    atom("kU", Group::InternationalUnit, 1_000, 1),
    atom("L", Group::Volume, 1_000, 1),
    atom("l", Group::Volume, 1_000, 1),
    atom("dL", Group::Volume, 100, 1),
    atom("mL", Group::Volume, 1, 1),
    atom("ml", Group::Volume, 1, 1),
    atom("uL", Group::Volume, 1, 1_000),
    atom("m", Group::Length, 100, 1),
    atom("cm", Group::Length, 1, 1),
    atom("mm", Group::Length, 1, 10),
    atom("kg", Group::BodyWeight, 1, 1),
    atom("m2", Group::BodySurface, 1, 1),
    atom("s", Group::Time, 1, 3_600),
    atom("min", Group::Time, 1, 60),
    atom("h", Group::Time, 1, 1),
    atom("d", Group::Time, 24, 1),
    atom("wk", Group::Time, 168, 1),
];

/// An atom: either a row of the table or an annotation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Atom {
    Table(usize),
    Annotation(Box<str>),
}

impl Atom {
    fn group(&self) -> Group {
        match self {
            Atom::Table(index) => ATOMS[*index].group.clone(),
            Atom::Annotation(text) => Group::Annotation(text.clone()),
        }
    }

    fn code(&self) -> String {
        match self {
            Atom::Table(index) => ATOMS[*index].code.to_owned(),
            Atom::Annotation(text) => format!("{{{text}}}"),
        }
    }

    fn ratio(&self) -> (i64, i64) {
        match self {
            Atom::Table(index) => (ATOMS[*index].numerator, ATOMS[*index].denominator),
            Atom::Annotation(_) => (1, 1),
        }
    }

    fn factor(&self) -> BigRational {
        match self {
            Atom::Table(index) => {
                BigRational::new(BigInt::from(ATOMS[*index].numerator), BigInt::from(ATOMS[*index].denominator))
            }
            Atom::Annotation(_) => BigRational::one(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Term {
    atom: Atom,
    exponent: i32,
}

/// A unit: a product of atoms raised to non-zero integer powers, at most one per group.
///
/// The dimensionless unit `1` is the empty product; counts (`{tbl}`) are annotations.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Unit {
    /// Sorted by group, one term per group, no zero exponents.
    terms: Vec<Term>,
}

/// The dimension of a unit: which groups, to which powers. Two units can be converted into
/// each other, added or compared exactly when their dimensions are equal.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Dimension(Vec<(Group, i32)>);

impl Dimension {
    /// True for pure numbers (`1`).
    pub fn is_dimensionless(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("dimensionless");
        }
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(group, exponent)| if *exponent == 1 { group.name() } else { format!("{}^{exponent}", group.name()) })
            .collect();
        f.write_str(&parts.join("·"))
    }
}

impl Unit {
    /// The dimensionless unit `1`.
    pub fn one() -> Unit {
        Unit { terms: Vec::new() }
    }

    /// Parses a UCUM unit string such as `mg/kg/d`, `mL/min/{1.73_m2}` or `ug.kg-1.min-1`.
    pub fn parse(text: &str) -> Result<Unit, crate::UnitError> {
        crate::parse::parse_unit(text)
    }

    pub(crate) fn atom_by_code(code: &str) -> Option<Unit> {
        ATOMS
            .iter()
            .position(|row| row.code == code)
            .map(|index| Unit { terms: vec![Term { atom: Atom::Table(index), exponent: 1 }] })
    }

    pub(crate) fn annotation(text: &str) -> Unit {
        Unit { terms: vec![Term { atom: Atom::Annotation(text.into()), exponent: 1 }] }
    }

    /// True for the unit `1`.
    pub fn is_one(&self) -> bool {
        self.terms.is_empty()
    }

    /// The groups and powers of this unit.
    pub fn dimension(&self) -> Dimension {
        Dimension(self.terms.iter().map(|term| (term.atom.group(), term.exponent)).collect())
    }

    /// How many base units one of this unit is (`g/d` → 1000/24 = 125/3 mg/h).
    pub fn base_factor(&self) -> BigRational {
        // One reduction at the end instead of one per atom: this runs for every value a
        // solver reads in or prints.
        let mut numerator = BigInt::one();
        let mut denominator = BigInt::one();
        for term in &self.terms {
            let (n, d) = term.atom.ratio();
            let power = term.exponent.unsigned_abs();
            let (n, d) = (BigInt::from(n).pow(power), BigInt::from(d).pow(power));
            if term.exponent > 0 {
                numerator *= n;
                denominator *= d;
            } else {
                numerator *= d;
                denominator *= n;
            }
        }
        BigRational::new(numerator, denominator)
    }

    /// `self ^ exponent`.
    pub fn pow(&self, exponent: i32) -> Unit {
        if exponent == 0 {
            return Unit::one();
        }
        Unit {
            terms: self
                .terms
                .iter()
                .map(|term| Term { atom: term.atom.clone(), exponent: term.exponent * exponent })
                .collect(),
        }
    }

    /// The product unit and the factor by which the product of the two values must be
    /// multiplied to be expressed in it (non-one when two atoms of one group meet).
    pub fn multiply(&self, other: &Unit) -> (Unit, BigRational) {
        let mut terms = self.terms.clone();
        let mut factor = BigRational::one();
        for term in &other.terms {
            let group = term.atom.group();
            match terms.iter().position(|mine| mine.atom.group() == group) {
                Some(position) => {
                    let mine = &mut terms[position];
                    if mine.atom != term.atom {
                        let ratio = term.atom.factor() / mine.atom.factor();
                        factor *= Pow::pow(ratio, term.exponent);
                    }
                    mine.exponent += term.exponent;
                    if mine.exponent == 0 {
                        terms.remove(position);
                    }
                }
                None => terms.push(term.clone()),
            }
        }
        terms.sort_by_key(|term| term.atom.group());
        (Unit { terms }, factor)
    }

    /// The quotient unit and its value factor; see [`Unit::multiply`].
    pub fn divide(&self, other: &Unit) -> (Unit, BigRational) {
        self.multiply(&other.pow(-1))
    }

    /// The factor that converts a value in `self` into a value in `target`, or `None` when
    /// the two units are in different groups.
    pub fn conversion_factor(&self, target: &Unit) -> Option<BigRational> {
        if self.dimension() == target.dimension() { Some(self.base_factor() / target.base_factor()) } else { None }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut numerator: Vec<&Term> = self.terms.iter().filter(|t| t.exponent > 0).collect();
        let mut denominator: Vec<&Term> = self.terms.iter().filter(|t| t.exponent < 0).collect();
        if numerator.is_empty() && denominator.is_empty() {
            return f.write_str("1");
        }
        numerator.sort_by_key(|t| t.atom.group().numerator_rank());
        denominator.sort_by_key(|t| t.atom.group().denominator_rank());
        let numerator: Vec<String> = numerator.iter().map(|t| render(t, ".")).collect();
        f.write_str(&numerator.join("."))?;
        for term in denominator {
            write!(f, "/{}", render(term, "/"))?;
        }
        Ok(())
    }
}

/// Prints `code` with its power. Powers that cannot be written as a suffix — `m` squared is
/// not `m2` (that is body surface), `m2` squared is not `m22`, and UCUM gives annotations
/// no exponent — are written as
/// the atom repeated, joined by `separator` (`.` in a numerator, `/` in a denominator, since
/// UCUM reads `/m.m` as `(1/m)·m`).
fn render(term: &Term, separator: &str) -> String {
    let code = term.atom.code();
    let power = term.exponent.unsigned_abs();
    if power == 1 {
        return code;
    }
    let with_power = format!("{code}{power}");
    let suffix_is_ambiguous = Unit::atom_by_code(&with_power).is_some()
        || code.ends_with(|c: char| c.is_ascii_digit())
        || matches!(term.atom, Atom::Annotation(_));
    if suffix_is_ambiguous { vec![code; power as usize].join(separator) } else { with_power }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(text: &str) -> Unit {
        Unit::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn products_merge_one_atom_per_group() {
        // (left, right, product, factor)
        for (left, right, product, factor) in [
            ("mg/mL", "L", "mg", "1000"),
            ("mg/kg/d", "kg", "mg/d", "1"),
            ("mL/h", "h", "mL", "1"),
            ("mL/h", "min", "mL", "1/60"),
            ("mg/mL", "mL", "mg", "1"),
            ("ug/kg/min", "kg", "ug/min", "1"),
            ("mg/{tbl}", "{tbl}", "mg", "1"),
            ("mg", "/kg", "mg/kg", "1"),
            ("/d", "mg", "mg/d", "1"),
            ("mg", "mg", "mg2", "1"),
            ("g", "/mg", "1", "1000"),
        ] {
            let (result, scale) = unit(left).multiply(&unit(right));
            assert_eq!(result.to_string(), product, "{left} × {right}");
            assert_eq!(crate::Number::from(scale).to_string(), factor, "{left} × {right}");
        }
    }

    #[test]
    fn conversion_factors_within_a_group() {
        for (from, to, factor) in [
            ("g", "mg", Some("1000")),
            ("ug", "mg", Some("1/1000")),
            ("mg/d", "mg/h", Some("1/24")),
            ("wk", "d", Some("7")),
            ("L", "dL", Some("10")),
            ("mmol", "umol", Some("1000")),
            ("mg/kg", "mg", None),
            ("mg", "mL", None),
            ("[iU]", "U", Some("1")),
            ("m2", "m", None),
            ("{tbl}", "{drop}", None),
            ("{tbl}", "1", None),
        ] {
            let found = unit(from).conversion_factor(&unit(to)).map(|f| crate::Number::from(f).to_string());
            assert_eq!(found.as_deref(), factor, "{from} → {to}");
        }
    }

    #[test]
    fn repeated_atoms_print_back_to_the_same_unit() {
        for (text, printed) in [
            ("{1.73_m2}.{1.73_m2}", "{1.73_m2}.{1.73_m2}"),
            ("mg/{tbl}/{tbl}", "mg/{tbl}/{tbl}"),
            ("mg/m/m", "mg/m/m"),
            ("mg/min2", "mg/min2"),
            ("m2.m2", "m2.m2"),
        ] {
            let parsed = unit(text);
            assert_eq!(parsed.to_string(), printed, "{text}");
            assert_eq!(unit(printed), parsed, "{printed} parses back");
        }
    }

    #[test]
    fn squares_of_length_are_not_body_surface() {
        let squared = unit("m").pow(2);
        assert_eq!(squared.to_string(), "m.m");
        assert_eq!(unit(&squared.to_string()), squared);
        assert_ne!(squared.dimension(), unit("m2").dimension());
    }
}
