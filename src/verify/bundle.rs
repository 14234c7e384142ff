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

use std::collections::BTreeSet;
use std::io::{Cursor, Read as _};
use std::path::Path;

use super::{Report, Seen};
use crate::model::deploy::{
    IMAGE_DEFINITIONS, IMAGE_DETAIL, ImageDefinitions, SHA256SUMS, SINGLE_BUNDLE, Sha256Sums,
};
use crate::model::{Digest, ImageDetail};

/// CodeDeployToECS reads artifacts of at most 3 MB; the zip, each entry and all entries together
/// are held to it, so a zip bomb is refused before it is inflated.
pub const MAX_BYTES: u64 = 3 * 1024 * 1024;

/// Checks one bundle; returns the images it names, for pins and proofs.
pub fn check(zip_path: &Path, report: &mut Report) -> Vec<Seen> {
    let subject = zip_path.display().to_string();
    let Some(bytes) = read_zip(zip_path, &subject, report) else {
        return Vec::new();
    };
    let before = report.findings.len();
    let sums = sums_beside(zip_path, &bytes, &subject, report);
    let mut checker = Entries {
        subject: &subject,
        bytes: &bytes,
        report,
        total: 0,
    };
    let opened = checker.read_all();
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
        Ok(_) => crate::input::read_named(zip_path, MAX_BYTES, "bundle")
            .map_err(|e| report.error(subject, e))
            .ok(),
    }
}

/// The zip's entries, walked with every bound and flag checked.
struct Entries<'a> {
    subject: &'a str,
    bytes: &'a [u8],
    report: &'a mut Report,
    total: u64,
}

impl Entries<'_> {
    fn fail(&mut self, message: String) {
        self.report.fail(self.subject, message);
    }

    /// Checks the local header at `offset`: it must be there, without the data-descriptor bit.
    /// False when the entry cannot be read at all.
    fn local_header(&mut self, name: &str, offset: u64, stored: bool) -> bool {
        match local_flags(self.bytes, offset) {
            None => {
                self.fail(format!(
                    "entry {name:?} has no local header where the central directory says; the zip is damaged"
                ));
                false
            }
            Some(flags) if flags & 0x0008 != 0 => {
                self.fail(format!(
                    "entry {name:?} keeps its sizes and CRC-32 in a data descriptor (flag bit 3){}; write the zip to a seekable file, as imagedef emit --bundle does",
                    if stored {
                        ", and is STORED: java.util.zip, and so CodeDeployToECS, cannot read it"
                    } else {
                        ", which streaming readers handle poorly"
                    }
                ));
                true
            }
            Some(_) => true,
        }
    }

    /// Every readable file entry at the root, by name, with its bytes; `None` when the zip does
    /// not open.
    fn read_all(&mut self) -> Option<Vec<(String, Vec<u8>)>> {
        let mut archive = match zip::ZipArchive::new(Cursor::new(self.bytes)) {
            Ok(a) => a,
            Err(e) => {
                self.fail(format!(
                    "is not a readable zip ({e}); it was damaged or is another format: write it again with imagedef emit --bundle"
                ));
                return None;
            }
        };
        let mut names = BTreeSet::new();
        let mut files = Vec::new();
        for index in 0..archive.len() {
            let mut entry = match archive.by_index(index) {
                Ok(e) => e,
                Err(e) => {
                    self.fail(format!("entry #{index} cannot be read: {e}"));
                    continue;
                }
            };
            let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
            if !at_root(&name) {
                self.report.fail(
                    self.subject,
                    format!(
                        "entry {name:?} is not a file at the zip root (a folder, an absolute path or one with ..); not read: the deploy actions look for their files at the root"
                    ),
                );
                continue;
            }
            if !names.insert(name.clone()) {
                self.fail(format!(
                    "entry {name:?} appears twice; readers disagree on which copy counts"
                ));
                continue;
            }
            if entry.encrypted() {
                self.fail(format!(
                    "entry {name:?} is encrypted; CodePipeline cannot read it"
                ));
                continue;
            }
            let method = entry.compression();
            let stored = method == zip::CompressionMethod::Stored;
            if !stored && method != zip::CompressionMethod::Deflated {
                self.fail(format!(
                    "entry {name:?} uses compression {method}; java.util.zip reads only STORED and DEFLATE"
                ));
                continue;
            }
            if !self.local_header(&name, entry.header_start(), stored) {
                continue;
            }
            let declared = entry.size();
            self.total = self.total.saturating_add(declared);
            if declared > MAX_BYTES || self.total > MAX_BYTES {
                self.fail(format!(
                    "entry {name:?} inflates to {declared} bytes ({} in all so far), more than the 3 MB limit; refused as a zip bomb",
                    self.total
                ));
                return Some(files);
            }
            let mut data = Vec::new();
            let read = (&mut entry)
                .take(MAX_BYTES - (self.total - declared) + 1)
                .read_to_end(&mut data);
            if let Err(e) = read {
                self.fail(format!(
                    "entry {name:?} does not decompress cleanly ({e}); a byte of the zip was changed"
                ));
                continue;
            }
            if data.len() as u64 != declared {
                self.fail(format!(
                    "entry {name:?} inflates to {} bytes, but its header says {declared}; a byte of the zip was changed (or it is a zip bomb)",
                    data.len()
                ));
                continue;
            }
            files.push((name, data));
        }
        Some(files)
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

/// The general-purpose flags of the local header at `offset`, if one is there.
fn local_flags(bytes: &[u8], offset: u64) -> Option<u16> {
    let at = usize::try_from(offset).ok()?;
    let header = bytes.get(at..at.checked_add(8)?)?;
    (header[..4] == [0x50, 0x4b, 0x03, 0x04]).then(|| u16::from_le_bytes([header[6], header[7]]))
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
    let parsed = match ImageDefinitions::parse(data) {
        Ok(parsed) => parsed,
        Err(e) => {
            report.fail(&subject, e);
            return Vec::new();
        }
    };
    for problem in parsed.problems {
        report.fail(&subject, problem);
    }
    parsed
        .entries
        .into_iter()
        .map(|entry| Seen {
            subject: format!("{subject} [{}]", entry.name),
            digest: entry.image_uri.digest(),
            image: entry.image_uri,
            service: service.map(str::to_owned),
            container: Some(entry.name.to_string()),
        })
        .collect()
}

/// The `SHA256SUMS` beside the zip, parsed once, when there is one; the zip must match its line
/// there. A sums file that cannot be read or parsed, or that does not list the zip, fails.
fn sums_beside(
    zip_path: &Path,
    bytes: &[u8],
    subject: &str,
    report: &mut Report,
) -> Option<Sha256Sums> {
    let dir = zip_path.parent().unwrap_or(Path::new("."));
    let path = dir.join(SHA256SUMS);
    if !path.exists() {
        return None;
    }
    let sums = match crate::input::read_named(&path, 16 * 1024 * 1024, SHA256SUMS)
        .and_then(|b| Sha256Sums::parse(&b).map_err(|e| format!("{}: {e}", path.display())))
    {
        Ok(sums) => sums,
        Err(e) => {
            report.fail(subject, e);
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
    report: &mut Report,
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
