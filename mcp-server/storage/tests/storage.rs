//! Storage scenarios, each run against a fresh SQLite file and a fresh PostgreSQL database
//! (skipped, with a message on stderr, when PostgreSQL is not reachable).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use rxgate_storage::testing::TestDatabase;
use rxgate_storage::{
    AlertKind, AuditRecord, DispenseOutcome, Error, Explanation, InventoryLot, ItemOrder, NewAdverseEvent, NewAlert,
    NewApproval, NewBarcodeScan, NewDispense, NewExplanation, NewInteropEvent, NewItem, NewPatient, NewPrescription,
    NewVerification, Prescription, PutOutcome, QueueFilter, Storage,
};
use serde_json::json;
use tokio::sync::Barrier;

/// Declares each scenario twice: `sqlite::name` and `postgres::name`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::run(rxgate_storage::testing::TestDatabase::sqlite().await, super::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some(db) = rxgate_storage::testing::TestDatabase::postgres().await else { return };
                    super::run(db, super::$name).await;
                }
            )*
        }
    };
}

on_both_backends!(
    migrations_apply_and_are_idempotent,
    patient_record_round_trips_with_allergies_and_medications,
    pharmacy_queue_lists_by_status_oldest_first,
    stale_prescription_update_is_a_conflict_and_changes_nothing,
    two_pharmacists_approving_the_same_line_exactly_one_wins,
    concurrent_audit_appends_form_one_contiguous_linked_chain,
    audit_appends_from_two_server_processes_form_one_chain,
    a_change_and_its_audit_entry_commit_together_or_not_at_all,
    database_refuses_update_and_delete_on_the_audit_log,
    database_refuses_an_audit_row_that_does_not_continue_the_chain,
    append_refuses_an_entry_that_does_not_continue_the_chain,
    tampering_helper_changes_an_entry_so_verification_can_catch_it,
    dispense_retried_five_times_is_recorded_once_and_decrements_stock_once,
    same_idempotency_key_for_a_different_dispense_is_a_conflict,
    inventory_never_goes_below_zero_even_under_concurrent_dispenses,
    seeding_inventory_again_does_not_reset_dispensed_stock,
    verification_and_its_alerts_are_stored_against_the_prescription,
    adverse_event_block_stays_until_lifted_once,
    usernames_are_unique,
    an_ehr_identifier_belongs_to_one_patient,
    a_reversal_keeps_the_dispense_restocks_once_and_feeds_the_outbox_once,
    a_changed_order_is_written_only_at_the_version_it_was_read,
    a_model_text_upgrades_the_template_once_and_a_template_never_replaces_it,
    racing_upgrades_of_one_template_leave_exactly_one_model_text,
    database_refuses_any_other_change_to_a_stored_explanation,
    a_cds_client_token_id_is_claimed_once_across_connections,
);

