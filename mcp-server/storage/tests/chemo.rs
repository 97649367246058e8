//! Chemotherapy storage (migration 0006) on both backends: four-eyes publication enforced by
//! the database itself, and optimistic versions on an order's action log.

use rxgate_storage::testing::TestDatabase;
use rxgate_storage::{Error, NewChemoOrder, Storage};

async fn each_backend(scenario: fn(Storage) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>) {
    let sqlite = TestDatabase::sqlite().await;
    scenario(sqlite.storage.clone()).await;
    sqlite.drop_database().await;
    if let Some(pg) = TestDatabase::postgres().await {
        scenario(pg.storage.clone()).await;
        pg.drop_database().await;
    }
}

fn order() -> NewChemoOrder {
    NewChemoOrder {
        patient_id: "MRN-1".into(),
        regimen_id: "CHOP-21".into(),
        regimen_version: "2026.1".into(),
        cycle: 1,
        day: 1,
        request: "{}".into(),
        findings: r#"{"hard_stops":[],"holds":[]}"#.into(),
        created_by: "drlim".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_author_can_never_publish_their_own_regimen() {
    each_backend(|storage| {
        Box::pin(async move {
            let mut tx = storage.begin().await.unwrap();
            let p = tx.propose_regimen("CHOP-21", "2026.1", "abc", "aisyah").await.unwrap();
            assert!(matches!(tx.propose_regimen("CHOP-21", "2026.1", "abc", "farid").await, Err(Error::Conflict(_))));
            tx.commit().await.unwrap();
            let mut tx = storage.begin().await.unwrap();
            let own = tx.publish_regimen(p.id, "aisyah").await;
            assert!(matches!(own, Err(Error::Invalid(_))), "the database must refuse author = approver: {own:?}");
            drop(tx);
            let mut tx = storage.begin().await.unwrap();
            let published = tx.publish_regimen(p.id, "drlim").await.unwrap();
            assert_eq!((published.approver.as_deref(), published.published_at.is_some()), (Some("drlim"), true));
            assert!(matches!(tx.publish_regimen(p.id, "farid").await, Err(Error::Conflict(_))));
            tx.commit().await.unwrap();
        })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_actions_from_one_read_cannot_both_be_appended() {
    each_backend(|storage| {
        Box::pin(async move {
            let mut tx = storage.begin().await.unwrap();
            let row = tx.insert_chemo_order(&order()).await.unwrap();
            tx.add_chemo_qualification("siti", "supervisor").await.unwrap();
            tx.commit().await.unwrap();
            let mut tx = storage.begin().await.unwrap();
            let first = tx.update_chemo_actions(row.id, row.version, r#"[{"action":"sign"}]"#).await.unwrap();
            assert_eq!(first.version, row.version + 1);
            let second = tx.update_chemo_actions(row.id, row.version, r#"[{"action":"print_label"}]"#).await;
            assert!(matches!(second, Err(Error::Conflict(_))), "{second:?}");
            assert!(tx.has_chemo_qualification("siti", "supervisor").await.unwrap());
            assert!(!tx.has_chemo_qualification("siti", "cardiologist").await.unwrap());
            assert_eq!(tx.get_chemo_order(row.id).await.unwrap().actions, r#"[{"action":"sign"}]"#);
            tx.commit().await.unwrap();
        })
    })
    .await;
}
