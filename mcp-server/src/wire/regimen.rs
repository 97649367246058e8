//! `regimen_eval`: the contract's shapes and their conversion to and from `rxgate-regimen`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rxgate_knowledge::{Pass, Snapshot};
use rxgate_regimen::pn::PnOrder;
use rxgate_regimen::{self as regimen, Q, RegimenLibrary};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ToolOutput;
use super::common::{KnowledgeStamp, NumberIn, Patient, Sex, parse_date};
use super::dose::{AmountOut, amount};

/// A bundled regimen by id or alias (`CHOP`, `carboplatin-auc5`), or an inline definition
/// in the contract's interchange form.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum RegimenRef {
    Id(String),
    Definition(serde_json::Map<String, serde_json::Value>),
}

/// The contract's Patient plus `labs`. Allergies, medications, Child–Pugh and halal
/// preference are accepted (and validated) so that a full Patient object is welcome, but do
/// not change a regimen's doses: those are other tools' checks.
#[derive(Debug, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct RegimenPatient {
    #[serde(flatten)]
    pub(crate) patient: Patient,
    /// Lab code with the unit in the name: `anc_10e9_l`, `platelets_10e9_l`,
    /// `bilirubin_umol_l`, `crcl_ml_min`, `serum_creatinine_umol_l`, …
    #[serde(default)]
    pub(crate) labs: BTreeMap<String, f64>,
}

