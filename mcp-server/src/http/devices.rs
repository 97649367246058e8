//! The counter devices' side of the REST API (issue 8).
//!
//! | route | role | what |
//! |---|---|---|
//! | `POST /pharmacy/{rx_id}/scan-station` | pharmacist | arms a line for a workstation's scanner (audited) |
//! | `POST /devices/scans` | device | a scan from the token's workstation: dispenses the armed line if the pack matches |
//! | `GET /devices/print-jobs` | device | the workstation's queued labels |
//! | `POST /devices/print-jobs/{id}/status` | device | what became of a label |
//!
//! A device token's `sub` is its workstation id: a device only ever scans for, and prints
//! for, its own counter. A scan runs the same path as a pharmacist's REST dispense
//! ([`crate::dispense`]): the device records the scan, the pharmacist who armed the line
//! dispenses it, each audited under their own name.
//!
//! Scans are idempotent per `scan_id`: every definite answer (dispensed, mismatch, no armed
//! line, refused) is stored with the scan, and the same `scan_id` posted again is answered
//! exactly that, with `duplicate: true`, and changes nothing. Answers that are not
//! definite (a conflict with a concurrent change, an internal error) are not stored, so
//! the agent's retry runs the scan again.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rxgate_guardrails::{LineStatus, Role};
use rxgate_storage::{NewDeviceScan, PrintJob, PrintStatus, ScanOutcome, Tx};
use serde_json::{Value, json};

use super::middleware::{Caller, CorrelationId};
use super::{AppError, AppState};
use crate::audit::{self, AuditContext, AuditEvent};
use crate::auth::Principal;
use crate::dispense::{self, Actors, Outcome, ScanRequest};
use crate::workflow;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ArmBody {
    line_no: u32,
    quantity: u32,
    /// The workstation whose scanner will scan this line (its device token's `sub`).
    workstation: String,
}

/// A workstation id: what `rxgate token --role device --sub …` was given. Kept to a plain
/// alphabet so it reads the same in logs, audit entries and file names.
fn check_workstation(workstation: &str) -> Result<(), AppError> {
    let ok = !workstation.is_empty()
        && workstation.len() <= 64
        && workstation.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(AppError::bad_request(format!(
            "`workstation`: `{workstation}` is not a workstation id (A-Z a-z 0-9 - _ ., at most 64)"
        )))
    }
}

