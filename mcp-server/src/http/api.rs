//! The REST API under `/api/v1` (`shared/CONTRACT.md`).
//!
//! Every route sits behind the bearer-token check (401), then behind [`require`], which
//! looks up the route's [`Endpoint`] in one table and answers 403 to a role that may not
//! use it — before the body is even parsed, so a refused caller learns nothing about what
//! a valid request would look like. Endpoints that issue a prescription command take their
//! roles from `rxgate-guardrails` ([`allowed_roles`]), so the HTTP gate and the human gate
//! cannot disagree; `guardrails::decide` checks them again when the workflow runs.
//!
//! Served from storage: the queue (an audited read), adverse-event reports and the
//! prescription commands verify, approve, dispense, counsel-done (which also closes) and
//! close (not in the contract: for a prescription whose every line was cancelled or held,
//! which closes without counselling), in
//! [`super::commands`] through [`crate::workflow`]. `print-label` and `inventory/reorder`
//! still answer 501 after the role check.

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rxgate_guardrails::{CommandKind, allowed_roles};
use serde_json::{Value, json};

use axum::http::StatusCode;
use rxgate_guardrails::{AdverseEventBlock, BlockLift, PatientBlocks, PatientCommand, RxStatus, decide_patient};
use rxgate_storage::{NewAdverseEvent, Prescription, PrescriptionItem, QueueFilter};

use super::commands;
use super::middleware::{Caller, CorrelationId};
use super::{AppError, AppState};
use crate::audit::{self, AuditContext, AuditEvent};
use crate::auth::{Principal, Role};
use crate::wire;

/// Every REST endpoint of the contract, for the role table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    WhoAmI,
    Queue,
    Verify,
    Approve,
    Dispense,
    PrintLabel,
    CounselDone,
    Close,
    InventoryCheck,
    InventoryReorder,
    AdverseEvent,
}

impl Endpoint {
    fn describe(self) -> &'static str {
        match self {
            Endpoint::WhoAmI => "read its own identity",
            Endpoint::Queue => "read the prescription queue",
            Endpoint::Verify => "verify a prescription",
            Endpoint::Approve => "decide prescription lines",
            Endpoint::Dispense => "dispense",
            Endpoint::PrintLabel => "print labels",
            Endpoint::CounselDone => "record counselling",
            Endpoint::Close => "close prescriptions",
            Endpoint::InventoryCheck => "check inventory",
            Endpoint::InventoryReorder => "reorder stock",
            Endpoint::AdverseEvent => "report adverse events",
        }
    }

    /// Who may call it. Clinical commands come from the guardrails table.
    pub(crate) fn allowed_roles(self) -> &'static [Role] {
        use Role::*;
        match self {
            Endpoint::WhoAmI => &Role::ALL,
            // Patient data: the pharmacist's console and the agent's `rx_queue`.
            Endpoint::Queue => &[Pharmacist, Agent],
            Endpoint::Verify => allowed_roles(CommandKind::StartVerification),
            Endpoint::Approve => allowed_roles(CommandKind::LineDecision),
            // The body carries the scan, so this is scan and hand-over in one: both the
            // scan's roles and the dispense's must allow it, which leaves the pharmacist.
            Endpoint::Dispense => allowed_roles(CommandKind::Dispense),
            // A label goes on what is handed over.
            Endpoint::PrintLabel => &[Pharmacist],
            Endpoint::CounselDone => allowed_roles(CommandKind::CounselDone),
            Endpoint::Close => allowed_roles(CommandKind::Close),
            // Stock is not patient data; a scanner records scans and nothing else.
            Endpoint::InventoryCheck => &[Pharmacist, Physician, Agent, Admin],
            // Purchasing, not a clinical act: the pharmacy and whoever runs the system.
            Endpoint::InventoryReorder => &[Pharmacist, Admin],
            Endpoint::AdverseEvent => allowed_roles(CommandKind::ReportAdverseEvent),
        }
    }
}

