//! `imagedef emit`: one pipeline for both modes. Single-image mode is a mapping with one implicit
//! service whose one container takes the only image found.
//!
//! plan (the mapping) -> discover (the roots it needs) -> resolve -> task definitions checked ->
//! output (layout of OUT, write or show, summary).

use std::path::Path;

use anyhow::anyhow;

use super::Listed;
use crate::aws::ecs::EcsError;
use crate::aws::{self, Aws, ecr};
use crate::config::{EmitConfig, EmitMode, FindingsConfig, Given};
use crate::discover::{self, Root};
use crate::error::{CheckFailed, ExitCode, Severity};
use crate::input;
use crate::model::blue_green::{self, Which};
use crate::model::mapping::Mapping;
use crate::model::{MissingContainers, TaskDefinition, TaskDefinitionSource};
use crate::output::{self, Delivery};
use crate::resolve::{self, ResolvedService};
use crate::verify;

pub fn run(config: &EmitConfig) -> anyhow::Result<ExitCode> {
    let (plan, mapping_path) = match &config.mode {
        EmitMode::Single {
            container,
            task_definition,
            ..
        } => (
            Mapping::single(container.clone(), task_definition.clone()),
            None,
        ),
        EmitMode::Mapping { path } => (load_mapping(path)?, Some(path.as_path())),
    };
    let roots = roots_needed(&plan, &config.discover.roots);
    let found = discover::discover(&roots, &config.discover.file_name, Some(&config.out));
    if let Err(e) = super::refuse_unreadable(&found) {
        super::warn_unusable(&found, Listed::Unreadable);
        return Err(e);
    }
    let mut services = match resolve::resolve(&plan, &found, &config.rules) {
        Ok(services) => {
            super::warn_unusable(&found, Listed::Nothing);
            services
        }
        Err(f) => {
            if !super::explain::lists_discovery(&f, config) {
                super::warn_unusable(&found, Listed::Nothing);
            }
            return Err(super::explain::failure(&f, config, &found));
        }
    };
    check_task_definitions(&services, mapping_path, aws::shared)?;
    let blue_green = blue_green_inputs(&services, mapping_path)?;
    if config.ecr {
        let checked = require_in_ecr(&services, aws::shared)?;
        require_findings(
            &mut services,
            &plan,
            mapping_path,
            &checked,
            &config.findings,
        )?;
    } else if config.findings.thresholds.is_some()
        || plan.findings.is_some()
        || plan.services.iter().any(|s| s.findings.is_some())
    {
        tracing::warn!("{}", verify::findings::NOT_CHECKED);
    }
    let files = output::lay_out(&services, mapping_path, config.bundle, &blue_green)?;
    let note = match &config.mode {
        EmitMode::Single {
            container_given: Given::Env(var),
            ..
        } => Some(format!("; container name from ${var}")),
        _ => None,
    };
    output::deliver(
        &Delivery {
            out: &config.out,
            mapping_mode: mapping_path.is_some(),
            dry_run: config.dry_run,
            summary: config.summary,
            codebuild_src_dir: config.codebuild_src_dir.as_deref(),
            note: note.as_deref(),
            lock_timeout: config.lock_timeout,
        },
        &files,
        &services,
    )?;
    Ok(ExitCode::Success)
}

fn load_mapping(path: &Path) -> anyhow::Result<Mapping> {
    let bytes = input::read_named(path, input::MAX_JSON, "mapping")?;
    let base = path.parent().unwrap_or_else(|| Path::new(""));
    Mapping::parse(&bytes, base).map_err(|e| anyhow!("mapping {}: {e}", path.display()))
}

