//! Logs and metrics.
//!
//! Logs are JSON lines on stderr in every mode (stdout is the MCP protocol in `rxgate mcp`).
//! Metrics live in one [`Metrics`] value per server, not in a process-wide registry, so two
//! servers in one process (tests) never share counters.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Sets up JSON logs on stderr, filtered by `RUST_LOG` (else `default`).
pub(crate) fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter(filter).json().init();
}

/// The content type of [`Metrics::render`]: OpenMetrics text, which Prometheus scrapes
/// natively.
pub(crate) const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ToolLabels {
    tool: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KnowledgeLabels {
    version: String,
    hash: String,
}

/// How a tool call ended, as counted in `rxgate_mcp_tool_calls_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ToolOutcome {
    /// A structured result.
    Ok,
    /// An MCP tool error (`isError: true`): bad input or a tool that could not do its job.
    ToolError,
    /// The tool name is not in the table.
    UnknownTool,
}

impl ToolOutcome {
    fn as_str(self) -> &'static str {
        match self {
            ToolOutcome::Ok => "ok",
            ToolOutcome::ToolError => "tool_error",
            ToolOutcome::UnknownTool => "unknown_tool",
        }
    }
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~8 s: the checks answer in milliseconds, a slow database in seconds.
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

/// The server's metrics. Cloning is cheap: the families share their storage.
pub(crate) struct Metrics {
    registry: Registry,
    http_requests: Family<RequestLabels, Counter>,
    http_duration: HistogramFamily<RouteLabels>,
    tool_calls: Family<ToolLabels, Counter>,
    knowledge: Family<KnowledgeLabels, Gauge>,
    /// EHR sync and CDS Hooks (`crate::sync`).
    pub(crate) interop: crate::sync::InteropMetrics,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let mut registry = Registry::with_prefix("rxgate");
        let http_requests = Family::<RequestLabels, Counter>::default();
        let http_duration: HistogramFamily<RouteLabels> = Family::new_with_constructor(latency_histogram);
        let tool_calls = Family::<ToolLabels, Counter>::default();
        let knowledge = Family::<KnowledgeLabels, Gauge>::default();
        registry.register("http_requests", "HTTP requests by method, route and status", http_requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by method and route",
            http_duration.clone(),
        );
        registry.register("mcp_tool_calls", "MCP tool calls by tool and outcome", tool_calls.clone());
        registry.register("knowledge_info", "The knowledge snapshot in force (value 1)", knowledge.clone());
        let interop = crate::sync::InteropMetrics::register(&mut registry);
        Metrics { registry, http_requests, http_duration, tool_calls, knowledge, interop }
    }

    /// `route` is the route template (`/api/v1/pharmacy/{rx_id}/verify`), never the raw
    /// path, so that label values stay few and carry no identifiers.
    pub(crate) fn record_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.http_requests
            .get_or_create(&RequestLabels { method: method.to_string(), route: route.to_string(), status })
            .inc();
        self.http_duration
            .get_or_create(&RouteLabels { method: method.to_string(), route: route.to_string() })
            .observe(seconds);
    }

    /// `tool` must be a name from the tool table (or `unknown`), so the label stays bounded.
    pub(crate) fn record_tool_call(&self, tool: &str, outcome: ToolOutcome) {
        self.tool_calls.get_or_create(&ToolLabels { tool: tool.to_string(), outcome: outcome.as_str() }).inc();
    }

    /// Marks `version`/`hash` as the snapshot in force (and no other).
    pub(crate) fn set_knowledge(&self, version: &str, hash: &str) {
        self.knowledge.clear();
        self.knowledge.get_or_create(&KnowledgeLabels { version: version.to_string(), hash: hash.to_string() }).set(1);
    }

    pub(crate) fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_tool_calls_appear_in_the_exposition() {
        let m = Metrics::new();
        m.record_request("GET", "/healthz", 200, 0.001);
        m.record_tool_call("ddi_check", ToolOutcome::Ok);
        m.record_tool_call("ddi_check", ToolOutcome::ToolError);
        m.set_knowledge("2026.11", "abc");
        let text = m.render();
        assert!(text.contains(r#"rxgate_http_requests_total{method="GET",route="/healthz",status="200"} 1"#), "{text}");
        assert!(text.contains(r#"rxgate_mcp_tool_calls_total{tool="ddi_check",outcome="tool_error"} 1"#), "{text}");
        assert!(text.contains("rxgate_http_request_duration_seconds_bucket"), "{text}");
        assert!(text.contains(r#"rxgate_knowledge_info{version="2026.11",hash="abc"} 1"#), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }
}
