//! Writing outputs so that nothing is half-written.
//!
//! - [`generation`]: mapping mode, where OUT belongs to imagedef: the whole generation staged
//!   beside OUT and swapped in at once. It asks `ownership` whether OUT is imagedef's (the dry
//!   run asks only that), `swap` to stage and swap, both on the helpers in `fs`.
//! - [`error`]: why a write was refused or failed, as [`WriteError`].
//! - [`commit`] here: single-image mode, which writes into a folder it does not own (often the
//!   source root): every file goes to a temporary file beside its target first, and only when all
//!   are written are they renamed into place, each rename atomic. A failed rename puts back what
//!   was already moved. The temporary files and backups carry imagedef's name and the process id
//!   (`.<file>.imagedef-<pid>-....tmp`, `.<file>.imagedef-<pid>.old`); the next run removes those
//!   of processes that are gone, and never anything else.

pub mod error;
mod fs;
pub mod generation;
pub mod lock;
mod ownership;
mod swap;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use error::At as _;
pub use error::{Op, WriteError};
pub(crate) use fs::normal;

/// One file to write: its path under the folder written to (`/`-separated, as OUT's names are)
/// and its bytes, borrowed from whoever made them (the output stage, the JUnit report).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct File<'a> {
    pub path: &'a str,
    pub bytes: &'a [u8],
}

