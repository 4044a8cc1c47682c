//! clkhash's key derivation: one secret, two keys per feature.
//!
//! clkhash (`key_derivation.generate_key_lists`) runs HKDF (RFC 5869) once over the secret,
//! with the schema's hash (SHA-256 or SHA-512), salt (default: HKDF's zeros) and info (default:
//! empty), for `2 * features * keySize` bytes, and cuts the output into keys of `keySize`
//! bytes: feature `i` (counting ignored features too) gets keys `2i` and `2i + 1`. `blakeHash`
//! uses the first, `doubleHash` both (HMAC-SHA1 the first, HMAC-MD5 the second).
//!
//! The secret is the bytes of the secret file, verbatim: clkhash encodes a text secret as
//! UTF-8, so a file holding the ASCII bytes `my secret` (no newline) gives the keys of
//! clkhash's secret `"my secret"`.

use hkdf::Hkdf;
use sha2::{Sha256, Sha512};
use zeroize::Zeroizing;

use super::schema::{Kdf, KdfHash};

/// The derived keys, `keys_per_feature` per feature, in feature order.
pub struct KeyList {
    bytes: Zeroizing<Vec<u8>>,
    key_size: usize,
}

impl std::fmt::Debug for KeyList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyList")
            .field("key_size", &self.key_size)
            .finish_non_exhaustive()
    }
}

/// Keys clkhash derives for each feature.
pub const KEYS_PER_FEATURE: usize = 2;

impl KeyList {
    /// Derives the keys of `features` features. The schema has checked that HKDF can give
    /// that many bytes; `None` if it cannot.
    pub fn derive(secret: &[u8], kdf: &Kdf, features: usize) -> Option<KeyList> {
        let key_size = kdf.key_size as usize;
        let mut bytes = Zeroizing::new(vec![0u8; KEYS_PER_FEATURE * features * key_size]);
        let info = kdf.info.as_deref().unwrap_or_default();
        let ok = match kdf.hash {
            KdfHash::Sha256 => Hkdf::<Sha256>::new(kdf.salt.as_deref(), secret)
                .expand(info, &mut bytes)
                .is_ok(),
            KdfHash::Sha512 => Hkdf::<Sha512>::new(kdf.salt.as_deref(), secret)
                .expand(info, &mut bytes)
                .is_ok(),
        };
        ok.then_some(KeyList { bytes, key_size })
    }

    /// Key `which` (0 or 1) of feature `feature`.
    pub fn key(&self, feature: usize, which: usize) -> &[u8] {
        let i = feature * KEYS_PER_FEATURE + which;
        &self.bytes[i * self.key_size..(i + 1) * self.key_size]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5869_test_case_1_layout() {
        // RFC 5869 A.1: IKM 22 x 0x0b, salt 0x00..0x0c, info 0xf0..0xf9, L = 42.
        let kdf = Kdf {
            hash: KdfHash::Sha256,
            salt: Some((0u8..=0x0c).collect()),
            info: Some((0xf0u8..=0xf9).collect()),
            key_size: 21,
        };
        let keys = KeyList::derive(&[0x0b; 22], &kdf, 1).unwrap();
        let okm = hex::decode(
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
        )
        .unwrap();
        assert_eq!(keys.key(0, 0), &okm[..21]);
        assert_eq!(keys.key(0, 1), &okm[21..]);
    }

    #[test]
    fn too_much_key_material_is_none() {
        let kdf = Kdf {
            hash: KdfHash::Sha256,
            salt: None,
            info: None,
            key_size: 64,
        };
        assert!(KeyList::derive(b"s", &kdf, 63).is_some());
        assert!(KeyList::derive(b"s", &kdf, 64).is_none());
    }
}
