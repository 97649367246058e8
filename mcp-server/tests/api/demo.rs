//! `rxgate serve --demo`: a demo pharmacy whose queue tells the seed stories, taken in
//! through the guardrails and audited, and never seeded twice.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::{SECRET, body, spawn_at};

fn generics_in(queue: &Value) -> BTreeSet<String> {
    queue["prescriptions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|rx| rx["items"].as_array().unwrap().iter().map(|i| i["drug"].as_str().unwrap().to_lowercase()))
        .collect()
}

#[tokio::test]
async fn the_demo_queue_holds_the_seed_stories_and_a_restart_does_not_duplicate_it() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("RXGATE_JWT_SECRET", SECRET)];
    let app = spawn_at(dir.path(), &env, &["--demo"]);
    let queue = body(app.get("/api/v1/pharmacy/queue", Some(&app.token("pharmacist"))).await).await;
    let prescriptions = queue["prescriptions"].as_array().unwrap();
    assert!(prescriptions.len() >= 8, "{queue}");
    assert!(prescriptions.iter().all(|rx| rx["status"] == "RX_RECEIVED"));
    let drugs = generics_in(&queue);
    for story in ["amlodipine", "clarithromycin", "paracetamol", "amoxicillin", "amoxil", "lipitor", "metformin"] {
        assert!(drugs.contains(story), "no {story} in the demo queue: {drugs:?}");
    }

    // Each prescription was taken in through the gate, and that is on the record.
    let db = app.database().await;
    let mut tx = db.begin_read().await.unwrap();
    let received = tx.list_audit(0, 1000).await.unwrap().into_iter().filter(|e| e.action == "rx_received").count();
    assert_eq!(received, prescriptions.len());
    drop(tx);
    db.close().await;
    drop(app);

    let again = spawn_at(dir.path(), &env, &["--demo"]);
    let queue = body(again.get("/api/v1/pharmacy/queue", Some(&again.token("pharmacist"))).await).await;
    assert_eq!(queue["prescriptions"].as_array().unwrap().len(), prescriptions.len(), "seeded twice");
}
