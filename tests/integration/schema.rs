//! `imagedef schema`: the mapping file's JSON Schema, held against the parser with a real
//! validator (the `jsonschema` crate): every mapping in the repository and in these tests that the
//! parser accepts, the schema accepts; bad mappings the parser refuses, the schema refuses too,
//! where a schema can say it.

use std::path::Path;

use serde_json::Value;

use crate::util::Env;

fn validator() -> jsonschema::Validator {
    let env = Env::new();
    let run = env.run(&["schema"]);
    run.code(0);
    let printed: Value = run.json();
    let file: Value = serde_json::from_slice(
        &std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/mapping.schema.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        printed, file,
        "imagedef schema prints the repository's schema file"
    );
    assert_eq!(
        printed["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    jsonschema::draft202012::new(&printed).expect("a valid draft 2020-12 schema")
}

/// Every mapping file checked in: the examples, and those the tests write.
fn repository_mappings() -> Vec<(String, Value)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for dir in ["examples", "tests", "benches", "fuzz/corpus/mapping"] {
        for entry in walkdir::WalkDir::new(root.join(dir)).into_iter().flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json")
                && let Ok(text) = std::fs::read_to_string(path)
                && let Ok(value) = serde_json::from_str::<Value>(&text)
                && value.get("services").is_some()
            {
                found.push((path.display().to_string(), value));
            }
        }
    }
    found
}

#[test]
fn the_schema_accepts_every_mapping_in_the_repository() {
    let schema = validator();
    let mappings = repository_mappings();
    assert!(mappings.len() >= 2, "{mappings:?}");
    for (path, value) in mappings {
        let errors: Vec<String> = schema.iter_errors(&value).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{path}: {errors:?}");
    }
}

