//! Runs as jobs in the database, with leases: no queue server, no Celery.
//!
//! A worker claims the oldest queued run, or a running one whose lease has lapsed (its
//! worker died), in one conditional `UPDATE`, renews the lease while it works, and finishes
//! with a conditional `UPDATE` that only the lease holder can make. Matching runs on a rayon
//! pool inside `spawn_blocking`, never on the async workers. The match is deterministic, so a
//! run picked up again after a crash gives the same links. Cancelling sets a flag that the
//! renewal task sees; the match's progress callback then unwinds out of the library (without
//! a panic message) and the run is marked cancelled. At shutdown the match unwinds the same
//! way and the run goes back to the queue, for the next start.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use pprl::linkage::blocking::BlockingRequest;
use pprl::linkage::job::{MatchOptions, MatchReport, Threshold, match_files};
use pprl::linkage::solve::Solver;
use pprl::linkage::threshold::AutoOptions;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use utoipa::ToSchema;

use crate::audit;
use crate::db::now;
use crate::results;
use crate::state::AppState;

/// A threshold: a number in `0..=1`, or `"auto"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ThresholdSpec {
    /// This value.
    Fixed(f64),
    /// `"auto"`: chosen from the scores.
    Auto(String),
}

/// How a run matches (stored with the run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// The threshold.
    pub threshold: ThresholdSpec,
    /// With `"auto"`: the threshold to use when the scores show no separable matches.
    #[serde(default)]
    pub fallback: Option<f64>,
    /// `greedy` (default), `optimal` or `none`.
    #[serde(default = "greedy")]
    pub solver: String,
    /// `none` (default: every pair compared), `keys`, `lsh` or `auto`.
    #[serde(default = "no_blocking")]
    pub blocking: String,
}

fn greedy() -> String {
    "greedy".into()
}

fn no_blocking() -> String {
    "none".into()
}

