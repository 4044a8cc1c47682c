//! Uploads in one request (the anonlink-entity-service API's `POST .../clks`): the body is
//! streamed to a scratch file in constant memory, then committed with the same row, audit
//! events and checks as a resumable upload whose last chunk arrived.

use std::path::{Path as FsPath, PathBuf};

use axum::body::Body;
use axum::http::StatusCode;
use futures_util::StreamExt as _;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Row;
use tokio::io::AsyncWriteExt as _;

use super::{UploadView, commit, dir, partial_path, row, view};
use crate::audit;
use crate::auth::Principal;
use crate::db::{new_id, now};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Streams a request body to a new file in the project's upload folder (constant memory),
/// refusing it past `max` bytes (the file is removed then). The file is named by no row, so
/// it is never visible to a run.
pub async fn receive_body(
    state: &AppState,
    project: &str,
    body: Body,
    max: u64,
) -> ApiResult<PathBuf> {
    tokio::fs::create_dir_all(dir(state, project))
        .await
        .map_err(ApiError::internal)?;
    let path = dir(state, project).join(format!("{}.incoming", new_id()));
    let mut file = tokio::fs::File::create(&path)
        .await
        .map_err(ApiError::internal)?;
    let mut written = 0u64;
    let mut stream = body.into_data_stream();
    let mut fail = None;
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            fail = Some(ApiError::bad_request(
                "upload-incomplete",
                "the request body ended early; send it again",
            ));
            break;
        };
        written += chunk.len() as u64;
        if written > max {
            fail = Some(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "upload-too-large",
                format!("the body is more than this server's max_upload_bytes ({max})"),
            ));
            break;
        }
        if let Err(e) = file.write_all(&chunk).await {
            fail = Some(ApiError::internal(e));
            break;
        }
    }
    if fail.is_none()
        && let Err(e) = file.sync_data().await
    {
        fail = Some(ApiError::internal(e));
    }
    drop(file);
    if let Some(e) = fail {
        let _ = tokio::fs::remove_file(&path).await;
        return Err(e);
    }
    Ok(path)
}

/// A new file name in the project's upload folder, named by no row.
pub fn scratch_path(state: &AppState, project: &str) -> PathBuf {
    dir(state, project).join(format!("{}.incoming", new_id()))
}

/// Commits a whole file already on disk as the caller's upload (the anonlink API's
/// one-request uploads), with the same row, audit events and checks as a resumable upload
/// whose last chunk arrived. `file` is moved (or removed, when refused).
pub async fn ingest(
    state: &AppState,
    who: &Principal,
    project: &str,
    file: &FsPath,
    note: serde_json::Value,
) -> ApiResult<UploadView> {
    let party = who.party_of(project)?;
    let refuse = |e: ApiError| async move {
        let _ = tokio::fs::remove_file(file).await;
        Err(e)
    };
    let existing = sqlx::query(
        "SELECT COUNT(*) AS n FROM uploads WHERE project_id = $1 AND party = $2 AND state = 'committed'",
    )
    .bind(project)
    .bind(party)
    .fetch_one(state.db())
    .await?;
    if existing.try_get::<i64, _>("n")? > 0 {
        return refuse(ApiError::conflict(
            "upload-exists",
            "this party's encodings are already committed",
        ))
        .await;
    }
    let f2 = file.to_path_buf();
    let hashed = tokio::task::spawn_blocking(move || -> std::io::Result<(u64, String)> {
        use std::io::Read as _;
        let mut f = std::fs::File::open(&f2)?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut n = 0u64;
        loop {
            let k = f.read(&mut buf)?;
            if k == 0 {
                break;
            }
            h.update(&buf[..k]);
            n += k as u64;
        }
        Ok((n, hex::encode(h.finalize())))
    })
    .await
    .map_err(ApiError::internal)?;
    let (length, sha256) = match hashed {
        Ok(x) => x,
        Err(e) => return refuse(ApiError::internal(e)).await,
    };
    if length == 0 {
        return refuse(ApiError::bad_request(
            "upload-invalid",
            "the upload is empty",
        ))
        .await;
    }
    let id = new_id();
    sqlx::query(
        "INSERT INTO uploads (id, project_id, party, length, sha256, received, state, created_at) \
         VALUES ($1, $2, $3, $4, $5, $4, 'receiving', $6)",
    )
    .bind(&id)
    .bind(project)
    .bind(party)
    .bind(length as i64)
    .bind(&sha256)
    .bind(now())
    .execute(state.db())
    .await?;
    audit::append(
        state,
        "upload.started",
        &who.actor(),
        Some(project),
        json!({"upload": id, "party": party, "length": length, "sha256": sha256, "via": note}),
    )
    .await?;
    tokio::fs::rename(file, partial_path(state, project, &id))
        .await
        .map_err(ApiError::internal)?;
    let u = row(state, project, &id).await?;
    commit(state, who, project, &id, &u).await?;
    view(state, project, &id).await
}
