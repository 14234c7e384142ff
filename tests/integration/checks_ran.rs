//! Which checks ran for each service: the summary says it, the report file and `--json` carry it
//! with the reason for each one that did not, and `--strict` (`IMAGEDEF_STRICT`, the mapping's
//! `"strict": true`) makes each check that could not run a failure that writes nothing. (A run
//! where every check ran, under `--strict`, needs ECR: `tests/external/platform_live.rs`.)

use serde_json::{Value, json};

use crate::util::{DIGEST_API, DIGEST_WEB, Env, HOST, INPUTS_ONLY, ecr_detail, short_digests};

/// `web` held to a Fargate task definition; `api` with findings thresholds and nothing else.
fn two_services(strict: bool) -> Env {
    let env = Env::new();
    env.write(
        "web/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["1"]),
    );
    env.write(
        "api/imageDetail.json",
        ecr_detail("shop/api", DIGEST_API, &["7"]),
    );
    env.write(
        "web-task.json",
        r#"{"family":"web","requiresCompatibilities":["FARGATE"],"containerDefinitions":[{"name":"web","image":"x"}]}"#,
    );
    let mut mapping = json!({"services": {
        "web": {"containers": {"web": {"artifact": "Web"}}, "taskDefinition": "web-task.json"},
        "api": {"containers": {"api": {"artifact": "Api"}}, "findings": {"CRITICAL": 0}}
    }});
    if strict {
        mapping["strict"] = json!(true);
    }
    env.write("m.json", mapping.to_string());
    env
}

const EMIT: [&str; 7] = [
    "emit",
    "--mapping",
    "m.json",
    "--out",
    "out",
    "Web=web",
    "Api=api",
];

const TASK_DEFINITION_WHY: &str = "no task definition holds its container names (the deploy would be the first to find a wrong one); name one with \"taskDefinition\" (a file, or ecs://CLUSTER/SERVICE)";
const NO_PLATFORM_WHY: &str =
    "no task definition or \"platform\" says which platform the task needs; give one of them";
const FINDINGS_WHY: &str =
    "thresholds are given, but scans are read with --ecr, which was not given";
const WEB_PLATFORM_WHY: &str = "web: its platforms are read with --ecr, which was not given";

/// The findings warning a run without `--ecr` gives, once per threshold source it read.
const NO_SCAN_READ: &str = "imagedef: warning: findings thresholds were given, but without --ecr no image was looked up in ECR, so no scan finding was checked (not passed); add --ecr\n";

#[test]
fn each_service_says_which_checks_ran_in_the_summary_the_report_and_json() {
    let env = two_services(false);
    let run = env.run(&EMIT);
    run.code(0)
        .stdout_is(&short_digests(&format!(
            "web: task definition ok, templates off, ECR off, platform not checked, findings off\n  \
             web = {HOST}/shop/web@{DIGEST_WEB}  (from Web:imageDetail.json)\n\
             api: task definition not checked, templates off, ECR off, platform not checked, findings not checked\n  \
             api = {HOST}/shop/api@{DIGEST_API}  (from Api:imageDetail.json)\n\
             wrote 4 files for 2 services to out\n"
        )))
        .stderr_has(NO_SCAN_READ);
    let web = json!({
        "task_definition": "passed",
        "templates": "off",
        "ecr": "off",
        "platform": format!("not checked: {WEB_PLATFORM_WHY}"),
        "findings": "off",
    });
    let api = json!({
        "task_definition": format!("not checked: {TASK_DEFINITION_WHY}"),
        "templates": "off",
        "ecr": "off",
        "platform": format!("not checked: {NO_PLATFORM_WHY}"),
        "findings": format!("not checked: {FINDINGS_WHY}"),
    });
    let report: Value = serde_json::from_str(&env.read("out/imagedef-report.json")).unwrap();
    assert_eq!(report["services"][0]["checks"], web);
    assert_eq!(report["services"][1]["checks"], api);
    let json = env.run(&[&EMIT[..], &["--json"]].concat());
    json.code(0).stderr_has(NO_SCAN_READ);
    let with_service = |service: &str, mut checks: Value| {
        checks["service"] = json!(service);
        checks
    };
    assert_eq!(
        json.json()["checks"],
        json!([with_service("web", web), with_service("api", api)])
    );
}

