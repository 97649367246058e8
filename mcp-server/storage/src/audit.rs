//! The append-only, hash-chained audit log.
//!
//! Appends are serialised through the single-row `audit_head` table: on PostgreSQL its row is
//! locked with `SELECT … FOR UPDATE` until the transaction ends, on SQLite the transaction
//! already holds the database write lock (`BEGIN IMMEDIATE`). So whatever the number of tasks
//! or server processes, `seq` has no gaps and every `prev_hash` is the `hash` of the entry
//! before it.
//!
//! The entry itself (its `seq`, `prev_hash` and `hash`) is built by the caller's closure from
//! the previous entry, typically `rxgate_guardrails::audit::chain(prev, draft)`; this crate
//! does not know how hashes are computed. [`AuditRecord`] mirrors the guardrails'
//! `AuditEntry` field for field (texts stored byte for byte), so converting is mechanical and
//! a stored entry hashes the same when read back.

use chrono::{DateTime, Utc};

use crate::connect::{Backend, Tx, check_micros};
use crate::error::{Error, Result};

/// One audit entry, as appended and as read back.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRecord {
    /// Position in the log, from 1, without gaps.
    pub seq: i64,
    /// When, in whole microseconds (what PostgreSQL keeps; see [`crate::truncate_to_micros`]).
    pub at: DateTime<Utc>,
    /// Who (a username or principal subject; never a patient name).
    pub actor: String,
    /// The actor's role (`pharmacist`, `agent`, …).
    pub role: String,
    /// What happened (`line_decided`, `patient_read`, …).
    pub action: String,
    /// The prescription concerned, as the text that was hashed.
    pub rx_id: Option<String>,
    /// The line concerned.
    pub line_no: Option<i64>,
    /// The state before, as JSON text (`""` when there was none), stored byte for byte.
    pub before: String,
    /// The state after, as JSON text, stored byte for byte.
    pub after: String,
    /// The request's correlation id.
    pub correlation_id: String,
    /// The previous entry's hash (the chain's genesis value for the first entry).
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

impl Tx {
    /// Appends the entry that `build` makes from the newest entry (`None` when the log is
    /// empty), and returns it as stored.
    ///
    /// `build` must continue the chain: `seq` one past the previous entry's (1 for the
    /// first) and, after the first, `prev_hash` equal to the previous entry's `hash`;
    /// otherwise [`Error::Invalid`] and nothing is written. Call it last in the transaction,
    /// after the change it records: both commit together or not at all, and the
    /// `audit_head` lock is held for the shortest time.
    pub async fn append_audit<F>(&mut self, build: F) -> Result<AuditRecord>
    where
        F: FnOnce(Option<&AuditRecord>) -> AuditRecord,
    {
        let lock_head = match self.backend() {
            Backend::Postgres => "SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE",
            Backend::Sqlite => "SELECT seq FROM audit_head WHERE id = 1",
        };
        let head_seq = on_conn!(self, |c| sqlx::query_scalar::<_, i64>(lock_head).fetch_one(c).await)?;
        let prev = if head_seq == 0 { None } else { Some(self.get_audit(head_seq).await?) };
        let entry = build(prev.as_ref());
        if entry.seq != head_seq + 1 {
            return Err(Error::Invalid(format!(
                "audit entry has seq {}, but the chain continues at {}",
                entry.seq,
                head_seq + 1
            )));
        }
        if let Some(prev) = &prev
            && entry.prev_hash != prev.hash
        {
            return Err(Error::Invalid(format!("audit entry {} does not link to entry {}", entry.seq, prev.seq)));
        }
        check_micros(entry.at, "audit entry time")?;
        let stored = on_conn!(self, |c| {
            sqlx::query_as::<_, AuditRecord>(
                "INSERT INTO audit_log (seq, at, actor, role, action, rx_id, line_no, before, after, correlation_id, \
                 prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *",
            )
            .bind(entry.seq)
            .bind(entry.at)
            .bind(&entry.actor)
            .bind(&entry.role)
            .bind(&entry.action)
            .bind(&entry.rx_id)
            .bind(entry.line_no)
            .bind(&entry.before)
            .bind(&entry.after)
            .bind(&entry.correlation_id)
            .bind(&entry.prev_hash)
            .bind(&entry.hash)
            .fetch_one(c)
            .await
        })?;
        on_conn!(self, |c| {
            sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
                .bind(stored.seq)
                .bind(&stored.hash)
                .execute(c)
                .await
                .map(|_| ())
        })?;
        Ok(stored)
    }

    /// The audit entry at `seq`.
    pub async fn get_audit(&mut self, seq: i64) -> Result<AuditRecord> {
        let found = on_conn!(self, |c| {
            sqlx::query_as::<_, AuditRecord>("SELECT * FROM audit_log WHERE seq = $1").bind(seq).fetch_optional(c).await
        })?;
        found.ok_or_else(|| Error::NotFound(format!("audit entry {seq}")))
    }

    /// Up to `limit` audit entries with `seq > after_seq`, in order (for `rxgate audit verify`
    /// and the console). Page with the last `seq` returned.
    pub async fn list_audit(&mut self, after_seq: i64, limit: i64) -> Result<Vec<AuditRecord>> {
        let found = on_conn!(self, |c| {
            sqlx::query_as::<_, AuditRecord>("SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2")
                .bind(after_seq)
                .bind(limit)
                .fetch_all(c)
                .await
        })?;
        Ok(found)
    }

    /// Audit entries about one prescription, in order.
    pub async fn list_audit_for_rx(&mut self, rx_id: &str) -> Result<Vec<AuditRecord>> {
        let found = on_conn!(self, |c| {
            sqlx::query_as::<_, AuditRecord>("SELECT * FROM audit_log WHERE rx_id = $1 ORDER BY seq")
                .bind(rx_id)
                .fetch_all(c)
                .await
        })?;
        Ok(found)
    }

    /// The chain head as the database records it: `(seq, hash)` of the newest entry, `None`
    /// while the log is empty. A verifier checks that the log ends exactly here, so a cut-off
    /// tail shows up (guardrails' `verify_against_head`).
    pub async fn audit_head(&mut self) -> Result<Option<(i64, String)>> {
        let (seq, hash) = on_conn!(self, |c| {
            sqlx::query_as::<_, (i64, Option<String>)>("SELECT seq, hash FROM audit_head WHERE id = 1")
                .fetch_one(c)
                .await
        })?;
        Ok(hash.filter(|_| seq > 0).map(|hash| (seq, hash)))
    }
}
