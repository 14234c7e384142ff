//! Mapping mode's output: OUT belongs to imagedef and is replaced as a whole, one generation at a
//! time.
//!
//! 1. Lock: an exclusive `flock` on OUT's parent directory, so two runs never interleave (the
//!    second waits, saying so).
//! 2. Recover: leftovers of a killed run beside OUT (`.<OUT>.imagedef-stage-<pid>`,
//!    `.<OUT>.imagedef-old-<pid>`) are removed; a previous generation set aside by the fallback
//!    below is put back first when OUT itself is missing.
//! 3. Check: every file in OUT must be one the previous generation's `SHA256SUMS` lists (or that
//!    file itself); anything else is refused, naming it, before anything changes.
//! 4. Stage the whole new generation beside OUT, make it durable with one `syncfs`, and swap it in
//!    with `renameat2(RENAME_EXCHANGE)`: at every instant OUT is exactly the old or the new
//!    generation. The old one, now at the staging path, is removed.
//!
//! Fallbacks, where the exchange is refused: a filesystem without `RENAME_EXCHANGE` gets two
//! renames (OUT to `.<OUT>.imagedef-old-<pid>`, the stage to OUT; a kill between them leaves OUT
//! missing for an instant, and the next run puts the old generation back); an OUT that is a mount
//! point (which cannot be renamed) is staged inside itself and swapped entry by entry, each
//! top-level entry atomically, the generation as a whole not.

use std::fs;
use std::io::Write as _;
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context as _, bail};
use rustix::fs::{FlockOperation, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

use super::OutFile;
use crate::model::deploy::{SHA256SUMS, Sha256Sums};

/// How many foreign paths a refusal lists before it counts the rest.
const LISTED: usize = 10;

/// Replaces the generation in `out` with `files`, or changes nothing.
pub fn replace(out: &Path, files: &[OutFile]) -> anyhow::Result<()> {
    let out = Out::locate(out)?;
    let parent = open_dir(&out.parent)?;
    lock(&parent, &out.parent)?;
    recover(&out)?;
    refuse_foreign(&out.path)?;
    match out.stage_and_swap(&parent, files) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = fs::remove_dir_all(out.beside("stage"));
            Err(e)
        }
    }
}

/// OUT as an absolute path, split into its parent and its name.
struct Out {
    path: PathBuf,
    parent: PathBuf,
    name: String,
}

impl Out {
    fn locate(out: &Path) -> anyhow::Result<Out> {
        if let Ok(meta) = fs::symlink_metadata(out)
            && meta.file_type().is_symlink()
        {
            let target =
                fs::read_link(out).map_or_else(|_| "?".to_owned(), |t| t.display().to_string());
            let state = if out.exists() {
                ""
            } else {
                ", which does not exist"
            };
            bail!(
                "--out {} is a symbolic link to {target}{state}; mapping mode replaces OUT as a whole, so give the directory itself",
                out.display()
            );
        }
        if matches!(
            out.components().next_back(),
            None | Some(Component::CurDir | Component::ParentDir | Component::RootDir)
        ) {
            bail!(
                "--out {} names the current, parent or root directory; mapping mode replaces OUT as a whole, so give a folder of its own such as imagedef-out",
                out.display()
            );
        }
        let absolute = std::path::absolute(out)
            .with_context(|| format!("cannot resolve --out {}", out.display()))?;
        let (Some(parent), Some(name)) = (absolute.parent(), absolute.file_name()) else {
            bail!(
                "--out {} has no parent directory; mapping mode stages the new output beside OUT, so give a folder such as imagedef-out",
                out.display()
            );
        };
        let name = name.to_string_lossy().into_owned();
        let parent = parent.to_path_buf();
        create_parents(&parent)?;
        Ok(Out {
            path: parent.join(&name),
            parent,
            name,
        })
    }

    /// `.<name>.imagedef-<what>-<pid>`, beside OUT.
    fn beside(&self, what: &str) -> PathBuf {
        self.parent.join(format!(
            ".{}.imagedef-{what}-{}",
            self.name,
            std::process::id()
        ))
    }

