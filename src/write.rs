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

/// `SHA256SUMS` in the format `sha256sum -c` reads: `<hex>  <path>`, sorted by path.
#[must_use]
pub fn sha256sums(files: &[OutFile]) -> OutFile {
    let mut lines: Vec<String> = files
        .iter()
        .map(|f| format!("{}  {}\n", f.digest().hex(), f.path))
        .collect();
    lines.sort_by(|a, b| a[66..].cmp(&b[66..]));
    OutFile::new("SHA256SUMS", lines.concat().into_bytes())
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
        staged.push((tmp, target));
    }
    for (tmp, target) in staged {
        tmp.persist(&target)
            .map_err(|e| e.error)
            .with_context(|| format!("cannot rename a temporary file to {}", target.display()))?;
    }
    Ok(())
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
    fn sha256sums_are_sorted_by_path() {
        let sums = sha256sums(&[
            OutFile::new("b/x", b"1".to_vec()),
            OutFile::new("a/y", b"2".to_vec()),
        ]);
        let text = String::from_utf8(sums.bytes).unwrap();
        let paths: Vec<_> = text.lines().map(|l| &l[66..]).collect();
        assert_eq!(paths, ["a/y", "b/x"]);
        assert!(text.starts_with(&Digest::of(b"2").hex()));
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
