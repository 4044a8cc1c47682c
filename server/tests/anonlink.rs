//! The anonlink-entity-service API (`/anonlink/api/v1`): off by default; the flow of
//! anonlink-client 0.1.5 (create a project as the server admin over HTTP Basic, upload `clks`
//! and `clknblocks`, a run, its status, the `groups` result equal to the library's match on the
//! same files, delete); its tokens' limits; scores only where the operator allows them.

use axum::body::Body;
use axum::http::Method;
use base64::Engine as _;
use pprl::linkage::job::match_files;
use serde_json::{Value, json};

use crate::util::{ADMIN, Resp, Srv, files};

/// A `.clk` file's encodings as clkhash JSON `clks` (base64 strings).
fn clks(path: &std::path::Path) -> Vec<String> {
    let data = pprl::io::ClkReader::open(path).unwrap().read_all().unwrap();
    let bits = data.header.filter_bits;
    let w = (bits as usize).div_ceil(64);
    data.words
        .chunks(w)
        .map(|words| {
            let mut bytes = Vec::new();
            pprl::io::formats::clkhash_json::words_to_bytes(words, bits, &mut bytes);
            base64::engine::general_purpose::STANDARD.encode(bytes)
        })
        .collect()
}

fn basic(token: &str) -> String {
    let b = base64::engine::general_purpose::STANDARD.encode(format!("admin:{token}"));
    format!("Basic {b}")
}

