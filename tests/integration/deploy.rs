//! `imagedef deploy` and `imagedef confirm`, end to end: the binary against moto behind the ECS
//! stand-in (`util::ecs_standin`), which plays the deployments moto does not. Each test asserts what
//! a user sees (exit code, stdout, stderr) and what the stand-in received.

use serde_json::{Value, json};

use crate::util::Env;
use crate::util::aws::{self, aws_env, moto, unique};
use crate::util::ecs_standin::{Script, Standin, Step};

const REGION: &str = "eu-west-1";

/// A digest no other test uses.
fn digest() -> String {
    use sha2::Digest as _;
    let hex = sha2::Sha256::digest(unique("digest").as_bytes())
        .iter()
        .fold(String::new(), |mut s, b| {
            use std::fmt::Write as _;
            let _ = write!(s, "{b:02x}");
            s
        });
    format!("sha256:{hex}")
}

/// shop/web's image in moto's registry, pinned to `digest`.
fn image(digest: &str) -> String {
    format!("{}/shop/web@{digest}", aws::host(REGION))
}

/// One ECS call to moto as `access_key` (moto's account of that key), unsigned.
fn ecs_as(access_key: &str, target: &str, body: &Value) -> Value {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={access_key}/20260101/{REGION}/ecs/aws4_request, SignedHeaders=host, Signature=00"
    );
    let (status, text) = aws::http(
        moto().port,
        "POST",
        "/",
        &[
            ("Content-Type", "application/x-amz-json-1.1"),
            (
                "X-Amz-Target",
                &format!("AmazonEC2ContainerServiceV20141113.{target}"),
            ),
            ("Authorization", &auth),
        ],
        body.to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{target}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// A cluster and a service `name` running a task definition of family `name` with `containers`
/// (name, image), `extra` merged into `RegisterTaskDefinition` and `service` into `CreateService`, in
/// the account of `access_key`; returns the task definition's ARN.
fn service_as(
    access_key: &str,
    cluster: &str,
    name: &str,
    containers: &[(&str, &str)],
    extra: &Value,
    service: &Value,
) -> String {
    ecs_as(
        access_key,
        "CreateCluster",
        &json!({"clusterName": cluster}),
    );
    let mut td = json!({
        "family": name,
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": containers.iter().map(|(n, i)| json!({"name": n, "image": i, "essential": true})).collect::<Vec<_>>()
    });
    if let (Value::Object(td), Value::Object(extra)) = (&mut td, extra) {
        td.extend(extra.clone());
    }
    let arn =
        ecs_as(access_key, "RegisterTaskDefinition", &td)["taskDefinition"]["taskDefinitionArn"]
            .as_str()
            .unwrap()
            .to_owned();
    let mut create =
        json!({"cluster": cluster, "serviceName": name, "taskDefinition": arn, "desiredCount": 2});
    if let (Value::Object(c), Value::Object(extra)) = (&mut create, service) {
        c.extend(extra.clone());
    }
    ecs_as(access_key, "CreateService", &create);
    arn
}

/// [`service_as`] in moto's default account.
fn service(cluster: &str, name: &str, containers: &[(&str, &str)]) -> String {
    service_as(
        "AKIDIMAGEDEFTEST",
        cluster,
        name,
        containers,
        &json!({}),
        &json!({}),
    )
}

/// A scratch directory whose runs talk to `standin`, with `imagedefinitions.json` writing
/// `containers` (name, image).
fn build(standin: &Standin, containers: &[(&str, &str)]) -> Env {
    let mut env = Env::new();
    aws_env(&mut env, &standin.endpoint());
    let defs: Vec<Value> = containers
        .iter()
        .map(|(n, i)| json!({"name": n, "imageUri": i}))
        .collect();
    env.write(
        "imagedefinitions.json",
        serde_json::to_string(&defs).unwrap(),
    );
    env
}

/// `deploy ecs://CLUSTER/NAME --file imagedefinitions.json --poll-interval 0.02` plus `extra`.
fn deploy(env: &Env, cluster: &str, name: &str, extra: &[&str]) -> crate::util::Run {
    let target = format!("ecs://{cluster}/{name}");
    let mut args = vec![
        "deploy",
        &target,
        "--file",
        "imagedefinitions.json",
        "--poll-interval",
        "0.02",
    ];
    args.extend(extra);
    env.run(&args)
}

/// A rolling service with its first revision running nginx, and a build writing a new digest.
struct Case {
    standin: Standin,
    env: Env,
    cluster: String,
    name: String,
    running: String,
    digest: String,
}

fn case(script: Script) -> Case {
    let cluster = unique("prod");
    let name = unique("web");
    let running = service(&cluster, &name, &[("app", "nginx:1.27")]);
    let standin = Standin::start(moto().port, vec![(name.clone(), script)]);
    let digest = digest();
    let env = build(&standin, &[("app", &image(&digest))]);
    Case {
        standin,
        env,
        cluster,
        name,
        running,
        digest,
    }
}

fn short(digest: &str) -> &str {
    &digest[..19]
}

#[test]
fn deploy_registers_the_running_revision_with_only_the_new_image_updates_only_the_task_definition_and_follows_it_to_success()
 {
    let c = case(Script::rolling_success());
    let run = deploy(&c.env, &c.cluster, &c.name, &[]);
    run.code(0)
        .stdout_has(&format!("ecs://{}/{}: registered {}:2 (a copy of {}:1 with the image of app replaced)", c.cluster, c.name, c.name, c.name))
        .stdout_has("IN_PROGRESS")
        .stdout_has(&format!(
            "deployed: deployment ecs-svc/1000000000000000002 SUCCESSFUL, 2 of 2 tasks running (ROLLING); 2 tasks run the written digests (app {})",
            short(&c.digest)
        ));
    let registered = c.standin.bodies("RegisterTaskDefinition");
    assert_eq!(registered.len(), 1);
    let r = &registered[0];
    assert_eq!(r["family"], json!(c.name));
    assert_eq!(
        r["containerDefinitions"][0]["image"],
        json!(image(&c.digest))
    );
    for (key, value) in [
        ("cpu", json!("256")),
        ("memory", json!("512")),
        ("networkMode", json!("awsvpc")),
        ("requiresCompatibilities", json!(["FARGATE"])),
    ] {
        assert_eq!(r[key], value, "{key} kept: {r}");
    }
    assert!(
        r.get("revision").is_none()
            && r.get("taskDefinitionArn").is_none()
            && r.get("compatibilities").is_none(),
        "read-only fields dropped: {r}"
    );
    let updates = c.standin.bodies("UpdateService");
    let new = format!("{}:2", c.running.rsplit_once(':').unwrap().0);
    assert_eq!(
        updates,
        [json!({"cluster": c.cluster, "service": c.name, "taskDefinition": new})],
        "UpdateService carries only the cluster, the service and the task definition"
    );
    // README.md's policy for deploy allows every call it made.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let policy = readme
        .split("The IAM policy `deploy` needs")
        .nth(1)
        .unwrap();
    let policy: Value = serde_json::from_str(
        policy
            .split("```json\n")
            .nth(1)
            .unwrap()
            .split("```")
            .next()
            .unwrap(),
    )
    .unwrap();
    let allowed: Vec<String> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| match &s["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(a) => a.iter().map(|a| a.as_str().unwrap().to_owned()).collect(),
            _ => Vec::new(),
        })
        .collect();
    for op in c.standin.operations() {
        assert!(
            allowed.contains(&format!("ecs:{op}")),
            "README's policy lacks ecs:{op}: {allowed:?}"
        );
    }
}

