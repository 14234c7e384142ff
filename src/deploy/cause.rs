//! Why a deployment failed, in the words of ECS and of its tasks: the service deployment's
//! reasons (status reason, circuit breaker, alarms, rollback, lifecycle hooks), the last stopped
//! tasks' `stoppedReason` and each container's reason and exit code, the last service events; and
//! for the causes known to ECS users, the fix.

use aws_sdk_ecs::types::{
    DeploymentLifecycleHookStatus, DesiredStatus, Service, ServiceDeployment,
    ServiceDeploymentRollbackMonitorsStatus, Task,
};
use aws_smithy_types::DateTime;

use super::follow::Follow;
use super::{id_of, revision_of};
use crate::aws::ecs_deploy::Ecs;
use crate::io::escape;

/// Stopped tasks worded.
const TASKS: usize = 3;
/// Service events worded.
const EVENTS: usize = 5;

/// What the service deployment says of its failure.
#[must_use]
pub fn ecs_reasons(sd: &ServiceDeployment) -> Vec<String> {
    let mut reasons = Vec::new();
    if let Some(r) = sd.status_reason() {
        reasons.push(escape::value(r).into_owned());
    }
    if let Some(cb) = sd.deployment_circuit_breaker()
        && cb.status() == Some(&ServiceDeploymentRollbackMonitorsStatus::Triggered)
    {
        reasons.push(format!(
            "the deployment circuit breaker tripped ({} failed tasks, threshold {})",
            cb.failure_count(),
            cb.threshold()
        ));
    }
    if let Some(alarms) = sd.alarms()
        && alarms.status() == Some(&ServiceDeploymentRollbackMonitorsStatus::Triggered)
    {
        reasons.push(format!(
            "CloudWatch alarms went into ALARM: {}",
            escape::value(&alarms.triggered_alarm_names().join(", "))
        ));
    }
    for hook in sd.lifecycle_hook_details() {
        if let Some(
            status @ (DeploymentLifecycleHookStatus::Failed
            | DeploymentLifecycleHookStatus::TimedOut),
        ) = hook.status()
        {
            reasons.push(format!(
                "lifecycle hook {} ({}) {}{}",
                escape::value(hook.hook_id().unwrap_or("?")),
                escape::value(
                    hook.target_arn()
                        .or(hook
                            .target_type()
                            .map(aws_sdk_ecs::types::DeploymentLifecycleHookTargetType::as_str))
                        .unwrap_or("?")
                ),
                status.as_str(),
                sd.lifecycle_stage()
                    .map(|s| format!(" at stage {}", s.as_str()))
                    .unwrap_or_default()
            ));
        }
    }
    if let Some(rb) = sd.rollback() {
        reasons.push(format!(
            "rolled back to service revision {}{}",
            escape::value(id_of(rb.service_revision_arn().unwrap_or("?"))),
            rb.reason()
                .map(|r| format!(" ({})", escape::value(r)))
                .unwrap_or_default()
        ));
    }
    reasons
}

/// The causes of a failed deployment: its last stopped tasks (those of its task definition when
/// there are some), the fixes of the causes known, and the last service events since it started.
pub fn gather(
    ecs: &Ecs<'_>,
    follow: &Follow,
    service: &Service,
    sd: Option<&ServiceDeployment>,
) -> Vec<String> {
    let _ = sd;
    let mut lines = Vec::new();
    match ecs.tasks(&follow.cluster, &follow.service, DesiredStatus::Stopped) {
        Ok(tasks) => {
            let (texts, worded) = tasks_words(&tasks, &follow.task_definition);
            lines.extend(worded);
            lines.extend(fixes(&texts).into_iter().map(|f| format!("fix: {f}")));
        }
        Err(fault) => lines.push(format!("the stopped tasks could not be read: {fault}")),
    }
    lines.extend(events(service, follow.since.as_ref()));
    lines
}

/// The last stopped tasks of `task_definition` (else of any), newest first, worded; and every
/// reason text in them, for [`fixes`].
#[must_use]
pub fn tasks_words(tasks: &[Task], task_definition: &str) -> (Vec<String>, Vec<String>) {
    let mut ours: Vec<&Task> = tasks
        .iter()
        .filter(|t| t.task_definition_arn() == Some(task_definition))
        .collect();
    if ours.is_empty() {
        ours = tasks.iter().collect();
    }
    ours.sort_by_key(|t| std::cmp::Reverse(t.stopped_at().map(DateTime::secs)));
    let mut texts = Vec::new();
    let mut lines = Vec::new();
    for t in ours.into_iter().take(TASKS) {
        let reason = t.stopped_reason().unwrap_or("no reason given");
        texts.push(reason.to_owned());
        lines.push(format!(
            "task {} ({}) stopped{}: {}",
            escape::value(id_of(t.task_arn().unwrap_or("?"))),
            escape::value(revision_of(t.task_definition_arn().unwrap_or("?"))),
            t.stop_code()
                .map(|c| format!(" ({})", c.as_str()))
                .unwrap_or_default(),
            escape::value(reason)
        ));
        for c in t.containers() {
            if c.reason().is_none() && c.exit_code().is_none_or(|e| e == 0) {
                continue;
            }
            if let Some(r) = c.reason() {
                texts.push(r.to_owned());
            }
            if let Some(code) = c.exit_code() {
                texts.push(format!("exit code {code}"));
            }
            lines.push(format!(
                "  container {}: {}{}",
                escape::value(c.name().unwrap_or("?")),
                escape::value(c.reason().unwrap_or("no reason given")),
                c.exit_code()
                    .map(|e| format!(" (exit code {e})"))
                    .unwrap_or_default()
            ));
        }
    }
    (texts, lines)
}

