//! `verify --expect`: pinned repositories must carry their pinned digest.

use crate::util::{DIGEST_API, DIGEST_WEB, emit_web_bundle, web_and_api};

#[test]
fn a_matching_pin_passes() {
    let env = web_and_api();
    env.write(
        "pins.json",
        format!(r#"{{"shop/web": "{DIGEST_WEB}", "shop/api": "{DIGEST_API}"}}"#),
    );
    let run = env.run(&["verify", "web", "api", "--expect", "pins.json", "--json"]);
    run.code(0);
    let checked = run.json()["checked"].to_string();
    assert!(
        checked.contains(&format!(
            "repository \\\"shop/web\\\" pinned to {DIGEST_WEB}"
        )),
        "{checked}"
    );
    assert!(checked.contains("shop/api"), "{checked}");
}

#[test]
fn a_mismatch_names_both_digests_and_the_file() {
    let env = web_and_api();
    env.write(
        "pins.json",
        format!(r#"{{"shop/web": "{DIGEST_API}", "shop/api": "{DIGEST_API}"}}"#),
    );
    let run = env.run(&["verify", "web", "api", "--expect", "pins.json"]);
    run.code(1)
        .stdout_has(&format!(
            "has digest {DIGEST_WEB}, but pins.json pins repository \"shop/web\" to {DIGEST_API}"
        ))
        .stdout_has("3 passed, 1 failed");
}

#[test]
fn an_unpinned_repository_passes_unchecked() {
    let env = web_and_api();
    env.write(
        "pins.json",
        format!(
            r#"{{"repositories": {{"shop/api": "{DIGEST_API}", "shop/gone": "{DIGEST_WEB}"}}}}"#
        ),
    );
    let run = env.run(&["verify", "web", "api", "--expect", "pins.json"]);
    run.code(0)
        .stdout_has("pinned to")
        .stderr_has("no image found for the pins of repository \"shop/gone\"");
    assert!(!run.stdout().contains("shop/web\" pinned"), "{run:#?}");
}

#[test]
fn a_full_image_name_pins_too() {
    let env = web_and_api();
    env.write(
        "pins.json",
        format!(r#"{{"111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web": "{DIGEST_API}"}}"#),
    );
    env.run(&["verify", "web", "api", "--expect", "pins.json"])
        .code(1)
        .stdout_has(&format!("to {DIGEST_API}"));
}

#[test]
fn a_malformed_expect_file_is_exit_2_naming_the_key() {
    let env = web_and_api();
    env.write("pins.json", r#"{"shop/web": "sha256:abc"}"#);
    env.run(&["verify", "web", "--expect", "pins.json"])
        .code(2)
        .stdout_has("pins.json")
        .stdout_has("key \"shop/web\" = \"sha256:abc\"");
    env.write("list.json", "[]");
    env.run(&["verify", "web", "--expect", "list.json"])
        .code(2)
        .stdout_has("not a JSON object");
    env.run(&["verify", "web", "--expect", "missing.json"])
        .code(2)
        .stdout_has("cannot read expect file missing.json");
}

#[test]
fn container_pins_hold_bundled_containers() {
    let env = web_and_api();
    emit_web_bundle(&env, "out");
    env.write(
        "pins.json",
        format!(r#"{{"containers": {{"imagedefinitions/app": "{DIGEST_API}"}}}}"#),
    );
    env.run(&[
        "verify",
        "web",
        "--bundle",
        "out/imagedefinitions.zip",
        "--expect",
        "pins.json",
    ])
    .code(1)
    .stdout_has("out/imagedefinitions.zip:imagedefinitions.json [app]")
    .stdout_has("pins container \"imagedefinitions/app\"");
    env.write(
        "pins.json",
        format!(r#"{{"containers": {{"app": "{DIGEST_WEB}"}}}}"#),
    );
    env.run(&[
        "verify",
        "web",
        "--bundle",
        "out/imagedefinitions.zip",
        "--expect",
        "pins.json",
    ])
    .code(0)
    .stdout_has("container \"app\" pinned to");
}

#[test]
fn the_most_specific_pin_wins_without_a_false_warning() {
    let env = web_and_api();
    env.write(
        "pins.json",
        format!(
            r#"{{"shop/web": "{DIGEST_API}", "111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web": "{DIGEST_WEB}"}}"#
        ),
    );
    let run = env.run(&["verify", "web", "--expect", "pins.json"]);
    run.code(0).stdout_has(&format!(
        "repository \"111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web\" pinned to {DIGEST_WEB}"
    ));
    assert!(!run.stderr().contains("no image found"), "{run:#?}");
    // And the other way round the specific pin still decides.
    env.write(
        "pins.json",
        format!(
            r#"{{"shop/web": "{DIGEST_WEB}", "111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web": "{DIGEST_API}"}}"#
        ),
    );
    env.run(&["verify", "web", "--expect", "pins.json"])
        .code(1)
        .stdout_has(&format!("pins repository \"111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web\" to {DIGEST_API}"));
}

#[test]
fn a_pins_file_with_a_key_twice_is_exit_2() {
    let env = web_and_api();
    env.write(
        "pins.json",
        format!(r#"{{"shop/web": "{DIGEST_API}", "shop/web": "{DIGEST_WEB}"}}"#),
    );
    env.run(&["verify", "web", "--expect", "pins.json"])
        .code(2)
        .stdout_has("expect file pins.json: key \"shop/web\" appears more than once");
}

#[test]
fn repository_pins_hold_bundle_contents() {
    let env = web_and_api();
    emit_web_bundle(&env, "out");
    env.write("pins.json", format!(r#"{{"shop/web": "{DIGEST_API}"}}"#));
    env.run(&["verify", "--bundle", "out/imagedefinitions.zip", "--expect", "pins.json"])
        .code(1)
        .stdout_has("out/imagedefinitions.zip:imagedefinitions.json [app]: image 111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web has digest");
}

/// An imageDetail.json in `dir` whose `ImageURI` spells shop/web's registry host as `host`.
fn web_spelled(env: &crate::util::Env, dir: &str, host: &str, digest: &str) {
    env.write(
        &format!("{dir}/imageDetail.json"),
        format!(
            r#"{{"ImageDigest":"{digest}","RegistryId":"111122223333","RepositoryName":"shop/web","ImageURI":"{host}/shop/web@{digest}","ImageTags":["1"]}}"#
        ),
    );
}

#[test]
fn a_pin_holds_every_spelling_of_its_ecr_repository() {
    for host in [
        "111122223333.dkr.ecr-fips.us-east-1.amazonaws.com",
        "111122223333.dkr-ecr.us-east-1.on.aws",
        "111122223333.dkr-ecr-fips.us-east-1.on.aws",
        "111122223333.DKR.ECR.US-EAST-1.AMAZONAWS.COM",
    ] {
        let env = crate::util::Env::new();
        web_spelled(&env, "web", host, DIGEST_API);
        env.write(
            "pins.json",
            format!(
                r#"{{"111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web": "{DIGEST_WEB}"}}"#
            ),
        );
        let run = env.run(&["verify", "web", "--expect", "pins.json"]);
        run.code(1).stdout_has(&format!(
            "image {host}/shop/web has digest {DIGEST_API}, but pins.json pins repository \"111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web\" (= 111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web) to {DIGEST_WEB}; deploy the pinned image or update pins.json"
        ));
        assert!(!run.stderr().contains("no image found"), "{host}: {run:#?}");
    }
}

#[test]
fn a_pin_holds_every_docker_hub_spelling() {
    let nginx = format!("sha256:{}", "a".repeat(64));
    for (image, key) in [
        ("nginx", "docker.io/library/nginx"),
        ("nginx", "index.docker.io/library/nginx"),
        ("nginx", "library/nginx"),
        ("docker.io/library/nginx", "nginx"),
        ("index.docker.io/library/nginx", "docker.io/nginx"),
    ] {
        let env = crate::util::Env::new();
        env.write(
            "hub/imageDetail.json",
            format!(r#"{{"ImageURI":"{image}@{nginx}"}}"#),
        );
        env.write("pins.json", format!(r#"{{"{key}": "{DIGEST_WEB}"}}"#));
        let run = env.run(&["verify", "hub", "--expect", "pins.json"]);
        run.code(1).stdout_has(&format!(
            "image {image} has digest {nginx}, but pins.json pins repository \"{key}\" (= docker.io/library/nginx) to {DIGEST_WEB}"
        ));
    }
}

#[test]
fn two_keys_for_one_repository_are_exit_2_naming_both() {
    let env = web_and_api();
    for (pins, first, second, same) in [
        (
            format!(
                r#"{{"shop/web": "{DIGEST_WEB}", "repositories": {{"shop/web": "{DIGEST_API}"}}}}"#
            ),
            "shop/web",
            "repositories.shop/web",
            "repository \"shop/web\"",
        ),
        (
            format!(
                r#"{{"111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web": "{DIGEST_WEB}", "111122223333.dkr-ecr.us-east-1.on.aws/shop/web": "{DIGEST_API}"}}"#
            ),
            "111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web",
            "111122223333.dkr-ecr.us-east-1.on.aws/shop/web",
            "repository 111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web",
        ),
        (
            format!(
                r#"{{"nginx": "{DIGEST_WEB}", "repositories": {{"library/nginx": "{DIGEST_WEB}"}}}}"#
            ),
            "nginx",
            "repositories.library/nginx",
            "the Docker Hub repository docker.io/library/nginx",
        ),
    ] {
        env.write("pins.json", pins);
        let run = env.run(&["verify", "web", "--expect", "pins.json"]);
        run.code(2).stdout_has(&format!(
            "expect file pins.json: keys \"{first}\" and \"{second}\" both pin {same}; keep one of them"
        ));
    }
}

#[test]
fn a_pin_key_that_is_no_repository_is_exit_2() {
    let env = web_and_api();
    env.write("pins.json", format!(r#"{{"shop/web:v1": "{DIGEST_WEB}"}}"#));
    env.run(&["verify", "web", "--expect", "pins.json"])
        .code(2)
        .stdout_has("expect file pins.json: key \"shop/web:v1\" has a tag or digest; a repository key names the repository only: write \"shop/web\"");
}

#[test]
fn a_bundle_is_held_against_the_build_whatever_the_host_spelling() {
    let env = web_and_api();
    emit_web_bundle(&env, "out");
    // The build discovers the same repository through its dual-stack host, with another digest.
    web_spelled(
        &env,
        "web",
        "111122223333.dkr-ecr.us-east-1.on.aws",
        DIGEST_API,
    );
    env.run(&["verify", "web", "--bundle", "out/imagedefinitions.zip"])
        .code(1)
        .stdout_has(&format!(
            "deploys 111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web with digest {DIGEST_WEB}, but this build discovered {DIGEST_API}"
        ));
}
