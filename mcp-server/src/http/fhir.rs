//! FHIR R4 endpoints under `/fhir/r4`: intake (`POST Bundle`, `POST MedicationRequest`) and
//! reads of what the server holds (`GET Patient|Practitioner|MedicationRequest|
//! MedicationDispense|AllergyIntolerance/{id}`).
//!
//! Bearer token as everywhere; roles from [`Access`] (physicians and admins take orders
//! in; pharmacists read too). Answers are `application/fhir+json`; errors are
//! OperationOutcome resources with the HTTP status FHIR's RESTful API gives them. Reads of
//! patient data are audited like the queue read.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rxgate_interop::fhir::{Bundle, OperationOutcome, OperationOutcomeIssue};
use serde_json::{Value, json};

use super::middleware::{Caller, CorrelationId};
use super::{AppError, AppState};
use crate::audit::{self, AuditContext, AuditEvent};
use crate::auth::Role;
use crate::sync::{self, IntakeResult};

pub(crate) const FHIR_JSON: &str = "application/fhir+json";

/// Who may use an interop route: one row per route group, like `api::Endpoint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Orders in from the EHR (`POST /fhir/r4/Bundle`, `MedicationRequest`).
    FhirIntake,
    /// Reads of resources (patient data).
    FhirRead,
    /// CDS Hooks service calls and feedback.
    CdsHooks,
    /// The integration panel's reads (queues, events, unmapped codes).
    InteropRead,
    /// Resolving codes and sending dead letters again.
    InteropAct,
}

impl Access {
    pub(crate) fn allowed_roles(self) -> &'static [Role] {
        use Role::*;
        match self {
            // A prescriber's system or the operator; never the agent (it proposes, never orders).
            Access::FhirIntake => &[Physician, Admin],
            Access::FhirRead => &[Physician, Pharmacist, Admin],
            // Cards go to whoever orders or checks orders.
            Access::CdsHooks => &[Physician, Pharmacist],
            // Counts, codes and event states; payloads carry surrogate ids only.
            Access::InteropRead => &[Pharmacist, Admin],
            Access::InteropAct => &[Pharmacist, Admin],
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Access::FhirIntake => "send prescriptions in through FHIR",
            Access::FhirRead => "read FHIR resources",
            Access::CdsHooks => "call CDS Hooks services",
            Access::InteropRead => "read the integration queues",
            Access::InteropAct => "resolve codes and resend sync events",
        }
    }
}

async fn require(State(access): State<Access>, Caller(principal): Caller, request: Request, next: Next) -> Response {
    let allowed = access.allowed_roles();
    if allowed.contains(&principal.role) {
        next.run(request).await
    } else {
        tracing::info!(sub = %principal.subject, role = %principal.role, ?access, "refused by role");
        AppError::Forbidden { role: principal.role, action: access.describe(), allowed }.into_response()
    }
}

pub(super) fn guarded<H, T>(
    access: Access,
    method: fn(H) -> axum::routing::MethodRouter<AppState>,
    handler: H,
) -> axum::routing::MethodRouter<AppState>
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    method(handler).route_layer(from_fn_with_state(access, require))
}

/// The `/fhir/r4` routes (authentication is layered on by the router).
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/fhir/r4/Bundle", guarded(Access::FhirIntake, post, post_bundle))
        .route("/fhir/r4/MedicationRequest", guarded(Access::FhirIntake, post, post_medication_request))
        .route("/fhir/r4/{kind}/{id}", guarded(Access::FhirRead, get, read))
}

/// A FHIR answer: the resource with its status and content type.
pub(crate) fn fhir(status: StatusCode, body: Value) -> Response {
    (status, [(header::CONTENT_TYPE, FHIR_JSON)], body.to_string()).into_response()
}

fn outcome(status: StatusCode, issues: Vec<OperationOutcomeIssue>) -> Response {
    fhir(status, serde_json::to_value(OperationOutcome::new(issues)).unwrap_or(Value::Null))
}

fn outcome_error(status: StatusCode, code: &str, message: String) -> Response {
    fhir(status, serde_json::to_value(OperationOutcome::error(code, message)).unwrap_or(Value::Null))
}

