//! Regression tests, each named after the bug it pins.

use crate::util::{
    BLUE_GREEN_INPUTS_ONLY, DIGEST_API, DIGEST_WEB, Env, HOST, INPUTS_ONLY, ecr_detail,
    short_digests,
};

/// A second `emit --mapping` with `--out` inside `$CODEBUILD_SRC_DIR` found the blue/green
/// `imageDetail.json` the first run wrote, and its report changed (or, with `--uri tag`, failed).
#[test]
fn emit_run_twice_does_not_read_its_own_output() {
    let mut env = Env::new();
    env.write("s3/00/imagedef.json", r#"{"services":{"api":{"containers":{"api":{"repository":"shop/api"}},"blueGreen":"api"}}}"#);
    env.write(
        "s3/01/imageDetail.json",
        ecr_detail("shop/api", DIGEST_API, &["latest", "598"]),
    );
    let (primary, api) = (env.path("s3/00"), env.path("s3/01"));
    env.set("CODEBUILD_SRC_DIR", &primary)
        .set("CODEBUILD_SRC_DIR_ApiImage", api);
    let emit = |uri: &str| {
        env.run(&[
            "emit",
            "--mapping",
            "s3/00/imagedef.json",
            "--out",
            "s3/00/imagedef-out",
            "--uri",
            uri,
        ])
    };
    let summary = short_digests(&format!(
        "api: {BLUE_GREEN_INPUTS_ONLY}\n  api = {HOST}/shop/api@{DIGEST_API}  (from ApiImage:imageDetail.json)\nwrote 4 files for 1 service to s3/00/imagedef-out\n"
    ));
    emit("digest").code(0).stdout_is(&summary);
    let first = env.snapshot("s3/00/imagedef-out");
    emit("digest").code(0).stdout_is(&summary);
    assert_eq!(
        env.snapshot("s3/00/imagedef-out"),
        first,
        "the same inputs must give the same bytes"
    );
    emit("tag")
        .code(0)
        .stdout_has(&format!("{HOST}/shop/api:598"));
}

/// Two files naming the same image (a hand-written URI-only one and the ECR source's) kept only
/// the first file's tags, so `--uri tag` depended on the order of the roots.
#[test]
fn tags_come_from_every_file_naming_the_image() {
    let env = Env::new();
    env.write(
        "src/deploy/imageDetail.json",
        format!(r#"{{"ImageURI":"{HOST}/shop/web@{DIGEST_WEB}"}}"#),
    );
    env.write(
        "ecr/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["latest", "e6828a4"]),
    );
    for roots in [["Source=src", "Web=ecr"], ["Web=ecr", "Source=src"]] {
        let mut args = vec![
            "emit",
            "--container",
            "web",
            "--uri",
            "tag",
            "--dry-run",
            "--json",
        ];
        args.extend(roots);
        let run = env.run(&args);
        run.code(0);
        assert_eq!(
            run.json()["containers"][0]["image_uri"],
            format!("{HOST}/shop/web:e6828a4"),
            "{roots:?}"
        );
    }
}

/// After `emit --bundle`, a run without `--bundle` left the old zip beside a `SHA256SUMS` that
/// still vouched for it, and `verify --bundle` passed the stale zip.
#[test]
fn a_stale_bundle_is_caught_after_a_run_without_bundle() {
    let env = Env::new();
    env.write(
        "in/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["1"]),
    );
    env.run(&[
        "emit",
        "in",
        "--container",
        "web",
        "--bundle",
        "--out",
        "out",
    ])
    .code(0)
    .stdout_is(&short_digests(&format!(

        "web = {HOST}/shop/web@{DIGEST_WEB}  (from in:imageDetail.json)\n  checks: {INPUTS_ONLY}\nwrote 3 files to out\n"
    )));
    env.write(
        "in/imageDetail.json",
        ecr_detail("shop/web", DIGEST_API, &["2"]),
    );
    env.run(&["emit", "in", "--container", "web", "--out", "out"])
        .code(0)
        .stdout_is(&short_digests(&format!(

            "web = {HOST}/shop/web@{DIGEST_API}  (from in:imageDetail.json)\n  checks: {INPUTS_ONLY}\nwrote 2 files to out\n"
        )));
    let check = std::process::Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(env.path("out"))
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");
    env.run(&["verify", "in", "--bundle", "out/imagedefinitions.zip"])
        .code(1)
        .stdout_has("does not list imagedefinitions.zip");
}

/// A root whose only imageDetail.json is a symlink was exit 2 in single-image mode but exit 1 with
/// --mapping; malformed-only input is exit 2 in both.
#[test]
fn only_refused_files_are_exit_2_in_both_modes() {
    let env = Env::new();
    env.write(
        "elsewhere/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["1"]),
    );
    env.mkdir("art");
    std::os::unix::fs::symlink(
        env.path("elsewhere/imageDetail.json"),
        env.path("art/imageDetail.json"),
    )
    .unwrap();
    env.write(
        "m.json",
        r#"{"services":{"web":{"containers":{"web":{"repository":"shop/web"}}}}}"#,
    );
    env.run(&["emit", "Web=art", "--container", "web"])
        .code(2)
        .stderr_has("every candidate was refused");
    env.run(&["emit", "Web=art", "--mapping", "m.json"])
        .code(2)
        .stderr_has("every candidate was refused");
}

/// In single-image mode a tag that could not be chosen did not say which file the image came from.
#[test]
fn a_tag_error_names_the_file() {
    let env = Env::new();
    env.write(
        "w/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["v1", "v2"]),
    );
    env.run(&["emit", "Web=w", "--container", "web", "--uri", "tag"])
        .code(1)
        .stderr_has("image from Web:imageDetail.json: cannot choose one tag from [\"v1\", \"v2\"]");
}

/// A mapping's own `uri`/`tagPattern` that failed to choose a tag was blamed on `--tag-pattern` and
/// `--uri`, which nobody had given.
#[test]
fn a_tag_rule_from_the_mapping_is_named_by_its_key() {
    let mut env = crate::util::web_artifact();
    env.write(
        "web/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["latest", "e6828a4"]),
    );
    env.write(
        "top.json",
        r#"{"uri": "tag", "tagPattern": "^v", "services": {"web": {"containers": {"web": {"artifact": "Web"}}}}}"#,
    );
    env.write(
        "service.json",
        r#"{"services": {"web": {"uri": "tag", "tagPattern": "^v", "containers": {"web": {"artifact": "Web"}}}}}"#,
    );
    let run = env.run(&["emit", "--mapping", "top.json", "Web=web", "--dry-run"]);
    run.code(1)
        .stderr_has("there are no tags matching the mapping's top-level \"tagPattern\" \"^v\"")
        .stderr_has("change the mapping's top-level \"tagPattern\" to a regex that matches exactly one, or set the mapping's top-level \"uri\" to \"digest\"");
    assert!(
        !run.stderr().contains("--"),
        "no option was given: {run:#?}"
    );
    let run = env.run(&["emit", "--mapping", "service.json", "Web=web", "--dry-run"]);
    run.code(1)
        .stderr_has("tags matching key \"services.web.tagPattern\" \"^v\"")
        .stderr_has("or set key \"services.web.uri\" to \"digest\"");
    assert!(
        !run.stderr().contains("--"),
        "no option was given: {run:#?}"
    );
    // Given through the environment, the variables are named.
    env.set("IMAGEDEF_TAG_PATTERN", "^x")
        .set("IMAGEDEF_URI", "tag");
    env.run(&["emit", "--mapping", "service.json", "Web=web", "--dry-run"])
        .code(1)
        .stderr_has("tags matching $IMAGEDEF_TAG_PATTERN \"^x\"")
        .stderr_has("or set IMAGEDEF_URI=digest");
    env.set("IMAGEDEF_URI", "sha");
    env.run(&["emit", "--mapping", "service.json", "Web=web", "--dry-run"])
        .code(2)
        .stderr_has("$IMAGEDEF_URI \"sha\" is not a URI mode");
}

/// With `--file-name foo.json`, finding nothing was reported as "found no imageDetail.json".
#[test]
fn nothing_found_names_the_file_name_searched_for() {
    let env = Env::new();
    env.mkdir("empty");
    env.write(
        "m.json",
        r#"{"services": {"web": {"containers": {"web": {"repository": "shop/web"}}}}}"#,
    );
    for args in [
        &[
            "emit",
            "empty",
            "--container",
            "web",
            "--file-name",
            "foo.json",
        ][..],
        &[
            "emit",
            "empty",
            "--mapping",
            "m.json",
            "--file-name",
            "foo.json",
        ][..],
    ] {
        let run = env.run(args);
        run.code(1)
            .stderr_has("no foo.json under the artifact roots");
        assert!(!run.stderr().contains("imageDetail.json"), "{run:#?}");
    }
}

/// `--tag-pattern '^v[0-9]'` with the single tag `latest` wrote `:latest` without a word; and
/// `(?i)` or `\p{L}` in a pattern were refused, the regex crate being built without those tables.
#[test]
fn a_tag_pattern_always_matches_the_tag_it_picks() {
    let env = Env::new();
    env.write(
        "w/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["latest"]),
    );
    crate::util::emit_app(&env, "Web=w", &["--uri", "tag", "--tag-pattern", "^v[0-9]", "--dry-run"])
        .code(1)
        .stderr_has("cannot choose one tag from [\"latest\"]: there are no tags matching --tag-pattern \"^v[0-9]\"");
    env.write(
        "w/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["latest", "Release-7", "e6828a4"]),
    );
    for (pattern, tag) in [("(?i)^release-", "Release-7"), (r"^\p{L}+$", "latest")] {
        let run = crate::util::emit_app(
            &env,
            "Web=w",
            &[
                "--uri",
                "tag",
                "--tag-pattern",
                pattern,
                "--dry-run",
                "--json",
            ],
        );
        assert_eq!(
            run.code(0).json()["containers"][0]["image_uri"],
            format!("{HOST}/shop/web:{tag}"),
            "{pattern}"
        );
    }
}

/// The blue/green `imageDetail.json` a first run wrote into its OUT was found by a second run with
/// another `--out`, which then failed with "matches 2 different images".
#[test]
fn a_second_run_does_not_read_the_first_runs_output() {
    let env = Env::new();
    env.write(
        "src/m.json",
        r#"{"uri": "tag", "services": {"api": {"containers": {"api": {"repository": "shop/api"}}, "blueGreen": "api"}}}"#,
    );
    env.write(
        "api/imageDetail.json",
        ecr_detail("shop/api", DIGEST_API, &["598"]),
    );
    let emit = |out: &str| {
        env.run(&[
            "emit",
            "--mapping",
            "src/m.json",
            "--out",
            out,
            "Src=src",
            "Api=api",
            "-v",
        ])
    };
    let summary = |out: &str| {
        short_digests(&format!(
            "api: {BLUE_GREEN_INPUTS_ONLY}\n  api = {HOST}/shop/api:598  (from Api:imageDetail.json)\nwrote 4 files for 1 service to {out}\n"
        ))
    };
    emit("src/imagedef-out")
        .code(0)
        .stdout_is(&summary("src/imagedef-out"))
        .stderr_has("imagedef: debug: artifact Src: 0 file(s) found\n");
    assert!(env.path("src/imagedef-out/api/imageDetail.json").is_file());
    emit("src/other")
        .code(0)
        .stdout_is(&summary("src/other"))
        .stderr_has("not searching src/imagedef-out: it holds imagedef-report.json, so it is the output of an earlier imagedef run");
}

/// Where values came from: a missing bare root was called "artifact primary"; `NAME=DIR` after a
/// bare `DIR` for the same folder lost its name; a selector naming an artifact nobody gave only
/// said it matched nothing; a template alone in `.` did not say that no roots were given.
#[test]
fn messages_name_where_roots_and_artifacts_came_from() {
    let env = Env::new();
    env.run(&["scan", "nope"])
        .code(2)
        .stderr_has("artifact root nope (artifact nope, from argument \"nope\") cannot be read");
    env.write(
        "web/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["1"]),
    );
    let run = env.run(&["scan", "--json", "web", "Web=web"]);
    run.code(0).stderr_has("searching it once, as artifact Web");
    assert_eq!(run.json()["images"][0]["artifact"], "Web");
    env.write(
        "m.json",
        r#"{"services": {"web": {"containers": {"web": {"artifact": "WebImg"}}}}}"#,
    );
    env.run(&["emit", "--mapping", "m.json", "Web=web", "--out", "o"])
        .code(1)
        .stderr_has("selector {\"artifact\": \"WebImg\"} names artifact \"WebImg\", but no input artifact has that name (the artifacts are: Web (web))");
    let alone = Env::new();
    alone.write(
        "templates/imageDetail.json",
        r#"{"ImageURI": "<IMAGE1_NAME>"}"#,
    );
    alone
        .run(&["emit", "--container", "app"])
        .code(2)
        .stderr_has("unrendered placeholder")
        .stderr_has(
            "no artifact roots were given (no ROOT argument, and $CODEBUILD_SRC_DIR is not set)",
        );
}