#[test]
fn deploy_of_the_digests_the_service_already_runs_is_unchanged_and_changes_nothing() {
    let cluster = unique("prod");
    let name = unique("web");
    let d = digest();
    service(&cluster, &name, &[("app", &image(&d))]);
    let standin = Standin::start(moto().port, vec![(name.clone(), Script::rolling_success())]);
    let env = build(&standin, &[("app", &image(&d))]);
    deploy(&env, &cluster, &name, &[])
        .code(0)
        .stdout_has(&format!("ecs://{cluster}/{name}: unchanged: it runs {name}:1 with these digests (app {}), its deployment ended successfully and 2 tasks run them; nothing was registered or updated", short(&d)));
    assert_eq!(standin.count("RegisterTaskDefinition"), 0);
    assert_eq!(standin.count("UpdateService"), 0);
    // -q: only problems; there are none.
    let quiet = deploy(&env, &cluster, &name, &["-q"]);
    quiet.code(0);
    assert_eq!((quiet.stdout.as_str(), quiet.stderr.as_str()), ("", ""));
}

#[test]
fn a_circuit_breaker_rollback_fails_at_once_with_ecs_reason_and_the_stopped_tasks_cause() {
    let c = case(Script::circuit_breaker_platform());
    let run = deploy(&c.env, &c.cluster, &c.name, &[]);
    run.code(1)
        .stdout_has(&format!("ecs://{}/{}: FAILED: deployment ecs-svc/1000000000000000002 ROLLBACK_IN_PROGRESS (ECS is rolling it back): ECS deployment circuit breaker: tasks failed to start.; the deployment circuit breaker tripped (3 failed tasks, threshold 3)", c.cluster, c.name))
        .stdout_has("(TaskFailedToStart): CannotPullContainerError: pull image manifest has been retried 5 time(s): image Manifest does not contain descriptor matching platform 'linux/arm64'")
        .stdout_has("fix: the image has no manifest for the task's platform")
        .stdout_has("deployment failed: tasks failed to start.")
        .stderr_has(&format!("imagedef: error: deploy: 1 of 1 service(s) did not succeed: ecs://{}/{}", c.cluster, c.name));
    // The plan, the look right before UpdateService, then two polls: the second saw the
    // rollback and was the last, within one poll interval of ECS marking it.
    assert_eq!(c.standin.polls(&c.name), 4, "{:?}", c.standin.operations());
}

