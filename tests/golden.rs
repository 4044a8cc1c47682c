//! Golden vectors: a fixed secret, schema and records must give exactly the committed bits.
//!
//! Any change to normalisation, tokenizing, key derivation, hashing, layout or the file format
//! fails here loudly. If a change is deliberate (it breaks compatibility with every encoding
//! made before it, so it also needs a new `FORMAT_VERSION`), regenerate with
//! `PPRL_BLESS=1 cargo test golden` and review the diff.

use std::fmt::Write as _;

use pprl::encode::Encoder;
use pprl::io::{ClkReader, CsvInput, RejectWriter};
use pprl::keys::Secret;
use pprl::pipeline::{BatchOptions, EncodeOptions, JobEncoder, encode_csv, encode_source};
use pprl::schema::Schema;
use sha2::{Digest, Sha256};

use crate::util::{root, testdata};

fn check(schema_path: &str, name: &str) {
    let schema = Schema::from_path(root().join(schema_path)).unwrap();
    let secret = Secret::from_file(testdata("golden/secret.key")).unwrap();
    let encoder = Encoder::new(&schema, &secret).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(format!("{name}.clk"));
    let mut opts = EncodeOptions::new(testdata("golden/records.csv").display().to_string(), &out);
    opts.threads = Some(1);
    let summary = encode_csv(&schema, &encoder, &opts, &mut |_, _| {}).unwrap();

    let data = ClkReader::open(&out).unwrap().read_all().unwrap();
    let mut actual = String::from("record_id,bits_hex\n");
    for (i, id) in data.ids.iter().enumerate() {
        let hex: String = data.record(i).iter().map(|w| format!("{w:016x}")).collect();
        writeln!(actual, "{id},{hex}").unwrap();
    }
    // The field layout's missing-field masks (bit f: field f had no token).
    for (id, mask) in data.ids.iter().zip(&data.missing) {
        writeln!(actual, "# missing {id} {mask:#x}").unwrap();
    }
    writeln!(
        actual,
        "# file sha256 {}",
        hex::encode(Sha256::digest(std::fs::read(&out).unwrap()))
    )
    .unwrap();
    let rejects = std::fs::read_to_string(summary.rejects.as_ref().unwrap()).unwrap();
    for line in rejects.lines().skip(1) {
        writeln!(actual, "# reject {line}").unwrap();
    }

    // The in-memory encoder gives the same records and rejects, without a file.
    let mut input = CsvInput::from_path(testdata("golden/records.csv"), b',').unwrap();
    let opts = BatchOptions {
        threads: Some(2),
        chunk_rows: 3,
    };
    let batch = encode_source(JobEncoder::Pprl(&schema, &encoder), &mut input, &opts).unwrap();
    assert_eq!(batch.data.header, data.header);
    assert_eq!(
        (
            &batch.data.ids,
            &batch.data.words,
            &batch.data.blocks,
            &batch.data.missing
        ),
        (&data.ids, &data.words, &data.blocks, &data.missing)
    );
    let mut memory_rejects = RejectWriter::new(Vec::new()).unwrap();
    let mut lines: Vec<_> = batch.rejects.iter().chain(&batch.invalid_fields).collect();
    lines.sort_by_key(|r| r.row);
    for r in lines {
        memory_rejects.write(r).unwrap();
    }
    assert_eq!(memory_rejects.finish().unwrap(), rejects.as_bytes());

    let expected_path = testdata(&format!("golden/{name}.expected.csv"));
    if std::env::var_os("PPRL_BLESS").is_some() {
        std::fs::write(&expected_path, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(&expected_path)
        .unwrap_or_else(|_| panic!("missing {}; run with PPRL_BLESS=1", expected_path.display()));
    assert_eq!(actual, expected, "golden vectors for {name} changed");
}

#[test]
fn person_clk_hmac_sha256() {
    check("testdata/golden/person.toml", "person");
}

#[test]
fn person_clk_blake3() {
    check("testdata/golden/blake3.toml", "blake3");
}

#[test]
fn field_level_filters() {
    check("testdata/golden/field.toml", "field");
}

#[test]
fn record_level_bloom_filter() {
    check("testdata/golden/rbf.toml", "rbf");
}
