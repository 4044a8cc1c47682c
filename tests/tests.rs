//! One integration test binary (as ripgrep does): CLI behaviour and golden vectors.

mod cli;
mod clkhash;
mod eval;
mod golden;
mod matching;
mod parquet;
mod pipeline;
mod synth;
mod util;
