//! The project secret, its one-way fingerprint, and the keys derived from it.
//!
//! One secret of 32 or more random bytes is shared by the departments of one linkage project
//! (and never by the third party). Every key the encoder uses is derived from it with
//! HKDF-SHA256 (RFC 5869), with an `info` string that binds the purpose, the encoding format
//! version, the schema fingerprint and the field name. So:
//!
//! * each field hashes under its own key: a token in one field says nothing about another;
//! * a change to the schema or to the format gives unrelated keys, so encodings made under
//!   different rules can never be compared by accident;
//! * the [`KeyFingerprint`] lets a third party check that two files were made with the same
//!   secret without learning anything about it (it is an HKDF output under its own `info`).
//!
//! The secret is read only from a file (never from an argument or an environment value, which
//! other processes can read), lives in zeroizing memory, and its `Debug` form prints the
//! fingerprint only.

use std::fmt;
use std::io::Write as _;
use std::path::Path;

use hkdf::Hkdf;
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::schema::SchemaFingerprint;
use crate::version::FORMAT_VERSION;

/// Fixed HKDF salt: separates pprl's keys from any other use of the same secret.
const HKDF_SALT: &[u8] = b"pprl key derivation v1";

/// A project secret held in memory that is zeroed on drop.
pub struct Secret(SecretBox<[u8]>);

crate::error_kinds! {
    /// What kind of problem a [`KeyError`] is.
    pub enum KeyErrorKind {
        /// The secret file could not be read or written.
        Io => "key-io",
        /// The secret is too short to be a random key.
        TooShort => "key-too-short",
        /// A new secret would overwrite an existing file.
        Exists => "key-exists",
        /// The operating system's random source failed.
        Random => "key-random",
    }
}

/// A problem with a secret or its file. Messages name the file, never the secret's bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The secret file could not be read or written (the cause follows as the error's
    /// source).
    #[error("secret file {path}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The secret is too short to be a random key.
    #[error(
        "secret file {path} holds {len} bytes; a secret needs at least {min} random bytes \
         (generate a new one)"
    )]
    TooShort {
        /// The file.
        path: String,
        /// Its length in bytes.
        len: usize,
        /// The minimum.
        min: usize,
    },
    /// `keygen` would overwrite an existing file.
    #[error("{path} already exists; refusing to overwrite a secret (remove it first)")]
    Exists {
        /// The file.
        path: String,
    },
    /// The operating system's random source failed.
    #[error("cannot get random bytes from the operating system: {0}")]
    Random(String),
}

impl KeyError {
    /// The error's kind.
    pub fn kind(&self) -> KeyErrorKind {
        match self {
            KeyError::Io { .. } => KeyErrorKind::Io,
            KeyError::TooShort { .. } => KeyErrorKind::TooShort,
            KeyError::Exists { .. } => KeyErrorKind::Exists,
            KeyError::Random(_) => KeyErrorKind::Random,
        }
    }

    /// The secret file at fault, if a file is.
    pub fn position(&self) -> Option<crate::error::Position> {
        match self {
            KeyError::Io { path, .. }
            | KeyError::TooShort { path, .. }
            | KeyError::Exists { path } => Some(crate::error::Position::file(path.clone())),
            KeyError::Random(_) => None,
        }
    }
}

impl crate::error::Coded for KeyError {
    fn code(&self) -> &'static str {
        self.kind().code()
    }
}

impl Secret {
    /// Minimum length of a secret in bytes.
    pub const MIN_LEN: usize = 32;
    /// Length of a secret made by [`Secret::generate`].
    pub const GENERATED_LEN: usize = 32;

    /// Wraps bytes as a secret; the vector is moved into zeroizing storage.
    /// Fails if it holds fewer than [`Secret::MIN_LEN`] bytes (`origin` names it in the error).
    pub fn from_bytes(bytes: Vec<u8>, origin: &str) -> Result<Secret, KeyError> {
        let bytes = Zeroizing::new(bytes);
        if bytes.len() < Self::MIN_LEN {
            return Err(KeyError::TooShort {
                path: origin.to_string(),
                len: bytes.len(),
                min: Self::MIN_LEN,
            });
        }
        Ok(Secret(SecretBox::new(bytes.as_slice().into())))
    }

