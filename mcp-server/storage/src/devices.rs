//! Counter devices (issue 8): the line armed at each workstation, the scans devices
//! posted (once per `scan_id`, with the answer given), and label print jobs.

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use crate::connect::Tx;
use crate::error::{Error, Result};

/// A line a pharmacist armed for the scanner of a workstation.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ScanStation {
    /// The workstation (the device token's `sub`).
    pub workstation: String,
    /// Prescription id.
    pub rx_id: i64,
    /// Line number.
    pub line_no: i64,
    /// Units to hand over when the scan matches.
    pub quantity: i64,
    /// The pharmacist who armed it; the dispense is theirs.
    pub armed_by: String,
    /// When.
    pub armed_at: DateTime<Utc>,
}

/// What a device scan led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanOutcome {
    /// The pack matched the armed line and was handed over.
    Dispensed,
    /// The pack did not match the armed line; recorded, nothing dispensed.
    Mismatch,
    /// Nothing was armed at the workstation.
    NoArmedLine,
    /// The gate refused the dispense (line not approved, already dispensed, …).
    Refused,
}

impl ScanOutcome {
    /// The stored and answered name.
    pub fn as_str(self) -> &'static str {
        match self {
            ScanOutcome::Dispensed => "dispensed",
            ScanOutcome::Mismatch => "mismatch",
            ScanOutcome::NoArmedLine => "no_armed_line",
            ScanOutcome::Refused => "refused",
        }
    }
}

/// A device scan and the answer it got, to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDeviceScan {
    /// The agent's id for the scan (a UUID); the same id is the same scan.
    pub scan_id: String,
    /// The workstation that sent it.
    pub workstation: String,
    /// The scanned text as received.
    pub scan: String,
    /// When the device read it (its clock).
    pub scanned_at: DateTime<Utc>,
    /// The armed line it was checked against, if any.
    pub rx_id: Option<i64>,
    /// The armed line's number.
    pub line_no: Option<i64>,
    /// What it led to.
    pub outcome: ScanOutcome,
    /// The HTTP status answered.
    pub http_status: i64,
    /// The JSON body answered, given again on a replay.
    pub response: serde_json::Value,
}

/// A recorded device scan.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DeviceScan {
    /// The agent's id for the scan.
    pub scan_id: String,
    /// The workstation.
    pub workstation: String,
    /// The scanned text.
    pub scan: String,
    /// When the device read it.
    pub scanned_at: DateTime<Utc>,
    /// When the server recorded it.
    pub received_at: DateTime<Utc>,
    /// The armed line's prescription.
    pub rx_id: Option<i64>,
    /// The armed line's number.
    pub line_no: Option<i64>,
    /// `dispensed`, `mismatch`, `no_armed_line` or `refused`.
    pub outcome: String,
    /// The HTTP status answered.
    pub http_status: i64,
    /// The JSON body answered.
    #[sqlx(json)]
    pub response: serde_json::Value,
}

/// What became of a print job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrintStatus {
    /// Waiting for the workstation's agent.
    Queued,
    /// The printer took it.
    Printed,
    /// The printer failed; the agent wrote a PDF to its spool folder instead.
    FallbackPdf,
    /// Neither worked.
    Failed,
}

