//! The population written out: each party's export and the truth as CSV, generated in
//! parallel chunks whose bytes do not depend on the number of threads.

use std::io::{self, Write};
use std::path::Path;
use std::time::Instant;

use rayon::prelude::*;

use super::*;

impl Population {
    /// Writes party `party`'s export as CSV (header included) and returns the number of data
    /// rows. Generation runs on the current rayon pool; the bytes do not depend on its size.
    ///
    /// # Panics
    ///
    /// If `party` is not below the configured number of parties.
    pub fn write_party(&self, party: usize, out: &mut dyn Write) -> io::Result<u64> {
        assert!(party < self.config.parties, "no party {party}");
        writeln!(out, "{PARTY_HEADER}")?;
        self.write_chunked(out, self.config.records, |row, values, buf| {
            self.push_row(party, row, values, buf);
        })?;
        Ok(self.config.records)
    }

    /// Writes the truth in [`Population::truth_format`] and returns the number of data rows.
    pub fn write_truth(&self, out: &mut dyn Write) -> io::Result<u64> {
        match self.truth_format() {
            TruthFormat::Pairs => {
                writeln!(out, "a_id,b_id")?;
                self.write_chunked(out, self.config.records, |row, _, buf| {
                    let slot = self.rows[0].apply(row);
                    if slot < self.layout.shared {
                        // Two parties: shared slot j of one is shared slot j of the other.
                        let b_row = self.rows[1].invert(slot);
                        self.push_id(0, row, buf);
                        buf.push(b',');
                        self.push_id(1, b_row, buf);
                        buf.push(b'\n');
                    }
                })?;
                Ok(self.layout.shared)
            }
            TruthFormat::Entities => {
                writeln!(out, "entity_id,party,record_id")?;
                for party in 0..self.config.parties {
                    self.write_chunked(out, self.config.records, |row, _, buf| {
                        push_uint(buf, self.entity(party, row));
                        buf.push(b',');
                        push_uint(buf, party as u64);
                        buf.push(b',');
                        self.push_id(party, row, buf);
                        buf.push(b'\n');
                    })?;
                }
                Ok(self.config.records * self.config.parties as u64)
            }
        }
    }