/// Each check that could not run, one line each, with why, what asked for the failure, and that
/// nothing was written.
fn strict_failures(by: &str) -> String {
    let failure = |service: &str, check: &str, why: &str| {
        format!(
            "service \"{service}\": the {check} check could not run: {why}; {by} makes every check that cannot run a failure"
        )
    };
    format!(
        "imagedef: error: {}\n{}\n{}\n{}; nothing was written\n",
        failure("web", "platform", WEB_PLATFORM_WHY),
        failure("api", "task definition", TASK_DEFINITION_WHY),
        failure("api", "platform", NO_PLATFORM_WHY),
        failure("api", "findings", FINDINGS_WHY),
    )
}

#[test]
fn strict_makes_each_check_that_could_not_run_a_failure_and_writes_nothing() {
    let mut env = two_services(false);
    let run = env.run(&[&EMIT[..], &["--strict"]].concat());
    run.code(1);
    assert_eq!(
        run.stderr().replace(NO_SCAN_READ, ""),
        strict_failures("--strict")
    );
    assert!(!env.path("out").exists());
    env.set("IMAGEDEF_STRICT", "true");
    let run = env.run(&EMIT);
    run.code(1);
    assert_eq!(
        run.stderr().replace(NO_SCAN_READ, ""),
        strict_failures("--strict")
    );
    assert!(!env.path("out").exists());
    // A false value is off, as with any switch.
    env.set("IMAGEDEF_STRICT", "false");
    env.run(&EMIT)
        .code(0)
        .stdout_has("wrote 4 files")
        .stderr_has(NO_SCAN_READ);
}

#[test]
fn the_mapping_s_strict_key_makes_the_same_failures_and_names_itself() {
    let env = two_services(true);
    let run = env.run(&EMIT);
    run.code(1);
    assert_eq!(
        run.stderr().replace(NO_SCAN_READ, ""),
        strict_failures("mapping m.json, key \"strict\"")
    );
    assert!(!env.path("out").exists());
}

#[test]
fn a_single_image_says_its_checks_and_strict_fails_what_could_not_run() {
    let env = Env::new();
    env.write(
        "img/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["1"]),
    );
    let args = ["emit", "img", "--container", "web", "--out", "o"];
    env.run(&args).code(0).stdout_is(&short_digests(&format!(
        "web = {HOST}/shop/web@{DIGEST_WEB}  (from img:imageDetail.json)\n  \
         checks: {INPUTS_ONLY}\n\
         wrote 2 files to o\n"
    )));
    std::fs::remove_dir_all(env.path("o")).unwrap();
    env.run(&[&args[..], &["--strict"]].concat())
        .code(1)
        .stderr_is(
            "imagedef: error: container \"web\": the task definition check could not run: no task definition holds its container names (the deploy would be the first to find a wrong one); name one with --task-definition (a file, or ecs://CLUSTER/SERVICE); --strict makes every check that cannot run a failure\n\
             container \"web\": the platform check could not run: no task definition or --platform says which platform the task needs; give one of them; --strict makes every check that cannot run a failure; nothing was written\n",
        );
    assert!(!env.path("o").exists());
}

