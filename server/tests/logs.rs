//! Tokens, join codes and record ids never reach the log, and the database holds tokens only
//! as hashes.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::util::{ADMIN, Srv, files, linked};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

thread_local! {
    static CAPTURE: std::cell::RefCell<Option<Capture>> = const { std::cell::RefCell::new(None) };
}

/// Where the log goes: this thread's capture, if it has one, else nowhere.
struct ThreadWriter;

impl Write for ThreadWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|c| {
            if let Some(cap) = c.borrow_mut().as_mut() {
                cap.write_all(b)?;
            }
            Ok(b.len())
        })
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One global subscriber for the whole test binary (a per-test one races with tracing's
/// per-callsite cache when tests run in parallel).
pub fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(|| ThreadWriter)
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
    });
}

impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_in_the_log_or_the_database() {
    install();
    let cap = Capture::default();
    CAPTURE.with(|c| *c.borrow_mut() = Some(cap.clone()));
    let srv = Srv::new().await;
    let f = files();
    let (p, run) = linked(&srv, &f, true).await;
    let uri = format!("/api/v1/projects/{}/runs/{run}/result?scores=true", p.id);
    let links = srv.get(&uri, Some(&p.reader)).await.text();
    let _ = srv.get("/api/v1/audit/verify", Some(ADMIN)).await;
    // A failed authentication is logged too, without the token it tried.
    let _ = srv
        .get(
            &format!("/api/v1/projects/{}", p.id),
            Some("pprl_0000000000000000_guess"),
        )
        .await;
    let log = String::from_utf8(cap.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("POST /api/v1/projects 201"), "{log}");
    assert!(log.contains("GET /api/v1/projects/{project_id}/runs/{run_id}/result 200"));
    let mut secrets: Vec<&str> = vec![ADMIN, "guess"];
    for t in p
        .parties
        .iter()
        .chain([&p.admin, &p.reader])
        .chain(&p.codes)
    {
        secrets.push(t);
        secrets.push(t.rsplit('_').next().unwrap());
    }
    for s in &secrets {
        assert!(!log.contains(s), "a secret in the log");
    }
    // No record id either.
    let first_id = links.lines().nth(1).unwrap().split(',').next().unwrap();
    assert!(!log.contains(first_id));
    // The SQLite file holds no token (only hashes).
    if std::env::var("PPRL_TEST_POSTGRES_URL").map_or(true, |u| u.is_empty()) {
        let mut db = std::fs::read(srv.dir.path().join("pprl.db")).unwrap();
        if let Ok(wal) = std::fs::read(srv.dir.path().join("pprl.db-wal")) {
            db.extend(wal);
        }
        let db = String::from_utf8_lossy(&db);
        for s in &secrets[2..] {
            assert!(!db.contains(s), "a secret in the database");
        }
    }
}
