//! Output generations where the system refuses: renames, the stage's folder and writes failed on
//! purpose under strace, and the fallbacks that still leave one whole generation (the rest of the
//! generation tests are in `tests/integration/generations.rs`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use crate::util::generations::{emit_ok, leftovers, reference, tree, two_mappings};
use crate::util::{BIN, Env, Run};

/// Runs `emit --mapping b.json` into `out` under strace, failing the `renameat2` calls `when`
/// selects (strace's `first[..last][+step]`) with `errno`: the fallbacks the exchange needs on
/// other filesystems, driven for real.
fn emit_with_failing_rename(env: &Env, when: &str, errno: &str) -> Run {
    emit_with_fault(env, "renameat2", when, errno)
}

/// Runs `emit --mapping b.json` into `out` under strace, failing the calls of `syscall` that
/// `when` selects with `errno`.
fn emit_with_fault(env: &Env, syscall: &str, when: &str, errno: &str) -> Run {
    let mut strace = Command::new("strace");
    strace
        .args(["-f", "-qq", "-o", "/dev/null", "-e"])
        .arg(format!("inject={syscall}:error={errno}:when={when}"))
        .arg(BIN)
        .args([
            "-q",
            "emit",
            "--mapping",
            "b.json",
            "--bundle",
            "--out",
            "out",
            "Web=.",
        ]);
    env.start(
        strace,
        "strace (apt-get install strace; see .ci/deps-verify)",
    )
    .finish()
}

/// OUT holds exactly `want`; on failure, names the paths that differ.
#[track_caller]
fn same_generation(env: &Env, want: &BTreeMap<PathBuf, Option<Vec<u8>>>) {
    let got = tree(&env.path("out"));
    let differ: Vec<&PathBuf> = got
        .keys()
        .chain(want.keys())
        .filter(|p| got.get(*p) != want.get(*p))
        .collect();
    assert!(
        differ.is_empty(),
        "OUT is not the new generation: {differ:?}"
    );
}

#[test]
fn where_renames_are_refused_the_fallbacks_still_leave_one_whole_generation() {
    let env = two_mappings(5, 5);
    let new = reference(&env, "b.json", "ref-b");
    // (what the previous generation is, which renameat2 calls fail, with which errno)
    let cases = [
        // A new OUT where RENAME_NOREPLACE is unsupported: a plain rename.
        (None, "1", "EINVAL"),
        // No RENAME_EXCHANGE: OUT moved aside, the new one renamed in.
        (Some("a.json"), "1", "EINVAL"),
        // OUT cannot be renamed (a mount point): entry by entry.
        (Some("a.json"), "1", "EBUSY"),
    ];
    for (previous, when, errno) in cases {
        if let Some(mapping) = previous {
            emit_ok(&env, mapping);
        }
        emit_with_failing_rename(&env, when, errno).code(0);
        same_generation(&env, &new);
    }
    // Entry by entry (the exchange refused), interrupted at the second entry: said so, and the
    // next run completes it.
    emit_ok(&env, "a.json");
    emit_with_failing_rename(&env, "1..3+2", "EBUSY")
        .code(2)
        .stderr_has("now mixes the previous and the new output")
        .stderr_has("run again to complete it");
    emit_ok(&env, "b.json");
    same_generation(&env, &new);
    assert_eq!(leftovers(&env, &["out", "ref-b"]), Vec::<String>::new());
}

#[test]
fn a_run_out_of_space_removes_its_own_stage() {
    let env = two_mappings(3, 3);
    emit_ok(&env, "a.json");
    let before = tree(&env.path("out"));
    // The flush of the whole stage, and the second file written into it, fail for lack of space.
    for (syscall, when, says) in [
        ("syncfs", "1", "to disk: No space left on device"),
        ("write", "2", "cannot write "),
    ] {
        emit_with_fault(&env, syscall, when, "ENOSPC")
            .code(2)
            .stderr_has(says)
            .stderr_has("No space left on device");
        assert_eq!(tree(&env.path("out")), before, "{syscall}");
        assert_eq!(leftovers(&env, &["out"]), Vec::<String>::new(), "{syscall}");
    }
}

#[test]
fn where_the_parent_refuses_the_stage_out_is_replaced_entry_by_entry() {
    let env = two_mappings(3, 3);
    let new = reference(&env, "b.json", "ref-b");
    emit_ok(&env, "a.json");
    // The first mkdir is the stage beside OUT: refused as a parent without write permission
    // refuses it (as root, permissions cannot be used to say no).
    for errno in ["EACCES", "EROFS"] {
        emit_with_fault(&env, "mkdir", "1", errno).code(0);
        same_generation(&env, &new);
        assert_eq!(leftovers(&env, &["out", "ref-b"]), Vec::<String>::new());
        emit_ok(&env, "a.json");
    }
    // Without a previous generation there is nothing to replace entry by entry: the refusal is
    // the error, and nothing is left.
    std::fs::remove_dir_all(env.path("out")).unwrap();
    emit_with_fault(&env, "mkdir", "1", "EACCES")
        .code(2)
        .stderr_has("cannot create ")
        .stderr_has(".out.imagedef-stage-")
        .stderr_has("check that the folder is writable: Permission denied");
    assert!(!env.path("out").exists());
    assert_eq!(leftovers(&env, &["ref-b"]), Vec::<String>::new());
}
