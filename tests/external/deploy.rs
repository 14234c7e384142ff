//! `imagedef deploy` and `imagedef confirm`, end to end: the binary against moto behind the ECS
//! stand-in (`tools::ecs_standin`), which plays the deployments moto does not. Each test asserts what
//! a user sees (exit code, stdout, stderr) and what the stand-in received.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::registry::{cut_short, reading};
use crate::tools::aws::{self, moto, unique};
use crate::tools::ecs_standin::{Script, Standin, Step};
use crate::tools::images::{self, images};
use crate::tools::registry::{self, Proxy, RedirectProxy, Slowness};
use crate::util::Env;
use crate::util::aws::aws_env;

const REGION: &str = "eu-west-1";

/// A digest no other test uses.
fn digest() -> String {
    format!("sha256:{}", sha256_hex(unique("digest").as_bytes()))
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

impl Case {
    /// `ecs://CLUSTER/NAME`.
    fn target(&self) -> String {
        format!("ecs://{}/{}", self.cluster, self.name)
    }
}

/// What a run says from the registration of `name`'s revision `to` (copied from `from`) up to
/// the first poll of deployment `deployment` of `strategy`, which is in progress.
fn followed(
    target: &str,
    name: &str,
    (from, to): (u32, u32),
    deployment: u32,
    strategy: &str,
) -> String {
    format!(
        "{target}: registered {name}:{to} (a copy of {name}:{from} with the image of app replaced)\n\
         {target}: updated to {name}:{to}; following its deployment ({strategy}, poll every 20ms)\n\
         {target}: deployment ecs-svc/100000000000000000{deployment} IN_PROGRESS, stage SCALE_UP, 1 of 2 tasks running\n"
    )
}

/// What a `--json` run says on stderr of `services` (target, name) followed at once, up to the
/// first poll: [`followed`]'s lines of each, a step of all services after another.
fn followed_together(services: &[(&str, &str)]) -> String {
    let said: Vec<String> = services
        .iter()
        .map(|(target, name)| followed(target, name, (1, 2), 2, "ROLLING"))
        .collect();
    let mut text = String::new();
    for step in 0..3 {
        for lines in &said {
            let _ = writeln!(text, "imagedef: {}", lines.lines().nth(step).unwrap());
        }
    }
    text
}

/// The verdict on deployment `deployment` of `strategy` that succeeded with `digest` running.
fn deployed(target: &str, deployment: u32, strategy: &str, digest: &str) -> String {
    format!(
        "{target}: deployed: deployment ecs-svc/100000000000000000{deployment} SUCCESSFUL, 2 of 2 tasks running ({strategy}); 2 tasks run the written digests (app {})\n",
        short(digest)
    )
}

/// The reason ECS gives for the circuit breaker's rollback, after `FAILED: deployment ...`.
const TRIPPED: &str = "ECS deployment circuit breaker: tasks failed to start.; the deployment circuit breaker tripped (3 failed tasks, threshold 3); rolled back to service revision 10000 (Service deployment rolled back because the circuit breaker threshold was exceeded.)";

/// The stopped tasks of revision `name:2` of a circuit breaker's rollback (an image without the
/// task's platform) and the fix, as the lines below the verdict.
fn stopped_tasks(name: &str) -> String {
    let pull = "CannotPullContainerError: pull image manifest has been retried 5 time(s): image Manifest does not contain descriptor matching platform 'linux/arm64'";
    let mut text = String::new();
    for task in ["deadbeef2", "deadbeef1", "deadbeef0"] {
        let _ = write!(
            text,
            "  task {task} ({name}:2) stopped (TaskFailedToStart): {pull}\n    container app: {pull}\n"
        );
    }
    text.push_str("  fix: the image has no manifest for the task's platform (runtimePlatform, or linux/amd64 on Fargate): push an image (or a multi-platform index) for it, or change the task's runtimePlatform; imagedef deploy --ecr checks this before deploying\n");
    text
}

/// The events of a circuit breaker's rollback of `name`'s deployment 2.
fn rollback_events(name: &str) -> String {
    format!(
        "  event [TIME]: (service {name}) has started 2 tasks: (task 1a2b3c).\n\
         \x20 event [TIME]: (service {name}) (deployment ecs-svc/1000000000000000002) deployment failed: tasks failed to start.\n\
         \x20 event [TIME]: (service {name}) rolling back to deployment ecs-svc/1000000000000000001.\n"
    )
}

/// What `emit --mapping` says of its service `service`, whose container app is `uri` (shortened)
/// from `artifact`, held against `target`, which runs `running` (a task definition ARN) with
/// `previous` in app, now `written` (as the summary shows it) tagged `tags`.
fn against(
    service: &str,
    (uri, artifact): (&str, &str),
    (target, running): (&str, &str),
    (previous, written, tags): (&str, &str, &str),
) -> String {
    format!(
        "{service}: task definition ok, templates off, ECR off, platform not checked, findings off\n\
         \x20 app = {uri}  (from {artifact}:imageDetail.json)\n\
         \x20 against {target} (runs {running}):\n\
         \x20   app: {previous} -> {written} ({tags})\n"
    )
}

/// The ARN of revision `revision` of task definition family `family` in `account`.
fn task_definition(account: &str, family: &str, revision: u32) -> String {
    format!("arn:aws:ecs:{REGION}:{account}:task-definition/{family}:{revision}")
}

/// A service `web` of a new cluster running `running` in app, the stand-in in front of it, and
/// the folder `out` that `emit --mapping` wrote for a new digest of shop/web from artifact `img`
/// (its summary checked): (cluster, name, stand-in, env, digest).
fn emitted_out(running: &str) -> (String, String, Standin, Env, String) {
    let cluster = unique("prod");
    let name = unique("web");
    service(&cluster, &name, &[("app", running)]);
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
    let uri = format!("{}/shop/web@{}", aws::host(REGION), short(&d));
    env.run(&["emit", "img", "--mapping", "imagedef.json", "--out", "out"])
        .code(0)
        .stdout_is(&format!(
            "{}wrote 3 files for 1 service to out\n",
            against(
                "web",
                (&uri, "img"),
                (
                    &format!("ecs://{cluster}/{name}"),
                    &task_definition(aws::ACCOUNT, &name, 1)
                ),
                (running, &uri, "1")
            )
        ));
    (cluster, name, standin, env, d)
}

/// A service of a new cluster with deployment controller `kind`, the stand-in in front of it
/// (following nothing) and a build writing a new digest: (`ecs://` target, stand-in, env).
fn controlled_by(kind: &str) -> (String, String, String, Standin, Env) {
    let cluster = unique("prod");
    let name = unique("web");
    service_as(
        "AKIDIMAGEDEFTEST",
        &cluster,
        &name,
        &[("app", "nginx")],
        &json!({}),
        &json!({"deploymentController": {"type": kind}}),
    );
    let standin = Standin::start(moto().port, vec![]);
    let env = build(&standin, &[("app", &image(&digest()))]);
    (
        format!("ecs://{cluster}/{name}"),
        cluster,
        name,
        standin,
        env,
    )
}

/// Deploys `c`, whose script is [`Script::circuit_breaker_platform`]: it fails at once, saying
/// ECS's reason, the stopped tasks' cause and the events.
fn deploy_rolled_back(c: &Case) {
    let t = c.target();
    let run = deploy(&c.env, &c.cluster, &c.name, &[]);
    run.code(1).stderr_is(&did_not_succeed("deploy", &t));
    timeless_is(
        run.stdout(),
        &format!(
            "{}{t}: FAILED: deployment ecs-svc/1000000000000000002 ROLLBACK_IN_PROGRESS (ECS is rolling it back): {TRIPPED}\n{}{}",
            followed(&t, &c.name, (1, 2), 2, "ROLLING"),
            stopped_tasks(&c.name),
            rollback_events(&c.name)
        ),
    );
}

/// The error of `command` when `target`, its one service, did not succeed.
fn did_not_succeed(command: &str, target: &str) -> String {
    format!("imagedef: error: {command}: 1 of 1 service(s) did not succeed: {target}\n")
}

/// `text` with the times the stand-in makes up (now, and hours around it) shown as `[TIME]`.
fn timeless(text: &str) -> String {
    static TIME: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    TIME.get_or_init(|| regex::Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z").unwrap())
        .replace_all(text, "[TIME]")
        .into_owned()
}

/// Asserts the whole of a stream the test took from a run, its times shown as `[TIME]`.
#[track_caller]
fn timeless_is(stream: &str, want: &str) {
    let got = timeless(stream);
    assert!(got == want, "differs\n--- want\n{want}\n--- got\n{got}");
}

/// The sha256 of `bytes` in hex.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[test]
fn deploy_registers_the_running_revision_with_only_the_new_image_updates_only_the_task_definition_and_follows_it_to_success()
 {
    let c = case(Script::rolling_success());
    let t = c.target();
    deploy(&c.env, &c.cluster, &c.name, &[]).code(0).stdout_is(
        &(followed(&t, &c.name, (1, 2), 2, "ROLLING") + &deployed(&t, 2, "ROLLING", &c.digest)),
    );
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
        .stdout_is(&format!("ecs://{cluster}/{name}: unchanged: it runs {name}:1 with these digests (app {}), its deployment ended successfully and 2 tasks run them; nothing was registered or updated\n", short(&d)));
    assert_eq!(standin.count("RegisterTaskDefinition"), 0);
    assert_eq!(standin.count("UpdateService"), 0);
    // -q: only problems; there are none.
    deploy(&env, &cluster, &name, &["-q"])
        .code(0)
        .stdout_is("")
        .stderr_is("");
}

#[test]
fn a_circuit_breaker_rollback_fails_at_once_with_ecs_reason_and_the_stopped_tasks_cause() {
    let c = case(Script::circuit_breaker_platform());
    deploy_rolled_back(&c);
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
    let t = c.target();
    let run = deploy(&c.env, &c.cluster, &c.name, &[]);
    run.code(1).stderr_is(&did_not_succeed("deploy", &t));
    let written = short(&c.digest);
    timeless_is(
        run.stdout(),
        &format!(
            "{}{t}: FAILED: deployment ecs-svc/1000000000000000002 did not finish: STOPPED: another deployment replaced it: ecs-svc/1000000000000000003 (task definition {n}:1, IN_PROGRESS, created [TIME]: ECS deployment ecs-svc/1000000000000000003 in progress.)\n\
             \x20 the tasks run other digests: container app written {written} running sha256:eeeeeeeeeeee (task {n}run0); container app written {written} running sha256:eeeeeeeeeeee (task {n}run1)\n",
            followed(&t, &c.name, (1, 2), 2, "ROLLING"),
            n = c.name
        ),
    );
}

#[test]
fn a_service_with_the_code_deploy_controller_is_refused_naming_the_codedeploy_action_and_its_files()
{
    let (t, cluster, name, standin, env) = controlled_by("CODE_DEPLOY");
    deploy(&env, &cluster, &name, &[])
        .code(2)
        .stderr_is(&format!("imagedef: error: {t}: {t} uses the CODE_DEPLOY deployment controller: ECS refuses to change its task definition with UpdateService (\"Unable to update task definition on services with a CODE_DEPLOY deployment controller\"); deploy it with the CodePipeline CodeDeployToECS action and the files imagedef emit writes for it (a service with \"blueGreen\" in the mapping: imageDetail.json, and with \"taskDefinitionTemplate\" and \"appSpec\" also taskdef.json and appspec.yaml), or move the service to ECS blue/green (controller ECS, strategy BLUE_GREEN)\nnothing was changed\n"));
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
    let t = c.target();
    let refused = deploy(&c.env, &c.cluster, &c.name, &[]);
    refused.code(2);
    timeless_is(
        refused.stderr(),
        &format!(
            "imagedef: error: {t}: a deployment that this run did not start is in progress on {t}: ecs-svc/1000000000000000001 (task definition {}:1, IN_PROGRESS, created [TIME]: ECS deployment ecs-svc/1000000000000000001 in progress.); imagedef does not start another on top of it; wait for it to end and run again, or pass --wait-for-in-flight\nnothing was changed\n",
            c.name
        ),
    );
    assert_eq!(c.standin.count("RegisterTaskDefinition"), 0);
    deploy(&c.env, &c.cluster, &c.name, &["--wait-for-in-flight"])
        .code(0)
        .stdout_is(&format!(
            "{t}: waiting for deployment ecs-svc/1000000000000000001 in flight (not started by this run) to end\n\
             {t}: deployment ecs-svc/1000000000000000001 IN_PROGRESS, stage SCALE_UP, 1 of 2 tasks running\n\
             {t}: the deployment in flight, ecs-svc/1000000000000000001, ended (SUCCESSFUL, 2 of 2 tasks running)\n{}{}",
            followed(&t, &c.name, (1, 2), 2, "ROLLING"),
            deployed(&t, 2, "ROLLING", &c.digest)
        ));
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
    let t = c.target();
    let run = deploy(&c.env, &c.cluster, &c.name, &[]);
    run.code(0);
    // The pause is said once while it holds, with its stage, expiry and the way to continue it.
    timeless_is(
        run.stdout(),
        &format!(
            "{}{t}: deployment ecs-svc/1000000000000000002 paused at stage POST_TEST_TRAFFIC_SHIFT by a pause hook (ecs-pause-0a1b2c3d) until [TIME]; on expiry ECS will ROLLBACK; it continues when someone runs aws ecs continue-service-deployment --service-deployment-arn arn:aws:ecs:{REGION}:{}:service-deployment/{}/{}/Sd2Deploy --hook-id ecs-pause-0a1b2c3d (imagedef never continues a deployment)\n{}",
            followed(&t, &c.name, (1, 2), 2, "BLUE_GREEN"),
            aws::ACCOUNT,
            c.cluster,
            c.name,
            deployed(&t, 2, "BLUE_GREEN", &c.digest)
        ),
    );
}

#[test]
fn the_timeout_ends_the_wait_naming_the_state_and_saying_the_deployment_goes_on() {
    let c = case(Script {
        steps: vec![Step::Going],
        ..Script::rolling_success()
    });
    let t = c.target();
    deploy(&c.env, &c.cluster, &c.name, &["--timeout", "1"])
        .code(1)
        .stdout_is(&format!(
            "{}{t}: TIMED OUT after 1s (--timeout): deployment ecs-svc/1000000000000000002 was deployment ecs-svc/1000000000000000002 IN_PROGRESS, stage SCALE_UP, 1 of 2 tasks running; it goes on in ECS (imagedef never stops, rolls back or continues a deployment): see where it ends with imagedef confirm or in the ECS console\n",
            followed(&t, &c.name, (1, 2), 2, "ROLLING")
        ))
        .stderr_is(&did_not_succeed("deploy", &t));
}

#[test]
fn dry_run_shows_the_images_per_container_and_calls_nothing_that_changes_anything() {
    let c = case(Script::rolling_success());
    deploy(&c.env, &c.cluster, &c.name, &["--dry-run"])
        .code(0)
        .stdout_is(&format!(
            "{}: would register the next revision of {n} (a copy of {n}:1 with the image of app replaced) and update the service to it (nothing else)\n  app: nginx:1.27 -> {} (changed)\n",
            c.target(),
            image(&c.digest),
            n = c.name
        ));
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
    let target = c.target();
    deploy(&c.env, &c.cluster, &c.name, &[]).code(0).stdout_is(
        &(followed(&target, &c.name, (1, 2), 2, "ROLLING")
            + &deployed(&target, 2, "ROLLING", &c.digest)),
    );
    c.env
        .run(&["confirm", &target, "--file", "imagedefinitions.json", "--poll-interval", "0.02"])
        .code(0)
        .stdout_is(&format!("{target}: confirmed: deployment ecs-svc/1000000000000000002 SUCCESSFUL, 2 of 2 tasks running (ROLLING); 2 tasks run the written digests (app {})\n", short(&c.digest)));
    assert_eq!(
        c.standin.count("UpdateService"),
        1,
        "confirm changes nothing"
    );

    let c = case(Script::circuit_breaker_platform());
    let target = c.target();
    deploy_rolled_back(&c);
    let confirmed = c.env.run(&[
        "confirm",
        &target,
        "--file",
        "imagedefinitions.json",
        "--poll-interval",
        "0.02",
    ]);
    confirmed
        .code(1)
        .stderr_is(&did_not_succeed("confirm", &target));
    timeless_is(
        confirmed.stdout(),
        &format!(
            "{target}: FAILED: deployment ecs-svc/1000000000000000003 ROLLBACK_SUCCESSFUL: {TRIPPED}\n{}  event [TIME]: (service {}) has reached a steady state.\n{}",
            stopped_tasks(&c.name),
            c.name,
            rollback_events(&c.name)
        ),
    );
}

#[test]
#[allow(clippy::too_many_lines)] // emit's summary, then deploy's stderr, JSON, JUnit and calls
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
    let host = aws::host(REGION);
    let (uw, ua) = (
        format!("{host}/shop/web@{}", short(&dw)),
        format!("{host}/shop/api@{}", short(&da)),
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
    .code(0)
    .stdout_is(&format!(
        "{}{}batch: task definition not checked, templates off, ECR off, platform not checked, findings off\n\
         \x20 app = {uw}  (from web-img:imageDetail.json)\n\
         wrote 5 files for 3 services to out\n",
        against(
            "web",
            (&uw, "web-img"),
            (&format!("ecs://{cluster}/{web}"), &task_definition(aws::ACCOUNT, &web, 1)),
            ("nginx:1.27", &uw, "1")
        ),
        against(
            "api",
            (&ua, "api-img"),
            (&format!("ecs://{cluster}/{api}"), &task_definition(aws::ACCOUNT, &api, 1)),
            ("nginx:1.27", &ua, "1")
        ),
    ));
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
    // With --json on stdout, what the run says as it goes is on stderr.
    let ta = format!("ecs://{cluster}/{api}");
    run.code(1).stderr_is(&format!(
        "imagedef: skipped (their taskDefinition is not ecs://CLUSTER/SERVICE): batch\n{}imagedef: error: deploy: 1 of 3 service(s) did not succeed: {ta}\n",
        followed_together(&[
            (&format!("ecs://{cluster}/{web}"), &web),
            (&ta, &api)
        ])
    ));
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
    let t = c.target();
    deploy(&c.env, &c.cluster, &c.name, &[])
        .code(1)
        .stderr_is(&format!(
            "imagedef: error: {t}: imagedefinitions.json: container \"sidecar\" not in task definition arn:aws:ecs:{REGION}:{}:task-definition/{n}:1 (which {t} runs) (family {n}), which has containers \"app\"; the ECS deploy would fail with \"The AWS ECS container sidecar does not exist\"; fix: use the container name from the task definition\nnothing was changed\n",
            aws::ACCOUNT,
            n = c.name
        ));
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
    let t = c.target();
    deploy(&c.env, &c.cluster, &c.name, &[])
        .code(2)
        .stderr_is(&format!(
            "imagedef: error: {t}: imagedefinitions.json is for another service: none of its containers (\"worker\") is in task definition arn:aws:ecs:{REGION}:{}:task-definition/{}:1 (which {t} runs), which has \"app\"; give the file written for {t}\nnothing was changed\n",
            aws::ACCOUNT,
            c.name
        ));
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
    let t = c.target();
    deploy(&c.env, &c.cluster, &c.name, &[])
        .code(2)
        .stderr_is(&format!(
            "imagedef: error: {t}: task definition arn:aws:ecs:{REGION}:{}:task-definition/{}:1 (which {t} runs) holds a field that the AWS SDK in this imagedef build does not know: taskDefinition.trustedExecutionConfiguration; a revision copied from it would silently drop it, so nothing is registered; fix: use an imagedef built with a newer aws-sdk-ecs, or deploy this service with the ECS deploy action\nnothing was changed\n",
            aws::ACCOUNT,
            c.name
        ));
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
    let d = digest();
    let env = build(&standin, &[("app", &image(&d))]);
    let t = format!("ecs://{cluster}/{name}");
    deploy(&env, &cluster, &name, &[])
        .code(0)
        .stdout_is(&format!(
            "{t}: tags of the running revision left out of the new one, as ECS reserves aws: for itself: aws:cloudformation:stack-name=prod\n{}{}",
            followed(&t, &name, (1, 2), 2, "ROLLING"),
            deployed(&t, 2, "ROLLING", &d)
        ));
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
#[allow(clippy::too_many_lines)] // three steps on one service: no role, --role-arn, the mapping's roleArn
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
    let first = digest();
    let env = build(&standin, &[("app", &image(&first))]);
    let t = format!("ecs://{cluster}/{name}");
    deploy(&env, &cluster, &name, &[])
        .code(2)
        .stderr_is(&format!("imagedef: error: {t}: ECS DescribeServices on services {name} in cluster {cluster} (region eu-west-1) failed with ClusterNotFoundException (HTTP 400): Cluster not found.; check services {name} in cluster {cluster} (the IAM action is ecs:DescribeServices)\nnothing was changed\n"));
    deploy(
        &env,
        &cluster,
        &name,
        &["--role-arn", "arn:aws:iam::222222222222:role/deploy"],
    )
    .code(0)
    .stdout_is(&(followed(&t, &name, (1, 2), 2, "ROLLING") + &deployed(&t, 2, "ROLLING", &first)));
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
    let second = digest();
    env.write(
        "img/imageDetail.json",
        aws::detail(REGION, "shop/web", &second, &["2"]),
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
    let host = aws::host(REGION);
    env.run(&["emit", "img", "--mapping", "imagedef.json", "--out", "out"])
        .code(0)
        .stdout_is(&format!(
            "{}wrote 3 files for 1 service to out\n",
            against(
                "web",
                (&format!("{host}/shop/web@{}", short(&second)), "img"),
                (&t, &task_definition("222222222222", &name, 2)),
                (
                    &format!("{host}/shop/web@{}", short(&first)),
                    &format!("@{}", short(&second)),
                    "2"
                )
            )
        ));
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
        .stdout_is(
            &(followed(&t, &name, (2, 3), 3, "ROLLING") + &deployed(&t, 3, "ROLLING", &second)),
        );
}

#[test]
fn out_whose_files_do_not_match_sha256sums_is_refused_before_any_call() {
    let (_, _, standin, env, _) = emitted_out("nginx");
    let before = standin.operations().len();
    let listed = sha256_hex(&std::fs::read(env.path("out/web/imagedefinitions.json")).unwrap());
    let edited = json!([{"name": "app", "imageUri": image(&digest())}]).to_string();
    env.write("out/web/imagedefinitions.json", &edited);
    env.run(&["deploy", "--out", "out", "--junit", "deploy.xml"])
        .code(1)
        .stderr_is(&format!(
            "imagedef: error: 1 file(s) of out do not match out/SHA256SUMS, so nothing was changed:\n\
             \x20 web/imagedefinitions.json: sha256 is {}, but SHA256SUMS lists {listed}\n\
             fix: run imagedef emit again, and do not change OUT between emit and deploy\n",
            sha256_hex(edited.as_bytes())
        ));
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
    let t = c.target();
    deploy(&c.env, &c.cluster, &c.name, &[])
        .code(0)
        .stdout_is(&format!(
            "{t}: registered {n}:2 (a copy of {n}:1 with the image of app replaced)\n\
             {t}: updated to {n}:2; following its deployment (ROLLING, poll every 20ms)\n\
             {t}: deployment ecs-svc/1000000000000000002 IN_PROGRESS, 1 of 2 tasks running\n\
             {t}: deployed: deployment ecs-svc/1000000000000000002 COMPLETED, 2 of 2 tasks running (ROLLING); 2 tasks run the written digests (app {})\n",
            short(&c.digest),
            n = c.name
        ));
}

#[test]
fn numbers_out_of_range_are_usage_errors_naming_the_largest_value() {
    let c = case(Script::rolling_success());
    deploy(&c.env, &c.cluster, &c.name, &["--timeout", "999999"])
        .code(2)
        .stderr_is("error: invalid value '999999' for '--timeout <SECONDS>': 999999 is not in 1..=129600\n\nFor more information, try '--help'.\n");
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
        .stderr_is("error: invalid value '16' for '--poll-interval <SECONDS>': 16 is not in 0.01..=15\n\nFor more information, try '--help'.\n");
    let mut env = Env::new();
    env.set("IMAGEDEF_TIMEOUT", "0");
    env.run(&["deploy", "ecs://a/b", "--file", "x.json"])
        .code(2)
        .stderr_is("error: invalid value '0' for '--timeout <SECONDS>': 0 is not in 1..=129600\n\nFor more information, try '--help'.\nimagedef: the value is $IMAGEDEF_TIMEOUT's, set in the environment: unset it, or give a value in range\n");
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
        .code(0)
        .stdout_is(&format!(
            "app = {}/shop/web@{}  (from img:imageDetail.json)\n  checks: task definition not checked, templates off, ECR off, platform not checked, findings off\nwrote 3 files to out\n",
            aws::host(REGION),
            short(&c.digest)
        ));
    let target = c.target();
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
        .stdout_is(
            &(followed(&target, &c.name, (1, 2), 2, "ROLLING")
                + &deployed(&target, 2, "ROLLING", &c.digest)),
        );
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
        .stdout_is(&format!(
            "{target}: unchanged: it runs {}:2 with these digests (app {}), its deployment ended successfully and 2 tasks run them; nothing was registered or updated\n",
            c.name,
            short(&c.digest)
        ));
    let mut zip = std::fs::read(c.env.path("out/imagedefinitions.zip")).unwrap();
    let listed = sha256_hex(&zip);
    zip.push(0);
    let changed = sha256_hex(&zip);
    c.env.write("out/imagedefinitions.zip", zip);
    let before = c.standin.operations().len();
    c.env
        .run(&["deploy", &target, "--file", "out/imagedefinitions.zip"])
        .code(1)
        .stderr_is(&format!(
            "imagedef: error: out/imagedefinitions.zip: has sha256 sha256:{changed}, but out/SHA256SUMS lists sha256:{listed}; the zip was changed after it was written: write it again; nothing was changed\n"
        ));
    assert_eq!(c.standin.operations().len(), before, "no AWS call");
}

#[test]
fn a_service_with_the_external_controller_is_refused() {
    let (t, cluster, name, _standin, env) = controlled_by("EXTERNAL");
    deploy(&env, &cluster, &name, &[])
        .code(2)
        .stderr_is(&format!("imagedef: error: {t}: {t} uses the EXTERNAL deployment controller: its task definition changes through task sets (CreateTaskSet), which imagedef does not make; deploy it with the tool that manages its task sets\nnothing was changed\n"));
}

#[test]
fn deploy_out_plans_against_the_revision_the_service_runs_now_saying_emit_saw_another() {
    let (cluster, name, standin, env, d) = emitted_out("nginx:1.27");
    let t = format!("ecs://{cluster}/{name}");
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
        .stdout_is(&format!(
            "{t} now runs task definition {name}:2, not {name}:1 that emit saw; planned against the one it runs now\n{}{}",
            followed(&t, &name, (2, 3), 3, "ROLLING"),
            deployed(&t, 3, "ROLLING", &d)
        ));
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
    let t = c.target();
    deploy(&c.env, &c.cluster, &c.name, &[])
        .code(2)
        .stdout_is(&format!(
            "{t}: registered {n}:2 (a copy of {n}:1 with the image of app replaced)\n",
            n = c.name
        ))
        .stderr_is(&format!("imagedef: error: {t} changed since the plan (another pipeline deploying?): its deployments are now [ecs-svc/1000000000000000001 ({n}:1), ecs-svc/1000000000000000002 ({n}:1)], were [ecs-svc/1000000000000000001 ({n}:1)]\nnothing was updated (registered and unused: {n}:2); run again to plan against what the services run now\n", n = c.name));
    assert_eq!(c.standin.count("UpdateService"), 0);
}

#[test]
fn sigterm_ends_the_follow_saying_the_deployment_goes_on_in_ecs() {
    let c = case(Script {
        steps: vec![Step::Going],
        ..Script::rolling_success()
    });
    let target = c.target();
    let running = c.env.spawn(&[
        "deploy",
        &target,
        "--file",
        "imagedefinitions.json",
        "--poll-interval",
        "0.05",
    ]);
    // Once the deployment is being followed, CodeBuild stops the build.
    running.wait_for_stdout("IN_PROGRESS");
    running.signal("TERM");
    running
        .finish()
        .code(1)
        .stdout_is(&format!(
            "{}{target}: STOPPED by SIGTERM (CodeBuild stopping the build): deployment ecs-svc/1000000000000000002 was deployment ecs-svc/1000000000000000002 IN_PROGRESS, stage SCALE_UP, 1 of 2 tasks running; it goes on in ECS (imagedef never stops, rolls back or continues a deployment): see where it ends with imagedef confirm or in the ECS console\n",
            followed(&target, &c.name, (1, 2), 2, "ROLLING").replace("poll every 20ms", "poll every 50ms")
        ))
        .stderr_is(&did_not_succeed("deploy", &target));
}

#[test]
fn a_bake_time_longer_than_the_timeout_is_said_before_the_change_and_fails_with_strict() {
    let c = case(Script {
        strategy: "BLUE_GREEN",
        bake_minutes: 120,
        ..Script::rolling_success()
    });
    let t = c.target();
    let longer = "its deployment configuration takes at least 120 min (bake time 120 min), longer than --timeout 3000 s; raise --timeout (and the CodeBuild project's timeout above it), or shorten the bake times";
    deploy(&c.env, &c.cluster, &c.name, &["--strict"])
        .code(1)
        .stderr_is(&format!(
            "imagedef: error: {t}: {longer} (--strict)\nnothing was changed\n"
        ));
    assert_eq!(c.standin.count("RegisterTaskDefinition"), 0);
    deploy(&c.env, &c.cluster, &c.name, &[])
        .code(0)
        .stdout_is(&format!(
            "{t}: warning: {longer}\n{}{}",
            followed(&t, &c.name, (1, 2), 2, "BLUE_GREEN"),
            deployed(&t, 2, "BLUE_GREEN", &c.digest)
        ));
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
    let missing = digest();
    let env = build(&standin, &[("app", &uri(&missing))]);
    let t = format!("ecs://{cluster}/{name}");
    deploy(&env, &cluster, &name, &["--ecr"])
        .code(1)
        .stderr_is(&format!(
            "imagedef: error: {t}, container \"app\": image {} with digest {missing} is not in ECR (not returned for repository {repo} in registry {} (region {REGION})); a deploy would fail with CannotPullContainerError; push the image again, or check the repository's lifecycle policy and replication; nothing was changed\n",
            uri(&missing),
            aws::ACCOUNT
        ));
    assert_eq!(standin.count("RegisterTaskDefinition"), 0);
    let env = build(&standin, &[("app", &uri(&pushed))]);
    deploy(&env, &cluster, &name, &["--ecr"]).code(0).stdout_is(
        &(followed(&t, &name, (1, 2), 2, "ROLLING") + &deployed(&t, 2, "ROLLING", &pushed)),
    );
}

#[test]
fn ecr_stops_at_a_registry_that_never_answers_when_the_registry_timeout_runs_out() {
    let cluster = unique("prod");
    let name = unique("web");
    // A FARGATE task without runtimePlatform needs linux/amd64: the image's config blob is read
    // from the registry, which accepts the request and never answers.
    service(&cluster, &name, &[("app", "nginx")]);
    let standin = Standin::start(moto().port, vec![(name.clone(), Script::rolling_success())]);
    let repo = unique("shop/web");
    let uri = registry::push(moto(), REGION, &images().amd64, &repo, "v1");
    let hung = RedirectProxy::start(Proxy::Slow(Slowness::Hung));
    let mut env = build(&standin, &[("app", &uri)]);
    env.set("IMAGEDEF_REGISTRY_URL", hung.url());
    let started = std::time::Instant::now();
    let run = deploy(&env, &cluster, &name, &["--ecr", "--registry-timeout", "2"]);
    let took = started.elapsed();
    let host = format!("127.0.0.1:{}", hung.port);
    let url = format!(
        "http://{host}/v2/{repo}/blobs/{}",
        images::config_digest(&images().amd64)
    );
    run.code(2).stdout_is("").stderr_is(&format!(
        "imagedef: error: ecs://{cluster}/{name}, container \"app\": {uri}: {}{}; nothing was changed\n",
        reading(&uri, REGION),
        cut_short(&host, &url, "had not answered", REGION, &hung.url())
    ));
    assert!(took < std::time::Duration::from_secs(30), "{took:?}");
    assert_eq!(standin.count("RegisterTaskDefinition"), 0);
    assert_eq!(standin.count("UpdateService"), 0);
}
