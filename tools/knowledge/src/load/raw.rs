//! Pass 1 and 2: every file parsed into raw records (names not yet resolved), with the
//! location of each value that a later pass may need to point at.

use serde::Deserialize;
use toml::Spanned;

use crate::csv_table::{self, Cell};
use crate::diagnostic::{Diagnostics, Loc, Pass};
use crate::toml_file::TomlFile;

/// A name as written, with where it was written.
#[derive(Debug, Clone)]
pub(crate) struct Named {
    pub(crate) text: String,
    pub(crate) loc: Loc,
}

impl Named {
    fn from_cell(cell: &Cell<'_>, text: String) -> Named {
        Named { text, loc: cell.loc() }
    }
}

fn names(cell: &Cell<'_>) -> Vec<Named> {
    cell.list().into_iter().map(|t| Named::from_cell(cell, t)).collect()
}

/// The `sources` cell of a fact: at least one id.
fn sources(cell: &Cell<'_>, d: &mut Diagnostics) -> Vec<Named> {
    let list = names(cell);
    if list.is_empty() {
        d.push(cell.loc(), Pass::Schema, "missing-source", "every clinical fact needs at least one source id");
    }
    list
}

pub(crate) fn toml_sources(file: &TomlFile<'_>, sources: &Spanned<Vec<String>>, d: &mut Diagnostics) -> Vec<Named> {
    let loc = file.loc(sources.span());
    if sources.get_ref().is_empty() {
        d.push(loc.clone(), Pass::Schema, "missing-source", "every clinical fact needs at least one source id");
    }
    sources.get_ref().iter().map(|s| Named { text: s.trim().to_string(), loc: loc.clone() }).collect()
}

pub(crate) fn spanned(file: &TomlFile<'_>, value: &Spanned<String>) -> Named {
    Named { text: value.get_ref().trim().to_string(), loc: file.loc(value.span()) }
}

// ---- registry.toml -------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegistryToml {
    pub(crate) version: Spanned<String>,
    pub(crate) title: String,
    pub(crate) demo: bool,
    #[serde(default)]
    pub(crate) names: NamesToml,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct NamesToml {
    #[serde(default)]
    pub(crate) salt_words: Vec<String>,
    #[serde(default)]
    pub(crate) form_words: Vec<String>,
    #[serde(default)]
    pub(crate) no_allergy_words: Vec<String>,
}

// ---- CSV files -------------------------------------------------------------------------------

pub(crate) struct RawSource {
    pub(crate) id: Named,
    pub(crate) citation: String,
    pub(crate) url: Option<String>,
    pub(crate) licence: String,
}

pub(crate) fn sources_csv(text: &str, d: &mut Diagnostics) -> Vec<RawSource> {
    let Some(table) = csv_table::read("sources.csv", text, &["id", "citation", "licence"], &["url"], d) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for row in &table.rows {
        let id = row.cell("id");
        let (Some(id_text), Some(citation), Some(licence)) = (
            id.required("id", d),
            row.cell("citation").required("citation", d),
            row.cell("licence").required("licence", d),
        ) else {
            continue;
        };
        out.push(RawSource { id: Named::from_cell(&id, id_text), citation, url: row.cell("url").optional(), licence });
    }
    out
}

pub(crate) struct RawClass {
    pub(crate) id: Named,
    pub(crate) name: String,
    pub(crate) parent: Option<Named>,
    pub(crate) duplication: bool,
    pub(crate) allergy_group: bool,
    pub(crate) sources: Vec<Named>,
}

pub(crate) fn classes_csv(text: &str, d: &mut Diagnostics) -> Vec<RawClass> {
    let required = ["id", "name", "parent", "duplication", "allergy_group", "sources"];
    let Some(table) = csv_table::read("classes.csv", text, &required, &["note"], d) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for row in &table.rows {
        let id = row.cell("id");
        let parent = row.cell("parent");
        let (Some(id_text), Some(name), Some(duplication), Some(allergy_group)) = (
            id.required("id", d),
            row.cell("name").required("name", d),
            row.cell("duplication").boolean("duplication", d),
            row.cell("allergy_group").boolean("allergy_group", d),
        ) else {
            continue;
        };
        out.push(RawClass {
            id: Named::from_cell(&id, id_text),
            name,
            parent: parent.optional().map(|p| Named::from_cell(&parent, p)),
            duplication,
            allergy_group,
            sources: sources(&row.cell("sources"), d),
        });
    }
    out
}

