//! FHIR resources built from what the server holds: the dispense record as a
//! MedicationDispense, and the read views (Patient, Practitioner, MedicationRequest,
//! AllergyIntolerance). Inputs are plain values, so the server's rows never leak into
//! this crate and these builders need no database.

use crate::fhir::{
    AllergyIntolerance, Annotation, CodeableConcept, Coding, DispensePerformer, Dosage, DoseAndRate, HumanName,
    Identifier, MedicationDispense, MedicationDispenseType, MedicationRequest, MedicationRequestType, Patient,
    PatientType, Practitioner, PractitionerType, Quantity, RXGATE_PRODUCT, Reference, Timing,
};

/// rxgate's identifier systems: surrogate ids are only meaningful with this prefix.
pub const RXGATE_DISPENSE: &str = "urn:rxgate:dispense";
pub const RXGATE_PRESCRIPTION_LINE: &str = "urn:rxgate:prescription-line";
pub const RXGATE_PATIENT: &str = "urn:rxgate:patient";
pub const RXGATE_USER: &str = "urn:rxgate:user";

/// One dispense as the server recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct DispenseFacts {
    pub dispense_id: i64,
    pub rx_id: i64,
    pub line_no: i64,
    pub patient_id: i64,
    /// The INN dispensed.
    pub generic: String,
    /// Formulary product code and its GTIN, if any.
    pub product: String,
    pub gtin: Option<String>,
    pub lot: String,
    pub quantity: i64,
    pub dispensed_by: String,
    /// RFC 3339.
    pub at: String,
    /// `completed`, or `entered-in-error` for a reversal.
    pub status: &'static str,
    /// The EHR's MedicationRequest identifier this fills, when it came from the EHR.
    pub ehr_request: Option<String>,
}

pub fn medication_dispense(d: &DispenseFacts) -> MedicationDispense {
    let mut coding = vec![Coding::new(RXGATE_PRODUCT, &d.product, Some(&d.generic))];
    if let Some(gtin) = &d.gtin {
        coding.push(Coding::new(crate::fhir::GTIN, gtin, None));
    }
    let mut authorizing = vec![Reference::to(format!("MedicationRequest/{}-{}", d.rx_id, d.line_no))];
    if let Some(token) = &d.ehr_request {
        // The EHR knows its order by identifier: a logical reference it can resolve.
        let identifier = match token.split_once('|') {
            Some((system, value)) if !system.is_empty() => Some(crate::fhir::Identifier::new(system, value)),
            _ => None,
        };
        authorizing.push(Reference { reference: None, identifier, display: Some(format!("EHR order {token}")) });
    }
    MedicationDispense {
        resource_type: MedicationDispenseType,
        id: Some(d.dispense_id.to_string()),
        identifier: vec![Identifier::new(RXGATE_DISPENSE, &d.dispense_id.to_string())],
        status: d.status.to_string(),
        medication_codeable_concept: Some(CodeableConcept { coding, text: Some(d.generic.clone()) }),
        subject: Some(Reference::to(format!("Patient/{}", d.patient_id))),
        performer: vec![DispensePerformer { actor: Reference::to(format!("Practitioner/{}", d.dispensed_by)) }],
        authorizing_prescription: authorizing,
        quantity: Some(Quantity {
            value: Some(d.quantity as f64),
            unit: Some("unit".into()),
            system: None,
            code: None,
        }),
        when_handed_over: Some(d.at.clone()),
        note: vec![Annotation { text: format!("lot {}", d.lot) }],
    }
}

/// A patient as the server holds it: surrogate id, sex, birth date; the demo name only
/// when the caller asks for it (reads by clinicians, never webhooks or logs).
pub fn patient(id: i64, sex: Option<&str>, birth_date: Option<&str>, name: Option<&str>) -> Patient {
    Patient {
        resource_type: PatientType,
        id: Some(id.to_string()),
        identifier: vec![Identifier::new(RXGATE_PATIENT, &id.to_string())],
        name: name.map(|n| vec![HumanName { text: Some(n.to_string()) }]).unwrap_or_default(),
        gender: sex.map(str::to_string),
        birth_date: birth_date.map(str::to_string),
    }
}

/// Practitioners are the server's users (prescribers and pharmacists), by login name.
pub fn practitioner(subject: &str) -> Practitioner {
    Practitioner {
        resource_type: PractitionerType,
        id: Some(subject.to_string()).filter(|s| is_fhir_id(s)),
        identifier: vec![Identifier::new(RXGATE_USER, subject)],
        name: Vec::new(),
    }
}