#[test]
fn a_deployment_superseded_by_another_fails_naming_it_and_the_digests_running() {
    let c = case(Script {
        steps: vec![Step::Going, Step::Superseded],
        ..Script::rolling_success()
    });
    deploy(&c.env, &c.cluster, &c.name, &[])
        .code(1)
        .stdout_has("FAILED: deployment ecs-svc/1000000000000000002 did not finish: STOPPED: another deployment replaced it: ecs-svc/1000000000000000003")
        .stdout_has(&format!("the tasks run other digests: container app written {} running sha256:eeeeeeeeeeee", short(&c.digest)));
}

#[test]
fn a_service_with_the_code_deploy_controller_is_refused_naming_the_codedeploy_action_and_its_files()
{
    let cluster = unique("prod");
    let name = unique("web");
    service_as(
        "AKIDIMAGEDEFTEST",
        &cluster,
        &name,
        &[("app", "nginx")],
        &json!({}),
        &json!({"deploymentController": {"type": "CODE_DEPLOY"}}),
    );
    let standin = Standin::start(moto().port, vec![]);
    let env = build(&standin, &[("app", &image(&digest()))]);
    deploy(&env, &cluster, &name, &[])
        .code(2)
        .stderr_has("uses the CODE_DEPLOY deployment controller")
        .stderr_has("CodeDeployToECS action")
        .stderr_has("imageDetail.json, and with \"taskDefinitionTemplate\" and \"appSpec\" also taskdef.json and appspec.yaml")
        .stderr_has("nothing was changed");
    assert_eq!(
        standin.count("RegisterTaskDefinition") + standin.count("UpdateService"),
        0
    );
}

#[test]
fn a_deployment_in_flight_not_started_by_this_run_is_refused_or_waited_for() {
    let c = case(Script {
        in_flight_polls: 3,
        ..Script::rolling_success()
    });
    deploy(&c.env, &c.cluster, &c.name, &[])
        .code(2)
        .stderr_has(&format!("a deployment that this run did not start is in progress on ecs://{}/{}: ecs-svc/1000000000000000001 (task definition {}:1, IN_PROGRESS", c.cluster, c.name, c.name))
        .stderr_has("pass --wait-for-in-flight");
    assert_eq!(c.standin.count("RegisterTaskDefinition"), 0);
    deploy(&c.env, &c.cluster, &c.name, &["--wait-for-in-flight"])
        .code(0)
        .stdout_has("waiting for deployment ecs-svc/1000000000000000001 in flight (not started by this run) to end")
        .stdout_has("the deployment in flight, ecs-svc/1000000000000000001, ended (SUCCESSFUL")
        .stdout_has("deployed: deployment ecs-svc/1000000000000000002");
    assert_eq!(c.standin.count("UpdateService"), 1);
}

#[test]
fn a_pause_hook_is_said_with_its_stage_and_expiry_and_the_deployment_followed_to_success() {
    let c = case(Script {
        steps: vec![
            Step::Going,
            Step::Paused,
            Step::Paused,
            Step::Paused,
            Step::Done,
        ],
        strategy: "BLUE_GREEN",
        ..Script::rolling_success()
    });
    let run = deploy(&c.env, &c.cluster, &c.name, &[]);
    run.code(0)
        .stdout_has("(BLUE_GREEN); 2 tasks run the written digests");
    let paused: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains("paused at stage POST_TEST_TRAFFIC_SHIFT by a pause hook (ecs-pause-0a1b2c3d) until "))
        .collect();
    assert_eq!(paused.len(), 1, "said once while it holds: {run:#?}");
    assert!(
        paused[0].contains("on expiry ECS will ROLLBACK")
            && paused[0].contains("aws ecs continue-service-deployment"),
        "{}",
        paused[0]
    );
}

#[test]
fn the_timeout_ends_the_wait_naming_the_state_and_saying_the_deployment_goes_on() {
    let c = case(Script {
        steps: vec![Step::Going],
        ..Script::rolling_success()
    });
    deploy(&c.env, &c.cluster, &c.name, &["--timeout", "1"])
        .code(1)
        .stdout_has("TIMED OUT after 1s (--timeout): deployment ecs-svc/1000000000000000002 was deployment ecs-svc/1000000000000000002 IN_PROGRESS, stage SCALE_UP, 1 of 2 tasks running; it goes on in ECS");
}

