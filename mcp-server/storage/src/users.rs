//! Console users. Passwords are hashed (argon2) by the server; only the hash is stored.

use chrono::{DateTime, Utc};

use crate::connect::Tx;
use crate::error::{Error, Result};

/// A stored user.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    /// Login name (unique).
    pub username: String,
    /// PHC-format password hash.
    pub password_hash: String,
    /// `pharmacist`, `physician`, `agent`, `device` or `admin`.
    pub role: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for User {
    /// Leaves the password hash out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User").field("username", &self.username).field("role", &self.role).finish_non_exhaustive()
    }
}

impl Tx {
    /// Creates a user; [`Error::Duplicate`] if the name is taken.
    pub async fn insert_user(&mut self, username: &str, password_hash: &str, role: &str) -> Result<User> {
        let now = self.now();
        let stored = on_conn!(self, |c| {
            sqlx::query_as::<_, User>(
                "INSERT INTO users (username, password_hash, role, created_at) VALUES ($1, $2, $3, $4) RETURNING *",
            )
            .bind(username)
            .bind(password_hash)
            .bind(role)
            .bind(now)
            .fetch_one(c)
            .await
        })
        .map_err(|e| match Error::from(e) {
            Error::Duplicate(_) => Error::Duplicate(format!("user {username}")),
            other => other,
        })?;
        Ok(stored)
    }

    /// The user with this name, if any.
    pub async fn get_user(&mut self, username: &str) -> Result<Option<User>> {
        let found = on_conn!(self, |c| {
            sqlx::query_as::<_, User>("SELECT * FROM users WHERE username = $1").bind(username).fetch_optional(c).await
        })?;
        Ok(found)
    }

    /// Replaces a user's password hash.
    pub async fn set_password_hash(&mut self, username: &str, password_hash: &str) -> Result<()> {
        let done = on_conn!(self, |c| {
            sqlx::query("UPDATE users SET password_hash = $1 WHERE username = $2")
                .bind(password_hash)
                .bind(username)
                .execute(c)
                .await
                .map(|r| r.rows_affected())
        })?;
        if done == 0 {
            return Err(Error::NotFound(format!("user {username}")));
        }
        Ok(())
    }

    /// All users, by name.
    pub async fn list_users(&mut self) -> Result<Vec<User>> {
        let found =
            on_conn!(self, |c| sqlx::query_as::<_, User>("SELECT * FROM users ORDER BY username").fetch_all(c).await)?;
        Ok(found)
    }
}
