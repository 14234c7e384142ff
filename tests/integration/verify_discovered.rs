//! `verify`: every discovered file checked, every problem reported, exit by the worst.

use crate::util::{DIGEST_API, DIGEST_WEB, Env, ecr_detail};

#[test]
fn consistent_files_pass() {
    let env = crate::util::web_and_api();
    env.run(&["verify", "web", "api"])
        .code(0)
        .stdout_has("2 passed, 0 failed");
}

#[test]
fn every_disagreement_is_reported_then_exit_1() {
    let env = Env::new();
    let wrong_digest = ecr_detail("shop/web", DIGEST_WEB, &["1"]).replacen(
        &format!("\"ImageDigest\":\"{DIGEST_WEB}\""),
        &format!("\"ImageDigest\":\"{DIGEST_API}\""),
        1,
    );
    let wrong_repo = ecr_detail("shop/api", DIGEST_API, &["1"]).replace(
        "\"RepositoryName\":\"shop/api\"",
        "\"RepositoryName\":\"shop/other\"",
    );
    let wrong_account = ecr_detail("shop/x", DIGEST_API, &["1"]).replace(
        "\"RegistryId\":\"111122223333\"",
        "\"RegistryId\":\"444455556666\"",
    );
    env.write("w/imageDetail.json", wrong_digest);
    env.write("a/imageDetail.json", wrong_repo);
    env.write("x/imageDetail.json", wrong_account);
    let run = env.run(&["verify", "--json", "w", "a", "x"]);
    run.code(1);
    let findings = run.json()["findings"].as_array().unwrap().clone();
    assert_eq!(findings.len(), 3, "{run:#?}");
    let all = serde_json::to_string(&findings).unwrap();
    assert!(all.contains("but ImageDigest is"), "{all}");
    assert!(
        all.contains("RepositoryName is \\\"shop/other\\\""),
        "{all}"
    );
    assert!(all.contains("RegistryId is \\\"444455556666\\\""), "{all}");
}

#[test]
fn with_strict_a_malformed_file_is_exit_2_even_beside_a_failure() {
    let env = Env::new();
    env.write("bad/imageDetail.json", "{");
    let wrong_repo = ecr_detail("shop/api", DIGEST_API, &["1"]).replace(
        "\"RepositoryName\":\"shop/api\"",
        "\"RepositoryName\":\"shop/other\"",
    );
    env.write("a/imageDetail.json", wrong_repo);
    env.run(&["verify", "bad", "a", "--strict"])
        .code(2)
        .stdout_has("ERROR")
        .stdout_has("FAILED");
}

#[test]
fn nothing_to_verify_is_exit_1() {
    let env = Env::new();
    env.mkdir("empty");
    env.run(&["verify", "empty"])
        .code(1)
        .stdout_has("nothing was verified");
}

/// In a build, files are found under absolute paths that change with every build
/// (`/codebuild/output/srcNNN/...`): the JUnit report names each case by its artifact and its
/// path inside it, so that a report group follows it from build to build.
#[test]
fn junit_names_hold_no_absolute_build_path() {
    let mut env = crate::util::web_and_api();
    let (web, api) = (env.path("web"), env.path("api"));
    env.set("CODEBUILD_SRC_DIR", web.to_str().unwrap());
    env.set("CODEBUILD_SRC_DIR_ApiImage", api.to_str().unwrap());
    env.run(&["verify", "--junit", "r.xml"])
        .code(0)
        .stdout_has("2 passed, 0 failed");
    let xml = env.read("r.xml");
    let names: Vec<&str> = xml
        .lines()
        .filter_map(|l| l.split(" name=\"").nth(1))
        .map(|rest| rest.split('"').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "imagedef verify",
            "imageDetail",
            "primary:imageDetail.json",
            "ApiImage:imageDetail.json",
        ],
        "{xml}"
    );
}
