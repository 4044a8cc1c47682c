//! Resumable uploads (the tus 1.0 core protocol's shape): `POST` declares the length and
//! SHA-256, `HEAD` tells the offset the server has, `PATCH` with `Upload-Offset` appends.
//!
//! Bytes stream to `uploads/<project>/<upload>.partial` in the data directory, in batches of
//! chunks ([`sink`]: constant memory whatever the size). When the last byte arrives the file is checked:
//! its SHA-256 against the declared one, its format, and for `.clk` files the schema and key
//! fingerprints against the project, and every record against the file's own checksum. Only
//! then is it renamed to `<upload>.enc` and marked committed in one step, so a partial or
//! refused upload is never visible to a run. The offset is the partial file's size, so a
//! connection (or a server) that dies mid-chunk resumes where the disk says.

use std::io::Read as _;
use std::path::{Path as FsPath, PathBuf};

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use pprl::io::ClkReader;
use pprl::io::formats::{FileKind, read_encoding_file};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Row;
use utoipa::ToSchema;

pub mod sink;
pub mod whole;

use sink::ChunkSink;

use super::projects::{self, Project};
use crate::audit;
use crate::auth::Principal;
use crate::db::{new_id, now};
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// `POST /projects/{id}/uploads`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUpload {
    /// The file's size in bytes.
    pub length: u64,
    /// The file's SHA-256 (64 hex).
    pub sha256: String,
}

/// An upload's state.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UploadView {
    /// Its id.
    pub upload_id: String,
    /// Its party.
    pub party: i64,
    /// `receiving`, `committed` or `failed`.
    pub state: String,
    /// Bytes declared.
    pub length: i64,
    /// Bytes received so far.
    pub offset: i64,
    /// `clk`, `clkhash-json` or `anonlink-binary`, once committed.
    pub format: Option<String>,
    /// Records, once committed.
    pub records: Option<i64>,
    /// Why it failed.
    pub error_code: Option<String>,
}

fn dir(state: &AppState, project: &str) -> PathBuf {
    state.data_dir().join("uploads").join(project)
}

/// The path of a committed upload.
pub fn committed_path(state: &AppState, project: &str, upload: &str) -> PathBuf {
    dir(state, project).join(format!("{upload}.enc"))
}

fn partial_path(state: &AppState, project: &str, upload: &str) -> PathBuf {
    dir(state, project).join(format!("{upload}.partial"))
}

/// Every file an upload may have on disk (partial and committed), for deletion.
pub fn paths(state: &AppState, project: &str, upload: &str) -> [PathBuf; 2] {
    [
        partial_path(state, project, upload),
        committed_path(state, project, upload),
    ]
}

/// Starts an upload (the project's party, which has none committed).
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/uploads", request_body = CreateUpload,
    params(("project_id" = String, Path, description = "The project")),
    responses((status = 201, body = UploadView), (status = 403, body = Problem),
              (status = 409, body = Problem), (status = 413, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    who: Principal,
    Path(project): Path<String>,
    Json(req): Json<CreateUpload>,
) -> ApiResult<(StatusCode, Json<UploadView>)> {
    let party = who.party_of(&project)?;
    if req.length > state.limits().max_upload_bytes {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "upload-too-large",
            format!(
                "{} bytes is more than this server's max_upload_bytes ({})",
                req.length,
                state.limits().max_upload_bytes
            ),
        ));
    }
    if req.length == 0 || req.sha256.len() != 64 || hex::decode(&req.sha256).is_err() {
        return Err(ApiError::bad_request(
            "upload-invalid",
            "length must be positive and sha256 64 hex characters",
        ));
    }
    let existing = sqlx::query(
        "SELECT COUNT(*) AS n FROM uploads WHERE project_id = $1 AND party = $2 AND state = 'committed'",
    )
    .bind(&project)
    .bind(party)
    .fetch_one(state.db())
    .await?;
    if existing.try_get::<i64, _>("n")? > 0 {
        return Err(ApiError::conflict(
            "upload-exists",
            "this party's encodings are already committed",
        ));
    }
    let id = new_id();
    tokio::fs::create_dir_all(dir(&state, &project))
        .await
        .map_err(ApiError::internal)?;
    tokio::fs::File::create(partial_path(&state, &project, &id))
        .await
        .map_err(ApiError::internal)?;
    sqlx::query(
        "INSERT INTO uploads (id, project_id, party, length, sha256, received, state, created_at) \
         VALUES ($1, $2, $3, $4, $5, 0, 'receiving', $6)",
    )
    .bind(&id)
    .bind(&project)
    .bind(party)
    .bind(req.length as i64)
    .bind(req.sha256.to_ascii_lowercase())
    .bind(now())
    .execute(state.db())
    .await?;
    audit::append(
        &state,
        "upload.started",
        &who.actor(),
        Some(&project),
        json!({"upload": id, "party": party, "length": req.length, "sha256": req.sha256}),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(view(&state, &project, &id).await?),
    ))
}

