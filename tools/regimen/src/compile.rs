//! Regimen files (TOML) and the contract's inline `definition` (JSON) into [`Regimen`]s.
//!
//! Both forms share one shape (the interchange form of `shared/CONTRACT.md`, plus optional
//! richer fields), so a definition posted by a client is held to exactly the rules a shipped
//! regimen is. Every problem is reported at once as `file:line:column: rule: message`.

use chrono::NaiveDate;
use rxgate_knowledge::{Diagnostic, Loc, Pass, Registry, SourceFile};
use rxgate_units::Unit;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use toml::Spanned;

use crate::bsa::BsaFormula;
use crate::model::*;
use crate::num::{Q, parse_q, q_from_f64, q_int};
use crate::rules::Rules;

pub(crate) fn diag(loc: Loc, pass: Pass, rule: &'static str, message: impl Into<String>) -> Diagnostic {
    Diagnostic { loc, pass, rule, message: message.into() }
}

pub(crate) fn loc_of(file: &str, text: &str, offset: usize) -> Loc {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Loc::new(file, line, column)
}

pub(crate) fn parse_toml<T: DeserializeOwned>(file: &str, text: &str, d: &mut Vec<Diagnostic>) -> Option<T> {
    if let Err(e) = text.parse::<toml::Table>() {
        let loc = e.span().map_or_else(|| Loc::new(file, 1, 1), |s| loc_of(file, text, s.start));
        d.push(diag(loc, Pass::Parse, "toml-syntax", e.message().trim()));
        return None;
    }
    match toml::from_str::<T>(text) {
        Ok(v) => Some(v),
        Err(e) => {
            let loc = e.span().map_or_else(|| Loc::new(file, 1, 1), |s| loc_of(file, text, s.start));
            d.push(diag(loc, Pass::Schema, "toml-schema", e.message().trim()));
            None
        }
    }
}

pub(crate) fn check_sources(registry: &Registry, sources: &[String], loc: &Loc, d: &mut Vec<Diagnostic>) {
    for s in sources {
        if !registry.sources().iter().any(|known| &known.id == s) {
            d.push(diag(loc.clone(), Pass::Reference, "unknown-source", format!("source `{s}` is not in sources.csv")));
        }
    }
}

/// A number as an author writes it: `75`, `1.4` or `"1/3"`.
#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum RawNum {
    Int(i64),
    Float(f64),
    Text(String),
}

