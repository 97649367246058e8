//! Clinical scenarios, written as data in `tests/scenarios/*.toml`, run against the bundled
//! knowledge registry. A failure names the scenario as a pharmacist would describe it.

use chrono::NaiveDate;
use rxgate_barcode::{ElementString, Gtin};
use rxgate_checks::{allergy, barcode, ddi, generics, halal};
use serde::Deserialize;

use crate::common::{registry, run_cases, severity};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DdiCase {
    name: String,
    drugs: Vec<String>,
    #[serde(default)]
    active: Vec<String>,
    pair: Option<[String; 2]>,
    /// The pair is the two drugs as resolved, whatever their INNs.
    #[serde(default)]
    pair_any: bool,
    group: Option<Vec<String>>,
    min_severity: Option<String>,
    max_severity: Option<String>,
    #[serde(default)]
    alternatives_include: Vec<String>,
}

#[derive(Deserialize)]
struct DdiFile {
    case: Vec<DdiCase>,
}

fn check_ddi(c: &DdiCase) -> Result<(), String> {
    let report =
        ddi::check(registry(), &ddi::DdiRequest { drugs: c.drugs.clone(), active_medications: c.active.clone() });
    if !report.unknown.is_empty() {
        return Err(format!("names not recognised: {:?}", report.unknown));
    }
    let describe = || {
        report
            .interactions
            .iter()
            .map(|i| format!("{:?} {} ({})", i.drugs, i.severity, i.rule))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let resolved = || -> Vec<String> {
        c.drugs
            .iter()
            .filter_map(|d| registry().resolve(d))
            .map(|r| registry().generic(r.generic).inn.clone())
            .collect()
    };
    let wanted: Option<Vec<String>> = match (&c.pair, &c.group) {
        (Some(p), _) => Some(p.to_vec()),
        (None, Some(g)) => Some(g.clone()),
        _ if c.pair_any => Some(resolved()),
        _ => None,
    };
    if let Some(mut wanted) = wanted {
        wanted.sort();
        let min = c.min_severity.as_deref().and_then(severity).ok_or("a pair case needs min_severity")?;
        // The most severe finding for exactly these drugs, whatever produced it.
        let found = report
            .interactions
            .iter()
            .filter(|i| {
                let mut d = i.drugs.clone();
                d.sort();
                d == wanted
            })
            .max_by_key(|i| i.severity);
        let Some(found) = found else { return Err(format!("no finding for {wanted:?}; got: [{}]", describe())) };
        if found.severity < min {
            return Err(format!("{wanted:?} is {} but must be at least {min}: {}", found.severity, found.mechanism));
        }
        if found.sources.is_empty() {
            return Err(format!("{wanted:?} has no sources"));
        }
        for alt in &c.alternatives_include {
            if !found.alternatives.contains(alt) {
                return Err(format!("alternatives {:?} should include {alt}", found.alternatives));
            }
        }
    }
    if let Some(max) = &c.max_severity {
        let highest = report.highest_severity;
        if highest > severity(max) {
            return Err(format!("nothing should exceed {max}, got: [{}]", describe()));
        }
    }
    Ok(())
}

#[test]
fn drug_interaction_scenarios() {
    let file: DdiFile = toml::from_str(include_str!("../scenarios/ddi.toml")).expect("ddi.toml parses");
    run_cases(&file.case, |c| &c.name, check_ddi);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedAlert {
    drug: String,
    kind: String,
    min_severity: String,
    max_severity: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AllergyCase {
    name: String,
    drugs: Vec<String>,
    allergies: Vec<String>,
    #[serde(default)]
    expect: Vec<ExpectedAlert>,
    #[serde(default)]
    none: bool,
    max_severity: Option<String>,
    #[serde(default)]
    unknown: Vec<String>,
}

#[derive(Deserialize)]
struct AllergyFile {
    case: Vec<AllergyCase>,
}

fn check_allergy(c: &AllergyCase) -> Result<(), String> {
    let report =
        allergy::check(registry(), &allergy::AllergyRequest { drugs: c.drugs.clone(), allergies: c.allergies.clone() });
    let describe = || {
        report
            .alerts
            .iter()
            .map(|a| format!("{} {} {} ({})", a.generic, a.kind.as_str(), a.severity, a.note))
            .collect::<Vec<_>>()
            .join("; ")
    };
    if report.unknown != c.unknown {
        return Err(format!("unknown should be {:?}, got {:?}", c.unknown, report.unknown));
    }
    if c.none && !report.alerts.is_empty() {
        return Err(format!("expected no alert, got: [{}]", describe()));
    }
    if let Some(max) = &c.max_severity
        && report.alerts.iter().map(|a| a.severity).max() > severity(max)
    {
        return Err(format!("nothing should exceed {max}, got: [{}]", describe()));
    }
    for e in &c.expect {
        let found = report.alerts.iter().find(|a| a.generic == e.drug && a.kind.as_str() == e.kind);
        let Some(found) = found else {
            return Err(format!("expected {} {} alert, got: [{}]", e.drug, e.kind, describe()));
        };
        if Some(found.severity) < severity(&e.min_severity) {
            return Err(format!("{} {} is {} but must be at least {}", e.drug, e.kind, found.severity, e.min_severity));
        }
        if let Some(max) = &e.max_severity
            && Some(found.severity) > severity(max)
        {
            return Err(format!("{} {} is {} but must be at most {max}", e.drug, e.kind, found.severity));
        }
        if found.sources.is_empty() {
            return Err(format!("{} {} alert has no sources", e.drug, e.kind));
        }
    }
    Ok(())
}

#[test]
fn allergy_scenarios() {
    let file: AllergyFile = toml::from_str(include_str!("../scenarios/allergy.toml")).expect("allergy.toml parses");
    run_cases(&file.case, |c| &c.name, check_allergy);
}

// ---- barcode -------------------------------------------------------------------------------

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).expect("date")
}

/// A DataMatrix scan, as a scanner sends it, of a stocked, in-date, unrecalled lot.
fn scan_of(code: &str) -> String {
    let reg = registry();
    let p = reg.product_by_code(code).unwrap_or_else(|| panic!("{code} not in the formulary"));
    let product = reg.product(p);
    let gtin = Gtin::parse(product.gtin.as_deref().expect("product has a GTIN")).expect("valid GTIN");
    let lot = reg
        .stock_of(p)
        .find(|l| l.expiry >= today() && reg.recall(p, &l.lot).is_none())
        .unwrap_or_else(|| panic!("{code} has no usable lot"));
    let element =
        ElementString::new().with_gtin(&gtin).with_expiry(lot.expiry).with_lot(&lot.lot).expect("lot is valid");
    format!("]d2{}", element.to_raw())
}

fn expect_product(code: &str) -> barcode::Expected {
    barcode::Expected { gtin: None, product: Some(code.to_string()) }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Swap {
    name: String,
    expected: String,
    scanned: String,
}

#[derive(Deserialize)]
struct BarcodeFile {
    swap: Vec<Swap>,
}

#[test]
fn every_barcode_swap_is_detected() {
    let file: BarcodeFile = toml::from_str(include_str!("../scenarios/barcode.toml")).expect("barcode.toml parses");
    assert!(file.swap.len() >= 10);
    run_cases(
        &file.swap,
        |c| &c.name,
        |c| {
            let wrong = barcode::verify(registry(), &scan_of(&c.scanned), &expect_product(&c.expected), today())
                .map_err(|e| e.to_string())?;
            if wrong.matched || !wrong.problems.iter().any(|p| p.code == "wrong_product") {
                return Err(format!("swap not detected: {:?}", wrong.problems));
            }
            let right = barcode::verify(registry(), &scan_of(&c.expected), &expect_product(&c.expected), today())
                .map_err(|e| e.to_string())?;
            if !right.matched {
                return Err(format!("the right pack was refused: {:?}", right.problems));
            }
            Ok(())
        },
    );
}

#[test]
fn barcode_problems_are_named() {
    let reg = registry();
    let code = "DEMO-AMOX-500-CAP-BO";
    let p = reg.product_by_code(code).expect("product");
    let gtin = Gtin::parse(reg.product(p).gtin.as_deref().unwrap()).unwrap();
    let build = |lot: &str, expiry: NaiveDate| {
        ElementString::new().with_gtin(&gtin).with_expiry(expiry).with_lot(lot).unwrap().to_bracketed()
    };
    let in_date = NaiveDate::from_ymd_opt(2028, 1, 31).unwrap();
    let codes = |scan: &str, expected: &barcode::Expected| -> Vec<&'static str> {
        barcode::verify(reg, scan, expected, today()).expect("verifiable").problems.iter().map(|p| p.code).collect()
    };
    // Mix-up recall: 250 mg capsules in 500 mg cartons.
    assert_eq!(codes(&build("DL25A132", in_date), &expect_product(code)), vec!["recalled"]);
    // Expired yesterday.
    let yesterday = today().pred_opt().unwrap();
    assert_eq!(codes(&build("LOTX1", yesterday), &expect_product(code)), vec!["expired"]);
    // Expiring today is still usable.
    assert!(codes(&build("LOTX1", today()), &expect_product(code)).is_empty());
    // One digit misread: the check digit catches it, and nothing matches.
    let mut digits: Vec<u8> = gtin.as_str().bytes().collect();
    digits[5] = if digits[5] == b'9' { b'0' } else { digits[5] + 1 };
    let misread = format!("(01){}(17)280131(10)LOT1", String::from_utf8(digits).unwrap());
    let result = barcode::verify(reg, &misread, &expect_product(code), today()).unwrap();
    assert!(!result.matched);
    assert!(result.problems.iter().any(|p| p.code == "bad_check_digit"), "{:?}", result.problems);
    // Garbage is unparseable, never a match.
    let result = barcode::verify(reg, "hello", &expect_product(code), today()).unwrap();
    assert!(!result.matched && result.problems.iter().any(|p| p.code == "unparseable"));
    // A generic expectation accepts any product of that generic and says which one.
    let ok = barcode::verify(reg, &build("LOTX1", in_date), &expect_product("amoxicillin"), today()).unwrap();
    assert!(ok.matched, "{:?}", ok.problems);
    assert_eq!(ok.product.as_deref(), Some(code));
    // Nothing to compare with is an error, not a match.
    assert!(barcode::verify(reg, &build("LOTX1", in_date), &barcode::Expected::default(), today()).is_err());
}

// ---- halal ---------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IngredientCase {
    name: String,
    source: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConcernCase {
    ingredient: String,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HalalCase {
    name: String,
    drugs: Option<Vec<String>>,
    ingredients: Option<Vec<IngredientCase>>,
    preference: Option<String>,
    status: String,
    action: Option<String>,
    concern: Option<ConcernCase>,
    #[serde(default)]
    alternatives_include: Vec<String>,
    certificate: Option<bool>,
    necessity: Option<bool>,
    #[serde(default)]
    unknown: Vec<String>,
}

#[derive(Deserialize)]
struct HalalFile {
    case: Vec<HalalCase>,
}

fn check_halal(c: &HalalCase) -> Result<(), String> {
    let request = match (&c.drugs, &c.ingredients) {
        (Some(d), None) => halal::HalalRequest::Drugs(d.clone()),
        (None, Some(i)) => halal::HalalRequest::Ingredients(
            i.iter().map(|i| halal::IngredientInput { name: i.name.clone(), source: i.source.clone() }).collect(),
        ),
        _ => return Err("a case gives drugs or ingredients".to_string()),
    };
    let preference =
        c.preference.as_deref().map_or(halal::Preference::Warn, |p| halal::Preference::parse(p).expect("preference"));
    let report = halal::check(registry(), &request, preference, Some(today()));
    if report.unknown != c.unknown {
        return Err(format!("unknown should be {:?}, got {:?}", c.unknown, report.unknown));
    }
    let r = report.results.first().ok_or("no result")?;
    if r.status.as_str() != c.status {
        return Err(format!("status {} but expected {}: {:?}", r.status.as_str(), c.status, r.concerns));
    }
    if let Some(action) = &c.action
        && r.action.as_str() != action
    {
        return Err(format!("action {} but expected {action}", r.action.as_str()));
    }
    if let Some(concern) = &c.concern {
        let found = r
            .concerns
            .iter()
            .any(|x| x.ingredient == concern.ingredient && x.source == concern.source && !x.reason.is_empty());
        if !found {
            return Err(format!("no concern for {} ({}): {:?}", concern.ingredient, concern.source, r.concerns));
        }
    }
    for alt in &c.alternatives_include {
        if !r.alternatives.contains(alt) {
            return Err(format!("alternatives {:?} should include {alt}", r.alternatives));
        }
    }
    if let Some(true) = c.certificate
        && r.certificate.is_none()
    {
        return Err("a certificate should be reported".to_string());
    }
    if let Some(n) = c.necessity
        && r.necessity_applies != n
    {
        return Err(format!("necessity_applies should be {n}"));
    }
    Ok(())
}

#[test]
fn halal_scenarios() {
    let file: HalalFile = toml::from_str(include_str!("../scenarios/halal.toml")).expect("halal.toml parses");
    run_cases(&file.case, |c| &c.name, check_halal);
}

// ---- generic substitution -------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GenericCase {
    name: String,
    drug: String,
    #[serde(default)]
    suggest_include: Vec<String>,
    #[serde(default)]
    suggest_exclude: Vec<String>,
    min_saving_pct: Option<f64>,
    nti: Option<bool>,
}

#[derive(Deserialize)]
struct GenericFile {
    case: Vec<GenericCase>,
}

fn check_generic(c: &GenericCase) -> Result<(), String> {
    let report = generics::suggest(registry(), &c.drug);
    if !report.unknown.is_empty() {
        return Err(format!("unknown: {:?}", report.unknown));
    }
    for want in &c.suggest_include {
        let s = report.suggestions.iter().find(|s| &s.product == want).ok_or(format!("{want} not suggested"))?;
        if !s.bioequivalent {
            return Err(format!("{want} suggested without bioequivalence"));
        }
        if let Some(min) = c.min_saving_pct
            && s.saving_pct < min
        {
            return Err(format!("{want} saves {}%, expected at least {min}%", s.saving_pct));
        }
    }
    for never in &c.suggest_exclude {
        if report.suggestions.iter().any(|s| &s.product == never) {
            return Err(format!("{never} must not be suggested"));
        }
    }
    if let Some(nti) = c.nti {
        if nti && report.suggestions.is_empty() {
            return Err("expected suggestions to check the NTI flag on".to_string());
        }
        for s in &report.suggestions {
            if s.narrow_therapeutic_index != nti || (nti && s.requires_review.is_none()) {
                return Err(format!("{} NTI flag should be {nti} with a review note", s.product));
            }
        }
    }
    Ok(())
}

#[test]
fn generic_substitution_scenarios() {
    let file: GenericFile = toml::from_str(include_str!("../scenarios/generics.toml")).expect("generics.toml parses");
    run_cases(&file.case, |c| &c.name, check_generic);
}
