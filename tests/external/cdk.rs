//! `examples/cdk`, the example pipeline as a TypeScript CDK app: TypeScript compiles it and
//! `cdk synth` synthesizes it offline (account and region given, no lookups, no notices, version
//! check or telemetry), for both ways of deploying web and batch (context `rollingDeploy`); cfn-lint
//! passes each template with nothing to say and checkov with its one skip giving its reason; and
//! the pipeline is wired as `examples/cloudformation/pipeline.yaml` is: api's blue/green inputs
//! from its own artifact, the build's outputs the buildspec's secondary artifacts, the deploy
//! project's role the `deploy` rows of README.md's IAM table.
//!
//! The npm packages come from `target/node` (`.ci/deps-node`, from `.ci/node/package-lock.json`),
//! cfn-lint from `.ci/deps-aws`'s venv, checkov from `.ci/deps-checkov`'s; without them these
//! tests fail.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use yaml_rust2::YamlLoader;

use crate::tools::aws::venv_tool;
use crate::util::{Env, examples};

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// `target/node/node_modules` (or `$IMAGEDEF_NODE_DIR/node_modules`), where `.ci/deps-node`
/// installs the npm packages.
fn node_modules() -> PathBuf {
    let dir = crate::tools::installed("IMAGEDEF_NODE_DIR", "node").join("node_modules");
    assert!(
        dir.join("aws-cdk-lib").is_dir() && dir.join("aws-cdk").is_dir(),
        "no {}: run `bash .ci/deps-node` first",
        dir.display()
    );
    dir
}

/// `node ARGS` in `dir`, with no AWS or CDK setting of the machine's and nothing that reaches
/// the network: its stdout.
fn node(dir: &Path, home: &Path, args: &[&str]) -> String {
    let mut command = Command::new("node");
    command.args(args).current_dir(dir);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("AWS_") || key.starts_with("CDK_") || key.starts_with("npm_") {
            command.env_remove(&*key);
        }
    }
    command
        .env("HOME", home)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", home.join("no-such-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.join("no-such-credentials"),
        )
        .env("CDK_DISABLE_VERSION_CHECK", "true")
        .env("CDK_DISABLE_CLI_TELEMETRY", "true");
    let out = command.output().unwrap_or_else(|e| {
        panic!("cannot run node ({e}); Node.js 20 or newer is needed (.ci/deps-node)")
    });
    assert!(
        out.status.success(),
        "node {args:?}: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The app compiled once in a scratch copy of `examples/cdk` (its `node_modules` a link to
/// `target/node`'s), and synthesized for each `rollingDeploy`: the templates, by choice.
fn synthesized() -> (Env, BTreeMap<&'static str, (PathBuf, Value)>) {
    let env = Env::new();
    env.copy_dir(&examples().join("cdk"), "app");
    let app = env.path("app");
    std::os::unix::fs::symlink(node_modules(), app.join("node_modules")).unwrap();
    let home = env.mkdir("home");
    node(&app, &home, &["node_modules/typescript/bin/tsc", "-p", "."]);
    let mut templates = BTreeMap::new();
    for choice in ["EcsAction", "ImagedefDeploy"] {
        let out = format!("cdk.out-{choice}");
        node(
            &app,
            &home,
            &[
                "node_modules/aws-cdk/bin/cdk",
                "synth",
                "--no-notices",
                "--no-version-reporting",
                "--no-path-metadata",
                "--no-asset-metadata",
                "--quiet",
                "--output",
                &out,
                "--context",
                &format!("rollingDeploy={choice}"),
            ],
        );
        // Only the template, in a folder of its own, for the scanners.
        let dir = env.mkdir(&format!("templates/{choice}"));
        let path = dir.join("ImagedefPipeline.template.json");
        std::fs::copy(app.join(&out).join("ImagedefPipeline.template.json"), &path).unwrap();
        let template: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        templates.insert(choice, (path, template));
    }
    (env, templates)
}

/// The one resource of `kind` whose logical id starts with `prefix`.
fn resource<'a>(template: &'a Value, kind: &str, prefix: &str) -> &'a Value {
    let found: Vec<&Value> = template["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(id, r)| r["Type"] == kind && id.starts_with(prefix))
        .map(|(_, r)| r)
        .collect();
    let [one] = found.as_slice() else {
        panic!("{} {kind} resources named {prefix}*", found.len());
    };
    one
}