/// A run's options that the library refuses, as `(code, detail)`.
pub type SpecError = (&'static str, String);

impl RunSpec {
    /// The library's options for this spec.
    pub fn options(&self) -> Result<MatchOptions, SpecError> {
        let bad = |d: &str| ("run-invalid", d.to_string());
        let threshold = match &self.threshold {
            ThresholdSpec::Fixed(t) if (0.0..=1.0).contains(t) => Threshold::Fixed(*t),
            ThresholdSpec::Auto(a) if a == "auto" => Threshold::Auto(AutoOptions {
                fallback: self.fallback,
                ..AutoOptions::default()
            }),
            _ => return Err(bad("threshold must be a number in 0..=1 or \"auto\"")),
        };
        let solver = match self.solver.as_str() {
            "greedy" => Solver::Greedy,
            "optimal" => Solver::Optimal,
            "none" => Solver::None,
            _ => return Err(bad("solver must be greedy, optimal or none")),
        };
        let mut blocking = BlockingRequest::default();
        match self.blocking.as_str() {
            "none" => {}
            "keys" => blocking.keys = true,
            "lsh" => blocking.lsh = true,
            "auto" => blocking.auto = true,
            _ => return Err(bad("blocking must be none, keys, lsh or auto")),
        }
        Ok(MatchOptions {
            threshold,
            solver,
            blocking,
            scores: true,
            ..MatchOptions::default()
        })
    }
}

/// The marker the progress callback unwinds with when a run is cancelled.
struct Cancelled;

/// The marker it unwinds with when the server shuts down.
struct Stopping;

/// How often the lease renewal and a fault drill's start delay look at their flags.
const STOP_POLL: Duration = Duration::from_millis(50);

/// Runs the worker loop until `stop` is set.
pub async fn worker(state: AppState, stop: Arc<AtomicBool>) {
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(state.limits().match_threads.unwrap_or(0))
        .thread_name(|i| format!("pprl-match-{i}"))
        .build()
    {
        Ok(p) => Arc::new(p),
        Err(e) => {
            tracing::error!(error = %e, "cannot start the matching pool");
            return;
        }
    };
    while !stop.load(Ordering::Relaxed) {
        match claim(&state).await {
            Ok(Some(run)) => execute(&state, &pool, run, &stop).await,
            Ok(None) => {
                let wait = Duration::from_millis(500);
                let _ = tokio::time::timeout(wait, state.0.wake.notified()).await;
            }
            Err(e) => {
                tracing::error!(error = %e, "claiming a run failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// A claimed run.
struct Claimed {
    id: String,
    project: String,
    spec: RunSpec,
}

async fn claim(state: &AppState) -> Result<Option<Claimed>, sqlx::Error> {
    let t = now();
    let lease = state.limits().lease_s as i64;
    let free = "(state = 'queued' OR (state = 'running' AND lease_until < $3)) \
                AND cancel_requested = 0";
    let sql = format!(
        "UPDATE runs SET state = 'running', stage = 'matching', lease_owner = $1, \
         lease_until = $2, attempts = attempts + 1 WHERE id = (SELECT id FROM runs WHERE {free} \
         ORDER BY created_at, id LIMIT 1) AND {free} RETURNING id, project_id, spec"
    );
    let row = sqlx::query(&sql)
        .bind(&state.0.worker_id)
        .bind(t + lease)
        .bind(t)
        .fetch_optional(state.db())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let spec: String = row.try_get("spec")?;
    let spec = serde_json::from_str(&spec).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(Some(Claimed {
        id: row.try_get("id")?,
        project: row.try_get("project_id")?,
        spec,
    }))
}

/// Runs `run` to its end and records it (only while this worker holds the lease). When `stop`
/// is set (the server is shutting down) the match unwinds at its next progress report and the
/// run is left to [`release`], which queues it again.
async fn execute(
    state: &AppState,
    pool: &Arc<rayon::ThreadPool>,
    run: Claimed,
    stop: &Arc<AtomicBool>,
) {
    let progress = Arc::new(AtomicU64::new(0));
    let cancel = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let renew = tokio::spawn(renew_lease(
        state.clone(),
        run.id.clone(),
        progress.clone(),
        cancel.clone(),
        done.clone(),
    ));
    let _ = audit::append(
        state,
        "run.started",
        "system",
        Some(&run.project),
        json!({"run": run.id, "worker": state.0.worker_id}),
    )
    .await;
    let until =
        tokio::time::Instant::now() + Duration::from_millis(state.limits().run_start_delay_ms);
    while !stop.load(Ordering::Relaxed) && tokio::time::Instant::now() < until {
        tokio::time::sleep_until(until.min(tokio::time::Instant::now() + STOP_POLL)).await;
    }
    let outcome = match crate::api::uploads::committed(state, &run.project).await {
        _ if stop.load(Ordering::Relaxed) => Err(Failure::Stopped),
        Ok(files) => {
            let paths: Vec<PathBuf> = files.into_iter().map(|(_, p, _)| p).collect();
            match_on_pool(pool, &run.spec, paths, &progress, &cancel, stop).await
        }
        Err(e) => Err(Failure::Error(e.code, e.detail)),
    };
    let outcome = match outcome {
        Ok(report) => {
            let cap = state.limits().max_candidates;
            if report.stats.candidates > cap {
                Err(Failure::Error(
                    "run-candidate-cap",
                    format!(
                        "the run found {} candidate pairs, more than this server's \
                         max_candidates ({cap}); raise the threshold or block",
                        report.stats.candidates
                    ),
                ))
            } else {
                set_stage(state, &run.id, "writing-results").await;
                results::write(state, &run.project, &run.id, report).await
            }
        }
        Err(f) => Err(f),
    };
    done.store(true, Ordering::Relaxed);
    let _ = renew.await;
    if matches!(outcome, Err(Failure::Stopped)) {
        // Shutting down: `release` gives the run back to the queue, for the next start.
        return;
    }
    let owner = &state.0.worker_id;
    let (sql, event, detail) = match &outcome {
        Ok(summary) => (
            "UPDATE runs SET state = 'completed', stage = 'done', summary = $1, \
             finished_at = $2, lease_until = NULL WHERE id = $3 AND lease_owner = $4",
            "run.finished",
            json!({"run": run.id, "outcome": "completed",
                   "matches": summary.get("matches")}),
        ),
        Err(Failure::Cancelled | Failure::Stopped) => (
            "UPDATE runs SET state = 'cancelled', stage = 'cancelled', summary = $1, \
             finished_at = $2, lease_until = NULL WHERE id = $3 AND lease_owner = $4",
            "run.finished",
            json!({"run": run.id, "outcome": "cancelled"}),
        ),
        Err(Failure::Error(code, _)) => (
            "UPDATE runs SET state = 'error', stage = 'error', summary = $1, finished_at = $2, \
             lease_until = NULL WHERE id = $3 AND lease_owner = $4",
            "run.finished",
            json!({"run": run.id, "outcome": "error", "code": code}),
        ),
    };
    let summary = match &outcome {
        Ok(s) => s.to_string(),
        Err(Failure::Error(code, detail)) => json!({"code": code, "detail": detail}).to_string(),
        Err(Failure::Cancelled | Failure::Stopped) => "{}".into(),
    };
    let res = sqlx::query(sql)
        .bind(summary)
        .bind(now())
        .bind(&run.id)
        .bind(owner)
        .execute(state.db())
        .await;
    match res {
        Ok(r) if r.rows_affected() == 1 => {
            let _ = audit::append(state, event, "system", Some(&run.project), detail).await;
        }
        Ok(_) => tracing::warn!(run = %run.id, "lost the lease; another worker finishes the run"),
        Err(e) => tracing::error!(error = %e, "recording a run failed"),
    }
}

/// Why a run did not complete.
pub enum Failure {
    /// It was cancelled.
    Cancelled,
    /// The server is shutting down: the run goes back to the queue.
    Stopped,
    /// It failed with this code and detail.
    Error(&'static str, String),
}

async fn match_on_pool(
    pool: &Arc<rayon::ThreadPool>,
    spec: &RunSpec,
    paths: Vec<PathBuf>,
    progress: &Arc<AtomicU64>,
    cancel: &Arc<AtomicBool>,
    stop: &Arc<AtomicBool>,
) -> Result<MatchReport, Failure> {
    let opts = spec.options().map_err(|(c, d)| Failure::Error(c, d))?;
    let (pool, progress, cancel, stop) =
        (pool.clone(), progress.clone(), cancel.clone(), stop.clone());
    let joined = tokio::task::spawn_blocking(move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.install(|| {
                let tick = |n: u64| {
                    progress.fetch_add(n, Ordering::Relaxed);
                    if cancel.load(Ordering::Relaxed) {
                        std::panic::resume_unwind(Box::new(Cancelled));
                    }
                    if stop.load(Ordering::Relaxed) {
                        std::panic::resume_unwind(Box::new(Stopping));
                    }
                };
                match_files(&paths, &opts, &tick)
            })
        }))
    })
    .await;
    match joined {
        Ok(Ok(Ok(report))) => Ok(report),
        Ok(Ok(Err(e))) => Err(Failure::Error(
            pprl::error::Coded::code(&e),
            // The library's message names the file (a path in the data directory) and the
            // fact; it never quotes encodings.
            e.to_string(),
        )),
        Ok(Err(payload)) if payload.is::<Cancelled>() => Err(Failure::Cancelled),
        Ok(Err(payload)) if payload.is::<Stopping>() => Err(Failure::Stopped),
        Ok(Err(_)) | Err(_) => Err(Failure::Error(
            "server-internal",
            "the match failed; the server log has the cause".into(),
        )),
    }
}

/// Renews the lease and records progress every third of the lease, until `done`; sets
/// `cancel` when the run was cancelled or the lease was lost.
async fn renew_lease(
    state: AppState,
    run: String,
    progress: Arc<AtomicU64>,
    cancel: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
) {
    let lease = state.limits().lease_s as i64;
    // A third of the lease at most, and often enough for the status endpoint's progress.
    let every = Duration::from_millis((lease as u64 * 1000 / 3).min(500));
    while !done.load(Ordering::Relaxed) {
        // In steps, so that a finished (or stopped) run is not held up by a whole period.
        let next = tokio::time::Instant::now() + every;
        while !done.load(Ordering::Relaxed) && tokio::time::Instant::now() < next {
            tokio::time::sleep_until(next.min(tokio::time::Instant::now() + STOP_POLL)).await;
        }
        if done.load(Ordering::Relaxed) {
            break;
        }
        let r = sqlx::query(
            "UPDATE runs SET lease_until = $1, progress = $2 WHERE id = $3 AND lease_owner = $4 \
             RETURNING cancel_requested",
        )
        .bind(now() + lease)
        .bind(progress.load(Ordering::Relaxed) as i64)
        .bind(&run)
        .bind(&state.0.worker_id)
        .fetch_optional(state.db())
        .await;
        match r {
            Ok(Some(row)) => {
                if row.try_get::<i64, _>("cancel_requested").unwrap_or(0) != 0 {
                    cancel.store(true, Ordering::Relaxed);
                }
            }
            Ok(None) => cancel.store(true, Ordering::Relaxed),
            Err(e) => tracing::warn!(error = %e, "renewing a lease failed"),
        }
    }
}

async fn set_stage(state: &AppState, run: &str, stage: &str) {
    let _ = sqlx::query("UPDATE runs SET stage = $1 WHERE id = $2 AND lease_owner = $3")
        .bind(stage)
        .bind(run)
        .bind(&state.0.worker_id)
        .execute(state.db())
        .await;
}

/// Gives back this worker's leases at shutdown, so that the next start picks the runs up at
/// once rather than after the lease.
pub async fn release(state: &AppState) {
    let _ = sqlx::query(
        "UPDATE runs SET state = 'queued', stage = 'queued', lease_owner = NULL, \
         lease_until = NULL WHERE state = 'running' AND lease_owner = $1",
    )
    .bind(&state.0.worker_id)
    .execute(state.db())
    .await;
}
