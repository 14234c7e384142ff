//! The stack templates of `examples/cloudformation`: cfn-lint passes them with nothing to
//! say; the pipeline agrees with the mapping and `buildspec.yml`; every action has the provider,
//! artifact counts and configuration keys AWS documents (`../shared/AWS-FACTS.md`) and cfn-lint's
//! own table holds; and what moto creates of them as a stack (everything but CodePipeline,
//! CodeBuild, CodeDeploy and bucket policies) holds the roles, policies, keys, buckets and
//! event rules the README describes, naming the ECR repositories and ECS services moto has.
//!
//! cfn-lint and moto come from the venv `.ci/deps-aws` makes; without them these tests fail.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use yaml_rust2::{Yaml, YamlLoader};

use crate::tools::aws::{ACCOUNT, moto, unique, venv_python, venv_tool};
use crate::util::Env;
use crate::util::examples;

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

/// `tests/cfn/cfn.py ARGS` in the venv, with no AWS setting of the machine's: it talks only to
/// the loopback moto server it is given.
fn cfn(args: &[&str]) -> Value {
    let mut command = Command::new(venv_python());
    command.arg(repo_file("tests/cfn/cfn.py")).args(args);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AWS_") {
            command.env_remove(key);
        }
    }
    let none = std::env::temp_dir().join("imagedef-no-such-dir");
    command
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", none.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", none.join("credentials"));
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