/// By hand because `serde(flatten)` would let unknown fields through unseen: `labs` is
/// taken out and the rest must be a [`Patient`], which refuses a field it does not know.
impl<'de> Deserialize<'de> for RegimenPatient {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut fields = serde_json::Map::deserialize(deserializer)?;
        let labs = match fields.remove("labs") {
            Some(labs) => serde_json::from_value(labs).map_err(|e| D::Error::custom(format!("labs: {e}")))?,
            None => BTreeMap::new(),
        };
        let patient = serde_json::from_value(serde_json::Value::Object(fields)).map_err(D::Error::custom)?;
        Ok(RegimenPatient { patient, labs })
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuantityIn {
    pub(crate) value: NumberIn,
    pub(crate) unit: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegimenOrderIn {
    pub(crate) drug: String,
    /// iv, intrathecal, oral, sc, im…
    pub(crate) route: Option<String>,
    /// minibag, syringe, infusion_bag…
    pub(crate) container: Option<String>,
    /// A mass (`mg`, `ug`, `g`).
    pub(crate) dose: Option<QuantityIn>,
}

/// What the regimen was approved with; changes since force re-approval.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApprovalIn {
    pub(crate) weight_kg: Option<f64>,
    pub(crate) serum_creatinine_umol_l: Option<f64>,
    pub(crate) regimen_version: Option<String>,
}

/// A neonatal parenteral-nutrition bag for the day.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ParenteralNutritionIn {
    pub(crate) weight_kg: NumberIn,
    pub(crate) volume_ml_per_day: NumberIn,
    pub(crate) dextrose_percent: NumberIn,
    pub(crate) amino_acid_percent: NumberIn,
    pub(crate) sodium_mmol_l: NumberIn,
    pub(crate) potassium_mmol_l: NumberIn,
    pub(crate) stated_osmolarity_mosm_l: Option<NumberIn>,
    #[serde(default)]
    pub(crate) central_line: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegimenEvalInput {
    pub(crate) regimen: RegimenRef,
    pub(crate) cycle: u32,
    pub(crate) day: u32,
    pub(crate) patient: RegimenPatient,
    /// Lifetime doses given before, across protocols: `{"doxorubicin": {"value": 300, "unit": "mg/m2"}}`.
    #[serde(default)]
    pub(crate) cumulative: BTreeMap<String, QuantityIn>,
    /// Orders as written or about to be co-signed in this session.
    #[serde(default)]
    pub(crate) orders: Vec<RegimenOrderIn>,
    pub(crate) approval: Option<ApprovalIn>,
    /// `mosteller` (default) or `dubois`.
    pub(crate) bsa_formula: Option<String>,
    /// YYYY-MM-DD; defaults to the server's date (effective dates of the regimen).
    pub(crate) today: Option<String>,
    pub(crate) parenteral_nutrition: Option<ParenteralNutritionIn>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct DoseQuantity {
    pub(crate) value: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) exact: Option<String>,
    pub(crate) unit: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct DoseOut {
    pub(crate) drug: String,
    pub(crate) dose: DoseQuantity,
    pub(crate) basis: String,
    pub(crate) route: String,
    pub(crate) container: Option<String>,
    pub(crate) capped: bool,
    pub(crate) sources: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct FindingOut {
    pub(crate) code: String,
    pub(crate) message: String,
    pub(crate) drug: Option<String>,
    /// Who may document an override (holds only): physician, cardiologist or supervisor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) override_by: Option<String>,
    pub(crate) sources: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct SupportiveOut {
    pub(crate) kind: String,
    pub(crate) description: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct PnOut {
    pub(crate) osmolarity_mosm_l: AmountOut,
    pub(crate) osmolarity_basis: String,
    pub(crate) gir_mg_kg_min: AmountOut,
    pub(crate) central_line_required: bool,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct AuditOut {
    /// hold | block
    pub(crate) action: String,
    pub(crate) code: String,
    pub(crate) detail: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct RegimenInfo {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) version: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct RegimenEvalOutput {
    pub(crate) regimen: RegimenInfo,
    pub(crate) doses: Vec<DoseOut>,
    /// Never overridable.
    pub(crate) hard_stops: Vec<FindingOut>,
    /// Need a documented override by the person named in `override_by`.
    pub(crate) holds: Vec<FindingOut>,
    /// two_person_verify | re_approval | confirm_regimen_version | cumulative_dose_history | central_line
    pub(crate) requires: Vec<String>,
    /// Inputs not understood (drugs, cumulative keys, units): NOT checked.
    pub(crate) unknown: Vec<String>,
    pub(crate) bsa_m2: Option<AmountOut>,
    pub(crate) bsa_formula: String,
    pub(crate) gfr_ml_min: Option<AmountOut>,
    pub(crate) gfr_basis: Option<String>,
    pub(crate) supportive: Vec<SupportiveOut>,
    pub(crate) parenteral_nutrition: Option<PnOut>,
    /// Problems of an inline definition, `definition:line:col: rule: message`.
    pub(crate) definition_problems: Vec<String>,
    /// Audit records the caller must keep for each hold and block.
    pub(crate) audit: Vec<AuditOut>,
    pub(crate) knowledge: KnowledgeStamp,
}

/// The library compiled against the snapshot in force, rebuilt only when the snapshot changes.
pub(crate) fn library(snapshot: &Snapshot) -> Result<Arc<RegimenLibrary>, String> {
    static CACHE: Mutex<Option<(String, Arc<RegimenLibrary>)>> = Mutex::new(None);
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((hash, lib)) = cache.as_ref()
        && hash == &snapshot.hash
    {
        return Ok(lib.clone());
    }
    let lib = RegimenLibrary::bundled(&snapshot.registry).map(Arc::new).map_err(|d| {
        let first = d.first().map(|x| x.to_string()).unwrap_or_default();
        format!(
            "the regimen library does not validate against this knowledge snapshot ({} problems; first: {first})",
            d.len()
        )
    })?;
    *cache = Some((snapshot.hash.clone(), lib.clone()));
    Ok(lib)
}

fn q(v: f64, field: &str) -> Result<Q, String> {
    regimen::parse_q(&format!("{v}")).ok_or_else(|| format!("`{field}` is not a finite number"))
}

fn oq(v: Option<f64>, field: &str) -> Result<Option<Q>, String> {
    v.map(|v| q(v, field)).transpose()
}

fn nq(n: &NumberIn, field: &str) -> Result<Q, String> {
    n.parse(field).map(|n| n.into_ratio())
}

fn amount_q(v: &Q) -> AmountOut {
    amount(&rxgate_units::Number::from(v.clone()))
}

/// An empty stand-in, so that the orders of an unknown regimen still meet the never-event rules.
fn unknown_regimen(id: &str) -> regimen::Regimen {
    regimen::Regimen {
        id: id.to_string(),
        name: "unknown regimen".into(),
        aliases: vec![],
        version: "unknown".into(),
        effective_from: None,
        effective_to: None,
        superseded_by: None,
        cycle_length_days: 1,
        cycles: None,
        bsa_formula: regimen::BsaFormula::Mosteller,
        population: regimen::Population::Adult,
        drugs: vec![],
        supportive: vec![],
        holds: vec![],
        modifications: vec![],
        sources: vec![],
        file: "unknown".into(),
    }
}

pub(crate) fn run(
    snapshot: &Snapshot,
    input: RegimenEvalInput,
    today: chrono::NaiveDate,
) -> Result<ToolOutput, String> {
    let out = evaluate(snapshot, &input, today)?;
    ToolOutput::new(summary(&out, input.cycle, input.day), &out)
}

/// The evaluation as the contract shapes it; the chemotherapy workflow endpoints store it.
pub(crate) fn evaluate(
    snapshot: &Snapshot,
    input: &RegimenEvalInput,
    today: chrono::NaiveDate,
) -> Result<RegimenEvalOutput, String> {
    let lib = library(snapshot)?;
    let registry = &snapshot.registry;
    let mut unknown = Vec::new();
    let mut definition_problems = Vec::new();
    let mut extra_holds = Vec::new();
    let compiled;
    let reg = match &input.regimen {
        RegimenRef::Id(id) => match lib.find(id) {
            Some(r) => r,
            None => {
                // Without the regimen no dose can be checked, but the orders' never-events
                // still can: a vinca in a syringe is stopped whatever protocol it claims.
                let known: Vec<&str> = lib.regimens.iter().map(|r| r.id.as_str()).collect();
                extra_holds.push(FindingOut {
                    code: "unknown_regimen".into(),
                    message: format!(
                        "regimen `{id}` is not in the library ({}): doses, caps and lab holds were NOT checked; do not proceed",
                        known.join(", ")
                    ),
                    drug: None,
                    override_by: Some("physician".into()),
                    sources: vec![],
                });
                compiled = unknown_regimen(id);
                &compiled
            }
        },
        RegimenRef::Definition(def) => {
            let out = regimen::compile_definition_json(&serde_json::Value::Object(def.clone()), registry, &lib.rules);
            let Some(r) = out.regimen else {
                let msgs: Vec<String> = out.diagnostics.iter().map(|d| d.to_string()).collect();
                return Err(format!("invalid regimen definition: {}", msgs.join("; ")));
            };
            for d in &out.diagnostics {
                definition_problems.push(d.to_string());
                match (d.pass, d.rule) {
                    (_, "not-in-formulary") => {
                        unknown.push(d.message.split('`').nth(1).unwrap_or(&d.message).to_string())
                    }
                    // Vinca and intrathecal rules become hard stops in the evaluator itself.
                    (_, "vinca-route" | "vinca-container" | "intrathecal-not-allowed") => {}
                    (Pass::Clinical | Pass::Reference, _) => extra_holds.push(FindingOut {
                        code: "regimen_not_validated".into(),
                        message: format!("the definition breaks a regimen rule: {}", d),
                        drug: None,
                        override_by: Some("physician".into()),
                        sources: vec![],
                    }),
                    _ => {}
                }
            }
            compiled = r;
            &compiled
        }
    };
    let p = &input.patient.patient;
    let mut labs = BTreeMap::new();
    for (k, v) in &input.patient.labs {
        labs.insert(k.clone(), q(*v, &format!("patient.labs.{k}"))?);
    }
    let patient = regimen::Patient {
        age_years: oq(p.age_years, "patient.age_years")?,
        age_days: oq(p.age_days, "patient.age_days")?,
        weight_kg: oq(p.weight_kg, "patient.weight_kg")?,
        height_cm: oq(p.height_cm, "patient.height_cm")?,
        sex: p.sex.map(|s| match s {
            Sex::Female => regimen::Sex::Female,
            Sex::Male => regimen::Sex::Male,
        }),
        serum_creatinine_umol_l: oq(p.serum_creatinine_umol_l, "patient.serum_creatinine_umol_l")?,
        egfr_ml_min_1_73m2: oq(p.egfr_ml_min_1_73m2, "patient.egfr_ml_min_1_73m2")?,
        crcl_ml_min: oq(p.crcl_ml_min, "patient.crcl_ml_min")?,
        labs,
    };
    let mut req = regimen::EvalRequest::new(reg, input.cycle, input.day, patient);
    for (k, c) in &input.cumulative {
        req.cumulative.insert(
            k.clone(),
            regimen::CumulativeDose { value: nq(&c.value, &format!("cumulative.{k}.value"))?, unit: c.unit.clone() },
        );
    }
    for (i, o) in input.orders.iter().enumerate() {
        let dose = match &o.dose {
            Some(d) => Some((nq(&d.value, &format!("orders[{i}].dose.value"))?, d.unit.clone())),
            None => None,
        };
        req.orders.push(regimen::Order {
            drug: o.drug.clone(),
            route: o.route.clone(),
            container: o.container.clone(),
            dose,
        });
    }
    if let Some(a) = &input.approval {
        req.approval = Some(regimen::Approval {
            weight_kg: oq(a.weight_kg, "approval.weight_kg")?,
            serum_creatinine_umol_l: oq(a.serum_creatinine_umol_l, "approval.serum_creatinine_umol_l")?,
            regimen_version: a.regimen_version.clone(),
        });
    }
    req.bsa_formula = match &input.bsa_formula {
        Some(f) => Some(
            regimen::BsaFormula::parse(f)
                .ok_or_else(|| format!("`bsa_formula` must be mosteller or dubois, got `{f}`"))?,
        ),
        None => None,
    };
    req.today = Some(match &input.today {
        Some(t) => parse_date("today", t)?,
        None => today,
    });
    if let Some(pn) = &input.parenteral_nutrition {
        req.parenteral_nutrition = Some(PnOrder {
            weight_kg: nq(&pn.weight_kg, "parenteral_nutrition.weight_kg")?,
            volume_ml_per_day: nq(&pn.volume_ml_per_day, "parenteral_nutrition.volume_ml_per_day")?,
            dextrose_percent: nq(&pn.dextrose_percent, "parenteral_nutrition.dextrose_percent")?,
            amino_acid_percent: nq(&pn.amino_acid_percent, "parenteral_nutrition.amino_acid_percent")?,
            sodium_mmol_l: nq(&pn.sodium_mmol_l, "parenteral_nutrition.sodium_mmol_l")?,
            potassium_mmol_l: nq(&pn.potassium_mmol_l, "parenteral_nutrition.potassium_mmol_l")?,
            stated_osmolarity_mosm_l: pn
                .stated_osmolarity_mosm_l
                .as_ref()
                .map(|s| nq(s, "parenteral_nutrition.stated_osmolarity_mosm_l"))
                .transpose()?,
            central_line: pn.central_line,
        });
    }
    let ev = regimen::evaluate(&req, &lib.rules, registry);
    unknown.extend(ev.unknown.iter().cloned());
    let finding = |f: &regimen::Finding| FindingOut {
        code: f.code.clone(),
        message: f.message.clone(),
        drug: f.drug.clone(),
        override_by: f.override_by.map(|o| o.as_str().to_string()),
        sources: f.sources.clone(),
    };
    let mut holds: Vec<FindingOut> = ev.holds.iter().map(finding).collect();
    let mut audit: Vec<AuditOut> = ev
        .audit
        .iter()
        .map(|a| AuditOut { action: a.action.clone(), code: a.code.clone(), detail: a.detail.clone() })
        .collect();
    for h in extra_holds {
        audit.push(AuditOut { action: "hold".into(), code: h.code.clone(), detail: h.message.clone() });
        holds.push(h);
    }
    let out = RegimenEvalOutput {
        regimen: RegimenInfo { id: reg.id.clone(), name: reg.name.clone(), version: reg.version.clone() },
        doses: ev
            .doses
            .iter()
            .map(|d| {
                let a = amount_q(&d.dose_mg);
                DoseOut {
                    drug: d.drug.clone(),
                    dose: DoseQuantity { value: a.value, exact: a.exact, unit: "mg".into() },
                    basis: d.basis.clone(),
                    route: d.route.as_str().to_string(),
                    container: d.container.as_ref().map(|c| c.as_str().to_string()),
                    capped: d.capped,
                    sources: d.sources.clone(),
                }
            })
            .collect(),
        hard_stops: ev.hard_stops.iter().map(finding).collect(),
        holds,
        requires: ev.requires.clone(),
        unknown,
        bsa_m2: ev.bsa_m2.as_ref().map(amount_q),
        bsa_formula: ev.bsa_formula.as_str().to_lowercase(),
        gfr_ml_min: ev.gfr.as_ref().map(|g| amount_q(&g.0)),
        gfr_basis: ev.gfr.as_ref().map(|g| g.1.clone()),
        supportive: ev
            .supportive
            .iter()
            .map(|s| SupportiveOut { kind: s.kind.as_str().into(), description: s.description.clone() })
            .collect(),
        parenteral_nutrition: ev.parenteral_nutrition.as_ref().map(|p| PnOut {
            osmolarity_mosm_l: amount_q(&p.osmolarity_mosm_l),
            osmolarity_basis: p.osmolarity_basis.into(),
            gir_mg_kg_min: amount_q(&p.gir_mg_kg_min),
            central_line_required: p.central_line_required,
        }),
        definition_problems,
        audit,
        knowledge: KnowledgeStamp::of(snapshot),
    };
    Ok(out)
}

fn summary(o: &RegimenEvalOutput, cycle: u32, day: u32) -> String {
    let mut s = format!("{} v{} cycle {cycle} day {day}: ", o.regimen.id, o.regimen.version);
    if !o.hard_stops.is_empty() {
        let msgs: Vec<&str> = o.hard_stops.iter().map(|h| h.message.as_str()).collect();
        s.push_str(&format!("HARD STOP ({}) — {}. ", o.hard_stops.len(), msgs.join("; ")));
    }
    if !o.holds.is_empty() {
        let codes: Vec<&str> = o.holds.iter().map(|h| h.code.as_str()).collect();
        s.push_str(&format!("HOLD ({}): {}. ", o.holds.len(), codes.join(", ")));
    }
    if o.hard_stops.is_empty() && o.holds.is_empty() {
        s.push_str("no hard stop or hold. ");
    }
    let doses: Vec<String> = o.doses.iter().map(|d| format!("{} {} mg", d.drug, d.dose.value)).collect();
    if !doses.is_empty() {
        s.push_str(&format!("Doses: {}. ", doses.join(", ")));
    }
    if !o.requires.is_empty() {
        s.push_str(&format!("Requires: {}.", o.requires.join(", ")));
    }
    if !o.unknown.is_empty() {
        s.push_str(&format!(" Not checked (unknown): {}.", o.unknown.join(", ")));
    }
    s.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::RegimenPatient;
    use serde_json::json;

    fn read(value: serde_json::Value) -> Result<RegimenPatient, String> {
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    #[test]
    fn a_regimen_patient_is_the_contracts_patient_plus_labs() {
        let p = read(json!({"weight_kg": 70.0, "height_cm": 175.0, "child_pugh": "B", "labs": {"anc_10e9_l": 1.2}}))
            .unwrap();
        assert_eq!((p.patient.weight_kg, p.patient.height_cm), (Some(70.0), Some(175.0)));
        assert_eq!(p.labs["anc_10e9_l"], 1.2);
        assert!(read(json!({})).unwrap().labs.is_empty());
    }

    #[test]
    fn a_misspelt_field_or_a_bad_value_is_refused_not_ignored() {
        // A typo in the weight must not evaluate the regimen as if no weight were given.
        assert!(read(json!({"wieght_kg": 70.0})).unwrap_err().contains("wieght_kg"));
        assert!(read(json!({"child_pugh": "D"})).unwrap_err().contains("D"));
        assert!(read(json!({"halal_preference": "sometimes"})).is_err());
        assert!(read(json!({"labs": {"anc_10e9_l": "low"}})).unwrap_err().starts_with("labs:"));
    }

    #[test]
    fn the_published_schema_lists_every_patient_field_and_labs() {
        let schema = serde_json::to_value(schemars::schema_for!(RegimenPatient)).unwrap();
        let patient = serde_json::to_value(schemars::schema_for!(super::Patient)).unwrap();
        let properties = schema["properties"].as_object().expect("an object schema");
        for field in patient["properties"].as_object().unwrap().keys() {
            assert!(properties.contains_key(field), "`{field}` missing from {schema}");
        }
        assert!(properties.contains_key("labs"));
        assert_eq!(schema["additionalProperties"], false, "the schema must say unknown fields are refused: {schema}");
    }
}
