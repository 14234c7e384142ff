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

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use super::zip_view::{self, Problem};
use super::{Report, Seen};
use crate::model::{ContainerName, Digest, ImageDetail, ImageRef};

/// CodeDeployToECS reads artifacts of at most 3 MB; the zip, each entry and all entries together
/// are held to it, so a zip bomb is refused before it is inflated.
pub const MAX_BYTES: u64 = 3 * 1024 * 1024;

const IMAGE_DEFINITIONS: &str = "imagedefinitions.json";
const IMAGE_DETAIL: &str = "imageDetail.json";

/// Checks one bundle; returns the images it names, for pins and proofs.
pub fn check(zip_path: &Path, report: &mut Report) -> Vec<Seen> {
    let subject = zip_path.display().to_string();
    let Some(bytes) = read_zip(zip_path, &subject, report) else {
        return Vec::new();
    };
    let before = report.findings.len();
    sums_beside(zip_path, &bytes, &subject, report);
    let opened = entries(&bytes, &subject, report);
    let zip_opened = opened.is_some();
    let files = opened.unwrap_or_default();
    let service = zip_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned());
    let mut seen = Vec::new();
    for (name, data) in &files {
        loose_copy(zip_path, service.as_deref(), name, data, &subject, report);
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
                seen.push(Seen {
                    subject: entry,
                    image: d.image_uri.clone(),
                    digest: d.digest(),
                    service: service.clone(),
                    container: None,
                });
            }
        }
    }
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
    if report.findings.len() == before {
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
    seen
}

/// The zip's bytes, if it can be read and is within the limit (else a finding).
fn read_zip(zip_path: &Path, subject: &str, report: &mut Report) -> Option<Vec<u8>> {
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
        Ok(_) => crate::input::read_bounded(zip_path, MAX_BYTES, "bundle")
            .map_err(|e| report.error(subject, e))
            .ok(),
    }
}

/// The zip's entries at the root, by name, with their bytes, when java.util.zip's stream view and
/// the central directory agree on every one (see [`zip_view`]); `None` (and a finding) otherwise.
fn entries(bytes: &[u8], subject: &str, report: &mut Report) -> Option<Vec<(String, Vec<u8>)>> {
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
        if !at_root(&name) {
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

/// True for a plain file name: no folder, no absolute path, no `..`, no backslash.
fn at_root(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && !(name.len() >= 2 && name.as_bytes()[1] == b':')
}

/// Checks imagedefinitions.json inside a bundle: an array of `{name, imageUri}` with valid
/// container names and parsable image references, each name once, at most 100 KB.
fn image_definitions(
    data: &[u8],
    zip: &str,
    service: Option<&str>,
    report: &mut Report,
) -> Vec<Seen> {
    let subject = format!("{zip}:{IMAGE_DEFINITIONS}");
    if data.len() > crate::render::MAX_IMAGE_DEFINITIONS {
        report.fail(
            &subject,
            format!(
                "is {} bytes; the ECS deploy action reads at most 100 KB",
                data.len()
            ),
        );
    }
    let value: Value = match std::str::from_utf8(data)
        .map_err(|e| format!("is not UTF-8 ({e}); the ECS deploy action requires UTF-8"))
        .and_then(|t| serde_json::from_str(t).map_err(|e| format!("is not valid JSON: {e}")))
    {
        Ok(v) => v,
        Err(e) => {
            report.fail(&subject, e);
            return Vec::new();
        }
    };
    let Value::Array(items) = value else {
        report.fail(
            &subject,
            "is not a JSON array; write [{\"name\": \"<container>\", \"imageUri\": \"<image>\"}]",
        );
        return Vec::new();
    };
    if items.is_empty() {
        report.fail(
            &subject,
            "is an empty array; it must name at least one container",
        );
    }
    let mut names = BTreeSet::new();
    let mut seen = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let name = item.get("name").and_then(Value::as_str);
        let uri = item.get("imageUri").and_then(Value::as_str);
        let (Some(name), Some(uri)) = (name, uri) else {
            report.fail(
                &subject,
                format!(
                    "item [{i}] = {item}: needs the string keys \"name\" and \"imageUri\" (exactly so spelled)"
                ),
            );
            continue;
        };
        if let Err(e) = name.parse::<ContainerName>() {
            report.fail(&subject, format!("key \"[{i}].name\": {e}"));
        }
        if !names.insert(name) {
            report.fail(
                &subject,
                format!("container {name:?} is listed twice; list each container once"),
            );
        }
        match uri.parse::<ImageRef>() {
            Err(e) => report.fail(
                &subject,
                format!("key \"[{i}].imageUri\" = {uri:?}: {e}; write a valid image reference"),
            ),
            Ok(image) => seen.push(Seen {
                subject: format!("{subject} [{name}]"),
                digest: image.digest(),
                image,
                service: service.map(str::to_owned),
                container: Some(name.to_owned()),
            }),
        }
    }
    seen
}

/// The digest `SHA256SUMS` in `dir` lists for `name`: `Ok(None)` when the file or the line is
/// absent; an error when any line of the file is malformed or lists a file twice.
fn listed(dir: &Path, name: &str) -> Result<Option<(Digest, String)>, String> {
    let path = dir.join("SHA256SUMS");
    if !path.exists() {
        return Ok(None);
    }
    let bytes = crate::input::read_bounded(&path, 16 * 1024 * 1024, "SHA256SUMS")?;
    let sums = parse_sums(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(sums
        .get(name)
        .map(|digest| (*digest, path.display().to_string())))
}

/// `sha256sum`'s format, strictly: every line `<64 lowercase hex><space><space or *><file>`, each
/// file once.
fn parse_sums(bytes: &[u8]) -> Result<BTreeMap<String, Digest>, String> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| format!("is not UTF-8 ({e}); write it again with imagedef emit"))?;
    let mut sums = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let parsed = line
            .split_once(' ')
            .and_then(|(hex, rest)| Some((hex, rest.strip_prefix([' ', '*'])?)))
            .filter(|(_, file)| !file.is_empty())
            .ok_or_else(|| {
                format!(
                    "line {n} {line:?} is not `<sha256 hex>  <file>`; a line that no check reads is refused: write the file again with imagedef emit"
                )
            })?;
        let (hex, file) = parsed;
        let digest = format!("sha256:{hex}").parse::<Digest>().map_err(|e| {
            format!("line {n}: the line for {file} has {hex:?}, which {e}; write the file again with imagedef emit")
        })?;
        if sums.insert(file.to_owned(), digest).is_some() {
            return Err(format!(
                "line {n} lists {file} a second time; sha256sum -c would check both lines, and one of them is not the file's: keep one line per file"
            ));
        }
    }
    Ok(sums)
}

