//! `halal_filter`.

use rxgate_checks::halal::{self, Preference};
use rxgate_knowledge::{HalalStatus, Snapshot};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ToolOutput;
use super::common::{HalalPreference, KnowledgeStamp};
use super::ddi::unknown_note;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IngredientIn {
    pub(crate) name: String,
    /// porcine, bovine, fish, vegetable, synthetic, mineral, insect, khamr, non_khamr… or
    /// absent when not known.
    pub(crate) source: Option<String>,
}

/// Either `drugs` or `ingredients`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct HalalFilterInput {
    pub(crate) drugs: Option<Vec<String>>,
    pub(crate) ingredients: Option<Vec<IngredientIn>>,
    /// `halal_only` blocks, `warn` (default) warns, `none` only discloses.
    pub(crate) preference: Option<HalalPreference>,
    /// Date used to check certificate expiry (YYYY-MM-DD); today by default.
    pub(crate) today: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum HalalStatusOut {
    Halal,
    Doubtful,
    NonHalal,
    Unknown,
}

impl From<HalalStatus> for HalalStatusOut {
    fn from(s: HalalStatus) -> Self {
        match s {
            HalalStatus::Halal => HalalStatusOut::Halal,
            HalalStatus::Doubtful => HalalStatusOut::Doubtful,
            HalalStatus::NonHalal => HalalStatusOut::NonHalal,
            HalalStatus::Unknown => HalalStatusOut::Unknown,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct ConcernOut {
    pub(crate) ingredient: String,
    pub(crate) source: String,
    pub(crate) status: HalalStatusOut,
    pub(crate) reason: String,
    pub(crate) sources: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct ProductStatusOut {
    pub(crate) product: String,
    pub(crate) status: HalalStatusOut,
    pub(crate) concerns: Vec<ConcernOut>,
    pub(crate) certificate: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct HalalResultOut {
    /// The drug as given (absent for an ingredient list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) drug: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) generic: Option<String>,
    /// The product judged, when one product is concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) product: Option<String>,
    pub(crate) status: HalalStatusOut,
    pub(crate) concerns: Vec<ConcernOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) certificate: Option<String>,
    /// Halal products of the same generic.
    pub(crate) alternatives: Vec<String>,
    /// Each product of the generic, when a generic was named.
    pub(crate) products: Vec<ProductStatusOut>,
    /// `none`, `warn` or `block` under the given preference.
    pub(crate) action: String,
    pub(crate) blocking: bool,
    /// Darurah: an animal-derived medicine with no halal alternative is disclosed and
    /// warned, never blocked.
    pub(crate) necessity_applies: bool,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct HalalFilterOutput {
    pub(crate) results: Vec<HalalResultOut>,
    pub(crate) preference: HalalPreference,
    pub(crate) unknown: Vec<String>,
    pub(crate) knowledge: KnowledgeStamp,
}

fn concern(c: halal::Concern) -> ConcernOut {
    ConcernOut {
        ingredient: c.ingredient,
        source: c.source,
        status: c.status.into(),
        reason: c.reason,
        sources: c.sources,
    }
}

pub(crate) fn result(r: halal::HalalResult) -> HalalResultOut {
    HalalResultOut {
        drug: r.drug,
        generic: r.generic,
        product: r.product,
        status: r.status.into(),
        concerns: r.concerns.into_iter().map(concern).collect(),
        certificate: r.certificate,
        alternatives: r.alternatives,
        products: r
            .products
            .into_iter()
            .map(|p| ProductStatusOut {
                product: p.product,
                status: p.status.into(),
                concerns: p.concerns.into_iter().map(concern).collect(),
                certificate: p.certificate,
            })
            .collect(),
        action: r.action.as_str().to_string(),
        blocking: r.action == halal::Action::Block,
        necessity_applies: r.necessity_applies,
    }
}

pub(crate) fn run(
    snapshot: &Snapshot,
    input: HalalFilterInput,
    today: chrono::NaiveDate,
) -> Result<ToolOutput, String> {
    let today = match &input.today {
        Some(t) => super::common::parse_date("today", t)?,
        None => today,
    };
    let request = match (input.drugs, input.ingredients) {
        (Some(d), None) if !d.is_empty() => halal::HalalRequest::Drugs(d),
        (None, Some(i)) if !i.is_empty() => halal::HalalRequest::Ingredients(
            i.into_iter().map(|i| halal::IngredientInput { name: i.name, source: i.source }).collect(),
        ),
        (Some(_), Some(_)) => return Err("give either `drugs` or `ingredients`, not both".to_string()),
        _ => return Err("give a non-empty `drugs` list or `ingredients` list".to_string()),
    };
    let preference = input.preference.unwrap_or(HalalPreference::Warn);
    let report = halal::check(&snapshot.registry, &request, Preference::from(preference), Some(today));
    let out = HalalFilterOutput {
        results: report.results.into_iter().map(result).collect(),
        preference,
        unknown: report.unknown,
        knowledge: KnowledgeStamp::of(snapshot),
    };
    let mut parts: Vec<String> = out
        .results
        .iter()
        .map(|r| {
            let name = r.drug.clone().or_else(|| r.product.clone()).unwrap_or_else(|| "ingredients".to_string());
            let status =
                serde_json::to_value(r.status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            let first = r.concerns.first().map(|c| format!(" — {} ({})", c.ingredient, c.source)).unwrap_or_default();
            format!("{name}: {status}{first}{}", if r.blocking { " [BLOCKED: halal_only]" } else { "" })
        })
        .collect();
    if parts.is_empty() {
        parts.push("No recognised drug to judge.".to_string());
    }
    let summary = format!("{}.{}", parts.join("; "), unknown_note(&out.unknown));
    ToolOutput::new(summary, &out)
}
