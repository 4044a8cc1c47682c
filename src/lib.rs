//! # pprl: privacy-preserving record linkage
//!
//! Departments link records about the same people without exchanging names, dates of birth or
//! addresses. Each department turns its export into keyed Bloom-filter encodings (CLKs) with a
//! secret shared only between departments; a trusted third party compares encodings, never raw
//! values.
//!
//! ## Brief overview
//!
//! The data flows one way through the modules, and a module uses only those before it:
//!
//! ```text
//! schema -> normalize -> (filter, keys) -> encode -> compat -> io -> pipeline
//!   ==> (only encodings leave the department) ==>
//! io (read, verify) -> linkage (blocking -> candidates -> threshold -> solve) -> eval -> lab
//! ```
//!
//! * [`schema`]: the versioned linkage schema (TOML/JSON), validation, fingerprint.
//! * [`normalize`]: Unicode, case, diacritics, whitespace, punctuation, dates, phonetic codes.
//! * [`filter`]: filters as `u64` words; popcount kernels chosen at run time.
//! * [`keys`]: the project secret, its fingerprint, and HKDF-derived per-field keys.
//! * [`encode`]: the [`Encoder`] that turns one record into filter bits and block ids.
//! * [`compat`]: bit-identical clkhash encoding from clkhash schemas.
//! * [`io`]: encodings in memory ([`ClkData`]) and their files (`.clk`, clkhash JSON, anonlink
//!   binary), CSV and Parquet input with row accounting, rejects, manifests, inspection.
//! * [`privacy`]: a leakage audit of encodings (five vulnerabilities), without plaintext.
//! * [`pipeline`]: encoding jobs: rows in memory ([`encode_records`]) or an export file
//!   ([`pipeline::encode_csv`]) to encodings plus rejects, in parallel, bit for bit the same.
//! * [`linkage`]: at the third party: [`match_encodings`] over encodings in memory, with a
//!   fixed or automatic [`Threshold`], blocking, one-to-one solvers, deduplication and
//!   multi-party clustering; units of work a distributed engine can schedule.
//! * [`eval`]: linkage quality against ground truth: metrics, reports, plots.
//! * [`lab`]: synthetic data with known truth, scenarios, experiments, the scale bench.
//! * [`error`] and [`version`]: the shared error kinds (stable codes) and format versions.
//!
//! Front ends (the `pprl` command in `cli/`, later a service and a Python package) call these
//! and render their serialisable reports; nothing here prints, exits or reads the environment.
//!
//! ## Example: two tables in memory, encoded, matched and scored
//!
//! Each department encodes its table with the shared schema and secret; the third party
//! matches the encodings at a threshold chosen from the similarity scores alone; a researcher
//! scores the links against the truth. (`examples/link_in_memory.rs` is the same program.)
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use pprl::eval::PairMetrics;
//! use pprl::{
//!     BatchOptions, Encoder, JobEncoder, MatchInput, MatchOptions, Schema, Secret, Threshold,
//!     encode_records, match_encodings,
//! };
//!
//! let schema = Schema::from_toml_str(
//!     r#"
//!     version = 1
//!     id_column = "id"
//!     [[fields]]
//!     name = "name"
//!     normalize = ["nfkc", "casefold", "strip-diacritics", "collapse-whitespace"]
//!     tokenizer = { kind = "qgram", q = 2, padding = true }
//!     bits_per_token = 25
//!     [[fields]]
//!     name = "born"
//!     normalize = [{ date = { formats = ["%Y-%m-%d", "%d/%m/%Y"] } }]
//!     tokenizer = { kind = "date" }
//!     bits_per_token = 25
//!     "#,
//! )?;
//! let secret = Secret::from_bytes(vec![42; 32], "example")?; // in practice: Secret::from_file
//! let encoder = Encoder::new(&schema, &secret)?;
//! let encode = |rows: &[[&str; 3]]| {
//!     let job = JobEncoder::Pprl(&schema, &encoder);
//!     encode_records(job, &["id", "name", "born"], rows, &BatchOptions::default())
//! };
//! let a = encode(&[
//!     ["a1", "Ada Lovelace", "1815-12-10"],
//!     ["a2", "Alan Turing", "1912-06-23"],
//!     ["a3", "Grace Hopper", "1906-12-09"],
//!     ["a4", "Émilie du Châtelet", "1706-12-17"],
//!     ["a5", "Srinivasa Ramanujan", "1887-12-22"],
//!     ["a6", "Mary Somerville", "1780-12-26"],
//! ])?;
//! let b = encode(&[
//!     ["b1", "ALAN TURING", "23/06/1912"],
//!     ["b2", "Ada Lovelace", "10/12/1815"],
//!     ["b3", "Emilie du Chatelet", "17/12/1706"],
//!     ["b4", "Karl Gauss", "30/04/1777"],
//!     ["b5", "Grace Hoper", "09/12/1906"],
//!     ["b6", "Sophie Germain", "01/04/1776"],
//! ])?;
//! let inputs = vec![MatchInput::new("a", a.data), MatchInput::new("b", b.data)];
//! let opts = MatchOptions {
//!     // Six records are too few to model the scores: the fallback threshold is used.
//!     threshold: Threshold::Auto(pprl::linkage::threshold::AutoOptions {
//!         fallback: Some(0.8),
//!         ..Default::default()
//!     }),
//!     ..Default::default()
//! };
//! let report = match_encodings(inputs, &opts, None, &|_| {})?;
//! let truth = [("a1", "b2"), ("a2", "b1"), ("a3", "b5"), ("a4", "b3")];
//! let quality = PairMetrics::from_pairs(truth, report.id_pairs());
//! println!("threshold {:.3}: {:?}", report.threshold, report.id_pairs());
//! println!(
//!     "precision {:.2}, recall {:.2}",
//!     quality.precision, quality.recall
//! );
//! assert_eq!((quality.precision, quality.recall), (1.0, 1.0));
//! # Ok(())
//! # }
//! ```
//!
//! Files are edges around the same calls: [`pipeline::encode_csv`] streams a CSV or Parquet
//! export into a `.clk` file with a rejects report and a manifest, and
//! [`linkage::job::match_files`] reads encoding files of any format once and matches them.
#![deny(missing_docs)]
#![warn(unsafe_code)]

pub mod compat;
pub mod encode;
pub mod error;
pub mod eval;
pub mod filter;
pub mod io;
pub mod keys;
pub mod lab;
pub mod linkage;
pub mod normalize;
pub mod pipeline;
pub mod privacy;
pub mod schema;
pub mod version;

pub use encode::Encoder;
pub use error::{Coded, Position};
pub use eval::PairMetrics;
pub use io::ClkData;
pub use keys::Secret;
pub use linkage::{
    MatchError, MatchInput, MatchOptions, MatchReport, MatchResult, Threshold, match_encodings,
};
pub use pipeline::{BatchOptions, EncodeError, EncodedBatch, JobEncoder, encode_records};
pub use schema::Schema;
pub use version::{FORMAT_VERSION, TOOL_VERSION};

/// The CPU features pprl detected at run time and uses, as `(name, in use)` pairs, for
/// `pprl --version` and benchmark records. Nothing is fixed at compile time: the same binary
/// runs on any x86-64 or aarch64 machine and picks the fastest path it finds.
pub fn accelerations() -> Vec<(&'static str, bool)> {
    vec![
        (
            "sha-ni (4-lane SHA-256)",
            encode::sha256x2::is_accelerated(),
        ),
        (
            "avx2 (4-lane BLAKE2b, clkhash blakeHash)",
            compat::clkhash::blake2b::is_accelerated(),
        ),
    ]
}
