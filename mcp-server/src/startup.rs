//! Building and running `rxgate serve`: [`Application::build`] loads the knowledge, binds
//! the listener (port 0 picks a free one, which tests use) and assembles the router;
//! [`Application::run_until_stopped`] serves until Ctrl-C or SIGTERM, then stops
//! gracefully: no new connections, open MCP streams are ended, requests in flight finish.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use std::os::unix::fs::DirBuilderExt;

use anyhow::Context;
use rxgate_storage::Storage;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::JwtKeys;
use crate::config::Config;
use crate::http::{self, AppState, McpOptions};
use crate::knowledge_store::{self, KnowledgeStore};
use crate::telemetry::Metrics;

pub(crate) struct Application {
    listener: TcpListener,
    router: axum::Router,
    address: SocketAddr,
    /// Cancelled when shutdown begins; rmcp ends its streams on it.
    shutdown: CancellationToken,
    knowledge: Arc<KnowledgeStore>,
    knowledge_dir: Option<std::path::PathBuf>,
    storage: Storage,
}

impl Application {
    pub(crate) async fn build(config: Config) -> anyhow::Result<Application> {
        let snapshot = knowledge_store::load_initial(config.knowledge_dir.as_deref())?;
        tracing::info!(version = %snapshot.version, hash = %snapshot.hash, "knowledge loaded");
        let knowledge = Arc::new(KnowledgeStore::new(snapshot));

        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&config.data_dir)
            .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
        let database = match &config.database_url {
            Some(url) => url.clone(),
            None => config.data_dir.join(SQLITE_FILE).display().to_string(),
        };
        let storage = Storage::connect(&database)
            .await
            .with_context(|| format!("opening and migrating the database {}", redact(&database)))?;
        tracing::info!(backend = ?storage.backend(), database = %redact(&database), "database ready");
        if config.demo {
            crate::demo::seed(&storage, &knowledge.current()).await.context("seeding the demo pharmacy")?;
        }

        let listener = TcpListener::bind(config.addr).await.with_context(|| format!("binding {}", config.addr))?;
        let address = listener.local_addr().context("reading the bound address")?;
        let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{address}"));

        let mut allowed_hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"].into_iter().map(String::from).collect();
        if !address.ip().is_unspecified() {
            allowed_hosts.push(address.ip().to_string());
        }
        if let Some(host) = public_url.split("://").nth(1).and_then(|rest| rest.split(['/', ':']).next())
            && !host.is_empty()
        {
            allowed_hosts.push(host.to_string());
        }
        allowed_hosts.extend(config.allowed_hosts.iter().cloned());

        let state = AppState {
            storage: storage.clone(),
            knowledge: knowledge.clone(),
            keys: Arc::new(JwtKeys::new(&config.jwt_secret)),
            metrics: Arc::new(Metrics::new()),
            public_url: public_url.into(),
            extra_origins: config.allowed_origins.clone().into(),
            sync: Arc::new(crate::sync::SyncConfig::from_env()?),
            cds_clients: Arc::new(crate::cds_auth::CdsClients::from_env()?),
        };
        let shutdown = CancellationToken::new();
        crate::sync::spawn_worker(state.clone(), state.sync.clone(), shutdown.child_token());
        let mcp = McpOptions { allowed_hosts, shutdown: shutdown.child_token() };
        let router = http::router(state, mcp, config.limits.clone());
        Ok(Application { listener, router, address, shutdown, knowledge, knowledge_dir: config.knowledge_dir, storage })
    }

    pub(crate) fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until Ctrl-C or SIGTERM.
    pub(crate) async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes, then shuts down gracefully.
    pub(crate) async fn run_until(self, stop: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        if let Some(dir) = self.knowledge_dir.clone() {
            tokio::spawn(knowledge_store::reload_on_sighup(self.knowledge.clone(), dir));
        }
        let shutdown = self.shutdown.clone();
        let signal = async move {
            stop.await;
            tracing::info!("shutting down: finishing requests in flight");
            // End open MCP streams, or graceful shutdown would wait for them forever.
            shutdown.cancel();
        };
        axum::serve(self.listener, self.router).with_graceful_shutdown(signal).await.context("serving HTTP")?;
        self.storage.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// The SQLite file in the data directory, when no `DATABASE_URL` is given.
const SQLITE_FILE: &str = "rxgate.db";

/// The embedded database's file in a data directory.
pub(crate) fn sqlite_path(data_dir: &std::path::Path) -> String {
    data_dir.join(SQLITE_FILE).display().to_string()
}

/// A database URL fit for logs and error messages: no password.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => format!("{}://***{}", &url[..scheme_end], &url[at..]),
        _ => url.to_string(),
    }
}

/// Completes on the first Ctrl-C (SIGINT) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn database_passwords_never_reach_the_logs() {
        assert_eq!(redact("postgres://rx:s3cret@db:5432/rxgate"), "postgres://***@db:5432/rxgate");
        assert_eq!(redact("./data/rxgate.db"), "./data/rxgate.db");
        assert_eq!(redact("postgres://db/rxgate"), "postgres://db/rxgate");
    }
}
