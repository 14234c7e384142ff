//! `--bundle ZIP`: a zip for an S3 source action, re-checked the way its readers will see it.
//!
//! The zip must open; every entry must sit at the root, be DEFLATE or STORED, carry its sizes in
//! the local header (no data descriptor: `java.util.zip` cannot read STORED entries that use one)
//! and decompress within bounds to bytes whose CRC-32 matches. It must hold imagedefinitions.json
//! and/or imageDetail.json with valid shapes, whose images pass the consistency checks. When a
//! `SHA256SUMS` lies beside it, the zip (and the loose copies of its files) must match it.
//!
//! Everything about the zip's contents is a failed check (exit 1); only an unreadable file is an
//! error (exit 2).

use std::path::{Path, PathBuf};

use super::zip_view::{self, Problem};
use super::{Recorder, Seen};
use crate::model::deploy::{
    IMAGE_DEFINITIONS, IMAGE_DETAIL, ImageDefinitions, SHA256SUMS, SINGLE_BUNDLE, Sha256Sums,
    is_bare_name,
};
use crate::model::identity::RepositoryId;
use crate::model::{Digest, ImageDetail};

/// CodeDeployToECS reads artifacts of at most 3 MB; the zip, each entry and all entries together
/// are held to it, so a zip bomb is refused before it is inflated.
pub const MAX_BYTES: u64 = crate::model::deploy::MAX_BUNDLE_BYTES;

/// One bundle as the bundle check left it, for the checks that hold its content later.
#[derive(Clone, Debug)]
pub struct Bundle {
    /// How results name the zip.
    pub subject: String,
    /// The images it deploys, for pins and proofs.
    pub images: Vec<Seen>,
    /// The `SHA256SUMS` beside it, when there is one (it lists the zip with its digest when
    /// `clean`).
    pub sums: Option<PathBuf>,
    /// The bundle check passed: nothing was found wrong with the zip or its files.
    pub clean: bool,
}

/// Checks one bundle; returns the images it names, for pins and proofs.
/// A `taskdef.json` / `appspec.yaml` pair in it is checked with the default `IMAGE1_NAME` as the
/// action's `Image1ContainerName`.
pub fn check(zip_path: &Path, report: &mut Recorder) -> Vec<Seen> {
    check_bundle(
        zip_path,
        crate::model::blue_green::DEFAULT_PLACEHOLDER,
        report,
    )
    .images
}

