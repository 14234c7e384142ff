//! `--findings` / mapping `findings` with `--ecr`, against moto on loopback: scan results set
//! through moto's own API, images pushed with their exact bytes (a buildah-built two-platform
//! index included), and what a user sees: exit code, stdout, stderr, files written or not.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::tools::aws::{self, Fault, FaultProxy, detail, moto, unique};
use crate::tools::findings::{finding, two_platform_index};
use crate::util::Env;
use crate::util::aws::aws_env;
use crate::util::short_digests;

const REGION: &str = "us-west-2";

/// A pushed image of a new repository whose scan answers `status` with `counts` and `findings`:
/// (repository, digest).
fn scanned(status: &str, counts: &Value, findings: &[Value]) -> (String, String) {
    let moto = moto();
    let repo = unique("shop/web");
    let digest = moto.push(REGION, &repo, &["v1"]);
    moto.scan_result(REGION, &repo, &digest, status, counts, findings);
    (repo, digest)
}

/// A build whose artifacts `NAME` hold the imageDetail.json of each (repository, digest).
fn build(endpoint: &str, images: &[(&str, &(String, String))]) -> Env {
    let mut env = Env::new();
    aws_env(&mut env, endpoint);
    for (name, (repo, digest)) in images {
        env.write(
            &format!("{name}/imageDetail.json"),
            detail(REGION, repo, digest, &["v1"]),
        );
    }
    env
}

/// The results of the findings check under `key` (`checked`, `findings`) of verify's `--json`.
fn of_findings<'a>(doc: &'a Value, key: &str) -> Vec<&'a Value> {
    doc[key]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "findings")
        .collect()
}

/// `emit img --container web --ecr --findings THRESHOLDS --out out`, and `extra`.
fn emit_img(env: &Env, thresholds: &str, extra: &[&str]) -> crate::util::Run {
    let mut args = vec![
        "emit",
        "img",
        "--container",
        "web",
        "--ecr",
        "--findings",
        thresholds,
        "--out",
        "out",
    ];
    args.extend_from_slice(extra);
    env.run(&args)
}

#[test]
fn emit_within_the_thresholds_writes_and_reports_the_counts_judged() {
    let web = scanned(
        "COMPLETE",
        &json!({"HIGH": 2, "MEDIUM": 7}),
        &[finding("CVE-2024-1111", "HIGH", "openssl")],
    );
    let env = build(&moto().endpoint(), &[("img", &web)]);
    let run = emit_img(&env, "CRITICAL=0,HIGH=2", &["--json"]);
    run.code(0);
    assert!(env.path("out/imagedefinitions.json").exists(), "{run:#?}");
    let row = &run.json()["containers"][0];
    assert_eq!(
        row["findings"],
        json!({
            "thresholds": {"CRITICAL": 0, "HIGH": 2},
            "from": "--findings",
            "verdict": "passed",
            "images": [{"digest": web.1, "status": "COMPLETE", "counts": {"HIGH": 2, "MEDIUM": 7}}],
        }),
        "{run:#?}"
    );
}

