//! Settings resolved from the command line and the environment: defaults applied once, values
//! parsed into their types, conflicts refused, and for each setting the user gave, how they gave
//! it (an option or its variable), so messages name what was actually set. Nothing past this
//! module sees clap.

pub mod deploy;

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};

use crate::cli::{
    BuildspecArgs, Cli, DiscoverArgs, EmitArgs, FindingsArgs, GlobalArgs, LogFormat, PublishArgs,
    ScanArgs, VerifyArgs,
};
use crate::discover::{self, Root};
use crate::io::logging::LogConfig;
use crate::model::blue_green;
use crate::model::buildspec::{self, RelativePath};
use crate::model::deploy::is_bare_name;
use crate::model::findings::Thresholds;
use crate::model::platform::Platform;
use crate::model::rules::TagPatternError;
use crate::model::s3::{AccountId, BucketName, CannedAcl, KeyTemplate};
use crate::model::{
    ContainerName, Given, Origin, Rule, Rules, TagPattern, TaskDefinitionSource, UriMode,
};

/// How `cli` was given the setting `id`: its option, or its environment variable.
fn given(cli: &Cli, id: &str, option: &'static str) -> Given {
    cli.env_of(id)
        .map_or(Given::Option(option), |var| Given::Env(var.to_owned()))
}

/// `--findings` and `--scan-wait` (`emit`, `verify`).
#[derive(Clone, Debug)]
pub struct FindingsConfig {
    /// `--findings`, and how it was given (which wins over the mapping's `findings`).
    pub thresholds: Option<Rule<Thresholds>>,
    /// `--scan-wait`: the longest wait, in all, for scans still running.
    pub scan_wait: std::time::Duration,
}

impl FindingsConfig {
    fn from_args(args: &FindingsArgs, cli: &Cli) -> anyhow::Result<Self> {
        let thresholds = args
            .findings
            .as_deref()
            .map(|text| {
                let given = given(cli, "findings", "--findings");
                text.parse::<Thresholds>()
                    .map_err(|e| anyhow!("{given} {e}"))
                    .map(|t| Rule::new(t, Origin::Started(given)))
            })
            .transpose()?;
        Ok(FindingsConfig {
            thresholds,
            scan_wait: std::time::Duration::from_secs(args.scan_wait),
        })
    }
}

/// Logging as the global flags ask: the level and the line format. `RUST_LOG` still overrides.
#[must_use]
pub fn log_config(args: &GlobalArgs) -> LogConfig {
    LogConfig {
        // -q keeps the problems (warnings and errors), and drops what went well.
        // JSON logs also carry what went well, an event per container checked (for log
        // queries); text leaves that to the summary on stdout.
        level: match (args.quiet, args.verbose) {
            (false, 0) if args.log_format == LogFormat::Json => "info",
            (true, _) | (false, 0) => "warn",
            (false, 1) => "debug",
            (false, _) => "trace",
        },
        json: args.log_format == LogFormat::Json,
    }
}

/// Where to look and for what.
#[derive(Clone, Debug)]
pub struct DiscoverConfig {
    pub roots: Vec<Root>,
    pub file_name: String,
}