/// Checks one bundle; returns it with the images it names and what its check held it against.
/// `placeholder` is the action's `Image1ContainerName` (`--image-placeholder`) for a
/// `taskdef.json` / `appspec.yaml` pair in it.
pub fn check_bundle(zip_path: &Path, placeholder: &str, report: &mut Recorder) -> Bundle {
    let subject = zip_path.display().to_string();
    let Some(bytes) = read_zip(zip_path, &subject, report) else {
        return Bundle {
            subject,
            images: Vec::new(),
            sums: None,
            clean: false,
        };
    };
    let before = report.findings().len();
    let sums = sums_beside(zip_path, &bytes, &subject, report);
    let opened = entries(&bytes, &subject, report);
    let zip_opened = opened.is_some();
    let files = opened.unwrap_or_default();
    let service = zip_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned());
    let mut seen = Vec::new();
    if let Some(sums) = &sums {
        for (name, data) in &files {
            loose_copy(
                zip_path,
                sums,
                service.as_deref(),
                name,
                data,
                &subject,
                report,
            );
        }
    }
    let defs = files.iter().find(|(n, _)| n == IMAGE_DEFINITIONS);
    let detail = files.iter().find(|(n, _)| n == IMAGE_DETAIL);
    if let Some((_, data)) = defs {
        seen.extend(image_definitions(
            data,
            &subject,
            service.as_deref(),
            report,
        ));
    }
    if let Some((_, data)) = detail {
        let entry = format!("{subject}:{IMAGE_DETAIL}");
        match ImageDetail::parse(data) {
            Err(e) => report.fail(&entry, e.to_string()),
            Ok(d) => {
                for problem in d.inconsistencies() {
                    report.fail(&entry, problem);
                }
                seen.push(Seen::new(
                    entry,
                    d.image_uri.clone(),
                    d.digest(),
                    (service.clone(), None),
                ));
            }
        }
    }
    super::blue_green::bundled(&files, &subject, placeholder, report);
    if defs.is_none() && detail.is_none() && zip_opened {
        let names = if files.is_empty() {
            "none readable".to_owned()
        } else {
            files
                .iter()
                .map(|(n, _)| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        report.fail(
            &subject,
            format!(
                "holds neither {IMAGE_DEFINITIONS} nor {IMAGE_DETAIL} at its root (entries: {names}); the deploy action would not find its file: write the bundle with imagedef emit --bundle"
            ),
        );
    }
    let clean = report.findings().len() == before;
    if clean {
        report.ok(
            &subject,
            format!(
                "zip of {} at its root reads cleanly ({} bytes, sha256 {}, base64 {})",
                files
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                bytes.len(),
                Digest::of(&bytes).hex(),
                Digest::of(&bytes).base64()
            ),
        );
    }
    Bundle {
        sums: sums.map(|_| sums_path(zip_path)),
        subject,
        images: seen,
        clean,
    }
}

/// Where the `SHA256SUMS` beside a zip would be.
fn sums_path(zip_path: &Path) -> PathBuf {
    zip_path.parent().unwrap_or(Path::new(".")).join(SHA256SUMS)
}

/// The zip's bytes, if it can be read and is within the limit (else a finding).
fn read_zip(zip_path: &Path, subject: &str, report: &mut Recorder) -> Option<Vec<u8>> {
    match std::fs::metadata(zip_path) {
        Err(e) => {
            report.error(
                subject,
                format!("cannot read bundle {subject}: {e}; check the path"),
            );
            None
        }
        Ok(m) if m.len() > MAX_BYTES => {
            report.fail(
                subject,
                format!(
                    "is {} bytes, more than the 3 MB CodeDeployToECS reads and far more than a bundle of deploy files needs; not opened",
                    m.len()
                ),
            );
            None
        }
        Ok(_) => crate::io::input::read_named(zip_path, MAX_BYTES, "bundle")
            .map_err(|e| report.error(subject, e))
            .ok(),
    }
}

/// The zip's entries at the root, by name, with their bytes, when java.util.zip's stream view and
/// the central directory agree on every one (see [`zip_view`]); `None` (and a finding) otherwise.
fn entries(bytes: &[u8], subject: &str, report: &mut Recorder) -> Option<Vec<(String, Vec<u8>)>> {
    let entries = match zip_view::read(bytes, MAX_BYTES) {
        Ok(entries) => entries,
        Err(refusal) => {
            report.fail(subject, refused(&refusal));
            return None;
        }
    };
    let mut files = Vec::new();
    for entry in entries {
        let name = entry.name;
        if !is_bare_name(&name) {
            report.fail(
                subject,
                format!(
                    "entry {name:?} is not a file at the zip root (a folder, an absolute path or one with ..); not read: the deploy actions look for their files at the root"
                ),
            );
            continue;
        }
        if entry.descriptor {
            report.fail(
                subject,
                format!(
                    "entry {name:?} keeps its sizes and CRC-32 in a data descriptor (flag bit 3), which streaming readers handle poorly; write the zip to a seekable file, as imagedef emit --bundle does"
                ),
            );
        }
        files.push((name, entry.data));
    }
    Some(files)
}

/// The message for a zip the two views read differently, with what to do.
fn refused(refusal: &zip_view::Refusal) -> String {
    match &refusal.problem {
        Problem::Central(e) => format!(
            "is not a readable zip ({e}); it was damaged or is another format: write it again with imagedef emit --bundle"
        ),
        Problem::TooLarge { .. } => refusal.to_string(),
        Problem::StoredDescriptor => {
            format!("{refusal}; write the zip to a seekable file, as imagedef emit --bundle does")
        }
        _ => format!(
            "{refusal}; a byte of the zip was changed, or it was made to read one way in java.util.zip (CodePipeline) and another elsewhere: refused; write it again with imagedef emit --bundle"
        ),
    }
}

/// Checks imagedefinitions.json inside a bundle: an array of `{name, imageUri}` with valid
/// container names and parsable image references, each name once, at most 100 KB.
fn image_definitions(
    data: &[u8],
    zip: &str,
    service: Option<&str>,
    report: &mut Recorder,
) -> Vec<Seen> {
    let subject = format!("{zip}:{IMAGE_DEFINITIONS}");
    let parsed = match ImageDefinitions::parse(data) {
        Ok(parsed) => parsed,
        Err(e) => {
            report.fail(&subject, e.to_string());
            return Vec::new();
        }
    };
    for problem in parsed.problems {
        report.fail(&subject, problem);
    }
    parsed
        .entries
        .into_iter()
        .map(|entry| {
            Seen::new(
                format!("{subject} [{}]", entry.name),
                entry.image_uri.clone(),
                entry.image_uri.digest(),
                (service.map(str::to_owned), Some(entry.name.to_string())),
            )
        })
        .collect()
}

/// The `SHA256SUMS` beside the zip, parsed once, when there is one; the zip must match its line
/// there. A sums file that cannot be read or parsed, or that does not list the zip, fails.
fn sums_beside(
    zip_path: &Path,
    bytes: &[u8],
    subject: &str,
    report: &mut Recorder,
) -> Option<Sha256Sums> {
    let dir = zip_path.parent().unwrap_or(Path::new("."));
    let path = dir.join(SHA256SUMS);
    if !path.exists() {
        return None;
    }
    let sums = match Sha256Sums::load(&path) {
        Ok(sums) => sums,
        Err(e) => {
            report.fail(subject, e.to_string());
            return None;
        }
    };
    let name = zip_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())?;
    match sums.get(&name) {
        None => report.fail(
            subject,
            format!(
                "{} lies beside it but does not list {name}; publish the SHA256SUMS written with the zip",
                path.display()
            ),
        ),
        Some(want) => {
            let got = Digest::of(bytes);
            if got != want {
                report.fail(
                    subject,
                    format!(
                        "has sha256 {got}, but {} lists {want}; the zip was changed after it was written: write it again",
                        path.display()
                    ),
                );
            }
        }
    }
    Some(sums)
}

