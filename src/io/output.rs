//! Output safety: which files a run may write, checked before anything is written.
//!
//! A run declares the files it reads (each with its [`FileRole`]: the input, the secret, the
//! schema, the truth) and the files it writes, in [`RunFiles`]; [`RunFiles::check`] refuses
//! the run, before any byte is written, when
//!
//! * an output is the same file as a file the run reads (same device and inode, or the same
//!   canonical path, so `./x`, `x`, a hard link and a symbolic link to it are all caught):
//!   [`OutputErrorKind::IsInput`] (`output-is-input`), naming the role it collides with;
//! * two outputs are the same file ([`OutputErrorKind::Twice`]), unless that file is a
//!   FIFO or a device such as `/dev/null`, which take any number of streams;
//! * an output's folder does not exist ([`OutputErrorKind::NoFolder`]), so that the first
//!   output named (not a report beside it) is the one reported;
//! * an output is a directory ([`OutputErrorKind::IsDirectory`]);
//! * an output is `-` (standard output) where the run writes more than one stream, or did not
//!   allow it ([`OutputErrorKind::Stdout`]).
//!
//! Writing itself is [`AtomicFile`](super::AtomicFile)'s job (see `atomic.rs`). Messages name
//! files (with control characters escaped), never their contents.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::escape_controls;

/// What a file is to a run, named in the error when an output collides with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FileRole {
    /// A file the run reads records or encodings from.
    Input,
    /// The project secret.
    Secret,
    /// A linkage schema.
    Schema,
    /// Ground truth, matches or scores that a run evaluates against.
    Truth,
}

impl fmt::Display for FileRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileRole::Input => "the input",
            FileRole::Secret => "the secret file",
            FileRole::Schema => "the schema",
            FileRole::Truth => "the evaluation input",
        })
    }
}

crate::error_kinds! {
    /// What kind of problem an [`OutputError`] is.
    pub enum OutputErrorKind {
        /// An output is the same file as a file the run reads.
        IsInput => "output-is-input",
        /// Two outputs are the same file.
        Twice => "output-twice",
        /// An output's folder does not exist.
        NoFolder => "output-no-folder",
        /// An output is a directory.
        IsDirectory => "output-is-directory",
        /// `-` (standard output) where the run cannot write to it.
        Stdout => "output-stdout",
        /// The secret file is also read as another of the run's files.
        SecretIsInput => "secret-is-input",
        /// An output that has files written beside it is a FIFO or a device.
        NotRegular => "output-not-regular",
    }
}

/// Why a run may not write its outputs. Nothing has been written when this is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OutputError {
    /// An output is the same file as a file the run reads.
    #[error("the output {output} is the same file as {role} {other}; refusing to write over it")]
    IsInput {
        /// The output, as given.
        output: String,
        /// What the other file is to the run.
        role: FileRole,
        /// The other file, as given.
        other: String,
    },
    /// Two outputs are the same file.
    #[error("the outputs {output} and {other} are the same file")]
    Twice {
        /// The later output, as given.
        output: String,
        /// The earlier output, as given.
        other: String,
    },
    /// An output's folder does not exist.
    #[error("cannot write {output}: its folder does not exist")]
    NoFolder {
        /// The output, as given.
        output: String,
    },
    /// An output is a directory.
    #[error("cannot write {output}: it is a directory")]
    IsDirectory {
        /// The output, as given.
        output: String,
    },
    /// The secret file is also read as another of the run's files (whose parser could echo
    /// it).
    #[error(
        "the secret file {secret} is also given as {role} {other}; refusing to read it as both"
    )]
    SecretIsInput {
        /// The secret file, as given.
        secret: String,
        /// What the other file is to the run.
        role: FileRole,
        /// The other file, as given.
        other: String,
    },
    /// An output that has files written beside it (a `.clk` file's manifest) is a FIFO or a
    /// device, whose folder (`/dev`) is no place for them.
    #[error(
        "cannot write {output}: it is a FIFO or a device, and this output has files written \
         beside it (a manifest); write it to a regular file"
    )]
    NotRegular {
        /// The output, as given.
        output: String,
    },
    /// `-` (standard output) where the run cannot write to it.
    #[error("`-` (standard output) cannot take this output: {reason}; name a file instead")]
    Stdout {
        /// Why not.
        reason: &'static str,
    },
}

impl OutputError {
    /// The error's kind.
    pub fn kind(&self) -> OutputErrorKind {
        match self {
            OutputError::IsInput { .. } => OutputErrorKind::IsInput,
            OutputError::Twice { .. } => OutputErrorKind::Twice,
            OutputError::NoFolder { .. } => OutputErrorKind::NoFolder,
            OutputError::IsDirectory { .. } => OutputErrorKind::IsDirectory,
            OutputError::Stdout { .. } => OutputErrorKind::Stdout,
            OutputError::SecretIsInput { .. } => OutputErrorKind::SecretIsInput,
            OutputError::NotRegular { .. } => OutputErrorKind::NotRegular,
        }
    }

