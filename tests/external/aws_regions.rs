//! Signed requests go only to real endpoints: a region from an image URI's registry host or from
//! `AWS_REGION` that is no region of an AWS partition is exit 2 before any request. Each run goes
//! through a recording proxy in front of moto, which must see nothing.

use crate::tools::aws::{ACCOUNT, Fault, FaultProxy, detail, host, moto, unique};
use crate::util::Env;
use crate::util::aws::aws_env;
use crate::util::short_digests;

/// A proxy in front of moto that forwards everything and records every request.
fn recorder() -> FaultProxy {
    FaultProxy::start(moto().port, Vec::new(), Fault::Pass)
}

#[track_caller]
fn nothing_reached(proxy: &FaultProxy) {
    let seen = proxy.targets.lock().unwrap().clone();
    assert!(seen.is_empty(), "requests reached moto: {seen:?}");
}

const PARTITIONS: &str = "aws such as eu-west-1, aws-cn such as cn-north-1, aws-eusc such as eusc-de-east-1, aws-iso such as us-iso-east-1, aws-iso-b such as us-isob-east-1, aws-iso-e such as eu-isoe-west-1, aws-iso-f such as us-isof-south-1, aws-us-gov such as us-gov-west-1";

#[test]
fn emit_ecr_refuses_registry_hosts_whose_region_is_not_real_before_any_request() {
    let digest = format!("sha256:{}", "cd".repeat(32));
    let long = "a".repeat(63);
    for label in ["attacker", "localhost", long.as_str(), "xn--80ak6aa92e"] {
        let proxy = recorder();
        let mut env = Env::new();
        aws_env(&mut env, &proxy.endpoint());
        env.write(
            "img/imageDetail.json",
            detail(label, "shop/web", &digest, &["v1"]),
        );
        let run = env.run(&["emit", "img", "--container", "app", "--ecr", "--out", "out"]);
        run.code(2);
        assert_eq!(
            run.stderr(),
            format!(
                "imagedef: error: --ecr: img:imageDetail.json: image {ACCOUNT}.dkr.ecr.{label}.amazonaws.com/shop/web@{digest}: the region of registry host {ACCOUNT}.dkr.ecr.{label}.amazonaws.com: \"{label}\" is not an AWS region: it matches the region pattern of no AWS partition ({PARTITIONS})\n  no ECR lookup was made; fix: correct the region in the image URI (ACCOUNT.dkr.ecr.REGION.amazonaws.com, e.g. eu-west-1); nothing was written\n"
            ),
            "{label}"
        );
        assert!(!env.path("out").exists(), "{label}: nothing is written");
        nothing_reached(&proxy);
    }
}

#[test]
fn a_region_of_a_partition_whose_registry_hosts_are_unconfirmed_is_refused_saying_so() {
    let proxy = recorder();
    let mut env = Env::new();
    aws_env(&mut env, &proxy.endpoint());
    let digest = format!("sha256:{}", "ce".repeat(32));
    env.write(
        "img/imageDetail.json",
        detail("us-iso-east-1", "shop/web", &digest, &["v1"]),
    );
    let run = env.run(&["emit", "img", "--container", "app", "--ecr", "--out", "out"]);
    run.code(2);
    assert_eq!(
        run.stderr(),
        format!(
            "imagedef: error: --ecr: img:imageDetail.json: image {ACCOUNT}.dkr.ecr.us-iso-east-1.amazonaws.com/shop/web@{digest}: the region of registry host {ACCOUNT}.dkr.ecr.us-iso-east-1.amazonaws.com: \"us-iso-east-1\" is a region of partition aws-iso, and imagedef cannot confirm that aws-iso has ECR registry hosts under amazonaws.com, so it does not look images up there\n  no ECR lookup was made; fix: correct the region in the image URI (ACCOUNT.dkr.ecr.REGION.amazonaws.com, e.g. eu-west-1); nothing was written\n"
        )
    );
    nothing_reached(&proxy);
}

#[test]
fn an_aws_region_that_is_no_region_is_refused_for_ecs_and_publish_before_any_request() {
    let bad = "us-east-1.attacker.example";
    let why = format!(
        "AWS_REGION \"{bad}\" is not an AWS region: it matches the region pattern of no AWS partition ({PARTITIONS})"
    );

    let proxy = recorder();
    let mut env = Env::new();
    aws_env(&mut env, &proxy.endpoint());
    env.set("AWS_REGION", bad);
    let digest = format!("sha256:{}", "cf".repeat(32));
    env.write(
        "img/imageDetail.json",
        detail("eu-west-1", "shop/web", &digest, &["v1"]),
    );
    let ecs = format!("ecs://{}/web", unique("prod"));
    let run = env.run(&[
        "emit",
        "img",
        "--container",
        "app",
        "--task-definition",
        &ecs,
        "--out",
        "out",
    ]);
    run.code(2);
    assert_eq!(
        run.stderr(),
        format!(
            "imagedef: error: {why}; no request was made for the ECS lookup; fix: set AWS_REGION, a region such as eu-west-1; nothing was written\n"
        )
    );
    assert!(!env.path("out").exists());
    nothing_reached(&proxy);

    // publish: bundles emitted with a real region, published with the bad one.
    let proxy = recorder();
    let mut env = Env::new();
    aws_env(&mut env, &proxy.endpoint());
    env.write(
        "img/imageDetail.json",
        detail("eu-west-1", "shop/web", &digest, &["v1"]),
    );
    env.run(&[
        "emit",
        "img",
        "--container",
        "app",
        "--bundle",
        "--out",
        "out",
    ])
    .code(0)
    .stdout_is(&short_digests(&format!(
        "app = {}/shop/web@{digest}  (from img:imageDetail.json)\n  checks: task definition not checked, templates off, ECR off, platform not checked, findings off\nwrote 3 files to out\n",
        host("eu-west-1")
    )));
    env.set("AWS_REGION", bad);
    let run = env.run(&["publish", "out", "--bucket", &unique("bundles")]);
    run.code(2);
    assert_eq!(
        run.stderr(),
        format!(
            "imagedef: error: {why}; no request was made for publish; fix: set AWS_REGION to the bucket's region, a region such as eu-west-1\n"
        )
    );
    nothing_reached(&proxy);
}

#[test]
fn verify_ecr_refuses_a_registry_host_whose_region_is_not_real_before_any_request() {
    let proxy = recorder();
    let mut env = Env::new();
    aws_env(&mut env, &proxy.endpoint());
    let digest = format!("sha256:{}", "cd".repeat(32));
    env.write(
        "img/imageDetail.json",
        detail("localhost", "shop/web", &digest, &["v1"]),
    );
    let run = env.run(&["verify", "img", "--ecr"]);
    run.code(2).stdout_has(&format!(
        "ERROR   --ecr: img:imageDetail.json (img/imageDetail.json): image {ACCOUNT}.dkr.ecr.localhost.amazonaws.com/shop/web@{digest}: the region of registry host {ACCOUNT}.dkr.ecr.localhost.amazonaws.com: \"localhost\" is not an AWS region: it matches the region pattern of no AWS partition ({PARTITIONS})"
    ));
    nothing_reached(&proxy);
}
