//! The schema fingerprint: SHA-256 of the canonical JSON of every setting that changes the
//! bits of an encoding.

use std::fmt;

use sha2::{Digest, Sha256};

use super::Schema;

/// The SHA-256 fingerprint of a schema's canonical form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SchemaFingerprint(pub [u8; 32]);

impl SchemaFingerprint {
    /// Lower-case hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for SchemaFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Schema {
    /// The canonical JSON bytes that [`Schema::fingerprint`] hashes and that encoding files
    /// embed: keys in declaration order, defaults spelled out, local input settings left out.
    pub fn canonical_json(&self) -> Vec<u8> {
        // Serialising plain structs and enums (no maps) cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// SHA-256 of [`Schema::canonical_json`].
    pub fn fingerprint(&self) -> SchemaFingerprint {
        SchemaFingerprint(Sha256::digest(self.canonical_json()).into())
    }
}
