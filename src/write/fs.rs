//! File-system helpers for the generation swap: folders opened as descriptors, flushes, listings
//! and removals, each failure a [`WriteError`].

use std::fs;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{Mode, OFlags};

use super::error::{At as _, Op, WriteError};

/// `path` with `.` and `..` folded away, without touching the filesystem.
pub(crate) fn normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

pub(super) fn open_dir(path: &Path) -> Result<OwnedFd, WriteError> {
    rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .at(Op::OpenFolder, path)
}

/// Makes the renames in a folder durable.
pub(super) fn sync_dir(dir: &OwnedFd, path: &Path) -> Result<(), WriteError> {
    rustix::fs::fsync(dir).at(Op::Flush, path)
}

pub(super) fn is_mount_point(path: &Path) -> bool {
    match (fs::metadata(path), path.parent().map(fs::metadata)) {
        (Ok(me), Some(Ok(parent))) => me.dev() != parent.dev(),
        _ => false,
    }
}

pub(super) fn entries(dir: &Path) -> Result<Vec<String>, WriteError> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).at(Op::Read, dir)? {
        let entry = entry.at(Op::Read, dir)?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

pub(super) fn remove_any(path: &Path) -> Result<(), WriteError> {
    let meta = fs::symlink_metadata(path).at(Op::Read, path)?;
    if meta.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
    .at(Op::Remove, path)
}