    fn stage_and_swap(&self, parent: &OwnedFd, files: &[OutFile]) -> anyhow::Result<()> {
        let stage = self.beside("stage");
        let exists = self.path.is_dir();
        if exists && is_mount_point(&self.path) {
            return self.swap_in_place(files);
        }
        stage_files(&stage, files)?;
        let stage_name = file_name(&stage);
        if !exists {
            rustix::fs::renameat_with(
                parent,
                &stage_name,
                parent,
                &self.name,
                RenameFlags::NOREPLACE,
            )
            .map_err(std::io::Error::from)
            .with_context(|| {
                format!(
                    "cannot move the new output into place at {}",
                    self.path.display()
                )
            })?;
            return sync_dir(parent, &self.parent);
        }
        match rustix::fs::renameat_with(
            parent,
            &stage_name,
            parent,
            &self.name,
            RenameFlags::EXCHANGE,
        ) {
            Ok(()) => {}
            Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {
                tracing::debug!(
                    "the filesystem of {} cannot exchange two directories; replacing OUT with two renames",
                    self.parent.display()
                );
                let old = self.beside("old");
                fs::rename(&self.path, &old)
                    .with_context(|| format!("cannot move {} aside", self.path.display()))?;
                if let Err(e) = fs::rename(&stage, &self.path) {
                    let _ = fs::rename(&old, &self.path);
                    return Err(e).with_context(|| {
                        format!(
                            "cannot move the new output into place at {}",
                            self.path.display()
                        )
                    });
                }
                sync_dir(parent, &self.parent)?;
                let _ = fs::remove_dir_all(&old);
                return Ok(());
            }
            Err(e) => {
                return Err(std::io::Error::from(e)).with_context(|| {
                    format!("cannot swap the new output into {}", self.path.display())
                });
            }
        }
        sync_dir(parent, &self.parent)?;
        // The previous generation now sits at the staging path.
        fs::remove_dir_all(&stage).with_context(|| {
            format!(
                "the new output is in place, but the previous one at {} could not be removed",
                stage.display()
            )
        })
    }

    /// OUT is a mount point: stage inside it, then replace its top-level entries one by one.
    fn swap_in_place(&self, files: &[OutFile]) -> anyhow::Result<()> {
        tracing::debug!(
            "{} is a mount point, which cannot be swapped as a whole; replacing its entries one by one",
            self.path.display()
        );
        let stage = self
            .path
            .join(format!(".imagedef-stage-{}", std::process::id()));
        stage_files(&stage, files)?;
        let out = open_dir(&self.path)?;
        let stage_dir = open_dir(&stage)?;
        let new: Vec<String> = entries(&stage)?;
        for name in &new {
            let target = self.path.join(name);
            let flags =
                if target.is_dir() && !fs::symlink_metadata(&target)?.file_type().is_symlink() {
                    RenameFlags::EXCHANGE
                } else {
                    RenameFlags::empty()
                };
            rustix::fs::renameat_with(&stage_dir, name.as_str(), &out, name.as_str(), flags)
                .map_err(std::io::Error::from)
                .with_context(|| format!("cannot move {} into place", target.display()))?;
        }
        for name in entries(&self.path)? {
            if name.starts_with(".imagedef-stage-") || new.contains(&name) {
                continue;
            }
            remove_any(&self.path.join(&name))?;
        }
        fs::remove_dir_all(&stage)?;
        sync_dir(&out, &self.path)
    }
}

/// Writes every file under `stage` (a new directory), then makes all of it durable at once.
fn stage_files(stage: &Path, files: &[OutFile]) -> anyhow::Result<()> {
    fs::create_dir(stage).with_context(|| {
        format!(
            "cannot create {}; check that the folder is writable",
            stage.display()
        )
    })?;
    for file in files {
        let path = stage.join(&file.path);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)
                .with_context(|| format!("cannot create directory {}", dir.display()))?;
        }
        let mut f =
            fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        f.write_all(&file.bytes)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    // One flush of the filesystem instead of one per file; directories included.
    let dir = open_dir(stage)?;
    rustix::fs::syncfs(&dir)
        .map_err(std::io::Error::from)
        .with_context(|| format!("cannot flush {} to disk", stage.display()))
}

/// Waits for the lock on OUT's parent, saying so when another run holds it.
fn lock(parent: &OwnedFd, path: &Path) -> anyhow::Result<()> {
    match rustix::fs::flock(parent, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => return Ok(()),
        Err(Errno::WOULDBLOCK) => {}
        Err(e) => {
            return Err(std::io::Error::from(e))
                .with_context(|| format!("cannot lock {}", path.display()));
        }
    }
    tracing::warn!(
        "another imagedef run is writing its output into {}; waiting for it to finish",
        path.display()
    );
    rustix::fs::flock(parent, FlockOperation::LockExclusive)
        .map_err(std::io::Error::from)
        .with_context(|| format!("cannot lock {}", path.display()))
}

