//! The audit trail: an append-only, hash-chained table of security events.
//!
//! Each row is `(seq, ts, action, actor, project_id, detail, prev_hash, hash)` with
//! `hash = BLAKE3(prev_hash || 0x0a || canonical JSON of the other fields)` and the first
//! row's `prev_hash` 64 zeros. Changing, removing or reordering a row breaks the chain at that
//! row, which [`verify`] names. `detail` holds sizes, digests, counts and ids, never a token,
//! a join code, an encoding or a score.

use serde::Serialize;
use sqlx::{AnyPool, Row};

use crate::db::now;
use crate::state::AppState;

/// The `prev_hash` of the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of one row, given the previous row's hash.
pub fn row_hash(
    prev: &str,
    seq: i64,
    ts: i64,
    action: &str,
    actor: &str,
    project: Option<&str>,
    detail: &str,
) -> String {
    let body = serde_json::json!({
        "seq": seq, "ts": ts, "action": action, "actor": actor,
        "project": project, "detail": detail,
    });
    let mut h = blake3::Hasher::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(body.to_string().as_bytes());
    h.finalize().to_hex().to_string()
}

/// Appends one event. `detail` must hold no secret (callers pass ids, sizes and digests).
pub async fn append(
    state: &AppState,
    action: &str,
    actor: &str,
    project: Option<&str>,
    detail: serde_json::Value,
) -> Result<(), sqlx::Error> {
    let _guard = state.0.audit_lock.lock().await;
    let detail = detail.to_string();
    // The key on `seq` refuses a second row with the same number (another process appending
    // at once): retry on the new head.
    let mut tries = 0;
    loop {
        let head = sqlx::query("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
            .fetch_optional(state.db())
            .await?;
        let (seq, prev) = match head {
            Some(r) => (
                r.try_get::<i64, _>("seq")? + 1,
                r.try_get::<String, _>("hash")?,
            ),
            None => (1, GENESIS.to_string()),
        };
        let ts = now();
        let hash = row_hash(&prev, seq, ts, action, actor, project, &detail);
        let res = sqlx::query(
            "INSERT INTO audit (seq, ts, action, actor, project_id, detail, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(seq)
        .bind(ts)
        .bind(action)
        .bind(actor)
        .bind(project)
        .bind(&detail)
        .bind(&prev)
        .bind(&hash)
        .execute(state.db())
        .await;
        match res {
            Ok(_) => return Ok(()),
            Err(e) if tries < 5 => {
                tries += 1;
                tracing::warn!(error = %e, "audit append retried");
            }
            Err(e) => return Err(e),
        }
    }
}

/// Records a start: `config.changed` with the keys whose values differ from the previous
/// start's (when there was one and anything changed), then `server.started` with the limits.
pub async fn record_start(state: &AppState, limits: &crate::config::Limits) {
    let now_limits = serde_json::to_value(limits).unwrap_or_default();
    let last: Option<String> = sqlx::query(
        "SELECT detail FROM audit WHERE action = 'server.started' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_optional(state.db())
    .await
    .ok()
    .flatten()
    .and_then(|r| r.try_get("detail").ok());
    if let Some(before) = last
        .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
        .map(|d| d["limits"].clone())
        && let (Some(b), Some(n)) = (before.as_object(), now_limits.as_object())
    {
        let changed: serde_json::Map<String, serde_json::Value> = n
            .iter()
            .filter(|(k, v)| b.get(*k) != Some(*v))
            .map(|(k, v)| {
                let was = b.get(k).cloned().unwrap_or(serde_json::Value::Null);
                (k.clone(), serde_json::json!({"from": was, "to": v}))
            })
            .collect();
        if !changed.is_empty() {
            let _ = append(state, "config.changed", "system", None, changed.into()).await;
        }
    }
    let _ = append(
        state,
        "server.started",
        "system",
        None,
        serde_json::json!({"limits": now_limits}),
    )
    .await;
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Verification {
    /// Rows checked.
    pub rows: u64,
    /// The hash of the last row (the chain's head), when there are rows.
    pub head: Option<String>,
    /// The first broken row, if any.
    pub broken: Option<Broken>,
}

/// The first row where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Broken {
    /// Its `seq` (rows are numbered from 1).
    pub seq: i64,
    /// Why: `hash` (the row was changed), `prev_hash` (a row before it was removed or
    /// changed) or `seq` (a gap or reordering).
    pub reason: String,
}

/// Recomputes the chain from the first row.
pub async fn verify(db: &AnyPool) -> Result<Verification, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT seq, ts, action, actor, project_id, detail, prev_hash, hash FROM audit ORDER BY seq",
    )
    .fetch_all(db)
    .await?;
    let mut prev = GENESIS.to_string();
    let mut head = None;
    for (expected_seq, r) in (1i64..).zip(rows.iter()) {
        let seq: i64 = r.try_get("seq")?;
        let broken = |reason: &str| Broken {
            seq,
            reason: reason.into(),
        };
        let stored_prev: String = r.try_get("prev_hash")?;
        let stored: String = r.try_get("hash")?;
        let project: Option<String> = r.try_get("project_id")?;
        let computed = row_hash(
            &stored_prev,
            seq,
            r.try_get("ts")?,
            &r.try_get::<String, _>("action")?,
            &r.try_get::<String, _>("actor")?,
            project.as_deref(),
            &r.try_get::<String, _>("detail")?,
        );
        let fault = if seq != expected_seq {
            Some(broken("seq"))
        } else if stored_prev != prev {
            Some(broken("prev_hash"))
        } else if computed != stored {
            Some(broken("hash"))
        } else {
            None
        };
        if let Some(b) = fault {
            return Ok(Verification {
                rows: rows.len() as u64,
                head: None,
                broken: Some(b),
            });
        }
        prev = stored;
        head = Some(prev.clone());
    }
    Ok(Verification {
        rows: rows.len() as u64,
        head,
        broken: None,
    })
}
