//! `publish` when another writer is at work: conditional writes against moto's S3 (two publishes
//! at once, and a writer that a proxy slips in between imagedef's `HeadObject` and its
//! `PutObject`), and the refusals before any upload (bundles `verify --bundle` refuses, entries of
//! OUT that are not regular files; keys with `..` or empty segments are in
//! `tests/integration/publish_race.rs`).

use std::sync::Arc;

use crate::tools::aws::{Fault, FaultProxy, moto, unique};
use crate::util::Env;
use crate::util::bundled::{bundle, emitted};

#[test]
fn two_publishes_of_12_services_at_once_make_one_version_per_key() {
    let moto = moto();
    let bucket = unique("race");
    moto.bucket(&bucket, true);
    let env = emitted(12, &moto.endpoint());
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| env.run(&["publish", "out", "--bucket", &bucket]));
        let b = s.spawn(|| env.run(&["publish", "out", "--bucket", &bucket]));
        (a.join().unwrap(), b.join().unwrap())
    });
    a.code(0);
    b.code(0);
    let versions: usize = (1..=12)
        .map(|n| moto.versions(&bucket, &format!("s{n}.zip")).len())
        .sum();
    eprintln!("two concurrent publishes of 12 services: {versions} object versions");
    assert_eq!(versions, 12, "one version per key; runs: {a:#?} {b:#?}");
    let uploaded = |r: &crate::util::Run| r.stdout().matches("uploaded ").count();
    let unchanged = |r: &crate::util::Run| r.stdout().matches("unchanged ").count();
    assert_eq!(uploaded(&a) + uploaded(&b), 12, "{a:#?} {b:#?}");
    assert_eq!(unchanged(&a) + unchanged(&b), 12, "{a:#?} {b:#?}");
}

#[test]
fn a_writer_of_the_same_bytes_between_head_and_put_leaves_one_version_reported_unchanged() {
    let moto = moto();
    let bucket = unique("race");
    moto.bucket(&bucket, true);
    let put = format!("PUT /{bucket}/s1.zip");
    let proxy = FaultProxy::start_matching(moto.port, &put, vec![Fault::ReplayFirst], Fault::Pass);
    let env = emitted(1, &proxy.endpoint());
    let run = env.run(&["publish", "out", "--bucket", &bucket]);
    run.code(0);
    let versions = moto.versions(&bucket, "s1.zip");
    assert_eq!(versions.len(), 1, "{versions:?} {run:#?}");
    let bytes = std::fs::read(env.path("out/s1.zip")).unwrap();
    assert_eq!(moto.object(&bucket, "s1.zip").0, bytes);
    assert!(
        run.stdout().starts_with(&format!(
            "unchanged s3://{bucket}/s1.zip version {} sha256 ",
            versions[0]
        )),
        "{run:#?}"
    );
    assert_eq!(
        proxy.count_s3("PUT"),
        1,
        "one put, refused by If-None-Match"
    );
    assert_eq!(proxy.count_s3("HEAD"), 2, "a second HEAD after the refusal");
}

#[test]
fn a_writer_of_other_bytes_between_head_and_put_is_replaced_once_by_if_match() {
    let moto = moto();
    let bucket = unique("race");
    moto.bucket(&bucket, true);
    let put = format!("PUT /{bucket}/s1.zip");
    let other = Arc::new(b"another writer's bytes".to_vec());
    let proxy = FaultProxy::start_matching(
        moto.port,
        &put,
        vec![Fault::PutFirst(Arc::clone(&other))],
        Fault::Pass,
    );
    let env = emitted(1, &proxy.endpoint());
    let run = env.run(&["publish", "out", "--bucket", &bucket]);
    run.code(0);
    let versions = moto.versions(&bucket, "s1.zip");
    assert_eq!(
        versions.len(),
        2,
        "the other writer's and ours: {versions:?}"
    );
    let bytes = std::fs::read(env.path("out/s1.zip")).unwrap();
    assert_eq!(moto.object(&bucket, "s1.zip").0, bytes, "ours is current");
    assert!(
        run.stdout().starts_with(&format!(
            "uploaded s3://{bucket}/s1.zip version {} sha256 ",
            versions[0]
        )),
        "{run:#?}"
    );
    assert_eq!(
        proxy.count_s3("PUT"),
        2,
        "If-None-Match refused, then If-Match"
    );
    assert_eq!(proxy.count_s3("HEAD"), 2);
}

