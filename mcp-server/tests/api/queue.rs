//! The pharmacy queue over REST: served from the database, and every read of it is an
//! entry in the audit chain (who, which role, which prescriptions, which request).

use rxgate_storage::{NewItem, NewPatient, NewPrescription, Storage};
use serde_json::json;

use crate::helpers::{body, spawn_app};

/// An 8 kg infant on paracetamol syrup, waiting for verification.
async fn seed_infant_on_paracetamol(db: &Storage) -> i64 {
    let mut tx = db.begin().await.unwrap();
    let patient = tx
        .insert_patient(&NewPatient {
            demo_name: "Demo Infant".into(),
            age_days: Some(240),
            weight_kg: Some(8.0),
            halal_preference: "none".into(),
            ..NewPatient::default()
        })
        .await
        .unwrap();
    let (rx, _) = tx
        .insert_prescription(&NewPrescription {
            patient_id: patient.id,
            prescriber: "dr-0007".into(),
            status: "RX_RECEIVED".into(),
            knowledge_hash: None,
            items: vec![NewItem {
                line_no: 1,
                drug: "paracetamol".into(),
                dose_value: "120".into(),
                dose_unit: "mg".into(),
                frequency: "q6h".into(),
                route: "oral".into(),
                duration_days: Some(3),
                status: "HITL_REVIEW".into(),
            }],
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    rx.id
}

#[tokio::test]
async fn the_pharmacist_sees_the_queue_and_the_read_is_audited() {
    let app = spawn_app();
    let db = app.database().await;
    let rx_id = seed_infant_on_paracetamol(&db).await;

    let response = app
        .http
        .get(app.url("/api/v1/pharmacy/queue"))
        .bearer_auth(app.token("pharmacist"))
        .header("X-Request-Id", "req-queue-0001")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], "req-queue-0001");
    let queue = body(response).await;
    let rx = &queue["prescriptions"][0];
    assert_eq!(rx["rx_id"], rx_id);
    assert_eq!(rx["status"], "RX_RECEIVED");
    assert_eq!(rx["items"][0]["drug"], "paracetamol");
    assert_eq!(rx["items"][0]["dose"], json!({"value": "120", "unit": "mg"}));

    let mut tx = db.begin_read().await.unwrap();
    let log = tx.list_audit(0, 100).await.unwrap();
    let read = log.last().expect("the read is in the audit log");
    assert_eq!(
        (read.action.as_str(), read.actor.as_str(), read.role.as_str(), read.correlation_id.as_str()),
        ("queue_read", "test-pharmacist", "pharmacist", "req-queue-0001")
    );
    assert!(read.after.contains(&rx_id.to_string()), "{}", read.after);
    assert!(!read.after.contains("Demo Infant"), "no patient name in the audit: {}", read.after);
}

#[tokio::test]
async fn every_queue_read_extends_one_unbroken_chain() {
    let app = spawn_app();
    let db = app.database().await;
    seed_infant_on_paracetamol(&db).await;
    for role in ["pharmacist", "agent", "pharmacist"] {
        assert_eq!(app.get("/api/v1/pharmacy/queue", Some(&app.token(role))).await.status(), 200);
    }
    let mut tx = db.begin_read().await.unwrap();
    let log = tx.list_audit(0, 100).await.unwrap();
    assert_eq!(log.len(), 3);
    for (i, pair) in log.windows(2).enumerate() {
        assert_eq!(pair[1].seq, pair[0].seq + 1, "entry {i}");
        assert_eq!(pair[1].prev_hash, pair[0].hash, "entry {} does not link to {}", pair[1].seq, pair[0].seq);
    }
    assert_ne!(log[0].correlation_id, log[1].correlation_id, "each request gets its own id");
}

#[tokio::test]
async fn an_unknown_status_filter_is_a_400_naming_the_known_ones() {
    let app = spawn_app();
    let response = app.get("/api/v1/pharmacy/queue?status=RX_RECEIVED,closed", Some(&app.token("pharmacist"))).await;
    assert_eq!(response.status(), 400);
    let error = body(response).await;
    assert!(error["error"]["message"].as_str().unwrap().contains("closed"), "{error}");
    assert!(error["error"]["details"]["known"].as_array().unwrap().contains(&json!("CLOSED")));
}

#[tokio::test]
async fn the_queue_filters_by_status_and_pages() {
    let app = spawn_app();
    let db = app.database().await;
    let first = seed_infant_on_paracetamol(&db).await;
    let second = seed_infant_on_paracetamol(&db).await;
    let token = app.token("agent");
    let page = body(app.get("/api/v1/pharmacy/queue?limit=1", Some(&token)).await).await;
    assert_eq!(page["prescriptions"].as_array().unwrap().len(), 1);
    assert_eq!(page["next_after"], first);
    let page = body(app.get(&format!("/api/v1/pharmacy/queue?limit=1&after={first}"), Some(&token)).await).await;
    assert_eq!(page["prescriptions"][0]["rx_id"], second);
    let none = body(app.get("/api/v1/pharmacy/queue?status=CLOSED", Some(&token)).await).await;
    assert_eq!(none["prescriptions"], json!([]));
}
