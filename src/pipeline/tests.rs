//! The in-memory core against the file jobs: the same encodings, rejects and errors.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;
use crate::compat::clkhash;
use crate::io::{
    ClkData, ClkReader, CsvInput, InputErrorKind, RecordRows, RejectRow, RejectWriter,
};
use crate::keys::Secret;

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn pprl(schema: &str) -> (Schema, Encoder) {
    let schema = Schema::from_path(repo(schema)).unwrap();
    let secret = Secret::from_file(repo("testdata/golden/secret.key")).unwrap();
    let encoder = Encoder::new(&schema, &secret).unwrap();
    (schema, encoder)
}

fn clkhash_encoder(name: &str) -> clkhash::Encoder {
    let schema =
        clkhash::Schema::from_path(repo(&format!("testdata/clkhash/{name}.schema.json"))).unwrap();
    let secret = Secret::from_file_any_length(repo("testdata/clkhash/secret.bin")).unwrap();
    clkhash::Encoder::new(&schema, &secret).unwrap()
}

/// Runs the `.clk` file job; returns what it wrote, read back, and its rejects report.
fn file_job(encoder: JobEncoder<'_>, input: &Path, threads: usize) -> (ClkData, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = EncodeOptions::new(input.display().to_string(), dir.path().join("out.clk"));
    opts.threads = Some(threads);
    opts.rejects = Some(dir.path().join("rejects.csv"));
    encode_any(encoder, OutputFormat::Clk, &opts, &mut |_, _| {}).unwrap();
    let data = ClkReader::open(&opts.output).unwrap().read_all().unwrap();
    let rejects = std::fs::read_to_string(dir.path().join("rejects.csv")).unwrap();
    (data, rejects)
}

fn rejects_csv(rejects: &[RejectRow]) -> String {
    let mut w = RejectWriter::new(Vec::new()).unwrap();
    rejects.iter().for_each(|r| w.write(r).unwrap());
    String::from_utf8(w.finish().unwrap()).unwrap()
}

/// The rejects report of a batch: its rejected rows and invalid fields, in input order.
fn report_csv(batch: &EncodedBatch) -> String {
    let mut lines: Vec<RejectRow> = batch.rejects.clone();
    lines.extend(batch.invalid_fields.iter().cloned());
    lines.sort_by_key(|r| r.row);
    rejects_csv(&lines)
}

fn assert_same(a: &ClkData, b: &ClkData) {
    assert_eq!(a.header, b.header);
    assert_eq!(a.ids, b.ids);
    assert_eq!(a.words, b.words);
    assert_eq!(a.blocks, b.blocks);
}

/// The records of a CSV file, parsed independently, with its header.
fn records(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

fn opts(threads: usize, chunk_rows: usize) -> BatchOptions {
    BatchOptions {
        threads: Some(threads),
        chunk_rows,
    }
}

#[test]
fn in_memory_equals_the_file_job_for_pprl_schemas() {
    let input = repo("testdata/golden/records.csv");
    for schema in [
        "examples/person.toml",
        "examples/person_blocking.toml",
        "testdata/golden/field.toml",
        "testdata/golden/rbf.toml",
    ] {
        let (schema, encoder) = pprl(schema);
        let job = JobEncoder::Pprl(&schema, &encoder);
        let (file, file_rejects) = file_job(job, &input, 2);

        // CSV through a reader: the same rows with the same lines.
        let mut csv = CsvInput::from_path(&input, b',').unwrap();
        let batch = encode_source(job, &mut csv, &opts(3, 5)).unwrap();
        assert_same(&batch.data, &file);
        assert_eq!(report_csv(&batch), file_rejects);
        assert!(
            !batch.rejects.is_empty() || !batch.invalid_fields.is_empty(),
            "the golden records have rejects"
        );
        assert_eq!(
            batch.counts.rows_read,
            batch.rows.len() as u64 + batch.rejects.len() as u64
        );

        // Records in memory: the same encodings; the rejects lack only the line.
        let (header, rows) = records(&input);
        let mem = encode_records(job, &header, &rows, &opts(1, 4096)).unwrap();
        assert_same(&mem.data, &file);
        let mut lined = mem.rejects.clone();
        for (r, f) in lined.iter_mut().zip(&batch.rejects) {
            assert_eq!(r.line, None);
            r.line = f.line;
        }
        assert_eq!(lined, batch.rejects);
        assert_eq!(mem.rows, batch.rows);
        assert_eq!(mem.invalid_fields.len(), batch.invalid_fields.len());

        // Columns: the same again.
        let columns: Vec<Vec<&str>> = (0..header.len())
            .map(|c| rows.iter().map(|r| r[c].as_str()).collect())
            .collect();
        let named: Vec<(&str, &[&str])> = header
            .iter()
            .zip(&columns)
            .map(|(h, c)| (h.as_str(), c.as_slice()))
            .collect();
        let cols = encode_columns(job, &named, &opts(2, 3)).unwrap();
        assert_same(&cols.data, &file);
        assert_eq!(cols.rejects, mem.rejects);
    }
}

#[test]
fn in_memory_equals_the_file_job_for_clkhash_schemas() {
    for name in ["v1_basic", "v3_full", "v3_folds_sha512"] {
        let encoder = clkhash_encoder(name);
        let job = JobEncoder::Clkhash(&encoder);
        let input = repo(&format!("testdata/clkhash/{name}.csv"));
        let (file, file_rejects) = file_job(job, &input, 2);
        let (header, rows) = records(&input);
        let mem = encode_records(job, &header, &rows, &opts(3, 2)).unwrap();
        assert_same(&mem.data, &file);
        let mut csv = CsvInput::from_path(&input, b',').unwrap();
        let batch = encode_source(job, &mut csv, &opts(1, 100)).unwrap();
        assert_eq!(rejects_csv(&batch.rejects), file_rejects);
        assert_eq!(
            mem.data.ids[0], "0",
            "clkhash records are identified by position"
        );
    }
}

#[test]
fn clkhash_encodings_that_do_not_fill_words_are_refused_in_memory_too() {
    let encoder = clkhash_encoder("v3_odd_length");
    let err = encode_records(
        JobEncoder::Clkhash(&encoder),
        encoder.features(),
        Vec::<Vec<&str>>::new(),
        &BatchOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), EncodeErrorKind::FilterBits);
    assert!(matches!(err, EncodeError::FilterBits { bits: 1000, .. }));
}

