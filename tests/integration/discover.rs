//! Finding imageDetail.json in CodeBuild's artifact directories.

use crate::util::{DIGEST_API, DIGEST_WEB, Env, HOST, ecr_detail};

/// `/codebuild/output/srcNNN/src/s3/00` and siblings, as CodeBuild lays them out.
fn codebuild_layout(env: &mut Env) {
    env.mkdir("codebuild/output/src123/src/s3/00");
    env.write(
        "codebuild/output/src123/src/s3/01/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["latest", "e6828a4"]),
    );
    env.write(
        "codebuild/output/src123/src/s3/02/imageDetail.json",
        ecr_detail("shop/api", DIGEST_API, &["598"]),
    );
    let primary = env.path("codebuild/output/src123/src/s3/00");
    let web = env.path("codebuild/output/src123/src/s3/01");
    let api = env.path("codebuild/output/src123/src/s3/02");
    env.set("CODEBUILD_SRC_DIR", primary)
        .set("CODEBUILD_SRC_DIR_WebImage", web)
        .set("CODEBUILD_SRC_DIR_ApiImage", api);
}

#[test]
fn sibling_artifacts_are_named_by_their_variables() {
    let mut env = Env::new();
    codebuild_layout(&mut env);
    let run = env.run(&["scan", "--json"]);
    run.code(0);
    let images = run.json()["images"].as_array().unwrap().clone();
    let got: Vec<(&str, &str, &str)> = images
        .iter()
        .map(|i| {
            (
                i["artifact"].as_str().unwrap(),
                i["repository"].as_str().unwrap(),
                i["digest"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("ApiImage", "shop/api", DIGEST_API),
            ("WebImage", "shop/web", DIGEST_WEB)
        ]
    );
    assert_eq!(images[1]["tags"], serde_json::json!(["latest", "e6828a4"]));
    assert_eq!(images[1]["path"], "imageDetail.json");
}

#[test]
fn scan_table_lists_artifact_path_repository_tags_digest_problem() {
    let env = Env::new();
    env.write(
        "a/deep/dir/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["latest", "e6828a4"]),
    );
    env.write(
        "a/templates/imageDetail.json",
        r#"{"ImageURI": "<IMAGE1_NAME>"}"#,
    );
    let run = env.run(&["scan", "Web=a"]);
    run.code(0);
    let lines: Vec<&str> = run.stdout().lines().collect();
    assert_eq!(lines.len(), 3, "{run:#?}");
    assert!(lines[0].starts_with("ARTIFACT  PATH"), "{run:#?}");
    assert!(lines[1].starts_with("Web       deep/dir/imageDetail.json   shop/web    latest,e6828a4  sha256:5a1f0e6b8e1f  -"), "{run:#?}");
    assert!(
        lines[2].contains("templates/imageDetail.json")
            && lines[2].contains("unrendered placeholder"),
        "{run:#?}"
    );
}

#[test]
fn git_directories_are_skipped() {
    let env = Env::new();
    env.write(
        "src/.git/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["1"]),
    );
    let run = env.run(&["scan", "--json", "src"]);
    run.code(0);
    assert_eq!(run.json()["images"], serde_json::json!([]));
}

#[test]
fn symlinks_are_never_followed_and_a_loop_does_not_hang() {
    let env = Env::new();
    env.write(
        "real/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["1"]),
    );
    env.mkdir("art/sub");
    std::os::unix::fs::symlink(env.path("art"), env.path("art/sub/loop")).unwrap();
    std::os::unix::fs::symlink(env.path("real"), env.path("art/outside")).unwrap();
    std::os::unix::fs::symlink(
        env.path("real/imageDetail.json"),
        env.path("art/imageDetail.json"),
    )
    .unwrap();
    let run = env.run(&["scan", "--json", "art"]);
    run.code(0);
    let out = run.json();
    assert_eq!(out["images"], serde_json::json!([]), "{run:#?}");
    assert!(
        out["skipped"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("symbolic link"),
        "{run:#?}"
    );
}

#[test]
fn an_oversize_file_is_refused_unread() {
    let env = Env::new();
    let mut big = format!(r#"{{"ImageURI":"{HOST}/web:1","Pad":""#).into_bytes();
    big.resize(2 * 1024 * 1024, b'x');
    env.write("a/imageDetail.json", big);
    let run = env.run(&["scan", "--json", "a"]);
    run.code(0);
    let problem = run.json()["images"][0]["problems"][0]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        problem.contains("2097152 bytes") && problem.contains("fix:"),
        "{problem}"
    );
}

#[test]
fn an_unreadable_directory_is_reported_and_the_walk_goes_on() {
    use std::os::unix::fs::PermissionsExt as _;
    let env = Env::new();
    env.write(
        "a/ok/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["1"]),
    );
    env.write("a/locked/imageDetail.json", "{}");
    std::fs::set_permissions(env.path("a/locked"), std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads it whatever its mode (as in CI and CodeBuild): then the run is nobody's.
    let readable_anyway = std::fs::read_dir(env.path("a/locked")).is_ok();
    let args = ["scan", "--json", "a"];
    let run = if readable_anyway {
        env.run_unprivileged(&args)
    } else {
        env.run(&args)
    };
    std::fs::set_permissions(env.path("a/locked"), std::fs::Permissions::from_mode(0o755)).unwrap();
    run.code(2);
    let json = run.json();
    let images = json["images"].as_array().unwrap();
    assert_eq!(images.len(), 1, "{run:#?}");
    assert_eq!(images[0]["repository"], "shop/web");
    assert_eq!(images[0]["path"], "ok/imageDetail.json");
    let skipped = json["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{run:#?}");
    assert_eq!(skipped[0]["file"], "a/locked", "{run:#?}");
    assert_eq!(
        skipped[0]["reason"], "cannot be read (Permission denied (os error 13))",
        "{run:#?}"
    );
}

#[test]
fn file_name_can_be_changed() {
    let env = Env::new();
    env.write(
        "a/web-image.json",
        ecr_detail("shop/web", DIGEST_WEB, &["1"]),
    );
    env.write(
        "a/imageDetail.json",
        ecr_detail("shop/api", DIGEST_API, &["1"]),
    );
    let run = env.run(&["scan", "--json", "--file-name", "web-image.json", "a"]);
    run.code(0);
    let images = run.json()["images"].as_array().unwrap().clone();
    assert_eq!(images.len(), 1);
    assert_eq!(images[0]["repository"], "shop/web");
}

/// `--file-name` is a bare file name as OUT's names are: a drive (`C:x`), either separator, `.`
/// and `..` are refused before anything is searched.
#[test]
fn file_name_must_be_a_bare_name() {
    let env = Env::new();
    env.write(
        "a/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["1"]),
    );
    for bad in ["C:x", "a\\b", "a/b", "..", ""] {
        let run = env.run(&["scan", "--file-name", bad, "a"]);
        run.code(2);
        assert_eq!(
            run.stderr(),
            format!(
                "imagedef: error: --file-name {bad:?} is not a file name; give a bare name such as imageDetail.json\n"
            ),
            "{bad:?}"
        );
        assert_eq!(run.stdout(), "", "{bad:?}");
    }
}

#[test]
fn a_missing_root_is_a_usage_error() {
    let env = Env::new();
    env.run(&["scan", "Web=nope"])
        .code(2)
        .stderr_has("imagedef: error: artifact root nope (artifact Web, from argument \"Web=nope\") cannot be read");
}

#[test]
fn a_root_given_twice_is_searched_once() {
    let env = Env::new();
    env.write(
        "a/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["1"]),
    );
    let run = env.run(&["scan", "--json", "a", "Again=a/"]);
    run.code(0)
        .stderr_has("is given twice as an artifact root; searching it once, as artifact Again");
    assert_eq!(run.json()["images"].as_array().unwrap().len(), 1);
}
