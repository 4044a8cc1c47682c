//! `pprl remote`: the departments' and the analyst's client for `pprl serve`, so that nobody
//! needs curl. Every credential (admin token, join code, token) is read from a file, never
//! from an argument; a token received is written to a new file of mode 0600.
//!
//! `upload` resumes: it keeps the upload's id in a state file (`FILE.pprl-upload` unless
//! `--state` says otherwise), asks the server for its offset and sends the rest in chunks.

use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

/// `pprl remote`.
#[derive(Debug, Args)]
pub struct RemoteArgs {
    /// The server (`https://host:port`, or `http://127.0.0.1:port` on the same host).
    #[arg(
        long,
        value_name = "URL",
        global = true,
        default_value = "http://127.0.0.1:8080"
    )]
    pub server: String,
    /// What to do.
    #[command(subcommand)]
    pub action: RemoteAction,
}

/// `pprl remote <action>`.
#[derive(Debug, Subcommand)]
pub enum RemoteAction {
    /// Create a project (server admin) and write its join codes, JSON, to a new file.
    CreateProject {
        /// File holding the server admin's token.
        #[arg(long, value_name = "PATH")]
        admin_token_file: PathBuf,
        /// The encoding file whose schema fingerprint the project takes (its key fingerprint too).
        #[arg(long, value_name = "FILE")]
        like: PathBuf,
        /// Number of parties.
        #[arg(long, default_value_t = 2)]
        parties: u32,
        /// A name for people.
        #[arg(long, default_value = "project")]
        name: String,
        /// Allow the release of similarity scores to the result reader.
        #[arg(long)]
        allow_scores: bool,
        /// Where to write the join codes (a new file, mode 0600).
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
    },
    /// Redeem a join code (read from a file) for a token, written to a new file (mode 0600).
    Join {
        /// File holding the join code.
        #[arg(long, value_name = "PATH")]
        code_file: PathBuf,
        /// Where to write the token.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
    },
    /// Upload this party's encoding file, resuming an interrupted upload.
    Upload {
        /// File holding the party's token.
        #[arg(long, value_name = "PATH")]
        token_file: PathBuf,
        /// The project.
        #[arg(long)]
        project: String,
        /// The encoding file.
        file: PathBuf,
        /// The state file that remembers the upload (default: FILE.pprl-upload).
        #[arg(long, value_name = "PATH")]
        state: Option<PathBuf>,
        /// Bytes per request.
        #[arg(long, default_value_t = 8 << 20)]
        chunk_bytes: usize,
    },
    /// Start a run (project admin); with `--wait`, wait for its end.
    Run {
        /// File holding the project admin's token.
        #[arg(long, value_name = "PATH")]
        token_file: PathBuf,
        /// The project.
        #[arg(long)]
        project: String,
        /// Minimum similarity, or `auto`.
        #[arg(short, long)]
        threshold: String,
        /// `greedy`, `optimal` or `none`.
        #[arg(long, default_value = "greedy")]
        solver: String,
        /// `none`, `keys`, `lsh` or `auto`.
        #[arg(long, default_value = "none")]
        blocking: String,
        /// Wait until the run ends and print its final state.
        #[arg(long)]
        wait: bool,
    },
    /// Print a run's state.
    Status {
        /// File holding a token of the project.
        #[arg(long, value_name = "PATH")]
        token_file: PathBuf,
        /// The project.
        #[arg(long)]
        project: String,
        /// The run.
        #[arg(long)]
        run: String,
    },
    /// Download this token's view of a run's result (CSV) to a new file.
    Result {
        /// File holding a party's or the result reader's token.
        #[arg(long, value_name = "PATH")]
        token_file: PathBuf,
        /// The project.
        #[arg(long)]
        project: String,
        /// The run.
        #[arg(long)]
        run: String,
        /// Ask for scores (result reader, where the project allows them).
        #[arg(long)]
        scores: bool,
        /// Where to write it (`.parquet`: as Parquet, from servers built with Parquet).
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
    },
}

struct Client {
    agent: ureq::Agent,
    base: String,
}

