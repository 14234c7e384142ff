//! The task definition a service deploys into: one loader for a file or `ecs://CLUSTER/SERVICE`
//! (the revision that service runs now), for `emit`, `verify --task-definition` and `deploy`, and
//! the check that every container written exists in it (else the ECS deploy action fails with
//! "The AWS ECS container X does not exist"). A task definition that cannot be read is an error
//! (exit 2); one that lacks a container fails (exit 1).

use std::fmt;

use super::Recorder;
use crate::aws::Aws;
use crate::aws::ecs::{self, EcsError};
use crate::io::escape;
use crate::io::input::{self, NamedReadError};
use crate::model::mapping::Mapping;
use crate::model::task_definition::TaskDefinitionError;
use crate::model::{MissingContainers, TaskDefinition, TaskDefinitionSource};
use crate::resolve::changes::{self, Running};
use crate::resolve::{ResolvedService, ServiceTask};

/// A task definition as read, with how messages name it.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub task: TaskDefinition,
    /// The file, or `ecs://C/S (ARN, which the service runs now)`.
    pub shown: String,
    /// With `ecs://`: the revision the service runs now.
    pub running: Option<Running>,
}

/// Why a task definition could not be had (exit 2).
#[derive(Debug)]
pub enum LoadError {
    Read(NamedReadError),
    Parse {
        source: TaskDefinitionSource,
        reason: Box<TaskDefinitionError>,
    },
    Ecs {
        cluster: String,
        service: String,
        error: Box<EcsError>,
    },
}

/// Reads the task definition `source` names: the file, or through `connect` the one the ECS
/// service runs now.
pub fn load<'a>(
    source: &TaskDefinitionSource,
    connect: impl FnOnce() -> anyhow::Result<&'a Aws>,
) -> Result<Loaded, LoadError> {
    load_as(source, None, connect)
}

/// [`load`]; an `ecs://` service is read as `role` when given (the mapping's `roleArn`).
pub fn load_as<'a>(
    source: &TaskDefinitionSource,
    role: Option<&str>,
    connect: impl FnOnce() -> anyhow::Result<&'a Aws>,
) -> Result<Loaded, LoadError> {
    match source {
        TaskDefinitionSource::File(path) => {
            let bytes = input::read_named(path, input::MAX_JSON, "task definition")
                .map_err(LoadError::Read)?;
            let task = TaskDefinition::parse(&bytes).map_err(|reason| LoadError::Parse {
                source: source.clone(),
                reason: Box::new(reason),
            })?;
            Ok(Loaded {
                task,
                shown: path.display().to_string(),
                running: None,
            })
        }
        TaskDefinitionSource::Ecs { cluster, service } => {
            let (task, arn) = connect()
                .map_err(EcsError::Connection)
                .and_then(|aws| ecs::running_task_definition(aws, cluster, service, role))
                .map_err(|error| LoadError::Ecs {
                    cluster: cluster.clone(),
                    service: service.clone(),
                    error: Box::new(error),
                })?;
            Ok(Loaded {
                task,
                shown: format!("{source} ({arn}, which the service runs now)"),
                running: Some(Running {
                    service: source.to_string(),
                    task_definition: arn,
                }),
            })
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Read(e) => write!(f, "{e}"),
            LoadError::Parse { source, reason } => write!(f, "task definition {source}: {reason}"),
            LoadError::Ecs {
                cluster,
                service,
                error,
            } => ecs_error(f, error, cluster, service),
        }
    }
}

/// Why the task definition `service` in `cluster` runs could not be had, worded.
fn ecs_error(
    f: &mut fmt::Formatter<'_>,
    e: &EcsError,
    cluster: &str,
    service: &str,
) -> fmt::Result {
    match e {
        EcsError::Connection(e) => write!(f, "{e:#}"),
        EcsError::Call(fault) => write!(f, "{fault}"),
        EcsError::ClusterNotFound { region } => write!(
            f,
            "ECS has no cluster {cluster:?} in region {region} (ClusterNotFoundException); the region is AWS_REGION's (or the profile's): set AWS_REGION to the region the cluster is in, or correct the cluster in ecs://CLUSTER/SERVICE"
        ),
        EcsError::NotFound { region, reasons } => write!(
            f,
            "ECS service {service:?} not found in cluster {cluster:?} (region {region}{}); check the ecs://CLUSTER/SERVICE value and AWS_REGION",
            if reasons.is_empty() {
                String::new()
            } else {
                format!(", ECS says {}", escape::value(&reasons.join(", ")))
            }
        ),
        EcsError::Inactive { region } => write!(
            f,
            "ECS service {service:?} in cluster {cluster:?} (region {region}) is INACTIVE (deleted); name a running service"
        ),
        EcsError::NoTaskDefinition { region } => write!(
            f,
            "ECS service {service:?} in cluster {cluster:?} (region {region}) has no task definition (it deploys through an external controller?); give the task definition file instead"
        ),
        EcsError::Malformed { arn, reason } => write!(
            f,
            "ECS task definition {arn} (which service {service} in cluster {cluster} runs): {reason}"
        ),
        EcsError::Empty { arn } => write!(
            f,
            "ECS DescribeTaskDefinition of {arn} (for service {service} in cluster {cluster}) returned no task definition"
        ),
    }
}

/// The message for containers that task definition `shown` lacks.
#[must_use]
pub fn lacks(m: &MissingContainers, shown: &str) -> String {
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

/// `emit`: every service's containers must exist in its task definition; every failing service
/// is recorded, not only the first. Each service keeps its task definition (for the platform it
/// implies); one its ECS service runs is held against the images written (what changes). A
/// blue/green service without a task definition is held to its task definition template, which is
/// one (what its template says wrong is the blue/green check's to say).
pub fn services<'a>(
    services: &mut [ResolvedService<'_>],
    mapping: &Mapping,
    connect: impl Fn() -> anyhow::Result<&'a Aws>,
    report: &mut Recorder,
) {
    for s in services {
        let name = s.service.name.as_ref();
        let (source, key, named, quiet) = match (
            &s.service.task_definition_source,
            &s.service.blue_green_inputs,
        ) {
            (Some(source), _) => (
                source.clone(),
                "taskDefinition",
                format!("task definition {source}"),
                false,
            ),
            (None, Some(inputs)) => (
                TaskDefinitionSource::File(inputs.template.clone()),
                "taskDefinitionTemplate",
                format!("task definition template {}", inputs.template.display()),
                true,
            ),
            (None, None) => continue,
        };
        let subject = name.map_or_else(String::new, |n| mapping.key(Some(n), key));
        let role = s.service.role_arn.as_ref().map(ToString::to_string);
        let loaded = match load_as(&source, role.as_deref(), &connect) {
            Ok(loaded) => loaded,
            Err(_) if quiet => continue,
            Err(e) => {
                report.error(subject, e.to_string());
                continue;
            }
        };
        let written = s.containers.iter().map(|c| c.name.as_str());
        if let Err(missing) = loaded.task.compare_containers(written) {
            report.fail(subject, lacks(&missing, &loaded.shown));
            continue;
        }
        if let Some(running) = loaded.running {
            changes::hold_against(s, &loaded.task, running);
        }
        s.task = Some(ServiceTask {
            definition: loaded.task,
            named,
        });
    }
}