/// (mapping, whether the parser accepts it): the schema must agree.
#[allow(clippy::too_many_lines)] // one case per few lines, in one list to read them together
fn cases() -> Vec<(&'static str, String, bool)> {
    let ok = r#""containers": {"web": {"artifact": "Web"}}"#;
    let top = |body: String| format!(r#"{{"services": {{"web": {{{body}}}}}}}"#);
    vec![
        ("minimal", top(ok.into()), true),
        (
            "every key",
            r#"{"uri": "tag", "tagPattern": "^v", "findings": {"CRITICAL": 0}, "services": {"web": {"uri": "tag+digest", "tagPattern": "^x", "findings": {"HIGH": 2, "UNTRIAGED": 0}, "taskDefinition": "td.json", "blueGreen": "web", "taskDefinitionTemplate": "tdt.json", "appSpec": "appspec.yaml", "imagePlaceholder": "IMAGE", "containers": {"web": {"repository": "shop/web", "artifact": "Web", "path": "*/imageDetail.json"}, "x": {"image": "nginx:1"}}}}}"#.to_owned(),
            true,
        ),
        (
            "unknown top key",
            format!(r#"{{"service": {{}}, "services": {{"web": {{{ok}}}}}}}"#),
            false,
        ),
        (
            "unknown service key",
            top(format!(r#"{ok}, "container": {{}}"#)),
            false,
        ),
        (
            "unknown container key",
            top(r#""containers": {"web": {"artifcat": "Web"}}"#.into()),
            false,
        ),
        (
            "case of a key",
            top(r#""containers": {"web": {"Repository": "shop/web"}}"#.into()),
            false,
        ),
        (
            "findings of an unknown severity",
            top(format!(r#"{ok}, "findings": {{"SEVERE": 0}}"#)),
            false,
        ),
        (
            "findings below zero",
            top(format!(r#"{ok}, "findings": {{"HIGH": -1}}"#)),
            false,
        ),
        (
            "findings as text",
            format!(r#"{{"findings": "CRITICAL=0", "services": {{"web": {{{ok}}}}}}}"#),
            false,
        ),
        (
            "findings naming nothing",
            top(format!(r#"{ok}, "findings": {{}}"#)),
            false,
        ),
        (
            "roleArn without a task definition",
            top(format!(r#"{ok}, "roleArn": "arn:aws:iam::210987654321:role/deploy""#)),
            false,
        ),
        (
            "roleArn that is not a role ARN",
            top(format!(r#"{ok}, "taskDefinition": "ecs://prod/web", "roleArn": "deploy""#)),
            false,
        ),
        ("no services", r#"{"services": {}}"#.into(), false),
        ("services missing", "{}".into(), false),
        ("not an object", "[]".into(), false),
        (
            "service name with a dot",
            r#"{"services": {"../x": {"containers": {"w": {"artifact": "A"}}}}}"#.into(),
            false,
        ),
        (
            "service named SHA256SUMS",
            r#"{"services": {"SHA256SUMS": {"containers": {"w": {"artifact": "A"}}}}}"#.into(),
            false,
        ),
        (
            "service name of 101",
            format!(r#"{{"services": {{"{}": {{{ok}}}}}}}"#, "s".repeat(101)),
            false,
        ),
        (
            "container name with a space",
            top(r#""containers": {"my web": {"artifact": "A"}}"#.into()),
            false,
        ),
        ("no containers", top(r#""containers": {}"#.into()), false),
        (
            "image and selector",
            top(r#""containers": {"web": {"image": "nginx:1", "artifact": "A"}}"#.into()),
            false,
        ),
        (
            "neither image nor selector",
            top(r#""containers": {"web": {}}"#.into()),
            false,
        ),
        (
            "empty selector value",
            top(r#""containers": {"web": {"artifact": ""}}"#.into()),
            false,
        ),
        (
            "a number for a string",
            top(r#""containers": {"web": {"repository": 7}}"#.into()),
            false,
        ),
        (
            "bad uri",
            format!(r#"{{"uri": "sha", "services": {{"web": {{{ok}}}}}}}"#),
            false,
        ),
        (
            "empty taskDefinition",
            top(format!(r#"{ok}, "taskDefinition": """#)),
            false,
        ),
        (
            "blue/green template without appSpec",
            top(format!(r#"{ok}, "blueGreen": "web", "taskDefinitionTemplate": "tdt.json""#)),
            false,
        ),
        (
            "blue/green files without blueGreen",
            top(format!(r#"{ok}, "taskDefinitionTemplate": "tdt.json", "appSpec": "appspec.yaml""#)),
            false,
        ),
        (
            "imagePlaceholder alone",
            top(format!(r#"{ok}, "blueGreen": "web", "imagePlaceholder": "IMAGE""#)),
            false,
        ),
        (
            "imagePlaceholder in angle brackets",
            top(format!(r#"{ok}, "blueGreen": "web", "taskDefinitionTemplate": "tdt.json", "appSpec": "appspec.yaml", "imagePlaceholder": "<IMAGE>""#)),
            false,
        ),
        (
            "empty appSpec",
            top(format!(r#"{ok}, "blueGreen": "web", "taskDefinitionTemplate": "tdt.json", "appSpec": """#)),
            false,
        ),
        (
            "glob too long",
            top(format!(
                r#""containers": {{"web": {{"path": "{}"}}}}"#,
                "a".repeat(1001)
            )),
            false,
        ),
    ]
}

#[test]
fn the_schema_and_the_parser_agree_on_good_and_bad_mappings() {
    let schema = validator();
    let env = Env::new();
    env.write(
        "web/imageDetail.json",
        crate::util::ecr_detail("shop/web", crate::util::DIGEST_WEB, &["1"]),
    );
    env.write(
        "td.json",
        r#"{"containerDefinitions": [{"name": "web"}, {"name": "x"}]}"#,
    );
    env.write(
        "tdt.json",
        r#"{"containerDefinitions": [{"name": "web", "image": "<IMAGE>", "portMappings": [{"containerPort": 80}]}, {"name": "x", "image": "nginx:1"}]}"#,
    );
    env.write(
        "appspec.yaml",
        "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: <TASK_DEFINITION>\n        LoadBalancerInfo:\n          ContainerName: web\n          ContainerPort: 80\n",
    );
    for (name, text, parser_accepts) in cases() {
        env.write("m.json", &text);
        let run = env.run(&["emit", "--mapping", "m.json", "--dry-run", "-q", "Web=web"]);
        let parsed = match run.code {
            0 => true,
            // Read, and then its selectors match nothing here.
            1 => {
                run.stderr_has("of the mapping's containers could not be resolved:");
                true
            }
            _ => !run.stderr().contains("mapping m.json"),
        };
        assert_eq!(parsed, parser_accepts, "{name}: the parser: {run:#?}");
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            schema.is_valid(&value),
            parser_accepts,
            "{name}: the schema"
        );
    }
}

#[test]
fn emit_help_names_every_mapping_key() {
    let run = Env::new().run(&["emit", "--help"]);
    run.code(0);
    for key in [
        "services",
        "containers",
        "uri",
        "tagPattern",
        "taskDefinition",
        "roleArn",
        "blueGreen",
        "taskDefinitionTemplate",
        "appSpec",
        "imagePlaceholder",
        "findings",
        "image",
        "repository",
        "artifact",
        "path",
        "imagedef schema",
    ] {
        run.stdout_has(key);
    }
}

/// The bad-mapping suite: what the parser refuses as a mapping, the schema refuses, except what a
/// schema cannot say (a regex or glob that does not compile, a reference's grammar, a blueGreen
/// naming no container of its service).
#[test]
fn the_schema_refuses_the_bad_mapping_suite_where_it_can() {
    let schema = validator();
    let beyond_a_schema = [
        "blue/green names no container",
        "a fixed image that is not a reference",
        "bad tag pattern",
        "a glob that does not compile",
    ];
    let mut checked = 0;
    for (name, text, code, message) in crate::bad_mappings::mapping_cases() {
        let Ok(value) = serde_json::from_str::<Value>(&text) else {
            continue; // not JSON: nothing for a schema to read
        };
        let refused_as_mapping = code == 2 && !message.contains("task definition");
        if refused_as_mapping && !beyond_a_schema.contains(&name) {
            assert!(
                !schema.is_valid(&value),
                "{name}: the schema accepts {text}"
            );
            checked += 1;
        } else if !refused_as_mapping {
            assert!(schema.is_valid(&value), "{name}: the schema refuses {text}");
        }
    }
    assert!(checked >= 10, "{checked}");
}

#[test]
fn imagedef_schema_report_prints_the_report_schema_and_it_holds_the_example_s_report() {
    let env = Env::new();
    let run = env.run(&["schema", "report"]);
    run.code(0);
    let printed: Value = serde_json::from_str(run.stdout()).expect("the schema is JSON");
    let file: Value = serde_json::from_slice(
        &std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/report.schema.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        printed, file,
        "imagedef schema report prints the repository's file"
    );
    let schema = jsonschema::draft202012::new(&printed).expect("a valid draft 2020-12 schema");
    let examples = crate::util::examples().join("pipeline");
    let mut args = vec![
        "emit".to_owned(),
        "--mapping".to_owned(),
        examples.join("source/imagedef.json").display().to_string(),
        "--bundle".to_owned(),
        "--out".to_owned(),
        "out".to_owned(),
    ];
    for entry in std::fs::read_dir(&examples).unwrap() {
        args.push(entry.unwrap().path().display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    env.run(&args)
        .code(0)
        .stdout_has("wrote 11 files for 3 services to out")
        .stderr_has("templates/imageDetail.json: refused: key \"ImageURI\" = \"<IMAGE1_NAME>\"");
    let report: Value = serde_json::from_str(&env.read("out/imagedef-report.json")).unwrap();
    let errors: Vec<String> = schema.iter_errors(&report).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The schema refuses what a report never holds.
    let mut broken = report.clone();
    broken["services"][0]["containers"][0]["digest"] = Value::String("sha256:ABC".into());
    assert!(!schema.is_valid(&broken));
    let mut renamed = report;
    renamed["services"][0]["task definition"] = Value::Null;
    assert!(!schema.is_valid(&renamed));
}
