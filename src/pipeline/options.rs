//! What a job is told: where its input and outputs are ([`EncodeOptions`]) and how to run
//! ([`BatchOptions`]: threads and chunk size, which never change the output).

use std::path::{Path, PathBuf};

use super::error::EncodeError;
use crate::io::{FileRole, Input, RunFiles, TableFormat};

/// Default rows per chunk: large enough to amortise the hand-off between threads, small enough
/// to keep memory flat (a few MiB).
pub const DEFAULT_CHUNK_ROWS: usize = 4096;

/// How an encoding runs: neither setting changes the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOptions {
    /// Worker threads; `None` uses one per core.
    pub threads: Option<usize>,
    /// Rows per chunk (at least 1).
    pub chunk_rows: usize,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            threads: None,
            chunk_rows: DEFAULT_CHUNK_ROWS,
        }
    }
}

impl BatchOptions {
    /// Checks the settings; returns the thread count to use.
    pub(crate) fn threads(&self) -> Result<usize, EncodeError> {
        if self.chunk_rows == 0 {
            return Err(EncodeError::ChunkRows);
        }
        Ok(self
            .threads
            .unwrap_or_else(rayon::current_num_threads)
            .max(1))
    }

    /// A pool of [`BatchOptions::threads`] workers.
    pub(crate) fn pool(&self) -> Result<(rayon::ThreadPool, usize), EncodeError> {
        let threads = self.threads()?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| EncodeError::Threads {
                threads,
                message: e.to_string(),
            })?;
        Ok((pool, threads))
    }
}

/// What to encode, where to, and how.
#[derive(Debug, Clone)]
pub struct EncodeOptions {
    /// Input path, or `-` for standard input (CSV only).
    pub input: String,
    /// Format of the input; `None`: from the extension ([`TableFormat::from_path`]).
    pub format: Option<TableFormat>,
    /// Output encoding file.
    pub output: PathBuf,
    /// Rejects report. `None`: `OUTPUT.rejects.csv`, written only if a row is rejected.
    pub rejects: Option<PathBuf>,
    /// Worker threads; `None` uses one per core.
    pub threads: Option<usize>,
    /// Rows per chunk.
    pub chunk_rows: usize,
    /// CSV field delimiter.
    pub delimiter: u8,
}

impl EncodeOptions {
    /// Options with defaults for everything but the paths.
    pub fn new(input: impl Into<String>, output: impl Into<PathBuf>) -> Self {
        EncodeOptions {
            input: input.into(),
            format: None,
            output: output.into(),
            rejects: None,
            threads: None,
            chunk_rows: DEFAULT_CHUNK_ROWS,
            delimiter: b',',
        }
    }

    /// The run settings.
    pub fn batch(&self) -> BatchOptions {
        BatchOptions {
            threads: self.threads,
            chunk_rows: self.chunk_rows,
        }
    }

    /// The rejects report's path: [`EncodeOptions::rejects`], or `OUT.rejects.csv`.
    pub fn rejects_path(&self) -> PathBuf {
        self.rejects
            .clone()
            .unwrap_or_else(|| default_rejects_path(&self.output))
    }
}

/// Progress callback: `(rows done, input bytes read)`.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// The default rejects path for an output: `OUT.clk` -> `OUT.clk.rejects.csv`.
pub fn default_rejects_path(output: &Path) -> PathBuf {
    let mut p = output.as_os_str().to_owned();
    p.push(".rejects.csv");
    PathBuf::from(p)
}

/// Opens the job's input after checking the options (the output must not overwrite the
/// input; chunks hold at least one row).
pub(crate) fn open_input(opts: &EncodeOptions) -> Result<Input, EncodeError> {
    RunFiles::new()
        .read(FileRole::Input, &opts.input)
        .write(&opts.output)
        .write(crate::io::Manifest::path_for(&opts.output))
        .write(opts.rejects_path())
        .check()?;
    opts.batch().threads()?;
    let format = opts
        .format
        .unwrap_or_else(|| TableFormat::from_path(&opts.input));
    Ok(Input::open(&opts.input, format, opts.delimiter)?)
}