#[test]
fn dry_run_shows_the_images_per_container_and_calls_nothing_that_changes_anything() {
    let c = case(Script::rolling_success());
    deploy(&c.env, &c.cluster, &c.name, &["--dry-run"])
        .code(0)
        .stdout_has(&format!("would register the next revision of {} (a copy of {}:1 with the image of app replaced) and update the service to it (nothing else)", c.name, c.name))
        .stdout_has(&format!("  app: nginx:1.27 -> {} (changed)", image(&c.digest)));
    let mutating = [
        "RegisterTaskDefinition",
        "UpdateService",
        "TagResource",
        "DeregisterTaskDefinition",
        "CreateService",
    ];
    let ops = c.standin.operations();
    assert!(
        ops.iter().all(|o| !mutating.contains(&o.as_str())),
        "{ops:?}"
    );
    assert!(
        ops.contains(&"DescribeServices".to_owned())
            && ops.contains(&"DescribeTaskDefinition".to_owned()),
        "{ops:?}"
    );
}

#[test]
fn confirm_after_a_successful_deploy_confirms_and_after_a_rollback_fails_with_its_cause() {
    let c = case(Script::rolling_success());
    deploy(&c.env, &c.cluster, &c.name, &[]).code(0);
    let target = format!("ecs://{}/{}", c.cluster, c.name);
    c.env
        .run(&["confirm", &target, "--file", "imagedefinitions.json", "--poll-interval", "0.02"])
        .code(0)
        .stdout_has(&format!("{target}: confirmed: deployment ecs-svc/1000000000000000002 SUCCESSFUL, 2 of 2 tasks running (ROLLING); 2 tasks run the written digests (app {})", short(&c.digest)));
    assert_eq!(
        c.standin.count("UpdateService"),
        1,
        "confirm changes nothing"
    );

    let c = case(Script::circuit_breaker_platform());
    deploy(&c.env, &c.cluster, &c.name, &[]).code(1);
    let target = format!("ecs://{}/{}", c.cluster, c.name);
    c.env
        .run(&["confirm", &target, "--file", "imagedefinitions.json", "--poll-interval", "0.02"])
        .code(1)
        .stdout_has(&format!("{target}: FAILED: deployment ecs-svc/1000000000000000003 ROLLBACK_SUCCESSFUL: ECS deployment circuit breaker: tasks failed to start."))
        .stdout_has("rolled back to service revision")
        .stdout_has("descriptor matching platform 'linux/arm64'");
}

#[test]
fn several_services_deploy_at_once_from_emits_out_each_with_its_verdict_and_the_worst_exit() {
    let cluster = unique("prod");
    let web = unique("web");
    let api = unique("api");
    service(&cluster, &web, &[("app", "nginx:1.27")]);
    service(&cluster, &api, &[("app", "nginx:1.27")]);
    let standin = Standin::start(
        moto().port,
        vec![
            (web.clone(), Script::rolling_success()),
            (api.clone(), Script::circuit_breaker_platform()),
        ],
    );
    let mut env = Env::new();
    aws_env(&mut env, &standin.endpoint());
    let (dw, da) = (digest(), digest());
    env.write(
        "web-img/imageDetail.json",
        aws::detail(REGION, "shop/web", &dw, &["1"]),
    );
    env.write(
        "api-img/imageDetail.json",
        aws::detail(REGION, "shop/api", &da, &["1"]),
    );
    env.write(
        "imagedef.json",
        json!({"services": {
            "web": {"taskDefinition": format!("ecs://{cluster}/{web}"), "containers": {"app": {"artifact": "web-img"}}},
            "api": {"taskDefinition": format!("ecs://{cluster}/{api}"), "containers": {"app": {"artifact": "api-img"}}},
            "batch": {"containers": {"app": {"artifact": "web-img"}}}
        }})
        .to_string(),
    );
    env.run(&[
        "emit",
        "web-img",
        "api-img",
        "--mapping",
        "imagedef.json",
        "--out",
        "out",
    ])
    .code(0);
    let run = env.run(&[
        "deploy",
        "--out",
        "out",
        "--poll-interval",
        "0.02",
        "--junit",
        "deploy.xml",
        "--json",
    ]);
    run.code(1)
        .stderr_has("skipped (their taskDefinition is not ecs://CLUSTER/SERVICE): batch");
    let doc = run.json();
    let outcomes: Vec<(&str, &str)> = doc["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        outcomes,
        [("batch", "skipped"), ("web", "deployed"), ("api", "failed")]
    );
    let web_row = &doc["services"][1];
    assert_eq!(web_row["controller"], "ECS");
    assert_eq!(web_row["strategy"], "ROLLING");
    assert_eq!(web_row["status"], "SUCCESSFUL");
    assert_eq!(web_row["tasks"], 2);
    assert_eq!(web_row["containers"][0]["written_digest"], json!(dw));
    assert_eq!(web_row["containers"][0]["running_digests"], json!([dw]));
    let xml = env.read("deploy.xml");
    assert!(
        xml.contains("tests=\"3\" failures=\"1\" errors=\"0\""),
        "{xml}"
    );
    assert!(
        xml.contains(&format!("name=\"ecs://{cluster}/{api}\"")),
        "{xml}"
    );
    assert!(
        !xml.contains(&env.root().display().to_string()),
        "no absolute paths: {xml}"
    );
    // Both were planned before either was changed.
    let ops = standin.operations();
    let first_update = ops.iter().position(|o| o == "UpdateService").unwrap();
    let registered: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| *o == "RegisterTaskDefinition")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(registered.len(), 2);
    assert!(registered.iter().all(|i| *i < first_update), "{ops:?}");
}

