//! Two departments' tables, in memory, linked end to end: encode both with one schema and
//! secret, match the encodings with a threshold chosen from the scores alone, and score the
//! links against the known truth. The same program is the crate documentation's first example.
//!
//! Run it with `cargo run --example link_in_memory`.

use pprl::eval::PairMetrics;
use pprl::{
    BatchOptions, Encoder, JobEncoder, MatchInput, MatchOptions, Schema, Secret, Threshold,
    encode_records, match_encodings,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let schema = Schema::from_toml_str(
        r#"
        version = 1
        id_column = "id"
        [[fields]]
        name = "name"
        normalize = ["nfkc", "casefold", "strip-diacritics", "collapse-whitespace"]
        tokenizer = { kind = "qgram", q = 2, padding = true }
        bits_per_token = 25
        [[fields]]
        name = "born"
        normalize = [{ date = { formats = ["%Y-%m-%d", "%d/%m/%Y"] } }]
        tokenizer = { kind = "date" }
        bits_per_token = 25
        "#,
    )?;
    let secret = Secret::from_bytes(vec![42; 32], "example")?; // in practice: Secret::from_file
    let encoder = Encoder::new(&schema, &secret)?;
    let encode = |rows: &[[&str; 3]]| {
        let job = JobEncoder::Pprl(&schema, &encoder);
        encode_records(job, &["id", "name", "born"], rows, &BatchOptions::default())
    };
    let a = encode(&[
        ["a1", "Ada Lovelace", "1815-12-10"],
        ["a2", "Alan Turing", "1912-06-23"],
        ["a3", "Grace Hopper", "1906-12-09"],
        ["a4", "Émilie du Châtelet", "1706-12-17"],
        ["a5", "Srinivasa Ramanujan", "1887-12-22"],
        ["a6", "Mary Somerville", "1780-12-26"],
    ])?;
    let b = encode(&[
        ["b1", "ALAN TURING", "23/06/1912"],
        ["b2", "Ada Lovelace", "10/12/1815"],
        ["b3", "Emilie du Chatelet", "17/12/1706"],
        ["b4", "Karl Gauss", "30/04/1777"],
        ["b5", "Grace Hoper", "09/12/1906"],
        ["b6", "Sophie Germain", "01/04/1776"],
    ])?;
    let inputs = vec![MatchInput::new("a", a.data), MatchInput::new("b", b.data)];
    let opts = MatchOptions {
        // Six records are too few to model the scores: the fallback threshold is used.
        threshold: Threshold::Auto(pprl::linkage::threshold::AutoOptions {
            fallback: Some(0.8),
            ..Default::default()
        }),
        ..Default::default()
    };
    let report = match_encodings(inputs, &opts, None, &|_| {})?;
    let truth = [("a1", "b2"), ("a2", "b1"), ("a3", "b5"), ("a4", "b3")];
    let quality = PairMetrics::from_pairs(truth, report.id_pairs());
    println!("threshold {:.3}: {:?}", report.threshold, report.id_pairs());
    println!(
        "precision {:.2}, recall {:.2}",
        quality.precision, quality.recall
    );
    assert_eq!((quality.precision, quality.recall), (1.0, 1.0));
    Ok(())
}
