//! Fuzzing on stable Rust: every reader of untrusted bytes, fed arbitrary bytes and mutations
//! of valid seeds, must return `Ok` or an error, never panic, never stall, and never allocate
//! in proportion to what a header claims rather than to the input's size.
//!
//! Targets: the CSV row reader, the pprl schema parsers (TOML and JSON), the clkhash schema
//! parser (v1 to v3), the `.clk` reader, the clkhash JSON reader and the anonlink binary
//! reader. Each runs `PPRL_FUZZ_CASES` inputs (default [`DEFAULT_CASES`], a few seconds in all
//! under `cargo test`); docs/testing.md gives the long run's command and figures.
//!
//! Inputs are drawn by proptest: half arbitrary bytes, half a valid seed (shipped test data,
//! or files written by pprl's own writers) under a list of byte-level edits (flip, overwrite
//! with a boundary value, insert, delete, duplicate a slice, truncate). `.clk` seeds are also
//! resealed after editing (trailer and schema fingerprint recomputed), so that edits reach the
//! checks behind the checksum. A counting allocator records the largest single allocation of
//! each case; a case fails if it exceeds [`alloc_limit`] for its input size, or takes longer
//! than [`SLOW`].

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use pprl::compat::clkhash;
use pprl::io::formats::anonlink_binary::{self, BinaryWriter};
use pprl::io::formats::clkhash_json::{self, JsonWriter};
use pprl::io::{ClkReader, ClkWriter, CsvInput, InputRow, clk::ClkParams};
use pprl::keys::KeyFingerprint;
use pprl::schema::Schema;

/// Inputs per target when `PPRL_FUZZ_CASES` is not set.
const DEFAULT_CASES: u32 = 300;
/// Longest input drawn, in bytes.
const MAX_INPUT: usize = 1 << 16;
/// A case slower than this fails: a reader that stalls on some input.
const SLOW: Duration = Duration::from_secs(5);

/// Counts the largest single allocation since the last reset.
struct Counting;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// One target at a time, so that the allocation count belongs to the case being run.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The largest single allocation a reader may make for an input of `len` bytes: its fixed
/// buffers (the CSV reader's 64 KiB, a JSON parser's scratch) plus a small multiple of the
/// input, never what a header claims.
fn alloc_limit(len: usize) -> usize {
    (4 << 20) + 16 * len
}

fn cases() -> u32 {
    std::env::var("PPRL_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(repo(rel)).unwrap()
}

/// A byte-level edit of a seed.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Duplicate(usize, usize, usize),
    Truncate(usize),
}

/// Bytes that sit on parser boundaries: delimiters, quotes, brackets, digits, NUL, high bytes.
fn boundary_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => any::<u8>(),
        1 => prop::sample::select(
            b",;\t\"'\r\n{}[]:=#0123456789-.eE+\\\x00\x1b\x7f\x80\xbf\xc3\xef\xff".to_vec()
        ),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    let at = any::<usize>();
    prop_oneof![
        3 => (at, 1u8..).prop_map(|(i, m)| Edit::Flip(i, m)),
        3 => (at, boundary_byte()).prop_map(|(i, b)| Edit::Set(i, b)),
        2 => (at, prop::collection::vec(boundary_byte(), 1..16))
            .prop_map(|(i, b)| Edit::Insert(i, b)),
        2 => (at, 1usize..64).prop_map(|(i, n)| Edit::Delete(i, n)),
        1 => (at, 1usize..256, at).prop_map(|(i, n, j)| Edit::Duplicate(i, n, j)),
        1 => at.prop_map(Edit::Truncate),
    ]
}

fn apply(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for e in edits {
        let len = b.len();
        let pos = |i: usize| if len == 0 { 0 } else { i % len };
        match e {
            Edit::Flip(i, m) if len > 0 => b[pos(*i)] ^= m,
            Edit::Set(i, v) if len > 0 => b[pos(*i)] = *v,
            Edit::Insert(i, bytes) => {
                let at = if len == 0 { 0 } else { i % (len + 1) };
                b.splice(at..at, bytes.iter().copied());
            }
            Edit::Delete(i, n) if len > 0 => {
                let at = pos(*i);
                b.drain(at..(at + n).min(len));
            }
            Edit::Duplicate(i, n, j) if len > 0 => {
                let at = pos(*i);
                let slice = b[at..(at + n).min(len)].to_vec();
                let to = j % (len + 1);
                b.splice(to..to, slice);
            }
            Edit::Truncate(i) => b.truncate(if len == 0 { 0 } else { i % len }),
            _ => {}
        }
        b.truncate(MAX_INPUT);
    }
    b
}

