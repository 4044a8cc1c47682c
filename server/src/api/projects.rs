//! Projects, join codes and tokens: `POST /projects` (server admin) returns one-time join
//! codes; `POST /join` redeems one for a token bound to its project, role and party;
//! `DELETE /projects/{id}/tokens/{token_id}` revokes one.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use utoipa::ToSchema;

use crate::audit;
use crate::auth::{self, Principal, Role};
use crate::db::{new_id, now};
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// What the result of a project's runs is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResultType {
    /// Two parties: one-to-one links.
    Links,
    /// One party (duplicates) or three or more: clusters.
    Clusters,
}

/// `POST /projects`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    /// A name for people (not secret, shown in the operator's view).
    pub name: String,
    /// The schema fingerprint every `.clk` upload must carry (64 hex, `pprl schema check`).
    pub schema_fingerprint: String,
    /// The key fingerprint every upload must carry (64 hex, `pprl inspect`); without it the
    /// first committed upload pins it.
    #[serde(default)]
    pub key_fingerprint: Option<String>,
    /// Number of parties (1 deduplicates).
    pub parties: u32,
    /// `links` for two parties, `clusters` otherwise.
    pub result_type: ResultType,
    /// Whether similarity scores may ever be released to the result reader.
    #[serde(default)]
    pub scores_allowed: bool,
    /// Accept clkhash JSON and anonlink binary uploads, which carry no fingerprints (so the
    /// server cannot check their secret and schema).
    #[serde(default)]
    pub accept_unfingerprinted: bool,
}

/// One join code, shown once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JoinCode {
    /// The role it grants.
    pub role: Role,
    /// The party it grants (party codes only, from 0).
    pub party: Option<i64>,
    /// The code (`pprlj_...`), to hand to that party out of band.
    pub code: String,
}

/// The answer to `POST /projects`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProjectCreated {
    /// The project's id.
    pub project_id: String,
    /// One code per party, one for the project admin and one for the result reader.
    pub join_codes: Vec<JoinCode>,
    /// When the codes expire (Unix seconds).
    pub expires_at: i64,
}

fn hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Creates a project and its join codes.
#[utoipa::path(post, path = "/api/v1/projects", request_body = CreateProject,
    responses((status = 201, body = ProjectCreated), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    who: Principal,
    Json(req): Json<CreateProject>,
) -> ApiResult<(StatusCode, Json<ProjectCreated>)> {
    if who != Principal::ServerAdmin {
        return Err(ApiError::forbidden());
    }
    let bad = |d: &str| ApiError::bad_request("project-invalid", d.to_string());
    if !hex64(&req.schema_fingerprint) {
        return Err(bad(
            "schema_fingerprint must be 64 lower-case hex characters",
        ));
    }
    if req.key_fingerprint.as_deref().is_some_and(|k| !hex64(k)) {
        return Err(bad("key_fingerprint must be 64 lower-case hex characters"));
    }
    if req.parties == 0 || u64::from(req.parties) > state.limits().max_parties {
        return Err(bad(
            "parties must be between 1 and the server's max_parties",
        ));
    }
    if (req.parties == 2) != (req.result_type == ResultType::Links) {
        return Err(bad(
            "result_type is `links` for two parties and `clusters` otherwise",
        ));
    }
    if req.name.len() > 200 || req.name.chars().any(char::is_control) {
        return Err(bad(
            "name must be at most 200 characters, without control characters",
        ));
    }
    let id = new_id();
    let ttl = state.limits().join_code_ttl_s;
    let mut tx = state.db().begin().await?;
    sqlx::query(
        "INSERT INTO projects (id, name, schema_fingerprint, key_fingerprint, parties, \
         result_type, scores_allowed, accept_unfingerprinted, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&id)
    .bind(&req.name)
    .bind(&req.schema_fingerprint)
    .bind(&req.key_fingerprint)
    .bind(i64::from(req.parties))
    .bind(match req.result_type {
        ResultType::Links => "links",
        ResultType::Clusters => "clusters",
    })
    .bind(i64::from(req.scores_allowed))
    .bind(i64::from(req.accept_unfingerprinted))
    .bind(now())
    .execute(&mut *tx)
    .await?;
    let mut codes = Vec::new();
    let mut grants: Vec<(Role, Option<i64>)> = vec![(Role::Admin, None), (Role::Reader, None)];
    grants.extend((0..i64::from(req.parties)).map(|k| (Role::Party, Some(k))));
    for (role, party) in grants {
        let code = auth::issue_join_code(&mut tx, &id, role, party, ttl).await?;
        codes.push(JoinCode { role, party, code });
    }
    tx.commit().await?;
    audit::append(
        &state,
        "project.created",
        &who.actor(),
        Some(&id),
        json!({"parties": req.parties, "scores_allowed": req.scores_allowed,
               "accept_unfingerprinted": req.accept_unfingerprinted,
               "schema_fingerprint": req.schema_fingerprint}),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(ProjectCreated {
            project_id: id,
            join_codes: codes,
            expires_at: now() + ttl as i64,
        }),
    ))
}

