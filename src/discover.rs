//! Finding the artifact roots and every imageDetail.json inside them.
//!
//! Roots come from the command line, else from `CodeBuild`'s `CODEBUILD_SRC_DIR` and
//! `CODEBUILD_SRC_DIR_<name>` variables, else `.`. The walk never follows symlinks, skips `.git`,
//! and records every file it could not use instead of stopping.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::io::input::{self, ReadError};
use crate::model::deploy::{REPORT, is_staging_folder};
use crate::model::mapping::Mapping;
use crate::model::{Digest, ImageDetail, ImageRef, Malformed};

/// Files larger than this are refused unread; real ones are under 1 KiB.
pub const MAX_FILE_SIZE: u64 = 1024 * 1024;

/// The artifact name `CodeBuild`'s `$CODEBUILD_SRC_DIR` gets.
pub const PRIMARY: &str = "primary";

/// The origin of the root used when no ROOT is given and `CodeBuild`'s variables are not set.
pub const CURRENT_DIRECTORY: &str = "the current directory (no ROOT and no $CODEBUILD_SRC_DIR)";

/// One input artifact: its name and the directory it was extracted to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Root {
    pub artifact: String,
    pub path: PathBuf,
    /// Where the root came from, for messages: `argument "..."`, `$CODEBUILD_SRC_DIR_<name>`.
    pub origin: String,
    /// The artifact name was given (`NAME=DIR`, a `CodeBuild` variable), not taken from the folder.
    pub named: bool,
}

/// Works out the roots. `args` are the positional `ROOT`s (`DIR` or `NAME=DIR`); `env` is the
/// process environment.
pub fn roots(
    args: &[String],
    env: impl IntoIterator<Item = (OsString, OsString)>,
) -> anyhow::Result<Vec<Root>> {
    let roots = if args.is_empty() {
        let mut roots = roots_from_env(env);
        if let Some(bad) = roots.iter().find(|r| !is_artifact_name(&r.artifact)) {
            bail!(
                "$CODEBUILD_SRC_DIR_<name> with <name> = {:?} ({}) is not an input artifact: CodePipeline artifact names are 1-100 of letters, digits, _ and -; rename the input artifact, or unset the variable",
                bad.artifact,
                bad.path.display()
            );
        }
        if roots.is_empty() {
            roots.push(Root {
                artifact: PRIMARY.to_owned(),
                path: PathBuf::from("."),
                origin: CURRENT_DIRECTORY.to_owned(),
                named: false,
            });
        }
        roots
    } else {
        args.iter()
            .map(|a| root_from_arg(a))
            .collect::<anyhow::Result<_>>()?
    };
    // (canonical path, index in `unique`)
    let mut seen: Vec<(PathBuf, usize)> = Vec::new();
    let mut unique: Vec<Root> = Vec::with_capacity(roots.len());
    for root in roots {
        let meta = std::fs::metadata(&root.path).with_context(|| {
            format!(
                "artifact root {} (artifact {}, from {}) cannot be read; pass an existing directory",
                root.path.display(),
                root.artifact,
                root.origin
            )
        })?;
        if !meta.is_dir() {
            bail!(
                "artifact root {} (artifact {}, from {}) is not a directory; pass the directory the artifact was extracted to",
                root.path.display(),
                root.artifact,
                root.origin
            );
        }
        // The same directory twice would make every file in it a candidate twice.
        let canonical = std::fs::canonicalize(&root.path).unwrap_or_else(|_| root.path.clone());
        if let Some((_, at)) = seen.iter().find(|(path, _)| *path == canonical) {
            let first = &mut unique[*at];
            // A name given with NAME=DIR wins over the folder name a bare DIR got.
            if root.named && !first.named {
                first.artifact.clone_from(&root.artifact);
                first.named = true;
            }
            tracing::warn!(
                "{} is given twice as an artifact root; searching it once, as artifact {}",
                root.path.display(),
                first.artifact
            );
            continue;
        }
        seen.push((canonical, unique.len()));
        unique.push(root);
    }
    Ok(unique)
}

fn root_from_arg(arg: &str) -> anyhow::Result<Root> {
    let origin = format!("argument {arg:?}");
    if let Some((name, dir)) = arg.split_once('=')
        && !Path::new(arg).exists()
    {
        if !is_artifact_name(name) {
            bail!(
                "ROOT {arg:?}: {name:?} is not an artifact name; NAME=DIR takes 1-100 of letters, digits, _ and - before the =, as CodePipeline artifact names are"
            );
        }
        if dir.is_empty() {
            bail!("ROOT {arg:?} names no directory after the =; write NAME=DIR");
        }
        return Ok(Root {
            artifact: name.to_owned(),
            path: PathBuf::from(dir),
            origin,
            named: true,
        });
    }
    let path = PathBuf::from(arg);
    // The folder's name as written; through the real path for `.` and `..`.
    let artifact = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .or_else(|| {
            std::fs::canonicalize(&path)
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        })
        .unwrap_or_else(|| PRIMARY.to_owned());
    Ok(Root {
        artifact,
        path,
        origin,
        named: false,
    })
}

