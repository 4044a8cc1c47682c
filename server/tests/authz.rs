//! The authorisation matrix: every endpoint x every kind of caller (none, a forged token, the
//! server admin, each role of the project, each role of another project) -> the exact status.

use axum::body::Body;
use axum::http::Method;
use serde_json::json;

use crate::util::{ADMIN, Srv, files, linked};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Nobody,
    Forged,
    ServerAdmin,
    Admin,
    Party0,
    Party1,
    Reader,
    OtherAdmin,
    OtherParty,
    OtherReader,
}

const ALL: [Who; 10] = [
    Who::Nobody,
    Who::Forged,
    Who::ServerAdmin,
    Who::Admin,
    Who::Party0,
    Who::Party1,
    Who::Reader,
    Who::OtherAdmin,
    Who::OtherParty,
    Who::OtherReader,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_every_role_own_and_other_project() {
    let srv = Srv::new().await;
    let f = files();
    let (p, run) = linked(&srv, &f, true).await;
    let other = srv.project(&f, 2, true).await;
    let forged = format!("pprl_{}_{}", "0".repeat(16), "1".repeat(64));
    let up0 = srv
        .get(&format!("/api/v1/projects/{}", p.id), Some(&p.admin))
        .await;
    assert_eq!(up0.json()["uploads"][0]["committed"], true);
    assert!(up0.json()["uploads"][1]["records"].as_u64().unwrap() > 0);
    // A party sees that the other party uploaded, not how many records it has.
    let seen = srv
        .get(&format!("/api/v1/projects/{}", p.id), Some(&p.parties[0]))
        .await
        .json();
    assert!(seen["uploads"][0]["records"].as_u64().unwrap() > 0);
    assert_eq!(seen["uploads"][1]["committed"], true);
    assert_eq!(seen["uploads"][1]["records"], serde_json::Value::Null);
    // The id of party 0's committed upload, from the database (no endpoint lists uploads).
    let up0: String = sqlx::query_scalar(
        "SELECT id FROM uploads WHERE project_id = $1 AND party = 0 AND state = 'committed'",
    )
    .bind(&p.id)
    .fetch_one(srv.state.db())
    .await
    .unwrap();
    let token = |w: Who| -> Option<String> {
        match w {
            Who::Nobody => None,
            Who::Forged => Some(forged.clone()),
            Who::ServerAdmin => Some(ADMIN.into()),
            Who::Admin => Some(p.admin.clone()),
            Who::Party0 => Some(p.parties[0].clone()),
            Who::Party1 => Some(p.parties[1].clone()),
            Who::Reader => Some(p.reader.clone()),
            Who::OtherAdmin => Some(other.admin.clone()),
            Who::OtherParty => Some(other.parties[0].clone()),
            Who::OtherReader => Some(other.reader.clone()),
        }
    };
    let pid = &p.id;
    let upload = format!("/api/v1/projects/{pid}/uploads/{up0}");
    let run_uri = format!("/api/v1/projects/{pid}/runs/{run}");
    let new_project = json!({"name": "x", "schema_fingerprint": f.schema_fp, "parties": 2,
                             "result_type": "links"})
    .to_string();
    let upload_req = json!({"length": 10, "sha256": "0".repeat(64)}).to_string();
    // (method, uri, body, allowed callers with their status); everyone else: 401 without a
    // valid token, 403 with one.
    type Row<'a> = (Method, String, String, Vec<(Who, u16)>);
    use Who::*;
    let rows: Vec<Row> = vec![
        (
            Method::GET,
            "/api/v1/status".into(),
            String::new(),
            ALL.iter().map(|&w| (w, 200)).collect(),
        ),
        (
            Method::GET,
            "/api/v1/audit/verify".into(),
            String::new(),
            vec![(ServerAdmin, 200)],
        ),
        (
            Method::GET,
            "/operator".into(),
            String::new(),
            vec![(ServerAdmin, 200)],
        ),
        (
            Method::POST,
            "/api/v1/projects".into(),
            new_project,
            vec![(ServerAdmin, 201)],
        ),
        (
            Method::GET,
            format!("/api/v1/projects/{pid}"),
            String::new(),
            vec![
                (ServerAdmin, 200),
                (Admin, 200),
                (Party0, 200),
                (Party1, 200),
                (Reader, 200),
            ],
        ),
        (
            Method::DELETE,
            format!("/api/v1/projects/{pid}/tokens/{}", "0".repeat(16)),
            String::new(),
            vec![(ServerAdmin, 404), (Admin, 404)],
        ),
        (
            Method::POST,
            format!("/api/v1/projects/{pid}/uploads"),
            upload_req,
            vec![(Party0, 409), (Party1, 409)],
        ),
        (
            Method::GET,
            upload.clone(),
            String::new(),
            vec![(Party0, 200)],
        ),
        (
            Method::HEAD,
            upload.clone(),
            String::new(),
            vec![(Party0, 200)],
        ),
        (
            Method::PATCH,
            upload.clone(),
            String::new(),
            vec![(Party0, 409)],
        ),
        (
            Method::GET,
            run_uri.clone(),
            String::new(),
            vec![(Admin, 200), (Party0, 200), (Party1, 200), (Reader, 200)],
        ),
        (
            Method::GET,
            format!("{run_uri}/result"),
            String::new(),
            vec![(Party0, 200), (Party1, 200), (Reader, 200)],
        ),
        (
            Method::GET,
            format!("{run_uri}/result?scores=true"),
            String::new(),
            vec![(Reader, 200)],
        ),
        (
            Method::DELETE,
            run_uri.clone(),
            String::new(),
            vec![(Admin, 200)],
        ),
        (
            Method::POST,
            format!("/api/v1/projects/{pid}/runs"),
            json!({"threshold": 0.8}).to_string(),
            vec![(Admin, 202)],
        ),
    ];
    let mut failures = Vec::new();
    let mut checked = 0;
    for (method, uri, body, allowed) in &rows {
        for who in ALL {
            let want = match allowed.iter().find(|(w, _)| *w == who) {
                Some((_, s)) => *s,
                None if matches!(who, Nobody | Forged) => 401,
                None => 403,
            };
            let mut headers = vec![("upload-offset", "0".to_string())];
            if !body.is_empty() {
                headers.push(("content-type", "application/json".into()));
            }
            let r = srv
                .req(
                    method.clone(),
                    uri,
                    token(who).as_deref(),
                    &headers,
                    Body::from(body.clone()),
                )
                .await;
            checked += 1;
            if r.status.as_u16() != want {
                failures.push(format!(
                    "{method} {uri} as {who:?}: {} (want {want})",
                    r.status
                ));
            }
            if r.status.as_u16() == 403 && method != Method::HEAD && uri != "/operator" {
                assert_eq!(r.headers["content-type"], "application/problem+json");
            }
        }
    }
    assert_eq!(checked, rows.len() * ALL.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_party_reads_only_its_own_ids_and_never_the_scores() {
    let srv = Srv::new().await;
    let f = files();
    let (p, run) = linked(&srv, &f, true).await;
    let uri = format!("/api/v1/projects/{}/runs/{run}/result", p.id);
    let links = srv.get(&uri, Some(&p.reader)).await.text();
    let n_links = links.lines().count() - 1;
    assert!(n_links > 250, "{n_links} links");
    for (k, own, foreign) in [(0, "A0", "B-"), (1, "B-", "A0")] {
        let view = srv.get(&uri, Some(&p.parties[k])).await.text();
        let mut lines = view.lines();
        assert_eq!(lines.next(), Some("link_id,id"));
        let rows: Vec<&str> = lines.collect();
        assert_eq!(rows.len(), n_links);
        for row in &rows {
            let (link, id) = row.split_once(',').unwrap();
            assert_eq!(link.len(), 24);
            assert!(id.starts_with(own), "party {k} sees {id}");
            assert!(!row.contains(foreign));
            assert!(!row.contains("0."), "a score in a party view: {row}");
        }
        // Sorted by the opaque id, not in the result's (score) order.
        let mut sorted = rows.clone();
        sorted.sort();
        assert_eq!(rows, sorted);
    }
    // The two parties' link ids are the same set: they can join their records on them.
    let ids = |k: usize| {
        let v = futures_block(srv.get(&uri, Some(&p.parties[k])));
        let mut s: Vec<String> = v
            .text()
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect();
        s.sort();
        s
    };
    assert_eq!(ids(0), ids(1));
}

fn futures_block<F: std::future::Future>(f: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(f))
}

#[tokio::test]
async fn redeemed_revoked_and_expired_credentials_are_refused() {
    let mut limits = pprl_server::Limits::default();
    let srv = Srv::new().await;
    let f = files();
    let p = srv.project(&f, 2, false).await;
    // A join code works once.
    let r = srv
        .post("/api/v1/join", None, &json!({"code": p.codes[0]}))
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["code"], "join-invalid");
    // A revoked token stops working at once.
    let uri = format!("/api/v1/projects/{}", p.id);
    assert_eq!(srv.get(&uri, Some(&p.reader)).await.status, 200);
    let reader_id = p.reader.split('_').nth(1).unwrap();
    let r = srv
        .req(
            Method::DELETE,
            &format!("{uri}/tokens/{reader_id}"),
            Some(&p.admin),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, 204);
    let r = srv.get(&uri, Some(&p.reader)).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["code"], "auth-invalid");
    // A token with a changed secret is refused (the hash differs).
    let mut tampered = p.admin.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    assert_eq!(srv.get(&uri, Some(&tampered)).await.status, 401);
    // An expired token: a server whose tokens live 0 seconds.
    limits.token_ttl_s = 0;
    let srv = Srv::with_limits(limits).await;
    let p = srv.project(&f, 2, false).await;
    let r = srv
        .get(&format!("/api/v1/projects/{}", p.id), Some(&p.admin))
        .await;
    assert_eq!(r.status, 401);
}
