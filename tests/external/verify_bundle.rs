//! `verify --bundle` as other readers see it: what it flags, Java refuses; its JUnit report reads
//! in a JUnit consumer. (The rest of verify's bundle tests are in
//! `tests/integration/verify_bundle.rs`.)

use std::io::Write as _;

use crate::util::{
    DIGEST_API, DIGEST_WEB, Env, HOST, ecr_detail, emit_web_bundle, web_artifact, zip_facts,
};

#[test]
fn a_stored_entry_with_a_data_descriptor_is_flagged() {
    let env = web_artifact();
    emit_web_bundle(&env, "out");
    // What a streaming writer produces: sizes after the data, flag bit 3 set.
    let mut w = zip::ZipWriter::new_stream(Vec::new());
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    w.start_file("imagedefinitions.json", stored).unwrap();
    w.write_all(
        format!(r#"[{{"name":"app","imageUri":"{HOST}/shop/web@{DIGEST_WEB}"}}]"#).as_bytes(),
    )
    .unwrap();
    let bytes = w.finish().unwrap().into_inner();
    let path = env.write("stream/imagedefinitions.zip", bytes);
    env.run(&["verify", "web", "--bundle", "stream/imagedefinitions.zip"])
        .code(1)
        .stdout_has("keeps its sizes and CRC-32 in a data descriptor (flag bit 3), and is STORED");
    // And java.util.zip indeed refuses it, as CodePipeline would.
    let source =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/readers/ZipRead.java");
    let java = std::process::Command::new("java")
        .arg(source)
        .arg(&path)
        .output()
        .expect("java (a JDK 17+, see .ci/deps-verify)");
    assert!(!java.status.success(), "{java:?}");
    assert!(
        String::from_utf8_lossy(&java.stderr).contains("EXT descriptor"),
        "{java:?}"
    );
}

/// `verify --junit`, read back by junitparser (a JUnit consumer): a suite per check, a case per
/// file and check, failures and errors with their messages, counts that add up.
#[test]
fn the_junit_report_reads_back_in_a_junit_consumer() {
    let env = web_artifact();
    emit_web_bundle(&env, "out");
    env.write(
        "bad/imageDetail.json",
        ecr_detail("shop/api", DIGEST_API, &["1"]).replace(
            "\"RepositoryName\":\"shop/api\"",
            "\"RepositoryName\":\"shop/other\"",
        ),
    );
    let run = env.run(&[
        "verify",
        "web",
        "bad",
        "--bundle",
        "out/imagedefinitions.zip",
        "--bundle",
        "missing.zip",
        "--junit",
        "reports/imagedef.xml",
    ]);
    run.code(2).stdout_is(&passed_failed_and_error(&env));
    let report = crate::tools::readers::junit(&env.path("reports/imagedef.xml"));
    let suites = report["suites"].as_array().unwrap();
    let names: Vec<&str> = suites.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["imageDetail", "bundle", "bundle deploys discovered"],
        "{report}"
    );
    let cases: Vec<(&str, &str, &str)> = suites
        .iter()
        .flat_map(|s| s["cases"].as_array().unwrap())
        .map(|c| {
            (
                c["classname"].as_str().unwrap(),
                c["name"].as_str().unwrap(),
                c["result"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        cases.contains(&(
            "imagedef.imageDetail",
            "bad:imageDetail.json (bad/imageDetail.json)",
            "failure"
        )),
        "{cases:?}"
    );
    assert!(
        cases.contains(&(
            "imagedef.imageDetail",
            "web:imageDetail.json (web/imageDetail.json)",
            "passed"
        )),
        "{cases:?}"
    );
    assert!(
        cases.contains(&("imagedef.bundle", "out/imagedefinitions.zip", "passed")),
        "{cases:?}"
    );
    assert!(
        cases.contains(&("imagedef.bundle", "missing.zip", "error")),
        "{cases:?}"
    );
    let failed = suites[0]["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["result"] == "failure")
        .unwrap();
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .contains("RepositoryName is \"shop/other\""),
        "{failed}"
    );
    assert_eq!(report["tests"].as_u64().unwrap() as usize, cases.len());
    assert_eq!(
        (report["failures"].as_u64(), report["errors"].as_u64()),
        (Some(1), Some(1))
    );
}

/// The whole stdout of the run of [`the_junit_report_reads_back_in_a_junit_consumer`]: three
/// checks passed, one failed, one in error.
fn passed_failed_and_error(env: &Env) -> String {
    format!(
        "ok      web:imageDetail.json (web/imageDetail.json): {HOST}/shop/web@{DIGEST_WEB}\n\
         ok      out/imagedefinitions.zip: zip of imagedefinitions.json at its root reads cleanly {}; content held against SHA256SUMS (out/SHA256SUMS), discovered images\n\
         ok      out/imagedefinitions.zip:imagedefinitions.json [app]: deploys {DIGEST_WEB}, the digest this build discovered for {HOST}/shop/web\n\
         FAILED  bad:imageDetail.json (bad/imageDetail.json): ImageURI names repository \"shop/api\" but RepositoryName is \"shop/other\"; make them name the same repository\n\
         ERROR   missing.zip: cannot read bundle missing.zip: No such file or directory (os error 2); check the path\n\
         3 passed, 2 failed\n",
        zip_facts(env, "out/imagedefinitions.zip")
    )
}

/// `emit --junit`, as a JUnit consumer reads it: a suite per service, a case per check, what was
/// off or not checked skipped with why, named relative to the build.
#[test]
fn emit_junit_reads_back_as_a_suite_per_service_and_a_case_per_check() {
    let env = crate::util::web_and_api();
    env.write(
        "m.json",
        r#"{"services": {"web": {"containers": {"app": {"artifact": "Web"}}}, "api": {"containers": {"app": {"artifact": "Api"}}}}}"#,
    );
    env.run(&[
        "emit",
        "--mapping",
        "m.json",
        "Web=web",
        "Api=api",
        "--junit",
        "emit.xml",
        "-q",
    ])
    .code(0)
    .stdout_is("")
    .stderr_is("");
    let report = crate::tools::readers::junit(&env.path("emit.xml"));
    let not_checked = |why: &str| format!("not checked: {why}");
    let td = "no task definition holds its container names (the deploy would be the first to find a wrong one); name one with \"taskDefinition\" (a file, or ecs://CLUSTER/SERVICE)";
    let platform =
        "no task definition or \"platform\" says which platform the task needs; give one of them";
    let cases = |service: &str| {
        serde_json::json!([
            {"classname": format!("imagedef-out/{service}"), "name": "task definition", "result": "skipped", "message": not_checked(td)},
            {"classname": format!("imagedef-out/{service}"), "name": "templates", "result": "skipped", "message": "off: not asked for"},
            {"classname": format!("imagedef-out/{service}"), "name": "ECR", "result": "skipped", "message": "off: not asked for"},
            {"classname": format!("imagedef-out/{service}"), "name": "platform", "result": "skipped", "message": not_checked(platform)},
            {"classname": format!("imagedef-out/{service}"), "name": "findings", "result": "skipped", "message": "off: not asked for"},
        ])
    };
    assert_eq!(
        report,
        serde_json::json!({"tests": 10, "failures": 0, "errors": 0, "suites": [
            {"name": "web", "tests": 5, "failures": 0, "errors": 0, "skipped": 5, "cases": cases("web")},
            {"name": "api", "tests": 5, "failures": 0, "errors": 0, "skipped": 5, "cases": cases("api")},
        ]})
    );
}