/// Storage and workflow errors as OperationOutcome (internal ones are logged, not shown).
fn from_app_error(e: AppError) -> Response {
    let status = e.status();
    // What the EHR's integration team must read to act: the code and the reason, as a REST
    // client gets them (internal errors are logged by `AppError`, never shown).
    let message = if status.is_server_error() { "something went wrong".to_string() } else { e.tool_message() };
    if status.is_server_error() {
        // Through the one place that logs internal errors.
        drop(e.into_response());
    }
    let code = match status {
        StatusCode::NOT_FOUND => "not-found",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::CONFLICT => "conflict",
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => "invalid",
        _ => "exception",
    };
    outcome_error(status, code, message)
}

/// `POST /fhir/r4/Bundle`: a bundle with Patient, MedicationRequest(s), AllergyIntolerance,
/// MedicationStatement and Observation becomes a prescription in RX_RECEIVED; unmapped codes
/// park it (202) until an analyst resolves them; a resend of the same bundle (same natural
/// key) answers what the first one became.
async fn post_bundle(
    State(state): State<AppState>,
    Caller(principal): Caller,
    CorrelationId(correlation_id): CorrelationId,
    body: Bytes,
) -> Response {
    let text = match std::str::from_utf8(&body) {
        Ok(text) => text,
        Err(_) => return outcome_error(StatusCode::BAD_REQUEST, "structure", "the body is not UTF-8".into()),
    };
    let bundle: Bundle = match serde_json::from_str(text) {
        Ok(b) => b,
        Err(e) => return outcome_error(StatusCode::BAD_REQUEST, "structure", format!("not a FHIR Bundle: {e}")),
    };
    take_in(&state, &principal, &correlation_id, &bundle, text).await
}

/// `POST /fhir/r4/MedicationRequest`: one order, with its patient `contained` or absent.
async fn post_medication_request(
    State(state): State<AppState>,
    Caller(principal): Caller,
    CorrelationId(correlation_id): CorrelationId,
    body: Bytes,
) -> Response {
    let mut value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return outcome_error(StatusCode::BAD_REQUEST, "structure", format!("not JSON: {e}")),
    };
    if value["resourceType"] != "MedicationRequest" {
        return outcome_error(StatusCode::BAD_REQUEST, "structure", "resourceType must be MedicationRequest".into());
    }
    if value.get("priorPrescription").is_some() {
        return take_change(&state, &principal, &correlation_id, &value).await;
    }
    let contained = value.as_object_mut().and_then(|o| o.remove("contained"));
    let patient = contained
        .and_then(|c| c.as_array().cloned())
        .and_then(|c| c.into_iter().find(|r| r["resourceType"] == "Patient"));
    let bundle = rxgate_interop::intake::single_request_bundle(value, patient);
    let text = serde_json::to_string(&bundle).unwrap_or_default();
    take_in(&state, &principal, &correlation_id, &bundle, &text).await
}

/// A MedicationRequest that replaces an order already sent (PRESCRIPTION_CHANGE).
async fn take_change(
    state: &AppState,
    principal: &crate::auth::Principal,
    correlation_id: &str,
    request: &Value,
) -> Response {
    use rxgate_interop::sync::{Direction, EventKind};
    let (snapshot, maps) = match sync::snapshot_and_maps(state).await {
        Ok(found) => found,
        Err(e) => return from_app_error(e),
    };
    let change = match rxgate_interop::intake::read_change(&snapshot.registry, &maps, request) {
        Ok(c) => c,
        Err(e) => {
            state.metrics.interop.count(Direction::Inbound, EventKind::PrescriptionChange, "rejected");
            return outcome(StatusCode::UNPROCESSABLE_ENTITY, e.issues);
        }
    };
    match sync::change_from_ehr(state, &change, &request.to_string(), principal, correlation_id).await {
        Ok(sync::ChangeResult::Applied { event, rx_id, line_no, replayed }) => {
            let location = format!("MedicationRequest/{rx_id}-{line_no}");
            let body = json!({"resourceType": "Bundle", "type": "transaction-response",
                "entry": [{"response": {"status": "200 OK", "location": location}}]});
            let mut response = fhir(StatusCode::OK, body);
            let headers = response.headers_mut();
            for (name, value) in [
                ("location", location),
                ("x-rxgate-rx-id", rx_id.to_string()),
                ("x-rxgate-event-id", event.id.to_string()),
                ("x-rxgate-replayed", replayed.to_string()),
            ] {
                if let Ok(v) = value.parse() {
                    headers.insert(name, v);
                }
            }
            response
        }
        Ok(sync::ChangeResult::NeedsMapping { event, pending }) => needs_mapping(&event, &pending),
        Err(e) => {
            state.metrics.interop.count(Direction::Inbound, EventKind::PrescriptionChange, "rejected");
            from_app_error(e)
        }
    }
}

