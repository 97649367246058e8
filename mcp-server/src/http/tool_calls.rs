//! `POST /api/v1/tools/{name}`: the pure checks of the MCP tool table over plain REST, for
//! integrators without an MCP client. Same table, same input and output shapes, same
//! knowledge snapshot: a body that is a tool's `arguments` answers its `structuredContent`.
//! A tool error (bad input, a check that cannot run) is a 400 with the tool's message.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::Value;

use super::middleware::Caller;
use super::{AppError, AppState};
use crate::mcp::tools::{self, CallContext};

pub(super) async fn call(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(name): Path<String>,
    Json(arguments): Json<Value>,
) -> Result<Json<Value>, AppError> {
    let spec = tools::find(&name).ok_or_else(|| AppError::NotFound {
        message: format!(
            "no tool `{name}`; tools: {}",
            tools::TOOLS.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
        ),
    })?;
    let ctx = CallContext { snapshot: state.knowledge.current(), today: chrono::Local::now().date_naive(), principal };
    // The checks are CPU work on one snapshot; keep them off the async workers.
    let out = tokio::task::spawn_blocking(move || (spec.run)(&ctx, arguments))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("tool {name}: {e}")))?;
    match out {
        Ok(out) => Ok(Json(out.structured)),
        Err(message) => Err(AppError::BadRequest { message, details: None }),
    }
}
