//! `pprl serve` as a process on loopback: kill -9 during an upload and during a run, restart,
//! and the committed upload is kept, the partial one is invisible and resumes, and the run is
//! picked up again and gives the links `pprl match` gives on the same files; the audit chain
//! verifies (and names a tampered entry); plain HTTP on a public address is refused.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use predicates::prelude::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::util::{encode_cmd, keygen, pprl, testdata};

/// One HTTP/1.1 exchange (`Connection: close`).
fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, String)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let hs = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect();
    (status, hs, raw[split + 4..].to_vec())
}

fn json_req(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    let (s, _, b) = http(
        addr,
        method,
        path,
        token,
        &[("Content-Type", "application/json".into())],
        body.to_string().as_bytes(),
    );
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path) -> Server {
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("pprl"))
        .arg("serve")
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["--listen", "127.0.0.1:0", "--admin-token-file"])
        .arg(dir.join("admin.token"))
        .arg("--config")
        .arg(dir.join("serve.toml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("{line}"))
        .to_string();
    Server { child, addr }
}

/// kill -9: no graceful shutdown, no lease given back.
fn kill9(mut s: Server) {
    s.child.kill().unwrap();
    s.child.wait().unwrap();
}

fn head_offset(addr: &str, path: &str, token: &str) -> u64 {
    let (s, hs, _) = http(addr, "HEAD", path, Some(token), &[], b"");
    assert_eq!(s, 200);
    hs.iter()
        .find(|(k, _)| k == "upload-offset")
        .unwrap()
        .1
        .parse()
        .unwrap()
}

fn patch(addr: &str, path: &str, token: &str, off: usize, data: &[u8]) -> (u16, Vec<u8>) {
    let (s, _, b) = http(
        addr,
        "PATCH",
        path,
        Some(token),
        &[
            ("Upload-Offset", off.to_string()),
            ("Content-Type", "application/offset+octet-stream".into()),
        ],
        data,
    );
    (s, b)
}

#[test]
fn kill_9_during_upload_and_run_then_restart_gives_the_links_of_pprl_match() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let key = keygen(dir);
    let (a, b): (PathBuf, PathBuf) = (dir.join("a.clk"), dir.join("b.clk"));
    encode_cmd(&key, &testdata("sample/dept_a.csv"), &a)
        .assert()
        .success();
    encode_cmd(&key, &testdata("sample/dept_b.csv"), &b)
        .assert()
        .success();
    let want = dir.join("want.csv");
    pprl()
        .args(["match", "-t", "0.8", "-o"])
        .arg(&want)
        .arg(&a)
        .arg(&b)
        .assert()
        .success();
    let admin = "a".repeat(16) + &"0123456789abcdef".repeat(3);
    std::fs::write(dir.join("admin.token"), &admin).unwrap();
    std::fs::write(
        dir.join("serve.toml"),
        "lease_s = 2\nrun_start_delay_ms = 4000\n",
    )
    .unwrap();
    let fp = pprl::io::ClkReader::open(&a)
        .unwrap()
        .header()
        .schema_fingerprint
        .to_hex();

    let srv = start(dir);
    let (s, created) = json_req(
        &srv.addr,
        "POST",
        "/api/v1/projects",
        Some(&admin),
        &json!({"name": "drill", "schema_fingerprint": fp, "parties": 2, "result_type": "links", "scores_allowed": true}),
    );
    assert_eq!(s, 201, "{created}");
    let pid = created["project_id"].as_str().unwrap().to_string();
    let (mut admin_tok, mut reader, mut party) =
        (String::new(), String::new(), vec![String::new(); 2]);
    for c in created["join_codes"].as_array().unwrap() {
        let (s, t) = json_req(
            &srv.addr,
            "POST",
            "/api/v1/join",
            None,
            &json!({"code": c["code"]}),
        );
        assert_eq!(s, 201);
        let tok = t["token"].as_str().unwrap().to_string();
        match c["role"].as_str().unwrap() {
            "admin" => admin_tok = tok,
            "reader" => reader = tok,
            _ => party[c["party"].as_u64().unwrap() as usize] = tok,
        }
    }
    let mut uploads = Vec::new();
    for (k, file) in [&a, &b].into_iter().enumerate() {
        let bytes = std::fs::read(file).unwrap();
        let (s, u) = json_req(
            &srv.addr,
            "POST",
            &format!("/api/v1/projects/{pid}/uploads"),
            Some(&party[k]),
            &json!({"length": bytes.len(), "sha256": hex::encode(Sha256::digest(&bytes))}),
        );
        assert_eq!(s, 201);
        uploads.push((
            format!(
                "/api/v1/projects/{pid}/uploads/{}",
                u["upload_id"].as_str().unwrap()
            ),
            bytes,
        ));
    }
    // Party 0 commits; party 1 sends half, then the server dies.
    let (s, _) = patch(&srv.addr, &uploads[0].0, &party[0], 0, &uploads[0].1);
    assert_eq!(s, 200);
    let half = uploads[1].1.len() / 2;
    assert_eq!(
        patch(
            &srv.addr,
            &uploads[1].0,
            &party[1],
            0,
            &uploads[1].1[..half]
        )
        .0,
        204
    );
    kill9(srv);

    let srv = start(dir);
    let (_, view) = json_req(
        &srv.addr,
        "GET",
        &format!("/api/v1/projects/{pid}"),
        Some(&admin_tok),
        &Value::Null,
    );
    assert_eq!(
        view["uploads"][0]["committed"], true,
        "a committed upload survived"
    );
    assert_eq!(
        view["uploads"][1]["committed"], false,
        "a partial upload is not visible"
    );
    let off = head_offset(&srv.addr, &uploads[1].0, &party[1]) as usize;
    assert_eq!(off, half);
    let (s, body) = patch(
        &srv.addr,
        &uploads[1].0,
        &party[1],
        off,
        &uploads[1].1[off..],
    );
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&body));
    // The run is claimed, then the server dies mid-run.
    let (s, run) = json_req(
        &srv.addr,
        "POST",
        &format!("/api/v1/projects/{pid}/runs"),
        Some(&admin_tok),
        &json!({"threshold": 0.8}),
    );
    assert_eq!(s, 202);
    let run_uri = format!(
        "/api/v1/projects/{pid}/runs/{}",
        run["run_id"].as_str().unwrap()
    );
    let t = Instant::now();
    loop {
        let (_, st) = json_req(&srv.addr, "GET", &run_uri, Some(&admin_tok), &Value::Null);
        if st["state"] == "running" {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "the run was not claimed: {st}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    kill9(srv);

    let srv = start(dir);
    let t = Instant::now();
    let done = loop {
        let (_, st) = json_req(&srv.addr, "GET", &run_uri, Some(&admin_tok), &Value::Null);
        if st["state"] != "running" && st["state"] != "queued" {
            break st;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the run was not picked up: {st}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(
        done["attempts"], 2,
        "picked up by the restarted server: {done}"
    );
    let (s, _, links) = http(
        &srv.addr,
        "GET",
        &format!("{run_uri}/result?scores=true"),
        Some(&reader),
        &[],
        b"",
    );
    assert_eq!(s, 200);
    assert_eq!(
        String::from_utf8(links).unwrap(),
        std::fs::read_to_string(&want).unwrap()
    );
    drop(srv);

    // The chain verifies; a changed entry is named.
    let data = dir.join("data");
    pprl()
        .args(["serve", "audit", "verify", "--data-dir"])
        .arg(&data)
        .assert()
        .success()
        .stdout(predicates::str::contains("audit chain intact"));
    let db = data.join("pprl.db");
    let conn_url = format!("sqlite://{}", db.display());
    let rt = tokio_rt();
    rt.block_on(async {
        sqlx_update(&conn_url).await;
    });
    pprl()
        .args(["serve", "audit", "verify", "--data-dir"])
        .arg(&data)
        .assert()
        .failure()
        .stderr(predicates::str::contains("audit chain broken at entry 3"));
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn sqlx_update(url: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    sqlx::query("UPDATE audit SET actor = 'someone-else' WHERE seq = 3")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

#[test]
fn plain_http_on_a_public_address_and_a_missing_admin_token_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let tok = tmp.path().join("admin.token");
    std::fs::write(&tok, "x".repeat(40)).unwrap();
    pprl()
        .args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(tmp.path().join("d"))
        .arg("--admin-token-file")
        .arg(&tok)
        .assert()
        .failure()
        .stderr(predicates::str::contains("serve-public-http"));
    pprl()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(tmp.path().join("d"))
        .assert()
        .failure()
        .stderr(predicates::str::contains("--admin-token-file"));
    std::fs::write(&tok, "short").unwrap();
    pprl()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(tmp.path().join("d"))
        .arg("--admin-token-file")
        .arg(&tok)
        .assert()
        .failure()
        .stderr(
            predicates::str::contains("at least 32").and(predicates::str::contains("short").not()),
        );
}

#[test]
fn pprl_remote_runs_the_whole_flow_and_resumes_an_upload() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let key = keygen(dir);
    let (a, b): (PathBuf, PathBuf) = (dir.join("a.clk"), dir.join("b.clk"));
    encode_cmd(&key, &testdata("sample/dept_a.csv"), &a)
        .assert()
        .success();
    encode_cmd(&key, &testdata("sample/dept_b.csv"), &b)
        .assert()
        .success();
    let want = dir.join("want.csv");
    pprl()
        .args(["match", "-t", "0.8", "-o"])
        .arg(&want)
        .arg(&a)
        .arg(&b)
        .assert()
        .success();
    std::fs::write(dir.join("admin.token"), "b".repeat(48)).unwrap();
    std::fs::write(dir.join("serve.toml"), "").unwrap();
    let srv = start(dir);
    let server = format!("http://{}", srv.addr);
    let remote = || {
        let mut c = pprl();
        c.args(["remote", "--server", &server]);
        c
    };
    let codes = dir.join("codes.json");
    remote()
        .args(["create-project", "--allow-scores", "--admin-token-file"])
        .arg(dir.join("admin.token"))
        .arg("--like")
        .arg(&a)
        .arg("-o")
        .arg(&codes)
        .assert()
        .success();
    let created: Value = serde_json::from_str(&std::fs::read_to_string(&codes).unwrap()).unwrap();
    let pid = created["project_id"].as_str().unwrap().to_string();
    let mut tokens = std::collections::HashMap::new();
    for (i, c) in created["join_codes"].as_array().unwrap().iter().enumerate() {
        let code_file = dir.join(format!("code{i}"));
        std::fs::write(&code_file, c["code"].as_str().unwrap()).unwrap();
        let name = match c["party"].as_u64() {
            Some(k) => format!("party{k}"),
            None => c["role"].as_str().unwrap().to_string(),
        };
        let tok = dir.join(format!("{name}.tok"));
        remote()
            .arg("join")
            .arg("--code-file")
            .arg(&code_file)
            .arg("-o")
            .arg(&tok)
            .assert()
            .success();
        tokens.insert(name, tok);
    }
    remote()
        .arg("upload")
        .arg("--token-file")
        .arg(&tokens["party0"])
        .args(["--project", &pid, "--chunk-bytes", "4096"])
        .arg(&a)
        .assert()
        .success()
        .stdout(predicates::str::contains("committed"));
    // Party 1's upload was interrupted after half the bytes: `upload` resumes it.
    let bytes = std::fs::read(&b).unwrap();
    let party1 = std::fs::read_to_string(&tokens["party1"]).unwrap();
    let (s, u) = json_req(
        &srv.addr,
        "POST",
        &format!("/api/v1/projects/{pid}/uploads"),
        Some(&party1),
        &json!({"length": bytes.len(), "sha256": hex::encode(Sha256::digest(&bytes))}),
    );
    assert_eq!(s, 201);
    let uri = format!(
        "/projects/{pid}/uploads/{}",
        u["upload_id"].as_str().unwrap()
    );
    let half = bytes.len() / 2;
    assert_eq!(
        patch(
            &srv.addr,
            &format!("/api/v1{uri}"),
            &party1,
            0,
            &bytes[..half]
        )
        .0,
        204
    );
    std::fs::write(dir.join("b.clk.pprl-upload"), &uri).unwrap();
    remote()
        .arg("upload")
        .arg("--token-file")
        .arg(&tokens["party1"])
        .args(["--project", &pid])
        .arg(&b)
        .assert()
        .success()
        .stdout(predicates::str::contains("committed"));
    assert!(!dir.join("b.clk.pprl-upload").exists());
    let out = remote()
        .arg("run")
        .arg("--token-file")
        .arg(&tokens["admin"])
        .args(["--project", &pid, "-t", "0.8", "--wait"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    let run = out.split_whitespace().nth(1).unwrap().to_string();
    let got = dir.join("got.csv");
    remote()
        .arg("result")
        .arg("--token-file")
        .arg(&tokens["reader"])
        .args(["--project", &pid, "--run", &run, "--scores", "-o"])
        .arg(&got)
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(&got).unwrap(),
        std::fs::read_to_string(&want).unwrap()
    );
    let mine = dir.join("mine.csv");
    remote()
        .arg("result")
        .arg("--token-file")
        .arg(&tokens["party0"])
        .args(["--project", &pid, "--run", &run, "-o"])
        .arg(&mine)
        .assert()
        .success();
    assert!(
        std::fs::read_to_string(&mine)
            .unwrap()
            .starts_with("link_id,id\n")
    );
    // A party asking for scores is refused with the server's code.
    remote()
        .arg("result")
        .arg("--token-file")
        .arg(&tokens["party0"])
        .args(["--project", &pid, "--run", &run, "--scores", "-o"])
        .arg(dir.join("x.csv"))
        .assert()
        .failure()
        .stderr(predicates::str::contains("auth-forbidden"));
}

/// `pprl remote result -o` never replaces the token file it reads (checked before any request,
/// so no server is needed).
#[test]
fn a_result_never_replaces_the_token_file() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("reader.token");
    std::fs::write(&token, "pprl_canary_token_value").unwrap();
    pprl()
        .args(["remote", "--server", "http://127.0.0.1:9", "result"])
        .arg("--token-file")
        .arg(&token)
        .args(["--project", "p", "--run", "r", "-o"])
        .arg(&token)
        .assert()
        .failure()
        .stderr(predicate::str::contains("canary").not());
    assert_eq!(
        std::fs::read_to_string(&token).unwrap(),
        "pprl_canary_token_value"
    );
}
