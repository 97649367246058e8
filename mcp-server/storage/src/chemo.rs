//! Chemotherapy orders, regimen publications and the qualifications a token role does not
//! carry (issue 9). The workflow rules are `rxgate-regimen`'s; this module keeps what the
//! server gives it and enforces only what the database can: four-eyes on publication (a
//! `CHECK`), optimistic versions on orders.

use chrono::{DateTime, Utc};

use crate::connect::Tx;
use crate::error::{Error, Result};

/// An order to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChemoOrder {
    pub patient_id: String,
    pub regimen_id: String,
    pub regimen_version: String,
    pub cycle: i64,
    pub day: i64,
    /// The `regimen_eval` input, JSON.
    pub request: String,
    /// Hard stops and holds of the evaluation, JSON.
    pub findings: String,
    pub created_by: String,
}

/// A stored order.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChemoOrderRow {
    pub id: i64,
    pub patient_id: String,
    pub regimen_id: String,
    pub regimen_version: String,
    pub cycle: i64,
    pub day: i64,
    pub request: String,
    pub findings: String,
    /// Accepted workflow actions, JSON array, oldest first.
    pub actions: String,
    pub version: i64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A regimen version proposed for, or published into, the library.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RegimenPublication {
    pub id: i64,
    pub regimen_id: String,
    pub version: String,
    pub content_hash: String,
    pub author: String,
    pub approver: Option<String>,
    pub proposed_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
}

impl Tx {
    pub async fn insert_chemo_order(&mut self, new: &NewChemoOrder) -> Result<ChemoOrderRow> {
        let now = self.now();
        let row = on_conn!(self, |c| {
            sqlx::query_as::<_, ChemoOrderRow>(
                "INSERT INTO chemo_orders (patient_id, regimen_id, regimen_version, cycle, day, request, findings, \
                 created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING *",
            )
            .bind(&new.patient_id)
            .bind(&new.regimen_id)
            .bind(&new.regimen_version)
            .bind(new.cycle)
            .bind(new.day)
            .bind(&new.request)
            .bind(&new.findings)
            .bind(&new.created_by)
            .bind(now)
            .fetch_one(c)
            .await
        })?;
        Ok(row)
    }

    pub async fn get_chemo_order(&mut self, id: i64) -> Result<ChemoOrderRow> {
        let row = on_conn!(self, |c| {
            sqlx::query_as::<_, ChemoOrderRow>("SELECT * FROM chemo_orders WHERE id = $1")
                .bind(id)
                .fetch_optional(c)
                .await
        })?;
        row.ok_or_else(|| Error::NotFound(format!("chemotherapy order {id}")))
    }

    /// The newest `limit` orders, newest first.
    pub async fn list_chemo_orders(&mut self, limit: i64) -> Result<Vec<ChemoOrderRow>> {
        let rows = on_conn!(self, |c| {
            sqlx::query_as::<_, ChemoOrderRow>("SELECT * FROM chemo_orders ORDER BY id DESC LIMIT $1")
                .bind(limit)
                .fetch_all(c)
                .await
        })?;
        Ok(rows)
    }

    /// Replaces the action log if the stored version is still `version`; otherwise
    /// [`Error::Conflict`] (someone acted on the order first).
    pub async fn update_chemo_actions(&mut self, id: i64, version: i64, actions: &str) -> Result<ChemoOrderRow> {
        let now = self.now();
        let row = on_conn!(self, |c| {
            sqlx::query_as::<_, ChemoOrderRow>(
                "UPDATE chemo_orders SET actions = $1, version = version + 1, updated_at = $2 \
                 WHERE id = $3 AND version = $4 RETURNING *",
            )
            .bind(actions)
            .bind(now)
            .bind(id)
            .bind(version)
            .fetch_optional(c)
            .await
        })?;
        match row {
            Some(r) => Ok(r),
            None => {
                let current = self.get_chemo_order(id).await?;
                Err(Error::Conflict(format!(
                    "chemotherapy order {id} is at version {}, not {version}",
                    current.version
                )))
            }
        }
    }

    /// Records a proposal; a second proposal of the same version is refused.
    pub async fn propose_regimen(
        &mut self,
        regimen_id: &str,
        version: &str,
        content_hash: &str,
        author: &str,
    ) -> Result<RegimenPublication> {
        let now = self.now();
        let row = on_conn!(self, |c| {
            sqlx::query_as::<_, RegimenPublication>(
                "INSERT INTO regimen_publications (regimen_id, version, content_hash, author, proposed_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (regimen_id, version) DO NOTHING RETURNING *",
            )
            .bind(regimen_id)
            .bind(version)
            .bind(content_hash)
            .bind(author)
            .bind(now)
            .fetch_optional(c)
            .await
        })?;
        row.ok_or_else(|| Error::Conflict(format!("{regimen_id} version {version} was already proposed")))
    }

    pub async fn get_regimen_publication(
        &mut self,
        regimen_id: &str,
        version: &str,
    ) -> Result<Option<RegimenPublication>> {
        let row = on_conn!(self, |c| {
            sqlx::query_as::<_, RegimenPublication>(
                "SELECT * FROM regimen_publications WHERE regimen_id = $1 AND version = $2",
            )
            .bind(regimen_id)
            .bind(version)
            .fetch_optional(c)
            .await
        })?;
        Ok(row)
    }

    /// Publishes a proposal. The database refuses an approver who is the author.
    pub async fn publish_regimen(&mut self, id: i64, approver: &str) -> Result<RegimenPublication> {
        let now = self.now();
        let row = on_conn!(self, |c| {
            sqlx::query_as::<_, RegimenPublication>(
                "UPDATE regimen_publications SET approver = $1, published_at = $2 \
                 WHERE id = $3 AND approver IS NULL RETURNING *",
            )
            .bind(approver)
            .bind(now)
            .bind(id)
            .fetch_optional(c)
            .await
        })?;
        row.ok_or_else(|| Error::Conflict(format!("regimen publication {id} is already published")))
    }

    pub async fn add_chemo_qualification(&mut self, subject: &str, qualification: &str) -> Result<()> {
        on_conn!(self, |c| {
            sqlx::query(
                "INSERT INTO chemo_qualifications (subject, qualification) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(subject)
            .bind(qualification)
            .execute(c)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    pub async fn has_chemo_qualification(&mut self, subject: &str, qualification: &str) -> Result<bool> {
        let row: Option<(String,)> = on_conn!(self, |c| {
            sqlx::query_as("SELECT subject FROM chemo_qualifications WHERE subject = $1 AND qualification = $2")
                .bind(subject)
                .bind(qualification)
                .fetch_optional(c)
                .await
        })?;
        Ok(row.is_some())
    }
}
