//! rxgate's storage: the only crate that talks SQL.
//!
//! Everything the server needs to remember lives here, in the database, so that several
//! `rxgate serve` processes on one PostgreSQL behave as one: there is no in-process state
//! to get out of step.
//!
//! # Backends
//!
//! [`Storage::connect`] takes a `postgres://…` URL or a SQLite file path (`sqlite:` URLs work
//! too). SQLite is embedded (bundled), opened in WAL mode with `foreign_keys=ON` and a busy
//! timeout. Each backend has its own migrations folder (`migrations/sqlite`,
//! `migrations/postgres`) with the same tables, columns, constraints and triggers; both are
//! embedded with `sqlx::migrate!` and run by `connect`.
//!
//! # Why an enum and not `sqlx::Any`
//!
//! The pool is `enum Db { Sqlite(SqlitePool), Postgres(PgPool) }`. `AnyPool` in sqlx 0.9
//! only carries the lowest common types (integers, floats, text, bytes): no JSON, no
//! `chrono`, no `DATE`/`TIMESTAMPTZ`, so every row would be decoded by hand from strings, and
//! it needs driver installation at start-up. The parts that must differ between backends are
//! small but important (`SELECT … FOR UPDATE` on PostgreSQL against `BEGIN IMMEDIATE` on
//! SQLite, identity columns, trigger syntax), and an enum states them in plain code. The cost
//! of the enum, writing each query twice, is avoided by a private macro that runs the *same*
//! SQL text and bind list against whichever connection is live; `FromRow` is derived
//! generically, so one row struct decodes from both. SQLite accepts PostgreSQL's `$1`
//! placeholders, `RETURNING` and `ON CONFLICT`, so almost every statement is shared.
//!
//! # Transactions and concurrency
//!
//! All repository functions are methods on [`Tx`], obtained from [`Storage::begin`]. A change
//! and its audit entry are written in the same `Tx` and commit together or not at all; a `Tx`
//! dropped without [`Tx::commit`] rolls back. After any error the transaction must be rolled
//! back (PostgreSQL refuses further statements in it anyway).
//!
//! - **Writers are serialised where they must be.** On SQLite `begin` issues
//!   `BEGIN IMMEDIATE`, so a writer takes the database write lock up front (waiting up to
//!   the busy timeout) instead of failing with `SQLITE_BUSY` when it upgrades. On PostgreSQL,
//!   [`Tx::append_audit`] locks the single `audit_head` row (`SELECT … FOR UPDATE`), which
//!   serialises audit appends across all processes until commit. Append the audit entry
//!   *last* in a transaction, after the rows it describes, so lock order is the same
//!   everywhere (data rows, then `audit_head`) and transactions cannot deadlock.
//! - **Optimistic versions.** Prescriptions and items carry `version`;
//!   [`Tx::update_prescription`] and [`Tx::update_item`] write only if the stored version is
//!   the one read (`UPDATE … WHERE version = $n`) and otherwise return [`Error::Conflict`].
//!   Two pharmacists approving the same line therefore cannot both win: the second update
//!   finds the version moved.
//! - **Idempotent dispense.** [`Tx::dispense`] records a dispense once per idempotency key
//!   (a unique column; `INSERT … ON CONFLICT DO NOTHING`) and decrements inventory in the
//!   same transaction; a retry returns the original record as
//!   [`DispenseOutcome::Replayed`] and changes nothing. Stock never goes below zero
//!   (a `CHECK` constraint and a guarded `UPDATE`).
//! - **Append-only audit.** There is no update or delete API for `audit_log`, and database
//!   triggers refuse `UPDATE`, `DELETE` (and on PostgreSQL `TRUNCATE`) on it, as well as any
//!   insert that does not continue `audit_head` exactly. The hash itself is computed by the
//!   caller (`rxgate-guardrails`), inside the closure given to [`Tx::append_audit`].
//!
//! # Timestamps
//!
//! Each `Tx` reads the clock once when it begins ([`Tx::now`], truncated to microseconds)
//! and stamps `created_at`/`updated_at` with it. Timestamps that the caller supplies and
//! that are hashed (the audit entry's `at`) must already be whole microseconds, because
//! PostgreSQL stores no finer; [`truncate_to_micros`] does that.

/// Runs one expression against whichever backend connection the transaction holds.
///
/// The body is type-checked once per backend, so the same SQL text and bind list serve both;
/// `$c` is bound to `&mut SqliteConnection` or `&mut PgConnection`.
macro_rules! on_conn {
    ($tx:expr, |$c:ident| $body:expr) => {
        match &mut $tx.inner {
            $crate::connect::TxInner::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::connect::TxInner::Postgres(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}

mod audit;
mod chemo;
mod clinical;
mod connect;
mod devices;
mod dispensing;
mod ehr;
mod error;
mod explanations;
mod interop;
mod patients;
mod prescriptions;
mod reorders;
mod stats;
#[cfg(feature = "test-util")]
pub mod testing;
mod users;

pub use audit::AuditRecord;
pub use chemo::{ChemoOrderRow, NewChemoOrder, RegimenPublication};
pub use clinical::{
    AdverseEvent, Alert, AlertKind, Approval, Counselling, NewAdverseEvent, NewAlert, NewApproval, NewCounselling,
    NewProposal, NewVerification, Proposal, Verification,
};
pub use connect::{Backend, Storage, StorageConfig, Tx, truncate_to_micros};
pub use devices::{DeviceScan, NewDeviceScan, PrintJob, PrintStatus, ScanOutcome, ScanStation};
pub use dispensing::{BarcodeScan, DispenseOutcome, DispenseRecord, InventoryLot, NewBarcodeScan, NewDispense};
pub use ehr::{DispenseReversal, ItemOrder};
pub use error::{Error, Result};
pub use explanations::{Explanation, NewExplanation, PutOutcome};
pub use interop::{CodeMapping, EventDelivery, EventFilter, InteropCounts, InteropEvent, NewInteropEvent};
pub use patients::{NewPatient, Patient};
pub use prescriptions::{NewItem, NewPrescription, Prescription, PrescriptionItem, QueueFilter};
pub use reorders::{NewReorder, Reorder};
pub use stats::RxTiming;
pub use users::User;