pub(crate) struct RawGeneric {
    pub(crate) inn: Named,
    pub(crate) atc: Vec<Named>,
    pub(crate) classes: Vec<Named>,
    pub(crate) synonyms: Vec<Named>,
    pub(crate) brands: Vec<Named>,
    pub(crate) sources: Vec<Named>,
}

fn is_atc_code(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 7
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_digit()
        && b[2].is_ascii_digit()
        && b[3].is_ascii_uppercase()
        && b[4].is_ascii_uppercase()
        && b[5].is_ascii_digit()
        && b[6].is_ascii_digit()
}

pub(crate) fn generics_csv(text: &str, d: &mut Diagnostics) -> Vec<RawGeneric> {
    let required = ["inn", "atc", "classes", "synonyms", "brands", "sources"];
    let Some(table) = csv_table::read("generics.csv", text, &required, &["note"], d) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for row in &table.rows {
        let inn = row.cell("inn");
        let Some(inn_text) = inn.required("inn", d) else { continue };
        if inn_text != inn_text.to_lowercase() {
            d.push(inn.loc(), Pass::Schema, "inn-case", format!("INN `{inn_text}` must be lowercase"));
        }
        let atc_cell = row.cell("atc");
        let atc = names(&atc_cell);
        if atc.is_empty() {
            d.push(atc_cell.loc(), Pass::Schema, "missing-value", "`atc` must hold at least one ATC code");
        }
        for code in &atc {
            if !is_atc_code(&code.text) {
                d.push(
                    code.loc.clone(),
                    Pass::Schema,
                    "bad-atc",
                    format!("`{}` is not a 7-character ATC code like C08CA01", code.text),
                );
            }
        }
        out.push(RawGeneric {
            inn: Named::from_cell(&inn, inn_text),
            atc,
            classes: names(&row.cell("classes")),
            synonyms: names(&row.cell("synonyms")),
            brands: names(&row.cell("brands")),
            sources: sources(&row.cell("sources"), d),
        });
    }
    out
}

pub(crate) struct RawProperty {
    pub(crate) generic: Named,
    pub(crate) kind: Named,
    pub(crate) level: Named,
    pub(crate) sources: Vec<Named>,
    pub(crate) note: Option<String>,
}

pub(crate) fn properties_csv(text: &str, d: &mut Diagnostics) -> Vec<RawProperty> {
    let required = ["generic", "property", "level", "sources"];
    let Some(table) = csv_table::read("properties.csv", text, &required, &["note"], d) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for row in &table.rows {
        let (g, p, l) = (row.cell("generic"), row.cell("property"), row.cell("level"));
        let (Some(gt), Some(pt), Some(lt)) =
            (g.required("generic", d), p.required("property", d), l.required("level", d))
        else {
            continue;
        };
        out.push(RawProperty {
            generic: Named::from_cell(&g, gt),
            kind: Named::from_cell(&p, pt),
            level: Named::from_cell(&l, lt),
            sources: sources(&row.cell("sources"), d),
            note: row.cell("note").optional(),
        });
    }
    out
}

pub(crate) struct RawExcipient {
    pub(crate) name: Named,
    pub(crate) synonyms: Vec<Named>,
    pub(crate) inherent_status: Option<Named>,
    pub(crate) sources: Vec<Named>,
    pub(crate) note: Option<String>,
}

pub(crate) fn excipients_csv(text: &str, d: &mut Diagnostics) -> Vec<RawExcipient> {
    let required = ["name", "synonyms", "inherent_status", "sources"];
    let Some(table) = csv_table::read("excipients.csv", text, &required, &["note"], d) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for row in &table.rows {
        let name = row.cell("name");
        let Some(name_text) = name.required("name", d) else { continue };
        let status = row.cell("inherent_status");
        out.push(RawExcipient {
            name: Named::from_cell(&name, name_text.to_lowercase()),
            synonyms: names(&row.cell("synonyms")),
            inherent_status: status.optional().map(|s| Named::from_cell(&status, s)),
            sources: sources(&row.cell("sources"), d),
            note: row.cell("note").optional(),
        });
    }
    out
}

pub(crate) struct RawIngredient {
    pub(crate) name: Named,
    pub(crate) source: String,
}

