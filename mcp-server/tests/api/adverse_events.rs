//! AC-5.8 over REST: an adverse-event report blocks the drug's class for that patient at
//! once, through the guardrails, with an audit entry; a second report of the same class is
//! refused with the guardrails' reason; nothing is recorded for a refused report.

use serde_json::{Value, json};

use crate::helpers::{TestApp, body, seed_patient, spawn_app};

async fn report(app: &TestApp, role: &str, payload: Value) -> reqwest::Response {
    app.http
        .post(app.url("/api/v1/pharmacy/adverse-events"))
        .bearer_auth(app.token(role))
        .header("X-Request-Id", "req-ae-000001")
        .json(&payload)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_physician_reports_a_rash_on_amoxicillin_and_the_aminopenicillins_are_blocked() {
    let app = spawn_app();
    let db = app.database().await;
    let patient = seed_patient(&db).await;

    let response =
        report(&app, "physician", json!({"patient_id": patient, "drug": "Amoxil", "description": "urticarial rash"}))
            .await;
    assert_eq!(response.status(), 201);
    let created = body(response).await;
    assert_eq!(created["blocked_class"], "aminopenicillin", "{created}");
    assert_eq!(created["adverse_event"]["reported_by"], "test-physician");

    let mut tx = db.begin_read().await.unwrap();
    let blocks = tx.list_adverse_events(patient, true).await.unwrap();
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].drug_class, "aminopenicillin");
    let log = tx.list_audit(0, 100).await.unwrap();
    let entry = log.last().expect("audited");
    assert_eq!(
        (entry.action.as_str(), entry.actor.as_str(), entry.role.as_str(), entry.correlation_id.as_str()),
        ("adverse_event_reported", "test-physician", "physician", "req-ae-000001")
    );
}

#[tokio::test]
async fn a_second_report_of_a_blocked_class_is_refused_and_changes_nothing() {
    let app = spawn_app();
    let db = app.database().await;
    let patient = seed_patient(&db).await;
    let first = json!({"patient_id": patient, "drug": "amoxicillin", "description": "rash"});
    assert_eq!(report(&app, "pharmacist", first).await.status(), 201);

    let again = json!({"patient_id": patient, "drug": "ampicillin", "description": "rash again"});
    let response = report(&app, "pharmacist", again).await;
    assert_eq!(response.status(), 409);
    let error = body(response).await;
    assert_eq!(error["error"]["code"], "already_blocked", "{error}");

    let mut tx = db.begin_read().await.unwrap();
    assert_eq!(tx.list_adverse_events(patient, false).await.unwrap().len(), 1);
    assert_eq!(tx.list_audit(0, 100).await.unwrap().len(), 1, "a refused report is not recorded");
}

#[tokio::test]
async fn an_explicit_class_is_checked_against_the_registry() {
    let app = spawn_app();
    let db = app.database().await;
    let patient = seed_patient(&db).await;
    let with_class =
        json!({"patient_id": patient, "drug": "amoxicillin", "drug_class": "penicillin", "description": "anaphylaxis"});
    let response = report(&app, "pharmacist", with_class).await;
    assert_eq!(response.status(), 201);
    assert_eq!(body(response).await["blocked_class"], "penicillin");

    let bogus =
        json!({"patient_id": patient, "drug": "amoxicillin", "drug_class": "no_such_class", "description": "x"});
    assert_eq!(report(&app, "pharmacist", bogus).await.status(), 400);
}

#[tokio::test]
async fn an_unknown_drug_or_patient_is_a_client_error_not_a_silent_block() {
    let app = spawn_app();
    let db = app.database().await;
    let patient = seed_patient(&db).await;
    let unknown_drug = json!({"patient_id": patient, "drug": "zzqx-not-a-drug", "description": "rash"});
    let response = report(&app, "physician", unknown_drug).await;
    assert_eq!(response.status(), 400);
    assert!(body(response).await["error"]["message"].as_str().unwrap().contains("drug_class"));

    let unknown_patient = json!({"patient_id": patient + 1000, "drug": "amoxicillin", "description": "rash"});
    assert_eq!(report(&app, "physician", unknown_patient).await.status(), 404);

    let agent = json!({"patient_id": patient, "drug": "amoxicillin", "description": "rash"});
    assert_eq!(report(&app, "agent", agent).await.status(), 403);
}
