//! `POST /api/v1/pharmacy/{rx_id}/print-label`: the dispensing label of handed-over lines,
//! rendered by `rxgate-label` from what is stored (the dispense record, the line, the
//! product in the knowledge registry). A label exists only for a line that was dispensed:
//! it carries the dispense record's id in its barcode.
//!
//! `{"format": "pdf"}` answers the PDF (to open and print), `{"format": "zpl"}` the ZPL text
//! (to download); with `"workstation"` the ZPL is queued for that workstation's label printer
//! instead (the device agent fetches it) and the answer lists the print jobs. Every label
//! printed is audited (`label_printed`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rxgate_knowledge::Snapshot;
use rxgate_label::{Bilingual, LabelData};
use rxgate_storage::{DispenseRecord, PrescriptionItem};
use serde_json::json;

use super::detail::{dispense_label_id, initials};
use crate::audit::{self, AuditContext, AuditEvent};
use crate::http::middleware::{Caller, CorrelationId};
use crate::http::{AppError, AppState};
use crate::workflow;

/// Printed at the top of every label.
const PHARMACY: &str = "rxgate pharmacy";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
enum Format {
    Pdf,
    Zpl,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PrintBody {
    /// One line; every dispensed line when absent.
    line_no: Option<i64>,
    format: Format,
    /// Queue the label for this workstation's printer instead of answering it.
    workstation: Option<String>,
}

fn rejected(code: &'static str, message: String) -> AppError {
    AppError::Rejected { code, message, details: None }
}

/// The label of one dispensed line.
fn label_of(
    snapshot: &Snapshot,
    item: &PrescriptionItem,
    dispense: &DispenseRecord,
    patient: &rxgate_storage::Patient,
) -> LabelData {
    let registry = &snapshot.registry;
    let product = registry.product_by_code(&dispense.product).map(|id| registry.product(id));
    let generic = product.map_or_else(|| item.drug.clone(), |p| registry.generic(p.generic).inn.clone());
    let (strength, form) = product.map_or_else(Default::default, |p| (p.strength.clone(), p.form.clone()));
    // A substitute was not prescribed at this dose: the pharmacist tells the patient how to
    // take it, and the label must not print the original drug's dose under the new name.
    let directions = if item.substituted_drug.is_some() {
        Bilingual::new("Take as directed by your pharmacist.", "Ambil seperti diarahkan oleh ahli farmasi anda.")
    } else {
        rxgate_label::directions(&item.dose_value, &item.dose_unit, &item.frequency, &item.route, item.duration_days)
    };
    let mut warnings = vec![Bilingual::new("Keep out of reach of children", "Jauhkan daripada kanak-kanak")];
    for excipient in product.map(|p| p.excipients.as_slice()).unwrap_or_default() {
        if excipient.source.eq_ignore_ascii_case("porcine") {
            warnings.push(Bilingual::new(
                format!("Contains {} of porcine origin", excipient.name),
                format!("Mengandungi {} daripada sumber babi", excipient.name),
            ));
        }
    }
    // The generic leads (printed in capitals); the brand goes with the strength.
    let brand = product.map(|p| format!(" · {}", p.brand)).unwrap_or_default();
    LabelData {
        pharmacy: PHARMACY.to_string(),
        patient: format!("{} (patient {})", initials(&patient.demo_name), patient.id),
        drug: generic,
        strength: format!("{strength} {form}{brand}").trim().to_string(),
        directions,
        quantity: format!("{} {form}", dispense.quantity).trim().to_string(),
        dispense_id: dispense_label_id(dispense.id),
        date: dispense.at.with_timezone(&chrono::Local).format("%Y-%m-%d").to_string(),
        pharmacist: dispense.dispensed_by.clone(),
        warnings,
    }
}

fn bytes_response(content_type: &'static str, filename: String, inline: bool, body: Vec<u8>) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let disposition = format!("{}; filename=\"{filename}\"", if inline { "inline" } else { "attachment" });
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    // A label names a patient: never kept in a shared cache.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(super) async fn print_label(
    State(app): State<AppState>,
    Caller(principal): Caller,
    CorrelationId(correlation_id): CorrelationId,
    Path(rx_id): Path<String>,
    Json(body): Json<PrintBody>,
) -> Result<Response, AppError> {
    let rx_id = workflow::parse_rx_id(&rx_id)?;
    let snapshot = app.knowledge.current();
    let mut tx = app.storage.begin().await?;
    let rx = tx.get_prescription(rx_id).await?;
    let items = tx.list_items(rx_id).await?;
    let patient = tx.get_patient(rx.patient_id).await?;
    // A reversed hand-over gets no label: the patient does not take that pack home.
    let dispenses = workflow::active_dispenses(&mut tx, rx_id).await?;

    if let Some(line_no) = body.line_no
        && !items.iter().any(|i| i.line_no == line_no)
    {
        return Err(AppError::NotFound { message: format!("prescription {rx_id} has no line {line_no}") });
    }
    let chosen: Vec<(&PrescriptionItem, &DispenseRecord)> = items
        .iter()
        .filter(|i| body.line_no.is_none_or(|n| n == i.line_no))
        .filter_map(|i| dispenses.iter().find(|d| d.line_no == i.line_no).map(|d| (i, d)))
        .collect();
    if chosen.is_empty() {
        let what = body.line_no.map_or_else(|| "no line".to_string(), |n| format!("line {n}"));
        return Err(rejected(
            "not_dispensed",
            format!("prescription {rx_id}: {what} has been dispensed; a label is printed for what is handed over"),
        ));
    }
    let labels: Vec<LabelData> = chosen.iter().map(|(i, d)| label_of(&snapshot, i, d, &patient)).collect();
    let bad_label = |e: rxgate_label::LabelError| AppError::Internal(anyhow::anyhow!("label: {e}"));

    let workstation = body.workstation.as_deref().map(str::trim).filter(|w| !w.is_empty());
    let mut jobs = Vec::new();
    if let Some(workstation) = workstation {
        for ((item, _), label) in chosen.iter().zip(&labels) {
            let zpl = rxgate_label::zpl(label).map_err(bad_label)?;
            let job = tx.enqueue_print_job(workstation, rx_id, Some(item.line_no), &zpl).await?;
            jobs.push(json!({"print_job_id": job.id, "line_no": item.line_no, "dispense_id": label.dispense_id}));
        }
    }
    let rendered = match (workstation, body.format) {
        (Some(_), _) => None,
        (None, Format::Pdf) => Some(rxgate_label::pdf_labels(&labels).map_err(bad_label)?),
        (None, Format::Zpl) => {
            Some(labels.iter().map(rxgate_label::zpl).collect::<Result<String, _>>().map_err(bad_label)?.into_bytes())
        }
    };

    let ctx = AuditContext { principal: &principal, correlation_id: &correlation_id };
    let line_nos: Vec<i64> = chosen.iter().map(|(i, _)| i.line_no).collect();
    let event = AuditEvent {
        action: "label_printed",
        rx_id: Some(rx_id.to_string()),
        line_no: body.line_no.and_then(|n| u32::try_from(n).ok()),
        before: String::new(),
        after: json!({
            "format": if workstation.is_some() { "zpl" } else if body.format == Format::Pdf { "pdf" } else { "zpl" },
            "lines": line_nos,
            "dispense_ids": labels.iter().map(|l| l.dispense_id.as_str()).collect::<Vec<_>>(),
            "workstation": workstation,
        })
        .to_string(),
    };
    audit::append(&mut tx, &ctx, event).await?;
    tx.commit().await?;

    let suffix = body.line_no.map(|n| format!("-line{n}")).unwrap_or_default();
    Ok(match rendered {
        None => (StatusCode::ACCEPTED, Json(json!({"rx_id": rx_id, "workstation": workstation, "print_jobs": jobs})))
            .into_response(),
        Some(bytes) if body.format == Format::Pdf => {
            bytes_response("application/pdf", format!("label-rx{rx_id}{suffix}.pdf"), true, bytes)
        }
        Some(bytes) => {
            bytes_response("text/plain; charset=utf-8", format!("label-rx{rx_id}{suffix}.zpl"), false, bytes)
        }
    })
}
