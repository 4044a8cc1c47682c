//! One integration test binary (as ripgrep does): the `pprl` command's behaviour.

mod attack;
mod cli;
mod clkhash;
mod eval;
mod matching;
mod parquet;
mod privacy;
mod probabilistic;
mod readers;
mod safety;
mod schema_quality;
mod serve;
mod snapshots;
mod synth;
mod util;
