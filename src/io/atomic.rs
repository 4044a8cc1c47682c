//! Atomic output: write to a temporary file beside the target, rename on success; write
//! straight through to what is not a regular file.
//!
//! What [`AtomicFile::create`] does with the target path:
//!
//! * a regular file, or nothing yet: the bytes go to a temporary file in the same folder,
//!   named `.NAME.pprl-unfinished.PID.RANDOM` (hidden, and marked as unfinished), which is
//!   renamed onto `NAME` by [`AtomicFile::commit`] and removed if the value is dropped first;
//! * a symbolic link: the link is never replaced; the file it points to is written as above
//!   (atomically, in the target's own folder), so the link keeps pointing at the new bytes;
//! * a FIFO or a device (`/dev/null`, `/dev/stdout`, a terminal): opened and written
//!   directly, with no temporary file and no rename (such a target cannot be replaced, and
//!   need not be);
//! * `-`, only through [`AtomicFile::create_or_stdout`]: standard output.
//!
//! A run that is killed (`kill -9`, a power cut) cannot remove its temporary file; the next
//! run that writes the same output removes every `.NAME.pprl-unfinished.PID.*` whose process
//! `PID` no longer exists (on systems with `/proc`; elsewhere they are left for the user).
//! Which outputs a run may write at all is checked before by [`super::RunFiles`].

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// The marker in a temporary file's name: `.NAME.pprl-unfinished.PID.RANDOM`.
pub const UNFINISHED_MARKER: &str = "pprl-unfinished";

/// Where the bytes go.
#[derive(Debug)]
enum Sink {
    /// A temporary file renamed onto `target` on commit.
    Temp {
        file: NamedTempFile,
        target: PathBuf,
    },
    /// A FIFO or device, written directly.
    Direct(File),
    /// Standard output.
    Stdout(io::Stdout),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Temp { file, .. } => file.write(buf),
            Sink::Direct(f) => f.write(buf),
            Sink::Stdout(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Temp { file, .. } => file.flush(),
            Sink::Direct(f) => f.flush(),
            Sink::Stdout(s) => s.flush(),
        }
    }
}

/// A buffered output that appears at its path only when [`AtomicFile::commit`] succeeds
/// (see the module docs for symbolic links, FIFOs, devices and standard output).
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    inner: BufWriter<Sink>,
}

impl AtomicFile {
    /// Starts writing `path` (see the module docs); `-` is a file named `-`.
    pub fn create(path: impl AsRef<Path>) -> io::Result<AtomicFile> {
        let path = path.as_ref().to_path_buf();
        let target = resolve(&path)?;
        let sink = match std::fs::metadata(&target) {
            Ok(m) if m.is_dir() => {
                return Err(io::Error::new(
                    io::ErrorKind::IsADirectory,
                    "it is a directory",
                ));
            }
            Ok(m) if !m.is_file() => {
                Sink::Direct(std::fs::OpenOptions::new().write(true).open(&target)?)
            }
            _ => Sink::Temp {
                file: temp_beside(&target)?,
                target,
            },
        };
        Ok(AtomicFile {
            path,
            inner: BufWriter::with_capacity(1 << 20, sink),
        })
    }

    /// Like [`AtomicFile::create`], but `-` is standard output (written as it comes: a
    /// failed run may have written part of its output there).
    pub fn create_or_stdout(path: impl AsRef<Path>) -> io::Result<AtomicFile> {
        let path = path.as_ref();
        if path.as_os_str() == "-" {
            return Ok(AtomicFile {
                path: path.to_path_buf(),
                inner: BufWriter::with_capacity(1 << 16, Sink::Stdout(io::stdout())),
            });
        }
        AtomicFile::create(path)
    }

    /// The final path, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes, syncs to disk and renames the file into place (for a FIFO, device or
    /// standard output: flushes).
    pub fn commit(self) -> io::Result<()> {
        match self.inner.into_inner().map_err(|e| e.into_error())? {
            Sink::Temp { file, target } => {
                file.as_file().sync_all()?;
                file.persist(&target).map_err(|e| e.error)?;
            }
            Sink::Direct(mut f) => f.flush()?,
            Sink::Stdout(mut s) => s.flush()?,
        }
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The file a path names: itself, or, for a symbolic link, the file at the end of the links
/// (which need not exist yet).
fn resolve(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let next = std::fs::read_link(&current)?;
                current = if next.is_absolute() {
                    next
                } else {
                    folder_of(&current).join(next)
                };
            }
            _ => return Ok(current),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A new temporary file for `target` in its folder, after removing those that killed runs
/// left for it.
fn temp_beside(target: &Path) -> io::Result<NamedTempFile> {
    let dir = folder_of(target);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{name}.{UNFINISHED_MARKER}.");
    remove_stale(&dir, &prefix);
    tempfile::Builder::new()
        .prefix(&format!("{prefix}{}.", std::process::id()))
        .rand_bytes(8)
        .tempfile_in(dir)
}

/// Removes `dir/PREFIX PID.*` files whose process no longer runs (where `/proc` tells).
fn remove_stale(dir: &Path, prefix: &str) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(prefix)) else {
            continue;
        };
        let Some(pid) = rest.split('.').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        let regular = entry.file_type().is_ok_and(|t| t.is_file());
        if regular && pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_appears_until_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        let mut f = AtomicFile::create(&path).unwrap();
        f.write_all(b"hello").unwrap();
        f.flush().unwrap();
        assert!(!path.exists());
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names[0].starts_with(".out.txt.pprl-unfinished."),
            "{names:?}"
        );
        f.commit().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"hello");
    }

    #[test]
    fn dropped_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        {
            let mut f = AtomicFile::create(&path).unwrap();
            f.write_all(b"partial").unwrap();
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn stale_temporary_files_of_dead_runs_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        // No process has pid 4194305: Linux's pid_max is at most 4194304.
        let stale = dir.path().join(".out.txt.pprl-unfinished.4194305.abcdefgh");
        let live = dir
            .path()
            .join(format!(".out.txt.pprl-unfinished.{}.x", std::process::id()));
        let other = dir.path().join(".other.pprl-unfinished.4194305.abcdefgh");
        for p in [&stale, &live, &other] {
            std::fs::write(p, "old").unwrap();
        }
        let f = AtomicFile::create(dir.path().join("out.txt")).unwrap();
        f.commit().unwrap();
        assert!(!stale.exists());
        assert!(live.exists() && other.exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_kept_and_its_target_written() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.txt");
        let link = dir.path().join("link.txt");
        std::fs::write(&target, "old").unwrap();
        std::os::unix::fs::symlink("real.txt", &link).unwrap();
        let mut f = AtomicFile::create(&link).unwrap();
        f.write_all(b"new").unwrap();
        f.commit().unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
    }

    #[cfg(unix)]
    #[test]
    fn a_device_is_written_through() {
        let mut f = AtomicFile::create("/dev/null").unwrap();
        f.write_all(b"gone").unwrap();
        f.commit().unwrap();
        assert!(
            !std::fs::metadata("/dev/null").unwrap().is_file(),
            "/dev/null is still a device"
        );
    }
}