impl DiscoverConfig {
    fn from_args(args: &DiscoverArgs) -> anyhow::Result<DiscoverConfig> {
        if !is_bare_name(&args.file_name) {
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
    /// `-q`: only the files that cannot be used.
    pub quiet: bool,
}

impl ScanConfig {
    pub fn from_args(args: &ScanArgs, cli: &Cli) -> anyhow::Result<ScanConfig> {
        Ok(ScanConfig {
            discover: DiscoverConfig::from_args(&args.discover)?,
            json: args.json,
            quiet: cli.global.quiet,
        })
    }
}

// Independent switches (--strict, --ecr, --json) and whether any root is searched at all.
#[allow(clippy::struct_excessive_bools)]
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
    /// `--task-definition-template` and `--app-spec`, with `--image-placeholder`.
    pub blue_green: Option<blue_green::Inputs>,
    /// `--image-placeholder`, also for the taskdef.json of bundles.
    pub image_placeholder: String,
    /// `--buildspec` with `--mapping` and `--out`.
    pub buildspec: Option<buildspec::Inputs>,
    /// `--strict`: unusable discovered files are errors, not warnings.
    pub strict: bool,
    /// `--junit`: where to write the findings as JUnit XML.
    pub junit: Option<PathBuf>,
    /// A root was given, as ROOT or through `$CODEBUILD_SRC_DIR*` (else the roots are `.`).
    pub roots_given: bool,
    /// `--ecr`: look the images up in ECR.
    pub ecr: bool,
    /// `--platform`: what every image must offer.
    pub platform: Option<Rule<Platform>>,
    /// `--task-definition`: whose platform every image must offer.
    pub task_definition: Option<TaskDefinitionSource>,
    /// `--findings`, `--scan-wait`: with `--ecr`, the scan findings tolerated.
    pub findings: FindingsConfig,
    /// `--registry-timeout`: with `--ecr`, the time all registry reads may take together.
    pub registry_timeout: std::time::Duration,
    pub json: bool,
    /// `-q`: only the checks that did not pass.
    pub quiet: bool,
}

impl VerifyConfig {
    /// Some artifact to check was given: `--bundle`, `--oci`, `--manifest`, the blue/green
    /// pair (`--task-definition-template` with `--app-spec`) or `--buildspec`.
    #[must_use]
    pub fn has_artifacts(&self) -> bool {
        !(self.bundles.is_empty()
            && self.blue_green.is_none()
            && self.buildspec.is_none()
            && self.oci.is_empty()
            && self.manifests.is_empty())
    }

    /// Only artifact flags and no root: nothing is discovered, only the artifacts are checked.
    #[must_use]
    pub fn artifacts_only(&self) -> bool {
        self.has_artifacts() && !self.roots_given
    }

