//! The command line as the user types it: a plain record of flags, turned into a
//! [`crate::config`] before anything else sees it.
//!
//! Doc comments here are the `--help` text: written for users, so variable names stay bare.
#![allow(clippy::doc_markdown)]

pub mod deploy;

use std::path::PathBuf;

use clap::{Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the inputs were read but a check failed (digest mismatch, unknown container,
     ambiguous or missing image)
  2  usage error, unreadable or malformed input, I/O failure";

const EXAMPLES: &str = "\
Examples:
  # In CodeBuild, with the ECR source artifact as a secondary input:
  CONTAINER_NAME=web imagedef emit
  # One build for several ECS services (see buildspec.yml):
  imagedef emit --mapping imagedef.json --out imagedef-out
  # The buildspec of that build, and a check that it still matches the mapping:
  imagedef buildspec --mapping imagedef.json > buildspec.yml
  imagedef verify --buildspec buildspec.yml --mapping imagedef.json
  # List what was found in two extracted artifacts:
  imagedef scan WebImage=./web-artifact ApiImage=./api-artifact
  # Check every imageDetail.json of the build:
  imagedef verify
  # Also prove the digests against an OCI layout and pins, and re-check a published bundle:
  imagedef verify --oci ./layout --expect pins.json --bundle out/imagedefinitions.zip
  # Write imagedefinitions.zip (and SHA256SUMS) for an S3 source action:
  imagedef emit --container web --bundle --out out
  # Upload the bundles to S3, leaving unchanged ones alone:
  imagedef publish out --bucket deploy-bundles";

/// Turns the imageDetail.json of CodePipeline ECR source artifacts into verified
/// imagedefinitions.json / imageDetail.json files for ECS deploy actions.
#[derive(Debug, Parser)]
#[command(
    name = "imagedef",
    version,
    about,
    after_help = EXIT_CODES,
    after_long_help = format!("{EXAMPLES}\n\n{EXIT_CODES}"),
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
    /// The options whose value came from their environment variable, not the command line:
    /// (option id, variable), so that messages can name what the user actually set.
    #[arg(skip)]
    pub from_env: Vec<(String, String)>,
}

impl Cli {
    /// Parses the process's arguments. `Err` for a usage error, and for `--help` and `--version`
    /// (whose text clap prints on stdout through [`clap::Error::exit`]).
    pub fn try_parse_args() -> Result<Cli, clap::Error> {
        let command = Cli::command();
        let matches = command.clone().try_get_matches()?;
        let mut cli = Cli::from_arg_matches(&matches)?;
        let sub = matches
            .subcommand()
            .and_then(|(name, m)| Some((command.find_subcommand(name)?.clone(), m)));
        for (command, matches) in [(&command, &matches)]
            .into_iter()
            .chain(sub.as_ref().map(|(c, m)| (c, *m)))
        {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if matches.value_source(id) == Some(clap::parser::ValueSource::EnvVariable)
                    && let Some(var) = arg.get_env()
                {
                    cli.from_env
                        .push((id.to_owned(), var.to_string_lossy().into_owned()));
                }
            }
        }
        Ok(cli)
    }

    /// Whether the arguments (or `IMAGEDEF_LOG_FORMAT`) ask for JSON logs: read without clap, for
    /// a usage error, which clap refuses before there is a [`Cli`].
    #[must_use]
    pub fn asks_for_json_logs(args: &[String], env: Option<&str>) -> bool {
        args.iter().any(|a| a == "--log-format=json")
            || args
                .windows(2)
                .any(|w| w[0] == "--log-format" && w[1] == "json")
            || (env == Some("json") && !args.iter().any(|a| a.starts_with("--log-format")))
    }

    /// For a refused value that no argument gave: the environment variable that set it (clap names
    /// only the option).
    #[must_use]
    pub fn env_behind(error: &clap::Error, args: &[String]) -> Option<String> {
        use clap::error::{ContextKind, ContextValue};
        let Some(ContextValue::String(arg)) = error.get(ContextKind::InvalidArg) else {
            return None;
        };
        let long = arg.split_whitespace().next()?.strip_prefix("--")?;
        let on_the_line = args.iter().any(|a| {
            a.strip_prefix("--")
                .is_some_and(|a| a == long || a.starts_with(&format!("{long}=")))
        });
        if on_the_line {
            return None;
        }
        let command = Cli::command();
        command
            .get_subcommands()
            .chain(std::iter::once(&command))
            .flat_map(clap::Command::get_arguments)
            .find(|a| a.get_long() == Some(long))
            .and_then(clap::Arg::get_env)
            .map(|var| var.to_string_lossy().into_owned())
            .filter(|var| std::env::var_os(var).is_some())
    }

    /// The environment variable that set option `id`, when it was set that way.
    #[must_use]
    pub fn env_of(&self, id: &str) -> Option<&str> {
        self.from_env
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, var)| var.as_str())
    }
}

