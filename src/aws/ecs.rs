//! `ecs://CLUSTER/SERVICE`: the task definition a service runs now, from `DescribeServices` and
//! `DescribeTaskDefinition`, in the SDK's region (`AWS_REGION`).

use anyhow::anyhow;

use super::Aws;
use super::errors::{self, Call};
use crate::model::TaskDefinition;

/// The task definition `service` in `cluster` runs now, and its ARN.
pub fn running_task_definition(
    aws: &Aws,
    cluster: &str,
    service: &str,
) -> anyhow::Result<(TaskDefinition, String)> {
    let (client, region) = aws.ecs()?;
    aws.check_credentials()?;
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
                anyhow!(errors::describe(
                    &call(
                        "DescribeServices",
                        "ecs:DescribeServices",
                        format!("arn:aws:ecs:{region}:*:service/{cluster}/{service}")
                    ),
                    &e
                ))
            })?;
        let found = described.services().iter().find(|s| {
            s.service_name() == Some(service) || s.service_arn().is_some_and(|a| a.ends_with(&format!("/{service}")))
        });
        let Some(found) = found else {
            let why = described
                .failures()
                .iter()
                .filter_map(|f| f.reason())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(anyhow!(
                "ECS service {service:?} not found in cluster {cluster:?} (region {region}{}); check the ecs://CLUSTER/SERVICE value and AWS_REGION",
                if why.is_empty() { String::new() } else { format!(", ECS says {why}") }
            ));
        };
        if found.status() == Some("INACTIVE") {
            return Err(anyhow!(
                "ECS service {service:?} in cluster {cluster:?} (region {region}) is INACTIVE (deleted); name a running service"
            ));
        }
        let Some(arn) = found.task_definition() else {
            return Err(anyhow!(
                "ECS service {service:?} in cluster {cluster:?} (region {region}) has no task definition (it deploys through an external controller?); give the task definition file instead"
            ));
        };
        tracing::debug!("ECS {resource} runs task definition {arn}");
        let td = client
            .describe_task_definition()
            .task_definition(arn)
            .send()
            .await
            .map_err(|e| {
                anyhow!(errors::describe(
                    &call(
                        "DescribeTaskDefinition",
                        "ecs:DescribeTaskDefinition",
                        "* (DescribeTaskDefinition has no resource-level permissions)".to_owned()
                    ),
                    &e
                ))
            })?;
        let Some(def) = td.task_definition() else {
            return Err(anyhow!(
                "ECS DescribeTaskDefinition of {arn} (for {resource}) returned no task definition"
            ));
        };
        Ok((
            TaskDefinition {
                family: def.family().map(str::to_owned),
                containers: def
                    .container_definitions()
                    .iter()
                    .filter_map(|c| c.name().map(str::to_owned))
                    .collect(),
            },
            arn.to_owned(),
        ))
    })
}