#[test]
fn emit_over_a_threshold_writes_nothing_and_names_every_container_its_counts_and_worst_findings() {
    let web = scanned(
        "COMPLETE",
        &json!({"CRITICAL": 1, "HIGH": 3, "LOW": 4}),
        &[
            finding("CVE-2024-2222", "HIGH", "zlib"),
            finding("CVE-2024-0001", "CRITICAL", "openssl"),
        ],
    );
    let api = scanned(
        "ACTIVE",
        &json!({"HIGH": 9}),
        &[finding("CVE-2023-3333", "HIGH", "curl")],
    );
    let env = build(&moto().endpoint(), &[("web", &web), ("api", &api)]);
    env.write(
        "m.json",
        r#"{"services": {"web": {"containers": {"web": {"artifact": "web"}}}, "api": {"containers": {"api": {"artifact": "api"}}}}}"#,
    );
    let run = env.run(&[
        "emit",
        "web",
        "api",
        "--mapping",
        "m.json",
        "--ecr",
        "--findings",
        "CRITICAL=0,HIGH=2",
        "--out",
        "out",
    ]);
    run.code(1)
        .stderr_has(&format!(
            "service \"web\", container \"web\": 123456789012.dkr.ecr.{REGION}.amazonaws.com/{}@{} (CRITICAL=0,HIGH=2 from --findings): {}: over the findings thresholds: CRITICAL 1 > 0 tolerated, HIGH 3 > 2 tolerated (scan COMPLETE: CRITICAL 1, HIGH 3, LOW 4)",
            web.0, web.1, web.1
        ))
        // The worst first: name, severity, package, link.
        .stderr_has("worst: CVE-2024-0001 (CRITICAL, openssl 1.2.3, https://nvd.nist.gov/vuln/detail/CVE-2024-0001), CVE-2024-2222 (HIGH, zlib 1.2.3,")
        .stderr_has(&format!(
            "service \"api\", container \"api\": 123456789012.dkr.ecr.{REGION}.amazonaws.com/{}@{} (CRITICAL=0,HIGH=2 from --findings): {}: over the findings thresholds: HIGH 9 > 2 tolerated (scan ACTIVE: HIGH 9)",
            api.0, api.1, api.1
        ))
        .stderr_has("nothing was written");
    assert!(!env.path("out").exists(), "{run:#?}");
}

#[test]
fn a_service_s_findings_win_over_the_top_level_s_and_the_option_over_both() {
    let web = scanned("COMPLETE", &json!({"CRITICAL": 1, "HIGH": 3}), &[]);
    let api = scanned("COMPLETE", &json!({"CRITICAL": 1}), &[]);
    let env = build(&moto().endpoint(), &[("web", &web), ("api", &api)]);
    env.write(
        "m.json",
        r#"{"findings": {"CRITICAL": 0}, "services": {"web": {"containers": {"web": {"artifact": "web"}}, "findings": {"HIGH": 5}}, "api": {"containers": {"api": {"artifact": "api"}}}}}"#,
    );
    let emit = |extra: &[&str]| {
        let mut args = vec![
            "emit",
            "web",
            "api",
            "--mapping",
            "m.json",
            "--ecr",
            "--out",
            "out",
        ];
        args.extend_from_slice(extra);
        env.run(&args)
    };
    // web: HIGH 3 within its own HIGH=5 (CRITICAL is not limited there); api: the top level's.
    let run = emit(&[]);
    run.code(1)
        .stderr_has(&format!(
            "service \"api\", container \"api\": 123456789012.dkr.ecr.{REGION}.amazonaws.com/{}@{} (CRITICAL=0 from mapping m.json, key \"findings\")",
            api.0, api.1
        ))
        .stderr_has("CRITICAL 1 > 0 tolerated");
    assert!(
        !run.stderr().contains("container \"web\": findings"),
        "{run:#?}"
    );
    // --findings wins over both.
    let host = aws::host(REGION);
    emit(&["--findings", "CRITICAL=1,HIGH=3"])
        .code(0)
        .stdout_is(&short_digests(&format!(
            "web: task definition not checked, templates off, ECR ok, platform not checked, findings ok\n  \
             web = {host}/{}@{}  (from web:imageDetail.json)\n\
             api: task definition not checked, templates off, ECR ok, platform not checked, findings ok\n  \
             api = {host}/{}@{}  (from api:imageDetail.json)\n\
             wrote 4 files for 2 services to out\n",
            web.0, web.1, api.0, api.1
        )));
    let report: Value = serde_json::from_str(&env.read("out/imagedef-report.json")).unwrap();
    let web_row = &report["services"][0]["containers"][0]["findings"];
    assert_eq!(web_row["from"], "--findings");
    assert_eq!(
        web_row["images"][0]["counts"],
        json!({"CRITICAL": 1, "HIGH": 3})
    );
    // Only the mapping's: the service's own key is named.
    env.write(
        "m.json",
        r#"{"services": {"web": {"containers": {"web": {"artifact": "web"}}, "findings": {"HIGH": 2}}}}"#,
    );
    env.run(&[
        "emit",
        "web",
        "--mapping",
        "m.json",
        "--ecr",
        "--out",
        "out",
    ])
    .code(1)
    .stderr_has("(HIGH=2 from mapping m.json, key \"services.web.findings\")");
}

