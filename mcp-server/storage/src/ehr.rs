//! What the EHR link needs beyond intake: patients found again by the EHR's identifiers,
//! orders the prescriber changed, and hand-overs reversed (migration 0007).

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use crate::connect::Tx;
use crate::error::{Error, Result};
use crate::{DispenseRecord, NewPatient, Patient, PrescriptionItem};

/// A reversed hand-over.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DispenseReversal {
    /// The dispense it reverses (one reversal per dispense).
    pub dispense_id: i64,
    /// `declined` (the patient did not take it) or `entered_in_error`.
    pub reason_code: String,
    /// The pharmacist's words.
    pub reason: String,
    /// Whether the units went back on the shelf (sealed and fit for use).
    pub restocked: bool,
    /// Who reversed it.
    pub reversed_by: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A new order content for a line (what a PRESCRIPTION_CHANGE brings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemOrder {
    /// Drug name as resolved.
    pub drug: String,
    /// Dose value (exact decimal text).
    pub dose_value: String,
    /// Dose unit.
    pub dose_unit: String,
    /// Frequency.
    pub frequency: String,
    /// Route.
    pub route: String,
    /// Duration in days.
    pub duration_days: Option<i64>,
}

impl Tx {
    /// The patients these `(system, value)` identifiers belong to, without repeats.
    pub async fn patients_by_identifiers(&mut self, identifiers: &[(String, String)]) -> Result<Vec<i64>> {
        let mut found = Vec::new();
        for (system, value) in identifiers {
            let id = on_conn!(self, |c| {
                sqlx::query_scalar::<_, i64>(
                    "SELECT patient_id FROM patient_identifiers WHERE system = $1 AND value = $2",
                )
                .bind(system)
                .bind(value)
                .fetch_optional(c)
                .await
            })?;
            if let Some(id) = id
                && !found.contains(&id)
            {
                found.push(id);
            }
        }
        Ok(found)
    }

    /// Records identifiers for a patient; one already held by this patient is left as is,
    /// one held by another patient is a [`Error::Conflict`].
    pub async fn add_patient_identifiers(&mut self, patient_id: i64, identifiers: &[(String, String)]) -> Result<()> {
        let now = self.now();
        for (system, value) in identifiers {
            let inserted = on_conn!(self, |c| {
                sqlx::query(
                    "INSERT INTO patient_identifiers (system, value, patient_id, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (system, value) DO NOTHING",
                )
                .bind(system)
                .bind(value)
                .bind(patient_id)
                .bind(now)
                .execute(c)
                .await
                .map(|r| r.rows_affected())
            })?;
            if inserted == 0 {
                let owner = self.patients_by_identifiers(&[(system.clone(), value.clone())]).await?;
                if owner != [patient_id] {
                    return Err(Error::Conflict(format!("identifier {system}|{value} belongs to another patient")));
                }
            }
        }
        Ok(())
    }

    /// The EHR's identifiers of a patient, as `(system, value)`.
    pub async fn patient_identifiers(&mut self, patient_id: i64) -> Result<Vec<(String, String)>> {
        let rows = on_conn!(self, |c| {
            sqlx::query_as::<_, (String, String)>(
                "SELECT system, value FROM patient_identifiers WHERE patient_id = $1 ORDER BY system, value",
            )
            .bind(patient_id)
            .fetch_all(c)
            .await
        })?;
        Ok(rows)
    }

    /// Replaces the clinical data of a patient with `new`'s (not the display name, not the
    /// halal preference: those are the pharmacy's, not the EHR's).
    pub async fn update_patient_clinical(&mut self, id: i64, new: &NewPatient) -> Result<Patient> {
        let patient = on_conn!(self, |c| {
            sqlx::query_as::<_, Patient>(
                "UPDATE patients SET date_of_birth = $1, age_days = $2, weight_kg = $3, height_cm = $4, sex = $5, \
                 allergies = $6, active_medications = $7, serum_creatinine_umol_l = $8, egfr_ml_min_1_73m2 = $9 \
                 WHERE id = $10 RETURNING *",
            )
            .bind(new.date_of_birth)
            .bind(new.age_days)
            .bind(new.weight_kg)
            .bind(new.height_cm)
            .bind(&new.sex)
            .bind(Json(&new.allergies))
            .bind(Json(&new.active_medications))
            .bind(new.serum_creatinine_umol_l)
            .bind(new.egfr_ml_min_1_73m2)
            .bind(id)
            .fetch_optional(c)
            .await
        })?;
        patient.ok_or_else(|| Error::NotFound(format!("patient {id}")))
    }

    /// Writes a changed order over a line's content (drug, dose, frequency, route,
    /// duration) at `version`; the status columns are [`Tx::update_item`]'s.
    pub async fn amend_item_order(
        &mut self,
        rx_id: i64,
        line_no: i64,
        version: i64,
        order: &ItemOrder,
    ) -> Result<PrescriptionItem> {
        let now = self.now();
        let updated = on_conn!(self, |c| {
            sqlx::query_as::<_, PrescriptionItem>(
                "UPDATE prescription_items SET drug = $1, dose_value = $2, dose_unit = $3, frequency = $4, route = $5, \
                 duration_days = $6, version = version + 1, updated_at = $7 \
                 WHERE rx_id = $8 AND line_no = $9 AND version = $10 RETURNING *",
            )
            .bind(&order.drug)
            .bind(&order.dose_value)
            .bind(&order.dose_unit)
            .bind(&order.frequency)
            .bind(&order.route)
            .bind(order.duration_days)
            .bind(now)
            .bind(rx_id)
            .bind(line_no)
            .bind(version)
            .fetch_optional(c)
            .await
        })?;
        updated.ok_or_else(|| Error::Conflict(format!("prescription {rx_id} line {line_no} changed meanwhile")))
    }

    /// Points a line at the EHR order that replaced its old one.
    pub async fn relink_rx_line(&mut self, rx_id: i64, line_no: i64, ehr_request: &str) -> Result<()> {
        on_conn!(self, |c| {
            sqlx::query("UPDATE interop_rx_links SET ehr_request = $1 WHERE rx_id = $2 AND line_no = $3")
                .bind(ehr_request)
                .bind(rx_id)
                .bind(line_no)
                .execute(c)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// The line an EHR order is linked to, if any.
    pub async fn line_of_ehr_request(&mut self, ehr_request: &str) -> Result<Option<(i64, i64)>> {
        let found = on_conn!(self, |c| {
            sqlx::query_as::<_, (i64, i64)>("SELECT rx_id, line_no FROM interop_rx_links WHERE ehr_request = $1")
                .bind(ehr_request)
                .fetch_optional(c)
                .await
        })?;
        Ok(found)
    }

    /// Records the reversal of `dispense` and, when `restock`, puts its units back on its
    /// lot. A second reversal of the same dispense is a [`Error::Conflict`].
    pub async fn reverse_dispense(
        &mut self,
        dispense: &DispenseRecord,
        reason_code: &str,
        reason: &str,
        restock: bool,
        by: &str,
    ) -> Result<DispenseReversal> {
        let now = self.now();
        let inserted = on_conn!(self, |c| {
            sqlx::query_as::<_, DispenseReversal>(
                "INSERT INTO dispense_reversals (dispense_id, reason_code, reason, restocked, reversed_by, at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dispense_id) DO NOTHING RETURNING *",
            )
            .bind(dispense.id)
            .bind(reason_code)
            .bind(reason)
            .bind(restock)
            .bind(by)
            .bind(now)
            .fetch_optional(c)
            .await
        })?;
        let reversal =
            inserted.ok_or_else(|| Error::Conflict(format!("dispense {} was already reversed", dispense.id)))?;
        if restock {
            on_conn!(self, |c| {
                sqlx::query(
                    "UPDATE inventory SET qty_on_hand = qty_on_hand + $1, updated_at = $2 WHERE product = $3 AND lot = $4",
                )
                .bind(dispense.quantity)
                .bind(now)
                .bind(&dispense.product)
                .bind(&dispense.lot)
                .execute(c)
                .await
                .map(|r| r.rows_affected())
            })?;
        }
        Ok(reversal)
    }

    /// Reversals of a prescription's dispenses, oldest first.
    pub async fn list_reversals(&mut self, rx_id: i64) -> Result<Vec<DispenseReversal>> {
        let rows = on_conn!(self, |c| {
            sqlx::query_as::<_, DispenseReversal>(
                "SELECT r.* FROM dispense_reversals r JOIN dispense_log d ON d.id = r.dispense_id \
                 WHERE d.rx_id = $1 ORDER BY r.at, r.dispense_id",
            )
            .bind(rx_id)
            .fetch_all(c)
            .await
        })?;
        Ok(rows)
    }

    /// Reversed dispenses that have no outbound event of `kind` yet (the sync worker's feed).
    pub async fn reversals_without_event(&mut self, kind: &str, limit: i64) -> Result<Vec<DispenseRecord>> {
        let rows = on_conn!(self, |c| {
            sqlx::query_as::<_, DispenseRecord>(
                "SELECT d.* FROM dispense_log d JOIN dispense_reversals r ON r.dispense_id = d.id \
                 WHERE NOT EXISTS (SELECT 1 FROM interop_events e WHERE e.direction = 'outbound' AND e.kind = $1 \
                 AND e.natural_key = $1 || ':dispense:' || d.id) ORDER BY d.id LIMIT $2",
            )
            .bind(kind)
            .bind(limit)
            .fetch_all(c)
            .await
        })?;
        Ok(rows)
    }

    /// The reversal of a dispense, if it was reversed.
    pub async fn reversal_of(&mut self, dispense_id: i64) -> Result<Option<DispenseReversal>> {
        let row = on_conn!(self, |c| {
            sqlx::query_as::<_, DispenseReversal>("SELECT * FROM dispense_reversals WHERE dispense_id = $1")
                .bind(dispense_id)
                .fetch_optional(c)
                .await
        })?;
        Ok(row)
    }

    /// Records the cards a CDS service answered with (a uuid seen before is left as is).
    pub async fn record_cds_cards(&mut self, service: &str, uuids: &[String]) -> Result<()> {
        let now = self.now();
        for uuid in uuids {
            on_conn!(self, |c| {
                sqlx::query(
                    "INSERT INTO cds_cards (uuid, service, issued_at) VALUES ($1, $2, $3) ON CONFLICT (uuid) DO NOTHING",
                )
                .bind(uuid)
                .bind(service)
                .bind(now)
                .execute(c)
                .await
                .map(|r| r.rows_affected())
            })?;
        }
        Ok(())
    }

    /// Claims a CDS client token id: `true` the first time `(issuer, jti)` is seen, `false`
    /// for a replay, whichever instance saw it first. Ids of expired tokens are forgotten
    /// (a replayed expired token fails on its `exp` before it gets here).
    pub async fn claim_cds_token_id(&mut self, issuer: &str, jti: &str, expires_at: DateTime<Utc>) -> Result<bool> {
        let now = self.now();
        on_conn!(self, |c| {
            sqlx::query("DELETE FROM cds_token_ids WHERE expires_at < $1")
                .bind(now)
                .execute(c)
                .await
                .map(|r| r.rows_affected())
        })?;
        let inserted = on_conn!(self, |c| {
            sqlx::query(
                "INSERT INTO cds_token_ids (issuer, jti, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (issuer, jti) DO NOTHING",
            )
            .bind(issuer)
            .bind(jti)
            .bind(expires_at)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(inserted == 1)
    }

    /// The service that issued a card, if this server issued it.
    pub async fn cds_card_service(&mut self, uuid: &str) -> Result<Option<String>> {
        let found = on_conn!(self, |c| {
            sqlx::query_scalar::<_, String>("SELECT service FROM cds_cards WHERE uuid = $1")
                .bind(uuid)
                .fetch_optional(c)
                .await
        })?;
        Ok(found)
    }
}