impl Client {
    fn new(server: &str) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(3600)))
            .build()
            .into();
        Client {
            agent,
            base: format!("{}/api/v1", server.trim_end_matches('/')),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// The answer's JSON, or the problem document as an error (its code and detail).
fn answer(mut res: ureq::http::Response<ureq::Body>, ok: &[u16]) -> anyhow::Result<Value> {
    let status = res.status().as_u16();
    let text = res.body_mut().read_to_string().unwrap_or_default();
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if !ok.contains(&status) {
        bail!(
            "the server answered {status} [{}]: {}",
            v["code"].as_str().unwrap_or("?"),
            v["detail"].as_str().unwrap_or("no detail")
        );
    }
    Ok(v)
}

fn read_secret(path: &Path) -> anyhow::Result<String> {
    let t = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {}", super::shown(path)))?;
    Ok(t.trim().to_string())
}

/// Writes a secret to a new file (mode 0600), refusing to overwrite one.
fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist)", super::shown(path)))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// Runs `pprl remote`.
pub fn run(args: &RemoteArgs) -> anyhow::Result<()> {
    let c = Client::new(&args.server);
    let bearer = |p: &Path| -> anyhow::Result<String> { Ok(format!("Bearer {}", read_secret(p)?)) };
    match &args.action {
        RemoteAction::CreateProject {
            admin_token_file,
            like,
            parties,
            name,
            allow_scores,
            output,
        } => {
            let header = pprl::io::ClkReader::open(like)?.header().clone();
            let body = json!({
                "name": name, "parties": parties,
                "schema_fingerprint": header.schema_fingerprint.to_hex(),
                "key_fingerprint": header.key_fingerprint.to_hex(),
                "result_type": if *parties == 2 { "links" } else { "clusters" },
                "scores_allowed": allow_scores,
            });
            let res = c
                .agent
                .post(c.url("/projects"))
                .header("Authorization", &bearer(admin_token_file)?)
                .content_type("application/json")
                .send(body.to_string())?;
            let v = answer(res, &[201])?;
            write_secret(output, &serde_json::to_string_pretty(&v)?)?;
            println!(
                "project {}: join codes in {}",
                v["project_id"].as_str().unwrap_or("?"),
                super::shown(output)
            );
        }
        RemoteAction::Join { code_file, output } => {
            let res = c
                .agent
                .post(c.url("/join"))
                .content_type("application/json")
                .send(json!({"code": read_secret(code_file)?}).to_string())?;
            let v = answer(res, &[201])?;
            write_secret(output, v["token"].as_str().unwrap_or_default())?;
            println!(
                "joined project {} as {}{}; token in {}",
                v["project_id"].as_str().unwrap_or("?"),
                v["role"].as_str().unwrap_or("?"),
                v["party"]
                    .as_i64()
                    .map(|k| format!(" {k}"))
                    .unwrap_or_default(),
                super::shown(output)
            );
        }
        RemoteAction::Upload {
            token_file,
            project,
            file,
            state,
            chunk_bytes,
        } => {
            upload(
                &c,
                &bearer(token_file)?,
                project,
                file,
                state.as_deref(),
                *chunk_bytes,
            )?;
        }
        RemoteAction::Run {
            token_file,
            project,
            threshold,
            solver,
            blocking,
            wait,
        } => {
            let t: Value = match threshold.as_str() {
                "auto" => json!("auto"),
                t => json!(
                    t.parse::<f64>()
                        .context("--threshold is a number in 0..=1 or auto")?
                ),
            };
            let auth = bearer(token_file)?;
            let res = c
                .agent
                .post(c.url(&format!("/projects/{project}/runs")))
                .header("Authorization", &auth)
                .content_type("application/json")
                .send(
                    json!({"threshold": t, "solver": solver, "blocking": blocking}).to_string(),
                )?;
            let v = answer(res, &[202])?;
            let run = v["run_id"].as_str().unwrap_or_default().to_string();
            println!("run {run} queued");
            if *wait {
                let bar = crate::progress::count_bar(false, "units");
                let last = loop {
                    let res = c
                        .agent
                        .get(c.url(&format!("/projects/{project}/runs/{run}")))
                        .header("Authorization", &auth)
                        .call()?;
                    let v = answer(res, &[200])?;
                    bar.set_position(v["progress"].as_u64().unwrap_or(0));
                    if !["queued", "running"].contains(&v["state"].as_str().unwrap_or("")) {
                        break v;
                    }
                    std::thread::sleep(Duration::from_millis(250));
                };
                bar.finish_and_clear();
                println!("{}", serde_json::to_string_pretty(&last)?);
                if last["state"] != "completed" {
                    bail!("the run ended {}", last["state"].as_str().unwrap_or("?"));
                }
            }
        }
        RemoteAction::Status {
            token_file,
            project,
            run,
        } => {
            let res = c
                .agent
                .get(c.url(&format!("/projects/{project}/runs/{run}")))
                .header("Authorization", &bearer(token_file)?)
                .call()?;
            println!("{}", serde_json::to_string_pretty(&answer(res, &[200])?)?);
        }
        RemoteAction::Result {
            token_file,
            project,
            run,
            scores,
            output,
        } => {
            // The result never replaces the token file (or any file through a link to it).
            super::check_files(
                pprl::io::RunFiles::new()
                    .read(pprl::io::FileRole::Secret, token_file)
                    .write(output),
            )?;
            let res = c
                .agent
                .get(c.url(&format!(
                    "/projects/{project}/runs/{run}/result?scores={scores}&format={}",
                    // Parquet for a `.parquet` output (servers built with `polars`), else CSV.
                    pprl::io::TableFormat::from_path(output).as_str()
                )))
                .header("Authorization", &bearer(token_file)?)
                .call()?;
            if res.status().as_u16() != 200 {
                answer(res, &[200])?;
                unreachable!("answer fails on any status but 200");
            }
            let mut out = pprl::io::AtomicFile::create(output)
                .with_context(|| format!("cannot create {}", super::shown(output)))?;
            let mut body = res.into_body().into_with_config().limit(u64::MAX).reader();
            std::io::copy(&mut body, &mut out)?;
            out.commit()?;
            println!("result in {}", super::shown(output));
        }
    }
    Ok(())
}

