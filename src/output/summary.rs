//! What `emit` says on stdout once the generation is delivered: a line per service (or the
//! `--json` summary), and the warning when OUT lies where `CodeBuild`'s artifacts section cannot
//! find it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Delivery, OutFile};
use crate::escape;
use crate::model::ServiceName;
use crate::model::deploy;
use crate::resolve::{ResolvedContainer, ResolvedService};

/// The `--json` summary.
#[derive(Serialize)]
pub struct JsonSummary<'a> {
    dry_run: bool,
    out: String,
    files: Vec<SummaryFile<'a>>,
    containers: Vec<SummaryRow<'a>>,
}

impl<'a> JsonSummary<'a> {
    #[must_use]
    pub fn of(
        to: &Delivery<'_>,
        files: &'a [OutFile],
        services: &'a [ResolvedService<'a>],
    ) -> JsonSummary<'a> {
        let rows = services.iter().flat_map(|s| {
            let service = s.service.name.as_ref().map(ServiceName::as_str);
            s.containers.iter().map(move |c| (service, c))
        });
        JsonSummary {
            dry_run: to.dry_run,
            out: to.out.display().to_string(),
            files: files.iter().map(SummaryFile::of).collect(),
            containers: rows
                .map(|(service, c)| SummaryRow::of(service, c))
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct SummaryFile<'a> {
    path: &'a str,
    bytes: usize,
    sha256: String,
    /// Zips only: the digest as S3's `x-amz-checksum-sha256` header takes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256_base64: Option<String>,
}

impl SummaryFile<'_> {
    fn of(f: &OutFile) -> SummaryFile<'_> {
        let digest = f.digest();
        SummaryFile {
            path: &f.path,
            bytes: f.bytes.len(),
            sha256: digest.to_string(),
            sha256_base64: deploy::is_bundle(&f.path).then(|| digest.base64()),
        }
    }
}

/// One container in the `--json` summary: the resolved row, with its sources as `artifact:path`.
#[derive(Serialize)]
struct SummaryRow<'a> {
    service: Option<&'a str>,
    container: &'a str,
    image_uri: String,
    digest: Option<String>,
    tags: &'a [String],
    sources: Vec<String>,
    /// With findings thresholds under `--ecr`: the counts judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    findings: Option<&'a crate::verify::findings::ContainerFindings>,
}

impl<'a> SummaryRow<'a> {
    fn of(service: Option<&'a str>, c: &'a ResolvedContainer<'a>) -> SummaryRow<'a> {
        SummaryRow {
            service,
            container: c.name.as_str(),
            image_uri: c.image_uri.to_string(),
            digest: c.digest.map(|d| d.to_string()),
            tags: &c.tags,
            sources: labels(c),
            findings: c.findings.as_ref(),
        }
    }
}

/// The text summary: a line per service saying where each container's image came from, then
/// what was written (or, with `--dry-run`, what would be, with the text files' contents).
#[must_use]
pub fn text(to: &Delivery<'_>, files: &[OutFile], services: &[ResolvedService<'_>]) -> String {
    let mut text = String::new();
    for s in services {
        let containers: Vec<String> = s
            .containers
            .iter()
            .map(|c| {
                let from = if c.sources.is_empty() {
                    "fixed image".to_owned()
                } else {
                    format!("from {}", shown_labels(c).join(", "))
                };
                format!(
                    "{} = {}  ({from})",
                    c.name,
                    escape::value(&c.image_uri.to_string())
                )
            })
            .collect();
        let _ = match &s.service.name {
            Some(name) => writeln!(text, "{name}: {}", containers.join("; ")),
            None => writeln!(text, "{}{}", containers.join("; "), to.note.unwrap_or("")),
        };
    }
    if to.dry_run {
        for f in files {
            let _ = writeln!(
                text,
                "would write {} ({} bytes)",
                escape::path(&to.out.join(&f.path)),
                f.bytes.len()
            );
            if !deploy::is_bundle(&f.path)
                && let Ok(shown) = std::str::from_utf8(&f.bytes)
            {
                text.push_str(shown);
            }
        }
    } else {
        let services = match services {
            [one] if one.service.name.is_none() => String::new(),
            [_] => " for 1 service".to_owned(),
            many => format!(" for {} services", many.len()),
        };
        let _ = writeln!(
            text,
            "wrote {} files{services} to {}",
            files.len(),
            escape::path(to.out)
        );
    }
    text
}

/// `artifact:path` of every file naming the container's image.
fn labels(c: &ResolvedContainer<'_>) -> Vec<String> {
    c.sources
        .iter()
        .map(|s| format!("{}:{}", s.artifact, s.path))
        .collect()
}

/// [`labels`] as text shows them: escaped.
fn shown_labels(c: &ResolvedContainer<'_>) -> Vec<String> {
    labels(c)
        .iter()
        .map(|l| escape::value(l).into_owned())
        .collect()
}

/// Warns when `out` lies outside `$CODEBUILD_SRC_DIR`: the buildspec's artifacts section takes
/// paths relative to that directory, and `CodeBuild` would fail with "no matching artifact paths
/// found".
pub fn warn_if_outside(out: &Path, src: &Path) {
    let (Some(out_abs), Some(src_abs)) = (absolute(out), absolute(src)) else {
        return;
    };
    if !out_abs.starts_with(&src_abs) {
        tracing::warn!(
            "--out {} ({}) lies outside $CODEBUILD_SRC_DIR ({}): the buildspec's artifacts section takes paths relative to $CODEBUILD_SRC_DIR, so CodeBuild will not find the files there and fails with \"no matching artifact paths found\"; write them inside it, e.g. --out imagedef-out",
            out.display(),
            out_abs.display(),
            src_abs.display()
        );
    }
}

/// `path` made absolute through its nearest existing ancestor, symlinks resolved; `None` when that
/// cannot be worked out (a `..` after a missing folder).
fn absolute(path: &Path) -> Option<PathBuf> {
    let mut missing = Vec::new();
    let mut at = path;
    loop {
        let probe = if at.as_os_str().is_empty() {
            Path::new(".")
        } else {
            at
        };
        if let Ok(real) = std::fs::canonicalize(probe) {
            return Some(missing.iter().rev().fold(real, |p, name| p.join(name)));
        }
        missing.push(at.file_name()?);
        at = at.parent()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_resolves_missing_folders_through_their_existing_parent() {
        let tmp = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(tmp.path()).unwrap();
        assert_eq!(absolute(&tmp.path().join("a/b")), Some(real.join("a/b")));
        assert_eq!(absolute(tmp.path()), Some(real.clone()));
        assert_eq!(absolute(&tmp.path().join("x/..")), None);
    }
}
