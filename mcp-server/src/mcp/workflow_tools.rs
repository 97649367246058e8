//! The workflow tools: an assistant's way into the prescription queue. They read, verify
//! and propose through [`crate::operations`] — the same code, gate and audit as the REST
//! API — and none of them approves, dispenses or closes: that needs a pharmacist in the
//! console or on REST, and the gate would refuse an assistant anyway.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use rmcp::model::JsonObject;
use rxgate_guardrails::RxStatus;
use rxgate_storage::{QueueFilter, Storage};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A JSON object in an output schema (`{"type": "object"}`): MCP requires every property
/// schema to be an object schema, which a bare `Value` (schema `true`) is not.
type Object = serde_json::Map<String, Value>;

use super::tools::{input, output};
use crate::auth::Principal;
use crate::http::AppError;
use crate::http::api::{Endpoint, authorize};
use crate::knowledge_store::KnowledgeStore;
use crate::operations::{self, Actor, ProposalIn};
use crate::wire::{ToolOutput, parse_args};

/// What a workflow tool call sees.
pub(crate) struct WorkflowContext {
    pub(crate) storage: Storage,
    pub(crate) knowledge: Arc<KnowledgeStore>,
    pub(crate) principal: Principal,
    pub(crate) correlation_id: String,
}

impl WorkflowContext {
    fn actor(&self) -> Actor<'_> {
        Actor { principal: &self.principal, correlation_id: &self.correlation_id }
    }
}

type ToolFuture<'a> = Pin<Box<dyn Future<Output = Result<ToolOutput, String>> + Send + 'a>>;