#[test]
fn an_image_never_scanned_fails_closed_with_the_start_image_scan_fix() {
    let moto = moto();
    let repo = unique("shop/web");
    let digest = moto.push(REGION, &repo, &["v1"]);
    let env = build(
        &moto.endpoint(),
        &[("img", &(repo.clone(), digest.clone()))],
    );
    let run = emit_img(&env, "CRITICAL=0", &[]);
    run.code(1)
        .stderr_has("not scanned (ECR answers ScanNotFoundException)")
        .stderr_has(&format!(
            "aws ecr start-image-scan --repository-name {repo} --image-id imageDigest={digest} --region {REGION} --registry-id {}",
            aws::ACCOUNT
        ))
        .stderr_has("scanOnPush=true")
        .stderr_has("nothing was written");
    assert!(!env.path("out").exists());
}

#[test]
fn a_scan_still_in_progress_fails_when_scan_wait_runs_out() {
    let moto = moto();
    let running = scanned("IN_PROGRESS", &json!({}), &[]);
    let proxy = FaultProxy::start(moto.port, vec![], Fault::Pass);
    let env = build(&proxy.endpoint(), &[("img", &running)]);
    let start = Instant::now();
    let run = env.run(&[
        "verify",
        "img",
        "--ecr",
        "--findings",
        "HIGH=0",
        "--scan-wait",
        "3",
    ]);
    let took = start.elapsed();
    run.code(1)
        .stdout_has("FAILED")
        .stdout_has("the scan is still IN_PROGRESS (the scan is IN_PROGRESS) after waiting")
        .stdout_has("(--scan-wait 3,")
        .stdout_has("raise --scan-wait");
    assert!(took >= Duration::from_secs(3), "{took:?}");
    assert!(took < Duration::from_secs(30), "{took:?}");
    // Asked at once, then after 2 s, then at the end of the wait.
    let calls = proxy.count("DescribeImageScanFindings");
    assert!((2..=3).contains(&calls), "{calls} calls");
}

#[test]
fn every_state_that_cannot_be_judged_fails_closed_naming_it_and_the_fix() {
    let failed = scanned("FAILED", &json!({}), &[]);
    let archived = scanned("IMAGE_ARCHIVED", &json!({}), &[]);
    let unsupported = scanned("UNSUPPORTED_IMAGE", &json!({}), &[]);
    let expired = scanned("SCAN_ELIGIBILITY_EXPIRED", &json!({}), &[]);
    let env = build(
        &moto().endpoint(),
        &[
            ("failed", &failed),
            ("archived", &archived),
            ("unsupported", &unsupported),
            ("expired", &expired),
        ],
    );
    let run = env.run(&[
        "verify",
        "failed",
        "archived",
        "unsupported",
        "expired",
        "--ecr",
        "--findings",
        "CRITICAL=0",
        "--json",
    ]);
    run.code(1);
    let doc = run.json();
    let findings = of_findings(&doc, "findings");
    assert_eq!(findings.len(), 4, "{doc:#}");
    let message = |artifact: &str| -> String {
        findings
            .iter()
            .find(|f| f["subject"].as_str().unwrap().starts_with(artifact))
            .map_or_else(
                || panic!("no finding for {artifact}: {doc:#}"),
                |f| f["message"].as_str().unwrap().to_owned(),
            )
    };
    assert!(
        message("failed").contains("the scan is FAILED")
            && message("failed").contains("start it again: aws ecr start-image-scan")
    );
    assert!(
        message("archived").contains("the scan is IMAGE_ARCHIVED")
            && message("archived").contains("aws ecr update-image-storage-class --repository-name")
    );
    assert!(message("unsupported").contains("ECR cannot scan this image"));
    assert!(
        message("expired").contains("SCAN_ELIGIBILITY_EXPIRED")
            && message("expired").contains("re-scan duration")
    );
    for f in &findings {
        assert_eq!(f["severity"], "failed");
    }
}

