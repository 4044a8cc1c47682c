//! The laboratory: data made to measure on, and whole experiments run over it.
//!
//! * [`attack`]: attack simulations against encodings (frequency, pattern mining, graph
//!   matching), scored against the truth;
//! * [`synth`]: synthetic parties' exports with known truth (UK-like people, configurable
//!   corruption, two or more parties, deduplication);
//! * [`experiment`]: schemas x filter lengths x thresholds over one population, with quality
//!   and speed per combination;
//! * [`scenario`]: the whole job on synthetic data (generate, encode, match, score, timed),
//!   shared by `pprl demo`, the experiments and the scale benchmark;
//! * [`scale`]: the national-scale benchmark (the scenario with blocking keys, stage by stage).
//!
//! Every lab run fails with a [`LabError`], whose [`kind`](LabError::kind) is a stable code.
//!
//! The lab sits at the end of the library's flow: it drives `pipeline`, `linkage` and `eval`
//! the way a researcher would, and nothing in the library depends on it.

pub mod attack;
pub mod experiment;
pub mod scale;
pub mod scenario;
pub mod synth;

pub use scenario::{LabError, LabErrorKind};
