//! An intake bundle (Patient, MedicationRequest…, AllergyIntolerance, MedicationStatement,
//! Observation) read into a [`PrescriptionDraft`]: the patient facts the checks use, one
//! line per MedicationRequest, and every code that could not be mapped.
//!
//! Nothing is dropped quietly: a line whose drug code is unmapped stays in the draft with
//! `mapped: None` and its [`PendingMapping`]; allergies and active medications that do not
//! map are kept as the sender wrote them (the checks then report them in `unknown`) and
//! also listed as pending. Resources rxgate does not read are listed in `ignored`.

use chrono::NaiveDate;
use rxgate_knowledge::Registry;
use serde_json::Value;

use crate::codes::{CodeMaps, Mapped, PendingMapping};
use crate::fhir::{
    Bundle, CodeableConcept, GTS_ABBREVIATION, LOINC, MedicationRequest, OperationOutcomeIssue, Resource,
    parse_resource,
};

/// What a mapped or pending code belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeUse {
    Medication,
    Allergy,
    ActiveMedication,
}

impl CodeUse {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeUse::Medication => "medication",
            CodeUse::Allergy => "allergy",
            CodeUse::ActiveMedication => "active_medication",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub mapping: PendingMapping,
    pub used_as: CodeUse,
    /// Where in the bundle (`Bundle.entry[1].resource.medicationCodeableConcept`).
    pub path: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PatientFacts {
    /// The EHR's patient identifier (`system|value`), or the resource id.
    pub ehr_id: Option<String>,
    /// Every identifier with both a system and a value, as `(system, value)`: what a later
    /// bundle for the same person is matched on. One without a system matches nothing (two
    /// hospitals may both have an MRN 77).
    pub identifiers: Vec<(String, String)>,
    pub sex: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub age_days: Option<i64>,
    pub weight_kg: Option<f64>,
    pub height_cm: Option<f64>,
    pub serum_creatinine_umol_l: Option<f64>,
    pub egfr_ml_min_1_73m2: Option<f64>,
    pub allergies: Vec<String>,
    pub active_medications: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DraftLine {
    pub line_no: u32,
    /// The MedicationRequest's identifier token (or `MedicationRequest/<id>`).
    pub source: String,
    /// What the line names for the checks: the mapped INN, else the sender's text.
    pub drug: String,
    pub mapped: Option<Mapped>,
    pub dose_value: Option<String>,
    pub dose_unit: Option<String>,
    pub frequency: Option<String>,
    pub route: String,
    pub duration_days: Option<i64>,
    /// `active`, `cancelled`, … as the EHR sent it.
    pub status: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PrescriptionDraft {
    /// The natural key of this prescription at the sender.
    pub natural_key: String,
    pub patient: PatientFacts,
    pub prescriber: Option<String>,
    pub lines: Vec<DraftLine>,
    pub pending: Vec<Pending>,
    /// Resource types present and not read.
    pub ignored: Vec<String>,
}

impl PrescriptionDraft {
    /// Ready to become a prescription: at least one line and nothing waits for an analyst.
    pub fn is_complete(&self) -> bool {
        !self.lines.is_empty() && self.pending.is_empty()
    }
}

/// Why a bundle cannot be taken in at all (as opposed to codes that wait for mapping).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", .issues.iter().map(|i| i.diagnostics.clone().unwrap_or_default()).collect::<Vec<_>>().join("; "))]
pub struct IntakeError {
    pub issues: Vec<OperationOutcomeIssue>,
}

fn issue(code: &str, diagnostics: String, path: &str) -> OperationOutcomeIssue {
    OperationOutcomeIssue {
        severity: "error".into(),
        code: code.into(),
        diagnostics: Some(diagnostics),
        expression: vec![path.to_string()],
    }
}

/// Reads a Bundle (or a single MedicationRequest wrapped as one) into a draft.
pub fn read_bundle(
    registry: &Registry,
    maps: &CodeMaps,
    bundle: &Bundle,
    today: NaiveDate,
) -> Result<PrescriptionDraft, IntakeError> {
    let mut issues = Vec::new();
    let mut resources = Vec::new();
    for (i, entry) in bundle.entry.iter().enumerate() {
        let path = format!("Bundle.entry[{i}].resource");
        match &entry.resource {
            Some(value) => match parse_resource(value, &path) {
                Ok(r) => resources.push((path, r)),
                Err(e) => issues.push(issue("structure", e.message, &e.path)),
            },
            None => issues.push(issue("required", "entry has no resource".into(), &path)),
        }
    }
    if !issues.is_empty() {
        return Err(IntakeError { issues });
    }
    let mut draft = PrescriptionDraft::default();
    let mut requests = Vec::new();
    for (path, resource) in resources {
        match resource {
            Resource::Patient(p) => {
                draft.patient.ehr_id = p
                    .identifier
                    .iter()
                    .find_map(|i| i.token())
                    .or_else(|| p.id.as_ref().map(|id| format!("Patient/{id}")));
                draft.patient.identifiers = p
                    .identifier
                    .iter()
                    .filter_map(|i| match (i.system.as_deref(), i.value.as_deref()) {
                        (Some(s), Some(v)) if !s.trim().is_empty() && !v.trim().is_empty() => {
                            Some((s.trim().to_string(), v.trim().to_string()))
                        }
                        _ => None,
                    })
                    .collect();
                draft.patient.sex = p.gender.filter(|g| matches!(g.as_str(), "female" | "male"));
                // A partial date (`1960` or `1960-04`) gives no age precise enough for dosing.
                if let Some(Ok(d)) = p.birth_date.as_deref().map(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d")) {
                    draft.patient.birth_date = Some(d);
                    draft.patient.age_days = Some((today - d).num_days()).filter(|d| *d >= 0);
                }
            }
            Resource::Practitioner(p) => {
                draft.prescriber =
                    p.identifier.iter().find_map(|i| i.token()).or_else(|| p.id.map(|id| format!("Practitioner/{id}")));
            }
            Resource::MedicationRequest(mr) => requests.push((path, mr)),
            Resource::MedicationStatement(ms) => {
                if !matches!(ms.status.as_str(), "active" | "intended" | "") {
                    continue;
                }
                let Some(concept) = &ms.medication_codeable_concept else {
                    issues.push(issue(
                        "required",
                        "MedicationStatement without medicationCodeableConcept".into(),
                        &path,
                    ));
                    continue;
                };
                let name = map_or_pend(registry, maps, concept, CodeUse::ActiveMedication, &path, &mut draft.pending);
                draft.patient.active_medications.push(name);
            }
            Resource::AllergyIntolerance(a) => {
                let inactive = a.clinical_status.as_ref().is_some_and(|s| {
                    s.coding.iter().any(|c| matches!(c.code.as_deref(), Some("inactive" | "resolved")))
                });
                let refuted = a.verification_status.as_ref().is_some_and(|s| {
                    s.coding.iter().any(|c| matches!(c.code.as_deref(), Some("refuted" | "entered-in-error")))
                });
                if inactive || refuted {
                    continue;
                }
                let Some(concept) = &a.code else {
                    issues.push(issue("required", "AllergyIntolerance without code".into(), &path));
                    continue;
                };
                draft.patient.allergies.push(allergy_name(registry, maps, concept, &path, &mut draft.pending));
            }
            Resource::Observation(o) => read_observation(&mut draft.patient, &o),
            Resource::Other(kind) => draft.ignored.push(kind),
        }
    }
    if requests.is_empty() {
        issues.push(issue("required", "the bundle holds no MedicationRequest".into(), "Bundle.entry"));
    }
    for (path, mr) in &requests {
        if mr.prior_prescription.is_some() {
            issues.push(issue(
                "not-supported",
                "a MedicationRequest with priorPrescription changes an order already sent: POST it on its own to /fhir/r4/MedicationRequest".into(),
                &format!("{path}.priorPrescription"),
            ));
        }
    }
    for (i, (path, mr)) in requests.iter().enumerate() {
        match read_request(registry, maps, mr, path, u32::try_from(i + 1).unwrap_or(u32::MAX), &mut draft.pending) {
            Ok(line) => draft.lines.push(line),
            Err(e) => issues.push(e),
        }
    }
    if !issues.is_empty() {
        return Err(IntakeError { issues });
    }
    draft.natural_key = natural_key(bundle, &requests.iter().map(|(_, mr)| mr.as_ref()).collect::<Vec<_>>());
    Ok(draft)
}

/// A prescriber's change of one order (PRESCRIPTION_CHANGE): the order it replaces and the
/// new order as a line.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeDraft {
    /// The replaced order, in the form lines are linked by (`system|value`, or
    /// `MedicationRequest/<id>`).
    pub prior: String,
    /// The new order; `source` is its own key (the natural key of the change).
    pub line: DraftLine,
    pub pending: Vec<Pending>,
}

/// Reads a MedicationRequest that names its `priorPrescription`.
pub fn read_change(registry: &Registry, maps: &CodeMaps, value: &Value) -> Result<ChangeDraft, IntakeError> {
    let path = "MedicationRequest";
    let mr = match parse_resource(value, path) {
        Ok(Resource::MedicationRequest(mr)) => mr,
        Ok(_) => return Err(IntakeError { issues: vec![issue("structure", "not a MedicationRequest".into(), path)] }),
        Err(e) => return Err(IntakeError { issues: vec![issue("structure", e.message, &e.path)] }),
    };
    let prior = mr
        .prior_prescription
        .as_ref()
        .and_then(|r| r.identifier.as_ref().and_then(|i| i.token()).or_else(|| r.reference.clone()))
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| IntakeError {
            issues: vec![issue(
                "required",
                "priorPrescription names no order (give its identifier or a MedicationRequest/<id> reference)".into(),
                "MedicationRequest.priorPrescription",
            )],
        })?;
    let mut pending = Vec::new();
    let line = read_request(registry, maps, &mr, path, 1, &mut pending).map_err(|i| IntakeError { issues: vec![i] })?;
    if line.source == prior {
        return Err(IntakeError {
            issues: vec![issue(
                "invariant",
                "the changed order must have its own identifier, not the one it replaces".into(),
                "MedicationRequest.identifier",
            )],
        });
    }
    Ok(ChangeDraft { prior, line, pending })
}

/// A medication-list pull (MED_LIST_PULL): the active MedicationStatements (and active
/// MedicationRequests) of a searchset bundle as names the checks read, with the codes that
/// wait for an analyst. Other resources are ignored; a broken entry is an error.
pub fn read_med_list(
    registry: &Registry,
    maps: &CodeMaps,
    bundle: &Bundle,
) -> Result<(Vec<String>, Vec<Pending>), IntakeError> {
    let mut names = Vec::new();
    let mut pending = Vec::new();
    let mut issues = Vec::new();
    for (i, entry) in bundle.entry.iter().enumerate() {
        let path = format!("Bundle.entry[{i}].resource");
        let Some(value) = &entry.resource else { continue };
        let (status, concept) = match parse_resource(value, &path) {
            Ok(Resource::MedicationStatement(ms)) => (ms.status.clone(), ms.medication_codeable_concept.clone()),
            Ok(Resource::MedicationRequest(mr)) => (mr.status.clone(), mr.medication_codeable_concept.clone()),
            Ok(_) => continue,
            Err(e) => {
                issues.push(issue("structure", e.message, &e.path));
                continue;
            }
        };
        if !matches!(status.as_str(), "active" | "intended" | "") {
            continue;
        }
        match concept {
            Some(c) => names.push(map_or_pend(registry, maps, &c, CodeUse::ActiveMedication, &path, &mut pending)),
            None => issues.push(issue("required", "no medicationCodeableConcept".into(), &path)),
        }
    }
    if issues.is_empty() { Ok((names, pending)) } else { Err(IntakeError { issues }) }
}

/// The sender's key for this prescription: the bundle identifier, else the requests'
/// group identifier, else their identifiers (sorted, so entry order does not matter).
fn natural_key(bundle: &Bundle, requests: &[&MedicationRequest]) -> String {
    if let Some(token) = bundle.identifier.as_ref().and_then(|i| i.token()) {
        return format!("bundle:{token}");
    }
    if let Some(token) = requests.iter().find_map(|mr| mr.group_identifier.as_ref().and_then(|g| g.token())) {
        return format!("group:{token}");
    }
    let mut ids: Vec<String> = requests.iter().map(|mr| request_source(mr)).collect();
    ids.sort();
    format!("requests:{}", ids.join(","))
}

fn request_source(mr: &MedicationRequest) -> String {
    mr.identifier
        .iter()
        .find_map(|i| i.token())
        .or_else(|| mr.id.as_ref().map(|id| format!("MedicationRequest/{id}")))
        .unwrap_or_else(|| "MedicationRequest/?".into())
}

fn map_or_pend(
    registry: &Registry,
    maps: &CodeMaps,
    concept: &CodeableConcept,
    used_as: CodeUse,
    path: &str,
    pending: &mut Vec<Pending>,
) -> String {
    match maps.map_concept(registry, concept) {
        Ok(m) => m.generic,
        Err(p) => {
            let name = p.display.clone().unwrap_or_else(|| p.key.clone());
            pending.push(Pending { mapping: p, used_as, path: path.to_string() });
            name
        }
    }
}

/// Allergies may name a drug (mapped like any medication), an allergy group or class the
/// registry knows (`penicillin`), or an excipient; only what none of these knows waits.
fn allergy_name(
    registry: &Registry,
    maps: &CodeMaps,
    concept: &CodeableConcept,
    path: &str,
    pending: &mut Vec<Pending>,
) -> String {
    if let Ok(m) = maps.map_concept(registry, concept) {
        return m.generic;
    }
    let names = concept.coding.iter().filter_map(|c| c.display.as_deref()).chain(concept.text.as_deref());
    for name in names {
        let key = rxgate_knowledge::normalise_name(name);
        if registry.allergen_by_name(&key).is_some()
            || registry.class_by_id(&key).is_some()
            || registry.excipient(&key).is_some()
        {
            return key;
        }
    }
    map_or_pend(registry, maps, concept, CodeUse::Allergy, path, pending)
}

fn read_observation(patient: &mut PatientFacts, o: &crate::fhir::Observation) {
    if matches!(o.status.as_str(), "cancelled" | "entered-in-error") {
        return;
    }
    let Some(q) = &o.value_quantity else { return };
    let Some(value) = q.value else { return };
    let unit = q.code.as_deref().or(q.unit.as_deref()).unwrap_or("");
    for c in o.code.coding.iter().filter(|c| c.system.as_deref() == Some(LOINC)) {
        match (c.code.as_deref(), unit) {
            (Some("29463-7"), "kg") => patient.weight_kg = Some(value),
            (Some("29463-7"), "g") => patient.weight_kg = Some(value / 1000.0),
            (Some("8302-2"), "cm") => patient.height_cm = Some(value),
            (Some("14682-9"), "umol/L") => patient.serum_creatinine_umol_l = Some(value),
            // mg/dL → µmol/L: creatinine molar mass 113.12 g/mol, so 1 mg/dL = 88.4 µmol/L.
            (Some("2160-0"), "mg/dL") => patient.serum_creatinine_umol_l = Some(value * 88.4),
            (Some("33914-3" | "62238-1" | "98979-8"), "mL/min/{1.73_m2}") => {
                patient.egfr_ml_min_1_73m2 = Some(value);
            }
            _ => {}
        }
    }
}

fn read_request(
    registry: &Registry,
    maps: &CodeMaps,
    mr: &MedicationRequest,
    path: &str,
    line_no: u32,
    pending: &mut Vec<Pending>,
) -> Result<DraftLine, OperationOutcomeIssue> {
    let Some(concept) = &mr.medication_codeable_concept else {
        return Err(issue(
            "not-supported",
            "only medicationCodeableConcept is read (a contained Medication is not)".into(),
            &format!("{path}.medication"),
        ));
    };
    let (drug, mapped) = match maps.map_concept(registry, concept) {
        Ok(m) => (m.generic.clone(), Some(m)),
        Err(p) => {
            let text = p.display.clone().unwrap_or_else(|| p.key.clone());
            pending.push(Pending {
                mapping: p,
                used_as: CodeUse::Medication,
                path: format!("{path}.medicationCodeableConcept"),
            });
            (text, None)
        }
    };
    let dosage = mr.dosage_instruction.first();
    let dose = dosage.and_then(|d| d.dose_and_rate.iter().find_map(|r| r.dose_quantity.clone()));
    let dose_value = dose.as_ref().and_then(|q| q.value).map(format_number);
    let dose_unit = dose.as_ref().and_then(|q| q.code.clone().or_else(|| q.unit.clone()));
    let frequency = dosage.and_then(|d| d.timing.as_ref()).and_then(frequency_of);
    let route = dosage
        .and_then(|d| d.route.as_ref())
        .and_then(|r| r.coding.iter().find_map(|c| c.display.clone()).or_else(|| r.text.clone()))
        .map(|r| r.to_lowercase())
        .unwrap_or_else(|| "oral".into());
    let duration_days = mr.dispense_request.as_ref().and_then(|d| d.expected_supply_duration.as_ref()).and_then(|d| {
        let value = d.value?;
        let days = match d.code.as_deref().or(d.unit.as_deref()) {
            Some("d" | "day" | "days") => value,
            Some("wk" | "week" | "weeks") => value * 7.0,
            _ => return None,
        };
        (days.fract() == 0.0 && days > 0.0).then_some(days as i64)
    });
    Ok(DraftLine {
        line_no,
        source: request_source(mr),
        drug,
        mapped,
        dose_value,
        dose_unit,
        frequency,
        route,
        duration_days,
        status: mr.status.clone(),
    })
}

/// A dose as a decimal string without float noise (`500`, `2.5`).
fn format_number(value: f64) -> String {
    let text = format!("{value}");
    text.strip_suffix(".0").map(str::to_string).unwrap_or(text)
}

/// `Timing` as the frequency words the dose checks read (`bd`, `q8h`, `od`…).
fn frequency_of(timing: &crate::fhir::Timing) -> Option<String> {
    if let Some(code) = &timing.code {
        for c in &code.coding {
            if c.system.as_deref() == Some(GTS_ABBREVIATION)
                && let Some(code) = c.code.as_deref()
            {
                let word = match code {
                    "QD" | "AM" | "PM" => "od",
                    "BID" => "bd",
                    "TID" => "tds",
                    "QID" => "qds",
                    "Q4H" => "q4h",
                    "Q6H" => "q6h",
                    "Q8H" => "q8h",
                    "Q12H" => "q12h",
                    "WK" => "weekly",
                    _ => continue,
                };
                return Some(word.into());
            }
        }
        if let Some(text) = &code.text {
            return Some(text.clone());
        }
    }
    let repeat = timing.repeat.as_ref()?;
    let (frequency, period) = (repeat.frequency.unwrap_or(1), repeat.period?);
    let unit = repeat.period_unit.as_deref()?;
    if frequency == 1 && unit == "h" && period.fract() == 0.0 && period > 0.0 {
        return Some(format!("q{}h", period as u32));
    }
    if period != 1.0 {
        return None;
    }
    let word = match (frequency, unit) {
        (1, "d") => "od",
        (2, "d") => "bd",
        (3, "d") => "tds",
        (4, "d") => "qds",
        (1, "wk") => "weekly",
        _ => return None,
    };
    Some(word.into())
}

/// A bundle that is one MedicationRequest (`POST /fhir/r4/MedicationRequest`), with the
/// patient it points at, if the caller has it.
pub fn single_request_bundle(request: Value, patient: Option<Value>) -> Bundle {
    let mut entry = vec![crate::fhir::BundleEntry { full_url: None, resource: Some(request) }];
    if let Some(p) = patient {
        entry.push(crate::fhir::BundleEntry { full_url: None, resource: Some(p) });
    }
    Bundle { kind: "collection".into(), entry, ..Bundle::default() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn registry() -> Registry {
        rxgate_knowledge::load(&rxgate_knowledge::bundled_files()).expect("bundled registry").registry
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).expect("date")
    }

    /// The bundle an EHR sends for Mrs A.: amlodipine already, clarithromycin new, penicillin allergy.
    pub(crate) fn intake_bundle() -> Value {
        json!({
            "resourceType": "Bundle", "type": "collection",
            "identifier": {"system": "urn:ehr:orders", "value": "ORD-1001"},
            "entry": [
                {"resource": {"resourceType": "Patient", "id": "pat-1",
                    "identifier": [{"system": "urn:ehr:mrn", "value": "MRN-77"}],
                    "gender": "female", "birthDate": "1964-05-02"}},
                {"resource": {"resourceType": "Observation", "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
                    "valueQuantity": {"value": 64, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}}},
                {"resource": {"resourceType": "MedicationRequest", "id": "mr-1", "status": "active", "intent": "order",
                    "identifier": [{"system": "urn:ehr:mr", "value": "MR-1"}],
                    "subject": {"reference": "Patient/pat-1"},
                    "medicationCodeableConcept": {"coding": [
                        {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "21212", "display": "clarithromycin"}]},
                    "dosageInstruction": [{"timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
                        "route": {"text": "Oral"},
                        "doseAndRate": [{"doseQuantity": {"value": 500, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}}]}],
                    "dispenseRequest": {"expectedSupplyDuration": {"value": 7, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"}}}},
                {"resource": {"resourceType": "MedicationStatement", "status": "active", "subject": {"reference": "Patient/pat-1"},
                    "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "17767"}]}}},
                {"resource": {"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/pat-1"},
                    "clinicalStatus": {"coding": [{"code": "active"}]},
                    "code": {"text": "Penicillin"}}},
                {"resource": {"resourceType": "Encounter", "id": "enc-1"}}
            ]
        })
    }

    fn read(bundle: Value) -> Result<PrescriptionDraft, IntakeError> {
        let reg = registry();
        let maps = CodeMaps::bundled(&reg).expect("crosswalk");
        let bundle: Bundle = serde_json::from_value(bundle).expect("bundle");
        read_bundle(&reg, &maps, &bundle, today())
    }

    #[test]
    fn an_intake_bundle_becomes_a_draft_with_patient_facts_lines_allergies_and_active_meds() {
        let draft = read(intake_bundle()).expect("draft");
        assert_eq!(draft.natural_key, "bundle:urn:ehr:orders|ORD-1001");
        assert_eq!(draft.patient.ehr_id.as_deref(), Some("urn:ehr:mrn|MRN-77"));
        assert_eq!(draft.patient.sex.as_deref(), Some("female"));
        assert_eq!(draft.patient.weight_kg, Some(64.0));
        assert!(draft.patient.age_days.is_some_and(|d| d / 365 == 62), "{:?}", draft.patient.age_days);
        assert_eq!(draft.patient.active_medications, ["amlodipine"]);
        assert_eq!(draft.patient.allergies, ["penicillin"]);
        assert_eq!(draft.lines.len(), 1);
        let line = &draft.lines[0];
        assert_eq!(
            (line.drug.as_str(), line.dose_value.as_deref(), line.dose_unit.as_deref(), line.frequency.as_deref()),
            ("clarithromycin", Some("500"), Some("mg"), Some("bd"))
        );
        assert_eq!(
            (line.route.as_str(), line.duration_days, line.source.as_str()),
            ("oral", Some(7), "urn:ehr:mr|MR-1")
        );
        assert_eq!(draft.ignored, ["Encounter"]);
        assert!(draft.is_complete());
    }

    #[test]
    fn patients_are_matched_only_on_identifiers_that_name_their_system() {
        let mut bundle = intake_bundle();
        bundle["entry"][0]["resource"]["identifier"] = json!([
            {"system": "urn:ehr:mrn", "value": " MRN-77 "}, {"value": "77"}, {"system": "urn:ehr:nric", "value": ""}]);
        let draft = read(bundle).expect("draft");
        assert_eq!(draft.patient.identifiers, [("urn:ehr:mrn".to_string(), "MRN-77".to_string())]);
    }

    fn change(prior: Value, own: &str) -> Value {
        let mut mr = intake_bundle()["entry"][2]["resource"].clone();
        mr["identifier"] = json!([{"system": "urn:ehr:mr", "value": own}]);
        mr["priorPrescription"] = prior;
        mr
    }

    #[test]
    fn a_change_names_the_order_it_replaces_by_identifier_or_reference() {
        let reg = registry();
        let maps = CodeMaps::bundled(&reg).expect("crosswalk");
        let by_identifier = change(json!({"identifier": {"system": "urn:ehr:mr", "value": "MR-1"}}), "MR-1b");
        let c = read_change(&reg, &maps, &by_identifier).expect("change");
        assert_eq!(
            (c.prior.as_str(), c.line.source.as_str(), c.line.drug.as_str()),
            ("urn:ehr:mr|MR-1", "urn:ehr:mr|MR-1b", "clarithromycin")
        );
        let by_reference = change(json!({"reference": "MedicationRequest/mr-1"}), "MR-1c");
        assert_eq!(read_change(&reg, &maps, &by_reference).expect("change").prior, "MedicationRequest/mr-1");
        // Nothing named, or the order naming itself: refused with the field.
        for bad in [
            change(json!({"display": "the old one"}), "MR-1d"),
            change(json!({"identifier": {"system": "urn:ehr:mr", "value": "MR-1e"}}), "MR-1e"),
        ] {
            let e = read_change(&reg, &maps, &bad).expect_err("refused");
            assert!(e.issues[0].expression[0].starts_with("MedicationRequest."), "{:?}", e.issues);
        }
        // Inside an intake bundle a change is refused, not read as a new order.
        let mut bundle = intake_bundle();
        bundle["entry"][2]["resource"]["priorPrescription"] = json!({"reference": "MedicationRequest/mr-0"});
        let e = read(bundle).expect_err("refused");
        assert!(e.issues.iter().any(|i| i.expression[0].ends_with("priorPrescription")), "{:?}", e.issues);
    }

    #[test]
    fn an_unmapped_drug_keeps_its_line_and_waits_for_an_analyst() {
        let mut bundle = intake_bundle();
        bundle["entry"][2]["resource"]["medicationCodeableConcept"] =
            json!({"coding": [{"system": "urn:oid:1.2.3", "code": "LOCAL-9", "display": "Zyxomab 10 mg"}]});
        let draft = read(bundle).expect("draft");
        assert_eq!(draft.lines.len(), 1, "the line is kept");
        assert_eq!(draft.lines[0].mapped, None);
        assert_eq!(draft.pending.len(), 1);
        assert_eq!(draft.pending[0].mapping.key, "urn:oid:1.2.3|LOCAL-9");
        assert_eq!(draft.pending[0].used_as, CodeUse::Medication);
        assert!(!draft.is_complete());
    }

    #[test]
    fn a_bundle_without_orders_or_with_a_broken_resource_is_refused_with_its_location() {
        let mut bundle = intake_bundle();
        bundle["entry"].as_array_mut().expect("entries").remove(2);
        let e = read(bundle).expect_err("no MedicationRequest");
        assert_eq!(e.issues[0].code, "required");

        let mut bundle = intake_bundle();
        bundle["entry"][0]["resource"]["gender"] = json!(42);
        let e = read(bundle).expect_err("gender is a string");
        assert_eq!(e.issues[0].expression, ["Bundle.entry[0].resource"]);
    }

    #[test]
    fn refuted_allergies_and_stopped_medications_are_not_facts() {
        let mut bundle = intake_bundle();
        bundle["entry"][4]["resource"]["verificationStatus"] = json!({"coding": [{"code": "refuted"}]});
        bundle["entry"][3]["resource"]["status"] = json!("stopped");
        let draft = read(bundle).expect("draft");
        assert!(draft.patient.allergies.is_empty());
        assert!(draft.patient.active_medications.is_empty());
    }

    /// The seed's target: a 5,000-item medication list read and mapped well under 5 s. The
    /// time is printed (a figure for the report), never asserted; the mapping is.
    #[test]
    fn a_med_list_pull_of_5000_active_medications_maps_every_item() {
        let codes = ["17767", "21212", "161", "6809", "7646", "83367", "36567", "29046"];
        let mut bundle = intake_bundle();
        let entries = bundle["entry"].as_array_mut().expect("entries");
        for i in 0..5000 {
            let concept = if i % 2 == 0 {
                json!({"coding": [{"system": crate::fhir::RXNORM, "code": codes[i % codes.len()]}]})
            } else {
                let names = ["Lipitor", "metformin hydrochloride", "Amoxil", "omeprazole 20 mg capsule"];
                json!({"text": names[(i / 2) % names.len()]})
            };
            entries.push(json!({"resource": {"resourceType": "MedicationStatement", "status": "active",
                "subject": {"reference": "Patient/pat-1"}, "medicationCodeableConcept": concept}}));
        }
        let reg = registry();
        let maps = CodeMaps::bundled(&reg).expect("crosswalk");
        let started = std::time::Instant::now();
        let bundle: Bundle = serde_json::from_value(bundle).expect("bundle");
        let draft = read_bundle(&reg, &maps, &bundle, today()).expect("draft");
        let elapsed = started.elapsed();
        assert_eq!(draft.patient.active_medications.len(), 5001);
        assert!(draft.pending.is_empty(), "{:?}", draft.pending.first());
        assert!(draft.patient.active_medications.iter().any(|m| m == "atorvastatin"), "Lipitor maps to its generic");
        assert!(draft.patient.active_medications.iter().any(|m| m == "amoxicillin"), "Amoxil maps to its generic");
        eprintln!("med-list pull: 5000 MedicationStatements read and mapped in {elapsed:?}");
    }

    #[test]
    fn timing_codes_and_repeats_become_frequency_words() {
        use crate::fhir::{Timing, TimingRepeat};
        let gts =
            |code: &str| Timing { code: Some(CodeableConcept::coded(GTS_ABBREVIATION, code, None)), repeat: None };
        let rep = |f: u32, p: f64, u: &str| Timing {
            code: None,
            repeat: Some(TimingRepeat { frequency: Some(f), period: Some(p), period_unit: Some(u.into()) }),
        };
        let cases = [
            (gts("TID"), Some("tds")),
            (gts("Q8H"), Some("q8h")),
            (rep(1, 6.0, "h"), Some("q6h")),
            (rep(3, 1.0, "d"), Some("tds")),
            (rep(5, 1.0, "d"), None),
        ];
        for (timing, want) in cases {
            assert_eq!(frequency_of(&timing).as_deref(), want, "{timing:?}");
        }
    }
}
