//! Blue/green inputs: the task definition template and the `AppSpec` that `CodeDeployToECS` reads,
//! checked by `emit` (mapping keys `taskDefinitionTemplate`, `appSpec`, `imagePlaceholder`) and by
//! `verify` (`--task-definition-template`, `--app-spec`, and inside `--bundle`), in the shapes
//! people commit.

use crate::emit_mapping::ROOTS;
use crate::util::{Env, examples, zip_facts};

const TEMPLATE: &str = "p/source/deploy/api-taskdef.json";
const APPSPEC: &str = "p/source/deploy/appspec.yaml";
const MAPPING: &str = "p/source/imagedef.json";

fn example() -> Env {
    let env = Env::new();
    env.copy_dir(&examples().join("pipeline"), "p");
    // Without the source's imageDetail.json template, whose refusal (a warning, which -q keeps)
    // the discovery tests check.
    std::fs::remove_file(env.path("p/source/templates/imageDetail.json")).unwrap();
    env
}

/// `verify --task-definition-template TEMPLATE --app-spec APPSPEC` and `extra`.
fn verify_pair(env: &Env, extra: &[&str]) -> crate::util::Run {
    let mut args = vec![
        "verify",
        "--task-definition-template",
        TEMPLATE,
        "--app-spec",
        APPSPEC,
    ];
    args.extend(extra);
    env.run(&args)
}

fn emit(env: &Env, extra: &[&str]) -> crate::util::Run {
    let mut args = vec!["emit", "--mapping", MAPPING, "-q", "--out", "out"];
    args.extend(ROOTS);
    args.extend(extra);
    env.run(&args)
}

/// Replaces `from` (which must be there) with `to` in the file at `rel`.
fn replace(env: &Env, rel: &str, from: &str, to: &str) {
    let text = env.read(rel);
    assert!(text.contains(from), "{rel} lacks {from:?}");
    env.write(rel, text.replace(from, to));
}

const YAML_CRLF_COMMENTS: &str = "# AppSpec for shop-api\r\nversion: 0.0\r\nResources:\r\n  # the ECS service CodeDeploy shifts traffic on\r\n  - TargetService:\r\n      Type: AWS::ECS::Service\r\n      Properties:\r\n        TaskDefinition: \"<TASK_DEFINITION>\" # filled in by the pipeline\r\n        LoadBalancerInfo:\r\n          ContainerName: api\r\n          ContainerPort: 8080\r\n        PlatformVersion: LATEST\r\nHooks:\r\n  - AfterAllowTestTraffic: arn:aws:lambda:us-east-1:111122223333:function:smoke\r\n";
const JSON_APPSPEC: &str = "{\n  \"version\": 0.0,\n  \"Resources\": [\n    {\n      \"TargetService\": {\n        \"Type\": \"AWS::ECS::Service\",\n        \"Properties\": {\n          \"TaskDefinition\": \"<TASK_DEFINITION>\",\n          \"LoadBalancerInfo\": {\"ContainerName\": \"api\", \"ContainerPort\": 8080}\n        }\n      }\n    }\n  ]\n}";

