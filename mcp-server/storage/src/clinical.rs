//! What happens to a prescription on its way through the gate: verifications and the alerts
//! they raised, agent proposals, pharmacist approvals, counselling, adverse-event blocks.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;

use crate::connect::Tx;
use crate::error::{Error, Result};

/// A verification result to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewVerification {
    /// Prescription id.
    pub rx_id: i64,
    /// The whole `verify_prescription` result, as the server's wire JSON.
    pub result: Value,
    /// Hash of `result` (what an approval is bound to).
    pub verification_hash: String,
    /// Knowledge snapshot version the checks ran against.
    pub knowledge_version: String,
    /// Knowledge snapshot hash the checks ran against.
    pub knowledge_hash: String,
}

/// A stored verification.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Verification {
    /// Surrogate id.
    pub id: i64,
    /// Prescription id.
    pub rx_id: i64,
    /// The result JSON.
    #[sqlx(json)]
    pub result: Value,
    /// Hash of the result.
    pub verification_hash: String,
    /// Knowledge snapshot version.
    pub knowledge_version: String,
    /// Knowledge snapshot hash.
    pub knowledge_hash: String,
    /// When it ran.
    pub created_at: DateTime<Utc>,
}

/// Which alert table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    /// Drug–drug interaction (`ddi_alerts`).
    Ddi,
    /// Allergy (`allergy_alerts`).
    Allergy,
}

/// An alert to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert {
    /// Prescription id.
    pub rx_id: i64,
    /// The verification that raised it.
    pub verification_id: Option<i64>,
    /// The prescription lines involved (two for a DDI between lines, one otherwise; none for
    /// an interaction with an active medication only).
    pub line_nos: Vec<i64>,
    /// `minor`, `moderate`, `major` or `contraindicated`.
    pub severity: String,
    /// The finding, as the server's wire JSON.
    pub payload: Value,
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Alert {
    /// Surrogate id (per table).
    pub id: i64,
    /// Prescription id.
    pub rx_id: i64,
    /// The verification that raised it.
    pub verification_id: Option<i64>,
    /// Lines involved.
    #[sqlx(json)]
    pub line_nos: Vec<i64>,
    /// Severity.
    pub severity: String,
    /// The finding.
    #[sqlx(json)]
    pub payload: Value,
    /// When it was raised.
    pub created_at: DateTime<Utc>,
}

/// An agent's proposed line decision, for a pharmacist to accept or not.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProposal {
    /// Prescription id.
    pub rx_id: i64,
    /// Line number.
    pub line_no: i64,
    /// Proposed action (`dispense`, `substitute`, `hold`, `cancel`).
    pub action: String,
    /// Why.
    pub rationale: String,
    /// The proposing principal.
    pub proposed_by: String,
}

/// A stored proposal.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Proposal {
    /// Surrogate id.
    pub id: i64,
    /// Prescription id.
    pub rx_id: i64,
    /// Line number.
    pub line_no: i64,
    /// Proposed action.
    pub action: String,
    /// Why.
    pub rationale: String,
    /// The proposing principal.
    pub proposed_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A pharmacist's decision on a line. Record it in the same transaction as the
/// [`Tx::update_item`] that applies it, so a lost race leaves no approval behind.
#[derive(Debug, Clone, PartialEq)]
pub struct NewApproval {
    /// Prescription id.
    pub rx_id: i64,
    /// Line number.
    pub line_no: i64,
    /// The pharmacist.
    pub pharmacist: String,
    /// `dispense`, `substitute`, `hold` or `cancel`.
    pub action: String,
    /// Reason given.
    pub reason: Option<String>,
    /// Written justification (required by policy for a major finding).
    pub justification: Option<String>,
    /// Hash of what the pharmacist saw (verification + proposal).
    pub view_hash: String,
}

/// A stored approval.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Approval {
    /// Surrogate id.
    pub id: i64,
    /// Prescription id.
    pub rx_id: i64,
    /// Line number.
    pub line_no: i64,
    /// The pharmacist.
    pub pharmacist: String,
    /// The decision.
    pub action: String,
    /// Reason given.
    pub reason: Option<String>,
    /// Written justification.
    pub justification: Option<String>,
    /// Hash of what the pharmacist saw.
    pub view_hash: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A completed counselling checklist.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCounselling {
    /// Prescription id.
    pub rx_id: i64,
    /// The checklist, as the server's wire JSON.
    pub checklist: Value,
    /// Who counselled.
    pub done_by: String,
}

/// A stored counselling record.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Counselling {
    /// Surrogate id.
    pub id: i64,
    /// Prescription id.
    pub rx_id: i64,
    /// The checklist.
    #[sqlx(json)]
    pub checklist: Value,
    /// Who counselled.
    pub done_by: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// An adverse-event report: blocks dispensing drugs of `drug_class` to the patient until lifted.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAdverseEvent {
    /// Patient id.
    pub patient_id: i64,
    /// The drug class blocked.
    pub drug_class: String,
    /// The drug that caused it, if known.
    pub drug: Option<String>,
    /// What happened.
    pub description: String,
    /// Who reported it.
    pub reported_by: String,
}

