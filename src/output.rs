//! The output stage of `emit`: where every file goes in OUT (the services' deploy files, their
//! bundles, the report, `SHA256SUMS`), then writing them all at once (or, with `--dry-run`, showing
//! them), and the summary on stdout. Also how every command prints data: stdout only, in one go.
//!
//! OUT's layout: single-image mode writes `imagedefinitions.json` (with `--bundle`,
//! `imagedefinitions.zip`) and `SHA256SUMS` at OUT's root. Mapping mode writes, per service S,
//! `S/imagedefinitions.json`, `S/imageDetail.json` for blue/green, `S.zip` with `--bundle`, then
//! `imagedef-report.json` and `SHA256SUMS` over all of them.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::bundle;
use crate::config::Summary;
use crate::error::CheckFailed;
use crate::model::deploy::{REPORT, SHA256SUMS, SINGLE_BUNDLE, Sha256Sums};
use crate::model::json;
use crate::model::{ContainerName, ServiceName};
use crate::render;
use crate::resolve::{ResolvedContainer, ResolvedService};
use crate::write::{self, OutFile};

/// How the generation is delivered.
#[derive(Clone, Copy, Debug)]
pub struct Delivery<'a> {
    pub out: &'a Path,
    /// Mapping mode: OUT belongs to imagedef and is replaced as a whole generation.
    pub owned: bool,
    pub dry_run: bool,
    pub summary: Summary,
    /// `$CODEBUILD_SRC_DIR`, when set: outputs outside it are not found by the artifacts section.
    pub codebuild_src_dir: Option<&'a Path>,
    /// Said after the single-image mode's line, e.g. where the container name came from.
    pub note: Option<&'a str>,
}

/// The checked `taskdef.json` and `appspec.yaml` of each blue/green service that names them, by
/// service name: written as given, after the service's own files.
pub type BlueGreenFiles = std::collections::BTreeMap<String, Vec<(&'static str, Vec<u8>)>>;

/// Every file of the generation, in the order they are listed: service by service (deploy files,
/// then the bundle), then the report (mapping mode, whose file is `mapping`), then `SHA256SUMS`.
pub fn lay_out(
    services: &[ResolvedService<'_>],
    mapping: Option<&Path>,
    with_bundles: bool,
    blue_green: &BlueGreenFiles,
) -> anyhow::Result<Vec<OutFile>> {
    let mut files = Vec::new();
    let mut report = Report {
        mapping: mapping.map(|m| m.display().to_string()).unwrap_or_default(),
        services: Vec::new(),
    };
    for s in services {
        let name = s.service.name.as_ref().map(ServiceName::as_str);
        let mut rendered = render::service_files(s).map_err(|e| {
            let at = name.map(|n| format!("service {n:?}: ")).unwrap_or_default();
            CheckFailed(format!("{at}{e}"))
        })?;
        let inputs = name.and_then(|n| blue_green.get(n));
        rendered.extend(inputs.into_iter().flatten().cloned());
        let written: Vec<OutFile> = rendered
            .into_iter()
            .map(|(file, bytes)| match name {
                Some(n) => OutFile::new(format!("{n}/{file}"), bytes),
                None => OutFile::new(file, bytes),
            })
            .collect();
        let zip = with_bundles.then(|| match name {
            Some(n) => bundle::service(n, &written),
            None => bundle::out_file(SINGLE_BUNDLE, &written),
        });
        if let (Some(n), Some(_)) = (name, inputs) {
            within_artifact_cap(n, &written, zip.as_ref())?;
        }
        if let Some(name) = name {
            report.services.push(ReportService {
                name,
                files: written.iter().map(|f| f.path.clone()).collect(),
                bundle: zip.as_ref().map(ReportBundle::of),
                task_definition: s.service.task_definition.as_deref(),
                blue_green: s.service.blue_green.as_ref().map(ContainerName::as_str),
                blue_green_inputs: s.service.blue_green_inputs.as_ref().map(|i| ReportInputs {
                    task_definition_template: i.template.display().to_string(),
                    app_spec: i.app_spec.display().to_string(),
                    image_placeholder: &i.placeholder,
                }),
                containers: &s.containers,
            });
        }
        files.extend(written);
        files.extend(zip);
    }
    if mapping.is_some() {
        files.push(OutFile::new(REPORT, json::pretty(&report)));
    }
    // Always, so that a SHA256SUMS left by an earlier --bundle run never vouches for a stale zip.
    let sums = Sha256Sums::of(files.iter().map(|f| (f.path.as_str(), f.digest())));
    files.push(OutFile::new(SHA256SUMS, sums.to_bytes()));
    Ok(files)
}

/// Writes (or with `--dry-run`, shows) the files, then prints the summary.
pub fn deliver(
    to: &Delivery<'_>,
    files: &[OutFile],
    services: &[ResolvedService<'_>],
) -> anyhow::Result<()> {
    if let Some(src) = to.codebuild_src_dir {
        warn_if_outside(to.out, src);
    }
    match (to.owned, to.dry_run) {
        (true, false) => write::generation::replace(to.out, files)?,
        // What the real run would refuse, a dry run refuses too.
        (true, true) => write::generation::check(to.out)?,
        (false, false) => write::commit(to.out, files)?,
        (false, true) => {}
    }
    if to.summary == Summary::Json {
        let rows = services.iter().flat_map(|s| {
            let service = s.service.name.as_ref().map(ServiceName::as_str);
            s.containers.iter().map(move |c| (service, c))
        });
        let summary = JsonSummary {
            dry_run: to.dry_run,
            out: to.out.display().to_string(),
            files: files.iter().map(SummaryFile::of).collect(),
            containers: rows
                .map(|(service, c)| SummaryRow::of(service, c))
                .collect(),
        };
        return print_json(&summary).map_err(|e| unprinted(e, to, files));
    }
    if to.summary == Summary::Quiet {
        return Ok(());
    }
    let mut text = String::new();
    for s in services {
        let containers: Vec<String> = s
            .containers
            .iter()
            .map(|c| {
                let from = if c.sources.is_empty() {
                    "fixed image".to_owned()
                } else {
                    format!("from {}", labels(c).join(", "))
                };
                format!("{} = {}  ({from})", c.name, c.image_uri)
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
                to.out.join(&f.path).display(),
                f.bytes.len()
            );
            if !bundle::is_zip(&f.path)
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
            to.out.display()
        );
    }
    print(&text).map_err(|e| unprinted(e, to, files))
}

/// The summary could not be printed: say what was done all the same.
fn unprinted(e: std::io::Error, to: &Delivery<'_>, files: &[OutFile]) -> anyhow::Error {
    let done = if to.dry_run {
        "nothing was written (--dry-run)".to_owned()
    } else {
        format!(
            "all {} files were written to {}",
            files.len(),
            to.out.display()
        )
    };
    anyhow::Error::new(e).context(format!(
        "{done}, but the summary could not be printed on stdout"
    ))
}

/// Writes `text` to stdout in one go. A closed pipe is reported as an error that `main` ignores.
pub fn print(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Pretty JSON plus a newline on stdout.
pub fn print_json<T: Serialize>(value: &T) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(&json::pretty(value))?;
    out.flush()
}

/// `artifact:path` of every file naming the container's image.
fn labels(c: &ResolvedContainer<'_>) -> Vec<String> {
    c.sources
        .iter()
        .map(|s| format!("{}:{}", s.artifact, s.path))
        .collect()
}

/// The `--json` summary.
#[derive(Serialize)]
struct JsonSummary<'a> {
    dry_run: bool,
    out: String,
    files: Vec<SummaryFile<'a>>,
    containers: Vec<SummaryRow<'a>>,
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
            sha256_base64: bundle::is_zip(&f.path).then(|| digest.base64()),
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
        }
    }
}

