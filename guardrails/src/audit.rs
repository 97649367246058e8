//! The audit chain: an append-only log where each entry carries the hash of the one before
//! it, so editing, deleting, inserting or reordering any entry is detectable by [`verify`].
//!
//! `hash = sha256(canonical(domain, seq, at, actor, role, action, rx_id, line_no, before,
//! after, correlation_id, prev_hash))`, where the canonical encoding length-prefixes every
//! field (see `canonical.rs`). The first entry's `prev_hash` is [`GENESIS_HASH`].
//!
//! A chain alone cannot reveal that its *newest* entries were cut off, or that it was
//! rewritten wholesale from some point with every hash recomputed: keep the latest
//! [`ChainHead`] somewhere else (another store, a signed log line) and use
//! [`verify_against_head`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::canonical::Canonical;
use crate::principal::Role;

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const DOMAIN: &str = "rxgate-audit-v1";

/// An entry before it is placed in the chain: what the caller knows (time, actor, what
/// happened, correlation id). [`chain`] adds the sequence number and hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditDraft {
    /// When it happened (read from the clock by the server, passed in here).
    pub at: DateTime<Utc>,
    /// The acting principal's subject.
    pub actor: String,
    /// The acting principal's role.
    pub role: Role,
    /// What happened, e.g. `line_decided`, `patient_read` (see [`crate::Action`]).
    pub action: String,
    /// The prescription concerned, if any.
    pub rx_id: Option<String>,
    /// The line concerned, if any.
    pub line_no: Option<u32>,
    /// The state before, as a JSON text (`""` when there was none).
    pub before: String,
    /// The state after, as a JSON text.
    pub after: String,
    /// The request's correlation id, shared by every entry one request produced.
    pub correlation_id: String,
}

/// An entry in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the chain, from 1, contiguous.
    pub seq: u64,
    /// When it happened, at microsecond precision (what SQLite and PostgreSQL both keep).
    pub at: DateTime<Utc>,
    /// The acting principal's subject.
    pub actor: String,
    /// The acting principal's role.
    pub role: Role,
    /// What happened.
    pub action: String,
    /// The prescription concerned, if any.
    pub rx_id: Option<String>,
    /// The line concerned, if any.
    pub line_no: Option<u32>,
    /// The state before, as a JSON text.
    pub before: String,
    /// The state after, as a JSON text.
    pub after: String,
    /// The request's correlation id.
    pub correlation_id: String,
    /// The previous entry's `hash`, or [`GENESIS_HASH`].
    pub prev_hash: String,
    /// SHA-256 (hex) of this entry's canonical bytes, `prev_hash` included.
    pub hash: String,
}

impl AuditEntry {
    /// Recomputes the hash from the entry's fields (ignoring the stored `hash`).
    pub fn compute_hash(&self) -> String {
        let mut c = Canonical::new(DOMAIN);
        c.uint(self.seq)
            .int(self.at.timestamp_micros())
            .text(&self.actor)
            .text(self.role.as_str())
            .text(&self.action)
            .opt_text(self.rx_id.as_deref())
            .opt_uint(self.line_no.map(u64::from))
            .text(&self.before)
            .text(&self.after)
            .text(&self.correlation_id)
            .text(&self.prev_hash);
        c.sha256_hex()
    }

    /// Where the chain stands after this entry.
    pub fn head(&self) -> ChainHead {
        ChainHead { seq: self.seq, hash: self.hash.clone() }
    }
}

/// The newest entry's position and hash, kept outside the chain to detect truncation or a
/// wholesale rewrite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    /// The newest entry's `seq`.
    pub seq: u64,
    /// The newest entry's `hash`.
    pub hash: String,
}