/// Logging flags, accepted before or after the subcommand, and listed apart from each command's
/// own options in every help.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// More log output on stderr (-v: debug, -vv: trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only problems: on stderr warnings and errors, on stdout only what did not pass.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log format on stderr: text, or json (one object per line, for CloudWatch, from level info:
    /// an event per finding and per container checked, with fields service, container, image,
    /// digest and check).
    #[arg(long, value_enum, global = true, default_value_t = LogFormat::Text, env = "IMAGEDEF_LOG_FORMAT")]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every imageDetail.json found: artifact, path, repository, tags, digest, problems.
    Scan(ScanArgs),
    /// Write imagedefinitions.json (and imageDetail.json, bundles) from what was found.
    #[command(after_long_help = MAPPING_KEYS)]
    Emit(EmitArgs),
    /// Print a CodeBuild buildspec for the mapping: it runs imagedef emit and hands each service's
    /// folder to a secondary artifact named as the service, with exactly the files emit writes
    /// there. At most 5 services (a CodeBuild action's output artifacts).
    #[command(
        after_help = EXIT_CODES,
        after_long_help = format!("{BUILDSPEC_EXAMPLES}\n\n{EXIT_CODES}")
    )]
    Buildspec(BuildspecArgs),
    /// Check every imageDetail.json found (digest grammar, agreement of its fields), and optionally
    /// pins, OCI layouts, manifests and zip bundles; report every problem, exit by the worst.
    Verify(VerifyArgs),
    /// Upload the bundles that emit --bundle wrote into OUT to S3, each re-checked against OUT's
    /// SHA256SUMS first; objects that already hold a bundle's bytes are left alone.
    #[command(after_help = PUBLISH_EXIT_CODES, after_long_help = format!("{PUBLISH_EXAMPLES}\n\n{PUBLISH_EXIT_CODES}"))]
    Publish(PublishArgs),
    /// Deploy to ECS as the CodePipeline ECS standard deploy action does (a new task definition
    /// revision with only the named containers' images replaced, then UpdateService), and follow
    /// the deployment until it ends: exit 1 with ECS's reason and the tasks' causes as soon as it
    /// fails or rolls back.
    #[command(
        after_help = deploy::DEPLOY_EXIT_CODES,
        after_long_help = format!("{}\n\n{}", deploy::DEPLOY_EXAMPLES, deploy::DEPLOY_EXIT_CODES)
    )]
    Deploy(deploy::DeployArgs),
    /// Change nothing: prove that a service's latest deployment ended successfully and that its
    /// tasks run the images of the deploy file (for pipelines that keep the ECS deploy action);
    /// waits for a deployment still in progress.
    #[command(
        after_help = deploy::CONFIRM_EXIT_CODES,
        after_long_help = format!("{}\n\n{}", deploy::CONFIRM_EXAMPLES, deploy::CONFIRM_EXIT_CODES)
    )]
    Confirm(deploy::ConfirmArgs),
    /// Print the JSON Schema (draft 2020-12) of the mapping file (or of imagedef-report.json),
    /// for editors and CI linting.
    Schema(SchemaArgs),
}

