//! Patients (demo names only; logs carry the surrogate id).

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::types::Json;

use crate::connect::Tx;
use crate::error::{Error, Result};

/// A patient to insert. Clinical fields follow the contract's Patient object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewPatient {
    /// Display name for the demo; never logged.
    pub demo_name: String,
    /// Date of birth.
    pub date_of_birth: Option<NaiveDate>,
    /// Age in days, when no date of birth is known (or for infants).
    pub age_days: Option<i64>,
    /// Body weight.
    pub weight_kg: Option<f64>,
    /// Height.
    pub height_cm: Option<f64>,
    /// `female` or `male`.
    pub sex: Option<String>,
    /// Pregnant, if known.
    pub pregnant: Option<bool>,
    /// Allergies as written (drug, class or excipient names).
    pub allergies: Vec<String>,
    /// Active medications as written.
    pub active_medications: Vec<String>,
    /// `halal_only`, `warn` or `none`.
    pub halal_preference: String,
    /// Serum creatinine, µmol/L.
    pub serum_creatinine_umol_l: Option<f64>,
    /// eGFR, mL/min/1.73 m².
    pub egfr_ml_min_1_73m2: Option<f64>,
    /// Creatinine clearance, mL/min.
    pub crcl_ml_min: Option<f64>,
    /// Child–Pugh class `A`, `B` or `C`.
    pub child_pugh: Option<String>,
}

/// A stored patient.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Patient {
    /// Surrogate id (the only identifier that appears in logs).
    pub id: i64,
    /// Display name for the demo.
    pub demo_name: String,
    /// Date of birth.
    pub date_of_birth: Option<NaiveDate>,
    /// Age in days.
    pub age_days: Option<i64>,
    /// Body weight.
    pub weight_kg: Option<f64>,
    /// Height.
    pub height_cm: Option<f64>,
    /// `female` or `male`.
    pub sex: Option<String>,
    /// Pregnant, if known.
    pub pregnant: Option<bool>,
    /// Allergies.
    #[sqlx(json)]
    pub allergies: Vec<String>,
    /// Active medications.
    #[sqlx(json)]
    pub active_medications: Vec<String>,
    /// `halal_only`, `warn` or `none`.
    pub halal_preference: String,
    /// Serum creatinine, µmol/L.
    pub serum_creatinine_umol_l: Option<f64>,
    /// eGFR, mL/min/1.73 m².
    pub egfr_ml_min_1_73m2: Option<f64>,
    /// Creatinine clearance, mL/min.
    pub crcl_ml_min: Option<f64>,
    /// Child–Pugh class.
    pub child_pugh: Option<String>,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
}

const INSERT_PATIENT: &str = "INSERT INTO patients (demo_name, date_of_birth, age_days, weight_kg, height_cm, sex, \
     pregnant, allergies, active_medications, halal_preference, serum_creatinine_umol_l, egfr_ml_min_1_73m2, \
     crcl_ml_min, child_pugh, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING *";

impl Tx {
    /// Stores a patient and returns it with its surrogate id.
    pub async fn insert_patient(&mut self, new: &NewPatient) -> Result<Patient> {
        let now = self.now();
        let patient = on_conn!(self, |c| {
            sqlx::query_as::<_, Patient>(INSERT_PATIENT)
                .bind(&new.demo_name)
                .bind(new.date_of_birth)
                .bind(new.age_days)
                .bind(new.weight_kg)
                .bind(new.height_cm)
                .bind(&new.sex)
                .bind(new.pregnant)
                .bind(Json(&new.allergies))
                .bind(Json(&new.active_medications))
                .bind(&new.halal_preference)
                .bind(new.serum_creatinine_umol_l)
                .bind(new.egfr_ml_min_1_73m2)
                .bind(new.crcl_ml_min)
                .bind(&new.child_pugh)
                .bind(now)
                .fetch_one(c)
                .await
        })?;
        Ok(patient)
    }

    /// The patient with this id.
    pub async fn get_patient(&mut self, id: i64) -> Result<Patient> {
        let patient = on_conn!(self, |c| {
            sqlx::query_as::<_, Patient>("SELECT * FROM patients WHERE id = $1").bind(id).fetch_optional(c).await
        })?;
        patient.ok_or_else(|| Error::NotFound(format!("patient {id}")))
    }

    /// All patients, by id.
    pub async fn list_patients(&mut self) -> Result<Vec<Patient>> {
        let patients = on_conn!(self, |c| {
            sqlx::query_as::<_, Patient>("SELECT * FROM patients ORDER BY id").fetch_all(c).await
        })?;
        Ok(patients)
    }
}
