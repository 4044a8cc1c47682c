//! Runs: the result equals the library's `match_files` (what `pprl match` runs) on the same
//! files, for each threshold, solver and blocking option; a run whose worker died is picked up
//! again with the same result; cancel (queued and running); the candidate cap; scores only
//! where allowed; clusters for three parties.

use axum::body::Body;
use axum::http::Method;
use pprl::linkage::job::match_files;
use serde_json::json;

use crate::util::{Srv, files, linked};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_equal_match_files_on_the_same_files() {
    let srv = Srv::new().await;
    let f = files();
    let (p, run) = linked(&srv, &f, true).await;
    let spec: pprl_server::jobs::RunSpec =
        serde_json::from_value(json!({"threshold": 0.8})).unwrap();
    let report = match_files(
        &[f.a.clone(), f.b.clone()],
        &spec.options().unwrap(),
        &|_| {},
    )
    .unwrap();
    let want_scores = String::from_utf8(report.write_csv_to(Vec::new(), true).unwrap()).unwrap();
    let want = String::from_utf8(report.write_csv_to(Vec::new(), false).unwrap()).unwrap();
    let uri = format!("/api/v1/projects/{}/runs/{run}/result", p.id);
    let got = srv
        .get(&format!("{uri}?scores=true"), Some(&p.reader))
        .await;
    assert_eq!(got.headers["content-type"], "text/csv");
    assert_eq!(got.text(), want_scores);
    assert_eq!(srv.get(&uri, Some(&p.reader)).await.text(), want);
    assert!(report.matches > 250, "{} links", report.matches);
    let status = srv
        .get(
            &format!("/api/v1/projects/{}/runs/{run}", p.id),
            Some(&p.admin),
        )
        .await
        .json();
    assert_eq!(status["summary"]["matches"], report.matches);
    assert_eq!(status["stage"], "done");
    assert_eq!(status["attempts"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scores_are_refused_where_the_project_did_not_allow_them() {
    let srv = Srv::new().await;
    let f = files();
    let (p, run) = linked(&srv, &f, false).await;
    let uri = format!("/api/v1/projects/{}/runs/{run}/result", p.id);
    let r = srv
        .get(&format!("{uri}?scores=true"), Some(&p.reader))
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["code"], "result-scores-not-allowed");
    let links = srv.get(&uri, Some(&p.reader)).await.text();
    assert!(links.starts_with("a_id,b_id\n"));
    assert!(
        !srv.dir
            .path()
            .join("runs")
            .join(&run)
            .join("links-scores.csv")
            .exists()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_worker_died_is_picked_up_and_gives_the_same_links() {
    let srv = Srv::new().await;
    let f = files();
    let p = srv.project(&f, 2, true).await;
    for (k, path) in [&f.a, &f.b].into_iter().enumerate() {
        assert_eq!(
            srv.upload(&p, k, &std::fs::read(path).unwrap(), 1 << 20)
                .await
                .status,
            200
        );
    }
    // A run claimed by a worker that then died: its lease lapsed a second ago.
    let r = srv
        .post(
            &format!("/api/v1/projects/{}/runs", p.id),
            Some(&p.admin),
            &json!({"threshold": 0.8}),
        )
        .await;
    let run = r.json()["run_id"].as_str().unwrap().to_string();
    let claimed = sqlx::query(
        "UPDATE runs SET state = 'running', lease_owner = 'dead-worker', attempts = 1, \
         lease_until = $1 WHERE id = $2 AND state = 'queued'",
    )
    .bind(pprl_server::db::now() - 1)
    .bind(&run)
    .execute(srv.state.db())
    .await
    .unwrap();
    assert_eq!(claimed.rows_affected(), 1);
    srv.start_worker();
    let done = srv.wait(&p, &run).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["attempts"], 2);
    let spec: pprl_server::jobs::RunSpec =
        serde_json::from_value(json!({"threshold": 0.8})).unwrap();
    let report = match_files(
        &[f.a.clone(), f.b.clone()],
        &spec.options().unwrap(),
        &|_| {},
    )
    .unwrap();
    let want = String::from_utf8(report.write_csv_to(Vec::new(), true).unwrap()).unwrap();
    let uri = format!("/api/v1/projects/{}/runs/{run}/result?scores=true", p.id);
    assert_eq!(srv.get(&uri, Some(&p.reader)).await.text(), want);
}

#[tokio::test]
async fn a_queued_run_is_cancelled_and_the_cap_fails_a_run_clearly() {
    let limits = pprl_server::Limits {
        max_candidates: 10,
        ..Default::default()
    };
    let srv = Srv::with_limits(limits).await;
    let f = files();
    let p = srv.project(&f, 2, false).await;
    for (k, path) in [&f.a, &f.b].into_iter().enumerate() {
        assert_eq!(
            srv.upload(&p, k, &std::fs::read(path).unwrap(), 1 << 20)
                .await
                .status,
            200
        );
    }
    // No worker yet: the run stays queued, and cancelling it ends it at once.
    let r = srv
        .post(
            &format!("/api/v1/projects/{}/runs", p.id),
            Some(&p.admin),
            &json!({"threshold": 0.8}),
        )
        .await;
    let run = r.json()["run_id"].as_str().unwrap().to_string();
    let r = srv
        .req(
            Method::DELETE,
            &format!("/api/v1/projects/{}/runs/{run}", p.id),
            Some(&p.admin),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(r.json()["state"], "cancelled");
    let r = srv
        .get(
            &format!("/api/v1/projects/{}/runs/{run}/result", p.id),
            Some(&p.reader),
        )
        .await;
    assert_eq!(r.json()["code"], "run-not-finished");
    srv.start_worker();
    let done = srv.run(&p, &json!({"threshold": 0.8})).await;
    assert_eq!(done["state"], "error");
    assert_eq!(done["summary"]["code"], "run-candidate-cap");
    // A bad spec is refused when it is made, not when it runs.
    let r = srv
        .post(
            &format!("/api/v1/projects/{}/runs", p.id),
            Some(&p.admin),
            &json!({"threshold": 1.5}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["code"], "run-invalid");
}

#[tokio::test]
async fn three_parties_give_clusters_and_each_party_its_own_records() {
    let srv = Srv::new().await;
    let f = files();
    let p = srv.project(&f, 3, false).await;
    for (k, path) in [&f.a, &f.b, &f.a].into_iter().enumerate() {
        assert_eq!(
            srv.upload(&p, k, &std::fs::read(path).unwrap(), 1 << 20)
                .await
                .status,
            200
        );
    }
    srv.start_worker();
    let done = srv.run(&p, &json!({"threshold": 0.8})).await;
    assert_eq!(done["state"], "completed", "{done}");
    let run = done["run_id"].as_str().unwrap();
    let uri = format!("/api/v1/projects/{}/runs/{run}/result", p.id);
    let all = srv.get(&uri, Some(&p.reader)).await.text();
    assert!(all.starts_with("cluster,party,id\n"));
    // The library refuses one path twice; the server holds three uploads.
    let third = srv.dir.path().join("third.clk");
    std::fs::copy(&f.a, &third).unwrap();
    let report = match_files(
        &[f.a.clone(), f.b.clone(), third],
        &pprl::linkage::job::MatchOptions {
            threshold: 0.8.into(),
            ..Default::default()
        },
        &|_| {},
    )
    .unwrap();
    assert_eq!(
        all,
        String::from_utf8(report.write_csv_to(Vec::new(), false).unwrap()).unwrap()
    );
    let b_view = srv.get(&uri, Some(&p.parties[1])).await.text();
    assert!(b_view.starts_with("cluster_id,id\n"));
    assert!(
        b_view
            .lines()
            .skip(1)
            .all(|l| l.split(',').nth(1).unwrap().starts_with("B-"))
    );
    let in_clusters = all
        .lines()
        .filter(|l| l.split(',').nth(1) == Some("1"))
        .count();
    assert_eq!(b_view.lines().count() - 1, in_clusters);
}

/// Every run option the API takes (automatic threshold, each solver, LSH blocking) gives what
/// the library's `match_files` gives with the same options.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_threshold_solver_and_blocking_gives_the_links_of_match_files() {
    let srv = Srv::new().await;
    let f = files();
    let (p, _) = linked(&srv, &f, true).await;
    let specs = [
        json!({"threshold": "auto", "fallback": 0.8}),
        json!({"threshold": 0.7, "solver": "optimal"}),
        json!({"threshold": 0.8, "solver": "none"}),
        json!({"threshold": 0.8, "blocking": "lsh"}),
    ];
    let mut seen = std::collections::HashSet::new();
    for spec in specs {
        let done = srv.run(&p, &spec).await;
        assert_eq!(done["state"], "completed", "{spec}: {done}");
        let run = done["run_id"].as_str().unwrap();
        let rs: pprl_server::jobs::RunSpec = serde_json::from_value(spec.clone()).unwrap();
        let report =
            match_files(&[f.a.clone(), f.b.clone()], &rs.options().unwrap(), &|_| {}).unwrap();
        let want = String::from_utf8(report.write_csv_to(Vec::new(), true).unwrap()).unwrap();
        let uri = format!("/api/v1/projects/{}/runs/{run}/result?scores=true", p.id);
        let got = srv.get(&uri, Some(&p.reader)).await.text();
        assert_eq!(got, want, "{spec}");
        assert!(report.matches > 250, "{spec}: {} links", report.matches);
        seen.insert(got);
    }
    // The options reach the library: not every run gives the same file.
    assert!(seen.len() > 1, "every spec gave the same links");
}

/// Cancelling a run that a worker holds: the worker sees the flag at its next lease renewal,
/// the match unwinds, and the run ends `cancelled` without a result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_run_is_cancelled() {
    let limits = pprl_server::Limits {
        run_start_delay_ms: 3000,
        ..Default::default()
    };
    let srv = Srv::with_limits(limits).await;
    let f = files();
    let p = srv.project(&f, 2, false).await;
    for (k, path) in [&f.a, &f.b].into_iter().enumerate() {
        let r = srv
            .upload(&p, k, &std::fs::read(path).unwrap(), 1 << 20)
            .await;
        assert_eq!(r.status, 200);
    }
    srv.start_worker();
    let r = srv
        .post(
            &format!("/api/v1/projects/{}/runs", p.id),
            Some(&p.admin),
            &json!({"threshold": 0.8}),
        )
        .await;
    let run = r.json()["run_id"].as_str().unwrap().to_string();
    let uri = format!("/api/v1/projects/{}/runs/{run}", p.id);
    let mut running = false;
    for _ in 0..100 {
        if srv.get(&uri, Some(&p.admin)).await.json()["state"] == "running" {
            running = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(running, "the worker did not claim the run");
    let r = srv
        .req(Method::DELETE, &uri, Some(&p.admin), &[], Body::empty())
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let done = srv.wait(&p, &run).await;
    assert_eq!(done["state"], "cancelled", "{done}");
    let r = srv.get(&format!("{uri}/result"), Some(&p.reader)).await;
    assert_eq!(r.json()["code"], "run-not-finished");
}