/// A `CodePipeline` artifact name: 1-100 of letters, digits, `_` and `-`.
fn is_artifact_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

pub(crate) fn roots_from_env(env: impl IntoIterator<Item = (OsString, OsString)>) -> Vec<Root> {
    let mut primary = None;
    let mut secondary = Vec::new();
    for (key, value) in env {
        let Some(key) = key.to_str() else { continue };
        if value.is_empty() {
            continue;
        }
        if key == "CODEBUILD_SRC_DIR" {
            primary = Some(PathBuf::from(value));
        } else if let Some(name) = key.strip_prefix("CODEBUILD_SRC_DIR_")
            && !name.is_empty()
        {
            secondary.push(Root {
                artifact: name.to_owned(),
                path: PathBuf::from(value),
                origin: format!("${key}"),
                named: true,
            });
        }
    }
    secondary.sort_by(|a, b| a.artifact.cmp(&b.artifact));
    let mut roots: Vec<Root> = primary
        .map(|path| Root {
            artifact: PRIMARY.to_owned(),
            path,
            origin: "$CODEBUILD_SRC_DIR".to_owned(),
            named: true,
        })
        .into_iter()
        .collect();
    for root in secondary {
        // CodeBuild may also name the primary artifact's directory; walk it once.
        if !roots.iter().any(|r| r.path == root.path) {
            roots.push(root);
        }
    }
    roots
}

/// A file with the searched-for name, and what it holds.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub artifact: String,
    /// The path inside the artifact, with `/` separators.
    pub rel_path: String,
    /// The path as reachable from the working directory.
    pub path: PathBuf,
    pub detail: Result<ImageDetail, Malformed>,
}

impl Candidate {
    /// `artifact:path`, how a candidate is named in messages (escaped, as a value from a file).
    #[must_use]
    pub fn label(&self) -> String {
        crate::io::escape::value(&format!("{}:{}", self.artifact, self.rel_path)).into_owned()
    }
}

/// A path the walk could not use: unreadable, a symlink, not a regular file.
#[derive(Clone, Debug)]
pub struct Skipped {
    pub artifact: String,
    pub path: PathBuf,
    pub reason: String,
    /// An I/O failure (exit 2), as opposed to a path that is simply not a file to read.
    pub unreadable: bool,
}

/// Everything one walk found.
#[derive(Clone, Debug, Default)]
pub struct Discovery {
    pub candidates: Vec<Candidate>,
    pub skipped: Vec<Skipped>,
}

impl Discovery {
    /// The candidates whose file parsed.
    pub fn images(&self) -> impl Iterator<Item = (&Candidate, &ImageDetail)> {
        self.candidates
            .iter()
            .filter_map(|c| c.detail.as_ref().ok().map(|d| (c, d)))
    }

    /// Gives each image that names a tag without a digest, and whose reference is in `pinned`,
    /// the digest `pinned` holds for it (`--resolve-tags`), as if its file had an `ImageDigest`.
    pub fn pin(&mut self, pinned: &[(ImageRef, Digest)]) {
        for candidate in &mut self.candidates {
            let Ok(detail) = &mut candidate.detail else {
                continue;
            };
            if detail.digest().is_some() {
                continue;
            }
            if let Some((_, digest)) = pinned.iter().find(|(image, _)| *image == detail.image_uri) {
                detail.image_digest = Some(*digest);
            }
        }
    }

    /// True when something was found but none of it is usable: every file was refused or
    /// skipped. That is malformed input (exit 2), not a missing image (exit 1).
    #[must_use]
    pub fn only_refused(&self) -> bool {
        self.images().next().is_none() && !(self.candidates.is_empty() && self.skipped.is_empty())
    }

    /// One line per candidate and skipped path, saying what it is or why it was refused.
    #[must_use]
    pub fn listing(&self) -> String {
        let mut lines = Vec::new();
        for c in &self.candidates {
            match &c.detail {
                Ok(d) => lines.push(format!("  {}: {}", c.label(), d.image_uri)),
                Err(e) => lines.push(format!(
                    "  {} ({}): refused: {e}",
                    c.label(),
                    crate::io::escape::path(&c.path)
                )),
            }
        }
        for s in &self.skipped {
            lines.push(format!(
                "  {}: skipped: {}",
                crate::io::escape::path(&s.path),
                s.reason
            ));
        }
        lines.join("\n")
    }
}