#[test]
fn a_key_that_another_writer_keeps_changing_fails_after_bounded_retries() {
    let moto = moto();
    let bucket = unique("race");
    moto.bucket(&bucket, true);
    let put = format!("PUT /{bucket}/s1.zip");
    let plan = (0..10)
        .map(|n| Fault::PutFirst(Arc::new(format!("writer {n}").into_bytes())))
        .collect();
    let proxy = FaultProxy::start_matching(moto.port, &put, plan, Fault::Pass);
    let env = emitted(2, &proxy.endpoint());
    let run = env.run(&["publish", "out", "--bucket", &bucket]);
    run.code(1)
        .stdout_is(&moto.uploaded(&bucket, "s2.zip", &bundle(&env, 2)));
    assert_eq!(
        proxy.count_s3("PUT") - 1,
        3,
        "three tries at s1.zip, one put of s2.zip"
    );
    assert_eq!(
        run.stderr(),
        format!(
            "imagedef: error: 1 of 2 uploads failed after the SDK's retries; the other 1 are published, and running the same publish again uploads only what is missing:\n  service s1: s3://{bucket}/s1.zip: another writer changed the object between each of 3 HeadObject and PutObject pairs (S3 refused each conditional put: 412 PreconditionFailed); not published: run the publish again once the other writer is done\n"
        )
    );
    assert_eq!(moto.versions(&bucket, "s2.zip").len(), 1);
}

/// `out/SHA256SUMS` with the line of `name` holding the sha256 of `bytes`, as if emit had written
/// these bytes.
fn relist(env: &Env, name: &str, bytes: &[u8]) {
    use sha2::{Digest as _, Sha256};
    use std::fmt::Write as _;
    let hex = Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        });
    let sums = env.read("out/SHA256SUMS");
    let lines: Vec<String> = sums
        .lines()
        .map(|line| {
            if line.ends_with(&format!("  {name}")) {
                format!("{hex}  {name}")
            } else {
                line.to_owned()
            }
        })
        .collect();
    env.write("out/SHA256SUMS", lines.join("\n") + "\n");
}

#[test]
fn publish_refuses_a_zip_whose_central_directory_names_another_entry_even_when_relisted() {
    let moto = moto();
    let bucket = unique("refuse");
    moto.bucket(&bucket, true);
    let env = emitted(2, &moto.endpoint());
    let mut bytes = std::fs::read(env.path("out/s1.zip")).unwrap();
    let name = b"imagedefinitions.json";
    let central = bytes
        .windows(name.len())
        .rposition(|w| w == name)
        .expect("the central directory names the entry");
    bytes[central + 15] = b'Z'; // imagedefinitionZ.json in the central directory only
    env.write("out/s1.zip", &bytes);
    relist(&env, "s1.zip", &bytes);
    let run = env.run(&["publish", "out", "--bucket", &bucket]);
    run.code(1);
    assert!(
        run.stderr().starts_with(
            "imagedef: error: 1 problem(s) in the bundles of out, as imagedef verify --bundle finds them, so nothing was published:\n  out/s1.zip: "
        ) && run.stderr().ends_with(
            "\nfix: run imagedef emit --bundle again, and do not change OUT between emit and publish\n"
        ),
        "{run:#?}"
    );
    assert_eq!(run.stderr().lines().count(), 3, "{run:#?}");
    assert!(run.stdout().is_empty(), "{run:#?}");
    for n in 1..=2 {
        assert!(moto.versions(&bucket, &format!("s{n}.zip")).is_empty());
    }
}

