//! Counter-device storage (migration 0003), on a fresh SQLite file and a fresh PostgreSQL
//! database (skipped, with a message on stderr, when PostgreSQL is not reachable).

use std::sync::Arc;

use rxgate_storage::testing::TestDatabase;
use rxgate_storage::{Error, NewDeviceScan, NewItem, NewPatient, NewPrescription, PrintStatus, ScanOutcome, Storage};
use serde_json::json;

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::run(rxgate_storage::testing::TestDatabase::sqlite().await, super::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(db) = rxgate_storage::testing::TestDatabase::postgres().await else { return };
                    super::run(db, super::$name).await;
                }
            )*
        }
    };
}

on_both_backends!(
    arming_a_workstation_again_replaces_its_line_and_a_dispense_disarms_it,
    a_scan_id_is_recorded_once_with_the_answer_it_was_given,
    print_jobs_are_listed_and_updated_only_for_their_own_workstation,
);

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

/// A prescription of two omeprazole lines, committed; returns its id.
async fn prescription(storage: &Storage) -> i64 {
    let mut tx = storage.begin().await.unwrap();
    let patient = tx
        .insert_patient(&NewPatient {
            demo_name: "Adult".into(),
            halal_preference: "none".into(),
            ..NewPatient::default()
        })
        .await
        .unwrap();
    let line = |line_no| NewItem {
        line_no,
        drug: "omeprazole".into(),
        dose_value: "20".into(),
        dose_unit: "mg".into(),
        frequency: "od".into(),
        route: "oral".into(),
        duration_days: Some(28),
        status: "APPROVED".into(),
    };
    let (rx, _) = tx
        .insert_prescription(&NewPrescription {
            patient_id: patient.id,
            prescriber: "drlim".into(),
            status: "HITL_REVIEW".into(),
            knowledge_hash: None,
            items: vec![line(1), line(2)],
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    rx.id
}

async fn arming_a_workstation_again_replaces_its_line_and_a_dispense_disarms_it(db: Arc<TestDatabase>) {
    let rx = prescription(&db.storage).await;
    let mut tx = db.storage.begin().await.unwrap();
    tx.arm_scan_station("ws-1", rx, 1, 28, "aisyah").await.unwrap();
    let again = tx.arm_scan_station("ws-1", rx, 2, 14, "farid").await.unwrap();
    assert_eq!((again.line_no, again.quantity, again.armed_by.as_str()), (2, 14, "farid"));
    tx.commit().await.unwrap();
    // Each refusal in its own transaction: after an error PostgreSQL takes no more statements.
    let mut tx = db.storage.begin().await.unwrap();
    assert!(matches!(tx.arm_scan_station("ws-2", rx, 3, 1, "aisyah").await, Err(Error::NotFound(_))), "no line 3");
    drop(tx);
    let mut tx = db.storage.begin().await.unwrap();
    assert!(matches!(tx.arm_scan_station("ws-2", rx, 1, 0, "aisyah").await, Err(Error::Invalid(_))));
    drop(tx);
    let mut tx = db.storage.begin().await.unwrap();
    assert_eq!(tx.armed_line("ws-1").await.unwrap().map(|s| s.line_no), Some(2));
    assert!(tx.disarm_scan_station("ws-1").await.unwrap());
    assert!(!tx.disarm_scan_station("ws-1").await.unwrap());
    assert!(tx.armed_line("ws-1").await.unwrap().is_none());
    tx.commit().await.unwrap();
}

async fn a_scan_id_is_recorded_once_with_the_answer_it_was_given(db: Arc<TestDatabase>) {
    let rx = prescription(&db.storage).await;
    let new = NewDeviceScan {
        scan_id: "6f1c2a7e-0000-4000-8000-000000000001".into(),
        workstation: "ws-1".into(),
        scan: "]C1010295179391317710DL24K570\u{1d}17280331".into(),
        scanned_at: chrono::Utc::now(),
        rx_id: Some(rx),
        line_no: Some(1),
        outcome: ScanOutcome::Mismatch,
        http_status: 409,
        response: json!({"outcome": "mismatch", "problems": ["wrong_product"]}),
    };
    let mut tx = db.storage.begin().await.unwrap();
    tx.insert_device_scan(&new).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = db.storage.begin().await.unwrap();
    assert!(matches!(tx.insert_device_scan(&new).await, Err(Error::Duplicate(_))));
    drop(tx);
    let mut tx = db.storage.begin_read().await.unwrap();
    let stored = tx.get_device_scan(&new.scan_id).await.unwrap().unwrap();
    assert_eq!((stored.outcome.as_str(), stored.http_status), ("mismatch", 409));
    assert_eq!(stored.response["problems"], json!(["wrong_product"]));
    assert_eq!(stored.scan, new.scan, "the GS survives the round trip");
    assert_eq!(tx.list_device_scans("ws-1").await.unwrap().len(), 1);
}

async fn print_jobs_are_listed_and_updated_only_for_their_own_workstation(db: Arc<TestDatabase>) {
    let rx = prescription(&db.storage).await;
    let mut tx = db.storage.begin().await.unwrap();
    let first = tx.enqueue_print_job("ws-1", rx, Some(1), "^XA^FD1^FS^XZ").await.unwrap();
    let second = tx.enqueue_print_job("ws-1", rx, None, "^XA^FD2^FS^XZ").await.unwrap();
    let other = tx.enqueue_print_job("ws-2", rx, Some(2), "^XA^FD3^FS^XZ").await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = db.storage.begin().await.unwrap();
    let ids: Vec<i64> = tx.queued_print_jobs("ws-1").await.unwrap().iter().map(|j| j.id).collect();
    assert_eq!(ids, [first.id, second.id]);
    assert!(matches!(
        tx.set_print_job_status(other.id, "ws-1", PrintStatus::Printed, None).await,
        Err(Error::NotFound(_))
    ));
    let done =
        tx.set_print_job_status(first.id, "ws-1", PrintStatus::FallbackPdf, Some("/spool/job.pdf")).await.unwrap();
    assert_eq!((done.status.as_str(), done.detail.as_deref()), ("fallback_pdf", Some("/spool/job.pdf")));
    tx.commit().await.unwrap();
    let mut tx = db.storage.begin_read().await.unwrap();
    let ids: Vec<i64> = tx.queued_print_jobs("ws-1").await.unwrap().iter().map(|j| j.id).collect();
    assert_eq!(ids, [second.id]);
    assert_eq!(tx.get_print_job(other.id).await.unwrap().status, "queued");
}
