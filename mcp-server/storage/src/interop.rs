//! Interoperability (issue 11): sync events with their delivery state, codes waiting for an
//! analyst, links from prescription lines to the EHR's orders, and CDS Hooks feedback.
//!
//! Events are unique by `(direction, kind, natural_key)`: [`Tx::insert_event`] returns the
//! existing row when the key was seen before, which is what makes inbound processing and
//! outbound enqueueing idempotent across retries and processes. Workers claim a due event
//! with a conditional update ([`Tx::claim_event`]), so two processes never attempt the same
//! event at once.

use chrono::{DateTime, Utc};

use crate::connect::Tx;
use crate::error::{Error, Result};

/// A sync event to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInteropEvent {
    /// `inbound` or `outbound`.
    pub direction: String,
    /// `PRESCRIPTION_NEW`, `DISPENSE`, …
    pub kind: String,
    /// The sender's key for what this event is about.
    pub natural_key: String,
    /// Carried end to end (logs, audit, webhooks).
    pub correlation_id: String,
    /// The exact body.
    pub payload: String,
    /// `pending`, `done`, `needs_mapping` or `dead_letter`.
    pub status: String,
    /// The prescription it concerns, when known.
    pub rx_id: Option<i64>,
}

/// A stored sync event.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InteropEvent {
    /// Surrogate id.
    pub id: i64,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// Event kind.
    pub kind: String,
    /// Natural key.
    pub natural_key: String,
    /// Correlation id.
    pub correlation_id: String,
    /// The exact body.
    pub payload: String,
    /// Delivery status.
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// The prescription it concerns.
    pub rx_id: Option<i64>,
    /// How long the last successful attempt took.
    pub duration_ms: Option<i64>,
    /// When it was first seen.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// The delivery state written after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventDelivery {
    /// New status.
    pub status: String,
    /// Attempts made so far.
    pub attempts: i64,
    /// Next attempt, when still pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Last error.
    pub last_error: Option<String>,
    /// Duration of the attempt.
    pub duration_ms: Option<i64>,
}

/// A code waiting for (or resolved by) an analyst.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CodeMapping {
    /// `system|code` or `text|name`.
    pub key: String,
    /// Code system.
    pub system: Option<String>,
    /// Code.
    pub code: Option<String>,
    /// What the sender called it.
    pub display: Option<String>,
    /// `medication`, `allergy` or `active_medication`.
    pub used_as: String,
    /// `pending` or `resolved`.
    pub status: String,
    /// The INN it was resolved to.
    pub generic: Option<String>,
    /// Who resolved it.
    pub resolved_by: Option<String>,
    /// First seen.
    pub created_at: DateTime<Utc>,
    /// When resolved.
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Counts for `/healthz`, metrics and the integration panel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InteropCounts {
    /// Events waiting for an attempt.
    pub pending: i64,
    /// Of those, events that have failed at least once (the retry queue).
    pub retrying: i64,
    /// Events in the manual-action queue.
    pub dead_letter: i64,
    /// Events waiting for a code mapping.
    pub needs_mapping: i64,
    /// Events done.
    pub done: i64,
    /// Codes waiting for an analyst.
    pub unresolved_mappings: i64,
}

/// The filter of [`Tx::list_events`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only these statuses (all when empty).
    pub statuses: Vec<String>,
    /// Only events about this prescription.
    pub rx_id: Option<i64>,
    /// At most this many, newest first (default 100).
    pub limit: Option<i64>,
}