/// Walks every root for files named `file_name`, leaving out the directory `skip` (imagedef's own
/// output directory: a blue/green `imageDetail.json` written there must not become an input of
/// the next run) and any folder holding an `imagedef-report.json` (the output of an earlier run,
/// or one being staged).
#[must_use]
pub fn discover(roots: &[Root], file_name: &str, skip: Option<&Path>) -> Discovery {
    let skip = skip.and_then(|p| std::fs::canonicalize(p).ok());
    let mut found = Discovery::default();
    for root in roots {
        // The skipped directory as the walk will spell it: under this root's path as given.
        let skip_here = skip.as_ref().and_then(|skip| {
            let root_abs = std::fs::canonicalize(&root.path).ok()?;
            let rel = skip.strip_prefix(&root_abs).ok()?;
            (!rel.as_os_str().is_empty()).then(|| root.path.join(rel))
        });
        walk(root, file_name, skip_here.as_deref(), &mut found);
    }
    found
}

/// True for a folder the walk leaves out: `.git`, imagedef's own output folder `skip`, a folder an
/// imagedef run stages in, and the output of an earlier run (it holds `imagedef-report.json`).
fn left_out(dir: &Path, skip: Option<&Path>) -> bool {
    let name = dir.file_name().unwrap_or_default().to_string_lossy();
    if name == ".git" || skip.is_some_and(|s| dir == s) {
        return true;
    }
    if is_staging_folder(&name) {
        tracing::debug!(
            "not searching {}: an imagedef run stages or set aside its output there",
            dir.display()
        );
        return true;
    }
    let earlier_output = dir.join(REPORT).is_file();
    if earlier_output {
        tracing::debug!(
            "not searching {}: it holds {REPORT}, so it is the output of an earlier imagedef run",
            dir.display()
        );
    }
    earlier_output
}

fn walk(root: &Root, file_name: &str, skip: Option<&Path>, found: &mut Discovery) {
    tracing::debug!(
        "searching {} (artifact {}) for {file_name}",
        root.path.display(),
        root.artifact
    );
    let walker = walkdir::WalkDir::new(&root.path)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| !(e.depth() > 0 && e.file_type().is_dir() && left_out(e.path(), skip)));
    let mut candidates = Vec::new();
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                let path = err
                    .path()
                    .map_or_else(|| root.path.clone(), Path::to_path_buf);
                let reason = err
                    .io_error()
                    .map_or_else(|| err.to_string(), ToString::to_string);
                found.skipped.push(Skipped {
                    artifact: root.artifact.clone(),
                    path,
                    reason: format!("cannot be read ({reason})"),
                    unreadable: true,
                });
                continue;
            }
        };
        if entry.file_name() != file_name {
            continue;
        }
        let kind = entry.file_type();
        let path = entry.path().to_path_buf();
        let skip = |reason: &str, unreadable: bool| Skipped {
            artifact: root.artifact.clone(),
            path: path.clone(),
            reason: reason.to_owned(),
            unreadable,
        };
        if kind.is_symlink() {
            found.skipped.push(skip(
                "is a symbolic link, which imagedef never follows; copy the file instead",
                false,
            ));
            continue;
        }
        if !kind.is_file() {
            let what = if kind.is_dir() {
                "a directory"
            } else {
                "not a regular file"
            };
            found.skipped.push(skip(&format!("is {what}"), false));
            continue;
        }
        let rel_path = entry
            .path()
            .strip_prefix(&root.path)
            .unwrap_or(entry.path())
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        match read_candidate(&path) {
            Ok(bytes) => candidates.push(Candidate {
                artifact: root.artifact.clone(),
                rel_path,
                detail: bytes.and_then(|b| ImageDetail::parse(&b)),
                path,
            }),
            Err(err) => found
                .skipped
                .push(skip(&format!("cannot be read ({err})"), true)),
        }
    }
    candidates.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
    tracing::debug!(
        "artifact {}: {} file(s) found",
        root.artifact,
        candidates.len()
    );
    found.candidates.extend(candidates);
}

/// Reads a file of at most [`MAX_FILE_SIZE`] bytes. A larger one is a refused candidate, not
/// read; an I/O failure is the outer error.
fn read_candidate(path: &Path) -> std::io::Result<Result<Vec<u8>, Malformed>> {
    match input::read_bounded(path, MAX_FILE_SIZE) {
        Ok(bytes) => Ok(Ok(bytes)),
        Err(ReadError::TooLarge { len, .. }) => Ok(Err(Malformed {
            key: None,
            value: None,
            problem: format!(
                "is {len} bytes, more than the {MAX_FILE_SIZE} bytes an imageDetail.json can sensibly be (real ones are under 1 KiB)"
            ),
            fix: "this is not an imageDetail.json: rename it, or point imagedef at the ECR source artifact".to_owned(),
            unrendered: false,
        })),
        Err(ReadError::Io(e)) => Err(e),
        Err(other @ ReadError::NotAFile(_)) => Err(std::io::Error::other(other.to_string())),
    }
}