/// Appends a draft after `prev` (`None`: the first entry of the chain).
///
/// The time is truncated to microseconds here, before hashing, because that is what both
/// databases store: a stored entry must hash the same when it is read back.
pub fn chain(prev: Option<&AuditEntry>, draft: AuditDraft) -> AuditEntry {
    let at = DateTime::from_timestamp_micros(draft.at.timestamp_micros()).unwrap_or(draft.at);
    let mut entry = AuditEntry {
        seq: prev.map_or(1, |p| p.seq + 1),
        at,
        actor: draft.actor,
        role: draft.role,
        action: draft.action,
        rx_id: draft.rx_id,
        line_no: draft.line_no,
        before: draft.before,
        after: draft.after,
        correlation_id: draft.correlation_id,
        prev_hash: prev.map_or_else(|| GENESIS_HASH.to_owned(), |p| p.hash.clone()),
        hash: String::new(),
    };
    entry.hash = entry.compute_hash();
    entry
}

/// Appends several drafts in order after `prev` (one request's events).
pub fn chain_all(prev: Option<&AuditEntry>, drafts: impl IntoIterator<Item = AuditDraft>) -> Vec<AuditEntry> {
    let mut out: Vec<AuditEntry> = Vec::new();
    for draft in drafts {
        let entry = chain(out.last().or(prev), draft);
        out.push(entry);
    }
    out
}

/// What is wrong at the first bad entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChainBreakKind {
    /// The entry's content does not match its own hash: a field was changed in place.
    Edited,
    /// The sequence skips numbers: entries were removed.
    Deleted,
    /// A sequence number repeats: an entry was added in between.
    Inserted,
    /// A later number comes before an earlier one: entries were moved.
    Reordered,
    /// The entry is self-consistent but does not link to the one before it: an earlier
    /// entry was rewritten and re-hashed, or entries were spliced in or out and renumbered.
    Unlinked,
    /// The chain ends before the head recorded elsewhere: its newest entries were removed.
    Truncated,
}

impl ChainBreakKind {
    /// A short name for reports (`edited`, `deleted`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ChainBreakKind::Edited => "edited",
            ChainBreakKind::Deleted => "deleted",
            ChainBreakKind::Inserted => "inserted",
            ChainBreakKind::Reordered => "reordered",
            ChainBreakKind::Unlinked => "unlinked",
            ChainBreakKind::Truncated => "truncated",
        }
    }
}

/// The first place where the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at entry #{index} (seq {seq}, expected seq {expected_seq}): {}", kind.as_str())]
pub struct ChainBreak {
    /// Position in the slice given to `verify` (0-based).
    pub index: usize,
    /// The `seq` the entry at that position carries.
    pub seq: u64,
    /// The `seq` that should have been there.
    pub expected_seq: u64,
    /// What is wrong.
    pub kind: ChainBreakKind,
}

/// Verifies a whole chain: seq contiguous from 1, the first entry linked to
/// [`GENESIS_HASH`], each later one to its predecessor, every hash matching its content.
pub fn verify(entries: &[AuditEntry]) -> Result<(), ChainBreak> {
    verify_after(None, entries)
}

/// Verifies `entries` as the continuation of an already verified `anchor` (`None`: the
/// start of the chain), so a large log can be checked page by page.
pub fn verify_after(anchor: Option<&AuditEntry>, entries: &[AuditEntry]) -> Result<(), ChainBreak> {
    let first_seq = anchor.map_or(1, |a| a.seq + 1);
    let mut prev_hash = anchor.map_or(GENESIS_HASH, |a| a.hash.as_str());
    for (expected_seq, (index, entry)) in (first_seq..).zip(entries.iter().enumerate()) {
        let broken = |kind| Err(ChainBreak { index, seq: entry.seq, expected_seq, kind });
        // Content first: an edited field is the most specific thing we can say.
        if entry.compute_hash() != entry.hash {
            return broken(ChainBreakKind::Edited);
        }
        if entry.seq > expected_seq {
            let moved = entries[index + 1..].iter().any(|e| e.seq == expected_seq);
            return broken(if moved { ChainBreakKind::Reordered } else { ChainBreakKind::Deleted });
        }
        if entry.seq < expected_seq {
            // Every earlier entry was checked to carry 1.., so a smaller number is a repeat.
            return broken(ChainBreakKind::Inserted);
        }
        if entry.prev_hash != prev_hash {
            return broken(ChainBreakKind::Unlinked);
        }
        prev_hash = entry.hash.as_str();
    }
    Ok(())
}