pub(crate) struct WorkflowTool {
    pub(crate) name: &'static str,
    pub(crate) title: &'static str,
    pub(crate) description: &'static str,
    /// Whether the tool only reads (an audited read is still a read for the client).
    pub(crate) read_only: bool,
    pub(crate) input_schema: fn() -> Arc<JsonObject>,
    pub(crate) output_schema: fn() -> Arc<JsonObject>,
    pub(crate) run: for<'a> fn(&'a WorkflowContext, Value) -> ToolFuture<'a>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RxQueueInput {
    /// Only prescriptions in these states (e.g. `["ALERTS_RAISED", "HITL_REVIEW"]`); all when absent.
    #[serde(default)]
    status: Vec<String>,
    /// Keyset paging: only prescriptions after this id (the previous answer's `next_after`).
    after: Option<i64>,
    /// At most this many (1–500, default 100).
    limit: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct RxQueueOutput {
    /// Oldest first: `rx_id`, `status`, `verified`, `patient_id`, `items`…
    prescriptions: Vec<Object>,
    /// Pass as `after` for the next page; null on the last page.
    next_after: Option<i64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RxIdInput {
    /// The prescription id (from `rx_queue`).
    rx_id: i64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct RxGetOutput {
    prescription: Object,
    /// The patient facts the checks use (contract `Patient`).
    patient: Object,
    status: String,
    /// The gate's view of each line: status, severity, proposal, decision, dispense.
    lines: Vec<Object>,
    /// The latest stored verification (a `verify_prescription` result with a `view_hash`
    /// per line), or null when none stands behind the current state.
    verification: Option<Object>,
    proposals: Vec<Object>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct RxVerifyOutput {
    rx_id: i64,
    /// The prescription's state after the verification (`ALERTS_RAISED` or `READY_TO_DISPENSE`).
    rx_status: String,
    verification_id: i64,
    ddi_alerts: Vec<Object>,
    allergy_alerts: Vec<Object>,
    dose_warnings: Vec<Object>,
    halal_flags: Vec<Object>,
    generic_suggestions: Vec<Object>,
    highest_severity: Option<String>,
    blocking: bool,
    unknown: Vec<String>,
    lines: Vec<Object>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RxProposeInput {
    rx_id: i64,
    line_no: u32,
    /// `dispense`, `substitute`, `hold` or `cancel`.
    action: String,
    /// Why, in words a pharmacist can check against the findings.
    rationale: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct RxProposeOutput {
    rx_id: i64,
    proposal_id: i64,
    /// Always `pending_pharmacist`: a proposal decides nothing.
    proposal_status: String,
    status: String,
    lines: Vec<Object>,
}

fn refused(e: AppError) -> String {
    e.tool_message()
}

fn rx_queue(ctx: &WorkflowContext, args: Value) -> ToolFuture<'_> {
    Box::pin(async move {
        authorize(&ctx.principal, Endpoint::Queue).map_err(refused)?;
        let input: RxQueueInput = parse_args(args)?;
        let mut statuses = Vec::with_capacity(input.status.len());
        for text in &input.status {
            let status = RxStatus::parse(text).map_err(|e| format!("invalid input at `status`: {e}"))?;
            statuses.push(status.as_str().to_string());
        }
        let limit = input.limit.unwrap_or(100).clamp(1, 500);
        let filter = QueueFilter { statuses, patient_id: None, after_id: input.after, limit: Some(limit) };
        let out = operations::queue(&ctx.storage, ctx.actor(), &filter).await.map_err(refused)?;
        let n = out["prescriptions"].as_array().map_or(0, Vec::len);
        Ok(ToolOutput { summary: format!("{n} prescription(s) in the queue"), structured: out })
    })
}

fn rx_get(ctx: &WorkflowContext, args: Value) -> ToolFuture<'_> {
    Box::pin(async move {
        authorize(&ctx.principal, Endpoint::Queue).map_err(refused)?;
        let input: RxIdInput = parse_args(args)?;
        let out = operations::get(&ctx.storage, &ctx.knowledge, ctx.actor(), input.rx_id).await.map_err(refused)?;
        let summary = format!(
            "prescription {} is {}; {}",
            input.rx_id,
            out["status"].as_str().unwrap_or("?"),
            if out["verification"].is_null() { "not verified yet" } else { "verification attached" }
        );
        Ok(ToolOutput { summary, structured: out })
    })
}

fn rx_verify(ctx: &WorkflowContext, args: Value) -> ToolFuture<'_> {
    Box::pin(async move {
        authorize(&ctx.principal, Endpoint::Verify).map_err(refused)?;
        let input: RxIdInput = parse_args(args)?;
        let out = operations::verify(&ctx.storage, &ctx.knowledge, ctx.actor(), input.rx_id).await.map_err(refused)?;
        let summary = format!(
            "prescription {} verified: {}; highest severity {}{}",
            input.rx_id,
            out["rx_status"].as_str().unwrap_or("?"),
            out["highest_severity"].as_str().unwrap_or("none"),
            if out["blocking"].as_bool() == Some(true) { "; a pharmacist must decide before dispensing" } else { "" }
        );
        Ok(ToolOutput { summary, structured: out })
    })
}

fn rx_propose(ctx: &WorkflowContext, args: Value) -> ToolFuture<'_> {
    Box::pin(async move {
        let input: RxProposeInput = parse_args(args)?;
        let proposal = ProposalIn { line_no: input.line_no, action: &input.action, rationale: &input.rationale };
        let out = operations::propose(&ctx.storage, &ctx.knowledge, ctx.actor(), input.rx_id, proposal)
            .await
            .map_err(refused)?;
        let summary = format!(
            "proposed `{}` for line {} of prescription {}; a pharmacist decides",
            input.action, input.line_no, input.rx_id
        );
        Ok(ToolOutput { summary, structured: out })
    })
}

pub(crate) static WORKFLOW_TOOLS: &[WorkflowTool] = &[
    WorkflowTool {
        name: "rx_queue",
        title: "Prescription queue",
        description: "Lists prescriptions waiting at the pharmacy, oldest first, with their lines and state \
            (RX_RECEIVED, AI_VERIFYING, ALERTS_RAISED, READY_TO_DISPENSE, HITL_REVIEW, …). Filter by `status`. \
            Reading the queue is audited.",
        read_only: true,
        input_schema: input::<RxQueueInput>,
        output_schema: output::<RxQueueOutput>,
        run: rx_queue,
    },
    WorkflowTool {
        name: "rx_get",
        title: "One prescription with its verification",
        description: "One prescription: its lines, the patient facts the checks use, each line's state, finding \
            severity, proposal and decision, and the latest stored verification (the `verify_prescription` result \
            the pharmacist sees). Audited read.",
        read_only: true,
        input_schema: input::<RxIdInput>,
        output_schema: output::<RxGetOutput>,
        run: rx_get,
    },
    WorkflowTool {
        name: "rx_verify",
        title: "Verify a queued prescription and record the alerts",
        description: "Runs every check on the stored prescription on the server (interactions, allergies, doses, \
            halal, generics), records the result and its alerts on the prescription, and moves it to \
            ALERTS_RAISED or READY_TO_DISPENSE. It approves nothing: a pharmacist decides every line.",
        read_only: false,
        input_schema: input::<RxIdInput>,
        output_schema: output::<RxVerifyOutput>,
        run: rx_verify,
    },
    WorkflowTool {
        name: "rx_propose",
        title: "Propose a line decision to the pharmacist",
        description: "Puts a proposed decision (dispense, substitute, hold or cancel) with its rationale in front of \
            a pharmacist for one line of a verified prescription. It decides nothing and cannot be used to approve: \
            a `contraindicated` finding can only be proposed for substitute or cancel.",
        read_only: false,
        input_schema: input::<RxProposeInput>,
        output_schema: output::<RxProposeOutput>,
        run: rx_propose,
    },
];

pub(crate) fn find(name: &str) -> Option<&'static WorkflowTool> {
    WORKFLOW_TOOLS.iter().find(|t| t.name == name)
}
