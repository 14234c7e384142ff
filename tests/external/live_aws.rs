//! `--ecr` and `ecs://` against a moto server on loopback: what a user sees (exit code, stdout,
//! stderr, files written or not), with real SDK calls, retries, credentials and logs.

use std::time::{Duration, Instant};

use crate::tools::aws::{
    self, ACCOUNT, AUTH_TOKEN, Fault, FaultProxy, assert_no_secrets, detail, moto, unique,
};
use crate::tools::credentials::SessionCredentials;
use crate::util::Env;
use crate::util::aws::{aws_env, aws_env_without_keys};
use crate::util::short_digests;

/// A build with one ECR source artifact, `img`, for `repo` in `region` with `digest` and `tags`.
fn artifact(env: &Env, region: &str, repo: &str, digest: &str, tags: &[&str]) {
    env.write("img/imageDetail.json", detail(region, repo, digest, tags));
}

/// A build for a new repository in us-west-2 whose image was pushed: the env (AWS variables
/// pointing at `endpoint`), the repository and the digest.
fn pushed(endpoint: &str) -> (Env, String, String) {
    let repo = unique("shop/web");
    let digest = moto().push("us-west-2", &repo, &["v1"]);
    let mut env = Env::new();
    aws_env(&mut env, endpoint);
    artifact(&env, "us-west-2", &repo, &digest, &["v1"]);
    (env, repo, digest)
}

/// A build naming shop/web in us-west-2 with a digest ECR never had.
fn unpushed(endpoint: &str) -> Env {
    let mut env = Env::new();
    aws_env(&mut env, endpoint);
    artifact(&env, "us-west-2", "shop/web", &missing_digest(), &["v1"]);
    env
}

fn missing_digest() -> String {
    format!("sha256:{}", "ab".repeat(32))
}

/// The whole stdout of `verify img --ecr` for the image of [`pushed`]: its line, and ECR's.
fn found_in_ecr(repo: &str, digest: &str) -> String {
    let uri = format!("{}/{repo}@{digest}", aws::host("us-west-2"));
    format!(
        "ok      img:imageDetail.json (img/imageDetail.json): {uri}\n\
         ok      img:imageDetail.json (img/imageDetail.json): {uri} in ECR (digest {digest}, repository {repo} in registry {ACCOUNT} (region us-west-2))\n\
         2 passed, 0 failed\n"
    )
}

/// What the summary says ran when ECR was (`ecr`) or was not asked for, and nothing else was.
fn checks(ecr: &str) -> String {
    format!(
        "task definition not checked, templates off, ECR {ecr}, platform not checked, findings off"
    )
}

/// The whole stdout of `emit img --container web` that wrote `files` files into `out`, for the
/// image `uri` whose checks were `checks` (and `then`, the lines that follow), digests shortened
/// as the summary shows them.
fn wrote_web(uri: &str, checks: &str, then: &str, files: u32, out: &str) -> String {
    short_digests(&format!(
        "web = {uri}  (from img:imageDetail.json)\n  checks: {checks}\n{then}wrote {files} files to {out}\n"
    ))
}

#[test]
fn verify_ecr_passes_for_a_pushed_image_and_fails_naming_a_missing_digest() {
    let moto = moto();
    let (env, repo, digest) = pushed(&moto.endpoint());
    env.run(&["verify", "img", "--ecr"])
        .code(0)
        .stdout_has(&format!("digest {digest}"))
        .stdout_has("in ECR");

    let gone = missing_digest();
    artifact(&env, "us-west-2", &repo, &gone, &["v1"]);
    let run = env.run(&["verify", "img", "--ecr"]);
    run.code(1)
        .stdout_has("FAILED")
        .stdout_has(&format!("{}/{repo}@{gone}", aws::host("us-west-2")))
        .stdout_has("is not in ECR")
        .stdout_has("CannotPullContainerError");
}