#[test]
fn verify_reports_a_findings_case_per_image_in_json_and_junit() {
    let clean = scanned("COMPLETE", &json!({"LOW": 1}), &[]);
    let dirty = scanned(
        "COMPLETE",
        &json!({"CRITICAL": 2}),
        &[finding("CVE-2024-0002", "CRITICAL", "glibc")],
    );
    let env = build(&moto().endpoint(), &[("clean", &clean), ("dirty", &dirty)]);
    let run = env.run(&[
        "verify",
        "clean",
        "dirty",
        "--ecr",
        "--findings",
        "CRITICAL=0",
        "--json",
        "--junit",
        "report.xml",
    ]);
    run.code(1);
    let doc = run.json();
    let checked = of_findings(&doc, "checked");
    assert_eq!(checked.len(), 1, "{doc:#}");
    assert!(
        checked[0]["subject"]
            .as_str()
            .unwrap()
            .starts_with("clean:")
    );
    assert!(
        checked[0]["detail"]
            .as_str()
            .unwrap()
            .contains("scan COMPLETE: LOW 1, within")
    );
    let failed = of_findings(&doc, "findings");
    assert_eq!(failed.len(), 1, "{doc:#}");
    assert!(failed[0]["subject"].as_str().unwrap().starts_with("dirty:"));
    assert!(
        failed[0]["message"]
            .as_str()
            .unwrap()
            .contains("CVE-2024-0002 (CRITICAL, glibc 1.2.3")
    );
    let xml = env.read("report.xml");
    let suite = xml
        .split("<testsuite ")
        .find(|s| s.starts_with("name=\"findings\""))
        .unwrap_or_else(|| panic!("no findings suite: {xml}"));
    assert_eq!(suite.matches("<testcase ").count(), 2, "{suite}");
    assert_eq!(suite.matches("<failure").count(), 1, "{suite}");
    // The ecr check keeps its own cases.
    assert!(xml.contains("<testsuite name=\"ecr\""), "{xml}");
}

/// The two-platform index pushed into a new repository with its manifests, each with its exact
/// bytes: linux/amd64's scan has HIGH 1, linux/arm64's CRITICAL 1 (the index itself and its
/// attestation entry are never scanned: ECR does not scan an index, and an attestation is no
/// platform). Returns (repository, index digest, [(platform, digest)]).
fn pushed_index() -> (String, String, Vec<(String, String)>) {
    let moto = moto();
    let index = two_platform_index();
    let repo = unique("shop/multi");
    let mut children = Vec::new();
    for (platform, bytes, media_type) in &index.manifests {
        // Tagged: moto hands a result set for one untagged image to any untagged image.
        let tag = platform.replace('/', "-");
        let digest = moto.put_manifest(REGION, &repo, bytes, media_type, Some(&tag));
        children.push((platform.clone(), digest));
    }
    let index_digest =
        moto.put_manifest(REGION, &repo, &index.bytes, &index.media_type, Some("v1"));
    let platforms: Vec<&str> = children.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64", "unknown/unknown"]);
    moto.scan_result(
        REGION,
        &repo,
        &children[0].1,
        "COMPLETE",
        &json!({"HIGH": 1}),
        &[],
    );
    moto.scan_result(
        REGION,
        &repo,
        &children[1].1,
        "COMPLETE",
        &json!({"CRITICAL": 1}),
        &[finding("CVE-2024-0003", "CRITICAL", "busybox")],
    );
    (repo, index_digest, children)
}

