//! The audit trail: every security event is a row, the chain verifies, and a changed or
//! removed row is named by its number.

use serde_json::json;

use crate::util::{ADMIN, Srv, files, linked};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampering_with_one_row_breaks_the_chain_at_that_row() {
    let srv = Srv::new().await;
    let f = files();
    let (p, run) = linked(&srv, &f, false).await;
    let _ = srv
        .get(
            &format!("/api/v1/projects/{}/runs/{run}/result", p.id),
            Some(&p.reader),
        )
        .await;
    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit ORDER BY seq")
        .fetch_all(srv.state.db())
        .await
        .unwrap();
    for want in [
        "project.created",
        "join_code.redeemed",
        "upload.started",
        "upload.committed",
        "run.queued",
        "run.started",
        "run.finished",
        "result.downloaded",
    ] {
        assert!(
            actions.iter().any(|a| a == want),
            "{want} missing from {actions:?}"
        );
    }
    let v = srv.get("/api/v1/audit/verify", Some(ADMIN)).await.json();
    assert_eq!(v["broken"], serde_json::Value::Null);
    assert_eq!(v["rows"], actions.len());
    // No token or join code in the trail.
    let details: Vec<String> = sqlx::query_scalar("SELECT detail FROM audit")
        .fetch_all(srv.state.db())
        .await
        .unwrap();
    let all = details.join("\n");
    for secret in p
        .parties
        .iter()
        .chain([&p.admin, &p.reader])
        .chain(&p.codes)
    {
        assert!(!all.contains(secret.rsplit('_').next().unwrap()));
    }
    // Change row 5's detail: verification names row 5.
    sqlx::query("UPDATE audit SET detail = $1 WHERE seq = 5")
        .bind(json!({"forged": true}).to_string())
        .execute(srv.state.db())
        .await
        .unwrap();
    let v = pprl_server::audit::verify(srv.state.db()).await.unwrap();
    let b = v.broken.unwrap();
    assert_eq!((b.seq, b.reason.as_str()), (5, "hash"));
    // Remove row 3 instead (after restoring nothing): the chain breaks at row 4.
    let srv2 = Srv::new().await;
    let _ = linked(&srv2, &f, false).await;
    sqlx::query("DELETE FROM audit WHERE seq = 3")
        .execute(srv2.state.db())
        .await
        .unwrap();
    let b = pprl_server::audit::verify(srv2.state.db())
        .await
        .unwrap()
        .broken
        .unwrap();
    assert_eq!((b.seq, b.reason.as_str()), (4, "seq"));
}

#[tokio::test]
async fn a_changed_configuration_is_an_audit_event_naming_the_keys() {
    let srv = Srv::new().await;
    let mut limits = pprl_server::Limits::default();
    pprl_server::audit::record_start(&srv.state, &limits).await;
    pprl_server::audit::record_start(&srv.state, &limits).await;
    limits.max_candidates = 5;
    limits.retention_s = Some(86_400);
    pprl_server::audit::record_start(&srv.state, &limits).await;
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT action, detail FROM audit ORDER BY seq")
            .fetch_all(srv.state.db())
            .await
            .unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        actions,
        [
            "server.started",
            "server.started",
            "config.changed",
            "server.started"
        ]
    );
    let change: serde_json::Value = serde_json::from_str(&rows[2].1).unwrap();
    assert_eq!(change["max_candidates"]["to"], 5);
    assert_eq!(change["retention_s"]["from"], serde_json::Value::Null);
    assert_eq!(change["retention_s"]["to"], 86_400);
    assert_eq!(change.as_object().unwrap().len(), 2);
}
