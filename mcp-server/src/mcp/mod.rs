//! The MCP face of rxgate: one `ServerHandler` serving the tool table, used over stdio
//! (`rxgate mcp`) and, later, Streamable HTTP.

pub(crate) mod tools;

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
}

impl RxgateMcp {
    /// For `rxgate mcp` on stdio: every call runs as principal `agent`.
    pub(crate) fn new(knowledge: Arc<KnowledgeStore>) -> RxgateMcp {
        RxgateMcp { knowledge, principal: Some(crate::auth::local_agent()), metrics: None }
    }

    /// For Streamable HTTP: the principal comes from each request's bearer token.
    pub(crate) fn over_http(knowledge: Arc<KnowledgeStore>, metrics: Arc<Metrics>) -> RxgateMcp {
        RxgateMcp { knowledge, principal: None, metrics: Some(metrics) }
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

fn tool_definition(spec: &tools::ToolSpec) -> Tool {
    let mut annotations = ToolAnnotations::default();
    annotations.title = Some(spec.title.to_string());
    annotations.read_only_hint = Some(true);
    annotations.destructive_hint = Some(false);
    annotations.idempotent_hint = Some(true);
    annotations.open_world_hint = Some(false);
    let mut tool = Tool::new(spec.name, spec.description, (spec.input_schema)());
    tool.title = Some(spec.title.to_string());
    tool.output_schema = Some((spec.output_schema)());
    tool.annotations = Some(annotations);
    tool
}

/// Runs one tool. Bad input and tools that cannot do their job become tool errors
/// (`isError: true`) with a message a person can act on, so an assistant can correct its
/// call; they never look like a result.
pub(crate) fn call(ctx: &CallContext, name: &str, arguments: serde_json::Value) -> Option<CallToolResult> {
    let spec = tools::find(name)?;
    Some(match (spec.run)(ctx, arguments) {
        Ok(out) => {
            let mut result = CallToolResult::structured(out.structured);
            result.content = vec![ContentBlock::text(out.summary)];
            result
        }
        Err(message) => CallToolResult::error(vec![ContentBlock::text(message)]),
    })
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
        Ok(ListToolsResult::with_all_items(TOOLS.iter().map(tool_definition).collect()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        tools::find(name).map(tool_definition)
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
        match call(&ctx, &request.name, arguments) {
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
                        TOOLS.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
                    ),
                    None,
                )
            }),
        }
    }
}