#[test]
fn an_image_index_is_judged_by_its_platform_manifests() {
    let moto = moto();
    let (repo, index_digest, children) = pushed_index();
    let proxy = FaultProxy::start(moto.port, vec![], Fault::Pass);
    let env = build(
        &proxy.endpoint(),
        &[("img", &(repo.clone(), index_digest.clone()))],
    );
    let run = emit_img(&env, "CRITICAL=0", &[]);
    run.code(1)
        .stderr_has(&format!(
            "platform linux/amd64 ({}): scan COMPLETE: HIGH 1, within",
            children[0].1
        ))
        .stderr_has(&format!(
            "platform linux/arm64 ({}): over the findings thresholds: CRITICAL 1 > 0 tolerated",
            children[1].1
        ))
        .stderr_has("CVE-2024-0003 (CRITICAL, busybox 1.2.3");
    assert!(!env.path("out").exists());
    // One call per platform manifest, none for the index or its attestation entry.
    assert_eq!(proxy.count("DescribeImageScanFindings"), 2);
    assert_eq!(
        proxy.count("BatchGetImage"),
        1,
        "{:?}",
        proxy.targets.lock().unwrap()
    );
    // Within the thresholds: written, with each platform's counts in the report.
    let run = emit_img(&env, "CRITICAL=1", &["--json"]);
    run.code(0);
    let images = &run.json()["containers"][0]["findings"]["images"];
    assert_eq!(
        *images,
        json!([
            {"digest": children[0].1, "platform": "linux/amd64", "status": "COMPLETE", "counts": {"HIGH": 1}},
            {"digest": children[1].1, "platform": "linux/arm64", "status": "COMPLETE", "counts": {"CRITICAL": 1}},
        ])
    );
}

#[test]
fn thresholds_given_without_ecr_are_not_checked_never_passed() {
    let web = scanned("COMPLETE", &json!({"CRITICAL": 5}), &[]);
    let env = build(&moto().endpoint(), &[("img", &web)]);
    let run = env.run(&[
        "emit",
        "img",
        "--container",
        "web",
        "--findings",
        "CRITICAL=0",
        "--json",
        "--out",
        "out",
    ]);
    run.code(0)
        .stderr_has("no scan finding was checked (not passed); add --ecr");
    assert_eq!(run.json()["containers"][0].get("findings"), None);
    let run = env.run(&["verify", "img", "--findings", "CRITICAL=0", "--json"]);
    run.code(0)
        .stderr_has("no scan finding was checked (not passed)");
    let doc = run.json();
    let all = doc["checked"]
        .as_array()
        .unwrap()
        .iter()
        .chain(doc["findings"].as_array().unwrap());
    assert!(all.into_iter().all(|c| c["check"] != "findings"), "{doc:#}");
}

#[test]
fn enhanced_scanning_counts_untriaged_where_named_and_names_the_vulnerable_package() {
    let enhanced = json!({
        "severity": "UNTRIAGED",
        "title": "CVE-2025-0004 - libxml2",
        "status": "ACTIVE",
        "packageVulnerabilityDetails": {
            "vulnerabilityId": "CVE-2025-0004",
            "sourceUrl": "https://security-tracker.debian.org/tracker/CVE-2025-0004",
            "vulnerablePackages": [{"name": "libxml2", "version": "2.9.14"}],
        },
    });
    let moto = moto();
    let repo = unique("shop/web");
    let digest = moto.push(REGION, &repo, &["v1"]);
    moto.start_scan(REGION, &repo, &digest);
    let result = json!({
        "registryId": aws::ACCOUNT,
        "repositoryName": repo,
        "imageId": {"imageDigest": digest},
        "imageScanStatus": {"status": "ACTIVE", "description": "Continuous scan is selected for image."},
        "imageScanFindings": {"enhancedFindings": [enhanced], "findingSeverityCounts": {"HIGH": 4, "UNTRIAGED": 2}},
    });
    moto.static_result(REGION, &result);
    let env = build(
        &moto.endpoint(),
        &[("img", &(repo.clone(), digest.clone()))],
    );
    // HIGH is not named, so not limited; UNTRIAGED is.
    emit_img(&env, "UNTRIAGED=2", &[])
        .code(0)
        .stdout_is(&short_digests(&format!(
            "web = {}/{repo}@{digest}  (from img:imageDetail.json)\n  \
             checks: task definition not checked, templates off, ECR ok, platform not checked, findings ok\n\
             wrote 2 files to out\n",
            aws::host(REGION)
        )));
    emit_img(&env, "UNTRIAGED=1", &[])
        .code(1)
        .stderr_has("UNTRIAGED 2 > 1 tolerated (scan ACTIVE: HIGH 4, UNTRIAGED 2)")
        .stderr_has("worst: CVE-2025-0004 (UNTRIAGED, libxml2 2.9.14, https://security-tracker.debian.org/tracker/CVE-2025-0004)");
}

