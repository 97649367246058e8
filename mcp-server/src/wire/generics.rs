//! `generic_suggest` and `stock_check`.

use rxgate_checks::{generics, stock};
use rxgate_knowledge::Snapshot;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ToolOutput;
use super::common::{KnowledgeStamp, parse_date};
use super::ddi::unknown_note;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GenericSuggestInput {
    /// Generic, brand or product code.
    pub(crate) drug: String,
    /// Payer scheme; prices are the hospital's own in this release, whatever the payer.
    pub(crate) payer: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct SuggestionOut {
    pub(crate) product: String,
    pub(crate) brand: String,
    pub(crate) generic: String,
    pub(crate) strength: String,
    pub(crate) form: String,
    /// MYR per unit.
    pub(crate) unit_cost: f64,
    pub(crate) saving_pct: f64,
    /// The product this one would replace.
    pub(crate) replaces: String,
    pub(crate) bioequivalent: bool,
    pub(crate) narrow_therapeutic_index: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) requires_review: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct GenericSuggestOutput {
    pub(crate) generic: Option<String>,
    pub(crate) suggestions: Vec<SuggestionOut>,
    pub(crate) unknown: Vec<String>,
    pub(crate) knowledge: KnowledgeStamp,
}

pub(crate) fn suggestion(s: generics::Suggestion) -> SuggestionOut {
    SuggestionOut {
        product: s.product,
        brand: s.brand,
        generic: s.generic,
        strength: s.strength,
        form: s.form,
        unit_cost: s.unit_cost,
        saving_pct: s.saving_pct,
        replaces: s.replaces,
        bioequivalent: s.bioequivalent,
        narrow_therapeutic_index: s.narrow_therapeutic_index,
        requires_review: s.requires_review,
    }
}

pub(crate) fn run_suggest(snapshot: &Snapshot, input: GenericSuggestInput) -> Result<ToolOutput, String> {
    let _ = input.payer;
    let report = generics::suggest(&snapshot.registry, &input.drug);
    let out = GenericSuggestOutput {
        generic: report.generic,
        suggestions: report.suggestions.into_iter().map(suggestion).collect(),
        unknown: report.unknown,
        knowledge: KnowledgeStamp::of(snapshot),
    };
    let mut summary = match out.suggestions.first() {
        None if out.generic.is_some() => "No cheaper bioequivalent product in the formulary.".to_string(),
        None => String::new(),
        Some(s) => format!(
            "{} suggestion(s); best: {} ({}) saves {:.1}% against {}{}.",
            out.suggestions.len(),
            s.product,
            s.brand,
            s.saving_pct,
            s.replaces,
            if s.narrow_therapeutic_index { " — NARROW THERAPEUTIC INDEX: pharmacist review required" } else { "" }
        ),
    };
    summary.push_str(&unknown_note(&out.unknown));
    ToolOutput::new(summary.trim().to_string(), &out)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StockCheckInput {
    /// Generic, brand or product code.
    pub(crate) drug: String,
    /// YYYY-MM-DD; lots expired before this date are not counted. Today by default.
    pub(crate) today: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct LotOut {
    pub(crate) lot: String,
    pub(crate) expiry: String,
    pub(crate) qty_on_hand: i64,
    pub(crate) expired: bool,
    pub(crate) recalled: bool,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct ProductStockOut {
    pub(crate) product: String,
    pub(crate) brand: String,
    pub(crate) strength: String,
    pub(crate) form: String,
    /// GTIN-14 of the pack.
    pub(crate) gtin: Option<String>,
    /// Usable units: lots neither expired nor recalled.
    pub(crate) qty_on_hand: i64,
    /// Earliest expiry among usable lots (YYYY-MM-DD).
    pub(crate) expiry: Option<String>,
    pub(crate) reorder: bool,
    pub(crate) lots: Vec<LotOut>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct StockCheckOutput {
    pub(crate) generic: Option<String>,
    pub(crate) products: Vec<ProductStockOut>,
    pub(crate) unknown: Vec<String>,
    pub(crate) knowledge: KnowledgeStamp,
}

pub(crate) fn product_stock(p: stock::ProductStock) -> ProductStockOut {
    ProductStockOut {
        product: p.product,
        brand: p.brand,
        strength: p.strength,
        form: p.form,
        gtin: p.gtin,
        qty_on_hand: p.qty_on_hand,
        expiry: p.expiry.map(|d| d.to_string()),
        reorder: p.reorder,
        lots: p
            .lots
            .into_iter()
            .map(|l| LotOut {
                lot: l.lot,
                expiry: l.expiry.to_string(),
                qty_on_hand: l.qty_on_hand,
                expired: l.expired,
                recalled: l.recalled,
            })
            .collect(),
    }
}

pub(crate) fn run_stock(
    snapshot: &Snapshot,
    input: StockCheckInput,
    today: chrono::NaiveDate,
) -> Result<ToolOutput, String> {
    let today = match &input.today {
        Some(t) => parse_date("today", t)?,
        None => today,
    };
    let report = stock::check(&snapshot.registry, &input.drug, today);
    stock_output(snapshot, report)
}

/// The `stock_check` answer for a report, whichever source its lots came from.
pub(crate) fn stock_output(snapshot: &Snapshot, report: stock::StockReport) -> Result<ToolOutput, String> {
    let out = StockCheckOutput {
        generic: report.generic,
        products: report.products.into_iter().map(product_stock).collect(),
        unknown: report.unknown,
        knowledge: KnowledgeStamp::of(snapshot),
    };
    let mut summary = out
        .products
        .iter()
        .map(|p| {
            format!(
                "{} {}: {} on hand{}",
                p.product,
                p.strength,
                p.qty_on_hand,
                if p.reorder { " (REORDER)" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    summary.push_str(&unknown_note(&out.unknown));
    ToolOutput::new(summary.trim().to_string(), &out)
}