/// Writes every file under `out`, or none of them. Directories that had to be created are removed
/// again on failure; files already in `out` that are not in `files` are never touched.
pub fn commit(out: &Path, files: &[File<'_>]) -> anyhow::Result<()> {
    commit_files(out, files).map_err(anyhow::Error::from)
}

/// [`commit`], with the reason typed.
pub fn commit_files(out: &Path, files: &[File<'_>]) -> Result<(), WriteError> {
    let mut created_dirs = Vec::new();
    let result = stage_and_rename(out, files, &mut created_dirs);
    if result.is_err() {
        for dir in created_dirs.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
    result
}

fn stage_and_rename(
    out: &Path,
    files: &[File<'_>],
    created_dirs: &mut Vec<PathBuf>,
) -> Result<(), WriteError> {
    let mut staged = Vec::with_capacity(files.len());
    for file in files {
        let target = out.join(file.path);
        if target.is_dir() {
            return Err(WriteError::TargetIsFolder { path: target });
        }
        let parent = target.parent().unwrap_or(out);
        create_dirs(parent, created_dirs)?;
        remove_leftovers(parent, &file_name(&target));
        let mut tmp = tempfile::Builder::new()
            .prefix(&format!(
                ".{}.imagedef-{}-",
                file_name(&target),
                std::process::id()
            ))
            .suffix(".tmp")
            .tempfile_in(parent)
            .at(Op::CreateTemp, parent)?;
        tmp.write_all(file.bytes)
            .and_then(|()| tmp.as_file().sync_data())
            .at(Op::Write, tmp.path())?;
        set_readable(tmp.path())?;
        staged.push((tmp.into_temp_path(), target));
    }
    replace_all(staged, |from, to| std::fs::rename(from, to))
}

/// Moves every staged file onto its target with `mv`. If one move fails, the moves already made
/// are undone: a replaced file gets its earlier bytes back from a backup (a hard link to it made
/// before the move, so the target itself is never absent), a new file is removed.
fn replace_all(
    staged: Vec<(tempfile::TempPath, PathBuf)>,
    mv: impl Fn(&Path, &Path) -> std::io::Result<()>,
) -> Result<(), WriteError> {
    // (target, backup of what it held before)
    let mut done: Vec<(&Path, Option<PathBuf>)> = Vec::with_capacity(staged.len());
    let mut failure = None;
    for (tmp, target) in &staged {
        let backup = match back_up(target) {
            Ok(backup) => backup,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        match mv(tmp, target) {
            Ok(()) => done.push((target, backup)),
            Err(e) => {
                if let Some(b) = &backup {
                    let _ = std::fs::remove_file(b);
                }
                failure = Some(WriteError::io(Op::RenameTemp, target, e));
                break;
            }
        }
    }
    for (target, backup) in done.iter().rev() {
        match (&failure, backup) {
            (None, Some(b)) => {
                let _ = std::fs::remove_file(b);
            }
            (None, None) => {}
            (Some(_), Some(b)) => {
                let _ = mv(b, target);
            }
            (Some(_), None) => {
                let _ = std::fs::remove_file(target);
            }
        }
    }
    match failure {
        None => {
            // The temporary paths were moved away: nothing left to delete.
            for (tmp, _) in staged {
                let _ = tmp.keep();
            }
            Ok(())
        }
        Some(e) => Err(e),
    }
}

/// A backup of what `target` holds now (a file or a symlink, never followed), or `None` when there
/// is nothing there: a hard link, so the target is never absent; where the filesystem refuses
/// hard links, the target itself is moved aside.
fn back_up(target: &Path) -> Result<Option<PathBuf>, WriteError> {
    if std::fs::symlink_metadata(target).is_err() {
        return Ok(None);
    }
    let backup = target.with_file_name(format!(
        ".{}.imagedef-{}.old",
        file_name(target),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&backup);
    std::fs::hard_link(target, &backup)
        .or_else(|_| std::fs::rename(target, &backup))
        .at(Op::Backup, target)?;
    Ok(Some(backup))
}

/// Removes the temporary files and backups for `name` in `dir` that an earlier imagedef process,
/// now gone, left behind.
fn remove_leftovers(dir: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let other = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = leftover_pid(&other, name)
            && !Path::new("/proc").join(pid.to_string()).exists()
            && entry.file_type().is_ok_and(|t| t.is_file())
        {
            tracing::debug!("removing {other}, left by an interrupted imagedef run");
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The process id in `.<name>.imagedef-<pid>-<random>.tmp` or `.<name>.imagedef-<pid>.old`.
fn leftover_pid(candidate: &str, name: &str) -> Option<u32> {
    let rest = candidate
        .strip_prefix('.')?
        .strip_prefix(name)?
        .strip_prefix(".imagedef-")?;
    let (pid, tail) = rest.split_at(rest.find(|c: char| !c.is_ascii_digit())?);
    let ours = tail == ".old"
        || tail
            .strip_prefix('-')
            .and_then(|t| t.strip_suffix(".tmp"))
            .is_some_and(|random| {
                !random.is_empty() && random.bytes().all(|b| b.is_ascii_alphanumeric())
            });
    ours.then(|| pid.parse().ok()).flatten()
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

/// Creates `dir` and its missing parents, remembering which it created.
fn create_dirs(dir: &Path, created: &mut Vec<PathBuf>) -> Result<(), WriteError> {
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(d) = at {
        if d.as_os_str().is_empty() || d.exists() {
            if !d.as_os_str().is_empty() && !d.is_dir() {
                return Err(WriteError::NotAFolder {
                    path: d.to_path_buf(),
                });
            }
            break;
        }
        if let Ok(target) = std::fs::read_link(d) {
            return Err(WriteError::DanglingLink {
                path: d.to_path_buf(),
                target,
            });
        }
        missing.push(d.to_path_buf());
        at = d.parent();
    }
    for d in missing.into_iter().rev() {
        std::fs::create_dir(&d).at(Op::CreateDirectory, &d)?;
        created.push(d);
    }
    Ok(())
}

/// Temporary files are created 0600; outputs are ordinary 0644 files.
fn set_readable(path: &Path) -> Result<(), WriteError> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
        .at(Op::SetPermissions, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut left: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        left
    }

    #[test]
    fn a_rename_that_fails_midway_puts_every_file_back() {
        use std::cell::Cell;
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path();
        std::fs::write(out.join("a.json"), b"old a").unwrap();
        let stage = |name: &str, bytes: &[u8]| {
            let mut t = tempfile::Builder::new()
                .prefix(&format!(".{name}.imagedef-1-"))
                .suffix(".tmp")
                .tempfile_in(out)
                .unwrap();
            t.write_all(bytes).unwrap();
            (t.into_temp_path(), out.join(name))
        };
        let staged = vec![
            stage("a.json", b"new a"),
            stage("b.json", b"new b"),
            stage("c.json", b"new c"),
        ];
        // Moves of temporary files: the third one fails.
        let temp_moves = Cell::new(0);
        let mv = |from: &Path, to: &Path| {
            if from.to_string_lossy().ends_with(".tmp") {
                temp_moves.set(temp_moves.get() + 1);
                if temp_moves.get() == 3 {
                    return Err(std::io::Error::other("disk on fire"));
                }
            }
            std::fs::rename(from, to)
        };
        let e = replace_all(staged, mv).unwrap_err();
        assert!(
            matches!(&e, WriteError::Io { op: Op::RenameTemp, path, .. } if *path == out.join("c.json")),
            "{e:?}"
        );
        assert_eq!(names(out), ["a.json"]);
        assert_eq!(std::fs::read(out.join("a.json")).unwrap(), b"old a");
    }

    #[test]
    fn a_failure_leaves_nothing_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        std::fs::create_dir_all(out.join("svc/imagedefinitions.json")).unwrap();
        let files = [
            File {
                path: "new/a.json",
                bytes: b"{}",
            },
            File {
                path: "svc/imagedefinitions.json",
                bytes: b"[]",
            },
        ];
        assert!(matches!(
            commit_files(&out, &files),
            Err(WriteError::TargetIsFolder { path }) if path == out.join("svc/imagedefinitions.json")
        ));
        assert!(!out.join("new").exists());
        let left: Vec<_> = std::fs::read_dir(out.join("svc")).unwrap().collect();
        assert_eq!(left.len(), 1, "{left:?}");
    }

    #[test]
    fn only_leftovers_of_gone_imagedef_processes_are_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let gone = u32::MAX; // above any pid limit: never a live process
        let live = std::process::id();
        for name in [
            format!(".imagedefinitions.json.imagedef-{gone}-aB3xYz.tmp"),
            format!(".imagedefinitions.json.imagedef-{gone}.old"),
            format!(".imagedefinitions.json.imagedef-{live}-aB3xYz.tmp"),
            ".imagedefinitions.json.imagedef-backup".to_owned(),
            ".imagedefinitions.json.imagedef-12.tmp".to_owned(),
            format!(".SHA256SUMS.imagedef-{gone}.old"),
            "imagedefinitions.json".to_owned(),
        ] {
            std::fs::write(dir.join(name), "x").unwrap();
        }
        remove_leftovers(dir, "imagedefinitions.json");
        let mut kept = vec![
            format!(".SHA256SUMS.imagedef-{gone}.old"),
            ".imagedefinitions.json.imagedef-12.tmp".to_owned(),
            format!(".imagedefinitions.json.imagedef-{live}-aB3xYz.tmp"),
            ".imagedefinitions.json.imagedef-backup".to_owned(),
            "imagedefinitions.json".to_owned(),
        ];
        kept.sort();
        assert_eq!(names(dir), kept);
    }

    #[test]
    fn a_dangling_symlink_in_the_way_is_put_back_on_failure_not_deleted() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path();
        std::os::unix::fs::symlink("nowhere", out.join("a.json")).unwrap();
        let stage = |name: &str| {
            let t = tempfile::Builder::new()
                .prefix(&format!(".{name}.imagedef-1-"))
                .suffix(".tmp")
                .tempfile_in(out)
                .unwrap();
            (t.into_temp_path(), out.join(name))
        };
        let staged = vec![stage("a.json"), stage("b.json")];
        let mv = |from: &Path, to: &Path| {
            if to.ends_with("b.json") {
                return Err(std::io::Error::other("disk on fire"));
            }
            std::fs::rename(from, to)
        };
        assert!(replace_all(staged, mv).is_err());
        assert_eq!(
            std::fs::read_link(out.join("a.json")).unwrap(),
            Path::new("nowhere")
        );
        assert_eq!(names(out), ["a.json"]);
    }
}