/// A zip entry must equal its loose copy as the `SHA256SUMS` beside the zip lists it, when it
/// lists one: `S/E` beside `S.zip` (mapping mode), else `E` beside the single-image
/// `imagedefinitions.zip`.
fn loose_copy(
    zip_path: &Path,
    sums: &Sha256Sums,
    service: Option<&str>,
    entry: &str,
    data: &[u8],
    subject: &str,
    report: &mut Recorder,
) {
    let mut names: Vec<String> = service
        .map(|s| format!("{s}/{entry}"))
        .into_iter()
        .collect();
    if zip_path.file_name().and_then(|n| n.to_str()) == Some(SINGLE_BUNDLE) {
        names.push(entry.to_owned());
    }
    let Some((listed, want)) = names.iter().find_map(|n| sums.get(n).map(|d| (n, d))) else {
        return;
    };
    let got = Digest::of(data);
    if got != want {
        let file = zip_path.parent().unwrap_or(Path::new(".")).join(SHA256SUMS);
        report.fail(
            subject,
            format!(
                "entry {entry:?} has sha256 {got}, but {} lists {want} for {listed}; the zip and the files written with it disagree: write them again",
                file.display()
            ),
        );
    }
}

/// Inside a build, a bundle must deploy what the build discovered: every image in a bundle whose
/// repository (with its registry, by its [`RepositoryId`], whatever the host's spelling) was
/// discovered must carry a digest discovered for it.
pub fn deploys_discovered(discovered: &[Seen], bundled: &[Seen], report: &mut Recorder) {
    let mut digests: std::collections::BTreeMap<RepositoryId, Vec<(Digest, &str)>> =
        std::collections::BTreeMap::new();
    for seen in discovered {
        if let Some(d) = seen.digest {
            digests
                .entry(RepositoryId::of(&seen.image))
                .or_default()
                .push((d, &seen.subject));
        }
    }
    for seen in bundled {
        let Some(found) = digests.get(&RepositoryId::of(&seen.image)) else {
            continue;
        };
        let list = found
            .iter()
            .map(|(d, from)| format!("{d} ({from})"))
            .collect::<Vec<_>>()
            .join(", ");
        match seen.digest {
            Some(d) if found.iter().any(|(f, _)| *f == d) => report.ok(
                seen.subject.clone(),
                format!("deploys {d}, the digest this build discovered for {}", seen.image.name()),
            ),
            Some(d) => report.fail(
                seen.subject.clone(),
                format!(
                    "deploys {} with digest {d}, but this build discovered {list}; the bundle is stale or was edited: write it again with imagedef emit --bundle",
                    seen.image.name()
                ),
            ),
            None => report.fail(
                seen.subject.clone(),
                format!(
                    "deploys {} without a digest, but this build discovered {list}; write the bundle with a digest-pinned imageUri (imagedef emit --uri digest or tag+digest)",
                    seen.image
                ),
            ),
        }
    }
}
