//! The platform check offline: images built by buildah for linux/amd64 and linux/arm64, and a
//! two-platform index with an attestation entry, read from their OCI layouts by `verify --oci`;
//! what a task needs from `--platform`, `--task-definition` and the mapping's `platform`.

use crate::tools::images::{Images, blob, images};
use crate::util::short_digests;
use crate::util::{Env, HOST, ecr_detail};

/// A test directory with the three layouts and an artifact `art` naming `digest`.
fn env_naming(digest: impl FnOnce(&Images) -> String) -> Env {
    let i = images();
    let env = Env::new();
    env.copy_dir(&i.amd64, "amd64");
    env.copy_dir(&i.arm64, "arm64");
    env.copy_dir(&i.index, "index");
    env.write(
        "art/imageDetail.json",
        ecr_detail("shop/web", &digest(i), &["v1"]),
    );
    env
}

#[test]
fn an_index_offers_each_platform_it_lists_but_not_its_attestation() {
    let env = env_naming(|i| i.index_digest.clone());
    for platform in ["linux/arm64", "linux/amd64", "linux/arm64/v8"] {
        let run = env.run(&["verify", "art", "--oci", "index", "--platform", platform]);
        run.code(0).stdout_has(&format!(
            "offers {platform} in its index of linux/amd64, linux/arm64, which --platform needs"
        ));
    }
    let run = env.run(&[
        "verify",
        "art",
        "--oci",
        "index",
        "--platform",
        "linux/arm/v7",
    ]);
    run.code(1).stdout_has(&format!(
        "FAILED  art:imageDetail.json (art/imageDetail.json): image {HOST}/shop/web@{} offers index of linux/amd64, linux/arm64, but --platform needs linux/arm/v7: the task would not start",
        images().index_digest
    ));
    // The index has an attestation entry (unknown/unknown), which is no platform it offers.
    let i = images();
    let index = String::from_utf8(blob(&i.index, &i.index_digest)).unwrap();
    assert!(
        index.contains(&i.attestation_digest) && index.contains("attestation-manifest"),
        "{index}"
    );
    assert!(!run.stdout().contains("unknown"), "{}", run.stdout());
}

#[test]
fn a_single_manifest_offers_the_platform_of_its_config() {
    let env = env_naming(|i| i.amd64_digest.clone());
    env.run(&[
        "verify",
        "art",
        "--oci",
        "amd64",
        "--platform",
        "linux/amd64",
    ])
    .code(0)
    .stdout_has("offers linux/amd64, which --platform needs");
    let run = env.run(&[
        "verify",
        "art",
        "--oci",
        "amd64",
        "--platform",
        "linux/arm64",
        "--json",
    ]);
    run.code(1);
    let findings = &run.json()["findings"];
    assert_eq!(findings[0]["check"], "platform", "{findings}");
    assert_eq!(
        findings[0]["message"],
        format!(
            "image {HOST}/shop/web@{} offers linux/amd64, but --platform needs linux/arm64: the task would not start (exec format error, or no manifest for linux/arm64); fix: build the image for linux/arm64 (e.g. docker buildx build --platform linux/arm64), or set the task definition's runtimePlatform to what the image is",
            images().amd64_digest
        )
    );
}

#[test]
fn a_task_definition_says_what_its_images_need() {
    let env = env_naming(|i| i.amd64_digest.clone());
    env.write(
        "arm.json",
        r#"{"family":"web","requiresCompatibilities":["FARGATE"],"runtimePlatform":{"cpuArchitecture":"ARM64","operatingSystemFamily":"LINUX"},"containerDefinitions":[{"name":"web"}]}"#,
    );
    env.write(
        "fargate.json",
        r#"{"family":"web","requiresCompatibilities":["FARGATE"],"containerDefinitions":[{"name":"web"}]}"#,
    );
    env.write(
        "ec2.json",
        r#"{"family":"web","requiresCompatibilities":["EC2"],"containerDefinitions":[{"name":"web"}]}"#,
    );
    env.run(&[
        "verify",
        "art",
        "--oci",
        "amd64",
        "--task-definition",
        "arm.json",
    ])
    .code(1)
    .stdout_has("but task definition arm.json (runtimePlatform) needs linux/arm64");
    env.run(&["verify", "art", "--oci", "amd64", "--task-definition", "fargate.json"])
        .code(0)
        .stdout_has("offers linux/amd64, which task definition fargate.json (FARGATE without runtimePlatform.cpuArchitecture: amd64) needs");
    // An EC2 task without runtimePlatform: the instances decide; not checked, said at -v.
    let run = env.run(&[
        "verify",
        "art",
        "--oci",
        "amd64",
        "--task-definition",
        "ec2.json",
        "-v",
    ]);
    run.code(0).stderr_has(
        "--task-definition ec2.json: the platform is not checked: the task definition names no runtimePlatform.cpuArchitecture and does not require FARGATE",
    );
    assert!(!run.stdout().contains("which"), "{}", run.stdout());
    // --platform wins over the task definition.
    env.run(&[
        "verify",
        "art",
        "--oci",
        "amd64",
        "--task-definition",
        "arm.json",
        "--platform",
        "linux/amd64",
    ])
    .code(0)
    .stdout_has("): offers linux/amd64, which --platform needs\n4 passed, 0 failed\n");
}

