//! `imagedef emit`: one pipeline for both modes. Single-image mode is a mapping with one implicit
//! service whose one container takes the only image found.
//!
//! plan (the mapping) -> discover (the roots it needs) -> resolve -> task definitions checked ->
//! output (layout of OUT, write or show, summary).

use std::path::Path;

use anyhow::anyhow;

use super::{Listed, task_definition};
use crate::aws::ecs::EcsError;
use crate::aws::{self, Aws};
use crate::config::{EmitConfig, EmitMode, Given};
use crate::discover::{self, Root};
use crate::error::{CheckFailed, ExitCode, Severity};
use crate::io::input;
use crate::model::blue_green::{self, Which};
use crate::model::mapping::Mapping;
use crate::model::platform::Needed;
use crate::model::{TaskDefinition, TaskDefinitionSource};
use crate::output::{self, Delivery};
use crate::resolve::changes::{self, Running};
use crate::resolve::{self, ResolvedService};
use crate::verify::platform::Need;

mod ecr;
mod findings;

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
    let tasks = check_task_definitions(&mut services, mapping_path, aws::shared)?;
    let needs = needs(config, &plan, &services, &tasks);
    let blue_green = blue_green_inputs(&services, mapping_path)?;
    if config.ecr {
        let mut checked = ecr::require(&mut services, &needs, aws::shared, &mut config_blob)?;
        findings::require(
            &mut services,
            &plan,
            mapping_path,
            &needs,
            config,
            &mut checked,
        )?;
        checked.finish()?;
    } else {
        ecr::not_checked(&mut services, &needs, false);
        findings::not_checked(config, &plan);
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

/// The platform each service's images must offer: `--platform`, else the service's `platform`,
/// else the mapping's, else what its task definition needs (none for an EC2 task definition
/// without `runtimePlatform`, said at -v).
fn needs(
    config: &EmitConfig,
    plan: &Mapping,
    services: &[ResolvedService<'_>],
    tasks: &[Option<TaskDefinition>],
) -> Vec<Option<Need>> {
    services
        .iter()
        .zip(tasks)
        .map(|(s, task)| {
            let stated = |platform: &crate::model::platform::Platform, from: String| {
                Some(Need {
                    platform: platform.clone(),
                    from,
                    stated: true,
                })
            };
            let key = |k: &str| match &s.service.name {
                Some(name) => format!("the mapping's \"services.{name}.{k}\""),
                None => format!("the mapping's \"{k}\""),
            };
            if let Some(p) = &config.platform {
                return stated(p, "--platform".to_owned());
            }
            if let Some(p) = &s.service.platform {
                return stated(p, key("platform"));
            }
            if let Some(p) = &plan.platform {
                return stated(p, "the mapping's \"platform\"".to_owned());
            }
            let task = task.as_ref()?;
            match &task.platform {
                Needed::Platform { platform, from } => Some(Need {
                    platform: platform.clone(),
                    from: format!(
                        "task definition {} ({from})",
                        s.service
                            .task_definition_source
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or_default()
                    ),
                    stated: false,
                }),
                Needed::Unknown(why) => {
                    tracing::debug!(
                        "{}: the platform is not checked: {why}",
                        key("taskDefinition")
                    );
                    None
                }
            }
        })
        .collect()
}

/// A single manifest's config blob, from its registry.
fn config_blob(
    repository: &crate::model::ecr::Repository,
    digest: crate::model::Digest,
) -> Result<Vec<u8>, String> {
    crate::aws::registry::config_blob(repository, digest)
}

/// A task definition that does not fit its service: unreadable or not found (exit 2), or lacking
/// a container the service writes (exit 1).
enum TaskDefinitionFault {
    Error(anyhow::Error),
    Lacks(String),
}

/// Every service's containers must exist in its task definition; every failing service is
/// reported, not only the first. Returns each service's task definition, if it has one; a service
/// whose ECS service runs it is held against it (what changes).
fn check_task_definitions<'a>(
    services: &mut [ResolvedService<'_>],
    mapping_path: Option<&Path>,
    connect: impl Fn() -> anyhow::Result<&'a Aws>,
) -> anyhow::Result<Vec<Option<TaskDefinition>>> {
    let mut messages = Vec::new();
    let mut worst = ExitCode::Success;
    let mut tasks = Vec::new();
    for s in services {
        let Some(source) = s.service.task_definition_source.as_ref() else {
            tasks.push(None);
            continue;
        };
        let fault = match check_task_definition(source, s, &connect) {
            Ok((task, running)) => {
                if let Some(running) = running {
                    changes::hold_against(s, &task, running);
                }
                tasks.push(Some(task));
                continue;
            }
            Err(fault) => fault,
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
        ExitCode::Success => Ok(tasks),
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
/// now (and then which one it is, to hold the images against).
fn check_task_definition<'a>(
    source: &TaskDefinitionSource,
    service: &ResolvedService<'_>,
    connect: impl FnOnce() -> anyhow::Result<&'a Aws>,
) -> Result<(TaskDefinition, Option<Running>), TaskDefinitionFault> {
    let (task, shown, running) = match source {
        TaskDefinitionSource::File(path) => {
            let bytes = input::read_named(path, input::MAX_JSON, "task definition")
                .map_err(|e| TaskDefinitionFault::Error(e.into()))?;
            let task = TaskDefinition::parse(&bytes).map_err(|e| {
                TaskDefinitionFault::Error(anyhow!("task definition {}: {e}", path.display()))
            })?;
            (task, path.display().to_string(), None)
        }
        TaskDefinitionSource::Ecs { cluster, service } => {
            let (task, arn) = connect()
                .map_err(EcsError::Connection)
                .and_then(|aws| aws::ecs::running_task_definition(aws, cluster, service))
                .map_err(|e| {
                    TaskDefinitionFault::Error(task_definition::ecs_error(&e, cluster, service))
                })?;
            (
                task,
                format!("{source} ({arn}, which the service runs now)"),
                Some(Running {
                    service: source.to_string(),
                    task_definition: arn,
                }),
            )
        }
    };
    let written = service.containers.iter().map(|c| c.name.as_str());
    task.compare_containers(written)
        .map_err(|m| TaskDefinitionFault::Lacks(task_definition::lacks_message(&m, &shown)))?;
    Ok((task, running))
}
