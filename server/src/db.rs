//! The database: SQLite (a file in the data directory) or PostgreSQL, through sqlx's `Any`
//! driver, with one set of migrations for both.
//!
//! Queries are plain runtime SQL with `$1, $2, ...` parameters (both engines accept them), so
//! nothing needs a database at build time. Migrations are embedded with `include_str!` and
//! applied at start; sqlx records them in `_sqlx_migrations` and refuses a changed one.

use std::borrow::Cow;
use std::path::Path;

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// The migrations, in order.
fn migrator() -> Migrator {
    let m = |version, description: &'static str, sql: &'static str| {
        Migration::new(
            version,
            Cow::Borrowed(description),
            MigrationType::Simple,
            Cow::Borrowed(sql),
            false,
        )
    };
    Migrator {
        migrations: Cow::Owned(vec![
            m(1, "init", include_str!("../migrations/0001_init.sql")),
            m(
                2,
                "compat retention",
                include_str!("../migrations/0002_compat_retention.sql"),
            ),
        ]),
        ..Migrator::DEFAULT
    }
}

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The database that could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// Connecting failed (the URL's password is never shown).
    #[error("cannot open the database ({engine}): {source}")]
    Connect {
        /// `sqlite` or `postgresql`.
        engine: &'static str,
        /// Why.
        source: sqlx::Error,
    },
    /// A migration failed.
    #[error("cannot apply the database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The URL is neither `sqlite:` nor `postgres://`.
    #[error("the database URL must start with postgres:// or postgresql:// (or sqlite:)")]
    Scheme,
}

/// The SQLite URL of the database file in `data_dir`.
pub fn sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", data_dir.join("pprl.db").display())
}

/// The engine of a URL.
pub fn engine(url: &str) -> Result<Engine, DbError> {
    if url.starts_with("sqlite:") {
        Ok(Engine::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Engine::Postgres)
    } else {
        Err(DbError::Scheme)
    }
}

/// Opens the database and applies the migrations.
pub async fn open(url: &str) -> Result<AnyPool, DbError> {
    sqlx::any::install_default_drivers();
    let engine = engine(url)?;
    let name = match engine {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgresql",
    };
    let pool = AnyPoolOptions::new()
        .max_connections(if engine == Engine::Sqlite { 4 } else { 8 })
        .connect(url)
        .await
        .map_err(|source| DbError::Connect {
            engine: name,
            source,
        })?;
    if engine == Engine::Sqlite {
        // One writer, readers alongside it; persistent in the file.
        sqlx::query("PRAGMA journal_mode = WAL")
            .execute(&pool)
            .await
            .map_err(|source| DbError::Connect {
                engine: name,
                source,
            })?;
    }
    migrator().run(&pool).await?;
    Ok(pool)
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A fresh random id: 16 lower-case hex characters (64 bits).
pub fn new_id() -> String {
    hex::encode(random::<8>())
}

/// `N` random bytes from the operating system.
pub fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the operating system's random source failed");
    b
}
