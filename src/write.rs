//! Writing outputs all-or-nothing: every file goes to a temporary file beside its target first,
//! and only when all of them are written are they renamed into place.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::model::Digest;

/// One file to write, relative to the output directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutFile {
    /// The path under the output directory, `/`-separated.
    pub path: String,
    pub bytes: Vec<u8>,
}

impl OutFile {
    #[must_use]
    pub fn new(path: impl Into<String>, bytes: Vec<u8>) -> OutFile {
        OutFile {
            path: path.into(),
            bytes,
        }
    }

    #[must_use]
    pub fn digest(&self) -> Digest {
        Digest::of(&self.bytes)
    }
}

/// Writes every file under `out`, or none of them. Directories that had to be created are removed
/// again on failure; files already in `out` that are not in `files` are never touched.
pub fn commit(out: &Path, files: &[OutFile]) -> anyhow::Result<()> {
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
    files: &[OutFile],
    created_dirs: &mut Vec<PathBuf>,
) -> anyhow::Result<()> {
    let mut staged = Vec::with_capacity(files.len());
    for file in files {
        let target = out.join(&file.path);
        if target.is_dir() {
            bail!(
                "{} is a directory, so imagedef cannot write its file there; remove or rename it",
                target.display()
            );
        }
        let parent = target.parent().unwrap_or(out);
        create_dirs(parent, created_dirs)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".imagedef-")
            .suffix(".tmp")
            .tempfile_in(parent)
            .with_context(|| {
                format!(
                    "cannot create a file in {}; check that it is writable",
                    parent.display()
                )
            })?;
        tmp.write_all(&file.bytes)
            .and_then(|()| tmp.as_file().sync_data())
            .with_context(|| format!("cannot write {}", tmp.path().display()))?;
        set_readable(tmp.path())?;
        staged.push((tmp.into_temp_path(), target));
    }
    replace_all(staged, |from, to| std::fs::rename(from, to))
}

/// Moves every staged file onto its target with `mv`. If one move fails, the moves already made
/// are undone: a replaced file gets its earlier bytes back from a backup, a new file is removed.
fn replace_all(
    staged: Vec<(tempfile::TempPath, PathBuf)>,
    mv: impl Fn(&Path, &Path) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    // (target, backup of what it held before)
    let mut done: Vec<(&Path, Option<PathBuf>)> = Vec::with_capacity(staged.len());
    let mut failure = None;
    for (tmp, target) in &staged {
        let backup = target.exists().then(|| backup_path(target));
        let moved = match &backup {
            Some(b) => mv(target, b).and_then(|()| {
                mv(tmp, target).inspect_err(|_| {
                    let _ = mv(b, target);
                })
            }),
            None => mv(tmp, target),
        };
        match moved {
            Ok(()) => done.push((target, backup)),
            Err(e) => {
                failure = Some(anyhow::Error::new(e).context(format!(
                    "cannot rename a temporary file to {}; every file written before it was put back",
                    target.display()
                )));
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

/// Where a file that is about to be replaced waits until every file is in place.
fn backup_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    target.with_file_name(format!(".{name}.imagedef-backup"))
}

/// Creates `dir` and its missing parents, remembering which it created.
fn create_dirs(dir: &Path, created: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(d) = at {
        if d.as_os_str().is_empty() || d.exists() {
            if !d.as_os_str().is_empty() && !d.is_dir() {
                bail!(
                    "{} is not a directory, so imagedef cannot write inside it; pass another --out",
                    d.display()
                );
            }
            break;
        }
        missing.push(d.to_path_buf());
        at = d.parent();
    }
    for d in missing.into_iter().rev() {
        std::fs::create_dir(&d).with_context(|| {
            format!(
                "cannot create directory {}; check that its parent is writable",
                d.display()
            )
        })?;
        created.push(d);
    }
    Ok(())
}

/// Temporary files are created 0600; outputs are ordinary 0644 files.
fn set_readable(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("cannot set permissions of {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rename_that_fails_midway_puts_every_file_back() {
        use std::cell::Cell;
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path();
        std::fs::write(out.join("a.json"), b"old a").unwrap();
        let stage = |name: &str, bytes: &[u8]| {
            let mut t = tempfile::Builder::new()
                .prefix(".imagedef-")
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
            if from
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".imagedef-")
                && !from.to_string_lossy().ends_with("-backup")
            {
                temp_moves.set(temp_moves.get() + 1);
                if temp_moves.get() == 3 {
                    return Err(std::io::Error::other("disk on fire"));
                }
            }
            std::fs::rename(from, to)
        };
        let e = replace_all(staged, mv).unwrap_err();
        assert!(
            format!("{e:#}").contains("c.json; every file written before it was put back"),
            "{e:#}"
        );
        let mut left: Vec<String> = std::fs::read_dir(out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["a.json"]);
        assert_eq!(std::fs::read(out.join("a.json")).unwrap(), b"old a");
    }

    #[test]
    fn a_failure_leaves_nothing_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        std::fs::create_dir_all(out.join("svc/imagedefinitions.json")).unwrap();
        let files = [
            OutFile::new("new/a.json", b"{}".to_vec()),
            OutFile::new("svc/imagedefinitions.json", b"[]".to_vec()),
        ];
        assert!(commit(&out, &files).is_err());
        assert!(!out.join("new").exists());
        let left: Vec<_> = std::fs::read_dir(out.join("svc")).unwrap().collect();
        assert_eq!(left.len(), 1, "{left:?}");
    }
}