    pub fn from_args(args: &VerifyArgs, cli: &Cli) -> anyhow::Result<VerifyConfig> {
        Ok(VerifyConfig {
            discover: DiscoverConfig::from_args(&args.discover)?,
            expect: args.expect.clone(),
            oci: args.oci.clone(),
            manifests: args.manifest.clone(),
            bundles: args.bundle.clone(),
            blue_green: args
                .task_definition_template
                .clone()
                .zip(args.app_spec.clone())
                .map(|(template, app_spec)| blue_green::Inputs {
                    template,
                    app_spec,
                    placeholder: args.image_placeholder.clone(),
                }),
            image_placeholder: {
                blue_green::check_placeholder(&args.image_placeholder)
                    .map_err(|e| anyhow!("--image-placeholder {e}"))?;
                args.image_placeholder.clone()
            },
            buildspec: match (&args.buildspec, &args.mapping) {
                (Some(buildspec), Some(mapping)) => Some(buildspec::Inputs {
                    buildspec: buildspec.clone(),
                    mapping: mapping.clone(),
                    out: RelativePath::new(
                        args.out
                            .as_deref()
                            .unwrap_or(std::path::Path::new(DEFAULT_MAPPING_OUT)),
                    )
                    .map_err(|e| anyhow!("--out {e}"))?,
                }),
                _ => None,
            },
            strict: args.strict,
            junit: args.junit.clone(),
            roots_given: !(args.discover.roots.is_empty()
                && discover::roots_from_env(std::env::vars_os()).is_empty()),
            ecr: args.ecr,
            platform: platform(args.platform.as_deref(), cli)?,
            task_definition: args
                .task_definition
                .as_deref()
                .map(task_definition_source)
                .transpose()?,
            findings: FindingsConfig::from_args(&args.findings, cli)?,
            registry_timeout: std::time::Duration::from_secs(args.registry.registry_timeout),
            json: args.json,
            quiet: cli.global.quiet,
        })
    }
}

/// `--task-definition`: a file, or `ecs://CLUSTER/SERVICE`.
fn task_definition_source(p: &std::path::Path) -> anyhow::Result<TaskDefinitionSource> {
    match p.to_str() {
        Some(s) => TaskDefinitionSource::parse(s, std::path::Path::new(""))
            .map_err(|e| anyhow!("--task-definition {e}")),
        None => Ok(TaskDefinitionSource::File(p.to_path_buf())),
    }
}

/// `--platform` (or `IMAGEDEF_PLATFORM`).
fn platform(value: Option<&str>, cli: &Cli) -> anyhow::Result<Option<Rule<Platform>>> {
    value
        .map(|v| {
            v.parse::<Platform>()
                .map_err(|e| anyhow!("--platform {e}"))
                .map(|p| Rule::new(p, Origin::Started(given(cli, "platform", "--platform"))))
        })
        .transpose()
}

/// `$CODEBUILD_SRC_DIR`, when set and not empty.
fn codebuild_src_dir() -> Option<PathBuf> {
    std::env::var_os("CODEBUILD_SRC_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Where mapping mode writes without `--out`.
pub const DEFAULT_MAPPING_OUT: &str = "imagedef-out";

/// What `emit` resolves: one image under one container, or a mapping's services.
#[derive(Clone, Debug)]
pub enum EmitMode {
    /// Without `--mapping`: exactly one image, written as `container`.
    Single {
        container: ContainerName,
        /// `--container`, or `$CONTAINER_NAME`.
        container_given: Given,
        /// `--task-definition`: a file or `ecs://CLUSTER/SERVICE`.
        task_definition: Option<TaskDefinitionSource>,
    },
    /// `--mapping FILE`.
    Mapping { path: PathBuf },
}

// Independent switches (--ecr, --bundle, --dry-run, --strict), not states of one thing.
#[allow(clippy::struct_excessive_bools)]
#[derive(Clone, Debug)]
pub struct EmitConfig {
    pub discover: DiscoverConfig,
    pub mode: EmitMode,
    pub out: PathBuf,
    /// `--uri`, `--tag-pattern`, `--platform` and `--findings`, which win over the mapping's
    /// (origin [`Origin::Started`], with how each was given).
    pub rules: Rules,
    /// `--ecr`: look the images up in ECR before writing.
    pub ecr: bool,
    /// `--scan-wait`: with `--ecr` and findings thresholds, the longest wait for scans.
    pub scan_wait: std::time::Duration,
    /// `--registry-timeout`: with `--ecr`, the time all registry reads may take together.
    pub registry_timeout: std::time::Duration,
    /// `$CODEBUILD_SRC_DIR`, when set: outputs outside it are not found by the artifacts section.
    pub codebuild_src_dir: Option<PathBuf>,
    /// Also write the zip bundle(s) for an S3 source action.
    pub bundle: bool,
    pub dry_run: bool,
    /// `--strict`: every check that cannot run is a failure (the mapping's `strict` too).
    pub strict: bool,
    /// `--resolve-tags`: a tag-only image in ECR is written with the digest its tag points at.
    pub resolve_tags: bool,
    /// `-v`: `--dry-run` shows each file's contents.
    pub verbose: bool,
    pub summary: Summary,
    /// `--lock-timeout`: the longest wait for another run's lock on OUT (mapping mode).
    pub lock_timeout: std::time::Duration,
    /// `--junit`: where to write what was checked as JUnit XML.
    pub junit: Option<PathBuf>,
}

/// What `emit` prints on stdout when it succeeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Summary {
    /// A line per service and a closing count (with `--dry-run`, every file's bytes).
    Text,
    /// `--json`: data, printed even with `-q`.
    Json,
    /// `-q`: nothing.
    Quiet,
}

impl Summary {
    /// The summary `--json` and `-q` ask for; `--json` wins.
    fn of(json: bool, quiet: bool) -> Summary {
        match (json, quiet) {
            (true, _) => Summary::Json,
            (false, true) => Summary::Quiet,
            (false, false) => Summary::Text,
        }
    }
}

impl EmitConfig {
    pub fn from_args(args: &EmitArgs, cli: &Cli) -> anyhow::Result<EmitConfig> {
        let uri_given = args.uri.as_ref().map(|_| given(cli, "uri", "--uri"));
        let tag_pattern_given = args
            .tag_pattern
            .as_ref()
            .map(|_| given(cli, "tag_pattern", "--tag-pattern"));
        let uri = match (&args.uri, uri_given) {
            (Some(text), Some(given)) => Some(Rule::new(
                text.parse::<UriMode>()
                    .map_err(|e| anyhow!("{given} {e}"))?,
                Origin::Started(given),
            )),
            _ => None,
        };
        let tag_pattern = match (&args.tag_pattern, tag_pattern_given) {
            (Some(p), Some(given)) => Some(Rule::new(
                p.parse::<TagPattern>().map_err(|e| match e {
                    TagPatternError::TooLong { .. } => anyhow!("{given} {e}"),
                    TagPatternError::Invalid(_) => anyhow!("{given} {p:?} {e}"),
                })?,
                Origin::Started(given),
            )),
            _ => None,
        };
        let findings = FindingsConfig::from_args(&args.findings, cli)?;
        let mode = match (&args.mapping, args.container.as_deref()) {
            (None, Some(name)) => {
                let container_given = given(cli, "container", "--container");
                EmitMode::Single {
                    container: name
                        .parse::<ContainerName>()
                        .map_err(|e| anyhow!("{container_given}: {e}"))?,
                    container_given,
                    task_definition: args
                        .task_definition
                        .as_deref()
                        .map(task_definition_source)
                        .transpose()?,
                }
            }
            (None, None) => bail!(
                "no container name: pass --container NAME or set CONTAINER_NAME to the container's name in the ECS task definition"
            ),
            (Some(mapping), container) => {
                if let Some(name) = container {
                    if cli.env_of("container").is_some() {
                        // A project-wide variable left from single-image mode: harmless here.
                        tracing::warn!(
                            "CONTAINER_NAME={name} is ignored: with --mapping the mapping names the containers"
                        );
                    } else {
                        bail!(
                            "--container {name} cannot be used with --mapping {}: the mapping names every service's containers; remove --container, or drop --mapping for single-image mode",
                            mapping.display()
                        );
                    }
                }
                if let Some(td) = &args.task_definition {
                    bail!(
                        "--task-definition {} cannot be used with --mapping {}: give each service its own \"taskDefinition\" in the mapping instead",
                        td.display(),
                        mapping.display()
                    );
                }
                EmitMode::Mapping {
                    path: mapping.clone(),
                }
            }
        };
        // Mapping mode owns OUT and replaces it as a whole, so it gets a folder of its own.
        let out = args.out.clone().unwrap_or_else(|| {
            PathBuf::from(match mode {
                EmitMode::Single { .. } => ".",
                EmitMode::Mapping { .. } => DEFAULT_MAPPING_OUT,
            })
        });
        Ok(EmitConfig {
            discover: DiscoverConfig::from_args(&args.discover)?,
            rules: Rules {
                uri,
                tag_pattern,
                platform: platform(args.platform.as_deref(), cli)?,
                findings: findings.thresholds,
            },
            ecr: args.ecr,
            scan_wait: findings.scan_wait,
            registry_timeout: std::time::Duration::from_secs(args.registry.registry_timeout),
            codebuild_src_dir: codebuild_src_dir(),
            bundle: args.bundle,
            dry_run: args.dry_run,
            strict: args.strict,
            resolve_tags: args.resolve_tags,
            verbose: cli.global.verbose > 0,
            summary: Summary::of(args.json, cli.global.quiet),
            lock_timeout: std::time::Duration::from_secs(args.lock_timeout),
            junit: junit_beside(args.junit.as_deref(), &mode, &out)?,
            mode,
            out,
        })
    }
}

/// `--junit`: a file to write, which mapping mode may not put inside OUT. Checked before the run,
/// so that a path that cannot be written does not fail the build after OUT was written.
fn junit_beside(
    junit: Option<&Path>,
    mode: &EmitMode,
    out: &Path,
) -> anyhow::Result<Option<PathBuf>> {
    let Some(junit) = junit else {
        return Ok(None);
    };
    if junit.file_name().is_none() || junit.is_dir() {
        bail!(
            "--junit {} is a folder, not a file to write; name the file, e.g. --junit {}",
            junit.display(),
            junit.join("imagedef-junit.xml").display()
        );
    }
    if matches!(mode, EmitMode::Mapping { .. }) && inside(junit, out) {
        bail!(
            "--junit {} lies inside --out {}, which emit replaces as a whole (the report would be lost, or would stand in the way of the next run); write it beside OUT, e.g. --junit imagedef-junit.xml",
            junit.display(),
            out.display()
        );
    }
    Ok(Some(junit.to_path_buf()))
}

/// Whether `path` names OUT or something inside it, both taken from here with `.` and `..`
/// resolved as written (symbolic links aside).
fn inside(path: &Path, out: &Path) -> bool {
    let normal = |p: &Path| std::path::absolute(p).map(|a| crate::write::normal(&a));
    matches!((normal(path), normal(out)), (Ok(path), Ok(out)) if path.starts_with(&out))
}

/// `imagedef buildspec`.
#[derive(Clone, Debug)]
pub struct BuildspecConfig {
    /// `--mapping`, as given: read from here.
    pub mapping_file: PathBuf,
    /// `--mapping`, as the buildspec's emit command names it.
    pub mapping: RelativePath,
    /// `--out`: emit's output directory, under which each service's artifact is.
    pub out: RelativePath,
}

impl BuildspecConfig {
    pub fn from_args(args: &BuildspecArgs, cli: &Cli) -> anyhow::Result<BuildspecConfig> {
        let mapping = RelativePath::new(&args.mapping)
            .map_err(|e| anyhow!("{} {e}", given(cli, "mapping", "--mapping")))?;
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_MAPPING_OUT));
        let out =
            RelativePath::new(&out).map_err(|e| anyhow!("{} {e}", given(cli, "out", "--out")))?;
        Ok(BuildspecConfig {
            mapping_file: args.mapping.clone(),
            mapping,
            out,
        })
    }
}