#[test]
fn verify_ecr_looks_each_image_up_in_the_region_and_registry_of_its_uri() {
    // AWS_REGION is eu-west-1; the repositories exist only where the URIs say.
    let moto = moto();
    let web = unique("shop/web");
    let api = unique("shop/api");
    let web_digest = moto.push("us-west-2", &web, &["1"]);
    let api_digest = moto.push("ap-southeast-2", &api, &["1"]);
    let mut env = Env::new();
    aws_env(&mut env, &moto.endpoint());
    env.write(
        "web/imageDetail.json",
        detail("us-west-2", &web, &web_digest, &["1"]),
    );
    env.write(
        "api/imageDetail.json",
        detail("ap-southeast-2", &api, &api_digest, &["1"]),
    );
    env.run(&["verify", "web", "api", "--ecr"])
        .code(0)
        .stdout_has("region us-west-2")
        .stdout_has("region ap-southeast-2");
    // A FIPS registry host names the same registry (asked at the overridden endpoint here).
    let fips = detail("us-west-2", &web, &web_digest, &["1"])
        .replace(".dkr.ecr.us-west-2.", ".dkr.ecr-fips.us-west-2.");
    env.write("web/imageDetail.json", fips);
    env.run(&["verify", "web", "--ecr"])
        .code(0)
        .stdout_has(".dkr.ecr-fips.us-west-2.amazonaws.com/");
    // The same image named in another region is not there.
    env.write(
        "web/imageDetail.json",
        detail("us-east-2", &web, &web_digest, &["1"]),
    );
    env.run(&["verify", "web", "--ecr"])
        .code(1)
        .stdout_has(&format!("repository {web} does not exist in registry"))
        .stdout_has("region us-east-2");
}

#[test]
fn emit_ecr_writes_nothing_when_a_digest_is_missing() {
    let moto = moto();
    let repo = unique("shop/web");
    moto.push("us-west-2", &repo, &["v1"]);
    let mut env = Env::new();
    aws_env(&mut env, &moto.endpoint());
    let gone = missing_digest();
    artifact(&env, "us-west-2", &repo, &gone, &["v1"]);
    let run = env.run(&["emit", "img", "--container", "web", "--ecr", "--out", "out"]);
    run.code(1)
        .stderr_has(&gone)
        .stderr_has(&repo)
        .stderr_has("nothing was written");
    assert!(!env.path("out").exists(), "{run:#?}");
}

#[test]
fn emit_ecr_with_uri_tag_fails_when_the_tag_moved_to_another_digest() {
    let moto = moto();
    let repo = unique("shop/web");
    let first = moto.push("us-west-2", &repo, &["v1", "build-1"]);
    let mut env = Env::new();
    aws_env(&mut env, &moto.endpoint());
    artifact(&env, "us-west-2", &repo, &first, &["v1"]);
    env.run(&[
        "emit",
        "img",
        "--container",
        "web",
        "--ecr",
        "--uri",
        "tag",
        "--out",
        "out",
    ])
    .code(0)
    .stdout_is(&wrote_web(
        &format!("{}/{repo}:v1", aws::host("us-west-2")),
        &checks("ok"),
        "",
        2,
        "out",
    ));
    assert!(
        env.read("out/imagedefinitions.json")
            .contains(&format!("{repo}:v1"))
    );

    // Someone pushed again with the same tag: v1 now names another image.
    let second = moto.push("us-west-2", &repo, &["v1"]);
    let run = env.run(&[
        "emit",
        "img",
        "--container",
        "web",
        "--ecr",
        "--uri",
        "tag+digest",
        "--out",
        "out2",
    ]);
    run.code(1)
        .stderr_has("tag \"v1\"")
        .stderr_has(&format!("now points at {second}"))
        .stderr_has(&first);
    assert!(!env.path("out2").exists());
    // The digest alone is still there, so --uri digest passes.
    env.run(&[
        "emit",
        "img",
        "--container",
        "web",
        "--ecr",
        "--out",
        "out3",
    ])
    .code(0)
    .stdout_is(&wrote_web(
        &format!("{}/{repo}@{first}", aws::host("us-west-2")),
        &checks("ok"),
        "",
        2,
        "out3",
    ));
}

