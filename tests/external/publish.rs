//! `publish` against moto's S3 on loopback: what a user sees (exit code, stdout, stderr) and what
//! lands in the bucket (bytes, stored checksums, versions), with real SDK calls and retries.

use std::fmt::Write as _;

use sha2::{Digest as _, Sha256};

use crate::tools::aws::{Fault, FaultProxy, assert_no_secrets, moto, unique};
use crate::tools::credentials::SessionCredentials;
use crate::util::aws::aws_env;
use crate::util::bundled::{bundle, digest, emit_bundles, emitted, emitted_in};
use crate::util::short_digests;
use crate::util::{Env, HOST, ecr_detail};

/// sha256 as S3 stores it: base64 of the raw digest.
fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let digest = Sha256::digest(bytes);
    let mut out = String::new();
    for chunk in digest.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

#[test]
fn publish_uploads_each_bundle_once_and_then_only_the_changed_one() {
    let moto = moto();
    let bucket = unique("bundles");
    moto.bucket(&bucket, true);
    let env = emitted(5, &moto.endpoint());

    // A dry run asks but puts nothing.
    let dry = env.run(&["publish", "out", "--bucket", &bucket, "--dry-run"]);
    dry.code(0)
        .stdout_has(&format!("would upload s3://{bucket}/s1.zip sha256 "));
    assert_eq!(dry.stdout().lines().count(), 5, "{dry:#?}");
    assert!(moto.versions(&bucket, "s1.zip").is_empty());

    let first = env.run(&["publish", "out", "--bucket", &bucket]);
    first.code(0);
    assert_eq!(first.stdout().lines().count(), 5, "{first:#?}");
    for n in 1..=5 {
        let key = format!("s{n}.zip");
        let bytes = bundle(&env, n);
        let (stored, checksum) = moto.object(&bucket, &key);
        assert_eq!(
            stored, bytes,
            "{key}: the object must be the zip's exact bytes"
        );
        assert_eq!(checksum, Some(b64(&bytes)), "{key}: its sha256 checksum");
        let versions = moto.versions(&bucket, &key);
        assert_eq!(versions.len(), 1, "{key}: {versions:?}");
        first.stdout_has(&format!(
            "uploaded s3://{bucket}/{key} version {} sha256 {}",
            versions[0],
            hex(&bytes)
        ));
    }

    // Nothing changed: no new version anywhere, so no consuming pipeline starts again.
    let second = env.run(&["publish", "out", "--bucket", &bucket, "--json"]);
    second.code(0);
    let json = second.json();
    let services = json["services"].as_array().unwrap();
    assert_eq!(services.len(), 5);
    for s in services {
        assert_eq!(s["status"], "unchanged", "{s}");
        let key = s["key"].as_str().unwrap();
        assert_eq!(
            moto.versions(&bucket, key),
            [s["versionId"].as_str().unwrap()],
            "{key}"
        );
    }

    // s3's image changes: only s3.zip gets a new version.
    env.write(
        "a3/imageDetail.json",
        ecr_detail("shop/s3", &digest(33), &["v2"]),
    );
    emit_bundles(&env, 5);
    let third = env.run(&["publish", "out", "--bucket", &bucket]);
    third
        .code(0)
        .stdout_has(&format!("uploaded s3://{bucket}/s3.zip"));
    assert_eq!(
        third.stdout().matches("unchanged ").count(),
        4,
        "{third:#?}"
    );
    for n in 1..=5 {
        let versions = moto.versions(&bucket, &format!("s{n}.zip"));
        assert_eq!(
            versions.len(),
            if n == 3 { 2 } else { 1 },
            "s{n}: {versions:?}"
        );
    }
    let (stored, _) = moto.object(&bucket, "s3.zip");
    assert_eq!(stored, bundle(&env, 3));
}