#[test]
fn duplicate_ids_are_refused_in_memory_as_in_files() {
    let (schema, encoder) = pprl("examples/person.toml");
    let job = JobEncoder::Pprl(&schema, &encoder);
    let input = repo("testdata/bad/duplicate_id.csv");
    let dir = tempfile::tempdir().unwrap();
    let file_opts = EncodeOptions::new(input.display().to_string(), dir.path().join("o.clk"));
    let file_err = encode_csv(&schema, &encoder, &file_opts, &mut |_, _| {}).unwrap_err();
    let (header, rows) = records(&input);
    let mem_err = encode_records(job, &header, &rows, &opts(2, 1)).unwrap_err();
    assert_eq!(mem_err.kind(), EncodeErrorKind::DuplicateId);
    assert_eq!(file_err.kind(), EncodeErrorKind::DuplicateId);
    assert_eq!(mem_err.position(), file_err.position());
    assert_eq!(mem_err.to_string(), file_err.to_string());
}

#[test]
fn chunks_concatenated_are_the_batch() {
    let (schema, encoder) = pprl("examples/person_blocking.toml");
    let job = JobEncoder::Pprl(&schema, &encoder);
    let (header, rows) = records(&repo("testdata/golden/records.csv"));
    let whole = encode_records(job, &header, &rows, &opts(2, 4096)).unwrap();
    let mut chunks = ChunkEncoder::new(job, &header, &opts(2, 1)).unwrap();
    let mut all = EncodedRows::default();
    for part in rows.chunks(3) {
        chunks.encode_into(part, &mut all).unwrap();
    }
    assert_eq!(all.ids, whole.data.ids);
    assert_eq!(all.words, whole.data.words);
    assert_eq!(all.blocks, whole.data.blocks);
    assert_eq!(all.rows, whole.rows);
    assert_eq!(all.rejects, whole.rejects);
    assert_eq!(chunks.params().block_keys, whole.data.header.block_keys);
    assert_eq!(chunks.threads(), 2);
}

#[test]
fn problems_have_kinds_and_positions() {
    let (schema, encoder) = pprl("examples/person.toml");
    let job = JobEncoder::Pprl(&schema, &encoder);
    let err = encode_records(job, &["record_id"], [["1"]], &BatchOptions::default()).unwrap_err();
    assert_eq!(err.kind(), EncodeErrorKind::Input);
    match &err {
        EncodeError::Input(e) => assert_eq!(e.kind(), InputErrorKind::MissingColumn),
        other => panic!("{other:?}"),
    }
    assert_eq!(err.position().field.as_deref(), Some("given_name"));

    let (header, mut rows) = records(&repo("testdata/golden/records.csv"));
    rows[2].pop();
    let err = encode_records(job, &header, &rows, &BatchOptions::default()).unwrap_err();
    assert_eq!(err.position().row, Some(3));
    assert_eq!(err.position().line, None);

    let err = encode_records(job, &header, &rows, &opts(1, 0)).unwrap_err();
    assert_eq!(err.kind(), EncodeErrorKind::ChunkRows);

    let dir = tempfile::tempdir().unwrap();
    let same = dir.path().join("x.csv");
    std::fs::write(&same, "a\n").unwrap();
    let o = EncodeOptions::new(same.display().to_string(), &same);
    let err = encode_csv(&schema, &encoder, &o, &mut |_, _| {}).unwrap_err();
    assert_eq!(err.kind(), EncodeErrorKind::OverwritesInput);
}

