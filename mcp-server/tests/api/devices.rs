//! Counter devices over REST (issue 8): a pharmacist arms a line for a workstation, the
//! workstation's scanner posts scans (idempotent per scan_id), and labels queue for the
//! workstation's printer. The agent itself is tested in `agents/device`.

use serde_json::{Value, json};

use crate::helpers::{Claims, SECRET, TestApp, body, now, sign, spawn_app_with};

/// Omeprazole 20 mg Losec, a lot the demo inventory holds.
const OMEPRAZOLE_LOSEC: &str = "]C1010295179391317710DL24K570\u{1d}17280331";
/// Amlodipine 5 mg Borneo: the wrong pack for an omeprazole line.
const AMLODIPINE_BORNEO: &str = "]C1010295481732148417270531\u{1d}10DL25D406";

fn token(role: &str, sub: &str) -> String {
    let now = now();
    sign(&Claims { sub, role, iss: "rxgate", aud: "rxgate", iat: now, exp: now + 600 }, SECRET)
}

async fn post(app: &TestApp, token: &str, path: &str, payload: &Value) -> (u16, Value) {
    let response = app.http.post(app.url(path)).bearer_auth(token).json(payload).send().await.unwrap();
    let status = response.status().as_u16();
    (status, body(response).await)
}

fn scan(id: u32, text: &str) -> Value {
    json!({"scan_id": format!("00000000-0000-4000-8000-{id:012}"), "scan": text, "scanned_at": "2026-11-23T21:00:00Z"})
}

