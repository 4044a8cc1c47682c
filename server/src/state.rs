//! What every request handler shares: the database, the data directory, the limits, the
//! admin credential's hash and the worker's wake-up signal.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sqlx::AnyPool;

use crate::config::Limits;

/// The shared state (cheap to clone).
#[derive(Clone)]
pub struct AppState(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub db: AnyPool,
    pub data_dir: PathBuf,
    pub limits: Limits,
    /// SHA-256 of the server admin token, when the server was given one.
    pub admin_hash: Option<[u8; 32]>,
    /// Serialises audit appends of this process (the chain's `seq` key refuses forks anyway).
    pub audit_lock: tokio::sync::Mutex<()>,
    /// Wakes the run worker when a run is queued.
    pub wake: tokio::sync::Notify,
    /// This process's worker name, for leases.
    pub worker_id: String,
    /// Uploads with a request in progress (a second concurrent append is refused).
    pub uploading: std::sync::Mutex<std::collections::HashSet<String>>,
    /// The SHA-256 of each receiving upload's bytes so far, with their count, kept between its
    /// requests so that the commit need not read the file again for it (lost at a restart:
    /// the commit then hashes the file).
    pub digests: std::sync::Mutex<std::collections::HashMap<String, (i64, sha2::Sha256)>>,
}

impl AppState {
    /// State over an open (migrated) database; `admin_token` is the server admin's token as
    /// read from its file, if any.
    pub fn new(
        db: AnyPool,
        data_dir: &Path,
        limits: Limits,
        admin_token: Option<&str>,
    ) -> AppState {
        AppState(Arc::new(Inner {
            db,
            data_dir: data_dir.to_path_buf(),
            limits,
            admin_hash: admin_token.map(|t| crate::auth::sha256(t.as_bytes())),
            audit_lock: tokio::sync::Mutex::new(()),
            wake: tokio::sync::Notify::new(),
            worker_id: crate::db::new_id(),
            uploading: Default::default(),
            digests: Default::default(),
        }))
    }

    /// The database pool.
    pub fn db(&self) -> &AnyPool {
        &self.0.db
    }

    /// The limits.
    pub fn limits(&self) -> &Limits {
        &self.0.limits
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.0.data_dir
    }
}