impl Tx {
    /// Records an event once per natural key. Returns the row and whether it is new; an
    /// event seen before is returned unchanged.
    pub async fn insert_event(&mut self, new: &NewInteropEvent) -> Result<(InteropEvent, bool)> {
        let now = self.now();
        let inserted = on_conn!(self, |c| {
            sqlx::query_as::<_, InteropEvent>(
                "INSERT INTO interop_events (direction, kind, natural_key, correlation_id, payload, status, attempts, \
                 next_attempt_at, rx_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $7, $7) \
                 ON CONFLICT (direction, kind, natural_key) DO NOTHING RETURNING *",
            )
            .bind(&new.direction)
            .bind(&new.kind)
            .bind(&new.natural_key)
            .bind(&new.correlation_id)
            .bind(&new.payload)
            .bind(&new.status)
            .bind(now)
            .bind(new.rx_id)
            .fetch_optional(c)
            .await
        })?;
        if let Some(event) = inserted {
            return Ok((event, true));
        }
        let existing = on_conn!(self, |c| {
            sqlx::query_as::<_, InteropEvent>(
                "SELECT * FROM interop_events WHERE direction = $1 AND kind = $2 AND natural_key = $3",
            )
            .bind(&new.direction)
            .bind(&new.kind)
            .bind(&new.natural_key)
            .fetch_one(c)
            .await
        })?;
        Ok((existing, false))
    }

    /// The event with this id.
    pub async fn get_event(&mut self, id: i64) -> Result<InteropEvent> {
        let event = on_conn!(self, |c| {
            sqlx::query_as::<_, InteropEvent>("SELECT * FROM interop_events WHERE id = $1")
                .bind(id)
                .fetch_optional(c)
                .await
        })?;
        event.ok_or_else(|| Error::NotFound(format!("interop event {id}")))
    }

    /// The event with this natural key, if any.
    pub async fn event_by_key(
        &mut self,
        direction: &str,
        kind: &str,
        natural_key: &str,
    ) -> Result<Option<InteropEvent>> {
        let event = on_conn!(self, |c| {
            sqlx::query_as::<_, InteropEvent>(
                "SELECT * FROM interop_events WHERE direction = $1 AND kind = $2 AND natural_key = $3",
            )
            .bind(direction)
            .bind(kind)
            .bind(natural_key)
            .fetch_optional(c)
            .await
        })?;
        Ok(event)
    }

    /// Events, newest first.
    pub async fn list_events(&mut self, filter: &EventFilter) -> Result<Vec<InteropEvent>> {
        let limit = usize::try_from(filter.limit.unwrap_or(100).clamp(1, 1000)).unwrap_or(100);
        // Statuses are few and the scan is bounded, so the status filter runs here rather
        // than as a variable-length `IN (…)` built per backend.
        let events = on_conn!(self, |c| {
            sqlx::query_as::<_, InteropEvent>(
                "SELECT * FROM interop_events WHERE ($1 IS NULL OR rx_id = $1) ORDER BY id DESC LIMIT 5000",
            )
            .bind(filter.rx_id)
            .fetch_all(c)
            .await
        })?;
        Ok(events
            .into_iter()
            .filter(|e| filter.statuses.is_empty() || filter.statuses.contains(&e.status))
            .take(limit)
            .collect())
    }

