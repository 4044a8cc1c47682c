//! `pprl serve`: the trusted third party of privacy-preserving record linkage as a service.
//!
//! Departments upload keyed Bloom-filter encodings (`.clk`, clkhash JSON, anonlink binary);
//! the service matches them with the `pprl` library and gives each role its own view of the
//! result. What flows in: HTTP requests with bearer tokens; what flows out: problem documents,
//! CSV views and an audit trail. Modules, in the order a request meets them:
//!
//! * [`api`]: the axum router under `/api/v1` and its OpenAPI document;
//! * [`auth`]: tokens and join codes (256-bit, stored as hashes, compared in constant time);
//! * [`api::uploads`]: resumable, checksummed, atomically committed uploads;
//! * [`jobs`]: runs as database jobs with leases, matched on a rayon pool;
//! * [`results`]: the per-role result files;
//! * [`audit`]: the hash-chained audit trail and its verification;
//! * [`db`], [`config`], [`state`], [`error`]: the database (SQLite or PostgreSQL, one set of
//!   migrations), limits, shared state and RFC 7807 errors.
//!
//! The server never holds a token in the clear after handing it out, never logs a header, a
//! body or a query string, and keeps the matching off the async workers.

pub mod api;
pub mod audit;
pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod jobs;
pub mod results;
pub mod retention;
pub mod state;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub use config::Limits;
pub use state::AppState;

/// How to start the server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The data directory (created if missing).
    pub data_dir: PathBuf,
    /// A PostgreSQL URL; `None`: SQLite in the data directory.
    pub database: Option<String>,
    /// The file holding the server admin's token.
    pub admin_token_file: Option<PathBuf>,
    /// Limits.
    pub limits: Limits,
    /// Listen with plain HTTP on an address other than loopback.
    pub allow_insecure_public_http: bool,
    /// Serve HTTPS with this certificate chain and private key (PEM files).
    pub tls: Option<TlsFiles>,
}

/// A certificate chain and its private key, PEM.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The certificate chain.
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Plain HTTP on a public address without the explicit permission.
    #[error(
        "{0} is not a loopback address: plain HTTP there would expose tokens and encodings to \
         the network"
    )]
    PublicHttp(SocketAddr),
    /// The admin token file is unusable.
    #[error("the admin token file {path} {problem}")]
    AdminToken {
        /// The file.
        path: String,
        /// What is wrong (never its content).
        problem: String,
    },
    /// The data directory could not be made or used.
    #[error("the data directory {path}: {source}")]
    DataDir {
        /// The folder.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The database.
    #[error(transparent)]
    Db(#[from] db::DbError),
    /// The certificate or key could not be used (the message never quotes the key).
    #[error("cannot use the TLS certificate {cert} and key {key}: {source}")]
    Tls {
        /// The certificate file.
        cert: String,
        /// The key file.
        key: String,
        /// Why.
        source: std::io::Error,
    },
    /// Listening failed.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

impl ServeError {
    /// A stable code for the CLI.
    pub fn code(&self) -> &'static str {
        match self {
            ServeError::PublicHttp(_) => "serve-public-http",
            ServeError::AdminToken { .. } => "serve-admin-token",
            ServeError::DataDir { .. } => "serve-data-dir",
            ServeError::Db(_) => "serve-database",
            ServeError::Tls { .. } => "serve-tls",
            ServeError::Listen { .. } => "serve-listen",
        }
    }
}

/// Reads the admin token: one line of at least 32 characters, nothing else.
pub fn read_admin_token(path: &Path) -> Result<String, ServeError> {
    let err = |problem: &str| ServeError::AdminToken {
        path: path.display().to_string(),
        problem: problem.into(),
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(&format!("cannot be read: {e}")))?;
    let token = text.trim();
    if token.len() < 32 || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(err(
            "must hold one token of at least 32 characters without spaces (e.g. `pprl keygen` \
             output in hex, or `openssl rand -hex 32`)",
        ));
    }
    Ok(token.to_string())
}

