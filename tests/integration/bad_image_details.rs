//! Bad imageDetail.json files and bad single-image inputs: every case gets its documented exit
//! code and a message naming the file, the key, the value and the fix, never a panic or a hang,
//! and the output directory is left exactly as it was.

use crate::util::{DIGEST_WEB, Env, HOST, INPUTS_ONLY, ecr_detail, emit_app, short_digests};

/// (file bytes, fragments the error must contain)
fn refusals() -> Vec<(Vec<u8>, Vec<&'static str>)> {
    vec![
        (
            b"{\"ImageURI\": \"x\",".to_vec(),
            vec!["is not valid JSON", "line 1 column"],
        ),
        (
            format!("{{\n  \"ImageURI\": \"{HOST}/web:1\"\n  \"ImageTags\": []\n}}").into_bytes(),
            vec!["line 3 column"],
        ),
        (
            format!("{{\"imageURI\":\"{HOST}/web:1\"}}").into_bytes(),
            vec!["key \"imageURI\"", "did you mean \"ImageURI\"", "rename it"],
        ),
        (
            format!("{{\"ImageUri\":\"{HOST}/web:1\"}}").into_bytes(),
            vec!["key \"ImageUri\"", "did you mean \"ImageURI\""],
        ),
        (
            format!("[{{\"name\":\"web\",\"imageUri\":\"{HOST}/web:1\"}}]").into_bytes(),
            vec!["this is an imagedefinitions.json, not an imageDetail.json"],
        ),
        (
            b"{\"ImageURI\":\"<IMAGE_URI>\"}".to_vec(),
            vec![
                "key \"ImageURI\" = \"<IMAGE_URI>\"",
                "unrendered placeholder",
                "fix: render",
            ],
        ),
        (
            b"{\"ImageURI\":\"$REPO:latest\"}".to_vec(),
            vec![
                "key \"ImageURI\" = \"$REPO:latest\"",
                "unexpanded shell variable",
            ],
        ),
        (
            b"{\"ImageURI\":\".dkr.ecr.us-east-1.amazonaws.com/web:1\"}".to_vec(),
            vec!["empty part"],
        ),
        (
            b"{\"ImageURI\":\"111122223333.dkr.ecr..amazonaws.com/web:1\"}".to_vec(),
            vec!["empty part"],
        ),
        (
            format!("{{\"ImageURI\":\"{HOST}/web:1\",\"ImageTags\":\"latest\"}}").into_bytes(),
            vec!["key \"ImageTags\" = \"latest\"", "not an array of strings"],
        ),
        (
            format!("{{\"ImageURI\":\"{HOST}/web:1\",\"ImageSizeInBytes\":123}}").into_bytes(),
            vec![
                "key \"ImageSizeInBytes\" = 123",
                "is a number, not a string",
                "\"ImageSizeInBytes\": \"123\"",
            ],
        ),
        (
            format!("{{\"ImageURI\":{{\"uri\":\"{HOST}/web:1\"}}}}").into_bytes(),
            vec!["key \"ImageURI\"", "is an object, not a string"],
        ),
    ]
}

#[test]
fn each_refusal_names_file_key_value_and_fix_and_writes_nothing() {
    for (bytes, fragments) in refusals() {
        let env = Env::new();
        env.write("art/imageDetail.json", &bytes);
        env.write("out/keep.txt", "keep");
        let before = env.snapshot("out");
        let run = emit_app(&env, "Img=art", &["--out", "out"]);
        run.code(2);
        // One reason, worded the same by emit (refused) and verify (not used: a warning).
        let reason = run
            .stderr()
            .strip_prefix(
                "imagedef: error: found no usable imageDetail.json; every candidate was refused:\n  Img:imageDetail.json (art/imageDetail.json): refused: ",
            )
            .and_then(|rest| rest.strip_suffix('\n'))
            .unwrap_or_else(|| panic!("{run:#?}"));
        assert!(!reason.contains('\n'), "{run:#?}");
        for f in fragments.iter().chain(&["fix: "]) {
            assert!(reason.contains(f), "{reason:?} lacks {f:?}");
        }
        assert_eq!(
            env.snapshot("out"),
            before,
            "output changed for {}",
            String::from_utf8_lossy(&bytes)
        );
        env.run(&["verify", "Img=art"])
            .code(2)
            .stdout_is(&format!(
                "ERROR   art: nothing was verified: the only imageDetail.json files found are unusable: art/imageDetail.json ({reason})\n0 passed, 1 failed\n"
            ))
            .stderr_is(&format!(
                "imagedef: warning: Img:imageDetail.json (art/imageDetail.json): not used: {reason} (--strict makes this an error)\n"
            ));
    }
}

