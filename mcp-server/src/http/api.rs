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
//! [`super::commands`] through [`crate::workflow`]; the console's reads and `print-label` in
//! [`super::console`]. `inventory/*` lives in [`super::inventory`].

use axum::Json;
use axum::Router;
use axum::extract::{Query, Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rxgate_guardrails::{CommandKind, allowed_roles};
use serde_json::{Value, json};

use axum::http::StatusCode;
use rxgate_guardrails::{AdverseEventBlock, BlockLift, PatientBlocks, PatientCommand, RxStatus, decide_patient};
use rxgate_storage::{NewAdverseEvent, QueueFilter};

use super::commands;
use super::devices;
use super::explanations;
use super::inventory;
use super::middleware::{Caller, CorrelationId};
use super::tool_calls;
use super::{AppError, AppState};
use crate::audit;
use crate::auth::{Principal, Role};
use crate::operations::{self, Actor};

/// Every REST endpoint of the contract, for the role table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Tool,
    WhoAmI,
    Queue,
    Verify,
    Approve,
    Dispense,
    PrintLabel,
    RxDetail,
    Events,
    Stats,
    CounselDone,
    Close,
    ReverseDispense,
    InventoryCheck,
    InventoryReorder,
    AdverseEvent,
    ArmScanStation,
    DeviceScan,
    DevicePrintJobs,
    DevicePrintJobStatus,
    PostExplanation,
    ListExplanations,
    ChemoOrders,
    ChemoPublish,
}

