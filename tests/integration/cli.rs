//! The command line itself: help, version, logs on stderr, a closed stdout.

use std::io::Read as _;
use std::process::{Command, Stdio};

use crate::util::{BIN, DIGEST_WEB, Env, HOST, ecr_detail};

#[test]
fn help_documents_flags_defaults_env_and_exit_codes() {
    let env = Env::new();
    let run = env.run(&["emit", "--help"]);
    run.code(0)
        .stdout_has("--uri <MODE>")
        .stdout_has("[env: CONTAINER_NAME=]")
        .stdout_has("[default:")
        .stdout_has("imageDetail.json]")
        .stdout_has("tag+digest");
    env.run(&["--help"])
        .code(0)
        .stdout_has("Exit codes:")
        .stdout_has("2  usage error");
}

#[test]
fn unknown_flags_are_usage_errors() {
    Env::new()
        .run(&["emit", "--nope"])
        .code(2)
        .stderr_has("--nope");
}

#[test]
fn logs_go_to_stderr_and_json_logs_are_json() {
    let env = Env::new();
    env.write(
        "a/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["1"]),
    );
    env.write("a/t/imageDetail.json", "{}");
    let run = env.run(&["scan", "--json", "--log-format", "json", "a"]);
    run.code(0);
    run.json();
    let run = env.run(&[
        "emit",
        "a",
        "--container",
        "app",
        "--json",
        "--dry-run",
        "--log-format",
        "json",
    ]);
    run.code(0);
    run.json();
    let line = run.stderr().lines().next().expect("a warning");
    let log: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(log["level"], "WARN");
    assert!(
        log["message"]
            .as_str()
            .unwrap()
            .contains("t/imageDetail.json")
    );
    // -q keeps the problems: the warning, and nothing of what went well.
    env.run(&["emit", "a", "--container", "app", "--dry-run", "-q"])
        .code(0)
        .stdout_is("")
        .stderr_is("imagedef: warning: a/t/imageDetail.json: refused: key \"ImageURI\": is missing; fix: every imageDetail.json needs \"ImageURI\"; the ECR source action writes it, and for a blue/green deploy write {\"ImageURI\": \"<registry>/<repository>@sha256:<digest>\"}\n");
}

/// Each line of the run's stderr, read as JSON.
fn json_lines(run: &crate::util::Run) -> Vec<serde_json::Value> {
    run.stderr()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?} in {run:#?}")))
        .collect()
}

/// JSON logs carry an event per container checked and per finding, with the fields a log query
/// selects on; text logs leave what went well to the summary.
#[test]
fn json_log_events_carry_service_container_image_digest_and_check() {
    let env = Env::new();
    env.write(
        "web/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["1"]),
    );
    env.write(
        "m.json",
        r#"{"services": {"web": {"containers": {"app": {"artifact": "Web"}}}}}"#,
    );
    let emit = [
        "emit",
        "--mapping",
        "m.json",
        "Web=web",
        "--log-format",
        "json",
        "-q",
    ];
    let run = env.run(&emit[..emit.len() - 1]);
    run.code(0).stdout_has("wrote 3 files for 1 service");
    let events = json_lines(&run);
    let mut event = events[0].clone();
    event.as_object_mut().unwrap().remove("timestamp");
    assert_eq!(
        event,
        serde_json::json!({
            "level": "INFO",
            "message": "checked",
            "subject": "service \"web\", container \"app\"",
            "service": "web",
            "container": "app",
            "image": format!("{HOST}/shop/web@{DIGEST_WEB}"),
            "digest": DIGEST_WEB,
            "checks": "task definition not checked, templates off, ECR off, platform not checked, findings off",
        })
    );
    assert_eq!(events.len(), 1, "{run:#?}");
    // -q: only the problems, and here there are none.
    env.run(&emit).code(0).stdout_is("").stderr_is("");
    // A failed check: its event names the check and the service, then the error ends the run.
    env.write(
        "t.json",
        r#"{"family":"web","containerDefinitions":[{"name":"other","image":"x"}]}"#,
    );
    env.write(
        "m.json",
        r#"{"services": {"web": {"containers": {"app": {"artifact": "Web"}}, "taskDefinition": "t.json"}}}"#,
    );
    let run = env.run(&emit);
    run.code(1).stdout_is("");
    let events = json_lines(&run);
    assert_eq!(events.len(), 2, "{run:#?}");
    assert_eq!(events[0]["level"], "WARN");
    assert_eq!(events[0]["check"], "task definition");
    assert_eq!(events[0]["service"], "web");
    assert_eq!(
        events[0]["subject"],
        "mapping m.json, key \"services.web.taskDefinition\""
    );
    assert_eq!(events[1]["level"], "ERROR");
    assert!(
        events[1]["message"]
            .as_str()
            .unwrap()
            .ends_with("nothing was written"),
        "{run:#?}"
    );
    // Text logs say nothing of what went well.
    env.write(
        "m.json",
        r#"{"services": {"web": {"containers": {"app": {"artifact": "Web"}}}}}"#,
    );
    env.run(&["emit", "--mapping", "m.json", "Web=web"])
        .code(0)
        .stdout_has("wrote 3 files for 1 service")
        .stderr_is("");
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let env = Env::new();
    for i in 0..300 {
        env.write(
            &format!("a/{i:03}/imageDetail.json"),
            ecr_detail("shop/web", DIGEST_WEB, &["1"]),
        );
    }
    let mut child = Command::new(BIN)
        .args(["scan", "a"])
        .current_dir(env.root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "");
}

