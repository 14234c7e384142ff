//! `emit --bundle`: the zip for an S3 source action, read back by the readers that matter.

use crate::tools::readers::{self, sha256_hex};
use crate::util::{DIGEST_WEB, Env, HOST, emit_web_bundle, web_artifact, zip_facts};

#[test]
fn every_reader_sees_imagedefinitions_json_at_the_root() {
    let env = web_artifact();
    emit_web_bundle(&env, "out");
    let zip = env.path("out/imagedefinitions.zip");
    let json = std::fs::read(env.path("out/imagedefinitions.json")).unwrap();
    let want_sha = sha256_hex(&json);
    let written: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(
        written,
        serde_json::json!([{"name": "app", "imageUri": format!("{HOST}/shop/web@{DIGEST_WEB}")}])
    );

    let java = readers::java(&zip);
    assert_eq!(java.len(), 1, "{java:?}");
    let entry = &java[0];
    assert_eq!(entry.name, "imagedefinitions.json");
    assert_eq!(entry.method, "DEFLATED");
    assert_eq!(
        entry.header_size,
        i64::try_from(json.len()).unwrap(),
        "size in the local header"
    );
    assert_eq!(
        entry.header_crc,
        i64::from(crc32fast::hash(&json)),
        "CRC in the local header"
    );
    assert_eq!(entry.read, json.len() as u64);
    assert_eq!(entry.sha256, want_sha);

    let python = readers::python(&zip);
    assert_eq!(python["testzip"], serde_json::Value::Null);
    let entries = python["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["name"], "imagedefinitions.json");
    assert_eq!(entries[0]["method"], 8);
    assert_eq!(entries[0]["flag_bits"].as_u64().unwrap() & 8, 0);
    assert_eq!(entries[0]["sha256"], want_sha.as_str());
    assert_eq!(
        entries[0]["date_time"],
        serde_json::json!([1980, 1, 1, 0, 0, 0])
    );
    assert_eq!(entries[0]["mode"], 0o100_644);

    let unzip = readers::unzip_test(&zip);
    assert!(unzip.contains("testing: imagedefinitions.json"), "{unzip}");
    assert!(unzip.contains("No errors detected"), "{unzip}");
}

#[test]
fn sha256sums_list_the_zip_and_the_json_and_check_out() {
    let env = web_artifact();
    let run = emit_web_bundle(&env, "out");
    let sums = env.read("out/SHA256SUMS");
    let names: Vec<&str> = sums.lines().map(|l| &l[66..]).collect();
    assert_eq!(names, ["imagedefinitions.json", "imagedefinitions.zip"]);
    let out = std::process::Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(env.path("out"))
        .output()
        .expect("sha256sum (coreutils)");
    assert!(out.status.success(), "{out:?}");

    // The summary gives the zip's digest in hex and in the base64 form S3 checks.
    let summary = run.json();
    let files = summary["files"].as_array().unwrap();
    let zip = files
        .iter()
        .find(|f| f["path"] == "imagedefinitions.zip")
        .unwrap();
    let python = readers::python(&env.path("out/imagedefinitions.zip"));
    assert_eq!(zip["sha256_base64"], python["sha256_base64"]);
    let bytes = std::fs::read(env.path("out/imagedefinitions.zip")).unwrap();
    assert_eq!(zip["sha256"], format!("sha256:{}", sha256_hex(&bytes)));
    assert!(
        files
            .iter()
            .filter(|f| f["path"] != "imagedefinitions.zip")
            .all(|f| f.get("sha256_base64").is_none()),
        "{files:?}"
    );
}

/// What the mapping mode bundles per service (imagedefinitions.json and a blue/green
/// imageDetail.json), read by the same readers.
#[test]
fn a_two_file_service_bundle_reads_the_same_everywhere() {
    use imagedef::testing::OutFile;
    let env = Env::new();
    let uri = format!("{HOST}/shop/web@{DIGEST_WEB}");
    let defs = format!("[{{\"name\":\"app\",\"imageUri\":\"{uri}\"}}]\n").into_bytes();
    let detail = format!("{{\"ImageURI\":\"{uri}\"}}\n").into_bytes();
    let zip = OutFile::new(
        "web.zip",
        imagedef::testing::zip(&[
            OutFile::new("imagedefinitions.json", defs.clone()),
            OutFile::new("imageDetail.json", detail.clone()),
        ])
        .unwrap(),
    );
    let path = env.write(&zip.path, &zip.bytes);
    let want = [
        ("imageDetail.json", sha256_hex(&detail), detail.len()),
        ("imagedefinitions.json", sha256_hex(&defs), defs.len()),
    ];

    let java = readers::java(&path);
    assert_eq!(java.len(), 2, "{java:?}");
    for (entry, (name, sha, len)) in java.iter().zip(&want) {
        assert_eq!(entry.name, *name);
        assert_eq!(entry.method, "DEFLATED");
        assert_eq!(entry.header_size, i64::try_from(*len).unwrap());
        assert_eq!(&entry.sha256, sha);
    }
    let python = readers::python(&path);
    let entries = python["entries"].as_array().unwrap();
    for (entry, (name, sha, _)) in entries.iter().zip(&want) {
        assert_eq!(entry["name"], *name);
        assert_eq!(entry["sha256"], sha.as_str());
        assert_eq!(entry["flag_bits"].as_u64().unwrap() & 8, 0);
    }
    let unzip = readers::unzip_test(&path);
    assert!(unzip.contains("testing: imageDetail.json"), "{unzip}");
    assert!(unzip.contains("testing: imagedefinitions.json"), "{unzip}");
    for h in crate::util::zips::local_headers(&zip.bytes) {
        assert_eq!(h.flags & 0x0008, 0, "{h:?}");
    }
}

/// `emit --mapping --bundle`: one zip per service, holding exactly that service's files, read back
/// by Java, listed in `SHA256SUMS` and the report, and accepted by `verify --bundle`.
#[test]
fn mapping_mode_writes_one_bundle_per_service() {
    let env = Env::new();
    env.copy_dir(&crate::util::examples().join("pipeline"), "pipeline");
    let roots = [
        "pipeline/source",
        "pipeline/WebImage",
        "pipeline/ApiImage",
        "pipeline/ProxyImage",
        "pipeline/BatchImages",
    ];
    let mut args = vec![
        "emit",
        "--mapping",
        "pipeline/source/imagedef.json",
        "--out",
        "out",
        "--bundle",
        "-q",
    ];
    args.extend(roots);
    env.run(&args)
        .code(0)
        .stderr_is(&crate::util::template_refused("pipeline"));
    let report: serde_json::Value =
        serde_json::from_str(&env.read("out/imagedef-report.json")).unwrap();
    let sums = env.read("out/SHA256SUMS");
    for (service, files) in [
        ("web", &["imagedefinitions.json"][..]),
        (
            "api",
            &[
                "appspec.yaml",
                "imageDetail.json",
                "imagedefinitions.json",
                "taskdef.json",
            ][..],
        ),
        ("batch", &["imagedefinitions.json"][..]),
    ] {
        let zip = env.path(&format!("out/{service}.zip"));
        let bytes = std::fs::read(&zip).unwrap();
        let entries = readers::java(&zip);
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, files, "{service}");
        for entry in &entries {
            let loose = std::fs::read(env.path(&format!("out/{service}/{}", entry.name))).unwrap();
            assert_eq!(entry.sha256, sha256_hex(&loose), "{service}/{}", entry.name);
        }
        assert!(
            sums.contains(&format!("{}  {service}.zip\n", sha256_hex(&bytes))),
            "{sums}"
        );
        let listed = report["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == service)
            .unwrap();
        assert_eq!(listed["bundle"]["path"], format!("{service}.zip"));
        assert_eq!(
            listed["bundle"]["sha256"],
            format!("sha256:{}", sha256_hex(&bytes))
        );
        assert_eq!(
            listed["bundle"]["sha256_base64"].as_str().unwrap().len(),
            44
        );
    }
    env.run(&[
        "verify",
        "--bundle",
        "out/web.zip",
        "--bundle",
        "out/api.zip",
        "--bundle",
        "out/batch.zip",
        "pipeline/WebImage",
    ])
    .code(0)
    .stdout_is(&format!(
        "ok      WebImage:imageDetail.json (pipeline/WebImage/imageDetail.json): {HOST}/shop/web@{DIGEST_WEB}\n\
         ok      out/web.zip: zip of imagedefinitions.json at its root reads cleanly {}; content held against SHA256SUMS (out/SHA256SUMS), discovered images (1 of 3 images)\n\
         ok      out/api.zip:taskdef.json: task definition template: container \"api\" takes the image as <IMAGE1_NAME>, no other placeholder is left\n\
         ok      out/api.zip:appspec.yaml: AppSpec version 0.0 deploys <TASK_DEFINITION> with traffic to container \"api\" port 8080, which the template maps\n\
         ok      out/api.zip: zip of appspec.yaml, imageDetail.json, imagedefinitions.json, taskdef.json at its root reads cleanly {}; content held against SHA256SUMS (out/SHA256SUMS)\n\
         ok      out/batch.zip: zip of imagedefinitions.json at its root reads cleanly {}; content held against SHA256SUMS (out/SHA256SUMS)\n\
         ok      out/web.zip:imagedefinitions.json [web]: deploys {DIGEST_WEB}, the digest this build discovered for {HOST}/shop/web\n\
         7 passed, 0 failed\n",
        zip_facts(&env, "out/web.zip"),
        zip_facts(&env, "out/api.zip"),
        zip_facts(&env, "out/batch.zip"),
    ));
}