struct UploadRow {
    party: i64,
    length: i64,
    sha256: String,
    state: String,
}

async fn row(state: &AppState, project: &str, id: &str) -> ApiResult<UploadRow> {
    let r = sqlx::query(
        "SELECT party, length, sha256, state FROM uploads WHERE id = $1 AND project_id = $2",
    )
    .bind(id)
    .bind(project)
    .fetch_optional(state.db())
    .await?
    .ok_or_else(|| ApiError::not_found("upload"))?;
    Ok(UploadRow {
        party: r.try_get("party")?,
        length: r.try_get("length")?,
        sha256: r.try_get("sha256")?,
        state: r.try_get("state")?,
    })
}

/// Bytes on disk: the partial file's size, or the whole length once committed.
async fn offset(state: &AppState, project: &str, id: &str, u: &UploadRow) -> i64 {
    if u.state == "committed" {
        return u.length;
    }
    match tokio::fs::metadata(partial_path(state, project, id)).await {
        Ok(m) => m.len() as i64,
        Err(_) => 0,
    }
}

async fn view(state: &AppState, project: &str, id: &str) -> ApiResult<UploadView> {
    let u = row(state, project, id).await?;
    let off = offset(state, project, id, &u).await;
    let r = sqlx::query("SELECT format, records, error_code FROM uploads WHERE id = $1")
        .bind(id)
        .fetch_one(state.db())
        .await?;
    Ok(UploadView {
        upload_id: id.to_string(),
        party: u.party,
        state: u.state,
        length: u.length,
        offset: off,
        format: r.try_get("format")?,
        records: r.try_get("records")?,
        error_code: r.try_get("error_code")?,
    })
}

/// The owning party only: another party of the project gets 403 (not even the offset).
async fn owned(state: &AppState, who: &Principal, project: &str, id: &str) -> ApiResult<UploadRow> {
    let party = who.party_of(project)?;
    let u = row(state, project, id).await?;
    if u.party != party {
        return Err(ApiError::forbidden());
    }
    Ok(u)
}

/// Reads an upload's state (its party).
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/uploads/{upload_id}",
    params(("project_id" = String, Path, description = "The project"),
           ("upload_id" = String, Path, description = "The upload")),
    responses((status = 200, body = UploadView), (status = 403, body = Problem),
              (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    who: Principal,
    Path((project, id)): Path<(String, String)>,
) -> ApiResult<Json<UploadView>> {
    owned(&state, &who, &project, &id).await?;
    Ok(Json(view(&state, &project, &id).await?))
}

/// The offset to resume from, as `Upload-Offset` (its party).
#[utoipa::path(head, path = "/api/v1/projects/{project_id}/uploads/{upload_id}",
    params(("project_id" = String, Path, description = "The project"),
           ("upload_id" = String, Path, description = "The upload")),
    responses((status = 200, headers(("Upload-Offset" = u64), ("Upload-Length" = u64))),
              (status = 403), (status = 404)),
    security(("bearer" = [])))]
