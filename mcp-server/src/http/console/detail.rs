//! `GET /api/v1/pharmacy/{rx_id}`: one prescription as the verification card shows it.
//!
//! The body is the workflow's own reviewer view ([`operations::get`], the same as MCP
//! `rx_get`, audited as `rx_read`), plus what only a person at the counter needs: who the
//! patient is (demo name and initials), what was handed over (for the label), the
//! counselling checklist, and the explanations stored for the latest verification's findings.

use axum::Json;
use axum::extract::{Path, State};
use rxgate_guardrails::CounselItem;
use serde_json::{Value, json};

use crate::http::middleware::{Caller, CorrelationId};
use crate::http::{AppError, AppState};
use crate::operations::{self, Actor};
use crate::workflow;

/// `"Demo Aminah"` → `"D.A."`: what a label or a screen across the counter may show.
pub(super) fn initials(name: &str) -> String {
    name.split_whitespace().filter_map(|w| w.chars().next()).map(|c| format!("{}.", c.to_uppercase())).collect()
}

/// ATC therapeutic subgroup (level 3, `J01F`) of a drug the registry knows.
fn atc_subgroup(snapshot: &rxgate_knowledge::Snapshot, name: &str) -> Option<String> {
    let registry = &snapshot.registry;
    let generic = registry.generic(registry.resolve(name)?.generic);
    generic.atc.first().and_then(|code| code.get(..4)).map(str::to_string)
}

/// For each line, the interaction alternatives that would replace *that* line's drug: an
/// alternative replaces the side in its own ATC subgroup (azithromycin replaces
/// clarithromycin, not amlodipine), as the interaction check chose it. An alternative in
/// neither side's subgroup is offered on both lines of the pair.
fn substitutes_by_line(snapshot: &rxgate_knowledge::Snapshot, out: &Value) -> Value {
    let lines: Vec<(i64, String)> = out["lines"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| Some((l["line_no"].as_i64()?, l["generic"].as_str()?.to_string())))
        .collect();
    let mut by_line = serde_json::Map::new();
    for alert in out["verification"]["ddi_alerts"].as_array().into_iter().flatten() {
        let drugs: Vec<&str> = alert["drugs"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let involved: Vec<&(i64, String)> =
            lines.iter().filter(|(_, g)| drugs.iter().any(|d| d.eq_ignore_ascii_case(g))).collect();
        for alternative in alert["alternatives"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            let group = atc_subgroup(snapshot, alternative);
            let same: Vec<&&(i64, String)> =
                involved.iter().filter(|(_, g)| group.is_some() && atc_subgroup(snapshot, g) == group).collect();
            let targets: Vec<i64> = if same.is_empty() {
                involved.iter().map(|(n, _)| *n).collect()
            } else {
                same.iter().map(|(n, _)| *n).collect()
            };
            for line_no in targets {
                let list = by_line.entry(line_no.to_string()).or_insert_with(|| json!([]));
                if let Some(list) = list.as_array_mut()
                    && !list.iter().any(|a| a.as_str() == Some(alternative))
                {
                    list.push(json!(alternative));
                }
            }
        }
    }
    Value::Object(by_line)
}

/// The label's dispense id for a dispense record: printed, and encoded in its barcode.
pub(super) fn dispense_label_id(id: i64) -> String {
    format!("RXD-{id:08}")
}

pub(super) async fn detail(
    State(app): State<AppState>,
    Caller(principal): Caller,
    CorrelationId(correlation_id): CorrelationId,
    Path(rx_id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let rx_id = workflow::parse_rx_id(&rx_id)?;
    let actor = Actor { principal: &principal, correlation_id: &correlation_id };
    let mut out = operations::get(&app.storage, &app.knowledge, actor, rx_id).await?;

    // Same request, same audit entry: the rest of what the card shows about this
    // prescription.
    let mut tx = app.storage.begin_read().await?;
    let patient_id = out["prescription"]["patient_id"].as_i64().unwrap_or_default();
    let patient = tx.get_patient(patient_id).await?;
    let dispenses = tx.list_dispenses(rx_id).await?;
    let reversals = tx.list_reversals(rx_id).await?;
    let counselling = tx.latest_counselling(rx_id).await?;
    let explanations = tx.list_explanations(rx_id).await?;
    drop(tx);

    out["patient_card"] = json!({
        "patient_id": patient.id,
        "name": patient.demo_name,
        "initials": initials(&patient.demo_name),
        "age_years": patient.age_days.map(|d| d / 365),
        "age_days": patient.age_days,
        "sex": patient.sex,
        "weight_kg": patient.weight_kg,
        "allergies": patient.allergies,
        "active_medications": patient.active_medications,
        "halal_preference": patient.halal_preference,
        "egfr_ml_min_1_73m2": patient.egfr_ml_min_1_73m2,
        "crcl_ml_min": patient.crcl_ml_min,
        "pregnant": patient.pregnant,
    });
    out["dispenses"] = dispenses
        .iter()
        .map(|d| {
            let reversed = reversals.iter().find(|r| r.dispense_id == d.id).map(|r| {
                json!({"reason_code": r.reason_code, "reason": r.reason, "restocked": r.restocked,
                    "by": r.reversed_by, "at": r.at})
            });
            json!({"id": d.id, "dispense_id": dispense_label_id(d.id), "line_no": d.line_no, "product": d.product,
                "lot": d.lot, "quantity": d.quantity, "by": d.dispensed_by, "at": d.at, "reversed": reversed})
        })
        .collect();
    out["counselling_items"] = CounselItem::REQUIRED.iter().map(|i| i.as_str()).collect();
    out["counselling"] =
        counselling.map_or(Value::Null, |c| json!({"items": c.checklist, "by": c.done_by, "at": c.at}));
    out["substitutes"] = substitutes_by_line(&app.knowledge.current(), &out);
    // Shown as AI-written (or template) text with what it was written from: the finding it
    // explains and the hash of the facts the server checked it against.
    out["explanations"] = explanations
        .iter()
        .map(|e| {
            json!({"id": e.id, "line_no": e.line_no, "finding_key": e.finding_key, "language": e.language,
                "audience": e.audience, "text": e.text, "source": e.source, "model": e.model,
                "prompt_version": e.prompt_version, "facts_hash": e.facts_hash, "created_at": e.created_at,
                "upgraded_at": e.upgraded_at})
        })
        .collect();
    Ok(Json(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_never_carry_the_full_name() {
        assert_eq!(initials("Demo Aminah"), "D.A.");
        assert_eq!(initials("  siti  nur "), "S.N.");
        assert_eq!(initials(""), "");
    }
}
