//! `imagedef emit`: one pipeline for both modes. Single-image mode is a mapping with one implicit
//! service whose one container takes the only image found.
//!
//! plan (the mapping) -> discover (the roots it needs) -> resolve -> task definitions checked ->
//! output (layout of OUT, write or show, summary).

use std::path::Path;

use anyhow::{Context as _, anyhow};

use crate::config::{EmitConfig, EmitMode, Given};
use crate::discover::{self, Root};
use crate::error::{CheckFailed, ExitCode, Severity, severity_of};
use crate::input;
use crate::model::blue_green::{self, Which};
use crate::model::mapping::Mapping;
use crate::model::{TaskDefinition, TaskDefinitionSource};
use crate::output::{self, Delivery};
use crate::resolve::{self, ResolvedService};

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
    super::warn_unusable(&found);
    super::refuse_unreadable(&found)?;
    let services = resolve::resolve(&plan, &found, &config.rules)
        .map_err(|f| super::explain::failure(&f, config, &found))?;
    check_task_definitions(&services, mapping_path)?;
    let blue_green = blue_green_inputs(&services, mapping_path)?;
    if config.ecr {
        crate::aws::ecr::require(&lookups(&services))?;
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
            owned: mapping_path.is_some(),
            dry_run: config.dry_run,
            summary: config.summary,
            codebuild_src_dir: config.codebuild_src_dir.as_deref(),
            note: note.as_deref(),
        },
        &files,
        &services,
    )?;
    Ok(ExitCode::Success)
}

fn load_mapping(path: &Path) -> anyhow::Result<Mapping> {
    let bytes = input::read_named(path, input::MAX_JSON, "mapping").map_err(anyhow::Error::msg)?;
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

/// What `--ecr` looks up: every container's reference, digest and tag.
fn lookups(services: &[ResolvedService<'_>]) -> Vec<crate::aws::ecr::Lookup> {
    services
        .iter()
        .flat_map(|s| {
            s.containers.iter().map(|c| crate::aws::ecr::Lookup {
                subject: match &s.service.name {
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
                },
                image: c.image_uri.clone(),
                digest: c.digest.or_else(|| c.image_uri.digest()),
                tag: c.image_uri.tag().map(str::to_owned),
            })
        })
        .collect()
}

/// Every service's containers must exist in its task definition; every failing service is
/// reported, not only the first.
fn check_task_definitions(
    services: &[ResolvedService<'_>],
    mapping_path: Option<&Path>,
) -> anyhow::Result<()> {
    let failures: Vec<anyhow::Error> = services
        .iter()
        .filter_map(|s| {
            let source = s.service.task_definition_source.as_ref()?;
            let result = check_task_definition(source, s);
            match (&s.service.name, mapping_path) {
                (Some(name), Some(mapping)) => result.with_context(|| {
                    format!(
                        "mapping {}, service {:?} (key \"services.{name}.taskDefinition\")",
                        mapping.display(),
                        name.as_str(),
                    )
                }),
                _ => result,
            }
            .err()
        })
        .collect();
    if failures.len() <= 1 {
        return failures.into_iter().next().map_or(Ok(()), Err);
    }
    let message = failures
        .iter()
        .map(|e| format!("{e:#}"))
        .collect::<Vec<_>>()
        .join("\n");
    match ExitCode::worst(failures.iter().map(severity_of)) {
        ExitCode::CheckFailed => Err(CheckFailed(message).into()),
        _ => Err(anyhow!(message)),
    }
}

/// The blue/green services' template and `AppSpec`, read and checked (every failing service is
/// reported), as the files to write beside their `imageDetail.json`, by service name.
fn blue_green_inputs(
    services: &[ResolvedService<'_>],
    mapping_path: Option<&Path>,
) -> anyhow::Result<output::BlueGreenFiles> {
    let mut files = output::BlueGreenFiles::new();
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
            input::read_named(path, crate::verify::bundle::MAX_BYTES, what)
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
fn check_task_definition(
    source: &TaskDefinitionSource,
    service: &ResolvedService<'_>,
) -> anyhow::Result<()> {
    let (task, shown) = match source {
        TaskDefinitionSource::File(path) => {
            let bytes = input::read_named(path, input::MAX_JSON, "task definition")
                .map_err(anyhow::Error::msg)?;
            let task = TaskDefinition::parse(&bytes)
                .map_err(|e| anyhow!("task definition {}: {e}", path.display()))?;
            (task, path.display().to_string())
        }
        TaskDefinitionSource::Ecs { cluster, service } => {
            let (task, arn) =
                crate::aws::ecs::running_task_definition(crate::aws::shared()?, cluster, service)?;
            (
                task,
                format!("{source} ({arn}, which the service runs now)"),
            )
        }
    };
    let missing: Vec<&str> = service
        .containers
        .iter()
        .map(|c| c.name.as_str())
        .filter(|c| !task.has(c))
        .collect();
    let Some(first) = missing.first() else {
        return Ok(());
    };
    let quoted = |names: &mut dyn Iterator<Item = &str>| {
        names
            .map(|c| format!("{c:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let has = if task.containers.is_empty() {
        "no containers".to_owned()
    } else {
        format!(
            "containers {}",
            quoted(&mut task.containers.iter().map(String::as_str))
        )
    };
    Err(CheckFailed(format!(
        "container {} not in task definition {}{}, which has {has}; the ECS deploy would fail with \"The AWS ECS container {first} does not exist\"; fix: use the container name from the task definition",
        quoted(&mut missing.iter().copied()),
        shown,
        task.family
            .as_deref()
            .map(|f| format!(" (family {f})"))
            .unwrap_or_default(),
    ))
    .into())
}
