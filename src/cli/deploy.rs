//! `imagedef deploy` and `imagedef confirm` as the user types them.
//!
//! Doc comments here are the `--help` text: written for users, so variable names stay bare.
#![allow(clippy::doc_markdown)]

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{FindingsArgs, MAX_SECONDS, RegistryArgs};

/// `--timeout`'s default, in seconds: 50 minutes. CodeBuild's default build timeout is 60
/// minutes; this leaves 10 for the rest of the build (and for saying why the deployment did not
/// end) before CodeBuild stops it.
pub const DEFAULT_TIMEOUT: u64 = 3000;

/// `--poll-interval`'s default, in seconds.
pub const DEFAULT_POLL_INTERVAL: &str = "15";

/// `--poll-interval`'s largest value: a failure is said within 15 seconds of ECS marking it.
pub const MAX_POLL_SECS: f64 = 15.0;
/// `--poll-interval`'s smallest value (for tests against a local stand-in).
pub const MIN_POLL_SECS: f64 = 0.01;

/// `--poll-interval`: seconds, decimals allowed, [`MIN_POLL_SECS`] to [`MAX_POLL_SECS`]; a
/// refusal is a usage error naming the range, as clap words its own ranges.
fn poll_interval(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .ok()
        .filter(|s: &f64| s.is_finite())
        .ok_or_else(|| {
            format!("{text} is not a number of seconds in {MIN_POLL_SECS}..={MAX_POLL_SECS}")
        })?;
    if !(MIN_POLL_SECS..=MAX_POLL_SECS).contains(&secs) {
        return Err(format!(
            "{text} is not in {MIN_POLL_SECS}..={MAX_POLL_SECS}"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

pub const DEPLOY_EXAMPLES: &str = "\
Examples:
  # One service, from the file emit wrote (or the bundle zip, or a folder holding the file):
  imagedef deploy ecs://prod/web --file imagedef-out/web/imagedefinitions.json
  # Every service of an emit output whose taskDefinition is ecs://CLUSTER/SERVICE:
  imagedef emit --mapping imagedef.json --out imagedef-out
  imagedef deploy --out imagedef-out
  # What would be registered and updated, changing nothing:
  imagedef deploy --out imagedef-out --dry-run
  # A service in another account:
  imagedef deploy ecs://prod/web --file web.zip --role-arn arn:aws:iam::210987654321:role/deploy

What it does, per service, all services checked before any is changed: DescribeServices (the
deployment controller must be ECS; a deployment in progress that this run did not start is
refused unless --wait-for-in-flight), DescribeTaskDefinition of the revision it runs (with its
tags), every container of the file must be in it; then RegisterTaskDefinition of that revision
with only the file's images replaced (nothing at all when the service already runs exactly these
digests: unchanged), UpdateService with that revision and nothing else, and it follows the
deployment (ListServiceDeployments, DescribeServiceDeployments, DescribeServiceRevisions,
DescribeServices, ListTasks, DescribeTasks) until it ends. It never stops, rolls back or
continues a deployment.

IAM: ecs:DescribeServices and ecs:UpdateService on the service; ecs:DescribeTaskDefinition (*);
ecs:RegisterTaskDefinition (task-definition/FAMILY:*, or *); ecs:TagResource with the condition
ecs:CreateAction = RegisterTaskDefinition when the task definition has tags;
ecs:ListServiceDeployments, ecs:DescribeServiceDeployments, ecs:DescribeServiceRevisions;
ecs:ListTasks and ecs:DescribeTasks; iam:PassRole on the task's roles with iam:PassedToService =
ecs-tasks.amazonaws.com; sts:AssumeRole on --role-arn.";

pub const DEPLOY_EXIT_CODES: &str = "\
Exit codes:
  0  every service deployed (its deployment succeeded and its tasks run the written digests),
     or unchanged
  1  a deployment failed, rolled back, was superseded, timed out (it goes on in ECS), or its
     tasks run other digests; a container of the file is not in the running task definition;
     OUT does not match its SHA256SUMS (nothing was changed)
  2  usage error, unreadable input, an AWS call that could not be made, or a deploy refused
     before any change (CODE_DEPLOY or EXTERNAL controller, a deployment in progress that this
     run did not start, a file for another service, a task definition with fields this build
     cannot copy)";

pub const CONFIRM_EXAMPLES: &str = "\
Examples:
  # After the CodePipeline ECS deploy action, in a CodeBuild action of the next stage:
  imagedef confirm ecs://prod/web --file imagedefinitions.json
  imagedef confirm --out imagedef-out --junit confirm.xml";

pub const CONFIRM_EXIT_CODES: &str = "\
Exit codes:
  0  every service's latest deployment ended successfully and its tasks run the written digests
  1  a deployment failed or rolled back, its tasks run other digests, or it did not end within
     --timeout (it goes on in ECS)
  2  usage error, unreadable input, an AWS call that could not be made, or a service imagedef
     cannot confirm (CODE_DEPLOY or EXTERNAL controller, a file for another service)";

/// What `deploy` and `confirm` take.
// Independent switches (--ecr, --json, --strict).
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// The service, as ecs://CLUSTER/SERVICE (region from AWS_REGION); needs --file.
    #[arg(value_name = "ecs://CLUSTER/SERVICE")]
    pub service: Option<String>,
    /// With ecs://CLUSTER/SERVICE: its imagedefinitions.json, a folder holding one, or a bundle
    /// zip written by emit --bundle (checked as verify --bundle checks it, with the SHA256SUMS
    /// beside it).
    #[arg(long, value_name = "PATH", requires = "service")]
    pub file: Option<PathBuf>,
    /// The folder emit --mapping wrote: every service whose taskDefinition is
    /// ecs://CLUSTER/SERVICE, with its imagedefinitions.json, after OUT is checked against its
    /// SHA256SUMS. Services without an ecs:// target are named and skipped (exit 1 with
    /// --strict).
    #[arg(long, value_name = "OUT", env = "IMAGEDEF_OUT")]
    pub out: Option<PathBuf>,
    /// Make the ECS calls as this IAM role (assumed with STS: a service in another account).
    /// With --out, a service's "roleArn" in the mapping (copied into the report) wins.
    #[arg(long, value_name = "ARN", env = "IMAGEDEF_ROLE_ARN")]
    pub role_arn: Option<String>,
    /// Also check every image in ECR first, as emit --ecr does: it exists, offers the platform
    /// the running task definition needs, and with --findings is within the thresholds. A
    /// failure changes nothing (exit 1).
    #[arg(long)]
    pub ecr: bool,
    #[command(flatten)]
    pub findings: FindingsArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// The longest wait for a deployment, in seconds, 1 to 129600 (36 hours, CodeBuild's longest
    /// build). Then exit 1 saying where the deployment stood; it goes on in ECS. The default, 50
    /// minutes, leaves 10 minutes of CodeBuild's default 60-minute build timeout; the CodeBuild
    /// project's timeout must be longer than this.
    #[arg(
        long,
        value_name = "SECONDS",
        env = "IMAGEDEF_TIMEOUT",
        default_value_t = DEFAULT_TIMEOUT,
        value_parser = clap::value_parser!(u64).range(1..=MAX_SECONDS)
    )]
    pub timeout: u64,
    /// Seconds between two looks at a deployment, 0.01 to 15 (decimals allowed, e.g. 0.5): a
    /// failure is reported within one interval of ECS marking it.
    #[arg(
        long,
        value_name = "SECONDS",
        env = "IMAGEDEF_POLL_INTERVAL",
        default_value = DEFAULT_POLL_INTERVAL,
        value_parser = poll_interval
    )]
    pub poll_interval: Duration,
    /// Print the outcome as JSON on stdout (progress lines go to stderr).
    #[arg(long)]
    pub json: bool,
    /// Also write the outcome as JUnit XML to FILE, one test case per service, for a CodeBuild
    /// report group. Written whatever the outcome.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Warnings fail (exit 1): services of --out without an ecs:// target, a service whose own
    /// deployment configuration cannot finish within --timeout, digests not checked.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// When a deployment this run did not start is in progress, wait for it to end (within
    /// --timeout), then deploy; without it such a service is refused (exit 2).
    #[arg(long)]
    pub wait_for_in_flight: bool,
    /// Check and plan everything and print what would be registered and updated (the images per
    /// container), with no call that changes anything.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ConfirmArgs {
    #[command(flatten)]
    pub target: TargetArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_intervals_are_bounded_and_say_the_range() {
        assert_eq!(poll_interval("0.05").unwrap(), Duration::from_millis(50));
        assert_eq!(poll_interval("0.01").unwrap(), Duration::from_millis(10));
        assert_eq!(poll_interval("15").unwrap(), Duration::from_secs(15));
        for bad in [
            "16", "15.001", "0", "0.009", "1e300", "inf", "NaN", "-1", "", "x",
        ] {
            let e = poll_interval(bad).unwrap_err();
            assert!(e.starts_with(bad) && e.ends_with("0.01..=15"), "{bad}: {e}");
        }
    }
}
