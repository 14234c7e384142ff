//! Reading input files with a size bound, one way for all of them (discovered imageDetail.json
//! files, mappings, task definitions, pins, manifests, bundles): only a regular file is opened, so a
//! FIFO, socket or device given by mistake is refused at once instead of blocking, and a wrong path
//! to a huge file is refused instead of read into memory.

use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// The bound for JSON inputs: the largest image manifest ECR stores is 4 MiB.
pub const MAX_JSON: u64 = 4 * 1024 * 1024;

/// Why a file was not read.
#[derive(Debug)]
pub enum ReadError {
    /// It is a directory, FIFO, socket or device: named here.
    NotAFile(&'static str),
    /// Longer than the limit: its length, or the bytes seen before reading stopped.
    TooLarge {
        len: u64,
        limit: u64,
    },
    Io(std::io::Error),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::NotAFile(kind) => write!(f, "is {kind}, not a regular file"),
            ReadError::TooLarge { len, limit } => {
                write!(f, "is {len} bytes, larger than {limit} bytes")
            }
            ReadError::Io(e) => e.fmt(f),
        }
    }
}

/// Reads at most `limit` bytes of the regular file at `path` (symlinks followed); a longer file is
/// [`ReadError::TooLarge`] and is not read past the limit.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    regular(&std::fs::metadata(path).map_err(ReadError::Io)?)?;
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    regular(&meta)?;
    if meta.len() > limit {
        return Err(ReadError::TooLarge {
            len: meta.len(),
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            len: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

/// A file the user named that was not read: which file, in what role, and why.
#[derive(Debug)]
pub struct NamedReadError {
    pub path: PathBuf,
    /// The file's role, as the message names it ("task definition", "mapping", ...).
    pub role: &'static str,
    /// Why; an I/O failure keeps its `io::Error`.
    pub reason: ReadError,
}

impl NamedReadError {
    /// True when there is no file at the path.
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(&self.reason, ReadError::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
    }
}

impl fmt::Display for NamedReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, path) = (self.role, self.path.display());
        match &self.reason {
            ReadError::NotAFile(kind) => write!(
                f,
                "{what} {path} is {kind}, not a regular file, so it is not read; give the path of a file"
            ),
            ReadError::TooLarge { limit, .. } => {
                write!(
                    f,
                    "{what} {path} is larger than {limit} bytes; is it the right file?"
                )
            }
            ReadError::Io(e) if self.is_not_found() => {
                write!(f, "cannot read {what} {path}: {e}; check the path")
            }
            ReadError::Io(e) => write!(f, "cannot read {what} {path}: {e}"),
        }
    }
}

/// The message already says what the I/O error says, so it is not given again as a source.
impl std::error::Error for NamedReadError {}

/// For callers that collect messages as text (`verify`'s findings).
impl From<NamedReadError> for String {
    fn from(e: NamedReadError) -> String {
        e.to_string()
    }
}

/// [`read_bounded`] for a file the user named, with the error worded for them: `role` names the
/// file's role ("task definition", "mapping", ...).
pub fn read_named(path: &Path, limit: u64, role: &'static str) -> Result<Vec<u8>, NamedReadError> {
    read_bounded(path, limit).map_err(|reason| NamedReadError {
        path: path.to_path_buf(),
        role,
        reason,
    })
}

fn regular(meta: &std::fs::Metadata) -> Result<(), ReadError> {
    use std::os::unix::fs::FileTypeExt as _;
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(());
    }
    Err(ReadError::NotAFile(if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_limit_are_read() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("f.json");
        std::fs::write(&file, b"12345").unwrap();
        assert_eq!(read_bounded(&file, 5).unwrap(), b"12345");
        assert!(matches!(
            read_bounded(&file, 4),
            Err(ReadError::TooLarge { len: 5, limit: 4 })
        ));
        assert!(matches!(
            read_bounded(tmp.path(), 4),
            Err(ReadError::NotAFile("a directory"))
        ));
        let fifo = tmp.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let e = read_named(&fifo, 4, "mapping").unwrap_err();
        assert!(
            matches!(e.reason, ReadError::NotAFile("a FIFO"))
                && e.role == "mapping"
                && e.path == fifo,
            "{e:?}"
        );
        assert!(matches!(
            read_bounded(Path::new("/dev/null"), 4),
            Err(ReadError::NotAFile("a device"))
        ));
        let e = read_named(&tmp.path().join("missing"), 4, "mapping").unwrap_err();
        assert!(e.is_not_found(), "{e:?}");
    }
}