async fn call(
    srv: &Srv,
    method: Method,
    uri: &str,
    auth: Option<&str>,
    body: Option<&Value>,
) -> Resp {
    let mut h = vec![];
    if let Some(a) = auth {
        h.push(("authorization", a.to_string()));
    }
    let b = match body {
        Some(v) => {
            h.push(("content-type", "application/json".into()));
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    srv.req(method, &format!("/anonlink/api/v1{uri}"), None, &h, b)
        .await
}

async fn compat_srv() -> Srv {
    let limits = pprl_server::Limits {
        anonlink_compat: true,
        ..Default::default()
    };
    Srv::with_limits(limits).await
}

const SCHEMA: &str = r#"{"version": 3, "clkConfig": {"l": 1024}, "features": []}"#;

#[tokio::test]
async fn the_anonlink_api_is_off_unless_the_operator_turns_it_on() {
    let srv = Srv::new().await;
    let r = srv.get("/anonlink/api/v1/status", None).await;
    assert_eq!(r.status, 404);
    let srv = compat_srv().await;
    let r = srv.get("/anonlink/api/v1/status", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_anonlink_client_flow_gives_the_links_of_match_files() {
    let srv = compat_srv().await;
    let f = files();
    let new = json!({"schema": serde_json::from_str::<Value>(SCHEMA).unwrap(),
                     "result_type": "groups", "number_parties": 2, "name": "x"});
    // Creating a project needs the server admin (HTTP Basic, e.g. from a netrc file).
    assert_eq!(
        call(&srv, Method::POST, "/projects", None, Some(&new))
            .await
            .status,
        401
    );
    let r = call(
        &srv,
        Method::POST,
        "/projects",
        Some(&basic(ADMIN)),
        Some(&new),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json();
    let pid = created["project_id"].as_str().unwrap().to_string();
    let ups: Vec<String> = created["update_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    let result = created["result_token"].as_str().unwrap().to_string();
    assert_eq!(ups.len(), 2);
    // No object store: the client falls back to uploading to the service.
    let r = call(
        &srv,
        Method::GET,
        &format!("/projects/{pid}/authorize-external-upload"),
        Some(&ups[0]),
        None,
    )
    .await;
    assert_eq!(r.status, 501);
    // The result token cannot upload; party 0 sends `clks`, party 1 `clknblocks`.
    let (a, b) = (clks(&f.a), clks(&f.b));
    let body_a = json!({"clks": a});
    let rows: Vec<Value> = b
        .iter()
        .enumerate()
        .map(|(i, c)| json!([c, format!("{}", i % 7)]))
        .collect();
    let body_b = json!({"clknblocks": rows});
    let up = format!("/projects/{pid}/clks");
    assert_eq!(
        call(&srv, Method::POST, &up, Some(&result), Some(&body_a))
            .await
            .status,
        403
    );
    let r = call(&srv, Method::POST, &up, Some(&ups[0]), Some(&body_a)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r.json()["receipt_token"].is_string());
    // A second upload with the same token is refused.
    assert_eq!(
        call(&srv, Method::POST, &up, Some(&ups[0]), Some(&body_a))
            .await
            .status,
        409
    );
    let r = call(&srv, Method::POST, &up, Some(&ups[1]), Some(&body_b)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    // A party token cannot start a run; the result token can.
    let runs = format!("/projects/{pid}/runs");
    let spec = json!({"threshold": 0.8, "name": "r1"});
    assert_eq!(
        call(&srv, Method::POST, &runs, Some(&ups[0]), Some(&spec))
            .await
            .status,
        403
    );
    srv.start_worker();
    let r = call(&srv, Method::POST, &runs, Some(&result), Some(&spec)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let run = r.json()["run_id"].as_str().unwrap().to_string();
    let mut status = Value::Null;
    for _ in 0..600 {
        status = call(
            &srv,
            Method::GET,
            &format!("{runs}/{run}/status"),
            Some(&result),
            None,
        )
        .await
        .json();
        if status["state"] == "completed" || status["state"] == "error" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status["state"], "completed", "{status}");
    assert_eq!(status["stages"], 3);
    assert_eq!(status["current_stage"]["number"], 3);
    // The groups are the links of the library's match on the same encodings.
    let dir = tempfile::tempdir().unwrap();
    let (ja, jb) = (dir.path().join("a.json"), dir.path().join("b.json"));
    std::fs::write(&ja, json!({"clks": a}).to_string()).unwrap();
    std::fs::write(&jb, json!({"clks": b}).to_string()).unwrap();
    let opts: pprl_server::jobs::RunSpec =
        serde_json::from_value(json!({"threshold": 0.8})).unwrap();
    let report = match_files(&[ja, jb], &opts.options().unwrap(), &|_| {}).unwrap();
    let want = String::from_utf8(report.write_csv_to(Vec::new(), false).unwrap()).unwrap();
    let mut want: Vec<(u64, u64)> = want
        .lines()
        .skip(1)
        .map(|l| {
            let (x, y) = l.split_once(',').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect();
    want.sort();
    let res = format!("{runs}/{run}/result");
    assert_eq!(
        call(&srv, Method::GET, &res, Some(&ups[0]), None)
            .await
            .status,
        403
    );
    let got = call(&srv, Method::GET, &res, Some(&result), None).await;
    assert_eq!(got.status, 200);
    let mut pairs: Vec<(u64, u64)> = got.json()["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            assert_eq!(g[0][0], 0);
            assert_eq!(g[1][0], 1);
            (g[0][1].as_u64().unwrap(), g[1][1].as_u64().unwrap())
        })
        .collect();
    pairs.sort();
    assert!(want.len() > 250, "{} links", want.len());
    assert_eq!(pairs, want);
    // Deleting the run removes its result; deleting the project removes the encodings and
    // ends its tokens.
    assert_eq!(
        call(
            &srv,
            Method::DELETE,
            &format!("{runs}/{run}"),
            Some(&ups[1]),
            None
        )
        .await
        .status,
        403
    );
    assert_eq!(
        call(
            &srv,
            Method::DELETE,
            &format!("{runs}/{run}"),
            Some(&result),
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(
        call(&srv, Method::GET, &res, Some(&result), None)
            .await
            .status,
        410
    );
    assert!(!srv.dir.path().join("runs").join(&run).exists());
    let uploads = srv.dir.path().join("uploads").join(&pid);
    assert!(std::fs::read_dir(&uploads).unwrap().count() >= 2);
    assert_eq!(
        call(
            &srv,
            Method::DELETE,
            &format!("/projects/{pid}"),
            Some(&result),
            None
        )
        .await
        .status,
        204
    );
    assert!(!uploads.exists());
    assert_eq!(
        call(
            &srv,
            Method::GET,
            &format!("/projects/{pid}"),
            Some(&result),
            None
        )
        .await
        .status,
        401
    );
    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit ORDER BY seq")
        .fetch_all(srv.state.db())
        .await
        .unwrap();
    for want in [
        "project.created",
        "upload.committed",
        "run.deleted",
        "project.deleted",
        "auth.failed",
    ] {
        assert!(
            actions.iter().any(|a| a == want),
            "{want} missing from {actions:?}"
        );
    }
}

#[tokio::test]
async fn scores_and_permutations_need_what_the_operator_allows() {
    let srv = compat_srv().await;
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    for (kind, parties, want) in [
        ("similarity_scores", 2, 403),
        ("permutations", 2, 400),
        ("groups", 1, 400),
    ] {
        let new = json!({"schema": schema, "result_type": kind, "number_parties": parties});
        let r = call(
            &srv,
            Method::POST,
            "/projects",
            Some(&basic(ADMIN)),
            Some(&new),
        )
        .await;
        assert_eq!(r.status, want, "{kind}: {}", r.text());
    }
    let limits = pprl_server::Limits {
        anonlink_compat: true,
        anonlink_similarity_scores: true,
        ..Default::default()
    };
    let srv = Srv::with_limits(limits).await;
    let new = json!({"schema": schema, "result_type": "similarity_scores"});
    let r = call(
        &srv,
        Method::POST,
        "/projects",
        Some(&basic(ADMIN)),
        Some(&new),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    // A native project is not reachable through the anonlink API, even by its own tokens.
    let f = files();
    let p = srv.project(&f, 2, false).await;
    let r = call(
        &srv,
        Method::GET,
        &format!("/projects/{}", p.id),
        Some(&p.admin),
        None,
    )
    .await;
    assert_eq!(r.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_parties_with_a_binary_upload_give_the_clusters_of_match_files() {
    let srv = compat_srv().await;
    let f = files();
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    let new = json!({"schema": schema, "result_type": "groups", "number_parties": 3});
    let r = call(
        &srv,
        Method::POST,
        "/projects",
        Some(&basic(ADMIN)),
        Some(&new),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json();
    let pid = created["project_id"].as_str().unwrap().to_string();
    let tok = |k: usize| created["update_tokens"][k].as_str().unwrap().to_string();
    let result = created["result_token"].as_str().unwrap().to_string();
    let (a, b) = (clks(&f.a), clks(&f.b));
    for (k, c) in [(0, &a), (1, &b)] {
        let r = call(
            &srv,
            Method::POST,
            &format!("/projects/{pid}/clks"),
            Some(&tok(k)),
            Some(&json!({"clks": c})),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    // Party 2 sends party 1's encodings in the service's binary layout (`!I{size}s`).
    let data = pprl::io::ClkReader::open(&f.b).unwrap().read_all().unwrap();
    let bits = data.header.filter_bits;
    let mut w = pprl::io::formats::anonlink_binary::BinaryWriter::new(Vec::new(), bits);
    for words in data.words.chunks((bits as usize).div_ceil(64)) {
        w.write(words).unwrap();
    }
    let bin = w.finish().unwrap();
    let size = bits / 8;
    let send = |count: usize| {
        let h = vec![
            ("authorization", tok(2)),
            ("content-type", "application/octet-stream".to_string()),
            ("hash-count", count.to_string()),
            ("hash-size", size.to_string()),
        ];
        let (srv, bin, pid) = (&srv, bin.clone(), pid.clone());
        async move {
            srv.req(
                Method::POST,
                &format!("/anonlink/api/v1/projects/{pid}/binaryclks"),
                None,
                &h,
                Body::from(bin),
            )
            .await
        }
    };
    let r = send(b.len() + 1).await;
    assert_eq!(r.status, 400, "{}", r.text());
    let r = send(b.len()).await;
    assert_eq!(r.status, 201, "{}", r.text());
    srv.start_worker();
    let runs = format!("/projects/{pid}/runs");
    let r = call(
        &srv,
        Method::POST,
        &runs,
        Some(&result),
        Some(&json!({"threshold": 0.8})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let run = r.json()["run_id"].as_str().unwrap().to_string();
    for _ in 0..600 {
        let s = call(
            &srv,
            Method::GET,
            &format!("{runs}/{run}/status"),
            Some(&tok(0)),
            None,
        )
        .await
        .json();
        if s["state"] == "completed" {
            break;
        }
        assert_ne!(s["state"], "error", "{s}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let got = call(
        &srv,
        Method::GET,
        &format!("{runs}/{run}/result"),
        Some(&result),
        None,
    )
    .await
    .json();
    let mut got: Vec<Vec<(u64, u64)>> = got["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let mut m: Vec<(u64, u64)> = g
                .as_array()
                .unwrap()
                .iter()
                .map(|r| (r[0].as_u64().unwrap(), r[1].as_u64().unwrap()))
                .collect();
            m.sort();
            m
        })
        .collect();
    got.sort();
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<_> = [&a, &b, &b]
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let p = dir.path().join(format!("{k}.json"));
            std::fs::write(&p, json!({"clks": c}).to_string()).unwrap();
            p
        })
        .collect();
    let opts: pprl_server::jobs::RunSpec =
        serde_json::from_value(json!({"threshold": 0.8})).unwrap();
    let report = match_files(&paths, &opts.options().unwrap(), &|_| {}).unwrap();
    let pprl::linkage::job::MatchResult::Clusters(clusters) = &report.result else {
        panic!("three parties give clusters");
    };
    let mut want: Vec<Vec<(u64, u64)>> = clusters
        .iter()
        .map(|c| {
            let mut m: Vec<(u64, u64)> =
                c.iter().map(|r| (r.party as u64, r.index as u64)).collect();
            m.sort();
            m
        })
        .collect();
    want.sort();
    assert!(want.len() > 250 && want.iter().any(|g| g.len() == 3));
    assert_eq!(got, want);
}

/// The anonlink API's authorisation matrix: every route x every kind of caller -> the status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_anonlink_route_every_caller() {
    let srv = compat_srv().await;
    let f = files();
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    let new = json!({"schema": schema, "result_type": "groups"});
    let mk = || async {
        let r = call(
            &srv,
            Method::POST,
            "/projects",
            Some(&basic(ADMIN)),
            Some(&new),
        )
        .await;
        assert_eq!(r.status, 201);
        r.json()
    };
    let (p, other) = (mk().await, mk().await);
    let native = srv.project(&f, 2, false).await;
    let pid = p["project_id"].as_str().unwrap().to_string();
    let t = |v: &Value, k: &str, i: Option<usize>| match i {
        Some(i) => v[k][i].as_str().unwrap().to_string(),
        None => v[k].as_str().unwrap().to_string(),
    };
    // Both parties upload, and a run completes, so that every route has something to show.
    for k in 0..2 {
        let body = json!({"clks": clks(if k == 0 { &f.a } else { &f.b })});
        let r = call(
            &srv,
            Method::POST,
            &format!("/projects/{pid}/clks"),
            Some(&t(&p, "update_tokens", Some(k))),
            Some(&body),
        )
        .await;
        assert_eq!(r.status, 201);
    }
    srv.start_worker();
    let r = call(
        &srv,
        Method::POST,
        &format!("/projects/{pid}/runs"),
        Some(&t(&p, "result_token", None)),
        Some(&json!({"threshold": 0.9})),
    )
    .await;
    let run = r.json()["run_id"].as_str().unwrap().to_string();
    for _ in 0..600 {
        let s = call(
            &srv,
            Method::GET,
            &format!("/projects/{pid}/runs/{run}/status"),
            Some(&t(&p, "result_token", None)),
            None,
        )
        .await;
        if s.json()["state"] == "completed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum W {
        Nobody,
        Forged,
        Admin,
        P0,
        P1,
        Result,
        OtherP,
        OtherResult,
        NativeAdmin,
    }
    use W::*;
    let all = [
        Nobody,
        Forged,
        Admin,
        P0,
        P1,
        Result,
        OtherP,
        OtherResult,
        NativeAdmin,
    ];
    let auth = |w: W| -> Option<String> {
        match w {
            Nobody => None,
            Forged => Some(format!("pprl_{}_{}", "0".repeat(16), "1".repeat(64))),
            Admin => Some(basic(ADMIN)),
            P0 => Some(t(&p, "update_tokens", Some(0))),
            P1 => Some(t(&p, "update_tokens", Some(1))),
            Result => Some(t(&p, "result_token", None)),
            OtherP => Some(t(&other, "update_tokens", Some(0))),
            OtherResult => Some(t(&other, "result_token", None)),
            NativeAdmin => Some(native.admin.clone()),
        }
    };
    let r = format!("/projects/{pid}/runs/{run}");
    let upload = json!({"clks": ["AAAAAAAAAAA="]});
    // (method, route, body, callers allowed with their status); others: 401 without a valid
    // token, 403 with one.
    type Row = (Method, String, Option<Value>, Vec<(W, u16)>);
    let rows: Vec<Row> = vec![
        (
            Method::GET,
            "/status".into(),
            None,
            all.iter().map(|&w| (w, 200)).collect(),
        ),
        (
            Method::POST,
            "/projects".into(),
            Some(new.clone()),
            vec![(Admin, 201)],
        ),
        (
            Method::GET,
            format!("/projects/{pid}"),
            None,
            vec![(Admin, 200), (P0, 200), (P1, 200), (Result, 200)],
        ),
        (
            Method::GET,
            format!("/projects/{pid}/authorize-external-upload"),
            None,
            vec![(P0, 501), (P1, 501)],
        ),
        (
            Method::POST,
            format!("/projects/{pid}/clks"),
            Some(upload.clone()),
            vec![(P0, 409), (P1, 409)],
        ),
        (
            Method::POST,
            format!("/projects/{pid}/runs"),
            Some(json!({"threshold": 0.9})),
            vec![(Result, 201)],
        ),
        (
            Method::GET,
            r.clone(),
            None,
            vec![(P0, 200), (P1, 200), (Result, 200)],
        ),
        (
            Method::GET,
            format!("{r}/status"),
            None,
            vec![(P0, 200), (P1, 200), (Result, 200)],
        ),
        (
            Method::GET,
            format!("{r}/result"),
            None,
            vec![(Result, 200)],
        ),
    ];
    let mut failures = Vec::new();
    for (method, uri, body, allowed) in &rows {
        for w in all {
            let want = match allowed.iter().find(|(a, _)| *a == w) {
                Some((_, s)) => *s,
                None if matches!(w, Nobody | Forged) => 401,
                None => 403,
            };
            let got = call(&srv, method.clone(), uri, auth(w).as_deref(), body.as_ref()).await;
            if got.status.as_u16() != want {
                failures.push(format!(
                    "{method} {uri} as {w:?}: {} (want {want}) {}",
                    got.status,
                    got.text()
                ));
            }
        }
    }
    // Deleting: the run, then the project (the result token or the server admin).
    for (uri, allowed) in [
        (r.clone(), vec![Result]),
        (format!("/projects/{pid}"), vec![Admin, Result]),
    ] {
        for w in all {
            if allowed.contains(&w) {
                continue;
            }
            let want = if matches!(w, Nobody | Forged) {
                401
            } else {
                403
            };
            let got = call(&srv, Method::DELETE, &uri, auth(w).as_deref(), None).await;
            if got.status.as_u16() != want {
                failures.push(format!(
                    "DELETE {uri} as {w:?}: {} (want {want})",
                    got.status
                ));
            }
        }
        let got = call(
            &srv,
            Method::DELETE,
            &uri,
            auth(allowed[0]).as_deref(),
            None,
        )
        .await;
        assert_eq!(got.status, 204, "DELETE {uri}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn an_upload_with_an_overlong_string_is_refused_before_it_is_parsed() {
    let srv = compat_srv().await;
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    let new = json!({"schema": schema, "result_type": "groups"});
    let p = call(
        &srv,
        Method::POST,
        "/projects",
        Some(&basic(ADMIN)),
        Some(&new),
    )
    .await
    .json();
    let pid = p["project_id"].as_str().unwrap();
    let tok = p["update_tokens"][0].as_str().unwrap();
    let body = json!({"clks": ["A".repeat(1 << 20)]});
    let r = call(
        &srv,
        Method::POST,
        &format!("/projects/{pid}/clks"),
        Some(tok),
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["code"], "encodings-invalid");
    assert!(r.json()["detail"].as_str().unwrap().contains("longer than"));
    // Nothing is left behind, and the party can still upload.
    let left = std::fs::read_dir(srv.dir.path().join("uploads").join(pid))
        .unwrap()
        .count();
    assert_eq!(left, 0);
}