/// `imagedef-report.json`: what resolved to what, from which file. Only paths as given or
/// relative to an artifact, so the same inputs give the same bytes.
#[derive(Serialize)]
struct Report<'a> {
    /// The mapping file as given on the command line.
    mapping: String,
    services: Vec<ReportService<'a>>,
}

#[derive(Serialize)]
struct ReportService<'a> {
    name: &'a str,
    /// The files written for this service, relative to the output directory.
    files: Vec<String>,
    /// `<service>.zip`, with `--bundle`.
    bundle: Option<ReportBundle>,
    /// `taskDefinition` as written in the mapping.
    task_definition: Option<&'a str>,
    blue_green: Option<&'a str>,
    /// The blue/green template and `AppSpec` (paths as the mapping resolves them), when named.
    #[serde(skip_serializing_if = "Option::is_none")]
    blue_green_inputs: Option<ReportInputs<'a>>,
    containers: &'a [ResolvedContainer<'a>],
}

#[derive(Serialize)]
struct ReportInputs<'a> {
    task_definition_template: String,
    app_spec: String,
    image_placeholder: &'a str,
}

/// A blue/green service's artifact holds the template and `AppSpec` that `CodeDeployToECS` reads,
/// and the action reads at most 3 MB: the zip (the bundle, or the one it would be) must fit.
fn within_artifact_cap(
    service: &str,
    files: &[OutFile],
    zip: Option<&OutFile>,
) -> anyhow::Result<()> {
    let built;
    let zip = if let Some(z) = zip {
        z
    } else {
        built = bundle::service(service, files);
        &built
    };
    let max = crate::verify::bundle::MAX_BYTES;
    if zip.bytes.len() as u64 <= max {
        return Ok(());
    }
    Err(CheckFailed(format!(
        "service {service:?}: its artifact ({}) is {} bytes zipped; CodeDeployToECS reads artifacts of at most 3 MB ({max} bytes) and fails with \"Exception while trying to read the task definition artifact file\"; shrink the task definition template or the AppSpec",
        files
            .iter()
            .filter_map(|f| f.path.strip_prefix(&format!("{service}/")))
            .collect::<Vec<_>>()
            .join(", "),
        zip.bytes.len()
    ))
    .into())
}

/// A bundle's name and checksums; `sha256_base64` is the form of S3's `x-amz-checksum-sha256`.
#[derive(Serialize)]
struct ReportBundle {
    path: String,
    bytes: usize,
    sha256: String,
    sha256_base64: String,
}

impl ReportBundle {
    fn of(zip: &OutFile) -> ReportBundle {
        let digest = zip.digest();
        ReportBundle {
            path: zip.path.clone(),
            bytes: zip.bytes.len(),
            sha256: digest.to_string(),
            sha256_base64: digest.base64(),
        }
    }
}

/// Warns when `out` lies outside `$CODEBUILD_SRC_DIR`: the buildspec's artifacts section takes
/// paths relative to that directory, and `CodeBuild` would fail with "no matching artifact paths
/// found".
fn warn_if_outside(out: &Path, src: &Path) {
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