#[test]
fn publish_refuses_a_symlink_listed_in_sha256sums() {
    let moto = moto();
    let bucket = unique("refuse");
    moto.bucket(&bucket, true);
    let env = emitted(2, &moto.endpoint());
    // The same bytes, from outside OUT: SHA256SUMS still matches.
    std::fs::rename(env.path("out/s1.zip"), env.path("elsewhere.zip")).unwrap();
    std::os::unix::fs::symlink(env.path("elsewhere.zip"), env.path("out/s1.zip")).unwrap();
    let run = env.run(&["publish", "out", "--bucket", &bucket]);
    run.code(2);
    assert_eq!(
        run.stderr(),
        "imagedef: error: out holds entries that are not regular files, so nothing was published:\n  out/s1.zip is a symbolic link\nfix: publish sends only the regular files emit wrote into OUT; remove these and run imagedef emit --bundle --out out again\n"
    );
    for n in 1..=2 {
        assert!(moto.versions(&bucket, &format!("s{n}.zip")).is_empty());
    }

    // A symlinked service folder, whose file SHA256SUMS lists, is refused the same way.
    std::fs::remove_file(env.path("out/s1.zip")).unwrap();
    std::fs::rename(env.path("elsewhere.zip"), env.path("out/s1.zip")).unwrap();
    std::fs::rename(env.path("out/s2"), env.path("s2-elsewhere")).unwrap();
    std::os::unix::fs::symlink(env.path("s2-elsewhere"), env.path("out/s2")).unwrap();
    let run = env.run(&["publish", "out", "--bucket", &bucket]);
    run.code(2);
    assert_eq!(
        run.stderr(),
        "imagedef: error: out holds entries that are not regular files, so nothing was published:\n  out/s2 is a symbolic link\nfix: publish sends only the regular files emit wrote into OUT; remove these and run imagedef emit --bundle --out out again\n"
    );
}

#[test]
fn a_409_conflict_and_a_404_after_if_match_count_as_a_lost_race_and_are_looked_at_again() {
    let moto = moto();
    let bucket = unique("race");
    moto.bucket(&bucket, true);
    let put = format!("PUT /{bucket}/s1.zip");
    let other = Arc::new(b"another writer's bytes".to_vec());
    // A 409 ConditionalRequestConflict on the first put, in a run of its own (three lost races
    // in one run fail the key).
    let proxy = FaultProxy::start_matching(
        moto.port,
        &put,
        vec![Fault::Answer(409, "ConditionalRequestConflict")],
        Fault::Pass,
    );
    let env = emitted(1, &proxy.endpoint());
    env.run(&["publish", "out", "--bucket", &bucket])
        .code(0)
        .stdout_has(&format!("uploaded s3://{bucket}/s1.zip version "));
    assert_eq!((proxy.count_s3("HEAD"), proxy.count_s3("PUT")), (2, 2));
    assert_eq!(moto.versions(&bucket, "s1.zip").len(), 1);

    // Another writer first (412), then the object deleted after the HEAD that saw it (404 on the
    // If-Match put): the third try puts it.
    let bucket = unique("race");
    moto.bucket(&bucket, true);
    let put = format!("PUT /{bucket}/s1.zip");
    let proxy = FaultProxy::start_matching(
        moto.port,
        &put,
        vec![Fault::PutFirst(other), Fault::Answer(404, "NoSuchKey")],
        Fault::Pass,
    );
    let mut env = env;
    crate::util::aws::aws_env(&mut env, &proxy.endpoint());
    let run = env.run(&["publish", "out", "--bucket", &bucket]);
    run.code(0)
        .stdout_has(&format!("uploaded s3://{bucket}/s1.zip version "));
    assert_eq!(
        (proxy.count_s3("HEAD"), proxy.count_s3("PUT")),
        (3, 3),
        "{run:#?}"
    );
    let bytes = std::fs::read(env.path("out/s1.zip")).unwrap();
    assert_eq!(moto.object(&bucket, "s1.zip").0, bytes);
}