/// The last service events since `since` (all the service lists when unknown), oldest first.
#[must_use]
pub fn events(service: &Service, since: Option<&DateTime>) -> Vec<String> {
    let mut recent: Vec<_> = service
        .events()
        .iter()
        .filter(|e| {
            since.is_none_or(|s| {
                e.created_at()
                    .is_none_or(|t| t.secs() >= s.secs().saturating_sub(30))
            })
        })
        .take(EVENTS)
        .collect();
    recent.reverse();
    recent
        .into_iter()
        .map(|e| {
            format!(
                "event {}: {}",
                e.created_at()
                    .map_or_else(|| "?".to_owned(), ToString::to_string),
                escape::value(e.message().unwrap_or_default())
            )
        })
        .collect()
}

/// The fixes of the known causes among `texts` (stopped reasons, container reasons, `exit code
/// N`), each once, in a fixed order.
#[must_use]
pub fn fixes(texts: &[String]) -> Vec<&'static str> {
    let any = |pred: &dyn Fn(&str) -> bool| texts.iter().any(|t| pred(t));
    let pull = |t: &str| t.contains("CannotPullContainerError");
    let mut out = Vec::new();
    if any(&|t| {
        pull(t)
            && (t.contains("descriptor matching platform")
                || t.contains("no matching manifest")
                || t.contains("descriptor for platform"))
    }) {
        out.push(
            "the image has no manifest for the task's platform (runtimePlatform, or linux/amd64 on Fargate): push an image (or a multi-platform index) for it, or change the task's runtimePlatform; imagedef deploy --ecr checks this before deploying",
        );
    } else if any(&|t| {
        pull(t)
            && (t.contains("403")
                || t.contains("denied")
                || t.contains("not authorized")
                || t.contains("AccessDenied")
                || t.contains("insufficient_scope"))
    }) {
        out.push(
            "the task cannot pull the image: its execution role needs ecr:GetAuthorizationToken, ecr:BatchGetImage and ecr:GetDownloadUrlForLayer (a repository in another account must also allow the role in its repository policy); for a private registry, the task's repositoryCredentials",
        );
    } else if any(&|t| {
        pull(t)
            && (t.contains("not found")
                || t.contains("manifest unknown")
                || t.contains("does not exist"))
    }) {
        out.push(
            "the image is not in the registry: push it, or check the image URI (a lifecycle policy may have expired it); imagedef deploy --ecr checks this before deploying",
        );
    } else if any(&|t| {
        pull(t) && (t.contains("timeout") || t.contains("i/o timeout") || t.contains("canceled"))
    }) {
        out.push(
            "the task cannot reach the registry: a task in a private subnet needs a NAT gateway or the VPC endpoints com.amazonaws.REGION.ecr.api, com.amazonaws.REGION.ecr.dkr and the S3 gateway endpoint",
        );
    }
    if any(&|t| t.contains("ResourceInitializationError")) {
        out.push(
            "the task could not get its secrets or registry credentials: check the execution role's permissions (secretsmanager:GetSecretValue, ssm:GetParameters, kms:Decrypt, the ECR actions) and the route to those services (VPC endpoints or a NAT gateway)",
        );
    }
    if any(&|t| t == "exit code 137" || t.contains("OutOfMemory")) {
        out.push(
            "exit code 137: the container was killed (SIGKILL), most often for using more memory than its limit (OutOfMemoryError): raise the container's memory or the task's, or find what grows",
        );
    } else if any(&|t| t.contains("Essential container in task exited")) {
        out.push(
            "an essential container exited: its exit code and its logs (the task's logConfiguration, e.g. CloudWatch Logs) say why",
        );
    }
    if any(&|t| t.contains("ELB health checks")) {
        out.push(
            "the load balancer's health check failed: check the target group's health check path and port against what the container serves, and give a slow start time with the service's healthCheckGracePeriodSeconds",
        );
    } else if any(&|t| {
        t.contains("container health checks") || t.contains("failed container health")
    }) {
        out.push(
            "the container's own healthCheck failed: check its command, and its startPeriod for a slow start",
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn known_causes_get_their_fix() {
        let cases: &[(&[&str], &str)] = &[
            (
                &[
                    "CannotPullContainerError: pull image manifest has been retried 5 time(s): image Manifest does not contain descriptor matching platform 'linux/arm64'",
                ],
                "no manifest for the task's platform",
            ),
            (
                &[
                    "CannotPullContainerError: pull access denied, repository does not exist or may require authorization: server message: insufficient_scope",
                ],
                "execution role needs ecr:GetAuthorizationToken",
            ),
            (
                &[
                    "CannotPullContainerError: failed to resolve ref 111122223333.dkr.ecr.eu-west-1.amazonaws.com/web:9: not found",
                ],
                "the image is not in the registry",
            ),
            (
                &[
                    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed",
                ],
                "could not get its secrets",
            ),
            (
                &[
                    "Essential container in task exited",
                    "OutOfMemoryError: Container killed due to memory usage",
                    "exit code 137",
                ],
                "exit code 137",
            ),
            (
                &["Essential container in task exited", "exit code 1"],
                "an essential container exited",
            ),
            (
                &[
                    "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/web/1)",
                ],
                "the load balancer's health check failed",
            ),
        ];
        for (given, want) in cases {
            let got = fixes(&texts(given));
            assert!(got.iter().any(|f| f.contains(want)), "{given:?} -> {got:?}");
        }
        assert!(
            fixes(&texts(&[
                "Scaling activity initiated by (deployment ecs-svc/1)"
            ]))
            .is_empty()
        );
    }
}