#[test]
fn cfn_lint_passes_every_template_without_an_error_or_a_warning() {
    let mut found: Vec<String> = std::fs::read_dir(examples().join("cloudformation"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    found.sort_unstable();
    let mut listed = TEMPLATES.map(String::from).to_vec();
    listed.sort_unstable();
    assert_eq!(found, listed, "a template this test does not know");

    let out = cfn_lint(&TEMPLATES.map(template_path));
    let stdout = succeeded("cfn-lint", &out);
    assert_eq!(stdout, "", "cfn-lint had something to say");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn cfn_lint_refuses_an_ecr_source_action_without_its_output_artifact() {
    let env = Env::new();
    let good = std::fs::read_to_string(template_path("pipeline.yaml")).unwrap();
    let line = "              OutputArtifacts: [{ Name: WebImage }]\n";
    assert!(good.contains(line));
    let broken = env.write("broken.yaml", good.replace(line, ""));
    let out = cfn_lint(&[broken]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "cfn-lint passed it: {stdout}");
    assert!(stdout.contains("E3702"), "{stdout}");
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
                        all.push((name.clone(), branch.clone()));
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

/// The top-level `buildspec.yml`: each secondary artifact and its files.
fn buildspec_artifacts() -> BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(repo_file("buildspec.yml")).unwrap();
    let doc = &YamlLoader::load_from_str(&text).unwrap()[0];
    let Yaml::Hash(secondary) = &doc["artifacts"]["secondary-artifacts"] else {
        panic!("buildspec.yml has no secondary-artifacts");
    };
    secondary
        .iter()
        .map(|(id, artifact)| {
            let files = artifact["files"]
                .as_vec()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap().to_owned())
                .collect();
            (id.as_str().unwrap().to_owned(), files)
        })
        .collect()
}

fn mapping() -> Value {
    let path = examples().join("pipeline/source/imagedef.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn services_artifacts_and_deploy_actions_agree_with_the_mapping_and_the_buildspec() {
    let template = template("pipeline.yaml");
    let all = actions(&template, "Pipeline");
    let mapping = mapping();
    let services: BTreeSet<String> = mapping["services"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(services.len(), 3, "{services:?}");

    let secondary = buildspec_artifacts();
    let identifiers: BTreeSet<String> = secondary.keys().cloned().collect();
    assert_eq!(identifiers, services, "buildspec.yml secondary-artifacts");

    let fanout = action(&all, "Fanout");
    let outputs: BTreeSet<String> = names(&fanout["OutputArtifacts"]).into_iter().collect();
    assert_eq!(outputs, services, "Fanout's output artifacts");

    let deploys: Vec<&Value> = all
        .iter()
        .filter(|(stage, _)| stage == "Deploy")
        .map(|(_, a)| a)
        .collect();
    let deployed: BTreeSet<String> = deploys
        .iter()
        .map(|a| a["Name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(deployed, services, "one deploy action per service");

    for deploy in deploys {
        let service = deploy["Name"].as_str().unwrap();
        let inputs = names(&deploy["InputArtifacts"]);
        assert!(inputs.iter().any(|i| i == service), "{service}: {inputs:?}");
        let config = &deploy["Configuration"];
        let provider = deploy["ActionTypeId"]["Provider"].as_str().unwrap();
        let spec = &mapping["services"][service];
        let files = &secondary[service];
        if let Some(container) = spec.get("blueGreen") {
            assert_eq!(provider, "CodeDeployToECS", "{service} is blue/green");
            assert_eq!(config["Image1ArtifactName"], service);
            assert!(files.contains(&"imageDetail.json".to_owned()), "{files:?}");
            // The task definition the pipeline deploys is the one the mapping checks against,
            // and its container takes the image through the placeholder.
            assert_eq!(config["TaskDefinitionTemplatePath"], spec["taskDefinition"]);
            let source = config["TaskDefinitionTemplateArtifact"].as_str().unwrap();
            assert_eq!(source, "Source");
            assert!(inputs.iter().any(|i| i == source));
            let taskdef_path = examples()
                .join("pipeline/source")
                .join(config["TaskDefinitionTemplatePath"].as_str().unwrap());
            let taskdef: Value =
                serde_json::from_str(&std::fs::read_to_string(taskdef_path).unwrap()).unwrap();
            let placeholder = format!("<{}>", config["Image1ContainerName"].as_str().unwrap());
            let def = taskdef["containerDefinitions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == *container)
                .unwrap();
            assert_eq!(def["image"], placeholder.as_str());
            assert_eq!(config["AppSpecTemplateArtifact"], "Source");
            let appspec = config["AppSpecTemplatePath"].as_str().unwrap();
            assert!(examples().join("pipeline/source").join(appspec).is_file());
        } else {
            assert_eq!(provider, "ECS", "{service} is a standard deploy");
            let file = config["FileName"].as_str().unwrap();
            assert!(
                files.contains(&file.to_owned()),
                "{service}: {file} in {files:?}"
            );
            assert_eq!(inputs, [service]);
        }
    }

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
    for spec in mapping["services"].as_object().unwrap().values() {
        for container in spec["containers"].as_object().unwrap().values() {
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
fn every_action_has_the_documented_provider_artifact_counts_and_configuration_keys() {
    let mut checked = 0;
    for (file, pipelines) in [
        ("pipeline.yaml", &["Pipeline"][..]),
        (
            "consumer-account.yaml",
            &["WebPipeline", "BatchPipeline"][..],
        ),
    ] {
        let template = template(file);
        for pipeline in pipelines {
            let props = &template["Resources"][pipeline]["Properties"];
            assert_eq!(props["PipelineType"], "V2", "{file} {pipeline}");
            assert_eq!(props["ArtifactStore"]["EncryptionKey"]["Type"], "KMS");
            let mut produced = BTreeSet::new();
            let mut stage_of = BTreeMap::new();
            let all = actions(&template, pipeline);
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
                    // The two branches of the Source's Fn::If both make "Source".
                    if produced.insert(output.clone()) {
                        stage_of.insert(output, stage.clone());
                    } else {
                        assert_eq!(name, "Source", "{at}: {output} made twice");
                    }
                }
                checked += 1;
            }
        }
    }
    // pipeline.yaml: 2 Source branches + 4 sources + Fanout + 3 deploys; consumer: 2 x 2.
    assert_eq!(checked, 14);
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

/// The stack of `file` created in moto with `params`.
fn stack(file: &str, params: &[String]) -> (String, Value) {
    let name = unique("imagedef-cfn");
    let endpoint = moto().endpoint();
    let path = template_path(file);
    let mut args = vec![
        "moto",
        endpoint.as_str(),
        path.to_str().unwrap(),
        name.as_str(),
    ];
    args.extend(params.iter().map(String::as_str));
    let created = cfn(&args);
    assert_eq!(created["StackStatus"], "CREATE_COMPLETE", "{created:#}");
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
fn set(value: &Value) -> BTreeSet<String> {
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

/// The JSON block that follows `marker` in README.md.
fn readme_json(marker: &str) -> Value {
    let readme = std::fs::read_to_string(repo_file("README.md")).unwrap();
    let at = readme
        .find(marker)
        .unwrap_or_else(|| panic!("README.md lost {marker:?}"));
    let block = readme[at..].split("```json\n").nth(1).unwrap();
    let block = block.split("```").next().unwrap();
    serde_json::from_str(block).unwrap_or_else(|e| panic!("README.md after {marker:?}: {e}"))
}

#[test]
fn the_pipeline_stack_in_moto_holds_its_roles_key_bucket_and_rules() {
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
        json!(["ArtifactBucketPolicy", "BuildProject", "Pipeline"])
    );
    // Everything else was created, less the rule of the S3 source not chosen.
    let made: BTreeSet<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        made,
        BTreeSet::from([
            "ArtifactKey",
            "ArtifactKeyAlias",
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
    assert_eq!(
        key["Policy"]["Statement"],
        json!([{ "Sid": "AccountAdministers", "Effect": "Allow",
                 "Principal": { "AWS": format!("arn:aws:iam::{ACCOUNT}:root") },
                 "Action": "kms:*", "Resource": "*" }])
    );
    let bucket = r["ArtifactBucket"]["PhysicalResourceId"].as_str().unwrap();
    let sse = &r["ArtifactBucket"]["Encryption"]["Rules"][0]["ApplyServerSideEncryptionByDefault"];
    assert_eq!(sse["SSEAlgorithm"], "aws:kms");
    assert_eq!(sse["KMSMasterKeyID"], key_arn);

    let group = format!("/aws/codebuild/{name}-imagedef");
    assert_eq!(
        r["BuildLogGroup"]["LogGroups"],
        json!([{ "logGroupName": group, "retentionInDays": 30 }])
    );

    // The build role: logs, the artifact store, nothing of ECR or ECS without the flags.
    let build = &r["BuildRole"];
    assert_eq!(
        build["AssumeRolePolicyDocument"]["Statement"][0]["Principal"],
        json!({ "Service": "codebuild.amazonaws.com" })
    );
    let s = statements(build, "imagedef-build");
    assert_eq!(
        s.keys().map(String::as_str).collect::<Vec<_>>(),
        ["ArtifactBucket", "ArtifactKey", "Artifacts", "Logs"]
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

    // The pipeline role names the repositories and services moto has, and the connection.
    let p = statements(&r["PipelineRole"], "imagedef-pipeline");
    assert_eq!(set(&p["EcrSources"]["Resource"]), owned(&shop.repo_arns));
    assert_eq!(
        set(&p["EcsDeployServices"]["Resource"]),
        owned(&shop.service_arns)
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
fn the_flags_in_use_grant_the_build_role_what_the_readme_lists_and_an_s3_source_gets_its_rule() {
    let shop = shop();
    let (_, created) = stack(
        "pipeline.yaml",
        &pipeline_params(
            &shop,
            &[
                "SourceProvider=S3",
                "SourceBucket=shop-source",
                "EcrCheck=true",
                "EcsLookup=true",
            ],
        ),
    );
    let r = &created["Resources"];
    let s = statements(&r["BuildRole"], "imagedef-build");
    assert_eq!(set(&s["EcrCheck"]["Resource"]), owned(&shop.repo_arns));
    assert_eq!(
        set(&s["EcsServices"]["Resource"]),
        owned(&shop.service_arns)
    );
    assert_eq!(s["EcsTaskDefinitions"]["Resource"], "*");
    assert_eq!(s["EcrToken"]["Resource"], "*");
    // README.md, "Live AWS checks": the same actions, on these resources.
    let readme = readme_json("The IAM policy the CodeBuild service role needs, per flag");
    let readme_actions: BTreeSet<String> = readme["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| set(&s["Action"]))
        .collect();
    let live: BTreeSet<String> = ["EcrCheck", "EcrToken", "EcsServices", "EcsTaskDefinitions"]
        .iter()
        .flat_map(|sid| set(&s[*sid]["Action"]))
        .collect();
    assert_eq!(live, readme_actions);

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

#[test]
fn the_publishing_and_consuming_stacks_in_moto_hold_the_readme_policies_and_rules() {
    // The consumer's bucket and key exist first in the other account; here both sides are
    // moto's one account, so the producer is given the consumer's names.
    let role_name = unique("codebuild-imagedef-publish");
    let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/{role_name}");
    let (_, consumer) = stack(
        "consumer-account.yaml",
        &[
            format!("PublisherRoleArn={role_arn}"),
            format!("TaskRoleArns=arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"),
        ],
    );
    let c = &consumer["Resources"];
    assert_eq!(
        consumer["Skipped"],
        json!([
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
    for b in ["BundleBucket", "ArtifactBucket"] {
        let sse = &c[b]["Encryption"]["Rules"][0]["ApplyServerSideEncryptionByDefault"];
        assert_eq!(sse["SSEAlgorithm"], "aws:kms", "{b}");
        assert_eq!(sse["KMSMasterKeyID"], key_arn.as_str(), "{b}");
    }

    let readme_bucket = "deploy-bundles-222233334444";
    let readme_key = "arn:aws:kms:eu-west-1:222233334444:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let readme_role = "arn:aws:iam::111122223333:role/codebuild-imagedef-publish";
    let ours = |v: Value| -> Value {
        serde_json::from_str(
            &v.to_string()
                .replace(readme_bucket, &bucket)
                .replace(readme_key, &key_arn)
                .replace(readme_role, &role_arn),
        )
        .unwrap()
    };

    // The key policy's publisher statement is the README's.
    let publisher = key["Policy"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "PublisherEncrypts")
        .cloned();
    assert_eq!(
        publisher,
        Some(ours(readme_json(
            "Its KMS key policy lets the publishing role"
        )))
    );

    // Each service's rule is the README's EventBridge pattern for its own bundle, and starts
    // only that service's pipeline.
    let events_role = c["EventsRole"]["Arn"].as_str().unwrap();
    let pattern = ours(readme_json("`S3ObjectKey: shop/web.zip`"));
    for (rule, service, pipeline) in [
        ("WebBundleRule", "web", "WebPipeline"),
        ("BatchBundleRule", "batch", "BatchPipeline"),
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
    assert_eq!(p["Key"]["Resource"], key_arn.as_str());

    // moto skips bucket policies and does not keep versioning or notifications from a stack:
    // those are read from the template. The bucket policy is the README's, plus TLS only.
    let t = template("consumer-account.yaml");
    let props = &t["Resources"]["BundleBucket"]["Properties"];
    assert_eq!(props["VersioningConfiguration"]["Status"], "Enabled");
    assert_eq!(
        props["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"],
        true
    );
    let readme_policy = readme_json("allows that role in its bucket policy");
    let policy = &t["Resources"]["BundleBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"];
    let shape = |s: &Value| json!([s["Sid"], s["Effect"], s["Action"], s.get("Condition")]);
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

    // The publishing role: the README's policy on the consumer's bucket and key, plus its logs
    // and the pipeline's artifact store.
    let (_, producer) = stack(
        "producer-publish.yaml",
        &[
            format!("PublishRoleName={role_name}"),
            format!("ImagedefImage={ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/imagedef:0.1.0"),
            "ArtifactBucketName=pipeline-artifacts".to_owned(),
            format!("ArtifactKeyArn=arn:aws:kms:{REGION}:{ACCOUNT}:key/artifacts"),
            format!("ConsumerAccountId={ACCOUNT}"),
            format!("BundleBucketName={bucket}"),
            format!("BundleKeyArn={key_arn}"),
        ],
    );
    assert_eq!(producer["Skipped"], json!(["PublishProject"]));
    let role = &producer["Resources"]["PublishRole"];
    assert_eq!(role["Arn"], role_arn.as_str());
    let s = statements(role, "imagedef-publish");
    let readme_role_policy = ours(readme_json("**The publishing build's role**"));
    let without_sid = |s: &Value| {
        let mut s = s.clone();
        s.as_object_mut().unwrap().remove("Sid");
        s
    };
    let granted: Vec<Value> = ["Bundles", "BundleBucket", "BundleKey"]
        .iter()
        .map(|sid| without_sid(&s[*sid]))
        .collect();
    assert_eq!(json!(granted), readme_role_policy["Statement"]);
    assert_eq!(
        s.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "ArtifactBucket",
            "ArtifactKey",
            "Artifacts",
            "BundleBucket",
            "BundleKey",
            "Bundles",
            "Logs"
        ]
    );

    // The publishing buildspec puts the bundles where the consumer's pipelines look.
    let buildspec = template("producer-publish.yaml")["Resources"]["PublishProject"]["Properties"]
        ["Source"]["BuildSpec"]["Fn::Sub"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        buildspec.contains("--key '${KeyPrefix}/{service}.zip'"),
        "{buildspec}"
    );
    for pipeline in ["WebPipeline", "BatchPipeline"] {
        let all = actions(&t, pipeline);
        let source = &all[0].1["Configuration"];
        let service = all[0].1["Name"].as_str().unwrap();
        assert_eq!(
            source["S3ObjectKey"],
            json!({ "Fn::Sub": format!("${{KeyPrefix}}/{service}.zip") })
        );
        assert_eq!(source["S3Bucket"], json!({ "Ref": "BundleBucket" }));
    }
}