/// The demo's omeprazole-only prescription, verified and its line approved; returns its id.
async fn approved_omeprazole(app: &TestApp, pharmacist: &str) -> i64 {
    let ph = token("pharmacist", pharmacist);
    let queue = body(app.get("/api/v1/pharmacy/queue", Some(&ph)).await).await;
    let rx = queue["prescriptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|rx| rx["items"].as_array().unwrap().iter().map(|i| i["drug"].as_str().unwrap()).eq(["omeprazole"]))
        .unwrap()["rx_id"]
        .as_i64()
        .unwrap();
    let (status, v) = post(app, &ph, &format!("/api/v1/pharmacy/{rx}/verify"), &json!({})).await;
    assert_eq!(status, 200, "{v}");
    let view = v["lines"][0]["view_hash"].clone();
    let decisions = json!({"line_decisions": [{"line_no": 1, "action": "dispense", "reason": "", "view_hash": view}]});
    let (status, v) = post(app, &ph, &format!("/api/v1/pharmacy/{rx}/approve"), &decisions).await;
    assert_eq!(status, 200, "{v}");
    rx
}

#[tokio::test]
async fn only_a_pharmacist_arms_and_only_a_device_scans_or_prints() {
    let app = spawn_app_with(&[("RXGATE_JWT_SECRET", SECRET)], &["--demo"]);
    let arm = json!({"line_no": 1, "quantity": 28, "workstation": "ws-1"});
    for role in ["device", "agent", "physician", "admin"] {
        let (status, _) = post(&app, &token(role, "x"), "/api/v1/pharmacy/1/scan-station", &arm).await;
        assert_eq!(status, 403, "{role} arming a scanner");
    }
    for role in ["pharmacist", "agent", "physician", "admin"] {
        let (status, _) = post(&app, &token(role, "x"), "/api/v1/devices/scans", &scan(1, OMEPRAZOLE_LOSEC)).await;
        assert_eq!(status, 403, "{role} posting a device scan");
        assert_eq!(app.get("/api/v1/devices/print-jobs", Some(&token(role, "x"))).await.status(), 403, "{role}");
    }
}

#[tokio::test]
async fn a_line_not_yet_approved_cannot_be_armed() {
    let app = spawn_app_with(&[("RXGATE_JWT_SECRET", SECRET)], &["--demo"]);
    let ph = token("pharmacist", "aisyah");
    let arm = json!({"line_no": 1, "quantity": 28, "workstation": "ws-1"});
    let (status, v) = post(&app, &ph, "/api/v1/pharmacy/1/scan-station", &arm).await;
    assert_eq!((status, v["error"]["code"].as_str()), (409, Some("line_not_ready")), "{v}");
}

#[tokio::test]
async fn a_scan_is_recorded_once_and_the_dispense_is_the_arming_pharmacists() {
    let app = spawn_app_with(&[("RXGATE_JWT_SECRET", SECRET)], &["--demo"]);
    let device = token("device", "ws-counter-1");

    // Nothing armed yet: a definite answer, recorded.
    let (status, v) = post(&app, &device, "/api/v1/devices/scans", &scan(1, OMEPRAZOLE_LOSEC)).await;
    assert_eq!((status, v["outcome"].as_str(), v["duplicate"].as_bool()), (409, Some("no_armed_line"), Some(false)));

    let rx = approved_omeprazole(&app, "aisyah").await;
    let arm = json!({"line_no": 1, "quantity": 28, "workstation": "ws-counter-1"});
    let (status, v) =
        post(&app, &token("pharmacist", "aisyah"), &format!("/api/v1/pharmacy/{rx}/scan-station"), &arm).await;
    assert_eq!(status, 200, "{v}");

    // The wrong pack: mismatch; the same scan_id again: the same answer, duplicate.
    let (status, wrong) = post(&app, &device, "/api/v1/devices/scans", &scan(2, AMLODIPINE_BORNEO)).await;
    assert_eq!((status, wrong["outcome"].as_str()), (409, Some("mismatch")), "{wrong}");
    assert!(wrong["problems"].as_array().unwrap().iter().any(|p| p == "wrong_product"), "{wrong}");
    let db = app.database().await;
    let audit_len = |db: rxgate_storage::Storage| async move {
        let mut tx = db.begin_read().await.unwrap();
        tx.list_audit(0, i64::MAX).await.unwrap().len()
    };
    let before = audit_len(db.clone()).await;
    let (status, again) = post(&app, &device, "/api/v1/devices/scans", &scan(2, AMLODIPINE_BORNEO)).await;
    assert_eq!((status, again["duplicate"].as_bool()), (409, Some(true)));
    assert_eq!(again["barcode_scan_id"], wrong["barcode_scan_id"]);
    assert_eq!(audit_len(db.clone()).await, before, "a replay records nothing");

    // The right pack: dispensed by aisyah, scanned by the workstation.
    let (status, right) = post(&app, &device, "/api/v1/devices/scans", &scan(3, OMEPRAZOLE_LOSEC)).await;
    assert_eq!((status, right["outcome"].as_str()), (200, Some("dispensed")), "{right}");
    assert_eq!(right["dispensed_by"], "aisyah");
    let (status, again) = post(&app, &device, "/api/v1/devices/scans", &scan(3, OMEPRAZOLE_LOSEC)).await;
    assert_eq!((status, again["duplicate"].as_bool()), (200, Some(true)));
    assert_eq!(again["dispense"], right["dispense"]);

    let mut tx = db.begin_read().await.unwrap();
    assert_eq!(tx.list_dispenses(rx).await.unwrap().len(), 1);
    assert!(tx.armed_line("ws-counter-1").await.unwrap().is_none(), "the dispense disarms the station");
    let entries = tx.list_audit_for_rx(&rx.to_string()).await.unwrap();
    drop(tx);
    let by = |action: &str| -> Vec<(String, String)> {
        entries.iter().filter(|e| e.action == action).map(|e| (e.actor.clone(), e.role.clone())).collect()
    };
    let device_role = ("ws-counter-1".to_string(), "device".to_string());
    assert_eq!(by("scan_station_armed"), [("aisyah".to_string(), "pharmacist".to_string())]);
    assert_eq!(by("barcode_mismatched"), std::slice::from_ref(&device_role));
    assert_eq!(by("barcode_matched"), std::slice::from_ref(&device_role));
    assert_eq!(by("line_dispensed"), [("aisyah".to_string(), "pharmacist".to_string())]);
    assert_eq!(by("device_scan_recorded").len(), 2);
    db.close().await;
}

#[tokio::test]
async fn a_workstation_sees_and_reports_only_its_own_print_jobs() {
    let app = spawn_app_with(&[("RXGATE_JWT_SECRET", SECRET)], &["--demo"]);
    let db = app.database().await;
    let mut tx = db.begin().await.unwrap();
    let mine = tx.enqueue_print_job("ws-1", 1, Some(1), "^XA^FDmine^FS^XZ").await.unwrap();
    let theirs = tx.enqueue_print_job("ws-2", 1, None, "^XA^FDtheirs^FS^XZ").await.unwrap();
    tx.commit().await.unwrap();

    let ws1 = token("device", "ws-1");
    let jobs = body(app.get("/api/v1/devices/print-jobs", Some(&ws1)).await).await;
    let ids: Vec<i64> = jobs["jobs"].as_array().unwrap().iter().map(|j| j["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [mine.id]);

    let printed = json!({"status": "printed", "detail": "10.0.0.50:9100"});
    let path = |id: i64| format!("/api/v1/devices/print-jobs/{id}/status");
    assert_eq!(post(&app, &ws1, &path(theirs.id), &printed).await.0, 404);
    assert_eq!(post(&app, &ws1, &path(mine.id), &json!({"status": "queued"})).await.0, 400);
    let (status, v) = post(&app, &ws1, &path(mine.id), &printed).await;
    assert_eq!((status, v["status"].as_str()), (200, Some("printed")), "{v}");
    let jobs = body(app.get("/api/v1/devices/print-jobs", Some(&ws1)).await).await;
    assert!(jobs["jobs"].as_array().unwrap().is_empty());
    let mut tx = db.begin_read().await.unwrap();
    assert_eq!(tx.get_print_job(theirs.id).await.unwrap().status, "queued");
    drop(tx);
    db.close().await;
}
