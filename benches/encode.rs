//! Encoding throughput: records per second for the example person schema (6 fields, about 55
//! tokens, 1024 bits), per hashing scheme, single-threaded, and for the whole CSV-to-file job
//! on 1 and 2 threads.
//!
//! The `clkhash` group times the clkhash-compatible encoder (`blakeHash`) on the same records.
//!
//! Run: `cargo bench --bench encode`. Figures and the machine they came from are recorded in
//! `docs/benchmarks.md`.

use std::hint::black_box;
use std::io::Write as _;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pprl::encode::{Encoder, Scratch};
use pprl::keys::Secret;
use pprl::pipeline::{EncodeOptions, encode_csv};
use pprl::schema::Schema;

const SCHEMA: &str = include_str!("../examples/person.toml");
const SAMPLE: &str = include_str!("../testdata/sample/dept_a.csv");

fn records() -> Vec<Vec<String>> {
    let mut rdr = csv::Reader::from_reader(SAMPLE.as_bytes());
    rdr.records()
        .map(|r| r.unwrap().iter().skip(1).map(str::to_string).collect())
        .collect()
}

fn encoder(schema: &str) -> Encoder {
    let schema = Schema::from_toml_str(schema).unwrap();
    Encoder::new(&schema, &Secret::from_bytes(vec![42; 32], "bench").unwrap()).unwrap()
}

fn per_record(c: &mut Criterion) {
    let records = records();
    let mut group = c.benchmark_group("encode_record");
    group.throughput(Throughput::Elements(records.len() as u64));
    for (name, schema) in [
        ("hmac-sha256", SCHEMA.to_string()),
        ("blake3", SCHEMA.replace("\"hmac-sha256\"", "\"blake3\"")),
    ] {
        let enc = encoder(&schema);
        let mut scratch = Scratch::default();
        let mut out = vec![0u64; enc.words_per_record()];
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut encoded = 0;
                for r in &records {
                    if enc
                        .encode_record(|i| r[i].as_str(), &mut scratch, &mut out)
                        .is_ok()
                    {
                        encoded += 1;
                    }
                    black_box(&out);
                }
                // Fast but wrong must fail: every sample row encodes.
                assert_eq!(encoded, records.len());
            })
        });
    }
    group.finish();
}

fn whole_job(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    let rows = 20_000usize;
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
        let mut lines = SAMPLE.lines();
        writeln!(f, "{}", lines.next().unwrap()).unwrap();
        let body: Vec<&str> = lines.collect();
        for i in 0..rows {
            let line = body[i % body.len()];
            let rest = &line[line.find(',').unwrap()..];
            writeln!(f, "R{i}{rest}").unwrap();
        }
    }
    let schema = Schema::from_toml_str(SCHEMA).unwrap();
    let enc = encoder(SCHEMA);
    let mut group = c.benchmark_group("encode_csv");
    group.sample_size(10);
    group.throughput(Throughput::Elements(rows as u64));
    for threads in [1, 2] {
        group.bench_function(format!("{threads}-threads"), |b| {
            b.iter(|| {
                let mut opts =
                    EncodeOptions::new(input.display().to_string(), dir.path().join("out.clk"));
                opts.threads = Some(threads);
                let s = encode_csv(&schema, &enc, &opts, &mut |_, _| {}).unwrap();
                assert_eq!(s.counts.rows_encoded, rows as u64);
            })
        });
    }
    group.finish();
}

/// clkhash compatibility (`blakeHash`, 1024 bits): the schema and data of the side-by-side
/// comparison with clkhash (`benches/clkhash/compare.py`), here on the sample records.
fn clkhash_blake(c: &mut Criterion) {
    use pprl::compat::clkhash;
    let schema =
        clkhash::Schema::from_json_str(include_str!("clkhash/person.schema.json")).unwrap();
    let secret = Secret::from_bytes(b"correct horse battery staple....".to_vec(), "bench").unwrap();
    let enc = clkhash::Encoder::new(&schema, &secret).unwrap();
    // The sample's own dates are dd/mm/yyyy like the schema's; drop the two invalid rows.
    let mut rdr = csv::Reader::from_reader(SAMPLE.as_bytes());
    let mut scratch = clkhash::Scratch::default();
    let mut out = vec![0u64; enc.words_per_record()];
    let records: Vec<Vec<String>> = rdr
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect::<Vec<_>>())
        .filter(|r| {
            enc.encode_record(|i| r[i].as_str(), &mut scratch, &mut out)
                .is_ok()
        })
        .collect();
    let mut group = c.benchmark_group("clkhash");
    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("blake-1024", |b| {
        b.iter(|| {
            let mut encoded = 0;
            for r in &records {
                if enc
                    .encode_record(|i| r[i].as_str(), &mut scratch, &mut out)
                    .is_ok()
                {
                    encoded += 1;
                }
                black_box(&out);
            }
            assert_eq!(encoded, records.len());
        })
    });
    group.finish();
}

criterion_group!(benches, per_record, whole_job, clkhash_blake);
criterion_main!(benches);