/// Creates the data directory (mode 0700) with its `uploads` and `runs` folders.
pub fn prepare_data_dir(dir: &Path) -> Result<(), ServeError> {
    let err = |source| ServeError::DataDir {
        path: dir.display().to_string(),
        source,
    };
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir).map_err(err)?;
    for sub in ["uploads", "runs"] {
        b.create(dir.join(sub)).map_err(err)?;
    }
    results::link_key(dir).map_err(err)?;
    Ok(())
}

/// Opens (and migrates) the database of these options.
pub async fn open_db(data_dir: &Path, database: Option<&str>) -> Result<sqlx::AnyPool, ServeError> {
    let url = match database {
        Some(u) => u.to_string(),
        None => db::sqlite_url(data_dir),
    };
    Ok(db::open(&url).await?)
}

/// Runs the server until ctrl-c or SIGTERM; `on_listen` is told the bound address (port 0
/// picks a free one).
pub async fn serve(
    opts: ServeOptions,
    on_listen: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    if !opts.listen.ip().is_loopback() && !opts.allow_insecure_public_http && opts.tls.is_none() {
        return Err(ServeError::PublicHttp(opts.listen));
    }
    let tls = match &opts.tls {
        Some(t) => Some(
            axum_server::tls_rustls::RustlsConfig::from_pem_file(&t.cert, &t.key)
                .await
                .map_err(|source| ServeError::Tls {
                    cert: t.cert.display().to_string(),
                    key: t.key.display().to_string(),
                    source,
                })?,
        ),
        None => None,
    };
    let admin = opts
        .admin_token_file
        .as_deref()
        .map(read_admin_token)
        .transpose()?;
    prepare_data_dir(&opts.data_dir)?;
    let pool = open_db(&opts.data_dir, opts.database.as_deref()).await?;
    let state = AppState::new(pool, &opts.data_dir, opts.limits.clone(), admin.as_deref());
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|source| ServeError::Listen {
            addr: opts.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Listen {
        addr: opts.listen,
        source,
    })?;
    let stop = Arc::new(AtomicBool::new(false));
    let worker = tokio::spawn(jobs::worker(state.clone(), stop.clone()));
    let sweeper = tokio::spawn(retention::sweeper(state.clone(), stop.clone()));
    audit::record_start(&state, &opts.limits).await;
    on_listen(addr);
    let app = api::router(state.clone());
    let served = match tls {
        None => {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown_signal())
            .await
        }
        Some(config) => {
            let handle = axum_server::Handle::<SocketAddr>::new();
            let h = handle.clone();
            tokio::spawn(async move {
                shutdown_signal().await;
                h.graceful_shutdown(Some(std::time::Duration::from_secs(30)));
            });
            let std_listener = listener
                .into_std()
                .map_err(|source| ServeError::Listen { addr, source })?;
            axum_server::from_tcp_rustls(std_listener, config)
                .map_err(|source| ServeError::Listen { addr, source })?
                .handle(handle)
                .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                .await
        }
    };
    // The worker stops claiming; a match in progress unwinds at its next progress report (a
    // blocking thread would otherwise keep the process alive until the match ended), and a run
    // whose match has ended is still recorded. Its lease is then given back.
    stop.store(true, Ordering::Relaxed);
    state.0.wake.notify_waiters();
    let mut worker = worker;
    if tokio::time::timeout(std::time::Duration::from_secs(30), &mut worker)
        .await
        .is_err()
    {
        worker.abort();
    }
    sweeper.abort();
    jobs::release(&state).await;
    let _ = audit::append(
        &state,
        "server.stopped",
        "system",
        None,
        serde_json::json!({}),
    )
    .await;
    state.db().close().await;
    served.map_err(|source| ServeError::Listen { addr, source })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

/// A multi-threaded tokio runtime for the CLI (which has none of its own).
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// Logs to standard error at `info` (`PPRL_LOG=debug` for more): request lines and events,
/// never headers, bodies or query strings.
pub fn init_logging() {
    let level = match std::env::var("PPRL_LOG").as_deref() {
        Ok("debug") => tracing::Level::DEBUG,
        Ok("warn") => tracing::Level::WARN,
        _ => tracing::Level::INFO,
    };
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}
