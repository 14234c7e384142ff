//! What a registry, a scan or an AWS error writes never starts a line of imagedef's output: every
//! value from outside that reaches a message is escaped, emit's final error included. Each path a
//! message takes a value from is fed a line break and an ESC; the value shows escaped, and no line
//! starts with the forged text.

use serde_json::json;

use crate::tools::aws::{ACCOUNT, Fault, FaultProxy, detail, moto, unique};
use crate::tools::findings::sha256;
use crate::tools::registry::registry;
use crate::util::Env;
use crate::util::aws::aws_env;

const REGION: &str = "eu-west-1";
/// What every forged value carries: a line that reads like imagedef's own, and a terminal control.
const FORGED: &str = "\nimagedef: wrote 3 files\u{1b}[2J";
/// [`FORGED`] as a message shows it.
const ESCAPED: &str = "\\nimagedef: wrote 3 files\\u{1b}[2J";

/// No forged line and no raw control character reached the output; the forged text shows escaped.
#[track_caller]
fn holds_no_forged_line(run: &crate::util::Run) {
    for text in [run.stdout(), run.stderr()] {
        assert!(
            !text.contains('\u{1b}'),
            "a raw ESC reached the output: {text}"
        );
        assert!(
            !text.lines().any(|l| l.starts_with("imagedef: wrote")),
            "a forged line: {text}"
        );
    }
    assert!(
        run.stderr().contains(ESCAPED) || run.stdout().contains(ESCAPED),
        "the forged value is shown escaped: {run:#?}"
    );
}

/// An artifact `img` naming image `digest` of `repo`, and the mapping of one service `web` whose
/// one container takes it.
fn build(env: &Env, repo: &str, digest: &str) {
    env.write(
        "img/imageDetail.json",
        detail(REGION, repo, digest, &["v1"]),
    );
}

#[test]
fn a_platform_an_index_or_a_config_names_is_escaped_in_emits_error() {
    let moto = moto();
    let mut env = Env::new();
    aws_env(&mut env, &moto.endpoint());
    // An index whose entry names an architecture with a line break.
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{}", "ab".repeat(32)),
            "size": 100,
            "platform": {"os": "linux", "architecture": format!("amd64{FORGED}")},
        }],
    })
    .to_string();
    let repo = unique("shop/forged");
    let digest = moto.put_manifest(
        REGION,
        &repo,
        index.as_bytes(),
        "application/vnd.oci.image.index.v1+json",
        Some("v1"),
    );
    build(&env, &repo, &digest);
    let run = env.run(&[
        "emit",
        "img",
        "--container",
        "web",
        "--ecr",
        "--platform",
        "linux/amd64",
        "--out",
        "out",
    ]);
    run.code(2).stderr_is(&format!(
        "imagedef: error: img:imageDetail.json: {ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{repo}@{digest}: the manifest of {digest}: \"manifests[0].platform.architecture\" is amd64{ESCAPED}, not a platform word as OCI names them (amd64, arm64, v8); the document is not trusted; nothing was written\n"
    ));
    holds_no_forged_line(&run);

    // A single manifest whose config blob (served by a real registry) names such an architecture.
    let config = json!({"os": "linux", "architecture": format!("arm64{FORGED}"), "rootfs": {"type": "layers", "diff_ids": []}}).to_string();
    let config_digest = sha256(config.as_bytes());
    let repo = unique("shop/forged");
    let registry = registry();
    // The registry's upload: a session, then the bytes with their digest.
    let (status, headers, _) = crate::tools::aws::http_raw(
        registry.port,
        "POST",
        &format!("/v2/{repo}/blobs/uploads/"),
        &[],
        b"",
    );
    assert_eq!(status, 202, "the registry opened an upload");
    let location = headers
        .iter()
        .find(|(k, _)| k == "location")
        .map(|(_, v)| v.replace(&registry.url(), ""))
        .expect("an upload location");
    let separator = if location.contains('?') { '&' } else { '?' };
    let (status, text) = crate::tools::aws::http(
        registry.port,
        "PUT",
        &format!("{location}{separator}digest={config_digest}"),
        &[("Content-Type", "application/octet-stream")],
        config.as_bytes(),
    );
    assert_eq!(status, 201, "the registry took the config blob: {text}");
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [],
    })
    .to_string();
    let digest = moto.put_manifest(
        REGION,
        &repo,
        manifest.as_bytes(),
        "application/vnd.oci.image.manifest.v1+json",
        Some("v1"),
    );
    build(&env, &repo, &digest);
    env.set("IMAGEDEF_REGISTRY_URL", registry.url());
    let run = env.run(&[
        "emit",
        "img",
        "--container",
        "web",
        "--ecr",
        "--platform",
        "linux/amd64",
        "--out",
        "out",
    ]);
    run.code(2).stderr_is(&format!(
        "imagedef: error: img:imageDetail.json: {ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{repo}@{digest}: the config {config_digest} of {digest}: \"architecture\" is arm64{ESCAPED}, not a platform word as OCI names them (amd64, arm64, v8); the document is not trusted; nothing was written\n"
    ));
    holds_no_forged_line(&run);
}

