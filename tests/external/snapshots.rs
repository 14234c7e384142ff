//! Whole messages, as a user sees them: the refusals a user meets most when AWS says no, against
//! moto on loopback, compared with the files in `snapshots/` (the others are in
//! `tests/integration/snapshots.rs`).
//!
//! Each snapshot holds the command line, the exit code, the whole stderr and the whole stdout
//! (see [`crate::util::snapshot`]); the test's temporary folder reads `[TMP]` and the loopback
//! endpoint `[ENDPOINT]`.
//!
//! A missing or different snapshot fails the test. With `CI` set (`CI=true`, as CI runs) nothing is
//! written; elsewhere the new text is left beside the old as `<name>.snap.new` to compare. After a
//! deliberate message change, `INSTA_UPDATE=always cargo test --test external snapshots::`
//! rewrites them, and the diff of `snapshots/` is the change a reviewer reads.

use crate::tools::aws::{self, Fault, FaultProxy, detail, moto};
use crate::util::Env;
use crate::util::aws::{aws_env, aws_env_without_keys};
use crate::util::snapshot::{bundled, env, orphans, shown};

/// Compares `text` with `snapshots/<name>.snap` (see the module's documentation).
fn check(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

/// An artifact `img` naming shop/web in us-west-2 with a digest ECR never had, with AWS
/// variables pointing at `endpoint` (with keys when `keys`).
fn unpushed(endpoint: &str, keys: bool) -> Env {
    let mut env = env();
    if keys {
        aws_env(&mut env, endpoint);
    } else {
        aws_env_without_keys(&mut env, endpoint);
    }
    env.write(
        "img/imageDetail.json",
        detail(
            "us-west-2",
            "shop/web",
            &format!("sha256:{}", "ab".repeat(32)),
            &["v1"],
        ),
    );
    env
}

#[test]
fn no_credentials() {
    let moto = moto();
    let endpoint = moto.endpoint();
    let env = unpushed(&endpoint, false);
    let redact = [(endpoint.as_str(), "[ENDPOINT]")];
    check(
        "no_credentials_verify",
        &shown(&env, &["verify", "img", "--ecr"], &redact),
    );
    check(
        "no_credentials_emit",
        &shown(
            &env,
            &["emit", "img", "--container", "web", "--ecr"],
            &redact,
        ),
    );
}

#[test]
fn ecr_access_denied() {
    let proxy = FaultProxy::start(
        moto().port,
        vec![],
        Fault::Answer(400, "AccessDeniedException"),
    );
    let endpoint = proxy.endpoint();
    let env = unpushed(&endpoint, true);
    check(
        "ecr_access_denied",
        &shown(
            &env,
            &["verify", "img", "--ecr"],
            &[(endpoint.as_str(), "[ENDPOINT]")],
        ),
    );
}

#[test]
fn ecr_digest_missing() {
    let moto = moto();
    let repo = aws::unique("snapshots/web");
    let pushed = moto.push("us-west-2", &repo, &["v1"]);
    let mut env = env();
    aws_env(&mut env, &moto.endpoint());
    let gone = format!("sha256:{}", "ab".repeat(32));
    assert_ne!(pushed, gone);
    env.write(
        "img/imageDetail.json",
        detail("us-west-2", &repo, &gone, &["v1"]),
    );
    let endpoint = moto.endpoint();
    check(
        "ecr_digest_missing",
        &shown(
            &env,
            &["emit", "img", "--container", "web", "--ecr"],
            &[(endpoint.as_str(), "[ENDPOINT]"), (repo.as_str(), "[REPO]")],
        ),
    );
}

#[test]
fn publish_bucket_missing() {
    let moto = moto();
    let env = bundled(&moto.endpoint());
    let bucket = aws::unique("no-such-bucket");
    let endpoint = moto.endpoint();
    check(
        "publish_bucket_missing",
        &shown(
            &env,
            &["publish", "out", "--bucket", &bucket],
            &[
                (endpoint.as_str(), "[ENDPOINT]"),
                (bucket.as_str(), "[BUCKET]"),
            ],
        ),
    );
}

#[test]
fn every_snapshot_file_belongs_to_a_test() {
    let orphans = orphans(
        "tests/external/snapshots",
        &[
            include_str!("snapshots.rs"),
            include_str!("verify_report.rs"),
        ],
    );
    assert!(
        orphans.is_empty(),
        "no test in snapshots.rs or verify_report.rs names these (a renamed or removed case?): delete them: {orphans:?}"
    );
}