    /// The role of the file an output collides with, for [`OutputErrorKind::IsInput`].
    pub fn role(&self) -> Option<FileRole> {
        match self {
            OutputError::IsInput { role, .. } | OutputError::SecretIsInput { role, .. } => {
                Some(*role)
            }
            _ => None,
        }
    }
}

impl crate::error::Coded for OutputError {
    fn code(&self) -> &'static str {
        self.kind().code()
    }
}

/// The files one run reads and writes, checked together before anything is written (see the
/// module docs). `-` as a read is standard input and collides with nothing.
#[derive(Debug, Clone, Default)]
pub struct RunFiles {
    reads: Vec<(FileRole, PathBuf)>,
    writes: Vec<PathBuf>,
    stdout_allowed: bool,
}

/// What identifies a file: its device and inode where it exists, and its canonical path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    inode: Option<(u64, u64)>,
    canonical: Option<PathBuf>,
    special: bool,
}

impl Identity {
    fn same(&self, other: &Identity) -> bool {
        (self.inode.is_some() && self.inode == other.inode)
            || (self.canonical.is_some() && self.canonical == other.canonical)
    }
}

impl RunFiles {
    /// No files yet.
    pub fn new() -> RunFiles {
        RunFiles::default()
    }

    /// Adds a file the run reads.
    pub fn read(mut self, role: FileRole, path: impl AsRef<Path>) -> RunFiles {
        self.reads.push((role, path.as_ref().to_path_buf()));
        self
    }

    /// Adds files the run reads, all in one role.
    pub fn reads<P: AsRef<Path>>(
        mut self,
        role: FileRole,
        paths: impl IntoIterator<Item = P>,
    ) -> RunFiles {
        for p in paths {
            self = self.read(role, p);
        }
        self
    }

    /// Adds a file the run writes (in the order the run names them: the main output first).
    pub fn write(mut self, path: impl AsRef<Path>) -> RunFiles {
        self.writes.push(path.as_ref().to_path_buf());
        self
    }

    /// Allows `-` as the run's one output, meaning standard output.
    pub fn allow_stdout(mut self) -> RunFiles {
        self.stdout_allowed = true;
        self
    }

    /// Checks the run's files (see the module docs); nothing is written either way.
    pub fn check(&self) -> Result<(), OutputError> {
        let dash = |p: &Path| p.as_os_str() == "-";
        if self.writes.iter().any(|w| dash(w)) {
            if !self.stdout_allowed {
                return Err(OutputError::Stdout {
                    reason: "this run writes its output only to files",
                });
            }
            if self.writes.len() > 1 {
                return Err(OutputError::Stdout {
                    reason: "this run writes more than one file",
                });
            }
        }
        let reads: Vec<(FileRole, &PathBuf, Identity)> = self
            .reads
            .iter()
            .filter(|(_, p)| !dash(p))
            .filter_map(|(role, p)| identify(p).map(|id| (*role, p, id)))
            .collect();
        let show = |p: &Path| escape_controls(&p.display().to_string());
        for (_, secret, id) in reads.iter().filter(|(r, _, _)| *r == FileRole::Secret) {
            let other = reads
                .iter()
                .find(|(r, _, o)| *r != FileRole::Secret && o.same(id));
            if let Some((role, other, _)) = other {
                return Err(OutputError::SecretIsInput {
                    secret: show(secret),
                    role: *role,
                    other: show(other),
                });
            }
        }
        let mut written: Vec<(&PathBuf, Identity)> = Vec::new();
        for w in self.writes.iter().filter(|w| !dash(w)) {
            let shown = || escape_controls(&w.display().to_string());
            let meta = std::fs::metadata(w).ok();
            if meta.as_ref().is_some_and(|m| m.is_dir()) {
                return Err(OutputError::IsDirectory { output: shown() });
            }
            let Some(id) = identify(w) else {
                return Err(OutputError::NoFolder { output: shown() });
            };
            if let Some((role, other, _)) = reads.iter().find(|(_, _, r)| r.same(&id)) {
                return Err(OutputError::IsInput {
                    output: shown(),
                    role: *role,
                    other: escape_controls(&other.display().to_string()),
                });
            }
            if !id.special
                && let Some((other, _)) = written.iter().find(|(_, o)| o.same(&id))
            {
                return Err(OutputError::Twice {
                    output: shown(),
                    other: escape_controls(&other.display().to_string()),
                });
            }
            written.push((w, id));
        }
        Ok(())
    }
}

/// Refuses `path` as an output with companions (a `.clk` file and its manifest) when it is an
/// existing FIFO or device ([`OutputErrorKind::NotRegular`]).
pub fn check_regular(path: &Path) -> Result<(), OutputError> {
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() && !m.is_dir() => Err(OutputError::NotRegular {
            output: escape_controls(&path.display().to_string()),
        }),
        _ => Ok(()),
    }
}