/// Which file's schema `imagedef schema` prints.
#[derive(Args, Debug)]
pub struct SchemaArgs {
    /// mapping (the --mapping file) or report (the imagedef-report.json that emit writes).
    #[arg(value_enum, default_value = "mapping")]
    pub which: SchemaOf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SchemaOf {
    Mapping,
    Report,
}

const MAPPING_KEYS: &str = "\
The mapping file (--mapping), key by key (imagedef schema prints it as a JSON Schema):
  {\"uri\": \"digest\", \"services\": {\"web\": {\"containers\": {
      \"web\": {\"repository\": \"shop/web\"}, \"proxy\": {\"artifact\": \"ProxyImage\"},
      \"xray\": {\"image\": \"public.ecr.aws/xray/aws-xray-daemon:3.3.12\"}},
    \"taskDefinition\": \"deploy/web-taskdef.json\", \"blueGreen\": \"web\"}}}
  top level   services (required): service name -> service, in file order; the name (1-100 of
              letters, digits, _ and -; not SHA256SUMS) is the folder under OUT
              uri, tagPattern: as --uri and --tag-pattern, for every service
              platform: as --platform, for every service (os/architecture, e.g. linux/arm64)
              findings: as --findings, for every service
              strict: true makes every check that cannot run a failure, as --strict
  service     containers (required): container name -> image, in the order written
              uri, tagPattern, platform: for this service (they win over the top level's; the
              options win over both; platform also over the task definition's runtimePlatform)
              taskDefinition: a task definition JSON, relative to the mapping file, or
              ecs://CLUSTER/SERVICE for the one that service runs now (looked up live, region
              from AWS_REGION); every container must exist in it
              roleArn: beside taskDefinition ecs://CLUSTER/SERVICE, the IAM role assumed (STS)
              to reach that service in another account, for the lookup and for deploy --out
              blueGreen: the container whose image goes into the service's imageDetail.json
              taskDefinitionTemplate, appSpec: with blueGreen, the taskdef.json and AppSpec of
              CodeDeployToECS (relative to the mapping file), checked and written beside the
              imageDetail.json as taskdef.json and appspec.yaml
              imagePlaceholder: the action's Image1ContainerName (default IMAGE1_NAME): the
              blueGreen container's image in the template is <IMAGE1_NAME>
              findings: with --ecr, the scan findings tolerated per severity, e.g.
              {\"CRITICAL\": 0, \"HIGH\": 2} (wins over the top level's; --findings wins over both)
  container   image: a fixed reference, written as given; or a selector, all of whose keys a
              discovered imageDetail.json must match:
              repository: the image's repository (shop/web)
              artifact: the input artifact's name ($CODEBUILD_SRC_DIR_<name>, or NAME=DIR)
              path: a glob on the path inside the artifact (* stays within one folder)
  Any other key is refused, naming it.";

/// The scan findings gate of `emit` and `verify`.
#[derive(Debug, Args)]
pub struct FindingsArgs {
    /// With --ecr: the scan findings tolerated per severity, as CodePipeline's InspectorScan
    /// thresholds (e.g. CRITICAL=0,HIGH=2; CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, UNDEFINED,
    /// UNTRIAGED; a severity not named is not limited), judged by digest with
    /// DescribeImageScanFindings (an image index by its platform manifests). Over a threshold, or a
    /// scan that is missing, failed or cannot be judged, fails the check (exit 1; emit then writes
    /// nothing). For emit, wins over the mapping's "findings". Needs ecr:DescribeImageScanFindings
    /// (enhanced scanning: also inspector2:ListFindings).
    #[arg(long, value_name = "SEVERITY=N,...", env = "IMAGEDEF_FINDINGS")]
    pub findings: Option<String>,
    /// With findings thresholds: how long to wait in all for scans that are IN_PROGRESS or PENDING
    /// (asked again after 2, 4, 8, ... up to 20 seconds) before failing; 0 asks once; at most
    /// 129600 (36 hours, the longest CodeBuild build).
    #[arg(
        long,
        value_name = "SECONDS",
        env = "IMAGEDEF_SCAN_WAIT",
        default_value_t = DEFAULT_SCAN_WAIT,
        value_parser = clap::value_parser!(u64).range(0..=MAX_SECONDS)
    )]
    pub scan_wait: u64,
}

/// How long the registry reads of a run may take (`emit`, `verify`, `deploy`, `confirm`).
#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// With --ecr: the seconds that all reads of registries' HTTP API (the config blobs of the
    /// platform check, and the blob stores such as S3 that registries redirect to) may take in
    /// one run, together, however many registries there are. When they run out, the read in
    /// flight fails naming the host that was slow, and so does every later one (exit 2). 0 reads
    /// nothing from a registry; at most 129600 (36 hours).
    #[arg(
        long,
        value_name = "SECONDS",
        env = "IMAGEDEF_REGISTRY_TIMEOUT",
        default_value_t = DEFAULT_REGISTRY_TIMEOUT,
        value_parser = clap::value_parser!(u64).range(0..=MAX_SECONDS)
    )]
    pub registry_timeout: u64,
}

