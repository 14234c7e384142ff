//! Inputs built to crash imagedef, pass unchecked or forge its output: each is refused, or said,
//! with the whole message, and nothing is written. Each test is named after what it pins.

use imagedef::testing::OutFile;

use crate::emit_mapping::ROOTS;
use crate::util::{DIGEST_WEB, Env, HOST, Run, examples};

const TEMPLATE: &str = "p/source/deploy/api-taskdef.json";
const APPSPEC: &str = "p/source/deploy/appspec.yaml";
const MAPPING: &str = "p/source/imagedef.json";

/// The example pipeline, with its blue/green `AppSpec` starting with `head`.
fn example_with_app_spec_head(head: &str) -> Env {
    let env = Env::new();
    env.copy_dir(&examples().join("pipeline"), "p");
    // Without the source's imageDetail.json template, whose refusal (a warning, which -q keeps)
    // the discovery tests check.
    std::fs::remove_file(env.path("p/source/templates/imageDetail.json")).unwrap();
    let app_spec = env.read(APPSPEC);
    env.write(APPSPEC, format!("{head}{app_spec}"));
    env
}

/// Seven levels of anchors, each listing the one before ten times: 296 bytes that a reader which
/// expands aliases turns into ten million strings.
fn alias_bomb() -> String {
    let mut lines = vec![format!("a: &a [{}]", ["\"lol\""; 10].join(","))];
    for (prev, name) in "abcdefg".chars().zip("bcdefg".chars()) {
        lines.push(format!(
            "{name}: &{name} [{}]",
            vec![format!("*{prev}"); 10].join(",")
        ));
    }
    lines.join("\n") + "\n"
}

/// `verify` of the example's template and `AppSpec`.
fn verify_pair(env: &Env) -> crate::util::Run {
    env.run(&[
        "verify",
        "--task-definition-template",
        TEMPLATE,
        "--app-spec",
        APPSPEC,
    ])
}

/// `emit` of the example pipeline, whose service api reads the template and `AppSpec`.
fn emit(env: &Env) -> crate::util::Run {
    let mut args = vec!["emit", "--mapping", MAPPING, "-q", "--out", "out"];
    args.extend(ROOTS);
    env.run(&args)
}

#[test]
fn an_alias_bomb_in_an_appspec_is_refused_before_it_expands_in_verify_emit_and_a_bundle() {
    let env = example_with_app_spec_head(&alias_bomb());
    let refusal = "uses a YAML alias (*a) at line 2; aliases are refused, as a few of them can expand to gigabytes: write the value out in full";
    verify_pair(&env).code(2).stdout_is(&format!(
        "ERROR   {APPSPEC}: {refusal}\n0 passed, 1 failed\n"
    ));
    emit(&env).code(2).stderr_is(&format!(
        "imagedef: error: mapping {MAPPING}, key \"services.api.appSpec\": AppSpec {APPSPEC}: {refusal}; nothing was written\n"
    ));
    assert!(!env.path("out").exists());
    // Another account's bundle holding the same AppSpec.
    let files = [
        (
            "imagedefinitions.json",
            env.read("p/ApiImage/imageDetail.json"),
        ),
        ("taskdef.json", env.read(TEMPLATE)),
        ("appspec.yaml", env.read(APPSPEC)),
    ];
    let definitions = format!(
        "[{{\"name\":\"api\",\"imageUri\":\"{}\"}}]",
        serde_json::from_str::<serde_json::Value>(&files[0].1).unwrap()["ImageURI"]
            .as_str()
            .unwrap()
    );
    let zip = imagedef::testing::zip(&[
        OutFile::new("imagedefinitions.json", definitions.into_bytes()),
        OutFile::new("taskdef.json", files[1].1.clone().into_bytes()),
        OutFile::new("appspec.yaml", files[2].1.clone().into_bytes()),
    ])
    .unwrap();
    env.write("api.zip", zip);
    env.run(&["verify", "--bundle", "api.zip"])
        .code(2)
        .stdout_is(&format!(
            "ERROR   api.zip:appspec.yaml: {refusal}\n0 passed, 1 failed\n"
        ));
}

#[test]
fn an_appspec_nested_ten_thousand_deep_is_refused_at_a_fixed_depth() {
    let env = example_with_app_spec_head(&format!("deep:\n{}x\n", "- ".repeat(10_000)));
    verify_pair(&env).code(2).stdout_is(&format!(
        "ERROR   {APPSPEC}: nests sequences and mappings more than 64 deep (line 2); an AppSpec needs a few levels: flatten it\n0 passed, 1 failed\n"
    ));
    // JSON alike: a task definition template ten thousand arrays deep.
    env.write(
        TEMPLATE,
        format!("{{\"deep\": {}{}}}", "[".repeat(10_000), "]".repeat(10_000)),
    );
    verify_pair(&env).code(2).stdout_is(&format!(
        "ERROR   {TEMPLATE}: nests arrays and objects more than 64 deep (at \"deep[0][0][0][0][0][0][0][0][0][0][0][0]...\"); no task definition nests that deep: is it the right file?\n0 passed, 1 failed\n"
    ));
}