#[test]
fn crlf_and_bom_are_accepted() {
    let env = Env::new();
    let text = format!("\u{feff}{{\r\n  \"ImageURI\": \"{HOST}/web:v2\"\r\n}}\r\n");
    env.write("a/imageDetail.json", text);
    emit_app(&env, "a", &["--uri", "tag", "--out", "o"])
        .code(0)
        .stdout_is(&short_digests(&format!(

            "app = {HOST}/web:v2  (from a:imageDetail.json)\n  checks: {INPUTS_ONLY}\nwrote 2 files to o\n"
        )));
    assert!(
        env.read("o/imagedefinitions.json")
            .contains(&format!("{HOST}/web:v2"))
    );
}

const DEFAULT_ARGS: &[&str] = &["--out", "out", "--container", "app"];

struct Case {
    name: &'static str,
    setup: Box<dyn Fn(&Env)>,
    /// The arguments after `emit art`.
    args: &'static [&'static str],
    code: i32,
    message: &'static str,
}

fn file(bytes: impl AsRef<[u8]> + 'static) -> Box<dyn Fn(&Env)> {
    Box::new(move |env: &Env| {
        env.write("art/imageDetail.json", bytes.as_ref());
    })
}

fn detail_with(key: &str, value: &str) -> String {
    format!(r#"{{"ImageURI":"{HOST}/web@{DIGEST_WEB}","{key}":{value}}}"#)
}

fn case(name: &'static str, setup: Box<dyn Fn(&Env)>, code: i32, message: &'static str) -> Case {
    Case {
        name,
        setup,
        args: DEFAULT_ARGS,
        code,
        message,
    }
}

#[allow(clippy::too_many_lines)]
fn cases() -> Vec<Case> {
    let full = ecr_detail("shop/web", DIGEST_WEB, &["latest", "e6828a4"]);
    let half = full[..full.len() / 2].to_owned();
    vec![
        case("trailing comma", file(format!(r#"{{"ImageURI":"{HOST}/web:1",}}"#)), 2, "is not valid JSON: trailing comma"),
        case("single quotes", file(format!("{{'ImageURI':'{HOST}/web:1'}}")), 2, "is not valid JSON: key must be a string"),
        case("unquoted key", file(format!(r#"{{ImageURI:"{HOST}/web:1"}}"#)), 2, "is not valid JSON"),
        case("truncated ECR output", file(half), 2, "is not valid JSON: EOF while parsing"),
        case("a lone brace", file("{"), 2, "line 1 column 1"),
        case("empty file", file(""), 2, "is empty"),
        case("whitespace only", file(" \r\n\t\n"), 2, "is empty"),
        case("camelCase key", file(format!(r#"{{"imageURI":"{HOST}/web:1"}}"#)), 2, "did you mean \"ImageURI\""),
        case("upper-case key", file(format!(r#"{{"IMAGEURI":"{HOST}/web:1"}}"#)), 2, "did you mean \"ImageURI\""),
        case("snake_case key", file(format!(r#"{{"image_uri":"{HOST}/web:1"}}"#)), 2, "did you mean \"ImageURI\""),
        case("imagedefinitions shape", file(format!(r#"[{{"name":"web","imageUri":"{HOST}/web:1"}}]"#)), 2, "this is an imagedefinitions.json, not an imageDetail.json"),
        case("plain array", file("[1, 2]"), 2, "is a JSON array"),
        case("bare string", file(format!("\"{HOST}/web:1\"")), 2, "is not a JSON object"),
        case("bare number", file("42"), 2, "is not a JSON object"),
        case("null", file("null"), 2, "is not a JSON object"),
        case("tags as a string", file(detail_with("ImageTags", "\"latest\"")), 2, "key \"ImageTags\" = \"latest\": is a string, not an array of strings"),
        case("size as a number", file(detail_with("ImageSizeInBytes", "44728918")), 2, "is a number, not a string"),
        case("URI as a number", file(r#"{"ImageURI": 7}"#), 2, "key \"ImageURI\" = 7: is a number, not a string"),
        case("URI as null", file(r#"{"ImageURI": null}"#), 2, "is null, not a string"),
        case("tag as a number", file(detail_with("ImageTags", "[1]")), 2, "holds a number, not a string"),
        case("empty URI", file(r#"{"ImageURI": ""}"#), 2, "key \"ImageURI\" = \"\": is empty"),
        case("empty tag", file(detail_with("ImageTags", "[\"\"]")), 2, "key \"ImageTags\" = \"\": is empty"),
        case("missing URI", file(r#"{"RepositoryName": "shop/web"}"#), 2, "key \"ImageURI\": is missing"),
        case("unexpanded $VAR", file(r#"{"ImageURI": "$REPOSITORY_URI:latest"}"#), 2, "unexpanded shell variable"),
        case("unexpanded ${VAR}", file(r#"{"ImageURI": "${REPOSITORY_URI}:${IMAGE_TAG}"}"#), 2, "unexpanded shell variable"),
        case("placeholder", file(r#"{"ImageURI": "<IMAGE_URI>"}"#), 2, "unrendered placeholder"),
        case("template expression", file(r#"{"ImageURI": "{{ .ImageURI }}"}"#), 2, "holds an unrendered template expression"),
        case("empty account", file(r#"{"ImageURI": ".dkr.ecr.us-east-1.amazonaws.com/web:1"}"#), 2, "with an empty part"),
        case("empty region", file(r#"{"ImageURI": "111122223333.dkr.ecr..amazonaws.com/web:1"}"#), 2, "with an empty part"),
        case("short account", file(r#"{"ImageURI": "1111.dkr.ecr.us-east-1.amazonaws.com/web:1"}"#), 2, "account id is not 12 digits"),
        case("upper-case repository", file(format!(r#"{{"ImageURI": "{HOST}/Web:1"}}"#)), 2, "repository names are lowercase"),
        case("non-UTF-8 bytes", file(b"{\"ImageURI\": \"\xff\xfe\"}"), 2, "is not UTF-8 (invalid byte at offset 14)"),
        case("UTF-16 file", file(b"\xff\xfe{\0}\0"), 2, "is not UTF-8"),
        case("huge file", file(vec![b' '; 5 * 1024 * 1024]), 2, "is 5242880 bytes"),
        case("deep nesting", file("[".repeat(100_000)), 2, "nests arrays and objects more than 64 deep"),
        case("duplicate keys", file(format!(r#"{{"ImageURI":"{HOST}/a:1","ImageURI":"{HOST}/b:1"}}"#)), 2, "key \"ImageURI\": appears more than once"),
        case("upper-case digest", file(detail_with("ImageDigest", &format!("\"{}\"", DIGEST_WEB.to_uppercase().replace("SHA256", "sha256")))), 2, "uses uppercase hex"),
        case("sha512 digest", file(detail_with("ImageDigest", "\"sha512:abcd\"")), 2, "only sha256 digests are supported"),
        case("example digest", file(format!(r#"{{"ImageURI":"{HOST}/web@sha256:example3"}}"#)), 2, "not a hex digit"),
        case("short account id", file(detail_with("RegistryId", "\"1234\"")), 2, "is not a 12-digit AWS account id"),
        case("digest mismatch", file(ecr_detail("shop/web", DIGEST_WEB, &["1"]).replacen(&format!("\"ImageDigest\":\"{DIGEST_WEB}\""), "\"ImageDigest\":\"sha256:0000000000000000000000000000000000000000000000000000000000000000\"", 1)), 1, "but ImageDigest is sha256:0000"),
        case("repository mismatch", file(ecr_detail("shop/web", DIGEST_WEB, &["1"]).replace("\"RepositoryName\":\"shop/web\"", "\"RepositoryName\":\"shop/api\"")), 1, "RepositoryName is \"shop/api\""),
        case(
            "symlink loop",
            Box::new(|env: &Env| {
                env.mkdir("art/a");
                std::os::unix::fs::symlink("..", env.path("art/a/up")).unwrap();
            }),
            1,
            "found no imageDetail.json",
        ),
        case(
            "symlink pointing outside the root",
            Box::new(|env: &Env| {
                env.write("elsewhere/imageDetail.json", ecr_detail("shop/web", DIGEST_WEB, &["1"]));
                env.mkdir("art");
                std::os::unix::fs::symlink(env.path("elsewhere/imageDetail.json"), env.path("art/imageDetail.json")).unwrap();
            }),
            2,
            "is a symbolic link, which imagedef never follows",
        ),
        case(
            "a directory named imageDetail.json",
            Box::new(|env: &Env| {
                env.mkdir("art/imageDetail.json");
            }),
            2,
            "imageDetail.json: skipped: is a directory",
        ),
        case(
            "a FIFO named imageDetail.json",
            Box::new(|env: &Env| {
                env.mkdir("art");
                let status = std::process::Command::new("mkfifo").arg(env.path("art/imageDetail.json")).status().unwrap();
                assert!(status.success());
            }),
            2,
            "skipped: is not a regular file",
        ),
        Case {
            name: "invalid container name",
            setup: file(full.clone()),
            args: &["--out", "out", "--container", "web app"],
            code: 2,
            message: "container name \"web app\" contains ' '",
        },
        Case {
            name: "container name with a path",
            setup: file(full.clone()),
            args: &["--out", "out", "--container", "../app"],
            code: 2,
            message: "contains '.'",
        },
        Case {
            name: "output directory is a file",
            setup: Box::new({
                let full = full.clone();
                move |env: &Env| {
                    env.write("art/imageDetail.json", &full);
                    env.write("out-file", "x");
                }
            }),
            args: &["--out", "out-file", "--container", "app"],
            code: 2,
            message: "out-file is not a folder",
        },
        Case {
            name: "read-only output location",
            setup: file(full.clone()),
            args: &["--out", "/proc/imagedef-out", "--container", "app"],
            code: 2,
            message: "cannot create directory /proc/imagedef-out",
        },
        Case {
            name: "missing task definition",
            setup: file(full.clone()),
            args: &["--out", "out", "--container", "app", "--task-definition", "nope.json"],
            code: 2,
            message: "cannot read task definition nope.json",
        },
        Case {
            name: "invalid tag pattern",
            setup: file(full.clone()),
            args: &["--out", "out", "--container", "app", "--uri", "tag", "--tag-pattern", "("],
            code: 2,
            message: "--tag-pattern \"(\" is not a valid regex",
        },
        Case {
            name: "unknown URI mode",
            setup: file(full),
            args: &["--out", "out", "--container", "app", "--uri", "sha"],
            code: 2,
            message: "--uri \"sha\" is not a URI mode; use digest, tag or tag+digest",
        },
    ]
}

#[test]
fn every_bad_input_gets_its_code_and_message_and_changes_nothing() {
    let cases = cases();
    assert!(cases.len() >= 40, "the suite covers at least 40 cases");
    let mut failures = Vec::new();
    for case in cases {
        let env = Env::new();
        (case.setup)(&env);
        env.write("out/keep.txt", "keep");
        let before = env.snapshot("out");
        let mut args = vec!["emit", "art"];
        args.extend(case.args);
        let run = env.run(&args);
        if run.code != case.code
            || !run.stderr().contains(case.message)
            || env.snapshot("out") != before
        {
            failures.push(format!(
                "{}: want exit {} and {:?}; got {run:#?}",
                case.name, case.code, case.message
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn accepted_oddities_still_work() {
    for (name, bytes) in [
        (
            "BOM",
            format!("\u{feff}{}", ecr_detail("shop/web", DIGEST_WEB, &["1"])),
        ),
        (
            "CRLF",
            format!("{{\r\n  \"ImageURI\": \"{HOST}/shop/web@{DIGEST_WEB}\"\r\n}}\r\n"),
        ),
        (
            "unknown extra key",
            format!(r#"{{"ImageURI":"{HOST}/shop/web@{DIGEST_WEB}","Architecture":"arm64"}}"#),
        ),
    ] {
        let env = Env::new();
        env.write("art/imageDetail.json", bytes);
        let run = env.run(&["emit", "art", "--out", "out", "--container", "app"]);
        assert_eq!(run.code, 0, "{name}: {run:#?}");
        run.stdout_is(&short_digests(&format!(

            "app = {HOST}/shop/web@{DIGEST_WEB}  (from art:imageDetail.json)\n  checks: {INPUTS_ONLY}\nwrote 2 files to out\n"
        )));
        assert!(
            env.read("out/imagedefinitions.json").contains(DIGEST_WEB),
            "{name}"
        );
    }
}

#[test]
fn ten_thousand_copies_of_one_image_are_one_image() {
    let env = Env::new();
    let text = ecr_detail("shop/web", DIGEST_WEB, &["1"]);
    for i in 0..10_000 {
        env.write(&format!("art/{:02}/{i}/imageDetail.json", i % 100), &text);
    }
    let run = env.run(&[
        "emit",
        "art",
        "--out",
        "out",
        "--container",
        "app",
        "--json",
    ]);
    run.code(0);
    assert_eq!(
        run.json()["containers"][0]["sources"]
            .as_array()
            .unwrap()
            .len(),
        10_000
    );
}

/// Messages that named the wrong fault, or let a bad input through, each checked whole.
#[test]
fn misleading_messages_say_what_is_wrong() {
    let esc = Env::new();
    esc.write(
        "a/imageDetail.json",
        format!(r#"{{"ImageURI":"{HOST}/shop/\u001b[2Jweb@{DIGEST_WEB}"}}"#),
    );
    let run = emit_app(&esc, "a", &["--out", "o"]);
    run.code(2);
    let refused = "a:imageDetail.json (a/imageDetail.json): refused: key \"ImageURI\" = \"111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/\\u001b[2Jweb@sha256:5a1f0e6b8e1f4f3f2d9c7b1a6e3d2c4b5a69788f7e6d5c...: has repository \"shop/\\u{1b}[2Jweb\" with a control character; a repository name is lowercase letters, digits, and . _ - / between them; fix: write the image reference the push produced, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:<64 hex>";
    assert!(
        run.stderr().ends_with(&format!(
            "imagedef: error: found no usable imageDetail.json; every candidate was refused:\n  {refused}\n"
        )),
        "{run:#?}"
    );
    let creds = Env::new();
    creds.write(
        "a/imageDetail.json",
        format!(r#"{{"ImageURI":"ci:s3cret@{HOST}/shop/web:v1"}}"#),
    );
    let run = emit_app(&creds, "a", &["--uri", "tag", "--out", "o"]);
    run.code(2);
    assert!(
        run.stderr().ends_with(&format!(
            "  a:imageDetail.json (a/imageDetail.json): refused: key \"ImageURI\" = \"<credentials>@{HOST}/shop/web:v1\": has a user name or password before its registry host (user:password@host/...); an image reference carries no credentials: remove them, and let the registry's login (the task's execution role for ECR) supply them; fix: write the image reference the push produced, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:<64 hex>\n"
        )),
        "{run:#?}"
    );
    assert!(!run.stderr().contains("s3cret"), "{run:#?}");
}

#[test]
fn mapping_and_task_definition_refusals_are_whole_and_name_the_key() {
    let env = Env::new();
    env.write(
        "a/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["v1"]),
    );
    let ok = r#""containers": {"app": {"repository": "shop/web"}}"#;
    let cases = [
        (
            r#"{"services": [{"web": {}}]}"#.to_owned(),
            r#"imagedef: error: mapping m.json: key "services" is an array, not an object keyed by name; write e.g. "services": {"web": {"containers": {"web": {"repository": "shop/web"}}}}"#.to_owned(),
        ),
        (
            format!(r#"{{"services": {{"web": {{{ok}}}, "WEB": {{{ok}}}}}}}"#),
            r#"imagedef: error: mapping m.json: keys "services.web" and "services.WEB" differ only in letter case; their folders and zips (web/ and WEB/, web.zip and WEB.zip) would be one file on a case-insensitive file system: rename one"#.to_owned(),
        ),
    ];
    for (mapping, want) in cases {
        env.write("m.json", mapping);
        let run = env.run(&["emit", "a", "--mapping", "m.json", "--out", "o"]);
        run.code(2);
        assert_eq!(run.stderr().lines().last(), Some(want.as_str()), "{run:#?}");
        assert!(!env.path("o").exists());
    }
    for (td, want) in [
        (
            r#"{"containerDefinitions":[{"name":"app"},{"name":"app2","name":"app"}]}"#,
            "key \"containerDefinitions[1].name\" appears more than once; keep one of them (JSON readers disagree on which copy counts)",
        ),
        (
            r#"{"taskDefinition":{"containerDefinitions":[{"name":"app"}]},"containerDefinitions":[{"name":"web"}]}"#,
            "has both a \"taskDefinition\" object (the output of aws ecs describe-task-definition) and a top-level \"containerDefinitions\" (a raw task definition); readers would take one or the other: keep one shape",
        ),
    ] {
        env.write("td.json", td);
        let run = emit_app(&env, "a", &["--task-definition", "td.json", "--out", "o"]);
        run.code(2);
        assert!(
            run.stderr()
                .ends_with(&format!("td.json: {want}; nothing was written\n")),
            "{run:#?}"
        );
        assert!(!env.path("o").exists());
    }
}
