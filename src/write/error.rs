//! Why a write was refused or failed: the refusals a user acts on, each its own variant, and every
//! failed file-system call as [`WriteError::Io`] with the operation, the path and the `io::Error`.
//! Code decides on the variants (the in-place fallback on [`WriteError::is_denied`]), never on the
//! text.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::io::input::NamedReadError;
use crate::model::deploy::{REPORT, SumsError};

/// How many foreign paths a refusal lists before it counts the rest.
const LISTED: usize = 10;

/// A write that did not happen, or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// OUT holds paths imagedef did not write (mapping mode): nothing was changed.
    #[error(
        "{} holds {} that imagedef did not write ({}), so nothing was changed: in mapping mode the output folder belongs to imagedef and is replaced as a whole; move them elsewhere, or give an empty or new output folder",
        out.display(),
        if paths.len() == 1 { "a path" } else { "paths" },
        listing(paths)
    )]
    NotWritten { out: PathBuf, paths: Vec<String> },
    /// OUT (mapping mode) is a symbolic link.
    #[error(
        "the output folder {} is a symbolic link to {target}{}; mapping mode replaces the output folder as a whole, so give the folder itself",
        out.display(),
        if *dangling { ", which does not exist" } else { "" }
    )]
    SymlinkedOut {
        out: PathBuf,
        target: String,
        dangling: bool,
    },
    /// OUT (mapping mode) is `.`, `..` or `/`: no folder of its own.
    #[error(
        "the output folder {} is the current, parent or root directory; mapping mode replaces the output folder as a whole, so give it a folder of its own such as imagedef-out",
        out.display()
    )]
    OutIsDot { out: PathBuf },
    /// OUT (mapping mode) exists and is not a folder.
    #[error(
        "the output folder {} is not a folder, so imagedef cannot write inside it; give another",
        out.display()
    )]
    OutNotAFolder { out: PathBuf },
    /// A `SHA256SUMS` in OUT that does not parse: it cannot say what imagedef wrote.
    #[error(
        "{}: {problem}; it cannot say which files imagedef wrote, so nothing was changed: remove the output folder, or give another",
        path.display()
    )]
    BadSums { path: PathBuf, problem: SumsError },
    /// A `SHA256SUMS` in OUT that could not be read.
    #[error(transparent)]
    UnreadSums(#[from] NamedReadError),
    /// A file's target is a folder (single-image mode).
    #[error(
        "{} is a directory, so imagedef cannot write its file there; remove or rename it",
        path.display()
    )]
    TargetIsFolder { path: PathBuf },
    /// A folder on the way to a file is something else.
    #[error(
        "{} is not a folder, so imagedef cannot write inside it; give another output folder",
        path.display()
    )]
    NotAFolder { path: PathBuf },
    /// A folder on the way to a file is a symbolic link to nothing.
    #[error(
        "{} is a symbolic link to {}, which does not exist; create that folder, or give another output folder",
        path.display(),
        target.display()
    )]
    DanglingLink { path: PathBuf, target: PathBuf },
    /// The entry-by-entry swap stopped after moving some entries: OUT mixes two generations until
    /// the next run completes it.
    #[error(
        "{} was being replaced entry by entry and now mixes the previous and the new output; the new one waits in {}: run again to complete it",
        out.display(),
        stage.display()
    )]
    Mixed {
        out: PathBuf,
        stage: PathBuf,
        #[source]
        source: Box<WriteError>,
    },
    /// Another process held the lock on OUT's parent for longer than `--lock-timeout`.
    #[error(
        "another process has held the lock on {} for {} s (--lock-timeout), so nothing was changed: {}; let it finish or stop it, or give a longer --lock-timeout (IMAGEDEF_LOCK_TIMEOUT)",
        folder.display(),
        waited.as_secs_f64(),
        holder.as_ref().map_or_else(|| "the process that holds it could not be named".to_owned(), |p| format!("it is {p}"))
    )]
    LockTimeout {
        folder: PathBuf,
        waited: std::time::Duration,
        holder: Option<Process>,
    },
    /// OUT holds a report and a `SHA256SUMS` that are not what imagedef writes.
    #[error(
        "{} is not an output folder imagedef wrote: its {REPORT} {reason}, so nothing was changed: in mapping mode the output folder belongs to imagedef and is replaced as a whole; move its files elsewhere, or give an empty or new output folder",
        out.display()
    )]
    NotImagedefs { out: PathBuf, reason: String },
    /// A file-system call failed.
    #[error("{}", op.describe(path))]
    Io {
        op: Op,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl WriteError {
    /// An [`WriteError::Io`] for `op` on `path`.
    pub fn io(op: Op, path: impl Into<PathBuf>, source: impl Into<std::io::Error>) -> WriteError {
        WriteError::Io {
            op,
            path: path.into(),
            source: source.into(),
        }
    }

    /// True when the file system refused the call for want of permission (or is read-only).
    #[must_use]
    pub fn is_denied(&self) -> bool {
        matches!(self, WriteError::Io { source, .. } if matches!(
            source.kind(),
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
        ))
    }
}

/// What a failed file-system call was doing; each worded around the path it was done to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Creating a staging folder.
    CreateStage,
    CreateFolder,
    /// Creating a folder that single-image mode needs (and removes again on failure).
    CreateDirectory,
    CreateFile,
    /// Creating a temporary file in a folder (single-image mode).
    CreateTemp,
    Write,
    SetPermissions,
    Flush,
    Lock,
    OpenFolder,
    Read,
    Remove,
    Resolve,
    MoveAside,
    PutBack,
    /// Moving a staged entry into OUT (entry by entry).
    MoveIntoPlace,
    /// Exchanging the stage with OUT.
    Swap,
    /// Renaming the stage to OUT.
    MoveIn,
    /// Renaming a temporary file onto its target (single-image mode).
    RenameTemp,
    /// Keeping a backup of a file that is being replaced (single-image mode).
    Backup,
    /// Removing the previous generation once the new one is in place.
    RemovePrevious,
    /// Removing the stage once the new generation is in place.
    RemoveStage,
}

