//! One integration test binary (as ripgrep does): CLI behaviour and golden vectors.

mod cli;
mod golden;
mod matching;
mod parquet;
mod pipeline;
mod util;