/// Inputs for a target: arbitrary bytes, or a seed under edits (`fix` then repairs the
/// edited seed's checksums, when given, for half of them).
fn inputs(seeds: Vec<Vec<u8>>, fix: Option<fn(&mut [u8])>) -> impl Strategy<Value = Vec<u8>> {
    let n = seeds.len();
    let mutated = (0..n, prop::collection::vec(edit(), 0..8), any::<bool>()).prop_map(
        move |(i, edits, repair)| {
            let mut b = apply(&seeds[i], &edits);
            if let (Some(f), true) = (fix, repair) {
                f(&mut b);
            }
            b
        },
    );
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..512),
        3 => mutated,
    ]
}

/// Runs `check` on `cases()` inputs from `strategy`; returns the count and the time taken.
fn fuzz(
    name: &str,
    strategy: impl Strategy<Value = Vec<u8>>,
    check: impl Fn(&[u8]),
) -> (u32, Duration) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let n = cases();
    let mut runner = TestRunner::new(Config {
        cases: n,
        failure_persistence: None,
        max_shrink_iters: 2000,
        ..Config::default()
    });
    let start = Instant::now();
    let result = runner.run(&strategy, |input| {
        LARGEST.store(0, Ordering::Relaxed);
        let t = Instant::now();
        check(&input);
        let took = t.elapsed();
        let largest = LARGEST.load(Ordering::Relaxed);
        if took > SLOW {
            return Err(TestCaseError::fail(format!(
                "{name}: one input took {took:?}"
            )));
        }
        if largest > alloc_limit(input.len()) {
            return Err(TestCaseError::fail(format!(
                "{name}: an allocation of {largest} bytes for an input of {} bytes",
                input.len()
            )));
        }
        Ok(())
    });
    let elapsed = start.elapsed();
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    eprintln!("fuzz {name}: {n} inputs in {:.1} s", elapsed.as_secs_f64());
    (n, elapsed)
}

/// Error messages never carry control characters (escape sequences from the input).
fn clean(message: &str) -> Result<(), String> {
    if message.chars().any(|c| c.is_control() && c != '\n') {
        return Err(format!("a control character in {message:?}"));
    }
    Ok(())
}

#[test]
fn csv_row_reader() {
    let sample = String::from_utf8(read("testdata/sample/dept_a.csv")).unwrap();
    let head: String = sample.lines().take(25).map(|l| format!("{l}\n")).collect();
    let mut seeds = vec![head.into_bytes(), read("testdata/golden/records.csv")];
    for bad in [
        "duplicate_id",
        "empty",
        "invalid_utf8",
        "missing_column",
        "unequal_lengths",
        "unterminated_quote",
    ] {
        seeds.push(read(&format!("testdata/bad/{bad}.csv")));
    }
    seeds.push(read("testdata/clkhash/v3_full.csv"));
    fuzz("csv rows", inputs(seeds, None), |bytes| {
        let delimiter = [b',', b';', b'\t'][bytes.len() % 3];
        let mut input = match CsvInput::from_reader(Cursor::new(bytes.to_vec()), "f.csv", delimiter)
        {
            Ok(i) => i,
            Err(e) => return clean(&e.to_string()).unwrap(),
        };
        if let Err(e) =
            input.resolve_columns(&[("record_id", "id".into()), ("surname", "f".into())])
        {
            clean(&e.to_string()).unwrap();
        }
        let mut rows: Vec<InputRow> = Vec::new();
        loop {
            match input.read_chunk(&mut rows, 64) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => return clean(&e.to_string()).unwrap(),
            }
        }
    });
}

fn pprl_schema_seeds() -> Vec<Vec<u8>> {
    [
        "examples/person.toml",
        "examples/person_blocking.toml",
        "examples/person_rbf.toml",
        "testdata/golden/blake3.toml",
        "testdata/golden/field.toml",
        "testdata/golden/rbf.toml",
        "testdata/bad/schema_length.toml",
    ]
    .iter()
    .map(|p| read(p))
    .collect()
}

#[test]
fn pprl_toml_schema() {
    fuzz(
        "pprl TOML schema",
        inputs(pprl_schema_seeds(), None),
        |bytes| {
            if let Ok(text) = std::str::from_utf8(bytes) {
                let _ = Schema::from_toml_str(text);
            }
        },
    );
}

#[test]
fn pprl_json_schema() {
    // The TOML seeds as JSON (the same keys), and the example JSON schema.
    let mut seeds: Vec<Vec<u8>> = pprl_schema_seeds()
        .iter()
        .filter_map(|t| {
            let v: toml::Value = toml::from_str(std::str::from_utf8(t).ok()?).ok()?;
            serde_json::to_vec_pretty(&v).ok()
        })
        .collect();
    seeds.push(read("examples/name_dob_phonetic.json"));
    fuzz("pprl JSON schema", inputs(seeds, None), |bytes| {
        if let Ok(text) = std::str::from_utf8(bytes) {
            let _ = Schema::from_json_str(text);
        }
    });
}

