//! The server's side of the audit chain: the guardrails build and hash each entry
//! ([`rxgate_guardrails::chain`]), storage appends it under its lock ([`Tx::append_audit`]).
//! This module only converts between their two field-for-field mirrors and fills in who,
//! when and which request.

use rxgate_guardrails::{AuditDraft, AuditEntry, ChainBreak, ChainHead, Principal, Role};
use rxgate_storage::Storage;
use rxgate_storage::{AuditRecord, Tx};

/// What every entry of one request shares.
pub(crate) struct AuditContext<'a> {
    pub(crate) principal: &'a Principal,
    pub(crate) correlation_id: &'a str,
}

/// What happened: the action name and what it concerned.
pub(crate) struct AuditEvent {
    pub(crate) action: &'static str,
    pub(crate) rx_id: Option<String>,
    pub(crate) line_no: Option<u32>,
    pub(crate) before: String,
    pub(crate) after: String,
}

fn to_entry(record: &AuditRecord) -> Result<AuditEntry, rxgate_storage::Error> {
    let invalid = |what: &str| rxgate_storage::Error::Invalid(format!("audit entry {}: {what}", record.seq));
    Ok(AuditEntry {
        seq: u64::try_from(record.seq).map_err(|_| invalid("negative seq"))?,
        at: record.at,
        actor: record.actor.clone(),
        role: Role::parse(&record.role).map_err(|e| invalid(&e.to_string()))?,
        action: record.action.clone(),
        rx_id: record.rx_id.clone(),
        line_no: record.line_no.map(|n| u32::try_from(n).map_err(|_| invalid("line_no out of range"))).transpose()?,
        before: record.before.clone(),
        after: record.after.clone(),
        correlation_id: record.correlation_id.clone(),
        prev_hash: record.prev_hash.clone(),
        hash: record.hash.clone(),
    })
}

fn to_record(entry: AuditEntry) -> AuditRecord {
    AuditRecord {
        seq: i64::try_from(entry.seq).unwrap_or(i64::MAX),
        at: entry.at,
        actor: entry.actor,
        role: entry.role.as_str().to_string(),
        action: entry.action,
        rx_id: entry.rx_id,
        line_no: entry.line_no.map(i64::from),
        before: entry.before,
        after: entry.after,
        correlation_id: entry.correlation_id,
        prev_hash: entry.prev_hash,
        hash: entry.hash,
    }
}

/// Appends the guardrails' drafts of one transition, in order, in `tx`.
pub(crate) async fn append_drafts(tx: &mut Tx, drafts: Vec<AuditDraft>) -> rxgate_storage::Result<Vec<AuditRecord>> {
    let mut stored = Vec::with_capacity(drafts.len());
    for draft in drafts {
        stored.push(append_draft(tx, draft).await?);
    }
    Ok(stored)
}

/// Appends one entry, chained to the newest one, in `tx`. Call it last in the transaction.
pub(crate) async fn append(
    tx: &mut Tx,
    ctx: &AuditContext<'_>,
    event: AuditEvent,
) -> rxgate_storage::Result<AuditRecord> {
    let draft = AuditDraft {
        at: tx.now(),
        actor: ctx.principal.subject.clone(),
        role: ctx.principal.role,
        action: event.action.to_string(),
        rx_id: event.rx_id,
        line_no: event.line_no,
        before: event.before,
        after: event.after,
        correlation_id: ctx.correlation_id.to_string(),
    };
    append_draft(tx, draft).await
}

async fn append_draft(tx: &mut Tx, draft: AuditDraft) -> rxgate_storage::Result<AuditRecord> {
    // A stored entry that cannot be read back as an `AuditEntry` (a tampered role) must
    // stop the append: the closure then builds an entry that cannot continue the chain,
    // storage refuses it, and the conversion error is what the caller sees.
    let mut conversion_error = None;
    let stored = tx
        .append_audit(|prev| {
            let prev = match prev.map(to_entry).transpose() {
                Ok(prev) => prev,
                Err(e) => {
                    conversion_error = Some(e);
                    None
                }
            };
            to_record(rxgate_guardrails::chain(prev.as_ref(), draft))
        })
        .await;
    match conversion_error {
        Some(e) => Err(e),
        None => stored,
    }
}

/// `rxgate audit verify`: reads the whole log (page by page) and checks the chain and that
/// it reaches the head kept in `audit_head`. `Ok(Ok(n))`: `n` entries, all intact.
pub(crate) async fn verify_log(storage: &Storage) -> anyhow::Result<Result<usize, ChainBreak>> {
    const PAGE: i64 = 1000;
    let mut tx = storage.begin_read().await?;
    let mut entries = Vec::new();
    let mut after = 0;
    loop {
        let page = tx.list_audit(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        let full = i64::try_from(page.len()).unwrap_or(i64::MAX) == PAGE;
        for record in &page {
            entries.push(to_entry(record)?);
        }
        if !full {
            break;
        }
    }
    let head = tx.audit_head().await?;
    tx.rollback().await?;
    let verdict = match head {
        Some((seq, hash)) => {
            rxgate_guardrails::verify_against_head(&entries, &ChainHead { seq: u64::try_from(seq).unwrap_or(0), hash })
        }
        None => rxgate_guardrails::verify(&entries),
    };
    Ok(verdict.map(|()| entries.len()))
}