pub async fn head(
    State(state): State<AppState>,
    who: Principal,
    Path((project, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let u = owned(&state, &who, &project, &id).await?;
    let off = offset(&state, &project, &id, &u).await;
    Ok(offset_response(StatusCode::OK, off, Some(u.length)))
}

fn offset_response(status: StatusCode, off: i64, len: Option<i64>) -> Response {
    let mut r = status.into_response();
    let h = r.headers_mut();
    h.insert("upload-offset", HeaderValue::from(off));
    if let Some(l) = len {
        h.insert("upload-length", HeaderValue::from(l));
    }
    h.insert("tus-resumable", HeaderValue::from_static("1.0.0"));
    h.insert("cache-control", HeaderValue::from_static("no-store"));
    r
}

/// Releases the per-upload lock when the request ends, however it ends.
struct Busy<'a>(&'a AppState, String);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        if let Ok(mut set) = self.0.0.uploading.lock() {
            set.remove(&self.1);
        }
    }
}

/// Appends bytes at `Upload-Offset` (its party). The last chunk commits the upload: 200 with
/// its state; earlier chunks answer 204 with the new `Upload-Offset`.
#[utoipa::path(patch, path = "/api/v1/projects/{project_id}/uploads/{upload_id}",
    params(("project_id" = String, Path, description = "The project"),
           ("upload_id" = String, Path, description = "The upload"),
           ("Upload-Offset" = u64, Header, description = "Where these bytes start")),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream"),
    responses((status = 204, headers(("Upload-Offset" = u64))), (status = 200, body = UploadView),
              (status = 400, body = Problem), (status = 403, body = Problem),
              (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn append(
    State(state): State<AppState>,
    who: Principal,
    Path((project, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let u = owned(&state, &who, &project, &id).await?;
    if u.state != "receiving" {
        return Err(ApiError::conflict(
            "upload-closed",
            format!("the upload is {}", u.state),
        ));
    }
    let claimed: i64 = headers
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            ApiError::bad_request("upload-offset-missing", "send the Upload-Offset header")
        })?;
    {
        let mut set = state.0.uploading.lock().map_err(ApiError::internal)?;
        if !set.insert(id.clone()) {
            return Err(ApiError::conflict(
                "upload-busy",
                "another request is appending to this upload",
            ));
        }
    }
    let _busy = Busy(&state, id.clone());
    let path = partial_path(&state, &project, &id);
    let off = offset(&state, &project, &id, &u).await;
    if claimed != off {
        return Err(ApiError::conflict(
            "upload-offset-mismatch",
            format!("the server has {off} bytes; resume from there"),
        ));
    }
    // `create`: after a crash between the rename and the database commit the partial file is
    // gone and the offset is 0; the party sends the file again.
    let file = tokio::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .await
        .map_err(ApiError::internal)?;
    // The digest of the bytes so far, if this process saw all of them arrive.
    let digest = state
        .0
        .digests
        .lock()
        .map_err(ApiError::internal)?
        .remove(&id)
        .and_then(|(n, d)| (n == off).then_some(d))
        .or_else(|| (off == 0).then(Sha256::new));
    let mut sink = ChunkSink::new(file.into_std().await, digest);
    let mut written = off;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            // The client went away: keep what arrived; the offset says where to resume.
            break;
        };
        if written + chunk.len() as i64 > u.length {
            sink.abandon().await.map_err(ApiError::internal)?;
            truncate(&path, off).await?;
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "upload-overflow",
                "the body goes past the declared length; nothing of it was kept",
            ));
        }
        written += chunk.len() as i64;
        sink.push(chunk).await.map_err(ApiError::internal)?;
    }
    if let Some(d) = sink.finish().await.map_err(ApiError::internal)? {
        state
            .0
            .digests
            .lock()
            .map_err(ApiError::internal)?
            .insert(id.clone(), (written, d));
    }
    // No fsync per chunk: a server that dies keeps what the kernel has, and the offset is the
    // file's size. After a host crash a file system may hold a shorter file (the party resends
    // from the offset) or, on some, zeros past what reached the disk, which the commit's
    // SHA-256 refuses. The complete file is made durable once, at the commit, beside the
    // checks.
    sqlx::query("UPDATE uploads SET received = $1 WHERE id = $2")
        .bind(written)
        .bind(&id)
        .execute(state.db())
        .await?;
    if written < u.length {
        return Ok(offset_response(StatusCode::NO_CONTENT, written, None));
    }
    commit(&state, &who, &project, &id, &u).await?;
    Ok(Json(view(&state, &project, &id).await?).into_response())
}