/// A stored adverse event.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AdverseEvent {
    /// Surrogate id.
    pub id: i64,
    /// Patient id.
    pub patient_id: i64,
    /// The drug class blocked.
    pub drug_class: String,
    /// The drug that caused it.
    pub drug: Option<String>,
    /// What happened.
    pub description: String,
    /// Who reported it.
    pub reported_by: String,
    /// When it was reported.
    pub at: DateTime<Utc>,
    /// The pharmacist who lifted the block, once lifted.
    pub lifted_by: Option<String>,
    /// Why it was lifted.
    pub lift_reason: Option<String>,
    /// When it was lifted.
    pub lifted_at: Option<DateTime<Utc>>,
}

impl Tx {
    /// Stores a verification result.
    pub async fn insert_verification(&mut self, new: &NewVerification) -> Result<Verification> {
        let now = self.now();
        let stored = on_conn!(self, |c| {
            sqlx::query_as::<_, Verification>(
                "INSERT INTO verifications (rx_id, result, verification_hash, knowledge_version, knowledge_hash, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
            )
            .bind(new.rx_id)
            .bind(Json(&new.result))
            .bind(&new.verification_hash)
            .bind(&new.knowledge_version)
            .bind(&new.knowledge_hash)
            .bind(now)
            .fetch_one(c)
            .await
        })?;
        Ok(stored)
    }

    /// The most recent verification of a prescription, if any.
    pub async fn latest_verification(&mut self, rx_id: i64) -> Result<Option<Verification>> {
        let found = on_conn!(self, |c| {
            sqlx::query_as::<_, Verification>("SELECT * FROM verifications WHERE rx_id = $1 ORDER BY id DESC LIMIT 1")
                .bind(rx_id)
                .fetch_optional(c)
                .await
        })?;
        Ok(found)
    }

    /// Stores an alert.
    pub async fn insert_alert(&mut self, kind: AlertKind, new: &NewAlert) -> Result<Alert> {
        let sql = match kind {
            AlertKind::Ddi => {
                "INSERT INTO ddi_alerts (rx_id, verification_id, line_nos, severity, payload, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING *"
            }
            AlertKind::Allergy => {
                "INSERT INTO allergy_alerts (rx_id, verification_id, line_nos, severity, payload, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING *"
            }
        };
        let now = self.now();
        let stored = on_conn!(self, |c| {
            sqlx::query_as::<_, Alert>(sql)
                .bind(new.rx_id)
                .bind(new.verification_id)
                .bind(Json(&new.line_nos))
                .bind(&new.severity)
                .bind(Json(&new.payload))
                .bind(now)
                .fetch_one(c)
                .await
        })?;
        Ok(stored)
    }

    /// Alerts of one kind on a prescription; with `verification_id`, only those that
    /// verification raised.
    pub async fn list_alerts(
        &mut self,
        kind: AlertKind,
        rx_id: i64,
        verification_id: Option<i64>,
    ) -> Result<Vec<Alert>> {
        let sql = match kind {
            AlertKind::Ddi => {
                "SELECT * FROM ddi_alerts WHERE rx_id = $1 AND ($2 IS NULL OR verification_id = $2) ORDER BY id"
            }
            AlertKind::Allergy => {
                "SELECT * FROM allergy_alerts WHERE rx_id = $1 AND ($2 IS NULL OR verification_id = $2) ORDER BY id"
            }
        };
        let alerts = on_conn!(self, |c| {
            sqlx::query_as::<_, Alert>(sql).bind(rx_id).bind(verification_id).fetch_all(c).await
        })?;
        Ok(alerts)
    }

    /// Stores an agent proposal.
    pub async fn insert_proposal(&mut self, new: &NewProposal) -> Result<Proposal> {
        let now = self.now();
        let stored = on_conn!(self, |c| {
            sqlx::query_as::<_, Proposal>(
                "INSERT INTO proposals (rx_id, line_no, action, rationale, proposed_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
            )
            .bind(new.rx_id)
            .bind(new.line_no)
            .bind(&new.action)
            .bind(&new.rationale)
            .bind(&new.proposed_by)
            .bind(now)
            .fetch_one(c)
            .await
        })?;
        Ok(stored)
    }

    /// Proposals on a prescription, oldest first.
    pub async fn list_proposals(&mut self, rx_id: i64) -> Result<Vec<Proposal>> {
        let found = on_conn!(self, |c| {
            sqlx::query_as::<_, Proposal>("SELECT * FROM proposals WHERE rx_id = $1 ORDER BY id")
                .bind(rx_id)
                .fetch_all(c)
                .await
        })?;
        Ok(found)
    }

