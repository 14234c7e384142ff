//! `ecs://CLUSTER/SERVICE`: the task definition a service runs now, from `DescribeServices` and
//! `DescribeTaskDefinition`, in the SDK's region (`AWS_REGION`). Returns data: what went wrong is
//! an [`EcsError`], worded by the caller.

use super::Aws;
use super::errors::{Call, Fault};
use crate::model::TaskDefinition;

/// Why the running task definition of a service could not be had.
#[derive(Debug)]
pub enum EcsError {
    /// No region or no credentials: the connection's own message.
    Connection(anyhow::Error),
    /// A call failed.
    Call(Box<Fault>),
    /// No such cluster in the region asked (`ClusterNotFoundException`): often a wrong region.
    ClusterNotFound { region: String },
    /// No such service; the reasons ECS gave, if any.
    NotFound {
        region: String,
        reasons: Vec<String>,
    },
    /// The service is INACTIVE (deleted).
    Inactive { region: String },
    /// The service names no task definition (an external deployment controller).
    NoTaskDefinition { region: String },
    /// `DescribeTaskDefinition` of `arn` returned none.
    Empty { arn: String },
    /// The task definition of `arn` names a platform imagedef does not know.
    Malformed {
        arn: String,
        reason: crate::model::platform::PlatformError,
    },
}

/// The task definition `service` in `cluster` runs now, and its ARN; read with the credentials of
/// `role` when given (assumed through STS: the mapping's `roleArn`, a service in another account).
pub fn running_task_definition(
    aws: &Aws,
    cluster: &str,
    service: &str,
    role: Option<&str>,
) -> Result<(TaskDefinition, String), EcsError> {
    let (client, region) = match role {
        None => aws.ecs(),
        Some(role) => aws
            .ecs_deploy(Some(role))
            .map(super::ecs_deploy::Ecs::into_parts),
    }
    .map_err(EcsError::Connection)?;
    aws.check_credentials().map_err(EcsError::Connection)?;
    let region = region.to_string();
    let resource = format!("service {service} in cluster {cluster}");
    aws.block_on(async {
        let call = |operation, action, arn: String| Call {
            service: "ECS",
            operation,
            action,
            resource: resource.clone(),
            arn,
            region: region.clone(),
            bucket: None,
        };
        let described = client
            .describe_services()
            .cluster(cluster)
            .services(service)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error().is_some_and(
                    aws_sdk_ecs::operation::describe_services::DescribeServicesError::is_cluster_not_found_exception,
                ) {
                    return EcsError::ClusterNotFound {
                        region: region.clone(),
                    };
                }
                EcsError::Call(Box::new(Fault::of(
                    &call(
                        "DescribeServices",
                        "ecs:DescribeServices",
                        format!("arn:aws:ecs:{region}:*:service/{cluster}/{service}"),
                    ),
                    &e,
                )))
            })?;
        let found = described.services().iter().find(|s| {
            s.service_name() == Some(service)
                || s.service_arn()
                    .is_some_and(|a| a.ends_with(&format!("/{service}")))
        });
        let Some(found) = found else {
            let reasons = described
                .failures()
                .iter()
                .filter_map(|f| f.reason().map(str::to_owned))
                .collect();
            return Err(EcsError::NotFound {
                region: region.clone(),
                reasons,
            });
        };
        if found.status() == Some("INACTIVE") {
            return Err(EcsError::Inactive {
                region: region.clone(),
            });
        }
        let Some(arn) = found.task_definition() else {
            return Err(EcsError::NoTaskDefinition {
                region: region.clone(),
            });
        };
        tracing::debug!("ECS {resource} runs task definition {arn}");
        let td = client
            .describe_task_definition()
            .task_definition(arn)
            .send()
            .await
            .map_err(|e| {
                EcsError::Call(Box::new(Fault::of(
                    &call(
                        "DescribeTaskDefinition",
                        "ecs:DescribeTaskDefinition",
                        "* (DescribeTaskDefinition has no resource-level permissions)".to_owned(),
                    ),
                    &e,
                )))
            })?;
        let Some(def) = td.task_definition() else {
            return Err(EcsError::Empty {
                arn: arn.to_owned(),
            });
        };
        Ok((task_of(def, arn)?, arn.to_owned()))
    })
}

/// The names, images and platform of the SDK's task definition `arn`.
fn task_of(
    def: &aws_sdk_ecs::types::TaskDefinition,
    arn: &str,
) -> Result<TaskDefinition, EcsError> {
    let platform = super::ecs_deploy::platform_needed(def).map_err(|e| EcsError::Malformed {
        arn: arn.to_owned(),
        reason: e,
    })?;
    Ok(TaskDefinition {
        family: def.family().map(str::to_owned),
        containers: def
            .container_definitions()
            .iter()
            .filter_map(|c| c.name().map(str::to_owned))
            .collect(),
        images: def
            .container_definitions()
            .iter()
            .filter_map(|c| Some((c.name()?.to_owned(), c.image()?.to_owned())))
            .collect(),
        platform,
    })
}
