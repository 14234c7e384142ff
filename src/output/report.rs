//! `imagedef-report.json`: what resolved to what, from which file, and what the checks found of
//! each container. A file format users parse, so its records are defined here, field by field (the
//! JSON Schema `imagedef schema report` prints holds them), not taken from internal types. Only
//! paths as given or relative to an artifact, so the same inputs give the same bytes.

use std::path::Path;

use serde::Serialize;

use super::OutFile;
use crate::check::coverage::Coverage;
use crate::check::findings::ContainerFindings;
use crate::check::platform::{Judged, Verdict};
use crate::check::{ContainerResults, Report as Checks};
use crate::model::findings::{Counts, Thresholds};
use crate::model::mapping::Selector;
use crate::model::{ContainerName, Digest, ServiceName, UriMode, json};
use crate::resolve::changes::Change;
use crate::resolve::{ResolvedContainer, ResolvedService, SourceFile};

/// The JSON Schema (draft 2020-12) of `imagedef-report.json`, as `imagedef schema report` prints
/// it; kept in the repository as `schema/report.schema.json` and held against every report the
/// tests write.
pub const SCHEMA: &str = include_str!("../../schema/report.schema.json");

#[derive(Serialize)]
pub struct Report<'a> {
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
    /// With `ecs://`: the ARN of the task definition the ECS service runs now, and whether every
    /// container's image is unchanged against it (each container's `change` says how).
    #[serde(skip_serializing_if = "Option::is_none")]
    running_task_definition: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unchanged: Option<bool>,
    /// The mapping's `roleArn`: the role `emit` assumed to read the `ecs://` service, and
    /// `deploy --out` assumes to deploy it.
    #[serde(skip_serializing_if = "Option::is_none")]
    role_arn: Option<String>,
    blue_green: Option<&'a str>,
    /// The blue/green template and `AppSpec` (paths as the mapping resolves them), when named.
    #[serde(skip_serializing_if = "Option::is_none")]
    blue_green_inputs: Option<ReportInputs<'a>>,
    /// Which checks ran for the service.
    checks: CoverageRecord,
    containers: Vec<ContainerRecord<'a>>,
}

/// Which checks ran for a service: `passed`, `off` (not asked for, or not its kind), or `not
/// checked: why`.
#[derive(Serialize)]
pub struct CoverageRecord {
    task_definition: String,
    templates: String,
    ecr: String,
    platform: String,
    findings: String,
}

impl CoverageRecord {
    #[must_use]
    pub fn of(c: &Coverage) -> CoverageRecord {
        CoverageRecord {
            task_definition: c.task_definition.record(),
            templates: c.templates.record(),
            ecr: c.ecr.record(),
            platform: c.platform.record(),
            findings: c.findings.record(),
        }
    }
}

/// One container: the reference written, how it was chosen, from which files, and what the checks
/// found of it.
#[derive(Serialize)]
pub struct ContainerRecord<'a> {
    name: &'a str,
    /// The reference written.
    image_uri: String,
    /// The URI form applied; `null` for a fixed image, written as given.
    uri_mode: Option<UriMode>,
    /// The mapping's `image`, when the container has a fixed image.
    fixed: Option<String>,
    /// The mapping's selector, when the image was discovered through one.
    selector: Option<&'a Selector>,
    digest: Option<Digest>,
    /// With `--resolve-tags`: the tag whose digest ECR gave.
    #[serde(skip_serializing_if = "Option::is_none")]
    resolved_tag: Option<&'a str>,
    tags: &'a [String],
    /// Every file that named the image; none for a fixed image.
    sources: &'a [SourceFile],
    #[serde(skip_serializing_if = "Option::is_none")]
    platform: Option<PlatformRecord>,
    /// Against the image the service's running task definition names (`ecs://`).
    #[serde(skip_serializing_if = "Option::is_none")]
    change: Option<&'a Change>,
    #[serde(skip_serializing_if = "Option::is_none")]
    findings: Option<FindingsRecord<'a>>,
}

impl<'a> ContainerRecord<'a> {
    fn of(c: &'a ResolvedContainer<'a>, checks: Option<&'a ContainerResults>) -> Self {
        ContainerRecord {
            name: c.name.as_str(),
            image_uri: c.image_uri.to_string(),
            uri_mode: c.uri_mode,
            fixed: c.fixed.as_ref().map(ToString::to_string),
            selector: c.selector,
            digest: c.digest,
            resolved_tag: c.resolved_tag.as_deref(),
            tags: &c.tags,
            sources: &c.sources,
            platform: checks
                .and_then(|r| r.platform.as_ref())
                .map(PlatformRecord::of),
            change: c.change.as_ref(),
            findings: findings_of(checks),
        }
    }
}