#[test]
fn a_tampered_bundle_uploads_nothing_at_all() {
    let moto = moto();
    let bucket = unique("bundles");
    moto.bucket(&bucket, true);
    let env = emitted(3, &moto.endpoint());
    let mut bytes = bundle(&env, 2);
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    env.write("out/s2.zip", bytes);
    let run = env.run(&["publish", "out", "--bucket", &bucket]);
    run.code(1)
        .stderr_has("s2.zip: sha256 is")
        .stderr_has("nothing was published");
    for n in 1..=3 {
        assert!(moto.versions(&bucket, &format!("s{n}.zip")).is_empty());
    }
    assert!(run.stdout().is_empty(), "{run:#?}");
}

#[test]
fn a_missing_bucket_is_an_exit_2_naming_it() {
    let moto = moto();
    let env = emitted(2, &moto.endpoint());
    let bucket = unique("no-such-bucket");
    env.run(&["publish", "out", "--bucket", &bucket])
        .code(2)
        .stderr_has(&format!("bucket {bucket} does not exist"))
        .stderr_has("NoSuchBucket")
        .stderr_has("check --bucket");
}

#[test]
fn publish_without_bundles_or_with_a_bad_key_template_is_exit_2() {
    let env = Env::new();
    env.mkdir("out");
    env.run(&["publish", "out", "--bucket", "bundles"])
        .code(2)
        .stderr_has("holds no bundle")
        .stderr_has("emit --bundle");
    let moto = moto();
    let env = emitted(2, &moto.endpoint());
    env.run(&[
        "publish",
        "out",
        "--bucket",
        "bundles",
        "--key",
        "bundle.zip",
    ])
    .code(2)
    .stderr_has("no {service}");
    env.run(&[
        "publish",
        "out",
        "--bucket",
        "bundles",
        "--key",
        "/{service}.zip",
    ])
    .code(2)
    .stderr_has("starts with /");
    env.run(&["publish", "out", "--bucket", "s3://bundles/x"])
        .code(2)
        .stderr_has("give the bucket's name only");
}

#[test]
fn single_image_bundle_is_published_under_its_key() {
    let moto = moto();
    let bucket = unique("bundles");
    moto.bucket(&bucket, false);
    let mut env = Env::new();
    aws_env(&mut env, &moto.endpoint());
    env.write(
        "img/imageDetail.json",
        ecr_detail("shop/web", &digest(7), &["1"]),
    );
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
    .stdout_is(&short_digests(&format!(
        "web = {HOST}/shop/web@{}  (from img:imageDetail.json)\n  \
         checks: task definition not checked, templates off, ECR off, platform not checked, findings off\n\
         wrote 3 files to out\n",
        digest(7)
    )));
    env.run(&[
        "publish",
        "out",
        "--bucket",
        &bucket,
        "--key",
        "deploy/web.zip",
        "--acl",
        "bucket-owner-full-control",
        "--expected-bucket-owner",
        "123456789012",
    ])
    .code(0)
    .stdout_has(&format!(
        "uploaded s3://{bucket}/deploy/web.zip version null sha256 "
    ));
    let bytes = std::fs::read(env.path("out/imagedefinitions.zip")).unwrap();
    assert_eq!(moto.object(&bucket, "deploy/web.zip").0, bytes);
}

#[test]
fn publish_sends_the_kms_key_and_refuses_an_unknown_acl() {
    let moto = moto();
    let bucket = unique("bundles");
    moto.bucket(&bucket, true);
    let env = emitted(2, &moto.endpoint());
    let key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    env.run(&[
        "publish",
        "out",
        "--bucket",
        &bucket,
        "--kms-key-id",
        key,
        "--expected-bucket-owner",
        "123456789012",
    ])
    .code(0)
    .stdout_is(&format!(
        "{}{}",
        moto.uploaded(&bucket, "s1.zip", &bundle(&env, 1)),
        moto.uploaded(&bucket, "s2.zip", &bundle(&env, 2))
    ));
    let headers = moto.head(&bucket, "s1.zip");
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(
        header("x-amz-server-side-encryption"),
        Some("aws:kms"),
        "{headers:?}"
    );
    assert_eq!(
        header("x-amz-server-side-encryption-aws-kms-key-id"),
        Some(key),
        "{headers:?}"
    );
    env.run(&["publish", "out", "--bucket", &bucket, "--acl", "public"])
        .code(2)
        .stderr_has("--acl \"public\" is not a canned ACL");
}