#[test]
fn a_platform_nothing_can_prove_is_not_checked_never_passed() {
    let env = env_naming(|i| i.amd64_digest.clone());
    let run = env.run(&["verify", "art", "--platform", "linux/arm64", "--json"]);
    run.code(0)
        .stderr_has("platform linux/arm64 (--platform) not checked for");
    assert!(!run.stdout().contains("\"platform\""), "{}", run.stdout());
    let report = run.json();
    assert_eq!(report["checked"], serde_json::json!([]), "{report}");
    assert_eq!(report["findings"], serde_json::json!([]), "{report}");
    let passed: Vec<&str> = report["passed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["check"].as_str().unwrap())
        .collect();
    assert_eq!(passed, ["imageDetail"], "{report}");
    // A layout that holds other images proves nothing about this one.
    env.write(
        "other/imageDetail.json",
        ecr_detail("shop/web", &images().arm64_digest, &["v2"]),
    );
    let run = env.run(&[
        "verify",
        "other",
        "--oci",
        "amd64",
        "--platform",
        "linux/arm64",
    ]);
    run.code(1)
        .stderr_has("platform linux/arm64 (--platform) not checked")
        .stdout_has(", which --oci amd64 do not prove (they prove ");
    assert!(
        !run.stdout().contains("which --platform needs"),
        "{}",
        run.stdout()
    );
}

#[test]
fn bad_platforms_are_refused_naming_flag_key_and_value() {
    let env = env_naming(|i| i.amd64_digest.clone());
    env.run(&["verify", "art", "--platform", "linux/ARM64"])
        .code(2)
        .stderr_has("--platform \"linux/ARM64\" is not a platform; write os/architecture[/variant] in lower case as OCI names them, e.g. linux/amd64 or linux/arm64");
    env.write(
        "bad.json",
        r#"{"runtimePlatform":{"cpuArchitecture":"AARCH64"},"containerDefinitions":[{"name":"web"}]}"#,
    );
    env.run(&["verify", "art", "--task-definition", "bad.json"])
        .code(2)
        .stdout_has("task definition bad.json: key \"runtimePlatform.cpuArchitecture\" is \"AARCH64\"; ECS knows X86_64 and ARM64");
    env.write(
        "imagedef.json",
        r#"{"services": {"web": {"platform": "arm64", "containers": {"web": {"repository": "shop/web"}}}}}"#,
    );
    env.run(&["emit", "--mapping", "imagedef.json", "--out", "out", "art"])
        .code(2)
        .stderr_has("key \"services.web.platform\" = \"arm64\" is not a platform");
    assert!(!env.path("out").exists());
}

#[test]
fn emit_without_ecr_records_the_need_and_says_it_was_not_checked() {
    let env = env_naming(|i| i.arm64_digest.clone());
    env.write(
        "imagedef.json",
        r#"{"platform": "linux/amd64", "services": {"web": {"platform": "linux/arm64", "containers": {"web": {"repository": "shop/web"}}}}}"#,
    );
    let run = env.run(&[
        "emit",
        "--mapping",
        "imagedef.json",
        "--out",
        "out",
        "art",
        "--json",
    ]);
    run.code(0).stderr_has(
        "service \"web\", container \"web\": platform linux/arm64 (mapping imagedef.json, key \"services.web.platform\") not checked for 111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web@",
    ).stderr_has(
        ": its platforms are read with --ecr, which was not given",
    );
    let summary = run.json();
    assert_eq!(
        summary["containers"][0]["image_uri"],
        format!("{HOST}/shop/web@{}", images().arm64_digest)
    );
    let files: Vec<&str> = summary["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "web/imagedefinitions.json",
            "imagedef-report.json",
            "SHA256SUMS"
        ]
    );
    let report: serde_json::Value =
        serde_json::from_str(&env.read("out/imagedef-report.json")).unwrap();
    assert_eq!(
        report["services"][0]["containers"][0]["platform"],
        serde_json::json!({"needs": "linux/arm64", "from": "mapping imagedef.json, key \"services.web.platform\"", "offers": null})
    );
    // --platform wins over the mapping.
    env.run(&[
        "emit",
        "--mapping",
        "imagedef.json",
        "--out",
        "out",
        "art",
        "--platform",
        "linux/amd64",
    ])
    .code(0)
    .stderr_has("platform linux/amd64 (--platform) not checked")
    .stdout_is(&short_digests(&format!(
        "web: task definition not checked, templates off, ECR off, platform not checked, findings off\n  \
         web = {HOST}/shop/web@{}  (from art:imageDetail.json)\n\
         wrote 3 files for 1 service to out\n",
        images().arm64_digest
    )));
}