async fn truncate(path: &FsPath, len: i64) -> ApiResult<()> {
    let f = tokio::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .await
        .map_err(ApiError::internal)?;
    f.set_len(len as u64).await.map_err(ApiError::internal)
}

/// What the check of a complete file found.
struct Checked {
    format: &'static str,
    records: u64,
    key_fingerprint: Option<String>,
}

/// Checks a complete file (blocking: it reads the whole file once, a buffer at a time, except
/// clkhash JSON and anonlink binary files, which the library reads whole).
fn check_file(
    path: &FsPath,
    sha256: &str,
    known: Option<String>,
    project: &Project,
    max_records: u64,
) -> Result<Checked, ApiError> {
    // The digest (unless `known`, hashed as the bytes arrived) and the format check read the
    // file side by side (two threads), so a commit takes the longer of the two rather than
    // their sum; a wrong digest wins over whatever the format check found, since the bytes
    // are not the ones the party meant to send. The file is made durable (fdatasync) at the
    // same time, before it is committed.
    let (digest, synced, checked) = std::thread::scope(|s| {
        let digest = s.spawn(|| known.map_or_else(|| file_sha256(path), Ok));
        let synced = s.spawn(|| {
            std::fs::OpenOptions::new()
                .write(true)
                .open(path)?
                .sync_data()
        });
        let checked = check_format(path, project, max_records);
        (digest.join(), synced.join(), checked)
    });
    let digest = digest
        .map_err(|_| ApiError::internal("the digest thread failed"))?
        .map_err(ApiError::internal)?;
    synced
        .map_err(|_| ApiError::internal("the fsync thread failed"))?
        .map_err(ApiError::internal)?;
    if digest != sha256 {
        return Err(ApiError::bad_request(
            "upload-checksum",
            "the bytes received do not have the declared SHA-256; start a new upload",
        ));
    }
    checked
}

/// Hex SHA-256 of a file, read a buffer at a time.
fn file_sha256(path: &FsPath) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// The format, fingerprint and record checks of [`check_file`].
fn check_format(path: &FsPath, project: &Project, max_records: u64) -> Result<Checked, ApiError> {
    let refuse = |code, detail: String| Err(ApiError::bad_request(code, detail));
    let kind = FileKind::detect_path(path).map_err(ApiError::internal)?;
    if kind != FileKind::Clk {
        if !project.accept_unfingerprinted {
            return refuse(
                "upload-unfingerprinted",
                "this project accepts only pprl .clk files, whose secret and schema the server \
                 can check"
                    .into(),
            );
        }
        let (data, _) = read_encoding_file(path).map_err(|e| {
            ApiError::bad_request(
                pprl::error::Coded::code(&e),
                "the file is not valid encodings",
            )
        })?;
        let records = data.ids.len() as u64;
        if records > max_records {
            return refuse("upload-too-many-records", format!("{records} records"));
        }
        let format = if kind == FileKind::ClkhashJson {
            "clkhash-json"
        } else {
            "anonlink-binary"
        };
        return Ok(Checked {
            format,
            records,
            key_fingerprint: None,
        });
    }
    let clk_err =
        |e: pprl::io::ClkError| ApiError::bad_request(pprl::error::Coded::code(&e), e.to_string());
    let mut reader = ClkReader::open(path).map_err(clk_err)?;
    let header = reader.header().clone();
    if header.schema_fingerprint.to_hex() != project.schema_fingerprint {
        return refuse(
            "match-schema-mismatch",
            "the file was encoded under another schema than the project's".into(),
        );
    }
    let key = header.key_fingerprint.to_hex();
    if project.key_fingerprint.as_ref().is_some_and(|k| *k != key) {
        return refuse(
            "match-key-mismatch",
            "the file was encoded with another secret than the project's".into(),
        );
    }
    if header.record_count > max_records {
        return refuse(
            "upload-too-many-records",
            format!("{} records", header.record_count),
        );
    }
    let mut rec = pprl::io::ClkRecord::default();
    while reader.read_record(&mut rec).map_err(clk_err)? {}
    Ok(Checked {
        format: "clk",
        records: header.record_count,
        key_fingerprint: Some(key),
    })
}

