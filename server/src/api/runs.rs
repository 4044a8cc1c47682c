//! Runs: `POST` queues one (project admin, once every party has committed), `GET` reports
//! its state, stage and progress, `DELETE` cancels it, `GET .../result` streams the caller's
//! view as CSV (the reader: the links; a party: its own ids with opaque link ids).

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use utoipa::{IntoParams, ToSchema};

use super::projects;
use crate::audit;
use crate::auth::{Principal, Role};
use crate::db::{new_id, now};
use crate::error::{ApiError, ApiResult, Problem};
use crate::jobs::RunSpec;
use crate::state::AppState;

/// A run's state.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RunView {
    /// Its id.
    pub run_id: String,
    /// `queued`, `running`, `completed`, `error` or `cancelled`.
    pub state: String,
    /// `queued`, `matching`, `writing-results`, `done`, `error` or `cancelled`.
    pub stage: String,
    /// Progress units the library reported so far (records or comparisons, by stage).
    pub progress: i64,
    /// Times a worker took the run (more than 1 after a worker died).
    pub attempts: i64,
    /// Counts of a completed run (threshold, matches, records, comparisons, candidates), or
    /// the error code and detail of a failed one.
    #[schema(value_type = Object)]
    pub summary: Option<serde_json::Value>,
}