#[test]
fn a_nul_and_what_yaml_1_1_reads_otherwise_are_refused_naming_the_plain_spelling() {
    for (head, says) in [
        (
            "note: a\u{0}b\n",
            "holds a NUL byte (U+0000) at line 1, a character YAML does not allow; remove it (or write it escaped in a double-quoted string)",
        ),
        (
            "extra: !Ref Web\n",
            "uses the tag !Ref at line 1; CodeDeploy reads an AppSpec without tags: write the value itself",
        ),
        (
            "port: 010\n",
            "has 010 at line 1, which YAML 1.1 reads as an octal number and YAML 1.2 as a decimal number; write 10 (or \"010\" in quotes) so that every reader agrees",
        ),
        (
            "mode: 0o17620\n",
            "has 0o17620 at line 1, which YAML 1.1 reads as text and YAML 1.2 as a number; write the decimal number, or \"0o17620\" in quotes so that every reader agrees",
        ),
        (
            "flag: on\n",
            "has on at line 1, which YAML 1.1 reads as true and YAML 1.2 as text; write true, or \"on\" in quotes so that every reader agrees",
        ),
    ] {
        let env = example_with_app_spec_head(head);
        verify_pair(&env)
            .code(2)
            .stdout_is(&format!("ERROR   {APPSPEC}: {says}\n0 passed, 1 failed\n"));
    }
    // The version spelled 0e0 is a number to YAML 1.2 and text to YAML 1.1.
    let env = Env::new();
    env.copy_dir(&examples().join("pipeline"), "p");
    let app_spec = env.read(APPSPEC).replace("version: 0.0", "version: 0e0");
    env.write(APPSPEC, &app_spec);
    verify_pair(&env).code(2).stdout_is(&format!(
        "ERROR   {APPSPEC}: has 0e0 at line 4, which YAML 1.1 reads as text and YAML 1.2 as a number; write 0.0 (or \"0e0\" in quotes) so that every reader agrees\n0 passed, 1 failed\n"
    ));
}

#[test]
fn a_leading_bom_and_a_two_mib_appspec_are_read_as_before() {
    let env = Env::new();
    env.copy_dir(&examples().join("pipeline"), "p");
    // Without the source's imageDetail.json template, whose refusal (a warning, which -q keeps)
    // the discovery tests check.
    std::fs::remove_file(env.path("p/source/templates/imageDetail.json")).unwrap();
    let app_spec = env.read(APPSPEC);
    let padding = format!("# {}\n", "x".repeat(1022)).repeat(2048);
    env.write(APPSPEC, format!("\u{feff}{padding}{app_spec}"));
    assert!(std::fs::metadata(env.path(APPSPEC)).unwrap().len() > 2 * 1024 * 1024);
    verify_pair(&env)
        .code(0)
        .stdout_has("ok      p/source/deploy/appspec.yaml: AppSpec version 0.0 deploys <TASK_DEFINITION> with traffic to container \"api\" port 8080, which the template maps\n")
        .stdout_has("2 passed, 0 failed\n");
}

