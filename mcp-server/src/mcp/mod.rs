//! The MCP face of rxgate: one `ServerHandler` serving the tool table, used over stdio
//! (`rxgate mcp`) and, later, Streamable HTTP.

pub(crate) mod tools;
pub(crate) mod workflow_tools;

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};

use crate::auth::Principal;
use crate::knowledge_store::KnowledgeStore;
use crate::telemetry::{Metrics, ToolOutcome};
use tools::{CallContext, TOOLS};
use workflow_tools::{WORKFLOW_TOOLS, WorkflowContext};

/// Where the workflow tools find the database.
#[derive(Clone)]
pub(crate) enum StorageSource {
    /// `rxgate serve`: the server's pool.
    Ready(rxgate_storage::Storage),
    /// `rxgate mcp`: opened on the first workflow call, so an assistant that only uses the
    /// pure checks never creates or touches a database.
    Lazy { target: Arc<str>, cell: Arc<tokio::sync::OnceCell<rxgate_storage::Storage>> },
}

impl StorageSource {
    pub(crate) fn lazy(target: String) -> StorageSource {
        StorageSource::Lazy { target: target.into(), cell: Arc::new(tokio::sync::OnceCell::new()) }
    }

    async fn get(&self) -> Result<rxgate_storage::Storage, String> {
        match self {
            StorageSource::Ready(storage) => Ok(storage.clone()),
            StorageSource::Lazy { target, cell } => cell
                .get_or_try_init(|| async {
                    if !target.contains("://")
                        && let Some(dir) = std::path::Path::new(&**target).parent()
                    {
                        std::fs::create_dir_all(dir)
                            .map_err(|e| rxgate_storage::Error::Invalid(format!("creating {}: {e}", dir.display())))?;
                    }
                    rxgate_storage::Storage::connect(target).await
                })
                .await
                .cloned()
                .map_err(|e| {
                    tracing::error!(error = %e, "opening the prescription database");
                    "internal: the prescription database cannot be opened; see the server log".to_string()
                }),
        }
    }
}

const INSTRUCTIONS: &str = "rxgate checks prescriptions with deterministic tools over a sourced knowledge registry. \
Tools only inform: a pharmacist decides. Every result names the knowledge version and hash. Inputs the registry does \
not know are listed in `unknown` and were not checked — never read their absence as safe.";

#[derive(Clone)]
pub(crate) struct RxgateMcp {
    knowledge: Arc<KnowledgeStore>,
    /// The principal of every call on stdio. `None` over HTTP: there each request carries
    /// its own, put into the request's extensions by the bearer-token check, and a request
    /// without one is refused rather than given a default.
    principal: Option<Principal>,
    metrics: Option<Arc<Metrics>>,
    storage: StorageSource,
}

impl RxgateMcp {
    /// For `rxgate mcp` on stdio: every call runs as principal `agent`.
    pub(crate) fn new(knowledge: Arc<KnowledgeStore>, storage: StorageSource) -> RxgateMcp {
        RxgateMcp { knowledge, principal: Some(crate::auth::local_agent()), metrics: None, storage }
    }

    /// For Streamable HTTP: the principal comes from each request's bearer token.
    pub(crate) fn over_http(
        knowledge: Arc<KnowledgeStore>,
        metrics: Arc<Metrics>,
        storage: rxgate_storage::Storage,
    ) -> RxgateMcp {
        RxgateMcp { knowledge, principal: None, metrics: Some(metrics), storage: StorageSource::Ready(storage) }
    }

    fn principal(&self, context: &RequestContext<RoleServer>) -> Result<Principal, McpError> {
        let from_http = context
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Principal>());
        match (from_http, &self.principal) {
            (Some(p), _) => Ok(p.clone()),
            (None, Some(p)) => Ok(p.clone()),
            (None, None) => Err(McpError::invalid_request("no authenticated principal for this request", None)),
        }
    }

    fn count(&self, tool: &str, outcome: ToolOutcome) {
        if let Some(metrics) = &self.metrics {
            metrics.record_tool_call(tool, outcome);
        }
    }
}

