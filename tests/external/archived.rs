//! ECR's archive storage class: an archived image is listed but cannot be pulled (HTTP 404) until
//! restored, which takes up to about 20 minutes. moto does not report `imageStatus`, so a proxy in
//! front of it adds what ECR answers: `DescribeImages` naming an image `ARCHIVED` or `ACTIVATING`,
//! and (as ECR may for an archived image) `BatchGetImage` not returning it.

use std::sync::Arc;

use serde_json::Value;

use crate::tools::aws::{self, ACCOUNT, Edit, Fault, FaultProxy, detail, moto, unique};
use crate::util::Env;
use crate::util::aws::aws_env;

const REGION: &str = "us-west-2";

/// ECR with the archive storage class: the image `DescribeImages` lists with `digest` has
/// `status`.
fn describe_says(status: &'static str, digest: &str) -> Fault {
    let digest = digest.to_owned();
    Fault::Edited(Edit(Arc::new(move |answer: &mut Value| {
        for detail in answer["imageDetails"].as_array_mut().unwrap() {
            if detail["imageDigest"] == digest.as_str() {
                detail["imageStatus"] = Value::from(status);
            }
        }
    })))
}

/// ECR in front of `upstream` (moto, or another proxy) whose `DescribeImages` says `status` of
/// the image `digest`.
fn describing(upstream: u16, status: &'static str, digest: &str) -> FaultProxy {
    FaultProxy::start_matching(
        upstream,
        "DescribeImages",
        vec![],
        describe_says(status, digest),
    )
}

/// ECR answering `BatchGetImage` for an archived image: not returned, named as a failure.
fn batch_get_finds_nothing() -> Fault {
    Fault::Edited(Edit(Arc::new(|answer: &mut Value| {
        let images = std::mem::take(answer["images"].as_array_mut().unwrap());
        let failures: Vec<Value> = images
            .iter()
            .map(|i| {
                serde_json::json!({
                    "imageId": {"imageDigest": i["imageId"]["imageDigest"]},
                    "failureCode": "ImageNotFound",
                    "failureReason": "Requested image not found",
                })
            })
            .collect();
        answer["failures"] = Value::from(failures);
    })))
}

/// A build whose one artifact names a freshly pushed image: the env, the repository and the
/// digest. [`through`] points it at AWS.
fn build() -> (Env, String, String) {
    let repo = unique("shop/web");
    let digest = moto().push(REGION, &repo, &["v1"]);
    let env = Env::new();
    env.write(
        "img/imageDetail.json",
        detail(REGION, &repo, &digest, &["v1"]),
    );
    (env, repo, digest)
}

/// `env` with AWS at `proxy`, in front of moto.
fn through(mut env: Env, proxy: &FaultProxy) -> Env {
    aws_env(&mut env, &proxy.endpoint());
    env
}

const EMIT: [&str; 8] = [
    "emit",
    "img",
    "--container",
    "web",
    "--ecr",
    "--out",
    "out",
    "-q",
];

/// The restore command for `digest` of `repo`.
fn restore(repo: &str, digest: &str) -> String {
    format!(
        "aws ecr update-image-storage-class --region {REGION} --registry-id {ACCOUNT} --repository-name {repo} --image-id imageDigest={digest} --target-storage-class STANDARD"
    )
}

#[test]
fn an_archived_image_fails_naming_the_restore_command_and_nothing_is_written() {
    let moto = moto();
    let (env, repo, digest) = build();
    let proxy = describing(moto.port, "ARCHIVED", &digest);
    let env = through(env, &proxy);
    let uri = format!("{}/{repo}@{digest}", aws::host(REGION));
    env.run(&EMIT).code(1).stderr_is(&format!(
        "imagedef: error: img:imageDetail.json: image {uri} is archived in ECR (imageStatus ARCHIVED) and cannot be pulled until restored (repository {repo} in registry {ACCOUNT} (region {REGION})): a deploy would fail with CannotPullContainerError; restore it (up to about 20 minutes) with: {}; nothing was written\n",
        restore(&repo, &digest)
    ));
    assert!(!env.path("out").exists());
    assert_eq!(proxy.count("DescribeImages"), 1);
    // verify says the same, as a failed check.
    let run = env.run(&["verify", "img", "--ecr"]);
    run.code(1).stdout_has(&format!(
        "FAILED  img:imageDetail.json (img/imageDetail.json): image {uri} is archived in ECR"
    ));
}

#[test]
fn an_image_being_restored_fails_until_it_is_active() {
    let moto = moto();
    let (env, repo, digest) = build();
    let proxy = describing(moto.port, "ACTIVATING", &digest);
    let env = through(env, &proxy);
    let uri = format!("{}/{repo}@{digest}", aws::host(REGION));
    env.run(&EMIT).code(1).stderr_is(&format!(
        "imagedef: error: img:imageDetail.json: image {uri} is being restored from the ECR archive (imageStatus ACTIVATING) and cannot be pulled until it is ACTIVE, up to about 20 minutes after the restore began (repository {repo} in registry {ACCOUNT} (region {REGION})): a deploy would fail with CannotPullContainerError; run again once it is ACTIVE: aws ecr describe-images --region {REGION} --registry-id {ACCOUNT} --repository-name {repo} --image-ids imageDigest={digest} --filter imageStatus=ANY; nothing was written\n"
    ));
    assert!(!env.path("out").exists());
}

