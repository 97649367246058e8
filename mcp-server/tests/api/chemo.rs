//! `/api/v1/chemo/*`: chemotherapy orders through two-person checks, overrides, the
//! gravimetric check and BCMA, with every step in the audit log — and a hard stop that no
//! action clears.

use serde_json::{Value, json};

use crate::helpers::{Claims, SECRET, TestApp, body, now, sign, spawn_app_with};

fn token(sub: &str, role: &str) -> String {
    let now = now();
    sign(&Claims { sub, role, iss: "rxgate", aud: "rxgate", iat: now, exp: now + 600 }, SECRET)
}

async fn post(app: &TestApp, token: &str, path: &str, json: &Value) -> (u16, Value) {
    let r = app.http.post(app.url(path)).bearer_auth(token).json(json).send().await.unwrap();
    (r.status().as_u16(), body(r).await)
}

fn chop(orders: Value) -> Value {
    json!({"patient_id": "MRN-1001", "evaluation": {"regimen": "CHOP", "cycle": 2, "day": 1,
        "patient": {"age_years": 50, "weight_kg": 70, "height_cm": 170,
                    "labs": {"anc_10e9_l": 2.0, "platelets_10e9_l": 200, "bilirubin_umol_l": 10, "crcl_ml_min": 90}},
        "orders": orders}})
}

async fn act(app: &TestApp, who: &str, role: &str, order: i64, action: Value) -> (u16, Value) {
    post(app, &token(who, role), &format!("/api/v1/chemo/orders/{order}/actions"), &action).await
}

async fn audit_actions(app: &TestApp, order: i64) -> Vec<String> {
    let db = app.database().await;
    let mut tx = db.begin_read().await.unwrap();
    tx.list_audit_for_rx(&format!("chemo-{order}")).await.unwrap().into_iter().map(|e| e.action).collect()
}

