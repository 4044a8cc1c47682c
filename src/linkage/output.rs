//! Writing a match result as CSV or Parquet.
//!
//! Both formats hold the same table (see [`MatchReport::write_csv`] for its columns). Parquet
//! (cargo feature `polars`) suits results too large to handle comfortably as text: typed
//! columns, compressed, and readable column by column by analysis tools. Its `score` column
//! keeps the full `f64`, where CSV rounds to six decimals.

use std::path::Path;

use super::job::{MatchError, MatchReport};
use crate::io::TableFormat;

/// Checks that this build can write `format`, so that a job can refuse before matching rather
/// than after (Parquet needs the `polars` feature).
pub fn check_format(path: &Path, format: TableFormat) -> Result<(), MatchError> {
    if format.is_available() {
        return Ok(());
    }
    Err(MatchError::FormatUnavailable {
        path: path.display().to_string(),
        format: format.as_str(),
    })
}

impl MatchReport {
    /// Writes the result to `path` in `format`, atomically; `scores: false` leaves the
    /// similarity scores out (see [`super::job::MatchOptions::scores`]).
    pub fn write(&self, path: &Path, format: TableFormat, scores: bool) -> Result<(), MatchError> {
        match format {
            TableFormat::Csv => self.write_csv(path, scores),
            #[cfg(feature = "polars")]
            TableFormat::Parquet => self.write_parquet(path, scores),
            #[cfg(not(feature = "polars"))]
            TableFormat::Parquet => check_format(path, format),
        }
    }

    /// Writes the result as Parquet to `path`, atomically, in row groups of at most
    /// [`PARQUET_BATCH_ROWS`] rows. Columns: `a_id`, `b_id` (strings) and `score` (`f64`) for
    /// two files; `cluster` (`u32`) and `id` for one; `cluster`, `party` (`u16`) and `id` for
    /// three or more.
    #[cfg(feature = "polars")]
    pub fn write_parquet(&self, path: &Path, scores: bool) -> Result<(), MatchError> {
        use polars::prelude::*;

        use super::job::MatchResult;

        let batch = PARQUET_BATCH_ROWS;
        let column = |name: &str, values: Series| values.with_name(name.into()).into_column();
        let frame = |columns: Vec<Column>| DataFrame::new_infer_height(columns);
        let result = match &self.result {
            MatchResult::Pairs(pairs) => {
                let mut fields = vec![
                    Field::new("a_id".into(), DataType::String),
                    Field::new("b_id".into(), DataType::String),
                ];
                if scores {
                    fields.push(Field::new("score".into(), DataType::Float64));
                }
                let batches = pairs.chunks(batch).map(|chunk| {
                    let ids = |side: usize, pick: fn(&super::Candidate) -> u32| {
                        let ids = [self.ids[0].as_slice(), self.second_ids()];
                        chunk
                            .iter()
                            .map(|c| ids[side][pick(c) as usize].as_str())
                            .collect::<Vec<_>>()
                    };
                    let mut columns = vec![
                        column("a_id", Series::new("".into(), ids(0, |c| c.a))),
                        column("b_id", Series::new("".into(), ids(1, |c| c.b))),
                    ];
                    if scores {
                        let score: Vec<f64> = chunk.iter().map(|c| c.score).collect();
                        columns.push(column("score", Series::new("".into(), score)));
                    }
                    frame(columns)
                });
                crate::io::parquet::write_parquet(path, &Schema::from_iter(fields), batches)
            }
            MatchResult::Duplicates(clusters) => {
                let rows = clusters.iter().enumerate().flat_map(|(k, cluster)| {
                    cluster
                        .iter()
                        .map(move |&i| (k as u32, self.ids[0][i as usize].as_str()))
                });
                let batches = batched(rows, batch).map(|chunk| {
                    let (cluster, id): (Vec<u32>, Vec<&str>) = chunk.into_iter().unzip();
                    frame(vec![
                        column("cluster", Series::new("".into(), cluster)),
                        column("id", Series::new("".into(), id)),
                    ])
                });
                let schema = Schema::from_iter([
                    Field::new("cluster".into(), DataType::UInt32),
                    Field::new("id".into(), DataType::String),
                ]);
                crate::io::parquet::write_parquet(path, &schema, batches)
            }
            MatchResult::Clusters(clusters) => {
                let rows = clusters.iter().enumerate().flat_map(|(k, cluster)| {
                    cluster.iter().map(move |r| {
                        let id = self.ids[r.party as usize][r.index as usize].as_str();
                        (k as u32, r.party, id)
                    })
                });
                let batches = batched(rows, batch).map(|chunk| {
                    let mut cluster = Vec::with_capacity(chunk.len());
                    let mut party = Vec::with_capacity(chunk.len());
                    let mut id = Vec::with_capacity(chunk.len());
                    for (k, p, i) in chunk {
                        cluster.push(k);
                        party.push(p);
                        id.push(i);
                    }
                    frame(vec![
                        column("cluster", Series::new("".into(), cluster)),
                        column("party", Series::new("".into(), party)),
                        column("id", Series::new("".into(), id)),
                    ])
                });
                let schema = Schema::from_iter([
                    Field::new("cluster".into(), DataType::UInt32),
                    Field::new("party".into(), DataType::UInt16),
                    Field::new("id".into(), DataType::String),
                ]);
                crate::io::parquet::write_parquet(path, &schema, batches)
            }
            MatchResult::Written { .. } => {
                return Err(MatchError::AlreadyWritten);
            }
        };
        result.map_err(|source| MatchError::Output {
            path: path.display().to_string(),
            source,
        })
    }
}

/// Rows per row group of a Parquet result: bounds the memory used while writing.
#[cfg(feature = "polars")]
pub const PARQUET_BATCH_ROWS: usize = 1 << 16;

/// Groups an iterator's items into vectors of at most `size`.
#[cfg(feature = "polars")]
fn batched<T>(items: impl Iterator<Item = T>, size: usize) -> impl Iterator<Item = Vec<T>> {
    let mut items = items.peekable();
    std::iter::from_fn(move || {
        items.peek()?;
        Some(items.by_ref().take(size).collect())
    })
}