pub(crate) struct RawProduct {
    pub(crate) code: Named,
    pub(crate) generic: Named,
    pub(crate) brand: String,
    pub(crate) strength: Named,
    pub(crate) strength_value: f64,
    pub(crate) strength_unit: String,
    pub(crate) form: String,
    pub(crate) route: String,
    pub(crate) excipients: Vec<RawIngredient>,
    pub(crate) active_source: Option<String>,
    pub(crate) halal_cert: Option<String>,
    pub(crate) halal_cert_expiry: Option<chrono::NaiveDate>,
    pub(crate) gtin: Option<Named>,
    pub(crate) mal_no: Option<Named>,
    pub(crate) manufacturer: String,
    pub(crate) unit_price_sen: i64,
    pub(crate) pack_size: u32,
    pub(crate) reference: bool,
    pub(crate) bioequivalent: bool,
    pub(crate) demo: bool,
    pub(crate) sources: Vec<Named>,
    pub(crate) loc: Loc,
}

/// `12.50` MYR → 1250 sen, exactly (money is never a float).
fn parse_myr(text: &str) -> Option<i64> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 2
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().ok()? };
    whole.checked_mul(100)?.checked_add(frac)
}

/// `500 mg` → (500, "mg"); `24 mg/mL` → (24, "mg/mL").
pub(crate) fn parse_strength(text: &str) -> Option<(f64, String)> {
    let (amount, unit) = text.trim().split_once(' ')?;
    let amount: f64 = amount.parse().ok()?;
    let unit = unit.trim();
    (amount.is_finite() && amount > 0.0 && !unit.is_empty() && !unit.contains(' ')).then(|| (amount, unit.to_string()))
}

pub(crate) fn products_csv(text: &str, d: &mut Diagnostics) -> Vec<RawProduct> {
    let required = [
        "code",
        "generic",
        "brand",
        "strength",
        "form",
        "route",
        "excipients",
        "active_source",
        "halal_cert",
        "halal_cert_expiry",
        "gtin",
        "mal_no",
        "manufacturer",
        "unit_price_myr",
        "pack_size",
        "reference",
        "bioequivalent",
        "demo",
        "sources",
    ];
    let Some(table) = csv_table::read("products.csv", text, &required, &["note"], d) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for row in &table.rows {
        let code = row.cell("code");
        let generic = row.cell("generic");
        let strength = row.cell("strength");
        let (Some(code_text), Some(generic_text), Some(strength_text)) =
            (code.required("code", d), generic.required("generic", d), strength.required("strength", d))
        else {
            continue;
        };
        let Some((strength_value, strength_unit)) = parse_strength(&strength_text) else {
            d.push(
                strength.loc(),
                Pass::Schema,
                "bad-strength",
                format!("strength `{strength_text}` must be `<positive number> <unit>`, e.g. `500 mg` or `24 mg/mL`"),
            );
            continue;
        };
        let exc_cell = row.cell("excipients");
        let mut excipients = Vec::new();
        for item in exc_cell.list() {
            match item.split_once(':') {
                Some((name, source)) if !name.trim().is_empty() && !source.trim().is_empty() => {
                    excipients.push(RawIngredient {
                        name: Named::from_cell(&exc_cell, name.trim().to_lowercase()),
                        source: source.trim().to_lowercase(),
                    })
                }
                _ => d.push(
                    exc_cell.loc(),
                    Pass::Schema,
                    "bad-excipient",
                    format!("excipient `{item}` must be written `name:source` (source may be `unknown`)"),
                ),
            }
        }
        let price_cell = row.cell("unit_price_myr");
        let Some(price_text) = price_cell.required("unit_price_myr", d) else { continue };
        let Some(unit_price_sen) = parse_myr(&price_text) else {
            d.push(
                price_cell.loc(),
                Pass::Schema,
                "bad-price",
                format!("price `{price_text}` must be MYR like `12.50`"),
            );
            continue;
        };
        let expiry_cell = row.cell("halal_cert_expiry");
        let halal_cert_expiry = if expiry_cell.is_empty() { None } else { expiry_cell.date("halal_cert_expiry", d) };
        let gtin = row.cell("gtin");
        let mal = row.cell("mal_no");
        let (Some(brand), Some(form), Some(route), Some(manufacturer), Some(pack_size)) = (
            row.cell("brand").required("brand", d),
            row.cell("form").required("form", d),
            row.cell("route").required("route", d),
            row.cell("manufacturer").required("manufacturer", d),
            row.cell("pack_size").parse::<u32>("pack_size", "a whole number", d),
        ) else {
            continue;
        };
        let (Some(reference), Some(bioequivalent), Some(demo)) = (
            row.cell("reference").boolean("reference", d),
            row.cell("bioequivalent").boolean("bioequivalent", d),
            row.cell("demo").boolean("demo", d),
        ) else {
            continue;
        };
        out.push(RawProduct {
            code: Named::from_cell(&code, code_text),
            generic: Named::from_cell(&generic, generic_text),
            brand,
            strength: Named::from_cell(&strength, strength_text),
            strength_value,
            strength_unit,
            form,
            route,
            excipients,
            active_source: row.cell("active_source").optional().map(|s| s.to_lowercase()),
            halal_cert: row.cell("halal_cert").optional(),
            halal_cert_expiry,
            gtin: gtin.optional().map(|g| Named::from_cell(&gtin, g)),
            mal_no: mal.optional().map(|m| Named::from_cell(&mal, m)),
            manufacturer,
            unit_price_sen,
            pack_size,
            reference,
            bioequivalent,
            demo,
            sources: sources(&row.cell("sources"), d),
            loc: row.loc(),
        });
    }
    out
}