#[test]
fn a_denied_findings_call_is_exit_2_naming_both_iam_actions() {
    let moto = moto();
    let web = scanned("COMPLETE", &json!({}), &[]);
    // BatchGetImage passes; every later call is denied.
    let proxy = FaultProxy::start(
        moto.port,
        vec![Fault::Pass],
        Fault::Answer(400, "AccessDeniedException"),
    );
    let env = build(&proxy.endpoint(), &[("img", &web)]);
    let run = emit_img(&env, "CRITICAL=0", &[]);
    run.code(2)
        .stderr_has("ECR DescribeImageScanFindings on image")
        .stderr_has("failed with AccessDeniedException (HTTP 400)")
        .stderr_has(&format!(
            "the build role needs ecr:DescribeImageScanFindings on arn:aws:ecr:{REGION}:{}:repository/{}",
            aws::ACCOUNT,
            web.0
        ))
        .stderr_has("it also needs inspector2:ListFindings")
        .stderr_has("nothing was written");
    assert!(!env.path("out").exists());
    assert_eq!(proxy.count("DescribeImageScanFindings"), 1);
}

#[test]
fn a_manifest_whose_bytes_are_not_its_digest_is_not_trusted() {
    let moto = moto();
    let repo = unique("shop/web");
    let index = two_platform_index();
    // The index's bytes under another digest: ECR never answers so, a wrong endpoint might.
    let wrong = format!("sha256:{}", "cd".repeat(32));
    moto.put_image(
        REGION,
        &repo,
        (&index.bytes, &index.media_type),
        Some("v1"),
        &wrong,
    );
    let env = build(&moto.endpoint(), &[("img", &(repo, wrong.clone()))]);
    emit_img(&env, "CRITICAL=0", &[])
        .code(2)
        .stderr_has(&format!(
            "the manifest ECR returned for {wrong} has sha256 {}, not {wrong}; it is not trusted",
            crate::tools::findings::sha256(&index.bytes)
        ))
        .stderr_has("nothing was written");
}

#[test]
fn an_index_is_judged_only_by_the_platform_manifest_the_task_needs() {
    let moto = moto();
    let (repo, index_digest, children) = pushed_index();
    let proxy = FaultProxy::start(moto.port, vec![], Fault::Pass);
    let env = build(&proxy.endpoint(), &[("img", &(repo, index_digest))]);
    // Every platform manifest when none is needed: amd64's HIGH 1 is over.
    emit_img(&env, "HIGH=0", &[])
        .code(1)
        .stderr_has("platform linux/amd64")
        .stderr_has("HIGH 1 > 0 tolerated");
    let before = proxy.count("DescribeImageScanFindings");
    // An arm64 task: only the arm64 manifest is judged, so amd64's findings do not count.
    let run = emit_img(&env, "HIGH=0", &["--platform", "linux/arm64", "--json"]);
    run.code(0);
    assert_eq!(proxy.count("DescribeImageScanFindings") - before, 1);
    assert_eq!(
        run.json()["containers"][0]["findings"]["images"],
        json!([{"digest": children[1].1, "platform": "linux/arm64", "status": "COMPLETE", "counts": {"CRITICAL": 1}}])
    );
    // verify takes the platform the same way.
    let verify = |platform: &str| {
        env.run(&[
            "verify",
            "img",
            "--ecr",
            "--findings",
            "CRITICAL=0",
            "--platform",
            platform,
        ])
    };
    verify("linux/amd64")
        .code(0)
        .stdout_has("platform linux/amd64")
        .stdout_has("scan COMPLETE: HIGH 1, within");
    verify("linux/arm64")
        .code(1)
        .stdout_has("CRITICAL 1 > 0 tolerated");
}