#[test]
fn a_container_the_running_revision_lacks_fails_before_any_change_as_the_ecs_action_would() {
    let c = case(Script::rolling_success());
    c.env.write(
        "imagedefinitions.json",
        json!([{"name": "app", "imageUri": image(&c.digest)}, {"name": "sidecar", "imageUri": image(&c.digest)}]).to_string(),
    );
    deploy(&c.env, &c.cluster, &c.name, &[])
        .code(1)
        .stderr_has("container \"sidecar\" not in task definition")
        .stderr_has(
            "the ECS deploy would fail with \"The AWS ECS container sidecar does not exist\"",
        )
        .stderr_has("nothing was changed");
    assert_eq!(
        c.standin.count("RegisterTaskDefinition") + c.standin.count("UpdateService"),
        0
    );
}

#[test]
fn a_file_for_another_service_is_refused() {
    let c = case(Script::rolling_success());
    c.env.write(
        "imagedefinitions.json",
        json!([{"name": "worker", "imageUri": image(&c.digest)}]).to_string(),
    );
    deploy(&c.env, &c.cluster, &c.name, &[])
        .code(2)
        .stderr_has("imagedefinitions.json is for another service: none of its containers (\"worker\") is in task definition");
}

#[test]
fn a_task_definition_field_the_sdk_does_not_know_is_refused_rather_than_dropped() {
    let c = case(Script {
        unknown_field: Some((
            "trustedExecutionConfiguration",
            json!({"isolationMode": "SHARED"}),
        )),
        ..Script::rolling_success()
    });
    deploy(&c.env, &c.cluster, &c.name, &[])
        .code(2)
        .stderr_has("holds a field that the AWS SDK in this imagedef build does not know: taskDefinition.trustedExecutionConfiguration; a revision copied from it would silently drop it, so nothing is registered");
    assert_eq!(c.standin.count("RegisterTaskDefinition"), 0);
}

#[test]
fn the_task_definitions_tags_are_kept_but_those_ecs_reserves() {
    let cluster = unique("prod");
    let name = unique("web");
    service_as(
        "AKIDIMAGEDEFTEST",
        &cluster,
        &name,
        &[("app", "nginx")],
        &json!({"tags": [{"key": "team", "value": "shop"}, {"key": "aws:cloudformation:stack-name", "value": "prod"}]}),
        &json!({}),
    );
    let standin = Standin::start(moto().port, vec![(name.clone(), Script::rolling_success())]);
    let env = build(&standin, &[("app", &image(&digest()))]);
    deploy(&env, &cluster, &name, &[])
        .code(0)
        .stdout_has("tags of the running revision left out of the new one, as ECS reserves aws: for itself: aws:cloudformation:stack-name=prod");
    assert_eq!(
        standin.bodies("RegisterTaskDefinition")[0]["tags"],
        json!([{"key": "team", "value": "shop"}])
    );
    let new = ecs_as(
        "AKIDIMAGEDEFTEST",
        "DescribeTaskDefinition",
        &json!({"taskDefinition": format!("{name}:2"), "include": ["TAGS"]}),
    );
    assert_eq!(new["tags"], json!([{"key": "team", "value": "shop"}]));
}

