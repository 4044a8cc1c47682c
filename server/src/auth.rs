//! Credentials: tokens and join codes, how they are made, stored and checked, and who a
//! request is ([`Principal`]).
//!
//! A token is `pprl_<id>_<secret>`: a 64-bit public id (to find the row) and a 256-bit random
//! secret (64 hex characters). The database holds only SHA-256 of the secret; the check
//! compares hashes in constant time (`subtle`), and an unknown id costs the same comparison.
//! Tokens are bound to one project, one role and (for parties) one party, and are revocable
//! and expiring. Join codes (`pprlj_<id>_<secret>`) have the same shape, are redeemed once,
//! and are how a party gets its token without the project's creator ever holding it. The
//! server admin's token is read from a file at start; only its hash is kept in memory.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use sqlx::Row;
use subtle::ConstantTimeEq;

use crate::db::{new_id, now, random};
use crate::error::ApiError;
use crate::state::AppState;

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// A role within a project.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages the project: starts and cancels runs, revokes tokens; reads no links.
    Admin,
    /// One department: uploads its own encodings, reads its own result view.
    Party,
    /// Reads the links or clusters (and scores, where the project allows them).
    Reader,
}

impl Role {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Party => "party",
            Role::Reader => "reader",
        }
    }

    fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "party" => Some(Role::Party),
            "reader" => Some(Role::Reader),
            _ => None,
        }
    }
}

/// A freshly made credential: what to show once, and what to store.
pub struct NewSecret {
    /// The public id.
    pub id: String,
    /// The whole credential, shown once.
    pub full: String,
    /// Hex SHA-256 of the secret part, stored.
    pub hash: String,
}

/// A new credential with prefix `pprl` (token) or `pprlj` (join code).
pub fn new_secret(prefix: &str) -> NewSecret {
    let id = new_id();
    let secret = hex::encode(random::<32>());
    let hash = hex::encode(sha256(secret.as_bytes()));
    NewSecret {
        full: format!("{prefix}_{id}_{secret}"),
        id,
        hash,
    }
}

/// Splits `prefix_id_secret`; `None` if it has another shape.
pub fn split<'a>(prefix: &str, s: &'a str) -> Option<(&'a str, &'a str)> {
    let rest = s.strip_prefix(prefix)?.strip_prefix('_')?;
    let (id, secret) = rest.split_once('_')?;
    let ok = |x: &str, n| x.len() == n && x.bytes().all(|b| b.is_ascii_hexdigit());
    (ok(id, 16) && ok(secret, 64)).then_some((id, secret))
}

/// Whether `secret` hashes to the stored hex hash, in constant time.
pub fn secret_matches(secret: &str, stored_hex: &str) -> bool {
    let stored = hex::decode(stored_hex).unwrap_or_default();
    let mut want = [0u8; 32];
    if stored.len() == 32 {
        want.copy_from_slice(&stored);
    }
    let ok = sha256(secret.as_bytes()).ct_eq(&want);
    bool::from(ok) && stored.len() == 32
}

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The server admin (token from the file given to `pprl serve`).
    ServerAdmin,
    /// A project token.
    Token {
        /// The token's public id (what the audit trail names).
        id: String,
        /// Its project.
        project: String,
        /// Its party, for party tokens (0-based).
        party: Option<i64>,
        /// Its role.
        role: Role,
    },
}

impl Principal {
    /// The actor as the audit trail names it: `admin` or `token:<id>`.
    pub fn actor(&self) -> String {
        match self {
            Principal::ServerAdmin => "admin".into(),
            Principal::Token { id, .. } => format!("token:{id}"),
        }
    }

    /// Allows the server admin (if `admin`) or a token of `project` with one of `roles`;
    /// otherwise 403, the same whether the project exists or not.
    pub fn require(&self, project: &str, admin: bool, roles: &[Role]) -> Result<(), ApiError> {
        match self {
            Principal::ServerAdmin if admin => Ok(()),
            Principal::Token {
                project: p, role, ..
            } if p == project && roles.contains(role) => Ok(()),
            _ => Err(ApiError::forbidden()),
        }
    }

    /// The party of a party token of `project`, or 403.
    pub fn party_of(&self, project: &str) -> Result<i64, ApiError> {
        match self {
            Principal::Token {
                project: p,
                role: Role::Party,
                party: Some(k),
                ..
            } if p == project => Ok(*k),
            _ => Err(ApiError::forbidden()),
        }
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts.headers.get(axum::http::header::AUTHORIZATION);
        let found = match header {
            None => Err(("missing", "auth-missing")),
            Some(h) => h
                .to_str()
                .ok()
                .and_then(credential)
                .ok_or(("malformed", "auth-invalid")),
        };
        let result = match found {
            Ok(token) => authenticate(state, &token).await.map_err(|e| (e, token)),
            Err((reason, code)) => Err((ApiError::unauthorized(code), reason.to_string())),
        };
        match result {
            Ok(p) => Ok(p),
            Err((e, token_or_reason)) => {
                // A request without credentials is no attempt (a browser asks for the
                // operator's page first without them); a credential that fails is.
                if e.code != "auth-missing" {
                    record_failure(state, parts, &e, &token_or_reason).await;
                }
                Err(e)
            }
        }
    }
}

