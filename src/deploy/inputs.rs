//! The deploy files, checked before anything is asked of AWS: `ecs://CLUSTER/SERVICE --file PATH`
//! (an `imagedefinitions.json`, a folder holding one, or a bundle zip, checked as `verify
//! --bundle` checks it), or `--out OUT`, every file of which must match its `SHA256SUMS` first,
//! with the services of its report whose task definition came from `ecs://`.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};
use serde::Deserialize;

use super::{Target, Written};
use crate::check::{Check, Report};
use crate::config::deploy::{DeployConfig, Inputs};
use crate::error::CheckFailed;
use crate::io::{escape, input};
use crate::model::deploy::{
    IMAGE_DEFINITIONS, ImageDefinitions, REPORT, SHA256SUMS, Sha256Sums, SumsLoadError, is_bundle,
};
use crate::model::role::RoleArn;
use crate::model::{Digest, TaskDefinitionSource};

/// The largest `imagedefinitions.json` read (the deploy action reads 100 KB; a larger one is
/// named as too large, not read whole into memory).
const MAX_FILE: u64 = 1024 * 1024;
/// The largest file of OUT re-hashed against `SHA256SUMS`.
const MAX_OUT_FILE: u64 = 64 * 1024 * 1024;

/// What to deploy, and the services of `--out` that have no `ecs://` target.
#[derive(Clone, Debug, Default)]
pub struct Read {
    pub targets: Vec<Target>,
    /// The report's services without an `ecs://` task definition, by name.
    pub skipped: Vec<String>,
}

/// Reads and checks the inputs `config` names. The bundle check records into `report` (a zip that
/// `verify --bundle` refuses fails, exit 1); a file that cannot be used is an error (exit 2); OUT
/// whose files do not match `SHA256SUMS` fails (exit 1).
pub fn read(config: &DeployConfig, report: &mut Report) -> anyhow::Result<Read> {
    match &config.inputs {
        Inputs::Service {
            cluster,
            service,
            file,
        } => {
            let (shown, images) = file_images(file, report)?;
            Ok(Read {
                targets: vec![Target {
                    cluster: cluster.clone(),
                    service: service.clone(),
                    name: None,
                    role: config.role.as_ref().map(ToString::to_string),
                    file: shown,
                    images,
                    emitted_running: None,
                }],
                skipped: Vec::new(),
            })
        }
        Inputs::Out(out) => out_targets(out, config, report),
    }
}

