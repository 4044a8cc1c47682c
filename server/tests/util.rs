//! The harness: a server state over a fresh database and data directory, requests through
//! the router, encoded sample files, and a project with every role's token.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use pprl_server::{AppState, Limits};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tower::ServiceExt as _;

/// The server admin's token in every test.
pub const ADMIN: &str = "test-admin-token-0123456789abcdef0123456789abcdef";

/// A response.
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One server over its own database and data directory.
pub struct Srv {
    pub state: AppState,
    pub app: Router,
    pub dir: tempfile::TempDir,
    stop: Arc<AtomicBool>,
}

impl Drop for Srv {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The database URL for a new test: SQLite in `dir`, or a fresh PostgreSQL database.
pub async fn database_url(dir: &Path) -> String {
    match std::env::var("PPRL_TEST_POSTGRES_URL") {
        Ok(base) if !base.is_empty() => {
            sqlx::any::install_default_drivers();
            let name = format!("pprl_test_{}", pprl_server::db::new_id());
            let pool = sqlx::AnyPool::connect(&base)
                .await
                .expect("PostgreSQL for tests");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&pool)
                .await
                .expect("create a test database");
            pool.close().await;
            let (head, tail) = base.split_at(base.find("://").unwrap() + 3);
            let host = tail.split('/').next().unwrap();
            let query = tail.find('?').map(|i| &tail[i..]).unwrap_or("");
            format!("{head}{host}/{name}{query}")
        }
        _ => pprl_server::db::sqlite_url(dir),
    }
}

impl Srv {
    pub async fn new() -> Srv {
        Srv::with_limits(Limits::default()).await
    }

    pub async fn with_limits(limits: Limits) -> Srv {
        let dir = tempfile::tempdir().unwrap();
        Srv::open(dir, limits).await
    }

