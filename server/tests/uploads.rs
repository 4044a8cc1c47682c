//! Uploads: resumption from the server's offset, refusals (checksum, secret, schema, size,
//! format) that leave nothing behind, and partial uploads that no run can see.

use axum::body::Body;
use axum::http::Method;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::util::{Srv, files};

fn enc_files(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in walk(dir) {
        out.push(e);
    }
    out.sort();
    out
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                v.extend(walk(&p));
            } else {
                v.push(p.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
    }
    v
}

#[tokio::test]
async fn an_interrupted_upload_resumes_from_the_servers_offset() {
    let srv = Srv::new().await;
    let f = files();
    let p = srv.project(&f, 2, false).await;
    let bytes = std::fs::read(&f.a).unwrap();
    let uid = srv.start_upload(&p, 0, &bytes).await;
    let uri = format!("/api/v1/projects/{}/uploads/{uid}", p.id);
    let half = bytes.len() / 2;
    let r = srv.patch(&p, 0, &uid, 0, &bytes[..half]).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.headers["upload-offset"], half.to_string().as_str());
    // The client lost track: HEAD says where to go on.
    let r = srv
        .req(Method::HEAD, &uri, Some(&p.parties[0]), &[], Body::empty())
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["upload-offset"], half.to_string().as_str());
    assert_eq!(r.headers["upload-length"], bytes.len().to_string().as_str());
    // A chunk at the wrong offset is refused and changes nothing.
    let r = srv.patch(&p, 0, &uid, 0, &bytes[..100]).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["code"], "upload-offset-mismatch");
    // While partial, no run can start (the upload is not visible).
    let r = srv
        .post(
            &format!("/api/v1/projects/{}/runs", p.id),
            Some(&p.admin),
            &json!({"threshold": 0.8}),
        )
        .await;
    assert_eq!(r.json()["code"], "run-uploads-missing");
    let view = srv
        .get(&format!("/api/v1/projects/{}", p.id), Some(&p.admin))
        .await
        .json();
    assert_eq!(view["uploads"][0]["committed"], false);
    let r = srv.send_from(&p, 0, &uid, &bytes, half, 7000).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["state"], "committed");
    assert_eq!(v["format"], "clk");
    let header = pprl::io::ClkReader::open(&f.a).unwrap().header().clone();
    assert_eq!(v["records"], header.record_count);
    let stored = std::fs::read(
        srv.dir
            .path()
            .join("uploads")
            .join(&p.id)
            .join(format!("{uid}.enc")),
    )
    .unwrap();
    assert_eq!(stored, bytes);
    // One committed upload per party.
    let r = srv
        .post(
            &format!("/api/v1/projects/{}/uploads", p.id),
            Some(&p.parties[0]),
            &json!({"length": 10, "sha256": "0".repeat(64)}),
        )
        .await;
    assert_eq!(r.json()["code"], "upload-exists");
}

#[tokio::test]
async fn refused_uploads_leave_nothing_behind() {
    let srv = Srv::new().await;
    let f = files();
    let p = srv.project(&f, 2, false).await;
    let a = std::fs::read(&f.a).unwrap();
    let uploads = srv.dir.path().join("uploads");
    // The declared checksum does not match the bytes.
    let r = srv
        .post(
            &format!("/api/v1/projects/{}/uploads", p.id),
            Some(&p.parties[0]),
            &json!({"length": a.len(), "sha256": hex::encode(Sha256::digest(b"x"))}),
        )
        .await;
    let uid = r.json()["upload_id"].as_str().unwrap().to_string();
    let r = srv.send_from(&p, 0, &uid, &a, 0, 1 << 20).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["code"], "upload-checksum");
    // Encoded under another secret: refused with the library's code.
    let other = std::fs::read(&f.a_other_key).unwrap();
    let r = srv.upload(&p, 0, &other, 1 << 20).await;
    assert_eq!(r.status, 200, "the first upload pins the key: {}", r.text());
    let r = srv
        .upload(&p, 1, &std::fs::read(&f.b).unwrap(), 1 << 20)
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["code"], "match-key-mismatch");
    assert!(!r.text().contains(&hex::encode(&other[..16])));
    // Not a .clk file, in a project that accepts only fingerprinted files.
    let json_clks = br#"{"clks": ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]}"#;
    let r = srv.upload(&p, 1, json_clks, 1 << 20).await;
    assert_eq!(r.json()["code"], "upload-unfingerprinted");
    // More bytes than declared.
    let uid = srv.start_upload(&p, 1, &a[..100]).await;
    let r = srv.patch(&p, 1, &uid, 0, &a[..200]).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["code"], "upload-overflow");
    let r = srv
        .req(
            Method::HEAD,
            &format!("/api/v1/projects/{}/uploads/{uid}", p.id),
            Some(&p.parties[1]),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(r.headers["upload-offset"], "0");
    // Every refused file is gone; only the committed one and the open uploads' partial files
    // remain.
    let left = enc_files(&uploads);
    assert_eq!(
        left.iter().filter(|n| n.ends_with(".enc")).count(),
        1,
        "{left:?}"
    );
}

#[tokio::test]
async fn limits_refuse_big_uploads_before_any_byte() {
    let limits = pprl_server::Limits {
        max_upload_bytes: 1000,
        ..Default::default()
    };
    let srv = Srv::with_limits(limits).await;
    let f = files();
    let p = srv.project(&f, 2, false).await;
    let r = srv
        .post(
            &format!("/api/v1/projects/{}/uploads", p.id),
            Some(&p.parties[0]),
            &json!({"length": 1001, "sha256": "0".repeat(64)}),
        )
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["code"], "upload-too-large");
    assert_eq!(r.headers["content-type"], "application/problem+json");
}