impl Endpoint {
    fn describe(self) -> &'static str {
        match self {
            Endpoint::WhoAmI => "read its own identity",
            Endpoint::Tool => "call the checking tools",
            Endpoint::Queue => "read the prescription queue",
            Endpoint::Verify => "verify a prescription",
            Endpoint::Approve => "decide prescription lines",
            Endpoint::Dispense => "dispense",
            Endpoint::PrintLabel => "print labels",
            Endpoint::RxDetail => "read a prescription in the console",
            Endpoint::Events => "follow the console's change feed",
            Endpoint::Stats => "read the pharmacy's statistics",
            Endpoint::CounselDone => "record counselling",
            Endpoint::Close => "close prescriptions",
            Endpoint::ReverseDispense => "reverse dispenses",
            Endpoint::InventoryCheck => "check inventory",
            Endpoint::InventoryReorder => "reorder stock",
            Endpoint::AdverseEvent => "report adverse events",
            Endpoint::ArmScanStation => "arm a line for a counter scanner",
            Endpoint::DeviceScan => "post scans from a counter device",
            Endpoint::DevicePrintJobs => "fetch a workstation's print jobs",
            Endpoint::DevicePrintJobStatus => "report print job status",
            Endpoint::PostExplanation => "post explanations of findings",
            Endpoint::ListExplanations => "read explanations of findings",
            Endpoint::ChemoOrders => "order, check and administer chemotherapy",
            Endpoint::ChemoPublish => "propose and publish chemotherapy regimens",
        }
    }

    /// Who may call it. Clinical commands come from the guardrails table.
    pub(crate) fn allowed_roles(self) -> &'static [Role] {
        use Role::*;
        match self {
            Endpoint::WhoAmI => &Role::ALL,
            // The pure checks, as on /mcp.
            Endpoint::Tool => super::MCP_ROLES,
            // Patient data: the pharmacist's console and the agent's `rx_queue`.
            Endpoint::Queue => &[Pharmacist, Agent],
            Endpoint::Verify => allowed_roles(CommandKind::StartVerification),
            Endpoint::Approve => allowed_roles(CommandKind::LineDecision),
            // The body carries the scan, so this is scan and hand-over in one: both the
            // scan's roles and the dispense's must allow it, which leaves the pharmacist.
            Endpoint::Dispense => allowed_roles(CommandKind::Dispense),
            // A label goes on what is handed over.
            Endpoint::PrintLabel => &[Pharmacist],
            // The console's reads: patient data for the pharmacist at the counter; the agent
            // reads the same through MCP `rx_get`.
            Endpoint::RxDetail | Endpoint::Events => &[Pharmacist],
            // Counts only, no patient data: also whoever runs the system.
            Endpoint::Stats => &[Pharmacist, Admin],
            Endpoint::CounselDone => allowed_roles(CommandKind::CounselDone),
            Endpoint::Close => allowed_roles(CommandKind::Close),
            Endpoint::ReverseDispense => allowed_roles(CommandKind::ReverseDispense),
            // Stock is not patient data; a scanner records scans and nothing else.
            Endpoint::InventoryCheck => &[Pharmacist, Physician, Agent, Admin],
            // Purchasing, not a clinical act: the pharmacy and whoever runs the system.
            Endpoint::InventoryReorder => &[Pharmacist, Admin],
            Endpoint::AdverseEvent => allowed_roles(CommandKind::ReportAdverseEvent),
            // Arming hands the dispense of that line to the next matching scan, in the
            // arming pharmacist's name: whoever may dispense may arm.
            Endpoint::ArmScanStation => allowed_roles(CommandKind::Dispense),
            // The counter device, for its own workstation only (the token's `sub`); a
            // pharmacist's handheld scans through `dispense`.
            Endpoint::DeviceScan | Endpoint::DevicePrintJobs | Endpoint::DevicePrintJobStatus => &[Device],
            // The explainer agent writes explanations; people read them. The server guards
            // every text it is given, so the role grants no say over what is shown.
            Endpoint::PostExplanation => &[Agent],
            Endpoint::ListExplanations => &[Pharmacist, Physician, Agent],
            // Chemotherapy is people's work end to end (two-person checks, overrides,
            // administration); an agent evaluates through MCP `regimen_eval` only.
            Endpoint::ChemoOrders | Endpoint::ChemoPublish => &[Pharmacist, Physician],
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

pub(super) fn guarded<H, T>(
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
        .merge(super::console::api_routes())
        .route("/whoami", guarded(E::WhoAmI, get, whoami))
        .route("/tools/{name}", guarded(E::Tool, post, tool_calls::call))
        .route("/pharmacy/queue", guarded(E::Queue, get, queue))
        .route("/pharmacy/{rx_id}/verify", guarded(E::Verify, post, commands::verify))
        .route("/pharmacy/{rx_id}/approve", guarded(E::Approve, post, commands::approve))
        .route("/pharmacy/{rx_id}/dispense", guarded(E::Dispense, post, commands::dispense))
        .route("/pharmacy/{rx_id}/counsel-done", guarded(E::CounselDone, post, commands::counsel_done))
        .route("/pharmacy/{rx_id}/close", guarded(E::Close, post, commands::close))
        .route("/pharmacy/{rx_id}/reverse-dispense", guarded(E::ReverseDispense, post, commands::reverse_dispense))
        .route("/pharmacy/inventory/check/{drug_code}", guarded(E::InventoryCheck, get, inventory::check))
        .route("/pharmacy/inventory/reorder", guarded(E::InventoryReorder, post, inventory::reorder))
        .route("/pharmacy/adverse-events", guarded(E::AdverseEvent, post, report_adverse_event))
        .route("/pharmacy/{rx_id}/scan-station", guarded(E::ArmScanStation, post, devices::arm))
        .route("/devices/scans", guarded(E::DeviceScan, post, devices::scan))
        .route("/devices/print-jobs", guarded(E::DevicePrintJobs, get, devices::print_jobs))
        .route("/devices/print-jobs/{id}/status", guarded(E::DevicePrintJobStatus, post, devices::print_job_status))
        .route(
            "/chemo/orders",
            guarded(E::ChemoOrders, post, super::chemo::create_order).merge(guarded(
                E::ChemoOrders,
                get,
                super::chemo::list_orders,
            )),
        )
        .route("/chemo/orders/{id}", guarded(E::ChemoOrders, get, super::chemo::get_order))
        .route("/chemo/orders/{id}/actions", guarded(E::ChemoOrders, post, super::chemo::act))
        .route("/chemo/regimens/{id}/propose", guarded(E::ChemoPublish, post, super::chemo::propose))
        .route("/chemo/regimens/{id}/publish", guarded(E::ChemoPublish, post, super::chemo::publish))
        .route(
            "/pharmacy/{rx_id}/explanations",
            guarded(E::PostExplanation, post, explanations::post).merge(guarded(
                E::ListExplanations,
                get,
                explanations::list,
            )),
        )
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
    let actor = Actor { principal: &principal, correlation_id: &correlation_id };
    Ok(Json(operations::queue(&state.storage, actor, &filter).await?))
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
            (Endpoint::ReverseDispense, CommandKind::ReverseDispense),
            (Endpoint::AdverseEvent, CommandKind::ReportAdverseEvent),
            (Endpoint::ArmScanStation, CommandKind::Dispense),
            (Endpoint::DeviceScan, CommandKind::BarcodeScanned),
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
        for e in [
            Endpoint::Approve,
            Endpoint::Dispense,
            Endpoint::PrintLabel,
            Endpoint::CounselDone,
            Endpoint::Close,
            Endpoint::ReverseDispense,
        ] {
            assert!(authorize(&agent, e).is_err(), "{e:?}");
        }
    }
}
