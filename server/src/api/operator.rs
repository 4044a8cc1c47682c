//! The operator's page, `GET /operator`: one server-rendered HTML page (no script, no
//! external asset, inline style only) with the projects, each party's upload state, the runs
//! with their stage and progress, the audit chain's state and the latest audit events.
//!
//! Only the server admin sees it: the browser sends the admin token as the password of HTTP
//! Basic authentication (any user name), or a client sends it as a bearer token. The page
//! changes nothing (no forms), so it offers nothing to forge; it reloads itself every five
//! seconds. Everything taken from the database is HTML-escaped. It shows what the audit trail
//! and the API already show the server admin: ids, names, counts and states, never a token,
//! an encoding or a score.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sqlx::Row;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn when(t: Option<i64>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "-".into())
}

fn secure(mut r: Response) -> Response {
    let h = r.headers_mut();
    for (k, v) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        h.insert(k, HeaderValue::from_static(v));
    }
    r
}

/// `GET /operator`.
pub async fn page(State(state): State<AppState>, who: Result<Principal, ApiError>) -> Response {
    match who {
        Ok(Principal::ServerAdmin) => match render(&state).await {
            Ok(html) => secure((StatusCode::OK, html).into_response()),
            Err(e) => e.into_response(),
        },
        Ok(_) => secure(
            (
                StatusCode::FORBIDDEN,
                shell("Forbidden", "<p>Only the server admin sees this page.</p>"),
            )
                .into_response(),
        ),
        Err(_) => {
            let mut r = secure(
                (
                    StatusCode::UNAUTHORIZED,
                    shell(
                        "Sign in",
                        "<p>Give the server admin's token as the password (any user name).</p>",
                    ),
                )
                    .into_response(),
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"pprl serve operator\", charset=\"UTF-8\""),
            );
            r
        }
    }
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}\
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}\
table{border-collapse:collapse;margin:.4em 0}td,th{border:1px solid #ccc;padding:3px 8px;\
text-align:left;vertical-align:top;white-space:nowrap}th{background:#f2f2f2}\
td.d{white-space:normal;word-break:break-all;min-width:30em}.ok{color:#080;font-weight:600}\
.bad{color:#b00;font-weight:600}.dim{color:#888}code{font-size:12px}";

fn shell(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"5\"><title>pprl serve: {t}</title>\
         <style>{STYLE}</style></head><body>{body}</body></html>",
        t = esc(title)
    )
}

async fn render(state: &AppState) -> ApiResult<String> {
    let mut b = String::new();
    b.push_str(&format!(
        "<h1>pprl serve {} &mdash; operator</h1><p class=\"dim\">as of {}; reloads every 5 s</p>",
        env!("CARGO_PKG_VERSION"),
        when(Some(crate::db::now()))
    ));
    // The audit chain.
    let v = crate::audit::verify(state.db()).await?;
    b.push_str("<h2>Audit chain</h2><p id=\"audit\">");
    match &v.broken {
        None => b.push_str(&format!(
            "<span class=\"ok\">intact</span>: {} entries, head <code>{}</code>",
            v.rows,
            esc(v.head.as_deref().unwrap_or("(empty)"))
        )),
        Some(br) => b.push_str(&format!(
            "<span class=\"bad\">broken at entry {}</span> ({}) of {} entries",
            br.seq,
            esc(&br.reason),
            v.rows
        )),
    }
    b.push_str("</p>");
    // Projects and their parties.
    let projects = sqlx::query(
        "SELECT id, name, parties, result_type, compat, key_fingerprint, created_at, deleted_at \
         FROM projects ORDER BY created_at DESC, id LIMIT 200",
    )
    .fetch_all(state.db())
    .await?;
    b.push_str(&format!(
        "<h2>Projects ({})</h2><table id=\"projects\"><tr><th>project</th><th>name</th>\
         <th>API</th><th>result</th><th>key</th><th>created</th><th>parties' uploads</th></tr>",
        projects.len()
    ));
    let uploads = sqlx::query(
        "SELECT project_id, party, state, length, received, format, records, error_code \
         FROM uploads ORDER BY created_at",
    )
    .fetch_all(state.db())
    .await?;
    for p in &projects {
        let id: String = p.try_get("id")?;
        let deleted: Option<i64> = p.try_get("deleted_at")?;
        let parties: i64 = p.try_get("parties")?;
        let mut cells = String::new();
        for k in 0..parties {
            // The last upload of party k that is not failed, else the last one.
            let mine: Vec<_> = uploads
                .iter()
                .filter(|u| {
                    u.try_get::<String, _>("project_id").ok().as_deref() == Some(&id)
                        && u.try_get::<i64, _>("party").ok() == Some(k)
                })
                .collect();
            let pick = mine
                .iter()
                .rev()
                .find(|u| u.try_get::<String, _>("state").ok().as_deref() != Some("failed"))
                .or(mine.last());
            let text = match pick {
                None => "<span class=\"dim\">nothing yet</span>".to_string(),
                Some(u) => {
                    let st: String = u.try_get("state")?;
                    match st.as_str() {
                        "committed" => format!(
                            "<span class=\"ok\">committed</span>: {} records ({}, {} bytes)",
                            u.try_get::<Option<i64>, _>("records")?.unwrap_or(0),
                            esc(&u
                                .try_get::<Option<String>, _>("format")?
                                .unwrap_or_default()),
                            u.try_get::<i64, _>("length")?
                        ),
                        "receiving" => {
                            let (got, len): (i64, i64) =
                                (u.try_get("received")?, u.try_get("length")?);
                            format!(
                                "receiving: {got} of {len} bytes ({:.0}%)",
                                100.0 * got as f64 / len.max(1) as f64
                            )
                        }
                        "failed" => format!(
                            "<span class=\"bad\">refused</span> ({})",
                            esc(&u
                                .try_get::<Option<String>, _>("error_code")?
                                .unwrap_or_default())
                        ),
                        other => format!("<span class=\"dim\">{}</span>", esc(other)),
                    }
                }
            };
            cells.push_str(&format!("party {k}: {text}<br>"));
        }
        let compat: i64 = p.try_get("compat")?;
        b.push_str(&format!(
            "<tr{cls}><td><code>{id}</code>{del}</td><td>{name}</td><td>{api}</td><td>{rt}</td>\
             <td>{key}</td><td>{created}</td><td>{cells}</td></tr>",
            cls = if deleted.is_some() {
                " class=\"dim\""
            } else {
                ""
            },
            id = esc(&id),
            del = if deleted.is_some() { " (deleted)" } else { "" },
            name = esc(&p.try_get::<String, _>("name")?),
            api = if compat != 0 { "anonlink" } else { "pprl" },
            rt = esc(&p.try_get::<String, _>("result_type")?),
            key = if p.try_get::<Option<String>, _>("key_fingerprint")?.is_some() {
                "pinned"
            } else {
                "-"
            },
            created = when(p.try_get("created_at")?),
        ));
    }
    b.push_str("</table>");
    // Runs.
    let runs = sqlx::query(
        "SELECT id, project_id, state, stage, progress, attempts, summary, created_at, \
         finished_at, purged_at FROM runs ORDER BY created_at DESC, id LIMIT 200",
    )
    .fetch_all(state.db())
    .await?;
    b.push_str(&format!(
        "<h2>Runs ({})</h2><table id=\"runs\"><tr><th>run</th><th>project</th><th>state</th>\
         <th>stage</th><th>progress</th><th>attempts</th><th>outcome</th><th>queued</th>\
         <th>finished</th></tr>",
        runs.len()
    ));
    for r in &runs {
        let st: String = r.try_get("state")?;
        let summary: Option<serde_json::Value> = r
            .try_get::<Option<String>, _>("summary")?
            .and_then(|s| serde_json::from_str(&s).ok());
        let outcome = match (&summary, st.as_str()) {
            (Some(s), "completed") => format!(
                "{} links at threshold {}, {} comparisons",
                s["matches"], s["threshold"], s["comparisons"]
            ),
            (Some(s), "error") => format!(
                "<span class=\"bad\">{}</span>",
                esc(s["code"].as_str().unwrap_or("error"))
            ),
            _ => "-".into(),
        };
        let purged = r.try_get::<Option<i64>, _>("purged_at")?.is_some();
        b.push_str(&format!(
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td class=\"{}\">{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.try_get::<String, _>("id")?),
            esc(&r.try_get::<String, _>("project_id")?),
            match st.as_str() {
                "completed" => "ok",
                "error" => "bad",
                _ => "",
            },
            esc(&st),
            esc(&r.try_get::<String, _>("stage")?),
            r.try_get::<i64, _>("progress")?,
            r.try_get::<i64, _>("attempts")?,
            outcome,
            if purged { " (results deleted)" } else { "" },
            when(r.try_get("created_at")?),
            when(r.try_get("finished_at")?),
        ));
    }
    b.push_str("</table>");
    // The latest audit events.
    let events = sqlx::query(
        "SELECT seq, ts, action, actor, project_id, detail FROM audit ORDER BY seq DESC LIMIT 25",
    )
    .fetch_all(state.db())
    .await?;
    b.push_str(
        "<h2>Latest audit events</h2><table id=\"events\"><tr><th>#</th><th>time</th>\
         <th>event</th><th>actor</th><th>project</th><th>detail</th></tr>",
    );
    for e in &events {
        b.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code>\
             </td><td class=\"d\"><code>{}</code></td></tr>",
            e.try_get::<i64, _>("seq")?,
            when(e.try_get("ts")?),
            esc(&e.try_get::<String, _>("action")?),
            esc(&e.try_get::<String, _>("actor")?),
            esc(&e
                .try_get::<Option<String>, _>("project_id")?
                .unwrap_or_default()),
            esc(&e.try_get::<String, _>("detail")?),
        ));
    }
    b.push_str("</table>");
    Ok(shell("operator", &b))
}