/// The credential of an `Authorization` header value: `Bearer <token>`, `Basic
/// base64(<any user>:<token>)` (what a browser sends for the operator's page, and what Python's
/// `requests` sends from a netrc file), or the token alone (what anonlink-entity-service's
/// clients send). `None` for anything else.
pub fn credential(value: &str) -> Option<String> {
    use base64::Engine as _;
    let value = value.trim();
    if let Some(t) = value.strip_prefix("Bearer ") {
        return Some(t.trim().to_string()).filter(|t| !t.is_empty());
    }
    if let Some(b) = value.strip_prefix("Basic ") {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b.trim())
            .ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (_, password) = text.split_once(':')?;
        return Some(password.to_string()).filter(|t| !t.is_empty());
    }
    (!value.is_empty() && !value.contains(char::is_whitespace)).then(|| value.to_string())
}

/// Writes a failed authentication to the audit trail: why, the route template, the client's
/// address and, when the credential has a token's shape, its public id (never the secret).
async fn record_failure(state: &AppState, parts: &Parts, e: &ApiError, token_or_reason: &str) {
    let (reason, token_id) = match e.code {
        _ if token_or_reason == "malformed" => ("malformed", None),
        _ => match split("pprl", token_or_reason) {
            Some((id, _)) => ("invalid-token", Some(id.to_string())),
            None => ("unknown-credential", None),
        },
    };
    let route = parts
        .extensions
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_string());
    let remote = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let _ = crate::audit::append(
        state,
        "auth.failed",
        "anonymous",
        None,
        serde_json::json!({"reason": reason, "token": token_id, "route": route,
                           "method": parts.method.as_str(), "remote": remote}),
    )
    .await;
}

/// Who `token` is: the server admin, a live project token, or 401.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    if let Some(admin) = &state.0.admin_hash
        && bool::from(sha256(token.as_bytes()).ct_eq(admin))
    {
        return Ok(Principal::ServerAdmin);
    }
    let invalid = || ApiError::unauthorized("auth-invalid");
    let Some((id, secret)) = split("pprl", token) else {
        return Err(invalid());
    };
    let row = sqlx::query(
        "SELECT project_id, party, role, hash, expires_at, revoked_at FROM tokens WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(state.db())
    .await?;
    let Some(row) = row else {
        // The same work as for a known id.
        secret_matches(secret, &"0".repeat(64));
        return Err(invalid());
    };
    let hash: String = row.try_get("hash")?;
    if !secret_matches(secret, &hash) {
        return Err(invalid());
    }
    let expires: i64 = row.try_get("expires_at")?;
    let revoked: Option<i64> = row.try_get("revoked_at")?;
    if revoked.is_some() || expires <= now() {
        return Err(invalid());
    }
    let role: String = row.try_get("role")?;
    Ok(Principal::Token {
        id: id.to_string(),
        project: row.try_get("project_id")?,
        party: row.try_get("party")?,
        role: Role::parse(&role).ok_or_else(invalid)?,
    })
}

/// Makes a join code for `role` (and `party`) in `project`; returns the code, shown once.
pub async fn issue_join_code(
    db: &mut sqlx::AnyConnection,
    project: &str,
    role: Role,
    party: Option<i64>,
    ttl_s: u64,
) -> Result<String, sqlx::Error> {
    let code = new_secret("pprlj");
    sqlx::query(
        "INSERT INTO join_codes (id, project_id, party, role, hash, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&code.id)
    .bind(project)
    .bind(party)
    .bind(role.as_str())
    .bind(&code.hash)
    .bind(now() + ttl_s as i64)
    .execute(db)
    .await?;
    Ok(code.full)
}

/// Makes a token for `role` (and `party`) in `project` directly, without a join code (the
/// anonlink-entity-service API hands tokens to the project's creator); returns `(id, token)`.
pub async fn issue_token(
    db: &mut sqlx::AnyConnection,
    project: &str,
    role: Role,
    party: Option<i64>,
    ttl_s: u64,
) -> Result<(String, String), sqlx::Error> {
    let token = new_secret("pprl");
    sqlx::query(
        "INSERT INTO tokens (id, project_id, party, role, hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&token.id)
    .bind(project)
    .bind(party)
    .bind(role.as_str())
    .bind(&token.hash)
    .bind(now())
    .bind(now() + ttl_s as i64)
    .execute(db)
    .await?;
    Ok((token.id, token.full))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_256_bits_and_only_their_hash_is_kept() {
        let s = new_secret("pprl");
        let (id, secret) = split("pprl", &s.full).unwrap();
        assert_eq!(id, s.id);
        assert_eq!(secret.len(), 64);
        assert!(!s.hash.contains(secret));
        assert!(secret_matches(secret, &s.hash));
        let mut other = secret.to_string();
        other.replace_range(0..1, if &secret[..1] == "0" { "1" } else { "0" });
        assert!(!secret_matches(&other, &s.hash));
        assert!(split("pprl", "pprl_abc_def").is_none());
        assert!(split("pprlj", &s.full).is_none());
    }
}
