//! What `emit` says on stdout once the generation is delivered: a line per service, with what
//! changes against the ECS service's running task definition (`ecs://`), or the `--json`
//! summary; and the warning when OUT lies where `CodeBuild`'s artifacts section cannot
//! find it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::report::{CoverageRecord, FindingsRecord, findings_of};
use super::{Checked, Delivery, OutFile};
use crate::check::ContainerResults;
use crate::check::coverage::Coverage;
use crate::io::escape;
use crate::model::deploy;
use crate::model::{ImageRef, ServiceName};
use crate::resolve::changes::{Change, Status, Unknown};
use crate::resolve::{ResolvedContainer, ResolvedService};

/// The `--json` summary.
#[derive(Serialize)]
pub struct JsonSummary<'a> {
    dry_run: bool,
    out: String,
    files: Vec<SummaryFile<'a>>,
    containers: Vec<SummaryRow<'a>>,
    /// The services whose task definition is the one their ECS service runs now (`ecs://`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    services: Vec<SummaryService<'a>>,
    /// Which checks ran for each service.
    checks: Vec<ServiceChecks<'a>>,
}

/// Which checks ran for one service (`null` in single-image mode).
#[derive(Serialize)]
struct ServiceChecks<'a> {
    service: Option<&'a str>,
    #[serde(flatten)]
    checks: CoverageRecord,
}

impl<'a> JsonSummary<'a> {
    #[must_use]
    pub fn of(
        to: &Delivery<'_>,
        files: &'a [OutFile],
        services: &'a [ResolvedService<'a>],
        checked: &Checked<'a>,
    ) -> JsonSummary<'a> {
        let checks = checked.report;
        let rows = services.iter().flat_map(|s| {
            let service = s.service.name.as_ref().map(ServiceName::as_str);
            s.containers.iter().map(move |c| (service, c))
        });
        JsonSummary {
            dry_run: to.dry_run,
            out: to.out.display().to_string(),
            files: files.iter().map(SummaryFile::of).collect(),
            containers: rows
                .map(|(service, c)| {
                    SummaryRow::of(service, c, checks.container(service, c.name.as_str()))
                })
                .collect(),
            services: services.iter().filter_map(SummaryService::of).collect(),
            checks: services
                .iter()
                .zip(checked.coverage)
                .map(|(s, c)| ServiceChecks {
                    service: s.service.name.as_ref().map(ServiceName::as_str),
                    checks: CoverageRecord::of(c),
                })
                .collect(),
        }
    }
}

/// A service held against the task definition its ECS service runs now.
#[derive(Serialize)]
struct SummaryService<'a> {
    service: Option<&'a str>,
    /// `ecs://CLUSTER/SERVICE`.
    task_definition: &'a str,
    /// The ARN of the task definition that service runs now.
    running_task_definition: &'a str,
    /// True when every container's image is unchanged.
    unchanged: bool,
}

impl<'a> SummaryService<'a> {
    fn of(s: &'a ResolvedService<'a>) -> Option<SummaryService<'a>> {
        let running = s.running.as_ref()?;
        Some(SummaryService {
            service: s.service.name.as_ref().map(ServiceName::as_str),
            task_definition: &running.service,
            running_task_definition: &running.task_definition,
            unchanged: s.unchanged()?,
        })
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
    /// With `--resolve-tags`: the tag whose digest ECR gave.
    #[serde(skip_serializing_if = "Option::is_none")]
    resolved_tag: Option<&'a str>,
    tags: &'a [String],
    sources: Vec<String>,
    /// Against the image the running task definition names (`ecs://` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    change: Option<&'a Change>,
    /// With findings thresholds under `--ecr`: the counts judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    findings: Option<FindingsRecord<'a>>,
}

impl<'a> SummaryRow<'a> {
    fn of(
        service: Option<&'a str>,
        c: &'a ResolvedContainer<'a>,
        checks: Option<&'a ContainerResults>,
    ) -> SummaryRow<'a> {
        SummaryRow {
            service,
            container: c.name.as_str(),
            image_uri: c.image_uri.to_string(),
            digest: c.digest.map(|d| d.to_string()),
            resolved_tag: c.resolved_tag.as_deref(),
            tags: &c.tags,
            sources: labels(c),
            change: c.change.as_ref(),
            findings: findings_of(checks),
        }
    }
}