/// Queues a run (project admin).
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/runs", request_body = RunSpec,
    params(("project_id" = String, Path, description = "The project")),
    responses((status = 202, body = RunView), (status = 400, body = Problem),
              (status = 403, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    who: Principal,
    Path(project): Path<String>,
    Json(spec): Json<RunSpec>,
) -> ApiResult<(StatusCode, Json<RunView>)> {
    who.require(&project, false, &[Role::Admin])?;
    Ok((
        StatusCode::ACCEPTED,
        Json(queue(&state, &who, &project, &spec).await?),
    ))
}

/// Queues a run of `spec` in `project` for `who` (already authorised): checks the spec, the
/// uploads and the comparison limit, records `run.queued` and wakes the worker.
pub async fn queue(
    state: &AppState,
    who: &Principal,
    project: &str,
    spec: &RunSpec,
) -> ApiResult<RunView> {
    let (state, project) = (state.clone(), project.to_string());
    let p = projects::load(&state, &project).await?;
    spec.options()
        .map_err(|(code, detail)| ApiError::bad_request(code, detail))?;
    let files = super::uploads::committed(&state, &project).await?;
    if files.len() as i64 != p.parties {
        return Err(ApiError::conflict(
            "run-uploads-missing",
            format!(
                "{} of {} parties have committed their encodings",
                files.len(),
                p.parties
            ),
        ));
    }
    let counts: Vec<u128> = files.iter().map(|f| f.2.max(0) as u128).collect();
    let comparisons: u128 = if counts.len() == 1 {
        counts[0] * counts[0].saturating_sub(1) / 2
    } else {
        let mut sum = 0;
        for i in 0..counts.len() {
            for j in i + 1..counts.len() {
                sum += counts[i] * counts[j];
            }
        }
        sum
    };
    if spec.blocking == "none" && comparisons > u128::from(state.limits().max_comparisons) {
        return Err(ApiError::bad_request(
            "run-too-many-comparisons",
            format!(
                "the run needs {comparisons} comparisons, more than this server's \
                 max_comparisons ({}); block the run",
                state.limits().max_comparisons
            ),
        ));
    }
    let id = new_id();
    let spec_json = serde_json::to_string(&spec).map_err(ApiError::internal)?;
    sqlx::query(
        "INSERT INTO runs (id, project_id, spec, state, stage, progress, attempts, \
         cancel_requested, created_at) VALUES ($1, $2, $3, 'queued', 'queued', 0, 0, 0, $4)",
    )
    .bind(&id)
    .bind(&project)
    .bind(&spec_json)
    .bind(now())
    .execute(state.db())
    .await?;
    audit::append(
        &state,
        "run.queued",
        &who.actor(),
        Some(&project),
        json!({"run": id, "spec": spec}),
    )
    .await?;
    state.0.wake.notify_one();
    load(&state, &project, &id).await
}

/// A run of `project`, or 404.
pub async fn load(state: &AppState, project: &str, id: &str) -> ApiResult<RunView> {
    let r = sqlx::query(
        "SELECT state, stage, progress, attempts, summary FROM runs WHERE id = $1 AND project_id = $2",
    )
    .bind(id)
    .bind(project)
    .fetch_optional(state.db())
    .await?
    .ok_or_else(|| ApiError::not_found("run"))?;
    let summary: Option<String> = r.try_get("summary")?;
    Ok(RunView {
        run_id: id.to_string(),
        state: r.try_get("state")?,
        stage: r.try_get("stage")?,
        progress: r.try_get("progress")?,
        attempts: r.try_get("attempts")?,
        summary: summary.and_then(|s| serde_json::from_str(&s).ok()),
    })
}

/// Whether a run's result files were removed.
pub async fn purged(state: &AppState, run: &str) -> ApiResult<bool> {
    let r = sqlx::query("SELECT purged_at FROM runs WHERE id = $1")
        .bind(run)
        .fetch_optional(state.db())
        .await?;
    Ok(match r {
        Some(r) => r.try_get::<Option<i64>, _>("purged_at")?.is_some(),
        None => false,
    })
}

/// A run's state (any token of the project).
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/runs/{run_id}",
    params(("project_id" = String, Path, description = "The project"),
           ("run_id" = String, Path, description = "The run")),
    responses((status = 200, body = RunView), (status = 403, body = Problem),
              (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    who: Principal,
    Path((project, id)): Path<(String, String)>,
) -> ApiResult<Json<RunView>> {
    who.require(&project, false, &[Role::Admin, Role::Party, Role::Reader])?;
    Ok(Json(load(&state, &project, &id).await?))
}

/// Cancels a run (project admin): a queued run at once, a running one at its next progress
/// report.
#[utoipa::path(delete, path = "/api/v1/projects/{project_id}/runs/{run_id}",
    params(("project_id" = String, Path, description = "The project"),
           ("run_id" = String, Path, description = "The run")),
    responses((status = 200, body = RunView), (status = 403, body = Problem),
              (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    who: Principal,
    Path((project, id)): Path<(String, String)>,
) -> ApiResult<Json<RunView>> {
    who.require(&project, false, &[Role::Admin])?;
    load(&state, &project, &id).await?;
    request_cancel(&state, &project, &id).await?;
    audit::append(
        &state,
        "run.cancel_requested",
        &who.actor(),
        Some(&project),
        json!({"run": id}),
    )
    .await?;
    Ok(Json(load(&state, &project, &id).await?))
}

/// Asks a run to stop: a queued run ends at once, a running one at its next progress report.
pub async fn request_cancel(state: &AppState, project: &str, id: &str) -> ApiResult<()> {
    sqlx::query("UPDATE runs SET cancel_requested = 1 WHERE id = $1 AND project_id = $2")
        .bind(id)
        .bind(project)
        .execute(state.db())
        .await?;
    sqlx::query(
        "UPDATE runs SET state = 'cancelled', stage = 'cancelled', finished_at = $1 \
         WHERE id = $2 AND state = 'queued'",
    )
    .bind(now())
    .bind(id)
    .execute(state.db())
    .await?;
    Ok(())
}

/// `GET .../result` options.
#[derive(Debug, Clone, Deserialize, IntoParams)]
pub struct ResultQuery {
    /// The result reader asks for scores (only where the project allows them).
    #[serde(default)]
    pub scores: bool,
    /// `csv` (default) or `parquet` (servers built with the `polars` feature).
    #[serde(default)]
    pub format: Option<String>,
}

/// The caller's view of a completed run, as CSV (or Parquet, `?format=parquet`, on servers
/// built with the `polars` feature; the same columns, typed): the reader gets `a_id,b_id[,score]` (two
/// parties) or `cluster[,party],id`; a party gets `link_id,id` or `cluster_id,id` for its own
/// records only.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/runs/{run_id}/result",
    params(("project_id" = String, Path, description = "The project"),
           ("run_id" = String, Path, description = "The run"), ResultQuery),
    responses((status = 200, content_type = "text/csv", body = String),
              (status = 400, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 410, body = Problem)),
    security(("bearer" = [])))]
pub async fn result(
    State(state): State<AppState>,
    who: Principal,
    Path((project, id)): Path<(String, String)>,
    Query(q): Query<ResultQuery>,
) -> ApiResult<Response> {
    who.require(&project, false, &[Role::Party, Role::Reader])?;
    let p = projects::load(&state, &project).await?;
    let run = load(&state, &project, &id).await?;
    if run.state != "completed" {
        return Err(ApiError::conflict(
            "run-not-finished",
            format!("the run is {}", run.state),
        ));
    }
    if purged(&state, &id).await? {
        return Err(ApiError::new(
            StatusCode::GONE,
            "result-deleted",
            "the run's results were deleted (retention period, or the run was deleted)",
        ));
    }
    let name = match &who {
        Principal::Token {
            role: Role::Reader, ..
        } if q.scores => {
            if !p.scores_allowed {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "result-scores-not-allowed",
                    "this project was created without the release of similarity scores",
                ));
            }
            "links-scores.csv".to_string()
        }
        Principal::Token {
            role: Role::Reader, ..
        } => "links.csv".to_string(),
        Principal::Token {
            role: Role::Party,
            party: Some(k),
            ..
        } if !q.scores => format!("party-{k}.csv"),
        _ => return Err(ApiError::forbidden()),
    };
    let parquet = match q.format.as_deref() {
        None | Some("csv") => false,
        Some("parquet") if crate::results::PARQUET => true,
        Some("parquet") => {
            return Err(ApiError::bad_request(
                "result-format-unavailable",
                "this server was built without Parquet (cargo feature `polars`); ask for csv",
            ));
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "result-format-invalid",
                "format must be csv or parquet",
            ));
        }
    };
    let (name, content_type) = if parquet {
        (
            name.replace(".csv", ".parquet"),
            "application/vnd.apache.parquet",
        )
    } else {
        (name, "text/csv")
    };
    let path = crate::results::dir(&state, &id).join(&name);
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(ApiError::internal)?;
    let len = file.metadata().await.map_err(ApiError::internal)?.len();
    audit::append(
        &state,
        "result.downloaded",
        &who.actor(),
        Some(&project),
        json!({"run": id, "view": name, "bytes": len}),
    )
    .await?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_LENGTH, len.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{id}-{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response())
}