/// The images of `--file PATH`, and how messages name the file.
fn file_images(path: &Path, report: &mut Report) -> anyhow::Result<(String, Vec<Written>)> {
    let shown = escape::path(path);
    let meta = std::fs::metadata(path)
        .map_err(|e| anyhow!("--file {shown}: {e}; give the imagedefinitions.json to deploy, a folder holding one, or a bundle zip"))?;
    if meta.is_dir() {
        let file = path.join(IMAGE_DEFINITIONS);
        return Ok((escape::path(&file), definitions(&file)?));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !is_bundle(&name) {
        return Ok((shown, definitions(path)?));
    }
    let bundle = report.record(Check::Bundle, |r| {
        crate::check::bundle::check_bundle(path, crate::model::blue_green::DEFAULT_PLACEHOLDER, r)
    });
    let images: Vec<Written> = bundle
        .images
        .iter()
        .filter_map(|seen| {
            Some(Written {
                container: seen.container.clone()?,
                image: seen.image.clone(),
                digest: seen.digest,
            })
        })
        .collect();
    if images.is_empty() && bundle.clean {
        bail!(
            "--file {shown} holds no {IMAGE_DEFINITIONS}: deploy takes the ECS standard deploy action's file (a blue/green bundle goes to the CodeDeployToECS action)"
        );
    }
    Ok((format!("{shown}:{IMAGE_DEFINITIONS}"), images))
}

/// The containers of an `imagedefinitions.json` file; any problem in it is an error naming it.
fn definitions(path: &Path) -> anyhow::Result<Vec<Written>> {
    let shown = escape::path(path);
    let bytes = input::read_named(path, MAX_FILE, IMAGE_DEFINITIONS)?;
    let parsed = ImageDefinitions::parse(&bytes).map_err(|e| anyhow!("{shown} {e}"))?;
    if !parsed.problems.is_empty() {
        bail!(
            "{shown} cannot be deployed as it is:\n  {}\nfix: write it with imagedef emit",
            parsed.problems.join("\n  ")
        );
    }
    Ok(parsed
        .entries
        .into_iter()
        .map(|e| Written {
            container: e.name.to_string(),
            digest: e.image_uri.digest(),
            image: e.image_uri,
        })
        .collect())
}

/// The fields of `imagedef-report.json` that `deploy --out` reads.
#[derive(Deserialize)]
struct EmitReport {
    services: Vec<ReportService>,
}

#[derive(Deserialize)]
struct ReportService {
    name: String,
    task_definition: Option<String>,
    #[serde(default)]
    running_task_definition: Option<String>,
    #[serde(default)]
    role_arn: Option<String>,
    #[serde(default)]
    bundle: Option<ReportBundle>,
}

#[derive(Deserialize)]
struct ReportBundle {
    path: String,
}

/// The services of OUT to deploy: OUT first checked against its `SHA256SUMS`.
fn out_targets(out: &Path, config: &DeployConfig, report: &mut Report) -> anyhow::Result<Read> {
    let shown = escape::path(out);
    let sums_path = out.join(SHA256SUMS);
    let sums = Sha256Sums::load(&sums_path).map_err(|e| match e {
        SumsLoadError::Unread(e) if e.is_not_found() => anyhow!(
            "{shown} has no {SHA256SUMS}: it is not the output of imagedef emit --mapping; give the OUT that emit wrote"
        ),
        other => anyhow!("{other}"),
    })?;
    let report_bytes = check_sums(out, &sums)?;
    let not_a_report = |e: &dyn std::fmt::Display| {
        anyhow!(
            "{shown}/{REPORT} is not a report imagedef emit writes ({e}); run imagedef emit --mapping again"
        )
    };
    let parsed: EmitReport = crate::model::json::parse(&report_bytes)
        .map_err(|e| not_a_report(&e))
        .and_then(|v| serde_json::from_value(v).map_err(|e| not_a_report(&e)))?;
    let mut read = Read::default();
    for s in parsed.services {
        let ecs = s
            .task_definition
            .as_deref()
            .filter(|t| t.starts_with("ecs://"))
            .map(|t| TaskDefinitionSource::parse(t, Path::new("")));
        let Some(Ok(TaskDefinitionSource::Ecs { cluster, service })) = ecs else {
            read.skipped.push(s.name);
            continue;
        };
        let folder = PathBuf::from(&s.name);
        let rel = format!("{}/{IMAGE_DEFINITIONS}", s.name);
        if sums.get(&rel).is_none() {
            bail!(
                "{shown}/{REPORT} names service {:?}, but {SHA256SUMS} does not list {rel}; OUT is not as emit wrote it: run imagedef emit --mapping again",
                s.name
            );
        }
        let images = definitions(&out.join(folder).join(IMAGE_DEFINITIONS))?;
        if let Some(bundle) = &s.bundle {
            report.record(Check::Bundle, |r| {
                crate::check::bundle::check_bundle(
                    &out.join(&bundle.path),
                    crate::model::blue_green::DEFAULT_PLACEHOLDER,
                    r,
                );
            });
        }
        let role = match &s.role_arn {
            Some(r) => Some(
                r.parse::<RoleArn>()
                    .map_err(|e| anyhow!("{shown}/{REPORT}: service {:?}: role_arn {e}", s.name))?
                    .to_string(),
            ),
            None => config.role.as_ref().map(ToString::to_string),
        };
        read.targets.push(Target {
            cluster,
            service,
            name: Some(s.name),
            role,
            file: escape::path(&out.join(&rel)),
            images,
            emitted_running: s.running_task_definition,
        });
    }
    if read.targets.is_empty() {
        bail!(
            "{shown} has no service whose taskDefinition is ecs://CLUSTER/SERVICE (services: {}), so there is nothing to deploy; give each service to deploy \"taskDefinition\": \"ecs://CLUSTER/SERVICE\" in the mapping, or use ecs://CLUSTER/SERVICE --file PATH",
            if read.skipped.is_empty() {
                "none".to_owned()
            } else {
                read.skipped.join(", ")
            }
        );
    }
    Ok(read)
}

/// Every file `SHA256SUMS` lists must be in OUT with those bytes, the report among them; returns
/// the report's bytes. A mismatch fails (exit 1), naming every file.
fn check_sums(out: &Path, sums: &Sha256Sums) -> anyhow::Result<Vec<u8>> {
    let shown = escape::path(out);
    let mut problems = Vec::new();
    let mut report = None;
    for rel in sums.paths() {
        if rel.starts_with('/')
            || rel
                .split('/')
                .any(|p| p.is_empty() || p == "." || p == "..")
        {
            bail!(
                "{shown}/{SHA256SUMS} lists {:?}, which is not a path inside OUT; it is not as emit wrote it",
                escape::value(rel)
            );
        }
        let Some(want) = sums.get(rel) else { continue };
        let path = out.join(rel);
        if std::fs::symlink_metadata(&path).is_ok_and(|m| !m.is_file()) {
            problems.push(format!("{}: not a regular file", escape::value(rel)));
            continue;
        }
        match input::read_named(&path, MAX_OUT_FILE, "file of OUT") {
            Err(e) if e.is_not_found() => {
                problems.push(format!("{} is listed but is not there", escape::value(rel)));
            }
            Err(e) => return Err(e.into()),
            Ok(bytes) => {
                let got = Digest::of(&bytes);
                if got != want {
                    problems.push(format!(
                        "{}: sha256 is {}, but {SHA256SUMS} lists {}",
                        escape::value(rel),
                        got.hex(),
                        want.hex()
                    ));
                } else if rel == REPORT {
                    report = Some(bytes);
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(CheckFailed(format!(
            "{} file(s) of {shown} do not match {shown}/{SHA256SUMS}, so nothing was changed:\n  {}\nfix: run imagedef emit again, and do not change OUT between emit and deploy",
            problems.len(),
            problems.join("\n  ")
        ))
        .into());
    }
    report.ok_or_else(|| {
        CheckFailed(format!(
            "{shown}/{SHA256SUMS} does not list {REPORT}, so what OUT deploys cannot be checked; nothing was changed: run imagedef emit --mapping again"
        ))
        .into()
    })
}
