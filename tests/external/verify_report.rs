//! `verify`'s report as a whole: every check in one run, its text, `--json` and `--junit` output
//! compared whole with the snapshots `verify_every_check_*` in `snapshots/` (values that change
//! from run to run, such as the digests of a freshly built OCI layout, are replaced by names
//! first). As with `snapshots.rs`, a changed report fails the test and leaves the new text beside
//! the old as `.snap.new` (nothing is written with `CI` set); after a deliberate change,
//! `INSTA_UPDATE=always cargo test --test external verify_report::` rewrites them.

use crate::util::{DIGEST_API, DIGEST_WEB, Env, HOST, ecr_detail, emit_web_bundle, web_and_api};
use crate::verify_oci::{blob, pristine, read_layout};

/// Compares `actual` with `snapshots/<name>.snap`. insta disregards line breaks at either end of
/// a snapshot, so those are checked here: none before the text, exactly one after it.
#[track_caller]
fn same_as_expected(name: &str, actual: &str) {
    assert!(
        !actual.starts_with('\n') && actual.ends_with('\n') && !actual.ends_with("\n\n"),
        "{name} starts or ends with other line breaks than one at its end: {actual:?}"
    );
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(name, actual));
}

/// A build that touches every offline check: two consistent files, one that disagrees, a bundle
/// with its SHA256SUMS, a missing bundle, pins (one held, one not), an OCI layout, an index file
/// and the proofs they give, and a buildspec whose artifacts match one service of the mapping and
/// miss a file of the other.
fn every_check() -> (Env, Vec<(String, &'static str)>) {
    let env = web_and_api();
    emit_web_bundle(&env, "out");
    env.write(
        "bad/imageDetail.json",
        ecr_detail("shop/api", DIGEST_API, &["1"]).replace(
            "\"RepositoryName\":\"shop/api\"",
            "\"RepositoryName\":\"shop/other\"",
        ),
    );
    env.write(
        "pins.json",
        format!(r#"{{"shop/web": "{DIGEST_WEB}", "shop/api": "{DIGEST_WEB}"}}"#),
    );
    env.copy_dir(pristine(), "layout");
    let layout = read_layout(&env.path("layout"));
    std::fs::copy(
        blob(&env.path("layout"), &layout.index),
        env.path("index.json"),
    )
    .unwrap();
    env.write(
        "art/imageDetail.json",
        format!(
            r#"{{"ImageDigest":"{d}","RegistryId":"111122223333","RepositoryName":"tiny","ImageURI":"{HOST}/tiny@{d}","ImageTags":["v1"]}}"#,
            d = layout.index
        ),
    );
    env.write(
        "imagedef.json",
        r#"{"services": {"web": {"containers": {"web": {"repository": "shop/web"}}},
            "api": {"containers": {"api": {"repository": "shop/api"}}, "blueGreen": "api"}}}"#,
    );
    env.write(
        "buildspec.yml",
        "version: 0.2\nartifacts:\n  files: [SHA256SUMS]\n  base-directory: imagedef-out\n  secondary-artifacts:\n    web:\n      base-directory: imagedef-out/web\n      files: [imagedefinitions.json]\n    api:\n      base-directory: imagedef-out/api\n      files: [imagedefinitions.json]\n",
    );
    let blobs: u64 = std::fs::read_dir(env.path("layout/blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    let zip = std::fs::read(env.path("out/imagedefinitions.zip")).unwrap();
    let zip = imagedef::testing::Digest::of(&zip);
    let names = vec![
        (layout.index.clone(), "{INDEX}"),
        (layout.manifest.clone(), "{MANIFEST}"),
        (layout.config.clone(), "{CONFIG}"),
        (layout.layer.clone(), "{LAYER}"),
        (layout.index[7..].to_owned(), "{INDEX_HEX}"),
        (layout.manifest[7..].to_owned(), "{MANIFEST_HEX}"),
        (zip.hex(), "{ZIP_HEX}"),
        (zip.base64(), "{ZIP_BASE64}"),
        (format!("({blobs} bytes)"), "({LAYOUT_BYTES} bytes)"),
    ];
    (env, names)
}

const EVERY_CHECK: &[&str] = &[
    "verify",
    "web",
    "api",
    "bad",
    "art",
    "--bundle",
    "out/imagedefinitions.zip",
    "--bundle",
    "missing.zip",
    "--expect",
    "pins.json",
    "--oci",
    "layout",
    "--manifest",
    "index.json",
    "--buildspec",
    "buildspec.yml",
    "--mapping",
    "imagedef.json",
    "--junit",
    "reports/imagedef.xml",
];

/// `text` with the values in `names` replaced by their names. Digests that a message lists in
/// digest order are put in one order, as the layout's digests change with every build of it.
fn named(mut text: String, names: &[(String, &str)]) -> String {
    for (value, name) in names {
        text = text.replace(value.as_str(), name);
    }
    text.replace("{MANIFEST}, {INDEX}", "{INDEX}, {MANIFEST}")
}

#[test]
fn the_whole_report_of_every_check_as_text_json_and_junit() {
    let (env, names) = every_check();
    let run = env.run(EVERY_CHECK);
    run.code(2);
    same_as_expected(
        "verify_every_check_text",
        &named(run.stdout().to_owned(), &names),
    );
    same_as_expected(
        "verify_every_check_junit",
        &named(env.read("reports/imagedef.xml"), &names),
    );
    let mut args = EVERY_CHECK.to_vec();
    args.push("--json");
    let run = env.run(&args);
    run.code(2);
    same_as_expected(
        "verify_every_check_json",
        &named(run.stdout().to_owned(), &names),
    );
}