impl Op {
    fn describe(self, path: &Path) -> String {
        let p = path.display();
        match self {
            Op::CreateStage => format!("cannot create {p}; check that the folder is writable"),
            Op::CreateFolder => format!("cannot create folder {p}"),
            Op::CreateDirectory => {
                format!("cannot create directory {p}; check that its parent is writable")
            }
            Op::CreateFile => format!("cannot create {p}"),
            Op::CreateTemp => format!("cannot create a file in {p}; check that it is writable"),
            Op::Write => format!("cannot write {p}"),
            Op::SetPermissions => format!("cannot set permissions of {p}"),
            Op::Flush => format!("cannot flush {p} to disk"),
            Op::Lock => format!("cannot lock {p}"),
            Op::OpenFolder => format!("cannot open folder {p}"),
            Op::Read => format!("cannot read {p}"),
            Op::Remove => format!("cannot remove {p}"),
            Op::Resolve => format!("cannot resolve the output folder {p}"),
            Op::MoveAside => format!("cannot move {p} aside"),
            Op::PutBack => format!("cannot put {p} back"),
            Op::MoveIntoPlace => format!("cannot move {p} into place"),
            Op::Swap => format!("cannot swap the new output into {p}"),
            Op::MoveIn => format!("cannot move the new output to {p}"),
            Op::RenameTemp => format!(
                "cannot rename a temporary file to {p}; every file written before it was put back"
            ),
            Op::Backup => format!("cannot keep a backup of {p} while replacing it"),
            Op::RemovePrevious => format!(
                "the new output is in place, but the previous one at {p} could not be removed"
            ),
            Op::RemoveStage => format!("the new output is in place, but {p} could not be removed"),
        }
    }
}

/// A running process, as `/proc` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    pub pid: u32,
    /// Its command line (or its name, when the command line is hidden or empty).
    pub command: Option<String>,
    /// Its state when that says why it does not finish: `stopped`, `traced`, `a zombie`.
    pub state: Option<&'static str>,
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pid {}", self.pid)?;
        match (&self.command, self.state) {
            (Some(command), Some(state)) => write!(f, " ({command:?}, {state})"),
            (Some(command), None) => write!(f, " ({command:?})"),
            (None, Some(state)) => write!(f, " ({state})"),
            (None, None) => Ok(()),
        }
    }
}

/// `a, b, c and 7 more`.
pub(crate) fn listing(paths: &[String]) -> String {
    let shown = paths[..paths.len().min(LISTED)].join(", ");
    match paths.len().checked_sub(LISTED) {
        Some(more) if more > 0 => format!("{shown} and {more} more"),
        _ => shown,
    }
}

/// `Result::map_err` for a file-system call: `.at(Op::Write, &path)?`.
pub(crate) trait At<T> {
    fn at(self, op: Op, path: &Path) -> Result<T, WriteError>;
}

impl<T, E: Into<std::io::Error>> At<T> for Result<T, E> {
    fn at(self, op: Op, path: &Path) -> Result<T, WriteError> {
        self.map_err(|e| WriteError::io(op, path, e))
    }
}
