//! What `publish` may upload: the bundles `emit --bundle` wrote into OUT, each re-checked against
//! OUT's `SHA256SUMS` and by the checks of `verify --bundle` before anything is sent; an entry of
//! OUT that is not a regular file is refused. [`precheck`] is pure; [`read`] reads OUT.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{anyhow, bail};

use crate::check::{Check, Report};
use crate::error::{CheckFailed, ExitCode};
use crate::io::input;
use crate::model::Digest;
use crate::model::deploy::{
    MAX_BUNDLE_BYTES, REPORT, SHA256SUMS, SINGLE_BUNDLE, Sha256Sums, SumsLoadError, bundle_stem,
    is_bundle,
};

/// One bundle, checked against `SHA256SUMS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundle {
    /// The zip's file stem: the service (mapping mode), or `imagedefinitions` (single mode).
    pub service: String,
    /// The zip's file name in OUT.
    pub file: String,
    pub bytes: Vec<u8>,
    pub digest: Digest,
}

/// Why OUT is not published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// OUT holds no bundle at all (exit 2).
    NoBundles,
    /// Zips that do not match, or are missing from, `SHA256SUMS` (exit 1): each named.
    Mismatch(Vec<String>),
}

/// Which zips of OUT are bundles: in mapping mode every `<service>.zip` at OUT's root, listed or
/// found; in single mode only `imagedefinitions.zip` (OUT is then often a source folder holding
/// other zips). `files` are the zips found in OUT with their bytes. Every bundle must be listed in
/// `sums` with its exact sha256 and every listed bundle must be there; otherwise nothing is
/// published.
pub fn precheck(
    sums: &Sha256Sums,
    mapping: bool,
    files: &BTreeMap<String, Vec<u8>>,
) -> Result<Vec<Bundle>, Refusal> {
    let is_bundle = |name: &str| {
        if mapping {
            !name.contains('/') && name.len() > 4 && is_bundle(name)
        } else {
            name == SINGLE_BUNDLE
        }
    };
    let names: BTreeSet<&str> = sums
        .paths()
        .chain(files.keys().map(String::as_str))
        .filter(|n| is_bundle(n))
        .collect();
    if names.is_empty() {
        return Err(Refusal::NoBundles);
    }
    let mut bundles = Vec::new();
    let mut problems = Vec::new();
    for name in names {
        match (sums.get(name), files.get(name)) {
            (Some(listed), Some(bytes)) => {
                let digest = Digest::of(bytes);
                if digest == listed {
                    bundles.push(Bundle {
                        service: bundle_stem(name).unwrap_or(name).to_owned(),
                        file: name.to_owned(),
                        bytes: bytes.clone(),
                        digest,
                    });
                } else {
                    problems.push(format!(
                        "{name}: sha256 is {}, but {SHA256SUMS} lists {}: the zip changed after emit wrote it",
                        digest.hex(),
                        listed.hex()
                    ));
                }
            }
            (Some(_), None) => {
                problems.push(format!("{name} is listed in {SHA256SUMS} but is not there"));
            }
            (None, _) => problems.push(format!(
                "{name} is not listed in {SHA256SUMS}, so its bytes cannot be checked"
            )),
        }
    }
    if problems.is_empty() {
        Ok(bundles)
    } else {
        Err(Refusal::Mismatch(problems))
    }
}

