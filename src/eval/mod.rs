//! Evaluation: how good a linkage is, measured against ground truth: truth, metrics, reports
//! and plots.
//!
//! * [`truth`]: read ground truth and match outputs (pairs or clusters) as sets of record
//!   pairs.
//! * [`metrics`]: precision, recall, F1 and F-beta, threshold sweeps (the precision-recall
//!   curve), reduction ratio and pair completeness of candidate sets.
//! * [`report`]: one evaluation of a match output against a truth file (what `pprl eval` runs).
//! * [`summary`]: the flat, serialisable summary of a report (what `pprl eval` prints as JSON).
//! * [`plot`]: charts of a sweep and of the score distributions, as SVG and PNG.
//!
//! Linkage quality is reported as precision and recall side by side, with F1 only as a
//! summary: F alone hides which of the two errors a linkage makes, and its weighting of them
//! depends on the linkage itself (Hand & Christen 2018).
//!
//! The data to measure on (synthetic exports with known truth) and whole experiments are made
//! in [`crate::lab`].

mod error;
pub mod metrics;
pub mod plot;
pub mod report;
pub mod summary;
pub mod truth;

pub use self::error::{EvalError, EvalErrorKind};
pub use self::metrics::PairMetrics;
