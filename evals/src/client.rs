//! The MCP client side: one real connection to an rxgate server, through rmcp.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Stdio;

use anyhow::{Context, bail};
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;

use crate::judge::ToolResult;

/// Where the server is.
#[derive(Debug, Clone)]
pub enum ServerTarget {
    /// Start `BIN mcp` as a child process and speak MCP over its stdio.
    ChildProcess(PathBuf),
    /// An `rxgate serve` at this Streamable HTTP URL (`http://127.0.0.1:8080/mcp`); the
    /// bearer token comes from `$RXGATE_TOKEN`.
    StreamableHttp(String),
}

/// An initialised MCP session and the tools the server lists.
pub struct Connection {
    service: RunningService<RoleClient, ()>,
    /// Names from `tools/list`.
    pub tools: BTreeSet<String>,
    /// `name version` from the server's `initialize` answer.
    pub server: String,
}

impl Connection {
    /// Connects and lists the tools.
    pub async fn connect(target: &ServerTarget) -> anyhow::Result<Connection> {
        let service = match target {
            ServerTarget::ChildProcess(bin) => {
                if !bin.exists() {
                    bail!("server binary {} does not exist (set RXGATE_BIN or --server-bin)", bin.display());
                }
                let mut command = tokio::process::Command::new(bin);
                command.arg("mcp");
                // The server's own errors (a broken registry) should reach the person running the evals.
                let (transport, _) = TokioChildProcess::builder(command)
                    .stderr(Stdio::inherit())
                    .spawn()
                    .with_context(|| format!("starting {} mcp", bin.display()))?;
                ().serve(transport).await.with_context(|| format!("MCP handshake with {} mcp", bin.display()))?
            }
            ServerTarget::StreamableHttp(url) => {
                // `rxgate serve` guards /mcp with a bearer token: `rxgate token --role agent --sub evals`.
                let token = std::env::var("RXGATE_TOKEN").ok().filter(|t| !t.is_empty());
                return Connection::connect_http(url, token.as_deref()).await;
            }
        };
        Connection::listed(service).await
    }

    /// Connects to an `rxgate serve` at `url` (`…/mcp`) with this bearer token (the
    /// explainer agent and tests, which hold their token rather than read the environment).
    pub async fn connect_http(url: &str, token: Option<&str>) -> anyhow::Result<Connection> {
        let mut config = StreamableHttpClientTransportConfig::with_uri(url);
        if let Some(token) = token {
            config = config.auth_header(token.to_string());
        }
        let transport = StreamableHttpClientTransport::from_config(config);
        let service =
            ().serve(transport).await.with_context(|| format!("MCP handshake with {url} (is the token valid?)"))?;
        Connection::listed(service).await
    }

    async fn listed(service: RunningService<RoleClient, ()>) -> anyhow::Result<Connection> {
        let server = service
            .peer_info()
            .and_then(|i| i.server_info.as_ref().map(|s| format!("{} {}", s.name, s.version)))
            .unwrap_or_else(|| "unknown server".to_string());
        let tools =
            service.list_all_tools().await.context("tools/list")?.into_iter().map(|t| t.name.to_string()).collect();
        Ok(Connection { service, tools, server })
    }

    /// Whether the server lists `tool`.
    pub fn has(&self, tool: &str) -> bool {
        self.tools.contains(tool)
    }

    /// Calls a tool. A tool error (`isError: true`) is a result, not an `Err`: only a broken
    /// connection is.
    pub async fn call(&self, tool: &str, args: &Value) -> anyhow::Result<ToolResult> {
        let Value::Object(arguments) = args.clone() else {
            bail!("arguments for {tool} must be a JSON object");
        };
        let params = CallToolRequestParams::new(tool.to_string()).with_arguments(arguments);
        let result = self.service.call_tool(params).await.with_context(|| format!("tools/call {tool}"))?;
        let text: String =
            result.content.iter().filter_map(|c| c.as_text().map(|t| t.text.clone())).collect::<Vec<_>>().join(" ");
        if result.is_error.unwrap_or(false) {
            return Ok(ToolResult::ToolError(text));
        }
        match result.structured_content {
            Some(v) => Ok(ToolResult::Ok(v)),
            None => Ok(ToolResult::ToolError(format!("no structuredContent (text: {text})"))),
        }
    }

    /// Ends the session; the child process exits when its stdin closes.
    pub async fn close(self) {
        let _ = self.service.cancel().await;
    }
}