#[derive(Clone, Debug)]
pub struct PublishConfig {
    /// The folder `emit --bundle` wrote.
    pub out: PathBuf,
    pub bucket: BucketName,
    pub key: KeyTemplate,
    pub kms_key_id: Option<String>,
    pub acl: Option<CannedAcl>,
    /// The account that must own the bucket.
    pub expected_bucket_owner: Option<AccountId>,
    pub dry_run: bool,
    pub summary: Summary,
}

impl PublishConfig {
    pub fn from_args(args: &PublishArgs, cli: &Cli) -> anyhow::Result<PublishConfig> {
        let bucket_given = given(cli, "bucket", "--bucket");
        let bucket = args
            .bucket
            .parse::<BucketName>()
            .map_err(|e| anyhow!("{bucket_given} {e}"))?;
        let key_given = given(cli, "key", "--key");
        let key = args
            .key
            .parse::<KeyTemplate>()
            .map_err(|e| anyhow!("{key_given} {e}"))?;
        let acl = args
            .acl
            .as_deref()
            .map(str::parse::<CannedAcl>)
            .transpose()
            .map_err(|e| anyhow!("--acl {e}"))?;
        let expected_bucket_owner = args
            .expected_bucket_owner
            .as_deref()
            .map(str::parse::<AccountId>)
            .transpose()
            .map_err(|e| anyhow!("--expected-bucket-owner {e}"))?;
        if let Some(kms) = &args.kms_key_id
            && (kms.is_empty() || kms.chars().any(char::is_whitespace))
        {
            bail!("--kms-key-id {kms:?} is not a KMS key id; give the key's id, ARN or alias/NAME");
        }
        Ok(PublishConfig {
            out: args.out.clone(),
            bucket,
            key,
            kms_key_id: args.kms_key_id.clone(),
            acl,
            expected_bucket_owner,
            dry_run: args.dry_run,
            summary: match (args.json, cli.global.quiet) {
                (true, _) => Summary::Json,
                (false, true) => Summary::Quiet,
                (false, false) => Summary::Text,
            },
        })
    }
}
