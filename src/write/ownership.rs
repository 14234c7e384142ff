//! Is OUT imagedef's? Where OUT is ([`Out`]), what its previous generation is (its
//! `SHA256SUMS`), and which paths in it imagedef did not write. The dry run asks this without
//! swapping anything.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use super::error::{At as _, Op, WriteError, listing};
use super::fs::{entries, normal};
use crate::io::input::ReadError;
use crate::model::deploy::{REPORT, SHA256SUMS, Sha256Sums, StageName, SumsLoadError};
use crate::model::{Digest, json};

/// The largest file of a previous generation that is read to check it.
const MAX_FILE: u64 = 64 * 1024 * 1024;

/// OUT as an absolute, lexically normal path, split into its parent and its name.
pub(super) struct Out {
    pub(super) path: PathBuf,
    pub(super) parent: PathBuf,
    pub(super) name: String,
}

/// The files of the previous generation, as its `SHA256SUMS` lists them: path -> the digests
/// accepted there (two, for a path that an interrupted entry-by-entry swap left in either state).
pub(super) type Generation = BTreeMap<String, Vec<Digest>>;

impl Out {
    pub(super) fn locate(out: &Path) -> Result<Out, WriteError> {
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

    /// This run's stage beside OUT.
    pub(super) fn stage(&self) -> PathBuf {
        self.parent.join(
            StageName::Beside {
                out: self.name.clone(),
                pid: std::process::id(),
            }
            .to_string(),
        )
    }

    /// Where this run sets the previous generation aside (the two-rename fallback).
    pub(super) fn aside(&self) -> PathBuf {
        self.parent.join(
            StageName::Aside {
                out: self.name.clone(),
                pid: std::process::id(),
            }
            .to_string(),
        )
    }

    /// This run's stage inside OUT (the entry-by-entry swap).
    pub(super) fn stage_inside(&self) -> PathBuf {
        self.path.join(
            StageName::Inside {
                pid: std::process::id(),
            }
            .to_string(),
        )
    }

    /// Where the previous generation is kept when files appeared in OUT while this run staged.
    pub(super) fn kept(&self) -> PathBuf {
        self.parent.join(format!(
            ".{}.imagedef-kept-{}",
            self.name,
            std::process::id()
        ))
    }
}

/// The generation in OUT, or `None` when there is no OUT. Refuses when OUT holds anything
/// imagedef did not write.
pub(super) fn previous(out: &Out) -> Result<Option<Generation>, WriteError> {
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
    // The generations OUT may hold: its own and, after an interrupted entry-by-entry swap, the
    // new one waiting inside it, whose files are imagedef's too.
    let mut claims = vec![generation.clone()];
    let mut stages = Vec::new();
    for name in entries(&out.path)? {
        if let Some(StageName::Inside { .. }) = StageName::parse(&name) {
            let waiting = sums(&out.path.join(&name).join(SHA256SUMS))?;
            if !generation.is_empty() && waiting.contains_key(REPORT) {
                claims.push(waiting.clone());
                for (path, digests) in waiting {
                    generation.entry(path).or_default().extend(digests);
                }
                stages.push(name);
            }
        }
    }
    if !generation.is_empty() {
        owned_by_report(out, &claims)?;
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

/// OUT's `SHA256SUMS` claims it for imagedef: it does only when the report in it is one that
/// imagedef writes and lists exactly the files of the `SHA256SUMS` that lists the report's
/// bytes (one of `claims`). A report whose bytes no claim lists is left to [`foreign`], which
/// names it.
fn owned_by_report(out: &Out, claims: &[Generation]) -> Result<(), WriteError> {
    let refuse = |reason: String| WriteError::NotImagedefs {
        out: out.path.clone(),
        reason,
    };
    let bytes = match crate::io::input::read_bounded(&out.path.join(REPORT), MAX_FILE) {
        Ok(bytes) => bytes,
        Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(refuse(format!(
                "is missing, although {SHA256SUMS} lists it"
            )));
        }
        Err(_) => return Ok(()),
    };
    let digest = Digest::of(&bytes);
    let Some(claim) = claims
        .iter()
        .find(|c| c.get(REPORT).is_some_and(|d| d.contains(&digest)))
    else {
        return Ok(());
    };
    let listed: BTreeSet<&str> = claim.keys().map(String::as_str).collect();
    match report_problem(&bytes, &listed) {
        None => Ok(()),
        Some(reason) => Err(refuse(reason)),
    }
}

/// `imagedef-report.json` as every version of imagedef has written it: the mapping file, and per
/// service its name and the files written under `<name>/`; with `--bundle`, its zip. Other keys
/// (the containers, and what later versions add) are not needed to tell what imagedef wrote.
#[derive(Deserialize)]
struct WrittenReport {
    mapping: String,
    services: Vec<WrittenService>,
}

#[derive(Deserialize)]
struct WrittenService {
    name: String,
    files: Vec<String>,
    #[serde(default)]
    bundle: Option<WrittenBundle>,
}

#[derive(Deserialize)]
struct WrittenBundle {
    path: String,
}

/// Why `bytes` are not a report imagedef wrote beside a `SHA256SUMS` listing `listed`; `None` when
/// they are. Worded to follow "its imagedef-report.json".
fn report_problem(bytes: &[u8], listed: &BTreeSet<&str>) -> Option<String> {
    let report = match json::parse(bytes)
        .map_err(|e| e.to_string())
        .and_then(|v| serde_json::from_value::<WrittenReport>(v).map_err(|e| e.to_string()))
    {
        Ok(report) => report,
        Err(e) => return Some(format!("is not a report imagedef writes ({e})")),
    };
    if report.mapping.is_empty() {
        return Some("names no mapping file, as a report imagedef writes does".to_owned());
    }
    let mut files: BTreeSet<&str> = BTreeSet::from([REPORT]);
    for service in &report.services {
        let folder = format!("{}/", service.name);
        if let Some(stray) = service.files.iter().find(|f| !f.starts_with(&folder)) {
            return Some(format!(
                "lists {stray} for service {:?}, outside its folder {folder}",
                service.name
            ));
        }
        files.extend(service.files.iter().map(String::as_str));
        files.extend(service.bundle.iter().map(|b| b.path.as_str()));
    }
    let unlisted: Vec<String> = files.difference(listed).map(|p| (*p).to_owned()).collect();
    let unreported: Vec<String> = listed.difference(&files).map(|p| (*p).to_owned()).collect();
    match (unlisted.is_empty(), unreported.is_empty()) {
        (true, true) => None,
        (false, _) => Some(format!(
            "lists {} that {SHA256SUMS} does not",
            listing(&unlisted)
        )),
        (true, false) => Some(format!(
            "does not list {}, which {SHA256SUMS} lists",
            listing(&unreported)
        )),
    }
}

/// The `SHA256SUMS` at `path` as a generation; empty when there is none.
fn sums(path: &Path) -> Result<Generation, WriteError> {
    if !path.is_file() {
        return Ok(Generation::new());
    }
    let sums = Sha256Sums::load(path).map_err(|e| match e {
        SumsLoadError::Unread(e) => WriteError::UnreadSums(e),
        SumsLoadError::Malformed { path, problem } => WriteError::BadSums { path, problem },
    })?;
    Ok(sums
        .paths()
        .map(|p| (p.to_owned(), vec![sums.get(p).expect("listed")]))
        .collect())
}

/// The paths below `dir` that `generation` does not account for: files it does not list or whose
/// bytes differ, folders none of its files are in, anything else. `skip` are top-level names left
/// out (stages).
pub(super) fn foreign(
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
                    crate::io::input::read_bounded(entry.path(), MAX_FILE)
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
