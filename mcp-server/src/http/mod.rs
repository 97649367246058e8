//! The HTTP face of `rxgate serve`: one [`router`] with
//!
//! | path | auth | what |
//! |---|---|---|
//! | `/healthz` | none | liveness and the knowledge snapshot in force |
//! | `/metrics` | none | Prometheus (OpenMetrics text) |
//! | `/.well-known/oauth-protected-resource[/mcp]` | none | RFC 9728 metadata |
//! | `/mcp` | bearer, roles [`MCP_ROLES`], local Origin only | MCP Streamable HTTP (rmcp) |
//! | `/api/v1/auth/login` | none (username + password) | console login: argon2 check, bearer token ([`login`]) |
//! | `/api/v1/*` | bearer, per-endpoint roles ([`api`]) | REST of the contract |
//! | `/`, `/console/*` | none (static files; the page logs in through `/api/v1`) | the pharmacist's console ([`console`]) |
//!
//! Layers, outermost first: metrics (every request, by route template) → Origin check
//! (`/mcp`) → bearer token (401) → role (403) → handler.

pub(crate) mod api;
mod cds_hooks;
pub(crate) mod chemo;
mod commands;
mod console;
mod devices;
pub(crate) mod error;
pub(crate) mod explanations;
mod fhir;
mod interop_api;
mod inventory;
mod limits;
pub(crate) mod login;
mod meta;
mod middleware;
mod tool_calls;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use crate::auth::{JwtKeys, Role};
use crate::knowledge_store::KnowledgeStore;
use crate::mcp::RxgateMcp;
use crate::telemetry::Metrics;

pub(crate) use api::patient_blocks;
pub(crate) use error::AppError;
pub(crate) use limits::Limits;
pub(crate) use middleware::CorrelationId;

/// Roles that may use the MCP tools. A `device` (scanner) only records scans and an
/// `admin` takes no clinical action, so neither talks to the clinical tools.
pub(crate) const MCP_ROLES: &[Role] = &[Role::Agent, Role::Pharmacist, Role::Physician];

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) storage: rxgate_storage::Storage,
    pub(crate) knowledge: Arc<KnowledgeStore>,
    pub(crate) keys: Arc<JwtKeys>,
    pub(crate) metrics: Arc<Metrics>,
    /// Where clients reach this server, without a trailing slash (`http://127.0.0.1:8080`);
    /// used in the RFC 9728 metadata and `WWW-Authenticate` challenges.
    pub(crate) public_url: Arc<str>,
    /// Browser origins accepted on `/mcp` besides loopback ones (exact `scheme://host:port`).
    pub(crate) extra_origins: Arc<[String]>,
    /// EHR sync settings (`crate::sync`): webhook URL and secret.
    pub(crate) sync: Arc<crate::sync::SyncConfig>,
    /// CDS clients whose own JWTs are accepted on `/cds-services` (`crate::cds_auth`).
    pub(crate) cds_clients: Arc<crate::cds_auth::CdsClients>,
}

impl AppState {
    fn resource_metadata_url(&self, suffix: &str) -> String {
        format!("{}/.well-known/oauth-protected-resource{suffix}", self.public_url)
    }
}

/// How `/mcp` is served.
pub(crate) struct McpOptions {
    /// `Host` values accepted on `/mcp` (DNS-rebinding protection).
    pub(crate) allowed_hosts: Vec<String>,
    /// Cancelled at shutdown, so that open MCP streams end and the server can stop.
    pub(crate) shutdown: CancellationToken,
}

/// The rmcp service at `/mcp`. Stateless: no MCP session lives in this process, so several
/// `rxgate serve` processes behind one address behave as one, and clients on protocol
/// 2025-11-25 (initialize handshake) and 2026-07-28 (per-request `server/discover`) are
/// both served by the same handler.
fn mcp_service(state: &AppState, options: McpOptions) -> StreamableHttpService<RxgateMcp, NeverSessionManager> {
    let mut origins = middleware::LOOPBACK_ORIGIN_PATTERNS.iter().map(|o| o.to_string()).collect::<Vec<_>>();
    origins.extend(state.extra_origins.iter().map(|o| middleware::with_explicit_port(o)));
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_allowed_hosts(options.allowed_hosts)
        // Our own middleware checks Origin first (with the contract's error body); rmcp's
        // check stays on behind it as a second line.
        .with_allowed_origins(origins)
        .enforce_origin_validation()
        .with_cancellation_token(options.shutdown);
    let knowledge = state.knowledge.clone();
    let metrics = state.metrics.clone();
    let storage = state.storage.clone();
    StreamableHttpService::new(
        move || Ok(RxgateMcp::over_http(knowledge.clone(), metrics.clone(), storage.clone())),
        Arc::new(NeverSessionManager::default()),
        config,
    )
}

pub(crate) fn router(state: AppState, mcp: McpOptions, limits: Limits) -> Router {
    // The console's change feed ends with the server, like the MCP streams.
    let feed_stop = console::FeedStop(mcp.shutdown.clone());
    let mcp_routes = Router::new()
        .route_service("/mcp", mcp_service(&state, mcp))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::guard_mcp));
    // Request/response routes get a deadline and share one in-flight cap (inside the
    // authentication layers: an unauthenticated request is refused before it counts).
    let limited =
        |routes: Router<AppState>| routes.layer(axum::middleware::from_fn_with_state(limits.clone(), limits::enforce));
    let api_routes = limited(api::routes().merge(interop_api::api_routes()))
        .merge(console::feed_routes())
        .layer(axum::Extension(feed_stop))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::authenticate));

    Router::new()
        .route("/healthz", get(meta::healthz))
        .route("/metrics", get(meta::metrics))
        .route("/.well-known/oauth-protected-resource", get(meta::resource_metadata_root))
        .route("/.well-known/oauth-protected-resource/mcp", get(meta::resource_metadata_mcp))
        .merge(mcp_routes)
        .merge(console::pages())
        // The one API route without a bearer token: it is how a console user gets one.
        .merge(limited(Router::new().route("/api/v1/auth/login", post(login::login))))
        .nest("/api/v1", api_routes)
        // Interoperability (issue 11): FHIR R4 and CDS Hooks at the paths those specs use.
        .merge(
            limited(fhir::routes())
                .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::authenticate)),
        )
        .merge(
            limited(cds_hooks::routes())
                .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::authenticate_cds_client)),
        )
        .merge(cds_hooks::public_routes())
        .merge(limited(interop_api::webhook_routes()))
        .fallback(meta::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::track))
        .layer(axum::middleware::from_fn(middleware::correlate))
        .with_state(state)
}
