//! Whole messages, as a user sees them: every `--help`, and the refusal a user meets most for each
//! common mistake, compared with the files in `snapshots/`.
//!
//! Each snapshot holds the command line, the exit code, the whole stderr and the whole stdout
//! (see [`crate::util::snapshot`]); the test's temporary folder reads `[TMP]`. The refusals that
//! need moto are in `tests/external/snapshots.rs`, with their files in
//! `tests/external/snapshots/`.
//!
//! A missing or different snapshot fails the test. With `CI` set (`CI=true`, as CI runs) nothing is
//! written; elsewhere the new text is left beside the old as `<name>.snap.new` to compare. After a
//! deliberate message change, `INSTA_UPDATE=always cargo test --test integration snapshots::`
//! rewrites them, and the diff of `snapshots/` is the change a reviewer reads.

use crate::util::bundled::bundle;
use crate::util::snapshot::{bundled, env, orphans, pinned, shown};
use crate::util::{
    DIGEST_API, DIGEST_WEB, Env, HOST, INPUTS_ONLY, ecr_detail, emit_web_bundle, short_digests,
    web_and_api, web_artifact,
};

/// [`web_artifact`], pinned as in [`env`].
fn web() -> Env {
    pinned(web_artifact())
}

/// Compares `text` with `snapshots/<name>.snap` (see the module's documentation).
fn check(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

// --- help ---------------------------------------------------------------------------------------

/// The whole help of `imagedef ARGS --help`.
fn help_of(name: &str, args: &[&str]) {
    let args = [args, &["--help"]].concat();
    check(name, &shown(&env(), &args, &[]));
}

#[test]
fn help() {
    help_of("help", &[]);
}

#[test]
fn help_scan() {
    help_of("help_scan", &["scan"]);
}

#[test]
fn help_emit() {
    help_of("help_emit", &["emit"]);
}

#[test]
fn help_buildspec() {
    help_of("help_buildspec", &["buildspec"]);
}

#[test]
fn help_verify() {
    help_of("help_verify", &["verify"]);
}

#[test]
fn help_publish() {
    help_of("help_publish", &["publish"]);
}

#[test]
fn help_schema() {
    help_of("help_schema", &["schema"]);
}

#[test]
fn help_deploy() {
    help_of("help_deploy", &["deploy"]);
}

#[test]
fn help_confirm() {
    help_of("help_confirm", &["confirm"]);
}

// --- usage --------------------------------------------------------------------------------------

#[test]
fn usage_unknown_flag() {
    let env = env();
    check("usage_unknown_flag", &shown(&env, &["emit", "--nope"], &[]));
}

#[test]
fn usage_missing_root() {
    let env = env();
    check(
        "usage_missing_root",
        &shown(&env, &["scan", "Web=nope"], &[]),
    );
}

// --- imageDetail.json ---------------------------------------------------------------------------

fn emit_art(env: &Env, name: &str, extra: &[&str]) {
    let mut args = vec!["emit", "Img=art", "--container", "app", "--out", "out"];
    args.extend(extra);
    check(name, &shown(env, &args, &[]));
}

#[test]
fn image_detail_not_json() {
    let env = env();
    env.write(
        "art/imageDetail.json",
        format!("{{\n  \"ImageURI\": \"{HOST}/web:1\"\n  \"ImageTags\": []\n}}"),
    );
    emit_art(&env, "image_detail_not_json", &[]);
}

#[test]
fn image_detail_misspelt_key() {
    let env = env();
    env.write(
        "art/imageDetail.json",
        format!("{{\"imageURI\":\"{HOST}/web:1\"}}"),
    );
    emit_art(&env, "image_detail_misspelt_key", &[]);
}

#[test]
fn image_detail_is_imagedefinitions() {
    let env = env();
    env.write(
        "art/imageDetail.json",
        format!("[{{\"name\":\"web\",\"imageUri\":\"{HOST}/web:1\"}}]"),
    );
    emit_art(&env, "image_detail_is_imagedefinitions", &[]);
}

#[test]
fn image_detail_unrendered_template() {
    let env = env();
    env.write("art/imageDetail.json", r#"{"ImageURI":"<IMAGE_URI>"}"#);
    emit_art(&env, "image_detail_unrendered_template", &[]);
}

#[test]
fn image_detail_fields_disagree() {
    let env = env();
    let detail = ecr_detail("shop/web", DIGEST_WEB, &["1"]).replace(
        &format!("\"ImageDigest\":\"{DIGEST_WEB}\""),
        &format!("\"ImageDigest\":\"{DIGEST_API}\""),
    );
    env.write("art/imageDetail.json", detail);
    emit_art(&env, "image_detail_fields_disagree", &[]);
}

#[test]
fn image_detail_uri_without_digest() {
    let env = env();
    env.write(
        "art/imageDetail.json",
        format!("{{\"ImageURI\":\"{HOST}/shop/web:1\"}}"),
    );
    emit_art(&env, "image_detail_uri_without_digest", &[]);
}

// --- choosing the image -------------------------------------------------------------------------

#[test]
fn no_image_found() {
    let env = env();
    env.mkdir("art/empty");
    emit_art(&env, "no_image_found", &[]);
}

#[test]
fn ambiguous_image() {
    let env = pinned(web_and_api());
    check(
        "ambiguous_image",
        &shown(&env, &["emit", "web", "api", "--container", "app"], &[]),
    );
}

#[test]
fn no_container_name() {
    let env = web();
    check(
        "no_container_name",
        &shown(&env, &["emit", "web", "--out", "out"], &[]),
    );
}

#[test]
fn bad_container_name() {
    let env = web();
    check(
        "bad_container_name",
        &shown(&env, &["emit", "web", "--container", "web app"], &[]),
    );
}

#[test]
fn tag_mode_with_two_tags() {
    let env = env();
    env.write(
        "art/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["v1.2.0", "e6828a4"]),
    );
    emit_art(&env, "tag_mode_with_two_tags", &["--uri", "tag"]);
}

#[test]
fn tag_pattern_matches_no_tag() {
    let env = env();
    env.write(
        "art/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["v1.2.0", "e6828a4"]),
    );
    emit_art(
        &env,
        "tag_pattern_matches_no_tag",
        &["--uri", "tag", "--tag-pattern", "^release-"],
    );
}

#[test]
fn unknown_uri_mode() {
    let env = env();
    env.write(
        "art/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["1"]),
    );
    emit_art(&env, "unknown_uri_mode", &["--uri", "sha"]);
}

// --- task definitions ---------------------------------------------------------------------------

#[test]
fn task_definition_lacks_the_container() {
    let env = env();
    env.write(
        "art/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["1"]),
    );
    env.write(
        "td.json",
        r#"{"family":"shop","containerDefinitions":[{"name":"web"},{"name":"proxy"}]}"#,
    );
    emit_art(
        &env,
        "task_definition_lacks_the_container",
        &["--task-definition", "td.json"],
    );
}

#[test]
fn task_definition_missing() {
    let env = env();
    env.write(
        "art/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["1"]),
    );
    emit_art(
        &env,
        "task_definition_missing",
        &["--task-definition", "nope.json"],
    );
}

// --- mapping files ------------------------------------------------------------------------------

/// `emit --mapping src/imagedef.json Web=web --out out` with `mapping` as the file.
fn emit_mapping(name: &str, mapping: &str) {
    let env = web();
    env.write("src/imagedef.json", mapping);
    check(
        name,
        &shown(
            &env,
            &[
                "emit",
                "--mapping",
                "src/imagedef.json",
                "Web=web",
                "--out",
                "out",
            ],
            &[],
        ),
    );
}

#[test]
fn mapping_misspelt_key() {
    emit_mapping(
        "mapping_misspelt_key",
        r#"{"services": {"web": {"containers": {"web": {"artifcat": "Web"}}}}}"#,
    );
}

#[test]
fn mapping_not_json() {
    emit_mapping("mapping_not_json", "{\"services\": ");
}

#[test]
fn mapping_selector_matches_nothing() {
    emit_mapping(
        "mapping_selector_matches_nothing",
        r#"{"services": {"web": {"containers": {"web": {"repository": "shop/nope"}}}}}"#,
    );
}

#[test]
fn mapping_blue_green_names_no_container() {
    emit_mapping(
        "mapping_blue_green_names_no_container",
        r#"{"services": {"web": {"containers": {"web": {"artifact": "Web"}}, "blueGreen": "api"}}}"#,
    );
}

#[test]
fn mapping_bad_service_name() {
    emit_mapping(
        "mapping_bad_service_name",
        r#"{"services": {"../x": {"containers": {"web": {"artifact": "Web"}}}}}"#,
    );
}

#[test]
fn mapping_file_missing() {
    let env = web();
    check(
        "mapping_file_missing",
        &shown(&env, &["emit", "web", "--mapping", "nope.json"], &[]),
    );
}

// --- the output folder --------------------------------------------------------------------------

/// A mapping for service `web` (container `web` from artifact `Web`) in `imagedef.json`.
fn mapped() -> Env {
    let env = web();
    env.write(
        "imagedef.json",
        r#"{"services": {"web": {"containers": {"web": {"artifact": "Web"}}}}}"#,
    );
    env
}

const EMIT_MAPPED: &[&str] = &[
    "emit",
    "Web=web",
    "--mapping",
    "imagedef.json",
    "--out",
    "out",
];

#[test]
fn out_holds_files_imagedef_did_not_write() {
    let env = mapped();
    env.run(EMIT_MAPPED).code(0).stdout_is(&short_digests(&format!(

        "web: {INPUTS_ONLY}\n  web = {HOST}/shop/web@{DIGEST_WEB}  (from Web:imageDetail.json)\nwrote 3 files for 1 service to out\n"
    )));
    env.write("out/notes.txt", "mine");
    check(
        "out_holds_files_imagedef_did_not_write",
        &shown(&env, EMIT_MAPPED, &[]),
    );
}

#[test]
fn out_is_a_symlink() {
    let env = mapped();
    env.mkdir("real");
    std::os::unix::fs::symlink("real", env.path("out")).unwrap();
    check("out_is_a_symlink", &shown(&env, EMIT_MAPPED, &[]));
}

#[test]
fn out_is_a_dangling_symlink() {
    let env = web();
    std::os::unix::fs::symlink("missing/dir", env.path("out")).unwrap();
    check(
        "out_is_a_dangling_symlink",
        &shown(
            &env,
            &["emit", "web", "--container", "app", "--out", "out"],
            &[],
        ),
    );
}

#[test]
fn out_is_a_file() {
    let env = web();
    env.write("out", "a file");
    check(
        "out_is_a_file",
        &shown(
            &env,
            &["emit", "web", "--container", "app", "--out", "out"],
            &[],
        ),
    );
}

// --- verify -------------------------------------------------------------------------------------

#[test]
fn verify_nothing_found() {
    let env = env();
    env.mkdir("empty");
    check(
        "verify_nothing_found",
        &shown(&env, &["verify", "empty"], &[]),
    );
}

#[test]
fn pin_digest_mismatch() {
    let env = pinned(web_and_api());
    env.write(
        "pins.json",
        format!(r#"{{"shop/web": "{DIGEST_API}", "shop/api": "{DIGEST_API}"}}"#),
    );
    check(
        "pin_digest_mismatch",
        &shown(
            &env,
            &["verify", "web", "api", "--expect", "pins.json"],
            &[],
        ),
    );
}

#[test]
fn pin_file_malformed() {
    let env = web();
    env.write("pins.json", r#"{"shop/web": "sha256:abc"}"#);
    check(
        "pin_file_malformed",
        &shown(&env, &["verify", "web", "--expect", "pins.json"], &[]),
    );
}

#[test]
fn bundle_tampered() {
    let env = web();
    emit_web_bundle(&env, "out");
    let mut bytes = std::fs::read(env.path("out/imagedefinitions.zip")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x20;
    env.write("out/imagedefinitions.zip", bytes);
    check(
        "bundle_tampered",
        &shown(
            &env,
            &["verify", "web", "--bundle", "out/imagedefinitions.zip"],
            &[],
        ),
    );
}

#[test]
fn bundle_missing() {
    let env = web();
    check(
        "bundle_missing",
        &shown(&env, &["verify", "web", "--bundle", "nope.zip"], &[]),
    );
}

#[test]
fn oci_layout_is_not_a_layout() {
    let env = web();
    env.mkdir("empty");
    check(
        "oci_layout_is_not_a_layout",
        &shown(&env, &["verify", "web", "--oci", "empty"], &[]),
    );
}

// --- publish ------------------------------------------------------------------------------------

#[test]
fn publish_out_without_bundles() {
    let env = env();
    env.mkdir("out");
    check(
        "publish_out_without_bundles",
        &shown(&env, &["publish", "out", "--bucket", "bundles"], &[]),
    );
}

/// A closed port: a refusal before any call to S3 is all a run against it can end in.
const NO_S3: &str = "http://127.0.0.1:9";

#[test]
fn publish_key_with_leading_slash() {
    let env = bundled(NO_S3);
    check(
        "publish_key_with_leading_slash",
        &shown(
            &env,
            &[
                "publish",
                "out",
                "--bucket",
                "bundles",
                "--key",
                "/{service}.zip",
            ],
            &[],
        ),
    );
}

#[test]
fn publish_bucket_given_as_uri() {
    let env = bundled(NO_S3);
    check(
        "publish_bucket_given_as_uri",
        &shown(&env, &["publish", "out", "--bucket", "s3://bundles/x"], &[]),
    );
}

#[test]
fn publish_tampered_bundle() {
    let env = bundled(NO_S3);
    let mut bytes = bundle(&env, 1);
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    env.write("out/s1.zip", bytes);
    check(
        "publish_tampered_bundle",
        &shown(&env, &["publish", "out", "--bucket", "bundles"], &[]),
    );
}

// --- the snapshots themselves -------------------------------------------------------------------

#[test]
fn every_snapshot_file_belongs_to_a_test() {
    let orphans = orphans(
        "tests/integration/snapshots",
        &[include_str!("snapshots.rs")],
    );
    assert!(
        orphans.is_empty(),
        "no test in snapshots.rs names these (a renamed or removed case?): delete them: {orphans:?}"
    );
}