fn upload(
    c: &Client,
    auth: &str,
    project: &str,
    file: &Path,
    state: Option<&Path>,
    chunk: usize,
) -> anyhow::Result<()> {
    let state = state.map(Path::to_path_buf).unwrap_or_else(|| {
        let mut s = file.as_os_str().to_owned();
        s.push(".pprl-upload");
        PathBuf::from(s)
    });
    let len = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}", super::shown(file)))?
        .len();
    let uri = match std::fs::read_to_string(&state) {
        Ok(s) => s.trim().to_string(),
        Err(_) => {
            use sha2::Digest as _;
            let mut h = sha2::Sha256::new();
            let mut f = std::fs::File::open(file)?;
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = f.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
            let sha = hex::encode(h.finalize());
            let res = c
                .agent
                .post(c.url(&format!("/projects/{project}/uploads")))
                .header("Authorization", auth)
                .content_type("application/json")
                .send(json!({"length": len, "sha256": sha}).to_string())?;
            let v = answer(res, &[201])?;
            let uri = format!(
                "/projects/{project}/uploads/{}",
                v["upload_id"].as_str().unwrap_or_default()
            );
            std::fs::write(&state, &uri)?;
            uri
        }
    };
    let res = c
        .agent
        .head(c.url(&uri))
        .header("Authorization", auth)
        .call()?;
    if res.status().as_u16() != 200 {
        bail!(
            "the server does not know this upload ({}); remove {} to start again",
            res.status(),
            super::shown(&state)
        );
    }
    let mut off: u64 = res
        .headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let bar = crate::progress::rows_bar(Some(len), false);
    bar.set_position(off);
    let mut f = std::fs::File::open(file)?;
    let mut buf = vec![0u8; chunk.max(1)];
    let mut last = Value::Null;
    while off < len {
        f.seek(SeekFrom::Start(off))?;
        let n = f.read(&mut buf)?;
        if n == 0 {
            bail!("{} became shorter during the upload", super::shown(file));
        }
        let res = c
            .agent
            .patch(c.url(&uri))
            .header("Authorization", auth)
            .header("Upload-Offset", &off.to_string())
            .content_type("application/offset+octet-stream")
            .send(&buf[..n])?;
        last = answer(res, &[200, 204])?;
        off += n as u64;
        bar.set_position(off);
    }
    bar.finish_and_clear();
    let _ = std::fs::remove_file(&state);
    println!(
        "committed: {} records ({})",
        last["records"],
        last["format"].as_str().unwrap_or("?")
    );
    Ok(())
}
