//! Interoperability (issue 11) against the real binary: a fake EHR on loopback sends FHIR
//! bundles, receives signed MedicationDispense webhooks (failing the first attempts so the
//! server must retry), cancels orders, and a CDS Hooks client asks for cards.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{SECRET, TestApp, body, spawn_app_with};

const EHR_SECRET: &str = "ehr-shared-secret-for-tests";
const AMLODIPINE_5_BO: &str = "(01)02954817321484(17)301231(10)TESTAM1";

/// One webhook the fake EHR received.
#[derive(Debug, Clone)]
struct Received {
    body: Value,
    event_key: String,
    correlation_id: String,
    signature_ok: bool,
    answered: u16,
}

#[derive(Clone, Default)]
struct Ehr {
    /// Statuses to answer, in order; 200 once the list is used up.
    plan: Arc<Mutex<Vec<u16>>>,
    received: Arc<Mutex<Vec<Received>>>,
}

async fn ehr_dispense(State(ehr): State<Ehr>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signature = headers.get("x-rxgate-signature").and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    let signature_ok = rxgate_interop::signing::verify(EHR_SECRET.as_bytes(), signature, &body, now).is_ok();
    let answered = {
        let mut plan = ehr.plan.lock().unwrap();
        if plan.is_empty() { 200 } else { plan.remove(0) }
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    ehr.received.lock().unwrap().push(Received {
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        event_key: header("x-rxgate-event-key"),
        correlation_id: header("x-request-id"),
        signature_ok,
        answered,
    });
    StatusCode::from_u16(answered).unwrap()
}

/// The EHR's medication list for any patient: 5,000 active MedicationStatements, coded in
/// RxNorm or named, as a searchset.
async fn ehr_med_list() -> ([(&'static str, &'static str); 1], String) {
    let codes = ["17767", "21212", "161", "6809", "7646", "83367", "36567", "29046"];
    let names = ["Lipitor", "metformin hydrochloride", "Amoxil", "omeprazole 20 mg capsule"];
    let entry: Vec<Value> = (0..5000)
        .map(|i| {
            let concept = if i % 2 == 0 {
                json!({"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": codes[i % codes.len()]}]})
            } else {
                json!({"text": names[(i / 2) % names.len()]})
            };
            json!({"resource": {"resourceType": "MedicationStatement", "status": "active",
                "subject": {"reference": "Patient/p1"}, "medicationCodeableConcept": concept}})
        })
        .collect();
    let bundle = json!({"resourceType": "Bundle", "type": "searchset", "total": 5000, "entry": entry});
    ([("content-type", "application/fhir+json")], bundle.to_string())
}

fn ehr_routes(ehr: &Ehr) -> axum::Router {
    axum::Router::new()
        .route("/fhir/MedicationDispense", axum::routing::post(ehr_dispense))
        .route("/fhir/MedicationStatement", axum::routing::get(ehr_med_list))
        .with_state(ehr.clone())
}

/// The fake EHR over HTTPS on a free loopback port, with a certificate for `localhost`
/// signed by nobody anyone trusts; returns its base URL and the certificate (PEM).
async fn fake_ehr_over_tls() -> (String, Ehr, String) {
    use tokio_rustls::rustls;
    let ehr = Ehr::default();
    let app = ehr_routes(&ehr);
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from(made.signing_key.serialize_der());
    let tls = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![made.cert.der().clone()], key.into())
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://localhost:{}/fhir", listener.local_addr().unwrap().port());
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                // A client that does not trust the certificate hangs up here.
                let Ok(stream) = acceptor.accept(tcp).await else { return };
                let service = hyper_util::service::TowerToHyperService::new(app);
                let _ = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, ehr, made.cert.pem())
}

/// The fake EHR's webhook receiver on a free loopback port; returns its base URL.
async fn fake_ehr(plan: Vec<u16>) -> (String, Ehr) {
    let ehr = Ehr { plan: Arc::new(Mutex::new(plan)), ..Ehr::default() };
    let app = ehr_routes(&ehr);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/fhir", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, ehr)
}

fn app_with_ehr(url: &str) -> TestApp {
    spawn_app_with(
        &[
            ("RXGATE_JWT_SECRET", SECRET),
            ("RXGATE_EHR_URL", url),
            ("RXGATE_EHR_SECRET", EHR_SECRET),
            ("RXGATE_SYNC_POLL_MS", "50"),
            // 1 min → 60 ms, 5 min → 300 ms: the real schedule, scaled for a test.
            ("RXGATE_SYNC_BACKOFF_SCALE", "0.001"),
        ],
        &[],
    )
}