#[test]
fn role_arn_deploys_a_service_in_another_account_through_sts() {
    // moto's STS: the keys of an assumed role act in the role's account.
    let (status, text) = aws::http(
        moto().port,
        "POST",
        "/",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDIMAGEDEFTEST/20260101/eu-west-1/sts/aws4_request, SignedHeaders=host, Signature=00"),
        ],
        b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A222222222222%3Arole%2Fsetup&RoleSessionName=setup",
    );
    assert_eq!(status, 200, "{text}");
    let key = text
        .split("<AccessKeyId>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let cluster = unique("prod");
    let name = unique("web");
    let arn = service_as(
        &key,
        &cluster,
        &name,
        &[("app", "nginx")],
        &json!({}),
        &json!({}),
    );
    assert!(arn.contains(":222222222222:"), "{arn}");
    let standin = Standin::start(moto().port, vec![(name.clone(), Script::rolling_success())]);
    let env = build(&standin, &[("app", &image(&digest()))]);
    deploy(&env, &cluster, &name, &[])
        .code(2)
        .stderr_has(&format!("ECS DescribeServices on services {name} in cluster {cluster} (region eu-west-1) failed with ClusterNotFoundException"));
    deploy(
        &env,
        &cluster,
        &name,
        &["--role-arn", "arn:aws:iam::222222222222:role/deploy"],
    )
    .code(0)
    .stdout_has(&format!("registered {name}:2"));
    assert!(
        standin.operations().contains(&"other".to_owned()),
        "AssumeRole went through the endpoint"
    );
    let updates = standin.bodies("UpdateService");
    assert!(
        updates[0]["taskDefinition"]
            .as_str()
            .unwrap()
            .contains(":222222222222:task-definition/"),
        "{updates:?}"
    );

    // The mapping's roleArn: emit reads the service as the role, the report keeps it, and
    // deploy --out assumes it.
    let role = "arn:aws:iam::222222222222:role/deploy";
    env.write(
        "img/imageDetail.json",
        aws::detail(REGION, "shop/web", &digest(), &["2"]),
    );
    env.write(
        "imagedef.json",
        json!({"services": {"web": {
            "taskDefinition": format!("ecs://{cluster}/{name}"),
            "roleArn": role,
            "containers": {"app": {"artifact": "img"}}
        }}})
        .to_string(),
    );
    env.run(&["emit", "img", "--mapping", "imagedef.json", "--out", "out"])
        .code(0);
    let report: Value = serde_json::from_str(&env.read("out/imagedef-report.json")).unwrap();
    assert_eq!(report["services"][0]["role_arn"], json!(role));
    assert!(
        report["services"][0]["running_task_definition"]
            .as_str()
            .unwrap()
            .contains(":222222222222:"),
        "{report}"
    );
    env.run(&["deploy", "--out", "out", "--poll-interval", "0.02"])
        .code(0)
        .stdout_has(&format!("registered {name}:3"));
}

#[test]
fn out_whose_files_do_not_match_sha256sums_is_refused_before_any_call() {
    let cluster = unique("prod");
    let name = unique("web");
    service(&cluster, &name, &[("app", "nginx")]);
    let standin = Standin::start(moto().port, vec![(name.clone(), Script::rolling_success())]);
    let mut env = Env::new();
    aws_env(&mut env, &standin.endpoint());
    env.write(
        "img/imageDetail.json",
        aws::detail(REGION, "shop/web", &digest(), &["1"]),
    );
    env.write(
        "imagedef.json",
        json!({"services": {"web": {"taskDefinition": format!("ecs://{cluster}/{name}"), "containers": {"app": {"artifact": "img"}}}}}).to_string(),
    );
    env.run(&["emit", "img", "--mapping", "imagedef.json", "--out", "out"])
        .code(0);
    let before = standin.operations().len();
    env.write(
        "out/web/imagedefinitions.json",
        json!([{"name": "app", "imageUri": image(&digest())}]).to_string(),
    );
    env.run(&["deploy", "--out", "out", "--junit", "deploy.xml"])
        .code(1)
        .stderr_has("1 file(s) of out do not match out/SHA256SUMS, so nothing was changed")
        .stderr_has("web/imagedefinitions.json: sha256 is");
    assert_eq!(standin.operations().len(), before, "no AWS call");
    let xml = env.read("deploy.xml");
    assert!(
        xml.contains("tests=\"1\" failures=\"1\" errors=\"0\"") && xml.contains("name=\"--out\""),
        "{xml}"
    );
}

#[test]
fn without_the_service_deployment_calls_describe_services_alone_follows_the_deployment() {
    let c = case(Script {
        service_deployments: false,
        ..Script::rolling_success()
    });
    deploy(&c.env, &c.cluster, &c.name, &[])
        .code(0)
        .stdout_has("deployed: deployment ecs-svc/1000000000000000002 COMPLETED, 2 of 2 tasks running (ROLLING); 2 tasks run the written digests");
}

