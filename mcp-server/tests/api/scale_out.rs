//! Several `rxgate serve` processes on one PostgreSQL behave as one: the server keeps no
//! state of its own, so races between processes are settled by the database. Skipped, with
//! a line saying so, where PostgreSQL is not reachable.

use serde_json::{Value, json};

use crate::helpers::{Claims, SECRET, TestApp, body, now, rxgate, sign, spawn_app_with};

fn pharmacist(sub: &str) -> String {
    let now = now();
    sign(&Claims { sub, role: "pharmacist", iss: "rxgate", aud: "rxgate", iat: now, exp: now + 600 }, SECRET)
}

async fn post(app: &TestApp, token: &str, path: &str, payload: &Value, key: Option<&str>) -> (u16, Value) {
    let mut request = app.http.post(app.url(path)).bearer_auth(token).json(payload);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, body(response).await)
}

const AMLODIPINE_5_BO: &str = "(01)02954817321484(17)301231(10)TESTAM1";

#[tokio::test]
async fn two_server_processes_on_one_postgres_settle_every_race_once() {
    let Some(database) = rxgate_storage::testing::TestDatabase::postgres().await else { return };
    let env = [("RXGATE_JWT_SECRET", SECRET), ("DATABASE_URL", database.target.as_str())];
    // The first process seeds the demo before it listens; the second joins the same data.
    let a = spawn_app_with(&env, &["--demo"]);
    let b = spawn_app_with(&env, &[]);
    {
        let mut tx = database.storage.begin().await.unwrap();
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
    }

    let (aisyah, farid) = (pharmacist("aisyah"), pharmacist("farid"));
    let queue = body(a.get("/api/v1/pharmacy/queue", Some(&aisyah)).await).await;
    let via_b = body(b.get("/api/v1/pharmacy/queue", Some(&farid)).await).await;
    let ids = |q: &Value| {
        q["prescriptions"].as_array().unwrap().iter().map(|r| r["rx_id"].as_i64().unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(ids(&queue), ids(&via_b), "both processes serve the same queue");
    assert!(ids(&queue).len() >= 8);

    // Every demo prescription: verified on A, then two pharmacists on different processes
    // decide line 1 at the same moment. Exactly one wins each race; the loser gets 409.
    let drugs_of = |rx: &Value| -> Vec<String> {
        rx["items"].as_array().unwrap().iter().map(|i| i["drug"].as_str().unwrap().to_lowercase()).collect()
    };
    let story = queue["prescriptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|rx| drugs_of(rx) == ["amlodipine", "clarithromycin"])
        .map(|rx| rx["rx_id"].as_i64().unwrap())
        .expect("the amlodipine + clarithromycin demo prescription");
    for rx in ids(&queue).into_iter().filter(|rx| *rx != story) {
        let (status, v) = post(&a, &aisyah, &format!("/api/v1/pharmacy/{rx}/verify"), &json!({}), None).await;
        assert_eq!(status, 200, "{v}");
        let decision =
            json!({"line_decisions": [{"line_no": 1, "action": "cancel", "reason": "prescriber asked to stop"}]});
        let path = format!("/api/v1/pharmacy/{rx}/approve");
        let ((s1, o1), (s2, o2)) =
            tokio::join!(post(&a, &aisyah, &path, &decision, None), post(&b, &farid, &path, &decision, None));
        let mut statuses = [s1, s2];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "rx {rx}: {o1} / {o2}");
        // The stored decision is the winner's, and there is one approval row.
        let winner = if s1 == 200 { "aisyah" } else { "farid" };
        let state = body(b.get("/api/v1/pharmacy/queue", Some(&farid)).await).await;
        let line =
            state["prescriptions"].as_array().unwrap().iter().find(|r| r["rx_id"] == rx).unwrap()["items"][0].clone();
        assert_eq!((line["decision"].as_str(), line["approved_by"].as_str()), (Some("cancel"), Some(winner)), "{line}");
    }

    // One dispense retried on both processes at once with one idempotency key: recorded once.
    {
        let rx = story;
        let (_, v) = post(&a, &aisyah, &format!("/api/v1/pharmacy/{rx}/verify"), &json!({}), None).await;
        let approve = json!({"line_decisions": [
            {"line_no": 2, "action": "cancel", "reason": "CYP3A4 interaction; prescriber contacted"},
            {"line_no": 1, "action": "dispense", "reason": "", "justification": "interacting macrolide cancelled"},
        ]});
        let (status, approved) = post(&a, &aisyah, &format!("/api/v1/pharmacy/{rx}/approve"), &approve, None).await;
        assert_eq!(status, 200, "{approved} after {v}");
        let scan = json!({"line_no": 1, "barcode": AMLODIPINE_5_BO, "quantity": 10});
        let path = format!("/api/v1/pharmacy/{rx}/dispense");
        let ((s1, o1), (s2, o2)) = tokio::join!(
            post(&a, &aisyah, &path, &scan, Some("counter-1-scan-77")),
            post(&b, &aisyah, &path, &scan, Some("counter-1-scan-77"))
        );
        assert!(s1 == 200 || s2 == 200, "{o1} / {o2}");
        let mut tx = database.storage.begin_read().await.unwrap();
        assert_eq!(tx.list_dispenses(rx).await.unwrap().len(), 1);
        assert_eq!(tx.get_inventory_lot("DEMO-AMLO-5-TAB-BO", "TESTAM1").await.unwrap().qty_on_hand, 90);
    }

    // Whatever interleaving happened, the audit chain written by two processes is whole.
    let out = rxgate().args(["audit", "verify", "--database-url", &database.target]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    drop((a, b));
    database.drop_database().await;
}

/// A CDS client's token is good once across the instances behind one URL: captured on its
/// way to one process, it is refused by the other.
#[tokio::test]
async fn a_cds_client_token_used_at_one_instance_is_refused_at_the_other() {
    use crate::interop::{
        EHR_ISSUER, EHR_KEY, amlodipine_clarithromycin_sign, client_token, trust_the_ehr_as_cds_client,
    };
    let Some(database) = rxgate_storage::testing::TestDatabase::postgres().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let clients = trust_the_ehr_as_cds_client(dir.path());
    // Both behind one public URL, as behind a load balancer: the token's `aud` fits either.
    let public = "https://rxgate.hospital.example";
    let env = [
        ("RXGATE_JWT_SECRET", SECRET),
        ("DATABASE_URL", database.target.as_str()),
        ("RXGATE_CDS_CLIENTS", clients.to_str().unwrap()),
        ("RXGATE_PUBLIC_URL", public),
    ];
    let a = spawn_app_with(&env, &["--demo"]);
    let b = spawn_app_with(&env, &[]);
    let path = "/cds-services/rxgate-order-sign";
    let token = client_token(EHR_KEY, "ehr-2026", EHR_ISSUER, &format!("{public}{path}"), 300, "jti-lb-0001");
    let call = amlodipine_clarithromycin_sign();
    let at = |app: &TestApp| app.http.post(app.url(path)).bearer_auth(&token).json(&call).send();
    let first = at(&a).await.unwrap();
    assert_eq!(first.status().as_u16(), 200, "{}", body(first).await);
    let replay = at(&b).await.unwrap();
    assert_eq!(replay.status().as_u16(), 401, "{}", body(replay).await);
    let replay = at(&a).await.unwrap();
    assert_eq!(replay.status().as_u16(), 401, "{}", body(replay).await);
    drop((a, b));
    database.drop_database().await;
}
