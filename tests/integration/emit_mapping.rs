//! `emit --mapping`: several services at once, from the checked-in example pipeline and from small
//! hand-made layouts; what is written, what is refused, and that a refusal changes nothing.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::util::{
    DIGEST_API, DIGEST_WEB, Env, HOST, ecr_detail, examples, short_digests as short,
    template_refused,
};

const DIGEST_PROXY: &str =
    "sha256:31e35cdeb43f3836faf1c2a32267b75f40e8dc9432e33dc1f8524cae67e2a024";
const DIGEST_WORKER: &str =
    "sha256:6cc81fc5e5c8feb62955b50c651442499f8236c34cfea7effde86bad9994bdfc";
const DIGEST_SCHEDULER: &str =
    "sha256:bbae8b46c543d13e2c8236a7a3d8ae27ad896c85a1d935e4dbbfb5960713c0bc";

/// The example pipeline copied to `p/`, and the roots that name its artifacts.
fn example() -> Env {
    let env = Env::new();
    env.copy_dir(&examples().join("pipeline"), "p");
    env
}

pub const ROOTS: [&str; 5] = [
    "Source=p/source",
    "WebImage=p/WebImage",
    "ApiImage=p/ApiImage",
    "ProxyImage=p/ProxyImage",
    "BatchImages=p/BatchImages",
];

/// What an emit of the example pipeline prints for each service, in order: web, api, batch.
fn example_lines() -> [String; 3] {
    let checks = |templates: &str| {
        format!(
            "task definition ok, templates {templates}, ECR off, platform not checked, findings off"
        )
    };
    [
        format!(
            "web: {}\n  \
             web = {HOST}/shop/web@{}  (from WebImage:imageDetail.json)\n  \
             proxy = {HOST}/shop/proxy@{}  (from ProxyImage:imageDetail.json)\n  \
             xray = public.ecr.aws/xray/aws-xray-daemon:3.3.12  (fixed image)\n",
            checks("off"),
            short(DIGEST_WEB),
            short(DIGEST_PROXY)
        ),
        format!(
            "api: {}\n  api = {HOST}/shop/api@{}  (from ApiImage:imageDetail.json)\n",
            checks("ok"),
            short(DIGEST_API)
        ),
        format!(
            "batch: {}\n  \
             worker = {HOST}/shop/batch@{}  (from BatchImages:worker/imageDetail.json)\n  \
             scheduler = {HOST}/shop/batch@{}  (from BatchImages:scheduler/imageDetail.json)\n",
            checks("off"),
            short(DIGEST_WORKER),
            short(DIGEST_SCHEDULER)
        ),
    ]
}

/// The whole stdout of an emit of the example pipeline that wrote `files` files into `out`.
fn example_summary(files: u32, out: &str) -> String {
    format!(
        "{}wrote {files} files for 3 services to {out}\n",
        example_lines().concat()
    )
}

fn emit(env: &Env, extra: &[&str]) -> crate::util::Run {
    let mut args = vec!["emit", "--mapping", "p/source/imagedef.json"];
    args.extend(ROOTS);
    args.extend(extra);
    env.run(&args)
}

/// Every file under `rel`, as `/`-separated paths.
fn files_under(env: &Env, rel: &str) -> BTreeSet<String> {
    env.snapshot(rel)
        .into_iter()
        .filter(|(p, _)| env.path(rel).join(p).is_file())
        .map(|(p, _)| p.to_string_lossy().replace('\\', "/"))
        .collect()
}