#[test]
fn clkhash_schema() {
    let mut seeds: Vec<Vec<u8>> = [
        "v1_basic",
        "v2_basic",
        "v3_folds_sha512",
        "v3_full",
        "v3_odd_length",
    ]
    .iter()
    .map(|n| read(&format!("testdata/clkhash/{n}.schema.json")))
    .collect();
    seeds.push(read("examples/name_dob_phonetic.json"));
    fuzz("clkhash schema v1-v3", inputs(seeds, None), |bytes| {
        if let Ok(text) = std::str::from_utf8(bytes) {
            let _ = clkhash::Schema::from_json_str(text);
        }
    });
}

/// `.clk` files written by pprl's writer: three layouts, one with block ids (version 2).
fn clk_seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for (schema, blocks) in [
        ("examples/person.toml", 0u16),
        ("testdata/golden/field.toml", 0),
        ("examples/person_rbf.toml", 0),
        ("examples/person_blocking.toml", 1),
    ] {
        let schema = Schema::from_path(repo(schema)).unwrap();
        let json = schema.canonical_json();
        let params = ClkParams {
            schema_fingerprint: schema.fingerprint(),
            key_fingerprint: KeyFingerprint([7; 32]),
            layout: schema.filter.layout,
            hashing: schema.filter.hashing,
            filter_bits: schema.filter.length_bits,
            filters_per_record: schema.filters_per_record() as u16,
            block_keys: if blocks > 0 {
                schema.blocking.len() as u16
            } else {
                0
            },
            // Field-layout files carry missing-field masks (version 3).
            missing_masks: schema.filter.layout == pprl::schema::Layout::Field,
            schema_json: json,
        };
        let words = params.words_per_record();
        let keys = params.trailer_words();
        let mut w = ClkWriter::new("seed", params).unwrap();
        for i in 0..3u64 {
            let filter: Vec<u64> = (0..words as u64)
                .map(|j| ((i + 1) * 0x9e37_79b9) ^ j)
                .collect();
            let ids: Vec<u64> = (0..keys as u64).map(|k| i * 31 + k).collect();
            w.write_record(i + 1, &format!("r{i}"), &filter, &ids)
                .unwrap();
        }
        seeds.push(w.finish_to(Vec::new()).unwrap().0);
    }
    seeds
}

/// Recomputes an edited `.clk` file's schema fingerprint (from its schema section, where its
/// length field allows) and its SHA-256 trailer, so the edit meets the checks behind them.
fn reseal(b: &mut [u8]) {
    use sha2::{Digest, Sha256};
    if b.len() < 108 + 32 {
        return;
    }
    let json_len = u32::from_le_bytes(b[104..108].try_into().unwrap()) as usize;
    if 108 + json_len <= b.len() - 32 {
        let fp = Sha256::digest(&b[108..108 + json_len]);
        b[16..48].copy_from_slice(&fp);
    }
    let body = b.len() - 32;
    let digest = Sha256::digest(&b[..body]);
    b[body..].copy_from_slice(&digest);
}

#[test]
fn clk_reader() {
    fuzz(
        "clk reader",
        inputs(clk_seeds(), Some(reseal)),
        |bytes| match ClkReader::from_reader(bytes, "f.clk").and_then(|r| r.read_all()) {
            Ok(data) => assert_eq!(data.ids.len() as u64, data.header.record_count),
            Err(e) => clean(&e.to_string()).unwrap(),
        },
    );
}

#[test]
fn clkhash_json_reader() {
    let mut seeds = Vec::new();
    for bits in [64u32, 1024, 1000] {
        let mut w = JsonWriter::new(Vec::new(), bits).unwrap();
        for i in 0..4u64 {
            let words: Vec<u64> = (0..bits.div_ceil(64) as u64)
                .map(|j| i ^ (j << 7))
                .collect();
            w.write(&words).unwrap();
        }
        seeds.push(w.finish().unwrap());
    }
    seeds.push(br#"{"clks": [], "meta": {"x": [1, 2.5, null, true]}}"#.to_vec());
    fuzz("clkhash JSON reader", inputs(seeds, None), |bytes| {
        if let Err(e) = clkhash_json::from_reader(bytes, "f.json") {
            clean(&e.to_string()).unwrap();
        }
    });
}

#[test]
fn anonlink_binary_reader() {
    let mut seeds = Vec::new();
    for bits in [64u32, 256, 1000] {
        let mut w = BinaryWriter::new(Vec::new(), bits);
        for i in 0..4u64 {
            let words: Vec<u64> = (0..bits.div_ceil(64) as u64).map(|j| !i ^ j).collect();
            w.write(&words).unwrap();
        }
        seeds.push(w.finish().unwrap());
    }
    fuzz("anonlink binary reader", inputs(seeds, None), |bytes| {
        if let Err(e) = anonlink_binary::from_reader(bytes, "f.bin") {
            clean(&e.to_string()).unwrap();
        }
    });
}
