//! The stack templates of `examples/cloudformation`: cfn-lint passes them with nothing to say and
//! checkov with every skipped rule giving its reason; the pipeline's artifacts carry, for each
//! deploy action, the files the action reads, as the buildspec hands them over from what `emit`
//! writes, for both ways of deploying the rolling services; every action has the provider,
//! artifact counts and configuration keys AWS documents (`../shared/AWS-FACTS.md`) and cfn-lint's
//! own table holds; each role that runs imagedef holds exactly the statements of README.md's IAM
//! table; the documented deploy order feeds every cross-stack value from an earlier step, and moto
//! creates the stacks in that order (everything but CodePipeline, CodeBuild, CodeDeploy and bucket
//! policies), holding the roles, policies, keys, buckets and event rules the README describes.
//!
//! cfn-lint and moto come from the venv `.ci/deps-aws` makes, checkov from `.ci/deps-checkov`'s;
//! without them these tests fail.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use globset::{Glob, GlobBuilder, GlobSetBuilder};
use regex::Regex;
use serde_json::{Value, json};
use yaml_rust2::{Yaml, YamlLoader};

use crate::tools::aws::{ACCOUNT, moto, unique, venv_python, venv_tool};
use crate::util::{BIN, Env, examples};

/// Every template of `examples/cloudformation`.
const TEMPLATES: [&str; 3] = [
    "pipeline.yaml",
    "producer-publish.yaml",
    "consumer-account.yaml",
];

/// The region the helper creates stacks in.
const REGION: &str = "eu-west-1";

fn template_path(name: &str) -> PathBuf {
    examples().join("cloudformation").join(name)
}

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

#[track_caller]
fn succeeded(what: &str, out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what}: {}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// `command` with no AWS setting of the machine's: it may talk only to the loopback moto server
/// it is given.
fn without_aws(command: &mut Command) -> &mut Command {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("AWS_") || key.starts_with("CODEBUILD_") || key.starts_with("IMAGEDEF_")
        {
            command.env_remove(&*key);
        }
    }
    let none = std::env::temp_dir().join("imagedef-no-such-dir");
    command
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", none.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", none.join("credentials"))
}

/// `tests/cfn/cfn.py ARGS` in the venv.
fn cfn(args: &[&str]) -> Value {
    let mut command = Command::new(venv_python());
    command.arg(repo_file("tests/cfn/cfn.py")).args(args);
    without_aws(&mut command);
    let out = command.output().unwrap_or_else(|e| {
        panic!(
            "cannot run {} ({e}); run `bash .ci/deps-aws` first",
            venv_python().display()
        )
    });
    let text = succeeded(&format!("cfn.py {args:?}"), &out);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("cfn.py {args:?} printed no JSON ({e})"))
}

/// A template as cfn-lint reads it (intrinsic functions in their long form).
fn template(name: &str) -> Value {
    cfn(&["json", template_path(name).to_str().unwrap()])
}

/// A template as a stack uses it, with these parameter values (defaults for the rest):
/// conditions decided, `Fn::If` replaced by its branch, `AWS::NoValue` gone.
fn resolved(name: &str, params: &[String]) -> Value {
    let path = template_path(name);
    let mut args = vec!["resolve", path.to_str().unwrap()];
    args.extend(params.iter().map(String::as_str));
    cfn(&args)
}

fn cfn_lint(paths: &[PathBuf]) -> Output {
    let lint = venv_tool("cfn-lint");
    Command::new(&lint)
        .args(paths)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}); run `bash .ci/deps-aws` first",
                lint.display()
            )
        })
}

/// The templates in `examples/cloudformation` (its README.md aside).
fn templates_found() -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(examples().join("cloudformation"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "README.md")
        .collect();
    found.sort_unstable();
    found
}

#[test]
fn cfn_lint_passes_every_template_without_an_error_or_a_warning() {
    let mut listed = TEMPLATES.map(String::from).to_vec();
    listed.sort_unstable();
    assert_eq!(
        templates_found(),
        listed,
        "a template this test does not know"
    );

    let out = cfn_lint(&TEMPLATES.map(template_path));
    let stdout = succeeded("cfn-lint", &out);
    assert_eq!(stdout, "", "cfn-lint had something to say");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn cfn_lint_refuses_an_ecr_source_action_without_its_output_artifact() {
    let env = Env::new();
    let good = read(&template_path("pipeline.yaml"));
    let line = "              OutputArtifacts: [{ Name: WebImage }]\n";
    assert!(good.contains(line));
    let broken = env.write("broken.yaml", good.replace(line, ""));
    let out = cfn_lint(&[broken]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "cfn-lint passed it: {stdout}");
    assert!(stdout.contains("E3702"), "{stdout}");
}

/// checkov (`.ci/deps-checkov`) on `dir`, offline: its JSON report.
fn checkov(dir: &Path) -> Value {
    let checkov =
        crate::tools::installed("IMAGEDEF_CHECKOV_VENV", "checkov-venv").join("bin/checkov");
    let mut command = Command::new(&checkov);
    command
        .arg("--directory")
        .arg(dir)
        .args([
            "--framework",
            "cloudformation",
            "--skip-download",
            "--output",
            "json",
        ])
        .env("HOME", std::env::temp_dir().join("imagedef-no-such-dir"));
    without_aws(&mut command);
    let out = command.output().unwrap_or_else(|e| {
        panic!(
            "cannot run {} ({e}); run `bash .ci/deps-checkov` first",
            checkov.display()
        )
    });
    // Exit 1 means failed checks; the report says which.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "checkov: {}\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("checkov printed no JSON ({e}): {text}"))
}

#[test]
fn checkov_passes_every_template_and_each_rule_skipped_says_why() {
    let report = checkov(&examples().join("cloudformation"));
    let results = &report["results"];
    let failed: Vec<String> = results["failed_checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{} {} {}", c["check_id"], c["resource"], c["file_path"]))
        .collect();
    assert!(failed.is_empty(), "checkov failed: {failed:#?}");
    assert_eq!(results["parsing_errors"], json!([]), "{results:#}");
    let passed = report["summary"]["passed"].as_u64().unwrap();
    assert!(passed > 50, "checkov checked only {passed} things");
    // Each skipped rule carries its reason in the template, and only the known ones are skipped.
    let mut skipped = BTreeSet::new();
    for check in results["skipped_checks"].as_array().unwrap() {
        let reason = check["check_result"]["suppress_comment"]
            .as_str()
            .unwrap_or("");
        assert!(
            reason.split_whitespace().count() >= 5,
            "{} on {} is skipped without a reason: {reason:?}",
            check["check_id"],
            check["resource"]
        );
        skipped.insert(format!(
            "{} {}",
            check["check_id"].as_str().unwrap(),
            check["resource"].as_str().unwrap()
        ));
    }
    assert_eq!(
        skipped,
        BTreeSet::from(["CKV_AWS_18 AWS::S3::Bucket.AccessLogBucket".to_owned(),]),
    );
    assert_eq!(
        results["skipped_checks"].as_array().unwrap().len(),
        2,
        "the access-log buckets of pipeline.yaml and consumer-account.yaml"
    );

    // cfn-lint's ignores say why too: a comment naming the rule right above the setting.
    for name in TEMPLATES {
        let text = read(&template_path(name));
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(rest) = line.trim().strip_prefix("ignore_checks:") else {
                continue;
            };
            let comment: String = lines[..i]
                .iter()
                .rev()
                .take_while(|l| l.trim().starts_with('#'))
                .copied()
                .collect();
            for rule in rest.trim().trim_matches(['[', ']']).split(',') {
                let rule = rule.trim();
                assert!(
                    comment.contains(rule) && comment.split_whitespace().count() > 8,
                    "{name}: cfn-lint ignores {rule} without a comment saying why"
                );
            }
        }
    }

    // And checkov can fail: the artifact bucket without versioning.
    let env = Env::new();
    let pipeline = read(&template_path("pipeline.yaml"));
    let versioned = "      # Versioned, so an overwritten or deleted artifact can be recovered; old versions go after\n      # 30 days.\n      VersioningConfiguration:\n        Status: Enabled\n";
    assert!(pipeline.contains(versioned));
    env.write("broken/pipeline.yaml", pipeline.replace(versioned, ""));
    let report = checkov(&env.path("broken"));
    let failed: Vec<&str> = report["results"]["failed_checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check_id"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["CKV_AWS_21"]);
}