#[test]
fn an_archived_image_batch_get_image_does_not_return_is_said_archived_not_missing() {
    let moto = moto();
    let (env, repo, digest) = build();
    let describe = describing(moto.port, "ARCHIVED", &digest);
    let proxy = FaultProxy::start_matching(
        describe.port,
        "BatchGetImage",
        vec![],
        batch_get_finds_nothing(),
    );
    let env = through(env, &proxy);
    let uri = format!("{}/{repo}@{digest}", aws::host(REGION));
    env.run(&EMIT).code(1).stderr_is(&format!(
        "imagedef: error: img:imageDetail.json: image {uri} is archived in ECR (imageStatus ARCHIVED) and cannot be pulled until restored (repository {repo} in registry {ACCOUNT} (region {REGION})): a deploy would fail with CannotPullContainerError; restore it (up to about 20 minutes) with: {}; nothing was written\n",
        restore(&repo, &digest)
    ));
}

#[test]
fn an_answer_without_image_status_is_active_and_one_call_asks_for_a_repository() {
    let moto = moto();
    let proxy = FaultProxy::start(moto.port, vec![], Fault::Pass);
    let (env, repo, first) = build();
    let env = through(env, &proxy);
    let second = moto.push(REGION, &repo, &["v2"]);
    env.write(
        "two/imageDetail.json",
        detail(REGION, &repo, &second, &["v2"]),
    );
    env.write(
        "m.json",
        serde_json::json!({"services": {
            "a": {"containers": {"a": {"artifact": "img"}}},
            "b": {"containers": {"b": {"artifact": "two"}}}
        }})
        .to_string(),
    );
    env.run(&[
        "emit",
        "--mapping",
        "m.json",
        "--ecr",
        "--out",
        "out",
        "img",
        "two",
        "-q",
    ])
    .code(0);
    assert_eq!(proxy.count("BatchGetImage"), 1);
    assert_eq!(proxy.count("DescribeImages"), 1);
    assert!(env.read("out/a/imagedefinitions.json").contains(&first));
}

#[test]
fn an_archived_image_the_service_runs_now_is_a_warning_and_a_failure_under_strict() {
    let moto = moto();
    let cluster = unique("prod");
    let service = unique("web");
    let (env, repo, digest) = build();
    let old = moto.push(REGION, &repo, &["v0"]);
    let running = format!("{}/{repo}@{old}", aws::host(REGION));
    // ecs:// lookups use AWS_REGION (eu-west-1 in these tests).
    moto.ecs_service_running("eu-west-1", &cluster, &service, &[("web", &running)]);
    let ecs = format!("ecs://{cluster}/{service}");
    let proxy = describing(moto.port, "ARCHIVED", &old);
    let env = through(env, &proxy);
    let emit = |extra: &[&str]| {
        let args = [
            &[
                "emit",
                "img",
                "--container",
                "web",
                "--task-definition",
                &ecs,
                "--ecr",
            ][..],
            extra,
        ]
        .concat();
        env.run(&args)
    };
    let said = format!(
        "container \"web\": the image it runs now ({ecs}), {running}, is archived in ECR (imageStatus ARCHIVED) and cannot be pulled until restored (repository {repo} in registry {ACCOUNT} (region {REGION})): a rollback to that revision, or a scale-out before the deploy completes, would fail to pull it; restore it (up to about 20 minutes) with: {}",
        restore(&repo, &old)
    );
    emit(&["--out", "out"])
        .code(0)
        .stdout_has("wrote 2 files to out\n")
        .stderr_is(&format!("imagedef: warning: {said}\n"));
    assert!(env.read("out/imagedefinitions.json").contains(&digest));
    // The written image and the running one, in one repository: one call.
    assert_eq!(proxy.count("DescribeImages"), 1);
    emit(&["--out", "strict", "--strict", "-q"])
        .code(1)
        .stderr_is(&format!(
            "imagedef: error: {said}; --strict makes it a failure; nothing was written\n"
        ));
    assert!(!env.path("strict").exists());
    // verify --task-definition ecs:// asks about the running images too.
    let run = env.run(&[
        "verify",
        "img",
        "--ecr",
        "--task-definition",
        &ecs,
        "--strict",
    ]);
    run.code(1).stdout_has(&format!(
        "FAILED  --task-definition {ecs}, container \"web\": the image it runs now ({ecs}), {running}, is archived in ECR"
    ));
}

#[test]
fn a_running_image_gone_from_ecr_is_said() {
    let moto = moto();
    let cluster = unique("prod");
    let service = unique("web");
    let (env, repo, _) = build();
    let gone = format!("{}/{repo}@sha256:{}", aws::host(REGION), "ab".repeat(32));
    moto.ecs_service_running("eu-west-1", &cluster, &service, &[("web", &gone)]);
    let ecs = format!("ecs://{cluster}/{service}");
    let proxy = FaultProxy::start(moto.port, vec![], Fault::Pass);
    let env = through(env, &proxy);
    env.run(&[
        "emit", "img", "--container", "web", "--task-definition", &ecs, "--ecr", "--out", "out",
    ])
    .code(0)
    .stdout_has("wrote 2 files to out\n")
    .stderr_is(&format!(
        "imagedef: warning: container \"web\": the image it runs now ({ecs}), {gone}, is no longer in ECR (repository {repo} in registry {ACCOUNT} (region {REGION})): a rollback to that revision, or a scale-out before the deploy completes, would fail to pull it; push it again, or check the repository's lifecycle policy\n"
    ));
    // The call naming both was refused for the one gone; each was then asked alone.
    assert_eq!(proxy.count("DescribeImages"), 3);
}
