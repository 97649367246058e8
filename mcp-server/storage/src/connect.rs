//! Connecting, migrating and beginning transactions.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool};

use crate::error::{Error, Result};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Pool settings. `Default` suits one server process; lower `max_connections` when many
/// processes share one PostgreSQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageConfig {
    /// Pool size (PostgreSQL: connections per process; SQLite: readers plus the one writer).
    pub max_connections: u32,
    /// How long a SQLite writer waits for the write lock before giving up.
    pub sqlite_busy_timeout: Duration,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig { max_connections: 8, sqlite_busy_timeout: Duration::from_secs(30) }
    }
}

/// Which database a [`Storage`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file (the default).
    Sqlite,
    /// PostgreSQL server (scale-out: several processes on one database).
    Postgres,
}

#[derive(Debug, Clone)]
enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A migrated database. Cheap to clone (it is a pool handle); share one per process.
#[derive(Debug, Clone)]
pub struct Storage {
    db: Db,
}

pub(crate) enum TxInner {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

/// One database transaction. All repository functions are methods on it. Dropped without
/// [`Tx::commit`], it rolls back.
pub struct Tx {
    pub(crate) inner: TxInner,
    now: DateTime<Utc>,
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx").field("backend", &self.backend()).field("now", &self.now).finish()
    }
}

/// Drops sub-microsecond precision, which PostgreSQL would drop on storage anyway; hashed
/// timestamps must be truncated before they are hashed so the hash still matches on reload.
pub fn truncate_to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

pub(crate) fn check_micros(at: DateTime<Utc>, what: &str) -> Result<()> {
    if truncate_to_micros(at) != at {
        return Err(Error::Invalid(format!("{what} has sub-microsecond precision; use truncate_to_micros")));
    }
    Ok(())
}

impl Storage {
    /// Opens (creating if needed) and migrates a database.
    ///
    /// `target` is a `postgres://` / `postgresql://` URL, a `sqlite:` URL, or the path of a
    /// SQLite file. A missing SQLite file is created; a missing parent directory is an error.
    /// Several processes may connect and migrate at once: on PostgreSQL sqlx serialises
    /// migrations with an advisory lock.
    pub async fn connect(target: &str) -> Result<Storage> {
        Storage::connect_with(target, &StorageConfig::default()).await
    }

    /// [`Storage::connect`] with explicit pool settings.
    pub async fn connect_with(target: &str, config: &StorageConfig) -> Result<Storage> {
        let storage = if target.starts_with("postgres://") || target.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(target).map_err(|e| Error::Invalid(format!("{e}")))?;
            let pool = PgPoolOptions::new().max_connections(config.max_connections).connect_with(options).await?;
            POSTGRES_MIGRATIONS.run(&pool).await?;
            Storage { db: Db::Postgres(pool) }
        } else {
            let options = if target.starts_with("sqlite:") {
                SqliteConnectOptions::from_str(target).map_err(|e| Error::Invalid(format!("{e}")))?
            } else {
                SqliteConnectOptions::new().filename(target)
            };
            let options = options
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(config.sqlite_busy_timeout);
            let pool = SqlitePoolOptions::new().max_connections(config.max_connections).connect_with(options).await?;
            SQLITE_MIGRATIONS.run(&pool).await?;
            Storage { db: Db::Sqlite(pool) }
        };
        Ok(storage)
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Begins a transaction for reading and writing. On SQLite it takes the write lock at
    /// once (`BEGIN IMMEDIATE`), so writers queue instead of failing with `SQLITE_BUSY`.
    pub async fn begin(&self) -> Result<Tx> {
        let inner = match &self.db {
            Db::Sqlite(pool) => TxInner::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => TxInner::Postgres(pool.begin().await?),
        };
        Ok(Tx { inner, now: truncate_to_micros(Utc::now()) })
    }

    /// Begins a transaction that only reads. On SQLite it takes no write lock, so reads run
    /// beside a writer (WAL); a write in it may fail with `SQLITE_BUSY`, so use [`Storage::begin`]
    /// for anything that writes.
    pub async fn begin_read(&self) -> Result<Tx> {
        let inner = match &self.db {
            Db::Sqlite(pool) => TxInner::Sqlite(pool.begin().await?),
            Db::Postgres(pool) => TxInner::Postgres(pool.begin().await?),
        };
        Ok(Tx { inner, now: truncate_to_micros(Utc::now()) })
    }

    /// Checks the database answers (for `/healthz`).
    pub async fn ping(&self) -> Result<()> {
        match &self.db {
            Db::Sqlite(pool) => {
                sqlx::query("SELECT 1").execute(pool).await?;
            }
            Db::Postgres(pool) => {
                sqlx::query("SELECT 1").execute(pool).await?;
            }
        }
        Ok(())
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

impl Tx {
    /// Which backend this transaction runs on.
    pub fn backend(&self) -> Backend {
        match self.inner {
            TxInner::Sqlite(_) => Backend::Sqlite,
            TxInner::Postgres(_) => Backend::Postgres,
        }
    }

    /// The transaction's clock reading (taken at `begin`, whole microseconds), used for the
    /// `created_at`/`updated_at` columns it writes. Use it for the audit entry's `at` too.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Runs SQL text with no parameters (test helpers only: the public API never builds SQL
    /// from strings).
    #[cfg(feature = "test-util")]
    pub(crate) async fn execute_raw(&mut self, sql: String) -> Result<()> {
        match &mut self.inner {
            TxInner::Sqlite(t) => {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut **t).await?;
            }
            TxInner::Postgres(t) => {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut **t).await?;
            }
        }
        Ok(())
    }

    /// Commits.
    pub async fn commit(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(t) => t.commit().await?,
            TxInner::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Rolls back (dropping the `Tx` does the same, without waiting).
    pub async fn rollback(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(t) => t.rollback().await?,
            TxInner::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }
}