/// A buildspec's secondary artifact identifiers.
fn secondary_artifacts(path: &Path) -> BTreeSet<String> {
    let doc = &YamlLoader::load_from_str(&std::fs::read_to_string(path).unwrap()).unwrap()[0];
    doc["artifacts"]["secondary-artifacts"]
        .as_hash()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
}

fn artifact_names(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|l| {
            l.iter()
                .map(|a| a["Name"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Every statement of every IAM policy attached to the role whose logical id starts with
/// `role`, by Sid (those without one under "").
fn role_statements(template: &Value, role: &str) -> Vec<Value> {
    template["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::IAM::Policy")
        .filter(|r| {
            r["Properties"]["Roles"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["Ref"].as_str().is_some_and(|id| id.starts_with(role)))
        })
        .flat_map(|r| {
            r["Properties"]["PolicyDocument"]["Statement"]
                .as_array()
                .unwrap()
                .clone()
        })
        .collect()
}

/// One synthesis (tsc and two `cdk synth`, the costly part) for both tests of the templates.
#[test]
fn the_cdk_app_synthesizes_offline_for_both_choices_each_linted_and_wired_as_the_example_is() {
    let (_env, templates) = synthesized();
    scanners_pass(&templates);
    wired_as_the_cloudformation_example(&templates);
}

/// cfn-lint and checkov pass each template.
fn scanners_pass(templates: &BTreeMap<&'static str, (PathBuf, Value)>) {
    for (choice, (path, template)) in templates {
        // cfn-lint: nothing to say.
        let lint = venv_tool("cfn-lint");
        let out = Command::new(&lint).arg(path).output().unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}); run `bash .ci/deps-aws` first",
                lint.display()
            )
        });
        assert!(
            out.status.success() && out.stdout.is_empty(),
            "{choice}: cfn-lint: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // checkov: nothing failed; its one skip (the access-log bucket) says why.
        let checkov =
            crate::tools::installed("IMAGEDEF_CHECKOV_VENV", "checkov-venv").join("bin/checkov");
        let out = Command::new(&checkov)
            .arg("--directory")
            .arg(path.parent().unwrap())
            .args([
                "--framework",
                "cloudformation",
                "--skip-download",
                "--output",
                "json",
            ])
            .env("HOME", path.parent().unwrap())
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {} ({e}); run `bash .ci/deps-checkov` first",
                    checkov.display()
                )
            });
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{choice}: checkov printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let results = &report["results"];
        assert_eq!(
            results["failed_checks"],
            json!([]),
            "{choice}: checkov failed"
        );
        let skipped = results["skipped_checks"].as_array().unwrap();
        assert_eq!(skipped.len(), 1, "{choice}: {skipped:#?}");
        assert_eq!(skipped[0]["check_id"], "CKV_AWS_18");
        let reason = skipped[0]["check_result"]["suppress_comment"]
            .as_str()
            .unwrap();
        assert!(reason.contains("access-log bucket"), "{reason}");

        // Synthesized for the account and region given, with no lookup: nothing left to resolve
        // at deploy time but the bootstrap version.
        let params: Vec<&String> = template["Parameters"].as_object().unwrap().keys().collect();
        assert_eq!(params, ["BootstrapVersion"], "{choice}");
    }
}

