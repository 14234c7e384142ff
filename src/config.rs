//! Settings resolved from the command line and the environment: defaults applied, values parsed
//! into their types, conflicts refused. Nothing past this module sees clap.

use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use regex::Regex;

use crate::cli::{DiscoverArgs, EmitArgs, ScanArgs, VerifyArgs};
use crate::discover::{self, Root};
use crate::model::{ContainerName, TaskDefinitionSource};
use crate::resolve::{TagRule, UriMode};

/// Where to look and for what.
#[derive(Clone, Debug)]
pub struct DiscoverConfig {
    pub roots: Vec<Root>,
    pub file_name: String,
}

impl DiscoverConfig {
    fn from_args(args: &DiscoverArgs) -> anyhow::Result<DiscoverConfig> {
        if args.file_name.is_empty() || args.file_name.contains('/') {
            bail!(
                "--file-name {:?} is not a file name; give a bare name such as imageDetail.json",
                args.file_name
            );
        }
        Ok(DiscoverConfig {
            roots: discover::roots(&args.roots, std::env::vars_os())?,
            file_name: args.file_name.clone(),
        })
    }
}

#[derive(Clone, Debug)]
pub struct ScanConfig {
    pub discover: DiscoverConfig,
    pub json: bool,
}

impl ScanConfig {
    pub fn from_args(args: &ScanArgs) -> anyhow::Result<ScanConfig> {
        Ok(ScanConfig {
            discover: DiscoverConfig::from_args(&args.discover)?,
            json: args.json,
        })
    }
}

#[derive(Clone, Debug)]
pub struct VerifyConfig {
    pub discover: DiscoverConfig,
    /// `--expect`: the pins file.
    pub expect: Option<PathBuf>,
    /// `--oci`: OCI image layouts.
    pub oci: Vec<PathBuf>,
    /// `--manifest`: manifest or index files.
    pub manifests: Vec<PathBuf>,
    /// `--bundle`: zips to re-check.
    pub bundles: Vec<PathBuf>,
    /// `--ecr`: look the images up in ECR.
    pub ecr: bool,
    pub json: bool,
}

impl VerifyConfig {
    pub fn from_args(args: &VerifyArgs) -> anyhow::Result<VerifyConfig> {
        Ok(VerifyConfig {
            discover: DiscoverConfig::from_args(&args.discover)?,
            expect: args.expect.clone(),
            oci: args.oci.clone(),
            manifests: args.manifest.clone(),
            bundles: args.bundle.clone(),
            ecr: args.ecr,
            json: args.json,
        })
    }
}

// Independent on/off flags (--bundle, --dry-run, --json, --ecr), not states of one thing.
#[allow(clippy::struct_excessive_bools)]
#[derive(Clone, Debug)]
pub struct EmitConfig {
    pub discover: DiscoverConfig,
    pub out: PathBuf,
    /// `None` when neither `--uri` nor the environment set it (the mapping may).
    pub uri: Option<UriMode>,
    /// `--tag-pattern`; in mapping mode it wins over the mapping's `tagPattern`.
    pub tags: TagRule,
    /// The container of single-image mode; `None` in mapping mode.
    pub container: Option<ContainerName>,
    /// The mapping file of mapping mode.
    pub mapping: Option<PathBuf>,
    /// `--task-definition`: a file or `ecs://CLUSTER/SERVICE`.
    pub task_definition: Option<TaskDefinitionSource>,
    /// `--ecr`: look the images up in ECR before writing.
    pub ecr: bool,
    /// `$CODEBUILD_SRC_DIR`, when set: outputs outside it are not found by the artifacts section.
    pub codebuild_src_dir: Option<PathBuf>,
    /// Also write the zip bundle(s) for an S3 source action.
    pub bundle: bool,
    pub dry_run: bool,
    pub json: bool,
}

impl EmitConfig {
    pub fn from_args(args: &EmitArgs) -> anyhow::Result<EmitConfig> {
        let uri = args
            .uri
            .as_deref()
            .map(str::parse::<UriMode>)
            .transpose()
            .map_err(|e| anyhow!("--uri {e}"))?;
        let pattern = args
            .tag_pattern
            .as_deref()
            .map(|p| {
                Regex::new(p).with_context(|| {
                    format!("--tag-pattern {p:?} is not a valid regex; fix the pattern")
                })
            })
            .transpose()?;
        let container = match (&args.mapping, args.container.as_deref()) {
            (None, Some(name)) => Some(
                name.parse::<ContainerName>()
                    .map_err(|e| anyhow!("--container / CONTAINER_NAME: {e}"))?,
            ),
            (None, None) => bail!(
                "no container name: pass --container NAME or set CONTAINER_NAME to the container's name in the ECS task definition"
            ),
            (Some(mapping), Some(name)) => {
                if std::env::var("CONTAINER_NAME").is_ok_and(|v| v == name) {
                    // A project-wide variable left from single-image mode: harmless here.
                    tracing::warn!(
                        "CONTAINER_NAME={name} is ignored: with --mapping the mapping names the containers"
                    );
                    None
                } else {
                    bail!(
                        "--container {name} cannot be used with --mapping {}: the mapping names every service's containers; remove --container, or drop --mapping for single-image mode",
                        mapping.display()
                    );
                }
            }
            (Some(_), None) => None,
        };
        if let (Some(mapping), Some(td)) = (&args.mapping, &args.task_definition) {
            bail!(
                "--task-definition {} cannot be used with --mapping {}: give each service its own \"taskDefinition\" in the mapping instead",
                td.display(),
                mapping.display()
            );
        }
        Ok(EmitConfig {
            discover: DiscoverConfig::from_args(&args.discover)?,
            out: args.out.clone().unwrap_or_else(|| PathBuf::from(".")),
            uri,
            tags: TagRule { pattern },
            container,
            mapping: args.mapping.clone(),
            task_definition: args
                .task_definition
                .as_deref()
                .map(|p| match p.to_str() {
                    Some(s) => TaskDefinitionSource::parse(s, std::path::Path::new(""))
                        .map_err(|e| anyhow!("--task-definition {e}")),
                    None => Ok(TaskDefinitionSource::File(p.to_path_buf())),
                })
                .transpose()?,
            ecr: args.ecr,
            codebuild_src_dir: std::env::var_os("CODEBUILD_SRC_DIR")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            bundle: args.bundle,
            dry_run: args.dry_run,
            json: args.json,
        })
    }
}
