//! The anonlink-entity-service API, the subset that the `anonlink` command of
//! anonlink-client 0.1.5 uses, under `/anonlink/api/v1` (only with `anonlink_compat = true`):
//! `GET /status`, `POST /projects`, `GET`/`DELETE /projects/{id}`, `POST
//! /projects/{id}/clks` (`clks`, `clknblocks`, or `encodings` with `blocks`), `POST
//! .../binaryclks`, `GET .../authorize-external-upload` (refused: no object store, so the
//! client uploads to the service), `POST .../runs`, `GET .../runs/{run}/status`, `GET
//! .../runs/{run}/result` and `DELETE .../runs/{run}`.
//!
//! That service's model, kept here so its clients work unchanged: the project's creator
//! receives every party's upload token and the result token (no join codes), and a token is
//! sent as the whole `Authorization` header. pprl's own rules still hold: creating a project
//! needs the server admin's token (sent as HTTP Basic, e.g. from a netrc file), tokens are
//! stored as hashes and bound to one project and role, a party token uploads only its own
//! encodings and reads no result, the result token (role `reader`) may start and delete runs
//! of its anonlink project, and similarity scores are released only in `similarity_scores`
//! projects, which the operator must allow (`anonlink_similarity_scores`). Everything is in
//! the audit trail. Results are that service's JSON (`groups`, `similarity_scores`);
//! `permutations` is not offered.

mod convert;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::projects::{self, Project};
use super::runs;
use crate::audit;
use crate::auth::{self, Principal, Role};
use crate::db::{new_id, now};
use crate::error::{ApiError, ApiResult};
use crate::jobs::{RunSpec, ThresholdSpec};
use crate::state::AppState;

/// The routes, to nest under `/anonlink/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/status", get(status))
        .route("/projects", post(create_project))
        .route(
            "/projects/{project_id}",
            get(describe_project).delete(delete_project),
        )
        .route(
            "/projects/{project_id}/authorize-external-upload",
            get(external_upload),
        )
        .route("/projects/{project_id}/clks", post(upload_clks))
        .route("/projects/{project_id}/binaryclks", post(upload_binary))
        .route("/projects/{project_id}/runs", post(create_run))
        .route(
            "/projects/{project_id}/runs/{run_id}",
            get(describe_run).delete(delete_run),
        )
        .route(
            "/projects/{project_id}/runs/{run_id}/status",
            get(run_status),
        )
        .route(
            "/projects/{project_id}/runs/{run_id}/result",
            get(run_result),
        )
}

/// `GET /status`: `{"status": "ok", "project_count", "rate"}` (the rate is not measured: 0).
async fn status(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let r = sqlx::query("SELECT COUNT(*) AS n FROM projects WHERE deleted_at IS NULL")
        .fetch_one(state.db())
        .await?;
    Ok(Json(json!({
        "status": "ok",
        "project_count": r.try_get::<i64, _>("n")?,
        "rate": 0,
        "server": format!("pprl serve {}", env!("CARGO_PKG_VERSION")),
    })))
}

/// `POST /projects`.
#[derive(Debug, Deserialize)]
struct NewProject {
    schema: Value,
    result_type: String,
    #[serde(default = "two")]
    number_parties: u32,
    #[serde(default)]
    name: Option<String>,
}

fn two() -> u32 {
    2
}

/// Loads an anonlink project that `who` may see with one of `roles`, or 403/404.
async fn compat_project(
    state: &AppState,
    who: &Principal,
    project: &str,
    admin: bool,
    roles: &[Role],
) -> ApiResult<Project> {
    who.require(project, admin, roles)?;
    let p = projects::load(state, project).await?;
    if p.compat.is_none() {
        return Err(ApiError::not_found(
            "anonlink project (this project was made with pprl's own API)",
        ));
    }
    Ok(p)
}

