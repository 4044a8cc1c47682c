-- pprl serve: the first schema. Portable SQL: the same file runs on SQLite and PostgreSQL.
-- Ids are random text chosen by the server (no autoincrement, whose syntax differs); times are
-- Unix seconds; booleans are 0/1 integers; hashes are lower-case hex.

CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    schema_fingerprint TEXT NOT NULL,
    key_fingerprint TEXT,
    parties BIGINT NOT NULL,
    result_type TEXT NOT NULL,
    scores_allowed BIGINT NOT NULL,
    accept_unfingerprinted BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE join_codes (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id),
    party BIGINT,
    role TEXT NOT NULL,
    hash TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    redeemed_at BIGINT
);

CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id),
    party BIGINT,
    role TEXT NOT NULL,
    hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id),
    party BIGINT NOT NULL,
    length BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    received BIGINT NOT NULL,
    state TEXT NOT NULL,
    format TEXT,
    records BIGINT,
    error_code TEXT,
    created_at BIGINT NOT NULL,
    committed_at BIGINT
);

CREATE INDEX uploads_by_party ON uploads (project_id, party, state);

CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id),
    spec TEXT NOT NULL,
    state TEXT NOT NULL,
    stage TEXT NOT NULL,
    progress BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    cancel_requested BIGINT NOT NULL,
    error_code TEXT,
    error_detail TEXT,
    summary TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);

CREATE INDEX runs_by_state ON runs (state, created_at);

CREATE TABLE audit (
    seq BIGINT PRIMARY KEY,
    ts BIGINT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    project_id TEXT,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