/// The identity of `path`: of the file itself where it exists (following symbolic links),
/// else of the name in its canonical folder. `None`: the folder does not exist.
fn identify(path: &Path) -> Option<Identity> {
    if let Ok(meta) = std::fs::metadata(path) {
        return Some(Identity {
            inode: inode(&meta),
            canonical: std::fs::canonicalize(path).ok(),
            special: !meta.is_file() && !meta.is_dir(),
        });
    }
    let name = path.file_name()?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let folder = std::fs::canonicalize(parent).ok()?;
    if !folder.is_dir() {
        return None;
    }
    // A dangling symbolic link: the file it would create.
    if let Ok(target) = std::fs::read_link(path) {
        let target = if target.is_absolute() {
            target
        } else {
            folder.join(target)
        };
        return Some(Identity {
            inode: None,
            canonical: Some(target),
            special: false,
        });
    }
    Some(Identity {
        inode: None,
        canonical: Some(folder.join(name)),
        special: false,
    })
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn inode(_: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(p: &Path) {
        std::fs::write(p, "x").unwrap();
    }

    #[test]
    fn an_output_onto_an_input_is_refused_with_its_role() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k.key");
        touch(&key);
        let err = RunFiles::new()
            .read(FileRole::Input, dir.path().join("in.csv"))
            .read(FileRole::Secret, &key)
            .write(&key)
            .check()
            .unwrap_err();
        assert_eq!(err.kind(), OutputErrorKind::IsInput);
        assert_eq!(err.role(), Some(FileRole::Secret));
    }

    #[test]
    fn the_secret_read_as_another_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k.key");
        touch(&key);
        let err = RunFiles::new()
            .read(FileRole::Secret, &key)
            .read(FileRole::Schema, dir.path().join(".").join("k.key"))
            .check()
            .unwrap_err();
        assert_eq!(err.kind(), OutputErrorKind::SecretIsInput);
        assert_eq!(err.role(), Some(FileRole::Schema));
    }

    #[test]
    fn a_hard_link_is_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.csv");
        let b = dir.path().join("b.csv");
        touch(&a);
        std::fs::hard_link(&a, &b).unwrap();
        let err = RunFiles::new()
            .read(FileRole::Input, &a)
            .write(&b)
            .check()
            .unwrap_err();
        assert_eq!(err.kind(), OutputErrorKind::IsInput);
    }

    #[test]
    fn dot_slash_and_plain_names_are_the_same_output() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("out.clk");
        let dotted = dir.path().join(".").join("out.clk");
        // Neither exists yet: the canonical path decides.
        let err = RunFiles::new()
            .write(&plain)
            .write(&dotted)
            .check()
            .unwrap_err();
        assert_eq!(err.kind(), OutputErrorKind::Twice);
        touch(&plain);
        let err = RunFiles::new()
            .read(FileRole::Schema, &dotted)
            .write(&plain)
            .check()
            .unwrap_err();
        assert_eq!(err.role(), Some(FileRole::Schema));
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_to_an_input_is_the_input() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.csv");
        let link = dir.path().join("link.csv");
        touch(&a);
        std::os::unix::fs::symlink(&a, &link).unwrap();
        let err = RunFiles::new()
            .read(FileRole::Input, &a)
            .write(&link)
            .check()
            .unwrap_err();
        assert_eq!(err.kind(), OutputErrorKind::IsInput);
        // A dangling link: the file it would create.
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("new.csv"), &dangling).unwrap();
        let err = RunFiles::new()
            .write(dir.path().join("new.csv"))
            .write(&dangling)
            .check()
            .unwrap_err();
        assert_eq!(err.kind(), OutputErrorKind::Twice);
    }

    #[test]
    fn missing_folders_directories_and_stdout() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no").join("out.clk");
        let err = RunFiles::new().write(&missing).check().unwrap_err();
        assert_eq!(err.kind(), OutputErrorKind::NoFolder);
        let err = RunFiles::new().write(dir.path()).check().unwrap_err();
        assert_eq!(err.kind(), OutputErrorKind::IsDirectory);
        let err = RunFiles::new().write("-").check().unwrap_err();
        assert_eq!(err.kind(), OutputErrorKind::Stdout);
        let two = RunFiles::new()
            .allow_stdout()
            .write("-")
            .write(dir.path().join("x"));
        assert_eq!(two.check().unwrap_err().kind(), OutputErrorKind::Stdout);
        RunFiles::new()
            .allow_stdout()
            .read(FileRole::Input, "-")
            .write("-")
            .check()
            .unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn devices_take_many_outputs_but_no_companions() {
        RunFiles::new()
            .write("/dev/null")
            .write("/dev/null")
            .check()
            .unwrap();
        let err = check_regular(Path::new("/dev/null")).unwrap_err();
        assert_eq!(err.kind(), OutputErrorKind::NotRegular);
        check_regular(Path::new("no-such-file")).unwrap();
    }

    #[test]
    fn names_are_escaped() {
        let dir = tempfile::tempdir().unwrap();
        let odd = dir.path().join("a\u{1b}[31m");
        touch(&odd);
        let err = RunFiles::new()
            .read(FileRole::Input, &odd)
            .write(&odd)
            .check()
            .unwrap_err();
        assert!(!err.to_string().contains('\u{1b}'), "{err}");
        assert!(err.to_string().contains("\\u{1b}"), "{err}");
    }
}