/// The zip must match the `SHA256SUMS` beside it, when one is there.
fn sums_beside(zip_path: &Path, bytes: &[u8], subject: &str, report: &mut Report) {
    let dir = zip_path.parent().unwrap_or(Path::new("."));
    let Some(name) = zip_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
    else {
        return;
    };
    let sums = dir.join("SHA256SUMS");
    match listed(dir, &name) {
        Err(e) => report.fail(subject, e),
        Ok(None) if sums.exists() => report.fail(
            subject,
            format!(
                "{} lies beside it but does not list {name}; publish the SHA256SUMS written with the zip",
                sums.display()
            ),
        ),
        Ok(None) => {}
        Ok(Some((want, file))) => {
            let got = Digest::of(bytes);
            if got != want {
                report.fail(
                    subject,
                    format!(
                        "has sha256 {got}, but {file} lists {want}; the zip was changed after it was written: write it again"
                    ),
                );
            }
        }
    }
}

/// A zip entry must equal its loose copy as the `SHA256SUMS` beside the zip lists it, when it
/// lists one: `S/E` beside `S.zip` (mapping mode), else `E` beside the single-image
/// `imagedefinitions.zip`.
fn loose_copy(
    zip_path: &Path,
    service: Option<&str>,
    entry: &str,
    data: &[u8],
    subject: &str,
    report: &mut Report,
) {
    let dir = zip_path.parent().unwrap_or(Path::new("."));
    let mut names: Vec<String> = service
        .map(|s| format!("{s}/{entry}"))
        .into_iter()
        .collect();
    if zip_path.file_name().and_then(|n| n.to_str()) == Some(crate::bundle::SINGLE_NAME) {
        names.push(entry.to_owned());
    }
    let found = names
        .iter()
        .find_map(|n| listed(dir, n).ok().flatten().map(|hit| (n, hit)));
    if let Some((sums_name, (want, file))) = found {
        let got = Digest::of(data);
        if got != want {
            report.fail(
                subject,
                format!(
                    "entry {entry:?} has sha256 {got}, but {file} lists {want} for {sums_name}; the zip and the files written with it disagree: write them again"
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_are_at_the_root() {
        for ok in ["imagedefinitions.json", "imageDetail.json", "a..b"] {
            assert!(at_root(ok), "{ok}");
        }
        for bad in [
            "",
            "..",
            "../imagedefinitions.json",
            "/etc/passwd",
            "dir/",
            "a/b.json",
            "..\\x",
            "C:x",
        ] {
            assert!(!at_root(bad), "{bad}");
        }
    }
}
