//! `emit` without a mapping: the one image found, under one container name.

use std::fmt::Write as _;

use crate::util::{
    DIGEST_API, DIGEST_WEB, Env, HOST, INPUTS_ONLY, ecr_detail, emit_app, short_digests,
};

fn one_artifact() -> Env {
    let mut env = Env::new();
    env.mkdir("s3/00");
    env.write(
        "s3/01/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["latest", "e6828a4"]),
    );
    let (primary, web) = (env.path("s3/00"), env.path("s3/01"));
    env.set("CODEBUILD_SRC_DIR", primary)
        .set("CODEBUILD_SRC_DIR_WebImage", web);
    env
}

/// The warning a run in [`one_artifact`] gives: OUT (`[TMP]/out`, or `[TMP]` for `.`) is outside
/// `$CODEBUILD_SRC_DIR`, where the buildspec's artifacts section would not find it.
fn outside_source(out: &str) -> String {
    let path = if out == "." {
        "[TMP]".to_owned()
    } else {
        format!("[TMP]/{out}")
    };
    format!(
        "imagedef: warning: --out {out} ({path}) lies outside $CODEBUILD_SRC_DIR ([TMP]/s3/00): the buildspec's artifacts section takes paths relative to $CODEBUILD_SRC_DIR, so CodeBuild will not find the files there and fails with \"no matching artifact paths found\"; write them inside it, e.g. --out imagedef-out\n"
    )
}

/// The whole stdout of a single-image emit into `out`: the image's `line`, the `checks` that ran,
/// and the count, digests shortened as the summary shows them.
fn wrote(line: &str, checks: &str, out: &str) -> String {
    short_digests(&format!(
        "{line}\n  checks: {checks}\nwrote 2 files to {out}\n"
    ))
}

/// What a run in [`one_artifact`] prints on stdout for container `app` written into `out`.
fn wrote_app(out: &str, checks: &str) -> String {
    wrote(
        &format!("app = {HOST}/shop/web@{DIGEST_WEB}  (from WebImage:imageDetail.json)"),
        checks,
        out,
    )
}

#[test]
fn writes_the_digest_pinned_image_uri_under_container_name() {
    let mut env = one_artifact();
    env.set("CONTAINER_NAME", "app");
    let run = env.run(&["emit", "--out", "out"]);
    run.code(0).stderr_is(&outside_source("out"));
    assert_eq!(
        run.stdout(),
        wrote(
            &format!(
                "app = {HOST}/shop/web@{DIGEST_WEB}  (from WebImage:imageDetail.json); container name from $CONTAINER_NAME"
            ),
            INPUTS_ONLY,
            "out"
        )
    );
    let written: serde_json::Value =
        serde_json::from_str(&env.read("out/imagedefinitions.json")).unwrap();
    assert_eq!(
        written,
        serde_json::json!([{"name": "app", "imageUri": format!("{HOST}/shop/web@{DIGEST_WEB}")}])
    );
    assert!(env.read("out/imagedefinitions.json").ends_with("]\n"));
}

#[test]
fn uri_modes_pick_the_tag_that_is_not_latest() {
    let env = one_artifact();
    for (mode, want) in [
        ("tag", format!("{HOST}/shop/web:e6828a4")),
        (
            "tag+digest",
            format!("{HOST}/shop/web:e6828a4@{DIGEST_WEB}"),
        ),
        ("digest", format!("{HOST}/shop/web@{DIGEST_WEB}")),
    ] {
        let run = env.run(&[
            "emit",
            "--container",
            "app",
            "--uri",
            mode,
            "--json",
            "--dry-run",
        ]);
        run.code(0).stderr_is(&outside_source("."));
        assert_eq!(run.json()["containers"][0]["image_uri"], want, "{mode}");
    }
}

#[test]
fn tag_pattern_chooses_among_several_tags() {
    let env = Env::new();
    env.write(
        "a/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["latest", "v1.4.2", "build-77"]),
    );
    emit_app(&env, "a", &["--uri", "tag", "--out", "o"])
        .code(1)
        .stderr_has("cannot choose one tag from [\"latest\", \"v1.4.2\", \"build-77\"]")
        .stderr_has("--tag-pattern");
    assert!(!env.path("o").exists());
    emit_app(
        &env,
        "a",
        &["--uri", "tag", "--tag-pattern", r"^v\d", "--out", "o"],
    )
    .code(0)
    .stdout_is(&wrote(
        &format!("app = {HOST}/shop/web:v1.4.2  (from a:imageDetail.json)"),
        INPUTS_ONLY,
        "o",
    ));
    assert!(
        env.read("o/imagedefinitions.json")
            .contains(&format!("{HOST}/shop/web:v1.4.2\""))
    );
}