/// The pipeline of each template is wired as `examples/cloudformation/pipeline.yaml` is.
#[allow(clippy::too_many_lines)] // each stage of each choice in turn, as the CloudFormation test reads them
fn wired_as_the_cloudformation_example(templates: &BTreeMap<&'static str, (PathBuf, Value)>) {
    for (choice, (_, t)) in templates {
        let pipeline = resource(t, "AWS::CodePipeline::Pipeline", "Pipeline");
        let props = &pipeline["Properties"];
        assert_eq!(props["PipelineType"], "V2", "{choice}");
        assert_eq!(props["ExecutionMode"], "QUEUED", "{choice}");
        let stages: Vec<&Value> = props["Stages"].as_array().unwrap().iter().collect();
        let stage_names: Vec<&str> = stages.iter().map(|s| s["Name"].as_str().unwrap()).collect();
        assert_eq!(stage_names, ["Source", "Build", "Deploy"], "{choice}");
        let actions = |stage: usize| -> Vec<&Value> {
            stages[stage]["Actions"]
                .as_array()
                .unwrap()
                .iter()
                .collect()
        };

        // The sources: the repository and three ECR images, and BatchImages from S3.
        let sources: BTreeMap<String, String> = actions(0)
            .iter()
            .map(|a| {
                (
                    a["Name"].as_str().unwrap().to_owned(),
                    a["ActionTypeId"]["Provider"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            sources,
            BTreeMap::from(
                [
                    ("Source", "CodeStarSourceConnection"),
                    ("WebImage", "ECR"),
                    ("ApiImage", "ECR"),
                    ("ProxyImage", "ECR"),
                    ("BatchImages", "S3"),
                ]
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
            ),
            "{choice}"
        );

        // The build: the buildspec of this choice, whose secondary artifacts are its outputs.
        let [fanout] = actions(1)[..] else {
            panic!("{choice}: one build action");
        };
        let (buildspec, file) = match *choice {
            "EcsAction" => ("buildspec.yml", repo_file("buildspec.yml")),
            _ => (
                "buildspec-deploy.yml",
                examples().join("pipeline/source/buildspec-deploy.yml"),
            ),
        };
        let outputs: BTreeSet<String> = artifact_names(&fanout["OutputArtifacts"])
            .into_iter()
            .collect();
        assert_eq!(outputs, secondary_artifacts(&file), "{choice}");
        let inputs = artifact_names(&fanout["InputArtifacts"]);
        assert_eq!(inputs[0], "Source", "{choice}: the primary source first");
        let build = t["Resources"]
            .as_object()
            .unwrap()
            .values()
            .find(|r| {
                r["Type"] == "AWS::CodeBuild::Project"
                    && r["Properties"]["Source"]["BuildSpec"] == buildspec
            })
            .unwrap_or_else(|| panic!("{choice}: no project runs {buildspec}"));
        assert_eq!(build["Properties"]["TimeoutInMinutes"], 15);

        // Deploy: api blue/green from its own checked artifact alone; web and batch per choice.
        let deploy = actions(2);
        let by_provider = |provider: &str| -> Vec<&Value> {
            deploy
                .iter()
                .copied()
                .filter(|a| a["ActionTypeId"]["Provider"] == provider)
                .collect()
        };
        let [api] = by_provider("CodeDeployToECS")[..] else {
            panic!("{choice}: one CodeDeployToECS action");
        };
        assert_eq!(artifact_names(&api["InputArtifacts"]), ["api"], "{choice}");
        let config = &api["Configuration"];
        for key in [
            "TaskDefinitionTemplateArtifact",
            "AppSpecTemplateArtifact",
            "Image1ArtifactName",
        ] {
            assert_eq!(config[key], "api", "{choice}: {key}");
        }
        assert_eq!(config["TaskDefinitionTemplatePath"], "taskdef.json");
        assert_eq!(config["AppSpecTemplatePath"], "appspec.yaml");
        assert_eq!(config["Image1ContainerName"], "IMAGE1_NAME");

        // No role may update any service but web and batch: every statement granting
        // ecs:UpdateService names them.
        for policy in t["Resources"].as_object().unwrap().values() {
            if policy["Type"] != "AWS::IAM::Policy" {
                continue;
            }
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
                .as_array()
                .unwrap()
            {
                let actions = &statement["Action"];
                let grants = actions == "ecs:UpdateService"
                    || actions
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x == "ecs:UpdateService"));
                if grants {
                    let resources = statement["Resource"].to_string();
                    assert!(
                        !resources.contains("\"*\"")
                            && resources.contains("service/prod/web")
                            && resources.contains("service/prod/batch"),
                        "{choice}: {statement}"
                    );
                }
            }
        }

        let ecs = by_provider("ECS");
        let codebuild = by_provider("CodeBuild");
        if *choice == "EcsAction" {
            assert!(codebuild.is_empty(), "{choice}");
            let names: BTreeSet<&str> = ecs.iter().map(|a| a["Name"].as_str().unwrap()).collect();
            assert_eq!(names, BTreeSet::from(["web", "batch"]));
            for action in ecs {
                let name = action["Name"].as_str().unwrap();
                assert_eq!(artifact_names(&action["InputArtifacts"]), [name]);
                assert_eq!(action["Configuration"]["FileName"], "imagedefinitions.json");
                assert_eq!(action["Configuration"]["ServiceName"], name);
                assert_eq!(action["Configuration"]["ClusterName"], "prod");
            }
        } else {
            assert!(ecs.is_empty(), "{choice}: no ECS action");
            let [rolling] = codebuild[..] else {
                panic!("{choice}: one CodeBuild deploy action");
            };
            assert_eq!(artifact_names(&rolling["InputArtifacts"]), ["ImagedefOut"]);
            let project = resource(t, "AWS::CodeBuild::Project", "DeployProject");
            let spec: Value = serde_json::from_str(
                project["Properties"]["Source"]["BuildSpec"]
                    .as_str()
                    .unwrap(),
            )
            .unwrap();
            let command = spec["phases"]["build"]["commands"][0].as_str().unwrap();
            let seconds: u64 = command
                .strip_prefix("imagedef deploy --out \"$CODEBUILD_SRC_DIR\" --timeout ")
                .unwrap_or_else(|| panic!("{command}"))
                .parse()
                .unwrap();
            let minutes = project["Properties"]["TimeoutInMinutes"].as_u64().unwrap();
            assert!(
                seconds < minutes * 60,
                "--timeout {seconds} s, project {minutes} min"
            );

            // Its role: the `deploy` rows of README.md's IAM table, statement by statement.
            let table = crate::cloudformation::iam_table();
            let statements = role_statements(t, "DeployProjectRole");
            let mut sids = BTreeSet::new();
            for s in &statements {
                let Some(sid) = s["Sid"].as_str() else {
                    continue;
                };
                sids.insert(sid.to_owned());
                let row = table
                    .iter()
                    .find(|r| r.sid.as_deref() == Some(sid))
                    .unwrap_or_else(|| panic!("Sid {sid} is not in README.md's table"));
                assert_eq!(
                    crate::cloudformation::set(&s["Action"]),
                    row.actions,
                    "{sid}"
                );
                assert_eq!(
                    crate::cloudformation::condition_keys(s),
                    row.conditions,
                    "{sid}"
                );
            }
            let deploy_rows: BTreeSet<String> = table
                .iter()
                .filter(|r| r.command == "`deploy`")
                .filter_map(|r| r.sid.clone())
                .collect();
            assert_eq!(sids, deploy_rows);
        }
    }
}

#[test]
fn the_cdk_app_declares_the_versions_ci_installs() {
    let app: Value = serde_json::from_str(
        &std::fs::read_to_string(examples().join("cdk/package.json")).unwrap(),
    )
    .unwrap();
    let lock: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_file(".ci/node/package-lock.json")).unwrap(),
    )
    .unwrap();
    let mut declared = 0;
    for section in ["dependencies", "devDependencies"] {
        for (name, version) in app[section].as_object().unwrap() {
            let locked = &lock["packages"][format!("node_modules/{name}")]["version"];
            assert_eq!(
                locked, version,
                "{name}: the app says {version}, CI installs {locked}"
            );
            declared += 1;
        }
    }
    assert_eq!(declared, 4, "aws-cdk-lib, constructs, aws-cdk, typescript");
}
