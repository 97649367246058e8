//! Typed storage errors. The server maps `Conflict` to 409, `NotFound` to 404, `Duplicate`
//! to 409, `InsufficientStock` to 409 and `Invalid` to 400; `Db` and `Migrate` are logged and
//! shown as "something went wrong".

/// What can go wrong in a storage call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Someone else changed the row since it was read (optimistic version check), or a
    /// concurrent transaction won a race the database resolved (deadlock, serialisation).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The row asked for does not exist, or a referenced row does not.
    #[error("not found: {0}")]
    NotFound(String),
    /// A row with the same unique key already exists.
    #[error("already exists: {0}")]
    Duplicate(String),
    /// Dispensing would take inventory below zero.
    #[error("not enough stock of {product} lot {lot}: {on_hand} on hand, {requested} requested")]
    InsufficientStock {
        /// Product code.
        product: String,
        /// Lot number.
        lot: String,
        /// Quantity on hand now.
        on_hand: i64,
        /// Quantity asked for.
        requested: i64,
    },
    /// A value the database or this crate refuses (a `CHECK` constraint, a timestamp finer
    /// than a microsecond, an unrecognised connection string).
    #[error("invalid: {0}")]
    Invalid(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Db(#[source] sqlx::Error),
    /// Running the embedded migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<sqlx::Error> for Error {
    /// Classifies constraint violations so callers never have to inspect SQLSTATE codes.
    fn from(error: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        if let sqlx::Error::Database(db) = &error {
            let message = db.message().to_owned();
            match db.kind() {
                ErrorKind::UniqueViolation => return Error::Duplicate(message),
                ErrorKind::ForeignKeyViolation => return Error::NotFound(format!("referenced row: {message}")),
                ErrorKind::CheckViolation | ErrorKind::NotNullViolation => return Error::Invalid(message),
                _ => {}
            }
            // PostgreSQL: serialization_failure, deadlock_detected, lock_not_available.
            if let Some("40001" | "40P01" | "55P03") = db.code().as_deref() {
                return Error::Conflict(format!("concurrent change, retry: {message}"));
            }
        }
        Error::Db(error)
    }
}