    /// Writes every party's file and `truth.csv` into `dir` (created if needed) on `threads`
    /// threads (default: one per core). Files appear only once all of them are complete.
    pub fn write_dir(
        &self,
        dir: &Path,
        threads: Option<usize>,
    ) -> Result<SynthSummary, SynthError> {
        let start = Instant::now();
        let output = |path: &Path| {
            let path = path.display().to_string();
            move |source| SynthError::Output { path, source }
        };
        std::fs::create_dir_all(dir).map_err(output(dir))?;
        let threads = threads.unwrap_or_else(rayon::current_num_threads).max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| SynthError::Threads {
                threads,
                message: e.to_string(),
            })?;
        let mut files = Vec::new();
        let mut parties = Vec::new();
        for party in 0..self.config.parties {
            let path = dir.join(Population::party_file_name(party));
            let mut file = AtomicFile::create(&path).map_err(output(&path))?;
            let records = pool
                .install(|| self.write_party(party, &mut file))
                .map_err(output(&path))?;
            files.push(file);
            parties.push(PartyFile { path, records });
        }
        let truth = dir.join("truth.csv");
        let mut file = AtomicFile::create(&truth).map_err(output(&truth))?;
        let truth_rows = pool
            .install(|| self.write_truth(&mut file))
            .map_err(output(&truth))?;
        files.push(file);
        for file in files {
            let path = file.path().to_path_buf();
            file.commit().map_err(output(&path))?;
        }
        Ok(SynthSummary {
            parties,
            truth,
            truth_format: self.truth_format(),
            truth_rows,
            elapsed: start.elapsed(),
            threads,
        })
    }

    /// The distinct slot whose person fills `slot` of party `p` (itself, or for a duplicate
    /// the slot it copies).
    pub(super) fn distinct_slot(&self, p: u64, slot: u64) -> u64 {
        if slot < self.layout.distinct {
            slot
        } else {
            Rng::new(key(&[self.config.seed, DUPLICATE_STREAM, p, slot]))
                .below(self.layout.distinct)
        }
    }

    /// Generates rows `0..n` in chunks on the current pool, writing them in order.
    fn write_chunked(
        &self,
        out: &mut dyn Write,
        n: u64,
        row: impl Fn(u64, &mut Values, &mut Vec<u8>) + Sync,
    ) -> io::Result<()> {
        let chunks = n.div_ceil(CHUNK_ROWS);
        // A few chunks per thread in flight: enough to balance, little enough to keep memory
        // constant.
        let batch = 4 * rayon::current_num_threads() as u64;
        let mut first = 0;
        while first < chunks {
            let last = (first + batch).min(chunks);
            let buffers: Vec<Vec<u8>> = (first..last)
                .into_par_iter()
                .map_init(Values::default, |values, c| {
                    let mut buf = Vec::with_capacity(CHUNK_ROWS as usize * 80);
                    for r in c * CHUNK_ROWS..((c + 1) * CHUNK_ROWS).min(n) {
                        row(r, values, &mut buf);
                    }
                    buf
                })
                .collect();
            for buf in &buffers {
                out.write_all(buf)?;
            }
            first = last;
        }
        Ok(())
    }

    /// Appends row `row` of party `party` as a CSV line.
    fn push_row(&self, party: usize, row: u64, v: &mut Values, buf: &mut Vec<u8>) {
        let p = party as u64;
        let slot = self.rows[party].apply(row);
        let source = self.distinct_slot(p, slot);
        let mut person = Person::generate(self.config.seed, self.layout.entity(p, source));
        // The first party's distinct records are the truth; every other record is a copy
        // corrupted on its own.
        let clean = party == 0 && slot < self.layout.distinct;
        if clean {
            v.fill(&person, false);
        } else {
            let copy = key(&[self.config.seed, COPY_STREAM, p, slot]);
            let abbreviate = corrupt::apply_to_person(&mut person, &self.config.corruption, copy);
            v.fill(&person, abbreviate);
            corrupt::apply_to_values(v, &self.config.corruption, copy);
        }
        self.push_id(party, row, buf);
        for text in [&v.given_name, &v.surname] {
            buf.push(b',');
            push_field(buf, text);
        }
        buf.push(b',');
        if let Some(d) = v.date_of_birth {
            push_date(buf, d, party % 2 == 1);
        }
        buf.push(b',');
        buf.push(match v.sex {
            Some(Sex::Female) => b'F',
            Some(Sex::Male) => b'M',
            None => b'U',
        });
        for text in [&v.postcode, &v.address] {
            buf.push(b',');
            push_field(buf, text);
        }
        buf.push(b'\n');
    }

    pub(super) fn push_id(&self, party: usize, row: u64, buf: &mut Vec<u8>) {
        buf.push(party_letter(party) as u8);
        buf.push(b'-');
        let digits = (row + 1).checked_ilog10().unwrap_or(0) as usize + 1;
        buf.extend(std::iter::repeat_n(
            b'0',
            self.id_width.saturating_sub(digits),
        ));
        push_uint(buf, row + 1);
    }
}

pub(super) fn party_letter(party: usize) -> char {
    char::from(b'a' + party as u8)
}

fn push_uint(buf: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
}

fn push_two(buf: &mut Vec<u8>, n: u8) {
    buf.extend_from_slice(&[b'0' + n / 10, b'0' + n % 10]);
}

/// `dd/mm/yyyy`, or `yyyy-mm-dd` if `iso`: parties alternate, as departments' exports differ.
pub(super) fn push_date(buf: &mut Vec<u8>, d: Date, iso: bool) {
    let year = d.year.clamp(0, 9999) as u16;
    let (century, yy) = ((year / 100) as u8, (year % 100) as u8);
    if iso {
        push_two(buf, century);
        push_two(buf, yy);
        buf.push(b'-');
        push_two(buf, d.month);
        buf.push(b'-');
        push_two(buf, d.day);
    } else {
        push_two(buf, d.day);
        buf.push(b'/');
        push_two(buf, d.month);
        buf.push(b'/');
        push_two(buf, century);
        push_two(buf, yy);
    }
}

/// A CSV field, quoted if it holds a delimiter, quote or line break.
pub(super) fn push_field(buf: &mut Vec<u8>, text: &str) {
    if text
        .bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        buf.push(b'"');
        for b in text.bytes() {
            if b == b'"' {
                buf.push(b'"');
            }
            buf.push(b);
        }
        buf.push(b'"');
    } else {
        buf.extend_from_slice(text.as_bytes());
    }
}
