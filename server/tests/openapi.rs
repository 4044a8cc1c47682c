//! The committed OpenAPI document is the one the code generates (`PPRL_BLESS=1` rewrites it).

#[test]
fn committed_openapi_document_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    let generated = pprl_server::api::openapi_json();
    if std::env::var_os("PPRL_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "server/openapi.json differs from the generated document; run \
         `PPRL_BLESS=1 cargo test -p pprl-server --test server openapi` and commit it"
    );
    // Every route the router serves is documented.
    let doc: serde_json::Value = serde_json::from_str(&generated).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/projects",
        "/api/v1/join",
        "/api/v1/projects/{project_id}/uploads/{upload_id}",
        "/api/v1/projects/{project_id}/runs/{run_id}/result",
        "/api/v1/audit/verify",
    ] {
        assert!(paths.contains_key(p), "{p} undocumented");
    }
}
