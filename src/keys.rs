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
        /// The secret file path names nothing.
        Missing => "key-missing",
        /// The secret path is not a regular file (a FIFO, device or directory).
        NotRegular => "key-not-regular",
        /// The secret file is longer than [`Secret::MAX_LEN`].
        TooLong => "key-too-long",
        /// The secret file holds text (a schema, a CSV, words), not random bytes.
        NotRandom => "key-not-random",
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
    /// The secret file path names nothing. The path is not shown: a secret given by mistake
    /// where its path belongs must not be echoed.
    #[error(
        "the secret file path does not exist (a path of {len} characters, not shown, in case \
         it is the secret itself)"
    )]
    Missing {
        /// The path's length in characters.
        len: usize,
    },
    /// The secret path is not a regular file.
    #[error("secret file {path} is {what}, not a regular file")]
    NotRegular {
        /// The path.
        path: String,
        /// What it is: `a directory`, `a FIFO`, `a device`, ...
        what: &'static str,
    },
    /// The secret file is longer than a secret can be.
    #[error("secret file {path} holds more than {max} bytes; a secret is at most {max} bytes")]
    TooLong {
        /// The file.
        path: String,
        /// The most a secret may hold.
        max: usize,
    },
    /// The file holds text, not random bytes.
    #[error(
        "secret file {path} holds {why}, not random bytes; a schema, a CSV export or a \
         passphrase is not a project secret (generate one)"
    )]
    NotRandom {
        /// The file.
        path: String,
        /// What gives it away.
        why: &'static str,
    },
}

impl KeyError {
    /// The error's kind.
    pub fn kind(&self) -> KeyErrorKind {
        match self {
            KeyError::Io { .. } => KeyErrorKind::Io,
            KeyError::TooShort { .. } => KeyErrorKind::TooShort,
            KeyError::Exists { .. } => KeyErrorKind::Exists,
            KeyError::Random(_) => KeyErrorKind::Random,
            KeyError::Missing { .. } => KeyErrorKind::Missing,
            KeyError::NotRegular { .. } => KeyErrorKind::NotRegular,
            KeyError::TooLong { .. } => KeyErrorKind::TooLong,
            KeyError::NotRandom { .. } => KeyErrorKind::NotRandom,
        }
    }