async fn commit(
    state: &AppState,
    who: &Principal,
    project_id: &str,
    id: &str,
    u: &UploadRow,
) -> ApiResult<()> {
    let project = projects::load(state, project_id).await?;
    let path = partial_path(state, project_id, id);
    let (p2, sha, max) = (path.clone(), u.sha256.clone(), state.limits().max_records);
    let pr = project.clone();
    // The digest hashed as the bytes arrived, if this process saw all of them.
    let known = state
        .0
        .digests
        .lock()
        .map_err(ApiError::internal)?
        .remove(id)
        .and_then(|(n, d)| (n == u.length).then(|| hex::encode(d.finalize())));
    let checked = tokio::task::spawn_blocking(move || check_file(&p2, &sha, known, &pr, max))
        .await
        .map_err(ApiError::internal)?;
    let checked = match checked {
        Ok(c) => c,
        Err(e) => {
            let _ = tokio::fs::remove_file(&path).await;
            sqlx::query("UPDATE uploads SET state = 'failed', error_code = $1 WHERE id = $2")
                .bind(e.code)
                .bind(id)
                .execute(state.db())
                .await?;
            audit::append(
                state,
                "upload.refused",
                &who.actor(),
                Some(project_id),
                json!({"upload": id, "party": u.party, "code": e.code}),
            )
            .await?;
            return Err(e);
        }
    };
    let mut tx = state.db().begin().await?;
    if project.key_fingerprint.is_none()
        && let Some(k) = &checked.key_fingerprint
    {
        sqlx::query(
            "UPDATE projects SET key_fingerprint = $1 WHERE id = $2 AND key_fingerprint IS NULL",
        )
        .bind(k)
        .bind(project_id)
        .execute(&mut *tx)
        .await?;
    }
    let done = sqlx::query(
        "UPDATE uploads SET state = 'committed', format = $1, records = $2, committed_at = $3 \
         WHERE id = $4 AND state = 'receiving' AND NOT EXISTS (SELECT 1 FROM uploads o \
         WHERE o.project_id = $5 AND o.party = $6 AND o.state = 'committed')",
    )
    .bind(checked.format)
    .bind(checked.records as i64)
    .bind(now())
    .bind(id)
    .bind(project_id)
    .bind(u.party)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(ApiError::conflict(
            "upload-exists",
            "this party's encodings are already committed",
        ));
    }
    // Renamed before the transaction commits: a crash in between leaves a `.enc` file that no
    // row names (never read), and the party uploads again.
    tokio::fs::rename(&path, committed_path(state, project_id, id))
        .await
        .map_err(ApiError::internal)?;
    tx.commit().await?;
    audit::append(
        state,
        "upload.committed",
        &who.actor(),
        Some(project_id),
        json!({"upload": id, "party": u.party, "length": u.length, "sha256": u.sha256,
               "format": checked.format, "records": checked.records}),
    )
    .await?;
    Ok(())
}

/// The committed uploads of a project, in party order, with their record counts.
pub async fn committed(state: &AppState, project: &str) -> ApiResult<Vec<(i64, PathBuf, i64)>> {
    let rows = sqlx::query(
        "SELECT id, party, records FROM uploads WHERE project_id = $1 AND state = 'committed' \
         ORDER BY party",
    )
    .bind(project)
    .fetch_all(state.db())
    .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            Ok((
                r.try_get("party")?,
                committed_path(state, project, &id),
                r.try_get("records")?,
            ))
        })
        .collect()
}
