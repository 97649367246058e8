//! `barcode_verify`.

use rxgate_checks::barcode;
use rxgate_knowledge::Snapshot;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ToolOutput;
use super::common::{KnowledgeStamp, parse_date};

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpectedIn {
    /// GTIN-8/12/13/14 of the expected pack.
    pub(crate) gtin: Option<String>,
    /// Product code, brand or generic expected on the line.
    pub(crate) product: Option<String>,
    pub(crate) rx_id: Option<String>,
    pub(crate) line_no: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BarcodeVerifyInput {
    /// GS1 element string: bracketed `(01)…(17)…(10)…` or raw with FNC1/GS (U+001D)
    /// separators, optionally with an AIM symbology prefix such as `]d2`.
    pub(crate) scan: String,
    pub(crate) expected: ExpectedIn,
    /// YYYY-MM-DD; today by default.
    pub(crate) today: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct ParsedOut {
    pub(crate) gtin: Option<String>,
    /// YYYY-MM-DD (a GS1 day 00 is the last day of the month).
    pub(crate) expiry: Option<String>,
    pub(crate) lot: Option<String>,
    pub(crate) serial: Option<String>,
    pub(crate) symbology: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct ProblemDetail {
    pub(crate) code: String,
    pub(crate) message: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct BarcodeVerifyOutput {
    #[serde(rename = "match")]
    pub(crate) matched: bool,
    pub(crate) parsed: ParsedOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) product: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) generic: Option<String>,
    /// Problem codes: unparseable, bad_check_digit, wrong_product, expired, recalled,
    /// unknown_product, no_gtin, …
    pub(crate) problems: Vec<String>,
    /// The same problems with a message for the pharmacist.
    pub(crate) problem_details: Vec<ProblemDetail>,
    pub(crate) knowledge: KnowledgeStamp,
}

pub(crate) fn verify(
    snapshot: &Snapshot,
    scan: &str,
    expected: &barcode::Expected,
    today: chrono::NaiveDate,
) -> Result<BarcodeVerifyOutput, String> {
    let v = barcode::verify(&snapshot.registry, scan, expected, today).map_err(|e| e.to_string())?;
    Ok(BarcodeVerifyOutput {
        matched: v.matched,
        parsed: ParsedOut {
            gtin: v.parsed.gtin,
            expiry: v.parsed.expiry.map(|d| d.to_string()),
            lot: v.parsed.lot,
            serial: v.parsed.serial,
            symbology: v.parsed.symbology,
        },
        product: v.product,
        generic: v.generic,
        problems: v.problems.iter().map(|p| p.code.to_string()).collect(),
        problem_details: v
            .problems
            .into_iter()
            .map(|p| ProblemDetail { code: p.code.to_string(), message: p.message })
            .collect(),
        knowledge: KnowledgeStamp::of(snapshot),
    })
}

pub(crate) fn run(
    snapshot: &Snapshot,
    input: BarcodeVerifyInput,
    today: chrono::NaiveDate,
) -> Result<ToolOutput, String> {
    let today = match &input.today {
        Some(t) => parse_date("today", t)?,
        None => today,
    };
    if input.expected.gtin.is_none() && input.expected.product.is_none() {
        return Err(if input.expected.rx_id.is_some() || input.expected.line_no.is_some() {
            "`expected.rx_id`/`line_no` alone need the gateway's prescription store (rxgate serve); give `expected.gtin` or `expected.product`".to_string()
        } else {
            "`expected` must give a `gtin` or a `product` to compare the scan with".to_string()
        });
    }
    let expected = barcode::Expected { gtin: input.expected.gtin, product: input.expected.product };
    let out = verify(snapshot, &input.scan, &expected, today)?;
    let summary = if out.matched {
        format!(
            "MATCH: {} lot {} expiry {}.",
            out.product.as_deref().unwrap_or("expected product"),
            out.parsed.lot.as_deref().unwrap_or("-"),
            out.parsed.expiry.as_deref().unwrap_or("-")
        )
    } else {
        let reasons: Vec<&str> = out.problem_details.iter().map(|p| p.message.as_str()).collect();
        format!("NO MATCH — do not dispense: {}.", reasons.join("; "))
    };
    ToolOutput::new(summary, &out)
}