async fn create_project(
    State(state): State<AppState>,
    who: Principal,
    Json(req): Json<NewProject>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    if who != Principal::ServerAdmin {
        return Err(ApiError::forbidden());
    }
    let bad = |d: &str| ApiError::bad_request("project-invalid", d.to_string());
    let scores = match req.result_type.as_str() {
        "groups" => false,
        "similarity_scores" if state.limits().anonlink_similarity_scores => true,
        "similarity_scores" => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "result-scores-not-allowed",
                "this server does not release similarity scores (anonlink_similarity_scores)",
            ));
        }
        "permutations" => {
            return Err(bad(
                "result_type `permutations` is not offered by pprl serve; use `groups`",
            ));
        }
        _ => return Err(bad("result_type must be groups or similarity_scores")),
    };
    let parties = req.number_parties;
    if parties < 2 || u64::from(parties) > state.limits().max_parties {
        return Err(bad(
            "number_parties must be between 2 and the server's max_parties",
        ));
    }
    if scores && parties != 2 {
        return Err(bad("similarity_scores needs number_parties 2"));
    }
    if !req.schema.is_object() {
        return Err(bad(
            "schema must be a clkhash linkage schema (a JSON object)",
        ));
    }
    let name = req.name.unwrap_or_default();
    if name.len() > 200 || name.chars().any(char::is_control) {
        return Err(bad(
            "name must be at most 200 characters, without control characters",
        ));
    }
    // The schema's digest stands for pprl's schema fingerprint: uploads here carry none, and
    // the digest tells projects with different schemas apart on the operator's page.
    let schema_fp = hex::encode(Sha256::digest(req.schema.to_string().as_bytes()));
    let id = new_id();
    let ttl = state.limits().token_ttl_s;
    let mut tx = state.db().begin().await?;
    sqlx::query(
        "INSERT INTO projects (id, name, schema_fingerprint, key_fingerprint, parties, \
         result_type, scores_allowed, accept_unfingerprinted, created_at, compat, \
         compat_result_type) VALUES ($1, $2, $3, NULL, $4, $5, $6, 1, $7, 1, $8)",
    )
    .bind(&id)
    .bind(&name)
    .bind(&schema_fp)
    .bind(i64::from(parties))
    .bind(if parties == 2 { "links" } else { "clusters" })
    .bind(i64::from(scores))
    .bind(now())
    .bind(&req.result_type)
    .execute(&mut *tx)
    .await?;
    let mut update_tokens = Vec::new();
    let mut token_ids = Vec::new();
    for k in 0..i64::from(parties) {
        let (tid, t) = auth::issue_token(&mut tx, &id, Role::Party, Some(k), ttl).await?;
        update_tokens.push(t);
        token_ids.push(tid);
    }
    let (reader_id, result_token) =
        auth::issue_token(&mut tx, &id, Role::Reader, None, ttl).await?;
    tx.commit().await?;
    audit::append(
        &state,
        "project.created",
        &who.actor(),
        Some(&id),
        json!({"api": "anonlink", "parties": parties, "result_type": req.result_type,
               "scores_allowed": scores, "schema_digest": schema_fp,
               "tokens_issued_to_creator": {"party": token_ids, "reader": reader_id}}),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"project_id": id, "update_tokens": update_tokens,
                    "result_token": result_token})),
    ))
}

async fn describe_project(
    State(state): State<AppState>,
    who: Principal,
    Path(project): Path<String>,
) -> ApiResult<Json<Value>> {
    let all = [Role::Admin, Role::Party, Role::Reader];
    let p = compat_project(&state, &who, &project, true, &all).await?;
    let done = super::uploads::committed(&state, &project).await?;
    Ok(Json(json!({
        "project_id": p.id, "name": p.name, "result_type": p.compat,
        "number_parties": p.parties, "parties_contributed": done.len(), "error": false,
        "uses_blocking": false,
    })))
}

