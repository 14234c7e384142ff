//! Before any change: every service read (`DescribeServices`, a call per 10 services of a
//! cluster), its controller and deployments held against what `deploy` may do, its running task
//! definition read with its tags (`DescribeTaskDefinition`), the file's containers held against
//! it, and what to do decided: nothing (`unchanged`), follow the deployment a killed run of the
//! same images started, or register the next revision. Every refusal is made here, for every
//! service, before any service is changed.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder;
use aws_sdk_ecs::types::{
    Deployment, DeploymentControllerType, DeploymentRolloutState, DesiredStatus, Service,
};

use super::follow::TaskDigests;
use super::{Target, Written, revision_of};
use crate::aws::ecs_deploy::{Ecs, Revision, copy};
use crate::check::task_definition::lacks;
use crate::error::Severity;
use crate::io::escape;
use crate::model::MissingContainers;
use crate::resolve::changes::{self, Change, Status};

/// One service, planned.
#[derive(Clone, Debug)]
pub struct Planned {
    pub target: Target,
    /// Which client (role) reaches it.
    pub client: usize,
    /// The service as read for the plan.
    pub service: Service,
    /// The revision it runs, as read.
    pub running: Revision,
    pub running_arn: String,
    pub containers: Vec<ContainerPlan>,
    pub action: Action,
    /// What to say before any change (the report's revision is not the one running now, tags
    /// left out).
    pub notes: Vec<String>,
}

/// One container of the file against the running revision.
#[derive(Clone, Debug)]
pub struct ContainerPlan {
    pub written: Written,
    /// The image the running revision names for it.
    pub running: Option<String>,
    pub change: Change,
}

/// What the change stage does for a service.
#[derive(Clone, Debug)]
pub enum Action {
    /// The service runs exactly these digests, its deployment ended successfully, its tasks run
    /// them: no registration, no update.
    Unchanged { tasks: usize },
    /// A deployment of exactly these images is in progress (a rerun after a killed build):
    /// follow it, start nothing.
    Resume { deployment: String },
    /// Register the next revision, then update the service to it.
    Register {
        request: Box<RegisterTaskDefinitionFluentBuilder>,
    },
    /// `confirm`: follow the latest deployment.
    Confirm,
}

/// Why a service is not planned.
#[derive(Clone, Debug)]
pub struct Refusal {
    /// `ecs://CLUSTER/SERVICE`.
    pub service: String,
    pub severity: Severity,
    pub message: String,
}

/// What planning made of one service.
#[derive(Clone, Debug)]
pub enum Planning {
    Ready(Box<Planned>),
    Refused(Refusal),
    /// A deployment this run did not start is in progress, and `--wait-for-in-flight` was given:
    /// wait for it (on this client, for this task definition), then plan again.
    Wait {
        target: Target,
        client: usize,
        task_definition: String,
        deployment: String,
    },
}

/// How to plan.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub confirm: bool,
    pub wait_for_in_flight: bool,
}

