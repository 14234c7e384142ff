//! `imagedef emit --mapping`: every service of the mapping resolved, checked and written at once:
//! `S/imagedefinitions.json`, `S/imageDetail.json` for blue/green, `SHA256SUMS` and
//! `imagedef-report.json`.

use std::path::Path;

use anyhow::{Context, anyhow};
use serde::Serialize;

use super::emit::{Resolved, check_task_definition, finish, read_small};
use crate::bundle;
use crate::config::EmitConfig;
use crate::discover::{self, Root};
use crate::error::{CheckFailed, ExitCode, exit_code_of};
use crate::model::mapping::{Mapping, Selector, Source};
use crate::model::{ContainerName, ImageRef};
use crate::render;
use crate::resolve::mapping::{Overrides, ResolvedService, resolve};
use crate::write::{self, OutFile};

/// The name of the report written beside `SHA256SUMS`.
pub const REPORT: &str = "imagedef-report.json";

pub fn run(config: &EmitConfig, mapping_path: &Path) -> anyhow::Result<ExitCode> {
    let bytes = read_small(mapping_path, "mapping")?;
    let base = mapping_path.parent().unwrap_or_else(|| Path::new(""));
    let mapping = Mapping::parse(&bytes, base)
        .map_err(|e| anyhow!("mapping {}: {e}", mapping_path.display()))?;
    let roots: Vec<Root> = match mapping.artifacts_needed() {
        Some(needed) => config
            .discover
            .roots
            .iter()
            .filter(|r| needed.contains(r.artifact.as_str()))
            .cloned()
            .collect(),
        None => config.discover.roots.clone(),
    };
    for skipped in config.discover.roots.iter().filter(|r| !roots.contains(r)) {
        tracing::debug!(
            "not searching {} (artifact {}): no selector names it",
            skipped.path.display(),
            skipped.artifact
        );
    }
    for name in mapping.artifacts_needed().into_iter().flatten() {
        if !config.discover.roots.iter().any(|r| r.artifact == name) {
            tracing::warn!(
                "the mapping selects artifact {name:?}, but no artifact root has that name; the roots are: {}",
                config
                    .discover
                    .roots
                    .iter()
                    .map(|r| format!("{} ({})", r.artifact, r.path.display()))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let found = discover::discover(&roots, &config.discover.file_name, Some(&config.out));
    super::warn_unusable(&found);
    super::refuse_unreadable(&found)?;
    let overrides = Overrides {
        uri: config.uri,
        tag_pattern: config.tags.pattern.as_ref(),
    };
    let services = resolve(&mapping, &found, overrides)?;
    check_task_definitions(&services, mapping_path)?;
    if config.ecr {
        crate::aws::ecr::require(&crate::aws::ecr::lookups_of(&services))?;
    }
    let files = render_files(&services, mapping_path, config.bundle)?;
    let resolved = services.iter().flat_map(summary).collect::<Vec<_>>();
    finish(config, &files, &resolved)
}

/// Every service's containers against its task definition; every failing service is reported.
fn check_task_definitions(
    services: &[ResolvedService<'_>],
    mapping_path: &Path,
) -> anyhow::Result<()> {
    let failures: Vec<anyhow::Error> = services
        .iter()
        .filter_map(|s| {
            let path = s.service.task_definition_source.as_ref()?;
            let names: Vec<ContainerName> = s
                .containers
                .iter()
                .map(|c| c.container.name.clone())
                .collect();
            check_task_definition(path, &names)
                .with_context(|| {
                    format!(
                        "mapping {}, service {:?} (key \"services.{}.taskDefinition\")",
                        mapping_path.display(),
                        s.service.name.as_str(),
                        s.service.name
                    )
                })
                .err()
        })
        .collect();
    match failures.len() {
        0 => Ok(()),
        1 => Err(failures.into_iter().next().expect("one failure")),
        _ => {
            let message = failures
                .iter()
                .map(|e| format!("{e:#}"))
                .collect::<Vec<_>>()
                .join("\n");
            if failures
                .iter()
                .all(|e| exit_code_of(e) == ExitCode::CheckFailed)
            {
                Err(CheckFailed::UnknownContainer(message).into())
            } else {
                Err(anyhow!(message))
            }
        }
    }
}

/// Every file of every service, the report, and `SHA256SUMS` over all of them.
fn render_files(
    services: &[ResolvedService<'_>],
    mapping_path: &Path,
    with_bundles: bool,
) -> anyhow::Result<Vec<OutFile>> {
    let mut files = Vec::new();
    let mut report = Report {
        mapping: mapping_path.display().to_string(),
        services: Vec::new(),
    };
    for s in services {
        let name = &s.service.name;
        let entries: Vec<(ContainerName, ImageRef)> = s
            .containers
            .iter()
            .map(|c| (c.container.name.clone(), c.reference.clone()))
            .collect();
        let bytes = render::image_definitions(&entries)
            .with_context(|| format!("service {:?}", name.as_str()))?;
        let mut written = vec![OutFile::new(format!("{name}/imagedefinitions.json"), bytes)];
        if let Some(reference) = s.blue_green() {
            written.push(OutFile::new(
                format!("{name}/imageDetail.json"),
                render::blue_green_image_detail(reference),
            ));
        }
        let zip = with_bundles.then(|| bundle::service(name.as_str(), &written));
        report.services.push(ReportService {
            name: name.as_str(),
            files: written.iter().map(|f| f.path.clone()).collect(),
            bundle: zip.as_ref().map(ReportBundle::of),
            task_definition: s.service.task_definition.as_deref(),
            blue_green: s.service.blue_green.as_ref().map(ContainerName::as_str),
            containers: s.containers.iter().map(ReportContainer::from).collect(),
        });
        files.extend(written);
        files.extend(zip);
    }
    files.push(OutFile::new(REPORT, render::to_json(&report)));
    files.push(write::sha256sums(&files));
    Ok(files)
}

/// The lines `emit` prints (and `--json` lists) for one service.
fn summary(s: &ResolvedService<'_>) -> Vec<Resolved> {
    let service = Some(s.service.name.to_string());
    s.containers
        .iter()
        .map(|c| match &c.image {
            Some(image) => Resolved::from_image(
                service.clone(),
                c.container.name.clone(),
                c.reference.clone(),
                image,
            ),
            None => Resolved {
                service: service.clone(),
                container: c.container.name.clone(),
                image_uri: c.reference.clone(),
                digest: c.reference.digest().map(|d| d.to_string()),
                tags: c.reference.tag().map(str::to_owned).into_iter().collect(),
                sources: Vec::new(),
            },
        })
        .collect()
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
    containers: Vec<ReportContainer<'a>>,
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

#[derive(Serialize)]
struct ReportContainer<'a> {
    name: &'a str,
    /// The reference written.
    image_uri: String,
    /// `digest`, `tag` or `tag+digest`; `null` for a fixed image, written as given.
    uri_mode: Option<String>,
    /// The mapping's `image`, when the container has a fixed image.
    fixed: Option<String>,
    /// The mapping's selector, when the image was discovered.
    selector: Option<&'a Selector>,
    digest: Option<String>,
    tags: Vec<String>,
    /// Every file that named the image (several when they agree on the digest).
    sources: Vec<ReportSource>,
}

#[derive(Serialize)]
struct ReportSource {
    artifact: String,
    /// The path inside the artifact.
    path: String,
}

impl<'a> From<&crate::resolve::mapping::ResolvedContainer<'a>> for ReportContainer<'a> {
    fn from(c: &crate::resolve::mapping::ResolvedContainer<'a>) -> ReportContainer<'a> {
        let (fixed, selector) = match &c.container.source {
            Source::Fixed(image) => (Some(image.to_string()), None),
            Source::Select(selector) => (None, Some(selector)),
        };
        let (digest, tags, sources) = match &c.image {
            Some(image) => (
                image.detail.digest().map(|d| d.to_string()),
                image.tags().into_iter().map(str::to_owned).collect(),
                image
                    .sources
                    .iter()
                    .map(|s| ReportSource {
                        artifact: s.artifact.clone(),
                        path: s.rel_path.clone(),
                    })
                    .collect(),
            ),
            None => (
                c.reference.digest().map(|d| d.to_string()),
                c.reference.tag().map(str::to_owned).into_iter().collect(),
                Vec::new(),
            ),
        };
        ReportContainer {
            name: c.container.name.as_str(),
            image_uri: c.reference.to_string(),
            uri_mode: c.uri_mode.map(|m| m.to_string()),
            fixed,
            selector,
            digest,
            tags,
            sources,
        }
    }
}