#[test]
fn positional_jobs_with_rejects_fail_with_the_first_row() {
    let (schema, encoder) = pprl("examples/person.toml");
    let dir = tempfile::tempdir().unwrap();
    let input = repo("testdata/golden/records.csv");
    let o = EncodeOptions::new(input.display().to_string(), dir.path().join("o.json"));
    let job = JobEncoder::Pprl(&schema, &encoder);
    let err = encode_any(job, OutputFormat::ClkhashJson, &o, &mut |_, _| {}).unwrap_err();
    assert_eq!(err.kind(), EncodeErrorKind::RowsRejected);
    let (header, rows) = records(&input);
    let mem = encode_records(job, &header, &rows, &BatchOptions::default()).unwrap();
    assert_eq!(err.position().row, Some(mem.rejects[0].row));
}

#[test]
fn summaries_serialise_with_seconds_and_strings() {
    let (schema, encoder) = pprl("examples/person.toml");
    let dir = tempfile::tempdir().unwrap();
    let input = repo("testdata/sample/dept_a.csv");
    let o = EncodeOptions::new(input.display().to_string(), dir.path().join("a.clk"));
    let summary = encode_csv(&schema, &encoder, &o, &mut |_, _| {}).unwrap();
    let json = serde_json::to_value(JobSummary::Clk(summary.clone())).unwrap();
    assert_eq!(json["kind"], "clk");
    assert_eq!(json["counts"]["rows_encoded"], 500);
    assert!(json["elapsed"].is_f64());
    assert_eq!(json["output"], o.output.display().to_string());
    assert_eq!(json["rejects"], serde_json::Value::Null);
    assert_eq!(
        json["clk"]["schema_fingerprint"],
        summary.clk.header.schema_fingerprint.to_hex()
    );
    assert_eq!(json["clk"]["record_count"], 500);

    let o = EncodeOptions::new(input.display().to_string(), dir.path().join("a.bin"));
    let job = JobEncoder::Pprl(&schema, &encoder);
    let s = encode_any(job, OutputFormat::AnonlinkBinary, &o, &mut |_, _| {}).unwrap();
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["kind"], "positional");
    assert_eq!(json["format"], "anonlink-binary");
    assert_eq!(json["rows"], 500);
}

#[test]
fn streamed_row_numbers_continue_across_chunks() {
    let mut rows = RecordRows::new(&["a"], [["x"], ["y"]]).starting_at(5);
    let mut buf = Vec::new();
    use crate::io::RowSource as _;
    rows.read_chunk(&mut buf, 10).unwrap();
    assert_eq!(buf.iter().map(|r| r.row).collect::<Vec<_>>(), [5, 6]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Any rows, any thread count and chunk size: the same encodings and rejects.
    #[test]
    fn in_memory_results_do_not_depend_on_threads_or_chunks(
        rows in proptest::collection::vec(
            ("[A-Z]{0,2}[0-9]{0,2}", "\\PC{0,8}", "[A-Za-z' -]{0,10}", "(0[1-9]|1[0-9])/0[1-9]/19[0-9]{2}|x{0,2}"),
            0..40,
        ),
        threads in 1usize..4,
        chunk in 1usize..20,
    ) {
        let (schema, encoder) = pprl("examples/person_blocking.toml");
        let job = JobEncoder::Pprl(&schema, &encoder);
        let header = ["record_id", "given_name", "surname", "date_of_birth", "sex", "postcode", "address"];
        let records: Vec<[&str; 7]> = rows
            .iter()
            .map(|(id, g, s, d)| [id.as_str(), g.as_str(), s.as_str(), d.as_str(), "F", "LS1 1AA", "1 High St"])
            .collect();
        let reference = encode_records(job, &header, &records, &opts(1, 4096));
        let other = encode_records(job, &header, &records, &opts(threads, chunk));
        match (reference, other) {
            (Ok(a), Ok(b)) => {
                assert_same(&a.data, &b.data);
                prop_assert_eq!(a.rejects, b.rejects);
                prop_assert_eq!(a.counts, b.counts);
            }
            (Err(a), Err(b)) => {
                prop_assert_eq!(a.kind(), EncodeErrorKind::DuplicateId);
                prop_assert_eq!(a.to_string(), b.to_string());
            }
            (a, b) => prop_assert!(false, "{:?} vs {:?}", a.err(), b.err()),
        }
    }
}

#[test]
fn kind_codes_are_unique_and_prefixed() {
    let mut codes: Vec<&str> = EncodeErrorKind::ALL.iter().map(|k| k.code()).collect();
    assert!(codes.iter().all(|c| c.starts_with("encode-")));
    let input: Vec<&str> = InputErrorKind::ALL.iter().map(|k| k.code()).collect();
    assert!(input.iter().all(|c| c.starts_with("input-")));
    codes.extend(input);
    let n = codes.len();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), n);
}
