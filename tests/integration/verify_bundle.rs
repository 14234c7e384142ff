//! `verify --bundle`: zips re-checked as their readers see them; tampering and hostile zips fail.

use std::io::Write as _;

use crate::util::{DIGEST_API, DIGEST_WEB, Env, HOST, ecr_detail, emit_web_bundle, web_artifact};

/// An environment with one artifact and its bundle in `out/` (zip, json, SHA256SUMS).
fn bundled() -> Env {
    let env = web_artifact();
    emit_web_bundle(&env, "out");
    env
}

/// A zip written the way imagedef writes them (seekable, DEFLATE), with any names and bytes.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        w.start_file(*name, options).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn defs(name: &str, uri: &str) -> Vec<u8> {
    format!(r#"[{{"name":"{name}","imageUri":"{uri}"}}]"#).into_bytes()
}

#[test]
fn a_fresh_bundle_passes() {
    let env = bundled();
    env.run(&["verify", "web", "--bundle", "out/imagedefinitions.zip"])
        .code(0)
        .stdout_has("ok      out/imagedefinitions.zip: zip of imagedefinitions.json at its root reads cleanly")
        .stdout_has("deploys sha256:")
        .stdout_has("3 passed, 0 failed");
}

#[test]
fn every_tampered_byte_is_exit_1() {
    let env = bundled();
    let original = std::fs::read(env.path("out/imagedefinitions.zip")).unwrap();
    for at in 0..original.len() {
        let mut bytes = original.clone();
        bytes[at] ^= 0x20;
        std::fs::write(env.path("out/imagedefinitions.zip"), &bytes).unwrap();
        let run = env.run(&["verify", "web", "--bundle", "out/imagedefinitions.zip"]);
        assert_eq!(run.code, 1, "byte {at} flipped: {run:#?}");
        assert!(
            run.stdout().contains("SHA256SUMS lists sha256:")
                && run.stdout().contains("the zip was changed"),
            "byte {at}: {run:#?}"
        );
    }
}

#[test]
fn a_changed_data_byte_fails_even_without_sha256sums() {
    let env = bundled();
    let mut bytes = std::fs::read(env.path("out/imagedefinitions.zip")).unwrap();
    // The first byte of compressed data, after the 30-byte header and the 21-byte name.
    bytes[30 + "imagedefinitions.json".len() + 5] ^= 0x55;
    env.write("loose/imagedefinitions.zip", bytes);
    let run = env.run(&["verify", "web", "--bundle", "loose/imagedefinitions.zip"]);
    run.code(1)
        .stdout_has("entry \"imagedefinitions.json\"")
        .stdout_has("a byte of the zip was changed");
}

#[test]
fn entries_outside_the_root_are_refused_unread() {
    let env = bundled();
    let uri = format!("{HOST}/shop/web@{DIGEST_WEB}");
    for name in [
        "../imagedefinitions.json",
        "/imagedefinitions.json",
        "svc/imagedefinitions.json",
    ] {
        env.write(
            "evil/imagedefinitions.zip",
            zip_of(&[(name, &defs("app", &uri))]),
        );
        env.run(&["verify", "web", "--bundle", "evil/imagedefinitions.zip"])
            .code(1)
            .stdout_has(&format!("entry {name:?} is not a file at the zip root"))
            .stdout_has("holds neither imagedefinitions.json nor imageDetail.json");
    }
}

#[test]
fn a_zip_bomb_is_refused_before_it_is_inflated() {
    let env = bundled();
    let zeros = vec![0u8; 4 * 1024 * 1024];
    let bytes = zip_of(&[("imagedefinitions.json", &zeros)]);
    assert!(bytes.len() < 64 * 1024, "{}", bytes.len());
    env.write("bomb/imagedefinitions.zip", bytes);
    env.run(&["verify", "web", "--bundle", "bomb/imagedefinitions.zip"])
        .code(1)
        .stdout_has("inflates to 4194304 bytes")
        .stdout_has("refused as a zip bomb");
    // Many entries that add up past the limit, too.
    let mib = vec![b' '; 1024 * 1024];
    let names: Vec<String> = (0..4).map(|i| format!("pad{i}.json")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &mib[..])).collect();
    env.write("bomb/many.zip", zip_of(&entries));
    env.run(&["verify", "web", "--bundle", "bomb/many.zip"])
        .code(1)
        .stdout_has("in all so far), more than the 3 MB limit");
}