/// `--registry-timeout`'s default: one minute, what a single unanswered registry request cost
/// (three attempts of 20 seconds) before there was a budget for all of them.
pub const DEFAULT_REGISTRY_TIMEOUT: u64 = 60;

/// The longest wait any option takes, in seconds: 36 hours, the longest a CodeBuild build runs, so
/// that no wait outlives the build that asked for it (and no deadline overflows the clock).
pub const MAX_SECONDS: u64 = 36 * 60 * 60;

/// `--scan-wait`'s default: five minutes, time for a scan on push started by the same pipeline to
/// finish.
pub const DEFAULT_SCAN_WAIT: u64 = 300;

/// Where to look.
#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// Artifact directories to search, as DIR or NAME=DIR. Default: $CODEBUILD_SRC_DIR (artifact
    /// "primary") and every $CODEBUILD_SRC_DIR_<NAME> (artifact NAME); else the current directory.
    #[arg(value_name = "ROOT")]
    pub roots: Vec<String>,
    /// The file name to look for.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "imageDetail.json",
        env = "IMAGEDEF_FILE_NAME"
    )]
    pub file_name: String,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub discover: DiscoverArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

// Independent on/off flags (--bundle, --dry-run, --json, --ecr), not states of one thing.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Args)]
pub struct EmitArgs {
    #[command(flatten)]
    pub discover: DiscoverArgs,
    /// Mapping file (services -> containers -> images): writes DIR/<service>/imagedefinitions.json
    /// (and imageDetail.json for blue/green), DIR/SHA256SUMS and DIR/imagedef-report.json, all or
    /// nothing. Without it, exactly one image must be found.
    #[arg(long, value_name = "FILE", env = "IMAGEDEF_MAPPING")]
    pub mapping: Option<PathBuf>,
    /// Container name to write (single-image mode): 1-255 of letters, digits, _ and -. Not used
    /// with --mapping, which names the containers.
    #[arg(long, value_name = "NAME", env = "CONTAINER_NAME")]
    pub container: Option<String>,
    /// Output directory; created if missing. With --mapping it belongs to imagedef, which replaces
    /// it as a whole. [default: . without --mapping, imagedef-out with it]
    #[arg(long, value_name = "DIR", env = "IMAGEDEF_OUT")]
    pub out: Option<PathBuf>,
    /// Form of the imageUri written: digest (repo@sha256:..., the pushed image), tag (repo:tag) or
    /// tag+digest (repo:tag@sha256:...). tag never writes "latest" unless a tag pattern was given
    /// and matches it (an image tagged only "latest" is refused); tag+digest, pinned by its digest,
    /// writes a lone "latest". [default: digest, or the mapping's "uri"]
    #[arg(long, value_name = "MODE", env = "IMAGEDEF_URI")]
    pub uri: Option<String>,
    /// Regex the written tag must match (unanchored; add ^ and $ to anchor; Unicode classes and
    /// (?i) work): exactly one of the image's tags must match, even when it has only one. Without
    /// it: "latest" is set aside and one tag must remain (with tag+digest, a lone tag is taken
    /// whatever it is). Wins over the mapping's "tagPattern".
    #[arg(long, value_name = "REGEX", env = "IMAGEDEF_TAG_PATTERN")]
    pub tag_pattern: Option<String>,
    /// Task definition JSON (raw, or `aws ecs describe-task-definition` output), or
    /// ecs://CLUSTER/SERVICE for the one that service runs now (looked up live, region from
    /// AWS_REGION): every container written must exist in it. With --mapping, use each service's
    /// "taskDefinition" instead.
    #[arg(long, value_name = "FILE|ecs://CLUSTER/SERVICE")]
    pub task_definition: Option<PathBuf>,
    /// Look every ECR image up in ECR (BatchGetImage, in the registry and region of its URI)
    /// before writing: a missing digest, an archived image (DescribeImages), or with --uri
    /// tag/tag+digest a tag that moved, writes nothing (exit 1). Needs ecr:BatchGetImage and
    /// ecr:DescribeImages.
    #[arg(long)]
    pub ecr: bool,
    /// An imageDetail.json whose ImageURI has a tag and no digest (refused by default: "carries
    /// no digest") is written with the digest ECR holds for that tag now, and the summary says
    /// so. Only for images in ECR; needs --ecr.
    #[arg(long, requires = "ecr")]
    pub resolve_tags: bool,
    /// The platform every image must offer, os/architecture[/variant] (linux/amd64, linux/arm64):
    /// checked with --ecr (the index's platforms, or a single manifest's config from the
    /// registry). Wins over the mapping's "platform" and the task definition's runtimePlatform.
    /// [default: the mapping's "platform", else each task definition's runtimePlatform, else
    /// linux/amd64 for a FARGATE task]
    #[arg(long, value_name = "PLATFORM", env = "IMAGEDEF_PLATFORM")]
    pub platform: Option<String>,
    #[command(flatten)]
    pub findings: FindingsArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Also write a deterministic zip for an S3 source action, with the deploy files at its root:
    /// OUT/imagedefinitions.zip in single-image mode (plus OUT/SHA256SUMS listing the zip and the
    /// json), OUT/<service>.zip per service with --mapping.
    #[arg(long)]
    pub bundle: bool,
    /// Resolve and verify everything, print what would be written, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Every check that could not run for a service fails (exit 1) rather than being said "not
    /// checked": a service without a task definition, platforms or findings not read (they need
    /// --ecr), an image not looked up in ECR, a blue/green service without its templates.
    /// [default: the mapping's "strict"]
    #[arg(long, env = "IMAGEDEF_STRICT")]
    pub strict: bool,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also write what was checked as JUnit XML to FILE, for a CodeBuild report group
    /// (file-format: JUNITXML): a test case per service and check, named by the service's
    /// artifact and its folder relative to the build. Written whatever the outcome; not inside
    /// OUT.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// With --mapping: how long to wait for another process's lock on OUT before giving up (exit
    /// 2, naming the process); at most 129600 (36 hours).
    #[arg(
        long,
        value_name = "SECONDS",
        env = "IMAGEDEF_LOCK_TIMEOUT",
        default_value_t = 600,
        value_parser = clap::value_parser!(u64).range(0..=MAX_SECONDS)
    )]
    pub lock_timeout: u64,
}