    /// Reads a secret file. Its bytes are used verbatim: no trimming, no decoding.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Secret, KeyError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| KeyError::Io {
            path: shown.clone(),
            source,
        })?;
        Secret::from_bytes(bytes, &shown)
    }

    /// Reads a secret file of any non-empty length, verbatim. Only for compatibility with
    /// tools whose secrets are passphrases (clkhash: its secret `"my secret"` is a file
    /// holding those 9 bytes); pprl's own schemas need [`Secret::from_file`]'s 32 bytes.
    pub fn from_file_any_length(path: impl AsRef<Path>) -> Result<Secret, KeyError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|source| KeyError::Io {
            path: shown.clone(),
            source,
        })?);
        if bytes.is_empty() {
            return Err(KeyError::TooShort {
                path: shown,
                len: 0,
                min: 1,
            });
        }
        Ok(Secret(SecretBox::new(bytes.as_slice().into())))
    }

    /// Length of the secret in bytes.
    pub fn len(&self) -> usize {
        self.expose().len()
    }

    /// Always false: a secret has at least one byte.
    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }

    /// A new secret of [`Secret::GENERATED_LEN`] bytes from the operating system's CSPRNG.
    pub fn generate() -> Result<Secret, KeyError> {
        let mut bytes = Zeroizing::new(vec![0u8; Self::GENERATED_LEN]);
        getrandom::fill(&mut bytes).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(Secret(SecretBox::new(bytes.as_slice().into())))
    }

    /// Writes the secret to a new file, readable by its owner only (mode 0600 on Unix).
    /// Refuses to overwrite an existing file.
    pub fn write_new_file(&self, path: impl AsRef<Path>) -> Result<(), KeyError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                KeyError::Exists {
                    path: shown.clone(),
                }
            } else {
                KeyError::Io {
                    path: shown.clone(),
                    source,
                }
            }
        })?;
        file.write_all(self.expose())
            .and_then(|()| file.sync_all())
            .map_err(|source| KeyError::Io {
                path: shown,
                source,
            })
    }

    /// The one-way fingerprint written into every output.
    pub fn fingerprint(&self) -> KeyFingerprint {
        let mut out = [0u8; 32];
        self.expand(&[b"key-fingerprint"], &mut out);
        KeyFingerprint(out)
    }

    /// The 32-byte key of one schema field:
    /// `HKDF-SHA256(salt, secret, info = "pprl" 0 version "field-key" 0 schema-fingerprint name)`.
    pub fn field_key(&self, schema: &SchemaFingerprint, field: &str) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        self.expand(&[b"field-key\0", &schema.0, field.as_bytes()], &mut *out);
        out
    }

    /// A 32-byte key for a purpose other than a field (e.g. the RBF sampling plan), bound to
    /// the schema in the same way as [`Secret::field_key`].
    pub fn purpose_key(&self, schema: &SchemaFingerprint, purpose: &str) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        self.expand(
            &[b"purpose-key\0", &schema.0, purpose.as_bytes()],
            &mut *out,
        );
        out
    }

    /// HKDF-Expand with `info = "pprl" 0x00 FORMAT_VERSION(u16 LE) parts...`. Every part but
    /// the last has a fixed length or a terminator, so distinct inputs give distinct `info`s.
    fn expand(&self, parts: &[&[u8]], out: &mut [u8]) {
        let hk = Hkdf::<Sha256>::new(Some(HKDF_SALT), self.expose());
        let version = FORMAT_VERSION.to_le_bytes();
        let mut info: Vec<&[u8]> = vec![b"pprl\0", &version];
        info.extend_from_slice(parts);
        // 32 bytes is far below HKDF-SHA256's 8160-byte limit.
        hk.expand_multi_info(&info, out)
            .expect("HKDF output length is within limits");
    }

    fn expose(&self) -> &[u8] {
        self.0.expose_secret()
    }

    /// Exposes the secret's bytes to code inside this crate that must derive keys from them
    /// another tool's way (clkhash's HKDF, `crate::compat::clkhash::keys`).
    pub(crate) fn expose_bytes(&self) -> &[u8] {
        self.expose()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field("len", &self.expose().len())
            .field("fingerprint", &self.fingerprint().to_hex())
            .finish()
    }
}

/// One-way fingerprint of a secret: equal fingerprints mean equal secrets, and the fingerprint
/// reveals nothing else about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyFingerprint(pub [u8; 32]);

impl KeyFingerprint {
    /// Lower-case hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// A warning if the secret file can be read by users other than its owner (Unix only).
pub fn permission_warning(path: impl AsRef<Path>) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let path = path.as_ref();
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            return Some(format!(
                "secret file {} is readable by other users (mode {:o}); run `chmod 600` on it",
                path.display(),
                mode & 0o777
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(byte: u8) -> Secret {
        Secret::from_bytes(vec![byte; 32], "test").unwrap()
    }

    #[test]
    fn short_secret_is_refused() {
        let err = Secret::from_bytes(vec![1; 31], "k.key").unwrap_err();
        assert!(matches!(
            err,
            KeyError::TooShort {
                len: 31,
                min: 32,
                ..
            }
        ));
        assert_eq!(err.kind(), KeyErrorKind::TooShort);
    }

    #[test]
    fn fingerprint_separates_secrets_and_is_stable() {
        assert_eq!(secret(1).fingerprint(), secret(1).fingerprint());
        assert_ne!(secret(1).fingerprint(), secret(2).fingerprint());
        // The fingerprint is not the secret nor a field key.
        let fp = secret(1).fingerprint();
        assert_ne!(fp.0, [1u8; 32]);
        assert_ne!(
            fp.0,
            *secret(1).field_key(&SchemaFingerprint([0; 32]), "key-fingerprint")
        );
    }

    #[test]
    fn field_keys_depend_on_schema_and_field() {
        let s = secret(7);
        let a = SchemaFingerprint([1; 32]);
        let b = SchemaFingerprint([2; 32]);
        assert_ne!(*s.field_key(&a, "surname"), *s.field_key(&a, "given"));
        assert_ne!(*s.field_key(&a, "surname"), *s.field_key(&b, "surname"));
        assert_ne!(*s.field_key(&a, "rbf"), *s.purpose_key(&a, "rbf"));
        assert_eq!(*s.field_key(&a, "surname"), *s.field_key(&a, "surname"));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let s = Secret::from_bytes(b"CANARY-CANARY-CANARY-CANARY-CANARY".to_vec(), "t").unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("CANARY"), "{shown}");
        assert!(shown.contains(&s.fingerprint().to_hex()));
    }

    #[test]
    fn keygen_file_is_private_and_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let s = Secret::generate().unwrap();
        s.write_new_file(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap().len(), 32);
        assert_eq!(
            Secret::from_file(&path).unwrap().fingerprint(),
            s.fingerprint()
        );
        assert!(permission_warning(&path).is_none());
        let again = Secret::generate()
            .unwrap()
            .write_new_file(&path)
            .unwrap_err();
        assert!(matches!(again, KeyError::Exists { .. }));
    }
}
