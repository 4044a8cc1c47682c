//! The server's tests, one binary: in-process requests through the router (no socket), on
//! SQLite, and on PostgreSQL as well when `PPRL_TEST_POSTGRES_URL` names a server where the
//! tests may create databases (each test gets its own; `server/ci/postgres.sh` starts one).

mod util;

mod anonlink;
mod audit;
mod authz;
mod logs;
mod openapi;
mod operator;
mod parquet;
mod retention;
mod runs;
mod tls;
mod uploads;