impl PrintStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            PrintStatus::Queued => "queued",
            PrintStatus::Printed => "printed",
            PrintStatus::FallbackPdf => "fallback_pdf",
            PrintStatus::Failed => "failed",
        }
    }

    /// Parses a stored or posted name.
    pub fn parse(text: &str) -> Option<PrintStatus> {
        [PrintStatus::Queued, PrintStatus::Printed, PrintStatus::FallbackPdf, PrintStatus::Failed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A label print job.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PrintJob {
    /// Surrogate id.
    pub id: i64,
    /// The workstation whose printer should print it.
    pub workstation: String,
    /// Prescription id.
    pub rx_id: i64,
    /// Line number, when the label is for one line.
    pub line_no: Option<i64>,
    /// The label as ZPL.
    pub zpl: String,
    /// `queued`, `printed`, `fallback_pdf` or `failed`.
    pub status: String,
    /// What the agent said about it (printer address, PDF path, error).
    pub detail: Option<String>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When its status last changed.
    pub updated_at: DateTime<Utc>,
}

impl Tx {
    /// Arms a line for a workstation's scanner, replacing whatever was armed there.
    pub async fn arm_scan_station(
        &mut self,
        workstation: &str,
        rx_id: i64,
        line_no: i64,
        quantity: i64,
        armed_by: &str,
    ) -> Result<ScanStation> {
        if quantity <= 0 {
            return Err(Error::Invalid(format!("quantity must be positive, not {quantity}")));
        }
        let now = self.now();
        let stored = on_conn!(self, |c| {
            sqlx::query_as::<_, ScanStation>(
                "INSERT INTO scan_stations (workstation, rx_id, line_no, quantity, armed_by, armed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (workstation) DO UPDATE SET rx_id = excluded.rx_id, line_no = excluded.line_no, \
                 quantity = excluded.quantity, armed_by = excluded.armed_by, armed_at = excluded.armed_at \
                 RETURNING *",
            )
            .bind(workstation)
            .bind(rx_id)
            .bind(line_no)
            .bind(quantity)
            .bind(armed_by)
            .bind(now)
            .fetch_one(c)
            .await
        })?;
        Ok(stored)
    }

    /// The line armed at a workstation, if any.
    pub async fn armed_line(&mut self, workstation: &str) -> Result<Option<ScanStation>> {
        let found = on_conn!(self, |c| {
            sqlx::query_as::<_, ScanStation>("SELECT * FROM scan_stations WHERE workstation = $1")
                .bind(workstation)
                .fetch_optional(c)
                .await
        })?;
        Ok(found)
    }

    /// Disarms a workstation (after its line was dispensed). Returns whether it was armed.
    pub async fn disarm_scan_station(&mut self, workstation: &str) -> Result<bool> {
        let done = on_conn!(self, |c| {
            sqlx::query("DELETE FROM scan_stations WHERE workstation = $1")
                .bind(workstation)
                .execute(c)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// The recorded scan with this id, if any.
    pub async fn get_device_scan(&mut self, scan_id: &str) -> Result<Option<DeviceScan>> {
        let found = on_conn!(self, |c| {
            sqlx::query_as::<_, DeviceScan>("SELECT * FROM device_scans WHERE scan_id = $1")
                .bind(scan_id)
                .fetch_optional(c)
                .await
        })?;
        Ok(found)
    }

    /// Records a device scan and its answer; [`Error::Duplicate`] if the id was recorded
    /// (by a concurrent request: look it up first).
    pub async fn insert_device_scan(&mut self, new: &NewDeviceScan) -> Result<DeviceScan> {
        let now = self.now();
        let stored = on_conn!(self, |c| {
            sqlx::query_as::<_, DeviceScan>(
                "INSERT INTO device_scans (scan_id, workstation, scan, scanned_at, received_at, rx_id, line_no, \
                 outcome, http_status, response) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *",
            )
            .bind(&new.scan_id)
            .bind(&new.workstation)
            .bind(&new.scan)
            .bind(crate::truncate_to_micros(new.scanned_at))
            .bind(now)
            .bind(new.rx_id)
            .bind(new.line_no)
            .bind(new.outcome.as_str())
            .bind(new.http_status)
            .bind(Json(&new.response))
            .fetch_one(c)
            .await
        })
        .map_err(|e| match Error::from(e) {
            Error::Duplicate(_) => Error::Duplicate(format!("device scan {}", new.scan_id)),
            other => other,
        })?;
        Ok(stored)
    }

    /// A workstation's recorded scans, oldest first.
    pub async fn list_device_scans(&mut self, workstation: &str) -> Result<Vec<DeviceScan>> {
        let found = on_conn!(self, |c| {
            sqlx::query_as::<_, DeviceScan>(
                "SELECT * FROM device_scans WHERE workstation = $1 ORDER BY received_at, scan_id",
            )
            .bind(workstation)
            .fetch_all(c)
            .await
        })?;
        Ok(found)
    }

    /// Queues a label for a workstation's printer.
    pub async fn enqueue_print_job(
        &mut self,
        workstation: &str,
        rx_id: i64,
        line_no: Option<i64>,
        zpl: &str,
    ) -> Result<PrintJob> {
        let now = self.now();
        let stored = on_conn!(self, |c| {
            sqlx::query_as::<_, PrintJob>(
                "INSERT INTO print_jobs (workstation, rx_id, line_no, zpl, status, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, 'queued', $5, $5) RETURNING *",
            )
            .bind(workstation)
            .bind(rx_id)
            .bind(line_no)
            .bind(zpl)
            .bind(now)
            .fetch_one(c)
            .await
        })?;
        Ok(stored)
    }

    /// A workstation's queued print jobs, oldest first.
    pub async fn queued_print_jobs(&mut self, workstation: &str) -> Result<Vec<PrintJob>> {
        let found = on_conn!(self, |c| {
            sqlx::query_as::<_, PrintJob>(
                "SELECT * FROM print_jobs WHERE workstation = $1 AND status = 'queued' ORDER BY id",
            )
            .bind(workstation)
            .fetch_all(c)
            .await
        })?;
        Ok(found)
    }

    /// One print job.
    pub async fn get_print_job(&mut self, id: i64) -> Result<PrintJob> {
        let found = on_conn!(self, |c| {
            sqlx::query_as::<_, PrintJob>("SELECT * FROM print_jobs WHERE id = $1").bind(id).fetch_optional(c).await
        })?;
        found.ok_or_else(|| Error::NotFound(format!("print job {id}")))
    }

    /// Sets a print job's status. Only the job's own workstation may report on it, so the
    /// update is keyed by both; a job of another workstation is [`Error::NotFound`].
    pub async fn set_print_job_status(
        &mut self,
        id: i64,
        workstation: &str,
        status: PrintStatus,
        detail: Option<&str>,
    ) -> Result<PrintJob> {
        let now = self.now();
        let stored = on_conn!(self, |c| {
            sqlx::query_as::<_, PrintJob>(
                "UPDATE print_jobs SET status = $1, detail = $2, updated_at = $3 \
                 WHERE id = $4 AND workstation = $5 RETURNING *",
            )
            .bind(status.as_str())
            .bind(detail)
            .bind(now)
            .bind(id)
            .bind(workstation)
            .fetch_optional(c)
            .await
        })?;
        stored.ok_or_else(|| Error::NotFound(format!("print job {id} of workstation {workstation}")))
    }
}