#[test]
fn wrong_shapes_inside_are_each_reported() {
    let env = bundled();
    let detail_bad = ecr_detail("shop/api", DIGEST_API, &["1"]).replace(
        "\"RepositoryName\":\"shop/api\"",
        "\"RepositoryName\":\"shop/other\"",
    );
    let defs_bad = format!(
        r#"[{{"name":"bad name","imageUri":"{HOST}/shop/web@{DIGEST_WEB}"}},{{"name":"x","imageUri":"Not An Image"}},{{"Name":"y","ImageUri":"z"}}]"#
    );
    env.write(
        "shapes/web.zip",
        zip_of(&[
            ("imagedefinitions.json", defs_bad.as_bytes()),
            ("imageDetail.json", detail_bad.as_bytes()),
        ]),
    );
    let run = env.run(&["verify", "web", "--bundle", "shapes/web.zip", "--json"]);
    run.code(1);
    let findings = run.json()["findings"].to_string();
    for want in [
        "key \\\"[0].name\\\"",
        "key \\\"[1].imageUri\\\" = \\\"Not An Image\\\"",
        "item [2]",
        "RepositoryName is \\\"shop/other\\\"",
    ] {
        assert!(findings.contains(want), "{want} in {findings}");
    }
    env.write(
        "shapes/object.zip",
        zip_of(&[("imagedefinitions.json", b"{}")]),
    );
    env.run(&["verify", "web", "--bundle", "shapes/object.zip"])
        .code(1)
        .stdout_has("is not a JSON array");
    env.write("shapes/other.zip", zip_of(&[("readme.txt", b"hi")]));
    env.run(&["verify", "web", "--bundle", "shapes/other.zip"])
        .code(1)
        .stdout_has("holds neither imagedefinitions.json nor imageDetail.json at its root (entries: \"readme.txt\")");
}

