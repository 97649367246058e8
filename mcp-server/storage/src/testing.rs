//! Fresh databases for tests (feature `test-util`): one SQLite file or one PostgreSQL
//! database per test, migrated, and removed afterwards. The server's `spawn_app()` can use
//! the same helper.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::Connection;

use crate::{AuditRecord, Storage};

/// The PostgreSQL server tests use: `RXGATE_TEST_POSTGRES`, else the local default.
pub fn postgres_admin_url() -> String {
    std::env::var("RXGATE_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A migrated database that exists for one test.
#[derive(Debug)]
pub struct TestDatabase {
    /// The storage to test against.
    pub storage: Storage,
    /// The URL or path `storage` was opened with (for a second process or pool).
    pub target: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{}_{}_{}", std::process::id(), nanos % 1_000_000_000_000, COUNTER.fetch_add(1, Ordering::Relaxed))
}

impl TestDatabase {
    /// A fresh SQLite file in its own temporary directory.
    pub async fn sqlite() -> TestDatabase {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let path = dir.path().join("rxgate.db");
        let target = path.to_str().expect("temporary path is UTF-8").to_owned();
        let storage = Storage::connect(&target).await.expect("open and migrate a fresh SQLite database");
        TestDatabase { storage, target, cleanup: Cleanup::Sqlite(dir) }
    }

    /// A fresh PostgreSQL database (`rxgate_test_…`) on [`postgres_admin_url`], or `None`
    /// (after printing "skipped: PostgreSQL not reachable" to stderr, past the test
    /// harness's capture) when the server does not answer.
    pub async fn postgres() -> Option<TestDatabase> {
        let admin_url = postgres_admin_url();
        let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
            Ok(admin) => admin,
            Err(error) => {
                // Once per test binary is enough to explain every skipped PostgreSQL test.
                static SAID: AtomicBool = AtomicBool::new(false);
                if SAID.swap(true, Ordering::Relaxed) {
                    return None;
                }
                let _ = writeln!(
                    std::io::stderr(),
                    "skipped: PostgreSQL not reachable at {admin_url} ({error}); set RXGATE_TEST_POSTGRES to test it"
                );
                return None;
            }
        };
        let name = format!("rxgate_test_{}", unique_suffix());
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create a test database");
        let _ = admin.close().await;
        let target = database_url(&admin_url, &name);
        let storage = Storage::connect(&target).await.expect("open and migrate a fresh PostgreSQL database");
        Some(TestDatabase { storage, target, cleanup: Cleanup::Postgres { admin_url, name } })
    }

    /// Closes the pool and removes the database.
    pub async fn drop_database(self) {
        self.storage.close().await;
        match self.cleanup {
            Cleanup::Sqlite(dir) => drop(dir),
            Cleanup::Postgres { admin_url, name } => {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                        .execute(&mut admin)
                        .await;
                    let _ = admin.close().await;
                }
            }
        }
    }

    /// Edits an audit entry behind the application's back, as an attacker with database
    /// access would (triggers disabled for the one statement), so tests can show that
    /// `rxgate audit verify` notices. Sets `action` of entry `seq`.
    pub async fn tamper_audit_action(&self, seq: i64, action: &str) {
        let mut tx = self.storage.begin().await.expect("begin");
        let sql = match tx.backend() {
            crate::Backend::Sqlite => vec![
                "DROP TRIGGER audit_log_no_update".to_owned(),
                format!("UPDATE audit_log SET action = '{}' WHERE seq = {seq}", action.replace('\'', "''")),
            ],
            crate::Backend::Postgres => vec![
                "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update".to_owned(),
                format!("UPDATE audit_log SET action = '{}' WHERE seq = {seq}", action.replace('\'', "''")),
                "ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update".to_owned(),
            ],
        };
        for statement in sql {
            tx.execute_raw(statement).await.expect("tamper with the audit log");
        }
        if tx.backend() == crate::Backend::Sqlite {
            // SQLite cannot disable a trigger: put back the one dropped above.
            tx.execute_raw(
                "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN \
                 SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END"
                    .to_owned(),
            )
            .await
            .expect("restore the trigger");
        }
        tx.commit().await.expect("commit tampering");
    }

    /// Runs one SQL statement directly, outside the typed API (to show what the database
    /// itself refuses).
    pub async fn execute(&self, sql: &str) -> crate::Result<()> {
        let mut tx = self.storage.begin().await?;
        tx.execute_raw(sql.to_owned()).await?;
        tx.commit().await
    }

    /// Reads the whole audit log, in order.
    pub async fn audit_log(&self) -> Vec<AuditRecord> {
        let mut tx = self.storage.begin_read().await.expect("begin");
        tx.list_audit(0, i64::MAX).await.expect("list audit")
    }
}

fn database_url(admin_url: &str, name: &str) -> String {
    // Replace the path (database name) of the admin URL, keeping any query string.
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (admin_url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[scheme_end..].find('/').map(|i| scheme_end + i).unwrap_or(base.len());
    let mut url = format!("{}/{name}", &base[..host_end]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}