    /// A server over an existing data directory (a restart).
    pub async fn open(dir: tempfile::TempDir, limits: Limits) -> Srv {
        crate::logs::install();
        pprl_server::prepare_data_dir(dir.path()).unwrap();
        let url = match std::fs::read_to_string(dir.path().join("test-db-url")) {
            Ok(u) => u,
            Err(_) => {
                let u = database_url(dir.path()).await;
                std::fs::write(dir.path().join("test-db-url"), &u).unwrap();
                u
            }
        };
        let pool = pprl_server::db::open(&url).await.unwrap();
        let state = AppState::new(pool, dir.path(), limits, Some(ADMIN));
        let app = pprl_server::api::router(state.clone());
        Srv {
            state,
            app,
            dir,
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Starts the run worker on this runtime.
    pub fn start_worker(&self) {
        tokio::spawn(pprl_server::jobs::worker(
            self.state.clone(),
            self.stop.clone(),
        ));
    }

    pub async fn req(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        headers: &[(&str, String)],
        body: Body,
    ) -> Resp {
        let mut b = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            b = b.header(*k, v);
        }
        let res = self
            .app
            .clone()
            .oneshot(b.body(body).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, uri: &str, token: Option<&str>) -> Resp {
        self.req(Method::GET, uri, token, &[], Body::empty()).await
    }

    pub async fn post(&self, uri: &str, token: Option<&str>, body: &Value) -> Resp {
        self.req(
            Method::POST,
            uri,
            token,
            &[("content-type", "application/json".into())],
            Body::from(body.to_string()),
        )
        .await
    }

    /// Creates a project and redeems every join code.
    pub async fn project(&self, files: &Files, parties: usize, scores: bool) -> Proj {
        let r = self
            .post(
                "/api/v1/projects",
                Some(ADMIN),
                &json!({"name": "test", "schema_fingerprint": files.schema_fp,
                        "parties": parties,
                        "result_type": if parties == 2 { "links" } else { "clusters" },
                        "scores_allowed": scores}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let created = r.json();
        let id = created["project_id"].as_str().unwrap().to_string();
        let mut p = Proj {
            id,
            admin: String::new(),
            reader: String::new(),
            parties: vec![String::new(); parties],
            codes: Vec::new(),
        };
        for c in created["join_codes"].as_array().unwrap() {
            let code = c["code"].as_str().unwrap().to_string();
            let r = self
                .post("/api/v1/join", None, &json!({"code": code}))
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
            let tok = r.json()["token"].as_str().unwrap().to_string();
            match c["role"].as_str().unwrap() {
                "admin" => p.admin = tok,
                "reader" => p.reader = tok,
                _ => p.parties[c["party"].as_u64().unwrap() as usize] = tok,
            }
            p.codes.push(code);
        }
        p
    }

    /// Uploads `bytes` in chunks of `chunk` bytes; returns the last response.
    pub async fn upload(&self, p: &Proj, party: usize, bytes: &[u8], chunk: usize) -> Resp {
        let uid = self.start_upload(p, party, bytes).await;
        self.send_from(p, party, &uid, bytes, 0, chunk).await
    }

    pub async fn start_upload(&self, p: &Proj, party: usize, bytes: &[u8]) -> String {
        let r = self
            .post(
                &format!("/api/v1/projects/{}/uploads", p.id),
                Some(&p.parties[party]),
                &json!({"length": bytes.len(), "sha256": hex::encode(Sha256::digest(bytes))}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        r.json()["upload_id"].as_str().unwrap().to_string()
    }

    pub async fn patch(&self, p: &Proj, party: usize, uid: &str, off: usize, data: &[u8]) -> Resp {
        self.req(
            Method::PATCH,
            &format!("/api/v1/projects/{}/uploads/{uid}", p.id),
            Some(&p.parties[party]),
            &[
                ("upload-offset", off.to_string()),
                ("content-type", "application/offset+octet-stream".into()),
            ],
            Body::from(data.to_vec()),
        )
        .await
    }

    pub async fn send_from(
        &self,
        p: &Proj,
        party: usize,
        uid: &str,
        bytes: &[u8],
        mut off: usize,
        chunk: usize,
    ) -> Resp {
        loop {
            let end = (off + chunk).min(bytes.len());
            let r = self.patch(p, party, uid, off, &bytes[off..end]).await;
            if end == bytes.len() || !r.status.is_success() {
                return r;
            }
            assert_eq!(r.status, StatusCode::NO_CONTENT);
            off = end;
        }
    }

    /// Queues a run and waits for its end (the worker must be running).
    pub async fn run(&self, p: &Proj, spec: &Value) -> Value {
        let r = self
            .post(
                &format!("/api/v1/projects/{}/runs", p.id),
                Some(&p.admin),
                spec,
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
        let id = r.json()["run_id"].as_str().unwrap().to_string();
        self.wait(p, &id).await
    }

    pub async fn wait(&self, p: &Proj, run: &str) -> Value {
        for _ in 0..1200 {
            let r = self
                .get(
                    &format!("/api/v1/projects/{}/runs/{run}", p.id),
                    Some(&p.admin),
                )
                .await;
            let v = r.json();
            if ["completed", "error", "cancelled"].contains(&v["state"].as_str().unwrap_or("")) {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the run did not finish in 60 s");
    }
}

/// A project's tokens.
pub struct Proj {
    pub id: String,
    pub admin: String,
    pub reader: String,
    pub parties: Vec<String>,
    pub codes: Vec<String>,
}

/// The two sample departments encoded under one secret, and one under another secret.
pub struct Files {
    /// Holds the files.
    pub _dir: tempfile::TempDir,
    pub a: PathBuf,
    pub b: PathBuf,
    pub a_other_key: PathBuf,
    pub schema_fp: String,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn encode(schema: &pprl::schema::Schema, secret: &pprl::keys::Secret, input: &Path, out: &Path) {
    let encoder = pprl::encode::Encoder::new(schema, secret).unwrap();
    let mut opts = pprl::pipeline::EncodeOptions::new(input.display().to_string(), out);
    opts.rejects = Some(out.with_extension("rejects.csv"));
    opts.threads = Some(1);
    pprl::pipeline::encode_csv(schema, &encoder, &opts, &mut |_, _| {}).unwrap();
}

pub fn files() -> Files {
    let dir = tempfile::tempdir().unwrap();
    let schema = pprl::schema::Schema::from_path(root().join("examples/person.toml")).unwrap();
    let secret = pprl::keys::Secret::from_bytes(vec![7u8; 32], "test").unwrap();
    let other = pprl::keys::Secret::from_bytes(vec![9u8; 32], "test").unwrap();
    let sample = root().join("testdata/sample");
    let (a, b) = (dir.path().join("a.clk"), dir.path().join("b.clk"));
    let a_other_key = dir.path().join("a-other.clk");
    encode(&schema, &secret, &sample.join("dept_a.csv"), &a);
    encode(&schema, &secret, &sample.join("dept_b.csv"), &b);
    encode(&schema, &other, &sample.join("dept_a.csv"), &a_other_key);
    Files {
        schema_fp: schema.fingerprint().to_hex(),
        _dir: dir,
        a,
        b,
        a_other_key,
    }
}

/// A project with both parties' files committed and one completed run.
pub async fn linked(srv: &Srv, f: &Files, scores: bool) -> (Proj, String) {
    let p = srv.project(f, 2, scores).await;
    for (k, path) in [&f.a, &f.b].into_iter().enumerate() {
        let r = srv
            .upload(&p, k, &std::fs::read(path).unwrap(), 1 << 16)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    srv.start_worker();
    let run = srv.run(&p, &json!({"threshold": 0.8})).await;
    assert_eq!(run["state"], "completed", "{run}");
    (p, run["run_id"].as_str().unwrap().to_string())
}