/// `POST /join`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Redeem {
    /// The join code.
    pub code: String,
}

/// A token, shown once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenIssued {
    /// The token (`pprl_...`): keep it in a file readable only by its owner.
    pub token: String,
    /// Its public id (what the audit trail and revocation name).
    pub token_id: String,
    /// Its project.
    pub project_id: String,
    /// Its role.
    pub role: Role,
    /// Its party (party tokens only).
    pub party: Option<i64>,
    /// When it expires (Unix seconds).
    pub expires_at: i64,
}

/// Redeems a join code for a token (once).
#[utoipa::path(post, path = "/api/v1/join", request_body = Redeem,
    responses((status = 201, body = TokenIssued), (status = 401, body = Problem)))]
pub async fn redeem(
    State(state): State<AppState>,
    Json(req): Json<Redeem>,
) -> ApiResult<(StatusCode, Json<TokenIssued>)> {
    let invalid = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "join-invalid",
            "the join code is unknown, already redeemed or expired",
        )
    };
    let failed = |code_id: Option<&str>, reason: &str| {
        let detail = json!({"join_code": code_id, "reason": reason});
        let state = state.clone();
        async move {
            let _ = audit::append(&state, "join.failed", "anonymous", None, detail).await;
            invalid()
        }
    };
    let Some((id, secret)) = auth::split("pprlj", req.code.trim()) else {
        return Err(failed(None, "malformed").await);
    };
    let row = sqlx::query(
        "SELECT project_id, party, role, hash, expires_at, redeemed_at FROM join_codes WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(state.db())
    .await?;
    let Some(row) = row else {
        auth::secret_matches(secret, &"0".repeat(64));
        return Err(failed(Some(id), "unknown").await);
    };
    let hash: String = row.try_get("hash")?;
    let redeemed: Option<i64> = row.try_get("redeemed_at")?;
    if !auth::secret_matches(secret, &hash) {
        return Err(failed(Some(id), "wrong-secret").await);
    }
    if redeemed.is_some() || row.try_get::<i64, _>("expires_at")? <= now() {
        return Err(failed(Some(id), "redeemed-or-expired").await);
    }
    let project: String = row.try_get("project_id")?;
    let party: Option<i64> = row.try_get("party")?;
    let role_name: String = row.try_get("role")?;
    let role = match role_name.as_str() {
        "admin" => Role::Admin,
        "reader" => Role::Reader,
        _ => Role::Party,
    };
    let token = auth::new_secret("pprl");
    let expires_at = now() + state.limits().token_ttl_s as i64;
    let mut tx = state.db().begin().await?;
    let done =
        sqlx::query("UPDATE join_codes SET redeemed_at = $1 WHERE id = $2 AND redeemed_at IS NULL")
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
    if done.rows_affected() != 1 {
        return Err(failed(Some(id), "redeemed-or-expired").await);
    }
    sqlx::query(
        "INSERT INTO tokens (id, project_id, party, role, hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&token.id)
    .bind(&project)
    .bind(party)
    .bind(role.as_str())
    .bind(&token.hash)
    .bind(now())
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    audit::append(
        &state,
        "join_code.redeemed",
        &format!("token:{}", token.id),
        Some(&project),
        json!({"join_code": id, "role": role.as_str(), "party": party}),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenIssued {
            token: token.full,
            token_id: token.id,
            project_id: project,
            role,
            party,
            expires_at,
        }),
    ))
}

/// One party's upload state, as the project view shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PartyState {
    /// The party (from 0).
    pub party: i64,
    /// Whether it has a committed upload.
    pub committed: bool,
    /// Records of the committed upload (not shown to the other parties).
    pub records: Option<i64>,
}

/// A project, as its members and the server admin see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProjectView {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Number of parties.
    pub parties: i64,
    /// `links` or `clusters`.
    pub result_type: String,
    /// Whether scores may be released.
    pub scores_allowed: bool,
    /// The schema fingerprint uploads must carry.
    pub schema_fingerprint: String,
    /// The key fingerprint uploads must carry (once pinned).
    pub key_fingerprint: Option<String>,
    /// Each party's upload state.
    pub uploads: Vec<PartyState>,
}