pub(crate) struct RawStock {
    pub(crate) product: Named,
    pub(crate) lot: String,
    pub(crate) expiry: chrono::NaiveDate,
    pub(crate) qty_on_hand: i64,
    pub(crate) reorder_level: i64,
    pub(crate) loc: Loc,
}

pub(crate) fn inventory_csv(text: &str, d: &mut Diagnostics) -> Vec<RawStock> {
    let required = ["product", "lot", "expiry", "qty_on_hand", "reorder_level"];
    let Some(table) = csv_table::read("inventory.csv", text, &required, &["location", "note"], d) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for row in &table.rows {
        let product = row.cell("product");
        let (Some(p), Some(lot), Some(expiry), Some(qty), Some(reorder)) = (
            product.required("product", d),
            row.cell("lot").required("lot", d),
            row.cell("expiry").date("expiry", d),
            row.cell("qty_on_hand").parse::<i64>("qty_on_hand", "a whole number", d),
            row.cell("reorder_level").parse::<i64>("reorder_level", "a whole number", d),
        ) else {
            continue;
        };
        if qty < 0 {
            d.push(
                row.cell("qty_on_hand").loc(),
                Pass::Schema,
                "negative-stock",
                "quantity on hand cannot be negative",
            );
        }
        out.push(RawStock {
            product: Named::from_cell(&product, p),
            lot,
            expiry,
            qty_on_hand: qty,
            reorder_level: reorder,
            loc: row.loc(),
        });
    }
    out
}

pub(crate) struct RawRecall {
    pub(crate) product: Named,
    pub(crate) lot: String,
    pub(crate) date: chrono::NaiveDate,
    pub(crate) reason: String,
    pub(crate) sources: Vec<Named>,
}

pub(crate) fn recalls_csv(text: &str, d: &mut Diagnostics) -> Vec<RawRecall> {
    let required = ["product", "lot", "recall_date", "reason", "sources"];
    let Some(table) = csv_table::read("recalls.csv", text, &required, &["note"], d) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for row in &table.rows {
        let product = row.cell("product");
        let (Some(p), Some(lot), Some(date), Some(reason)) = (
            product.required("product", d),
            row.cell("lot").required("lot", d),
            row.cell("recall_date").date("recall_date", d),
            row.cell("reason").required("reason", d),
        ) else {
            continue;
        };
        out.push(RawRecall {
            product: Named::from_cell(&product, p),
            lot,
            date,
            reason,
            sources: sources(&row.cell("sources"), d),
        });
    }
    out
}

