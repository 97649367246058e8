//! Plain-language explanations of the findings of a stored verification (issue 7). The
//! server guards the text before it calls [`Tx::insert_explanation`]; this module only
//! keeps what it is given, once per (verification, finding, language, audience).

use chrono::{DateTime, Utc};

use crate::connect::Tx;
use crate::error::Result;

/// An explanation to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewExplanation {
    pub rx_id: i64,
    /// The stored verification whose finding is explained.
    pub verification_id: i64,
    pub line_no: Option<i64>,
    /// The finding within that verification (`ddi:amlodipine+clarithromycin`).
    pub finding_key: String,
    /// `en` or `ms`.
    pub language: String,
    /// `pharmacist` or `patient`.
    pub audience: String,
    pub text: String,
    /// `llm` or `template`.
    pub source: String,
    pub model: Option<String>,
    pub prompt_version: String,
    /// SHA-256 of the facts the text was checked against.
    pub facts_hash: String,
    pub generated_tokens: i64,
    /// Who posted it (the agent's token subject).
    pub created_by: String,
}

/// A stored explanation.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Explanation {
    pub id: i64,
    pub rx_id: i64,
    pub verification_id: i64,
    pub line_no: Option<i64>,
    pub finding_key: String,
    pub language: String,
    pub audience: String,
    pub text: String,
    pub source: String,
    pub model: Option<String>,
    pub prompt_version: String,
    pub facts_hash: String,
    pub generated_tokens: i64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl Tx {
    /// Stores an explanation, or returns the one already stored for the same verification,
    /// finding, language and audience (`true` when it is that earlier one).
    pub async fn insert_explanation(&mut self, new: &NewExplanation) -> Result<(Explanation, bool)> {
        let now = self.now();
        let inserted = on_conn!(self, |c| {
            sqlx::query_as::<_, Explanation>(
                "INSERT INTO explanations (rx_id, verification_id, line_no, finding_key, language, audience, text, \
                 source, model, prompt_version, facts_hash, generated_tokens, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                 ON CONFLICT (verification_id, finding_key, language, audience) DO NOTHING RETURNING *",
            )
            .bind(new.rx_id)
            .bind(new.verification_id)
            .bind(new.line_no)
            .bind(&new.finding_key)
            .bind(&new.language)
            .bind(&new.audience)
            .bind(&new.text)
            .bind(&new.source)
            .bind(&new.model)
            .bind(&new.prompt_version)
            .bind(&new.facts_hash)
            .bind(new.generated_tokens)
            .bind(&new.created_by)
            .bind(now)
            .fetch_optional(c)
            .await
        })?;
        if let Some(e) = inserted {
            return Ok((e, false));
        }
        let existing = on_conn!(self, |c| {
            sqlx::query_as::<_, Explanation>(
                "SELECT * FROM explanations WHERE verification_id = $1 AND finding_key = $2 AND language = $3 \
                 AND audience = $4",
            )
            .bind(new.verification_id)
            .bind(&new.finding_key)
            .bind(&new.language)
            .bind(&new.audience)
            .fetch_one(c)
            .await
        })?;
        Ok((existing, true))
    }

    /// The explanations of a prescription's latest verification, in the order they were
    /// stored. Explanations of an earlier verification are kept (audit) but not listed: they
    /// explain findings that may no longer stand.
    pub async fn list_explanations(&mut self, rx_id: i64) -> Result<Vec<Explanation>> {
        let rows = on_conn!(self, |c| {
            sqlx::query_as::<_, Explanation>(
                "SELECT * FROM explanations WHERE rx_id = $1 AND verification_id = \
                 (SELECT MAX(id) FROM verifications WHERE rx_id = $1) ORDER BY id",
            )
            .bind(rx_id)
            .fetch_all(c)
            .await
        })?;
        Ok(rows)
    }

    /// Ids of prescriptions whose latest verification has no explanation yet, oldest first
    /// (what the explainer agent has left to do).
    pub async fn unexplained_verifications(&mut self, limit: i64) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = on_conn!(self, |c| {
            sqlx::query_as(
                "SELECT v.rx_id FROM verifications v WHERE v.id = (SELECT MAX(id) FROM verifications w \
                 WHERE w.rx_id = v.rx_id) AND NOT EXISTS (SELECT 1 FROM explanations e WHERE e.verification_id = v.id) \
                 ORDER BY v.id LIMIT $1",
            )
            .bind(limit)
            .fetch_all(c)
            .await
        })?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }
}