/// [`verify`], and the chain must reach `head` (kept elsewhere) with the same hash there:
/// this catches removal of the newest entries and a rewrite with recomputed hashes.
pub fn verify_against_head(entries: &[AuditEntry], head: &ChainHead) -> Result<(), ChainBreak> {
    verify(entries)?;
    let last_seq = entries.last().map_or(0, |e| e.seq);
    if last_seq < head.seq {
        return Err(ChainBreak {
            index: entries.len(),
            seq: last_seq,
            expected_seq: head.seq,
            kind: ChainBreakKind::Truncated,
        });
    }
    match entries.iter().position(|e| e.seq == head.seq) {
        Some(index) if entries[index].hash != head.hash => {
            Err(ChainBreak { index, seq: head.seq, expected_seq: head.seq, kind: ChainBreakKind::Edited })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn draft(n: u32) -> AuditDraft {
        AuditDraft {
            at: DateTime::from_timestamp(1_790_000_000 + i64::from(n), 123_456_789).unwrap(),
            actor: format!("user-{}", n % 3),
            role: Role::ALL[n as usize % Role::ALL.len()],
            action: "line_decided".into(),
            rx_id: Some(format!("rx-{}", n % 2)),
            line_no: if n.is_multiple_of(2) { Some(n) } else { None },
            before: format!(r#"{{"status":"HITL_REVIEW","n":{n}}}"#),
            after: format!(r#"{{"status":"APPROVED","n":{n}}}"#),
            correlation_id: format!("req-{n}"),
        }
    }

    fn log(len: u32) -> Vec<AuditEntry> {
        chain_all(None, (0..len).map(draft))
    }

    #[test]
    fn a_fresh_chain_verifies_and_starts_at_genesis() {
        let entries = log(5);
        assert_eq!(entries[0].seq, 1);
        assert_eq!(entries[0].prev_hash, GENESIS_HASH);
        assert_eq!(entries[4].prev_hash, entries[3].hash);
        assert_eq!(verify(&entries), Ok(()));
        assert_eq!(verify(&[]), Ok(()));
        assert_eq!(verify_against_head(&entries, &entries[4].head()), Ok(()));
    }

    #[test]
    fn time_is_kept_to_the_microsecond_so_a_database_round_trip_still_verifies() {
        let entries = log(1);
        assert_eq!(entries[0].at.timestamp_subsec_nanos(), 123_456_000);
        let json = serde_json::to_string(&entries).unwrap();
        let back: Vec<AuditEntry> = serde_json::from_str(&json).unwrap();
        assert_eq!(verify(&back), Ok(()));
    }

    #[test]
    fn pages_verify_after_an_anchor() {
        let entries = log(6);
        assert_eq!(verify_after(Some(&entries[2]), &entries[3..]), Ok(()));
        assert_eq!(verify_after(Some(&entries[1]), &entries[3..]).unwrap_err().kind, ChainBreakKind::Deleted);
    }

    #[test]
    fn each_kind_of_tampering_is_named() {
        let entries = log(5);
        let kind = |e: Vec<AuditEntry>| verify(&e).unwrap_err().kind;

        let mut edited = entries.clone();
        edited[2].after = r#"{"status":"CANCELLED"}"#.into();
        assert_eq!(kind(edited), ChainBreakKind::Edited);

        let mut deleted = entries.clone();
        deleted.remove(2);
        assert_eq!(kind(deleted), ChainBreakKind::Deleted);

        let mut swapped = entries.clone();
        swapped.swap(1, 3);
        assert_eq!(kind(swapped), ChainBreakKind::Reordered);

        let mut inserted = entries.clone();
        let forged = chain(Some(&entries[1]), draft(99));
        inserted.insert(3, forged);
        assert_eq!(kind(inserted), ChainBreakKind::Inserted);

        // The forger edits an entry and recomputes its hash: the next entry no longer links.
        let mut rehashed = entries.clone();
        rehashed[2].actor = "someone-else".into();
        rehashed[2].hash = rehashed[2].compute_hash();
        let err = verify(&rehashed).unwrap_err();
        assert_eq!((err.kind, err.seq), (ChainBreakKind::Unlinked, 4));

        let truncated = entries[..3].to_vec();
        assert_eq!(verify(&truncated), Ok(()), "a chain alone cannot see its end was cut");
        let err = verify_against_head(&truncated, &entries[4].head()).unwrap_err();
        assert_eq!(err.kind, ChainBreakKind::Truncated);
    }

    #[test]
    fn a_wholesale_rewrite_is_caught_by_the_head_kept_elsewhere() {
        let entries = log(4);
        let mut drafts: Vec<AuditDraft> = (0..4).map(draft).collect();
        drafts[1].after = r#"{"status":"CANCELLED"}"#.into();
        let rewritten = chain_all(None, drafts);
        assert_eq!(verify(&rewritten), Ok(()));
        assert_eq!(verify_against_head(&rewritten, &entries[3].head()).unwrap_err().kind, ChainBreakKind::Edited);
    }

    /// Every field of an entry, changed one at a time.
    fn edit(entry: &mut AuditEntry, field: usize) {
        match field {
            0 => entry.seq += 1,
            1 => entry.at += chrono::Duration::microseconds(1),
            2 => entry.actor.push('x'),
            3 => entry.role = if entry.role == Role::Agent { Role::Pharmacist } else { Role::Agent },
            4 => entry.action.push('x'),
            5 => entry.rx_id = if entry.rx_id.is_some() { None } else { Some(String::new()) },
            6 => entry.line_no = Some(entry.line_no.map_or(0, |n| n + 1)),
            7 => entry.before.push(' '),
            8 => entry.after.push(' '),
            9 => entry.correlation_id.push('x'),
            _ => entry.prev_hash = GENESIS_HASH.replace('0', "1"),
        }
    }

    proptest! {
        #[test]
        fn any_single_field_edit_is_detected(len in 1u32..12, at in 0usize..12, field in 0usize..11) {
            let mut entries = log(len);
            let at = at % entries.len();
            edit(&mut entries[at], field);
            let err = verify(&entries).unwrap_err();
            prop_assert_eq!(err.index, at);
            prop_assert_eq!(err.kind, ChainBreakKind::Edited);
        }

        #[test]
        fn any_single_deletion_but_the_last_is_detected(len in 2u32..12, at in 0usize..12) {
            let mut entries = log(len);
            let at = at % (entries.len() - 1);
            entries.remove(at);
            prop_assert_eq!(verify(&entries).unwrap_err().kind, ChainBreakKind::Deleted);
        }

        #[test]
        fn deleting_the_last_is_detected_against_the_head(len in 1u32..12) {
            let mut entries = log(len);
            let head = entries.last().unwrap().head();
            entries.pop();
            prop_assert_eq!(verify_against_head(&entries, &head).unwrap_err().kind, ChainBreakKind::Truncated);
        }

        #[test]
        fn any_swap_of_two_entries_is_detected(len in 2u32..12, a in 0usize..12, b in 0usize..12) {
            let mut entries = log(len);
            let (a, b) = (a % entries.len(), b % entries.len());
            prop_assume!(a != b);
            entries.swap(a, b);
            prop_assert_eq!(verify(&entries).unwrap_err().kind, ChainBreakKind::Reordered);
        }

        #[test]
        fn any_insertion_is_detected(len in 1u32..12, at in 0usize..13, n in 100u32..200) {
            let mut entries = log(len);
            let at = at % (entries.len() + 1);
            // The best forgery: chained properly onto the entry it follows.
            let forged = chain(if at == 0 { None } else { Some(&entries[at - 1]) }, draft(n));
            entries.insert(at, forged);
            prop_assert!(verify(&entries).is_err() || at == entries.len() - 1);
        }
    }
}