/// The actions of a pipeline resource, stage by stage; both branches of an `Fn::If`.
fn actions(template: &Value, pipeline: &str) -> Vec<(String, Value)> {
    let stages = template["Resources"][pipeline]["Properties"]["Stages"]
        .as_array()
        .unwrap_or_else(|| panic!("{pipeline} has no stages"));
    let mut all = Vec::new();
    for stage in stages {
        let name = stage["Name"].as_str().unwrap().to_owned();
        for action in stage["Actions"].as_array().unwrap() {
            match action.get("Fn::If") {
                Some(branches) => {
                    for branch in &branches.as_array().unwrap()[1..] {
                        if branch.get("Name").is_some() {
                            all.push((name.clone(), branch.clone()));
                        }
                    }
                }
                None => all.push((name.clone(), action.clone())),
            }
        }
    }
    all
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|l| {
            l.iter()
                .map(|a| a["Name"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn action<'a>(all: &'a [(String, Value)], name: &str) -> &'a Value {
    &all.iter()
        .find(|(_, a)| a["Name"] == name)
        .unwrap_or_else(|| panic!("no action {name}"))
        .1
}

/// The parameters `pipeline.yaml` needs, plus `extra`.
fn pipeline_required(extra: &[&str]) -> Vec<String> {
    let mut params = vec![
        "BatchImagesBucket=batch-images".to_owned(),
        format!("ImagedefImage={ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/imagedef:0.1.0"),
        format!("TaskRoleArns=arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"),
        format!("ConnectionArn=arn:aws:codeconnections:{REGION}:{ACCOUNT}:connection/0abc"),
        "FullRepositoryId=shop/deploy".to_owned(),
    ];
    params.extend(extra.iter().map(|p| (*p).to_owned()));
    params
}

/// One way of deploying web and batch (`pipeline.yaml`'s `RollingDeploy`), and the source files
/// that go with it.
struct Choice {
    rolling: &'static str,
    /// The mapping the buildspec emits from, in `examples/pipeline/source`.
    mapping: &'static str,
    /// The buildspec as the project names it (at the source's root), and where it is here.
    buildspec: &'static str,
    buildspec_file: PathBuf,
}

fn choices() -> [Choice; 2] {
    [
        Choice {
            rolling: "EcsAction",
            mapping: "imagedef.json",
            buildspec: "buildspec.yml",
            buildspec_file: repo_file("buildspec.yml"),
        },
        Choice {
            rolling: "ImagedefDeploy",
            mapping: "imagedef-deploy.json",
            buildspec: "buildspec-deploy.yml",
            buildspec_file: examples().join("pipeline/source/buildspec-deploy.yml"),
        },
    ]
}

fn mapping(name: &str) -> Value {
    let path = examples().join("pipeline/source").join(name);
    serde_json::from_str(&read(&path)).unwrap()
}

/// A buildspec's artifacts: the primary one (`""`) and each secondary one, as (base directory,
/// file patterns).
fn buildspec_artifacts(path: &Path) -> BTreeMap<String, (String, Vec<String>)> {
    let doc = &YamlLoader::load_from_str(&read(path)).unwrap()[0];
    let entry = |y: &Yaml| {
        let base = y["base-directory"].as_str().unwrap_or("").to_owned();
        let files = y["files"]
            .as_vec()
            .unwrap_or_else(|| panic!("{}: an artifact without files", path.display()))
            .iter()
            .map(|f| f.as_str().unwrap().to_owned())
            .collect();
        (base, files)
    };
    let mut artifacts = BTreeMap::from([(String::new(), entry(&doc["artifacts"]))]);
    if let Yaml::Hash(secondary) = &doc["artifacts"]["secondary-artifacts"] {
        for (id, artifact) in secondary {
            artifacts.insert(id.as_str().unwrap().to_owned(), entry(artifact));
        }
    }
    artifacts
}

/// A buildspec's commands, phase by phase in CodeBuild's order.
fn buildspec_commands(path: &Path) -> Vec<String> {
    let doc = &YamlLoader::load_from_str(&read(path)).unwrap()[0];
    let mut commands = Vec::new();
    for phase in ["install", "pre_build", "build", "post_build"] {
        if let Some(list) = doc["phases"][phase]["commands"].as_vec() {
            commands.extend(list.iter().map(|c| c.as_str().unwrap().to_owned()));
        }
    }
    commands
}

/// Every file under `dir`, by its path relative to it (`/`-separated).
fn files_under(dir: &Path) -> BTreeSet<String> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect()
}

/// What a CodeBuild artifact takes from a finished build: the files under its base directory
/// that one of its patterns matches, by their paths in the artifact.
fn artifact_files(primary: &Path, base: &str, patterns: &[String]) -> BTreeSet<String> {
    let mut globs = GlobSetBuilder::new();
    for pattern in patterns {
        globs.add(
            GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .unwrap(),
        );
    }
    let globs = globs.build().unwrap();
    files_under(&primary.join(base))
        .into_iter()
        .filter(|f| globs.is_match(f))
        .collect()
}

/// A CodeBuild-like run of a choice's buildspec on the example pipeline: the source (with the
/// buildspec at its root) in `.../s3/00`, every other `examples/pipeline` folder a secondary input
/// named like it, each phase command run by `/bin/sh` with the built binary on `PATH`. A mapping
/// whose task definitions are `ecs://CLUSTER/SERVICE` gets those services in moto, in a cluster of
/// its own.
struct BuildRun {
    _env: Env,
    primary: PathBuf,
}

fn run_buildspec(choice: &Choice) -> BuildRun {
    let env = Env::new();
    let src = "codebuild/output/src1/src/s3";
    env.copy_dir(&examples().join("pipeline/source"), &format!("{src}/00"));
    let primary = env.path(&format!("{src}/00"));
    std::fs::copy(&choice.buildspec_file, primary.join(choice.buildspec)).unwrap();
    let mut inputs: Vec<String> = std::fs::read_dir(examples().join("pipeline"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "source")
        .collect();
    inputs.sort_unstable();
    let mut sh_env = vec![(
        "CODEBUILD_SRC_DIR".to_owned(),
        primary.display().to_string(),
    )];
    for (i, name) in inputs.iter().enumerate() {
        let dir = format!("{src}/{:02}", i + 1);
        env.copy_dir(&examples().join("pipeline").join(name), &dir);
        sh_env.push((
            format!("CODEBUILD_SRC_DIR_{name}"),
            env.path(&dir).display().to_string(),
        ));
    }

    let mapping_path = primary.join(choice.mapping);
    let text = read(&mapping_path);
    if text.contains("ecs://") {
        let spec: Value = serde_json::from_str(&text).unwrap();
        let cluster = unique("prod");
        for (service, body) in spec["services"].as_object().unwrap() {
            let Some(target) = body["taskDefinition"]
                .as_str()
                .unwrap()
                .strip_prefix("ecs://")
            else {
                continue;
            };
            let (_, name) = target.split_once('/').unwrap();
            assert_eq!(
                name, service,
                "the example names each ECS service like its service"
            );
            let containers: Vec<&str> = body["containers"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            moto().ecs_service(REGION, &cluster, name, &containers);
        }
        std::fs::write(
            &mapping_path,
            Regex::new(r"ecs://[^/]+/")
                .unwrap()
                .replace_all(&text, format!("ecs://{cluster}/").as_str())
                .as_ref(),
        )
        .unwrap();
        let none = env.path("no-such-dir");
        sh_env.extend(
            [
                ("AWS_REGION", REGION.to_owned()),
                ("AWS_ENDPOINT_URL", moto().endpoint()),
                ("AWS_ACCESS_KEY_ID", "AKIDIMAGEDEFTEST".to_owned()),
                ("AWS_SECRET_ACCESS_KEY", "imagedefTestSecretKey".to_owned()),
                ("HOME", none.display().to_string()),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        );
    }

    let path = format!(
        "{}:{}",
        Path::new(BIN).parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for command in buildspec_commands(&primary.join(choice.buildspec)) {
        let mut sh = Command::new("/bin/sh");
        sh.arg("-c").arg(&command).current_dir(&primary);
        without_aws(&mut sh)
            .env("PATH", &path)
            .envs(sh_env.iter().cloned());
        let out = sh.output().unwrap();
        succeeded(&format!("{}: {command}", choice.buildspec), &out);
    }
    BuildRun { _env: env, primary }
}

/// The default of a template parameter that a configuration value refers to (`{"Ref": P}`).
fn default_of(template: &Value, value: &Value) -> String {
    let name = value["Ref"]
        .as_str()
        .unwrap_or_else(|| panic!("{value} is no parameter reference"));
    template["Parameters"][name]["Default"]
        .as_str()
        .unwrap_or_else(|| panic!("parameter {name} has no default"))
        .to_owned()
}

#[test]
#[allow(clippy::too_many_lines)] // one pass over each choice's actions, each kind of action checked where it is met
fn each_deploy_action_reads_files_the_buildspec_hands_its_artifact_from_what_emit_wrote() {
    let plain = template("pipeline.yaml");
    for choice in choices() {
        let rolling = choice.rolling;
        let t = resolved(
            "pipeline.yaml",
            &pipeline_required(&[&format!("RollingDeploy={rolling}")]),
        );
        let spec = mapping(choice.mapping);
        let services: BTreeSet<String> = spec["services"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(services.len(), 3, "{services:?}");

        // The build runs this choice's buildspec, which the source holds at its root.
        assert_eq!(
            t["Resources"]["BuildProject"]["Properties"]["Source"]["BuildSpec"], choice.buildspec,
            "{rolling}"
        );
        let in_source = examples().join("pipeline/source").join(choice.buildspec);
        assert!(
            in_source.is_file() || choice.buildspec == "buildspec.yml",
            "{} is in no source",
            choice.buildspec
        );

        // What each artifact holds after a real run of that buildspec.
        let run = run_buildspec(&choice);
        let written = files_under(&run.primary.join("imagedef-out"));
        let artifacts: BTreeMap<String, BTreeSet<String>> =
            buildspec_artifacts(&choice.buildspec_file)
                .into_iter()
                .filter(|(id, _)| !id.is_empty())
                .map(|(id, (base, patterns))| {
                    let files = artifact_files(&run.primary, &base, &patterns);
                    assert!(!files.is_empty(), "{rolling}: artifact {id} holds nothing");
                    (id, files)
                })
                .collect();

        let all = actions(&t, "Pipeline");
        let fanout = action(&all, "Fanout");
        let outputs: BTreeSet<String> = names(&fanout["OutputArtifacts"]).into_iter().collect();
        assert_eq!(
            outputs,
            artifacts.keys().cloned().collect(),
            "{rolling}: Fanout's output artifacts are the buildspec's secondary artifacts"
        );

        let mut deployed = BTreeSet::new();
        for (stage, deploy) in &all {
            if stage != "Deploy" {
                continue;
            }
            let name = deploy["Name"].as_str().unwrap();
            let at = format!("{rolling} Deploy/{name}");
            let inputs = names(&deploy["InputArtifacts"]);
            let [input] = inputs.as_slice() else {
                panic!("{at}: one input artifact, not {inputs:?}");
            };
            let files = &artifacts[input];
            let config = &deploy["Configuration"];
            match deploy["ActionTypeId"]["Provider"].as_str().unwrap() {
                "ECS" => {
                    // web and batch: the action, its artifact and the ECS service are named
                    // like the mapping's service.
                    assert_eq!(input, name, "{at}");
                    assert_eq!(default_of(&plain, &config["ServiceName"]), name, "{at}");
                    let file = config["FileName"].as_str().unwrap();
                    assert!(files.contains(file), "{at}: {file} not in {files:?}");
                    let definitions: Value = serde_json::from_str(&read(
                        &run.primary.join("imagedef-out").join(name).join(file),
                    ))
                    .unwrap();
                    let containers: BTreeSet<&str> = definitions
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|d| d["name"].as_str().unwrap())
                        .collect();
                    let want: BTreeSet<&str> = spec["services"][name]["containers"]
                        .as_object()
                        .unwrap()
                        .keys()
                        .map(String::as_str)
                        .collect();
                    assert_eq!(containers, want, "{at}");
                    assert!(spec["services"][name].get("blueGreen").is_none(), "{at}");
                    deployed.insert(name.to_owned());
                }
                "CodeDeployToECS" => {
                    // api: all three inputs from the service's own, checked artifact; never
                    // from the source.
                    assert_eq!(input, name, "{at}");
                    for key in [
                        "Image1ArtifactName",
                        "TaskDefinitionTemplateArtifact",
                        "AppSpecTemplateArtifact",
                    ] {
                        assert_eq!(config[key], name, "{at}: {key}");
                    }
                    let taskdef = config["TaskDefinitionTemplatePath"]
                        .as_str()
                        .unwrap_or("taskdef.json");
                    let appspec = config["AppSpecTemplatePath"]
                        .as_str()
                        .unwrap_or("appspec.yaml");
                    for file in ["imageDetail.json", taskdef, appspec] {
                        assert!(files.contains(file), "{at}: {file} not in {files:?}");
                    }
                    let service = &spec["services"][name];
                    let container = service["blueGreen"].as_str().unwrap();
                    // The template imagedef checked and wrote takes the image through the
                    // action's placeholder.
                    let written_taskdef: Value = serde_json::from_str(&read(
                        &run.primary.join("imagedef-out").join(name).join(taskdef),
                    ))
                    .unwrap();
                    let placeholder =
                        format!("<{}>", config["Image1ContainerName"].as_str().unwrap());
                    let def = written_taskdef["containerDefinitions"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|c| c["name"] == container)
                        .unwrap();
                    assert_eq!(def["image"], placeholder.as_str(), "{at}");
                    let detail = read(
                        &run.primary
                            .join("imagedef-out")
                            .join(name)
                            .join("imageDetail.json"),
                    );
                    assert!(detail.contains("@sha256:"), "{at}: {detail}");
                    deployed.insert(name.to_owned());
                }
                "CodeBuild" => {
                    // ImagedefDeploy: the deploy project on the whole emit output.
                    assert_eq!(rolling, "ImagedefDeploy", "{at}");
                    assert_eq!(config["ProjectName"], json!({ "Ref": "DeployProject" }));
                    let buildspec = t["Resources"]["DeployProject"]["Properties"]["Source"]
                        ["BuildSpec"]["Fn::Sub"]
                        .as_str()
                        .unwrap();
                    assert!(
                        buildspec.contains("imagedef deploy --out \"$CODEBUILD_SRC_DIR\""),
                        "{buildspec}"
                    );
                    assert_eq!(
                        files, &written,
                        "{at}: {input} must hold all of imagedef-out, paths kept"
                    );
                    assert!(files.contains("SHA256SUMS") && files.contains("imagedef-report.json"));
                    // It deploys the services whose task definition came from ecs://, which
                    // name the cluster and services the template scopes its role to.
                    for (service, body) in spec["services"].as_object().unwrap() {
                        let target = body["taskDefinition"].as_str().unwrap();
                        let Some(target) = target.strip_prefix("ecs://") else {
                            continue;
                        };
                        let cluster = plain["Parameters"]["ClusterName"]["Default"]
                            .as_str()
                            .unwrap();
                        let parameter = match service.as_str() {
                            "web" => "WebServiceName",
                            "batch" => "BatchServiceName",
                            other => panic!("{at}: {other} has no service parameter"),
                        };
                        let ecs_service =
                            plain["Parameters"][parameter]["Default"].as_str().unwrap();
                        assert_eq!(target, format!("{cluster}/{ecs_service}"), "{at}");
                        assert!(
                            files.contains(&format!("{service}/imagedefinitions.json")),
                            "{at}"
                        );
                        deployed.insert(service.clone());
                    }
                }
                other => panic!("{at}: provider {other}"),
            }
        }
        assert_eq!(deployed, services, "{rolling}: every service deployed once");

        // The build reads every source, the mapping's artifact selectors name them, and they are
        // the example's directories (examples/pipeline/source is Source).
        let sources: BTreeSet<String> = all
            .iter()
            .filter(|(stage, _)| stage == "Source")
            .flat_map(|(_, a)| names(&a["OutputArtifacts"]))
            .collect();
        let inputs: BTreeSet<String> = names(&fanout["InputArtifacts"]).into_iter().collect();
        assert_eq!(inputs, sources);
        assert_eq!(fanout["Configuration"]["PrimarySource"], "Source");
        for body in spec["services"].as_object().unwrap().values() {
            for container in body["containers"].as_object().unwrap().values() {
                if let Some(artifact) = container["artifact"].as_str() {
                    assert!(
                        inputs.contains(artifact),
                        "{artifact} is no input of Fanout"
                    );
                }
            }
        }
        let mut dirs: BTreeSet<String> = std::fs::read_dir(examples().join("pipeline"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(dirs.remove("source"));
        dirs.insert("Source".to_owned());
        assert_eq!(inputs, dirs);
    }
}

#[test]
fn the_deploy_mapping_is_the_mapping_with_the_rolling_services_read_from_ecs() {
    let plain = mapping("imagedef.json");
    let deploy = mapping("imagedef-deploy.json");
    let mut expected = plain.clone();
    let mut rolling = Vec::new();
    for (service, body) in deploy["services"].as_object().unwrap() {
        let target = body["taskDefinition"].as_str().unwrap();
        if target.starts_with("ecs://") {
            expected["services"][service]["taskDefinition"] = json!(target);
            rolling.push(service.as_str());
        }
    }
    assert_eq!(rolling, ["web", "batch"]);
    assert_eq!(deploy, expected);
    // The buildspecs differ in the mapping and in the artifacts only.
    let commands = buildspec_commands(&repo_file("buildspec.yml"));
    let deploy_commands = buildspec_commands(&choices()[1].buildspec_file);
    assert_eq!(
        deploy_commands,
        commands
            .iter()
            .map(|c| c.replace("imagedef.json", "imagedef-deploy.json"))
            .collect::<Vec<_>>()
    );
}

#[test]
fn the_consuming_pipelines_read_files_each_bundle_holds() {
    // What emit --bundle writes for the example (what producer-publish.yaml publishes).
    let env = Env::new();
    env.copy_dir(&examples().join("pipeline"), "pipeline");
    let mut args = vec![
        "emit".to_owned(),
        "--mapping".to_owned(),
        "pipeline/source/imagedef.json".to_owned(),
        "--bundle".to_owned(),
        "--out".to_owned(),
        "out".to_owned(),
        "Source=pipeline/source".to_owned(),
    ];
    for name in ["WebImage", "ApiImage", "ProxyImage", "BatchImages"] {
        args.push(format!("{name}=pipeline/{name}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    env.run(&args)
        .code(0)
        .stdout_has("wrote 11 files for 3 services to out\n")
        .stderr_has("templates/imageDetail.json: refused: key \"ImageURI\" = \"<IMAGE1_NAME>\"");

    let t = template("consumer-account.yaml");
    let mut pipelines = 0;
    for (name, resource) in t["Resources"].as_object().unwrap() {
        if resource["Type"] != "AWS::CodePipeline::Pipeline" {
            continue;
        }
        pipelines += 1;
        let all = actions(&t, name);
        let [(_, source), (_, deploy)] = all.as_slice() else {
            panic!("{name}: a source and a deploy action, not {all:?}");
        };
        let service = source["Name"].as_str().unwrap();
        assert_eq!(
            source["Configuration"]["S3ObjectKey"],
            json!({ "Fn::Sub": format!("${{KeyPrefix}}/{service}.zip") })
        );
        assert_eq!(names(&source["OutputArtifacts"]), [service]);
        assert_eq!(names(&deploy["InputArtifacts"]), [service]);
        let zip = std::fs::File::open(env.path(&format!("out/{service}.zip")))
            .unwrap_or_else(|e| panic!("{name}: emit wrote no {service}.zip ({e})"));
        let bundle: BTreeSet<String> = zip::ZipArchive::new(zip)
            .unwrap()
            .file_names()
            .map(|n| n.unwrap().into_owned())
            .collect();
        let config = &deploy["Configuration"];
        let reads: Vec<String> = match deploy["ActionTypeId"]["Provider"].as_str().unwrap() {
            "ECS" => vec![config["FileName"].as_str().unwrap().to_owned()],
            "CodeDeployToECS" => {
                for key in [
                    "Image1ArtifactName",
                    "TaskDefinitionTemplateArtifact",
                    "AppSpecTemplateArtifact",
                ] {
                    assert_eq!(config[key], service, "{name}: {key}");
                }
                vec![
                    "imageDetail.json".to_owned(),
                    config["TaskDefinitionTemplatePath"]
                        .as_str()
                        .unwrap_or("taskdef.json")
                        .to_owned(),
                    config["AppSpecTemplatePath"]
                        .as_str()
                        .unwrap_or("appspec.yaml")
                        .to_owned(),
                ]
            }
            other => panic!("{name}: provider {other}"),
        };
        for file in reads {
            assert!(
                bundle.contains(&file),
                "{name}: {file} not in {service}.zip {bundle:?}"
            );
        }
    }
    assert_eq!(pipelines, 3, "web, batch and api");
}

/// What an action type takes: (owner, category, provider) -> required and optional
/// configuration keys, and the input and output artifact counts (min, max).
struct ActionType {
    key: (&'static str, &'static str, &'static str),
    required: &'static [&'static str],
    optional: &'static [&'static str],
    inputs: (u64, u64),
    outputs: (u64, u64),
}

/// AWS-FACTS.md §2.2 (ECR), §6 (S3), §4.1 (CodeBuild), §1 (ECS), §3 (CodeDeployToECS); the
/// `CodeStarSourceConnection` action reference and CodeBuild's `ProjectName` are from the
/// CodePipeline action reference pages.
const ACTION_TYPES: &[ActionType] = &[
    ActionType {
        key: ("AWS", "Source", "ECR"),
        required: &["RepositoryName"],
        optional: &["ImageTag"],
        inputs: (0, 0),
        outputs: (1, 1),
    },
    ActionType {
        key: ("AWS", "Source", "S3"),
        required: &["S3Bucket", "S3ObjectKey"],
        optional: &["PollForSourceChanges", "AllowOverrideForS3ObjectKey"],
        inputs: (0, 0),
        outputs: (1, 1),
    },
    ActionType {
        key: ("AWS", "Source", "CodeStarSourceConnection"),
        required: &["ConnectionArn", "FullRepositoryId", "BranchName"],
        optional: &["OutputArtifactFormat", "DetectChanges"],
        inputs: (0, 0),
        outputs: (1, 1),
    },
    ActionType {
        key: ("AWS", "Build", "CodeBuild"),
        required: &["ProjectName"],
        optional: &[
            "PrimarySource",
            "EnvironmentVariables",
            "BatchEnabled",
            "CombineArtifacts",
        ],
        inputs: (1, 5),
        outputs: (0, 5),
    },
    ActionType {
        key: ("AWS", "Deploy", "ECS"),
        required: &["ClusterName", "ServiceName"],
        optional: &["FileName", "DeploymentTimeout"],
        inputs: (1, 1),
        outputs: (0, 0),
    },
    ActionType {
        key: ("AWS", "Deploy", "CodeDeployToECS"),
        required: &[
            "ApplicationName",
            "DeploymentGroupName",
            "TaskDefinitionTemplateArtifact",
            "AppSpecTemplateArtifact",
        ],
        optional: &[
            "TaskDefinitionTemplatePath",
            "AppSpecTemplatePath",
            "Image1ArtifactName",
            "Image1ContainerName",
            "Image2ArtifactName",
            "Image2ContainerName",
            "Image3ArtifactName",
            "Image3ContainerName",
            "Image4ArtifactName",
            "Image4ContainerName",
        ],
        inputs: (1, 5),
        outputs: (0, 0),
    },
];

/// `name` fits the artifact (or, with `.` and `@`, action) name rule: 1-100 of `[A-Za-z0-9_-]`.
fn valid_name(name: &str, extra: &str) -> bool {
    (1..=100).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || extra.contains(c))
}

fn count(list: &Value) -> u64 {
    list.as_array().map_or(0, |l| l.len() as u64)
}

#[test]
fn cfn_lint_counts_artifacts_as_the_aws_facts_do() {
    let cfn_lint_counts = cfn(&["artifact-counts"]);
    // cfn-lint's own table (rule E3702) says what AWS-FACTS.md says, where it has the type.
    let mut in_cfn_lint = 0;
    for kind in ACTION_TYPES {
        let (owner, category, provider) = kind.key;
        let Some(counts) = cfn_lint_counts[owner][category].get(provider) else {
            continue;
        };
        in_cfn_lint += 1;
        for (which, (min, max)) in [
            ("InputArtifacts", kind.inputs),
            ("OutputArtifacts", kind.outputs),
        ] {
            let limits = &counts[which];
            assert_eq!(
                limits["minItems"].as_u64().unwrap_or(0),
                min,
                "{provider} {which}"
            );
            assert_eq!(limits["maxItems"].as_u64(), Some(max), "{provider} {which}");
        }
    }
    assert_eq!(
        in_cfn_lint, 4,
        "ECR, S3, CodeBuild and ECS are in cfn-lint's table"
    );
}

#[test]
#[allow(clippy::too_many_lines)] // every variant's every action through the same checks, read together
fn every_action_has_the_documented_provider_artifact_counts_and_configuration_keys() {
    // Each pipeline as CloudFormation makes it: pipeline.yaml for every source, deploy and
    // publishing choice, and the consumer's three pipelines.
    let mut variants = Vec::new();
    for source in ["CodeStarSourceConnection", "S3"] {
        for rolling in ["EcsAction", "ImagedefDeploy"] {
            for publish in ["", "shop-publish"] {
                let params = pipeline_required(&[
                    &format!("SourceProvider={source}"),
                    "SourceBucket=shop-source",
                    &format!("RollingDeploy={rolling}"),
                    &format!("PublishProjectName={publish}"),
                ]);
                variants.push((
                    format!("pipeline.yaml {source} {rolling} publish={publish:?}"),
                    resolved("pipeline.yaml", &params),
                    vec!["Pipeline"],
                ));
            }
        }
    }
    variants.push((
        "consumer-account.yaml".to_owned(),
        resolved(
            "consumer-account.yaml",
            &[
                format!("PublisherRoleArn=arn:aws:iam::{ACCOUNT}:role/publish"),
                format!("TaskRoleArns=arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"),
            ],
        ),
        vec!["WebPipeline", "BatchPipeline", "ApiPipeline"],
    ));

    let mut checked = 0;
    for (file, template, pipelines) in &variants {
        for pipeline in pipelines {
            let props = &template["Resources"][pipeline]["Properties"];
            assert_eq!(props["PipelineType"], "V2", "{file} {pipeline}");
            assert_eq!(props["ArtifactStore"]["EncryptionKey"]["Type"], "KMS");
            let mut stage_of = BTreeMap::new();
            let all = actions(template, pipeline);
            for (stage, action) in &all {
                let name = action["Name"].as_str().unwrap();
                let at = format!("{file} {pipeline} {stage}/{name}");
                assert!(valid_name(name, ".@"), "{at}: action name");
                let id = &action["ActionTypeId"];
                let key = (
                    id["Owner"].as_str().unwrap(),
                    id["Category"].as_str().unwrap(),
                    id["Provider"].as_str().unwrap(),
                );
                let kind = ACTION_TYPES
                    .iter()
                    .find(|k| k.key == key)
                    .unwrap_or_else(|| panic!("{at}: undocumented action type {key:?}"));
                assert_eq!(id["Version"], "1", "{at}");
                let (inputs, outputs) = (
                    count(&action["InputArtifacts"]),
                    count(&action["OutputArtifacts"]),
                );
                assert!(
                    (kind.inputs.0..=kind.inputs.1).contains(&inputs),
                    "{at}: {inputs} inputs"
                );
                assert!(
                    (kind.outputs.0..=kind.outputs.1).contains(&outputs),
                    "{at}: {outputs} outputs"
                );
                let config = action["Configuration"].as_object().unwrap();
                for required in kind.required {
                    assert!(config.contains_key(*required), "{at}: no {required}");
                }
                for key in config.keys() {
                    assert!(
                        kind.required.contains(&key.as_str())
                            || kind.optional.contains(&key.as_str()),
                        "{at}: undocumented configuration key {key}"
                    );
                }
                if kind.key.2 == "CodeBuild" && inputs > 1 {
                    assert!(config.contains_key("PrimarySource"), "{at}: PrimarySource");
                }
                if kind.key.2 == "CodeDeployToECS" {
                    let inputs = names(&action["InputArtifacts"]);
                    for key in [
                        "TaskDefinitionTemplateArtifact",
                        "AppSpecTemplateArtifact",
                        "Image1ArtifactName",
                    ] {
                        let artifact = config[key].as_str().unwrap();
                        assert!(
                            inputs.iter().any(|i| i == artifact),
                            "{at}: {key} {artifact}"
                        );
                    }
                }
                if kind.key.1 == "Source" && kind.key.2 == "S3" {
                    // Started by an EventBridge rule, so no polling as well.
                    assert_eq!(config["PollForSourceChanges"], "false", "{at}");
                }
                // Every input was produced by an earlier stage.
                for input in names(&action["InputArtifacts"]) {
                    let from = stage_of
                        .get(&input)
                        .unwrap_or_else(|| panic!("{at}: {input} from nowhere"));
                    assert_ne!(from, stage, "{at}: {input} comes from the same stage");
                }
                for output in names(&action["OutputArtifacts"]) {
                    assert!(valid_name(&output, ""), "{at}: artifact name {output}");
                    assert!(
                        stage_of.insert(output.clone(), stage.clone()).is_none(),
                        "{at}: {output} made twice"
                    );
                }
                checked += 1;
            }
        }
    }
    // pipeline.yaml, 8 variants: 5 sources and Fanout each, Publish in 4, deploys 3 (EcsAction)
    // or 2 (ImagedefDeploy) in 4 each: 40 + 8 + 4 + 12 + 8; the consumer: 3 pipelines x 2.
    assert_eq!(checked, 72 + 6);
}

/// An ECR repository in moto; its ARN.
fn repository(name: &str) -> String {
    let (status, text) = moto().call(
        "ecr",
        REGION,
        "AmazonEC2ContainerRegistry_V20150921.CreateRepository",
        &json!({ "repositoryName": name }).to_string(),
    );
    assert_eq!(status, 200, "{text}");
    let reply: Value = serde_json::from_str(&text).unwrap();
    reply["repository"]["repositoryArn"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An ECS service in moto's `cluster`; its ARN.
fn service(cluster: &str, name: &str) -> String {
    moto().ecs_service(REGION, cluster, name, &[name]);
    let (status, text) = moto().call(
        "ecs",
        REGION,
        "AmazonEC2ContainerServiceV20141113.DescribeServices",
        &json!({ "cluster": cluster, "services": [name] }).to_string(),
    );
    assert_eq!(status, 200, "{text}");
    let reply: Value = serde_json::from_str(&text).unwrap();
    reply["services"][0]["serviceArn"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The repositories and services a pipeline stack names, as moto has them.
struct Shop {
    repos: [String; 3],
    repo_arns: Vec<String>,
    cluster: String,
    service_arns: Vec<String>,
}

fn shop() -> Shop {
    let repos = ["shop/web", "shop/api", "shop/proxy"].map(unique);
    let repo_arns = repos.iter().map(|r| repository(r)).collect();
    let cluster = unique("prod");
    let service_arns = vec![service(&cluster, "web"), service(&cluster, "batch")];
    Shop {
        repos,
        repo_arns,
        cluster,
        service_arns,
    }
}

/// The stack `name` of `file` created in moto with `params` (or made again, when it exists, as
/// `aws cloudformation deploy` updates it).
fn stack_named(file: &str, name: &str, params: &[String]) -> Value {
    let endpoint = moto().endpoint();
    let path = template_path(file);
    let mut args = vec!["moto", endpoint.as_str(), path.to_str().unwrap(), name];
    args.extend(params.iter().map(String::as_str));
    let created = cfn(&args);
    assert_eq!(created["StackStatus"], "CREATE_COMPLETE", "{created:#}");
    created
}

/// A new stack of `file` in moto with `params`: its name, and what moto holds.
fn stack(file: &str, params: &[String]) -> (String, Value) {
    let name = unique("imagedef-cfn");
    let created = stack_named(file, &name, params);
    (name, created)
}

fn pipeline_params(shop: &Shop, extra: &[&str]) -> Vec<String> {
    let mut params = vec![
        format!("WebRepository={}", shop.repos[0]),
        format!("ApiRepository={}", shop.repos[1]),
        format!("ProxyRepository={}", shop.repos[2]),
        format!("ClusterName={}", shop.cluster),
        "ImageTag=release".to_owned(),
        "BatchImagesBucket=batch-images".to_owned(),
        format!("ImagedefImage={ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/imagedef:0.1.0"),
        format!("TaskRoleArns=arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"),
    ];
    params.extend(extra.iter().map(|p| (*p).to_owned()));
    params
}

/// The statements of a role's inline policy, by Sid.
fn statements(role: &Value, policy: &str) -> BTreeMap<String, Value> {
    role["Policies"][policy]["Statement"]
        .as_array()
        .unwrap_or_else(|| panic!("no policy {policy}: {role:#}"))
        .iter()
        .map(|s| (s["Sid"].as_str().unwrap_or("").to_owned(), s.clone()))
        .collect()
}

/// A statement's `Action` or `Resource` as a set, whether written as one string or a list.
pub(crate) fn set(value: &Value) -> BTreeSet<String> {
    match value {
        Value::String(s) => BTreeSet::from([s.clone()]),
        Value::Array(list) => list
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect(),
        other => panic!("not a string or a list: {other}"),
    }
}

fn owned(list: &[String]) -> BTreeSet<String> {
    list.iter().cloned().collect()
}

fn readme() -> String {
    read(&repo_file("README.md"))
}

/// The JSON block that follows `marker` in README.md.
fn readme_json(marker: &str) -> Value {
    let readme = readme();
    let at = readme
        .find(marker)
        .unwrap_or_else(|| panic!("README.md lost {marker:?}"));
    let block = readme[at..].split("```json\n").nth(1).unwrap();
    let block = block.split("```").next().unwrap();
    serde_json::from_str(block).unwrap_or_else(|e| panic!("README.md after {marker:?}: {e}"))
}

/// One row of README.md's IAM table ("IAM: what each command needs"): one policy statement.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) command: String,
    pub(crate) actions: BTreeSet<String>,
    pub(crate) resource: String,
    pub(crate) conditions: BTreeSet<String>,
    pub(crate) sid: Option<String>,
}

fn backticked(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

pub(crate) fn iam_table() -> Vec<Row> {
    let readme = readme();
    let heading = "### IAM: what each command needs";
    let at = readme
        .find(heading)
        .unwrap_or_else(|| panic!("README.md lost {heading:?}"));
    let action = Regex::new(r"^[a-z0-9-]+:[A-Za-z0-9]+$").unwrap();
    let mut rows: Vec<Row> = Vec::new();
    let mut command = String::new();
    let mut started = false;
    for line in readme[at..].lines().skip(1) {
        if !line.starts_with('|') {
            if started {
                break;
            }
            continue;
        }
        started = true;
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        assert_eq!(cells.len(), 5, "README.md IAM table: {line}");
        if cells[0] == "command and flag" || cells[0].starts_with("---") {
            continue;
        }
        if !cells[0].is_empty() {
            cells[0].clone_into(&mut command);
        }
        let resource = backticked(cells[2]);
        let [resource] = resource.as_slice() else {
            panic!("README.md IAM table: not one resource: {line}");
        };
        let row = Row {
            command: command.clone(),
            actions: backticked(cells[1])
                .into_iter()
                .filter(|a| action.is_match(a))
                .collect(),
            resource: resource.clone(),
            conditions: backticked(cells[3]).into_iter().collect(),
            sid: backticked(cells[4]).into_iter().next(),
        };
        assert!(
            !row.actions.is_empty(),
            "README.md IAM table: no action: {line}"
        );
        rows.push(row);
    }
    assert!(
        rows.len() > 20,
        "README.md's IAM table has {} rows",
        rows.len()
    );
    rows
}

/// The row's resource as a pattern: its capitalised words (REGION, ACCOUNT, NAME, ...) stand
/// for any name, everything else for itself.
fn resource_pattern(resource: &str) -> Regex {
    let placeholder = Regex::new("[A-Z][A-Z0-9]+").unwrap();
    let mut pattern = String::from("^");
    let mut last = 0;
    for m in placeholder.find_iter(resource) {
        pattern.push_str(&regex::escape(&resource[last..m.start()]));
        pattern.push_str("[A-Za-z0-9._/*-]+");
        last = m.end();
    }
    pattern.push_str(&regex::escape(&resource[last..]));
    pattern.push('$');
    Regex::new(&pattern).unwrap()
}

/// The condition keys a statement's `Condition` names.
pub(crate) fn condition_keys(statement: &Value) -> BTreeSet<String> {
    statement
        .get("Condition")
        .map(|c| {
            c.as_object()
                .unwrap()
                .values()
                .flat_map(|keys| keys.as_object().unwrap().keys().cloned())
                .collect()
        })
        .unwrap_or_default()
}

/// Every statement of `role`'s policy is the table's row of its Sid (actions, resources,
/// condition keys), and the role has exactly the statements `sids`.
#[track_caller]
fn holds_the_table(what: &str, policy: &BTreeMap<String, Value>, sids: &[&str]) {
    let table = iam_table();
    let have: BTreeSet<&str> = policy.keys().map(String::as_str).collect();
    let want: BTreeSet<&str> = sids.iter().copied().collect();
    assert_eq!(have, want, "{what}: its statements");
    for (sid, statement) in policy {
        let rows: Vec<&Row> = table
            .iter()
            .filter(|r| r.sid.as_deref() == Some(sid.as_str()))
            .collect();
        let [row] = rows.as_slice() else {
            panic!(
                "{what}: {} rows of README.md's IAM table have Sid {sid}",
                rows.len()
            );
        };
        assert_eq!(statement["Effect"], "Allow", "{what} {sid}");
        assert_eq!(
            set(&statement["Action"]),
            row.actions,
            "{what} {sid}: actions"
        );
        let pattern = resource_pattern(&row.resource);
        for resource in set(&statement["Resource"]) {
            assert!(
                pattern.is_match(&resource),
                "{what} {sid}: {resource} is not a {}",
                row.resource
            );
        }
        assert_eq!(
            condition_keys(statement),
            row.conditions,
            "{what} {sid}: condition keys"
        );
    }
}

#[test]
fn the_readme_iam_table_names_each_statement_once_and_confirm_is_deploy_read_only() {
    let table = iam_table();
    let mut sids = BTreeSet::new();
    for row in &table {
        if let Some(sid) = &row.sid {
            assert!(sids.insert(sid.clone()), "Sid {sid} twice");
        }
    }
    // `deploy`'s own rows (not those of --role-arn, which deploy and confirm share).
    let is_deploy = |r: &Row| r.command == "`deploy`";
    let is_confirm = |r: &Row| r.command.starts_with("`confirm`");
    let of = |rows: &dyn Fn(&Row) -> bool| -> BTreeSet<String> {
        table
            .iter()
            .filter(|r| rows(r))
            .flat_map(|r| r.actions.iter().cloned())
            .collect()
    };
    let deploy = of(&is_deploy);
    let confirm = of(&is_confirm);
    let writes = BTreeSet::from(
        [
            "ecs:UpdateService",
            "ecs:RegisterTaskDefinition",
            "ecs:TagResource",
            "iam:PassRole",
        ]
        .map(String::from),
    );
    assert!(writes.is_subset(&deploy), "{deploy:?}");
    assert_eq!(confirm, &deploy - &writes);
    // The same resources for the same actions.
    for row in table.iter().filter(|r| is_confirm(r)) {
        let of_deploy = table
            .iter()
            .find(|r| is_deploy(r) && r.actions.is_superset(&row.actions))
            .unwrap_or_else(|| panic!("no deploy row for {row:?}"));
        assert_eq!(row.resource, of_deploy.resource, "{row:?}");
        assert_eq!(row.conditions, of_deploy.conditions, "{row:?}");
    }
    // A resource `*` only with what has no resource-level permissions, or with a condition.
    for row in table.iter().filter(|r| r.resource == "*") {
        assert!(
            !row.conditions.is_empty()
                || row.actions.iter().all(|a| [
                    "ecr:GetAuthorizationToken",
                    "inspector2:ListFindings",
                    "ecs:DescribeTaskDefinition",
                    "ecs:RegisterTaskDefinition",
                ]
                .contains(&a.as_str())),
            "{row:?}"
        );
    }
}

#[test]
#[allow(clippy::too_many_lines)] // one stack, each of its resources held to what the README says, in turn
fn the_pipeline_stack_in_moto_holds_its_roles_keys_buckets_and_rules() {
    let shop = shop();
    let connection = format!("arn:aws:codeconnections:{REGION}:{ACCOUNT}:connection/0abc");
    let (name, created) = stack(
        "pipeline.yaml",
        &pipeline_params(
            &shop,
            &[
                &format!("ConnectionArn={connection}"),
                "FullRepositoryId=shop/deploy",
            ],
        ),
    );
    let r = &created["Resources"];
    assert_eq!(
        created["Skipped"],
        json!([
            "AccessLogBucketPolicy",
            "ArtifactBucketPolicy",
            "BuildProject",
            "DeployProject",
            "Pipeline"
        ])
    );
    // Everything else was created, less what only another choice makes.
    let made: BTreeSet<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        made,
        BTreeSet::from([
            "ArtifactKey",
            "ArtifactKeyAlias",
            "AccessLogBucket",
            "ArtifactBucket",
            "BuildLogGroup",
            "BuildRole",
            "PipelineRole",
            "EventsRole",
            "ImagePushRule",
            "BatchImagesRule",
        ])
    );

    let key = &r["ArtifactKey"];
    let key_arn = key["Arn"].as_str().unwrap();
    assert_eq!(key["KeyRotationEnabled"], true);
    assert_eq!(key["Aliases"], json!([format!("alias/{name}-artifacts")]));
    let group = format!("/aws/codebuild/{name}-imagedef");
    // CloudWatch Logs may use the key for this stack's CodeBuild log groups, and no other.
    assert_eq!(
        key["Policy"]["Statement"],
        json!([
            { "Sid": "AccountAdministers", "Effect": "Allow",
              "Principal": { "AWS": format!("arn:aws:iam::{ACCOUNT}:root") },
              "Action": "kms:*", "Resource": "*" },
            { "Sid": "LogsEncrypt", "Effect": "Allow",
              "Principal": { "Service": format!("logs.{REGION}.amazonaws.com") },
              "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
              "Resource": "*",
              "Condition": { "ArnLike": { "kms:EncryptionContext:aws:logs:arn":
                  format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/codebuild/{name}-*") } } }
        ])
    );
    let bucket = r["ArtifactBucket"]["PhysicalResourceId"].as_str().unwrap();
    let sse = &r["ArtifactBucket"]["Encryption"]["Rules"][0]["ApplyServerSideEncryptionByDefault"];
    assert_eq!(sse["SSEAlgorithm"], "aws:kms");
    assert_eq!(sse["KMSMasterKeyID"], key_arn);
    // Server access log delivery writes with SSE-S3.
    let sse = &r["AccessLogBucket"]["Encryption"]["Rules"][0]["ApplyServerSideEncryptionByDefault"];
    assert_eq!(sse["SSEAlgorithm"], "AES256");

    assert_eq!(
        r["BuildLogGroup"]["LogGroups"],
        json!([{ "logGroupName": group, "retentionInDays": 30 }])
    );

    // moto keeps neither versioning, logging nor a log group's key from a stack: those are read
    // from the template as CloudFormation resolves it.
    let t = resolved("pipeline.yaml", &pipeline_required(&[]));
    let props = &t["Resources"]["ArtifactBucket"]["Properties"];
    assert_eq!(props["VersioningConfiguration"]["Status"], "Enabled");
    assert_eq!(
        props["LoggingConfiguration"]["DestinationBucketName"],
        json!({ "Ref": "AccessLogBucket" })
    );
    assert_eq!(
        t["Resources"]["BuildLogGroup"]["Properties"]["KmsKeyId"],
        json!({ "Fn::GetAtt": ["ArtifactKey", "Arn"] })
    );
    let policy = &t["Resources"]["AccessLogBucketPolicy"]["Properties"]["PolicyDocument"];
    assert_eq!(
        policy["Statement"][0]["Principal"],
        json!({ "Service": "logging.s3.amazonaws.com" })
    );
    assert_eq!(
        policy["Statement"][0]["Condition"]["ArnLike"]["aws:SourceArn"],
        json!({ "Fn::GetAtt": ["ArtifactBucket", "Arn"] })
    );

    // The build role: logs, the artifact store, nothing of ECR or ECS without the flags.
    let build = &r["BuildRole"];
    assert_eq!(
        build["AssumeRolePolicyDocument"]["Statement"][0]["Principal"],
        json!({ "Service": "codebuild.amazonaws.com" })
    );
    let s = statements(build, "imagedef-build");
    holds_the_table(
        "BuildRole",
        &s,
        &["ArtifactBucket", "ArtifactKey", "Artifacts", "Logs"],
    );
    assert_eq!(
        s["Logs"]["Resource"],
        format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*")
    );
    assert_eq!(
        s["Artifacts"]["Resource"],
        format!("arn:aws:s3:::{bucket}/*")
    );
    assert_eq!(
        s["ArtifactBucket"]["Resource"],
        format!("arn:aws:s3:::{bucket}")
    );
    assert_eq!(s["ArtifactKey"]["Resource"], key_arn);

    // The pipeline role names the repositories, cluster and services moto has, and the
    // connection; it may start the build project only.
    let p = statements(&r["PipelineRole"], "imagedef-pipeline");
    assert_eq!(set(&p["EcrSources"]["Resource"]), owned(&shop.repo_arns));
    assert_eq!(
        set(&p["EcsDeployServices"]["Resource"]),
        owned(&shop.service_arns)
    );
    let cluster_arn = format!("arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{}", shop.cluster);
    assert_eq!(
        p["EcsDeployTasks"]["Resource"],
        format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task/{}/*", shop.cluster)
    );
    assert_eq!(
        p["EcsDeployListTasks"]["Condition"],
        json!({ "ArnEquals": { "ecs:cluster": cluster_arn } })
    );
    assert_eq!(
        p["EcsDeployTags"]["Condition"],
        json!({ "StringEquals": { "ecs:CreateAction": "RegisterTaskDefinition" } })
    );
    assert_eq!(
        set(&p["EcsDeployTaskDefinitions"]["Action"]),
        BTreeSet::from([
            "ecs:DescribeTaskDefinition".to_owned(),
            "ecs:RegisterTaskDefinition".to_owned()
        ])
    );
    assert_eq!(
        p["Build"]["Resource"],
        json!(["arn:aws:skipped:eu-west-1:123456789012:BuildProject/Arn"])
    );
    assert_eq!(p["Connection"]["Resource"], connection.as_str());
    assert_eq!(
        set(&p["SourceObjects"]["Resource"]),
        BTreeSet::from(["arn:aws:s3:::batch-images/batch/images.zip".to_owned()])
    );
    assert_eq!(
        p["Artifacts"]["Resource"],
        format!("arn:aws:s3:::{bucket}/*")
    );
    assert_eq!(
        p["PassTaskRoles"]["Condition"],
        json!({ "StringEquals": { "iam:PassedToService": "ecs-tasks.amazonaws.com" } })
    );

    // The rules start the pipeline on a push of the tag to one of the three repositories, and on
    // a new BatchImages zip, with the events role, which may start that pipeline and nothing else.
    let events_role = r["EventsRole"]["Arn"].as_str().unwrap();
    // The pipeline itself is not in moto: its name stands in for the Ref.
    let pipeline_arn = format!("arn:aws:codepipeline:{REGION}:{ACCOUNT}:Pipeline");
    let push = &r["ImagePushRule"];
    assert_eq!(
        push["EventPattern"],
        json!({ "source": ["aws.ecr"], "detail-type": ["ECR Image Action"],
                "detail": { "action-type": ["PUSH"], "result": ["SUCCESS"],
                            "repository-name": shop.repos, "image-tag": ["release"] } })
    );
    let batch = &r["BatchImagesRule"];
    assert_eq!(
        batch["EventPattern"]["detail"],
        json!({ "bucket": { "name": ["batch-images"] }, "object": { "key": ["batch/images.zip"] } })
    );
    for rule in [push, batch] {
        assert_eq!(rule["State"], "ENABLED");
        assert_eq!(
            rule["Targets"],
            json!([{ "Id": "pipeline", "Arn": pipeline_arn, "RoleArn": events_role }])
        );
    }
    let start = statements(&r["EventsRole"], "start-pipeline");
    assert_eq!(start[""]["Action"], "codepipeline:StartPipelineExecution");
    assert_eq!(start[""]["Resource"], pipeline_arn.as_str());
}

#[test]
#[allow(clippy::too_many_lines)] // one stack with every flag, each role and its scoping in turn
fn every_role_that_runs_imagedef_holds_the_readme_rows_its_flags_need_and_an_s3_source_gets_its_rule()
 {
    let shop = shop();
    let cross = [
        format!("arn:aws:ecr:{REGION}:444455556666:repository/base/runtime"),
        "arn:aws:ecr:us-east-1:444455556666:repository/tools/xray".to_owned(),
    ];
    let (name, created) = stack(
        "pipeline.yaml",
        &pipeline_params(
            &shop,
            &[
                "SourceProvider=S3",
                "SourceBucket=shop-source",
                "EcrCheck=true",
                &format!("CrossAccountRepositoryArns={}", cross.join(",")),
                "FindingsGate=true",
                "ReportGroups=true",
                "RollingDeploy=ImagedefDeploy",
            ],
        ),
    );
    let r = &created["Resources"];

    // The build role: the rows of every flag (EcsLookup comes with ImagedefDeploy, whose mapping
    // reads the services' task definitions).
    let s = statements(&r["BuildRole"], "imagedef-build");
    holds_the_table(
        "BuildRole",
        &s,
        &[
            "ArtifactBucket",
            "ArtifactKey",
            "Artifacts",
            "EcrCheck",
            "EcrToken",
            "EcsServices",
            "EcsTaskDefinitions",
            "Findings",
            "FindingsInspector",
            "Logs",
            "Reports",
        ],
    );
    let mut repositories = owned(&shop.repo_arns);
    repositories.extend(cross.iter().cloned());
    assert_eq!(set(&s["EcrCheck"]["Resource"]), repositories);
    assert_eq!(set(&s["Findings"]["Resource"]), repositories);
    assert_eq!(
        set(&s["EcsServices"]["Resource"]),
        owned(&shop.service_arns)
    );
    assert_eq!(
        s["Reports"]["Resource"],
        format!("arn:aws:codebuild:{REGION}:{ACCOUNT}:report-group/{name}-imagedef-*")
    );

    // The deploy role: the `deploy` rows, scoped to the cluster, the two services and the task
    // roles.
    let deploy = statements(&r["DeployRole"], "imagedef-deploy");
    holds_the_table(
        "DeployRole",
        &deploy,
        &[
            "ArtifactBucket",
            "ArtifactKeyDecrypt",
            "ArtifactsIn",
            "DeployListTasks",
            "DeployPassRoles",
            "DeployServiceDeployments",
            "DeployServiceRevisions",
            "DeployServices",
            "DeployTags",
            "DeployTaskDefinitions",
            "DeployTasks",
            "Logs",
        ],
    );
    let (cluster, arn) = (&shop.cluster, format!("arn:aws:ecs:{REGION}:{ACCOUNT}"));
    assert_eq!(
        set(&deploy["DeployServices"]["Resource"]),
        owned(&shop.service_arns)
    );
    for (sid, kind) in [
        ("DeployServiceDeployments", "service-deployment"),
        ("DeployServiceRevisions", "service-revision"),
    ] {
        assert_eq!(
            set(&deploy[sid]["Resource"]),
            ["web", "batch"]
                .map(|s| format!("{arn}:{kind}/{cluster}/{s}/*"))
                .into_iter()
                .collect::<BTreeSet<_>>()
        );
    }
    assert_eq!(
        deploy["DeployTasks"]["Resource"],
        format!("{arn}:task/{cluster}/*")
    );
    assert_eq!(
        deploy["DeployListTasks"]["Condition"],
        json!({ "ArnEquals": { "ecs:cluster": format!("{arn}:cluster/{cluster}") } })
    );
    assert_eq!(
        deploy["DeployTags"]["Condition"],
        json!({ "StringEquals": { "ecs:CreateAction": "RegisterTaskDefinition" } })
    );
    assert_eq!(
        deploy["DeployPassRoles"]["Resource"],
        json!([format!("arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole")])
    );
    assert_eq!(
        deploy["DeployPassRoles"]["Condition"],
        json!({ "StringEquals": { "iam:PassedToService": "ecs-tasks.amazonaws.com" } })
    );
    assert_eq!(
        deploy["Logs"]["Resource"],
        format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/codebuild/{name}-deploy:*")
    );

    // The pipeline role no longer deploys web and batch itself, and may start the deploy project.
    let p = statements(&r["PipelineRole"], "imagedef-pipeline");
    for statement in p.values() {
        assert!(
            !set(&statement["Action"]).contains("ecs:UpdateService"),
            "{statement}"
        );
    }
    assert_eq!(
        set(&p["Build"]["Resource"]),
        BTreeSet::from([
            "arn:aws:skipped:eu-west-1:123456789012:BuildProject/Arn".to_owned(),
            "arn:aws:skipped:eu-west-1:123456789012:DeployProject/Arn".to_owned(),
        ])
    );

    // The deploy project stops later than imagedef deploy gives up, for every timeout allowed.
    let template = resolved(
        "pipeline.yaml",
        &pipeline_required(&["RollingDeploy=ImagedefDeploy"]),
    );
    let project = &template["Resources"]["DeployProject"]["Properties"];
    assert_eq!(
        project["TimeoutInMinutes"],
        json!({ "Ref": "DeployTimeoutMinutes" })
    );
    let buildspec = project["Source"]["BuildSpec"]["Fn::Sub"].as_str().unwrap();
    let flag = Regex::new(r#"--timeout "(\$\(\( \$\{DeployTimeoutMinutes\} [^"]+ \)\))""#).unwrap();
    let expression = &flag
        .captures(buildspec)
        .unwrap_or_else(|| panic!("no --timeout in {buildspec}"))[1];
    let limits = &template["Parameters"]["DeployTimeoutMinutes"];
    for minutes in [
        limits["MinValue"].as_u64().unwrap(),
        limits["Default"].as_u64().unwrap(),
        limits["MaxValue"].as_u64().unwrap(),
    ] {
        let shell = expression.replace("${DeployTimeoutMinutes}", &minutes.to_string());
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("echo {shell}"))
            .output()
            .unwrap();
        let seconds: u64 = succeeded("sh", &out).trim().parse().unwrap();
        assert!(
            seconds > 0 && seconds < minutes * 60,
            "{minutes} min: --timeout {seconds}"
        );
    }
    assert_eq!(
        template["Resources"]["DeployLogGroup"]["Properties"]["KmsKeyId"],
        json!({ "Fn::GetAtt": ["ArtifactKey", "Arn"] })
    );

    let p = statements(&r["PipelineRole"], "imagedef-pipeline");
    assert!(!p.contains_key("Connection"), "{p:#?}");
    assert_eq!(
        set(&p["SourceObjects"]["Resource"]),
        BTreeSet::from([
            "arn:aws:s3:::batch-images/batch/images.zip".to_owned(),
            "arn:aws:s3:::shop-source/source.zip".to_owned(),
        ])
    );
    assert_eq!(
        r["SourceObjectRule"]["EventPattern"],
        json!({ "source": ["aws.s3"], "detail-type": ["Object Created"],
                "detail": { "bucket": { "name": ["shop-source"] }, "object": { "key": ["source.zip"] } } })
    );
}

/// A parameter value in the documented order: as written, or a stack output read with `out`.
#[derive(Debug, Clone, PartialEq)]
enum Param {
    Literal(String),
    Output {
        profile: String,
        stack: String,
        key: String,
    },
}

/// One `aws cloudformation deploy` of the documented order.
#[derive(Debug)]
struct Step {
    profile: String,
    stack: String,
    template: String,
    capabilities: BTreeSet<String>,
    params: Vec<(String, Param)>,
}

/// The documented order (examples/cloudformation/README.md, "Deploy order"): the accounts by
/// profile, and the steps.
#[allow(clippy::too_many_lines)] // the parse of one block, option by option
fn deploy_order() -> (BTreeMap<String, String>, Vec<Step>) {
    let path = examples().join("cloudformation/README.md");
    let text = read(&path);
    let at = text
        .find("## Deploy order")
        .expect("examples/cloudformation/README.md lost its Deploy order section");
    let block = text[at..]
        .split("```sh\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    assert!(
        block.contains("out() { aws --profile \"$1\" cloudformation describe-stacks --stack-name \"$2\" --query \"Stacks[0].Outputs[?OutputKey=='$3'].OutputValue\" --output text; }"),
        "`out` reads a stack's output: {block}"
    );
    let block = block.replace("\\\n", " ");
    let account = Regex::new(r"^([a-z]+)=([0-9]{12})\b").unwrap();
    let variable = Regex::new(r"\$([a-z]+)").unwrap();
    let output = Regex::new(r"^\$\(out (\S+) (\S+) (\S+)\)$").unwrap();
    let mut accounts = BTreeMap::new();
    let mut steps = Vec::new();
    for line in block.lines().map(str::trim) {
        if let Some(c) = account.captures(line) {
            accounts.insert(c[1].to_owned(), c[2].to_owned());
            continue;
        }
        if !line.starts_with("aws ") {
            continue;
        }
        // Words as the shell splits them: double quotes keep spaces and go.
        let mut words = Vec::new();
        let mut word = String::new();
        let mut quoted = false;
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                c if c.is_whitespace() && !quoted => {
                    if !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                }
                c => word.push(c),
            }
        }
        words.push(word);
        let words: Vec<String> = words
            .into_iter()
            .map(|w| {
                variable
                    .replace_all(&w, |c: &regex::Captures| {
                        accounts
                            .get(&c[1])
                            .cloned()
                            .unwrap_or_else(|| c[0].to_owned())
                    })
                    .into_owned()
            })
            .collect();
        assert_eq!(words[3..5], ["cloudformation", "deploy"], "{line}");
        let mut step = Step {
            profile: String::new(),
            stack: String::new(),
            template: String::new(),
            capabilities: BTreeSet::new(),
            params: Vec::new(),
        };
        let mut flag = "";
        for word in &words[1..] {
            if word.starts_with("--") {
                flag = word;
                continue;
            }
            match std::mem::take(&mut flag) {
                // Options of one value.
                "--profile" => word.clone_into(&mut step.profile),
                "--stack-name" => word.clone_into(&mut step.stack),
                "--template-file" => word.clone_into(&mut step.template),
                // Options of several.
                "--capabilities" => {
                    flag = "--capabilities";
                    step.capabilities.insert(word.clone());
                }
                "--parameter-overrides" => {
                    flag = "--parameter-overrides";
                    let (key, value) = word.split_once('=').unwrap();
                    let value = match output.captures(value) {
                        Some(c) => Param::Output {
                            profile: c[1].to_owned(),
                            stack: c[2].to_owned(),
                            key: c[3].to_owned(),
                        },
                        None => Param::Literal(value.to_owned()),
                    };
                    step.params.push((key.to_owned(), value));
                }
                "" => {}
                other => panic!("{line}: an option this test does not know: {other}"),
            }
        }
        assert!(
            !step.profile.is_empty() && !step.stack.is_empty() && !step.template.is_empty(),
            "{line}"
        );
        steps.push(step);
    }
    (accounts, steps)
}

/// The capabilities a template needs: `CAPABILITY_NAMED_IAM` with a named IAM resource,
/// `CAPABILITY_IAM` with any other.
fn capabilities_needed(t: &Value) -> BTreeSet<String> {
    let mut needed = BTreeSet::new();
    for resource in t["Resources"].as_object().unwrap().values() {
        if !resource["Type"].as_str().unwrap().starts_with("AWS::IAM::") {
            continue;
        }
        let props = &resource["Properties"];
        let named = [
            "RoleName",
            "UserName",
            "GroupName",
            "ManagedPolicyName",
            "InstanceProfileName",
        ]
        .iter()
        .any(|k| props.get(*k).is_some());
        needed.insert(if named {
            "CAPABILITY_NAMED_IAM"
        } else {
            "CAPABILITY_IAM"
        });
    }
    if needed.contains("CAPABILITY_NAMED_IAM") {
        needed.remove("CAPABILITY_IAM");
    }
    needed.into_iter().map(String::from).collect()
}

/// The parameters a template uses as an AWS principal (in a key or bucket policy).
fn principal_parameters(node: &Value, found: &mut BTreeSet<String>) {
    match node {
        Value::Object(map) => {
            if let Some(principal) = map.get("Principal") {
                let aws = &principal["AWS"];
                for p in std::iter::once(aws).chain(aws.as_array().into_iter().flatten()) {
                    if let Some(name) = p["Ref"].as_str() {
                        found.insert(name.to_owned());
                    }
                }
            }
            map.values().for_each(|v| principal_parameters(v, found));
        }
        Value::Array(list) => list.iter().for_each(|v| principal_parameters(v, found)),
        _ => {}
    }
}

#[test]
#[allow(clippy::too_many_lines)] // step by step, each rule of the order checked where it applies
fn the_documented_order_feeds_every_cross_stack_value_from_an_earlier_step() {
    let (accounts, steps) = deploy_order();
    assert_eq!(accounts.len(), 2, "{accounts:?}");
    assert_eq!(steps.len(), 4, "{steps:#?}");
    let mut deployed: Vec<&Step> = Vec::new();
    let mut templates_used = BTreeSet::new();
    for (number, step) in steps.iter().enumerate() {
        let at = format!("step {}: {} {}", number + 1, step.profile, step.stack);
        assert!(
            accounts.contains_key(&step.profile),
            "{at}: unknown profile"
        );
        let name = step
            .template
            .strip_prefix("examples/cloudformation/")
            .unwrap_or_else(|| panic!("{at}: {}", step.template));
        let t = template(name);
        templates_used.insert(name.to_owned());
        let before = deployed
            .iter()
            .find(|s| s.stack == step.stack && s.profile == step.profile);
        if let Some(before) = before {
            assert_eq!(before.template, step.template, "{at}: another template");
        }
        // What a stack must be given the first time.
        let given: BTreeSet<&str> = step.params.iter().map(|(k, _)| k.as_str()).collect();
        for (key, parameter) in t["Parameters"].as_object().unwrap() {
            if parameter.get("Default").is_none() && before.is_none() {
                assert!(given.contains(key.as_str()), "{at}: {key} is required");
            }
        }
        assert_eq!(
            step.capabilities,
            capabilities_needed(&t),
            "{at}: --capabilities"
        );
        let mut principals = BTreeSet::new();
        principal_parameters(&t["Resources"], &mut principals);
        for (key, value) in &step.params {
            assert!(
                t["Parameters"].get(key).is_some(),
                "{at}: {name} has no parameter {key}"
            );
            match value {
                Param::Output {
                    profile,
                    stack,
                    key: output,
                } => {
                    let from = deployed
                        .iter()
                        .find(|s| &s.stack == stack && &s.profile == profile)
                        .unwrap_or_else(|| {
                            panic!("{at}: {key} reads {stack} ({profile}), which no earlier step deployed")
                        });
                    let source = template(
                        from.template
                            .strip_prefix("examples/cloudformation/")
                            .unwrap(),
                    );
                    assert!(
                        source["Outputs"].get(output).is_some(),
                        "{at}: {} has no output {output}",
                        from.template
                    );
                }
                Param::Literal(literal) => {
                    // A principal must exist before a policy names it: it comes from an earlier
                    // stack, never as a literal.
                    assert!(
                        !principals.contains(key),
                        "{at}: {key} names a principal, and must come from the stack that makes it"
                    );
                    if key.ends_with("StackName") {
                        assert!(
                            deployed
                                .iter()
                                .any(|s| &s.stack == literal && s.profile == step.profile),
                            "{at}: {key}={literal} is no stack deployed before"
                        );
                    }
                    if key == "ConsumerAccountId" {
                        let consumer = steps
                            .iter()
                            .find(|s| s.template.ends_with("consumer-account.yaml"))
                            .unwrap();
                        assert_eq!(literal, &accounts[&consumer.profile], "{at}");
                    }
                }
            }
        }
        for principal in &principals {
            if before.is_none() {
                assert!(
                    matches!(
                        step.params.iter().find(|(k, _)| k == principal),
                        Some((_, Param::Output { .. }))
                    ),
                    "{at}: {principal} is a principal: it must be an earlier stack's output"
                );
            }
        }
        deployed.push(step);
    }
    assert_eq!(
        templates_used,
        TEMPLATES.map(String::from).into_iter().collect(),
        "every template is in the order"
    );

    // The names the templates derive agree: the producer publishes where the consumer's bucket is.
    let consumer = template("consumer-account.yaml");
    assert_eq!(
        consumer["Resources"]["BundleBucket"]["Properties"]["BucketName"],
        json!({ "Fn::Sub": "deploy-bundles-${AWS::AccountId}" })
    );
    let producer = read(&template_path("producer-publish.yaml"));
    assert!(producer.contains("--bucket deploy-bundles-${ConsumerAccountId}"));
    assert!(producer.contains("s3:::deploy-bundles-${ConsumerAccountId}/${KeyPrefix}/*"));

    // The main README points to this order instead of keeping a copy of its own.
    assert!(readme().contains("examples/cloudformation/README.md#deploy-order"));
}

/// `text` matches an IAM `*`/`?` pattern (`ArnLike`, `StringLike`).
fn iam_like(pattern: &str, text: &str) -> bool {
    Glob::new(pattern).unwrap().compile_matcher().is_match(text)
}

#[test]
#[allow(clippy::too_many_lines)] // the stacks of the order, each held to the README in turn
fn the_documented_order_creates_every_stack_in_moto_and_each_holds_the_readme() {
    // moto is one account: every account of the order is moto's, and the stacks get names of
    // their own (moto is shared by the tests of this run).
    let (accounts, steps) = deploy_order();
    let moto_account = |text: &str| -> String {
        accounts.values().fold(text.to_owned(), |t, account| {
            t.replace(account.as_str(), ACCOUNT)
        })
    };
    let stacks: BTreeMap<String, String> = steps
        .iter()
        .map(|s| (s.stack.clone(), unique(&s.stack)))
        .collect();
    let mut outputs: BTreeMap<String, Value> = BTreeMap::new();
    let mut created: BTreeMap<String, Value> = BTreeMap::new();
    for step in &steps {
        let params: Vec<String> = step
            .params
            .iter()
            .map(|(key, value)| {
                let value = match value {
                    Param::Literal(literal) => stacks
                        .get(literal)
                        .cloned()
                        .unwrap_or_else(|| moto_account(literal)),
                    Param::Output { stack, key, .. } => outputs[stack][key]
                        .as_str()
                        .unwrap_or_else(|| panic!("{stack} has no output {key}"))
                        .to_owned(),
                };
                format!("{key}={value}")
            })
            .collect();
        let file = step.template.rsplit('/').next().unwrap();
        let result = stack_named(file, &stacks[&step.stack], &params);
        outputs.insert(step.stack.clone(), result["Outputs"].clone());
        created.insert(step.stack.clone(), result);
    }
    let by_template = |file: &str| -> (&Value, &str) {
        let step = steps
            .iter()
            .rev()
            .find(|s| s.template.ends_with(file))
            .unwrap();
        (&created[&step.stack], stacks[&step.stack].as_str())
    };
    let (consumer, _) = by_template("consumer-account.yaml");
    let (producer, _) = by_template("producer-publish.yaml");
    let (pipeline, pipeline_name) = by_template("pipeline.yaml");

    // --- The consuming account.
    let c = &consumer["Resources"];
    assert_eq!(
        consumer["Skipped"],
        json!([
            "AccessLogBucketPolicy",
            "ApiPipeline",
            "ArtifactBucketPolicy",
            "BatchPipeline",
            "BundleBucketPolicy",
            "WebPipeline"
        ])
    );
    let bucket = c["BundleBucket"]["PhysicalResourceId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(bucket, format!("deploy-bundles-{ACCOUNT}"));
    let key = &c["BundleKey"];
    let key_arn = key["Arn"].as_str().unwrap().to_owned();
    assert_eq!(key["KeyRotationEnabled"], true);
    assert_eq!(key["Aliases"], json!(["alias/deploy-bundles"]));
    let sse =
        |b: &str| c[b]["Encryption"]["Rules"][0]["ApplyServerSideEncryptionByDefault"].clone();
    assert_eq!(sse("BundleBucket")["SSEAlgorithm"], "aws:kms");
    assert_eq!(sse("BundleBucket")["KMSMasterKeyID"], key_arn.as_str());
    // The pipelines' own artifacts are under another key, which no other account may use.
    let artifact_key = c["ArtifactKey"]["Arn"].as_str().unwrap();
    assert_ne!(artifact_key, key_arn);
    assert_eq!(sse("ArtifactBucket")["KMSMasterKeyID"], artifact_key);
    assert_eq!(
        c["ArtifactKey"]["Policy"]["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["Sid"].clone())
            .collect::<Vec<_>>(),
        ["AccountAdministers"]
    );
    assert_eq!(sse("AccessLogBucket")["SSEAlgorithm"], "AES256");

    let role_arn = outputs["shop-publish"]["PublishRoleArn"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        role_arn,
        format!("arn:aws:iam::{ACCOUNT}:role/codebuild-imagedef-publish")
    );
    // The README's examples, in moto's account (the role keeps its name).
    let ours = |v: Value| -> Value { serde_json::from_str(&moto_account(&v.to_string())).unwrap() };

    // The key policy: the account, and the README's publisher statement, no more.
    let key_statements = key["Policy"]["Statement"].as_array().unwrap();
    assert_eq!(key_statements.len(), 2, "{key_statements:#?}");
    assert_eq!(key_statements[0]["Sid"], "AccountAdministers");
    assert_eq!(
        key_statements[1],
        ours(readme_json("Its KMS key policy lets the publishing role"))
    );

    // Each service's rule is the README's EventBridge pattern for its own bundle, and starts
    // only that service's pipeline.
    let events_role = c["EventsRole"]["Arn"].as_str().unwrap();
    let pattern = ours(readme_json("`S3ObjectKey: shop/web.zip`"));
    for (rule, service, pipeline) in [
        ("WebBundleRule", "web", "WebPipeline"),
        ("BatchBundleRule", "batch", "BatchPipeline"),
        ("ApiBundleRule", "api", "ApiPipeline"),
    ] {
        let want: Value = serde_json::from_str(
            &pattern
                .to_string()
                .replace("shop/web.zip", &format!("shop/{service}.zip")),
        )
        .unwrap();
        assert_eq!(c[rule]["EventPattern"], want, "{rule}");
        assert_eq!(
            c[rule]["Targets"],
            json!([{ "Id": "pipeline", "Arn": format!("arn:aws:codepipeline:{REGION}:{ACCOUNT}:{pipeline}"), "RoleArn": events_role }])
        );
    }
    let p = statements(&c["PipelineRole"], "imagedef-bundle-deploy");
    assert_eq!(
        p["Bundles"]["Resource"],
        format!("arn:aws:s3:::{bucket}/shop/*")
    );
    assert_eq!(p["BundleKey"]["Action"], "kms:Decrypt");
    assert_eq!(p["BundleKey"]["Resource"], key_arn.as_str());
    assert_eq!(p["ArtifactKey"]["Resource"], artifact_key);

    // moto skips bucket policies and does not keep versioning, logging or notifications from a
    // stack: those are read from the template. The bucket policy is the README's, plus TLS only.
    let t = template("consumer-account.yaml");
    let props = &t["Resources"]["BundleBucket"]["Properties"];
    assert_eq!(props["VersioningConfiguration"]["Status"], "Enabled");
    assert_eq!(
        props["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"],
        true
    );
    for b in ["BundleBucket", "ArtifactBucket"] {
        assert_eq!(
            t["Resources"][b]["Properties"]["LoggingConfiguration"]["DestinationBucketName"],
            json!({ "Ref": "AccessLogBucket" }),
            "{b}"
        );
    }
    let readme_policy = readme_json("allows that role in its bucket policy");
    let policy = &t["Resources"]["BundleBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"];
    let shape = |s: &Value| {
        let mut condition = s.get("Condition").cloned();
        // The template's prefix is its KeyPrefix parameter; the README's is its default.
        if let Some(prefix) = condition
            .as_mut()
            .and_then(|c| c.pointer_mut("/StringLike/s3:prefix"))
            && prefix == &json!({ "Fn::Sub": "${KeyPrefix}/*" })
        {
            *prefix = json!("shop/*");
        }
        json!([s["Sid"], s["Effect"], s["Action"], condition])
    };
    let want: Vec<Value> = readme_policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(shape)
        .collect();
    let have: Vec<Value> = policy.as_array().unwrap().iter().map(shape).collect();
    assert_eq!(have[..want.len()], want[..]);
    assert_eq!(have[want.len()][0], "TlsOnly");
    for s in &policy.as_array().unwrap()[..want.len()] {
        assert_eq!(
            s["Principal"],
            json!({ "AWS": { "Ref": "PublisherRoleArn" } })
        );
    }

    // --- The publishing role: the README table's `publish` rows, on the bucket the consumer made
    // and a key pattern that covers the key it made, plus its logs and the artifact store.
    assert_eq!(producer["Skipped"], json!(["PublishProject"]));
    let role = &producer["Resources"]["PublishRole"];
    assert_eq!(role["Arn"], role_arn.as_str());
    let s = statements(role, "imagedef-publish");
    holds_the_table(
        "PublishRole",
        &s,
        &[
            "ArtifactBucket",
            "ArtifactKey",
            "Artifacts",
            "BundleBucket",
            "BundleKey",
            "Bundles",
            "Logs",
        ],
    );
    assert_eq!(
        s["Bundles"]["Resource"],
        format!("arn:aws:s3:::{bucket}/shop/*")
    );
    assert_eq!(
        s["BundleBucket"]["Resource"],
        format!("arn:aws:s3:::{bucket}")
    );
    assert_eq!(
        s["BundleBucket"]["Condition"],
        json!({ "StringLike": { "s3:prefix": "shop/*" } })
    );
    let key_pattern = s["BundleKey"]["Resource"].as_str().unwrap();
    assert!(iam_like(key_pattern, &key_arn), "{key_pattern} {key_arn}");
    assert_eq!(
        s["BundleKey"]["Condition"],
        json!({
            "StringEquals": { "kms:ViaService": format!("s3.{REGION}.amazonaws.com") },
            "StringLike": { "kms:EncryptionContext:aws:s3:arn":
                [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/shop/*")] }
        })
    );
    // The key policy's publisher statement carries the same conditions.
    assert_eq!(key_statements[1]["Condition"], s["BundleKey"]["Condition"]);

    // Its log group is one the pipeline's artifact key lets CloudWatch Logs encrypt with.
    let group = producer["Resources"]["PublishLogGroup"]["PhysicalResourceId"]
        .as_str()
        .unwrap();
    assert_eq!(group, format!("/aws/codebuild/{pipeline_name}-publish"));
    let logs_statement = &pipeline["Resources"]["ArtifactKey"]["Policy"]["Statement"][1];
    let allowed = logs_statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
        .as_str()
        .unwrap();
    assert!(
        iam_like(
            allowed,
            &format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}")
        ),
        "{allowed} {group}"
    );
    let t = template("producer-publish.yaml");
    assert_eq!(
        t["Resources"]["PublishLogGroup"]["Properties"]["KmsKeyId"],
        json!({ "Ref": "ArtifactKeyArn" })
    );

    // The publishing buildspec puts the bundles where the consumer's pipelines look, under the
    // bucket's own key.
    let buildspec =
        t["Resources"]["PublishProject"]["Properties"]["Source"]["BuildSpec"]["Fn::Sub"]
            .as_str()
            .unwrap()
            .to_owned();
    assert!(
        buildspec.contains("--key '${KeyPrefix}/{service}.zip'"),
        "{buildspec}"
    );
    assert!(
        buildspec.contains("--bucket deploy-bundles-${ConsumerAccountId}"),
        "{buildspec}"
    );
    assert!(!buildspec.contains("--kms-key-id"), "{buildspec}");
    let ct = template("consumer-account.yaml");
    for pipeline in ["WebPipeline", "BatchPipeline", "ApiPipeline"] {
        let all = actions(&ct, pipeline);
        let source = &all[0].1["Configuration"];
        let service = all[0].1["Name"].as_str().unwrap();
        assert_eq!(
            source["S3ObjectKey"],
            json!({ "Fn::Sub": format!("${{KeyPrefix}}/{service}.zip") })
        );
        assert_eq!(source["S3Bucket"], json!({ "Ref": "BundleBucket" }));
    }

    // --- The pipeline, after the last step, may start the publishing project.
    let p = statements(&pipeline["Resources"]["PipelineRole"], "imagedef-pipeline");
    let project = outputs["shop-publish"]["PublishProjectName"]
        .as_str()
        .unwrap();
    assert!(
        set(&p["Build"]["Resource"]).contains(&format!(
            "arn:aws:codebuild:{REGION}:{ACCOUNT}:project/{project}"
        )),
        "{:#}",
        p["Build"]
    );
}
