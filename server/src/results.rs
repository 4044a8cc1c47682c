//! A finished run's results, one file per view, written once and streamed on request.
//!
//! `runs/<run>/` in the data directory holds `links.csv` (the result reader's view: the
//! `pprl match` CSV without scores), `links-scores.csv` (with scores, only where the project
//! allows them) and `party-<k>.csv` (party `k`'s view: `link_id,id` for two parties or
//! `cluster_id,id` otherwise: its own record ids with an opaque id shared with the other
//! parties' rows of the same link or cluster, and never another party's ids). Opaque ids are
//! keyed hashes (BLAKE3, under the data directory's `link.key`) of the run and the link's
//! position, and each party file is sorted by them, so a party learns neither the result's
//! order (which follows the scores) nor the other party's ids. The files are written into a
//! fresh folder and renamed into place, so a view is never half written.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use pprl::linkage::job::{MatchReport, MatchResult};
use serde_json::json;

use crate::jobs::Failure;
use crate::state::AppState;

/// The folder of a run's results.
pub fn dir(state: &AppState, run: &str) -> PathBuf {
    state.data_dir().join("runs").join(run)
}

/// The data directory's key for opaque link ids, made on first use (mode 0600).
pub fn link_key(data_dir: &Path) -> std::io::Result<[u8; 32]> {
    let path = data_dir.join("link.key");
    match std::fs::read(&path) {
        Ok(b) if b.len() == 32 => {
            let mut k = [0u8; 32];
            k.copy_from_slice(&b);
            return Ok(k);
        }
        Ok(_) => return Err(std::io::Error::other("link.key is not 32 bytes")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let key = crate::db::random::<32>();
    let tmp = data_dir.join(format!("link.key.{}", crate::db::new_id()));
    {
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        let mut f = o.open(&tmp)?;
        f.write_all(&key)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    Ok(key)
}

/// Writes a run's views and returns its summary (counts and the threshold; no scores).
pub async fn write(
    state: &AppState,
    project: &str,
    run: &str,
    report: MatchReport,
) -> Result<serde_json::Value, Failure> {
    let p = crate::api::projects::load(state, project)
        .await
        .map_err(|e| Failure::Error(e.code, e.detail))?;
    let (dir, data_dir, run_id) = (
        dir(state, run),
        state.data_dir().to_path_buf(),
        run.to_string(),
    );
    let scores = p.scores_allowed;
    let compat = p.compat.clone();
    tokio::task::spawn_blocking(move || {
        write_views(&dir, &data_dir, &run_id, &report, scores, compat.as_deref())
    })
    .await
    .map_err(|_| Failure::Error("server-internal", "writing results failed".into()))?
    .map_err(|e| {
        tracing::error!(error = %e, "writing results failed");
        Failure::Error("server-internal", "writing results failed".into())
    })
}

fn write_views(
    dir: &Path,
    data_dir: &Path,
    run: &str,
    report: &MatchReport,
    scores: bool,
    compat: Option<&str>,
) -> std::io::Result<serde_json::Value> {
    let key = blake3::keyed_hash(&link_key(data_dir)?, run.as_bytes());
    let opaque = |i: usize| {
        let h = blake3::keyed_hash(key.as_bytes(), &(i as u64).to_le_bytes());
        h.to_hex()[..24].to_string()
    };
    let parent = dir.parent().expect("runs/<id> has a parent");
    std::fs::create_dir_all(parent)?;
    let tmp = parent.join(format!(".{run}.{}", crate::db::new_id()));
    std::fs::create_dir(&tmp)?;
    let file = |name: &str| -> std::io::Result<std::io::BufWriter<std::fs::File>> {
        Ok(std::io::BufWriter::new(std::fs::File::create(
            tmp.join(name),
        )?))
    };
    finish(report.write_csv_to(file("links.csv")?, false)?)?;
    if scores {
        finish(report.write_csv_to(file("links-scores.csv")?, true)?)?;
    }
    let parties = report.ids.len();
    let mut views: Vec<Vec<(String, &str)>> = vec![Vec::new(); parties];
    let header = match &report.result {
        MatchResult::Pairs(pairs) => {
            for (i, c) in pairs.iter().enumerate() {
                let id = opaque(i);
                views[0].push((id.clone(), &report.ids[0][c.a as usize]));
                let second = parties.min(2) - 1;
                views[second].push((id, &report.ids[second][c.b as usize]));
            }
            "link_id"
        }
        MatchResult::Duplicates(clusters) => {
            for (k, cl) in clusters.iter().enumerate() {
                for &i in cl {
                    views[0].push((opaque(k), &report.ids[0][i as usize]));
                }
            }
            "cluster_id"
        }
        MatchResult::Clusters(clusters) => {
            for (k, cl) in clusters.iter().enumerate() {
                for r in cl {
                    let party = r.party as usize;
                    views[party].push((opaque(k), &report.ids[party][r.index as usize]));
                }
            }
            "cluster_id"
        }
        MatchResult::Written { .. } => {
            return Err(std::io::Error::other("a streamed result has no views"));
        }
    };
    for (k, mut rows) in views.into_iter().enumerate() {
        rows.sort_unstable();
        #[cfg(feature = "polars")]
        parquet::party_view(&tmp.join(format!("party-{k}.parquet")), header, &rows)?;
        let mut w = csv::Writer::from_writer(file(&format!("party-{k}.csv"))?);
        w.write_record([header, "id"])?;
        for (link, id) in rows {
            w.write_record([link.as_str(), id])?;
        }
        finish(w.into_inner().map_err(|e| e.into_error())?)?;
    }
    #[cfg(feature = "polars")]
    parquet::links(&tmp, report, scores)?;
    if let Some(kind) = compat {
        let w = file(ANONLINK_VIEW)?;
        finish(write_anonlink(
            w,
            report,
            kind == "similarity_scores" && scores,
        )?)?;
    }
    sync_dir(&tmp)?;
    if dir.exists() {
        // An earlier attempt that died after writing: the same run gives the same files.
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::rename(&tmp, dir)?;
    sync_dir(parent)?;
    Ok(json!({
        "threshold": report.threshold,
        "matches": report.matches,
        "records": report.records,
        "comparisons": report.stats.comparisons,
        "candidates": report.stats.candidates,
        "solver": report.solver,
    }))
}

/// Whether this build writes (and serves) the Parquet views (cargo feature `polars`).
pub const PARQUET: bool = cfg!(feature = "polars");

/// The Parquet views: the same tables as the CSV files, typed (`score` a full `f64`) and
/// Zstandard-compressed, written next to them.
#[cfg(feature = "polars")]
mod parquet {
    use std::path::Path;

    use polars::prelude::*;

    use super::MatchReport;

    /// Rows per row group of a party view.
    const BATCH: usize = 1 << 16;

    /// `links.parquet` (and `links-scores.parquet`): the library's Parquet result.
    pub fn links(dir: &Path, report: &MatchReport, scores: bool) -> std::io::Result<()> {
        let io = |e: pprl::linkage::job::MatchError| std::io::Error::other(e.to_string());
        report
            .write_parquet(&dir.join("links.parquet"), false)
            .map_err(io)?;
        if scores {
            report
                .write_parquet(&dir.join("links-scores.parquet"), true)
                .map_err(io)?;
        }
        Ok(())
    }

    /// A party's view: `link_id` (or `cluster_id`) and `id`, strings, in the CSV's order.
    pub fn party_view(path: &Path, header: &str, rows: &[(String, &str)]) -> std::io::Result<()> {
        let schema = Schema::from_iter([
            Field::new(header.into(), DataType::String),
            Field::new("id".into(), DataType::String),
        ]);
        let batches = rows.chunks(BATCH).map(|chunk| {
            let links: Vec<&str> = chunk.iter().map(|(l, _)| l.as_str()).collect();
            let ids: Vec<&str> = chunk.iter().map(|(_, i)| *i).collect();
            DataFrame::new_infer_height(vec![
                Series::new(header.into(), links).into_column(),
                Series::new("id".into(), ids).into_column(),
            ])
        });
        // An empty view still has its columns: one empty batch.
        let empty = rows.is_empty().then(|| {
            DataFrame::new_infer_height(vec![
                Series::new(header.into(), Vec::<&str>::new()).into_column(),
                Series::new("id".into(), Vec::<&str>::new()).into_column(),
            ])
        });
        pprl::io::parquet::write_parquet(path, &schema, batches.chain(empty))
    }
}

/// The view of an anonlink-entity-service project's result token, in that service's JSON.
pub const ANONLINK_VIEW: &str = "anonlink.json";

/// anonlink-entity-service's result JSON: `{"groups": [[[party, row], ...], ...]}`, or with
/// `scores` `{"similarity_scores": [[[0, row], [1, row], score], ...]}`. Rows are positions in
/// the uploads (what that service's clients number records by).
fn write_anonlink<W: std::io::Write>(
    mut w: W,
    report: &MatchReport,
    scores: bool,
) -> std::io::Result<W> {
    let key = if scores {
        "similarity_scores"
    } else {
        "groups"
    };
    write!(w, "{{\"{key}\": [")?;
    let mut first = true;
    let mut sep = |w: &mut W| -> std::io::Result<()> {
        if !std::mem::take(&mut first) {
            w.write_all(b",")?;
        }
        w.write_all(b"\n")
    };
    match &report.result {
        MatchResult::Pairs(pairs) => {
            for c in pairs {
                sep(&mut w)?;
                if scores {
                    write!(w, "[[0, {}], [1, {}], {}]", c.a, c.b, c.score)?;
                } else {
                    write!(w, "[[0, {}], [1, {}]]", c.a, c.b)?;
                }
            }
        }
        MatchResult::Clusters(clusters) => {
            for cl in clusters {
                sep(&mut w)?;
                let members: Vec<String> = cl
                    .iter()
                    .map(|r| format!("[{}, {}]", r.party, r.index))
                    .collect();
                write!(w, "[{}]", members.join(", "))?;
            }
        }
        MatchResult::Duplicates(clusters) => {
            for cl in clusters {
                sep(&mut w)?;
                let members: Vec<String> = cl.iter().map(|i| format!("[0, {i}]")).collect();
                write!(w, "[{}]", members.join(", "))?;
            }
        }
        MatchResult::Written { .. } => {
            return Err(std::io::Error::other("a streamed result has no views"));
        }
    }
    w.write_all(b"\n]}\n")?;
    Ok(w)
}

fn finish(w: std::io::BufWriter<std::fs::File>) -> std::io::Result<()> {
    let f = w.into_inner().map_err(|e| e.into_error())?;
    f.sync_all()
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    let _ = dir;
    Ok(())
}
