//! `imagedef-report.json`: what resolved to what, from which file. Only paths as given or
//! relative to an artifact, so the same inputs give the same bytes.

use std::path::Path;

use serde::Serialize;

use super::OutFile;
use crate::model::json;
use crate::model::{ContainerName, ServiceName};
use crate::resolve::{ResolvedContainer, ResolvedService};

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
            blue_green: s.service.blue_green.as_ref().map(ContainerName::as_str),
            blue_green_inputs: s.service.blue_green_inputs.as_ref().map(|i| ReportInputs {
                task_definition_template: i.template.display().to_string(),
                app_spec: i.app_spec.display().to_string(),
                image_placeholder: &i.placeholder,
            }),
            containers: &s.containers,
        });
    }

    /// The report as it is written to OUT.
    #[must_use]
    pub fn to_file(&self) -> OutFile {
        OutFile::new(crate::model::deploy::REPORT, json::pretty(self))
    }
}
