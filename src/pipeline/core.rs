//! The streaming core: rows in chunks in, encoded rows out in input order, to a [`RowSink`].
//!
//! Each chunk is encoded in parallel on a rayon pool ([`EncodedChunk::encode`]), then handed
//! to the sink row by row in input order. Chunking fixes the order of the output, so what the
//! sink receives does not depend on the number of threads or the chunk size.
//!
//! Two drivers share that step: [`stream_rows`], for files, overlaps reading, encoding and
//! writing on three threads (a reader thread parses chunks, the calling thread encodes them,
//! a writer thread feeds the sink), with bounded channels so memory stays constant however
//! large the input; [`run_rows`] does the same steps one after another on the calling thread,
//! for rows already in memory.

use std::sync::mpsc;

use rayon::prelude::*;

use super::error::EncodeError;
use super::options::{BatchOptions, Progress};
use super::rows::RowEncoder;
use crate::encode::Rejection;
use crate::io::{InputError, InputRow, RowSource};

/// What encoding one row gave: the fields whose invalid values were encoded as missing if it
/// was encoded (its words are beside it), the rejection if not.
pub(crate) type Outcome = Result<Vec<Rejection>, Rejection>;

/// Receives every row, in input order, with its outcome: the filter words and the fields whose
/// invalid values were encoded as missing if it was encoded, the rejection if not.
pub(crate) trait RowSink {
    /// Handles one row.
    fn write_row(
        &mut self,
        row: &InputRow,
        outcome: Result<(&[u64], &[Rejection]), &Rejection>,
    ) -> Result<(), EncodeError>;
}

/// What [`stream_rows`] and [`run_rows`] hand back.
#[derive(Debug)]
pub(crate) struct Streamed<S> {
    /// The sink, holding whatever it wrote.
    pub(crate) sink: S,
    /// Rows read from the input.
    pub(crate) rows_read: u64,
    /// Worker threads used.
    pub(crate) threads: usize,
}

/// One chunk of rows with their encodings (and, travelling back, reusable buffers).
#[derive(Debug, Default)]
pub(crate) struct EncodedChunk {
    pub(crate) rows: Vec<InputRow>,
    filters: Vec<u64>,
    outcomes: Vec<Outcome>,
}

impl EncodedChunk {
    /// Encodes every row of the chunk on `pool`, `words` words per row.
    pub(crate) fn encode<E: RowEncoder>(
        &mut self,
        pool: &rayon::ThreadPool,
        encoder: &E,
        words: usize,
    ) {
        let EncodedChunk {
            rows,
            filters,
            outcomes,
        } = self;
        filters.clear();
        filters.resize(rows.len() * words, 0);
        pool.install(|| {
            filters
                .par_chunks_mut(words)
                .zip(rows.par_iter())
                .map_init(E::Scratch::default, |scratch, (out, row)| {
                    encoder.encode_row(row, scratch, out)
                })
                .collect_into_vec(outcomes);
        });
    }

    /// Hands the chunk's rows to the sink, in input order.
    pub(crate) fn write(&self, words: usize, sink: &mut impl RowSink) -> Result<(), EncodeError> {
        for (i, (row, outcome)) in self.rows.iter().zip(&self.outcomes).enumerate() {
            let bits = &self.filters[i * words..(i + 1) * words];
            sink.write_row(row, outcome.as_ref().map(|notes| (bits, notes.as_slice())))?;
        }
        Ok(())
    }
}

/// Encodes every row of `input` with `encoder` into `sink` on the calling thread, chunk by
/// chunk (see the module docs).
pub(crate) fn run_rows<R: RowSource + ?Sized, E: RowEncoder, S: RowSink>(
    input: &mut R,
    encoder: &E,
    mut sink: S,
    opts: &BatchOptions,
    progress: Progress<'_>,
) -> Result<Streamed<S>, EncodeError> {
    let (pool, threads) = opts.pool()?;
    let words = encoder.words_per_record();
    let mut chunk = EncodedChunk::default();
    let mut rows_read = 0u64;
    while input.read_chunk(&mut chunk.rows, opts.chunk_rows)? > 0 {
        chunk.encode(&pool, encoder, words);
        chunk.write(words, &mut sink)?;
        rows_read += chunk.rows.len() as u64;
        progress(rows_read, input.bytes_read());
    }
    Ok(Streamed {
        sink,
        rows_read,
        threads,
    })
}

/// Streams `input` through `encoder` into `sink` on three threads (see the module docs).
/// Buffers travel back to the stage that fills them, so the steady state allocates nothing.
pub(crate) fn stream_rows<R: RowSource + Send, E: RowEncoder, S: RowSink + Send>(
    mut input: R,
    encoder: &E,
    sink: S,
    opts: &BatchOptions,
    progress: Progress<'_>,
) -> Result<Streamed<S>, EncodeError> {
    let (pool, threads) = opts.pool()?;
    let words = encoder.words_per_record();
    let chunk_rows = opts.chunk_rows;
    let mut rows_read = 0u64;
    let sink = std::thread::scope(|scope| {
        let (read_tx, read_rx) = mpsc::sync_channel::<Result<(Vec<InputRow>, u64), InputError>>(2);
        let (rows_back_tx, rows_back_rx) = mpsc::channel::<Vec<InputRow>>();
        let (write_tx, write_rx) = mpsc::sync_channel::<EncodedChunk>(2);
        let (bufs_back_tx, bufs_back_rx) = mpsc::channel::<EncodedChunk>();
        scope.spawn(move || {
            loop {
                let mut rows = rows_back_rx.try_recv().unwrap_or_default();
                let msg = input
                    .read_chunk(&mut rows, chunk_rows)
                    .map(|n| (n, rows, input.bytes_read()));
                let stop = match msg {
                    Ok((0, ..)) => true,
                    Ok((_, rows, bytes)) => read_tx.send(Ok((rows, bytes))).is_err(),
                    Err(e) => {
                        let _ = read_tx.send(Err(e));
                        true
                    }
                };
                if stop {
                    break;
                }
            }
        });
        let writing = scope.spawn(move || -> Result<S, EncodeError> {
            let mut sink = sink;
            for mut chunk in write_rx {
                chunk.write(words, &mut sink)?;
                rows_back_tx.send(std::mem::take(&mut chunk.rows)).ok();
                bufs_back_tx.send(chunk).ok();
            }
            Ok(sink)
        });
        let encoding = (|| -> Result<(), EncodeError> {
            for msg in read_rx {
                let (rows, bytes) = msg?;
                let mut chunk = bufs_back_rx.try_recv().unwrap_or_default();
                chunk.rows = rows;
                chunk.encode(&pool, encoder, words);
                rows_read += chunk.rows.len() as u64;
                if write_tx.send(chunk).is_err() {
                    break; // the writer failed; its error is reported below
                }
                progress(rows_read, bytes);
            }
            Ok(())
        })();
        drop(write_tx);
        let written = writing.join().expect("writer thread does not panic");
        encoding?;
        written
    })?;
    Ok(Streamed {
        sink,
        rows_read,
        threads,
    })
}