#[test]
fn ecs_task_definition_checks_the_containers_the_service_runs_now() {
    let moto = moto();
    let cluster = unique("prod");
    let service = unique("web");
    // ecs:// lookups use AWS_REGION (eu-west-1 in these tests).
    moto.ecs_service("eu-west-1", &cluster, &service, &["web", "proxy"]);
    let (env, repo, digest) = pushed(&moto.endpoint());
    let ecs = format!("ecs://{cluster}/{service}");
    let uri = format!("{}/{repo}@{digest}", aws::host("us-west-2"));
    env.run(&[
        "emit",
        "img",
        "--container",
        "web",
        "--task-definition",
        &ecs,
        "--out",
        "out",
    ])
    .code(0)
    .stdout_is(&wrote_web(
        &uri,
        "task definition ok, templates off, ECR off, platform not checked, findings off",
        &format!(
            "  against {ecs} (runs arn:aws:ecs:eu-west-1:{ACCOUNT}:task-definition/{service}:1):\n    web: nginx -> {uri} (v1)\n"
        ),
        2,
        "out",
    ));
    let run = env.run(&[
        "emit",
        "img",
        "--container",
        "app",
        "--task-definition",
        &ecs,
        "--out",
        "out2",
    ]);
    run.code(1)
        .stderr_has("container \"app\" not in task definition")
        .stderr_has(&ecs)
        .stderr_has("which the service runs now")
        .stderr_has("containers \"web\", \"proxy\"");
    assert!(!env.path("out2").exists());

    let missing = format!("ecs://{cluster}/no-such-service");
    env.run(&[
        "emit",
        "img",
        "--container",
        "web",
        "--task-definition",
        &missing,
    ])
    .code(2)
    .stderr_has("ECS service \"no-such-service\" not found")
    .stderr_has(&cluster);
    env.run(&[
        "emit",
        "img",
        "--container",
        "web",
        "--task-definition",
        "ecs://only-cluster",
    ])
    .code(2)
    .stderr_has("--task-definition \"ecs://only-cluster\" is not ecs://CLUSTER/SERVICE");
}

#[test]
fn mapping_task_definition_ecs_is_looked_up_and_ecr_checks_every_container() {
    let moto = moto();
    let cluster = unique("prod");
    let service = unique("web");
    moto.ecs_service("eu-west-1", &cluster, &service, &["web"]);
    let (env, repo, digest) = pushed(&moto.endpoint());
    let mapping = |td: &str| {
        serde_json::json!({
            "services": { "web": {
                "containers": { "web": { "repository": repo } },
                "taskDefinition": td
            } }
        })
        .to_string()
    };
    // An ecs:// value is not a path relative to the mapping's folder.
    env.write(
        "deploy/imagedef.json",
        mapping(&format!("ecs://{cluster}/{service}")),
    );
    env.run(&[
        "emit",
        "img",
        "--mapping",
        "deploy/imagedef.json",
        "--ecr",
        "--out",
        "out",
    ])
    .code(0)
    .stdout_is(&short_digests(&format!(
        "web: task definition ok, templates off, ECR ok, platform not checked, findings off\n  \
         web = {uri}  (from img:imageDetail.json)\n  \
         against ecs://{cluster}/{service} (runs arn:aws:ecs:eu-west-1:{ACCOUNT}:task-definition/{service}:1):\n    \
         web: nginx -> {uri} (v1)\n\
         wrote 3 files for 1 service to out\n",
        uri = format!("{}/{repo}@{digest}", aws::host("us-west-2"))
    )));
    assert!(env.read("out/web/imagedefinitions.json").contains(&digest));
    let report = env.read("out/imagedef-report.json");
    assert!(
        report.contains(&format!("ecs://{cluster}/{service}")),
        "{report}"
    );

    env.write("deploy/imagedef.json", mapping("ecs://prod"));
    env.run(&[
        "emit",
        "img",
        "--mapping",
        "deploy/imagedef.json",
        "--out",
        "out2",
    ])
    .code(2)
    .stderr_has("services.web.taskDefinition")
    .stderr_has("ecs://CLUSTER/SERVICE");
}

#[test]
fn container_credentials_are_used_with_their_authorization_token() {
    let moto = moto();
    let repo = unique("shop/web");
    let digest = moto.push("us-west-2", &repo, &["v1"]);
    let creds = SessionCredentials::new(&moto.endpoint());
    let env = &creds.from_endpoint;
    artifact(env, "us-west-2", &repo, &digest, &["v1"]);
    env.run(&["verify", "img", "--ecr"])
        .code(0)
        .stdout_is(&found_in_ecr(&repo, &digest));
    let seen = creds.server.authorizations.lock().unwrap().clone();
    assert!(!seen.is_empty(), "the credentials endpoint was never asked");
    assert!(seen.iter().all(|a| a == AUTH_TOKEN), "{seen:?}");
}

