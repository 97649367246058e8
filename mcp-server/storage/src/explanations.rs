//! Plain-language explanations of the findings of a stored verification (issue 7). The
//! server guards the text before it calls [`Tx::put_explanation`]; this module keeps what it
//! is given, one row per (verification, finding, language, audience). The vetted template
//! comes first so a pharmacist reads something at once; a model text arriving later replaces
//! it in place, once, and nothing else ever changes a stored row (migration 0008's trigger
//! refuses it).

use chrono::{DateTime, Utc};

use crate::connect::Tx;
use crate::error::{Error, Result};

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
    /// When a model text replaced the template this row was created with; `None` while the
    /// row holds its first text.
    pub upgraded_at: Option<DateTime<Utc>>,
}

/// What [`Tx::put_explanation`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutOutcome {
    /// A new row: nothing was stored for this key before.
    Stored,
    /// A model text replaced the template stored for this key. `replaced` is that template
    /// as it was, for the audit record (the row itself now holds the model text). It is
    /// `None` only when, on PostgreSQL, another transaction stored the template after this
    /// one looked and before it wrote: the template's text is then not known here.
    Upgraded { replaced: Option<Box<Explanation>> },
    /// The key already holds this source or a better one (a repost, or a template arriving
    /// after the model text): the stored row is returned as it is.
    Unchanged,
}

impl Tx {
    /// Stores an explanation, upgrades a stored template to model text, or leaves the stored
    /// row as it is; returns the row as it now stands and which of the three happened.
    ///
    /// One upsert decides, so two writers racing on a key (several agents, several server
    /// processes on PostgreSQL) still end with at most one upgrade and never a downgrade.
    pub async fn put_explanation(&mut self, new: &NewExplanation) -> Result<(Explanation, PutOutcome)> {
        let now = self.now();
        // Read first only to keep the template's text for the audit: a template row never
        // changes except by the upgrade below, so what is read here is what gets replaced.
        let before = self.find_explanation(new).await?;
        let written = on_conn!(self, |c| {
            sqlx::query_as::<_, Explanation>(
                "INSERT INTO explanations (rx_id, verification_id, line_no, finding_key, language, audience, text, \
                 source, model, prompt_version, facts_hash, generated_tokens, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                 ON CONFLICT (verification_id, finding_key, language, audience) DO UPDATE SET \
                 text = excluded.text, source = excluded.source, model = excluded.model, \
                 prompt_version = excluded.prompt_version, generated_tokens = excluded.generated_tokens, \
                 created_by = excluded.created_by, upgraded_at = excluded.created_at \
                 WHERE explanations.source = 'template' AND excluded.source = 'llm' \
                 AND explanations.facts_hash = excluded.facts_hash \
                 RETURNING *",
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
        match written {
            // A fresh row never has `upgraded_at`; only this statement's update can set it
            // on a row it returns, since a row is upgraded at most once.
            Some(row) if row.upgraded_at.is_some() => {
                let replaced = before.filter(|b| b.id == row.id && b.source == "template").map(Box::new);
                Ok((row, PutOutcome::Upgraded { replaced }))
            }
            Some(row) => Ok((row, PutOutcome::Stored)),
            None => {
                // Read again rather than return `before`: on PostgreSQL another transaction
                // may have stored or upgraded the row since (this statement waited for it).
                let existing = self.find_explanation(new).await?.ok_or_else(|| {
                    Error::Conflict(format!("explanation {} changed while it was written", new.finding_key))
                })?;
                Ok((existing, PutOutcome::Unchanged))
            }
        }
    }

    /// The row stored for `new`'s verification, finding, language and audience, if any.
    async fn find_explanation(&mut self, new: &NewExplanation) -> Result<Option<Explanation>> {
        let row = on_conn!(self, |c| {
            sqlx::query_as::<_, Explanation>(
                "SELECT * FROM explanations WHERE verification_id = $1 AND finding_key = $2 AND language = $3 \
                 AND audience = $4",
            )
            .bind(new.verification_id)
            .bind(&new.finding_key)
            .bind(&new.language)
            .bind(&new.audience)
            .fetch_optional(c)
            .await
        })?;
        Ok(row)
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