#[test]
fn shapes_people_commit_pass_and_are_written_byte_for_byte() {
    // (what, the template's new image placeholder, the AppSpec, the appSpec file name)
    let cases = [
        (
            "YAML, CRLF, comments, quoted placeholder",
            None,
            YAML_CRLF_COMMENTS,
            "appspec.yaml",
        ),
        (
            "JSON appspec without final newline",
            None,
            JSON_APPSPEC,
            "appspec.json",
        ),
        (
            "CDK placeholder IMAGE",
            Some("IMAGE"),
            YAML_CRLF_COMMENTS,
            "appspec.yml",
        ),
    ];
    for (what, placeholder, app_spec, name) in cases {
        let env = example();
        env.write(&format!("p/source/deploy/{name}"), app_spec);
        replace(
            &env,
            MAPPING,
            "deploy/appspec.yaml",
            &format!("deploy/{name}"),
        );
        // A template with CRLF line ends, as committed from Windows.
        let template = env.read(TEMPLATE).replace('\n', "\r\n");
        env.write(TEMPLATE, &template);
        if let Some(p) = placeholder {
            replace(&env, TEMPLATE, "<IMAGE1_NAME>", &format!("<{p}>"));
            replace(
                &env,
                MAPPING,
                "\"appSpec\"",
                &format!("\"imagePlaceholder\": \"{p}\", \"appSpec\""),
            );
        }
        emit(&env, &["--bundle"]).code(0);
        assert_eq!(
            std::fs::read(env.path("out/api/taskdef.json")).unwrap(),
            std::fs::read(env.path(TEMPLATE)).unwrap(),
            "{what}"
        );
        assert_eq!(env.read("out/api/appspec.yaml"), app_spec, "{what}");
        let sums = env.read("out/SHA256SUMS");
        for file in ["api/taskdef.json", "api/appspec.yaml"] {
            assert!(sums.contains(&format!("  {file}\n")), "{what}: {sums}");
        }
        let mut verify = vec!["verify", "--bundle", "out/api.zip"];
        if let Some(p) = placeholder {
            verify.extend(["--image-placeholder", p]);
        }
        let run = env.run(&verify);
        run.code(0)
            .stdout_has(&format!(
                "ok      out/api.zip:taskdef.json: task definition template: container \"api\" takes the image as <{}>, no other placeholder is left\n",
                placeholder.unwrap_or("IMAGE1_NAME")
            ))
            .stdout_has("ok      out/api.zip:appspec.yaml: AppSpec version 0.0 deploys <TASK_DEFINITION> with traffic to container \"api\" port 8080, which the template maps\n");
    }
}