    /// Stores a pharmacist's decision (see [`NewApproval`] for the race rule).
    pub async fn insert_approval(&mut self, new: &NewApproval) -> Result<Approval> {
        let now = self.now();
        let stored = on_conn!(self, |c| {
            sqlx::query_as::<_, Approval>(
                "INSERT INTO approvals (rx_id, line_no, pharmacist, action, reason, justification, view_hash, at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
            )
            .bind(new.rx_id)
            .bind(new.line_no)
            .bind(&new.pharmacist)
            .bind(&new.action)
            .bind(&new.reason)
            .bind(&new.justification)
            .bind(&new.view_hash)
            .bind(now)
            .fetch_one(c)
            .await
        })?;
        Ok(stored)
    }

    /// Approvals on a prescription, oldest first.
    pub async fn list_approvals(&mut self, rx_id: i64) -> Result<Vec<Approval>> {
        let found = on_conn!(self, |c| {
            sqlx::query_as::<_, Approval>("SELECT * FROM approvals WHERE rx_id = $1 ORDER BY id")
                .bind(rx_id)
                .fetch_all(c)
                .await
        })?;
        Ok(found)
    }

    /// Stores a completed counselling checklist.
    pub async fn insert_counselling(&mut self, new: &NewCounselling) -> Result<Counselling> {
        let now = self.now();
        let stored = on_conn!(self, |c| {
            sqlx::query_as::<_, Counselling>(
                "INSERT INTO counselling (rx_id, checklist, done_by, at) VALUES ($1, $2, $3, $4) RETURNING *",
            )
            .bind(new.rx_id)
            .bind(Json(&new.checklist))
            .bind(&new.done_by)
            .bind(now)
            .fetch_one(c)
            .await
        })?;
        Ok(stored)
    }

    /// The most recent counselling record of a prescription, if any.
    pub async fn latest_counselling(&mut self, rx_id: i64) -> Result<Option<Counselling>> {
        let found = on_conn!(self, |c| {
            sqlx::query_as::<_, Counselling>("SELECT * FROM counselling WHERE rx_id = $1 ORDER BY id DESC LIMIT 1")
                .bind(rx_id)
                .fetch_optional(c)
                .await
        })?;
        Ok(found)
    }

    /// Records an adverse event (which blocks its drug class for the patient at once).
    pub async fn insert_adverse_event(&mut self, new: &NewAdverseEvent) -> Result<AdverseEvent> {
        let now = self.now();
        let stored = on_conn!(self, |c| {
            sqlx::query_as::<_, AdverseEvent>(
                "INSERT INTO adverse_events (patient_id, drug_class, drug, description, reported_by, at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
            )
            .bind(new.patient_id)
            .bind(&new.drug_class)
            .bind(&new.drug)
            .bind(&new.description)
            .bind(&new.reported_by)
            .bind(now)
            .fetch_one(c)
            .await
        })?;
        Ok(stored)
    }

    /// Adverse events of a patient; with `active_only`, only those not lifted (the blocks in force).
    pub async fn list_adverse_events(&mut self, patient_id: i64, active_only: bool) -> Result<Vec<AdverseEvent>> {
        let found = on_conn!(self, |c| {
            sqlx::query_as::<_, AdverseEvent>(
                "SELECT * FROM adverse_events WHERE patient_id = $1 AND (lifted_at IS NULL OR NOT $2) ORDER BY id",
            )
            .bind(patient_id)
            .bind(active_only)
            .fetch_all(c)
            .await
        })?;
        Ok(found)
    }

    /// Lifts an adverse-event block. [`Error::Conflict`] if it was already lifted,
    /// [`Error::NotFound`] if there is no such event.
    pub async fn lift_adverse_event(&mut self, id: i64, lifted_by: &str, reason: &str) -> Result<AdverseEvent> {
        let now = self.now();
        let lifted = on_conn!(self, |c| {
            sqlx::query_as::<_, AdverseEvent>(
                "UPDATE adverse_events SET lifted_by = $1, lift_reason = $2, lifted_at = $3 \
                 WHERE id = $4 AND lifted_at IS NULL RETURNING *",
            )
            .bind(lifted_by)
            .bind(reason)
            .bind(now)
            .bind(id)
            .fetch_optional(c)
            .await
        })?;
        match lifted {
            Some(event) => Ok(event),
            None => {
                let exists = on_conn!(self, |c| {
                    sqlx::query_scalar::<_, i64>("SELECT id FROM adverse_events WHERE id = $1")
                        .bind(id)
                        .fetch_optional(c)
                        .await
                })?;
                match exists {
                    Some(_) => Err(Error::Conflict(format!("adverse event {id} was already lifted"))),
                    None => Err(Error::NotFound(format!("adverse event {id}"))),
                }
            }
        }
    }
}