/// `POST /api/v1/pharmacy/{rx_id}/scan-station`: the next scan at `workstation` is checked
/// against this line and, if it matches, hands over `quantity` in this pharmacist's name.
/// Only a line that is approved (or substituted) and not yet dispensed can be armed.
pub(super) async fn arm(
    State(app): State<AppState>,
    Caller(principal): Caller,
    CorrelationId(correlation_id): CorrelationId,
    Path(rx_id): Path<String>,
    Json(body): Json<ArmBody>,
) -> Result<Json<Value>, AppError> {
    let rx_id = workflow::parse_rx_id(&rx_id)?;
    check_workstation(&body.workstation)?;
    if body.quantity == 0 {
        return Err(AppError::bad_request("`quantity` must be positive"));
    }
    let snapshot = app.knowledge.current();
    let mut tx = app.storage.begin().await?;
    let loaded = workflow::load(&mut tx, &snapshot, rx_id).await?;
    let line = loaded
        .state
        .line(body.line_no)
        .ok_or_else(|| AppError::NotFound { message: format!("prescription {rx_id} has no line {}", body.line_no) })?;
    if !matches!(line.status, LineStatus::Approved | LineStatus::Substituted | LineStatus::BarcodeScan) {
        return Err(AppError::Rejected {
            code: "line_not_ready",
            message: format!(
                "line {} is {}: only an approved line that is not yet dispensed can be armed for a scanner",
                body.line_no,
                line.status.as_str()
            ),
            details: None,
        });
    }
    let expected = line.drug_to_dispense().generic.clone();
    let station = tx
        .arm_scan_station(
            &body.workstation,
            rx_id,
            i64::from(body.line_no),
            i64::from(body.quantity),
            &principal.subject,
        )
        .await?;
    let ctx = AuditContext { principal: &principal, correlation_id: &correlation_id };
    let event = AuditEvent {
        action: "scan_station_armed",
        rx_id: Some(rx_id.to_string()),
        line_no: Some(body.line_no),
        before: String::new(),
        after: json!({"workstation": station.workstation, "quantity": station.quantity, "expected": expected})
            .to_string(),
    };
    audit::append(&mut tx, &ctx, event).await?;
    tx.commit().await?;
    Ok(Json(json!({
        "workstation": station.workstation,
        "rx_id": station.rx_id,
        "line_no": station.line_no,
        "quantity": station.quantity,
        "expected": expected,
        "armed_by": station.armed_by,
        "armed_at": station.armed_at,
    })))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScanBody {
    /// The agent's id for this scan (a UUID): the same id is the same scan.
    scan_id: String,
    /// The decoded scan: a GS1 element string with FNC1/GS, optionally AIM-prefixed.
    scan: String,
    /// When the device read it (RFC 3339).
    scanned_at: String,
}

fn check_scan_id(scan_id: &str) -> Result<(), AppError> {
    let ok = (8..=64).contains(&scan_id.len()) && scan_id.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    if ok { Ok(()) } else { Err(AppError::bad_request(format!("`scan_id`: `{scan_id}` is not a UUID"))) }
}

/// An answer as stored and sent.
struct Answer {
    status: StatusCode,
    outcome: ScanOutcome,
    body: Value,
    line: Option<(i64, i64)>,
}

impl Answer {
    fn into_response(self, duplicate: bool) -> Response {
        let mut body = self.body;
        body["duplicate"] = json!(duplicate);
        (self.status, Json(body)).into_response()
    }
}

/// An error response as the JSON body it renders to.
async fn error_body(error: AppError) -> (StatusCode, Value) {
    let response = error.into_response();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024).await.unwrap_or_default();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Stores the scan with its answer and the device's audit entry, in `tx` (not committed).
async fn record(
    tx: &mut Tx,
    device: &Principal,
    correlation_id: &str,
    body: &ScanBody,
    scanned_at: chrono::DateTime<chrono::Utc>,
    answer: &Answer,
) -> Result<(), AppError> {
    let mut response = answer.body.clone();
    response["duplicate"] = json!(false);
    tx.insert_device_scan(&NewDeviceScan {
        scan_id: body.scan_id.clone(),
        workstation: device.subject.clone(),
        scan: body.scan.clone(),
        scanned_at,
        rx_id: answer.line.map(|l| l.0),
        line_no: answer.line.map(|l| l.1),
        outcome: answer.outcome,
        http_status: i64::from(answer.status.as_u16()),
        response,
    })
    .await?;
    let ctx = AuditContext { principal: device, correlation_id };
    let event = AuditEvent {
        action: "device_scan_recorded",
        rx_id: answer.line.map(|l| l.0.to_string()),
        line_no: answer.line.and_then(|l| u32::try_from(l.1).ok()),
        before: String::new(),
        after: json!({"scan_id": body.scan_id, "workstation": device.subject, "outcome": answer.outcome.as_str()})
            .to_string(),
    };
    audit::append(tx, &ctx, event).await?;
    Ok(())
}

/// `POST /api/v1/devices/scans`: `{scan_id, scan, scanned_at}` from the workstation in the
/// token's `sub`. Answers `{outcome, problems, duplicate, …}`: 200 `dispensed`, 409
/// `mismatch` (recorded, nothing handed over), 409 `no_armed_line`, or the gate's refusal
/// with `outcome: "refused"`.
pub(super) async fn scan(
    State(app): State<AppState>,
    Caller(device): Caller,
    CorrelationId(correlation_id): CorrelationId,
    Json(body): Json<ScanBody>,
) -> Result<Response, AppError> {
    check_scan_id(&body.scan_id)?;
    if body.scan.is_empty() || body.scan.len() > 512 {
        return Err(AppError::bad_request("`scan` must hold 1 to 512 characters"));
    }
    let scanned_at = chrono::DateTime::parse_from_rfc3339(&body.scanned_at)
        .map_err(|e| AppError::bad_request(format!("`scanned_at`: {e} (RFC 3339 expected)")))?
        .with_timezone(&chrono::Utc);
    let workstation = device.subject.clone();

    let mut tx = app.storage.begin().await?;
    if let Some(previous) = tx.get_device_scan(&body.scan_id).await? {
        if previous.workstation != workstation {
            return Err(AppError::Conflict {
                message: format!("scan_id {} was recorded from another workstation", body.scan_id),
            });
        }
        let status = u16::try_from(previous.http_status).ok().and_then(|s| StatusCode::from_u16(s).ok());
        let mut answer = previous.response;
        answer["duplicate"] = json!(true);
        return Ok((status.unwrap_or(StatusCode::OK), Json(answer)).into_response());
    }

    let Some(station) = tx.armed_line(&workstation).await? else {
        let answer = Answer {
            status: StatusCode::CONFLICT,
            outcome: ScanOutcome::NoArmedLine,
            body: json!({
                "scan_id": body.scan_id,
                "outcome": "no_armed_line",
                "problems": [],
                "error": {"code": "no_armed_line",
                          "message": format!("no line is armed at workstation {workstation}: arm one in the console first")},
            }),
            line: None,
        };
        record(&mut tx, &device, &correlation_id, &body, scanned_at, &answer).await?;
        tx.commit().await?;
        return Ok(answer.into_response(false));
    };

    let line_no = u32::try_from(station.line_no).map_err(|_| AppError::bad_request("armed line out of range"))?;
    let quantity = u32::try_from(station.quantity).map_err(|_| AppError::bad_request("armed quantity out of range"))?;
    let pharmacist = Principal::new(station.armed_by.clone(), Role::Pharmacist);
    let request = ScanRequest {
        rx_id: station.rx_id,
        line_no,
        barcode: &body.scan,
        quantity,
        idempotency_key: format!("device-scan:{}", body.scan_id),
        device: Some(&workstation),
    };
    let actors = Actors { scanned_by: &device, dispensed_by: &pharmacist, correlation_id: &correlation_id };
    let line = Some((station.rx_id, station.line_no));
    let snapshot = app.knowledge.current();
    match dispense::scan_and_dispense(tx, &snapshot, &request, actors).await {
        Ok(mut pending) => {
            let answer = match &pending.outcome {
                Outcome::Dispensed { replayed, dispense, barcode, prescription } => {
                    // Handed over: the next scan at this counter needs a new line.
                    pending.tx.disarm_scan_station(&workstation).await?;
                    Answer {
                        status: StatusCode::OK,
                        outcome: ScanOutcome::Dispensed,
                        body: json!({
                            "scan_id": body.scan_id,
                            "outcome": "dispensed",
                            "problems": [],
                            "rx_id": station.rx_id,
                            "line_no": station.line_no,
                            "dispensed_by": station.armed_by,
                            "replayed": replayed,
                            "dispense": dispense,
                            "barcode": barcode,
                            "prescription": prescription,
                        }),
                        line,
                    }
                }
                Outcome::Mismatch { scan_id, message, problems, barcode } => Answer {
                    status: StatusCode::CONFLICT,
                    outcome: ScanOutcome::Mismatch,
                    body: json!({
                        "scan_id": body.scan_id,
                        "outcome": "mismatch",
                        "problems": problems,
                        "rx_id": station.rx_id,
                        "line_no": station.line_no,
                        "barcode_scan_id": scan_id,
                        "barcode": barcode,
                        "error": {"code": "barcode_mismatch", "message": message},
                    }),
                    line,
                },
            };
            // The scan row and the device's audit entry join the gate's entries in one commit.
            record(&mut pending.tx, &device, &correlation_id, &body, scanned_at, &answer).await?;
            pending.commit().await?;
            Ok(answer.into_response(false))
        }
        // What the gate or the stock says is a definite answer: recorded, replayed as is.
        Err(error @ (AppError::Refused(_) | AppError::Rejected { .. } | AppError::BadRequest { .. })) => {
            let (status, rendered) = error_body(error).await;
            let answer = Answer {
                status,
                outcome: ScanOutcome::Refused,
                body: json!({
                    "scan_id": body.scan_id,
                    "outcome": "refused",
                    "problems": [],
                    "rx_id": station.rx_id,
                    "line_no": station.line_no,
                    "error": rendered["error"],
                }),
                line,
            };
            let mut tx = app.storage.begin().await?;
            record(&mut tx, &device, &correlation_id, &body, scanned_at, &answer).await?;
            tx.commit().await?;
            Ok(answer.into_response(false))
        }
        Err(other) => Err(other),
    }
}

fn job_json(job: &PrintJob) -> Value {
    json!({
        "id": job.id,
        "workstation": job.workstation,
        "rx_id": job.rx_id,
        "line_no": job.line_no,
        "zpl": job.zpl,
        "status": job.status,
        "detail": job.detail,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
    })
}

/// `GET /api/v1/devices/print-jobs`: the labels queued for the caller's workstation,
/// oldest first.
pub(super) async fn print_jobs(State(app): State<AppState>, Caller(device): Caller) -> Result<Json<Value>, AppError> {
    let mut tx = app.storage.begin_read().await?;
    let jobs = tx.queued_print_jobs(&device.subject).await?;
    drop(tx);
    Ok(Json(json!({"workstation": device.subject, "jobs": jobs.iter().map(job_json).collect::<Vec<_>>()})))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct JobStatusBody {
    /// `printed`, `fallback_pdf` or `failed`.
    status: String,
    detail: Option<String>,
}

/// `POST /api/v1/devices/print-jobs/{id}/status`: what became of a label. Only the
/// workstation the job was queued for may report on it (another's is 404). Audited.
pub(super) async fn print_job_status(
    State(app): State<AppState>,
    Caller(device): Caller,
    CorrelationId(correlation_id): CorrelationId,
    Path(id): Path<String>,
    Json(body): Json<JobStatusBody>,
) -> Result<Json<Value>, AppError> {
    let id = id.parse::<i64>().map_err(|_| AppError::NotFound { message: format!("no print job `{id}`") })?;
    let status = PrintStatus::parse(&body.status).filter(|s| *s != PrintStatus::Queued).ok_or_else(|| {
        AppError::bad_request(format!("`status`: `{}` is not one of printed, fallback_pdf, failed", body.status))
    })?;
    let mut tx = app.storage.begin().await?;
    let before = tx.get_print_job(id).await.ok().filter(|j| j.workstation == device.subject);
    let job = tx.set_print_job_status(id, &device.subject, status, body.detail.as_deref()).await?;
    let ctx = AuditContext { principal: &device, correlation_id: &correlation_id };
    let event = AuditEvent {
        action: "print_job_reported",
        rx_id: Some(job.rx_id.to_string()),
        line_no: job.line_no.and_then(|n| u32::try_from(n).ok()),
        before: before.map(|j| json!({"job": j.id, "status": j.status}).to_string()).unwrap_or_default(),
        after: json!({"job": job.id, "status": job.status, "detail": job.detail}).to_string(),
    };
    audit::append(&mut tx, &ctx, event).await?;
    tx.commit().await?;
    Ok(Json(job_json(&job)))
}