#[test]
#[allow(clippy::too_many_lines)] // one case per few lines, in one list to read them together
fn each_emit_refusal_has_its_exit_code_names_file_key_value_and_fix_and_writes_nothing() {
    let ctx =
        |key: &str| format!("imagedef: error: mapping {MAPPING}, key \"services.api.{key}\": ");
    let t = |rest: &str| {
        format!(
            "{}task definition template {TEMPLATE}: {rest}; nothing was written\n",
            ctx("taskDefinitionTemplate")
        )
    };
    let a = |rest: &str| {
        format!(
            "{}AppSpec {APPSPEC}: {rest}; nothing was written\n",
            ctx("appSpec")
        )
    };
    // (file, from, to, exit code, the whole stderr)
    let cases: Vec<(&str, &str, &str, i32, String)> = vec![
        (
            TEMPLATE,
            "<IMAGE1_NAME>",
            "<IMAGE_NAME>",
            1,
            t(
                "key \"containerDefinitions[0].image\" = \"<IMAGE_NAME>\" (the blue/green container \"api\"): CodeDeployToECS replaces only \"<IMAGE1_NAME>\" (the action's Image1ContainerName IMAGE1_NAME); write \"image\": \"<IMAGE1_NAME>\", or, when the action's Image1ContainerName is IMAGE_NAME, set imagePlaceholder to \"IMAGE_NAME\"",
            ),
        ),
        (
            TEMPLATE,
            "\"essential\": true,",
            "\"essential\": true }, { \"name\": \"log-router\", \"image\": \"<IMAGE2_NAME>\",",
            1,
            t(
                "key \"containerDefinitions[1].image\" = \"<IMAGE2_NAME>\" (container \"log-router\"): an angle-bracket placeholder that nothing fills in: imagedef writes one imageDetail.json per service, the image of the blue/green container; write this container's image reference",
            ),
        ),
        (
            MAPPING,
            "\"taskDefinitionTemplate\": \"deploy/api-taskdef.json\"",
            "\"taskDefinitionTemplate\": \"deploy/taskdef.json\"",
            2,
            format!(
                "{}task definition template p/source/deploy/taskdef.json: has no key \"containerDefinitions\"; give a task definition (the JSON of register-task-definition, or the output of aws ecs describe-task-definition); nothing was written\n",
                ctx("taskDefinitionTemplate")
            ),
        ),
        (
            APPSPEC,
            "ContainerName: \"api\"",
            "ContainerName: \"api-container\"",
            1,
            a(
                "key \"Resources[0].TargetService.Properties.LoadBalancerInfo.ContainerName\" = \"api-container\": the task definition template has no such container (it has \"api\"); name the container that takes the traffic",
            ),
        ),
        (
            APPSPEC,
            "ContainerPort: 8080",
            "ContainerPort: 80",
            1,
            a(
                "key \"Resources[0].TargetService.Properties.LoadBalancerInfo.ContainerPort\" = 80: container \"api\" of the task definition template maps containerPort 8080; use one of its ports, or add {\"containerPort\": 80} to its portMappings",
            ),
        ),
        (
            APPSPEC,
            "TaskDefinition: <TASK_DEFINITION>",
            "TaskDefinition: shop-api:3",
            1,
            a(
                "key \"Resources[0].TargetService.Properties.TaskDefinition\" = \"shop-api:3\": CodeDeployToECS fills in <TASK_DEFINITION> with the task definition it registers from taskdef.json; write TaskDefinition: <TASK_DEFINITION>",
            ),
        ),
        (
            APPSPEC,
            "version: 0.0",
            "version: 1.0",
            1,
            a("key \"version\" = 1.0: an ECS AppSpec is version 0.0; write version: 0.0"),
        ),
        (
            APPSPEC,
            "Type: AWS::ECS::Service",
            "Type: AWS::ECS::TaskSet",
            1,
            a(
                "key \"Resources\" has no resource of Type AWS::ECS::Service (it has \"AWS::ECS::TaskSet\"); list the ECS service: Resources: [{TargetService: {Type: AWS::ECS::Service, Properties: {TaskDefinition: <TASK_DEFINITION>, LoadBalancerInfo: {ContainerName: ..., ContainerPort: ...}}}}]",
            ),
        ),
        (
            APPSPEC,
            "      Properties:",
            "     Properties:",
            2,
            a(
                "is not valid YAML: while parsing a block mapping, did not find expected key at line 8 column 16; correct it there",
            ),
        ),
        (
            MAPPING,
            "deploy/appspec.yaml",
            "deploy/appspec.yml",
            2,
            format!(
                "{}cannot read AppSpec p/source/deploy/appspec.yml: No such file or directory (os error 2); check the path; nothing was written\n",
                ctx("appSpec")
            ),
        ),
        (
            MAPPING,
            "\"appSpec\"",
            "\"imagePlaceholder\": \"<IMAGE1_NAME>\", \"appSpec\"",
            2,
            format!(
                "imagedef: error: mapping {MAPPING}: key \"services.api.imagePlaceholder\" = \"<IMAGE1_NAME>\": write it without the angle brackets, as the action's Image1ContainerName (\"IMAGE1_NAME\")\n"
            ),
        ),
    ];
    for (file, from, to, code, stderr) in cases {
        let env = example();
        // A template kept apart from the task definition, which is not one.
        env.write("p/source/deploy/taskdef.json", r#"{"family": "shop-api"}"#);
        replace(&env, file, from, to);
        let run = emit(&env, &["--bundle"]);
        assert_eq!(
            (run.code, run.stderr()),
            (code, stderr.as_str()),
            "{from} -> {to}: {run:#?}"
        );
        assert!(
            !env.path("out").exists(),
            "{from} -> {to}: nothing is written"
        );
    }
}

#[test]
fn an_artifact_over_3_mb_is_refused() {
    let env = example();
    // Two inputs of 2.5 MB each (under the 3 MB each is read with) of pseudo-random letters,
    // digits, _ and -, which deflate to about 3/4: zipped together, over 3 MB.
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: String = (0..2_500_000)
        .map(|_| {
            // xorshift64
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            alphabet[(x >> 58) as usize] as char
        })
        .collect();
    replace(
        &env,
        TEMPLATE,
        "\"essential\": true,",
        &format!("\"essential\": true, \"dockerLabels\": {{\"n\": \"{noise}\"}},"),
    );
    env.write(APPSPEC, format!("{}# {noise}\n", env.read(APPSPEC)));
    let run = emit(&env, &[]);
    run.code(1);
    assert!(
        run.stderr().starts_with("imagedef: error: service \"api\": its artifact (imagedefinitions.json, imageDetail.json, taskdef.json, appspec.yaml) is "),
        "{run:#?}"
    );
    assert!(
        run.stderr().ends_with(" bytes zipped; CodeDeployToECS reads artifacts of at most 3 MB (3145728 bytes) and fails with \"Exception while trying to read the task definition artifact file\"; shrink the task definition template or the AppSpec\n"),
        "{run:#?}"
    );
    assert!(!env.path("out").exists());
}

#[test]
fn verify_checks_the_pair_given_on_the_command_line() {
    let env = example();
    let run = verify_pair(&env, &[]);
    run.code(0);
    assert_eq!(
        run.stdout(),
        format!(
            "ok      {TEMPLATE}: task definition template: container \"api\" takes the image as <IMAGE1_NAME>, no other placeholder is left\nok      {APPSPEC}: AppSpec version 0.0 deploys <TASK_DEFINITION> with traffic to container \"api\" port 8080, which the template maps\n2 passed, 0 failed\n"
        )
    );
    // --json and JUnit name the check "blue/green".
    let run = verify_pair(&env, &["--json"]);
    run.code(0);
    let json: serde_json::Value = serde_json::from_str(run.stdout()).unwrap();
    let checked: Vec<(&str, &str)> = json["checked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["check"].as_str().unwrap(), c["subject"].as_str().unwrap()))
        .collect();
    assert_eq!(checked, [("blue/green", TEMPLATE), ("blue/green", APPSPEC)]);
    let run = verify_pair(&env, &["--image-placeholder", "IMAGE", "--json"]);
    run.code(1);
    let json: serde_json::Value = serde_json::from_str(run.stdout()).unwrap();
    assert_eq!(json["findings"][0]["check"], "blue/green");
    assert_eq!(json["findings"][0]["subject"], TEMPLATE);
    let run = verify_pair(&env, &["--image-placeholder", "IMAGE"]);
    run.code(1);
    assert_eq!(
        run.stdout(),
        format!(
            "FAILED  {TEMPLATE}: no container's image is \"<IMAGE>\" (the images are \"api\": \"<IMAGE1_NAME>\"); CodeDeployToECS puts the image only where the template says <IMAGE>: write \"image\": \"<IMAGE>\" in the blue/green container, or give --image-placeholder the action's Image1ContainerName\n0 passed, 1 failed\n"
        )
    );
    replace(&env, APPSPEC, "ContainerPort: 8080", "ContainerPort: 80");
    let run = verify_pair(&env, &[]);
    run.code(1);
    assert_eq!(
        run.stdout(),
        format!(
            "FAILED  {APPSPEC}: key \"Resources[0].TargetService.Properties.LoadBalancerInfo.ContainerPort\" = 80: container \"api\" of the task definition template maps containerPort 8080; use one of its ports, or add {{\"containerPort\": 80}} to its portMappings\n0 passed, 1 failed\n"
        )
    );
    env.write(APPSPEC, "version: 0.0\nResources: [\n");
    let run = verify_pair(&env, &[]);
    run.code(2);
    assert_eq!(
        run.stdout(),
        format!(
            "ERROR   {APPSPEC}: is not valid YAML: while parsing a node, did not find expected node content at line 3 column 1; correct it there\n0 passed, 1 failed\n"
        )
    );
    let run = env.run(&["verify", "--app-spec", APPSPEC]);
    run.code(2).stderr_has("--task-definition-template");
    let run = verify_pair(&env, &["--image-placeholder", "<IMAGE>"]);
    run.code(2);
    assert_eq!(
        run.stderr(),
        "imagedef: error: --image-placeholder \"<IMAGE>\": write it without the angle brackets, as the action's Image1ContainerName (\"IMAGE\")\n"
    );
}

#[test]
fn verify_checks_the_pair_in_a_bundle() {
    let env = example();
    emit(&env, &["--bundle"]).code(0);
    // The bundle's template holds <IMAGE1_NAME>: a pipeline whose action says IMAGE fails.
    let run = env.run(&[
        "verify",
        "--bundle",
        "out/api.zip",
        "--image-placeholder",
        "IMAGE",
    ]);
    run.code(1).stdout_has("FAILED  out/api.zip:taskdef.json: no container's image is \"<IMAGE>\" (the images are \"api\": \"<IMAGE1_NAME>\"); ");
    // Bundles without the pair are not held to it.
    env.run(&["verify", "--bundle", "out/web.zip"])
        .code(0)
        .stdout_is(&format!(
            "ok      out/web.zip: zip of imagedefinitions.json at its root reads cleanly {}; content held against SHA256SUMS (out/SHA256SUMS)\n1 passed, 0 failed\n",
            zip_facts(&env, "out/web.zip")
        ));
}