async fn delete_project(
    State(state): State<AppState>,
    who: Principal,
    Path(project): Path<String>,
) -> ApiResult<StatusCode> {
    compat_project(&state, &who, &project, true, &[Role::Reader, Role::Admin]).await?;
    crate::retention::delete_project(&state, &project, &who.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn external_upload(
    State(state): State<AppState>,
    who: Principal,
    Path(project): Path<String>,
) -> ApiResult<Response> {
    compat_project(&state, &who, &project, false, &[Role::Party]).await?;
    Err(ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        "anonlink-object-store-unsupported",
        "pprl serve has no object store: upload the encodings in the request body",
    ))
}

/// `POST .../clks`: JSON (`clks`, `clknblocks`, `encodings` + `blocks`), or anonlink binary
/// with `Content-Type: application/octet-stream`.
async fn upload_clks(
    State(state): State<AppState>,
    who: Principal,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let binary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/octet-stream"));
    upload(state, who, project, headers, body, binary).await
}

async fn upload_binary(
    State(state): State<AppState>,
    who: Principal,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    upload(state, who, project, headers, body, true).await
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

async fn upload(
    state: AppState,
    who: Principal,
    project: String,
    headers: HeaderMap,
    body: Body,
    binary: bool,
) -> ApiResult<(StatusCode, Json<Value>)> {
    compat_project(&state, &who, &project, false, &[Role::Party]).await?;
    let max = state.limits().max_upload_bytes;
    let raw = super::uploads::whole::receive_body(&state, &project, body, max).await?;
    let (file, note) = if binary {
        let (count, size) = (
            header_u64(&headers, "hash-count"),
            header_u64(&headers, "hash-size"),
        );
        let len = tokio::fs::metadata(&raw)
            .await
            .map_err(ApiError::internal)?
            .len();
        if let (Some(c), Some(s)) = (count, size)
            && c.checked_mul(s + 4) != Some(len)
        {
            let _ = tokio::fs::remove_file(&raw).await;
            return Err(ApiError::bad_request(
                "upload-invalid",
                format!(
                    "Hash-Count {c} records of Hash-Size {s} bytes (plus 4-byte ids) are not the {len} bytes sent"
                ),
            ));
        }
        (raw, json!({"api": "anonlink", "format": "binary"}))
    } else {
        let out = super::uploads::whole::scratch_path(&state, &project);
        let (src, dst) = (raw.clone(), out.clone());
        let converted =
            tokio::task::spawn_blocking(move || -> Result<convert::Converted, String> {
                let input = std::fs::File::open(&src).map_err(|e| e.to_string())?;
                convert::strings_bounded(&input, convert::MAX_STRING_BYTES)?;
                let input = std::fs::File::open(&src).map_err(|e| e.to_string())?;
                let f = std::fs::File::create(&dst).map_err(|e| e.to_string())?;
                let mut w = std::io::BufWriter::new(f);
                let c = convert::convert(input, &mut w)?;
                let f = w.into_inner().map_err(|e| e.to_string())?;
                f.sync_data().map_err(|e| e.to_string())?;
                Ok(c)
            })
            .await
            .map_err(ApiError::internal)?;
        let _ = tokio::fs::remove_file(&raw).await;
        match converted {
            Ok(c) => (
                out,
                json!({"api": "anonlink", "format": "json", "records": c.records,
                       "with_blocks": c.with_blocks, "block_ids": c.block_ids}),
            ),
            Err(detail) => {
                let _ = tokio::fs::remove_file(&out).await;
                return Err(ApiError::bad_request("encodings-invalid", detail));
            }
        }
    };
    let view = super::uploads::whole::ingest(&state, &who, &project, &file, note).await?;
    Ok((
        StatusCode::CREATED,
        Json(
            json!({"message": "Updated", "receipt_token": view.upload_id,
                    "records": view.records}),
        ),
    ))
}

/// `POST .../runs`.
#[derive(Debug, Deserialize)]
struct NewRun {
    threshold: f64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    notes: Option<String>,
}

async fn create_run(
    State(state): State<AppState>,
    who: Principal,
    Path(project): Path<String>,
    Json(req): Json<NewRun>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let p = compat_project(&state, &who, &project, false, &[Role::Reader, Role::Admin]).await?;
    let spec = RunSpec {
        threshold: ThresholdSpec::Fixed(req.threshold),
        fallback: None,
        // `similarity_scores` is every pair over the threshold, unsolved.
        solver: if p.scores_allowed { "none" } else { "greedy" }.into(),
        blocking: "none".into(),
    };
    let run = runs::queue(&state, &who, &project, &spec).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"run_id": run.run_id, "threshold": req.threshold,
                    "name": req.name.unwrap_or_default(), "notes": req.notes.unwrap_or_default()})),
    ))
}

