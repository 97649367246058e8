//! The prescription workflow over REST, from the demo queue to CLOSED, and the audit log
//! it leaves behind.

use serde_json::{Value, json};

use crate::helpers::{Claims, SECRET, TestApp, body, now, rxgate, sign, spawn_app_with};

const AZITHROMYCIN_BO: &str = "(01)02952800135957(17)301231(10)TESTAZ1";
const AMLODIPINE_5_BO: &str = "(01)02954817321484(17)301231(10)TESTAM1";

fn demo_app() -> TestApp {
    spawn_app_with(&[("RXGATE_JWT_SECRET", SECRET)], &["--demo"])
}

fn pharmacist(sub: &str) -> String {
    let now = now();
    sign(&Claims { sub, role: "pharmacist", iss: "rxgate", aud: "rxgate", iat: now, exp: now + 600 }, SECRET)
}

/// The demo prescription whose lines are exactly these drugs.
async fn rx_with(app: &TestApp, drugs: &[&str]) -> i64 {
    let queue = body(app.get("/api/v1/pharmacy/queue", Some(&app.token("pharmacist"))).await).await;
    queue["prescriptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|rx| {
            let items: Vec<String> =
                rx["items"].as_array().unwrap().iter().map(|i| i["drug"].as_str().unwrap().to_lowercase()).collect();
            items == drugs
        })
        .unwrap_or_else(|| panic!("no demo prescription with {drugs:?}: {queue}"))["rx_id"]
        .as_i64()
        .unwrap()
}

async fn post(app: &TestApp, token: &str, path: &str, payload: &Value) -> (u16, Value) {
    let response = app.http.post(app.url(path)).bearer_auth(token).json(payload).send().await.unwrap();
    let status = response.status().as_u16();
    (status, body(response).await)
}