/// Plans every target (in order), through `clients[client_of[i]]`.
pub fn plan_all(
    clients: &[Ecs<'_>],
    targets: &[(Target, usize)],
    settings: Settings,
) -> Vec<Planning> {
    // DescribeServices: one call per cluster and client, ten services at a time.
    let mut groups: BTreeMap<(usize, &str), Vec<&str>> = BTreeMap::new();
    for (t, client) in targets {
        groups
            .entry((*client, t.cluster.as_str()))
            .or_default()
            .push(t.service.as_str());
    }
    let mut described: HashMap<(usize, String, String), Result<Service, Refusal>> = HashMap::new();
    for ((client, cluster), names) in &groups {
        let ecs = &clients[*client];
        match ecs.describe_services(cluster, names) {
            Err(fault) => {
                for name in names {
                    described.insert(
                        (*client, (*cluster).to_owned(), (*name).to_owned()),
                        Err(error(cluster, name, fault.to_string())),
                    );
                }
            }
            Ok(d) => {
                for name in names {
                    let found = d.services.iter().find(|s| {
                        s.service_name() == Some(name)
                            || s.service_arn()
                                .is_some_and(|a| a.ends_with(&format!("/{name}")))
                    });
                    let result = if let Some(s) = found {
                        Ok(s.clone())
                    } else {
                        {
                            let reason = d
                                .missing
                                .iter()
                                .find(|(n, _)| n == name)
                                .map_or("MISSING", |(_, r)| r.as_str());
                            Err(error(
                                cluster,
                                name,
                                format!(
                                    "ECS service {name:?} not found in cluster {cluster:?} (region {}{}): ECS says {}; check ecs://CLUSTER/SERVICE and AWS_REGION",
                                    ecs.region,
                                    ecs.role
                                        .as_deref()
                                        .map(|r| format!(", as role {r}"))
                                        .unwrap_or_default(),
                                    escape::value(reason)
                                ),
                            ))
                        }
                    };
                    described.insert((*client, (*cluster).to_owned(), (*name).to_owned()), result);
                }
            }
        }
    }
    let mut definitions: HashMap<(usize, String), Result<Revision, String>> = HashMap::new();
    targets
        .iter()
        .map(|(target, client)| {
            let key = (*client, target.cluster.clone(), target.service.clone());
            let service = match described.get(&key) {
                Some(Ok(s)) => s.clone(),
                Some(Err(r)) => return Planning::Refused(r.clone()),
                None => {
                    return Planning::Refused(error(
                        &target.cluster,
                        &target.service,
                        "not described".to_owned(),
                    ));
                }
            };
            plan_one(
                &clients[*client],
                *client,
                target,
                &service,
                &mut definitions,
                settings,
            )
        })
        .collect()
}

fn error(cluster: &str, service: &str, message: String) -> Refusal {
    Refusal {
        service: format!("ecs://{cluster}/{service}"),
        severity: Severity::Error,
        message,
    }
}

/// The deployment controller (ECS when the service names none).
#[must_use]
pub fn controller(service: &Service) -> &str {
    service
        .deployment_controller()
        .map_or("ECS", |c| c.r#type().as_str())
}

/// The service's deployment strategy (ROLLING when it names none).
#[must_use]
pub fn strategy(service: &Service) -> &str {
    service
        .deployment_configuration()
        .and_then(|c| c.strategy())
        .map_or("ROLLING", aws_sdk_ecs::types::DeploymentStrategy::as_str)
}

/// The deployment in progress on `service`, if any: one whose rollout is `IN_PROGRESS`, or the
/// PRIMARY one while other deployments still drain, or (no rollout state: a Classic Load
/// Balancer) a PRIMARY one whose tasks are not all running.
#[must_use]
pub fn in_flight(service: &Service) -> Option<&Deployment> {
    let deployments = service.deployments();
    let primary = deployments
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
        .or(deployments.first());
    if let Some(d) = deployments
        .iter()
        .find(|d| d.rollout_state() == Some(&DeploymentRolloutState::InProgress))
    {
        return Some(d);
    }
    if deployments.len() > 1 {
        return primary;
    }
    primary.filter(|d| {
        d.rollout_state().is_none()
            && (d.running_count() != d.desired_count() || d.pending_count() > 0)
    })
}

/// The deployment as messages name it.
#[must_use]
pub fn deployment_words(d: &Deployment) -> String {
    format!(
        "{} (task definition {}, {}{}{})",
        escape::value(d.id().unwrap_or("?")),
        escape::value(revision_of(d.task_definition().unwrap_or("?"))),
        d.rollout_state()
            .map_or("no rollout state", DeploymentRolloutState::as_str),
        d.created_at()
            .map(|t| format!(", created {t}"))
            .unwrap_or_default(),
        d.rollout_state_reason()
            .map(|r| format!(": {}", escape::value(r)))
            .unwrap_or_default(),
    )
}

// One check after another, each a refusal or the next step.
#[allow(clippy::too_many_lines)]
fn plan_one(
    ecs: &Ecs<'_>,
    client: usize,
    target: &Target,
    service: &Service,
    definitions: &mut HashMap<(usize, String), Result<Revision, String>>,
    settings: Settings,
) -> Planning {
    let shown = target.shown();
    let refuse = |severity, message: String| {
        Planning::Refused(Refusal {
            service: shown.clone(),
            severity,
            message,
        })
    };
    match service.status() {
        Some("ACTIVE") | None => {}
        Some(status) => {
            return refuse(
                Severity::Error,
                format!(
                    "ECS service {shown} is {}, not ACTIVE; name a running service",
                    escape::value(status)
                ),
            );
        }
    }
    match service
        .deployment_controller()
        .map(aws_sdk_ecs::types::DeploymentController::r#type)
    {
        Some(DeploymentControllerType::CodeDeploy) => {
            return refuse(
                Severity::Error,
                format!(
                    "{shown} uses the CODE_DEPLOY deployment controller: ECS refuses to change its task definition with UpdateService (\"Unable to update task definition on services with a CODE_DEPLOY deployment controller\"); deploy it with the CodePipeline CodeDeployToECS action and the files imagedef emit writes for it (a service with \"blueGreen\" in the mapping: imageDetail.json, and with \"taskDefinitionTemplate\" and \"appSpec\" also taskdef.json and appspec.yaml), or move the service to ECS blue/green (controller ECS, strategy BLUE_GREEN)"
                ),
            );
        }
        Some(DeploymentControllerType::External) => {
            return refuse(
                Severity::Error,
                format!(
                    "{shown} uses the EXTERNAL deployment controller: its task definition changes through task sets (CreateTaskSet), which imagedef does not make; deploy it with the tool that manages its task sets"
                ),
            );
        }
        _ => {}
    }
    let Some(running_arn) = service.task_definition().map(str::to_owned) else {
        return refuse(
            Severity::Error,
            format!("{shown} names no task definition; deploy it with the tool that manages it"),
        );
    };
    let running = definitions
        .entry((client, running_arn.clone()))
        .or_insert_with(|| {
            ecs.describe_task_definition(&running_arn)
                .map_err(|f| f.to_string())
        })
        .clone();
    let running = match running {
        Ok(d) => d,
        Err(e) => return refuse(Severity::Error, e),
    };
    if !settings.confirm && !running.unread.is_empty() {
        return refuse(
            Severity::Error,
            format!(
                "task definition {} (which {shown} runs) holds {} that the AWS SDK in this imagedef build does not know: {}; a revision copied from it would silently drop {}, so nothing is registered; fix: use an imagedef built with a newer aws-sdk-ecs, or deploy this service with the ECS deploy action",
                escape::value(&running_arn),
                if running.unread.len() == 1 {
                    "a field"
                } else {
                    "fields"
                },
                running
                    .unread
                    .iter()
                    .map(|k| escape::value(k).into_owned())
                    .collect::<Vec<_>>()
                    .join(", "),
                if running.unread.len() == 1 {
                    "it"
                } else {
                    "them"
                },
            ),
        );
    }
    let td = &running.task_definition;
    let has: Vec<String> = td
        .container_definitions()
        .iter()
        .filter_map(|c| c.name().map(str::to_owned))
        .collect();
    let missing: Vec<String> = target
        .images
        .iter()
        .filter(|w| !has.contains(&w.container))
        .map(|w| w.container.clone())
        .collect();
    let shown_td = format!("{} (which {shown} runs)", escape::value(&running_arn));
    if missing.len() == target.images.len() {
        return refuse(
            Severity::Error,
            format!(
                "{} is for another service: none of its containers ({}) is in task definition {shown_td}, which has {}; give the file written for {shown}",
                target.file,
                quoted(target.images.iter().map(|w| w.container.as_str())),
                quoted(has.iter().map(String::as_str)),
            ),
        );
    }
    if !missing.is_empty() {
        let m = MissingContainers {
            missing,
            has,
            family: td.family().map(str::to_owned),
        };
        return refuse(
            Severity::Failed,
            format!("{}: {}", target.file, lacks(&m, &shown_td)),
        );
    }
    let image_of = |name: &str| {
        td.container_definitions()
            .iter()
            .find(|c| c.name() == Some(name))
            .and_then(|c| c.image().map(str::to_owned))
    };
    let containers: Vec<ContainerPlan> = target
        .images
        .iter()
        .map(|w| {
            let running = image_of(&w.container);
            ContainerPlan {
                change: changes::compare(&w.image, w.digest, running.as_deref()),
                running,
                written: w.clone(),
            }
        })
        .collect();
    let mut notes = Vec::new();
    if let Some(emitted) = &target.emitted_running
        && emitted != &running_arn
    {
        notes.push(format!(
            "{shown} now runs task definition {}, not {} that emit saw; planned against the one it runs now",
            escape::value(revision_of(&running_arn)),
            escape::value(revision_of(emitted))
        ));
    }
    let same = containers
        .iter()
        .all(|c| c.change.status == Status::Unchanged);
    let pinned = target.images.iter().all(|w| w.image.digest().is_some());
    let planned = |action, notes| {
        Planning::Ready(Box::new(Planned {
            target: target.clone(),
            client,
            service: service.clone(),
            running: running.clone(),
            running_arn: running_arn.clone(),
            containers: containers.clone(),
            action,
            notes,
        }))
    };
    if settings.confirm {
        return planned(Action::Confirm, notes);
    }
    if let Some(d) = in_flight(service) {
        let id = d.id().unwrap_or("?").to_owned();
        if same && pinned && d.task_definition() == Some(running_arn.as_str()) {
            notes.push(format!(
                "{shown}: deployment {} of exactly these images is in progress (a run that was stopped started it): following it instead of starting another",
                escape::value(&id)
            ));
            return planned(Action::Resume { deployment: id }, notes);
        }
        if settings.wait_for_in_flight {
            return Planning::Wait {
                target: target.clone(),
                client,
                task_definition: d.task_definition().unwrap_or(&running_arn).to_owned(),
                deployment: id,
            };
        }
        return refuse(
            Severity::Error,
            format!(
                "a deployment that this run did not start is in progress on {shown}: {}; imagedef does not start another on top of it; wait for it to end and run again, or pass --wait-for-in-flight",
                deployment_words(d)
            ),
        );
    }
    let ended_well = service.deployments().first().is_none_or(|d| {
        d.rollout_state()
            .is_none_or(|r| *r == DeploymentRolloutState::Completed)
    });
    if same && pinned && ended_well {
        match ecs.tasks(&target.cluster, &target.service, DesiredStatus::Running) {
            Ok(tasks) => {
                let seen = TaskDigests::of(&tasks, &target.images);
                if seen.others.is_empty() {
                    return planned(
                        Action::Unchanged {
                            tasks: seen.matching,
                        },
                        notes,
                    );
                }
                notes.push(format!(
                    "{shown} runs these images' task definition, but some of its tasks run other digests ({}): deploying again",
                    seen.others_words()
                ));
            }
            Err(fault) => return refuse(Severity::Error, fault.to_string()),
        }
    }
    let images: BTreeMap<String, String> = target
        .images
        .iter()
        .map(|w| (w.container.clone(), w.image.to_string()))
        .collect();
    let (request, dropped) = copy::request(ecs.register_request(), td, &running.tags, &images);
    let dropped_tags: Vec<String> = dropped
        .iter()
        .map(|t| {
            format!(
                "{}={}",
                t.key().unwrap_or_default(),
                t.value().unwrap_or_default()
            )
        })
        .collect();
    if !dropped_tags.is_empty() {
        notes.push(format!(
            "{shown}: tags of the running revision left out of the new one, as ECS reserves aws: for itself: {}",
            escape::value(&dropped_tags.join(", "))
        ));
    }
    planned(
        Action::Register {
            request: Box::new(request),
        },
        notes,
    )
}

fn quoted<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let list: Vec<String> = names.map(|n| format!("{:?}", escape::value(n))).collect();
    if list.is_empty() {
        "no containers".to_owned()
    } else {
        list.join(", ")
    }
}