#[tokio::test]
async fn a_clean_order_goes_through_two_person_checks_gravimetric_and_bcma() {
    let app = spawn_app_with(&[("RXGATE_JWT_SECRET", SECRET)], &[]);
    let (status, created) = post(&app, &token("drlim", "physician"), "/api/v1/chemo/orders", &chop(json!([]))).await;
    assert_eq!(status, 200, "{created}");
    let id = created["order"]["order_id"].as_i64().unwrap();
    assert_eq!(
        created["evaluation"]["doses"][2]["dose"]["value"].as_f64(),
        Some(2.0),
        "vincristine capped at 2 mg: {created}"
    );

    assert_eq!(act(&app, "drlim", "physician", id, json!({"action": "sign", "check": "prescribing"})).await.0, 200);
    let (same, refusal) = act(&app, "drlim", "physician", id, json!({"action": "sign", "check": "prescribing"})).await;
    assert_eq!(same, 409, "one person signed the prescribing check twice: {refusal}");
    assert_eq!(act(&app, "aisyah", "pharmacist", id, json!({"action": "sign", "check": "prescribing"})).await.0, 200);
    let (both, refusal) =
        act(&app, "aisyah", "pharmacist", id, json!({"action": "sign", "check": "compounding"})).await;
    assert_eq!(both, 409, "one user satisfied both checks: {refusal}");
    assert_eq!(act(&app, "farid", "pharmacist", id, json!({"action": "sign", "check": "compounding"})).await.0, 200);
    assert_eq!(act(&app, "siti", "pharmacist", id, json!({"action": "sign", "check": "compounding"})).await.0, 200);

    let (s, _) = act(
        &app,
        "farid",
        "pharmacist",
        id,
        json!({"action": "gravimetric", "expected_g": "100", "measured_g": "115"}),
    )
    .await;
    assert_eq!(s, 200);
    let (blocked, refusal) = act(&app, "farid", "pharmacist", id, json!({"action": "print_label"})).await;
    assert_eq!(blocked, 409, "a 15% gravimetric deviation must block the label: {refusal}");
    let (unqualified, _) = act(
        &app,
        "farid",
        "pharmacist",
        id,
        json!({"action": "override_gravimetric", "acting_as": "supervisor", "reason": "x"}),
    )
    .await;
    assert_eq!(unqualified, 409, "farid is not a recorded supervisor");
    {
        let db = app.database().await;
        let mut tx = db.begin().await.unwrap();
        tx.add_chemo_qualification("siti", "supervisor").await.unwrap();
        tx.commit().await.unwrap();
    }
    let (ok, state) = act(
        &app,
        "siti",
        "pharmacist",
        id,
        json!({"action": "override_gravimetric", "acting_as": "supervisor", "reason": "diluent overfill confirmed"}),
    )
    .await;
    assert_eq!(ok, 200, "{state}");
    assert_eq!(act(&app, "farid", "pharmacist", id, json!({"action": "print_label"})).await.0, 200);

    let wrong = json!({"action": "bcma", "wristband": "MRN-9999", "product_scan": "(01)02959482234015(17)281231(10)VC1", "drug": "vincristine"});
    let (s, state) = act(&app, "drlim", "physician", id, wrong).await;
    assert_eq!((s, state["order"]["bcma_matched"].as_bool()), (200, Some(false)));
    let (refused, _) = act(&app, "drlim", "physician", id, json!({"action": "administer"})).await;
    assert_eq!(refused, 409, "administration without a BCMA match");
    let right = json!({"action": "bcma", "wristband": "MRN:MRN-1001", "product_scan": "(01)02959482234015(17)281231(10)VC1", "drug": "vincristine"});
    assert_eq!(act(&app, "drlim", "physician", id, right).await.0, 200);
    let (given, state) = act(&app, "drlim", "physician", id, json!({"action": "administer"})).await;
    assert_eq!(given, 200, "{state}");
    assert_eq!(state["order"]["administered"], true);

    let log = audit_actions(&app, id).await;
    for action in [
        "chemo_order",
        "chemo_sign",
        "chemo_block",
        "chemo_gravimetric",
        "chemo_override",
        "chemo_label",
        "chemo_bcma",
        "chemo_administer",
    ] {
        assert!(log.iter().any(|a| a == action), "{action} missing from the audit log {log:?}");
    }
    let read = body(app.get(&format!("/api/v1/chemo/orders/{id}"), Some(&token("aisyah", "pharmacist"))).await).await;
    assert_eq!(read["order"]["administered"], true, "the state is replayed from the stored actions: {read}");
}

#[tokio::test]
async fn no_action_clears_a_vinca_syringe_hard_stop() {
    let app = spawn_app_with(&[("RXGATE_JWT_SECRET", SECRET)], &[]);
    let orders =
        json!([{"drug": "vincristine", "route": "iv", "container": "syringe", "dose": {"value": 2, "unit": "mg"}}]);
    let (status, created) = post(&app, &token("drlim", "physician"), "/api/v1/chemo/orders", &chop(orders)).await;
    assert_eq!(status, 200);
    assert_eq!(created["order"]["hard_stops"][0]["code"], "vinca_syringe");
    let id = created["order"]["order_id"].as_i64().unwrap();
    for (who, role, action) in [
        ("drlim", "physician", json!({"action": "override_hold", "code": "vinca_syringe", "reason": "urgent"})),
        (
            "aisyah",
            "pharmacist",
            json!({"action": "override_hard_stop", "code": "vinca_syringe", "reason": "ward insists"}),
        ),
        ("aisyah", "pharmacist", json!({"action": "print_label"})),
        ("drlim", "physician", json!({"action": "administer"})),
    ] {
        let (s, refusal) = act(&app, who, role, id, action).await;
        assert_eq!(s, 409, "{refusal}");
    }
    let read = body(app.get(&format!("/api/v1/chemo/orders/{id}"), Some(&token("aisyah", "pharmacist"))).await).await;
    assert_eq!(read["order"]["hard_stops"][0]["code"], "vinca_syringe");
    assert_eq!(read["order"]["label_printed"], false);
    let log = audit_actions(&app, id).await;
    assert!(log.iter().filter(|a| *a == "chemo_block").count() >= 5, "the stop and each refusal are audited: {log:?}");
}