/// The intake bundle a prescriber's EHR sends: one amlodipine order, coded in RxNorm.
fn amlodipine_bundle(order: &str) -> Value {
    json!({
        "resourceType": "Bundle", "type": "collection",
        "identifier": {"system": "urn:ehr:orders", "value": order},
        "entry": [
            {"resource": {"resourceType": "Patient", "id": "p1", "identifier": [{"system": "urn:ehr:mrn", "value": "MRN-1"}],
                "gender": "female", "birthDate": "1964-05-02"}},
            {"resource": {"resourceType": "Observation", "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
                "valueQuantity": {"value": 64, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}}},
            {"resource": {"resourceType": "MedicationRequest", "id": "mr1", "status": "active", "intent": "order",
                "identifier": [{"system": "urn:ehr:mr", "value": format!("{order}-1")}],
                "subject": {"reference": "Patient/p1"},
                "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "17767"}]},
                "dosageInstruction": [{"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                    "doseAndRate": [{"doseQuantity": {"value": 5, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}}]}]}}
        ]
    })
}

async fn post_json(
    app: &TestApp,
    token: &str,
    path: &str,
    payload: &Value,
    request_id: &str,
) -> (u16, HeaderMap, Value) {
    let response = app
        .http
        .post(app.url(path))
        .bearer_auth(token)
        .header("x-request-id", request_id)
        .json(payload)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, body(response).await)
}

fn rx_id_of(headers: &HeaderMap) -> i64 {
    headers.get("x-rxgate-rx-id").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).expect("rx id header")
}

async fn seed_amlodipine_stock(app: &TestApp) {
    let db = app.database().await;
    let mut tx = db.begin().await.unwrap();
    tx.seed_inventory(&rxgate_storage::InventoryLot {
        product: "DEMO-AMLO-5-TAB-BO".into(),
        lot: "TESTAM1".into(),
        expiry: chrono::NaiveDate::from_ymd_opt(2030, 12, 31),
        qty_on_hand: 100,
        reorder_level: 0,
        updated_at: chrono::Utc::now(),
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    db.close().await;
}

/// Verify, approve and dispense line 1 as a pharmacist; the dispense answer.
async fn verify_approve_dispense(app: &TestApp, rx_id: i64) -> (u16, Value) {
    let ph = app.token("pharmacist");
    let base = format!("/api/v1/pharmacy/{rx_id}");
    let (status, _, verified) = post_json(app, &ph, &format!("{base}/verify"), &json!({}), "verify-0001").await;
    assert_eq!(status, 200, "{verified}");
    let decisions = json!({"line_decisions": [{"line_no": 1, "action": "dispense", "reason": "as prescribed"}]});
    let (status, _, approved) = post_json(app, &ph, &format!("{base}/approve"), &decisions, "approve-0001").await;
    assert_eq!(status, 200, "{approved}");
    let scan = json!({"line_no": 1, "barcode": AMLODIPINE_5_BO, "quantity": 28});
    let (status, _, dispensed) = post_json(app, &ph, &format!("{base}/dispense"), &scan, "dispense-0001").await;
    (status, dispensed)
}

async fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    for _ in 0..200 {
        if let Some(v) = check() {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn a_bundle_from_the_ehr_is_queued_and_its_dispense_returns_as_a_signed_medication_dispense_after_retries() {
    // The EHR is down for the first two attempts (503), then takes the webhook.
    let (url, ehr) = fake_ehr(vec![503, 503]).await;
    let app = app_with_ehr(&url);
    seed_amlodipine_stock(&app).await;

    // Only prescribers (and the operator) send orders in; the agent cannot.
    let bundle = amlodipine_bundle("ORD-1");
    let (status, _, _) = post_json(&app, &app.token("agent"), "/fhir/r4/Bundle", &bundle, "ehr-corr-0001").await;
    assert_eq!(status, 403);
    let doctor = app.token("physician");
    let (status, headers, answer) = post_json(&app, &doctor, "/fhir/r4/Bundle", &bundle, "ehr-corr-0001").await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["type"], "transaction-response");
    let rx_id = rx_id_of(&headers);

    // The same bundle again (an EHR retry) is the same prescription, not a second one.
    let (status, headers, _) = post_json(&app, &doctor, "/fhir/r4/Bundle", &bundle, "ehr-corr-0002").await;
    assert_eq!((status, rx_id_of(&headers)), (200, rx_id));

    // It waits in the pharmacy queue in RX_RECEIVED with the mapped drug and the patient facts.
    let queue = body(app.get("/api/v1/pharmacy/queue?status=RX_RECEIVED", Some(&app.token("pharmacist"))).await).await;
    let rx = queue["prescriptions"].as_array().unwrap().iter().find(|r| r["rx_id"] == rx_id).expect("queued");
    assert_eq!(rx["items"][0]["drug"], "amlodipine");
    assert_eq!(rx["items"][0]["frequency"], "od");

    let (status, dispensed) = verify_approve_dispense(&app, rx_id).await;
    assert_eq!(status, 200, "{dispensed}");
    let dispense_id = dispensed["dispense"]["id"].as_i64().expect("dispense id");

    // The server's own MedicationDispense for it.
    let read = app.get(&format!("/fhir/r4/MedicationDispense/{dispense_id}"), Some(&app.token("pharmacist"))).await;
    assert_eq!(read.headers()["content-type"], "application/fhir+json");
    let resource = body(read).await;
    assert_eq!(resource["resourceType"], "MedicationDispense");
    assert_eq!(resource["status"], "completed");
    assert_eq!(resource["medicationCodeableConcept"]["text"], "amlodipine");
    assert_eq!(resource["authorizingPrescription"][0]["reference"], format!("MedicationRequest/{rx_id}-1"));

    // The EHR gets it on the third attempt, signed, with the intake's correlation id.
    let received = wait_for("the webhook to succeed", || {
        let r = ehr.received.lock().unwrap().clone();
        r.iter().any(|x| x.answered == 200).then_some(r)
    })
    .await;
    assert_eq!(received.iter().map(|r| r.answered).collect::<Vec<_>>(), [503, 503, 200]);
    for r in &received {
        assert!(r.signature_ok, "every attempt is signed");
        assert_eq!(r.event_key, format!("DISPENSE:dispense:{dispense_id}"));
        assert_eq!(r.correlation_id, "ehr-corr-0001", "correlation id end to end");
        assert_eq!(r.body, resource, "the webhook carries the same resource the server serves");
    }

    // Nothing more is sent once delivered, and the event is done after three attempts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(ehr.received.lock().unwrap().len(), 3, "delivered once, never again");
    let admin = app.token("admin");
    let events = body(app.get("/api/v1/interop/events", Some(&admin)).await).await;
    let out = events["events"].as_array().unwrap().iter().find(|e| e["direction"] == "outbound").expect("outbound");
    assert_eq!((out["status"].as_str(), out["attempts"].as_i64()), (Some("done"), Some(3)), "{out}");

    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains(r#"rxgate_ingest_events_total{direction="outbound",kind="DISPENSE",status="retry"} 2"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"rxgate_ingest_events_total{direction="outbound",kind="DISPENSE",status="done"} 1"#));
    assert!(metrics.contains("rxgate_sync_duration_seconds_bucket"));
    let health = body(app.get("/healthz", None).await).await;
    assert_eq!(health["sync"]["queue_depth"], 0, "{health}");
}

#[tokio::test]
async fn a_permanent_refusal_goes_to_the_manual_queue_and_is_delivered_when_resent() {
    let (url, ehr) = fake_ehr(vec![422]).await;
    let app = app_with_ehr(&url);
    seed_amlodipine_stock(&app).await;
    let (_, headers, _) =
        post_json(&app, &app.token("physician"), "/fhir/r4/Bundle", &amlodipine_bundle("ORD-2"), "corr-perm-01").await;
    let (status, _) = verify_approve_dispense(&app, rx_id_of(&headers)).await;
    assert_eq!(status, 200);

    let admin = app.token("admin");
    let mut event = Value::Null;
    for _ in 0..100 {
        let events = body(app.get("/api/v1/interop/events?status=dead_letter", Some(&admin)).await).await;
        if let Some(e) = events["events"].as_array().and_then(|a| a.first()) {
            event = e.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(event["attempts"], 1, "a 422 is not retried: {event}");
    assert!(event["last_error"].as_str().unwrap().contains("422"));
    let health = body(app.get("/healthz", None).await).await;
    assert_eq!(health["sync"]["dead_letter"], 1, "{health}");

    let id = event["id"].as_i64().unwrap();
    let (status, _, resent) =
        post_json(&app, &admin, &format!("/api/v1/interop/events/{id}/retry"), &json!({}), "retry-0001").await;
    assert_eq!(status, 200, "{resent}");
    wait_for("the resent webhook", || ehr.received.lock().unwrap().iter().any(|r| r.answered == 200).then_some(()))
        .await;
    let (status, _, again) =
        post_json(&app, &admin, &format!("/api/v1/interop/events/{id}/retry"), &json!({}), "retry-0002").await;
    assert_eq!(status, 409, "only dead letters are resent: {again}");
}

#[tokio::test]
async fn an_unmapped_code_parks_the_order_until_an_analyst_maps_it_then_it_is_taken_in() {
    let app = spawn_app_with(&[("RXGATE_JWT_SECRET", SECRET)], &[]);
    let mut bundle = amlodipine_bundle("ORD-3");
    bundle["entry"][2]["resource"]["medicationCodeableConcept"] = json!({"coding": [{"system": "urn:oid:2.16.458.1.99", "code": "HOSP-777", "display": "Norvasc 5mg tab (hospital code)"}]});
    let (status, headers, outcome) =
        post_json(&app, &app.token("physician"), "/fhir/r4/Bundle", &bundle, "corr-map-0001").await;
    assert_eq!(status, 202, "{outcome}");
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert_eq!(outcome["issue"][0]["code"], "code-invalid");
    assert!(headers.get("x-rxgate-rx-id").is_none(), "nothing queued yet");

    let admin = app.token("admin");
    let pending = body(app.get("/api/v1/interop/mappings?status=pending", Some(&admin)).await).await;
    assert_eq!(pending["mappings"][0]["key"], "urn:oid:2.16.458.1.99|HOSP-777", "{pending}");
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(metrics.contains("rxgate_mapping_unresolved 1"), "{metrics}");

    // A wrong answer is refused; the right one releases the order.
    let refuse = json!({"key": "urn:oid:2.16.458.1.99|HOSP-777", "generic": "not-a-drug"});
    let (status, _, _) = post_json(&app, &admin, "/api/v1/interop/mappings/resolve", &refuse, "corr-map-0002").await;
    assert_eq!(status, 400);
    let resolve = json!({"key": "urn:oid:2.16.458.1.99|HOSP-777", "generic": "Norvasc"});
    let (status, _, resolved) =
        post_json(&app, &admin, "/api/v1/interop/mappings/resolve", &resolve, "corr-map-0003").await;
    assert_eq!(status, 200, "{resolved}");
    let rx_id = resolved["reprocessed"][0]["rx_id"].as_i64().expect("reprocessed into a prescription");
    let queue = body(app.get("/api/v1/pharmacy/queue", Some(&app.token("pharmacist"))).await).await;
    let rx = queue["prescriptions"].as_array().unwrap().iter().find(|r| r["rx_id"] == rx_id).expect("queued");
    assert_eq!(rx["items"][0]["drug"], "amlodipine");
}

#[tokio::test]
async fn a_cancel_signed_by_the_ehr_stops_further_fills_and_a_forged_one_is_refused() {
    let app = spawn_app_with(&[("RXGATE_JWT_SECRET", SECRET), ("RXGATE_EHR_SECRET", EHR_SECRET)], &[]);
    seed_amlodipine_stock(&app).await;
    let (_, headers, _) =
        post_json(&app, &app.token("physician"), "/fhir/r4/Bundle", &amlodipine_bundle("ORD-4"), "corr-cancel-1").await;
    let rx_id = rx_id_of(&headers);

    let cancel = json!({"event": "PRESCRIPTION_CANCEL", "prescription_key": "bundle:urn:ehr:orders|ORD-4"}).to_string();
    let now = chrono::Utc::now().timestamp();
    let send = |signature: String| {
        app.http
            .post(app.url("/interop/webhook"))
            .header("x-rxgate-signature", signature)
            .header("content-type", "application/json")
            .body(cancel.clone())
            .send()
    };
    let forged = send(rxgate_interop::signing::sign(b"wrong-secret", now, cancel.as_bytes())).await.unwrap();
    assert_eq!(forged.status(), 401);
    let ok = send(rxgate_interop::signing::sign(EHR_SECRET.as_bytes(), now, cancel.as_bytes())).await.unwrap();
    assert_eq!(ok.status(), 202);
    let answer = body(ok).await;
    assert_eq!((answer["rx_id"].as_i64(), answer["lines_cancelled"].as_i64()), (Some(rx_id), Some(1)), "{answer}");
    let again =
        body(send(rxgate_interop::signing::sign(EHR_SECRET.as_bytes(), now, cancel.as_bytes())).await.unwrap()).await;
    assert_eq!(again["replayed"], true, "the same cancel is applied once: {again}");

    let (status, refused) = verify_approve_dispense(&app, rx_id).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("cancelled_by_ehr")), "{refused}");
}

/// An order-sign call with draft orders amlodipine 5 mg daily and clarithromycin 500 mg
/// twice daily (the seed's major interaction).
pub(crate) fn amlodipine_clarithromycin_sign() -> Value {
    let order = |id: &str, rxcui: &str, mg: u32, timing: &str| {
        json!({"resource": {"resourceType": "MedicationRequest", "id": id, "status": "draft", "intent": "order",
            "subject": {"reference": "Patient/p1"},
            "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": rxcui}]},
            "dosageInstruction": [{"timing": {"code": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation", "code": timing}]}},
                "doseAndRate": [{"doseQuantity": {"value": mg, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}}]}]}})
    };
    json!({
        "hook": "order-sign", "hookInstance": "5b3e1d3e-6a3f-4e7c-9a57-0d3f3d6f2a11",
        "context": {"userId": "Practitioner/drlim", "patientId": "p1",
            "draftOrders": {"resourceType": "Bundle", "type": "collection",
                "entry": [order("amlo", "17767", 5, "QD"), order("clari", "21212", 500, "BID")]}},
        "prefetch": {"patient": {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1964-05-02"}}
    })
}

#[tokio::test]
async fn a_cds_hooks_client_gets_a_critical_card_for_amlodipine_with_clarithromycin_and_feedback_feeds_the_override_rate()
 {
    let app = spawn_app_with(&[("RXGATE_JWT_SECRET", SECRET)], &[]);
    let discovery = body(app.get("/cds-services", None).await).await;
    let hooks: Vec<&str> =
        discovery["services"].as_array().unwrap().iter().map(|s| s["hook"].as_str().unwrap()).collect();
    assert_eq!(hooks, ["order-select", "order-sign"]);

    let call = amlodipine_clarithromycin_sign();
    let doctor = app.token("physician");
    let (status, _, answer) = post_json(&app, &doctor, "/cds-services/rxgate-order-sign", &call, "cds-call-0001").await;
    assert_eq!(status, 200, "{answer}");
    let card = answer["cards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["summary"].as_str().unwrap().contains("clarithromycin"))
        .unwrap_or_else(|| panic!("no interaction card: {answer}"));
    assert!(matches!(card["indicator"].as_str(), Some("critical" | "warning")), "{card}");
    assert!(card["summary"].as_str().unwrap().chars().count() < 140);
    assert!(card["source"]["label"].as_str().unwrap().starts_with("rxgate"));
    let swap = &card["suggestions"][0];
    assert_eq!(swap["label"], "Replace clarithromycin with azithromycin", "{card}");
    assert_eq!(swap["actions"][0]["resourceId"][0], "MedicationRequest/clari");
    assert!(!card["overrideReasons"].as_array().unwrap().is_empty());

    // Wrong hook for the service: 400; unknown service: 404; agent: 403.
    let (status, _, _) = post_json(&app, &doctor, "/cds-services/rxgate-order-select", &call, "cds-call-0002").await;
    assert_eq!(status, 400);
    let (status, _, _) = post_json(&app, &doctor, "/cds-services/nope", &call, "cds-call-0003").await;
    assert_eq!(status, 404);
    let (status, _, _) =
        post_json(&app, &app.token("agent"), "/cds-services/rxgate-order-sign", &call, "cds-call-0004").await;
    assert_eq!(status, 403);

    let uuid = card["uuid"].as_str().unwrap();
    let overridden = json!({"feedback": [{"card": uuid, "outcome": "overridden", "outcomeTimestamp": "2026-11-23T10:00:00Z",
        "overrideReason": {"reason": {"code": "will-monitor", "system": "urn:rxgate:cds:override-reason"}}}]});
    let (status, _, _) =
        post_json(&app, &doctor, "/cds-services/rxgate-order-sign/feedback", &overridden, "cds-fb-00001").await;
    assert_eq!(status, 200);
    // The next patient's orders: this time the clinician takes the swap.
    let mut next = amlodipine_clarithromycin_sign();
    next["hookInstance"] = json!("0f5a7c2e-1d9b-4c1e-8e0a-3b6d2c9f4e77");
    let (_, _, second) = post_json(&app, &doctor, "/cds-services/rxgate-order-sign", &next, "cds-call-0005").await;
    let second_card = second["cards"][0]["uuid"].as_str().unwrap().to_string();
    assert_ne!(second_card, uuid, "a card is per hook instance");
    let accepted = json!({"feedback": [{"card": second_card, "outcome": "accepted", "outcomeTimestamp": "2026-11-23T10:01:00Z",
        "acceptedSuggestions": [{"id": second["cards"][0]["suggestions"][0]["uuid"]}]}]});
    let (status, _, _) =
        post_json(&app, &doctor, "/cds-services/rxgate-order-sign/feedback", &accepted, "cds-fb-00002").await;
    assert_eq!(status, 200);
    // Feedback about a card nobody issued (or issued by the other service) is not counted.
    let invented = json!({"feedback": [{"card": "6f1c0000-0000-8000-8000-000000000000", "outcome": "accepted",
        "outcomeTimestamp": "2026-11-23T10:03:00Z"}]});
    let (status, _, refused) =
        post_json(&app, &doctor, "/cds-services/rxgate-order-sign/feedback", &invented, "cds-fb-00004").await;
    assert_eq!(status, 400, "{refused}");
    let elsewhere =
        json!({"feedback": [{"card": uuid, "outcome": "accepted", "outcomeTimestamp": "2026-11-23T10:04:00Z"}]});
    let (status, _, _) =
        post_json(&app, &doctor, "/cds-services/rxgate-order-select/feedback", &elsewhere, "cds-fb-00005").await;
    assert_eq!(status, 400);
    let no_reason =
        json!({"feedback": [{"card": uuid, "outcome": "overridden", "outcomeTimestamp": "2026-11-23T10:02:00Z"}]});
    let (status, _, _) =
        post_json(&app, &doctor, "/cds-services/rxgate-order-sign/feedback", &no_reason, "cds-fb-00003").await;
    assert_eq!(status, 400, "an override needs a reason");

    let summary = body(app.get("/api/v1/interop/summary", Some(&app.token("admin"))).await).await;
    assert_eq!(summary["cds"]["override_rate"], 0.5, "{summary}");
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(metrics.contains(r#"rxgate_cds_feedback_total{outcome="overridden"} 1"#), "{metrics}");
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// Issue 11 item 5: the registry is swapped on SIGHUP while CDS Hooks calls (which use it
/// throughout) keep coming; none fails, and `/healthz` names the new version and load time.
#[tokio::test]
async fn a_knowledge_reload_under_load_fails_no_request_and_healthz_reports_it() {
    let knowledge = tempfile::tempdir().unwrap();
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/knowledge/data");
    copy_dir(&source, knowledge.path());
    let dir = knowledge.path().to_str().unwrap().to_string();
    let app = Arc::new(spawn_app_with(&[("RXGATE_JWT_SECRET", SECRET)], &["--knowledge", &dir]));
    let before = body(app.get("/healthz", None).await).await;

    let call = json!({
        "hook": "order-sign", "hookInstance": "0f9c4a52-3f0e-4a1e-8d5c-7f2d1b6e9a10",
        "context": {"userId": "Practitioner/drlim", "patientId": "p1",
            "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [
                {"resource": {"resourceType": "MedicationRequest", "id": "a", "status": "draft", "intent": "order",
                    "subject": {"reference": "Patient/p1"}, "medicationCodeableConcept": {"text": "amlodipine"}}},
                {"resource": {"resourceType": "MedicationRequest", "id": "c", "status": "draft", "intent": "order",
                    "subject": {"reference": "Patient/p1"}, "medicationCodeableConcept": {"text": "clarithromycin"}}}]}}
    });
    let token = app.token("physician");
    let load = {
        let (app, token, call) = (app.clone(), token.clone(), call.clone());
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            for _ in 0..150 {
                let r = app
                    .http
                    .post(app.url("/cds-services/rxgate-order-sign"))
                    .bearer_auth(&token)
                    .json(&call)
                    .send()
                    .await;
                statuses.push(match r {
                    Ok(r) if r.status() == 200 => {
                        let cards = body(r).await;
                        // Every answer, old or new snapshot, still carries the interaction card.
                        if cards["cards"].as_array().is_some_and(|c| c.iter().any(|c| c["indicator"] == "critical")) {
                            200
                        } else {
                            0
                        }
                    }
                    Ok(r) => r.status().as_u16(),
                    Err(_) => 1,
                });
            }
            statuses
        })
    };
    let registry = knowledge.path().join("registry.toml");
    let text = std::fs::read_to_string(&registry).unwrap();
    std::fs::write(&registry, text.replace("version = \"2026.11.0\"", "version = \"2026.11.0-reload\"")).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pid = app.pid().to_string();
    assert!(std::process::Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
    let after = wait_for_health(&app, "2026.11.0-reload").await;
    let statuses = load.await.unwrap();
    assert!(statuses.iter().all(|s| *s == 200), "failed during the swap: {statuses:?}");
    assert_ne!(before["knowledge"]["hash"], after["knowledge"]["hash"]);
    assert!(after["knowledge"]["loaded_at"].as_str() >= before["knowledge"]["loaded_at"].as_str(), "{after}");
}

async fn wait_for_health(app: &TestApp, version: &str) -> Value {
    for _ in 0..200 {
        let health = body(app.get("/healthz", None).await).await;
        if health["knowledge"]["version"] == version {
            return health;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the reload to {version} never showed in /healthz");
}

/// The seed's figure: a 5,000-item medication list pulled from the EHR, mapped and stored.
/// The time is printed for the report, never asserted.
#[tokio::test]
async fn a_med_list_pull_of_5000_active_medications_becomes_the_patients_active_list() {
    let (url, _ehr) = fake_ehr(Vec::new()).await;
    let app = app_with_ehr(&url);
    let patient_id = crate::helpers::seed_patient(&app.database().await).await;
    let pull = json!({"patient_id": patient_id, "ehr_patient": "p1"});
    let (status, _, first) =
        post_json(&app, &app.token("admin"), "/api/v1/interop/med-list-pull", &pull, "pull-000001").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!((first["active_medications"].as_i64(), first["unmapped"].as_i64()), (Some(5000), Some(0)), "{first}");
    eprintln!("med-list pull over HTTP: 5000 items, fetch {} ms, total {} ms", first["fetch_ms"], first["total_ms"]);
    let (_, _, again) =
        post_json(&app, &app.token("pharmacist"), "/api/v1/interop/med-list-pull", &pull, "pull-000002").await;
    assert_eq!(again["replayed"], true, "the same list is one event: {again}");
    let (status, _, _) =
        post_json(&app, &app.token("agent"), "/api/v1/interop/med-list-pull", &pull, "pull-000003").await;
    assert_eq!(status, 403);
    let db = app.database().await;
    let mut tx = db.begin_read().await.unwrap();
    let patient = tx.get_patient(patient_id).await.unwrap();
    assert_eq!(patient.active_medications.len(), 5000);
    assert!(patient.active_medications.iter().all(|m| !m.is_empty()));
    assert!(patient.active_medications.contains(&"atorvastatin".to_string()), "brand Lipitor mapped to its generic");
}

#[tokio::test]
async fn the_ehr_is_reached_over_https_and_only_with_a_certificate_the_server_trusts() {
    let (url, ehr, certificate) = fake_ehr_over_tls().await;
    async fn pull(app: &TestApp, key: &str) -> (u16, HeaderMap, Value) {
        let patient_id = crate::helpers::seed_patient(&app.database().await).await;
        let body = json!({"patient_id": patient_id, "ehr_patient": "p1"});
        post_json(app, &app.token("admin"), "/api/v1/interop/med-list-pull", &body, key).await
    }

    // The hospital's CA (here the certificate itself) given: the list comes over TLS.
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("hospital-ca.pem");
    std::fs::write(&ca_file, &certificate).unwrap();
    let trusting = spawn_app_with(
        &[("RXGATE_JWT_SECRET", SECRET), ("RXGATE_EHR_URL", &url), ("RXGATE_EHR_CA_FILE", ca_file.to_str().unwrap())],
        &[],
    );
    let (status, _, pulled) = pull(&trusting, "tls-pull-000001").await;
    assert_eq!((status, pulled["active_medications"].as_i64()), (200, Some(5000)), "{pulled}");

    // Without it the same EHR is an unknown issuer: nothing is fetched, and the message says why.
    let wary = spawn_app_with(&[("RXGATE_JWT_SECRET", SECRET), ("RXGATE_EHR_URL", &url)], &[]);
    let (status, _, refused) = pull(&wary, "tls-pull-000002").await;
    assert_eq!((status, refused["error"]["code"].as_str()), (502, Some("ehr_unavailable")), "{refused}");
    let message = refused["error"]["message"].as_str().unwrap().to_lowercase();
    assert!(message.contains("certificate"), "{refused}");
    assert!(ehr.received.lock().unwrap().is_empty());

    // Plain HTTP to another host is refused at start, before any patient data could leave.
    let out = crate::helpers::rxgate()
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("RXGATE_DATA_DIR", dir.path())
        .env("RXGATE_EHR_URL", "http://ehr.hospital.example/fhir")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("RXGATE_EHR_ALLOW_PLAIN_HTTP"));
}

// ---------------------------------------------------------------------------------------
// Patient matching, order changes and dispense reversals.

async fn patient_of(app: &TestApp, rx_id: i64) -> rxgate_storage::Patient {
    let db = app.database().await;
    let mut tx = db.begin().await.unwrap();
    let rx = tx.get_prescription(rx_id).await.unwrap();
    let patient = tx.get_patient(rx.patient_id).await.unwrap();
    drop(tx);
    db.close().await;
    patient
}

async fn prescription_count(app: &TestApp) -> usize {
    let queue = body(app.get("/api/v1/pharmacy/queue", Some(&app.token("pharmacist"))).await).await;
    queue["prescriptions"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn a_second_bundle_for_the_same_mrn_lands_on_the_same_patient_and_an_identity_clash_is_refused() {
    let app = spawn_app_with(&[("RXGATE_JWT_SECRET", SECRET)], &[]);
    let doctor = app.token("physician");
    let (status, headers, _) =
        post_json(&app, &doctor, "/fhir/r4/Bundle", &amlodipine_bundle("ORD-10"), "corr-mpi-0001").await;
    assert_eq!(status, 201);
    let first = patient_of(&app, rx_id_of(&headers)).await;

    // A week later: the same MRN, a new penicillin allergy and an active medication.
    let mut later = amlodipine_bundle("ORD-11");
    let entries = later["entry"].as_array_mut().unwrap();
    entries.push(json!({"resource": {"resourceType": "AllergyIntolerance",
        "clinicalStatus": {"coding": [{"code": "active"}]}, "patient": {"reference": "Patient/p1"},
        "code": {"text": "penicillin"}}}));
    entries.push(json!({"resource": {"resourceType": "MedicationStatement", "status": "active",
        "subject": {"reference": "Patient/p1"}, "medicationCodeableConcept": {"text": "simvastatin"}}}));
    let (status, headers, answer) = post_json(&app, &doctor, "/fhir/r4/Bundle", &later, "corr-mpi-0002").await;
    assert_eq!(status, 201, "{answer}");
    let second = patient_of(&app, rx_id_of(&headers)).await;
    assert_eq!(second.id, first.id, "same MRN, same patient record");
    assert!(second.allergies.iter().any(|a| a == "penicillin"), "{:?}", second.allergies);
    assert!(second.active_medications.iter().any(|m| m == "simvastatin"), "{:?}", second.active_medications);

    // A third bundle repeats neither: nothing the EHR did not refute is forgotten.
    let (_, headers, _) =
        post_json(&app, &doctor, "/fhir/r4/Bundle", &amlodipine_bundle("ORD-12"), "corr-mpi-0003").await;
    let third = patient_of(&app, rx_id_of(&headers)).await;
    assert_eq!((third.id, third.allergies.clone()), (first.id, second.allergies.clone()));

    // The same MRN with another date of birth is not merged: 409 and nothing is stored.
    let before = prescription_count(&app).await;
    let mut clash = amlodipine_bundle("ORD-13");
    clash["entry"][0]["resource"]["birthDate"] = json!("1971-01-09");
    let (status, _, outcome) = post_json(&app, &doctor, "/fhir/r4/Bundle", &clash, "corr-mpi-0004").await;
    assert_eq!(status, 409, "{outcome}");
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert!(outcome["issue"][0]["diagnostics"].as_str().unwrap().contains("date of birth"), "{outcome}");
    assert_eq!(prescription_count(&app).await, before);

    // Another hospital's MRN-1 (other system) is another person.
    let mut other = amlodipine_bundle("ORD-14");
    other["entry"][0]["resource"]["identifier"] = json!([{"system": "urn:other-hospital:mrn", "value": "MRN-1"}]);
    other["entry"][0]["resource"]["birthDate"] = json!("1990-03-03");
    let (status, headers, _) = post_json(&app, &doctor, "/fhir/r4/Bundle", &other, "corr-mpi-0005").await;
    assert_eq!(status, 201);
    let stranger = patient_of(&app, rx_id_of(&headers)).await;
    assert_ne!(stranger.id, first.id);

    // Identifiers of two different patients in one bundle: refused, not guessed.
    let mut both = amlodipine_bundle("ORD-15");
    both["entry"][0]["resource"]["identifier"] = json!([
        {"system": "urn:ehr:mrn", "value": "MRN-1"}, {"system": "urn:other-hospital:mrn", "value": "MRN-1"}]);
    both["entry"][0]["resource"].as_object_mut().unwrap().remove("birthDate");
    let (status, _, outcome) = post_json(&app, &doctor, "/fhir/r4/Bundle", &both, "corr-mpi-0006").await;
    assert_eq!(status, 409, "{outcome}");
    assert!(outcome["issue"][0]["diagnostics"].as_str().unwrap().contains("2 different patients"), "{outcome}");
}

/// The EHR's change of `prior`: amlodipine 5 mg twice a day instead of once.
fn amlodipine_change(new_order: &str, prior: &str) -> Value {
    json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order",
        "identifier": [{"system": "urn:ehr:mr", "value": new_order}],
        "priorPrescription": {"identifier": {"system": "urn:ehr:mr", "value": prior}},
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "17767"}]},
        "dosageInstruction": [{"timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
            "doseAndRate": [{"doseQuantity": {"value": 5, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}}]}]})
}

async fn rx_json(app: &TestApp, rx_id: i64) -> Value {
    let queue = body(app.get("/api/v1/pharmacy/queue", Some(&app.token("pharmacist"))).await).await;
    queue["prescriptions"].as_array().unwrap().iter().find(|r| r["rx_id"] == rx_id).cloned().expect("in the queue")
}

#[tokio::test]
async fn a_change_from_the_ehr_replaces_the_order_voids_its_approval_and_cannot_touch_a_dispensed_line() {
    let app = spawn_app_with(&[("RXGATE_JWT_SECRET", SECRET)], &[]);
    seed_amlodipine_stock(&app).await;
    let doctor = app.token("physician");
    let ph = app.token("pharmacist");
    let (_, headers, _) =
        post_json(&app, &doctor, "/fhir/r4/Bundle", &amlodipine_bundle("ORD-20"), "corr-chg-0001").await;
    let rx_id = rx_id_of(&headers);
    let base = format!("/api/v1/pharmacy/{rx_id}");
    let (status, _, _) = post_json(&app, &ph, &format!("{base}/verify"), &json!({}), "corr-chg-0002").await;
    assert_eq!(status, 200);
    let decisions = json!({"line_decisions": [{"line_no": 1, "action": "dispense", "reason": "as prescribed"}]});
    let (status, _, approved) = post_json(&app, &ph, &format!("{base}/approve"), &decisions, "corr-chg-0003").await;
    assert_eq!(status, 200, "{approved}");

    // The prescriber doubles the frequency in the EHR.
    let change = amlodipine_change("ORD-20-1b", "ORD-20-1");
    let (status, _, _) = post_json(&app, &ph, "/fhir/r4/MedicationRequest", &change, "corr-chg-0004").await;
    assert_eq!(status, 403, "a pharmacist substitutes; only a prescriber changes an order");
    let (status, headers, answer) =
        post_json(&app, &doctor, "/fhir/r4/MedicationRequest", &change, "corr-chg-0005").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(rx_id_of(&headers), rx_id);
    let rx = rx_json(&app, rx_id).await;
    assert_eq!(rx["status"], "RX_RECEIVED", "verified again before anyone decides: {rx}");
    assert_eq!(rx["items"][0]["frequency"], "bd");
    assert_eq!(rx["items"][0]["status"], "HITL_REVIEW", "the approval of the old order is void");
    // An EHR retry of the same change is answered, not applied twice.
    let (status, headers, _) = post_json(&app, &doctor, "/fhir/r4/MedicationRequest", &change, "corr-chg-0006").await;
    assert_eq!((status, headers["x-rxgate-replayed"].to_str().unwrap()), (200, "true"));

    // The audit names the change with the EHR's correlation id.
    let db = app.database().await;
    let mut tx = db.begin().await.unwrap();
    let audit = tx.list_audit_for_rx(&rx_id.to_string()).await.unwrap();
    drop(tx);
    db.close().await;
    let amended = audit.iter().filter(|e| e.action == "line_amended").collect::<Vec<_>>();
    assert_eq!(amended.len(), 1, "applied once");
    assert_eq!(amended[0].correlation_id, "corr-chg-0005");
    assert!(amended[0].after.contains("ORD-20-1b"), "{}", amended[0].after);

    // The new order is verified, approved and dispensed; a change after hand-over is refused.
    let (status, dispensed) = verify_approve_dispense(&app, rx_id).await;
    assert_eq!(status, 200, "{dispensed}");
    let late = amlodipine_change("ORD-20-1c", "ORD-20-1b");
    let (status, _, outcome) = post_json(&app, &doctor, "/fhir/r4/MedicationRequest", &late, "corr-chg-0007").await;
    assert_eq!(status, 409, "{outcome}");
    assert!(outcome["issue"][0]["diagnostics"].as_str().unwrap().contains("already handed over"), "{outcome}");
    assert_eq!(rx_json(&app, rx_id).await["items"][0]["status"], "DISPENSED");

    // A change of an order nobody sent, and a change inside a bundle, are refused clearly.
    let unknown = amlodipine_change("ORD-99-1b", "ORD-99-1");
    let (status, _, _) = post_json(&app, &doctor, "/fhir/r4/MedicationRequest", &unknown, "corr-chg-0008").await;
    assert_eq!(status, 404);
    let mut bundle = amlodipine_bundle("ORD-21");
    bundle["entry"][2]["resource"]["priorPrescription"] = json!({"reference": "MedicationRequest/mr0"});
    let (status, _, outcome) = post_json(&app, &doctor, "/fhir/r4/Bundle", &bundle, "corr-chg-0009").await;
    assert_eq!(status, 422, "{outcome}");
}

#[tokio::test]
async fn a_reversed_dispense_keeps_its_record_restocks_holds_the_line_and_the_ehr_is_told() {
    let (url, ehr) = fake_ehr(vec![]).await;
    let app = app_with_ehr(&url);
    seed_amlodipine_stock(&app).await;
    let (_, headers, _) =
        post_json(&app, &app.token("physician"), "/fhir/r4/Bundle", &amlodipine_bundle("ORD-30"), "corr-rev-0001")
            .await;
    let rx_id = rx_id_of(&headers);
    let (status, dispensed) = verify_approve_dispense(&app, rx_id).await;
    assert_eq!(status, 200, "{dispensed}");
    let dispense_id = dispensed["dispense"]["id"].as_i64().unwrap();
    let path = format!("/api/v1/pharmacy/{rx_id}/reverse-dispense");
    let request =
        json!({"line_no": 1, "reason_code": "declined", "reason": "patient already has a supply", "restock": true});

    let (status, _, _) = post_json(&app, &app.token("agent"), &path, &request, "corr-rev-0002").await;
    assert_eq!(status, 403, "the agent never touches a hand-over");
    let bad = json!({"line_no": 1, "reason_code": "changed_mind", "reason": "x"});
    let (status, _, _) = post_json(&app, &app.token("pharmacist"), &path, &bad, "corr-rev-0003").await;
    assert_eq!(status, 400);
    let (status, _, reversed) = post_json(&app, &app.token("pharmacist"), &path, &request, "corr-rev-0004").await;
    assert_eq!(status, 200, "{reversed}");
    assert_eq!(reversed["reversal"]["dispense_id"], dispense_id);
    let line = &reversed["lines"][0];
    assert_eq!(line["status"], "HOLD", "{reversed}");

    // Stock is back; the dispense record is still there, marked reversed; a second reversal is refused.
    let db = app.database().await;
    let mut tx = db.begin().await.unwrap();
    let lot = tx.get_inventory_lot("DEMO-AMLO-5-TAB-BO", "TESTAM1").await.unwrap();
    let records = tx.list_dispenses(rx_id).await.unwrap();
    drop(tx);
    db.close().await;
    assert_eq!(lot.qty_on_hand, 100, "28 taken, 28 returned sealed");
    assert_eq!(records.len(), 1, "the dispense record is never deleted");
    let (status, _, again) = post_json(&app, &app.token("pharmacist"), &path, &request, "corr-rev-0005").await;
    assert_eq!(status, 409, "{again}");

    // The server's MedicationDispense now says so, and the EHR gets both events in order.
    let resource =
        body(app.get(&format!("/fhir/r4/MedicationDispense/{dispense_id}"), Some(&app.token("pharmacist"))).await)
            .await;
    assert_eq!(resource["status"], "declined");
    let received = wait_for("both webhooks", || {
        let r = ehr.received.lock().unwrap().clone();
        (r.len() >= 2).then_some(r)
    })
    .await;
    let keys: Vec<&str> = received.iter().map(|r| r.event_key.as_str()).collect();
    assert_eq!(keys, [format!("DISPENSE:dispense:{dispense_id}"), format!("DISPENSE_REVERSAL:dispense:{dispense_id}")]);
    assert_eq!(received[0].body["status"], "completed");
    assert_eq!(received[1].body["status"], "declined");
    assert!(received.iter().all(|r| r.signature_ok && r.correlation_id == "corr-rev-0001"));
}

// Two P-384 keys made for this test only (PKCS#8 DER, hex): the EHR's, and a forger's.
pub(crate) const EHR_KEY: &str = "3081b6020100301006072a8648ce3d020106052b8104002204819e30819b0201010430e170f9e89f5d2664fc382ec7e4ee4d9d37e2347b837b61a560598586450b554d2fd9bd9e506442da8b9f51c34727ed26a16403620004a2ebb9cb38da9d87da0d3091299b954d91f473ff6b4f7867b34fe6dc877205176cf53ec72184f048a349a90221a79ea745953c0185ed9cd551ac2a01ea666acbeb56e16dcca804c0c4f1b93981909e69af44fef0833d9f014d592820a9c5d0c1";
const FORGER_KEY: &str = "3081b6020100301006072a8648ce3d020106052b8104002204819e30819b0201010430da49311f000c04b74a8dfacab78f72f8b98ade490bee13d7805c4ec36c79b08b5f716c25df77bde9fe5cb018fb8c6cb0a164036200042909c87b2940980ba1eb99c74af27ec48dde4d7b6f3c426fdf899093f92471908376c17988c47c0e1752979dfcaf613f1a0f5f2843097924c3a14c13ba546886e901cd4f241666b2483d7637bcd54f33d70442a9bab7a92d2767ed370a5c52c4";
pub(crate) const EHR_ISSUER: &str = "https://ehr.hospital.example/cds-client";

/// Writes an `RXGATE_CDS_CLIENTS` file in `dir` trusting [`EHR_ISSUER`] with the public
/// half of [`EHR_KEY`] (kid `ehr-2026`), and returns its path.
pub(crate) fn trust_the_ehr_as_cds_client(dir: &std::path::Path) -> std::path::PathBuf {
    use jsonwebtoken::Algorithm;
    use jsonwebtoken::jwk::{Jwk, JwkSet};
    let ehr_key = jsonwebtoken::EncodingKey::from_ec_der(&hex::decode(EHR_KEY).unwrap());
    let mut public = Jwk::from_encoding_key(&ehr_key, Algorithm::ES384).unwrap();
    public.common.key_id = Some("ehr-2026".into());
    std::fs::write(dir.join("ehr-jwks.json"), serde_json::to_string(&JwkSet { keys: vec![public] }).unwrap()).unwrap();
    let clients = json!({"clients": [{"iss": EHR_ISSUER, "jwks_file": "ehr-jwks.json"}]});
    let config = dir.join("cds-clients.json");
    std::fs::write(&config, clients.to_string()).unwrap();
    config
}

/// A CDS client's token as CDS Hooks 2.0 describes it.
pub(crate) fn client_token(key_hex: &str, kid: &str, iss: &str, aud: &str, lifetime: i64, jti: &str) -> String {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let key = EncodingKey::from_ec_der(&hex::decode(key_hex).unwrap());
    let mut header = Header::new(Algorithm::ES384);
    header.kid = Some(kid.into());
    header.typ = Some("JWT".into());
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"iss": iss, "sub": "ehr-client-1", "aud": aud, "iat": now, "exp": now + lifetime, "jti": jti});
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

#[tokio::test]
async fn a_cds_client_token_signed_with_the_ehrs_published_key_gets_cards_and_forged_or_replayed_ones_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let config = trust_the_ehr_as_cds_client(dir.path());
    let app = spawn_app_with(&[("RXGATE_JWT_SECRET", SECRET), ("RXGATE_CDS_CLIENTS", config.to_str().unwrap())], &[]);

    let service = app.url("/cds-services/rxgate-order-sign");
    let call = amlodipine_clarithromycin_sign();
    let send = |token: String| {
        let app = &app;
        let call = call.clone();
        async move {
            let r =
                app.http.post(app.url("/cds-services/rxgate-order-sign")).bearer_auth(token).json(&call).send().await;
            let r = r.unwrap();
            let status = r.status().as_u16();
            (status, body(r).await)
        }
    };
    let good = client_token(EHR_KEY, "ehr-2026", EHR_ISSUER, &service, 300, "jti-0001");
    let (status, answer) = send(good.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer["cards"].as_array().unwrap().iter().any(|c| c["summary"].as_str().unwrap().contains("clarithromycin"))
    );

    // The same token again is a replay.
    let (status, refused) = send(good).await;
    assert_eq!(status, 401, "{refused}");
    // Signed by someone else under the EHR's name and key id.
    let (status, _) = send(client_token(FORGER_KEY, "ehr-2026", EHR_ISSUER, &service, 300, "jti-0002")).await;
    assert_eq!(status, 401);
    // An issuer nobody configured, a token for another service, a ten-minute token.
    let (status, _) = send(client_token(EHR_KEY, "ehr-2026", "https://other.example", &service, 300, "jti-0003")).await;
    assert_eq!(status, 401);
    let elsewhere = app.url("/cds-services/rxgate-order-select");
    let (status, _) = send(client_token(EHR_KEY, "ehr-2026", EHR_ISSUER, &elsewhere, 300, "jti-0004")).await;
    assert_eq!(status, 401);
    let (status, _) = send(client_token(EHR_KEY, "ehr-2026", EHR_ISSUER, &service, 600, "jti-0005")).await;
    assert_eq!(status, 401);
    // The feedback endpoint takes a token for its service.
    let card = answer["cards"][0]["uuid"].clone();
    let feedback =
        json!({"feedback": [{"card": card, "outcome": "accepted", "outcomeTimestamp": "2026-11-23T10:01:00Z"}]});
    let token = client_token(EHR_KEY, "ehr-2026", EHR_ISSUER, &service, 300, "jti-0006");
    let r = app.http.post(app.url("/cds-services/rxgate-order-sign/feedback")).bearer_auth(token).json(&feedback);
    assert_eq!(r.send().await.unwrap().status().as_u16(), 200);
    // A CDS client's token opens nothing else.
    let token = client_token(EHR_KEY, "ehr-2026", EHR_ISSUER, &service, 300, "jti-0007");
    assert_eq!(app.get("/api/v1/pharmacy/queue", Some(&token)).await.status().as_u16(), 401);
}
