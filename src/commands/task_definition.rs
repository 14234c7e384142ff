//! Words for a task definition that does not fit its service: the ECS lookup that failed, or the
//! containers it lacks.

use anyhow::anyhow;

use crate::aws::ecs::EcsError;
use crate::model::MissingContainers;

/// Why the task definition `service` in `cluster` runs could not be had, worded.
pub fn ecs_error(e: &EcsError, cluster: &str, service: &str) -> anyhow::Error {
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
        EcsError::Malformed { arn, reason } => anyhow!(
            "ECS task definition {arn} (which service {service} in cluster {cluster} runs): {reason}"
        ),
        EcsError::Empty { arn } => anyhow!(
            "ECS DescribeTaskDefinition of {arn} (for service {service} in cluster {cluster}) returned no task definition"
        ),
    }
}

/// The message for containers that task definition `shown` lacks.
pub fn lacks_message(m: &MissingContainers, shown: &str) -> String {
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