/// `emit --junit`: a suite per service (its artifact), a case per check, class names the
/// service's folder relative to the build however OUT was given, never an absolute path.
#[test]
fn junit_has_a_case_per_service_and_check_named_relative_to_the_build() {
    let mut env = two_services(false);
    env.set("CODEBUILD_SRC_DIR", env.path("").to_str().unwrap());
    let out = env.path("out");
    let args = [
        &EMIT[..4],
        &[
            out.to_str().unwrap(),
            "Web=web",
            "Api=api",
            "--junit",
            "reports/emit.xml",
        ],
    ]
    .concat();
    env.run(&args)
        .code(0)
        .stdout_has("wrote 4 files for 2 services to")
        .stderr_has(NO_SCAN_READ);
    let case = |service: &str, check: &str, inner: &str| {
        format!(
            "    <testcase classname=\"out/{service}\" name=\"{check}\">\n      {inner}\n    </testcase>\n"
        )
    };
    let skipped = |why: &str| format!("<skipped message=\"{}\"/>", why.replace('"', "&quot;"));
    let expected = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <testsuites name=\"imagedef emit\" tests=\"10\" failures=\"0\" errors=\"0\">\n  \
         <testsuite name=\"web\" tests=\"5\" failures=\"0\" errors=\"0\" skipped=\"4\">\n{}{}{}{}{}  </testsuite>\n  \
         <testsuite name=\"api\" tests=\"5\" failures=\"0\" errors=\"0\" skipped=\"5\">\n{}{}{}{}{}  </testsuite>\n\
         </testsuites>\n",
        case("web", "task definition", "<system-out>passed</system-out>"),
        case("web", "templates", &skipped("off: not asked for")),
        case("web", "ECR", &skipped("off: not asked for")),
        case(
            "web",
            "platform",
            &skipped(&format!("not checked: {WEB_PLATFORM_WHY}"))
        ),
        case("web", "findings", &skipped("off: not asked for")),
        case(
            "api",
            "task definition",
            &skipped(&format!("not checked: {TASK_DEFINITION_WHY}"))
        ),
        case("api", "templates", &skipped("off: not asked for")),
        case("api", "ECR", &skipped("off: not asked for")),
        case(
            "api",
            "platform",
            &skipped(&format!("not checked: {NO_PLATFORM_WHY}"))
        ),
        case(
            "api",
            "findings",
            &skipped(&format!("not checked: {FINDINGS_WHY}"))
        ),
    );
    assert_eq!(env.read("reports/emit.xml"), expected);
    assert!(
        !env.read("reports/emit.xml")
            .contains(env.path("").to_str().unwrap())
    );

    // Under --strict what could not run fails, and a task definition that lacks the container
    // fails on its service's case; nothing is written to OUT, the report is.
    env.write(
        "web-task.json",
        r#"{"family":"web","requiresCompatibilities":["FARGATE"],"containerDefinitions":[{"name":"other","image":"x"}]}"#,
    );
    let run = env.run(&[&args[..], &["--strict"]].concat());
    run.code(1).stderr_is("imagedef: error: mapping m.json, key \"services.web.taskDefinition\": container \"web\" not in task definition web-task.json (family web), which has containers \"other\"; the ECS deploy would fail with \"The AWS ECS container web does not exist\"; fix: use the container name from the task definition; nothing was written\n");
    let xml = env.read("reports/emit.xml");
    assert!(
        xml.contains(
            "<testsuites name=\"imagedef emit\" tests=\"10\" failures=\"5\" errors=\"0\">"
        ),
        "{xml}"
    );
    assert!(
        xml.contains("    <testcase classname=\"out/web\" name=\"task definition\">\n      <failure message=\"mapping m.json, key &quot;services.web.taskDefinition&quot;: "),
        "{xml}"
    );
    assert!(
        xml.contains(&format!("    <testcase classname=\"out/api\" name=\"findings\">\n      <failure message=\"could not run: {FINDINGS_WHY}; --strict makes every check that cannot run a failure\" type=\"failed\">")),
        "{xml}"
    );

    // A run that ends before its checks is one error case; --junit may not lie inside OUT.
    env.write("m.json", "{");
    env.run(&args).code(2).stderr_has("m.json");
    let xml = env.read("reports/emit.xml");
    assert!(
        xml.contains("<testsuite name=\"emit\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\">\n    <testcase classname=\"imagedef.emit\" name=\"run\">\n      <error message=\""),
        "{xml}"
    );
    env.run(&["emit", "--mapping", "m.json", "--out", "out", "--junit", "./out/x.xml"])
        .code(2)
        .stderr_is("imagedef: error: --junit ./out/x.xml lies inside --out out, which emit replaces as a whole (the report would be lost, or would stand in the way of the next run); write it beside OUT, e.g. --junit imagedef-junit.xml\n");
    // `..` is resolved as written: inside OUT by way of a detour is inside.
    env.run(&["emit", "--mapping", "m.json", "--out", "x/../out", "--junit", "out/j.xml"])
        .code(2)
        .stderr_is("imagedef: error: --junit out/j.xml lies inside --out x/../out, which emit replaces as a whole (the report would be lost, or would stand in the way of the next run); write it beside OUT, e.g. --junit imagedef-junit.xml\n");
    // A folder is refused before anything is written.
    env.run(&["emit", "--mapping", "m.json", "--out", "out", "--junit", "reports"])
        .code(2)
        .stderr_is("imagedef: error: --junit reports is a folder, not a file to write; name the file, e.g. --junit reports/imagedef-junit.xml\n");
}