#[test]
fn verbosity_flags_and_rust_log() {
    let mut env = Env::new();
    env.write(
        "a/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["1"]),
    );
    let table = "ARTIFACT  PATH              REPOSITORY  TAGS  DIGEST               PROBLEM\n\
                 a         imageDetail.json  shop/web    1     sha256:5a1f0e6b8e1f  -\n";
    let plain = env.run(&["scan", "a"]);
    plain.stdout_is(table);
    assert_eq!(plain.stderr(), "");
    env.run(&["scan", "a", "-v"])
        .code(0)
        .stdout_is(table)
        .stderr_has("imagedef: debug: searching a (artifact a) for imageDetail.json");
    // -q lists only the files with a problem: here none.
    env.run(&["scan", "a", "-q"]).code(0).stdout_is("");
    env.write("a/t/imageDetail.json", "{}");
    env.run(&["scan", "a", "-q"])
        .code(0)
        .stdout_is(
            "ARTIFACT  PATH                REPOSITORY  TAGS  DIGEST  PROBLEM\n\
             a         t/imageDetail.json  -           -     -       key \"ImageURI\": is missing; fix: every imageDetail.json needs \"ImageURI\"; the ECR source action writes it, and for a blue/green deploy write {\"ImageURI\": \"<registry>/<repository>@sha256:<digest>\"}\n",
        );
    std::fs::remove_file(env.path("a/t/imageDetail.json")).unwrap();
    env.set("RUST_LOG", "imagedef=debug");
    env.run(&["scan", "a", "-q"])
        .code(0)
        .stdout_is("")
        .stderr_has("imagedef: debug: artifact a: 1 file(s) found");
}

/// With `--log-format json`, warnings came out as JSON but the final error (and a usage error) as
/// text, so CloudWatch filters on the level missed the failure.
#[test]
fn every_stderr_line_is_json_with_json_logs() {
    let mut env = Env::new();
    env.write(
        "a/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["1"]),
    );
    env.write("a/t/imageDetail.json", "{}");
    let run = env.run(&[
        "emit",
        "a",
        "--container",
        "app",
        "--uri",
        "tag",
        "--tag-pattern",
        "^x",
        "--log-format",
        "json",
    ]);
    run.code(1);
    let lines = json_lines(&run);
    assert_eq!(lines.len(), 2, "{run:#?}");
    assert_eq!(lines[0]["level"], "WARN");
    assert_eq!(lines[1]["level"], "ERROR");
    assert!(
        lines[1]["message"]
            .as_str()
            .unwrap()
            .contains("cannot choose one tag"),
        "{run:#?}"
    );
    let run = env.run(&["--log-format=json", "emit", "--nope"]);
    run.code(2);
    let lines = json_lines(&run);
    assert_eq!(lines.len(), 1, "{run:#?}");
    assert_eq!(lines[0]["level"], "ERROR");
    assert!(
        lines[0]["message"].as_str().unwrap().contains("--nope"),
        "{run:#?}"
    );
    env.set("IMAGEDEF_LOG_FORMAT", "json");
    let run = env.run(&["emit", "a", "--container", "app", "--uri", "sha"]);
    run.code(2);
    assert_eq!(json_lines(&run).last().unwrap()["level"], "ERROR");
    // Text stays text.
    env.run(&["emit", "a", "--log-format", "text"])
        .code(2)
        .stderr_has("imagedef: error: no container name");
}