#[test]
fn no_credentials_exits_2_within_seconds_saying_where_it_looked() {
    let moto = moto();
    let mut env = Env::new();
    aws_env_without_keys(&mut env, &moto.endpoint());
    artifact(&env, "us-west-2", "shop/web", &missing_digest(), &["v1"]);
    let start = Instant::now();
    let run = env.run(&["verify", "img", "--ecr"]);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    run.code(2)
        .stdout_has("no AWS credentials found")
        .stdout_has("AWS_ACCESS_KEY_ID not set")
        .stdout_has("no-such-dir/config")
        .stdout_has("AWS_CONTAINER_CREDENTIALS_FULL_URI not set")
        .stdout_has("instance metadata (disabled by AWS_EC2_METADATA_DISABLED=true)");
    let run = env.run(&["emit", "img", "--container", "web", "--ecr", "--out", "out"]);
    run.code(2).stderr_has("no AWS credentials found");
    assert!(!env.path("out").exists());
}

#[test]
fn throttling_and_503_answers_are_retried_and_said_at_v() {
    let moto = moto();
    let proxy = FaultProxy::start(
        moto.port,
        vec![
            Fault::Answer(400, "ThrottlingException"),
            Fault::Answer(503, "ServiceUnavailableException"),
        ],
        Fault::Pass,
    );
    let (env, repo, digest) = pushed(&proxy.endpoint());
    let run = env.run(&["-v", "verify", "img", "--ecr"]);
    run.code(0)
        .stdout_is(&found_in_ecr(&repo, &digest))
        .stderr_has("attempt failed (HTTP 400)")
        .stderr_has("attempt failed (HTTP 503)")
        .stderr_has("standard retry mode");
    assert_eq!(proxy.count("BatchGetImage"), 3, "{run:#?}");
}

#[test]
fn a_dropped_connection_is_retried() {
    let moto = moto();
    let proxy = FaultProxy::start(moto.port, vec![Fault::Drop], Fault::Pass);
    let (env, repo, digest) = pushed(&proxy.endpoint());
    env.run(&["verify", "img", "--ecr"])
        .code(0)
        .stdout_is(&found_in_ecr(&repo, &digest));
    assert_eq!(proxy.count("BatchGetImage"), 2);
}

#[test]
fn a_persistent_failure_is_a_clear_exit_2() {
    let moto = moto();
    let proxy = FaultProxy::start(
        moto.port,
        vec![],
        Fault::Answer(503, "ServiceUnavailableException"),
    );
    let mut env = unpushed(&proxy.endpoint());
    let start = Instant::now();
    let run = env.run(&["emit", "img", "--container", "web", "--ecr", "--out", "out"]);
    assert!(start.elapsed() < Duration::from_secs(30));
    run.code(2)
        .stderr_has(
            "ECR BatchGetImage on repository shop/web in registry 123456789012 (region us-west-2)",
        )
        .stderr_has("ServiceUnavailableException (HTTP 503)")
        .stderr_has("after 3 attempts");
    assert_eq!(proxy.count("BatchGetImage"), 3);
    assert!(!env.path("out").exists());

    let dropping = FaultProxy::start(moto.port, vec![], Fault::Drop);
    aws_env(&mut env, &dropping.endpoint());
    env.run(&["verify", "img", "--ecr"])
        .code(2)
        .stdout_has("ERROR")
        .stdout_has("after 3 attempts")
        .stdout_has("the endpoint is overridden (AWS_ENDPOINT_URL=");
}