/// The roots the plan can take images from: when every selector names its artifact, only those
/// artifacts' roots are walked. A named artifact that no root has is pointed out.
#[must_use]
pub fn roots_needed(plan: &Mapping, roots: &[Root]) -> Vec<Root> {
    let Some(needed) = plan.artifacts_needed() else {
        return roots.to_vec();
    };
    for name in &needed {
        if !roots.iter().any(|r| r.artifact == *name) {
            tracing::warn!(
                "the mapping selects artifact {name:?}, but no artifact root has that name; the roots are: {}",
                roots
                    .iter()
                    .map(|r| format!("{} ({})", r.artifact, r.path.display()))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let (kept, skipped): (Vec<Root>, Vec<Root>) = roots
        .iter()
        .cloned()
        .partition(|r| needed.contains(r.artifact.as_str()));
    for root in skipped {
        tracing::debug!(
            "not searching {} (artifact {}): no selector names it",
            root.path.display(),
            root.artifact
        );
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn codebuild_variables_name_the_artifacts() {
        let tmp = tempfile::tempdir().unwrap();
        let d = |n: &str| {
            let p = tmp.path().join(n);
            std::fs::create_dir(&p).unwrap();
            p.to_string_lossy().into_owned()
        };
        let (src, web, api) = (d("00"), d("01"), d("02"));
        let roots = roots(
            &[],
            env(&[
                ("CODEBUILD_SRC_DIR_WebImage", &web),
                ("PATH", "/bin"),
                ("CODEBUILD_SRC_DIR", &src),
                ("CODEBUILD_SRC_DIR_ApiImage", &api),
                ("CODEBUILD_SRC_DIR_Empty", ""),
            ]),
        )
        .unwrap();
        let names: Vec<_> = roots.iter().map(|r| r.artifact.as_str()).collect();
        assert_eq!(names, ["primary", "ApiImage", "WebImage"]);
    }

    #[test]
    fn no_roots_means_the_current_directory() {
        let roots = roots(&[], env(&[("HOME", "/root")])).unwrap();
        assert_eq!(roots.len(), 1);
        assert_eq!(
            (roots[0].artifact.as_str(), roots[0].path.as_path()),
            ("primary", Path::new("."))
        );
    }

    #[test]
    fn a_missing_root_is_an_error_naming_it() {
        let e = roots(&["Web=/nonexistent/x".into()], env(&[])).unwrap_err();
        assert!(
            format!("{e:#}").contains(
                "artifact root /nonexistent/x (artifact Web, from argument \"Web=/nonexistent/x\") cannot be read"
            ),
            "{e:#}"
        );
        let e = roots(&[], env(&[("CODEBUILD_SRC_DIR_Web", "/nonexistent/y")])).unwrap_err();
        assert!(
            format!("{e:#}").contains("(artifact Web, from $CODEBUILD_SRC_DIR_Web)"),
            "{e:#}"
        );
    }

    #[test]
    fn a_codebuild_variable_that_names_no_artifact_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_string_lossy().into_owned();
        let long = format!("CODEBUILD_SRC_DIR_{}", "a".repeat(101));
        for (key, name) in [
            ("CODEBUILD_SRC_DIR_my.app", "my.app".to_owned()),
            ("CODEBUILD_SRC_DIR_web\u{1b}[2J", "web\u{1b}[2J".to_owned()),
            (long.as_str(), "a".repeat(101)),
        ] {
            let e = roots(&[], env(&[(key, &dir)])).unwrap_err();
            assert_eq!(
                format!("{e:#}"),
                format!(
                    "$CODEBUILD_SRC_DIR_<name> with <name> = {name:?} ({dir}) is not an input artifact: CodePipeline artifact names are 1-100 of letters, digits, _ and -; rename the input artifact, or unset the variable"
                ),
                "{key}"
            );
        }
        let ok = roots(
            &[],
            env(&[(&format!("CODEBUILD_SRC_DIR_{}", "a".repeat(100)), &dir)]),
        );
        assert_eq!(ok.unwrap()[0].artifact, "a".repeat(100));
    }

    #[test]
    fn name_equals_dir_roots_are_checked() {
        let e = roots(&["my app=x".into()], env(&[])).unwrap_err();
        assert!(
            format!("{e:#}").contains("\"my app\" is not an artifact name"),
            "{e:#}"
        );
        let e = roots(&["Web=".into()], env(&[])).unwrap_err();
        assert!(
            format!("{e:#}").contains("names no directory after the ="),
            "{e:#}"
        );
    }
}