/// An option that takes a number.
struct Numeric {
    /// The command lines it is given to, the value after the flag.
    commands: &'static [&'static [&'static str]],
    flag: &'static str,
    var: &'static str,
    /// What it accepts, as the usage error words it.
    range: &'static str,
    /// The smallest and the largest value it accepts.
    ok: [&'static str; 2],
    /// Just below the smallest (where 0 is not it) and just past the largest; [`huge`] values are
    /// refused too.
    bad: &'static [&'static str],
    /// Asserts that the command ran on past the number (it was accepted).
    accepted: fn(&Run),
}

/// Values past every range: whole numbers that overflow what a naive reader adds them to.
fn huge() -> [String; 2] {
    [i64::MAX.to_string(), u64::MAX.to_string()]
}

/// `emit web --container app --out o` wrote its files.
fn emitted(run: &Run) {
    run.code(0).stdout_has("wrote 2 files to o\n");
}

/// `deploy`/`confirm` read the number and went on to its `--file`, which is not there (no AWS
/// call is made before the file is read).
fn went_on_to_the_file(run: &Run) {
    run.code(2).stderr_is("imagedef: error: --file missing.json: No such file or directory (os error 2); give the imagedefinitions.json to deploy, a folder holding one, or a bundle zip\n");
}

/// `verify web` checked its file.
fn verified(run: &Run) {
    run.code(0).stdout_is(&format!(
        "ok      web:imageDetail.json (web/imageDetail.json): {HOST}/shop/web@{DIGEST_WEB}\n1 passed, 0 failed\n"
    ));
}

const EMIT: &[&[&str]] = &[&["emit", "web", "--container", "app", "--out", "o"]];
const VERIFY: &[&[&str]] = &[&["verify", "web"]];
const DEPLOY_AND_CONFIRM: &[&[&str]] = &[
    &["deploy", "ecs://prod/web", "--file", "missing.json"],
    &["confirm", "ecs://prod/web", "--file", "missing.json"],
];

/// Every option that takes a number, with its variable and the values it accepts.
const NUMERIC: [Numeric; 7] = [
    Numeric {
        commands: EMIT,
        flag: "--scan-wait",
        var: "IMAGEDEF_SCAN_WAIT",
        range: "0..=129600",
        ok: ["0", "129600"],
        bad: &["129601"],
        accepted: emitted,
    },
    Numeric {
        commands: EMIT,
        flag: "--lock-timeout",
        var: "IMAGEDEF_LOCK_TIMEOUT",
        range: "0..=129600",
        ok: ["0", "129600"],
        bad: &["129601"],
        accepted: emitted,
    },
    Numeric {
        commands: EMIT,
        flag: "--registry-timeout",
        var: "IMAGEDEF_REGISTRY_TIMEOUT",
        range: "0..=129600",
        ok: ["0", "129600"],
        bad: &["129601"],
        accepted: emitted,
    },
    Numeric {
        commands: VERIFY,
        flag: "--registry-timeout",
        var: "IMAGEDEF_REGISTRY_TIMEOUT",
        range: "0..=129600",
        ok: ["0", "129600"],
        bad: &["129601"],
        accepted: verified,
    },
    Numeric {
        commands: DEPLOY_AND_CONFIRM,
        flag: "--registry-timeout",
        var: "IMAGEDEF_REGISTRY_TIMEOUT",
        range: "0..=129600",
        ok: ["0", "129600"],
        bad: &["129601"],
        accepted: went_on_to_the_file,
    },
    Numeric {
        commands: DEPLOY_AND_CONFIRM,
        flag: "--timeout",
        var: "IMAGEDEF_TIMEOUT",
        range: "1..=129600",
        ok: ["1", "129600"],
        bad: &["0", "129601"],
        accepted: went_on_to_the_file,
    },
    Numeric {
        commands: DEPLOY_AND_CONFIRM,
        flag: "--poll-interval",
        var: "IMAGEDEF_POLL_INTERVAL",
        range: "0.01..=15",
        ok: ["0.01", "15"],
        bad: &["0", "0.009", "15.001", "16"],
        accepted: went_on_to_the_file,
    },
];

#[test]
fn no_numeric_flag_or_variable_panics_at_its_bounds_or_past_them() {
    let huge = huge();
    for numeric in NUMERIC {
        let (flag, var, range) = (numeric.flag, numeric.var, numeric.range);
        for command in numeric.commands {
            let mut env = crate::util::web_artifact();
            let run = |env: &Env, value: Option<&str>| {
                let mut args = command.to_vec();
                args.extend(value.map(|v| [flag, v]).iter().flatten());
                env.run(&args)
            };
            for ok in numeric.ok {
                (numeric.accepted)(&run(&env, Some(ok)));
            }
            for bad in numeric
                .bad
                .iter()
                .copied()
                .chain(huge.iter().map(String::as_str))
            {
                run(&env, Some(bad)).code(2).stderr_is(&format!(
                    "error: invalid value '{bad}' for '{flag} <SECONDS>': {bad} is not in {range}\n\nFor more information, try '--help'.\n"
                ));
            }
            env.set(var, u64::MAX.to_string());
            run(&env, None).code(2).stderr_is(&format!(
                "error: invalid value '{max}' for '{flag} <SECONDS>': {max} is not in {range}\n\nFor more information, try '--help'.\nimagedef: the value is ${var}'s, set in the environment: unset it, or give a value in range\n",
                max = u64::MAX
            ));
        }
    }
}

#[test]
fn verify_says_an_image_with_a_tag_and_no_digest_is_not_pinned_and_strict_fails_it() {
    let env = Env::new();
    let uri = format!("{}/shop/web:v1", crate::util::HOST);
    env.write(
        "art/imageDetail.json",
        format!("{{\"ImageURI\": \"{uri}\"}}"),
    );
    let unpinned = format!(
        "ImageURI {uri} carries a tag and no digest (no @sha256: and no ImageDigest), so ECS resolves the tag when it deploys and what deploys is not proven to be what was checked; use the ECR source action's imageDetail.json, which pins the digest"
    );
    env.run(&["verify", "art"])
        .code(0)
        .stdout_is(&format!(
            "ok      art:imageDetail.json (art/imageDetail.json): {uri}\n1 passed, 0 failed\n"
        ))
        .stderr_is(&format!(
            "imagedef: warning: art:imageDetail.json (art/imageDetail.json): {unpinned} (--strict makes this a failure)\n"
        ));
    env.run(&["verify", "art", "--strict"])
        .code(1)
        .stdout_is(&format!(
            "FAILED  art:imageDetail.json (art/imageDetail.json): {unpinned}\n0 passed, 1 failed\n"
        ));
}
