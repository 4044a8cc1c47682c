//! # pprl: privacy-preserving record linkage
//!
//! Departments link records about the same people without exchanging names, dates of birth or
//! addresses. Each department turns its export into keyed Bloom-filter encodings (CLKs) with a
//! secret shared only between departments; a trusted third party compares encodings, never raw
//! values.
//!
//! ## Brief overview
//!
//! The data flows one way through the modules:
//!
//! ```text
//! CSV export -> schema (what to read, how) -> normalize (clean values)
//!            -> encode (tokenize -> keyed hash -> bloom layout)
//!            -> io (the .clk encoding file + manifest, rejects report)
//!   ==> (only encodings leave the department) ==>
//! io (read, verify) -> linkage (candidates -> solve) -> eval
//! ```
//!
//! * [`schema`]: the versioned linkage schema (TOML/JSON), validation, fingerprint.
//! * [`normalize`]: Unicode, case, diacritics, whitespace, punctuation, dates, phonetic codes.
//! * [`keys`]: the project secret, its fingerprint, and HKDF-derived per-field keys.
//! * [`encode`]: the [`encode::Encoder`] that turns one record into filter bits.
//! * [`filter`]: filters as `u64` words: popcount, Dice, statistics.
//! * [`io`]: streaming CSV input with row accounting, the binary `.clk` format, rejects,
//!   manifests, atomic output.
//! * [`pipeline`]: the whole job: a CSV export in, an encoding file out, in parallel.
//! * [`linkage`]: at the third party: candidate pairs above a similarity threshold (tiled,
//!   length-filtered, runtime-dispatched popcount kernels), one-to-one solvers, deduplication
//!   and multi-party clustering.
//! * [`eval`]: linkage quality against ground truth.
//! * [`compat`]: interoperability with clkhash and anonlink: bit-identical CLKs from clkhash
//!   schemas, clkhash JSON and anonlink binary files in and out.
//!
//! ## Example
//!
//! ```
//! use pprl::{encode::{Encoder, Scratch}, keys::Secret, schema::Schema};
//!
//! let schema = Schema::from_toml_str(r#"
//!     version = 1
//!     id_column = "id"
//!     [[fields]]
//!     name = "surname"
//!     normalize = ["nfkc", "casefold", "strip-diacritics"]
//!     tokenizer = { kind = "qgram", q = 2 }
//!     bits_per_token = 20
//! "#).unwrap();
//! let secret = Secret::from_bytes(vec![7; 32], "example").unwrap();
//! let encoder = Encoder::new(&schema, &secret).unwrap();
//!
//! let mut scratch = Scratch::default();
//! let mut a = vec![0u64; encoder.words_per_record()];
//! let mut b = vec![0u64; encoder.words_per_record()];
//! encoder.encode_record(|_| "Ångström", &mut scratch, &mut a).unwrap();
//! encoder.encode_record(|_| "ANGSTROM", &mut scratch, &mut b).unwrap();
//! assert_eq!(a, b); // normalisation makes both spellings the same bits
//! ```
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
pub mod schema;
pub mod version;

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