const BUILDSPEC_EXAMPLES: &str = "\
Examples:
  # From the primary source's root, where CodeBuild runs the build:
  imagedef buildspec --mapping imagedef.json > buildspec.yml
  # After every change to the mapping, in CI: does the buildspec still match it?
  imagedef verify --buildspec buildspec.yml --mapping imagedef.json

A service named web gets the secondary artifact web: base-directory imagedef-out/web and the
files emit writes there (imagedefinitions.json; imageDetail.json with blueGreen; taskdef.json
and appspec.yaml with taskDefinitionTemplate and appSpec). In the pipeline, name the CodeBuild
action's output artifacts as the services. More than 5 services is refused (exit 2): split them
across several build actions, each with its own mapping, or publish bundles (emit --bundle, then
imagedef publish).";

#[derive(Debug, Args)]
pub struct BuildspecArgs {
    /// The mapping file, relative to the primary source's root, where CodeBuild runs the build:
    /// read for its services, and named so in the buildspec's emit command.
    #[arg(long, value_name = "FILE", env = "IMAGEDEF_MAPPING")]
    pub mapping: PathBuf,
    /// emit's output directory, relative to the primary source's root; each service's artifact
    /// takes the folder DIR/<service>. [default: imagedef-out, as emit's]
    #[arg(long, value_name = "DIR", env = "IMAGEDEF_OUT")]
    pub out: Option<PathBuf>,
}