impl RawNum {
    fn exact(&self) -> Option<Q> {
        match self {
            RawNum::Int(i) => Some(q_int(*i)),
            RawNum::Float(f) => q_from_f64(*f),
            RawNum::Text(t) => parse_q(t),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAmount {
    value: RawNum,
    unit: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegimen {
    id: String,
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    version: Option<String>,
    effective_from: Option<String>,
    effective_to: Option<String>,
    superseded_by: Option<String>,
    cycle_length_days: u32,
    cycles: Option<u32>,
    bsa_formula: Option<String>,
    population: Option<String>,
    #[serde(default)]
    sources: Vec<String>,
    #[serde(default)]
    drugs: Vec<Spanned<RawDrug>>,
    #[serde(default)]
    supportive: Vec<Spanned<RawSupportive>>,
    #[serde(default)]
    holds: Vec<Spanned<RawHold>>,
    #[serde(default)]
    modifications: Vec<Spanned<RawModification>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDrug {
    drug: String,
    route: String,
    days: Vec<u32>,
    #[serde(default)]
    cycles: Vec<u32>,
    container: Option<String>,
    dose: RawDose,
    cumulative_limit: Option<RawAmount>,
    infusion: Option<RawInfusion>,
    #[serde(default)]
    sources: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDose {
    method: String,
    value: Option<RawNum>,
    unit: String,
    cap: Option<RawAmount>,
    target_auc: Option<RawNum>,
    gfr_source: Option<String>,
    gfr_cap_ml_min: Option<RawNum>,
    #[serde(default)]
    age_bands: Vec<RawAgeBand>,
    weight_band: Option<RawWeightBand>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgeBand {
    min_years: RawNum,
    value: RawNum,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeightBand {
    below_kg: RawNum,
    value: RawNum,
    unit: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInfusion {
    volume_ml: RawNum,
    minutes: RawNum,
    diluent: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSupportive {
    kind: String,
    days: Vec<u32>,
    description: String,
    #[serde(default)]
    for_drugs: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    lab: String,
    lt: Option<RawNum>,
    gt: Option<RawNum>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHold {
    code: String,
    when: RawCondition,
    message: Option<String>,
    #[serde(default)]
    drugs: Vec<String>,
    override_by: Option<String>,
    #[serde(default)]
    sources: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModification {
    drug: String,
    when: RawCondition,
    factor: RawNum,
    #[serde(default)]
    sources: Vec<String>,
}

/// Lab codes a hold may test; the unit is in the name so that a threshold cannot be read in
/// the wrong unit.
pub(crate) const KNOWN_LABS: &[&str] = &[
    "anc_10e9_l",
    "platelets_10e9_l",
    "wbc_10e9_l",
    "hb_g_l",
    "bilirubin_umol_l",
    "alt_u_l",
    "ast_u_l",
    "crcl_ml_min",
    "egfr_ml_min_1_73m2",
    "serum_creatinine_umol_l",
    "lvef_pct",
];

/// What compiling one file gave: the regimen when its shape was readable (it may still carry
/// reference or clinical problems, listed in `diagnostics`), and every problem found.
#[derive(Debug, Clone)]
pub struct CompileOutput {
    pub regimen: Option<Regimen>,
    pub diagnostics: Vec<Diagnostic>,
}

impl CompileOutput {
    /// Accepted into the library only with no problem at all.
    pub fn accepted(self) -> Result<Regimen, Vec<Diagnostic>> {
        match self.regimen {
            Some(r) if self.diagnostics.is_empty() => Ok(r),
            _ => Err(self.diagnostics),
        }
    }
}

/// Whether a regimen comes from the library (must be versioned and sourced) or from a
/// caller's inline definition (the interchange form has neither).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Library,
    Definition,
}

/// Compiles one regimen file of the library.
pub fn compile(file: &str, text: &str, registry: &Registry, rules: &Rules) -> CompileOutput {
    compile_text(file, text, registry, rules, Origin::Library)
}

/// Compiles the library; any problem in any file rejects it, with every problem listed.
pub fn compile_files(
    files: &[SourceFile],
    registry: &Registry,
    rules: &Rules,
) -> Result<Vec<Regimen>, Vec<Diagnostic>> {
    let mut all = Vec::new();
    let mut out: Vec<Regimen> = Vec::new();
    for f in files {
        match compile(&f.name, &f.text, registry, rules).accepted() {
            Ok(r) => {
                let names = |r: &Regimen| {
                    std::iter::once(r.id.to_lowercase())
                        .chain(r.aliases.iter().map(|a| a.to_lowercase()))
                        .collect::<Vec<_>>()
                };
                if let Some(other) = out.iter().find(|o| names(o).iter().any(|n| names(&r).contains(n))) {
                    all.push(diag(
                        Loc::new(&f.name, 1, 1),
                        Pass::Reference,
                        "duplicate-id",
                        format!("`{}` clashes with `{}` in {}", r.id, other.id, other.file),
                    ));
                }
                out.push(r);
            }
            Err(mut d) => all.append(&mut d),
        }
    }
    if all.is_empty() {
        Ok(out)
    } else {
        all.sort_by(|a, b| a.loc.cmp(&b.loc));
        Err(all)
    }
}

/// Compiles the contract's inline `definition`. The JSON is re-written as TOML so that both
/// forms go through one reader; locations then refer to that text, so messages name the
/// field as well.
pub fn compile_definition_json(definition: &serde_json::Value, registry: &Registry, rules: &Rules) -> CompileOutput {
    let file = "definition";
    let text = match toml::Value::try_from(strip_nulls(definition.clone())).map(|v| toml::to_string(&v)) {
        Ok(Ok(t)) => t,
        Ok(Err(e)) | Err(e) => {
            return CompileOutput {
                regimen: None,
                diagnostics: vec![diag(Loc::new(file, 1, 1), Pass::Schema, "bad-definition", e.to_string())],
            };
        }
    };
    compile_text(file, &text, registry, rules, Origin::Definition)
}

fn strip_nulls(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => serde_json::Value::Object(
            m.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, strip_nulls(v))).collect(),
        ),
        serde_json::Value::Array(a) => serde_json::Value::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
    registry: &'a Registry,
    d: Vec<Diagnostic>,
}

impl Ctx<'_> {
    fn loc(&self, span: std::ops::Range<usize>) -> Loc {
        loc_of(self.file, self.text, span.start)
    }

    fn push(&mut self, loc: &Loc, pass: Pass, rule: &'static str, message: impl Into<String>) {
        self.d.push(diag(loc.clone(), pass, rule, message));
    }

    fn generic(&mut self, name: &str, loc: &Loc) -> String {
        match self.registry.resolve(name) {
            Some(r) => self.registry.generic(r.generic).inn.clone(),
            None => {
                self.push(
                    loc,
                    Pass::Reference,
                    "not-in-formulary",
                    format!("`{name}` is not a generic in the formulary (generics.csv); regimens may only use formulary drugs"),
                );
                name.trim().to_lowercase()
            }
        }
    }

    fn number(&mut self, n: &RawNum, what: &str, loc: &Loc) -> Option<Q> {
        let q = n.exact();
        match &q {
            None => self.push(loc, Pass::Schema, "bad-number", format!("{what} is not a number")),
            Some(v) if v <= &q_int(0) => {
                self.push(loc, Pass::Schema, "bad-number", format!("{what} must be positive"));
                return None;
            }
            _ => {}
        }
        q
    }

    /// Reads `value unit` as an amount in `target` (e.g. mg/m² from `ug/m2`).
    fn amount_in(&mut self, value: &Q, unit: &str, target: &str, what: &str, loc: &Loc) -> Option<Q> {
        let (Ok(u), Ok(t)) = (Unit::parse(unit.trim()), Unit::parse(target)) else {
            self.push(loc, Pass::Schema, "bad-unit", format!("{what}: `{unit}` is not a UCUM unit"));
            return None;
        };
        match u.conversion_factor(&t) {
            Some(f) => Some(value * f),
            None => {
                self.push(loc, Pass::Clinical, "unit-mismatch", format!("{what}: `{unit}` cannot be read as {target}"));
                None
            }
        }
    }

    fn condition(&mut self, c: &RawCondition, loc: &Loc) -> Option<LabCondition> {
        if !KNOWN_LABS.contains(&c.lab.as_str()) {
            self.push(
                loc,
                Pass::Schema,
                "unknown-lab",
                format!("lab `{}` is not one of {}", c.lab, KNOWN_LABS.join(", ")),
            );
        }
        let (comparator, raw) = match (&c.lt, &c.gt) {
            (Some(v), None) => (Comparator::Lt, v),
            (None, Some(v)) => (Comparator::Gt, v),
            _ => {
                self.push(loc, Pass::Schema, "bad-condition", "a condition needs exactly one of `lt` and `gt`");
                return None;
            }
        };
        let threshold = raw.exact();
        if threshold.is_none() {
            self.push(loc, Pass::Schema, "bad-number", "threshold is not a number");
        }
        Some(LabCondition { lab: c.lab.clone(), comparator, threshold: threshold? })
    }
}

fn date(ctx: &mut Ctx<'_>, text: &Option<String>, what: &str) -> Option<NaiveDate> {
    let t = text.as_ref()?;
    match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            let loc = Loc::new(ctx.file, 1, 1);
            ctx.push(&loc, Pass::Schema, "bad-date", format!("{what} `{t}` is not YYYY-MM-DD"));
            None
        }
    }
}

fn compile_text(file: &str, text: &str, registry: &Registry, rules: &Rules, origin: Origin) -> CompileOutput {
    let mut d = Vec::new();
    let Some(raw) = parse_toml::<RawRegimen>(file, text, &mut d) else {
        return CompileOutput { regimen: None, diagnostics: d };
    };
    let mut ctx = Ctx { file, text, registry, d };
    let top = Loc::new(file, 1, 1);
    if origin == Origin::Library {
        if raw.version.is_none() {
            ctx.push(&top, Pass::Schema, "missing-version", "a library regimen needs `version`");
        }
        if raw.effective_from.is_none() {
            ctx.push(&top, Pass::Schema, "missing-effective-date", "a library regimen needs `effective_from`");
        }
        if raw.sources.is_empty() {
            ctx.push(&top, Pass::Clinical, "no-source", "a library regimen needs at least one source");
        }
    }
    check_sources(registry, &raw.sources, &top, &mut ctx.d);
    let effective_from = date(&mut ctx, &raw.effective_from, "effective_from");
    let effective_to = date(&mut ctx, &raw.effective_to, "effective_to");
    if let (Some(f), Some(t)) = (effective_from, effective_to)
        && t < f
    {
        ctx.push(&top, Pass::Clinical, "bad-effective-dates", format!("effective_to {t} is before effective_from {f}"));
    }
    let bsa_formula = match raw.bsa_formula.as_deref().map(BsaFormula::parse) {
        None => BsaFormula::Mosteller,
        Some(Some(f)) => f,
        Some(None) => {
            ctx.push(&top, Pass::Schema, "bad-bsa-formula", "bsa_formula must be `mosteller` or `dubois`");
            BsaFormula::Mosteller
        }
    };
    let population = match raw.population.as_deref().map(|p| p.trim().to_lowercase()) {
        None => Population::Adult,
        Some(p) if p == "adult" => Population::Adult,
        Some(p) if p == "paediatric" || p == "pediatric" => Population::Paediatric,
        Some(p) => {
            ctx.push(&top, Pass::Schema, "bad-population", format!("population `{p}` is not adult or paediatric"));
            Population::Adult
        }
    };
    if raw.cycle_length_days == 0 {
        ctx.push(&top, Pass::Schema, "bad-cycle", "cycle_length_days must be at least 1");
    }
    let mut drugs = Vec::new();
    for s in &raw.drugs {
        let loc = ctx.loc(s.span());
        if let Some(step) = drug_step(&mut ctx, s.get_ref(), &loc, &raw, rules, origin) {
            drugs.push((loc, step));
        }
    }
    let mut supportive = Vec::new();
    for s in &raw.supportive {
        let loc = ctx.loc(s.span());
        let r = s.get_ref();
        let Some(kind) = SupportKind::parse(&r.kind) else {
            ctx.push(
                &loc,
                Pass::Schema,
                "bad-kind",
                format!("`{}` is not hydration, premedication or monitoring", r.kind),
            );
            continue;
        };
        let for_drugs = r.for_drugs.iter().map(|n| ctx.generic(n, &loc)).collect();
        supportive.push(SupportiveStep { kind, days: r.days.clone(), description: r.description.clone(), for_drugs });
    }
    let mut holds = Vec::new();
    for h in &raw.holds {
        let loc = ctx.loc(h.span());
        let r = h.get_ref();
        check_sources(registry, &r.sources, &loc, &mut ctx.d);
        let Some(when) = ctx.condition(&r.when, &loc) else { continue };
        let override_by = match r.override_by.as_deref().map(OverrideRole::parse) {
            None => OverrideRole::Physician,
            Some(Some(o)) => o,
            Some(None) => {
                ctx.push(
                    &loc,
                    Pass::Schema,
                    "bad-override-role",
                    "override_by must be physician, cardiologist or supervisor",
                );
                OverrideRole::Physician
            }
        };
        let drugs_held = r.drugs.iter().map(|n| ctx.generic(n, &loc)).collect();
        let message = r.message.clone().unwrap_or_else(|| format!("{}: hold", when.describe()));
        holds.push(HoldRule {
            code: r.code.clone(),
            when,
            message,
            drugs: drugs_held,
            override_by,
            sources: r.sources.clone(),
        });
    }
    let mut modifications = Vec::new();
    for m in &raw.modifications {
        let loc = ctx.loc(m.span());
        let r = m.get_ref();
        check_sources(registry, &r.sources, &loc, &mut ctx.d);
        let drug = ctx.generic(&r.drug, &loc);
        if !drugs.iter().any(|(_, s)| s.drug == drug) {
            ctx.push(
                &loc,
                Pass::Reference,
                "modification-without-drug",
                format!("`{drug}` is not a drug of this regimen"),
            );
        }
        let Some(when) = ctx.condition(&r.when, &loc) else { continue };
        let Some(factor) = ctx.number(&r.factor, "factor", &loc) else { continue };
        if factor > q_int(1) {
            ctx.push(&loc, Pass::Clinical, "bad-factor", "a dose modification reduces: factor must be at most 1");
        }
        modifications.push(DoseModification { drug, when, factor, sources: r.sources.clone() });
    }
    required_supportive(&mut ctx, &drugs, &supportive, rules);
    let regimen = Regimen {
        id: raw.id.clone(),
        name: raw.name.clone(),
        aliases: raw.aliases.clone(),
        version: raw.version.clone().unwrap_or_else(|| "definition".to_string()),
        effective_from,
        effective_to,
        superseded_by: raw.superseded_by.clone(),
        cycle_length_days: raw.cycle_length_days,
        cycles: raw.cycles,
        bsa_formula,
        population,
        drugs: drugs.into_iter().map(|(_, s)| s).collect(),
        supportive,
        holds,
        modifications,
        sources: raw.sources.clone(),
        file: file.to_string(),
    };
    let mut diagnostics = ctx.d;
    diagnostics.sort_by(|a, b| a.loc.cmp(&b.loc).then(a.rule.cmp(b.rule)));
    diagnostics.dedup();
    CompileOutput { regimen: Some(regimen), diagnostics }
}

fn drug_step(
    ctx: &mut Ctx<'_>,
    r: &RawDrug,
    loc: &Loc,
    regimen: &RawRegimen,
    rules: &Rules,
    origin: Origin,
) -> Option<DrugStep> {
    let drug = ctx.generic(&r.drug, loc);
    check_sources(ctx.registry, &r.sources, loc, &mut ctx.d);
    let route = Route::parse(&r.route);
    if let Route::Other(o) = &route {
        ctx.push(
            loc,
            Pass::Schema,
            "bad-route",
            format!("route `{o}` is not iv, intrathecal, oral, subcutaneous or intramuscular"),
        );
    }
    let container = r.container.as_deref().map(Container::parse);
    if r.days.is_empty() {
        ctx.push(loc, Pass::Schema, "no-days", format!("`{drug}` is given on no day"));
    }
    for day in &r.days {
        if *day == 0 || *day > regimen.cycle_length_days {
            ctx.push(
                loc,
                Pass::Clinical,
                "day-out-of-cycle",
                format!("`{drug}` day {day} is outside the {}-day cycle", regimen.cycle_length_days),
            );
        }
    }
    if let Some(n) = regimen.cycles {
        for c in r.cycles.iter().filter(|c| **c == 0 || **c > n) {
            ctx.push(
                loc,
                Pass::Clinical,
                "cycle-out-of-range",
                format!("`{drug}` cycle {c} is outside the {n} cycles"),
            );
        }
    }
    if origin == Origin::Library && r.sources.is_empty() && regimen.sources.is_empty() {
        ctx.push(loc, Pass::Clinical, "no-source", format!("`{drug}` has no source"));
    }
    // Never-events are compile errors too: a regimen that would dispense a vinca alkaloid by
    // syringe or any route but IV must never enter the library.
    if rules.is_vinca(ctx.registry, &drug) {
        if route != rules.vinca_route {
            ctx.push(
                loc,
                Pass::Clinical,
                "vinca-route",
                format!("`{drug}` is a vinca alkaloid: intravenous only (fatal by other routes)"),
            );
        }
        if container.as_ref() != Some(&rules.vinca_container) {
            ctx.push(
                loc,
                Pass::Clinical,
                "vinca-container",
                format!("`{drug}` is a vinca alkaloid: container must be `minibag` (never a syringe)"),
            );
        }
    }
    if route == Route::Intrathecal && !rules.intrathecal_allowed.contains(&drug) {
        ctx.push(loc, Pass::Clinical, "intrathecal-not-allowed", format!("`{drug}` may not be given intrathecally"));
    }
    let dose = dose_spec(ctx, &r.dose, loc, &drug, rules)?;
    let cumulative_limit_mg_m2 = match &r.cumulative_limit {
        Some(a) => {
            let v = ctx.number(&a.value, "cumulative_limit", loc)?;
            ctx.amount_in(&v, &a.unit, "mg/m2", "cumulative_limit", loc)
        }
        None => None,
    };
    let infusion = match &r.infusion {
        Some(i) => Some(Infusion {
            volume_ml: ctx.number(&i.volume_ml, "infusion.volume_ml", loc)?,
            minutes: ctx.number(&i.minutes, "infusion.minutes", loc)?,
            diluent: i.diluent.clone(),
        }),
        None => None,
    };
    Some(DrugStep {
        drug,
        route,
        container,
        days: r.days.clone(),
        cycles: r.cycles.clone(),
        dose,
        cumulative_limit_mg_m2,
        infusion,
        sources: r.sources.clone(),
    })
}

fn dose_spec(ctx: &mut Ctx<'_>, r: &RawDose, loc: &Loc, drug: &str, rules: &Rules) -> Option<DoseSpec> {
    let method = match r.method.trim().to_lowercase().as_str() {
        "bsa" => DoseMethod::Bsa,
        "weight" => DoseMethod::Weight,
        "calvert" | "auc" => DoseMethod::Calvert,
        "flat" => DoseMethod::Flat,
        other => {
            ctx.push(
                loc,
                Pass::Schema,
                "bad-dose-method",
                format!("dose method `{other}` is not bsa, weight, calvert or flat"),
            );
            return None;
        }
    };
    let target = match method {
        DoseMethod::Bsa => "mg/m2",
        DoseMethod::Weight => "mg/kg",
        DoseMethod::Calvert | DoseMethod::Flat => "mg",
    };
    let what = format!("`{drug}` dose");
    let amount = match (&r.value, method) {
        (Some(_), DoseMethod::Calvert) => {
            ctx.push(
                loc,
                Pass::Schema,
                "calvert-value",
                format!("{what}: a Calvert dose takes `target_auc`, not `value`"),
            );
            None
        }
        (Some(v), _) => {
            let v = ctx.number(v, &what, loc)?;
            ctx.amount_in(&v, &r.unit, target, &what, loc)
        }
        (None, DoseMethod::Flat) if !r.age_bands.is_empty() => None,
        (None, DoseMethod::Calvert) => None,
        (None, _) => {
            ctx.push(loc, Pass::Schema, "missing-dose", format!("{what} has no `value`"));
            None
        }
    };
    if method != DoseMethod::Calvert && Unit::parse(r.unit.trim()).is_err() {
        ctx.push(loc, Pass::Schema, "bad-unit", format!("{what}: `{}` is not a UCUM unit", r.unit));
    }
    let target_auc = match (&r.target_auc, method) {
        (Some(a), DoseMethod::Calvert) => ctx.number(a, "target_auc", loc),
        (None, DoseMethod::Calvert) => {
            ctx.push(loc, Pass::Schema, "missing-auc", format!("{what}: a Calvert dose needs `target_auc`"));
            None
        }
        (Some(_), _) => {
            ctx.push(loc, Pass::Schema, "auc-without-calvert", format!("{what}: `target_auc` needs method `calvert`"));
            None
        }
        (None, _) => None,
    };
    if let Some(g) = &r.gfr_source
        && !matches!(g.as_str(), "crcl" | "cockcroft_gault" | "measured" | "egfr")
    {
        ctx.push(
            loc,
            Pass::Schema,
            "bad-gfr-source",
            format!("gfr_source `{g}` is not crcl, cockcroft_gault, measured or egfr"),
        );
    }
    let gfr_cap_ml_min = match &r.gfr_cap_ml_min {
        Some(c) => ctx.number(c, "gfr_cap_ml_min", loc).unwrap_or_else(|| rules.calvert_gfr_cap_ml_min.clone()),
        None => rules.calvert_gfr_cap_ml_min.clone(),
    };
    if gfr_cap_ml_min > rules.calvert_gfr_cap_ml_min {
        ctx.push(
            loc,
            Pass::Clinical,
            "gfr-cap-too-high",
            format!("{what}: the GFR cap may not exceed {} mL/min", rules.calvert_gfr_cap_ml_min),
        );
    }
    let cap_mg = match &r.cap {
        Some(c) => {
            let v = ctx.number(&c.value, "cap", loc)?;
            ctx.amount_in(&v, &c.unit, "mg", "cap", loc)
        }
        None => None,
    };
    let mut age_bands = Vec::new();
    for b in &r.age_bands {
        let (Some(min_years), Some(v)) = (b.min_years.exact(), ctx.number(&b.value, "age band value", loc)) else {
            continue;
        };
        if let Some(mg) = ctx.amount_in(&v, &r.unit, "mg", "age band", loc) {
            age_bands.push(AgeBand { min_years, mg });
        }
    }
    age_bands.sort_by(|a, b| a.min_years.cmp(&b.min_years));
    let weight_band = match &r.weight_band {
        Some(w) => {
            let below = ctx.number(&w.below_kg, "weight_band.below_kg", loc)?;
            let v = ctx.number(&w.value, "weight_band.value", loc)?;
            ctx.amount_in(&v, &w.unit, "mg/kg", "weight_band", loc)
                .map(|mg_per_kg| WeightBand { below_kg: below, mg_per_kg })
        }
        None => None,
    };
    Some(DoseSpec {
        method,
        amount,
        unit_text: r.unit.clone(),
        cap_mg,
        target_auc,
        gfr_cap_ml_min,
        age_bands,
        weight_band,
    })
}

fn required_supportive(ctx: &mut Ctx<'_>, drugs: &[(Loc, DrugStep)], supportive: &[SupportiveStep], rules: &Rules) {
    for (loc, step) in drugs {
        for req in rules.requirements.iter().filter(|r| r.drug == step.drug) {
            let reaches = match (&req.min_dose_mg_m2, step.dose.method, &step.dose.amount) {
                (None, _, _) => true,
                (Some(min), DoseMethod::Bsa, Some(amount)) => amount >= min,
                // A per-kg or flat dose cannot be compared with a per-m² threshold: require
                // the step rather than guess.
                (Some(_), _, _) => true,
            };
            if !reaches {
                continue;
            }
            let missing: Vec<u32> = step
                .days
                .iter()
                .copied()
                .filter(|day| {
                    !supportive.iter().any(|s| {
                        s.kind == req.kind
                            && s.days.contains(day)
                            && (s.for_drugs.is_empty() || s.for_drugs.contains(&step.drug))
                    })
                })
                .collect();
            if !missing.is_empty() {
                let rule = match req.kind {
                    SupportKind::Hydration => "missing-hydration",
                    SupportKind::Premedication => "missing-premedication",
                    SupportKind::Monitoring => "missing-monitoring",
                };
                let days = missing.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
                ctx.push(
                    loc,
                    Pass::Clinical,
                    rule,
                    format!(
                        "`{}` needs a {} step on day {days}: {} ({})",
                        step.drug,
                        req.kind.as_str(),
                        req.why,
                        req.sources.join(", ")
                    ),
                );
            }
        }
    }
}