/// 202: the event is kept and waits for an analyst to map its codes.
fn needs_mapping(event: &rxgate_storage::InteropEvent, pending: &[rxgate_storage::CodeMapping]) -> Response {
    let issues = pending
        .iter()
        .map(|p| OperationOutcomeIssue {
            severity: "warning".into(),
            code: "code-invalid".into(),
            diagnostics: Some(format!(
                "{} `{}` ({}) is not mapped yet; the order waits for an analyst",
                p.used_as,
                p.key,
                p.display.as_deref().unwrap_or("no display")
            )),
            expression: Vec::new(),
        })
        .collect();
    let mut response = outcome(StatusCode::ACCEPTED, issues);
    if let Ok(v) = event.id.to_string().parse() {
        response.headers_mut().insert("x-rxgate-event-id", v);
    }
    response
}

async fn take_in(
    state: &AppState,
    principal: &crate::auth::Principal,
    correlation_id: &str,
    bundle: &Bundle,
    payload: &str,
) -> Response {
    let (snapshot, maps) = match sync::snapshot_and_maps(state).await {
        Ok(found) => found,
        Err(e) => return from_app_error(e),
    };
    let draft =
        match rxgate_interop::intake::read_bundle(&snapshot.registry, &maps, bundle, chrono::Utc::now().date_naive()) {
            Ok(d) => d,
            Err(e) => {
                state.metrics.interop.count(
                    rxgate_interop::sync::Direction::Inbound,
                    rxgate_interop::sync::EventKind::PrescriptionNew,
                    "rejected",
                );
                return outcome(StatusCode::UNPROCESSABLE_ENTITY, e.issues);
            }
        };
    match sync::intake(state, &draft, payload, principal, correlation_id).await {
        Ok(IntakeResult::Queued { rx_id, lines, replayed, event }) => {
            let entries: Vec<Value> = lines
                .iter()
                .map(|l| json!({"response": {"status": "201 Created", "location": format!("MedicationRequest/{rx_id}-{l}")}}))
                .collect();
            let status = if replayed { StatusCode::OK } else { StatusCode::CREATED };
            let mut response =
                fhir(status, json!({"resourceType": "Bundle", "type": "transaction-response", "entry": entries}));
            let headers = response.headers_mut();
            if let Ok(v) = format!("MedicationRequest/{rx_id}-1").parse() {
                headers.insert(header::LOCATION, v);
            }
            if let Ok(v) = rx_id.to_string().parse() {
                headers.insert("x-rxgate-rx-id", v);
            }
            if let Ok(v) = event.id.to_string().parse() {
                headers.insert("x-rxgate-event-id", v);
            }
            response
        }
        Ok(IntakeResult::NeedsMapping { event, pending }) => needs_mapping(&event, &pending),
        Err(e) => from_app_error(e),
    }
}

/// `GET /fhir/r4/{kind}/{id}`.
async fn read(
    State(state): State<AppState>,
    Caller(principal): Caller,
    CorrelationId(correlation_id): CorrelationId,
    Path((kind, id)): Path<(String, String)>,
) -> Response {
    match read_resource(&state, &principal, &correlation_id, &kind, &id).await {
        Ok(Some(v)) => fhir(StatusCode::OK, v),
        Ok(None) => outcome_error(StatusCode::NOT_FOUND, "not-found", format!("no {kind}/{id}")),
        Err(e) => from_app_error(e),
    }
}