#[test]
fn a_blue_green_bundle_with_image_detail_passes() {
    let env = bundled();
    let detail = format!(r#"{{"ImageURI":"{HOST}/shop/web@{DIGEST_WEB}"}}"#);
    env.write(
        "bg/web.zip",
        zip_of(&[
            ("imageDetail.json", detail.as_bytes()),
            (
                "imagedefinitions.json",
                &defs("app", &format!("{HOST}/shop/web@{DIGEST_WEB}")),
            ),
        ]),
    );
    env.run(&["verify", "web", "--bundle", "bg/web.zip"])
        .code(0)
        .stdout_has("zip of imageDetail.json, imagedefinitions.json at its root");
}

#[test]
fn sha256sums_that_do_not_list_the_zip_or_disagree_with_the_loose_file_fail() {
    let env = bundled();
    env.write(
        "out/SHA256SUMS",
        "0000000000000000000000000000000000000000000000000000000000000000  other.zip\n",
    );
    env.run(&["verify", "web", "--bundle", "out/imagedefinitions.zip"])
        .code(1)
        .stdout_has("does not list imagedefinitions.zip");
    // The zip's own line is right, but the loose json's line is for other bytes.
    let zip = std::fs::read(env.path("out/imagedefinitions.zip")).unwrap();
    env.write(
        "out/SHA256SUMS",
        format!(
            "{}  imagedefinitions.json\n{}  imagedefinitions.zip\n",
            imagedef::testing::Digest::of(b"other").hex(),
            imagedef::testing::Digest::of(&zip).hex()
        ),
    );
    env.run(&["verify", "web", "--bundle", "out/imagedefinitions.zip"])
        .code(1)
        .stdout_has("the zip and the files written with it disagree");
}

#[test]
fn a_missing_bundle_is_exit_2() {
    let env = bundled();
    env.run(&["verify", "web", "--bundle", "nope.zip"])
        .code(2)
        .stdout_has("cannot read bundle nope.zip");
}

/// The layout `emit --mapping --bundle` writes: `OUT/<service>.zip`, `OUT/<service>/...`, and one
/// `SHA256SUMS` over all of them.
#[test]
fn per_service_bundles_are_checked_against_their_loose_files() {
    use imagedef::testing::OutFile;
    use imagedef::testing::Sha256Sums;
    let sha256sums = |files: &[OutFile]| {
        let sums = Sha256Sums::of(files.iter().map(|f| (f.path.as_str(), f.digest())));
        OutFile::new("SHA256SUMS", sums.to_bytes())
    };
    let env = bundled();
    let uri = format!("{HOST}/shop/web@{DIGEST_WEB}");
    let rendered = vec![
        OutFile::new("imagedefinitions.json", defs("app", &uri)),
        OutFile::new(
            "imageDetail.json",
            format!(r#"{{"ImageURI":"{uri}"}}"#).into_bytes(),
        ),
    ];
    let zip = OutFile::new("web.zip", imagedef::testing::zip(&rendered).unwrap());
    let mut files: Vec<OutFile> = rendered
        .into_iter()
        .map(|f| OutFile::new(format!("web/{}", f.path), f.bytes))
        .collect();
    files.push(zip);
    files.push(sha256sums(&files));
    for f in &files {
        env.write(&format!("fan/{}", f.path), &f.bytes);
    }
    env.run(&["verify", "web", "--bundle", "fan/web.zip"])
        .code(0)
        .stdout_has("fan/web.zip: zip of imageDetail.json, imagedefinitions.json at its root");
    // Rewrite the loose file and its line: the zip no longer matches what SHA256SUMS lists.
    let other = defs("app", &format!("{HOST}/shop/api@{DIGEST_API}"));
    let mut changed = files[..2].to_vec();
    changed[0].bytes.clone_from(&other);
    changed.push(files[2].clone());
    let sums = sha256sums(&changed);
    env.write("fan/web/imagedefinitions.json", &other);
    env.write("fan/SHA256SUMS", &sums.bytes);
    env.run(&["verify", "web", "--bundle", "fan/web.zip"])
        .code(1)
        .stdout_has("lists")
        .stdout_has(
            "for web/imagedefinitions.json; the zip and the files written with it disagree",
        );
}

#[test]
fn artifact_flags_alone_check_only_the_artifacts() {
    // The README's quick start leaves a template imageDetail.json in the working directory.
    let env = bundled();
    env.write("imageDetail.json", r#"{"ImageURI": "<placeholder>"}"#);
    env.run(&["verify", "--bundle", "out/imagedefinitions.zip"])
        .code(0)
        .stdout_has("1 passed, 0 failed");
}

#[test]
fn unusable_discovered_files_are_warnings_unless_strict() {
    let env = bundled();
    env.write("web/template/imageDetail.json", "[]");
    let run = env.run(&["verify", "web"]);
    run.code(0)
        .stdout_is(&format!(
            "ok      web:imageDetail.json (web/imageDetail.json): {HOST}/shop/web@{DIGEST_WEB}\n1 passed, 0 failed\n"
        ))
        .stderr_has("web:template/imageDetail.json")
        .stderr_has("--strict makes this an error");
    env.run(&["verify", "web", "--strict"])
        .code(2)
        .stdout_has("ERROR   web:template/imageDetail.json");
}

#[test]
fn a_bundle_inside_a_build_must_deploy_the_discovered_digest() {
    let env = bundled();
    // The bundle edited to another digest, with no SHA256SUMS beside it to catch it.
    let edited = zip_of(&[(
        "imagedefinitions.json",
        &defs("app", &format!("{HOST}/shop/web@{DIGEST_API}")),
    )]);
    env.write("loose/imagedefinitions.zip", edited);
    env.run(&["verify", "web", "--bundle", "loose/imagedefinitions.zip"])
        .code(1)
        .stdout_has(&format!(
            "deploys {HOST}/shop/web with digest {DIGEST_API}, but this build discovered {DIGEST_WEB} (web:imageDetail.json"
        ));
    env.run(&["verify", "web", "--bundle", "out/imagedefinitions.zip"])
        .code(0)
        .stdout_has(&format!(
            "deploys {DIGEST_WEB}, the digest this build discovered"
        ));
}

#[test]
fn sha256sums_with_two_lines_for_one_file_fail() {
    let env = bundled();
    let zip = std::fs::read(env.path("out/imagedefinitions.zip")).unwrap();
    let right = imagedef::testing::Digest::of(&zip).hex();
    env.write(
        "out/SHA256SUMS",
        format!(
            "{right}  imagedefinitions.zip\n{}  imagedefinitions.zip\n",
            "0".repeat(64)
        ),
    );
    env.run(&["verify", "web", "--bundle", "out/imagedefinitions.zip"])
        .code(1)
        .stdout_has("out/SHA256SUMS: line 2: imagedefinitions.zip is listed a second time");
    env.write(
        "out/SHA256SUMS",
        format!("{right}  imagedefinitions.zip\ngarbage\n"),
    );
    env.run(&["verify", "web", "--bundle", "out/imagedefinitions.zip"])
        .code(1)
        .stdout_has("out/SHA256SUMS: line 2: \"garbage\" is not \"<sha256 hex>  <file>\"");
}

/// The ok line of `subject` in a run's stdout.
fn ok_line<'a>(run: &'a crate::util::Run, subject: &str) -> &'a str {
    let start = format!("ok      {subject}: ");
    run.stdout()
        .lines()
        .find(|l| l.starts_with(&start))
        .unwrap_or_else(|| panic!("no ok line for {subject}: {run:#?}"))
}

#[test]
fn a_lone_edited_bundle_held_against_nothing_warns_and_fails_with_strict() {
    let env = bundled();
    // Another digest, zipped cleanly, outside any build, no SHA256SUMS beside it, no pins.
    let edited = zip_of(&[(
        "imagedefinitions.json",
        &defs("app", &format!("{HOST}/shop/web@{DIGEST_API}")),
    )]);
    env.write("loose/imagedefinitions.zip", &edited);
    let digest = imagedef::testing::Digest::of(&edited);
    let run = env.run(&["verify", "--bundle", "loose/imagedefinitions.zip"]);
    run.code(0).stderr_has(
        "loose/imagedefinitions.zip: only its structure and shapes were checked: no SHA256SUMS lies beside it, and no discovered image, pin (--expect), proof (--oci, --manifest) or ECR lookup (--ecr) covered the images it deploys, so an edited digest inside it would pass; verify it beside the SHA256SUMS written with it, inside the build that wrote it, or with --expect or --ecr (--strict makes this a failure)",
    );
    assert_eq!(
        ok_line(&run, "loose/imagedefinitions.zip"),
        format!(
            "ok      loose/imagedefinitions.zip: zip of imagedefinitions.json at its root reads cleanly ({} bytes, sha256 {}, base64 {}); only its structure and shapes were checked: nothing held its content",
            edited.len(),
            digest.hex(),
            digest.base64()
        )
    );
    env.run(&["verify", "--bundle", "loose/imagedefinitions.zip", "--strict"])
        .code(1)
        .stdout_has("FAILED  loose/imagedefinitions.zip: only its structure and shapes were checked: no SHA256SUMS lies beside it")
        .stdout_has("1 passed, 1 failed");
}

#[test]
fn a_fully_checked_bundle_names_what_it_was_held_against() {
    let env = bundled();
    env.write("pins.json", format!(r#"{{"shop/web": "{DIGEST_WEB}"}}"#));
    let zip = std::fs::read(env.path("out/imagedefinitions.zip")).unwrap();
    let digest = imagedef::testing::Digest::of(&zip);
    let run = env.run(&[
        "verify",
        "web",
        "--bundle",
        "out/imagedefinitions.zip",
        "--expect",
        "pins.json",
    ]);
    run.code(0);
    assert_eq!(
        ok_line(&run, "out/imagedefinitions.zip"),
        format!(
            "ok      out/imagedefinitions.zip: zip of imagedefinitions.json at its root reads cleanly ({} bytes, sha256 {}, base64 {}); content held against SHA256SUMS (out/SHA256SUMS), discovered images, pins",
            zip.len(),
            digest.hex(),
            digest.base64()
        )
    );
    assert!(!run.stderr().contains("only its structure"), "{run:#?}");
    // Moved away from its SHA256SUMS, outside the build, with a pin for one of its two images.
    let two = zip_of(&[(
        "imagedefinitions.json",
        format!(
            r#"[{{"name":"app","imageUri":"{HOST}/shop/web@{DIGEST_WEB}"}},{{"name":"side","imageUri":"{HOST}/shop/api@{DIGEST_API}"}}]"#
        )
        .as_bytes(),
    )]);
    env.write("two/web.zip", two);
    let run = env.run(&["verify", "--bundle", "two/web.zip", "--expect", "pins.json"]);
    run.code(0);
    assert!(
        ok_line(&run, "two/web.zip").ends_with("); content held against pins (1 of 2 images)"),
        "{run:#?}"
    );
    assert!(!run.stderr().contains("only its structure"), "{run:#?}");
}
