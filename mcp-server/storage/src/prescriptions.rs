//! Prescriptions and their lines, with optimistic versions.

use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;

use crate::connect::Tx;
use crate::error::{Error, Result};

/// A prescription to insert, with its lines.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPrescription {
    /// The patient's surrogate id.
    pub patient_id: i64,
    /// Who prescribed it.
    pub prescriber: String,
    /// Initial state (the state machine's name, e.g. `RX_RECEIVED`).
    pub status: String,
    /// Knowledge snapshot hash in force when it was received, if any.
    pub knowledge_hash: Option<String>,
    /// Lines; `line_no` must be unique and positive.
    pub items: Vec<NewItem>,
}

/// A prescription line to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct NewItem {
    /// Line number, from 1.
    pub line_no: i64,
    /// Drug as prescribed (generic, brand or product code).
    pub drug: String,
    /// Dose amount as an exact decimal or fraction string (`"500"`, `"2.5"`, `"10/3"`): doses
    /// never pass through floating point.
    pub dose_value: String,
    /// UCUM unit of the dose.
    pub dose_unit: String,
    /// Frequency (`q8h`, `bd`, …).
    pub frequency: String,
    /// Route (`oral`, `iv`, …).
    pub route: String,
    /// Duration, if given.
    pub duration_days: Option<i64>,
    /// Initial line state.
    pub status: String,
}

/// A stored prescription.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Prescription {
    /// Surrogate id.
    pub id: i64,
    /// The patient's surrogate id.
    pub patient_id: i64,
    /// Who prescribed it.
    pub prescriber: String,
    /// Current state.
    pub status: String,
    /// Knowledge snapshot hash last verified against.
    pub knowledge_hash: Option<String>,
    /// Optimistic-concurrency version, 1 on insert, +1 on every update.
    pub version: i64,
    /// When it was received.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A stored prescription line. Read it, change the mutable fields, and write it back with
/// [`Tx::update_item`]; the write succeeds only if nobody else wrote it in between.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PrescriptionItem {
    /// Prescription id.
    pub rx_id: i64,
    /// Line number.
    pub line_no: i64,
    /// Drug as prescribed.
    pub drug: String,
    /// Exact dose amount (see [`NewItem::dose_value`]).
    pub dose_value: String,
    /// UCUM unit of the dose.
    pub dose_unit: String,
    /// Frequency.
    pub frequency: String,
    /// Route.
    pub route: String,
    /// Duration.
    pub duration_days: Option<i64>,
    /// Current line state (mutable).
    pub status: String,
    /// Pharmacist decision: `dispense`, `substitute`, `hold`, `cancel` (mutable).
    pub decision: Option<String>,
    /// Reason given with the decision (mutable).
    pub decision_reason: Option<String>,
    /// Written justification for overriding a major finding (mutable).
    pub justification: Option<String>,
    /// Pharmacist who decided (mutable).
    pub approved_by: Option<String>,
    /// Hash of the verification and proposal the pharmacist saw (mutable).
    pub approved_view_hash: Option<String>,
    /// Drug substituted, when the decision is `substitute` (mutable).
    pub substituted_drug: Option<String>,
    /// The barcode scan that matched this line (mutable).
    pub barcode_scan_id: Option<i64>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// Which prescriptions [`Tx::list_prescriptions`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFilter {
    /// Only these states; empty means all.
    pub statuses: Vec<String>,
    /// Only this patient's.
    pub patient_id: Option<i64>,
    /// Only ids greater than this (keyset paging).
    pub after_id: Option<i64>,
    /// At most this many; `None` means all.
    pub limit: Option<i64>,
}

const INSERT_RX: &str = "INSERT INTO prescriptions (patient_id, prescriber, status, knowledge_hash, version, \
     created_at, updated_at) VALUES ($1, $2, $3, $4, 1, $5, $5) RETURNING *";
const INSERT_ITEM: &str = "INSERT INTO prescription_items (rx_id, line_no, drug, dose_value, dose_unit, frequency, \
     route, duration_days, status, version, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10) RETURNING *";
const UPDATE_RX: &str = "UPDATE prescriptions SET status = $1, knowledge_hash = $2, version = version + 1, \
     updated_at = $3 WHERE id = $4 AND version = $5 RETURNING *";
const UPDATE_ITEM: &str = "UPDATE prescription_items SET status = $1, decision = $2, decision_reason = $3, \
     justification = $4, approved_by = $5, approved_view_hash = $6, substituted_drug = $7, barcode_scan_id = $8, \
     version = version + 1, updated_at = $9 WHERE rx_id = $10 AND line_no = $11 AND version = $12 RETURNING *";

impl Tx {
    /// Stores a prescription and its lines.
    pub async fn insert_prescription(
        &mut self,
        new: &NewPrescription,
    ) -> Result<(Prescription, Vec<PrescriptionItem>)> {
        let now = self.now();
        let rx = on_conn!(self, |c| {
            sqlx::query_as::<_, Prescription>(INSERT_RX)
                .bind(new.patient_id)
                .bind(&new.prescriber)
                .bind(&new.status)
                .bind(&new.knowledge_hash)
                .bind(now)
                .fetch_one(c)
                .await
        })?;
        let mut items = Vec::with_capacity(new.items.len());
        for item in &new.items {
            let stored = on_conn!(self, |c| {
                sqlx::query_as::<_, PrescriptionItem>(INSERT_ITEM)
                    .bind(rx.id)
                    .bind(item.line_no)
                    .bind(&item.drug)
                    .bind(&item.dose_value)
                    .bind(&item.dose_unit)
                    .bind(&item.frequency)
                    .bind(&item.route)
                    .bind(item.duration_days)
                    .bind(&item.status)
                    .bind(now)
                    .fetch_one(c)
                    .await
            })
            .map_err(|e| match Error::from(e) {
                Error::Duplicate(_) => Error::Duplicate(format!("prescription line {}", item.line_no)),
                other => other,
            })?;
            items.push(stored);
        }
        Ok((rx, items))
    }

