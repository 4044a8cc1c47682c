//! Data retention and failed authentication: deleting a project removes its encodings and
//! results and ends its credentials; a retention period removes old uploads and results; a
//! failed authentication is an audit row that holds no secret.

use axum::body::Body;
use axum::http::Method;
use serde_json::json;

use crate::util::{ADMIN, Srv, files, linked};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_project_removes_its_data_and_ends_its_tokens() {
    let srv = Srv::new().await;
    let f = files();
    let (p, run) = linked(&srv, &f, false).await;
    let other = srv.project(&f, 2, false).await;
    let uri = format!("/api/v1/projects/{}", p.id);
    let uploads = srv.dir.path().join("uploads").join(&p.id);
    let results = srv.dir.path().join("runs").join(&run);
    assert!(uploads.exists() && results.exists());
    // Nobody, a forged token, a party, the reader and another project's tokens may not
    // delete it; its own admin may, and the server admin (below, on the other project).
    let forged = format!("pprl_{}_{}", "0".repeat(16), "1".repeat(64));
    for (t, want) in [
        (None, 401),
        (Some(&forged), 401),
        (Some(&p.parties[0]), 403),
        (Some(&p.parties[1]), 403),
        (Some(&p.reader), 403),
        (Some(&other.admin), 403),
        (Some(&other.parties[0]), 403),
    ] {
        let r = srv
            .req(
                Method::DELETE,
                &uri,
                t.map(|s| s.as_str()),
                &[],
                Body::empty(),
            )
            .await;
        assert_eq!(r.status, want, "{t:?}");
    }
    let r = srv
        .req(Method::DELETE, &uri, Some(&p.admin), &[], Body::empty())
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["uploads_removed"], 2);
    assert_eq!(r.json()["runs_purged"], 1);
    assert!(!uploads.exists(), "the encodings are still on disk");
    assert!(!results.exists(), "the results are still on disk");
    // Its tokens stop working; the server admin sees 404; the other project is untouched.
    assert_eq!(srv.get(&uri, Some(&p.reader)).await.status, 401);
    assert_eq!(srv.get(&uri, Some(ADMIN)).await.status, 404);
    let other_uri = format!("/api/v1/projects/{}", other.id);
    assert_eq!(srv.get(&other_uri, Some(&other.admin)).await.status, 200);
    let r = srv
        .req(Method::DELETE, &other_uri, Some(ADMIN), &[], Body::empty())
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(srv.get(&other_uri, Some(&other.admin)).await.status, 401);
    let v = srv.get("/api/v1/audit/verify", Some(ADMIN)).await.json();
    assert_eq!(v["broken"], serde_json::Value::Null);
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit WHERE action = 'project.deleted'")
        .fetch_one(srv.state.db())
        .await
        .unwrap();
    assert_eq!(n, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retention_period_removes_old_uploads_and_results() {
    let srv = Srv::new().await;
    let f = files();
    let (p, run) = linked(&srv, &f, false).await;
    let res = format!("/api/v1/projects/{}/runs/{run}/result", p.id);
    assert_eq!(srv.get(&res, Some(&p.reader)).await.status, 200);
    // Nothing is old enough yet.
    let removed = pprl_server::retention::sweep(&srv.state, 3600)
        .await
        .unwrap();
    assert_eq!((removed.uploads, removed.runs), (0, 0));
    // Age everything by two hours.
    for sql in [
        "UPDATE uploads SET committed_at = committed_at - 7200, created_at = created_at - 7200",
        "UPDATE runs SET finished_at = finished_at - 7200",
    ] {
        sqlx::query(sql).execute(srv.state.db()).await.unwrap();
    }
    let removed = pprl_server::retention::sweep(&srv.state, 3600)
        .await
        .unwrap();
    assert_eq!((removed.uploads, removed.runs), (2, 1));
    let r = srv.get(&res, Some(&p.reader)).await;
    assert_eq!(r.status, 410);
    assert_eq!(r.json()["code"], "result-deleted");
    let left = std::fs::read_dir(srv.dir.path().join("uploads").join(&p.id))
        .unwrap()
        .count();
    assert_eq!(left, 0);
    // A new run cannot start without the encodings.
    let r = srv
        .post(
            &format!("/api/v1/projects/{}/runs", p.id),
            Some(&p.admin),
            &json!({"threshold": 0.8}),
        )
        .await;
    assert_eq!(r.status, 409);
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit WHERE action = 'retention.purged'")
        .fetch_one(srv.state.db())
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn failed_authentication_is_audited_without_the_secret() {
    let srv = Srv::new().await;
    let f = files();
    let p = srv.project(&f, 2, false).await;
    let uri = format!("/api/v1/projects/{}", p.id);
    let forged = format!("pprl_{}_{}", "ab".repeat(8), "5".repeat(64));
    // The reader's token with one hex digit of its secret changed.
    let mut revoked = p.reader.clone();
    let last = revoked.pop().unwrap();
    revoked.push(if last == '0' { '1' } else { '0' });
    for t in [
        None,
        Some(forged.as_str()),
        Some("not-a-token-at-all"),
        Some(revoked.as_str()),
    ] {
        assert_eq!(srv.get(&uri, t).await.status, 401);
    }
    let r = srv
        .post("/api/v1/join", None, &json!({"code": p.codes[0]}))
        .await;
    assert_eq!(r.status, 401);
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT action, detail FROM audit WHERE action IN ('auth.failed', 'join.failed') ORDER BY seq")
            .fetch_all(srv.state.db())
            .await
            .unwrap();
    let reasons: Vec<String> = rows
        .iter()
        .map(|(a, d)| {
            let v: serde_json::Value = serde_json::from_str(d).unwrap();
            format!("{a}:{}", v["reason"].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        reasons,
        [
            "auth.failed:invalid-token",
            "auth.failed:unknown-credential",
            "auth.failed:invalid-token",
            "join.failed:redeemed-or-expired"
        ]
    );
    assert!(
        rows[0].1.contains(&"ab".repeat(8)),
        "the public id names the token"
    );
    assert!(rows[0].1.contains("/api/v1/projects/{project_id}"));
    let all: Vec<String> = sqlx::query_scalar("SELECT detail FROM audit")
        .fetch_all(srv.state.db())
        .await
        .unwrap();
    for d in &all {
        for secret in [
            &"5".repeat(64),
            &p.reader,
            &p.codes[0],
            &"not-a-token-at-all".to_string(),
        ] {
            assert!(
                !d.contains(secret.as_str()),
                "a secret in the audit trail: {d}"
            );
        }
    }
}
