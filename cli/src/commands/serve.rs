//! `pprl serve`: the trusted third party as a service (the `pprl-server` crate), and
//! `pprl serve audit verify`, which recomputes the audit chain of a data directory's database.
//!
//! Secrets come from files only: the server admin's token (`--admin-token-file`) and the
//! PostgreSQL password (`--database-password-file`); neither is ever an argument.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow, bail};
use clap::{Args, Subcommand};

/// `pprl serve`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = false)]
pub struct ServeArgs {
    /// A maintenance command instead of serving.
    #[command(subcommand)]
    pub action: Option<ServeAction>,
    /// The data directory: the SQLite database, uploads and results (created on first start,
    /// readable by its owner only).
    #[arg(long, value_name = "DIR", default_value = "pprl-data", global = true)]
    pub data_dir: PathBuf,
    /// A PostgreSQL database (`postgres://user@host:port/db`) instead of SQLite in the data
    /// directory; put no password in it, give `--database-password-file`.
    #[arg(long, value_name = "URL", global = true)]
    pub database: Option<String>,
    /// File holding the PostgreSQL password.
    #[arg(long, value_name = "PATH", global = true)]
    pub database_password_file: Option<PathBuf>,
    /// Address to listen on (port 0: any free port; the address is printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// File holding the server admin's token (at least 32 characters), who creates projects.
    #[arg(long, value_name = "PATH")]
    pub admin_token_file: Option<PathBuf>,
    /// TOML file of limits and options (keys: max_upload_bytes, max_records, max_parties,
    /// max_comparisons, max_candidates, token_ttl_s, join_code_ttl_s, lease_s, match_threads,
    /// run_start_delay_ms, retention_s, anonlink_compat, anonlink_similarity_scores; see
    /// docs/service.md).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Serve HTTPS with this certificate chain (PEM); needs `--tls-key`.
    #[arg(long, value_name = "PATH", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of `--tls-cert` (PEM, readable by the server's user only).
    #[arg(long, value_name = "PATH", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP on an address other than loopback (only behind a TLS-terminating
    /// proxy on the same host or network segment you trust; see docs/service.md).
    #[arg(long)]
    pub allow_insecure_public_http: bool,
}

/// `pprl serve <action>`.
#[derive(Debug, Subcommand)]
pub enum ServeAction {
    /// The audit trail.
    #[command(subcommand)]
    Audit(AuditAction),
}

/// `pprl serve audit <action>`.
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Recompute the hash chain and name the first broken entry (exit 1 if there is one).
    Verify,
}

/// Runs `pprl serve`.
pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let database = database_url(args)?;
    let rt = pprl_server::runtime().context("cannot start the async runtime")?;
    match &args.action {
        Some(ServeAction::Audit(AuditAction::Verify)) => rt.block_on(verify(args, database)),
        None => rt.block_on(serve(args, database)),
    }
}

async fn serve(args: &ServeArgs, database: Option<String>) -> anyhow::Result<()> {
    let Some(admin) = args.admin_token_file.clone() else {
        bail!("give --admin-token-file FILE: the server admin's token, who creates projects");
    };
    let limits = match &args.config {
        Some(p) => pprl_server::Limits::from_file(p)?,
        None => pprl_server::Limits::default(),
    };
    if let Some(w) = pprl::keys::permission_warning(&admin) {
        super::warn("key-readable", &w);
    }
    pprl_server::init_logging();
    let opts = pprl_server::ServeOptions {
        listen: args.listen,
        data_dir: args.data_dir.clone(),
        database,
        admin_token_file: Some(admin),
        limits,
        allow_insecure_public_http: args.allow_insecure_public_http,
        tls: match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => {
                if let Some(w) = pprl::keys::permission_warning(key) {
                    super::warn("key-readable", &w);
                }
                Some(pprl_server::TlsFiles {
                    cert: cert.clone(),
                    key: key.clone(),
                })
            }
            _ => None,
        },
    };
    let scheme = if opts.tls.is_some() { "https" } else { "http" };
    pprl_server::serve(opts, |addr| {
        let mut out = std::io::stdout();
        let _ = writeln!(out, "listening on {scheme}://{addr}");
        let _ = out.flush();
    })
    .await
    .map_err(|e| {
        let code = e.code();
        anyhow!(e).context(format!("pprl serve [{code}]"))
    })
}

async fn verify(args: &ServeArgs, database: Option<String>) -> anyhow::Result<()> {
    if database.is_none() && !args.data_dir.join("pprl.db").is_file() {
        bail!(
            "{} holds no pprl serve database (pprl.db)",
            super::shown(&args.data_dir)
        );
    }
    let pool = pprl_server::open_db(&args.data_dir, database.as_deref()).await?;
    let v = pprl_server::audit::verify(&pool).await?;
    match v.broken {
        None => {
            println!(
                "audit chain intact: {} entries, head {}",
                v.rows,
                v.head.as_deref().unwrap_or("(empty)")
            );
            Ok(())
        }
        Some(b) => bail!(
            "audit chain broken at entry {} ({}): the entry or one before it was changed or \
             removed",
            b.seq,
            match b.reason.as_str() {
                "hash" => "its content does not match its hash",
                "prev_hash" => "it does not follow the entry before it",
                _ => "an entry is missing or out of order",
            }
        ),
    }
}

/// The database URL, with the password from its file.
fn database_url(args: &ServeArgs) -> anyhow::Result<Option<String>> {
    let Some(url) = &args.database else {
        if args.database_password_file.is_some() {
            bail!("--database-password-file needs --database");
        }
        return Ok(None);
    };
    pprl_server::db::engine(url)?;
    let Some(pw) = &args.database_password_file else {
        return Ok(Some(url.clone()));
    };
    Ok(Some(with_password(url, &read_password(pw)?)?))
}

fn read_password(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the password file {}", super::shown(path)))?;
    Ok(text.trim_end_matches(['\n', '\r']).to_string())
}

/// `postgres://user@host/db` with `password` inserted, percent-encoded.
fn with_password(url: &str, password: &str) -> anyhow::Result<String> {
    let (scheme, rest) = url.split_at(url.find("://").map(|i| i + 3).unwrap_or(0));
    let at = rest.find('@');
    let slash = rest.find('/').unwrap_or(rest.len());
    let Some(at) = at.filter(|&a| a < slash) else {
        bail!("--database must name the user (postgres://USER@HOST/DB) to use a password file");
    };
    if rest[..at].contains(':') {
        bail!("--database already holds a password; remove it and keep only the file");
    }
    let mut enc = String::new();
    for b in password.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            enc.push(b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(format!("{scheme}{}:{enc}{}", &rest[..at], &rest[at..]))
}

#[cfg(test)]
mod tests {
    use super::with_password;

    #[test]
    fn the_password_is_percent_encoded_into_the_url() {
        assert_eq!(
            with_password("postgres://u@h:5/db", "p@ss:/w").unwrap(),
            "postgres://u:p%40ss%3A%2Fw@h:5/db"
        );
        assert!(with_password("postgres://h/db", "p").is_err());
        assert!(with_password("postgres://u:x@h/db", "p").is_err());
    }
}
