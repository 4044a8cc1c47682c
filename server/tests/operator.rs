//! The operator's page: only the server admin (HTTP Basic or bearer) sees it; it shows the
//! projects, each party's upload state, the runs and the audit chain; it escapes what it shows
//! and loads nothing from elsewhere.

use axum::body::Body;
use axum::http::Method;
use base64::Engine as _;
use serde_json::json;

use crate::util::{ADMIN, Srv, files, linked};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_sees_projects_uploads_runs_and_the_audit_chain() {
    let srv = Srv::new().await;
    let f = files();
    let (p, run) = linked(&srv, &f, false).await;
    // A second project whose name tries to inject markup, with a half-sent upload.
    let r = srv
        .post(
            "/api/v1/projects",
            Some(ADMIN),
            &json!({"name": "<script>alert(1)</script>", "schema_fingerprint": f.schema_fp,
                    "parties": 2, "result_type": "links"}),
        )
        .await;
    assert_eq!(r.status, 201);
    let page = |auth: Option<String>| {
        let h: Vec<(&str, String)> = auth.into_iter().map(|a| ("authorization", a)).collect();
        let srv = &srv;
        async move {
            srv.req(Method::GET, "/operator", None, &h, Body::empty())
                .await
        }
    };
    let r = page(None).await;
    assert_eq!(r.status, 401);
    assert!(
        r.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic ")
    );
    assert_eq!(page(Some(format!("Bearer {}", p.admin))).await.status, 403);
    let wrong = base64::engine::general_purpose::STANDARD.encode("op:not-the-admin-token");
    assert_eq!(page(Some(format!("Basic {wrong}"))).await.status, 401);
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("op:{ADMIN}"));
    let r = page(Some(format!("Basic {basic}"))).await;
    assert_eq!(r.status, 200);
    assert!(
        r.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );
    let html = r.text();
    assert!(html.contains(&p.id) && html.contains(&run), "{html}");
    assert!(html.contains("party 0: <span class=\"ok\">committed</span>"));
    assert!(html.contains("nothing yet"));
    assert!(html.contains(">completed<"));
    assert!(html.contains("<span class=\"ok\">intact</span>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("<script>"));
    assert!(
        !html.contains("src=") && !html.contains("href="),
        "an external asset"
    );
    for secret in p.parties.iter().chain([&p.admin, &p.reader]) {
        assert!(!html.contains(secret.as_str()));
    }
    // A tampered audit row shows on the page.
    sqlx::query("UPDATE audit SET detail = '{}' WHERE seq = 2")
        .execute(srv.state.db())
        .await
        .unwrap();
    let html = page(Some(format!("Bearer {ADMIN}"))).await.text();
    assert!(html.contains("broken at entry 2"), "{html}");
}
