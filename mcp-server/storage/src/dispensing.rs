//! Barcode scans, inventory and the dispense log.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::types::Json;

use crate::connect::Tx;
use crate::error::{Error, Result};

/// A barcode scan to record (matched or not: failed scans are evidence too).
#[derive(Debug, Clone, PartialEq)]
pub struct NewBarcodeScan {
    /// Prescription id.
    pub rx_id: i64,
    /// Line number.
    pub line_no: i64,
    /// The scanned element string, as received.
    pub scan: String,
    /// Whether it matched the line.
    pub matched: bool,
    /// Problem codes from `barcode_verify` (`wrong_product`, `expired`, …).
    pub problems: Vec<String>,
    /// The scanning device, if known.
    pub device: Option<String>,
}

/// A stored barcode scan.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct BarcodeScan {
    /// Surrogate id (what a line's `barcode_scan_id` points at).
    pub id: i64,
    /// Prescription id.
    pub rx_id: i64,
    /// Line number.
    pub line_no: i64,
    /// The scanned element string.
    pub scan: String,
    /// Whether it matched.
    pub matched: bool,
    /// Problem codes.
    #[sqlx(json)]
    pub problems: Vec<String>,
    /// The scanning device.
    pub device: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// One lot of one product in stock.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct InventoryLot {
    /// Product code.
    pub product: String,
    /// Lot number.
    pub lot: String,
    /// Expiry date.
    pub expiry: Option<NaiveDate>,
    /// Units on hand (never negative).
    pub qty_on_hand: i64,
    /// Reorder when `qty_on_hand` is at or below this.
    pub reorder_level: i64,
    /// When it last changed (ignored on seeding).
    pub updated_at: DateTime<Utc>,
}

/// A dispense to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDispense {
    /// Client-chosen key; the same key always means the same dispense.
    pub idempotency_key: String,
    /// Prescription id.
    pub rx_id: i64,
    /// Line number.
    pub line_no: i64,
    /// Product code taken from stock.
    pub product: String,
    /// Lot taken from.
    pub lot: String,
    /// Units dispensed (positive).
    pub quantity: i64,
    /// Who dispensed.
    pub dispensed_by: String,
}

/// A stored dispense.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DispenseRecord {
    /// Surrogate id.
    pub id: i64,
    /// Prescription id.
    pub rx_id: i64,
    /// Line number.
    pub line_no: i64,
    /// Product code.
    pub product: String,
    /// Lot.
    pub lot: String,
    /// Units dispensed.
    pub quantity: i64,
    /// The idempotency key it was recorded under.
    pub idempotency_key: String,
    /// Who dispensed.
    pub dispensed_by: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// What [`Tx::dispense`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DispenseOutcome {
    /// Recorded now, and inventory decremented: audit it and commit.
    Recorded(DispenseRecord),
    /// A dispense with this key was already recorded; nothing changed. Reply with the
    /// original record.
    Replayed(DispenseRecord),
}

impl DispenseOutcome {
    /// The dispense record, new or original.
    pub fn record(&self) -> &DispenseRecord {
        match self {
            DispenseOutcome::Recorded(record) | DispenseOutcome::Replayed(record) => record,
        }
    }
}

impl Tx {
    /// Records a barcode scan.
    pub async fn insert_barcode_scan(&mut self, new: &NewBarcodeScan) -> Result<BarcodeScan> {
        let now = self.now();
        let stored = on_conn!(self, |c| {
            sqlx::query_as::<_, BarcodeScan>(
                "INSERT INTO barcode_scans (rx_id, line_no, scan, matched, problems, device, at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
            )
            .bind(new.rx_id)
            .bind(new.line_no)
            .bind(&new.scan)
            .bind(new.matched)
            .bind(Json(&new.problems))
            .bind(&new.device)
            .bind(now)
            .fetch_one(c)
            .await
        })?;
        Ok(stored)
    }

    /// The barcode scan with this id.
    pub async fn get_barcode_scan(&mut self, id: i64) -> Result<BarcodeScan> {
        let found = on_conn!(self, |c| {
            sqlx::query_as::<_, BarcodeScan>("SELECT * FROM barcode_scans WHERE id = $1")
                .bind(id)
                .fetch_optional(c)
                .await
        })?;
        found.ok_or_else(|| Error::NotFound(format!("barcode scan {id}")))
    }

