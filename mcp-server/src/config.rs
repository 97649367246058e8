//! Configuration of `rxgate serve` and `rxgate token`: what the operator typed (flags, with
//! environment variables as fallbacks), turned once into a [`Config`] of real values.
//!
//! The JWT secret is deliberately not a flag: a command line is visible to every user of
//! the machine (`ps`). It comes from `RXGATE_JWT_SECRET` or from a file in the data dir.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::auth::{JwtSecret, Role, Ttl};

/// Where the data directory is unless told otherwise.
const DEFAULT_DATA_DIR: &str = "./data";

/// Flags shared by every command that needs the signing secret.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct DataDirArgs {
    /// Data directory: SQLite file and the generated JWT secret.
    #[arg(long, env = "RXGATE_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub(crate) data_dir: PathBuf,
}

impl DataDirArgs {
    /// `RXGATE_JWT_SECRET`, else the secret file in the data dir (generated when absent).
    pub(crate) fn jwt_secret(&self) -> anyhow::Result<JwtSecret> {
        let from_env = std::env::var("RXGATE_JWT_SECRET").ok().filter(|s| !s.is_empty());
        JwtSecret::resolve(from_env, &self.data_dir)
    }
}

/// `rxgate serve` as typed.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct ServeArgs {
    /// Address to listen on. Loopback by default; port 0 picks a free port.
    #[arg(long, env = "RXGATE_ADDR", default_value = "127.0.0.1:8080")]
    pub(crate) addr: SocketAddr,
    /// Start with the demo pharmacy (formulary, patients, a queue of prescriptions).
    #[arg(long)]
    pub(crate) demo: bool,
    #[command(flatten)]
    pub(crate) data: DataDirArgs,
    /// Knowledge registry folder (default: the built-in registry).
    #[arg(long, env = "RXGATE_KNOWLEDGE_DIR")]
    pub(crate) knowledge: Option<PathBuf>,
    /// Database URL: `sqlite://…` or `postgres://…` (default: SQLite in the data dir).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub(crate) database_url: Option<String>,
    /// The URL clients use to reach this server, for the OAuth metadata (default:
    /// `http://<bound address>`).
    #[arg(long, env = "RXGATE_PUBLIC_URL")]
    pub(crate) public_url: Option<String>,
    /// A browser origin allowed on /mcp besides loopback ones (repeatable; exact
    /// `scheme://host[:port]`).
    #[arg(long = "allow-origin", env = "RXGATE_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub(crate) allowed_origins: Vec<String>,
    /// A `Host` accepted on /mcp besides loopback names and the bound address (repeatable).
    #[arg(long = "allow-host", env = "RXGATE_ALLOWED_HOSTS", value_delimiter = ',')]
    pub(crate) allowed_hosts: Vec<String>,
    /// Longest a request may take, in milliseconds (the change feed and MCP streams, which
    /// are meant to stay open, are exempt); then 503 `timeout`.
    #[arg(long, env = "RXGATE_REQUEST_TIMEOUT_MS", default_value_t = 30_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) request_timeout_ms: u64,
    /// Requests handled at once (same exemptions); one more gets 503 `busy` with
    /// `Retry-After` rather than waiting in an unbounded pile.
    #[arg(long, env = "RXGATE_MAX_IN_FLIGHT", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_in_flight: u32,
}

/// `rxgate token` as typed.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct TokenArgs {
    /// pharmacist, physician, agent, device or admin.
    #[arg(long, value_parser = Role::parse)]
    pub(crate) role: Role,
    /// The subject: a surrogate user id (it is logged and audited; not a person's name).
    #[arg(long, value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub(crate) sub: String,
    /// Lifetime: a number with s, m, h or d.
    #[arg(long, default_value = "1h", value_parser = Ttl::parse)]
    pub(crate) ttl: Ttl,
    #[command(flatten)]
    pub(crate) data: DataDirArgs,
}

/// Everything `rxgate serve` needs, resolved.
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) addr: SocketAddr,
    pub(crate) demo: bool,
    pub(crate) data_dir: PathBuf,
    pub(crate) knowledge_dir: Option<PathBuf>,
    pub(crate) database_url: Option<String>,
    pub(crate) public_url: Option<String>,
    pub(crate) allowed_origins: Vec<String>,
    pub(crate) allowed_hosts: Vec<String>,
    pub(crate) jwt_secret: JwtSecret,
    pub(crate) limits: crate::http::Limits,
}

impl Config {
    pub(crate) fn from_args(args: ServeArgs) -> anyhow::Result<Config> {
        let jwt_secret = args.data.jwt_secret()?;
        if let Some(url) = &args.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            anyhow::bail!("--public-url must start with http:// or https://, got {url:?}");
        }
        Ok(Config {
            addr: args.addr,
            demo: args.demo,
            data_dir: args.data.data_dir,
            knowledge_dir: args.knowledge,
            database_url: args.database_url.filter(|u| !u.is_empty()),
            public_url: args.public_url.map(|u| u.trim_end_matches('/').to_string()),
            allowed_origins: args.allowed_origins.into_iter().filter(|o| !o.is_empty()).collect(),
            allowed_hosts: args.allowed_hosts.into_iter().filter(|h| !h.is_empty()).collect(),
            jwt_secret,
            limits: crate::http::Limits::new(
                std::time::Duration::from_millis(args.request_timeout_ms),
                args.max_in_flight as usize,
            ),
        })
    }
}