/// Removes what killed runs left beside OUT; puts a generation set aside back when OUT is gone.
fn recover(out: &Out) -> anyhow::Result<()> {
    let prefix = format!(".{}.imagedef-", out.name);
    let mut aside = Vec::new();
    for name in entries(&out.parent)? {
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        let path = out.parent.join(&name);
        if rest.starts_with("old-") && !out.path.exists() {
            aside.push(path);
        } else if rest.starts_with("stage-") || rest.starts_with("old-") {
            tracing::debug!("removing {}, left by an interrupted run", path.display());
            remove_any(&path)?;
        }
    }
    if let Some(old) = aside.pop() {
        tracing::warn!(
            "{} is missing and an interrupted run left the previous output at {}; putting it back",
            out.path.display(),
            old.display()
        );
        fs::rename(&old, &out.path)
            .with_context(|| format!("cannot put {} back", old.display()))?;
        for other in aside {
            remove_any(&other)?;
        }
    }
    if out.path.is_dir() {
        for name in entries(&out.path)? {
            if name.starts_with(".imagedef-stage-") {
                remove_any(&out.path.join(name))?;
            }
        }
    }
    Ok(())
}

/// Refuses when OUT holds anything the previous generation's `SHA256SUMS` does not account for.
fn refuse_foreign(out: &Path) -> anyhow::Result<()> {
    let meta = match fs::symlink_metadata(out) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", out.display())),
    };
    if !meta.is_dir() {
        bail!(
            "{} is not a directory, so imagedef cannot write inside it; pass another --out",
            out.display()
        );
    }
    let sums_path = out.join(SHA256SUMS);
    let sums = if sums_path.is_file() {
        let bytes = crate::input::read_named(&sums_path, 64 * 1024 * 1024, SHA256SUMS)
            .map_err(anyhow::Error::msg)?;
        Sha256Sums::parse(&bytes).map_err(|e| {
            anyhow::anyhow!(
                "{}: {e}; it cannot say which files of {} imagedef wrote, so nothing was changed: remove OUT, or pick another --out",
                sums_path.display(),
                out.display()
            )
        })?
    } else {
        Sha256Sums::default()
    };
    let mut foreign = Vec::new();
    for entry in walkdir::WalkDir::new(out).min_depth(1).sort_by_file_name() {
        let entry = entry.with_context(|| format!("cannot read {}", out.display()))?;
        let rel = entry
            .path()
            .strip_prefix(out)
            .expect("below OUT")
            .to_string_lossy()
            .into_owned();
        let ours = if entry.file_type().is_dir() {
            let prefix = format!("{rel}/");
            sums.paths().any(|p| p.starts_with(&prefix))
        } else if entry.file_type().is_file() {
            rel == SHA256SUMS || sums.get(&rel).is_some()
        } else {
            false
        };
        if !ours {
            foreign.push(rel);
        }
    }
    if foreign.is_empty() {
        return Ok(());
    }
    let more = foreign
        .len()
        .checked_sub(LISTED)
        .filter(|n| *n > 0)
        .map(|n| format!(" and {n} more"))
        .unwrap_or_default();
    foreign.truncate(LISTED);
    bail!(
        "{} holds {} that imagedef did not write ({}{more}), so nothing was changed: in mapping mode OUT belongs to imagedef and is replaced as a whole; move them elsewhere, or pick an empty or new --out",
        out.display(),
        if more.is_empty() && foreign.len() == 1 {
            "a path"
        } else {
            "paths"
        },
        foreign.join(", ")
    )
}

fn open_dir(path: &Path) -> anyhow::Result<OwnedFd> {
    rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(std::io::Error::from)
    .with_context(|| format!("cannot open directory {}", path.display()))
}

/// Makes the renames in a directory durable.
fn sync_dir(dir: &OwnedFd, path: &Path) -> anyhow::Result<()> {
    rustix::fs::fsync(dir)
        .map_err(std::io::Error::from)
        .with_context(|| format!("cannot flush {} to disk", path.display()))
}

fn create_parents(parent: &Path) -> anyhow::Result<()> {
    if parent.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(parent).with_context(|| {
        format!(
            "cannot create directory {}; check that its parent is writable",
            parent.display()
        )
    })
}

fn is_mount_point(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    match (fs::metadata(path), path.parent().map(fs::metadata)) {
        (Ok(me), Some(Ok(parent))) => me.dev() != parent.dev(),
        _ => false,
    }
}

