//! The lock on OUT's parent folder, so two runs never interleave: a bounded wait that names the
//! process holding it, and what is known of other processes from `/proc` (who holds a lock on a
//! folder, whether a process is an imagedef run).

use std::fs;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::time::{Duration, Instant};

use rustix::fs::FlockOperation;
use rustix::io::Errno;

use super::error::{Op, Process, WriteError};

/// How often a held lock is tried again.
const POLL: Duration = Duration::from_millis(100);

/// Takes the exclusive lock on OUT's parent (`parent`, at `path`), waiting at most `timeout` for
/// another process to let it go, and saying that it waits.
pub(super) fn lock(parent: &OwnedFd, path: &Path, timeout: Duration) -> Result<(), WriteError> {
    if try_lock(parent, path)? {
        return Ok(());
    }
    tracing::warn!(
        "another imagedef run is writing its output into {}; waiting for it to finish",
        path.display()
    );
    let started = Instant::now();
    loop {
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(WriteError::LockTimeout {
                folder: path.to_path_buf(),
                waited: timeout,
                holder: holders(path).into_iter().next().map(Process::of),
            });
        }
        std::thread::sleep(left.min(POLL));
        if try_lock(parent, path)? {
            return Ok(());
        }
    }
}

fn try_lock(parent: &OwnedFd, path: &Path) -> Result<bool, WriteError> {
    match rustix::fs::flock(parent, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(Errno::WOULDBLOCK) => Ok(false),
        Err(e) => Err(WriteError::io(Op::Lock, path, e)),
    }
}

/// The processes holding a lock on the file or folder at `path`, as `/proc/locks` lists them
/// (lines `N: FLOCK ADVISORY WRITE <pid> <major>:<minor>:<inode> ...`, device numbers in hex;
/// waiters, marked `->`, left out). Empty when that cannot be read.
pub(super) fn holders(path: &Path) -> Vec<u32> {
    let (Ok(meta), Ok(locks)) = (fs::metadata(path), fs::read_to_string("/proc/locks")) else {
        return Vec::new();
    };
    let dev = meta.dev();
    // glibc's gnu_dev_major / gnu_dev_minor.
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    locks
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.get(1) == Some(&"->") {
                return None;
            }
            let pid = fields.get(4)?.parse::<u32>().ok()?;
            let mut at = fields.get(5)?.split(':');
            let (maj, min, ino) = (at.next()?, at.next()?, at.next()?);
            let same = u64::from_str_radix(maj, 16).ok()? == major
                && u64::from_str_radix(min, 16).ok()? == minor
                && ino.parse::<u64>().ok()? == meta.ino();
            same.then_some(pid)
        })
        .collect()
}

impl Process {
    /// What `/proc` says of process `pid`.
    #[must_use]
    pub fn of(pid: u32) -> Process {
        let dir = Path::new("/proc").join(pid.to_string());
        let command = fs::read(dir.join("cmdline"))
            .ok()
            .map(|raw| {
                String::from_utf8_lossy(&raw)
                    .split('\0')
                    .filter(|a| !a.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|c| !c.is_empty())
            .or_else(|| comm(pid));
        // /proc/<pid>/stat: `pid (comm) S ...`, comm possibly holding spaces or parentheses.
        let state = fs::read_to_string(dir.join("stat"))
            .ok()
            .and_then(|stat| {
                let after = &stat[stat.rfind(')')? + 1..];
                after.split_whitespace().next().map(str::to_owned)
            })
            .and_then(|s| match s.as_str() {
                "T" => Some("stopped"),
                "t" => Some("traced"),
                "Z" => Some("a zombie"),
                _ => None,
            });
        Process {
            pid,
            command,
            state,
        }
    }
}

fn comm(pid: u32) -> Option<String> {
    let name = fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some(name.trim_end().to_owned()).filter(|n| !n.is_empty())
}

/// True when a process `pid` is running.
pub(super) fn is_running(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

/// True when process `pid` is an imagedef run: this one, or one running the same program (by its
/// executable, or by its name).
pub(super) fn is_imagedef(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let exe = |p: &str| fs::read_link(format!("/proc/{p}/exe")).ok();
    if let (Some(theirs), Some(ours)) = (exe(&pid.to_string()), exe("self"))
        && theirs == ours
    {
        return true;
    }
    comm(pid).is_some_and(|name| Some(name) == comm(std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holder_of_a_lock_is_named_with_its_state() {
        let tmp = tempfile::tempdir().unwrap();
        // -o: the lock is flock's own, not its child's, so killing flock lets it go.
        let mut child = std::process::Command::new("flock")
            .args(["-o", tmp.path().to_str().unwrap(), "sleep", "20"])
            .spawn()
            .unwrap();
        let pid = child.id();
        let started = Instant::now();
        while !holders(tmp.path()).contains(&pid) {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "flock took the lock"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let dir = super::super::fs::open_dir(tmp.path()).unwrap();
        let e = lock(&dir, tmp.path(), Duration::from_millis(300)).unwrap_err();
        let WriteError::LockTimeout {
            holder: Some(holder),
            ..
        } = &e
        else {
            panic!("{e:?}");
        };
        assert_eq!(holder.pid, pid);
        assert!(
            holder
                .command
                .as_deref()
                .is_some_and(|c| c.starts_with("flock ")),
            "{holder:?}"
        );
        assert!(!is_imagedef(pid), "flock is no imagedef run");
        assert!(is_imagedef(std::process::id()));
        child.kill().unwrap();
        child.wait().unwrap();
        lock(&dir, tmp.path(), Duration::from_secs(5)).unwrap();
    }
}