/// Runs a scenario, then drops the database even if the scenario panicked.
async fn run<F, Fut>(db: TestDatabase, scenario: F)
where
    F: FnOnce(Arc<TestDatabase>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let db = Arc::new(db);
    let outcome = tokio::spawn(scenario(db.clone())).await;
    if let Ok(db) = Arc::try_unwrap(db) {
        db.drop_database().await;
    }
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

// ---- fixtures -------------------------------------------------------------------------------

fn infant() -> NewPatient {
    NewPatient {
        demo_name: "Baby Aisyah".to_owned(),
        age_days: Some(120),
        weight_kg: Some(8.0),
        sex: Some("female".to_owned()),
        allergies: vec!["penicillin".to_owned()],
        active_medications: vec!["amlodipine".to_owned()],
        halal_preference: "halal_only".to_owned(),
        ..NewPatient::default()
    }
}

fn paracetamol_line(line_no: i64) -> NewItem {
    NewItem {
        line_no,
        drug: "paracetamol".to_owned(),
        dose_value: "10/3".to_owned(),
        dose_unit: "mL".to_owned(),
        frequency: "q6h".to_owned(),
        route: "oral".to_owned(),
        duration_days: Some(3),
        status: "RX_RECEIVED".to_owned(),
    }
}

/// A patient and a prescription with `lines` lines, committed.
async fn prescription(storage: &Storage, lines: i64) -> Prescription {
    let mut tx = storage.begin().await.unwrap();
    let patient = tx.insert_patient(&infant()).await.unwrap();
    let (rx, _) = tx
        .insert_prescription(&NewPrescription {
            patient_id: patient.id,
            prescriber: "dr.lim".to_owned(),
            status: "RX_RECEIVED".to_owned(),
            knowledge_hash: None,
            items: (1..=lines).map(paracetamol_line).collect(),
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    rx
}

async fn stock(storage: &Storage, product: &str, lot: &str, qty: i64) {
    let mut tx = storage.begin().await.unwrap();
    let seeded = tx
        .seed_inventory(&InventoryLot {
            product: product.to_owned(),
            lot: lot.to_owned(),
            expiry: chrono::NaiveDate::from_ymd_opt(2030, 1, 31),
            qty_on_hand: qty,
            reorder_level: 2,
            updated_at: tx.now(),
        })
        .await
        .unwrap();
    assert!(seeded);
    tx.commit().await.unwrap();
}

async fn qty_on_hand(storage: &Storage, product: &str, lot: &str) -> i64 {
    let mut tx = storage.begin_read().await.unwrap();
    tx.get_inventory_lot(product, lot).await.unwrap().qty_on_hand
}

/// The guardrails' genesis `prev_hash` (storage treats it as opaque text).
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A stand-in for the guardrails chain hash: any deterministic function of the entry's
/// content, `seq` and previous hash will do for storage tests.
fn test_hash(entry: &AuditRecord) -> String {
    let mut hasher = DefaultHasher::new();
    (entry.seq, &entry.prev_hash, &entry.action, &entry.before, &entry.after, entry.at.timestamp_micros())
        .hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// What `rxgate_guardrails::audit::chain(prev, draft)` does, in miniature.
fn audit_entry(
    prev: Option<&AuditRecord>,
    at: chrono::DateTime<chrono::Utc>,
    action: &str,
    rx_id: Option<i64>,
) -> AuditRecord {
    let mut entry = AuditRecord {
        seq: prev.map_or(1, |p| p.seq + 1),
        at,
        actor: "ph.tan".to_owned(),
        role: "pharmacist".to_owned(),
        action: action.to_owned(),
        rx_id: rx_id.map(|id| id.to_string()),
        line_no: None,
        // Deliberately not serde_json's own formatting: the bytes must come back as given.
        before: r#"{ "status":"HITL_REVIEW",  "dose": 2.50 }"#.to_owned(),
        after: r#"{"status":"APPROVED","dose":2.50,"notes":["ok"]}"#.to_owned(),
        correlation_id: format!("corr-{action}"),
        prev_hash: prev.map_or_else(|| GENESIS.to_owned(), |p| p.hash.clone()),
        hash: String::new(),
    };
    entry.hash = test_hash(&entry);
    entry
}

async fn append(storage: &Storage, action: &str) -> AuditRecord {
    let mut tx = storage.begin().await.unwrap();
    let at = tx.now();
    let stored = tx.append_audit(|prev| audit_entry(prev, at, action, None)).await.unwrap();
    tx.commit().await.unwrap();
    stored
}

/// Asserts `seq` runs 1..=n without gaps, every entry links to the one before, every hash
/// is the one its content gives, and the head points at the last entry.
async fn assert_chain_intact(db: &TestDatabase, n: usize) {
    let log = db.audit_log().await;
    assert_eq!(log.len(), n, "audit log length");
    let mut prev: Option<&AuditRecord> = None;
    for (i, entry) in log.iter().enumerate() {
        assert_eq!(entry.seq, i as i64 + 1, "seq must be contiguous");
        let expected_prev = prev.map_or(GENESIS, |p| p.hash.as_str());
        assert_eq!(entry.prev_hash, expected_prev, "entry {} must link back", entry.seq);
        assert_eq!(entry.hash, test_hash(entry), "entry {} must hash the same when read back", entry.seq);
        prev = Some(entry);
    }
    let mut tx = db.storage.begin_read().await.unwrap();
    let head = tx.audit_head().await.unwrap();
    assert_eq!(head, log.last().map(|e| (e.seq, e.hash.clone())));
}

// ---- scenarios ------------------------------------------------------------------------------

async fn migrations_apply_and_are_idempotent(db: Arc<TestDatabase>) {
    // A second process starting on the same database runs the migrations again: a no-op.
    let again = Storage::connect(&db.target).await.expect("re-open and re-migrate");
    assert_eq!(again.backend(), db.storage.backend());
    again.ping().await.unwrap();
    let mut tx = again.begin_read().await.unwrap();
    assert_eq!(tx.audit_head().await.unwrap(), None);
    assert!(tx.list_patients().await.unwrap().is_empty());
    assert!(tx.list_prescriptions(&QueueFilter::default()).await.unwrap().is_empty());
    drop(tx);
    again.close().await;
}

async fn patient_record_round_trips_with_allergies_and_medications(db: Arc<TestDatabase>) {
    let mut tx = db.storage.begin().await.unwrap();
    let new = NewPatient {
        date_of_birth: chrono::NaiveDate::from_ymd_opt(2026, 7, 26),
        height_cm: Some(65.5),
        pregnant: Some(false),
        serum_creatinine_umol_l: Some(30.0),
        crcl_ml_min: Some(55.25),
        child_pugh: Some("A".to_owned()),
        ..infant()
    };
    let stored = tx.insert_patient(&new).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = db.storage.begin_read().await.unwrap();
    let read = tx.get_patient(stored.id).await.unwrap();
    assert_eq!(read, stored);
    assert_eq!(read.allergies, vec!["penicillin"]);
    assert_eq!(read.active_medications, vec!["amlodipine"]);
    assert_eq!(read.weight_kg, Some(8.0));
    assert_eq!(read.date_of_birth, new.date_of_birth);
    assert_eq!(read.halal_preference, "halal_only");
    assert!(matches!(tx.get_patient(stored.id + 1000).await, Err(Error::NotFound(_))));
}

async fn pharmacy_queue_lists_by_status_oldest_first(db: Arc<TestDatabase>) {
    let first = prescription(&db.storage, 2).await;
    let second = prescription(&db.storage, 1).await;
    let third = prescription(&db.storage, 1).await;
    let mut tx = db.storage.begin().await.unwrap();
    let mut moved = tx.get_prescription(second.id).await.unwrap();
    moved.status = "HITL_REVIEW".to_owned();
    tx.update_prescription(&moved).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = db.storage.begin_read().await.unwrap();
    let received = tx
        .list_prescriptions(&QueueFilter { statuses: vec!["RX_RECEIVED".to_owned()], ..QueueFilter::default() })
        .await
        .unwrap();
    assert_eq!(received.iter().map(|rx| rx.id).collect::<Vec<_>>(), vec![first.id, third.id]);
    let both = tx
        .list_prescriptions(&QueueFilter {
            statuses: vec!["RX_RECEIVED".to_owned(), "HITL_REVIEW".to_owned()],
            limit: Some(2),
            ..QueueFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(both.iter().map(|rx| rx.id).collect::<Vec<_>>(), vec![first.id, second.id]);
    let page =
        tx.list_prescriptions(&QueueFilter { after_id: Some(first.id), ..QueueFilter::default() }).await.unwrap();
    assert_eq!(page.len(), 2);
    let items = tx.list_items(first.id).await.unwrap();
    assert_eq!(items.iter().map(|i| i.line_no).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(items[0].dose_value, "10/3", "exact dose survives storage");
}

async fn stale_prescription_update_is_a_conflict_and_changes_nothing(db: Arc<TestDatabase>) {
    let rx = prescription(&db.storage, 1).await;
    let mut tx = db.storage.begin().await.unwrap();
    let mut first = rx.clone();
    first.status = "AI_VERIFYING".to_owned();
    let updated = tx.update_prescription(&first).await.unwrap();
    assert_eq!(updated.version, rx.version + 1);
    let mut stale = rx.clone();
    stale.status = "CANCELLED".to_owned();
    let refused = tx.update_prescription(&stale).await;
    assert!(matches!(refused, Err(Error::Conflict(_))), "stale write must conflict: {refused:?}");
    tx.commit().await.unwrap();
    let mut tx = db.storage.begin_read().await.unwrap();
    assert_eq!(tx.get_prescription(rx.id).await.unwrap().status, "AI_VERIFYING");
}

async fn two_pharmacists_approving_the_same_line_exactly_one_wins(db: Arc<TestDatabase>) {
    let rx = prescription(&db.storage, 1).await;
    // Both pharmacists load the line from the same state…
    let mut read = db.storage.begin_read().await.unwrap();
    let seen = read.get_item(rx.id, 1).await.unwrap();
    drop(read);
    // …and press "approve" at the same moment.
    let barrier = Arc::new(Barrier::new(2));
    let mut tasks = Vec::new();
    for pharmacist in ["ph.tan", "ph.wong"] {
        let (storage, barrier, mut item) = (db.storage.clone(), barrier.clone(), seen.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut tx = storage.begin().await?;
            item.status = "APPROVED".to_owned();
            item.decision = Some("dispense".to_owned());
            item.approved_by = Some(pharmacist.to_owned());
            item.approved_view_hash = Some("view-1".to_owned());
            let updated = tx.update_item(&item).await?;
            tx.insert_approval(&NewApproval {
                rx_id: item.rx_id,
                line_no: item.line_no,
                pharmacist: pharmacist.to_owned(),
                action: "dispense".to_owned(),
                reason: None,
                justification: None,
                view_hash: "view-1".to_owned(),
            })
            .await?;
            let at = tx.now();
            tx.append_audit(|prev| audit_entry(prev, at, "rx.approve", Some(item.rx_id))).await?;
            tx.commit().await?;
            Ok::<_, Error>(updated)
        }));
    }
    let mut won = Vec::new();
    let mut conflicts = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(item) => won.push(item),
            Err(Error::Conflict(_)) => conflicts += 1,
            Err(other) => panic!("the losing approval must be a conflict, not {other:?}"),
        }
    }
    assert_eq!((won.len(), conflicts), (1, 1), "exactly one approval wins");
    let mut tx = db.storage.begin_read().await.unwrap();
    let approvals = tx.list_approvals(rx.id).await.unwrap();
    assert_eq!(approvals.len(), 1, "the loser left no approval behind");
    assert_eq!(Some(approvals[0].pharmacist.clone()), won[0].approved_by);
    assert_eq!(tx.get_item(rx.id, 1).await.unwrap().version, seen.version + 1);
    drop(tx);
    assert_chain_intact(&db, 1).await;
}

async fn concurrent_audit_appends_form_one_contiguous_linked_chain(db: Arc<TestDatabase>) {
    const N: usize = 24;
    let barrier = Arc::new(Barrier::new(N));
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let (storage, barrier) = (db.storage.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                append(&storage, &format!("rx.read.{i}")).await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_chain_intact(&db, N).await;
}

async fn audit_appends_from_two_server_processes_form_one_chain(db: Arc<TestDatabase>) {
    // Two pools on one database stand in for two `rxgate serve` processes.
    let other = Storage::connect(&db.target).await.unwrap();
    const PER_PROCESS: usize = 10;
    let mut tasks = Vec::new();
    for (name, storage) in [("a", db.storage.clone()), ("b", other.clone())] {
        for i in 0..PER_PROCESS {
            let storage = storage.clone();
            tasks.push(tokio::spawn(async move { append(&storage, &format!("process.{name}.{i}")).await }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    other.close().await;
    assert_chain_intact(&db, 2 * PER_PROCESS).await;
}

async fn a_change_and_its_audit_entry_commit_together_or_not_at_all(db: Arc<TestDatabase>) {
    append(&db.storage, "first").await;
    let mut tx = db.storage.begin().await.unwrap();
    let patient = tx.insert_patient(&infant()).await.unwrap();
    let at = tx.now();
    tx.append_audit(|prev| audit_entry(prev, at, "patient.create", None)).await.unwrap();
    tx.rollback().await.unwrap();

    let mut tx = db.storage.begin_read().await.unwrap();
    assert!(matches!(tx.get_patient(patient.id).await, Err(Error::NotFound(_))));
    drop(tx);
    assert_chain_intact(&db, 1).await;
    // The next entry takes the rolled-back entry's seq: no gap.
    assert_eq!(append(&db.storage, "second").await.seq, 2);
    assert_chain_intact(&db, 2).await;
}

async fn database_refuses_update_and_delete_on_the_audit_log(db: Arc<TestDatabase>) {
    append(&db.storage, "rx.approve").await;
    append(&db.storage, "rx.dispense").await;
    for sql in [
        "UPDATE audit_log SET action = 'rx.cancel' WHERE seq = 1",
        "DELETE FROM audit_log WHERE seq = 2",
        "DELETE FROM audit_log",
        "DELETE FROM audit_head",
    ] {
        let refused = db.execute(sql).await;
        assert!(refused.is_err(), "the database must refuse `{sql}`");
    }
    if db.storage.backend() == rxgate_storage::Backend::Postgres {
        assert!(db.execute("TRUNCATE audit_log").await.is_err(), "TRUNCATE must be refused");
    }
    assert_chain_intact(&db, 2).await;
}

async fn database_refuses_an_audit_row_that_does_not_continue_the_chain(db: Arc<TestDatabase>) {
    let first = append(&db.storage, "rx.approve").await;
    let gap = "INSERT INTO audit_log (seq, at, actor, role, action, before, after, correlation_id, prev_hash, hash) \
               VALUES (5, '2026-11-23T10:00:00Z', 'x', 'admin', 'forged', '', '', 'c', 'p', 'h')";
    assert!(db.execute(gap).await.is_err(), "a gap in seq must be refused");
    let wrong_link = "INSERT INTO audit_log (seq, at, actor, role, action, before, after, correlation_id, \
                      prev_hash, hash) VALUES (2, '2026-11-23T10:00:00Z', 'x', 'admin', 'forged', '', '', 'c', \
                      'not-the-head', 'h')";
    assert!(db.execute(wrong_link).await.is_err(), "a broken link must be refused");
    assert!(db.execute("UPDATE audit_head SET seq = 0, hash = NULL").await.is_err(), "the head never moves back");
    assert_chain_intact(&db, 1).await;
    assert_eq!(first.seq, 1);
}

async fn append_refuses_an_entry_that_does_not_continue_the_chain(db: Arc<TestDatabase>) {
    append(&db.storage, "rx.approve").await;
    let mut tx = db.storage.begin().await.unwrap();
    let at = tx.now();
    let skipped = tx.append_audit(|prev| AuditRecord { seq: 3, ..audit_entry(prev, at, "forged", None) }).await;
    assert!(matches!(skipped, Err(Error::Invalid(_))), "{skipped:?}");
    let unlinked = tx
        .append_audit(|prev| AuditRecord { prev_hash: "x".to_owned(), ..audit_entry(prev, at, "forged", None) })
        .await;
    assert!(matches!(unlinked, Err(Error::Invalid(_))), "{unlinked:?}");
    let nanos = at + chrono::Duration::nanoseconds(1);
    let too_precise = tx.append_audit(|prev| audit_entry(prev, nanos, "forged", None)).await;
    assert!(matches!(too_precise, Err(Error::Invalid(_))), "{too_precise:?}");
    drop(tx);
    assert_chain_intact(&db, 1).await;
}

async fn tampering_helper_changes_an_entry_so_verification_can_catch_it(db: Arc<TestDatabase>) {
    append(&db.storage, "rx.approve").await;
    append(&db.storage, "rx.dispense").await;
    db.tamper_audit_action(1, "rx.cancel").await;
    let log = db.audit_log().await;
    assert_eq!(log[0].action, "rx.cancel");
    assert_ne!(log[0].hash, test_hash(&log[0]), "the stored hash no longer matches the content");
    // The protection is back in place afterwards.
    assert!(db.execute("UPDATE audit_log SET action = 'x' WHERE seq = 2").await.is_err());
}

async fn dispense_retried_five_times_is_recorded_once_and_decrements_stock_once(db: Arc<TestDatabase>) {
    let rx = prescription(&db.storage, 1).await;
    stock(&db.storage, "MAL19990001A", "L001", 10).await;
    let request = NewDispense {
        idempotency_key: "dispense-7f3a".to_owned(),
        rx_id: rx.id,
        line_no: 1,
        product: "MAL19990001A".to_owned(),
        lot: "L001".to_owned(),
        quantity: 2,
        dispensed_by: "ph.tan".to_owned(),
    };
    // Five retries of one request, racing each other (a flaky network and an eager client).
    let barrier = Arc::new(Barrier::new(5));
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let (storage, barrier, request) = (db.storage.clone(), barrier.clone(), request.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let mut tx = storage.begin().await.unwrap();
                let outcome = tx.dispense(&request).await.unwrap();
                if let DispenseOutcome::Recorded(_) = outcome {
                    let at = tx.now();
                    tx.append_audit(|prev| audit_entry(prev, at, "rx.dispense", Some(request.rx_id))).await.unwrap();
                }
                tx.commit().await.unwrap();
                outcome
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    let recorded = outcomes.iter().filter(|o| matches!(o, DispenseOutcome::Recorded(_))).count();
    assert_eq!(recorded, 1, "one retry records, the others replay: {outcomes:?}");
    assert!(outcomes.iter().all(|o| o.record() == outcomes[0].record()), "every retry gets the original record");
    // And a sixth retry, long after.
    let mut tx = db.storage.begin().await.unwrap();
    assert!(matches!(tx.dispense(&request).await.unwrap(), DispenseOutcome::Replayed(_)));
    tx.commit().await.unwrap();

    let mut tx = db.storage.begin_read().await.unwrap();
    assert_eq!(tx.list_dispenses(rx.id).await.unwrap().len(), 1);
    drop(tx);
    assert_eq!(qty_on_hand(&db.storage, "MAL19990001A", "L001").await, 8);
    assert_chain_intact(&db, 1).await;
}

async fn same_idempotency_key_for_a_different_dispense_is_a_conflict(db: Arc<TestDatabase>) {
    let rx = prescription(&db.storage, 2).await;
    stock(&db.storage, "MAL19990001A", "L001", 10).await;
    let first = NewDispense {
        idempotency_key: "k1".to_owned(),
        rx_id: rx.id,
        line_no: 1,
        product: "MAL19990001A".to_owned(),
        lot: "L001".to_owned(),
        quantity: 1,
        dispensed_by: "ph.tan".to_owned(),
    };
    let mut tx = db.storage.begin().await.unwrap();
    tx.dispense(&first).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = db.storage.begin().await.unwrap();
    let reused = tx.dispense(&NewDispense { line_no: 2, ..first.clone() }).await;
    assert!(matches!(reused, Err(Error::Conflict(_))), "{reused:?}");
    drop(tx);
    assert_eq!(qty_on_hand(&db.storage, "MAL19990001A", "L001").await, 9);
}

async fn inventory_never_goes_below_zero_even_under_concurrent_dispenses(db: Arc<TestDatabase>) {
    let rx = prescription(&db.storage, 1).await;
    stock(&db.storage, "MAL19990002B", "L9", 5).await;
    let barrier = Arc::new(Barrier::new(8));
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (storage, barrier) = (db.storage.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let mut tx = storage.begin().await?;
                let outcome = tx
                    .dispense(&NewDispense {
                        idempotency_key: format!("key-{i}"),
                        rx_id: rx.id,
                        line_no: 1,
                        product: "MAL19990002B".to_owned(),
                        lot: "L9".to_owned(),
                        quantity: 1,
                        dispensed_by: "ph.tan".to_owned(),
                    })
                    .await?;
                tx.commit().await?;
                Ok::<_, Error>(outcome)
            })
        })
        .collect();
    let mut recorded = 0;
    let mut short = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(DispenseOutcome::Recorded(_)) => recorded += 1,
            Err(Error::InsufficientStock { on_hand: 0, requested: 1, .. }) => short += 1,
            other => panic!("unexpected dispense outcome {other:?}"),
        }
    }
    assert_eq!((recorded, short), (5, 3));
    assert_eq!(qty_on_hand(&db.storage, "MAL19990002B", "L9").await, 0);
    let mut tx = db.storage.begin_read().await.unwrap();
    assert_eq!(tx.list_dispenses(rx.id).await.unwrap().len(), 5, "refused dispenses left no record");
    drop(tx);
    // The constraint holds even against SQL that bypasses the API.
    assert!(db.execute("UPDATE inventory SET qty_on_hand = -1").await.is_err());
    // An unknown lot is not "zero stock".
    let mut tx = db.storage.begin().await.unwrap();
    let unknown = tx
        .dispense(&NewDispense {
            idempotency_key: "key-x".to_owned(),
            rx_id: rx.id,
            line_no: 1,
            product: "MAL19990002B".to_owned(),
            lot: "NO-SUCH-LOT".to_owned(),
            quantity: 1,
            dispensed_by: "ph.tan".to_owned(),
        })
        .await;
    assert!(matches!(unknown, Err(Error::NotFound(_))), "{unknown:?}");
}

async fn seeding_inventory_again_does_not_reset_dispensed_stock(db: Arc<TestDatabase>) {
    let rx = prescription(&db.storage, 1).await;
    stock(&db.storage, "MAL19990003C", "A1", 4).await;
    let mut tx = db.storage.begin().await.unwrap();
    tx.dispense(&NewDispense {
        idempotency_key: "d1".to_owned(),
        rx_id: rx.id,
        line_no: 1,
        product: "MAL19990003C".to_owned(),
        lot: "A1".to_owned(),
        quantity: 3,
        dispensed_by: "ph.tan".to_owned(),
    })
    .await
    .unwrap();
    let lot = tx.get_inventory_lot("MAL19990003C", "A1").await.unwrap();
    let reseeded = tx.seed_inventory(&InventoryLot { qty_on_hand: 4, ..lot }).await.unwrap();
    assert!(!reseeded);
    tx.commit().await.unwrap();
    assert_eq!(qty_on_hand(&db.storage, "MAL19990003C", "A1").await, 1);
    let mut tx = db.storage.begin().await.unwrap();
    let received = tx.receive_stock("MAL19990003C", "A1", None, 10).await.unwrap();
    assert_eq!(received.qty_on_hand, 11);
    assert_eq!(tx.list_inventory(Some("MAL19990003C")).await.unwrap().len(), 1);
    tx.commit().await.unwrap();
}

async fn verification_and_its_alerts_are_stored_against_the_prescription(db: Arc<TestDatabase>) {
    let rx = prescription(&db.storage, 2).await;
    let mut tx = db.storage.begin().await.unwrap();
    let result = json!({"blocking": true, "highest_severity": "major", "ddi_alerts": [{"drugs": ["amlodipine", "clarithromycin"]}]});
    let verification = tx
        .insert_verification(&NewVerification {
            rx_id: rx.id,
            result: result.clone(),
            verification_hash: "vh1".to_owned(),
            knowledge_version: "2026.11".to_owned(),
            knowledge_hash: "kh1".to_owned(),
        })
        .await
        .unwrap();
    tx.insert_alert(
        AlertKind::Ddi,
        &NewAlert {
            rx_id: rx.id,
            verification_id: Some(verification.id),
            line_nos: vec![1, 2],
            severity: "major".to_owned(),
            payload: json!({"drugs": ["amlodipine", "clarithromycin"], "management": "use azithromycin"}),
        },
    )
    .await
    .unwrap();
    let bad_severity = tx
        .insert_alert(
            AlertKind::Allergy,
            &NewAlert {
                rx_id: rx.id,
                verification_id: Some(verification.id),
                line_nos: vec![1],
                severity: "catastrophic".to_owned(),
                payload: json!({}),
            },
        )
        .await;
    assert!(matches!(bad_severity, Err(Error::Invalid(_))), "{bad_severity:?}");
    drop(tx);

    // The failed insert poisoned that transaction (PostgreSQL), so write again in a new one.
    let mut tx = db.storage.begin().await.unwrap();
    let verification = tx
        .insert_verification(&NewVerification {
            rx_id: rx.id,
            result: result.clone(),
            verification_hash: "vh2".to_owned(),
            knowledge_version: "2026.11".to_owned(),
            knowledge_hash: "kh1".to_owned(),
        })
        .await
        .unwrap();
    tx.insert_alert(
        AlertKind::Allergy,
        &NewAlert {
            rx_id: rx.id,
            verification_id: Some(verification.id),
            line_nos: vec![1],
            severity: "contraindicated".to_owned(),
            payload: json!({"drug": "amoxicillin", "allergy": "penicillin", "kind": "same_class"}),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let mut tx = db.storage.begin_read().await.unwrap();
    let latest = tx.latest_verification(rx.id).await.unwrap().unwrap();
    assert_eq!((latest.verification_hash.as_str(), &latest.result), ("vh2", &result));
    let allergy = tx.list_alerts(AlertKind::Allergy, rx.id, Some(latest.id)).await.unwrap();
    assert_eq!(allergy.len(), 1);
    assert_eq!(allergy[0].severity, "contraindicated");
    assert!(tx.list_alerts(AlertKind::Ddi, rx.id, None).await.unwrap().is_empty(), "the first tx rolled back");
}

async fn adverse_event_block_stays_until_lifted_once(db: Arc<TestDatabase>) {
    let rx = prescription(&db.storage, 1).await;
    let mut tx = db.storage.begin().await.unwrap();
    let scan = tx
        .insert_barcode_scan(&NewBarcodeScan {
            rx_id: rx.id,
            line_no: 1,
            scan: "(01)09501101530003(17)300131(10)L001".to_owned(),
            matched: true,
            problems: vec![],
            device: Some("scanner-1".to_owned()),
        })
        .await
        .unwrap();
    assert_eq!(tx.get_barcode_scan(scan.id).await.unwrap(), scan);
    let event = tx
        .insert_adverse_event(&NewAdverseEvent {
            patient_id: rx.patient_id,
            drug_class: "penicillins".to_owned(),
            drug: Some("amoxicillin".to_owned()),
            description: "urticaria after first dose".to_owned(),
            reported_by: "ph.tan".to_owned(),
        })
        .await
        .unwrap();
    assert_eq!(tx.list_adverse_events(rx.patient_id, true).await.unwrap().len(), 1);
    let lifted = tx.lift_adverse_event(event.id, "ph.wong", "rechallenge tolerated").await.unwrap();
    assert_eq!(lifted.lifted_by.as_deref(), Some("ph.wong"));
    assert!(tx.list_adverse_events(rx.patient_id, true).await.unwrap().is_empty());
    assert_eq!(tx.list_adverse_events(rx.patient_id, false).await.unwrap().len(), 1);
    assert!(matches!(tx.lift_adverse_event(event.id, "ph.tan", "again").await, Err(Error::Conflict(_))));
    assert!(matches!(tx.lift_adverse_event(event.id + 99, "ph.tan", "x").await, Err(Error::NotFound(_))));
    tx.commit().await.unwrap();
}

async fn usernames_are_unique(db: Arc<TestDatabase>) {
    let mut tx = db.storage.begin().await.unwrap();
    let user = tx.insert_user("ph.tan", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", "pharmacist").await.unwrap();
    assert!(!format!("{user:?}").contains("argon2"), "the hash stays out of Debug output");
    tx.commit().await.unwrap();
    let mut tx = db.storage.begin().await.unwrap();
    assert!(matches!(tx.insert_user("ph.tan", "x", "admin").await, Err(Error::Duplicate(_))));
    drop(tx);
    let mut tx = db.storage.begin().await.unwrap();
    assert!(matches!(tx.insert_user("mallory", "x", "superuser").await, Err(Error::Invalid(_))));
    drop(tx);
    let mut tx = db.storage.begin().await.unwrap();
    tx.set_password_hash("ph.tan", "new-hash").await.unwrap();
    assert_eq!(tx.get_user("ph.tan").await.unwrap().unwrap().password_hash, "new-hash");
    assert!(tx.get_user("nobody").await.unwrap().is_none());
    tx.commit().await.unwrap();
}

async fn an_ehr_identifier_belongs_to_one_patient(db: Arc<TestDatabase>) {
    let mrn = |v: &str| vec![("urn:ehr:mrn".to_string(), v.to_string())];
    let mut tx = db.storage.begin().await.unwrap();
    let a = tx.insert_patient(&infant()).await.unwrap();
    let b = tx.insert_patient(&infant()).await.unwrap();
    tx.add_patient_identifiers(a.id, &mrn("MRN-1")).await.unwrap();
    // Again for the same patient: nothing changes; for another patient: refused.
    tx.add_patient_identifiers(a.id, &mrn("MRN-1")).await.unwrap();
    assert!(matches!(tx.add_patient_identifiers(b.id, &mrn("MRN-1")).await, Err(Error::Conflict(_))));
    tx.add_patient_identifiers(b.id, &[("urn:other:mrn".to_string(), "MRN-1".to_string())]).await.unwrap();
    let both = [mrn("MRN-1"), vec![("urn:other:mrn".to_string(), "MRN-1".to_string())]].concat();
    assert_eq!(tx.patients_by_identifiers(&both).await.unwrap(), [a.id, b.id]);
    assert_eq!(tx.patients_by_identifiers(&mrn("MRN-2")).await.unwrap(), Vec::<i64>::new());
    assert_eq!(tx.patient_identifiers(a.id).await.unwrap(), mrn("MRN-1"));
    let updated = tx
        .update_patient_clinical(a.id, &NewPatient { allergies: vec!["penicillin".into()], ..infant() })
        .await
        .unwrap();
    assert_eq!((updated.allergies, updated.demo_name), (vec!["penicillin".to_string()], a.demo_name));
    tx.commit().await.unwrap();
}

async fn a_reversal_keeps_the_dispense_restocks_once_and_feeds_the_outbox_once(db: Arc<TestDatabase>) {
    let rx = prescription(&db.storage, 1).await;
    stock(&db.storage, "MAL19990003C", "A1", 10).await;
    let mut tx = db.storage.begin().await.unwrap();
    let DispenseOutcome::Recorded(record) = tx
        .dispense(&NewDispense {
            idempotency_key: "d1".to_owned(),
            rx_id: rx.id,
            line_no: 1,
            product: "MAL19990003C".to_owned(),
            lot: "A1".to_owned(),
            quantity: 4,
            dispensed_by: "ph.tan".to_owned(),
        })
        .await
        .unwrap()
    else {
        panic!("a first dispense is recorded")
    };
    let reversal = tx.reverse_dispense(&record, "declined", "patient has a supply", true, "ph.tan").await.unwrap();
    assert!(reversal.restocked);
    assert!(matches!(tx.reverse_dispense(&record, "declined", "again", true, "ph.tan").await, Err(Error::Conflict(_))));
    tx.commit().await.unwrap();
    assert_eq!(qty_on_hand(&db.storage, "MAL19990003C", "A1").await, 10, "returned once, not twice");
    let mut tx = db.storage.begin().await.unwrap();
    assert_eq!(tx.list_dispenses(rx.id).await.unwrap(), std::slice::from_ref(&record), "the record stays");
    assert_eq!(tx.list_reversals(rx.id).await.unwrap(), [reversal]);
    assert!(matches!(
        tx.reverse_dispense(&record, "changed_mind", "x", false, "ph.tan").await,
        Err(Error::Invalid(_) | Error::Conflict(_))
    ));
    drop(tx);
    // The outbox: one reversal without an event, none once its event exists.
    let mut tx = db.storage.begin().await.unwrap();
    assert_eq!(tx.reversals_without_event("DISPENSE_REVERSAL", 10).await.unwrap(), std::slice::from_ref(&record));
    tx.insert_event(&NewInteropEvent {
        direction: "outbound".into(),
        kind: "DISPENSE_REVERSAL".into(),
        natural_key: format!("DISPENSE_REVERSAL:dispense:{}", record.id),
        correlation_id: "c-1".into(),
        payload: "{}".into(),
        status: "pending".into(),
        rx_id: Some(rx.id),
    })
    .await
    .unwrap();
    assert!(tx.reversals_without_event("DISPENSE_REVERSAL", 10).await.unwrap().is_empty());
    tx.commit().await.unwrap();
}

async fn a_changed_order_is_written_only_at_the_version_it_was_read(db: Arc<TestDatabase>) {
    let rx = prescription(&db.storage, 1).await;
    let mut tx = db.storage.begin().await.unwrap();
    let item = tx.get_item(rx.id, 1).await.unwrap();
    let order = ItemOrder {
        drug: "paracetamol".into(),
        dose_value: "120".into(),
        dose_unit: "mg".into(),
        frequency: "q6h".into(),
        route: "oral".into(),
        duration_days: Some(3),
    };
    let amended = tx.amend_item_order(rx.id, 1, item.version, &order).await.unwrap();
    assert_eq!((amended.dose_value.as_str(), amended.version), ("120", item.version + 1));
    assert!(matches!(tx.amend_item_order(rx.id, 1, item.version, &order).await, Err(Error::Conflict(_))));
    tx.commit().await.unwrap();
}

// ---- explanations: template first, model text as an upgrade --------------------------------

/// A prescription with a stored verification; returns (rx id, verification id).
async fn verified(storage: &Storage) -> (i64, i64) {
    let rx = prescription(storage, 2).await;
    let mut tx = storage.begin().await.unwrap();
    let verification = tx
        .insert_verification(&NewVerification {
            rx_id: rx.id,
            result: json!({"ddi_alerts": [{"drugs": ["amlodipine", "clarithromycin"], "severity": "major"}]}),
            verification_hash: "vh".to_owned(),
            knowledge_version: "2026.11".to_owned(),
            knowledge_hash: "kh".to_owned(),
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    (rx.id, verification.id)
}

/// The English patient explanation of the interaction, from `source`.
fn explanation_of(rx_id: i64, verification_id: i64, source: &str, text: &str) -> NewExplanation {
    NewExplanation {
        rx_id,
        verification_id,
        line_no: Some(2),
        finding_key: "ddi:amlodipine+clarithromycin".to_owned(),
        language: "en".to_owned(),
        audience: "patient".to_owned(),
        text: text.to_owned(),
        source: source.to_owned(),
        model: (source == "llm").then(|| "SmolLM2-135M-Instruct".to_owned()),
        prompt_version: "v1".to_owned(),
        facts_hash: "ab".repeat(32),
        generated_tokens: if source == "llm" { 41 } else { 0 },
        created_by: "explainer".to_owned(),
    }
}

const TEMPLATE_TEXT: &str = "Clarithromycin slows the breakdown of amlodipine (CYP3A4), so amlodipine levels rise.";
const MODEL_TEXT: &str = "Clarithromycin slows how your body clears amlodipine, so more of it stays in your blood.";

async fn put(storage: &Storage, new: &NewExplanation) -> (Explanation, PutOutcome) {
    let mut tx = storage.begin().await.unwrap();
    let out = tx.put_explanation(new).await.unwrap();
    tx.commit().await.unwrap();
    out
}

async fn stored_explanations(storage: &Storage, rx_id: i64) -> Vec<Explanation> {
    let mut tx = storage.begin_read().await.unwrap();
    tx.list_explanations(rx_id).await.unwrap()
}

async fn a_model_text_upgrades_the_template_once_and_a_template_never_replaces_it(db: Arc<TestDatabase>) {
    let (rx, verification) = verified(&db.storage).await;
    let template = explanation_of(rx, verification, "template", TEMPLATE_TEXT);
    let model = explanation_of(rx, verification, "llm", MODEL_TEXT);

    // The template arrives first and is what the pharmacist reads at once.
    let (first, outcome) = put(&db.storage, &template).await;
    assert_eq!(outcome, PutOutcome::Stored);
    assert_eq!((first.source.as_str(), first.upgraded_at), ("template", None));
    // The same template again changes nothing.
    let (again, outcome) = put(&db.storage, &template).await;
    assert_eq!((again, outcome), (first.clone(), PutOutcome::Unchanged));

    // The model's text replaces it in place: same row, its creation time kept, the
    // template handed back for the audit record.
    let (upgraded, outcome) = put(&db.storage, &model).await;
    assert_eq!(outcome, PutOutcome::Upgraded { replaced: Some(Box::new(first.clone())) });
    assert_eq!((upgraded.id, upgraded.created_at), (first.id, first.created_at));
    assert_eq!((upgraded.source.as_str(), upgraded.text.as_str()), ("llm", MODEL_TEXT));
    assert_eq!((upgraded.model.as_deref(), upgraded.generated_tokens), (Some("SmolLM2-135M-Instruct"), 41));
    assert!(upgraded.upgraded_at.is_some());

    // Neither a late template nor a second model text changes it.
    let (after_template, outcome) = put(&db.storage, &template).await;
    assert_eq!((&after_template, outcome), (&upgraded, PutOutcome::Unchanged));
    let other_model = explanation_of(rx, verification, "llm", "Another wording of the same facts.");
    let (after_model, outcome) = put(&db.storage, &other_model).await;
    assert_eq!((&after_model, outcome), (&upgraded, PutOutcome::Unchanged));

    let listed = stored_explanations(&db.storage, rx).await;
    assert_eq!(listed, vec![upgraded]);

    // Model text first (no template was ever stored): a plain new row, never upgraded.
    let mut malay = explanation_of(rx, verification, "llm", "Klaritromisin melambatkan amlodipin.");
    malay.language = "ms".to_owned();
    let (row, outcome) = put(&db.storage, &malay).await;
    assert_eq!((outcome, row.upgraded_at), (PutOutcome::Stored, None));
    let mut malay_template = malay.clone();
    malay_template.source = "template".to_owned();
    assert_eq!(put(&db.storage, &malay_template).await.1, PutOutcome::Unchanged);

    // An upgrade only replaces a text written from the same facts.
    let mut pharmacist = explanation_of(rx, verification, "template", TEMPLATE_TEXT);
    pharmacist.audience = "pharmacist".to_owned();
    put(&db.storage, &pharmacist).await;
    let mut other_facts = explanation_of(rx, verification, "llm", MODEL_TEXT);
    other_facts.audience = "pharmacist".to_owned();
    other_facts.facts_hash = "cd".repeat(32);
    let (row, outcome) = put(&db.storage, &other_facts).await;
    assert_eq!((row.source.as_str(), outcome), ("template", PutOutcome::Unchanged));
}

async fn racing_upgrades_of_one_template_leave_exactly_one_model_text(db: Arc<TestDatabase>) {
    let (rx, verification) = verified(&db.storage).await;
    put(&db.storage, &explanation_of(rx, verification, "template", TEMPLATE_TEXT)).await;
    // Several agents (or server processes) post model texts for the same slot at once.
    let barrier = Arc::new(Barrier::new(6));
    let mut tasks = Vec::new();
    for i in 0..6 {
        let storage = db.storage.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            let text = format!("Model wording number {i}.");
            barrier.wait().await;
            let mut tx = storage.begin().await.unwrap();
            let (_, outcome) = tx.put_explanation(&explanation_of(rx, verification, "llm", &text)).await.unwrap();
            tx.commit().await.unwrap();
            outcome
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    let upgrades = outcomes.iter().filter(|o| matches!(o, PutOutcome::Upgraded { .. })).count();
    let unchanged = outcomes.iter().filter(|o| **o == PutOutcome::Unchanged).count();
    assert_eq!((upgrades, unchanged), (1, 5), "{outcomes:?}");
    let listed = stored_explanations(&db.storage, rx).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].source, "llm");
}

async fn database_refuses_any_other_change_to_a_stored_explanation(db: Arc<TestDatabase>) {
    let (rx, verification) = verified(&db.storage).await;
    let (row, _) = put(&db.storage, &explanation_of(rx, verification, "template", TEMPLATE_TEXT)).await;
    // Rewriting a template as another template, or moving it to other facts, bypasses the
    // upgrade: the database refuses it whoever asks.
    for sql in [
        format!("UPDATE explanations SET text = 'Edited.' WHERE id = {}", row.id),
        format!(
            "UPDATE explanations SET facts_hash = 'x', source = 'llm', upgraded_at = created_at WHERE id = {}",
            row.id
        ),
    ] {
        assert!(db.execute(&sql).await.is_err(), "the database must refuse `{sql}`");
    }
    let (upgraded, _) = put(&db.storage, &explanation_of(rx, verification, "llm", MODEL_TEXT)).await;
    for sql in [
        format!("UPDATE explanations SET source = 'template' WHERE id = {}", upgraded.id),
        format!("UPDATE explanations SET text = 'Edited.' WHERE id = {}", upgraded.id),
    ] {
        assert!(db.execute(&sql).await.is_err(), "the database must refuse `{sql}`");
    }
    assert_eq!(stored_explanations(&db.storage, rx).await, vec![upgraded]);
}

async fn a_cds_client_token_id_is_claimed_once_across_connections(db: Arc<TestDatabase>) {
    let ehr = "https://ehr.example/fhir";
    let in_five_minutes = chrono::Utc::now() + chrono::Duration::minutes(5);
    // Two instances (two pooled connections, two transactions) receive the same token at
    // once: exactly one of them may accept it.
    let barrier = Arc::new(Barrier::new(2));
    let claims: Vec<_> = (0..2)
        .map(|_| {
            let (db, barrier) = (db.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let mut tx = db.storage.begin().await.unwrap();
                let first = tx.claim_cds_token_id(ehr, "jti-1", in_five_minutes).await.unwrap();
                tx.commit().await.unwrap();
                first
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for claim in claims {
        outcomes.push(claim.await.unwrap());
    }
    outcomes.sort();
    assert_eq!(outcomes, [false, true], "one claim wins, the replay loses");

    let mut tx = db.storage.begin().await.unwrap();
    assert!(!tx.claim_cds_token_id(ehr, "jti-1", in_five_minutes).await.unwrap(), "still a replay later");
    // A token id is the issuer's: another EHR may use the same string.
    assert!(tx.claim_cds_token_id("https://other-ehr.example", "jti-1", in_five_minutes).await.unwrap());
    // Ids of tokens past their expiry are forgotten (the token itself fails on `exp`), so the
    // table holds at most five minutes of ids.
    let a_minute_ago = chrono::Utc::now() - chrono::Duration::minutes(1);
    assert!(tx.claim_cds_token_id(ehr, "jti-old", a_minute_ago).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = db.storage.begin().await.unwrap();
    assert!(tx.claim_cds_token_id(ehr, "jti-old", a_minute_ago).await.unwrap(), "the expired id was purged");
    assert!(!tx.claim_cds_token_id(ehr, "jti-1", in_five_minutes).await.unwrap());
    tx.commit().await.unwrap();
}