#[test]
fn slow_down_answers_and_dropped_connections_are_retried() {
    let moto = moto();
    let bucket = unique("bundles");
    moto.bucket(&bucket, true);
    let proxy = FaultProxy::start(
        moto.port,
        vec![
            Fault::Answer(503, "SlowDown"),
            Fault::Drop,
            Fault::Answer(503, "SlowDown"),
        ],
        Fault::Pass,
    );
    let env = emitted(3, &proxy.endpoint());
    let run = env.run(&["-v", "publish", "out", "--bucket", &bucket]);
    run.code(0).stderr_has("attempt failed");
    assert_eq!(run.stdout().matches("uploaded ").count(), 3, "{run:#?}");
    for n in 1..=3 {
        assert_eq!(
            moto.object(&bucket, &format!("s{n}.zip")).0,
            bundle(&env, n)
        );
    }
    // 3 HEADs and 3 PUTs, plus the 3 failed attempts.
    assert_eq!(
        proxy.count_s3("HEAD") + proxy.count_s3("PUT"),
        9,
        "{:?}",
        proxy.targets
    );
}

#[test]
fn a_key_that_keeps_failing_is_exit_1_with_the_others_published_and_a_rerun_completes() {
    let moto = moto();
    let bucket = unique("bundles");
    moto.bucket(&bucket, true);
    let failing = FaultProxy::start_matching(
        moto.port,
        &format!("PUT /{bucket}/s2.zip"),
        vec![],
        Fault::Answer(503, "SlowDown"),
    );
    let env = emitted(4, &failing.endpoint());
    let run = env.run(&["publish", "out", "--bucket", &bucket]);
    run.code(1)
        .stderr_has("service s2:")
        .stderr_has(&format!("s3://{bucket}/s2.zip"))
        .stderr_has("PutObject")
        .stderr_has("SlowDown")
        .stderr_has("running the same publish again uploads only what is missing");
    assert_eq!(
        failing.count_s3("PUT"),
        3 + 3,
        "3 attempts for s2, 1 each for the others"
    );
    assert_eq!(run.stdout().matches("uploaded ").count(), 3, "{run:#?}");
    assert!(moto.versions(&bucket, "s2.zip").is_empty());
    for n in [1, 3, 4] {
        assert_eq!(moto.versions(&bucket, &format!("s{n}.zip")).len(), 1);
    }

    // The same publish, S3 healthy again: only s2 is uploaded.
    let mut env = env;
    aws_env(&mut env, &moto.endpoint());
    let rerun = env.run(&["publish", "out", "--bucket", &bucket]);
    rerun
        .code(0)
        .stdout_has(&format!("uploaded s3://{bucket}/s2.zip"));
    assert_eq!(
        rerun.stdout().matches("unchanged ").count(),
        3,
        "{rerun:#?}"
    );
    assert_eq!(moto.object(&bucket, "s2.zip").0, bundle(&env, 2));
}

#[test]
fn publish_secrets_never_appear_even_with_rust_log_trace() {
    let moto = moto();
    let bucket = unique("bundles");
    moto.bucket(&bucket, true);
    let mut creds = SessionCredentials::new(&moto.endpoint());
    for env in creds.traced() {
        emitted_in(env, 2);
        let run = env.run(&["-vv", "publish", "out", "--bucket", &bucket]);
        run.code(0);
        assert_no_secrets(&run);
    }
}