#[test]
fn numbers_out_of_range_are_usage_errors_naming_the_largest_value() {
    let c = case(Script::rolling_success());
    deploy(&c.env, &c.cluster, &c.name, &["--timeout", "999999"])
        .code(2)
        .stderr_has("--timeout 999999 is out of range: give 1 to 129600 seconds");
    let target = format!("ecs://{}/{}", c.cluster, c.name);
    c.env
        .run(&[
            "deploy",
            &target,
            "--file",
            "imagedefinitions.json",
            "--poll-interval",
            "16",
        ])
        .code(2)
        .stderr_has("--poll-interval 16 is out of range: give 0.01 to 15 seconds");
    let mut env = Env::new();
    env.set("IMAGEDEF_TIMEOUT", "0");
    env.run(&["deploy", "ecs://a/b", "--file", "x.json"])
        .code(2)
        .stderr_has("IMAGEDEF_TIMEOUT");
    assert_eq!(c.standin.operations().len(), 0);
}

#[test]
fn a_bundle_zip_or_a_folder_is_deployed_after_the_checks_of_verify_bundle() {
    let c = case(Script::rolling_success());
    c.env.write(
        "img/imageDetail.json",
        aws::detail(REGION, "shop/web", &c.digest, &["1"]),
    );
    c.env
        .run(&[
            "emit",
            "img",
            "--container",
            "app",
            "--bundle",
            "--out",
            "out",
        ])
        .code(0);
    let target = format!("ecs://{}/{}", c.cluster, c.name);
    c.env
        .run(&[
            "deploy",
            &target,
            "--file",
            "out/imagedefinitions.zip",
            "--poll-interval",
            "0.02",
        ])
        .code(0)
        .stdout_has("deployed: deployment ecs-svc/1000000000000000002");
    // The folder: its imagedefinitions.json, the same digests, now running: unchanged.
    c.env
        .run(&[
            "deploy",
            &target,
            "--file",
            "out",
            "--poll-interval",
            "0.02",
        ])
        .code(0)
        .stdout_has("unchanged: it runs");
    let mut zip = std::fs::read(c.env.path("out/imagedefinitions.zip")).unwrap();
    zip.push(0);
    c.env.write("out/imagedefinitions.zip", zip);
    let before = c.standin.operations().len();
    c.env
        .run(&["deploy", &target, "--file", "out/imagedefinitions.zip"])
        .code(1)
        .stderr_has("out/imagedefinitions.zip: has sha256")
        .stderr_has("nothing was changed");
    assert_eq!(c.standin.operations().len(), before, "no AWS call");
}

#[test]
fn a_service_with_the_external_controller_is_refused() {
    let cluster = unique("prod");
    let name = unique("web");
    service_as(
        "AKIDIMAGEDEFTEST",
        &cluster,
        &name,
        &[("app", "nginx")],
        &json!({}),
        &json!({"deploymentController": {"type": "EXTERNAL"}}),
    );
    let standin = Standin::start(moto().port, vec![]);
    let env = build(&standin, &[("app", &image(&digest()))]);
    deploy(&env, &cluster, &name, &[])
        .code(2)
        .stderr_has("uses the EXTERNAL deployment controller: its task definition changes through task sets (CreateTaskSet)");
}

#[test]
fn deploy_out_plans_against_the_revision_the_service_runs_now_saying_emit_saw_another() {
    let cluster = unique("prod");
    let name = unique("web");
    service(&cluster, &name, &[("app", "nginx:1.27")]);
    let standin = Standin::start(moto().port, vec![(name.clone(), Script::rolling_success())]);
    let mut env = Env::new();
    aws_env(&mut env, &standin.endpoint());
    let d = digest();
    env.write(
        "img/imageDetail.json",
        aws::detail(REGION, "shop/web", &d, &["1"]),
    );
    env.write(
        "imagedef.json",
        json!({"services": {"web": {"taskDefinition": format!("ecs://{cluster}/{name}"), "containers": {"app": {"artifact": "img"}}}}}).to_string(),
    );
    env.run(&["emit", "img", "--mapping", "imagedef.json", "--out", "out"])
        .code(0);
    // Another tool deploys a second revision before imagedef deploy runs.
    let second = ecs_as(
        "AKIDIMAGEDEFTEST",
        "RegisterTaskDefinition",
        &json!({"family": name, "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "1024",
                "containerDefinitions": [{"name": "app", "image": "nginx:1.28", "essential": true}]}),
    )["taskDefinition"]["taskDefinitionArn"]
        .as_str()
        .unwrap()
        .to_owned();
    ecs_as(
        "AKIDIMAGEDEFTEST",
        "UpdateService",
        &json!({"cluster": cluster, "service": name, "taskDefinition": second}),
    );
    env.run(&["deploy", "--out", "out", "--poll-interval", "0.02"])
        .code(0)
        .stdout_has(&format!("now runs task definition {name}:2, not {name}:1 that emit saw; planned against the one it runs now"))
        .stdout_has(&format!("registered {name}:3 (a copy of {name}:2 with the image of app replaced)"));
    assert_eq!(
        standin.bodies("RegisterTaskDefinition")[0]["memory"],
        json!("1024"),
        "copied from the revision running now"
    );
}