/// Reads a project (server admin, or any token of the project).
#[utoipa::path(get, path = "/api/v1/projects/{project_id}",
    params(("project_id" = String, Path, description = "The project")),
    responses((status = 200, body = ProjectView), (status = 401, body = Problem),
              (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    who: Principal,
    Path(project): Path<String>,
) -> ApiResult<Json<ProjectView>> {
    who.require(&project, true, &[Role::Admin, Role::Party, Role::Reader])?;
    let p = load(&state, &project).await?;
    let committed = sqlx::query(
        "SELECT party, records FROM uploads WHERE project_id = $1 AND state = 'committed'",
    )
    .bind(&project)
    .fetch_all(state.db())
    .await?;
    let uploads = (0..p.parties)
        .map(|k| {
            let r = committed
                .iter()
                .find(|r| r.try_get::<i64, _>("party").ok() == Some(k));
            // A party learns whether the others have uploaded, never how many records.
            let own = !matches!(&who, Principal::Token { role: Role::Party, party: Some(me), .. } if *me != k);
            PartyState {
                party: k,
                committed: r.is_some(),
                records: r.filter(|_| own).and_then(|r| r.try_get("records").ok()),
            }
        })
        .collect();
    Ok(Json(ProjectView {
        id: p.id,
        name: p.name,
        parties: p.parties,
        result_type: p.result_type,
        scores_allowed: p.scores_allowed,
        schema_fingerprint: p.schema_fingerprint,
        key_fingerprint: p.key_fingerprint,
        uploads,
    }))
}

/// A project row.
#[derive(Debug, Clone)]
pub struct Project {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Parties.
    pub parties: i64,
    /// `links` or `clusters`.
    pub result_type: String,
    /// Scores may be released.
    pub scores_allowed: bool,
    /// Unfingerprinted formats accepted.
    pub accept_unfingerprinted: bool,
    /// Schema fingerprint.
    pub schema_fingerprint: String,
    /// Key fingerprint, once known.
    pub key_fingerprint: Option<String>,
    /// Created through the anonlink-entity-service API, with this result type (`groups` or
    /// `similarity_scores`).
    pub compat: Option<String>,
}

/// Loads a live (not deleted) project, or 404.
pub async fn load(state: &AppState, id: &str) -> ApiResult<Project> {
    let r = sqlx::query(
        "SELECT id, name, parties, result_type, scores_allowed, accept_unfingerprinted, \
         schema_fingerprint, key_fingerprint, compat, compat_result_type FROM projects \
         WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(id)
    .fetch_optional(state.db())
    .await?
    .ok_or_else(|| ApiError::not_found("project"))?;
    Ok(Project {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        parties: r.try_get("parties")?,
        result_type: r.try_get("result_type")?,
        scores_allowed: r.try_get::<i64, _>("scores_allowed")? != 0,
        accept_unfingerprinted: r.try_get::<i64, _>("accept_unfingerprinted")? != 0,
        schema_fingerprint: r.try_get("schema_fingerprint")?,
        key_fingerprint: r.try_get("key_fingerprint")?,
        compat: if r.try_get::<i64, _>("compat")? != 0 {
            Some(
                r.try_get::<Option<String>, _>("compat_result_type")?
                    .unwrap_or_else(|| "groups".into()),
            )
        } else {
            None
        },
    })
}

/// Revokes a token of the project (server admin or project admin).
#[utoipa::path(delete, path = "/api/v1/projects/{project_id}/tokens/{token_id}",
    params(("project_id" = String, Path, description = "The project"),
           ("token_id" = String, Path, description = "The token's public id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    who: Principal,
    Path((project, token_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    who.require(&project, true, &[Role::Admin])?;
    let done = sqlx::query(
        "UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND project_id = $3 AND revoked_at IS NULL",
    )
    .bind(now())
    .bind(&token_id)
    .bind(&project)
    .execute(state.db())
    .await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::not_found("live token in this project"));
    }
    audit::append(
        &state,
        "token.revoked",
        &who.actor(),
        Some(&project),
        json!({"token": token_id}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What deleting a project removed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProjectDeleted {
    /// Uploads whose encodings were removed.
    pub uploads_removed: u64,
    /// Runs whose results were removed.
    pub runs_purged: u64,
}

/// Deletes a project (server admin or project admin): its encodings and results are removed,
/// its runs cancelled, its tokens and join codes stop working; the audit trail keeps the fact.
#[utoipa::path(delete, path = "/api/v1/projects/{project_id}",
    params(("project_id" = String, Path, description = "The project")),
    responses((status = 200, body = ProjectDeleted), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    who: Principal,
    Path(project): Path<String>,
) -> ApiResult<Json<ProjectDeleted>> {
    who.require(&project, true, &[Role::Admin])?;
    load(&state, &project).await?;
    let removed = crate::retention::delete_project(&state, &project, &who.actor()).await?;
    Ok(Json(ProjectDeleted {
        uploads_removed: removed.uploads,
        runs_purged: removed.runs,
    }))
}
