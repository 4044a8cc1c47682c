//! Limits of the service, from the TOML file given to `pprl serve --config FILE`.
//!
//! Every key is optional; a missing key keeps its default, an unknown key is refused (a typo
//! must not silently leave a limit at its default).

use std::path::Path;

use serde::{Deserialize, Serialize};

/// What the service accepts and how long credentials live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest upload, in bytes (default 8 GiB).
    pub max_upload_bytes: u64,
    /// Most records in one upload (default 50 million).
    pub max_records: u64,
    /// Most parties in one project (default 16).
    pub max_parties: u64,
    /// Most comparisons a run may need, the product of the parties' record counts summed over
    /// the pairs of parties (default 10^12); a run over it fails before matching starts.
    pub max_comparisons: u64,
    /// Most candidate pairs a run may produce (default 100 million, anonlink-entity-service's
    /// solver limit); a run over it fails with `run-candidate-cap` and keeps no result.
    pub max_candidates: u64,
    /// Lifetime of a party, reader or admin token, in seconds (default 90 days).
    pub token_ttl_s: u64,
    /// Lifetime of a join code, in seconds (default 7 days).
    pub join_code_ttl_s: u64,
    /// A worker's lease on a run, in seconds (default 30): a run whose worker stopped
    /// renewing it for this long is picked up again.
    pub lease_s: u64,
    /// Worker threads for matching (default: one per core).
    pub match_threads: Option<usize>,
    /// Milliseconds a worker waits after claiming a run, before matching (default 0). For
    /// fault drills: it gives an operator (or a test) the time to kill a worker mid-run and
    /// see the run picked up again.
    pub run_start_delay_ms: u64,
    /// Seconds after which uploads (from their commit) and run results (from the run's end)
    /// are deleted (default: kept until the project is deleted).
    pub retention_s: Option<u64>,
    /// Serve the anonlink-entity-service API under `/anonlink/api/v1` (default false: its
    /// model hands every party's token to the project's creator; see docs/service.md).
    pub anonlink_compat: bool,
    /// Let anonlink projects of result type `similarity_scores` be created (default false:
    /// scores enable re-identification).
    pub anonlink_similarity_scores: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_upload_bytes: 8 << 30,
            max_records: 50_000_000,
            max_parties: 16,
            max_comparisons: 1_000_000_000_000,
            max_candidates: 100_000_000,
            token_ttl_s: 90 * 24 * 3600,
            join_code_ttl_s: 7 * 24 * 3600,
            lease_s: 30,
            match_threads: None,
            run_start_delay_ms: 0,
            retention_s: None,
            anonlink_compat: false,
            anonlink_similarity_scores: false,
        }
    }
}

/// A configuration file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// It could not be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// It is not a valid configuration.
    #[error("the configuration file {path} is not valid: {detail}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong (from the TOML parser: the key and position, no values).
        detail: String,
    },
}

impl Limits {
    /// Reads limits from a TOML file.
    pub fn from_file(path: &Path) -> Result<Limits, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        let limits: Limits = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: shown.clone(),
            detail: e.message().to_string(),
        })?;
        if limits.lease_s < 2 || limits.max_parties == 0 || limits.retention_s == Some(0) {
            return Err(ConfigError::Invalid {
                path: shown,
                detail: "lease_s must be at least 2, max_parties at least 1 and retention_s \
                         at least 1"
                    .into(),
            });
        }
        Ok(limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_file_keeps_defaults_and_unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "max_upload_bytes = 1000\nlease_s = 5\n").unwrap();
        let l = Limits::from_file(&p).unwrap();
        assert_eq!(l.max_upload_bytes, 1000);
        assert_eq!(l.lease_s, 5);
        assert_eq!(l.max_records, Limits::default().max_records);
        std::fs::write(&p, "max_upload_byte = 1000\n").unwrap();
        assert!(matches!(
            Limits::from_file(&p),
            Err(ConfigError::Invalid { .. })
        ));
    }
}
