//! The laboratory: data made to measure on, and whole experiments run over it.
//!
//! * [`synth`]: synthetic parties' exports with known truth (UK-like people, configurable
//!   corruption, two or more parties, deduplication);
//! * [`experiment`]: schemas x filter lengths x thresholds over one population, with quality
//!   and speed per combination;
//! * [`scale`]: the national-scale benchmark (generate, encode with blocking keys, match,
//!   score).
//!
//! The lab sits at the end of the library's flow: it drives `pipeline`, `linkage` and `eval`
//! the way a researcher would, and nothing in the library depends on it.

pub mod experiment;
pub mod scale;
pub mod synth;
