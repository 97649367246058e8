//! Barcode verification at the point of dispensing: is the pack in hand the product the
//! line expects, in date, and not from a recalled lot?

use chrono::NaiveDate;
use rxgate_barcode::Gtin;
use rxgate_knowledge::{ProductId, Registry};

/// What the line expects. At least one of `gtin` and `product` must be given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    pub gtin: Option<String>,
    /// A product code, brand or generic name.
    pub product: Option<String>,
}

/// Stable problem codes; the wire format uses `as_str`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub gtin: Option<String>,
    pub expiry: Option<NaiveDate>,
    pub lot: Option<String>,
    pub serial: Option<String>,
    pub symbology: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// True only when the scan parsed cleanly, identifies the expected product, is in date
    /// and is not from a recalled lot.
    pub matched: bool,
    pub parsed: Parsed,
    /// The product the scan identifies, when the registry knows its GTIN.
    pub product: Option<String>,
    pub generic: Option<String>,
    pub problems: Vec<Problem>,
}

/// Why a verification could not even be attempted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    NothingExpected,
    UnknownExpectedProduct(String),
    BadExpectedGtin(String),
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VerifyError::NothingExpected => {
                f.write_str("`expected` must give a `gtin` or a `product` to compare the scan with")
            }
            VerifyError::UnknownExpectedProduct(p) => write!(f, "expected product `{p}` is not in the formulary"),
            VerifyError::BadExpectedGtin(g) => {
                write!(f, "expected GTIN `{g}` is not a valid GTIN: {g} fails its check digit or length")
            }
        }
    }
}

impl std::error::Error for VerifyError {}

enum Want {
    Product(ProductId),
    /// A generic name: any product of it matches, and the result says so.
    Generic(rxgate_knowledge::GenericId),
    Gtin(String),
}

pub fn verify(reg: &Registry, scan: &str, expected: &Expected, today: NaiveDate) -> Result<Verification, VerifyError> {
    let want = match (&expected.gtin, &expected.product) {
        (Some(g), _) => {
            Want::Gtin(Gtin::parse(g).map_err(|_| VerifyError::BadExpectedGtin(g.clone()))?.as_str().to_string())
        }
        (None, Some(name)) => {
            let r = reg.resolve(name).ok_or_else(|| VerifyError::UnknownExpectedProduct(name.clone()))?;
            match r.product {
                Some(p) => Want::Product(p),
                None => Want::Generic(r.generic),
            }
        }
        (None, None) => return Err(VerifyError::NothingExpected),
    };

    let read = rxgate_barcode::parse(scan, today);
    let mut problems: Vec<Problem> =
        read.problems.iter().map(|p| Problem { code: p.code(), message: p.to_string() }).collect();
    let s = &read.scan;
    let parsed = Parsed {
        gtin: s.gtin().map(|g| g.as_str().to_string()),
        expiry: s.expiry(),
        lot: s.lot().map(str::to_string),
        serial: s.serial().map(str::to_string),
        symbology: s.symbology().map(str::to_string),
    };
    let scanned = parsed.gtin.as_deref().and_then(|g| reg.product_by_gtin(g));

    match (&parsed.gtin, scanned) {
        (None, _) if problems.is_empty() => problems
            .push(Problem { code: "no_gtin", message: "the scan holds no product identifier (AI 01)".to_string() }),
        (None, _) => {}
        (Some(g), None) => {
            // A GTIN we do not stock can still be compared with an expected GTIN, but it can
            // never match an expected product or generic.
            if !matches!(&want, Want::Gtin(w) if w == g) {
                problems
                    .push(Problem { code: "unknown_product", message: format!("GTIN {g} is not in the formulary") });
            }
        }
        (Some(_), Some(_)) => {}
    }
    if let Some(g) = &parsed.gtin {
        let same = match &want {
            Want::Gtin(w) => w == g,
            Want::Product(p) => scanned == Some(*p),
            Want::Generic(generic) => scanned.is_some_and(|p| reg.product(p).generic == *generic),
        };
        if !same {
            let expected_text = match &want {
                Want::Gtin(w) => format!("GTIN {w}"),
                Want::Product(p) => format!("{} ({})", reg.product(*p).code, reg.product(*p).strength),
                Want::Generic(generic) => format!("a product of {}", reg.generic(*generic).inn),
            };
            let got = scanned.map_or_else(
                || format!("GTIN {g}"),
                |p| format!("{} ({})", reg.product(p).code, reg.product(p).strength),
            );
            problems
                .push(Problem { code: "wrong_product", message: format!("scanned {got}, expected {expected_text}") });
        }
    }
    if let Some(expiry) = parsed.expiry
        && rxgate_barcode::is_expired(expiry, today)
    {
        problems.push(Problem { code: "expired", message: format!("expired on {expiry}") });
    }
    if let (Some(p), Some(lot)) = (scanned, &parsed.lot)
        && let Some(recall) = reg.recall(p, lot)
    {
        problems.push(Problem {
            code: "recalled",
            message: format!("lot {lot} was recalled on {}: {}", recall.date, recall.reason),
        });
    }
    Ok(Verification {
        matched: problems.is_empty(),
        product: scanned.map(|p| reg.product(p).code.clone()),
        generic: scanned.map(|p| reg.generic(reg.product(p).generic).inn.clone()),
        parsed,
        problems,
    })
}