/// The roots the plan can take images from: when every selector names its artifact, only those
/// artifacts' roots are walked. A named artifact that no root has is pointed out.
fn roots_needed(plan: &Mapping, roots: &[Root]) -> Vec<Root> {
    let Some(needed) = plan.artifacts_needed() else {
        return roots.to_vec();
    };
    for name in &needed {
        if !roots.iter().any(|r| r.artifact == *name) {
            tracing::warn!(
                "the mapping selects artifact {name:?}, but no artifact root has that name; the roots are: {}",
                roots
                    .iter()
                    .map(|r| format!("{} ({})", r.artifact, r.path.display()))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let (kept, skipped): (Vec<Root>, Vec<Root>) = roots
        .iter()
        .cloned()
        .partition(|r| needed.contains(r.artifact.as_str()));
    for root in skipped {
        tracing::debug!(
            "not searching {} (artifact {}): no selector names it",
            root.path.display(),
            root.artifact
        );
    }
    kept
}

/// `--ecr`: every container's image must be in ECR, or nothing is written. Missing images fail
/// the check (exit 1), all named at once; a lookup that could not be made is an error (exit 2).
/// Returns each container's lookup and what ECR said, in order.
fn require_in_ecr<'a>(
    services: &[ResolvedService<'_>],
    connect: impl FnOnce() -> anyhow::Result<&'a Aws>,
) -> anyhow::Result<Vec<(ecr::Lookup, ecr::Outcome)>> {
    let lookups = lookups(services);
    let batches = ecr::plan(&lookups).map_err(|e| anyhow!("{e}; nothing was written"))?;
    if batches.is_empty() {
        tracing::warn!("{}", verify::ecr::NONE_IN_ECR);
        let skipped = ecr::Outcome::Skipped(ecr::Skipped::NotInEcr);
        return Ok(lookups.into_iter().map(|l| (l, skipped.clone())).collect());
    }
    let outcomes = ecr::check(connect()?, &lookups)?;
    let mut missing = Vec::new();
    let mut failed = Vec::new();
    for (l, o) in lookups.iter().zip(&outcomes) {
        let said = verify::ecr::words(l, o);
        match o {
            ecr::Outcome::Found { .. } => tracing::debug!("{}: {said}", l.subject),
            ecr::Outcome::Skipped(_) => tracing::debug!("{}: {}: {said}", l.subject, l.image),
            ecr::Outcome::Missing(_) => missing.push(format!("{}: {said}", l.subject)),
            ecr::Outcome::Error(_) => failed.push(format!("{}: {said}", l.subject)),
        }
    }
    let nothing = "; nothing was written";
    if !failed.is_empty() {
        failed.extend(missing);
        anyhow::bail!("{}{nothing}", failed.join("\n"));
    }
    if !missing.is_empty() {
        return Err(CheckFailed(format!("{}{nothing}", missing.join("\n"))).into());
    }
    Ok(lookups.into_iter().zip(outcomes).collect())
}

/// Findings thresholds (`--findings`, else the service's `findings`, else the mapping's): every
/// container's image within them, or nothing is written. Over a threshold or a scan that cannot be
/// judged fails (exit 1), every container named at once; a call that failed is an error (exit 2).
/// Each container judged keeps what was judged, for the report and the summary.
fn require_findings(
    services: &mut [ResolvedService<'_>],
    plan: &Mapping,
    mapping_path: Option<&Path>,
    checked: &[(ecr::Lookup, ecr::Outcome)],
    config: &FindingsConfig,
) -> anyhow::Result<()> {
    let mapping = mapping_path
        .map(|m| m.display().to_string())
        .unwrap_or_default();
    let rules: Vec<Option<(&crate::model::findings::Thresholds, String)>> = services
        .iter()
        .map(|s| {
            if let Some((t, given)) = &config.thresholds {
                return Some((t, given.to_string()));
            }
            let name = s.service.name.as_ref().map(ToString::to_string);
            if let (Some(t), Some(name)) = (&s.service.findings, &name) {
                return Some((
                    t,
                    format!("mapping {mapping}, key \"services.{name}.findings\""),
                ));
            }
            plan.findings
                .as_ref()
                .map(|t| (t, format!("mapping {mapping}, key \"findings\"")))
        })
        .collect();
    let mut asked = Vec::new();
    let mut at = Vec::new();
    let mut row = checked.iter();
    for (si, (s, rule)) in services.iter().zip(&rules).enumerate() {
        for (ci, c) in s.containers.iter().enumerate() {
            let Some((lookup, outcome)) = row.next() else {
                continue;
            };
            let Some((thresholds, from)) = rule else {
                continue;
            };
            asked.push(verify::findings::Asked {
                subject: lookup.subject.clone(),
                image: &c.image_uri,
                outcome,
                thresholds,
                from: from.clone(),
                needed: None,
            });
            at.push((si, ci));
        }
    }
    if asked.is_empty() {
        return Ok(());
    }
    let judged = verify::findings::judge(&asked, aws::shared, config.scan_wait)?;
    drop(asked);
    let mut failed = Vec::new();
    let mut errors = Vec::new();
    for (j, (si, ci)) in judged.into_iter().zip(at) {
        let line = format!("{}: findings: {}", j.subject, j.message);
        match j.verdict {
            verify::findings::Verdict::Passed => tracing::debug!("{line}"),
            verify::findings::Verdict::NotChecked => tracing::warn!("{line}"),
            verify::findings::Verdict::Failed => failed.push(line),
            verify::findings::Verdict::Error => errors.push(line),
        }
        services[si].containers[ci].findings = Some(j.judged);
    }
    let nothing = "; nothing was written";
    if !errors.is_empty() {
        errors.extend(failed);
        anyhow::bail!("{}{nothing}", errors.join("\n"));
    }
    if !failed.is_empty() {
        return Err(CheckFailed(format!("{}{nothing}", failed.join("\n"))).into());
    }
    Ok(())
}

/// What `--ecr` looks up: every container's reference, digest and tag.
fn lookups(services: &[ResolvedService<'_>]) -> Vec<ecr::Lookup> {
    services
        .iter()
        .flat_map(|s| {
            s.containers.iter().map(|c| {
                let subject = match &s.service.name {
                    Some(name) => format!(
                        "service {:?}, container {:?}",
                        name.as_str(),
                        c.name.as_str()
                    ),
                    None => c
                        .sources
                        .iter()
                        .map(|f| format!("{}:{}", f.artifact, f.path))
                        .collect::<Vec<_>>()
                        .join(", "),
                };
                ecr::Lookup::of(subject, &c.image_uri, c.digest)
            })
        })
        .collect()
}

/// A task definition that does not fit its service: unreadable or not found (exit 2), or lacking
/// a container the service writes (exit 1).
enum TaskDefinitionFault {
    Error(anyhow::Error),
    Lacks(String),
}

/// Every service's containers must exist in its task definition; every failing service is
/// reported, not only the first.
fn check_task_definitions<'a>(
    services: &[ResolvedService<'_>],
    mapping_path: Option<&Path>,
    connect: impl Fn() -> anyhow::Result<&'a Aws>,
) -> anyhow::Result<()> {
    let mut messages = Vec::new();
    let mut worst = ExitCode::Success;
    for s in services {
        let Some(source) = s.service.task_definition_source.as_ref() else {
            continue;
        };
        let Err(fault) = check_task_definition(source, s, &connect) else {
            continue;
        };
        let at = match (&s.service.name, mapping_path) {
            (Some(name), Some(mapping)) => format!(
                "mapping {}, service {:?} (key \"services.{name}.taskDefinition\"): ",
                mapping.display(),
                name.as_str(),
            ),
            _ => String::new(),
        };
        messages.push(match fault {
            TaskDefinitionFault::Error(e) => {
                worst = ExitCode::Error;
                format!("{at}{e:#}")
            }
            TaskDefinitionFault::Lacks(message) => {
                if worst == ExitCode::Success {
                    worst = ExitCode::CheckFailed;
                }
                format!("{at}{message}")
            }
        });
    }
    let message = messages.join("\n");
    match worst {
        ExitCode::Success => Ok(()),
        ExitCode::CheckFailed => Err(CheckFailed(message).into()),
        ExitCode::Error => Err(anyhow!(message)),
    }
}

/// The blue/green services' template and `AppSpec`, read and checked (every failing service is
/// reported), as the files to write beside their `imageDetail.json`, by service name.
fn blue_green_inputs(
    services: &[ResolvedService<'_>],
    mapping_path: Option<&Path>,
) -> anyhow::Result<output::layout::BlueGreenFiles> {
    let mut files = output::layout::BlueGreenFiles::new();
    let mut failures = Vec::new();
    for s in services {
        let (Some(name), Some(inputs)) = (&s.service.name, &s.service.blue_green_inputs) else {
            continue;
        };
        let file = |which: Which| match which {
            Which::Template => (
                "taskDefinitionTemplate",
                &inputs.template,
                "task definition template",
            ),
            Which::AppSpec => ("appSpec", &inputs.app_spec, "AppSpec"),
        };
        let context = |which: Which| {
            format!(
                "mapping {}, service {:?} (key \"services.{name}.{}\")",
                mapping_path
                    .map(|m| m.display().to_string())
                    .unwrap_or_default(),
                name.as_str(),
                file(which).0
            )
        };
        let at = |which: Which| {
            let (_, path, what) = file(which);
            format!("{}: {what} {}", context(which), path.display())
        };
        let read = |which: Which| {
            let (_, path, what) = file(which);
            input::read_named(path, crate::model::deploy::MAX_BUNDLE_BYTES, what)
                .map_err(|e| (Severity::Error, format!("{}: {e}", context(which))))
        };
        let checked = read(Which::Template).and_then(|template| {
            let app_spec = read(Which::AppSpec)?;
            let container = s
                .service
                .blue_green
                .as_ref()
                .map(crate::model::ContainerName::as_str);
            blue_green::check_pair(&template, &app_spec, container, &inputs.placeholder)
                .map(|_| (template, app_spec))
                .map_err(|(which, refusals)| {
                    let worst = refusals.iter().map(|r| r.severity).max();
                    let lines: Vec<String> = refusals
                        .iter()
                        .map(|r| format!("{}: {}", at(which), r.message))
                        .collect();
                    (worst.unwrap_or(Severity::Error), lines.join("\n"))
                })
        });
        match checked {
            Ok((template, app_spec)) => {
                files.insert(
                    name.to_string(),
                    vec![
                        (blue_green::TASKDEF, template),
                        (blue_green::APPSPEC, app_spec),
                    ],
                );
            }
            Err(failure) => failures.push(failure),
        }
    }
    if failures.is_empty() {
        return Ok(files);
    }
    let message = failures
        .iter()
        .map(|(_, m)| m.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    match ExitCode::worst(failures.iter().map(|(s, _)| *s)) {
        ExitCode::CheckFailed => Err(CheckFailed(message).into()),
        _ => Err(anyhow!(message)),
    }
}

/// The service's containers against its task definition: a file, or the one an ECS service runs
/// now.
fn check_task_definition<'a>(
    source: &TaskDefinitionSource,
    service: &ResolvedService<'_>,
    connect: impl FnOnce() -> anyhow::Result<&'a Aws>,
) -> Result<(), TaskDefinitionFault> {
    let (task, shown) = match source {
        TaskDefinitionSource::File(path) => {
            let bytes = input::read_named(path, input::MAX_JSON, "task definition")
                .map_err(|e| TaskDefinitionFault::Error(e.into()))?;
            let task = TaskDefinition::parse(&bytes).map_err(|e| {
                TaskDefinitionFault::Error(anyhow!("task definition {}: {e}", path.display()))
            })?;
            (task, path.display().to_string())
        }
        TaskDefinitionSource::Ecs { cluster, service } => {
            let (task, arn) = connect()
                .map_err(EcsError::Connection)
                .and_then(|aws| aws::ecs::running_task_definition(aws, cluster, service))
                .map_err(|e| TaskDefinitionFault::Error(ecs_error(&e, cluster, service)))?;
            (
                task,
                format!("{source} ({arn}, which the service runs now)"),
            )
        }
    };
    let written = service.containers.iter().map(|c| c.name.as_str());
    task.compare_containers(written)
        .map_err(|m| TaskDefinitionFault::Lacks(lacks_message(&m, &shown)))
}

/// Why the task definition `service` in `cluster` runs could not be had, worded.
fn ecs_error(e: &EcsError, cluster: &str, service: &str) -> anyhow::Error {
    match e {
        EcsError::Connection(e) => anyhow!("{e:#}"),
        EcsError::Call(fault) => anyhow!("{fault}"),
        EcsError::NotFound { region, reasons } => anyhow!(
            "ECS service {service:?} not found in cluster {cluster:?} (region {region}{}); check the ecs://CLUSTER/SERVICE value and AWS_REGION",
            if reasons.is_empty() {
                String::new()
            } else {
                format!(", ECS says {}", reasons.join(", "))
            }
        ),
        EcsError::Inactive { region } => anyhow!(
            "ECS service {service:?} in cluster {cluster:?} (region {region}) is INACTIVE (deleted); name a running service"
        ),
        EcsError::NoTaskDefinition { region } => anyhow!(
            "ECS service {service:?} in cluster {cluster:?} (region {region}) has no task definition (it deploys through an external controller?); give the task definition file instead"
        ),
        EcsError::Empty { arn } => anyhow!(
            "ECS DescribeTaskDefinition of {arn} (for service {service} in cluster {cluster}) returned no task definition"
        ),
    }
}

/// The message for containers that task definition `shown` lacks.
fn lacks_message(m: &MissingContainers, shown: &str) -> String {
    let quoted = |names: &[String]| {
        names
            .iter()
            .map(|c| format!("{c:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let has = if m.has.is_empty() {
        "no containers".to_owned()
    } else {
        format!("containers {}", quoted(&m.has))
    };
    format!(
        "container {} not in task definition {shown}{}, which has {has}; the ECS deploy would fail with \"The AWS ECS container {} does not exist\"; fix: use the container name from the task definition",
        quoted(&m.missing),
        m.family
            .as_deref()
            .map(|f| format!(" (family {f})"))
            .unwrap_or_default(),
        m.missing[0],
    )
}
