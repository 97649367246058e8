//! Console login: `POST /api/v1/auth/login` trades a username and password for the same
//! bearer token `rxgate token` issues, so the console and every other client meet one
//! auth path. Passwords are stored only as argon2id hashes (PHC strings).
//!
//! A wrong password and an unknown user get the same 401, after the same amount of
//! work (an unknown user is checked against a fixed dummy hash), so the answer and its
//! timing say nothing about which usernames exist. Logins and failed logins are audited.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::middleware::CorrelationId;
use super::{AppError, AppState};
use crate::audit::{self, AuditContext, AuditEvent};
use crate::auth::{Principal, Role, Ttl};

/// A console session lasts a shift.
const SESSION_TTL_SECONDS: &str = "12h";

/// Hashes a password for storage (argon2id, default parameters, random salt).
pub(crate) fn hash_password(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("no randomness for a salt: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("encoding the salt: {e}"))?;
    let hash =
        Argon2::default().hash_password(password.as_bytes(), &salt).map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the stored PHC hash. A malformed stored hash never matches.
pub(crate) fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
}

/// Checked when the user does not exist, so that case costs as much as a wrong password.
/// (The hash of a random string nobody knows; argon2id with the default parameters.)
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password("rxgate-no-such-user").unwrap_or_default());

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LoginBody {
    username: String,
    password: String,
}

impl std::fmt::Debug for LoginBody {
    /// Leaves the password out of any log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginBody").field("username", &self.username).finish_non_exhaustive()
    }
}

/// `POST /api/v1/auth/login`.
pub(super) async fn login(
    State(app): State<AppState>,
    CorrelationId(correlation_id): CorrelationId,
    Json(body): Json<LoginBody>,
) -> Result<Json<Value>, AppError> {
    let username = body.username.trim().to_string();
    if username.is_empty() || body.password.is_empty() {
        return Err(AppError::BadRequest { message: "`username` and `password` are required".into(), details: None });
    }
    let mut tx = app.storage.begin().await?;
    let user = tx.get_user(&username).await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone()).unwrap_or_else(|| DUMMY_HASH.clone());
    let password = body.password;
    // argon2 is deliberately slow: keep it off the async workers.
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &stored))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("password check: {e}")))?;
    let role = user.as_ref().filter(|_| matches).and_then(|u| Role::parse(&u.role).ok());

    // The audit names the attempted username as the actor either way: a failed login is
    // an event a security review wants to see.
    let principal = Principal::new(username.clone(), role.unwrap_or(Role::Agent));
    let ctx = AuditContext { principal: &principal, correlation_id: &correlation_id };
    let action = if role.is_some() { "login" } else { "login_failed" };
    audit::append(
        &mut tx,
        &ctx,
        AuditEvent { action, rx_id: None, line_no: None, before: String::new(), after: String::new() },
    )
    .await?;
    tx.commit().await?;

    let Some(role) = role else {
        tracing::info!(sub = %username, "login refused");
        return Err(AppError::LoginFailed);
    };
    let principal = Principal::new(username, role);
    let ttl = Ttl::parse(SESSION_TTL_SECONDS).map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    let now = chrono::Utc::now().timestamp();
    let token = app.keys.issue(&principal, ttl, now)?;
    Ok(Json(json!({
        "token": token,
        "sub": principal.subject,
        "role": role.as_str(),
        "expires_at": now + ttl.seconds(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_hash_is_argon2id_and_verifies_only_the_right_password() {
        let hash = hash_password("pharmacist-demo").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("pharmacist-demo"));
        assert!(verify_password("pharmacist-demo", &hash));
        assert!(!verify_password("pharmacist-dem0", &hash));
        assert!(!verify_password("", &hash));
        // Two hashes of one password differ (random salt), both verify.
        let again = hash_password("pharmacist-demo").unwrap();
        assert_ne!(hash, again);
        assert!(verify_password("pharmacist-demo", &again));
    }

    #[test]
    fn a_malformed_stored_hash_never_matches() {
        assert!(!verify_password("x", "not-a-phc-string"));
        assert!(!verify_password("x", ""));
    }
}
