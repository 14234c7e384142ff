//! `deploy` and `confirm`: which services from which files, and how long to follow them. The
//! numbers come bounded from the command line (`cli::deploy`), so no later sum of an instant and a
//! duration can overflow.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail};

use super::{FindingsConfig, given};
use crate::cli::Cli;
use crate::cli::deploy::{ConfirmArgs, DeployArgs, TargetArgs};
use crate::model::TaskDefinitionSource;
use crate::model::role::RoleArn;

/// Which services, from which files.
#[derive(Clone, Debug)]
pub enum Inputs {
    /// `ecs://CLUSTER/SERVICE --file PATH`.
    Service {
        cluster: String,
        service: String,
        file: PathBuf,
    },
    /// `--out OUT`.
    Out(PathBuf),
}

/// Where the outcome goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Output {
    /// `--json`: the outcome as JSON on stdout, progress on stderr.
    pub json: bool,
    /// `-q`: only problems.
    pub quiet: bool,
}

// Independent switches.
#[allow(clippy::struct_excessive_bools)]
#[derive(Clone, Debug)]
pub struct DeployConfig {
    pub inputs: Inputs,
    /// `--role-arn`.
    pub role: Option<RoleArn>,
    /// `--ecr`: the ECR checks of emit before any change.
    pub ecr: bool,
    pub findings: FindingsConfig,
    /// `--registry-timeout`: with `--ecr`, the time all registry reads may take together.
    pub registry_timeout: Duration,
    /// `--timeout`: the longest wait for a deployment (and for one in flight).
    pub timeout: Duration,
    /// `--poll-interval`.
    pub poll: Duration,
    /// `--wait-for-in-flight` (deploy).
    pub wait_for_in_flight: bool,
    /// `--dry-run` (deploy).
    pub dry_run: bool,
    /// `imagedef confirm`: change nothing, prove the latest deployment.
    pub confirm: bool,
    pub output: Output,
    /// `--junit`.
    pub junit: Option<PathBuf>,
    /// `--strict`.
    pub strict: bool,
}

impl DeployConfig {
    pub fn deploy(args: &DeployArgs, cli: &Cli) -> anyhow::Result<DeployConfig> {
        let mut config = DeployConfig::from_target(&args.target, cli)?;
        config.wait_for_in_flight = args.wait_for_in_flight;
        config.dry_run = args.dry_run;
        Ok(config)
    }

    pub fn confirm(args: &ConfirmArgs, cli: &Cli) -> anyhow::Result<DeployConfig> {
        let mut config = DeployConfig::from_target(&args.target, cli)?;
        config.confirm = true;
        Ok(config)
    }

    fn from_target(args: &TargetArgs, cli: &Cli) -> anyhow::Result<DeployConfig> {
        let out_from_env = cli.env_of("out");
        let inputs = match (&args.service, &args.file, &args.out) {
            (Some(service), Some(file), out) => {
                if let Some(out) = out {
                    match out_from_env {
                        Some(var) => tracing::debug!(
                            "{var}={} is ignored: ecs://CLUSTER/SERVICE --file names what to deploy",
                            out.display()
                        ),
                        None => bail!(
                            "--out {} cannot be used with {service} --file {}: give either the service and its file, or the OUT of emit --mapping",
                            out.display(),
                            file.display()
                        ),
                    }
                }
                match TaskDefinitionSource::parse(service, std::path::Path::new("")) {
                    Ok(TaskDefinitionSource::Ecs { cluster, service }) => Inputs::Service {
                        cluster,
                        service,
                        file: file.clone(),
                    },
                    Ok(TaskDefinitionSource::File(_)) => bail!(
                        "{service:?} is not ecs://CLUSTER/SERVICE; name the ECS service, e.g. ecs://prod/web (its region is AWS_REGION's)"
                    ),
                    Err(e) => bail!("{e}"),
                }
            }
            (Some(service), None, _) => bail!(
                "{service} needs --file PATH: the imagedefinitions.json to deploy (or a folder holding one, or a bundle zip); or give --out OUT instead of the service"
            ),
            (None, _, Some(out)) => Inputs::Out(out.clone()),
            (None, _, None) => bail!(
                "nothing to deploy: give ecs://CLUSTER/SERVICE --file PATH, or --out OUT (the folder emit --mapping wrote)"
            ),
        };
        let role = args
            .role_arn
            .as_deref()
            .map(|r| {
                r.parse::<RoleArn>()
                    .map_err(|e| anyhow!("{} {e}", given(cli, "role_arn", "--role-arn")))
            })
            .transpose()?;
        Ok(DeployConfig {
            inputs,
            role,
            ecr: args.ecr,
            findings: FindingsConfig::from_args(&args.findings, cli)?,
            registry_timeout: Duration::from_secs(args.registry.registry_timeout),
            timeout: Duration::from_secs(args.timeout),
            poll: args.poll_interval,
            wait_for_in_flight: false,
            dry_run: false,
            confirm: false,
            output: Output {
                json: args.json,
                quiet: cli.global.quiet,
            },
            junit: args.junit.clone(),
            strict: args.strict,
        })
    }
}
