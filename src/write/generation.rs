//! Mapping mode's output: OUT belongs to imagedef and is replaced as a whole, one generation at a
//! time.
//!
//! 1. Lock: an exclusive `flock` on OUT's parent directory, so two runs never interleave (the
//!    second waits, saying so, for at most `--lock-timeout`, then names the holder and gives up).
//! 2. Recover: what a killed run left beside OUT (`.<OUT>.imagedef-stage-<pid>`,
//!    `.<OUT>.imagedef-old-<pid>`) is removed, unless its process is alive, is not imagedef and
//!    holds no lock on it; a previous generation set aside by the two-rename fallback is put back
//!    first when OUT itself is missing.
//! 3. Check ([`super::ownership`]): OUT is imagedef's only when its `SHA256SUMS` lists
//!    `imagedef-report.json`, that report is one imagedef writes and lists exactly the files of
//!    `SHA256SUMS`, and every file in OUT is one that `SHA256SUMS` lists, with those bytes.
//!    Anything else is refused, naming it, before anything changes. An empty OUT is fine.
//! 4. Stage the whole new generation beside OUT (files 0644, folders 0755, OUT's own mode and
//!    owner kept), make it durable with one `syncfs`, and swap it in with
//!    `renameat2(RENAME_EXCHANGE)`: at every instant OUT is exactly the old or the new generation.
//!    The old one, now at the staging path, is removed; anything that appeared in OUT meanwhile is
//!    kept with it instead, and named. A run that fails (a full disk, say) removes its stage.
//!
//! Fallbacks, where the exchange is refused: a filesystem without `RENAME_EXCHANGE` gets two
//! renames (OUT to `.<OUT>.imagedef-old-<pid>`, the stage to OUT; a kill between them leaves OUT
//! missing for an instant, and the next run puts the old generation back). An OUT that is a mount
//! point, or whose parent is not writable, is staged inside itself and swapped entry by entry,
//! `SHA256SUMS` last: each entry atomically, the generation as a whole not. An interrupted swap
//! leaves the stage inside OUT, and the next run accepts both generations' files and completes it.

use std::fs;
use std::path::Path;
use std::time::Duration;

use super::error::WriteError;
use super::ownership::{Out, previous};
use super::{OutFile, create_dirs};