/// A FHIR `id`: 1–64 of `[A-Za-z0-9\-\.]`.
pub fn is_fhir_id(text: &str) -> bool {
    !text.is_empty() && text.len() <= 64 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// One prescription line as a MedicationRequest.
#[derive(Debug, Clone, PartialEq)]
pub struct LineFacts<'a> {
    pub rx_id: i64,
    pub line_no: i64,
    pub patient_id: i64,
    pub prescriber: &'a str,
    pub drug: &'a str,
    pub dose_value: &'a str,
    pub dose_unit: &'a str,
    pub frequency: &'a str,
    pub route: &'a str,
    /// The line's workflow status (`CANCELLED`, `DISPENSED`, …).
    pub line_status: &'a str,
    pub created_at: &'a str,
}

pub fn medication_request(l: &LineFacts<'_>) -> MedicationRequest {
    let status = match l.line_status {
        "CANCELLED" => "cancelled",
        "DISPENSED" | "COUNSEL_COMPLETE" | "CLOSED" => "completed",
        "HOLD" => "on-hold",
        _ => "active",
    };
    MedicationRequest {
        resource_type: MedicationRequestType,
        id: Some(format!("{}-{}", l.rx_id, l.line_no)),
        identifier: vec![Identifier::new(RXGATE_PRESCRIPTION_LINE, &format!("{}-{}", l.rx_id, l.line_no))],
        status: status.into(),
        intent: "order".into(),
        medication_codeable_concept: Some(CodeableConcept::text(l.drug)),
        medication_reference: None,
        subject: Reference::to(format!("Patient/{}", l.patient_id)),
        authored_on: Some(l.created_at.to_string()),
        requester: Some(Reference::to(format!("Practitioner/{}", l.prescriber)).with_display(l.prescriber)),
        group_identifier: Some(Identifier::new("urn:rxgate:prescription", &l.rx_id.to_string())),
        dosage_instruction: vec![Dosage {
            text: Some(format!("{} {} {} {}", l.dose_value, l.dose_unit, l.route, l.frequency)),
            timing: Some(Timing { repeat: None, code: Some(CodeableConcept::text(l.frequency)) }),
            route: Some(CodeableConcept::text(l.route)),
            dose_and_rate: l
                .dose_value
                .parse::<f64>()
                .ok()
                .map(|v| vec![DoseAndRate { dose_quantity: Some(Quantity::ucum(v, l.dose_unit)) }])
                .unwrap_or_default(),
        }],
        dispense_request: None,
        prior_prescription: None,
    }
}

impl Reference {
    fn with_display(mut self, display: &str) -> Reference {
        self.display = Some(display.to_string());
        self
    }
}

pub fn allergy(patient_id: i64, index: usize, text: &str) -> AllergyIntolerance {
    let status = |system: &str, code: &str| CodeableConcept::coded(system, code, None);
    AllergyIntolerance {
        resource_type: crate::fhir::AllergyIntoleranceType,
        id: Some(format!("{patient_id}-{index}")),
        clinical_status: Some(status("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active")),
        verification_status: Some(status(
            "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
            "confirmed",
        )),
        code: Some(CodeableConcept::text(text)),
        patient: Reference::to(format!("Patient/{patient_id}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dispense_becomes_a_completed_medication_dispense_pointing_at_its_order() {
        let d = DispenseFacts {
            dispense_id: 7,
            rx_id: 3,
            line_no: 2,
            patient_id: 11,
            generic: "clarithromycin".into(),
            product: "DEMO-CLAR-500".into(),
            gtin: Some("09555555000011".into()),
            lot: "L1".into(),
            quantity: 14,
            dispensed_by: "aisyah".into(),
            at: "2026-11-23T10:00:00Z".into(),
            status: "completed",
            ehr_request: Some("urn:ehr:mr|MR-1".into()),
        };
        let v = serde_json::to_value(medication_dispense(&d)).expect("json");
        assert_eq!(v["resourceType"], "MedicationDispense");
        assert_eq!(v["status"], "completed");
        assert_eq!(v["subject"]["reference"], "Patient/11");
        assert_eq!(v["authorizingPrescription"][0]["reference"], "MedicationRequest/3-2");
        assert_eq!(v["quantity"]["value"], 14.0);
        assert_eq!(v["medicationCodeableConcept"]["coding"][1]["system"], crate::fhir::GTIN);
    }

    #[test]
    fn a_cancelled_line_reads_as_a_cancelled_request() {
        let l = LineFacts {
            rx_id: 1,
            line_no: 1,
            patient_id: 2,
            prescriber: "drlim",
            drug: "amlodipine",
            dose_value: "5",
            dose_unit: "mg",
            frequency: "od",
            route: "oral",
            line_status: "CANCELLED",
            created_at: "2026-11-23T10:00:00Z",
        };
        let mr = medication_request(&l);
        assert_eq!(mr.status, "cancelled");
        assert_eq!(mr.dosage_instruction[0].dose_and_rate[0].dose_quantity.as_ref().and_then(|q| q.value), Some(5.0));
    }
}