fn definition(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    read_only: bool,
    input_schema: Arc<rmcp::model::JsonObject>,
    output_schema: Arc<rmcp::model::JsonObject>,
) -> Tool {
    let mut annotations = ToolAnnotations::default();
    annotations.title = Some(title.to_string());
    annotations.read_only_hint = Some(read_only);
    annotations.destructive_hint = Some(false);
    // Verifying again records a new verification; proposing again adds a proposal.
    annotations.idempotent_hint = Some(read_only);
    annotations.open_world_hint = Some(false);
    let mut tool = Tool::new(name, description, input_schema);
    tool.title = Some(title.to_string());
    tool.output_schema = Some(output_schema);
    tool.annotations = Some(annotations);
    tool
}

fn tool_definition(spec: &tools::ToolSpec) -> Tool {
    definition(spec.name, spec.title, spec.description, true, (spec.input_schema)(), (spec.output_schema)())
}

fn workflow_tool_definition(spec: &workflow_tools::WorkflowTool) -> Tool {
    definition(spec.name, spec.title, spec.description, spec.read_only, (spec.input_schema)(), (spec.output_schema)())
}

fn all_tools() -> Vec<Tool> {
    TOOLS.iter().map(tool_definition).chain(WORKFLOW_TOOLS.iter().map(workflow_tool_definition)).collect()
}

fn to_result(outcome: Result<crate::wire::ToolOutput, String>) -> CallToolResult {
    match outcome {
        Ok(out) => {
            let mut result = CallToolResult::structured(out.structured);
            result.content = vec![ContentBlock::text(out.summary)];
            result
        }
        Err(message) => CallToolResult::error(vec![ContentBlock::text(message)]),
    }
}

/// Runs one tool. Bad input and tools that cannot do their job become tool errors
/// (`isError: true`) with a message a person can act on, so an assistant can correct its
/// call; they never look like a result.
pub(crate) fn call(ctx: &CallContext, name: &str, arguments: serde_json::Value) -> Option<CallToolResult> {
    let spec = tools::find(name)?;
    Some(to_result((spec.run)(ctx, arguments)))
}

impl ServerHandler for RxgateMcp {
    fn get_info(&self) -> ServerConfig {
        let mut info = ServerConfig::new(ServerCapabilities::builder().enable_tools().build());
        let mut implementation = Implementation::new("rxgate", env!("CARGO_PKG_VERSION"));
        implementation.title = Some("rxgate pharmacy-safety gateway".to_string());
        info.server_info = implementation;
        info.instructions = Some(INSTRUCTIONS.to_string());
        info
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(all_tools()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        tools::find(name).map(tool_definition).or_else(|| workflow_tools::find(name).map(workflow_tool_definition))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let ctx = CallContext {
            snapshot: self.knowledge.current(),
            today: chrono::Local::now().date_naive(),
            principal: self.principal(&context)?,
        };
        let arguments = serde_json::Value::Object(request.arguments.unwrap_or_default());
        let result = match workflow_tools::find(&request.name) {
            Some(spec) => {
                let workflow = WorkflowContext {
                    storage: match self.storage.get().await {
                        Ok(storage) => storage,
                        Err(message) => return Ok(CallToolResult::error(vec![ContentBlock::text(message)]).into()),
                    },
                    knowledge: self.knowledge.clone(),
                    principal: ctx.principal.clone(),
                    correlation_id: correlation_id(&context),
                };
                Some(to_result((spec.run)(&workflow, arguments).await))
            }
            None => call(&ctx, &request.name, arguments),
        };
        match result {
            Some(result) => {
                let outcome = if result.is_error == Some(true) { ToolOutcome::ToolError } else { ToolOutcome::Ok };
                self.count(&request.name, outcome);
                Ok(result.into())
            }
            None => Err({
                self.count("unknown", ToolOutcome::UnknownTool);
                McpError::invalid_params(
                    format!(
                        "unknown tool `{}`; tools: {}",
                        request.name,
                        all_tools().iter().map(|t| t.name.to_string()).collect::<Vec<_>>().join(", ")
                    ),
                    None,
                )
            }),
        }
    }
}

/// The request's correlation id over HTTP (set by the correlation middleware), else a new
/// one per call (stdio), so every audited workflow call can be traced.
fn correlation_id(context: &RequestContext<RoleServer>) -> String {
    context
        .extensions
        .get::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<crate::http::CorrelationId>())
        .map(|c| c.0.clone())
        .unwrap_or_else(|| format!("mcp-{}", hex::encode(rand_bytes())))
}

fn rand_bytes() -> [u8; 8] {
    let mut bytes = [0u8; 8];
    // A correlation id only needs to be unique enough to follow one call through the logs.
    let _ = getrandom::fill(&mut bytes);
    bytes
}
