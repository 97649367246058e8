//! Console login: argon2-hashed passwords traded for the same bearer tokens as `rxgate
//! token`; unknown users and wrong passwords answered alike, and both audited.

use serde_json::{Value, json};

use crate::helpers::{SECRET, TestApp, body, spawn_app_with};

fn demo_app() -> TestApp {
    spawn_app_with(&[("RXGATE_JWT_SECRET", SECRET)], &["--demo"])
}

async fn login(app: &TestApp, username: &str, password: &str) -> (u16, Value) {
    let response = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, body(response).await)
}

#[tokio::test]
async fn a_demo_pharmacist_logs_in_and_the_token_carries_her_role() {
    let app = demo_app();
    let (status, out) = login(&app, "aisyah", "pharmacist-demo").await;
    assert_eq!(status, 200, "{out}");
    assert_eq!((out["sub"].as_str(), out["role"].as_str()), (Some("aisyah"), Some("pharmacist")), "{out}");
    let token = out["token"].as_str().unwrap();
    let me = body(app.get("/api/v1/whoami", Some(token)).await).await;
    assert_eq!(me, json!({"sub": "aisyah", "role": "pharmacist"}));
    // The token is a pharmacist's: it reads the queue.
    assert_eq!(app.get("/api/v1/pharmacy/queue", Some(token)).await.status(), 200);

    let (status, physician) = login(&app, "drlim", "physician-demo").await;
    assert_eq!((status, physician["role"].as_str()), (200, Some("physician")), "{physician}");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_401_and_both_are_audited() {
    let app = demo_app();
    let (status, wrong) = login(&app, "aisyah", "Pharmacist-demo").await;
    assert_eq!(status, 401, "{wrong}");
    let (status, unknown) = login(&app, "nobody", "pharmacist-demo").await;
    assert_eq!(status, 401, "{unknown}");
    assert_eq!(wrong, unknown, "the answer must not tell which usernames exist");
    assert_eq!(wrong["error"]["code"], "invalid_credentials");
    assert!(wrong.get("token").is_none());

    let (status, missing) = login(&app, "aisyah", "").await;
    assert_eq!(status, 400, "{missing}");

    let db = app.database().await;
    let mut tx = db.begin_read().await.unwrap();
    let actions: Vec<(String, String)> =
        tx.list_audit(0, 10_000).await.unwrap().into_iter().map(|r| (r.actor, r.action)).collect();
    assert!(actions.contains(&("aisyah".into(), "login_failed".into())), "{actions:?}");
    assert!(actions.contains(&("nobody".into(), "login_failed".into())), "{actions:?}");
}

#[tokio::test]
async fn passwords_are_stored_only_as_argon2id_hashes() {
    let app = demo_app();
    let db = app.database().await;
    let mut tx = db.begin_read().await.unwrap();
    let user = tx.get_user("aisyah").await.unwrap().expect("demo user");
    assert!(user.password_hash.starts_with("$argon2id$"), "{}", user.password_hash);
    assert!(!user.password_hash.contains("pharmacist-demo"));
    assert_eq!(user.role, "pharmacist");
}