#[test]
fn a_finding_and_a_scan_status_from_ecr_are_escaped_in_emits_error() {
    let moto = moto();
    let mut env = Env::new();
    aws_env(&mut env, &moto.endpoint());
    let repo = unique("shop/forged");
    let digest = moto.push(REGION, &repo, &["v1"]);
    moto.start_scan(REGION, &repo, &digest);
    moto.static_result(
        REGION,
        &json!({
            "registryId": ACCOUNT,
            "repositoryName": repo,
            "imageId": {"imageDigest": digest},
            "imageScanStatus": {"status": "COMPLETE", "description": "done"},
            "imageScanFindings": {
                "findings": [{
                    "name": format!("CVE-1{FORGED}"),
                    "uri": format!("https://example.com/x{FORGED}"),
                    "severity": "CRITICAL",
                    "attributes": [
                        {"key": "package_name", "value": format!("openssl{FORGED}")},
                        {"key": "package_version", "value": "1"},
                    ],
                }],
                "findingSeverityCounts": {"CRITICAL": 1},
            },
        }),
    );
    build(&env, &repo, &digest);
    let run = env.run(&[
        "emit",
        "img",
        "--container",
        "web",
        "--ecr",
        "--findings",
        "CRITICAL=0",
        "--out",
        "out",
    ]);
    run.code(1).stderr_has(&format!(
        "worst: CVE-1{ESCAPED} (CRITICAL, openssl{ESCAPED} 1, https://example.com/x{ESCAPED})"
    ));
    holds_no_forged_line(&run);

    // A scan that failed, with a description that forges a line.
    let repo = unique("shop/forged");
    let digest = moto.push(REGION, &repo, &["v1"]);
    moto.start_scan(REGION, &repo, &digest);
    moto.static_result(
        REGION,
        &json!({
            "registryId": ACCOUNT,
            "repositoryName": repo,
            "imageId": {"imageDigest": digest},
            "imageScanStatus": {"status": "FAILED", "description": format!("broken{FORGED}")},
        }),
    );
    build(&env, &repo, &digest);
    let run = env.run(&[
        "emit",
        "img",
        "--container",
        "web",
        "--ecr",
        "--findings",
        "CRITICAL=0",
        "--out",
        "out",
    ]);
    run.code(1).stderr_has(&format!(
        "the scan is FAILED (broken{ESCAPED}), so its findings cannot be judged"
    ));
    holds_no_forged_line(&run);
}

#[test]
fn an_aws_error_message_is_escaped_in_emits_error_and_in_verify() {
    let moto = moto();
    let proxy = FaultProxy::start(
        moto.port,
        vec![Fault::AnswerWith(
            400,
            "AccessDeniedException",
            "User is not authorized\nimagedef: wrote 3 files\u{1b}[2J",
        )],
        Fault::Pass,
    );
    let mut env = Env::new();
    aws_env(&mut env, &proxy.endpoint());
    let repo = unique("shop/forged");
    let digest = moto.push(REGION, &repo, &["v1"]);
    build(&env, &repo, &digest);
    let run = env.run(&["emit", "img", "--container", "web", "--ecr", "--out", "out"]);
    run.code(2).stderr_has(&format!(
        "failed with AccessDeniedException (HTTP 400): User is not authorized{ESCAPED};"
    ));
    holds_no_forged_line(&run);
    assert!(!env.path("out").exists());
    let proxy = FaultProxy::start(
        moto.port,
        vec![Fault::AnswerWith(
            400,
            "AccessDeniedException",
            "User is not authorized\nimagedef: wrote 3 files\u{1b}[2J",
        )],
        Fault::Pass,
    );
    aws_env(&mut env, &proxy.endpoint());
    let run = env.run(&["verify", "img", "--ecr"]);
    run.code(2).stdout_has(&format!(
        "failed with AccessDeniedException (HTTP 400): User is not authorized{ESCAPED};"
    ));
    holds_no_forged_line(&run);
}