fn json_file(env: &Env, rel: &str) -> Value {
    serde_json::from_str(&env.read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn three_services_write_exactly_the_expected_files() {
    let env = example();
    emit(&env, &["--out", "out"])
        .code(0)
        .stdout_is(&example_summary(8, "out"))
        .stderr_is(&template_refused("p"));
    assert_eq!(
        files_under(&env, "out"),
        BTreeSet::from(
            [
                "SHA256SUMS",
                "imagedef-report.json",
                "web/imagedefinitions.json",
                "api/imagedefinitions.json",
                "api/imageDetail.json",
                "api/taskdef.json",
                "api/appspec.yaml",
                "batch/imagedefinitions.json",
            ]
            .map(String::from)
        )
    );
    // The blue/green template and AppSpec, byte for byte as committed, at the action's default
    // paths.
    for (written, source) in [
        ("api/taskdef.json", "api-taskdef.json"),
        ("api/appspec.yaml", "appspec.yaml"),
    ] {
        assert_eq!(
            std::fs::read(env.path(&format!("out/{written}"))).unwrap(),
            std::fs::read(env.path(&format!("p/source/deploy/{source}"))).unwrap(),
            "{written}"
        );
    }
    assert_eq!(
        json_file(&env, "out/web/imagedefinitions.json"),
        json!([
            {"name": "web", "imageUri": format!("{HOST}/shop/web@{DIGEST_WEB}")},
            {"name": "proxy", "imageUri": format!("{HOST}/shop/proxy@{DIGEST_PROXY}")},
            {"name": "xray", "imageUri": "public.ecr.aws/xray/aws-xray-daemon:3.3.12"},
        ])
    );
    assert_eq!(
        json_file(&env, "out/api/imagedefinitions.json"),
        json!([{"name": "api", "imageUri": format!("{HOST}/shop/api@{DIGEST_API}")}])
    );
    assert_eq!(
        env.read("out/api/imageDetail.json"),
        format!("{{\n  \"ImageURI\": \"{HOST}/shop/api@{DIGEST_API}\"\n}}\n")
    );
    assert_eq!(
        json_file(&env, "out/batch/imagedefinitions.json"),
        json!([
            {"name": "worker", "imageUri": format!("{HOST}/shop/batch@{DIGEST_WORKER}")},
            {"name": "scheduler", "imageUri": format!("{HOST}/shop/batch@{DIGEST_SCHEDULER}")},
        ])
    );
}

#[test]
fn sha256sum_checks_every_written_file() {
    let env = example();
    emit(&env, &["--out", "out"])
        .code(0)
        .stdout_is(&example_summary(8, "out"))
        .stderr_is(&template_refused("p"));
    let check = Command::new("sha256sum")
        .args(["-c", "--strict", "SHA256SUMS"])
        .current_dir(env.path("out"))
        .output()
        .expect("running sha256sum");
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "sha256sum -c failed: {stdout}");
    let listed: BTreeSet<String> = stdout
        .lines()
        .map(|l| l.strip_suffix(": OK").expect("every line OK").to_owned())
        .collect();
    let mut written = files_under(&env, "out");
    written.remove("SHA256SUMS");
    assert_eq!(listed, written);
}

#[test]
fn the_report_names_every_source_file() {
    let env = example();
    emit(&env, &["--out", "out"])
        .code(0)
        .stdout_is(&example_summary(8, "out"))
        .stderr_is(&template_refused("p"));
    let report = json_file(&env, "out/imagedef-report.json");
    assert_eq!(report["mapping"], "p/source/imagedef.json");
    let mut sources = BTreeSet::new();
    let mut containers = Vec::new();
    for service in report["services"].as_array().unwrap() {
        for c in service["containers"].as_array().unwrap() {
            containers.push(format!(
                "{}/{}",
                service["name"].as_str().unwrap(),
                c["name"].as_str().unwrap()
            ));
            for s in c["sources"].as_array().unwrap() {
                sources.insert(format!(
                    "{}:{}",
                    s["artifact"].as_str().unwrap(),
                    s["path"].as_str().unwrap()
                ));
            }
        }
    }
    assert_eq!(
        containers,
        [
            "web/web",
            "web/proxy",
            "web/xray",
            "api/api",
            "batch/worker",
            "batch/scheduler"
        ]
    );
    assert_eq!(
        sources,
        BTreeSet::from(
            [
                "WebImage:imageDetail.json",
                "ProxyImage:imageDetail.json",
                "ApiImage:imageDetail.json",
                "BatchImages:worker/imageDetail.json",
                "BatchImages:scheduler/imageDetail.json",
            ]
            .map(String::from)
        )
    );
    let web = &report["services"][0];
    assert_eq!(web["files"], json!(["web/imagedefinitions.json"]));
    assert_eq!(web["task_definition"], "deploy/web-taskdef.json");
    assert_eq!(web["containers"][0]["digest"], DIGEST_WEB);
    assert_eq!(web["containers"][0]["tags"], json!(["latest", "e6828a4"]));
    assert_eq!(web["containers"][0]["uri_mode"], "digest");
    assert_eq!(
        web["containers"][2]["fixed"],
        "public.ecr.aws/xray/aws-xray-daemon:3.3.12"
    );
    assert_eq!(web["containers"][2]["sources"], json!([]));
    let api = &report["services"][1];
    assert_eq!(api["blue_green"], "api");
    assert_eq!(
        api["files"],
        json!([
            "api/imagedefinitions.json",
            "api/imageDetail.json",
            "api/taskdef.json",
            "api/appspec.yaml"
        ])
    );
    assert_eq!(
        api["blue_green_inputs"],
        json!({
            "task_definition_template": "p/source/deploy/api-taskdef.json",
            "app_spec": "p/source/deploy/appspec.yaml",
            "image_placeholder": "IMAGE1_NAME"
        })
    );
    assert_eq!(web.get("blue_green_inputs"), None);
    assert!(
        !env.read("out/imagedef-report.json")
            .contains(&env.root().display().to_string())
    );
}

#[test]
fn two_runs_write_the_same_bytes() {
    let env = example();
    for out in ["one", "two"] {
        emit(&env, &["--out", out])
            .code(0)
            .stdout_is(&example_summary(8, out))
            .stderr_is(&template_refused("p"));
    }
    let (one, two) = (env.snapshot("one"), env.snapshot("two"));
    assert_eq!(one.len(), 12, "the folders and files: {:?}", one.keys());
    assert_eq!(one, two);
}

#[test]
fn files_imagedef_did_not_write_are_refused_and_nothing_changes() {
    let env = example();
    emit(&env, &["--out", "out"])
        .code(0)
        .stdout_is(&example_summary(8, "out"))
        .stderr_is(&template_refused("p"));
    env.write("out/notes.txt", "mine");
    env.write("out/web/extra.json", "{}");
    let before = env.snapshot("out");
    emit(&env, &["--out", "out"])
        .code(2)
        .stderr_has("holds paths that imagedef did not write (notes.txt, web/extra.json), so nothing was changed");
    assert_eq!(env.snapshot("out"), before);
    // A folder that is not imagedef's at all is refused the same way.
    env.write("mine/readme.txt", "keep");
    emit(&env, &["--out", "mine"])
        .code(2)
        .stderr_has("holds a path that imagedef did not write (readme.txt)");
    assert_eq!(env.read("mine/readme.txt"), "keep");
}

#[test]
fn a_service_dropped_from_the_mapping_leaves_nothing_behind() {
    let env = example();
    emit(&env, &["--out", "out", "--bundle"])
        .code(0)
        .stdout_is(&example_summary(11, "out"))
        .stderr_is(&template_refused("p"));
    assert!(env.path("out/batch.zip").is_file());
    let mapping = env.read("p/source/imagedef.json");
    let mut m: Value = serde_json::from_str(&mapping).unwrap();
    m["services"].as_object_mut().unwrap().remove("batch");
    env.write("p/source/imagedef.json", serde_json::to_string(&m).unwrap());
    let [web, api, _] = example_lines();
    emit(&env, &["--out", "out", "--bundle"])
        .code(0)
        .stdout_is(&format!("{web}{api}wrote 9 files for 2 services to out\n"))
        .stderr_is(&template_refused("p"));
    let files = files_under(&env, "out");
    assert!(files.iter().all(|f| !f.starts_with("batch")), "{files:?}");
    assert!(!env.path("out/batch").exists());
    let parent: Vec<String> = std::fs::read_dir(env.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        parent.iter().all(|n| !n.contains("imagedef-")),
        "nothing staged is left beside OUT: {parent:?}"
    );
}

/// A small layout: two ECR artifacts and a mapping whose body is given.
fn small(mapping: &str) -> Env {
    let env = Env::new();
    env.write(
        "web/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["latest", "v1.2.0", "e6828a4"]),
    );
    env.write(
        "api/imageDetail.json",
        ecr_detail("shop/api", DIGEST_API, &["598", "latest"]),
    );
    env.write("src/imagedef.json", mapping);
    env.write(
        "src/deploy/td.json",
        r#"{"family":"shop","containerDefinitions":[{"name":"web"},{"name":"api"}]}"#,
    );
    env.write("out/web/imagedefinitions.json", "previous");
    env.write("out/unrelated.txt", "keep");
    env
}

fn run_small(env: &Env, extra: &[&str]) -> crate::util::Run {
    let mut args = vec![
        "emit",
        "--mapping",
        "src/imagedef.json",
        "WebImage=web",
        "ApiImage=api",
        "--out",
        "out",
    ];
    args.extend(extra);
    env.run(&args)
}

#[test]
fn each_refusal_has_its_exit_code_names_what_it_must_and_changes_nothing() {
    let ok_web = r#""web": {"containers": {"web": {"artifact": "WebImage"}}}"#;
    let cases: Vec<(String, i32, Vec<&str>)> = vec![
        (
            format!(
                r#"{{"services": {{{ok_web}, "api": {{"containers": {{"api": {{"repository": "shop/nope"}}}}}}}}}}"#
            ),
            1,
            vec![
                "service \"api\", container \"api\": selector {\"repository\": \"shop/nope\"} matches no discovered image",
                "discovered:",
                "WebImage:imageDetail.json",
                "ApiImage:imageDetail.json",
            ],
        ),
        (
            format!(
                r#"{{"services": {{{ok_web}, "api": {{"containers": {{"api": {{"path": "imageDetail.json"}}}}}}}}}}"#
            ),
            1,
            vec![
                "selector {\"path\": \"imageDetail.json\"} matches 2 different images: WebImage:imageDetail.json",
                "and ApiImage:imageDetail.json",
                "fix: add an \"artifact\" or \"path\" selector",
            ],
        ),
        (
            format!(
                r#"{{"services": {{{ok_web}, "../x": {{"containers": {{"api": {{"artifact": "ApiImage"}}}}}}}}}}"#
            ),
            2,
            vec![
                "mapping src/imagedef.json: key \"services.../x\": service name \"../x\" contains '.'",
            ],
        ),
        (
            format!(
                r#"{{"services": {{{ok_web}, "api": {{"containers": {{"my api": {{"artifact": "ApiImage"}}}}}}}}}}"#
            ),
            2,
            vec!["container name \"my api\" contains ' '"],
        ),
        (
            format!(
                r#"{{"services": {{{ok_web}, "api": {{"containers": {{"api": {{"artifcat": "ApiImage"}}}}}}}}}}"#
            ),
            2,
            vec!["key \"services.api.containers.api\": unknown field `artifcat`"],
        ),
        (
            format!(
                r#"{{"services": {{{ok_web}, "api": {{"blueGreen": "web", "containers": {{"api": {{"artifact": "ApiImage"}}}}}}}}}}"#
            ),
            2,
            vec![
                "key \"services.api.blueGreen\" = \"web\": the service has no such container (it has \"api\")",
            ],
        ),
        (
            format!(
                r#"{{"services": {{{ok_web}, "api": {{"taskDefinition": "deploy/td.json", "containers": {{"api": {{"artifact": "ApiImage"}}, "sidecar": {{"image": "nginx:1.27"}}}}}}}}}}"#
            ),
            1,
            vec![
                "mapping src/imagedef.json, key \"services.api.taskDefinition\": ",
                "container \"sidecar\" not in task definition src/deploy/td.json (family shop)",
            ],
        ),
        (
            format!(
                r#"{{"services": {{{ok_web}, "api": {{"taskDefinition": "deploy/missing.json", "containers": {{"api": {{"artifact": "ApiImage"}}}}}}}}}}"#
            ),
            2,
            vec!["cannot read task definition src/deploy/missing.json"],
        ),
        (
            format!(
                r#"{{"services": {{{ok_web}, "api": {{"uri": "tag", "containers": {{"api": {{"artifact": "WebImage"}}}}}}}}}}"#
            ),
            1,
            vec![
                "service \"api\", container \"api\" (image from WebImage:imageDetail.json): cannot choose one tag",
                "\"tagPattern\"",
            ],
        ),
        (
            "{\"services\": {".to_owned(),
            2,
            vec!["mapping src/imagedef.json: is not valid JSON"],
        ),
    ];
    for (mapping, code, want) in cases {
        let env = small(&mapping);
        let before = env.snapshot("out");
        let run = run_small(&env, &[]);
        run.code(code);
        for w in want {
            run.stderr_has(w);
        }
        assert_eq!(env.snapshot("out"), before, "{mapping}");
    }
}

#[test]
fn a_missing_mapping_file_is_exit_2() {
    let env = small("{}");
    env.run(&["emit", "--mapping", "nope.json", "web", "--out", "out"])
        .code(2)
        .stderr_has("cannot read mapping nope.json");
}

#[test]
fn only_malformed_candidates_is_exit_2() {
    let env = Env::new();
    env.write("a/imageDetail.json", r#"{"ImageURI": "<IMAGE1_NAME>"}"#);
    env.write(
        "m.json",
        r#"{"services": {"s": {"containers": {"c": {"artifact": "a"}}}}}"#,
    );
    env.run(&["emit", "--mapping", "m.json", "a", "--out", "out"])
        .code(2)
        .stderr_has("every candidate was refused")
        .stderr_has("unrendered placeholder");
    assert!(!env.path("out").exists());
}

#[test]
fn the_command_line_overrides_the_mappings_uri_and_tag_pattern() {
    let env = small(
        r#"{"uri": "tag", "tagPattern": "^v", "services": {"web": {"containers": {"web": {"artifact": "WebImage"}}}}}"#,
    );
    // small() leaves files of its own in out/, which mapping mode (dry runs too) refuses.
    std::fs::remove_dir_all(env.path("out")).unwrap();
    let uri = |run: crate::util::Run| run.code(0).json()["containers"][0]["image_uri"].clone();
    assert_eq!(
        uri(run_small(&env, &["--json", "--dry-run"])),
        format!("{HOST}/shop/web:v1.2.0")
    );
    assert_eq!(
        uri(run_small(
            &env,
            &["--json", "--dry-run", "--tag-pattern", "^e6"]
        )),
        format!("{HOST}/shop/web:e6828a4")
    );
    assert_eq!(
        uri(run_small(&env, &["--json", "--dry-run", "--uri", "digest"])),
        format!("{HOST}/shop/web@{DIGEST_WEB}")
    );
}

#[test]
fn dry_run_and_json_write_nothing() {
    let env = example();
    let run = emit(&env, &["--out", "out", "--dry-run", "--json"]);
    run.code(0).stderr_is(&template_refused("p"));
    let out = run.json();
    assert_eq!(out["dry_run"], true);
    let paths: Vec<&str> = out["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "web/imagedefinitions.json",
            "api/imagedefinitions.json",
            "api/imageDetail.json",
            "api/taskdef.json",
            "api/appspec.yaml",
            "batch/imagedefinitions.json",
            "imagedef-report.json",
            "SHA256SUMS"
        ]
    );
    assert_eq!(out["containers"][3]["service"], "api");
    assert_eq!(
        out["containers"][3]["sources"],
        json!(["ApiImage:imageDetail.json"])
    );
    assert!(!env.path("out").exists());
    // The plan: each file and its size, the report's and the sums' as a real run writes them.
    let real = emit(&env, &["--out", "real"]);
    real.code(0)
        .stdout_has("wrote 8 files")
        .stderr_is(&template_refused("p"));
    let mut plan = format!(
        "{}would write 8 files for 3 services to out (--dry-run: nothing was written; -v shows each file):\n",
        example_lines().concat()
    );
    for f in out["files"].as_array().unwrap() {
        let path = f["path"].as_str().unwrap();
        let bytes = std::fs::read(env.path(&format!("real/{path}")))
            .unwrap()
            .len();
        // The report names OUT, so its size follows the name's length.
        let bytes = if path == "imagedef-report.json" {
            f["bytes"].as_u64().unwrap() as usize
        } else {
            bytes
        };
        writeln!(plan, "  {path:<27}  {bytes:>7} bytes").unwrap();
    }
    emit(&env, &["--out", "out", "--dry-run"])
        .code(0)
        .stdout_is(&plan)
        .stderr_is(&template_refused("p"));
    assert!(!env.path("out").exists());
}

#[test]
fn container_is_refused_with_mapping_unless_it_only_comes_from_the_environment() {
    let mut env = example();
    emit(&env, &["--out", "out", "--container", "web"])
        .code(2)
        .stderr_has("--container web cannot be used with --mapping p/source/imagedef.json");
    emit(
        &env,
        &[
            "--out",
            "out",
            "--task-definition",
            "p/source/deploy/web-taskdef.json",
        ],
    )
    .code(2)
    .stderr_has("give each service its own \"taskDefinition\"");
    assert!(!env.path("out").exists());
    env.set("CONTAINER_NAME", "web");
    emit(&env, &["--out", "out"])
        .code(0)
        .stdout_is(&example_summary(8, "out"))
        .stderr_is(&format!(
            "imagedef: warning: CONTAINER_NAME=web is ignored: with --mapping the mapping names the containers\n{}",
            template_refused("p")
        ));
}

#[test]
fn codebuild_warns_when_out_is_outside_the_primary_source() {
    let mut env = example();
    let src = env.path("p/source");
    env.set("CODEBUILD_SRC_DIR", &src);
    let warning = "no matching artifact paths found";
    let outside = emit(&env, &["--out", "out"]);
    outside
        .code(0)
        .stdout_is(&example_summary(8, "out"))
        .stderr_is(&format!(
            "{}imagedef: warning: --out out ([TMP]/out) lies outside $CODEBUILD_SRC_DIR ([TMP]/p/source): the buildspec's artifacts section takes paths relative to $CODEBUILD_SRC_DIR, so CodeBuild will not find the files there and fails with \"{warning}\"; write them inside it, e.g. --out imagedef-out\n",
            template_refused("p")
        ));
    let inside = emit(&env, &["--out", "p/source/imagedef-out"]);
    inside
        .code(0)
        .stdout_is(&example_summary(8, "p/source/imagedef-out"))
        .stderr_is(&template_refused("p"));
    assert!(Path::new(&src).join("imagedef-out/SHA256SUMS").is_file());
}

#[test]
fn roots_no_selector_names_are_not_searched() {
    let env = Env::new();
    env.write(
        "web/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["1"]),
    );
    env.write(
        "monorepo/templates/imageDetail.json",
        r#"{"ImageURI": "<IMAGE1_NAME>"}"#,
    );
    env.write(
        "by-artifact.json",
        r#"{"services":{"web":{"containers":{"web":{"artifact":"Web"}}}}}"#,
    );
    env.write(
        "by-repository.json",
        r#"{"services":{"web":{"containers":{"web":{"repository":"shop/web"}}}}}"#,
    );
    let run = env.run(&[
        "emit",
        "--mapping",
        "by-artifact.json",
        "--out",
        "o",
        "Web=web",
        "Src=monorepo",
    ]);
    let summary = format!(
        "web: task definition not checked, templates off, ECR off, platform not checked, findings off\n  \
         web = {HOST}/shop/web@{}  (from Web:imageDetail.json)\n\
         wrote 3 files for 1 service to o\n",
        short(DIGEST_WEB)
    );
    // The template under Src is not even read: nothing is said of it.
    run.code(0).stdout_is(&summary).stderr_is("");
    env.run(&[
        "emit",
        "--mapping",
        "by-repository.json",
        "--out",
        "o",
        "Web=web",
        "Src=monorepo",
    ])
    .code(0)
    .stdout_is(&summary)
    .stderr_has("templates/imageDetail.json: refused");
}

#[test]
fn every_service_failing_its_task_definition_is_reported() {
    let env = crate::util::web_and_api();
    env.write(
        "td-web.json",
        r#"{"family":"web","containerDefinitions":[{"name":"frontend"}]}"#,
    );
    env.write(
        "td-api.json",
        r#"{"family":"api","containerDefinitions":[{"name":"backend"}]}"#,
    );
    env.write(
        "m.json",
        r#"{"services":{"web":{"taskDefinition":"td-web.json","containers":{"web":{"artifact":"Web"}}},"api":{"taskDefinition":"td-api.json","containers":{"api":{"artifact":"Api"}}}}}"#,
    );
    env.run(&["emit", "--mapping", "m.json", "--out", "o", "Web=web", "Api=api"])
        .code(1)
        .stderr_has("mapping m.json, key \"services.web.taskDefinition\": container \"web\" not in task definition td-web.json (family web), which has containers \"frontend\"")
        .stderr_has("mapping m.json, key \"services.api.taskDefinition\": container \"api\" not in task definition td-api.json (family api), which has containers \"backend\"");
    assert!(!env.path("o").exists());
}

#[test]
fn an_artifact_no_root_is_named_after_is_pointed_out() {
    let env = Env::new();
    env.write(
        "web/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["1"]),
    );
    env.write(
        "m.json",
        r#"{"services":{"web":{"containers":{"web":{"artifact":"WebImg"}}}}}"#,
    );
    env.run(&["emit", "--mapping", "m.json", "--out", "o", "Web=web"])
        .code(1)
        .stderr_has("the mapping selects artifact \"WebImg\", but no artifact root has that name; the roots are: Web (web)");
}

/// `-q` printed a line per container and per file written; a large fan-out printed tens of
/// thousands of lines.
#[test]
fn quiet_prints_nothing_and_a_fan_out_prints_each_service_in_lines_of_120_columns() {
    let env = Env::new();
    env.write(
        "web/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["1"]),
    );
    let services: Vec<String> = (0..200)
        .map(|i| format!(r#""s{i}": {{"containers": {{"a": {{"artifact": "Web"}}, "b": {{"image": "nginx:1"}}}}}}"#))
        .collect();
    env.write(
        "m.json",
        format!(r#"{{"services": {{{}}}}}"#, services.join(", ")),
    );
    let args = [
        "emit",
        "--mapping",
        "m.json",
        "--bundle",
        "--out",
        "out",
        "Web=web",
    ];
    let run = env.run(&args);
    run.code(0);
    // Per service: its checks, then a line per container, each within 120 columns.
    let web = format!("{HOST}/shop/web@{}", short(DIGEST_WEB));
    let expected: String = (0..200)
        .map(|i| {
            format!(
                "s{i}: task definition not checked, templates off, ECR off, platform not checked, findings off\n  \
                 a = {web}  (from Web:imageDetail.json)\n  \
                 b = nginx:1  (fixed image)\n"
            )
        })
        .chain(["wrote 402 files for 200 services to out\n".to_owned()])
        .collect();
    run.stdout_is(&expected);
    let widest = run.stdout().lines().map(str::len).max().unwrap();
    assert!(widest <= 120, "a line of {widest} columns");
    let quiet = env.run(&[&["-q"][..], &args].concat());
    quiet.code(0);
    assert_eq!((quiet.stdout(), quiet.stderr()), ("", ""));
    let json = env.run(&[&["-q"][..], &args, &["--json"]].concat());
    json.code(0);
    assert_eq!(json.json()["files"].as_array().unwrap().len(), 402);
}