    /// Ids of events due at `now` (pending, `next_attempt_at` reached), oldest first.
    pub async fn due_events(&mut self, direction: &str, now: DateTime<Utc>, limit: i64) -> Result<Vec<i64>> {
        let ids: Vec<(i64,)> = on_conn!(self, |c| {
            sqlx::query_as(
                "SELECT id FROM interop_events WHERE direction = $1 AND status = 'pending' AND next_attempt_at <= $2 \
                 ORDER BY next_attempt_at, id LIMIT $3",
            )
            .bind(direction)
            .bind(now)
            .bind(limit)
            .fetch_all(c)
            .await
        })?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    /// Takes a due event for one attempt: pushes its `next_attempt_at` to `lease_until`
    /// if it is still due, so no other worker picks it up meanwhile (a worker that dies
    /// mid-attempt leaves it to be retried when the lease ends). True when claimed.
    pub async fn claim_event(&mut self, id: i64, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> Result<bool> {
        let done = on_conn!(self, |c| {
            sqlx::query(
                "UPDATE interop_events SET next_attempt_at = $3 \
                 WHERE id = $1 AND status = 'pending' AND next_attempt_at <= $2",
            )
            .bind(id)
            .bind(now)
            .bind(lease_until)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// Writes an attempt's outcome.
    pub async fn update_event_delivery(&mut self, id: i64, d: &EventDelivery) -> Result<InteropEvent> {
        let now = self.now();
        let event = on_conn!(self, |c| {
            sqlx::query_as::<_, InteropEvent>(
                "UPDATE interop_events SET status = $2, attempts = $3, next_attempt_at = $4, last_error = $5, \
                 duration_ms = COALESCE($6, duration_ms), updated_at = $7 WHERE id = $1 RETURNING *",
            )
            .bind(id)
            .bind(&d.status)
            .bind(d.attempts)
            .bind(d.next_attempt_at)
            .bind(&d.last_error)
            .bind(d.duration_ms)
            .bind(now)
            .fetch_optional(c)
            .await
        })?;
        event.ok_or_else(|| Error::NotFound(format!("interop event {id}")))
    }

    /// Records which prescription an event became.
    pub async fn set_event_rx(&mut self, id: i64, rx_id: i64) -> Result<()> {
        on_conn!(self, |c| {
            sqlx::query("UPDATE interop_events SET rx_id = $2 WHERE id = $1")
                .bind(id)
                .bind(rx_id)
                .execute(c)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Records a code as waiting (once per key) and that `event_id` waits on it.
    pub async fn add_pending_mapping(&mut self, event_id: i64, m: &CodeMapping) -> Result<()> {
        let now = self.now();
        on_conn!(self, |c| {
            sqlx::query(
                "INSERT INTO interop_mappings (key, system, code, display, used_as, status, created_at) \
                 VALUES ($1, $2, $3, $4, $5, 'pending', $6) ON CONFLICT (key) DO NOTHING",
            )
            .bind(&m.key)
            .bind(&m.system)
            .bind(&m.code)
            .bind(&m.display)
            .bind(&m.used_as)
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
        })?;
        on_conn!(self, |c| {
            sqlx::query(
                "INSERT INTO interop_event_mappings (event_id, mapping_key) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(event_id)
            .bind(&m.key)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// The codes an event waits (or waited) on.
    pub async fn event_mapping_keys(&mut self, event_id: i64) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = on_conn!(self, |c| {
            sqlx::query_as("SELECT mapping_key FROM interop_event_mappings WHERE event_id = $1 ORDER BY mapping_key")
                .bind(event_id)
                .fetch_all(c)
                .await
        })?;
        Ok(rows.into_iter().map(|(k,)| k).collect())
    }

    /// Codes by status (`pending`, `resolved`, or all), oldest first.
    pub async fn list_mappings(&mut self, status: Option<&str>) -> Result<Vec<CodeMapping>> {
        let rows = on_conn!(self, |c| {
            sqlx::query_as::<_, CodeMapping>(
                "SELECT * FROM interop_mappings WHERE ($1 IS NULL OR status = $1) ORDER BY created_at, key",
            )
            .bind(status)
            .fetch_all(c)
            .await
        })?;
        Ok(rows)
    }

    /// An analyst maps `key` to `generic`. Returns the ids of events that waited on it and
    /// now wait on nothing else (to reprocess). Resolving twice is refused as a conflict.
    pub async fn resolve_mapping(&mut self, key: &str, generic: &str, by: &str) -> Result<Vec<i64>> {
        let now = self.now();
        let done = on_conn!(self, |c| {
            sqlx::query(
                "UPDATE interop_mappings SET status = 'resolved', generic = $2, resolved_by = $3, resolved_at = $4 \
                 WHERE key = $1 AND status = 'pending'",
            )
            .bind(key)
            .bind(generic)
            .bind(by)
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
        })?;
        if done == 0 {
            let exists = on_conn!(self, |c| {
                sqlx::query_as::<_, (String,)>("SELECT status FROM interop_mappings WHERE key = $1")
                    .bind(key)
                    .fetch_optional(c)
                    .await
            })?;
            return Err(match exists {
                Some(_) => Error::Conflict(format!("code `{key}` is already resolved")),
                None => Error::NotFound(format!("code mapping `{key}`")),
            });
        }
        let ids: Vec<(i64,)> = on_conn!(self, |c| {
            sqlx::query_as(
                "SELECT e.id FROM interop_events e JOIN interop_event_mappings em ON em.event_id = e.id \
                 WHERE em.mapping_key = $1 AND e.status = 'needs_mapping' AND NOT EXISTS ( \
                   SELECT 1 FROM interop_event_mappings o JOIN interop_mappings m ON m.key = o.mapping_key \
                   WHERE o.event_id = e.id AND m.status = 'pending') ORDER BY e.id",
            )
            .bind(key)
            .fetch_all(c)
            .await
        })?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    /// Every analyst resolution: key → INN.
    pub async fn resolved_mappings(&mut self) -> Result<Vec<(String, String)>> {
        let rows: Vec<(String, Option<String>)> = on_conn!(self, |c| {
            sqlx::query_as("SELECT key, generic FROM interop_mappings WHERE status = 'resolved'").fetch_all(c).await
        })?;
        Ok(rows.into_iter().filter_map(|(k, g)| g.map(|g| (k, g))).collect())
    }

    /// The dispense record with this id.
    pub async fn get_dispense(&mut self, id: i64) -> Result<crate::DispenseRecord> {
        let row = on_conn!(self, |c| {
            sqlx::query_as::<_, crate::DispenseRecord>("SELECT * FROM dispense_log WHERE id = $1")
                .bind(id)
                .fetch_optional(c)
                .await
        })?;
        row.ok_or_else(|| Error::NotFound(format!("dispense {id}")))
    }

    /// Dispenses with no outbound event of `kind` yet (the outbox: every dispense, whichever
    /// path recorded it, is found here and enqueued once), oldest first.
    pub async fn dispenses_without_event(&mut self, kind: &str, limit: i64) -> Result<Vec<crate::DispenseRecord>> {
        let rows = on_conn!(self, |c| {
            sqlx::query_as::<_, crate::DispenseRecord>(
                "SELECT d.* FROM dispense_log d WHERE NOT EXISTS (SELECT 1 FROM interop_events e \
                 WHERE e.direction = 'outbound' AND e.kind = $1 AND e.natural_key = $1 || ':dispense:' || d.id) \
                 ORDER BY d.id LIMIT $2",
            )
            .bind(kind)
            .bind(limit)
            .fetch_all(c)
            .await
        })?;
        Ok(rows)
    }

    /// Replaces a patient's active medications (a medication-list pull from the EHR).
    pub async fn set_active_medications(&mut self, patient_id: i64, medications: &[String]) -> Result<()> {
        let done = on_conn!(self, |c| {
            sqlx::query("UPDATE patients SET active_medications = $2 WHERE id = $1")
                .bind(patient_id)
                .bind(sqlx::types::Json(medications))
                .execute(c)
                .await
                .map(|r| r.rows_affected())
        })?;
        if done == 0 {
            return Err(Error::NotFound(format!("patient {patient_id}")));
        }
        Ok(())
    }

    /// Links a prescription line to the EHR order it came from.
    pub async fn link_rx_line(&mut self, rx_id: i64, line_no: i64, ehr_request: &str) -> Result<()> {
        on_conn!(self, |c| {
            sqlx::query(
                "INSERT INTO interop_rx_links (rx_id, line_no, ehr_request) VALUES ($1, $2, $3) \
                 ON CONFLICT (rx_id, line_no) DO NOTHING",
            )
            .bind(rx_id)
            .bind(line_no)
            .bind(ehr_request)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// The EHR order behind a line and when the EHR cancelled it, if it came from the EHR.
    pub async fn rx_link(&mut self, rx_id: i64, line_no: i64) -> Result<Option<(String, Option<DateTime<Utc>>)>> {
        let row = on_conn!(self, |c| {
            sqlx::query_as::<_, (String, Option<DateTime<Utc>>)>(
                "SELECT ehr_request, cancelled_at FROM interop_rx_links WHERE rx_id = $1 AND line_no = $2",
            )
            .bind(rx_id)
            .bind(line_no)
            .fetch_optional(c)
            .await
        })?;
        Ok(row)
    }

    /// The EHR cancelled these orders (all lines of `rx_id` when `ehr_request` is `None`).
    /// Returns how many lines were newly cancelled.
    pub async fn cancel_rx_links(&mut self, rx_id: i64, ehr_request: Option<&str>) -> Result<u64> {
        let now = self.now();
        let done = on_conn!(self, |c| {
            sqlx::query(
                "UPDATE interop_rx_links SET cancelled_at = $3 \
                 WHERE rx_id = $1 AND ($2 IS NULL OR ehr_request = $2) AND cancelled_at IS NULL",
            )
            .bind(rx_id)
            .bind(ehr_request)
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(done)
    }

    /// Records one CDS Hooks feedback item; a repeat of the same item is ignored. True when new.
    pub async fn insert_cds_feedback(
        &mut self,
        service: &str,
        card_uuid: &str,
        outcome: &str,
        override_reason: Option<&str>,
        outcome_at: DateTime<Utc>,
    ) -> Result<bool> {
        let now = self.now();
        let done = on_conn!(self, |c| {
            sqlx::query(
                "INSERT INTO cds_feedback (service, card_uuid, outcome, override_reason, outcome_at, received_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (card_uuid, outcome, outcome_at) DO NOTHING",
            )
            .bind(service)
            .bind(card_uuid)
            .bind(outcome)
            .bind(override_reason)
            .bind(outcome_at)
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// `(accepted, overridden)` feedback counts.
    pub async fn cds_feedback_counts(&mut self) -> Result<(i64, i64)> {
        let rows: Vec<(String, i64)> = on_conn!(self, |c| {
            sqlx::query_as("SELECT outcome, COUNT(*) FROM cds_feedback GROUP BY outcome").fetch_all(c).await
        })?;
        let get = |o: &str| rows.iter().find(|(k, _)| k == o).map_or(0, |(_, n)| *n);
        Ok((get("accepted"), get("overridden")))
    }

    /// Queue depths and unresolved codes.
    pub async fn interop_counts(&mut self) -> Result<InteropCounts> {
        let rows: Vec<(String, i64, i64)> = on_conn!(self, |c| {
            sqlx::query_as(
                "SELECT status, COUNT(*), SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END) FROM interop_events GROUP BY status",
            )
            .fetch_all(c)
            .await
        })?;
        let unresolved: (i64,) = on_conn!(self, |c| {
            sqlx::query_as("SELECT COUNT(*) FROM interop_mappings WHERE status = 'pending'").fetch_one(c).await
        })?;
        let mut counts = InteropCounts { unresolved_mappings: unresolved.0, ..InteropCounts::default() };
        for (status, n, retried) in rows {
            match status.as_str() {
                "pending" => {
                    counts.pending = n;
                    counts.retrying = retried;
                }
                "done" => counts.done = n,
                "dead_letter" => counts.dead_letter = n,
                "needs_mapping" => counts.needs_mapping = n,
                _ => {}
            }
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDatabase;

    fn event(key: &str) -> NewInteropEvent {
        NewInteropEvent {
            direction: "outbound".into(),
            kind: "DISPENSE".into(),
            natural_key: key.into(),
            correlation_id: "c-1".into(),
            payload: "{}".into(),
            status: "pending".into(),
            rx_id: None,
        }
    }

    async fn scenario(db: TestDatabase) {
        let mut tx = db.storage.begin().await.expect("begin");
        let (first, new) = tx.insert_event(&event("DISPENSE:dispense:1")).await.expect("insert");
        assert!(new);
        let (again, new) = tx.insert_event(&event("DISPENSE:dispense:1")).await.expect("insert again");
        assert!(!new, "the natural key is unique");
        assert_eq!(again.id, first.id);
        let now = tx.now();
        assert_eq!(tx.due_events("outbound", now, 10).await.expect("due"), [first.id]);
        assert!(tx.claim_event(first.id, now, now + chrono::Duration::seconds(30)).await.expect("claim"));
        assert!(!tx.claim_event(first.id, now, now + chrono::Duration::seconds(30)).await.expect("claim twice"));
        let counts = tx.interop_counts().await.expect("counts");
        assert_eq!((counts.pending, counts.retrying), (1, 0));

        let (waiting, _) = tx
            .insert_event(&NewInteropEvent {
                direction: "inbound".into(),
                status: "needs_mapping".into(),
                ..event("b:1")
            })
            .await
            .expect("inbound");
        let mapping = |key: &str| CodeMapping {
            key: key.into(),
            system: Some("urn:x".into()),
            code: Some(key.into()),
            display: Some("Zyxomab".into()),
            used_as: "medication".into(),
            status: "pending".into(),
            generic: None,
            resolved_by: None,
            created_at: now,
            resolved_at: None,
        };
        tx.add_pending_mapping(waiting.id, &mapping("urn:x|A")).await.expect("map A");
        tx.add_pending_mapping(waiting.id, &mapping("urn:x|B")).await.expect("map B");
        assert_eq!(tx.interop_counts().await.expect("counts").unresolved_mappings, 2);
        assert!(tx.resolve_mapping("urn:x|A", "amlodipine", "analyst").await.expect("resolve A").is_empty());
        assert_eq!(tx.resolve_mapping("urn:x|B", "omeprazole", "analyst").await.expect("resolve B"), [waiting.id]);
        assert!(matches!(tx.resolve_mapping("urn:x|B", "x", "analyst").await, Err(Error::Conflict(_))));
        assert_eq!(tx.resolved_mappings().await.expect("resolved").len(), 2);

        tx.record_cds_cards("s", &["u1".to_string(), "u2".to_string()]).await.expect("cards");
        tx.record_cds_cards("s", &["u1".to_string()]).await.expect("the same card again changes nothing");
        assert_eq!(tx.cds_card_service("u1").await.expect("card").as_deref(), Some("s"));
        assert_eq!(tx.cds_card_service("never-issued").await.expect("card"), None);
        let outcome_at = now;
        assert!(tx.insert_cds_feedback("s", "u1", "overridden", Some("will-monitor"), outcome_at).await.expect("fb"));
        assert!(!tx.insert_cds_feedback("s", "u1", "overridden", Some("will-monitor"), outcome_at).await.expect("fb"));
        assert!(tx.insert_cds_feedback("s", "u2", "accepted", None, outcome_at).await.expect("fb"));
        assert_eq!(tx.cds_feedback_counts().await.expect("counts"), (1, 1));
        let filter = EventFilter { statuses: vec!["needs_mapping".into()], ..EventFilter::default() };
        assert_eq!(tx.list_events(&filter).await.expect("list").len(), 1);
        tx.commit().await.expect("commit");
    }

    #[tokio::test]
    async fn events_are_unique_by_natural_key_and_mappings_release_waiting_events_sqlite() {
        scenario(TestDatabase::sqlite().await).await;
    }

    #[tokio::test]
    async fn events_are_unique_by_natural_key_and_mappings_release_waiting_events_postgres() {
        if let Some(db) = TestDatabase::postgres().await {
            scenario(db).await;
        }
    }
}
