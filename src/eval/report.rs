//! Evaluation (placeholder while building).
