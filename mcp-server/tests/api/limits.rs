//! The request deadline and the in-flight cap: a request stuck on a slow EHR is abandoned
//! with a 503 the client can act on, one over the cap is refused at once with Retry-After,
//! and the console's change feed (meant to stay open) is subject to neither.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{SECRET, body, seed_patient, spawn_app_with};

/// An EHR that takes `delay` to answer its medication list (an empty searchset).
async fn slow_ehr(delay: Duration) -> String {
    let app = axum::Router::new().route(
        "/fhir/MedicationStatement",
        axum::routing::get(move || async move {
            tokio::time::sleep(delay).await;
            ([("content-type", "application/fhir+json")], r#"{"resourceType":"Bundle","type":"searchset","entry":[]}"#)
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/fhir", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn active_medications(app: &crate::helpers::TestApp, patient_id: i64) -> Vec<String> {
    let db = app.database().await;
    let mut tx = db.begin_read().await.unwrap();
    let list = tx.get_patient(patient_id).await.unwrap().active_medications;
    drop(tx);
    db.close().await;
    list
}

#[tokio::test]
async fn a_request_past_its_deadline_is_abandoned_with_a_503_and_the_change_feed_stays_open() {
    let url = slow_ehr(Duration::from_secs(3)).await;
    let app = spawn_app_with(
        &[("RXGATE_JWT_SECRET", SECRET), ("RXGATE_EHR_URL", &url), ("RXGATE_REQUEST_TIMEOUT_MS", "400")],
        &[],
    );
    let patient_id = seed_patient(&app.database().await).await;
    let active_before = active_medications(&app, patient_id).await;
    let ph = app.token("pharmacist");

    // The feed opens and is still streaming well past the deadline.
    let mut feed = app.http.get(app.url("/api/v1/events")).bearer_auth(&ph).send().await.unwrap();
    assert_eq!(feed.status().as_u16(), 200);

    let pull = json!({"patient_id": patient_id, "ehr_patient": "p1"});
    let response = app.http.post(app.url("/api/v1/interop/med-list-pull")).bearer_auth(&ph).json(&pull).send().await;
    let response = response.unwrap();
    assert_eq!(response.status().as_u16(), 503);
    let answer = body(response).await;
    assert_eq!(answer["error"]["code"], "timeout", "{answer}");

    // Nothing of the abandoned pull was kept: the patient's list is untouched.
    assert_eq!(active_medications(&app, patient_id).await, active_before);
    // The feed outlived the deadline: its stream is still open (a read either yields an
    // event or waits; it does not end).
    let still_open = tokio::time::timeout(Duration::from_millis(300), feed.chunk()).await;
    assert!(!matches!(still_open, Ok(Ok(None)) | Ok(Err(_))), "the feed ended: {still_open:?}");
    // Quick requests are unaffected.
    assert_eq!(app.get("/api/v1/pharmacy/queue", Some(&ph)).await.status().as_u16(), 200);
}

#[tokio::test]
async fn one_request_over_the_in_flight_cap_is_refused_at_once_with_retry_after() {
    let url = slow_ehr(Duration::from_millis(1500)).await;
    let app =
        spawn_app_with(&[("RXGATE_JWT_SECRET", SECRET), ("RXGATE_EHR_URL", &url), ("RXGATE_MAX_IN_FLIGHT", "1")], &[]);
    let patient_id = seed_patient(&app.database().await).await;
    let ph = app.token("pharmacist");
    let pull = json!({"patient_id": patient_id, "ehr_patient": "p1"});
    let slow = app.http.post(app.url("/api/v1/interop/med-list-pull")).bearer_auth(&ph).json(&pull).send();
    let slow = tokio::spawn(slow);
    tokio::time::sleep(Duration::from_millis(400)).await;

    let refused = app.get("/api/v1/pharmacy/queue", Some(&ph)).await;
    assert_eq!(refused.status().as_u16(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_eq!(body(refused).await["error"]["code"], "busy");
    // Health checks are never refused: they are how an operator sees the pile-up.
    assert_eq!(app.get("/healthz", None).await.status().as_u16(), 200);

    assert_eq!(slow.await.unwrap().unwrap().status().as_u16(), 200);
    assert_eq!(app.get("/api/v1/pharmacy/queue", Some(&ph)).await.status().as_u16(), 200, "free again");
}