/// `rx-line` ids (`12-1`) of MedicationRequest; `patient-index` of AllergyIntolerance.
fn pair(id: &str) -> Option<(i64, i64)> {
    let (a, b) = id.split_once('-')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

async fn read_resource(
    state: &AppState,
    principal: &crate::auth::Principal,
    correlation_id: &str,
    kind: &str,
    id: &str,
) -> Result<Option<Value>, AppError> {
    use rxgate_interop::output;
    let snapshot = state.knowledge.current();
    let mut tx = state.storage.begin().await?;
    let not_found = |e: &rxgate_storage::Error| matches!(e, rxgate_storage::Error::NotFound(_));
    let (value, rx_id) = match kind {
        "Patient" => {
            let Ok(pid) = id.parse::<i64>() else { return Ok(None) };
            match tx.get_patient(pid).await {
                Ok(p) => {
                    let dob = p.date_of_birth.map(|d| d.to_string());
                    let resource = output::patient(p.id, p.sex.as_deref(), dob.as_deref(), Some(&p.demo_name));
                    (serde_json::to_value(resource), None)
                }
                Err(e) if not_found(&e) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        }
        "Practitioner" => {
            if !output::is_fhir_id(id) {
                return Ok(None);
            }
            (serde_json::to_value(output::practitioner(id)), None)
        }
        "MedicationRequest" => {
            let Some((rx_id, line_no)) = pair(id) else { return Ok(None) };
            let rx = match tx.get_prescription(rx_id).await {
                Ok(rx) => rx,
                Err(e) if not_found(&e) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            let items = tx.list_items(rx_id).await?;
            let Some(item) = items.iter().find(|i| i.line_no == line_no) else { return Ok(None) };
            let created = rx.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let resource = output::medication_request(&output::LineFacts {
                rx_id,
                line_no,
                patient_id: rx.patient_id,
                prescriber: &rx.prescriber,
                drug: &item.drug,
                dose_value: &item.dose_value,
                dose_unit: &item.dose_unit,
                frequency: &item.frequency,
                route: &item.route,
                line_status: &item.status,
                created_at: &created,
            });
            (serde_json::to_value(resource), Some(rx_id))
        }
        "MedicationDispense" => {
            let Ok(did) = id.parse::<i64>() else { return Ok(None) };
            let record = match tx.get_dispense(did).await {
                Ok(r) => r,
                Err(e) if not_found(&e) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            let status = sync::dispense_status(&mut tx, &record).await?;
            let resource = sync::dispense_resource(&mut tx, &snapshot, &record, status).await?;
            (serde_json::to_value(resource), Some(record.rx_id))
        }
        "AllergyIntolerance" => {
            let Some((pid, index)) = pair(id) else { return Ok(None) };
            let patient = match tx.get_patient(pid).await {
                Ok(p) => p,
                Err(e) if not_found(&e) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            let Some(text) = usize::try_from(index).ok().and_then(|i| patient.allergies.get(i)) else {
                return Ok(None);
            };
            (serde_json::to_value(output::allergy(pid, usize::try_from(index).unwrap_or(0), text)), None)
        }
        _ => return Ok(None),
    };
    let value = value.map_err(|e| AppError::Internal(e.into()))?;
    let ctx = AuditContext { principal, correlation_id };
    let event = AuditEvent {
        action: "fhir_read",
        rx_id: rx_id.map(|id: i64| id.to_string()),
        line_no: None,
        before: String::new(),
        after: json!({"resource": format!("{kind}/{id}")}).to_string(),
    };
    audit::append(&mut tx, &ctx, event).await?;
    tx.commit().await?;
    Ok(Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agent_can_neither_order_nor_read_patient_resources_through_fhir() {
        for access in [Access::FhirIntake, Access::FhirRead, Access::InteropAct] {
            assert!(!access.allowed_roles().contains(&Role::Agent), "{access:?}");
            assert!(!access.allowed_roles().contains(&Role::Device), "{access:?}");
        }
        assert!(!Access::FhirIntake.allowed_roles().contains(&Role::Pharmacist), "pharmacists do not order");
    }
}