/// Replaces the generation in `out` with `files`, or changes nothing. Another run's lock on OUT is
/// waited for at most `lock_timeout`.
pub fn replace(out: &Path, files: &[OutFile], lock_timeout: Duration) -> Result<(), WriteError> {
    let out = Out::locate(out)?;
    let mut created = Vec::new();
    let result =
        create_dirs(&out.parent, &mut created).and_then(|()| out.replace(files, lock_timeout));
    if result.is_err() {
        for dir in created.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
    result
}

/// What `replace` would refuse, without changing anything: for `--dry-run`. Only ownership is
/// asked: nothing is locked, staged or swapped.
pub fn check(out: &Path) -> Result<(), WriteError> {
    let out = Out::locate(out)?;
    previous(&out).map(|_| ())
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};

    use super::super::fs::entries;
    use super::super::swap::stage_files;
    use super::*;

    const WAIT: Duration = Duration::from_secs(30);
    use crate::model::Digest;
    use crate::model::deploy::{REPORT, SHA256SUMS, Sha256Sums};

    fn files(names: &[(&str, &str)]) -> Vec<OutFile> {
        let mut files: Vec<OutFile> = names
            .iter()
            .map(|(p, b)| OutFile::new(*p, b.as_bytes().to_vec()))
            .collect();
        // The report as imagedef writes it: each service's files under its folder.
        let mut services: Vec<(String, Vec<String>)> = Vec::new();
        for f in &files {
            let name = f.path.split('/').next().unwrap().to_owned();
            match services.iter_mut().find(|(n, _)| *n == name) {
                Some((_, listed)) => listed.push(f.path.clone()),
                None => services.push((name, vec![f.path.clone()])),
            }
        }
        let services: Vec<_> = services
            .into_iter()
            .map(|(name, files)| serde_json::json!({"name": name, "files": files}))
            .collect();
        let report = serde_json::json!({"mapping": "m.json", "services": services});
        files.push(OutFile::new(REPORT, crate::model::json::pretty(&report)));
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
        replace(
            &out,
            &files(&[("web/a.json", "1"), ("api/a.json", "2")]),
            WAIT,
        )
        .unwrap();
        replace(&out, &files(&[("web/a.json", "3")]), WAIT).unwrap();
        assert_eq!(tree(&out), [pair("web/a.json", "3")]);
        assert_eq!(entries(tmp.path()).unwrap(), ["out"], "nothing beside OUT");
    }

    #[test]
    fn foreign_or_changed_files_are_refused_and_nothing_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        replace(&out, &files(&[("web/a.json", "1")]), WAIT).unwrap();
        fs::write(out.join("web/notes.txt"), "mine").unwrap();
        let e = replace(&out, &files(&[("web/a.json", "2")]), WAIT).unwrap_err();
        assert!(
            matches!(&e, WriteError::NotWritten { paths, .. } if paths == &["web/notes.txt"]),
            "{e:?}"
        );
        fs::remove_file(out.join("web/notes.txt")).unwrap();
        fs::write(out.join("web/a.json"), "edited").unwrap();
        let e = replace(&out, &files(&[("web/a.json", "2")]), WAIT).unwrap_err();
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
        let e = replace(&out, &files(&[("web/a.json", "1")]), WAIT).unwrap_err();
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
        replace(&out, &files(&[("web/a.json", "1")]), WAIT).unwrap();
        // A run killed between the two renames of the fallback: OUT gone, the old one aside.
        fs::rename(&out, tmp.path().join(".out.imagedef-old-999999")).unwrap();
        fs::create_dir(tmp.path().join(".out.imagedef-stage-999998")).unwrap();
        fs::create_dir(tmp.path().join(".out.imagedef-stage-mine")).unwrap();
        replace(&out, &files(&[("web/a.json", "2")]), WAIT).unwrap();
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
            WAIT,
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
        replace(&out.path, &files(&[("web/a.json", "6")]), WAIT).unwrap();
        assert_eq!(tree(&out.path), [pair("web/a.json", "6")]);
    }

    #[test]
    fn a_symlinked_or_dot_out_is_refused_with_the_reason() {
        let tmp = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(tmp.path().join("nowhere"), tmp.path().join("link")).unwrap();
        let e = replace(&tmp.path().join("link"), &files(&[]), WAIT).unwrap_err();
        assert!(
            matches!(&e, WriteError::SymlinkedOut { target, dangling: true, .. }
                if *target == tmp.path().join("nowhere").display().to_string()),
            "{e:?}"
        );
        for dot in [".", "..", "/"] {
            let e = replace(Path::new(dot), &files(&[]), WAIT).unwrap_err();
            assert!(matches!(e, WriteError::OutIsDot { .. }), "{dot}: {e:?}");
        }
    }

    #[test]
    fn modes_are_fixed_whatever_the_umask_and_a_dotted_path_leaves_nothing_stray() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("a/../out");
        replace(&out, &files(&[("web/a.json", "1")]), WAIT).unwrap();
        let mode = |p: &str| fs::metadata(tmp.path().join(p)).unwrap().mode() & 0o7777;
        assert_eq!((mode("out/web"), mode("out/web/a.json")), (0o755, 0o644));
        fs::set_permissions(tmp.path().join("out"), fs::Permissions::from_mode(0o2775)).unwrap();
        replace(&out, &files(&[("web/a.json", "2")]), WAIT).unwrap();
        assert_eq!(mode("out"), 0o2775, "OUT keeps its own mode");
        assert_eq!(entries(tmp.path()).unwrap(), ["out"]);
    }
}