/// 403 unless `principal`'s role may use `endpoint`.
pub(crate) fn authorize(principal: &Principal, endpoint: Endpoint) -> Result<(), AppError> {
    let allowed = endpoint.allowed_roles();
    if allowed.contains(&principal.role) {
        Ok(())
    } else {
        tracing::info!(sub = %principal.subject, role = %principal.role, ?endpoint, "refused by role");
        Err(AppError::Forbidden { role: principal.role, action: endpoint.describe(), allowed })
    }
}

/// Route layer: the role check of `endpoint`, before any extractor of the handler runs.
async fn require(
    State(endpoint): State<Endpoint>,
    Caller(principal): Caller,
    request: Request,
    next: Next,
) -> Response {
    match authorize(&principal, endpoint) {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

fn guarded<H, T>(
    endpoint: Endpoint,
    method: fn(H) -> axum::routing::MethodRouter<AppState>,
    handler: H,
) -> axum::routing::MethodRouter<AppState>
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    method(handler).route_layer(from_fn_with_state(endpoint, require))
}

pub(super) fn routes() -> Router<AppState> {
    use Endpoint as E;
    Router::new()
        .route("/whoami", guarded(E::WhoAmI, get, whoami))
        .route("/pharmacy/queue", guarded(E::Queue, get, queue))
        .route("/pharmacy/{rx_id}/verify", guarded(E::Verify, post, commands::verify))
        .route("/pharmacy/{rx_id}/approve", guarded(E::Approve, post, commands::approve))
        .route("/pharmacy/{rx_id}/dispense", guarded(E::Dispense, post, commands::dispense))
        .route("/pharmacy/{rx_id}/print-label", guarded(E::PrintLabel, post, not_yet))
        .route("/pharmacy/{rx_id}/counsel-done", guarded(E::CounselDone, post, commands::counsel_done))
        .route("/pharmacy/{rx_id}/close", guarded(E::Close, post, commands::close))
        .route("/pharmacy/inventory/check/{drug_code}", guarded(E::InventoryCheck, get, check_inventory))
        .route("/pharmacy/inventory/reorder", guarded(E::InventoryReorder, post, not_yet))
        .route("/pharmacy/adverse-events", guarded(E::AdverseEvent, post, report_adverse_event))
}

/// `GET /api/v1/whoami`: the principal of the bearer token.
async fn whoami(Caller(principal): Caller) -> Json<Value> {
    Json(json!({"sub": principal.subject, "role": principal.role.as_str()}))
}

#[derive(Debug, serde::Deserialize)]
struct QueueQuery {
    /// Comma-separated prescription states (`RX_RECEIVED,ALERTS_RAISED`); all when absent.
    status: Option<String>,
    /// Keyset paging: only prescriptions after this id.
    after: Option<i64>,
    /// At most this many (1..=500, default 100).
    limit: Option<i64>,
}

fn item_json(item: &PrescriptionItem) -> Value {
    json!({
        "line_no": item.line_no,
        "drug": item.drug,
        "dose": {"value": item.dose_value, "unit": item.dose_unit},
        "frequency": item.frequency,
        "route": item.route,
        "duration_days": item.duration_days,
        "status": item.status,
        "decision": item.decision,
        "decision_reason": item.decision_reason,
        "approved_by": item.approved_by,
        "substituted_drug": item.substituted_drug,
        "version": item.version,
    })
}

fn prescription_json(rx: &Prescription, items: &[PrescriptionItem]) -> Value {
    json!({
        "rx_id": rx.id,
        "patient_id": rx.patient_id,
        "prescriber": rx.prescriber,
        "status": rx.status,
        "knowledge_hash": rx.knowledge_hash,
        "version": rx.version,
        "created_at": rx.created_at,
        "updated_at": rx.updated_at,
        "items": items.iter().map(item_json).collect::<Vec<_>>(),
    })
}

/// `GET /api/v1/pharmacy/queue`: prescriptions oldest first, with their lines. Reading it
/// is reading patient data, so the read is audited (which prescriptions, who, which
/// request) in the same transaction.
async fn queue(
    State(state): State<AppState>,
    Caller(principal): Caller,
    CorrelationId(correlation_id): CorrelationId,
    Query(query): Query<QueueQuery>,
) -> Result<Json<Value>, AppError> {
    let mut statuses = Vec::new();
    for text in query.status.as_deref().unwrap_or("").split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let status = RxStatus::parse(text).map_err(|e| AppError::BadRequest {
            message: e.to_string(),
            details: Some(json!({"known": RxStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>()})),
        })?;
        statuses.push(status.as_str().to_string());
    }
    let limit = query.limit.unwrap_or(100).clamp(1, 500);
    let filter = QueueFilter { statuses, patient_id: None, after_id: query.after, limit: Some(limit) };

    let mut tx = state.storage.begin().await?;
    let prescriptions = tx.list_prescriptions(&filter).await?;
    let mut out = Vec::with_capacity(prescriptions.len());
    for rx in &prescriptions {
        let items = tx.list_items(rx.id).await?;
        out.push(prescription_json(rx, &items));
    }
    let ids: Vec<i64> = prescriptions.iter().map(|rx| rx.id).collect();
    let ctx = AuditContext { principal: &principal, correlation_id: &correlation_id };
    let event = AuditEvent {
        action: "queue_read",
        rx_id: None,
        line_no: None,
        before: String::new(),
        after: json!({ "rx_ids": ids }).to_string(),
    };
    audit::append(&mut tx, &ctx, event).await?;
    tx.commit().await?;

    let next_after = (i64::try_from(ids.len()).unwrap_or(i64::MAX) == limit).then(|| ids.last().copied()).flatten();
    Ok(Json(json!({ "prescriptions": out, "next_after": next_after })))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AdverseEventReport {
    /// The patient's surrogate id.
    patient_id: i64,
    /// The suspected drug, as written (generic, brand or product code).
    drug: String,
    /// The class to block (a registry class id). Default: the drug's own class as the
    /// registry lists it first (its most specific one).
    drug_class: Option<String>,
    /// What happened.
    description: String,
}

/// The class an adverse event blocks: the one given (if the registry knows it) or the
/// drug's first-listed class.
fn class_to_block(snapshot: &rxgate_knowledge::Snapshot, report: &AdverseEventReport) -> Result<String, AppError> {
    let registry = &snapshot.registry;
    let bad = |message: String| AppError::BadRequest { message, details: None };
    match (&report.drug_class, registry.resolve(&report.drug)) {
        (Some(class), _) => registry
            .class_by_id(class)
            .map(|_| class.clone())
            .ok_or_else(|| bad(format!("`{class}` is not a drug class in the knowledge registry"))),
        (None, Some(r)) => {
            let generic = registry.generic(r.generic);
            generic.classes.first().map(|c| registry.class(*c).id.clone()).ok_or_else(|| {
                bad(format!(
                    "`{}` belongs to no class in the registry; name the class to block in `drug_class`",
                    generic.inn
                ))
            })
        }
        (None, None) => Err(bad(format!(
            "`{}` is not in the knowledge registry; name the class to block in `drug_class`",
            report.drug
        ))),
    }
}

/// `POST /api/v1/pharmacy/adverse-events`: records the report and blocks drugs of that
/// class for the patient at once (AC-5.8), through the guardrails, with its audit entry in
/// the same transaction.
async fn report_adverse_event(
    State(state): State<AppState>,
    Caller(principal): Caller,
    CorrelationId(correlation_id): CorrelationId,
    Json(report): Json<AdverseEventReport>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let drug_class = class_to_block(&state.knowledge.current(), &report)?;
    let mut tx = state.storage.begin().await?;
    tx.get_patient(report.patient_id).await?;
    let blocks = patient_blocks(&mut tx, report.patient_id).await?;
    let command =
        PatientCommand::ReportAdverseEvent { drug_class: drug_class.clone(), description: report.description.clone() };
    let transition = decide_patient(&blocks, &principal, &command).map_err(AppError::Refused)?;
    let stored = tx
        .insert_adverse_event(&NewAdverseEvent {
            patient_id: report.patient_id,
            drug_class: drug_class.clone(),
            drug: Some(report.drug.clone()),
            description: report.description.clone(),
            reported_by: principal.subject.clone(),
        })
        .await?;
    let at = tx.now();
    audit::append_drafts(&mut tx, transition.drafts(&principal, at, &correlation_id)).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "adverse_event": {
                "id": stored.id,
                "patient_id": stored.patient_id,
                "drug": stored.drug,
                "drug_class": stored.drug_class,
                "description": stored.description,
                "reported_by": stored.reported_by,
                "at": stored.at,
            },
            "blocked_class": drug_class,
        })),
    ))
}

