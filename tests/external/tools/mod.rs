//! What the tests of this binary drive beyond the binary itself: moto (a local AWS), buildah
//! images, a registry, real zip readers, scan findings in moto. A missing tool fails the test that
//! needs it, saying what to install (`.ci/deps-verify` installs them all).

pub mod aws;
pub mod credentials;
pub mod ecs_standin;
pub mod findings;
pub mod images;
pub mod readers;
pub mod registry;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The folder a `.ci/deps-*` script installs into, `target/NAME` of this checkout, or `$VAR` where
/// it is set (a checkout that shares another's installs, such as a git worktree):
/// `IMAGEDEF_MOTO_VENV` (moto-venv), `IMAGEDEF_CHECKOV_VENV` (checkov-venv), `IMAGEDEF_NODE_DIR`
/// (node).
pub fn installed(var: &str, name: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target")
                .join(name)
        },
        PathBuf::from,
    )
}

/// Runs a tool that the test needs; a missing tool fails the test with what to install.
#[track_caller]
pub fn tool(program: &str, args: &[&std::ffi::OsStr], install: &str) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {program} ({e}); this test needs it: {install} (see .ci/deps-verify)"
            )
        });
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Removes the fixtures `PREFIX<pid>` of earlier test runs whose process is gone.
pub fn remove_stale_fixtures(tmp: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix(prefix)
            && !Path::new("/proc").join(pid).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
