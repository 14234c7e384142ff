//! The swap strategies: how a staged generation replaces OUT. The stage beside OUT is exchanged
//! with it (`renameat2(RENAME_EXCHANGE)`); where that is refused, two renames; where OUT cannot be
//! renamed or its parent refuses the stage, entry by entry inside OUT. Also the recovery of what a
//! killed run left, and the writing of the stage itself.

use std::fs;
use std::io::Write as _;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::time::Duration;

use rustix::fs::RenameFlags;
use rustix::io::Errno;

use super::OutFile;
use super::error::{At as _, Op, Process, WriteError, listing};
use super::fs::{entries, is_mount_point, open_dir, remove_any, sync_dir};
use super::lock::{holders, is_imagedef, is_running, lock};
use super::ownership::{Generation, Out, foreign, previous};
use crate::model::deploy::{SHA256SUMS, StageName, is_staging_folder};

impl Out {
    /// Under the lock (waited for at most `lock_timeout`): recovers, checks OUT is imagedef's,
    /// stages and swaps.
    pub(super) fn replace(
        &self,
        files: &[OutFile],
        lock_timeout: Duration,
    ) -> Result<(), WriteError> {
        let parent = open_dir(&self.parent)?;
        lock(&parent, &self.parent, lock_timeout)?;
        self.recover()?;
        let previous = previous(self)?;
        if previous.is_some() {
            // Stages an interrupted entry-by-entry swap left inside OUT: OUT is ours, so are they.
            for name in entries(&self.path)? {
                if let Some(stage @ StageName::Inside { .. }) = StageName::parse(&name) {
                    let path = self.path.join(name);
                    if left_over(&path, &stage) {
                        remove_any(&path)?;
                    }
                }
            }
        }
        let stage = self.stage();
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
            Err(e) => {
                // What was staged before the failure (a full disk, say) goes with it.
                if !matches!(
                    e,
                    WriteError::Io {
                        op: Op::CreateStage,
                        ..
                    }
                ) {
                    let _ = fs::remove_dir_all(&stage);
                }
                return Err(e);
            }
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
            super::file_name(stage).as_str(),
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
                let aside = self.aside();
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
        let kept = self.kept();
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
    pub(super) fn swap_in_place(&self, files: &[OutFile]) -> Result<(), WriteError> {
        tracing::debug!(
            "{} cannot be swapped as a whole (a mount point, or its parent is not writable); replacing its entries one by one",
            self.path.display()
        );
        let stage = self.stage_inside();
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
        let mut aside = Vec::new();
        for name in entries(&self.parent)? {
            let Some(stage) = StageName::parse(&name) else {
                continue;
            };
            let (is_aside, out) = match &stage {
                StageName::Beside { out, .. } => (false, out),
                StageName::Aside { out, .. } => (true, out),
                StageName::Inside { .. } => continue,
            };
            if *out != self.name {
                continue;
            }
            let path = self.parent.join(&name);
            if is_aside && !self.path.exists() {
                aside.push(path);
            } else if left_over(&path, &stage) {
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

/// True when the folder at `path`, named like a stage, is a leftover that may be removed: the
/// process that named it is gone, or it is an imagedef run, or it holds a lock on the folder. A
/// live process of another program only happens to use the name: its folder is left alone.
fn left_over(path: &Path, stage: &StageName) -> bool {
    let pid = stage.pid();
    if !is_running(pid) || is_imagedef(pid) || holders(path).contains(&pid) {
        return true;
    }
    tracing::warn!(
        "{} is named like the stage of an imagedef run, but its process, {}, is running and is not imagedef; it is left alone",
        path.display(),
        Process::of(pid)
    );
    false
}

/// Writes every file under `stage` (a new folder): files 0644 and folders 0755 whatever the umask,
/// the stage itself with `root` (OUT's mode and owner) when given; then makes all of it durable
/// at once.
pub(super) fn stage_files(
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
