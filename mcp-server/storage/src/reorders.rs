//! Stock reorder requests.

use chrono::{DateTime, Utc};

use crate::connect::Tx;
use crate::error::{Error, Result};

/// A reorder to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReorder {
    /// Product code.
    pub product: String,
    /// Packs or units asked for (> 0).
    pub quantity: i64,
    /// Why (free text, or the computed "at or below reorder level").
    pub reason: String,
    /// Usable stock when it was asked for.
    pub on_hand: i64,
    /// Who asked.
    pub requested_by: String,
}

/// A stored reorder request.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Reorder {
    /// Surrogate id.
    pub id: i64,
    /// Product code.
    pub product: String,
    /// Quantity asked for.
    pub quantity: i64,
    /// Why.
    pub reason: String,
    /// Usable stock when it was asked for.
    pub on_hand: i64,
    /// `requested`, `received` or `cancelled`.
    pub status: String,
    /// Who asked.
    pub requested_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl Tx {
    /// Records a reorder request.
    pub async fn insert_reorder(&mut self, new: &NewReorder) -> Result<Reorder> {
        if new.quantity <= 0 {
            return Err(Error::Invalid(format!("reorder quantity must be positive, not {}", new.quantity)));
        }
        let now = self.now();
        let stored = on_conn!(self, |c| {
            sqlx::query_as::<_, Reorder>(
                "INSERT INTO reorders (product, quantity, reason, on_hand, requested_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
            )
            .bind(&new.product)
            .bind(new.quantity)
            .bind(&new.reason)
            .bind(new.on_hand)
            .bind(&new.requested_by)
            .bind(now)
            .fetch_one(c)
            .await
        })?;
        Ok(stored)
    }

    /// Open (requested, not yet received) reorders of a product, oldest first.
    pub async fn open_reorders(&mut self, product: &str) -> Result<Vec<Reorder>> {
        let found = on_conn!(self, |c| {
            sqlx::query_as::<_, Reorder>(
                "SELECT * FROM reorders WHERE product = $1 AND status = 'requested' ORDER BY id",
            )
            .bind(product)
            .fetch_all(c)
            .await
        })?;
        Ok(found)
    }
}