/// Reads OUT's bundles and `SHA256SUMS`, [`precheck`]s them and runs the bundle checks: a mismatch
/// or a bundle `verify --bundle` refuses is a [`CheckFailed`] (exit 1); no bundle, an unreadable
/// file, a symbolic link or a malformed `SHA256SUMS` an error (exit 2).
pub fn read(out: &Path) -> anyhow::Result<Vec<Bundle>> {
    let shown = out.display();
    let mapping = out.join(REPORT).is_file();
    let entries = std::fs::read_dir(out).map_err(|e| {
        anyhow!("cannot read the folder {shown}: {e}; give the OUT that emit --bundle wrote")
    })?;
    let mut files = BTreeMap::new();
    for entry in entries {
        let entry = entry.map_err(|e| anyhow!("cannot read the folder {shown}: {e}"))?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let wanted = if mapping {
            is_bundle(&name)
        } else {
            name == SINGLE_BUNDLE
        };
        if wanted {
            if let Some(problem) = not_regular(out, &name) {
                return Err(not_regular_error(out, &[problem]));
            }
            let bytes = input::read_named(&entry.path(), MAX_BUNDLE_BYTES, "bundle")?;
            files.insert(name, bytes);
        }
    }
    let sums_path = out.join(SHA256SUMS);
    let no_bundles = || {
        anyhow!(
            "{shown} holds no bundle (<service>.zip, or {SINGLE_BUNDLE}) to publish; run imagedef emit --bundle --out {shown} first"
        )
    };
    let sums = if sums_path.exists() {
        if let Some(problem) = not_regular(out, SHA256SUMS) {
            return Err(not_regular_error(out, &[problem]));
        }
        Sha256Sums::load(&sums_path).map_err(|e| match e {
            SumsLoadError::Unread(e) => e.into(),
            malformed @ SumsLoadError::Malformed { .. } => {
                anyhow!("{malformed}; it is not as emit wrote it: run imagedef emit --bundle again")
            }
        })?
    } else if files.is_empty() {
        return Err(no_bundles());
    } else {
        bail!(
            "{} is missing, so the bundles in {shown} cannot be checked before they are published; run imagedef emit --bundle --out {shown} again",
            sums_path.display()
        );
    };
    let problems: Vec<String> = sums.paths().filter_map(|p| not_regular(out, p)).collect();
    if !problems.is_empty() {
        return Err(not_regular_error(out, &problems));
    }
    let bundles = precheck(&sums, mapping, &files).map_err(|refusal| match refusal {
        Refusal::NoBundles => no_bundles(),
        Refusal::Mismatch(problems) => anyhow::Error::new(CheckFailed(format!(
            "{} bundle(s) in {shown} do not match {}, so nothing was published:\n  {}\nfix: run imagedef emit --bundle again, and do not change OUT between emit and publish",
            problems.len(),
            sums_path.display(),
            problems.join("\n  ")
        ))),
    })?;
    bundle_checks(out, &bundles)?;
    Ok(bundles)
}

/// Each bundle through the checks of `verify --bundle` (zip structure as java.util.zip reads it,
/// entries, shapes, `SHA256SUMS`): any finding publishes nothing, exit 1 (or 2 for an unreadable
/// file).
fn bundle_checks(out: &Path, bundles: &[Bundle]) -> anyhow::Result<()> {
    let mut report = Report::default();
    report.record(Check::Bundle, |r| {
        for bundle in bundles {
            crate::check::bundle::check(&out.join(&bundle.file), r);
        }
    });
    let findings = report.findings();
    if findings.is_empty() {
        return Ok(());
    }
    let message = format!(
        "{} problem(s) in the bundles of {}, as imagedef verify --bundle finds them, so nothing was published:\n  {}\nfix: run imagedef emit --bundle again, and do not change OUT between emit and publish",
        findings.len(),
        out.display(),
        findings
            .iter()
            .map(|f| format!("{}: {}", f.subject, f.message))
            .collect::<Vec<_>>()
            .join("\n  ")
    );
    match ExitCode::worst(findings.iter().map(|f| f.severity)) {
        ExitCode::Error => Err(anyhow!(message)),
        _ => Err(CheckFailed(message).into()),
    }
}

/// Why `rel` (a path under OUT, `/`-separated) is not a regular file reached without a link:
/// publish reads only what emit wrote. `None` when it is one, or is missing ([`precheck`] names
/// missing files).
fn not_regular(out: &Path, rel: &str) -> Option<String> {
    let parts: Vec<&str> = rel.split('/').collect();
    let mut at = out.to_path_buf();
    for (i, part) in parts.iter().enumerate() {
        at.push(part);
        let last = i + 1 == parts.len();
        match std::fs::symlink_metadata(&at) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => return Some(format!("{}: {e}", at.display())),
            Ok(m) if m.file_type().is_symlink() => {
                return Some(format!("{} is a symbolic link", at.display()));
            }
            Ok(m) if last && !m.is_file() => {
                return Some(format!("{} is not a regular file", at.display()));
            }
            Ok(m) if !last && !m.is_dir() => return None,
            Ok(_) => {}
        }
    }
    None
}