    /// The prescription with this id.
    pub async fn get_prescription(&mut self, id: i64) -> Result<Prescription> {
        let rx = on_conn!(self, |c| {
            sqlx::query_as::<_, Prescription>("SELECT * FROM prescriptions WHERE id = $1")
                .bind(id)
                .fetch_optional(c)
                .await
        })?;
        rx.ok_or_else(|| Error::NotFound(format!("prescription {id}")))
    }

    /// The lines of a prescription, by line number (empty if it has none or does not exist).
    pub async fn list_items(&mut self, rx_id: i64) -> Result<Vec<PrescriptionItem>> {
        let items = on_conn!(self, |c| {
            sqlx::query_as::<_, PrescriptionItem>("SELECT * FROM prescription_items WHERE rx_id = $1 ORDER BY line_no")
                .bind(rx_id)
                .fetch_all(c)
                .await
        })?;
        Ok(items)
    }

    /// One line of a prescription.
    pub async fn get_item(&mut self, rx_id: i64, line_no: i64) -> Result<PrescriptionItem> {
        let item = on_conn!(self, |c| {
            sqlx::query_as::<_, PrescriptionItem>("SELECT * FROM prescription_items WHERE rx_id = $1 AND line_no = $2")
                .bind(rx_id)
                .bind(line_no)
                .fetch_optional(c)
                .await
        })?;
        item.ok_or_else(|| Error::NotFound(format!("prescription {rx_id} line {line_no}")))
    }

    /// Prescriptions matching `filter`, oldest first (the pharmacy queue).
    pub async fn list_prescriptions(&mut self, filter: &QueueFilter) -> Result<Vec<Prescription>> {
        fn build<DB: sqlx::Database>(filter: &QueueFilter) -> QueryBuilder<DB>
        where
            for<'t> String: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
            for<'t> i64: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
        {
            let mut q = QueryBuilder::new("SELECT * FROM prescriptions WHERE 1 = 1");
            if !filter.statuses.is_empty() {
                q.push(" AND status IN (");
                let mut list = q.separated(", ");
                for status in &filter.statuses {
                    list.push_bind(status.clone());
                }
                q.push(")");
            }
            if let Some(patient_id) = filter.patient_id {
                q.push(" AND patient_id = ").push_bind(patient_id);
            }
            if let Some(after_id) = filter.after_id {
                q.push(" AND id > ").push_bind(after_id);
            }
            q.push(" ORDER BY id");
            if let Some(limit) = filter.limit {
                q.push(" LIMIT ").push_bind(limit);
            }
            q
        }
        let rxs = on_conn!(self, |c| {
            let mut query = build(filter);
            query.build_query_as::<Prescription>().fetch_all(c).await
        })?;
        Ok(rxs)
    }

    /// Writes `rx.status` and `rx.knowledge_hash` if the stored version is still
    /// `rx.version`; returns the new row (version + 1), or [`Error::Conflict`] if someone else
    /// wrote it first.
    pub async fn update_prescription(&mut self, rx: &Prescription) -> Result<Prescription> {
        let now = self.now();
        let updated = on_conn!(self, |c| {
            sqlx::query_as::<_, Prescription>(UPDATE_RX)
                .bind(&rx.status)
                .bind(&rx.knowledge_hash)
                .bind(now)
                .bind(rx.id)
                .bind(rx.version)
                .fetch_optional(c)
                .await
        })?;
        match updated {
            Some(updated) => Ok(updated),
            None => {
                let current = self.get_prescription(rx.id).await?;
                Err(Error::Conflict(format!(
                    "prescription {} is at version {}, not {}",
                    rx.id, current.version, rx.version
                )))
            }
        }
    }

    /// Writes the mutable fields of `item` if the stored version is still `item.version`;
    /// returns the new row (version + 1), or [`Error::Conflict`] if someone else wrote it first.
    /// Of two pharmacists deciding the same line from the same read, exactly one succeeds.
    pub async fn update_item(&mut self, item: &PrescriptionItem) -> Result<PrescriptionItem> {
        let now = self.now();
        let updated = on_conn!(self, |c| {
            sqlx::query_as::<_, PrescriptionItem>(UPDATE_ITEM)
                .bind(&item.status)
                .bind(&item.decision)
                .bind(&item.decision_reason)
                .bind(&item.justification)
                .bind(&item.approved_by)
                .bind(&item.approved_view_hash)
                .bind(&item.substituted_drug)
                .bind(item.barcode_scan_id)
                .bind(now)
                .bind(item.rx_id)
                .bind(item.line_no)
                .bind(item.version)
                .fetch_optional(c)
                .await
        })?;
        match updated {
            Some(updated) => Ok(updated),
            None => {
                let current = self.get_item(item.rx_id, item.line_no).await?;
                Err(Error::Conflict(format!(
                    "prescription {} line {} is at version {}, not {}",
                    item.rx_id, item.line_no, current.version, item.version
                )))
            }
        }
    }
}
