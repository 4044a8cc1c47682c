//! Versions that outputs record: the encoding format and this build.
//!
//! A leaf: it imports nothing, so every module can name the versions without importing the
//! crate root.

/// Version of the encoding format: the file layout and the way bits are derived. It is bound
/// into every derived key, so encodings of different format versions never compare as similar.
pub const FORMAT_VERSION: u16 = 1;

/// This build's version, as written into manifests.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