    /// The secret file at fault, if a file is.
    pub fn position(&self) -> Option<crate::error::Position> {
        match self {
            KeyError::Io { path, .. }
            | KeyError::TooShort { path, .. }
            | KeyError::Exists { path }
            | KeyError::NotRegular { path, .. }
            | KeyError::TooLong { path, .. }
            | KeyError::NotRandom { path, .. } => Some(crate::error::Position::file(path.clone())),
            KeyError::Random(_) | KeyError::Missing { .. } => None,
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
    /// Maximum length of a secret file in bytes.
    pub const MAX_LEN: usize = 4096;
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

    /// Reads a pprl secret file: a regular file of [`Secret::MIN_LEN`] to [`Secret::MAX_LEN`]
    /// bytes that does not look like text ([`looks_like_text`]). Its bytes are used verbatim:
    /// no trimming, no decoding. At most `MAX_LEN + 1` bytes are ever read.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Secret, KeyError> {
        let path = path.as_ref();
        let mut bytes = read_capped(path)?;
        let shown = shown(path);
        if bytes.len() >= Self::MIN_LEN
            && let Some(why) = looks_like_text(&bytes)
        {
            return Err(KeyError::NotRandom { path: shown, why });
        }
        // Moved, not copied: the bytes stay in zeroizing storage.
        Secret::from_bytes(std::mem::take(&mut *bytes), &shown)
    }

    /// Reads a secret file of 1 to [`Secret::MAX_LEN`] bytes, verbatim (a regular file, as
    /// [`Secret::from_file`]). Only for compatibility with tools whose secrets are passphrases
    /// (clkhash: its secret `"my secret"` is a file holding those 9 bytes); pprl's own schemas
    /// need [`Secret::from_file`]'s 32 random bytes.
    pub fn from_file_any_length(path: impl AsRef<Path>) -> Result<Secret, KeyError> {
        let path = path.as_ref();
        let bytes = read_capped(path)?;
        if bytes.is_empty() {
            return Err(KeyError::TooShort {
                path: shown(path),
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

/// `path` as messages show it, with control characters escaped.
fn shown(path: &Path) -> String {
    crate::error::escape_controls(&path.display().to_string())
}

/// What `path` is when it is not a regular file.
fn not_regular(meta: &std::fs::Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_file() {
        return None;
    }
    if t.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if t.is_char_device() || t.is_block_device() {
            return Some("a device");
        }
        if t.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a regular file")
}

/// Reads a regular secret file, at most [`Secret::MAX_LEN`] bytes (one more is read to tell
/// a longer file). A path that names nothing is not shown (it may be the secret itself).
fn read_capped(path: &Path) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    use std::io::Read as _;
    let io = |source| KeyError::Io {
        path: shown(path),
        source,
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(KeyError::Missing {
                len: path.as_os_str().to_string_lossy().chars().count(),
            });
        }
        Err(e) => return Err(io(e)),
    };
    let regular = |m: &std::fs::Metadata| match not_regular(m) {
        Some(what) => Err(KeyError::NotRegular {
            path: shown(path),
            what,
        }),
        None => Ok(()),
    };
    regular(&meta)?;
    let file = std::fs::File::open(path).map_err(io)?;
    // The path may have changed between the two looks: check what was opened.
    regular(&file.metadata().map_err(io)?)?;
    let mut bytes = Zeroizing::new(Vec::with_capacity(Secret::MAX_LEN + 1));
    file.take(Secret::MAX_LEN as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() > Secret::MAX_LEN {
        return Err(KeyError::TooLong {
            path: shown(path),
            max: Secret::MAX_LEN,
        });
    }
    Ok(bytes)
}

/// Why `bytes` look like text rather than a random secret, if they do.
///
/// The rule (docs/guide.md): a secret that is all printable ASCII (with tabs and line breaks)
/// and holds a space, a tab or a line break other than one at its very end is text (a schema,
/// a CSV export, a sentence), not a secret. One printable token passes (`openssl rand -hex 32`, `-base64 32`, a
/// password manager's output), and so do random bytes: 32 of them are all printable with a
/// probability below 10^-13.
pub fn looks_like_text(bytes: &[u8]) -> Option<&'static str> {
    let printable = |b: &u8| matches!(b, b'\t' | b'\n' | b'\r' | 0x20..=0x7e);
    if !bytes.iter().all(printable) {
        return None;
    }
    let token = bytes
        .strip_suffix(b"\r\n")
        .or_else(|| bytes.strip_suffix(b"\n"))
        .unwrap_or(bytes);
    if token.iter().any(|b| b.is_ascii_whitespace()) {
        return Some("text (words or lines)");
    }
    None
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
                shown(path),
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
    fn secret_files_are_bounded_regular_and_random_looking() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        };
        let kind = |r: Result<Secret, KeyError>| r.unwrap_err().kind();
        let long = write("long", &vec![7u8; Secret::MAX_LEN + 1]);
        assert_eq!(
            kind(Secret::from_file_any_length(&long)),
            KeyErrorKind::TooLong
        );
        let toml = write("person.toml", include_bytes!("../examples/person.toml"));
        assert_eq!(kind(Secret::from_file(&toml)), KeyErrorKind::NotRandom);
        // A clkhash passphrase stays a passphrase.
        assert!(Secret::from_file_any_length(&toml).is_ok());
        let hex = write(
            "hex",
            b"3f9a0c6e1b7d24f58a9c0e3b6d1f47a2c5e8b0d3f6a9c2e5b8d1f4a7c0e3b6d9\n",
        );
        assert!(Secret::from_file(&hex).is_ok());
        assert_eq!(
            kind(Secret::from_file(dir.path())),
            KeyErrorKind::NotRegular
        );
        assert_eq!(
            kind(Secret::from_file_any_length(write("empty", b""))),
            KeyErrorKind::TooShort
        );
        #[cfg(unix)]
        assert_eq!(
            kind(Secret::from_file("/dev/zero")),
            KeyErrorKind::NotRegular
        );
        let missing = Secret::from_file("CANARY-not-a-path").unwrap_err();
        assert_eq!(missing.kind(), KeyErrorKind::Missing);
        assert!(!missing.to_string().contains("CANARY"), "{missing}");
    }

    #[test]
    fn random_bytes_do_not_look_like_text() {
        for _ in 0..100 {
            let s = Secret::generate().unwrap();
            assert_eq!(looks_like_text(s.expose()), None);
        }
        assert!(looks_like_text(b"name = \"x\"\nweight = 1.0\n").is_some());
        assert!(looks_like_text(b"record_id,given_name\na-1,Esme\n").is_some());
        // The golden vectors' secret, bytes 0x40-0x5f, is one printable token.
        assert_eq!(looks_like_text(&(0x40..0x60).collect::<Vec<u8>>()), None);
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