/// A patient's adverse-event blocks as the guardrails see them, from storage.
pub(crate) async fn patient_blocks(tx: &mut rxgate_storage::Tx, patient_id: i64) -> Result<PatientBlocks, AppError> {
    let events = tx.list_adverse_events(patient_id, false).await?;
    let blocks = events
        .into_iter()
        .map(|e| AdverseEventBlock {
            drug_class: e.drug_class,
            description: e.description,
            reported_by: e.reported_by,
            lifted: e.lifted_by.map(|by| BlockLift { by, reason: e.lift_reason.unwrap_or_default() }),
        })
        .collect();
    Ok(PatientBlocks { patient_id: patient_id.to_string(), blocks })
}

/// The workflow endpoints until they are wired to storage: authorised callers learn that
/// the endpoint exists and is not served yet.
async fn not_yet(request: Request) -> AppError {
    AppError::NotImplemented { message: format!("{} {} is not served yet", request.method(), request.uri().path()) }
}

/// `GET /api/v1/pharmacy/inventory/check/{drug_code}`: usable stock per product of a drug
/// (by generic, brand or product code), as the `stock_check` tool reports it.
async fn check_inventory(
    State(state): State<AppState>,
    Path(drug_code): Path<String>,
) -> Result<Json<Value>, AppError> {
    let snapshot = state.knowledge.current();
    let input = wire::parse_args(json!({ "drug": drug_code }))
        .map_err(|message| AppError::BadRequest { message, details: None })?;
    let out = wire::generics::run_stock(&snapshot, input, chrono::Local::now().date_naive())
        .map_err(|message| AppError::BadRequest { message, details: None })?;
    let unknown = out.structured.get("unknown").and_then(Value::as_array).is_some_and(|u| !u.is_empty());
    if unknown {
        return Err(AppError::NotFound { message: format!("`{drug_code}` is not in the formulary") });
    }
    Ok(Json(out.structured))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The HTTP gate may be stricter than the human gate, never looser.
    #[test]
    fn no_endpoint_lets_a_role_issue_a_command_the_guardrails_refuse() {
        let pairs = [
            (Endpoint::Verify, CommandKind::StartVerification),
            (Endpoint::Approve, CommandKind::LineDecision),
            (Endpoint::Dispense, CommandKind::Dispense),
            (Endpoint::Dispense, CommandKind::BarcodeScanned),
            (Endpoint::CounselDone, CommandKind::CounselDone),
            (Endpoint::Close, CommandKind::Close),
            (Endpoint::AdverseEvent, CommandKind::ReportAdverseEvent),
        ];
        for (endpoint, kind) in pairs {
            for role in endpoint.allowed_roles() {
                let who = Principal::new("t", *role);
                assert!(rxgate_guardrails::authorise(&who, kind).is_ok(), "{endpoint:?} lets {role} do {kind:?}");
            }
        }
    }

    #[test]
    fn the_agent_can_never_approve_dispense_label_or_counsel_over_rest() {
        let agent = Principal::new("assistant", Role::Agent);
        for e in [Endpoint::Approve, Endpoint::Dispense, Endpoint::PrintLabel, Endpoint::CounselDone, Endpoint::Close] {
            assert!(authorize(&agent, e).is_err(), "{e:?}");
        }
    }
}
