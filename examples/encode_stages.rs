//! Times the stages of encoding one record (normalise, tokenize, first hash blocks, whole
//! record) on the sample export, single-threaded, to show where the time goes.
//!
//! Run: `cargo run --release --example encode_stages`

use std::time::Instant;

use pprl::encode::hash::{HmacSha256, TokenHasher};
use pprl::encode::tokenize::{self, Tokens};
use pprl::encode::{Encoder, Scratch};
use pprl::keys::Secret;
use pprl::normalize::Normalizer;
use pprl::schema::Schema;

const ROUNDS: usize = 200;

fn main() {
    let schema = Schema::from_toml_str(include_str!("person.toml")).expect("valid schema");
    let secret = Secret::from_bytes(vec![42; 32], "example").expect("32 bytes");
    let encoder = Encoder::new(&schema, &secret).expect("valid schema");
    let mut rdr =
        csv::Reader::from_reader(include_str!("../testdata/sample/dept_a.csv").as_bytes());
    let records: Vec<Vec<String>> = rdr
        .records()
        .map(|r| {
            r.expect("valid CSV")
                .iter()
                .skip(1)
                .map(str::to_string)
                .collect()
        })
        .collect();
    let per_record =
        |start: Instant| start.elapsed().as_secs_f64() * 1e9 / (ROUNDS * records.len()) as f64;

    let mut scratch = Scratch::default();
    let mut out = vec![0u64; encoder.words_per_record()];
    let start = Instant::now();
    for _ in 0..ROUNDS {
        for r in &records {
            encoder
                .encode_record(|i| r[i].as_str(), &mut scratch, &mut out)
                .expect("sample rows encode");
        }
    }
    let total = per_record(start);

    let normalizers: Vec<Normalizer> = schema
        .fields
        .iter()
        .map(|f| Normalizer::new(&f.normalize).expect("valid steps"))
        .collect();
    let (mut value, mut tmp) = (String::new(), String::new());
    let start = Instant::now();
    for _ in 0..ROUNDS {
        for r in &records {
            for (n, raw) in normalizers.iter().zip(r) {
                n.apply_into(raw, &mut value, &mut tmp)
                    .expect("sample values normalise");
            }
        }
    }
    let normalize = per_record(start);

    let normalized: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            normalizers
                .iter()
                .zip(r)
                .map(|(n, v)| n.apply(v).expect("ok"))
                .collect()
        })
        .collect();
    let tokenizers: Vec<_> = schema
        .fields
        .iter()
        .map(|f| tokenize::from_spec(&f.tokenizer))
        .collect();
    let mut tokens = Tokens::default();
    let mut count = 0usize;
    let start = Instant::now();
    for _ in 0..ROUNDS {
        for r in &normalized {
            for (t, v) in tokenizers.iter().zip(r) {
                tokens.clear();
                t.tokenize(v, &mut tokens).expect("sample values tokenize");
                count += tokens.len();
            }
        }
    }
    let tokenize = per_record(start);
    let tokens_per_record = count as f64 / (ROUNDS * records.len()) as f64;

    let mut all = Tokens::default();
    for r in &normalized {
        for (t, v) in tokenizers.iter().zip(r) {
            t.tokenize(v, &mut all).expect("ok");
        }
    }
    let hasher = HmacSha256::new(&[7; 32]);
    let mut blocks = Vec::new();
    let start = Instant::now();
    for _ in 0..ROUNDS {
        hasher.first_blocks(&all, &mut blocks);
    }
    let hash = per_record(start);

    println!("per record ({tokens_per_record:.1} tokens), single thread:");
    println!(
        "  whole record       {total:>7.0} ns  ({:.0} records/s)",
        1e9 / total
    );
    println!("  normalise          {normalize:>7.0} ns");
    println!("  tokenize           {tokenize:>7.0} ns");
    println!(
        "  first hash blocks  {hash:>7.0} ns  ({:.1} ns/token)",
        hash / tokens_per_record
    );
    println!(
        "  the rest (drawing positions, missing-value checks) about {:.0} ns",
        total - normalize - tokenize - hash
    );
}