// ---- TOML rule files ---------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PropertyKindsToml {
    pub(crate) kind: Vec<KindToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KindToml {
    pub(crate) id: Spanned<String>,
    pub(crate) levels: Vec<String>,
    pub(crate) description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConditionToml {
    pub(crate) property: Option<Spanned<String>>,
    pub(crate) levels: Option<Vec<String>>,
    pub(crate) class: Option<Spanned<String>>,
    pub(crate) generic: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DdiRulesToml {
    #[serde(default)]
    pub(crate) rule: Vec<RuleToml>,
    #[serde(default)]
    pub(crate) group_rule: Vec<GroupRuleToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleToml {
    pub(crate) id: Spanned<String>,
    pub(crate) a: Vec<ConditionToml>,
    pub(crate) b: Vec<ConditionToml>,
    pub(crate) severity: Spanned<String>,
    pub(crate) mechanism: String,
    pub(crate) effect: String,
    pub(crate) management: String,
    #[serde(default)]
    pub(crate) replace: Option<Spanned<String>>,
    pub(crate) sources: Spanned<Vec<String>>,
    /// Free text for reviewers; not shown by tools.
    #[serde(default, rename = "note")]
    pub(crate) _note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GroupRuleToml {
    pub(crate) id: Spanned<String>,
    pub(crate) members: Vec<Vec<ConditionToml>>,
    pub(crate) severity: Spanned<String>,
    pub(crate) mechanism: String,
    pub(crate) effect: String,
    pub(crate) management: String,
    pub(crate) sources: Spanned<Vec<String>>,
    /// Free text for reviewers; not shown by tools.
    #[serde(default, rename = "note")]
    pub(crate) _note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InteractionsToml {
    #[serde(default)]
    pub(crate) interaction: Vec<InteractionToml>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InteractionToml {
    #[serde(default)]
    pub(crate) id: Option<String>,
    pub(crate) a: Spanned<String>,
    pub(crate) b: Spanned<String>,
    pub(crate) severity: Spanned<String>,
    pub(crate) mechanism: String,
    pub(crate) effect: String,
    pub(crate) management: String,
    #[serde(default)]
    pub(crate) alternatives: Vec<Spanned<String>>,
    #[serde(default = "yes")]
    pub(crate) interruptive: bool,
    pub(crate) sources: Spanned<Vec<String>>,
    /// Free text for reviewers; not shown by tools.
    #[serde(default, rename = "note")]
    pub(crate) _note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AllergyToml {
    #[serde(default)]
    pub(crate) allergen: Vec<AllergenToml>,
    #[serde(default)]
    pub(crate) cross_reactivity: Vec<CrossToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AllergenToml {
    pub(crate) id: Spanned<String>,
    pub(crate) names: Vec<String>,
    #[serde(default)]
    pub(crate) class: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) generic: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) excipients: Option<Vec<Spanned<String>>>,
    pub(crate) sources: Spanned<Vec<String>>,
    /// Free text for reviewers; not shown by tools.
    #[serde(default, rename = "note")]
    pub(crate) _note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CrossToml {
    pub(crate) from: Spanned<String>,
    pub(crate) to: Spanned<String>,
    pub(crate) basis: String,
    #[serde(default)]
    pub(crate) rate_percent: Option<Spanned<f64>>,
    pub(crate) severity: Spanned<String>,
    pub(crate) note: String,
    pub(crate) sources: Spanned<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HalalRulesToml {
    #[serde(default)]
    pub(crate) rule: Vec<HalalRuleToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HalalRuleToml {
    pub(crate) ingredient: Spanned<String>,
    pub(crate) source: Spanned<String>,
    pub(crate) status: Spanned<String>,
    pub(crate) reason: String,
    #[serde(default)]
    pub(crate) necessity_applies: bool,
    pub(crate) sources: Spanned<Vec<String>>,
    /// Free text for reviewers; not shown by tools.
    #[serde(default, rename = "note")]
    pub(crate) _note: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_exact() {
        assert_eq!(parse_myr("12.50"), Some(1250));
        assert_eq!(parse_myr("0.05"), Some(5));
        assert_eq!(parse_myr("3"), Some(300));
        assert_eq!(parse_myr("1.234"), None);
        assert_eq!(parse_myr("-1"), None);
    }

    #[test]
    fn strength_needs_amount_and_unit() {
        assert_eq!(parse_strength("500 mg"), Some((500.0, "mg".to_string())));
        assert_eq!(parse_strength("24 mg/mL"), Some((24.0, "mg/mL".to_string())));
        assert_eq!(parse_strength("500"), None);
        assert_eq!(parse_strength("0 mg"), None);
    }
}