async fn describe_run(
    State(state): State<AppState>,
    who: Principal,
    Path((project, run)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let all = [Role::Admin, Role::Party, Role::Reader];
    compat_project(&state, &who, &project, false, &all).await?;
    let r = runs::load(&state, &project, &run).await?;
    let spec: Option<String> = sqlx::query("SELECT spec FROM runs WHERE id = $1")
        .bind(&run)
        .fetch_one(state.db())
        .await?
        .try_get("spec")?;
    let threshold = spec
        .and_then(|s| serde_json::from_str::<Value>(&s).ok())
        .map(|v| v["threshold"].clone());
    Ok(Json(json!({"run_id": r.run_id, "threshold": threshold})))
}

fn iso(t: Option<i64>) -> Value {
    t.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|d| Value::String(d.to_rfc3339()))
        .unwrap_or(Value::Null)
}

/// `GET .../status` in that service's shape: three stages (waiting, comparing, writing).
async fn run_status(
    State(state): State<AppState>,
    who: Principal,
    Path((project, run)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let all = [Role::Admin, Role::Party, Role::Reader];
    compat_project(&state, &who, &project, false, &all).await?;
    let r = runs::load(&state, &project, &run).await?;
    let times = sqlx::query("SELECT created_at, finished_at FROM runs WHERE id = $1")
        .bind(&run)
        .fetch_one(state.db())
        .await?;
    let (number, description) = match r.stage.as_str() {
        "queued" => (1, "waiting for a worker"),
        "matching" => (2, "computing similarity scores and solving"),
        _ => (3, "writing the results"),
    };
    let state_name = match r.state.as_str() {
        "cancelled" => "error",
        s => s,
    };
    let mut out = json!({
        "state": state_name, "stages": 3,
        "current_stage": {"number": number, "description": description},
        "time_added": iso(times.try_get("created_at")?),
    });
    if r.state == "completed" {
        out["current_stage"]["progress"] =
            json!({"absolute": r.progress, "relative": 1.0, "description": "done"});
        out["time_completed"] = iso(times.try_get("finished_at")?);
    }
    if state_name == "error" {
        let detail = r.summary.as_ref().and_then(|s| s["detail"].as_str());
        out["message"] = json!(if r.state == "cancelled" {
            "the run was cancelled"
        } else {
            "the run failed"
        });
        out["detail"] = json!(detail.unwrap_or(""));
    }
    Ok(Json(out))
}

async fn run_result(
    State(state): State<AppState>,
    who: Principal,
    Path((project, run)): Path<(String, String)>,
) -> ApiResult<Response> {
    compat_project(&state, &who, &project, false, &[Role::Reader]).await?;
    let r = runs::load(&state, &project, &run).await?;
    if r.state != "completed" {
        return Err(ApiError::not_found(
            "result yet (the run has not completed)",
        ));
    }
    if runs::purged(&state, &run).await? {
        return Err(ApiError::new(
            StatusCode::GONE,
            "result-deleted",
            "the run's results were deleted",
        ));
    }
    let path = crate::results::dir(&state, &run).join(crate::results::ANONLINK_VIEW);
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(ApiError::internal)?;
    let len = file.metadata().await.map_err(ApiError::internal)?.len();
    audit::append(
        &state,
        "result.downloaded",
        &who.actor(),
        Some(&project),
        json!({"run": run, "view": crate::results::ANONLINK_VIEW, "bytes": len}),
    )
    .await?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::CONTENT_LENGTH, len.to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response())
}

/// `DELETE .../runs/{run}`: cancels the run and removes its results.
async fn delete_run(
    State(state): State<AppState>,
    who: Principal,
    Path((project, run)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    compat_project(&state, &who, &project, false, &[Role::Reader, Role::Admin]).await?;
    runs::load(&state, &project, &run).await?;
    runs::request_cancel(&state, &project, &run).await?;
    crate::retention::purge_run(&state, &run).await?;
    audit::append(
        &state,
        "run.deleted",
        &who.actor(),
        Some(&project),
        json!({"run": run}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