/// The text summary: a line per service saying where each container's image came from, then
/// what was written (or, with `--dry-run`, what would be, with the text files' contents).
#[must_use]
pub fn text(
    to: &Delivery<'_>,
    files: &[OutFile],
    services: &[ResolvedService<'_>],
    coverage: &[Coverage],
) -> String {
    let mut text = String::new();
    for (s, coverage) in services.iter().zip(coverage) {
        let container = |c: &ResolvedContainer<'_>| {
            let from = if c.sources.is_empty() {
                "fixed image".to_owned()
            } else {
                format!("from {}", shown_labels(c).join(", "))
            };
            let from = match &c.resolved_tag {
                Some(tag) => format!("{from}; digest of tag {} from ECR", escape::value(tag)),
                None => from,
            };
            format!(
                "{} = {}  ({from})",
                c.name,
                escape::value(&c.image_uri.short())
            )
        };
        // A service: its checks, then its containers. A single image: it, then its checks.
        if let Some(name) = &s.service.name {
            let _ = writeln!(text, "{name}: {coverage}");
            for c in &s.containers {
                let _ = writeln!(text, "  {}", container(c));
            }
        } else {
            for c in &s.containers {
                let _ = writeln!(text, "{}{}", container(c), to.note.unwrap_or(""));
            }
            let _ = writeln!(text, "  checks: {coverage}");
        }
        changes(&mut text, s);
    }
    if to.dry_run {
        let _ = writeln!(
            text,
            "would write {} files{} to {} (--dry-run: nothing was written{}):",
            files.len(),
            for_services(services),
            escape::path(to.out),
            if to.contents {
                ""
            } else {
                "; -v shows each file"
            }
        );
        let shown: Vec<String> = files
            .iter()
            .map(|f| escape::path(Path::new(&f.path)))
            .collect();
        let width = shown.iter().map(|p| p.chars().count()).max().unwrap_or(0);
        for (f, path) in files.iter().zip(&shown) {
            let _ = writeln!(text, "  {path:<width$}  {:>7} bytes", f.bytes.len());
            if to.contents
                && !deploy::is_bundle(&f.path)
                && let Ok(body) = std::str::from_utf8(&f.bytes)
            {
                for line in body.lines() {
                    let _ = writeln!(text, "    | {}", escape::line(line));
                }
            }
        }
    } else {
        let _ = writeln!(
            text,
            "wrote {} files{} to {}",
            files.len(),
            for_services(services),
            escape::path(to.out)
        );
    }
    text
}

/// ` for 3 services`, or nothing in single-image mode.
fn for_services(services: &[ResolvedService<'_>]) -> String {
    match services {
        [one] if one.service.name.is_none() => String::new(),
        [_] => " for 1 service".to_owned(),
        many => format!(" for {} services", many.len()),
    }
}

/// With `ecs://`: what changes against the task definition the ECS service runs now, a line per
/// container (`web: unchanged`, `web: <running> -> @sha256:... (v1.3)`).
fn changes(text: &mut String, s: &ResolvedService<'_>) {
    let Some(running) = &s.running else {
        return;
    };
    let _ = writeln!(
        text,
        "  against {} (runs {}):",
        running.service,
        escape::value(&running.task_definition)
    );
    for c in &s.containers {
        if let Some(change) = &c.change {
            let _ = writeln!(text, "    {}: {}", c.name, change_words(c, change));
        }
    }
}

/// One container's change: `unchanged`, or the running image `->` the one written (its digest
/// alone when the repository stays, with the artifacts' tags), `unknown` saying why.
fn change_words(c: &ResolvedContainer<'_>, change: &Change) -> String {
    if change.status == Status::Unchanged {
        return "unchanged".to_owned();
    }
    let running = change.running.as_deref().map_or_else(
        || "(no image)".to_owned(),
        |r| {
            let shown = r
                .parse::<ImageRef>()
                .map_or_else(|_| r.to_owned(), |i| i.short());
            escape::value(&shown).into_owned()
        },
    );
    // The digest alone where the running image is known to be in the same repository.
    let same_repository =
        !change.other_repository && matches!(change.reason, None | Some(Unknown::RunningTagOnly));
    let written = match c.digest {
        Some(d) if same_repository => format!("@{}", d.short()),
        Some(d) => c.image_uri.with(None, Some(d)).short(),
        None => c.image_uri.to_string(),
    };
    let tags = if c.digest.is_none() || c.tags.is_empty() {
        String::new()
    } else {
        format!(" ({})", escape::value(&c.tags.join(", ")))
    };
    let moved = format!("{running} -> {}{tags}", escape::value(&written));
    match change.reason {
        Some(why) => format!("unknown ({}): {moved}", why.words()),
        None => moved,
    }
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