#[test]
fn two_images_without_a_mapping_is_exit_1_listing_both() {
    let env = crate::util::web_and_api();
    env.run(&[
        "emit",
        "Web=web",
        "Api=api",
        "--container",
        "app",
        "--out",
        "o",
    ])
    .code(1)
    .stderr_has("found 2 different images")
    .stderr_has("Web:imageDetail.json")
    .stderr_has("Api:imageDetail.json");
    assert!(!env.path("o").exists());
}

#[test]
fn the_same_image_in_two_files_is_one_image() {
    let env = Env::new();
    env.write(
        "w/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["1"]),
    );
    env.write(
        "copy/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["1"]),
    );
    let run = env.run(&[
        "emit",
        "w",
        "copy",
        "--container",
        "app",
        "--json",
        "--dry-run",
    ]);
    run.code(0);
    assert_eq!(
        run.json()["containers"][0]["sources"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn nothing_found_is_exit_1_and_only_malformed_found_is_exit_2() {
    let env = Env::new();
    env.mkdir("empty");
    emit_app(&env, "empty", &[])
        .code(1)
        .stderr_has("found no imageDetail.json");
    env.write("bad/imageDetail.json", r#"{"imageURI": "x"}"#);
    emit_app(&env, "bad", &[])
        .code(2)
        .stderr_has("every candidate was refused")
        .stderr_has("did you mean \"ImageURI\"");
}

#[test]
fn a_template_beside_the_real_file_is_a_warning_only() {
    let env = Env::new();
    env.write(
        "src/templates/imageDetail.json",
        r#"{"ImageURI": "<IMAGE1_NAME>"}"#,
    );
    env.write(
        "img/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["1"]),
    );
    env.run(&["emit", "src", "img", "--container", "app", "--out", "o"])
        .code(0)
        .stdout_is(&wrote(&format!("app = {HOST}/shop/web@{DIGEST_WEB}  (from img:imageDetail.json)"), INPUTS_ONLY, "o"))
        .stderr_has("imagedef: warning: ")
        .stderr_has("templates/imageDetail.json: refused: key \"ImageURI\" = \"<IMAGE1_NAME>\": holds an unrendered placeholder");
}

#[test]
fn container_name_is_required_and_validated() {
    let env = one_artifact();
    env.run(&["emit"])
        .code(2)
        .stderr_has("pass --container NAME or set CONTAINER_NAME");
    env.run(&["emit", "--container", "my app"])
        .code(2)
        .stderr_has(
            "container name \"my app\" contains ' '; use 1-255 of letters, digits, _ and -",
        );
}

#[test]
fn task_definition_must_have_the_container() {
    let env = one_artifact();
    env.write(
        "raw.json",
        r#"{"family":"web","containerDefinitions":[{"name":"web"},{"name":"xray"}]}"#,
    );
    env.write(
        "described.json",
        r#"{"taskDefinition":{"family":"web","containerDefinitions":[{"name":"app"}]}}"#,
    );
    env.run(&["emit", "--container", "app", "--task-definition", "raw.json", "--out", "o"])
        .code(1)
        .stderr_has("container \"app\" not in task definition raw.json (family web), which has containers \"web\", \"xray\"")
        .stderr_has("The AWS ECS container app does not exist");
    assert!(!env.path("o").exists());
    env.run(&[
        "emit",
        "--container",
        "app",
        "--task-definition",
        "described.json",
        "--out",
        "o",
    ])
    .code(0)
    .stdout_is(&wrote_app(
        "o",
        "task definition ok, templates off, ECR off, platform not checked, findings off",
    ))
    .stderr_is(&outside_source("o"));
    env.write("broken.json", "{");
    env.run(&[
        "emit",
        "--container",
        "app",
        "--task-definition",
        "broken.json",
    ])
    .code(2)
    .stderr_has("task definition broken.json: is not valid JSON");
}

#[test]
fn two_runs_write_the_same_bytes() {
    let env = one_artifact();
    for out in ["one", "two"] {
        env.run(&["emit", "--container", "app", "--out", out])
            .code(0)
            .stdout_is(&wrote_app(out, INPUTS_ONLY))
            .stderr_is(&outside_source(out));
    }
    assert_eq!(
        env.read("one/imagedefinitions.json"),
        env.read("two/imagedefinitions.json")
    );
}

#[test]
fn dry_run_lists_what_it_would_write_and_shows_it_with_v() {
    let env = one_artifact();
    // What a real run writes, to hold the plan to.
    env.run(&["emit", "--container", "app", "--out", "real"])
        .code(0)
        .stdout_has("wrote 2 files to real\n")
        .stderr_is(&outside_source("real"));
    let files = ["imagedefinitions.json", "SHA256SUMS"];
    let size = |f: &str| std::fs::read(env.path(&format!("real/{f}"))).unwrap().len();
    let image = short_digests(&format!(
        "app = {HOST}/shop/web@{DIGEST_WEB}  (from WebImage:imageDetail.json)\n  checks: {INPUTS_ONLY}\n"
    ));
    let plan = |v: &str| {
        let mut plan =
            format!("{image}would write 2 files to o (--dry-run: nothing was written{v}):\n");
        for f in files {
            writeln!(plan, "  {f:<21}  {:>7} bytes", size(f)).unwrap();
            if v.is_empty() {
                for line in env.read(&format!("real/{f}")).lines() {
                    writeln!(plan, "    | {line}").unwrap();
                }
            }
        }
        plan
    };
    env.run(&["emit", "--container", "app", "--out", "o", "--dry-run"])
        .code(0)
        .stdout_is(&plan("; -v shows each file"))
        .stderr_is(&outside_source("o"));
    let run = env.run(&[
        "emit",
        "--container",
        "app",
        "--out",
        "o",
        "--dry-run",
        "-v",
    ]);
    run.code(0)
        .stdout_is(&plan(""))
        .stderr_has(&outside_source("o"));
    assert!(!env.path("o").exists());
}

#[test]
fn a_failure_leaves_an_existing_output_untouched() {
    let env = one_artifact();
    env.write("o/imagedefinitions.json", "previous");
    env.write("o/unrelated.txt", "keep");
    let before = env.snapshot("o");
    env.run(&[
        "emit",
        "--container",
        "app",
        "--uri",
        "tag",
        "--tag-pattern",
        "^nomatch$",
        "--out",
        "o",
    ])
    .code(1)
    .stderr_is("imagedef: error: image from WebImage:imageDetail.json: cannot choose one tag from [\"latest\", \"e6828a4\"]: there are no tags matching --tag-pattern \"^nomatch$\"; change --tag-pattern to a regex that matches exactly one, or use --uri digest\n");
    assert_eq!(env.snapshot("o"), before);
    env.run(&["emit", "--container", "app", "--out", "o"])
        .code(0)
        .stdout_is(&wrote_app("o", INPUTS_ONLY))
        .stderr_is(&outside_source("o"));
    assert_eq!(env.read("o/unrelated.txt"), "keep");
    assert!(env.read("o/imagedefinitions.json").contains("\"app\""));
}

#[test]
fn an_output_directory_that_is_a_file_is_exit_2() {
    let env = one_artifact();
    env.write("o", "a file");
    env.run(&["emit", "--container", "app", "--out", "o"])
        .code(2)
        .stderr_has("o is not a folder");
    assert_eq!(env.read("o"), "a file");
}

#[test]
fn inconsistent_fields_are_exit_1() {
    let env = Env::new();
    let text = ecr_detail("shop/web", DIGEST_WEB, &["1"]).replacen(
        &format!("\"ImageDigest\":\"{DIGEST_WEB}\""),
        &format!("\"ImageDigest\":\"{DIGEST_API}\""),
        1,
    );
    env.write("a/imageDetail.json", text);
    emit_app(&env, "a", &["--out", "o"])
        .code(1)
        .stderr_has(&format!(
            "ImageURI is pinned to {DIGEST_WEB} but ImageDigest is {DIGEST_API}"
        ));
    assert!(!env.path("o").exists());
}

#[test]
fn a_uri_only_file_works_in_tag_mode_and_refuses_digest_mode() {
    let env = Env::new();
    env.write(
        "a/imageDetail.json",
        format!("{{\"ImageURI\":\"{HOST}/shop/web:v7\"}}\n"),
    );
    emit_app(&env, "a", &["--out", "o"])
        .code(1)
        .stderr_has("carries no digest");
    emit_app(&env, "a", &["--uri", "tag", "--out", "o"])
        .code(0)
        .stdout_is(&wrote(
            &format!("app = {HOST}/shop/web:v7  (from a:imageDetail.json)"),
            INPUTS_ONLY,
            "o",
        ));
    assert!(
        env.read("o/imagedefinitions.json")
            .contains(&format!("\"{HOST}/shop/web:v7\""))
    );
}

#[test]
fn json_summary_lists_files_with_sha256() {
    let env = one_artifact();
    let run = env.run(&["emit", "--container", "app", "--out", "o", "--json"]);
    run.code(0).stderr_is(&outside_source("o"));
    let out = run.json();
    assert_eq!(out["files"][0]["path"], "imagedefinitions.json");
    let bytes = std::fs::read(env.path("o/imagedefinitions.json")).unwrap();
    assert_eq!(out["files"][0]["bytes"], bytes.len());
    let sha = out["files"][0]["sha256"].as_str().unwrap();
    assert_eq!(sha.len(), 71);
    assert_eq!(
        out["containers"][0]["sources"],
        serde_json::json!(["WebImage:imageDetail.json"])
    );
}

#[test]
fn the_bundled_example_emits_the_web_image() {
    let env = Env::new();
    env.copy_dir(&crate::util::examples().join("pipeline"), "pipeline");
    env.run(&[
        "emit",
        "pipeline/WebImage",
        "--container",
        "web",
        "--task-definition",
        "pipeline/source/deploy/web-taskdef.json",
        "--out",
        "o",
    ])
    .code(0)
    .stdout_is(&wrote(
        &format!("web = {HOST}/shop/web@{DIGEST_WEB}  (from WebImage:imageDetail.json)"),
        "task definition ok, templates off, ECR off, platform not checked, findings off",
        "o",
    ));
    assert!(
        env.read("o/imagedefinitions.json")
            .contains(&format!("{HOST}/shop/web@{DIGEST_WEB}"))
    );
}

#[test]
fn tag_mode_never_writes_latest_without_a_pattern() {
    let env = Env::new();
    env.write(
        "a/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["latest"]),
    );
    let run = emit_app(&env, "a", &["--uri", "tag", "--out", "o"]);
    run.code(1);
    assert_eq!(
        run.stderr(),
        format!(
            "imagedef: error: image from a:imageDetail.json: image {HOST}/shop/web has the one tag \"latest\", and --uri tag writes latest only when a tag pattern admits it (the next push moves latest, and ECS would then start that image); fix: push the image with an immutable tag (a version or commit), use --uri digest or tag+digest, or set --tag-pattern to a regex that matches latest\n"
        )
    );
    assert!(!env.path("o").exists());
    // A pattern that admits it, or the digest beside the tag, writes it.
    emit_app(
        &env,
        "a",
        &["--uri", "tag", "--tag-pattern", "^latest$", "--out", "o"],
    )
    .code(0)
    .stdout_is(&wrote(
        &format!("app = {HOST}/shop/web:latest  (from a:imageDetail.json)"),
        INPUTS_ONLY,
        "o",
    ));
    assert!(
        env.read("o/imagedefinitions.json")
            .contains(&format!("\"{HOST}/shop/web:latest\""))
    );
    emit_app(&env, "a", &["--uri", "tag+digest", "--out", "o2"])
        .code(0)
        .stdout_is(&wrote(
            &format!("app = {HOST}/shop/web:latest@{DIGEST_WEB}  (from a:imageDetail.json)"),
            INPUTS_ONLY,
            "o2",
        ));
    assert!(
        env.read("o2/imagedefinitions.json")
            .contains(&format!("\"{HOST}/shop/web:latest@{DIGEST_WEB}\""))
    );
}

#[test]
fn a_mapping_in_tag_mode_refuses_a_lone_latest_naming_the_service() {
    let env = Env::new();
    env.write(
        "a/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["latest"]),
    );
    env.write(
        "m.json",
        r#"{"uri": "tag", "services": {"web": {"containers": {"app": {"repository": "shop/web"}}}}}"#,
    );
    let run = env.run(&["emit", "a", "--mapping", "m.json", "--out", "o"]);
    run.code(1);
    assert_eq!(
        run.stderr(),
        format!(
            "imagedef: error: 1 of the mapping's containers could not be resolved:\n  service \"web\", container \"app\" (image from a:imageDetail.json): image {HOST}/shop/web has the one tag \"latest\", and --uri tag writes latest only when a tag pattern admits it (the next push moves latest, and ECS would then start that image); fix: push the image with an immutable tag (a version or commit), set the mapping's top-level \"uri\" to \"digest\" or tag+digest, or set \"tagPattern\" (or --tag-pattern) to a regex that matches latest\ndiscovered:\n  a:imageDetail.json: {HOST}/shop/web@{DIGEST_WEB}\n"
        )
    );
    assert!(!env.path("o").exists());
}
