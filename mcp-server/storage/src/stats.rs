//! What the pharmacist's console shows at the bottom of the screen: how each prescription
//! moved from received to handed over. Plain rows; the server decides what "today" is.

use chrono::{DateTime, Utc};

use crate::connect::Tx;
use crate::error::Result;

/// One prescription's timing.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RxTiming {
    /// Prescription id.
    pub rx_id: i64,
    /// Current state.
    pub status: String,
    /// When it was received.
    pub created_at: DateTime<Utc>,
    /// When its last line was handed over; `None` while nothing was dispensed.
    pub last_dispensed_at: Option<DateTime<Utc>>,
}

impl Tx {
    /// Every prescription received since `since`, or with a dispense since `since`, with its
    /// timing, by id.
    pub async fn rx_timings_since(&mut self, since: DateTime<Utc>) -> Result<Vec<RxTiming>> {
        // Both backends compare their own timestamp type with the bound value; the
        // HAVING keeps a prescription received yesterday and handed over today.
        let found = on_conn!(self, |c| {
            sqlx::query_as::<_, RxTiming>(
                "SELECT p.id AS rx_id, p.status, p.created_at, MAX(d.at) AS last_dispensed_at \
                 FROM prescriptions p LEFT JOIN dispense_log d ON d.rx_id = p.id \
                 GROUP BY p.id, p.status, p.created_at \
                 HAVING p.created_at >= $1 OR MAX(d.at) >= $1 \
                 ORDER BY p.id",
            )
            .bind(since)
            .fetch_all(c)
            .await
        })?;
        Ok(found)
    }

    /// How many prescriptions are in each of `statuses` (awaiting a pharmacist, say).
    pub async fn count_prescriptions_in(&mut self, statuses: &[&str]) -> Result<i64> {
        let mut total = 0;
        for status in statuses {
            let (n,) = on_conn!(self, |c| {
                sqlx::query_as::<_, (i64,)>("SELECT COUNT(*) FROM prescriptions WHERE status = $1")
                    .bind(*status)
                    .fetch_one(c)
                    .await
            })?;
            total += n;
        }
        Ok(total)
    }
}
