//! `GET /api/v1/pharmacy/stats`: the console's bottom bar. Counts only, no patient data,
//! so the read is not audited.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Local, TimeZone, Utc};
use rxgate_guardrails::RxStatus;
use rxgate_storage::RxTiming;
use serde_json::{Value, json};

use crate::http::{AppError, AppState};

/// States in which a prescription waits for a pharmacist's decision.
const AWAITING_PHARMACIST: [RxStatus; 3] = [RxStatus::AlertsRaised, RxStatus::ReadyToDispense, RxStatus::HitlReview];
/// States past the hand-over.
const HANDED_OVER: [RxStatus; 3] = [RxStatus::Dispensed, RxStatus::CounselComplete, RxStatus::Closed];

/// Start of the local calendar day containing `now` (the pharmacy's day, not UTC's).
fn start_of_day(now: DateTime<Local>) -> DateTime<Utc> {
    let Some(midnight) = now.date_naive().and_hms_opt(0, 0, 0) else { return now.with_timezone(&Utc) };
    // A DST jump at midnight: take the earliest instant that exists.
    Local.from_local_datetime(&midnight).earliest().map_or_else(|| now.with_timezone(&Utc), |t| t.with_timezone(&Utc))
}

/// The figures, from the timings of today's prescriptions.
fn summarise(timings: &[RxTiming], since: DateTime<Utc>, pending: i64) -> Value {
    let handed_over = |t: &&RxTiming| HANDED_OVER.iter().any(|s| s.as_str() == t.status);
    let received_today = timings.iter().filter(|t| t.created_at >= since).count();
    let durations: Vec<i64> = timings
        .iter()
        .filter(handed_over)
        .filter_map(|t| t.last_dispensed_at.filter(|at| *at >= since).map(|at| (at - t.created_at).num_seconds()))
        .collect();
    let average = (!durations.is_empty()).then(|| durations.iter().sum::<i64>() as f64 / durations.len() as f64);
    json!({
        "since": since,
        "total_today": received_today,
        "dispensed_today": durations.len(),
        "average_seconds_to_dispense": average.map(|a| (a * 10.0).round() / 10.0),
        "pending_approvals": pending,
    })
}

pub(super) async fn stats(State(app): State<AppState>) -> Result<Json<Value>, AppError> {
    let since = start_of_day(Local::now());
    let mut tx = app.storage.begin_read().await?;
    let timings = tx.rx_timings_since(since).await?;
    let awaiting: Vec<&str> = AWAITING_PHARMACIST.iter().map(|s| s.as_str()).collect();
    let pending = tx.count_prescriptions_in(&awaiting).await?;
    drop(tx);
    Ok(Json(summarise(&timings, since, pending)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, minute, 0).unwrap()
    }

    fn timing(id: i64, status: &str, received: u32, dispensed: Option<u32>) -> RxTiming {
        RxTiming { rx_id: id, status: status.into(), created_at: at(received), last_dispensed_at: dispensed.map(at) }
    }

    #[test]
    fn the_average_counts_only_prescriptions_handed_over_today() {
        let since = at(0);
        let yesterday =
            RxTiming { created_at: since - chrono::Duration::hours(20), ..timing(9, "CLOSED", 0, Some(30)) };
        let timings = [
            timing(1, "CLOSED", 0, Some(4)),        // 4 min
            timing(2, "DISPENSED", 10, Some(12)),   // 2 min
            timing(3, "HITL_REVIEW", 10, None),     // not yet
            timing(4, "HITL_REVIEW", 10, Some(11)), // one line of two: not handed over yet
            yesterday,                              // received yesterday, handed over today
        ];
        let out = summarise(&timings, since, 2);
        assert_eq!(out["total_today"], 4, "{out}");
        assert_eq!(out["dispensed_today"], 3, "{out}");
        // (240 + 120 + (20 h + 30 min)) / 3
        let expected = (240.0 + 120.0 + (20.0 * 3600.0 + 1800.0)) / 3.0;
        assert_eq!(out["average_seconds_to_dispense"].as_f64().unwrap(), (expected * 10.0_f64).round() / 10.0);
        assert_eq!(out["pending_approvals"], 2);
    }

    #[test]
    fn no_dispense_today_has_no_average_rather_than_zero() {
        let out = summarise(&[timing(1, "RX_RECEIVED", 1, None)], at(0), 0);
        assert_eq!(out["average_seconds_to_dispense"], Value::Null);
    }
}