const PUBLISH_EXAMPLES: &str = "\
Examples:
  # Every service's bundle to s3://deploy-bundles/<service>.zip in another account's bucket:
  imagedef emit --mapping imagedef.json --bundle --out out
  imagedef publish out --bucket deploy-bundles --acl bucket-owner-full-control \\
      --expected-bucket-owner 210987654321 --kms-key-id alias/deploy-bundles
  # Under a prefix, and first see what would change:
  imagedef publish out --bucket deploy-bundles --key 'shop/{service}/bundle.zip' --dry-run

What it does, per bundle: HeadObject (checksum mode) on the key; when the object's stored sha256
checksum equals the bundle's, it is left alone (unchanged: no new version, so a pipeline watching
the key is not started again); otherwise PutObject with x-amz-checksum-sha256, so S3 checks the
bytes. Up to 8 at once. IAM: s3:GetObject and s3:PutObject on the keys (s3:ListBucket on the
bucket, or S3 answers a missing key with 403), s3:PutObjectAcl with --acl, kms:GenerateDataKey and
kms:Decrypt on the key with --kms-key-id.";

const PUBLISH_EXIT_CODES: &str = "\
Exit codes:
  0  every bundle is published (uploaded or unchanged)
  1  a bundle does not match SHA256SUMS (nothing was uploaded), or some uploads failed after the
     SDK's retries (the others are published; run again to finish)
  2  usage error, no bundle in OUT, or a configuration, credentials or bucket error (no such
     bucket, access denied)";

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The folder emit --bundle wrote: with --mapping every <service>.zip in it, else its
    /// imagedefinitions.zip; its SHA256SUMS must list each with its exact sha256.
    #[arg(value_name = "OUT")]
    pub out: PathBuf,
    /// The S3 bucket (its name, not an s3:// URI). Its region is AWS_REGION's.
    #[arg(long, value_name = "BUCKET", env = "IMAGEDEF_BUCKET")]
    pub bucket: String,
    /// The object key; {service} stands for each bundle's service (imagedefinitions in
    /// single-image mode). No leading /; two services may not share a key.
    #[arg(
        long,
        value_name = "TEMPLATE",
        default_value = "{service}.zip",
        env = "IMAGEDEF_KEY"
    )]
    pub key: String,
    /// Encrypt with SSE-KMS under this KMS key (id, ARN or alias/NAME). [default: the bucket's
    /// default encryption]
    #[arg(long, value_name = "KEY")]
    pub kms_key_id: Option<String>,
    /// Canned ACL for each object put, e.g. bucket-owner-full-control for another account's
    /// bucket.
    #[arg(long, value_name = "ACL")]
    pub acl: Option<String>,
    /// The 12-digit account that must own the bucket: S3 refuses every call otherwise.
    #[arg(long, value_name = "ACCOUNT")]
    pub expected_bucket_owner: Option<String>,
    /// Check the bundles and ask S3 which objects would change, upload nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub discover: DiscoverArgs,
    /// Pins: a JSON object repository -> digest ({"shop/web": "sha256:..."}), or
    /// {"repositories": {...}, "containers": {"service/container": "sha256:..."}}. Every image of a
    /// pinned repository (or bundled container) must carry that digest.
    #[arg(long, value_name = "FILE")]
    pub expect: Option<PathBuf>,
    /// OCI image layout (oci-layout, index.json, blobs/) to prove digests with: every blob
    /// reachable from index.json is re-hashed against its descriptor. Repeatable.
    #[arg(long, value_name = "DIR")]
    pub oci: Vec<PathBuf>,
    /// Image manifest or index, as its exact bytes: its sha256 is a proven digest, and so is every
    /// digest an index lists. Repeatable. With --oci or --manifest, every image's digest must be
    /// proven.
    #[arg(long, value_name = "FILE")]
    pub manifest: Vec<PathBuf>,
    /// Zip bundle to re-check: entries at the root without data descriptors, within 3 MB, valid
    /// imagedefinitions.json / imageDetail.json, and the SHA256SUMS beside it. Its ok line says
    /// what its content was held against, or warns that nothing was. Repeatable.
    #[arg(long, value_name = "ZIP")]
    pub bundle: Vec<PathBuf>,
    /// Blue/green: the task definition template CodeDeployToECS registers (taskdef.json). The
    /// container whose image is <IMAGE1_NAME> (see --image-placeholder) must be the only one;
    /// no other image may be an angle-bracket placeholder. Needs --app-spec.
    #[arg(long, value_name = "FILE", requires = "app_spec")]
    pub task_definition_template: Option<PathBuf>,
    /// Blue/green: the AppSpec (YAML or JSON) deployed with --task-definition-template: version
    /// 0.0, one AWS::ECS::Service target with TaskDefinition <TASK_DEFINITION> and a
    /// LoadBalancerInfo ContainerName and ContainerPort that the template has.
    #[arg(long, value_name = "FILE", requires = "task_definition_template")]
    pub app_spec: Option<PathBuf>,
    /// A CodeBuild buildspec to hold against --mapping: each service needs the secondary artifact
    /// named as it, with base-directory OUT/<service> (see --out) and files matching exactly the
    /// files emit writes there (paths or globs), unless an artifact takes the whole of OUT
    /// (base-directory OUT, files **/*). An artifact of no service, a file the service does not
    /// get, or one it gets that is not listed, fails (exit 1). Needs --mapping.
    #[arg(long, value_name = "FILE", requires = "mapping")]
    pub buildspec: Option<PathBuf>,
    /// With --buildspec: the mapping file whose services the buildspec's artifacts must match.
    #[arg(long, value_name = "FILE", requires = "buildspec")]
    pub mapping: Option<PathBuf>,
    /// With --buildspec: the output directory the buildspec's imagedef emit writes (its --out),
    /// relative to the primary source's root. [default: imagedef-out]
    #[arg(long, value_name = "DIR", requires = "buildspec")]
    pub out: Option<PathBuf>,
    /// The blue/green action's Image1ContainerName, without angle brackets, for
    /// --task-definition-template and for the taskdef.json of every --bundle (the CDK's default
    /// is IMAGE).
    #[arg(long, value_name = "NAME", default_value = "IMAGE1_NAME")]
    pub image_placeholder: String,
    /// Unusable imageDetail.json files found (templates, wrong shapes) are errors (exit 2), not
    /// warnings; a bundle whose content nothing was held against (no SHA256SUMS beside it, no
    /// discovered image, pin, proof or ECR lookup) fails (exit 1), not a warning.
    #[arg(long)]
    pub strict: bool,
    /// Also write the findings as JUnit XML to FILE (one test case per file and check), for a
    /// CodeBuild report group (file-format: JUNITXML). Written whatever the outcome.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also look every ECR image up in ECR (BatchGetImage, in the registry and region of its URI):
    /// a missing digest, an archived image (DescribeImages), or a tag in a bundle's imageUri that
    /// no longer points at its digest, fails (exit 1). Needs ecr:BatchGetImage and
    /// ecr:DescribeImages.
    #[arg(long)]
    pub ecr: bool,
    /// The platform every image must offer, os/architecture[/variant] (linux/amd64, linux/arm64):
    /// read from --oci layouts offline and, with --ecr, from ECR and the registry. An image whose
    /// platforms cannot be read is reported as not checked, never as passed. Wins over
    /// --task-definition.
    #[arg(long, value_name = "PLATFORM", env = "IMAGEDEF_PLATFORM")]
    pub platform: Option<String>,
    /// Task definition JSON, or ecs://CLUSTER/SERVICE for the one that service runs now: every
    /// image must offer the platform it needs (runtimePlatform; a FARGATE task without one needs
    /// linux/amd64; an EC2 task without one is not checked).
    #[arg(long, value_name = "FILE|ecs://CLUSTER/SERVICE")]
    pub task_definition: Option<PathBuf>,
    #[command(flatten)]
    pub findings: FindingsArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Print the findings as JSON.
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
