//! Mapping mode's output: OUT belongs to imagedef and is replaced as a whole, one generation at a
//! time.
//!
//! 1. Lock: an exclusive `flock` on OUT's parent directory, so two runs never interleave (the
//!    second waits, saying so).
//! 2. Recover: what a killed run left beside OUT (`.<OUT>.imagedef-stage-<pid>`,
//!    `.<OUT>.imagedef-old-<pid>`) is removed; a previous generation set aside by the two-rename
//!    fallback is put back first when OUT itself is missing.
//! 3. Check: OUT is imagedef's only when its `SHA256SUMS` lists `imagedef-report.json`; then every
//!    file in it must be one that `SHA256SUMS` lists, with those bytes. Anything else is refused,
//!    naming it, before anything changes.
//! 4. Stage the whole new generation beside OUT (files 0644, folders 0755, OUT's own mode and
//!    owner kept), make it durable with one `syncfs`, and swap it in with
//!    `renameat2(RENAME_EXCHANGE)`: at every instant OUT is exactly the old or the new generation.
//!    The old one, now at the staging path, is removed; anything that appeared in OUT meanwhile is
//!    kept with it instead, and named.
//!
//! Fallbacks, where the exchange is refused: a filesystem without `RENAME_EXCHANGE` gets two
//! renames (OUT to `.<OUT>.imagedef-old-<pid>`, the stage to OUT; a kill between them leaves OUT
//! missing for an instant, and the next run puts the old generation back). An OUT that is a mount
//! point, or whose parent is not writable, is staged inside itself and swapped entry by entry,
//! `SHA256SUMS` last: each entry atomically, the generation as a whole not. An interrupted swap
//! leaves the stage inside OUT, and the next run accepts both generations' files and completes it.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::Write as _;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{FlockOperation, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

use super::error::{At as _, Op, WriteError, listing};
use super::{OutFile, create_dirs, file_name};
use crate::model::Digest;
use crate::model::deploy::{REPORT, SHA256SUMS, Sha256Sums, is_staging_folder, staged_pid};

/// The largest file of a previous generation that is read to check it.
const MAX_FILE: u64 = 64 * 1024 * 1024;

