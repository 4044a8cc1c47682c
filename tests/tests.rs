//! One integration test binary for the library: golden vectors and the encoding job.

mod fs_linkage;
mod golden;
mod harden;
mod layering;
mod pipeline;
mod util;
