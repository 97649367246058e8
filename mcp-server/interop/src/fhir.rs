//! The FHIR R4 (4.0.1) subset rxgate reads and writes, as serde types.
//!
//! Only the elements rxgate uses are modelled; unknown elements in input are ignored (FHIR
//! readers must tolerate extensions and elements they do not use), and output never carries
//! an element R4 does not define, so an independent validator accepts it (tests/e2e).
//! Resources inside a Bundle stay `serde_json::Value` until their `resourceType` is known,
//! so a bundle with resources rxgate does not read (Encounter, Coverage…) still parses and
//! those entries are reported, not rejected.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `http://www.nlm.nih.gov/research/umls/rxnorm`
pub const RXNORM: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";
/// `http://hl7.org/fhir/sid/ndc`
pub const NDC: &str = "http://hl7.org/fhir/sid/ndc";
/// GS1 GTIN (the OID FHIR lists for GTIN).
pub const GTIN: &str = "urn:oid:1.3.160";
/// NPRA (Malaysia) product registration numbers (`MAL…`).
pub const NPRA_MAL: &str = "https://npra.gov.my/fhir/sid/mal";
/// rxgate's own product codes (the formulary's `code` column).
pub const RXGATE_PRODUCT: &str = "urn:rxgate:product";
/// UCUM.
pub const UCUM: &str = "http://unitsofmeasure.org";
/// LOINC.
pub const LOINC: &str = "http://loinc.org";
/// HL7 v3 GTS abbreviations (BID, TID, Q8H…), used in `Timing.code`.
pub const GTS_ABBREVIATION: &str = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Coding {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl Coding {
    pub fn new(system: &str, code: &str, display: Option<&str>) -> Coding {
        Coding { system: Some(system.into()), code: Some(code.into()), display: display.map(str::to_string) }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CodeableConcept {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coding: Vec<Coding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl CodeableConcept {
    pub fn coded(system: &str, code: &str, display: Option<&str>) -> CodeableConcept {
        CodeableConcept { coding: vec![Coding::new(system, code, display)], text: None }
    }

    pub fn text(text: &str) -> CodeableConcept {
        CodeableConcept { coding: Vec::new(), text: Some(text.into()) }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Identifier {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl Identifier {
    pub fn new(system: &str, value: &str) -> Identifier {
        Identifier { system: Some(system.into()), value: Some(value.into()) }
    }

    /// `system|value`, the FHIR token form; the natural key of what it identifies.
    pub fn token(&self) -> Option<String> {
        let value = self.value.as_deref().filter(|v| !v.is_empty())?;
        Some(format!("{}|{value}", self.system.as_deref().unwrap_or("")))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// A logical reference (R4 allows it on every Reference): what an EHR that does not
    /// expose resource ids sends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<Identifier>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl Reference {
    pub fn to(reference: impl Into<String>) -> Reference {
        Reference { reference: Some(reference.into()), identifier: None, display: None }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Quantity {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl Quantity {
    pub fn ucum(value: f64, code: &str) -> Quantity {
        Quantity { value: Some(value), unit: Some(code.into()), system: Some(UCUM.into()), code: Some(code.into()) }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HumanName {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimingRepeat {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period_unit: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat: Option<TimingRepeat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<CodeableConcept>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DoseAndRate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dose_quantity: Option<Quantity>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dosage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timing: Option<Timing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dose_and_rate: Vec<DoseAndRate>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Duration {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DispenseRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_supply_duration: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Quantity>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Patient {
    pub resource_type: PatientType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub name: Vec<HumanName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Practitioner {
    pub resource_type: PractitionerType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub name: Vec<HumanName>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MedicationRequest {
    pub resource_type: MedicationRequestType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    /// `active`, `on-hold`, `cancelled`, `completed`, `entered-in-error`, `stopped`, `draft`, `unknown`.
    #[serde(default)]
    pub status: String,
    /// `proposal`, `plan`, `order`, `original-order`, …
    #[serde(default)]
    pub intent: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medication_codeable_concept: Option<CodeableConcept>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medication_reference: Option<Reference>,
    #[serde(default)]
    pub subject: Reference,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authored_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requester: Option<Reference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_identifier: Option<Identifier>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dosage_instruction: Vec<Dosage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dispense_request: Option<DispenseRequest>,
    /// The order this one replaces: present, it makes this request a change
    /// (PRESCRIPTION_CHANGE) of an order already sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prior_prescription: Option<Reference>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MedicationStatement {
    pub resource_type: MedicationStatementType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default)]
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medication_codeable_concept: Option<CodeableConcept>,
    #[serde(default)]
    pub subject: Reference,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllergyIntolerance {
    pub resource_type: AllergyIntoleranceType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clinical_status: Option<CodeableConcept>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_status: Option<CodeableConcept>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<CodeableConcept>,
    #[serde(default)]
    pub patient: Reference,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Observation {
    pub resource_type: ObservationType,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub code: CodeableConcept,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_quantity: Option<Quantity>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DispensePerformer {
    pub actor: Reference,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MedicationDispense {
    pub resource_type: MedicationDispenseType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    /// `preparation`, `in-progress`, `cancelled`, `on-hold`, `completed`, `entered-in-error`, `stopped`, `declined`, `unknown`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medication_codeable_concept: Option<CodeableConcept>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<Reference>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub performer: Vec<DispensePerformer>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorizing_prescription: Vec<Reference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Quantity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when_handed_over: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub note: Vec<Annotation>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Annotation {
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OperationOutcomeIssue {
    /// `fatal`, `error`, `warning`, `information`.
    pub severity: String,
    /// An IssueType code: `invalid`, `required`, `not-supported`, `code-invalid`, `not-found`, …
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expression: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationOutcome {
    pub resource_type: OperationOutcomeType,
    pub issue: Vec<OperationOutcomeIssue>,
}

impl OperationOutcome {
    pub fn new(issue: Vec<OperationOutcomeIssue>) -> OperationOutcome {
        OperationOutcome { resource_type: OperationOutcomeType, issue }
    }

    pub fn error(code: &str, diagnostics: impl Into<String>) -> OperationOutcome {
        OperationOutcome::new(vec![OperationOutcomeIssue {
            severity: "error".into(),
            code: code.into(),
            diagnostics: Some(diagnostics.into()),
            expression: Vec::new(),
        }])
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    pub resource_type: BundleType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<Identifier>,
    /// `collection`, `transaction`, `message`, `searchset`, …
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entry: Vec<BundleEntry>,
}

/// Declares a unit type that serialises as exactly one `resourceType` string and refuses
/// any other, so a `Patient` can never be read from (or written as) something else.
macro_rules! resource_type {
    ($($name:ident => $text:literal),* $(,)?) => {$(
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $name;

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str($text)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                if text == $text {
                    Ok($name)
                } else {
                    Err(serde::de::Error::custom(format!("resourceType must be `{}`, not `{text}`", $text)))
                }
            }
        }
    )*};
}

resource_type! {
    PatientType => "Patient",
    PractitionerType => "Practitioner",
    MedicationRequestType => "MedicationRequest",
    MedicationStatementType => "MedicationStatement",
    AllergyIntoleranceType => "AllergyIntolerance",
    ObservationType => "Observation",
    MedicationDispenseType => "MedicationDispense",
    OperationOutcomeType => "OperationOutcome",
    BundleType => "Bundle",
}

/// A resource of a bundle entry, once its type is known.
#[derive(Debug, Clone, PartialEq)]
pub enum Resource {
    Patient(Box<Patient>),
    Practitioner(Box<Practitioner>),
    MedicationRequest(Box<MedicationRequest>),
    MedicationStatement(Box<MedicationStatement>),
    AllergyIntolerance(Box<AllergyIntolerance>),
    Observation(Box<Observation>),
    /// A resource type rxgate does not read (kept by name, reported to the sender).
    Other(String),
}

/// Why a resource could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ResourceError {
    /// FHIRPath-like location (`Bundle.entry[2].resource`).
    pub path: String,
    pub message: String,
}

/// Reads one resource by its `resourceType`.
pub fn parse_resource(value: &Value, path: &str) -> Result<Resource, ResourceError> {
    let err = |message: String| ResourceError { path: path.to_string(), message };
    let kind =
        value.get("resourceType").and_then(Value::as_str).ok_or_else(|| err("has no `resourceType`".to_string()))?;
    fn read<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, String> {
        T::deserialize(value).map_err(|e| e.to_string())
    }
    Ok(match kind {
        "Patient" => Resource::Patient(Box::new(read(value).map_err(err)?)),
        "Practitioner" => Resource::Practitioner(Box::new(read(value).map_err(err)?)),
        "MedicationRequest" => Resource::MedicationRequest(Box::new(read(value).map_err(err)?)),
        "MedicationStatement" => Resource::MedicationStatement(Box::new(read(value).map_err(err)?)),
        "AllergyIntolerance" => Resource::AllergyIntolerance(Box::new(read(value).map_err(err)?)),
        "Observation" => Resource::Observation(Box::new(read(value).map_err(err)?)),
        other => Resource::Other(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_patient_is_never_read_from_another_resource_type() {
        let wrong = json!({"resourceType": "Practitioner", "id": "p1"});
        assert!(serde_json::from_value::<Patient>(wrong).is_err());
        let right = json!({"resourceType": "Patient", "id": "p1", "gender": "female", "extension": [{"url": "x"}]});
        let patient: Patient = serde_json::from_value(right).expect("unknown elements are tolerated");
        assert_eq!(patient.gender.as_deref(), Some("female"));
    }

    #[test]
    fn output_uses_fhir_element_names() {
        let mr = MedicationRequest {
            status: "active".into(),
            intent: "order".into(),
            medication_codeable_concept: Some(CodeableConcept::coded(RXNORM, "17767", Some("amlodipine"))),
            subject: Reference::to("Patient/1"),
            ..MedicationRequest::default()
        };
        let v = serde_json::to_value(&mr).expect("serialise");
        assert_eq!(v["resourceType"], "MedicationRequest");
        assert_eq!(v["medicationCodeableConcept"]["coding"][0]["code"], "17767");
        assert!(v.get("identifier").is_none(), "empty arrays are omitted, as FHIR requires: {v}");
    }
}