#[tokio::test]
async fn publishing_a_regimen_needs_two_different_people() {
    let app = spawn_app_with(&[("RXGATE_JWT_SECRET", SECRET)], &[]);
    let aisyah = token("aisyah", "pharmacist");
    assert_eq!(post(&app, &aisyah, "/api/v1/chemo/regimens/CHOP/propose", &json!({})).await.0, 200);
    let (own, refusal) = post(&app, &aisyah, "/api/v1/chemo/regimens/CHOP/publish", &json!({})).await;
    assert_eq!(own, 409, "the author approved their own regimen: {refusal}");
    let (ok, published) =
        post(&app, &token("drlim", "physician"), "/api/v1/chemo/regimens/CHOP/publish", &json!({})).await;
    assert_eq!(ok, 200, "{published}");
    assert_eq!((published["author"].as_str(), published["approver"].as_str()), (Some("aisyah"), Some("drlim")));
    let (agent, _) = post(&app, &token("bot", "agent"), "/api/v1/chemo/orders", &chop(json!([]))).await;
    assert_eq!(agent, 403, "an agent creates no chemotherapy order");
}

#[tokio::test]
async fn the_demo_lists_its_chemotherapy_orders_newest_first_with_the_doses_computed_when_ordered() {
    let app = spawn_app_with(&[("RXGATE_JWT_SECRET", SECRET)], &["--demo"]);
    let pharmacist = token("aisyah", "pharmacist");
    let r = app.http.get(app.url("/api/v1/chemo/orders")).bearer_auth(&pharmacist).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let listed = body(r).await;
    let orders = listed["orders"].as_array().unwrap();
    let patients: Vec<&str> = orders.iter().map(|o| o["patient_id"].as_str().unwrap()).collect();
    assert_eq!(patients, ["MRN-DEMO-C3", "MRN-DEMO-C2", "MRN-DEMO-C1"], "newest first");
    // Vincristine drawn into a syringe: blocked for good.
    assert_eq!(orders[0]["hard_stops"][0]["code"], "vinca_syringe", "{}", orders[0]);
    // A neutrophil count of 0.8 × 10⁹/L holds the cycle until a physician overrides it.
    let hold = &orders[1]["holds"][0];
    assert!(hold["code"].as_str().unwrap().contains("anc"), "{hold}");
    assert_eq!(hold["overridden_by"], Value::Null);
    // The clean order waits for its checks; its doses are the ones computed at ordering,
    // vincristine 1.4 mg/m² capped at 2 mg.
    let clean = &orders[2];
    assert_eq!((clean["hard_stops"].as_array().unwrap().len(), clean["holds"].as_array().unwrap().len()), (0, 0));
    assert!(clean["label_blocked_because"].as_str().unwrap().contains("check"), "{clean}");
    let vincristine = clean["doses"].as_array().unwrap().iter().find(|d| d["drug"] == "vincristine").unwrap();
    assert_eq!((vincristine["dose"]["value"].as_f64(), vincristine["capped"].as_bool()), (Some(2.0), Some(true)));

    let one = app.http.get(app.url("/api/v1/chemo/orders?limit=1")).bearer_auth(&pharmacist).send().await.unwrap();
    assert_eq!(body(one).await["orders"].as_array().unwrap().len(), 1);
    let none = app.http.get(app.url("/api/v1/chemo/orders?limit=0")).bearer_auth(&pharmacist).send().await.unwrap();
    assert_eq!(none.status().as_u16(), 400);
    let agent = app.http.get(app.url("/api/v1/chemo/orders")).bearer_auth(token("bot", "agent")).send().await.unwrap();
    assert_eq!(agent.status().as_u16(), 403, "the AI principal sees no chemotherapy orders");
}
