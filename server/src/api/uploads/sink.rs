//! Appends an upload body's chunks to its partial file. In: the chunks as hyper hands them over
//! (`Bytes`, often 16 KiB or less), and the SHA-256 state of the bytes before them. Out: the
//! same bytes at the end of the file, in order, and the SHA-256 state updated with them.
//!
//! Chunks are gathered, without a copy, up to [`BATCH`] bytes; one blocking task writes a batch
//! while the next one arrives. So the async workers never touch the disk, and a chunk costs
//! neither a copy nor a trip to the blocking pool of its own (as `tokio::fs::File` makes it
//! cost), which is what bounds a loopback upload's throughput. The same task hashes the batch,
//! so the commit does not read the file again for the checksum. Memory: at most two batches.

use std::fs::File;
use std::io::Write as _;

use axum::body::Bytes;
use sha2::{Digest as _, Sha256};
use tokio::task::JoinHandle;

/// Bytes gathered before they are written.
pub const BATCH: usize = 1 << 20;

/// An append-only writer of chunks (see the module docs).
pub struct ChunkSink {
    /// The file, while no write is in flight.
    file: Option<File>,
    /// The digest of the bytes written, while no write is in flight (`None`: not kept).
    digest: Option<Sha256>,
    /// The write in flight, which hands the file and the digest back.
    writing: Option<JoinHandle<Written>>,
    batch: Vec<Bytes>,
    batched: usize,
}

/// What a batch's write hands back.
type Written = (File, Option<Sha256>, std::io::Result<()>);

impl ChunkSink {
    /// Appends to `file` (opened for appending), updating `digest`, the SHA-256 state of the
    /// bytes already in the file (`None`: none is kept).
    pub fn new(file: File, digest: Option<Sha256>) -> ChunkSink {
        ChunkSink {
            file: Some(file),
            digest,
            writing: None,
            batch: Vec::new(),
            batched: 0,
        }
    }

    /// Takes one chunk; writes a batch once [`BATCH`] bytes are gathered.
    pub async fn push(&mut self, chunk: Bytes) -> std::io::Result<()> {
        self.batched += chunk.len();
        self.batch.push(chunk);
        if self.batched >= BATCH {
            self.send().await?;
        }
        Ok(())
    }

    async fn send(&mut self) -> std::io::Result<()> {
        self.wait().await?;
        let Some(mut file) = self.file.take() else {
            return Err(std::io::Error::other("the upload's file was lost"));
        };
        let batch = std::mem::take(&mut self.batch);
        self.batched = 0;
        let mut digest = self.digest.take();
        self.writing = Some(tokio::task::spawn_blocking(move || {
            let r = batch.iter().try_for_each(|b| file.write_all(b));
            if let Some(d) = digest.as_mut()
                && r.is_ok()
            {
                batch.iter().for_each(|b| d.update(b));
            }
            // A failed write leaves the file's end unknown: the digest no longer holds.
            let digest = if r.is_ok() { digest } else { None };
            (file, digest, r)
        }));
        Ok(())
    }

    async fn wait(&mut self) -> std::io::Result<()> {
        if let Some(h) = self.writing.take() {
            let (file, digest, r) = h.await.map_err(std::io::Error::other)?;
            self.file = Some(file);
            self.digest = digest;
            r?;
        }
        Ok(())
    }

    /// Writes what is gathered and waits until every byte is in the file; gives back the
    /// digest of the file's bytes (`None` if none was kept).
    pub async fn finish(mut self) -> std::io::Result<Option<Sha256>> {
        if !self.batch.is_empty() {
            self.send().await?;
        }
        self.wait().await?;
        Ok(self.digest)
    }

    /// Drops what is gathered and waits for the write in flight (the caller then truncates).
    pub async fn abandon(mut self) -> std::io::Result<()> {
        self.batch.clear();
        self.wait().await
    }
}