async fn seed_stock(app: &TestApp) {
    let db = app.database().await;
    let mut tx = db.begin().await.unwrap();
    for (product, lot) in [("DEMO-AZIT-250-CAP-BO", "TESTAZ1"), ("DEMO-AMLO-5-TAB-BO", "TESTAM1")] {
        tx.seed_inventory(&rxgate_storage::InventoryLot {
            product: product.into(),
            lot: lot.into(),
            expiry: chrono::NaiveDate::from_ymd_opt(2030, 12, 31),
            qty_on_hand: 100,
            reorder_level: 0,
            updated_at: chrono::Utc::now(),
        })
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    db.close().await;
}

async fn stock(app: &TestApp, product: &str, lot: &str) -> i64 {
    let db = app.database().await;
    let mut tx = db.begin_read().await.unwrap();
    let on_hand = tx.get_inventory_lot(product, lot).await.unwrap().qty_on_hand;
    drop(tx);
    db.close().await;
    on_hand
}

#[tokio::test]
async fn the_seed_story_from_the_demo_queue_to_closed_over_rest() {
    let app = demo_app();
    seed_stock(&app).await;
    let rx = rx_with(&app, &["amlodipine", "clarithromycin"]).await;
    let ph = app.token("pharmacist");
    let agent = app.token("agent");
    let base = format!("/api/v1/pharmacy/{rx}");

    // The agent may trigger verification; the server runs the checks itself.
    let (status, v) = post(&app, &agent, &format!("{base}/verify"), &json!({})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["rx_status"], "ALERTS_RAISED", "{v}");
    assert_eq!(v["blocking"], true, "{v}");
    assert!(matches!(v["highest_severity"].as_str(), Some("major" | "contraindicated")), "{v}");
    assert!(!v["ddi_alerts"].as_array().unwrap().is_empty(), "{v}");
    let view = |line: u64| -> String {
        v["lines"].as_array().unwrap().iter().find(|l| l["line_no"] == line).unwrap()["view_hash"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (view1, view2) = (view(1), view(2));

    // The agent can never approve or dispense.
    let decisions = json!({"line_decisions": [{"line_no": 2, "action": "cancel", "reason": "x"}]});
    assert_eq!(post(&app, &agent, &format!("{base}/approve"), &decisions).await.0, 403);
    let scan = json!({"line_no": 2, "barcode": AZITHROMYCIN_BO, "quantity": 6});
    assert_eq!(post(&app, &agent, &format!("{base}/dispense"), &scan).await.0, 403);

    // A major line dispensed without justification is refused, and nothing changes.
    let unjustified =
        json!({"line_decisions": [{"line_no": 1, "action": "dispense", "reason": "", "view_hash": view1}]});
    let (status, refused) = post(&app, &ph, &format!("{base}/approve"), &unjustified).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("justification_required")), "{refused}");

    // Substitute clarithromycin with azithromycin; dispense amlodipine with a justification.
    let decisions = json!({"line_decisions": [
        {"line_no": 2, "action": "substitute", "reason": "CYP3A4 interaction with amlodipine",
         "replacement": "azithromycin", "view_hash": view2},
        {"line_no": 1, "action": "dispense", "reason": "",
         "justification": "interacting macrolide substituted with azithromycin", "view_hash": view1},
    ]});
    let (status, approved) = post(&app, &ph, &format!("{base}/approve"), &decisions).await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["lines"][1]["status"], "SUBSTITUTED", "{approved}");
    assert_eq!(approved["lines"][1]["replacement"], "azithromycin", "{approved}");

    // The wrong pack (amlodipine for the azithromycin line): 409, recorded, nothing dispensed.
    let wrong = json!({"line_no": 2, "barcode": AMLODIPINE_5_BO, "quantity": 6, "idempotency_key": "k-2"});
    let (status, mismatch) = post(&app, &ph, &format!("{base}/dispense"), &wrong).await;
    assert_eq!((status, mismatch["error"]["code"].as_str()), (409, Some("barcode_mismatch")), "{mismatch}");
    assert!(!mismatch["error"]["details"]["problems"].as_array().unwrap().is_empty(), "{mismatch}");
    assert_eq!(stock(&app, "DEMO-AMLO-5-TAB-BO", "TESTAM1").await, 100);

    // The right pack: dispensed once, however often the request is retried.
    let right = json!({"line_no": 2, "barcode": AZITHROMYCIN_BO, "quantity": 6});
    for attempt in 0..3 {
        let response = app
            .http
            .post(app.url(&format!("{base}/dispense")))
            .bearer_auth(&ph)
            .header("Idempotency-Key", "k-2")
            .json(&right)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let out = body(response).await;
        assert_eq!(status, 200, "attempt {attempt}: {out}");
        assert_eq!(out["replayed"], attempt > 0, "attempt {attempt}: {out}");
        assert_eq!(out["dispense"]["product"], "DEMO-AZIT-250-CAP-BO", "{out}");
    }
    assert_eq!(stock(&app, "DEMO-AZIT-250-CAP-BO", "TESTAZ1").await, 94);
    let amlo = json!({"line_no": 1, "barcode": AMLODIPINE_5_BO, "quantity": 30, "idempotency_key": "k-1"});
    let (status, out) = post(&app, &ph, &format!("{base}/dispense"), &amlo).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["prescription"]["status"], "DISPENSED", "{out}");

    // Counselling must be complete; then the prescription closes.
    let partial = json!({"items": ["identity_confirmed", "purpose"]});
    let (status, refused) = post(&app, &ph, &format!("{base}/counsel-done"), &partial).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("counselling_incomplete")), "{refused}");
    let all = json!({"items": ["identity_confirmed", "purpose", "dose_and_timing", "side_effects", "warnings",
                               "storage", "questions_answered"]});
    let (status, closed) = post(&app, &ph, &format!("{base}/counsel-done"), &all).await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["status"], "CLOSED", "{closed}");

    // The dispense log holds one record per line, and the audit chain is intact.
    let db = app.database().await;
    let mut tx = db.begin_read().await.unwrap();
    assert_eq!(tx.list_dispenses(rx).await.unwrap().len(), 2);
    let actions: Vec<String> =
        tx.list_audit_for_rx(&rx.to_string()).await.unwrap().into_iter().map(|e| e.action).collect();
    drop(tx);
    db.close().await;
    for action in [
        "verification_recorded",
        "line_decided",
        "barcode_mismatched",
        "barcode_matched",
        "line_dispensed",
        "counselling_completed",
        "rx_closed",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action} in {actions:?}");
    }
    assert_eq!(actions.iter().filter(|a| *a == "line_dispensed").count(), 2, "{actions:?}");
    let out = rxgate().args(["audit", "verify", "--data-dir"]).arg(&app.data_path).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn two_pharmacists_deciding_the_same_line_at_once_exactly_one_wins() {
    let app = demo_app();
    let rx = rx_with(&app, &["omeprazole"]).await;
    let base = format!("/api/v1/pharmacy/{rx}");
    let (status, v) = post(&app, &app.token("pharmacist"), &format!("{base}/verify"), &json!({})).await;
    assert_eq!(status, 200, "{v}");
    let view = v["lines"][0]["view_hash"].as_str().unwrap().to_string();
    let decide = |sub: &'static str| {
        let app = &app;
        let view = view.clone();
        let base = base.clone();
        async move {
            let payload =
                json!({"line_decisions": [{"line_no": 1, "action": "dispense", "reason": "", "view_hash": view}]});
            post(app, &pharmacist(sub), &format!("{base}/approve"), &payload).await
        }
    };
    let ((a, body_a), (b, body_b)) = tokio::join!(decide("ph-a"), decide("ph-b"));
    let mut statuses = [a, b];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{body_a}\n{body_b}");

    // The agent may not close; a pharmacist may not close what still has to be handed over.
    assert_eq!(post(&app, &app.token("agent"), &format!("{base}/close"), &json!({})).await.0, 403);
    let (status, refused) = post(&app, &app.token("pharmacist"), &format!("{base}/close"), &json!({})).await;
    assert_eq!(status, 409, "{refused}");
}