/// Replaces the generation in `out` with `files`, or changes nothing.
pub fn replace(out: &Path, files: &[OutFile]) -> Result<(), WriteError> {
    let out = Out::locate(out)?;
    let mut created = Vec::new();
    let result = create_dirs(&out.parent, &mut created).and_then(|()| out.replace(files));
    if result.is_err() {
        for dir in created.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
    result
}

/// What `replace` would refuse, without changing anything: for `--dry-run`.
pub fn check(out: &Path) -> Result<(), WriteError> {
    let out = Out::locate(out)?;
    previous(&out).map(|_| ())
}

/// OUT as an absolute, lexically normal path, split into its parent and its name.
struct Out {
    path: PathBuf,
    parent: PathBuf,
    name: String,
}

/// The files of the previous generation, as its `SHA256SUMS` lists them: path -> the digests
/// accepted there (two, for a path that an interrupted entry-by-entry swap left in either state).
type Generation = BTreeMap<String, Vec<Digest>>;

impl Out {
    fn locate(out: &Path) -> Result<Out, WriteError> {
        if let Ok(meta) = fs::symlink_metadata(out)
            && meta.file_type().is_symlink()
        {
            return Err(WriteError::SymlinkedOut {
                out: out.to_path_buf(),
                target: fs::read_link(out)
                    .map_or_else(|_| "?".to_owned(), |t| t.display().to_string()),
                dangling: !out.exists(),
            });
        }
        let absolute = normal(&std::path::absolute(out).at(Op::Resolve, out)?);
        let is_folder_of_its_own =
            matches!(out.components().next_back(), Some(Component::Normal(_)));
        let (Some(parent), Some(name), true) = (
            absolute.parent(),
            absolute.file_name(),
            is_folder_of_its_own,
        ) else {
            return Err(WriteError::OutIsDot {
                out: out.to_path_buf(),
            });
        };
        Ok(Out {
            parent: parent.to_path_buf(),
            name: name.to_string_lossy().into_owned(),
            path: absolute.clone(),
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

    fn replace(&self, files: &[OutFile]) -> Result<(), WriteError> {
        let parent = open_dir(&self.parent)?;
        lock(&parent, &self.parent)?;
        self.recover()?;
        let previous = previous(self)?;
        if previous.is_some() {
            // Stages an interrupted entry-by-entry swap left inside OUT: OUT is ours, so are they.
            for name in entries(&self.path)? {
                if staged_pid(&name).is_some() && name.starts_with(".imagedef-stage-") {
                    remove_any(&self.path.join(name))?;
                }
            }
        }
        let stage = self.beside("stage");
        let exists = previous.is_some();
        if exists && is_mount_point(&self.path) {
            return self.swap_in_place(files);
        }
        match stage_files(&stage, files, self.mode_and_owner()) {
            Ok(()) => {}
            Err(e) if exists && e.is_denied() => {
                tracing::debug!(
                    "cannot stage beside {} ({e:#}); replacing its entries one by one instead",
                    self.path.display()
                );
                return self.swap_in_place(files);
            }
            Err(e) => return Err(e),
        }
        let result = match &previous {
            None => self.move_in(&parent, &stage),
            Some(old) => self.exchange(&parent, &stage, old, files),
        };
        if result.is_err() {
            let _ = fs::remove_dir_all(&stage);
        }
        result
    }

    /// There is no OUT yet: the stage becomes it.
    fn move_in(&self, parent: &OwnedFd, stage: &Path) -> Result<(), WriteError> {
        match self.rename_stage(parent, stage, RenameFlags::NOREPLACE) {
            Ok(()) => {}
            // No RENAME_NOREPLACE here; the lock is held and OUT was just seen missing.
            Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {
                fs::rename(stage, &self.path).map_err(|e| self.not_moved(e))?;
            }
            Err(e) => return Err(self.not_moved(e.into())),
        }
        sync_dir(parent, &self.parent)
    }

    /// `renameat2` of the stage beside OUT onto OUT, with `flags`.
    fn rename_stage(
        &self,
        parent: &OwnedFd,
        stage: &Path,
        flags: RenameFlags,
    ) -> Result<(), Errno> {
        rustix::fs::renameat_with(
            parent,
            file_name(stage).as_str(),
            parent,
            self.name.as_str(),
            flags,
        )
    }

    fn not_moved(&self, e: std::io::Error) -> WriteError {
        WriteError::io(Op::MoveIn, &self.path, e)
    }

    /// OUT holds the previous generation `old`: swap the stage in.
    fn exchange(
        &self,
        parent: &OwnedFd,
        stage: &Path,
        old: &Generation,
        files: &[OutFile],
    ) -> Result<(), WriteError> {
        match self.rename_stage(parent, stage, RenameFlags::EXCHANGE) {
            Ok(()) => {}
            Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {
                tracing::debug!(
                    "the filesystem of {} cannot exchange two directories; replacing the output with two renames",
                    self.parent.display()
                );
                let aside = self.beside("old");
                fs::rename(&self.path, &aside).at(Op::MoveAside, &self.path)?;
                if let Err(e) = fs::rename(stage, &self.path) {
                    let _ = fs::rename(&aside, &self.path);
                    return Err(self.not_moved(e));
                }
                sync_dir(parent, &self.parent)?;
                return self.remove_previous(&aside, old);
            }
            // A mount point (or a bind mount) cannot be renamed.
            Err(Errno::BUSY | Errno::XDEV) => {
                fs::remove_dir_all(stage).at(Op::Remove, stage)?;
                return self.swap_in_place(files);
            }
            Err(e) => return Err(WriteError::io(Op::Swap, &self.path, e)),
        }
        sync_dir(parent, &self.parent)?;
        // The previous generation now sits at the staging path.
        self.remove_previous(stage, old)
    }

    /// Removes the previous generation, now at `at`; anything in it that the previous generation
    /// did not have (written into OUT while this run staged) is kept there instead, and named.
    fn remove_previous(&self, at: &Path, old: &Generation) -> Result<(), WriteError> {
        let newcomers = foreign(at, old, &[])?;
        if newcomers.is_empty() {
            return fs::remove_dir_all(at).at(Op::RemovePrevious, at);
        }
        let kept = self.beside("kept");
        fs::rename(at, &kept).at(Op::MoveAside, at)?;
        tracing::warn!(
            "while this run wrote {}, {} appeared in it; they are kept, with the previous output, in {}",
            self.path.display(),
            listing(&newcomers),
            kept.display()
        );
        Ok(())
    }

    /// OUT cannot be swapped as a whole: stage inside it, then move its top-level entries one by
    /// one, `SHA256SUMS` last.
    fn swap_in_place(&self, files: &[OutFile]) -> Result<(), WriteError> {
        tracing::debug!(
            "{} cannot be swapped as a whole (a mount point, or its parent is not writable); replacing its entries one by one",
            self.path.display()
        );
        let stage = self
            .path
            .join(format!(".imagedef-stage-{}", std::process::id()));
        if let Err(e) = stage_files(&stage, files, None) {
            let _ = fs::remove_dir_all(&stage);
            return Err(e);
        }
        let out = open_dir(&self.path)?;
        let stage_dir = open_dir(&stage)?;
        let new: Vec<String> = entries(&stage)?;
        let mut moved = 0;
        let result = (|| -> Result<(), WriteError> {
            for name in new.iter().filter(|n| *n != SHA256SUMS) {
                self.move_entry(&stage_dir, &out, name)?;
                moved += 1;
            }
            for name in entries(&self.path)? {
                if name != SHA256SUMS && !is_staging_folder(&name) && !new.contains(&name) {
                    remove_any(&self.path.join(&name))?;
                }
            }
            self.move_entry(&stage_dir, &out, SHA256SUMS)?;
            sync_dir(&out, &self.path)
        })();
        if let Err(e) = result {
            if moved == 0 {
                let _ = fs::remove_dir_all(&stage);
                return Err(e);
            }
            return Err(WriteError::Mixed {
                out: self.path.clone(),
                stage,
                source: Box::new(e),
            });
        }
        fs::remove_dir_all(&stage).at(Op::RemoveStage, &stage)
    }

    /// Moves `name` from the stage into OUT: a folder is exchanged with the one there (atomic), a
    /// file renamed over it.
    fn move_entry(&self, stage: &OwnedFd, out: &OwnedFd, name: &str) -> Result<(), WriteError> {
        let target = self.path.join(name);
        let swap = fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir());
        let flags = if swap {
            RenameFlags::EXCHANGE
        } else {
            RenameFlags::empty()
        };
        rustix::fs::renameat_with(stage, name, out, name, flags).at(Op::MoveIntoPlace, &target)
    }

    /// OUT's permission bits and owner, to give the new generation's folder.
    fn mode_and_owner(&self) -> Option<(u32, u32, u32)> {
        let meta = fs::metadata(&self.path).ok()?;
        Some((meta.mode() & 0o7777, meta.uid(), meta.gid()))
    }

    /// Removes what killed runs left beside OUT; puts a generation set aside back when OUT is gone.
    fn recover(&self) -> Result<(), WriteError> {
        let prefix = format!(".{}.imagedef-", self.name);
        let mut aside = Vec::new();
        for name in entries(&self.parent)? {
            if !(name.starts_with(&prefix) && is_staging_folder(&name)) {
                continue;
            }
            let path = self.parent.join(&name);
            if name[prefix.len()..].starts_with("old-") && !self.path.exists() {
                aside.push(path);
            } else {
                tracing::debug!("removing {}, left by an interrupted run", path.display());
                remove_any(&path)?;
            }
        }
        if let Some(old) = aside.pop() {
            tracing::warn!(
                "{} is missing and an interrupted run left the previous output at {}; putting it back",
                self.path.display(),
                old.display()
            );
            fs::rename(&old, &self.path).at(Op::PutBack, &old)?;
            for other in aside {
                remove_any(&other)?;
            }
        }
        Ok(())
    }
}

/// The generation in OUT, or `None` when there is no OUT. Refuses when OUT holds anything
/// imagedef did not write.
fn previous(out: &Out) -> Result<Option<Generation>, WriteError> {
    let meta = match fs::symlink_metadata(&out.path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(WriteError::io(Op::Read, &out.path, e)),
    };
    if !meta.is_dir() {
        return Err(WriteError::OutNotAFolder {
            out: out.path.clone(),
        });
    }
    let mut generation = sums(&out.path.join(SHA256SUMS))?;
    // A generation is imagedef's only when its own SHA256SUMS lists its report.
    if !generation.contains_key(REPORT) {
        generation.clear();
    }
    // An interrupted entry-by-entry swap: the new generation's files are imagedef's too.
    let mut stages = Vec::new();
    for name in entries(&out.path)? {
        if name.starts_with(".imagedef-stage-") && is_staging_folder(&name) {
            let waiting = sums(&out.path.join(&name).join(SHA256SUMS))?;
            if !generation.is_empty() && waiting.contains_key(REPORT) {
                for (path, digests) in waiting {
                    generation.entry(path).or_default().extend(digests);
                }
                stages.push(name);
            }
        }
    }
    let foreign = foreign(&out.path, &generation, &stages)?;
    if foreign.is_empty() {
        return Ok(Some(generation));
    }
    Err(WriteError::NotWritten {
        out: out.path.clone(),
        paths: foreign,
    })
}

/// The `SHA256SUMS` at `path` as a generation; empty when there is none.
fn sums(path: &Path) -> Result<Generation, WriteError> {
    if !path.is_file() {
        return Ok(Generation::new());
    }
    let bytes = crate::input::read_named(path, MAX_FILE, SHA256SUMS)?;
    let sums = Sha256Sums::parse(&bytes).map_err(|problem| WriteError::BadSums {
        path: path.to_path_buf(),
        problem,
    })?;
    Ok(sums
        .paths()
        .map(|p| (p.to_owned(), vec![sums.get(p).expect("listed")]))
        .collect())
}

/// The paths below `dir` that `generation` does not account for: files it does not list or whose
/// bytes differ, folders none of its files are in, anything else. `skip` are top-level names left
/// out (stages).
fn foreign(
    dir: &Path,
    generation: &Generation,
    skip: &[String],
) -> Result<Vec<String>, WriteError> {
    let folders: HashSet<&str> = generation
        .keys()
        .flat_map(|p| p.match_indices('/').map(move |(i, _)| &p[..i]))
        .collect();
    let mut foreign = Vec::new();
    let walk = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !(e.depth() == 1 && skip.iter().any(|s| e.file_name() == s.as_str())));
    for entry in walk {
        let entry = entry.map_err(|e| WriteError::io(Op::Read, dir, e))?;
        let rel = entry
            .path()
            .strip_prefix(dir)
            .expect("below the folder")
            .to_string_lossy()
            .into_owned();
        let ours = if entry.file_type().is_dir() {
            folders.contains(rel.as_str())
        } else if entry.file_type().is_file() {
            (rel == SHA256SUMS && !generation.is_empty())
                || generation.get(&rel).is_some_and(|accepted| {
                    crate::input::read_bounded(entry.path(), MAX_FILE)
                        .is_ok_and(|bytes| accepted.contains(&Digest::of(&bytes)))
                })
        } else {
            false
        };
        if !ours {
            foreign.push(rel);
        }
    }
    Ok(foreign)
}

/// Writes every file under `stage` (a new folder): files 0644 and folders 0755 whatever the umask,
/// the stage itself with `root` (OUT's mode and owner) when given; then makes all of it durable
/// at once.
fn stage_files(
    stage: &Path,
    files: &[OutFile],
    root: Option<(u32, u32, u32)>,
) -> Result<(), WriteError> {
    fs::create_dir(stage).at(Op::CreateStage, stage)?;
    let (mode, owner) = root.map_or((0o755, None), |(mode, uid, gid)| (mode, Some((uid, gid))));
    fs::set_permissions(stage, fs::Permissions::from_mode(mode)).at(Op::SetPermissions, stage)?;
    if let Some((uid, gid)) = owner {
        // Best effort: only root may give a folder to another owner.
        let _ = std::os::unix::fs::chown(stage, Some(uid), Some(gid));
    }
    for file in files {
        let path = stage.join(&file.path);
        if let Some(dir) = path.parent()
            && !dir.exists()
        {
            fs::create_dir_all(dir)
                .and_then(|()| fs::set_permissions(dir, fs::Permissions::from_mode(0o755)))
                .at(Op::CreateFolder, dir)?;
        }
        let mut f = fs::File::create(&path).at(Op::CreateFile, &path)?;
        f.write_all(&file.bytes)
            .and_then(|()| f.set_permissions(fs::Permissions::from_mode(0o644)))
            .at(Op::Write, &path)?;
    }
    // One flush of the filesystem instead of one per file; folders included.
    let dir = open_dir(stage)?;
    rustix::fs::syncfs(&dir).at(Op::Flush, stage)
}

/// Waits for the lock on OUT's parent, saying so when another run holds it.
fn lock(parent: &OwnedFd, path: &Path) -> Result<(), WriteError> {
    match rustix::fs::flock(parent, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => return Ok(()),
        Err(Errno::WOULDBLOCK) => {}
        Err(e) => return Err(WriteError::io(Op::Lock, path, e)),
    }
    tracing::warn!(
        "another imagedef run is writing its output into {}; waiting for it to finish",
        path.display()
    );
    rustix::fs::flock(parent, FlockOperation::LockExclusive).at(Op::Lock, path)
}

/// `path` with `.` and `..` folded away, without touching the filesystem.
fn normal(path: &Path) -> PathBuf {
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

fn open_dir(path: &Path) -> Result<OwnedFd, WriteError> {
    rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .at(Op::OpenFolder, path)
}

/// Makes the renames in a folder durable.
fn sync_dir(dir: &OwnedFd, path: &Path) -> Result<(), WriteError> {
    rustix::fs::fsync(dir).at(Op::Flush, path)
}

fn is_mount_point(path: &Path) -> bool {
    match (fs::metadata(path), path.parent().map(fs::metadata)) {
        (Ok(me), Some(Ok(parent))) => me.dev() != parent.dev(),
        _ => false,
    }
}

fn entries(dir: &Path) -> Result<Vec<String>, WriteError> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).at(Op::Read, dir)? {
        let entry = entry.at(Op::Read, dir)?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

fn remove_any(path: &Path) -> Result<(), WriteError> {
    let meta = fs::symlink_metadata(path).at(Op::Read, path)?;
    if meta.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
    .at(Op::Remove, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(names: &[(&str, &str)]) -> Vec<OutFile> {
        let mut files: Vec<OutFile> = names
            .iter()
            .map(|(p, b)| OutFile::new(*p, b.as_bytes().to_vec()))
            .collect();
        files.push(OutFile::new(REPORT, b"{}".to_vec()));
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
            .filter(|(p, _)| p != SHA256SUMS && p != REPORT)
            .collect()
    }

    fn pair(path: &str, text: &str) -> (String, String) {
        (path.to_owned(), text.to_owned())
    }

    #[test]
    fn a_generation_replaces_the_last_and_drops_what_it_no_longer_has() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        replace(&out, &files(&[("web/a.json", "1"), ("api/a.json", "2")])).unwrap();
        replace(&out, &files(&[("web/a.json", "3")])).unwrap();
        assert_eq!(tree(&out), [pair("web/a.json", "3")]);
        assert_eq!(entries(tmp.path()).unwrap(), ["out"], "nothing beside OUT");
    }

    #[test]
    fn foreign_or_changed_files_are_refused_and_nothing_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        replace(&out, &files(&[("web/a.json", "1")])).unwrap();
        fs::write(out.join("web/notes.txt"), "mine").unwrap();
        let e = replace(&out, &files(&[("web/a.json", "2")])).unwrap_err();
        assert!(
            matches!(&e, WriteError::NotWritten { paths, .. } if paths == &["web/notes.txt"]),
            "{e:?}"
        );
        fs::remove_file(out.join("web/notes.txt")).unwrap();
        fs::write(out.join("web/a.json"), "edited").unwrap();
        let e = replace(&out, &files(&[("web/a.json", "2")])).unwrap_err();
        assert!(
            matches!(&e, WriteError::NotWritten { paths, .. } if paths == &["web/a.json"]),
            "{e:?}"
        );
        assert_eq!(
            fs::read_to_string(out.join("web/a.json")).unwrap(),
            "edited"
        );
        assert_eq!(entries(tmp.path()).unwrap(), ["out"]);
    }

    #[test]
    fn a_folder_with_a_sha256sums_of_its_own_is_not_taken_for_imagedefs() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("dist");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("app.tar.gz"), "x").unwrap();
        let sums = Sha256Sums::of([("app.tar.gz", Digest::of(b"x"))]);
        fs::write(out.join(SHA256SUMS), sums.to_bytes()).unwrap();
        let e = replace(&out, &files(&[("web/a.json", "1")])).unwrap_err();
        assert!(
            matches!(&e, WriteError::NotWritten { paths, .. } if paths == &[SHA256SUMS, "app.tar.gz"]),
            "{e:?}"
        );
        assert_eq!(fs::read_to_string(out.join("app.tar.gz")).unwrap(), "x");
    }

    #[test]
    fn leftovers_of_a_killed_run_are_removed_and_a_set_aside_generation_comes_back() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        replace(&out, &files(&[("web/a.json", "1")])).unwrap();
        // A run killed between the two renames of the fallback: OUT gone, the old one aside.
        fs::rename(&out, tmp.path().join(".out.imagedef-old-999999")).unwrap();
        fs::create_dir(tmp.path().join(".out.imagedef-stage-999998")).unwrap();
        fs::create_dir(tmp.path().join(".out.imagedef-stage-mine")).unwrap();
        replace(&out, &files(&[("web/a.json", "2")])).unwrap();
        assert_eq!(tree(&out), [pair("web/a.json", "2")]);
        assert_eq!(
            entries(tmp.path()).unwrap(),
            [".out.imagedef-stage-mine", "out"],
            "only what matches a staging folder exactly is removed"
        );
    }

    #[test]
    fn the_entry_by_entry_swap_puts_sha256sums_last_and_an_interrupted_one_is_completed() {
        let tmp = tempfile::tempdir().unwrap();
        let out = Out::locate(&tmp.path().join("out")).unwrap();
        replace(
            &out.path,
            &files(&[("old/x.json", "gone"), ("web/a.json", "1")]),
        )
        .unwrap();
        out.swap_in_place(&files(&[("web/a.json", "2"), ("api/b.json", "3")]))
            .unwrap();
        assert_eq!(
            tree(&out.path),
            [pair("api/b.json", "3"), pair("web/a.json", "2")]
        );
        // Interrupted after moving web/: the stage is left in OUT with the rest.
        let next = files(&[("web/a.json", "4"), ("db/c.json", "5")]);
        let stage = out.path.join(".imagedef-stage-999999");
        stage_files(&stage, &next, None).unwrap();
        fs::rename(out.path.join("web"), stage.join("web-old")).unwrap();
        fs::rename(stage.join("web"), out.path.join("web")).unwrap();
        replace(&out.path, &files(&[("web/a.json", "6")])).unwrap();
        assert_eq!(tree(&out.path), [pair("web/a.json", "6")]);
    }

    #[test]
    fn a_symlinked_or_dot_out_is_refused_with_the_reason() {
        let tmp = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(tmp.path().join("nowhere"), tmp.path().join("link")).unwrap();
        let e = replace(&tmp.path().join("link"), &files(&[])).unwrap_err();
        assert!(
            matches!(&e, WriteError::SymlinkedOut { target, dangling: true, .. }
                if *target == tmp.path().join("nowhere").display().to_string()),
            "{e:?}"
        );
        for dot in [".", "..", "/"] {
            let e = replace(Path::new(dot), &files(&[])).unwrap_err();
            assert!(matches!(e, WriteError::OutIsDot { .. }), "{dot}: {e:?}");
        }
    }

    #[test]
    fn modes_are_fixed_whatever_the_umask_and_a_dotted_path_leaves_nothing_stray() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("a/../out");
        replace(&out, &files(&[("web/a.json", "1")])).unwrap();
        let mode = |p: &str| fs::metadata(tmp.path().join(p)).unwrap().mode() & 0o7777;
        assert_eq!((mode("out/web"), mode("out/web/a.json")), (0o755, 0o644));
        fs::set_permissions(tmp.path().join("out"), fs::Permissions::from_mode(0o2775)).unwrap();
        replace(&out, &files(&[("web/a.json", "2")])).unwrap();
        assert_eq!(mode("out"), 0o2775, "OUT keeps its own mode");
        assert_eq!(entries(tmp.path()).unwrap(), ["out"]);
    }
}