#[test]
fn a_service_that_changed_between_the_plan_and_the_update_is_not_updated() {
    let c = case(Script {
        race_at_poll: Some(2),
        ..Script::rolling_success()
    });
    deploy(&c.env, &c.cluster, &c.name, &[])
        .code(2)
        .stderr_has(&format!("ecs://{}/{} changed since the plan (another pipeline deploying?): its deployments are now [ecs-svc/1000000000000000001 ({n}:1), ecs-svc/1000000000000000002 ({n}:1)], were [ecs-svc/1000000000000000001 ({n}:1)]", c.cluster, c.name, n = c.name))
        .stderr_has(&format!("nothing was updated (registered and unused: {}:2)", c.name));
    assert_eq!(c.standin.count("UpdateService"), 0);
}

#[test]
fn sigterm_ends_the_follow_saying_the_deployment_goes_on_in_ecs() {
    use std::io::BufRead as _;
    let c = case(Script {
        steps: vec![Step::Going],
        ..Script::rolling_success()
    });
    let target = format!("ecs://{}/{}", c.cluster, c.name);
    let mut cmd = std::process::Command::new(crate::util::BIN);
    cmd.args([
        "deploy",
        &target,
        "--file",
        "imagedefinitions.json",
        "--poll-interval",
        "0.05",
    ])
    .current_dir(c.env.root())
    .env_clear()
    .env("AWS_EC2_METADATA_DISABLED", "true")
    .env("AWS_REGION", REGION)
    .env("AWS_ENDPOINT_URL", c.standin.endpoint())
    .env("AWS_ACCESS_KEY_ID", "AKIDIMAGEDEFTEST")
    .env("AWS_SECRET_ACCESS_KEY", aws::SECRET)
    .env("AWS_CONFIG_FILE", c.env.path("none/config"))
    .env(
        "AWS_SHARED_CREDENTIALS_FILE",
        c.env.path("none/credentials"),
    )
    .env("HOME", c.env.path("none"))
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    // Once the deployment is being followed, CodeBuild stops the build.
    while !seen.contains("IN_PROGRESS") {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "ended early: {seen}"
        );
        seen.push_str(&line);
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{seen}{rest}");
    assert!(
        rest.contains("STOPPED by SIGTERM (CodeBuild stopping the build): deployment ecs-svc/1000000000000000002 was deployment ecs-svc/1000000000000000002 IN_PROGRESS")
            && rest.contains("it goes on in ECS"),
        "{seen}{rest}"
    );
}

#[test]
fn a_bake_time_longer_than_the_timeout_is_said_before_the_change_and_fails_with_strict() {
    let c = case(Script {
        strategy: "BLUE_GREEN",
        bake_minutes: 120,
        ..Script::rolling_success()
    });
    deploy(&c.env, &c.cluster, &c.name, &["--strict"])
        .code(1)
        .stderr_has(&format!("ecs://{}/{}: its deployment configuration takes at least 120 min (bake time 120 min), longer than --timeout 3000 s", c.cluster, c.name))
        .stderr_has("nothing was changed");
    assert_eq!(c.standin.count("RegisterTaskDefinition"), 0);
    deploy(&c.env, &c.cluster, &c.name, &[])
        .code(0)
        .stdout_has("warning: its deployment configuration takes at least 120 min")
        .stdout_has("deployed: ");
}

#[test]
fn ecr_checks_every_image_before_any_change() {
    let cluster = unique("prod");
    let name = unique("web");
    // An EC2 task without runtimePlatform: no platform to check, only the lookup.
    service_as(
        "AKIDIMAGEDEFTEST",
        &cluster,
        &name,
        &[("app", "nginx")],
        &json!({"requiresCompatibilities": ["EC2"], "networkMode": "bridge"}),
        &json!({}),
    );
    let standin = Standin::start(moto().port, vec![(name.clone(), Script::rolling_success())]);
    let repo = unique("shop/web");
    let pushed = moto().push(REGION, &repo, &["v1", "v2"]);
    let uri = |d: &str| format!("{}/{repo}@{d}", aws::host(REGION));
    let env = build(&standin, &[("app", &uri(&digest()))]);
    deploy(&env, &cluster, &name, &["--ecr"])
        .code(1)
        .stderr_has(&format!("ecs://{cluster}/{name}, container \"app\""))
        .stderr_has("is not in ECR")
        .stderr_has("nothing was changed");
    assert_eq!(standin.count("RegisterTaskDefinition"), 0);
    let env = build(&standin, &[("app", &uri(&pushed))]);
    deploy(&env, &cluster, &name, &["--ecr"])
        .code(0)
        .stdout_has("deployed: ");
}