#[test]
fn access_denied_names_the_iam_action_and_the_repository_arn() {
    let moto = moto();
    let proxy = FaultProxy::start(
        moto.port,
        vec![],
        Fault::Answer(400, "AccessDeniedException"),
    );
    let env = unpushed(&proxy.endpoint());
    env.run(&["verify", "img", "--ecr"])
        .code(2)
        .stdout_has("AccessDeniedException (HTTP 400)")
        .stdout_has(
            "the build role needs ecr:BatchGetImage on arn:aws:ecr:us-west-2:123456789012:repository/shop/web",
        );
    assert_eq!(
        proxy.count("BatchGetImage"),
        1,
        "access denied is not retried"
    );

    let cluster = unique("prod");
    env.run(&[
        "emit",
        "img",
        "--container",
        "web",
        "--task-definition",
        &format!("ecs://{cluster}/web"),
    ])
    .code(2)
    .stderr_has("ECS DescribeServices")
    .stderr_has(&format!(
        "the build role needs ecs:DescribeServices on arn:aws:ecs:eu-west-1:*:service/{cluster}/web"
    ));
}

#[test]
fn secrets_never_appear_even_with_rust_log_trace() {
    let moto = moto();
    let repo = unique("shop/web");
    let digest = moto.push("us-west-2", &repo, &["v1"]);
    let cluster = unique("prod");
    let service = unique("web");
    moto.ecs_service("eu-west-1", &cluster, &service, &["web"]);
    // Session credentials from the container endpoint, and from the environment.
    let mut creds = SessionCredentials::new(&moto.endpoint());
    for env in creds.traced() {
        artifact(env, "us-west-2", &repo, &digest, &["v1"]);
        let ecs = format!("ecs://{cluster}/{service}");
        for args in [
            &["-vv", "verify", "img", "--ecr"][..],
            &[
                "emit",
                "img",
                "--container",
                "web",
                "--ecr",
                "--task-definition",
                &ecs,
                "--out",
                "out",
            ],
        ] {
            let run = env.run(args);
            run.code(0);
            // The SDK's own trace output did flow (so the test would see a leak).
            assert_no_secrets(&run);
        }
    }
}

#[test]
fn ecr_with_no_ecr_image_warns_and_calls_nothing() {
    // A proxy that would refuse every call: none may be made.
    let proxy = FaultProxy::start(moto().port, vec![], Fault::Answer(500, "InternalFailure"));
    let mut env = Env::new();
    aws_env(&mut env, &proxy.endpoint());
    env.write(
        "img/imageDetail.json",
        format!(
            r#"{{"ImageURI":"registry.example.com/shop/web@{}"}}"#,
            missing_digest()
        ),
    );
    let uri = format!("registry.example.com/shop/web@{}", missing_digest());
    env.run(&["verify", "img", "--ecr"])
        .code(0)
        .stdout_is(&format!(
            "ok      img:imageDetail.json (img/imageDetail.json): {uri}\n1 passed, 0 failed\n"
        ))
        .stderr_has("--ecr: no image is in an Amazon ECR private registry");
    env.run(&["emit", "img", "--container", "web", "--ecr", "--out", "out"])
        .code(0)
        .stdout_is(&wrote_web(&uri, &checks("not checked"), "", 2, "out"))
        .stderr_has("nothing was looked up");
    assert_eq!(proxy.targets.lock().unwrap().len(), 0);
}

#[test]
fn verify_ecr_holds_a_lone_bundle_and_its_ok_line_says_so() {
    let moto = moto();
    let (env, repo, digest) = pushed(&moto.endpoint());
    env.run(&[
        "emit",
        "img",
        "--container",
        "web",
        "--bundle",
        "--out",
        "out",
    ])
    .code(0)
    .stdout_is(&wrote_web(
        &format!("{}/{repo}@{digest}", aws::host("us-west-2")),
        &checks("off"),
        "",
        3,
        "out",
    ));
    // Away from its SHA256SUMS and outside the build: only ECR holds what it deploys.
    std::fs::create_dir_all(env.path("lone")).unwrap();
    std::fs::copy(
        env.path("out/imagedefinitions.zip"),
        env.path("lone/imagedefinitions.zip"),
    )
    .unwrap();
    let run = env.run(&["verify", "--bundle", "lone/imagedefinitions.zip", "--ecr"]);
    run.code(0);
    assert!(
        run.stdout().lines().any(|l| l
            .starts_with("ok      lone/imagedefinitions.zip: zip of imagedefinitions.json")
            && l.ends_with("); content held against ECR")),
        "{run:#?}"
    );
    assert!(!run.stderr().contains("only its structure"), "{run:#?}");
}