#[test]
fn the_gate_judges_the_larger_of_the_counts_and_the_listed_findings() {
    let critical = [finding("CVE-2024-0001", "CRITICAL", "openssl")];
    for (what, counts) in [
        ("counts missing", json!({})),
        ("counts say 0", json!({"CRITICAL": 0})),
    ] {
        let web = scanned("COMPLETE", &counts, &critical);
        let env = build(&moto().endpoint(), &[("img", &web)]);
        let run = emit_img(&env, "CRITICAL=0", &[]);
        run.code(1).stderr_is(&format!(
            "imagedef: error: img:imageDetail.json: 123456789012.dkr.ecr.{REGION}.amazonaws.com/{}@{} (CRITICAL=0 from --findings): {}: over the findings thresholds: CRITICAL 1 > 0 tolerated (scan COMPLETE: CRITICAL 1); worst: CVE-2024-0001 (CRITICAL, openssl 1.2.3, https://nvd.nist.gov/vuln/detail/CVE-2024-0001); fix: rebuild the image on patched packages or a patched base image, or raise the threshold (--findings); nothing was written\n",
            web.0, web.1, web.1
        ));
        assert!(!env.path("out").exists(), "{what}");
    }
}

#[test]
fn a_scan_that_cannot_be_judged_fails_closed_saying_what_was_wrong() {
    // A severity ECR does not spell so: no threshold names it.
    let web = scanned("COMPLETE", &json!({"critical": 1}), &[]);
    let env = build(&moto().endpoint(), &[("img", &web)]);
    emit_img(&env, "CRITICAL=0", &[]).code(1).stderr_is(&format!(
        "imagedef: error: img:imageDetail.json: 123456789012.dkr.ecr.{REGION}.amazonaws.com/{}@{} (CRITICAL=0 from --findings): {}: the scan COMPLETE cannot be judged: findingSeverityCounts names severity \"critical\", which is none of CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, UNDEFINED, UNTRIAGED; the image is not passed; scan it again: aws ecr start-image-scan --repository-name {} --image-id imageDigest={} --region {REGION} --registry-id 123456789012; nothing was written\n",
        web.0, web.1, web.1, web.0, web.1
    ));
    // A count no reader of the answer can hold.
    let web = scanned("COMPLETE", &json!({"CRITICAL": 1_099_511_627_776_u64}), &[]);
    let env = build(&moto().endpoint(), &[("img", &web)]);
    let run = emit_img(&env, "CRITICAL=0", &[]);
    run.code(1)
        .stderr_has(&format!(
            "{}: ECR's answer could not be read (",
            web.1
        ))
        .stderr_has("), so its findings cannot be judged and the image is not passed; run again, and if it persists scan the image again: aws ecr start-image-scan");
    assert!(!env.path("out").exists());
}

#[test]
fn an_index_of_two_thousand_platforms_makes_no_scan_call_and_says_why() {
    let moto = moto();
    let manifests: Vec<Value> = (0..2000)
        .map(|i| {
            json!({
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": format!("sha256:{i:064x}"),
                "size": 100,
                "platform": {"os": "linux", "architecture": format!("arch{i}")},
            })
        })
        .collect();
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    })
    .to_string();
    let repo = unique("shop/wide");
    let digest = moto.put_manifest(
        REGION,
        &repo,
        index.as_bytes(),
        "application/vnd.oci.image.index.v1+json",
        Some("v1"),
    );
    let proxy = FaultProxy::start(moto.port, Vec::new(), Fault::Pass);
    let env = build(
        &proxy.endpoint(),
        &[("img", &(repo.clone(), digest.clone()))],
    );
    emit_img(&env, "CRITICAL=0", &[]).code(1).stderr_is(&format!(
        "imagedef: error: img:imageDetail.json: 123456789012.dkr.ecr.{REGION}.amazonaws.com/{repo}@{digest} is an image index of 2000 platform manifests, and judging each takes a DescribeImageScanFindings call, of which imagedef makes at most 20 for one image; name the platform the task needs (--platform, the mapping's platform, or the task definition's runtimePlatform) so that only its manifests are judged; nothing was written\n"
    ));
    assert_eq!(proxy.count("DescribeImageScanFindings"), 0);
    // The platform check alone still reads the index as it is.
    env.run(&[
        "emit",
        "img",
        "--container",
        "web",
        "--ecr",
        "--platform",
        "linux/arch7",
        "--out",
        "out",
    ])
    .code(0)
    .stdout_has("wrote 2 files to out\n");
}