    /// Adds a lot to inventory if it is not there yet, and leaves an existing lot alone, so
    /// seeding from the knowledge registry at every start-up never resets stock that has
    /// been dispensed. Returns whether it was added.
    pub async fn seed_inventory(&mut self, lot: &InventoryLot) -> Result<bool> {
        let now = self.now();
        let done = on_conn!(self, |c| {
            sqlx::query(
                "INSERT INTO inventory (product, lot, expiry, qty_on_hand, reorder_level, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (product, lot) DO NOTHING",
            )
            .bind(&lot.product)
            .bind(&lot.lot)
            .bind(lot.expiry)
            .bind(lot.qty_on_hand)
            .bind(lot.reorder_level)
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// Lots in stock, by product then expiry; with `product`, only that product's.
    pub async fn list_inventory(&mut self, product: Option<&str>) -> Result<Vec<InventoryLot>> {
        let found = on_conn!(self, |c| {
            sqlx::query_as::<_, InventoryLot>(
                "SELECT * FROM inventory WHERE ($1 IS NULL OR product = $1) ORDER BY product, expiry, lot",
            )
            .bind(product)
            .fetch_all(c)
            .await
        })?;
        Ok(found)
    }

    /// One lot.
    pub async fn get_inventory_lot(&mut self, product: &str, lot: &str) -> Result<InventoryLot> {
        let found = on_conn!(self, |c| {
            sqlx::query_as::<_, InventoryLot>("SELECT * FROM inventory WHERE product = $1 AND lot = $2")
                .bind(product)
                .bind(lot)
                .fetch_optional(c)
                .await
        })?;
        found.ok_or_else(|| Error::NotFound(format!("inventory {product} lot {lot}")))
    }

    /// Adds received stock to a lot (a reorder arriving); creates the lot if new.
    pub async fn receive_stock(
        &mut self,
        product: &str,
        lot: &str,
        expiry: Option<NaiveDate>,
        quantity: i64,
    ) -> Result<InventoryLot> {
        if quantity <= 0 {
            return Err(Error::Invalid(format!("received quantity must be positive, not {quantity}")));
        }
        let now = self.now();
        let stored = on_conn!(self, |c| {
            sqlx::query_as::<_, InventoryLot>(
                "INSERT INTO inventory (product, lot, expiry, qty_on_hand, reorder_level, updated_at) \
                 VALUES ($1, $2, $3, $4, 0, $5) \
                 ON CONFLICT (product, lot) DO UPDATE SET qty_on_hand = inventory.qty_on_hand + excluded.qty_on_hand, \
                 updated_at = excluded.updated_at RETURNING *",
            )
            .bind(product)
            .bind(lot)
            .bind(expiry)
            .bind(quantity)
            .bind(now)
            .fetch_one(c)
            .await
        })?;
        Ok(stored)
    }

    /// Records a dispense once per idempotency key and takes it out of stock, in this
    /// transaction.
    ///
    /// A retry with the same key and the same request returns
    /// [`DispenseOutcome::Replayed`] with the original record and changes nothing, also when
    /// the retries race each other from several processes. The same key with a different
    /// request is [`Error::Conflict`]. Stock that would go below zero is
    /// [`Error::InsufficientStock`]; an unknown lot is [`Error::NotFound`]. On any error,
    /// roll the transaction back.
    pub async fn dispense(&mut self, new: &NewDispense) -> Result<DispenseOutcome> {
        if new.quantity <= 0 {
            return Err(Error::Invalid(format!("dispensed quantity must be positive, not {}", new.quantity)));
        }
        if let Some(existing) = self.get_dispense_by_key(&new.idempotency_key).await? {
            return replay(new, existing);
        }
        // Insert first: on PostgreSQL a concurrent insert of the same key makes this wait for
        // the other transaction and then do nothing, so only one of them touches inventory.
        let now = self.now();
        let inserted = on_conn!(self, |c| {
            sqlx::query_as::<_, DispenseRecord>(
                "INSERT INTO dispense_log (rx_id, line_no, product, lot, quantity, idempotency_key, dispensed_by, at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (idempotency_key) DO NOTHING RETURNING *",
            )
            .bind(new.rx_id)
            .bind(new.line_no)
            .bind(&new.product)
            .bind(&new.lot)
            .bind(new.quantity)
            .bind(&new.idempotency_key)
            .bind(&new.dispensed_by)
            .bind(now)
            .fetch_optional(c)
            .await
        })?;
        let Some(record) = inserted else {
            let existing = self
                .get_dispense_by_key(&new.idempotency_key)
                .await?
                .ok_or_else(|| Error::Conflict(format!("dispense {} is being recorded; retry", new.idempotency_key)))?;
            return replay(new, existing);
        };
        let decremented = on_conn!(self, |c| {
            sqlx::query_scalar::<_, i64>(
                "UPDATE inventory SET qty_on_hand = qty_on_hand - $1, updated_at = $2 \
                 WHERE product = $3 AND lot = $4 AND qty_on_hand >= $1 RETURNING qty_on_hand",
            )
            .bind(new.quantity)
            .bind(now)
            .bind(&new.product)
            .bind(&new.lot)
            .fetch_optional(c)
            .await
        })?;
        if decremented.is_none() {
            let lot = self.get_inventory_lot(&new.product, &new.lot).await?;
            return Err(Error::InsufficientStock {
                product: new.product.clone(),
                lot: new.lot.clone(),
                on_hand: lot.qty_on_hand,
                requested: new.quantity,
            });
        }
        Ok(DispenseOutcome::Recorded(record))
    }

    /// The dispense recorded under this idempotency key, if any.
    pub async fn get_dispense_by_key(&mut self, idempotency_key: &str) -> Result<Option<DispenseRecord>> {
        let found = on_conn!(self, |c| {
            sqlx::query_as::<_, DispenseRecord>("SELECT * FROM dispense_log WHERE idempotency_key = $1")
                .bind(idempotency_key)
                .fetch_optional(c)
                .await
        })?;
        Ok(found)
    }

    /// Dispenses of a prescription, oldest first.
    pub async fn list_dispenses(&mut self, rx_id: i64) -> Result<Vec<DispenseRecord>> {
        let found = on_conn!(self, |c| {
            sqlx::query_as::<_, DispenseRecord>("SELECT * FROM dispense_log WHERE rx_id = $1 ORDER BY id")
                .bind(rx_id)
                .fetch_all(c)
                .await
        })?;
        Ok(found)
    }
}

fn replay(new: &NewDispense, existing: DispenseRecord) -> Result<DispenseOutcome> {
    let same = existing.rx_id == new.rx_id
        && existing.line_no == new.line_no
        && existing.product == new.product
        && existing.lot == new.lot
        && existing.quantity == new.quantity;
    if same {
        Ok(DispenseOutcome::Replayed(existing))
    } else {
        Err(Error::Conflict(format!(
            "idempotency key {} was used for a different dispense (prescription {} line {})",
            new.idempotency_key, existing.rx_id, existing.line_no
        )))
    }
}
