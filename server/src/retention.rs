//! Data retention: deleting a project, a run's results, and whatever is older than the
//! configured retention period.
//!
//! What flows in: a project or run id (from an authorised request) or the clock (the sweeper);
//! what flows out: removed files, rows marked `deleted` / `purged_at`, and one audit event per
//! deletion with counts only. Rows stay (the audit trail and the operator's page refer to
//! them); what they pointed at (encodings, result views) is gone. A deleted project answers
//! 404 everywhere and its tokens and join codes stop working at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;
use sqlx::Row;

use crate::audit;
use crate::db::now;
use crate::state::AppState;

/// What a deletion removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Removed {
    /// Uploads (committed or partial) whose files were removed.
    pub uploads: u64,
    /// Runs whose result views were removed.
    pub runs: u64,
}

async fn remove_path(path: &std::path::Path) {
    let r = if path.is_dir() {
        tokio::fs::remove_dir_all(path).await
    } else {
        tokio::fs::remove_file(path).await
    };
    if let Err(e) = r
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(error = %e, "removing a file failed");
    }
}

/// Removes one run's result views and marks it purged (idempotent).
pub async fn purge_run(state: &AppState, run: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE runs SET purged_at = $1 WHERE id = $2 AND purged_at IS NULL")
        .bind(now())
        .bind(run)
        .execute(state.db())
        .await?;
    remove_path(&crate::results::dir(state, run)).await;
    Ok(done.rows_affected() == 1)
}

/// Removes one upload's file (committed or partial) and marks it deleted.
async fn purge_upload(state: &AppState, project: &str, upload: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE uploads SET state = 'deleted' WHERE id = $1")
        .bind(upload)
        .execute(state.db())
        .await?;
    for path in crate::api::uploads::paths(state, project, upload) {
        remove_path(&path).await;
    }
    Ok(())
}

/// Deletes a project: revokes its tokens and join codes, cancels its runs, removes its
/// uploads and results, and records `project.deleted` by `actor`.
pub async fn delete_project(
    state: &AppState,
    project: &str,
    actor: &str,
) -> Result<Removed, sqlx::Error> {
    let t = now();
    let done =
        sqlx::query("UPDATE projects SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL")
            .bind(t)
            .bind(project)
            .execute(state.db())
            .await?;
    if done.rows_affected() == 0 {
        return Ok(Removed::default());
    }
    sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE project_id = $2 AND revoked_at IS NULL")
        .bind(t)
        .bind(project)
        .execute(state.db())
        .await?;
    sqlx::query("UPDATE join_codes SET expires_at = $1 WHERE project_id = $2 AND expires_at > $1")
        .bind(t)
        .bind(project)
        .execute(state.db())
        .await?;
    sqlx::query(
        "UPDATE runs SET cancel_requested = 1, state = CASE WHEN state = 'queued' THEN \
         'cancelled' ELSE state END, stage = CASE WHEN state = 'queued' THEN 'cancelled' \
         ELSE stage END WHERE project_id = $1",
    )
    .bind(project)
    .execute(state.db())
    .await?;
    let mut removed = Removed::default();
    let uploads =
        sqlx::query("SELECT id FROM uploads WHERE project_id = $1 AND state <> 'deleted'")
            .bind(project)
            .fetch_all(state.db())
            .await?;
    for r in &uploads {
        purge_upload(state, project, &r.try_get::<String, _>("id")?).await?;
        removed.uploads += 1;
    }
    remove_path(&state.data_dir().join("uploads").join(project)).await;
    let runs = sqlx::query("SELECT id FROM runs WHERE project_id = $1")
        .bind(project)
        .fetch_all(state.db())
        .await?;
    for r in &runs {
        if purge_run(state, &r.try_get::<String, _>("id")?).await? {
            removed.runs += 1;
        }
    }
    audit::append(
        state,
        "project.deleted",
        actor,
        Some(project),
        json!({"uploads_removed": removed.uploads, "runs_purged": removed.runs}),
    )
    .await?;
    Ok(removed)
}

/// Removes uploads and results older than `retention_s`: uploads by when they were committed
/// (or started, for partial ones), results by when their run finished. Records one
/// `retention.purged` event per project touched.
pub async fn sweep(state: &AppState, retention_s: u64) -> Result<Removed, sqlx::Error> {
    let cutoff = now() - retention_s as i64;
    let mut total = Removed::default();
    let mut per_project: std::collections::BTreeMap<String, Removed> = Default::default();
    let uploads = sqlx::query(
        "SELECT id, project_id FROM uploads WHERE state <> 'deleted' AND \
         COALESCE(committed_at, created_at) < $1",
    )
    .bind(cutoff)
    .fetch_all(state.db())
    .await?;
    for r in &uploads {
        let project: String = r.try_get("project_id")?;
        purge_upload(state, &project, &r.try_get::<String, _>("id")?).await?;
        per_project.entry(project).or_default().uploads += 1;
        total.uploads += 1;
    }
    let runs = sqlx::query(
        "SELECT id, project_id FROM runs WHERE purged_at IS NULL AND finished_at IS NOT NULL \
         AND finished_at < $1",
    )
    .bind(cutoff)
    .fetch_all(state.db())
    .await?;
    for r in &runs {
        if purge_run(state, &r.try_get::<String, _>("id")?).await? {
            per_project
                .entry(r.try_get("project_id")?)
                .or_default()
                .runs += 1;
            total.runs += 1;
        }
    }
    for (project, removed) in per_project {
        audit::append(
            state,
            "retention.purged",
            "system",
            Some(&project),
            json!({"retention_s": retention_s, "uploads_removed": removed.uploads,
                   "runs_purged": removed.runs}),
        )
        .await?;
    }
    Ok(total)
}

/// Sweeps every `retention_s / 10` (at least every second, at most every ten minutes) until
/// `stop`; does nothing when no retention period is configured.
pub async fn sweeper(state: AppState, stop: Arc<AtomicBool>) {
    let Some(retention) = state.limits().retention_s else {
        return;
    };
    let every = Duration::from_secs((retention / 10).clamp(1, 600));
    while !stop.load(Ordering::Relaxed) {
        if let Err(e) = sweep(&state, retention).await {
            tracing::warn!(error = %e, "the retention sweep failed");
        }
        tokio::time::sleep(every).await;
    }
}