#[tokio::test]
async fn a_prescription_with_every_line_cancelled_closes_without_counselling() {
    let app = demo_app();
    let rx = rx_with(&app, &["metformin"]).await;
    let ph = app.token("pharmacist");
    let base = format!("/api/v1/pharmacy/{rx}");
    assert_eq!(post(&app, &ph, &format!("{base}/verify"), &json!({})).await.0, 200);
    let cancel = json!({"line_decisions": [{"line_no": 1, "action": "cancel", "reason": "eGFR 25: contraindicated"}]});
    let (status, out) = post(&app, &ph, &format!("{base}/approve"), &cancel).await;
    assert_eq!(status, 200, "{out}");
    let (status, closed) = post(&app, &ph, &format!("{base}/close"), &json!({})).await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["status"], "CLOSED", "{closed}");
}

#[tokio::test]
async fn rxgate_audit_verify_detects_a_tampered_row() {
    let database = rxgate_storage::testing::TestDatabase::sqlite().await;
    {
        let app = spawn_app_with(&[("RXGATE_JWT_SECRET", SECRET), ("DATABASE_URL", &database.target)], &["--demo"]);
        let rx = rx_with(&app, &["omeprazole"]).await;
        let (status, v) =
            post(&app, &app.token("pharmacist"), &format!("/api/v1/pharmacy/{rx}/verify"), &json!({})).await;
        assert_eq!(status, 200, "{v}");
    }
    let verify = || rxgate().args(["audit", "verify", "--database-url", &database.target]).output().unwrap();
    let out = verify();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("OK"), "{stdout}");

    database.tamper_audit_action(3, "rx_cancelled").await;
    let out = verify();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("seq 3") && stdout.contains("edited"), "{stdout}");
}

#[tokio::test]
async fn a_substitute_is_checked_like_the_drug_it_replaces() {
    // Simvastatin + clarithromycin: the pharmacist substitutes the macrolide. Erythromycin
    // would be as contraindicated with simvastatin as clarithromycin is; azithromycin is not.
    let app = demo_app();
    let rx = rx_with(&app, &["simvastatin", "clarithromycin"]).await;
    let ph = app.token("pharmacist");
    let base = format!("/api/v1/pharmacy/{rx}");
    let (status, _) = post(&app, &ph, &format!("{base}/verify"), &json!({})).await;
    assert_eq!(status, 200);
    let swap = |to: &str| json!({"line_decisions": [{"line_no": 2, "action": "substitute", "reason": "CYP3A4 interaction", "replacement": to}]});
    let (status, refused) = post(&app, &ph, &format!("{base}/approve"), &swap("erythromycin")).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("contraindicated")), "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("erythromycin"), "{refused}");
    let (status, approved) = post(&app, &ph, &format!("{base}/approve"), &swap("azithromycin")).await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["lines"][1]["status"], "SUBSTITUTED", "{approved}");
    assert_eq!(approved["lines"][1]["replacement"], "azithromycin");
}

#[tokio::test]
async fn a_contraindicated_line_is_never_approved_for_dispense_and_a_refusal_changes_nothing() {
    let app = demo_app();
    let rx = rx_with(&app, &["simvastatin", "clarithromycin"]).await;
    let ph = app.token("pharmacist");
    let base = format!("/api/v1/pharmacy/{rx}");
    let (status, v) = post(&app, &ph, &format!("{base}/verify"), &json!({})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["highest_severity"], "contraindicated", "{v}");
    let decisions = json!({"line_decisions": [
        {"line_no": 1, "action": "dispense", "reason": "", "justification": "patient insists"},
    ]});
    let (status, refused) = post(&app, &ph, &format!("{base}/approve"), &decisions).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("contraindicated")), "{refused}");

    let queue = body(app.get("/api/v1/pharmacy/queue", Some(&ph)).await).await;
    let stored = queue["prescriptions"].as_array().unwrap().iter().find(|p| p["rx_id"] == rx).unwrap().clone();
    assert_eq!(stored["status"], "ALERTS_RAISED", "{stored}");
    assert!(stored["items"].as_array().unwrap().iter().all(|i| i["status"] == "HITL_REVIEW"), "{stored}");

    // Dispensing an undecided line is refused by the gate, before any stock moves.
    let scan = json!({"line_no": 1, "barcode": AMLODIPINE_5_BO, "quantity": 1});
    let (status, refused) = post(&app, &ph, &format!("{base}/dispense"), &scan).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("illegal_transition")), "{refused}");
}