fn entries(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

fn remove_any(path: &Path) -> anyhow::Result<()> {
    let meta = fs::symlink_metadata(path)?;
    if meta.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
    .with_context(|| format!("cannot remove {}", path.display()))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(names: &[(&str, &str)]) -> Vec<OutFile> {
        let mut files: Vec<OutFile> = names
            .iter()
            .map(|(p, b)| OutFile::new(*p, b.as_bytes().to_vec()))
            .collect();
        let sums = Sha256Sums::of(files.iter().map(|f| (f.path.as_str(), f.digest())));
        files.push(OutFile::new(SHA256SUMS, sums.to_bytes()));
        files
    }

    fn tree(dir: &Path) -> Vec<(String, String)> {
        walkdir::WalkDir::new(dir)
            .min_depth(1)
            .sort_by_file_name()
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                (
                    e.path()
                        .strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                    fs::read_to_string(e.path()).unwrap(),
                )
            })
            .filter(|(p, _)| p != SHA256SUMS)
            .collect()
    }

    #[test]
    fn a_generation_replaces_the_last_and_drops_what_it_no_longer_has() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        replace(&out, &files(&[("web/a.json", "1"), ("api/a.json", "2")])).unwrap();
        replace(&out, &files(&[("web/a.json", "3")])).unwrap();
        assert_eq!(tree(&out), [("web/a.json".to_owned(), "3".to_owned())]);
        let left: Vec<String> = entries(tmp.path()).unwrap();
        assert_eq!(left, ["out"], "nothing beside OUT");
    }

    #[test]
    fn a_foreign_file_is_refused_and_nothing_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        replace(&out, &files(&[("web/a.json", "1")])).unwrap();
        fs::write(out.join("web/notes.txt"), "mine").unwrap();
        let e = replace(&out, &files(&[("web/a.json", "2")])).unwrap_err();
        assert!(
            format!("{e:#}").contains("did not write (web/notes.txt)"),
            "{e:#}"
        );
        assert_eq!(fs::read_to_string(out.join("web/a.json")).unwrap(), "1");
        assert_eq!(entries(tmp.path()).unwrap(), ["out"]);
    }

    #[test]
    fn leftovers_of_a_killed_run_are_removed_and_a_set_aside_generation_comes_back() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        replace(&out, &files(&[("web/a.json", "1")])).unwrap();
        // A run killed between the two renames of the fallback: OUT gone, the old one aside.
        fs::rename(&out, tmp.path().join(".out.imagedef-old-999999")).unwrap();
        fs::create_dir(tmp.path().join(".out.imagedef-stage-999998")).unwrap();
        replace(&out, &files(&[("web/a.json", "2")])).unwrap();
        assert_eq!(tree(&out), [("web/a.json".to_owned(), "2".to_owned())]);
        assert_eq!(entries(tmp.path()).unwrap(), ["out"]);
    }

    #[test]
    fn the_entry_by_entry_swap_leaves_exactly_the_new_generation() {
        let tmp = tempfile::tempdir().unwrap();
        let out = Out::locate(&tmp.path().join("out")).unwrap();
        fs::create_dir_all(out.path.join("old")).unwrap();
        fs::write(out.path.join("old/x.json"), "gone").unwrap();
        fs::create_dir_all(out.path.join("web")).unwrap();
        fs::write(out.path.join("web/a.json"), "1").unwrap();
        out.swap_in_place(&files(&[("web/a.json", "2"), ("api/b.json", "3")]))
            .unwrap();
        assert_eq!(
            tree(&out.path),
            [
                ("api/b.json".to_owned(), "3".to_owned()),
                ("web/a.json".to_owned(), "2".to_owned())
            ]
        );
    }

    #[test]
    fn a_symlinked_or_dot_out_is_refused_with_the_reason() {
        let tmp = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(tmp.path().join("nowhere"), tmp.path().join("link")).unwrap();
        let e = replace(&tmp.path().join("link"), &files(&[])).unwrap_err();
        assert!(format!("{e:#}").contains("is a symbolic link to"), "{e:#}");
        assert!(format!("{e:#}").contains("which does not exist"), "{e:#}");
        for dot in [".", "..", "/"] {
            let e = replace(Path::new(dot), &files(&[])).unwrap_err();
            assert!(format!("{e:#}").contains("a folder of its own"), "{e:#}");
        }
    }
}