/// The platform check of one container: the platform needed, what asked for it, and what the
/// image offers (`null` when that could not be read: not checked).
#[derive(Serialize)]
pub struct PlatformRecord {
    needs: String,
    from: String,
    offers: Option<Vec<String>>,
}

impl PlatformRecord {
    fn of(judged: &Judged) -> PlatformRecord {
        PlatformRecord {
            needs: judged.need.platform.to_string(),
            from: judged.need.from.clone(),
            offers: match &judged.verdict {
                Verdict::Runs(o) | Verdict::Mismatch(o) => {
                    Some(o.platforms().iter().map(ToString::to_string).collect())
                }
                Verdict::NotChecked(_) => None,
            },
        }
    }
}

/// The findings of one container as judged: the thresholds, where they were set, the verdict, and
/// each digest judged (an index's platform manifests).
#[derive(Serialize)]
pub struct FindingsRecord<'a> {
    thresholds: &'a Thresholds,
    from: &'a str,
    /// `passed`, `failed`, `error` or `not checked`.
    verdict: &'static str,
    images: Vec<JudgedRecord<'a>>,
}

#[derive(Serialize)]
struct JudgedRecord<'a> {
    digest: Digest,
    #[serde(skip_serializing_if = "Option::is_none")]
    platform: Option<&'a str>,
    /// ECR's scan status (`COMPLETE`, `ACTIVE`, ...), or `NOT_SCANNED`.
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    counts: Option<&'a Counts>,
}

/// The findings record of a container, when they were judged.
#[must_use]
pub fn findings_of(checks: Option<&ContainerResults>) -> Option<FindingsRecord<'_>> {
    let f: &ContainerFindings = checks?.findings.as_ref()?;
    Some(FindingsRecord {
        thresholds: &f.thresholds,
        from: &f.from,
        verdict: f.verdict,
        images: f
            .images
            .iter()
            .map(|i| JudgedRecord {
                digest: i.digest,
                platform: i.platform.as_deref(),
                status: &i.status,
                counts: i.counts.as_ref(),
            })
            .collect(),
    })
}

#[derive(Serialize)]
struct ReportInputs<'a> {
    task_definition_template: String,
    app_spec: String,
    image_placeholder: &'a str,
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

impl<'a> Report<'a> {
    /// An empty report for the mapping file as given.
    #[must_use]
    pub fn new(mapping: &Path) -> Report<'a> {
        Report {
            mapping: mapping.display().to_string(),
            services: Vec::new(),
        }
    }

    /// Adds a service with the files written for it (paths under OUT) and its bundle.
    pub fn add(
        &mut self,
        name: &'a ServiceName,
        s: &'a ResolvedService<'a>,
        (checks, coverage): (&'a Checks, &Coverage),
        files: &[OutFile],
        bundle: Option<&OutFile>,
    ) {
        self.services.push(ReportService {
            name: name.as_str(),
            files: files.iter().map(|f| f.path.clone()).collect(),
            bundle: bundle.map(ReportBundle::of),
            task_definition: s.service.task_definition.as_deref(),
            running_task_definition: s.running.as_ref().map(|r| r.task_definition.as_str()),
            unchanged: s.unchanged(),
            role_arn: s.service.role_arn.as_ref().map(ToString::to_string),
            blue_green: s.service.blue_green.as_ref().map(ContainerName::as_str),
            blue_green_inputs: s.service.blue_green_inputs.as_ref().map(|i| ReportInputs {
                task_definition_template: i.template.display().to_string(),
                app_spec: i.app_spec.display().to_string(),
                image_placeholder: &i.placeholder,
            }),
            checks: CoverageRecord::of(coverage),
            containers: s
                .containers
                .iter()
                .map(|c| {
                    ContainerRecord::of(c, checks.container(Some(name.as_str()), c.name.as_str()))
                })
                .collect(),
        });
    }

    /// The report as it is written to OUT.
    #[must_use]
    pub fn to_file(&self) -> OutFile {
        OutFile::new(crate::model::deploy::REPORT, json::pretty(self))
    }
}
