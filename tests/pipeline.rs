//! The encoding job through the library: determinism and row accounting on generated data.

use std::fmt::Write as _;

use pprl::encode::Encoder;
use pprl::io::ClkReader;
use pprl::keys::Secret;
use pprl::pipeline::{
    BatchOptions, ChunkEncoder, EncodeErrorKind, EncodeOptions, JobEncoder, encode_csv,
    encode_records,
};
use pprl::schema::Schema;
use proptest::prelude::*;

use crate::util::{person_schema, root, testdata};

fn csv_text(rows: &[(String, String, String, String)]) -> String {
    let mut text =
        String::from("record_id,given_name,surname,date_of_birth,sex,postcode,address\n");
    for (i, (given, surname, dob, postcode)) in rows.iter().enumerate() {
        let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        writeln!(
            text,
            "R{i},{},{},{},F,{},{}",
            quote(given),
            quote(surname),
            quote(dob),
            quote(postcode),
            quote("1 High Street")
        )
        .unwrap();
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Same input, schema and secret: the same bytes for any thread count and chunk size, and
    /// every row accounted for.
    #[test]
    fn output_is_independent_of_threads_and_chunks(
        rows in proptest::collection::vec(
            ("\\PC{0,10}", "[A-Za-z' -]{0,12}", "(0[1-9]|1[0-9])/0[1-9]/19[0-9]{2}|x{0,2}", "[A-Z0-9 ]{0,8}"),
            0..60,
        ),
        threads in 1usize..4,
        chunk in 1usize..50,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.csv");
        std::fs::write(&input, csv_text(&rows)).unwrap();
        let schema = Schema::from_path(person_schema()).unwrap();
        let encoder = Encoder::new(&schema, &Secret::from_bytes(vec![9; 32], "t").unwrap()).unwrap();
        let run = |threads: usize, chunk: usize, name: &str| {
            let mut opts = EncodeOptions::new(input.display().to_string(), dir.path().join(name));
            opts.threads = Some(threads);
            opts.chunk_rows = chunk;
            opts.rejects = Some(dir.path().join(format!("{name}.rejects.csv")));
            let summary = encode_csv(&schema, &encoder, &opts, &mut |_, _| {}).unwrap();
            let c = summary.counts;
            assert_eq!(c.rows_read, rows.len() as u64);
            assert_eq!(c.rows_read, c.rows_encoded + c.rows_rejected);
            (
                std::fs::read(dir.path().join(name)).unwrap(),
                std::fs::read(dir.path().join(format!("{name}.rejects.csv"))).unwrap(),
            )
        };
        let reference = run(1, 4096, "ref.clk");
        prop_assert_eq!(run(threads, chunk, "other.clk"), reference);
    }
}

#[test]
fn every_example_schema_validates_and_encodes_the_sample() {
    let mut checked = 0;
    for entry in std::fs::read_dir(root().join("examples")).unwrap() {
        let path = entry.unwrap().path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ext != "toml" && ext != "json" {
            continue;
        }
        let schema = Schema::from_path(&path).unwrap();
        if schema.id_column != "record_id" {
            continue; // examples/febrl.toml reads FEBRL's columns (cli/tests/schema_quality.rs)
        }
        let encoder =
            Encoder::new(&schema, &Secret::from_bytes(vec![3; 32], "t").unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let opts = EncodeOptions::new(
            testdata("sample/dept_a.csv").display().to_string(),
            dir.path().join("a.clk"),
        );
        let summary = encode_csv(&schema, &encoder, &opts, &mut |_, _| {}).unwrap();
        assert_eq!(summary.counts.rows_encoded, 500, "{}", path.display());
        checked += 1;
    }
    assert!(checked >= 3, "{checked} example schemas");
}

/// Records in memory, through the public API: the encodings the file job writes, in chunks or
/// all at once, and repeated ids refused.
#[test]
fn records_in_memory_encode_as_the_file_does() {
    let schema = Schema::from_path(person_schema()).unwrap();
    let encoder = Encoder::new(&schema, &Secret::from_bytes(vec![5; 32], "t").unwrap()).unwrap();
    let job = JobEncoder::Pprl(&schema, &encoder);
    let rows = vec![
        (
            "Ann".to_string(),
            "Lee".to_string(),
            "01/02/1990".to_string(),
            "LS1 1AA".to_string(),
        ),
        (
            "Tom".into(),
            "Baker".into(),
            "not a date".into(),
            "CF1 1AA".into(),
        ),
        (
            "Zoë".into(),
            "Ångström".into(),
            "03/11/1987".into(),
            "SW1A 1AA".into(),
        ),
    ];
    let text = csv_text(&rows);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(&input, &text).unwrap();
    let opts = EncodeOptions::new(input.display().to_string(), dir.path().join("o.clk"));
    encode_csv(&schema, &encoder, &opts, &mut |_, _| {}).unwrap();
    let file = ClkReader::open(&opts.output).unwrap().read_all().unwrap();

    let mut lines = text.lines().map(|l| {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(l.as_bytes())
            .records()
            .next()
            .unwrap()
            .unwrap()
            .iter()
            .map(str::to_string)
            .collect::<Vec<_>>()
    });
    let header = lines.next().unwrap();
    let records: Vec<Vec<String>> = lines.collect();
    let batch = encode_records(job, &header, &records, &BatchOptions::default()).unwrap();
    assert_eq!(batch.data.header, file.header);
    assert_eq!(batch.data.ids, file.ids);
    assert_eq!(batch.data.words, file.words);
    // "not a date" is encoded as missing (the default `on_invalid`) and reported.
    assert_eq!(batch.counts.rows_rejected, 0);
    assert_eq!(batch.invalid_fields.len(), 1);
    assert_eq!(batch.invalid_fields[0].record_id, "R1");
    assert_eq!(batch.invalid_fields[0].field, "date_of_birth");
    assert_eq!(
        batch.invalid_fields[0].action,
        pprl::io::RejectAction::FieldMissing
    );

    let mut chunks = ChunkEncoder::new(job, &header, &BatchOptions::default()).unwrap();
    let first = chunks.encode(&records[..2]).unwrap();
    let second = chunks.encode(&records[2..]).unwrap();
    assert_eq!([first.ids, second.ids].concat(), file.ids);
    assert_eq!(second.rows, [3]);

    let twice = [records[0].clone(), records[0].clone()];
    let err = encode_records(job, &header, &twice, &BatchOptions::default()).unwrap_err();
    assert_eq!(err.kind(), EncodeErrorKind::DuplicateId);
}