/// The refusal of entries of OUT that are not regular files (exit 2).
fn not_regular_error(out: &Path, problems: &[String]) -> anyhow::Error {
    anyhow!(
        "{} holds entries that are not regular files, so nothing was published:\n  {}\nfix: publish sends only the regular files emit wrote into OUT; remove these and run imagedef emit --bundle --out {} again",
        out.display(),
        problems.join("\n  "),
        out.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sums(files: &[(&str, &[u8])]) -> Sha256Sums {
        Sha256Sums::of(files.iter().map(|(n, b)| (*n, Digest::of(b))))
    }

    fn on_disk(files: &[(&str, &[u8])]) -> BTreeMap<String, Vec<u8>> {
        files
            .iter()
            .map(|(n, b)| ((*n).to_owned(), b.to_vec()))
            .collect()
    }

    #[test]
    fn precheck_passes_exact_bytes_and_names_services_by_file_stem() {
        let files = [("web.zip", &b"w"[..]), ("api.zip", b"a")];
        let mut listed = vec![("web/imagedefinitions.json", &b"{}"[..])];
        listed.extend(files);
        let bundles = precheck(&sums(&listed), true, &on_disk(&files)).unwrap();
        let services: Vec<_> = bundles.iter().map(|b| b.service.as_str()).collect();
        assert_eq!(services, ["api", "web"]);
        assert_eq!(bundles[1].digest, Digest::of(b"w"));
    }

    #[test]
    fn precheck_refuses_a_changed_a_missing_and_an_unlisted_zip_all_at_once() {
        let listed = sums(&[("web.zip", b"w"), ("api.zip", b"a")]);
        let files = on_disk(&[("web.zip", b"tampered"), ("extra.zip", b"x")]);
        let Err(Refusal::Mismatch(problems)) = precheck(&listed, true, &files) else {
            panic!("must refuse");
        };
        let text = problems.join("\n");
        assert_eq!(problems.len(), 3, "{text}");
        assert!(text.contains("web.zip: sha256 is"), "{text}");
        assert!(
            text.contains("api.zip is listed in SHA256SUMS but is not there"),
            "{text}"
        );
        assert!(text.contains("extra.zip is not listed"), "{text}");
    }

    #[test]
    fn a_zip_in_capitals_is_a_bundle_too_and_must_be_listed() {
        let listed = sums(&[("web.zip", b"w")]);
        let files = on_disk(&[("web.zip", b"w"), ("API.ZIP", b"a")]);
        let Err(Refusal::Mismatch(problems)) = precheck(&listed, true, &files) else {
            panic!("must refuse");
        };
        assert_eq!(
            problems,
            ["API.ZIP is not listed in SHA256SUMS, so its bytes cannot be checked"]
        );
        let both = sums(&[("web.zip", b"w"), ("API.ZIP", b"a")]);
        let bundles = precheck(&both, true, &files).unwrap();
        let services: Vec<_> = bundles.iter().map(|b| b.service.as_str()).collect();
        assert_eq!(services, ["API", "web"]);
    }

    #[test]
    fn single_mode_publishes_only_imagedefinitions_zip() {
        let files = [(SINGLE_BUNDLE, &b"z"[..]), ("imagedefinitions.json", b"[]")];
        let mut disk = on_disk(&files[..1]);
        disk.insert("unrelated.zip".to_owned(), b"u".to_vec());
        let bundles = precheck(&sums(&files), false, &disk).unwrap();
        assert_eq!(bundles.len(), 1);
        assert_eq!(bundles[0].service, "imagedefinitions");
        assert_eq!(
            precheck(&sums(&files[1..]), false, &BTreeMap::new()),
            Err(Refusal::NoBundles)
        );
    }
}
