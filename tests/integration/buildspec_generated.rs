//! `imagedef buildspec` (the buildspec from the mapping) and `imagedef verify --buildspec
//! --mapping` (does a buildspec still match the mapping?): the text printed, the refusals, and
//! every disagreement named with the buildspec's key, the mapping's service and the fix.

use std::path::Path;

use crate::util::{Env, Run, examples};

/// A standard service and a blue/green one with its template and `AppSpec`.
const MAPPING: &str = r#"{"services": {
  "web": {"containers": {"web": {"repository": "shop/web"}}},
  "api": {"containers": {"api": {"repository": "shop/api"}}, "blueGreen": "api",
          "taskDefinitionTemplate": "deploy/taskdef.json", "appSpec": "deploy/appspec.yaml"}
}}"#;

/// What `imagedef buildspec --mapping imagedef.json` prints for [`MAPPING`].
const PRINTED: &str = "\
# CodeBuild buildspec written by imagedef buildspec from the mapping: the build runs imagedef
# emit, then hands each service's folder to the output artifact named as the service. After
# a change to the mapping, write it again, or check it with imagedef verify --buildspec
# FILE --mapping FILE.
version: 0.2

phases:
  build:
    commands:
      - imagedef emit --mapping imagedef.json --out imagedef-out

artifacts:
  # CodeBuild requires files here even when the pipeline takes only the secondary artifacts.
  base-directory: imagedef-out
  files:
    - imagedef-report.json
    - SHA256SUMS
  secondary-artifacts:
    # One per service: the identifier is the pipeline's output artifact name; base-directory puts
    # the service's files at the artifact's root, where its deploy action looks for them.
    web:
      base-directory: imagedef-out/web
      files:
        - imagedefinitions.json
    api:
      base-directory: imagedef-out/api
      files:
        - imagedefinitions.json
        - imageDetail.json
        - taskdef.json
        - appspec.yaml
";

/// A scratch folder holding [`MAPPING`] as `imagedef.json` and [`PRINTED`] as `buildspec.yml`.
fn project() -> Env {
    let env = Env::new();
    env.write("imagedef.json", MAPPING);
    env.write("buildspec.yml", PRINTED);
    env
}

/// `imagedef verify --buildspec buildspec.yml --mapping imagedef.json` in `env`.
fn verify(env: &Env) -> Run {
    env.run(&[
        "verify",
        "--buildspec",
        "buildspec.yml",
        "--mapping",
        "imagedef.json",
    ])
}

/// The ok lines of [`PRINTED`] held against [`MAPPING`].
const BOTH_OK: &str = "\
ok      buildspec buildspec.yml, artifact \"web\": service \"web\" of mapping imagedef.json: base-directory imagedef-out/web, files imagedefinitions.json
ok      buildspec buildspec.yml, artifact \"api\": service \"api\" of mapping imagedef.json: base-directory imagedef-out/api, files imagedefinitions.json, imageDetail.json, taskdef.json, appspec.yaml
";

#[test]
fn the_buildspec_hands_each_service_its_files_blue_green_included() {
    let env = project();
    env.run(&["buildspec", "--mapping", "imagedef.json"])
        .code(0)
        .stdout_is(PRINTED);
    // Another output directory moves every base directory, and the emit command with them.
    env.run(&[
        "buildspec",
        "--mapping",
        "imagedef.json",
        "--out",
        "build/out",
    ])
    .code(0)
    .stdout_is(&PRINTED.replace("imagedef-out", "build/out"));
}

#[test]
fn the_printed_buildspec_verifies_against_its_mapping() {
    let env = project();
    verify(&env)
        .code(0)
        .stdout_is(&format!("{BOTH_OK}2 passed, 0 failed\n"));
    let printed = env.run(&["buildspec", "--mapping", "imagedef.json", "--out", "o"]);
    env.write("o.yml", printed.code(0).stdout());
    env.run(&[
        "verify",
        "--buildspec",
        "o.yml",
        "--mapping",
        "imagedef.json",
        "--out",
        "o",
    ])
    .code(0)
    .stdout_is("\
ok      buildspec o.yml, artifact \"web\": service \"web\" of mapping imagedef.json: base-directory o/web, files imagedefinitions.json
ok      buildspec o.yml, artifact \"api\": service \"api\" of mapping imagedef.json: base-directory o/api, files imagedefinitions.json, imageDetail.json, taskdef.json, appspec.yaml
2 passed, 0 failed
");
}

#[test]
fn more_services_than_a_build_action_has_output_artifacts_is_refused_with_the_ways_out() {
    let env = Env::new();
    let services: Vec<String> = ["a", "b", "c", "d", "e", "f"]
        .iter()
        .map(|s| format!(r#""{s}": {{"containers": {{"{s}": {{"artifact": "A"}}}}}}"#))
        .collect();
    env.write(
        "six.json",
        format!(r#"{{"services": {{{}}}}}"#, services.join(", ")),
    );
    env.run(&["buildspec", "--mapping", "six.json"])
        .code(2)
        .stderr_is("imagedef: error: mapping six.json has 6 services (a, b, c, d, e, f), but a CodeBuild action has at most 5 output artifacts (CodePipeline: \"Valid input and output artifacts for each action type\"), so one buildspec cannot hand each service an artifact of its own; either split the services across several build actions, each with its own mapping of at most 5 services and its own buildspec from imagedef buildspec, or write every service's bundle with imagedef emit --mapping six.json --bundle and upload them with imagedef publish, for a pipeline with an S3 source action per service\n");
}

#[test]
fn a_service_name_that_is_no_artifact_identifier_is_refused() {
    let env = Env::new();
    env.write(
        "imagedef.json",
        r#"{"services": {"web.v2": {"containers": {"web": {"artifact": "A"}}}}}"#,
    );
    env.run(&["buildspec", "--mapping", "imagedef.json"])
        .code(2)
        .stderr_is("imagedef: error: mapping imagedef.json: key \"services.web.v2\": service name \"web.v2\" contains '.'; use 1-100 of letters, digits, _ and - (it becomes a folder name and a buildspec artifact identifier)\n");
}

#[test]
fn paths_the_build_cannot_use_are_refused() {
    let env = project();
    env.run(&["buildspec", "--mapping", "imagedef.json", "--out", "../out"])
        .code(2)
        .stderr_is("imagedef: error: --out ../out leaves the folder it is relative to; CodeBuild takes artifact paths inside the primary source ($CODEBUILD_SRC_DIR) and skips the rest (\"no matching artifact paths found\"): give a path inside it\n");
    let absolute = env.path("imagedef.json");
    env.run(&["buildspec", "--mapping", absolute.to_str().unwrap()])
        .code(2)
        .stderr_is("imagedef: error: --mapping [TMP]/imagedef.json is absolute; CodeBuild runs the build in the primary source and takes artifact paths relative to it ($CODEBUILD_SRC_DIR): give the path relative to the source's root\n");
}

/// Regression: renaming service web to frontend in the mapping let emit exit 0, and CodeBuild
/// failed at `UPLOAD_ARTIFACTS` because the buildspec still handed imagedef-out/web to artifact web.
#[test]
fn a_renamed_service_fails_naming_the_artifact_and_the_service() {
    let env = project();
    env.write(
        "imagedef.json",
        MAPPING.replace("\"web\": {\"containers\"", "\"frontend\": {\"containers\""),
    );
    verify(&env)
    .code(1)
    .stdout_is("\
ok      buildspec buildspec.yml, artifact \"api\": service \"api\" of mapping imagedef.json: base-directory imagedef-out/api, files imagedefinitions.json, imageDetail.json, taskdef.json, appspec.yaml
FAILED  buildspec buildspec.yml, key \"artifacts.secondary-artifacts.web\": names no service of mapping imagedef.json (its services: frontend, api; its service \"frontend\" has no artifact: was \"web\" renamed?), so imagedef emit writes no imagedef-out/web and CodeBuild fails at UPLOAD_ARTIFACTS (\"no matching artifact paths found\"); rename the artifact as its service (and the pipeline's output artifact with it), or remove it; imagedef buildspec --mapping imagedef.json --out imagedef-out prints the artifacts that match
FAILED  buildspec buildspec.yml, key \"artifacts.secondary-artifacts\": has no artifact \"frontend\" for service \"frontend\" of mapping imagedef.json (its artifacts without a service: \"web\"), so the pipeline's output artifact frontend gets none of its files and its deploy action fails; add frontend with base-directory imagedef-out/frontend and files imagedefinitions.json; imagedef buildspec --mapping imagedef.json --out imagedef-out prints the artifacts that match
1 passed, 2 failed
");
}

#[test]
fn an_artifact_without_a_service_fails() {
    let env = project();
    env.write(
        "buildspec.yml",
        format!("{PRINTED}    worker:\n      base-directory: imagedef-out/worker\n      files:\n        - imagedefinitions.json\n"),
    );
    verify(&env)
    .code(1)
    .stdout_is(&format!("{BOTH_OK}FAILED  buildspec buildspec.yml, key \"artifacts.secondary-artifacts.worker\": names no service of mapping imagedef.json (its services: web, api), so imagedef emit writes no imagedef-out/worker and CodeBuild fails at UPLOAD_ARTIFACTS (\"no matching artifact paths found\"); rename the artifact as its service (and the pipeline's output artifact with it), or remove it; imagedef buildspec --mapping imagedef.json --out imagedef-out prints the artifacts that match
2 passed, 1 failed
"));
}

#[test]
fn a_file_the_service_will_not_have_fails_and_one_it_has_must_be_listed() {
    let env = project();
    // web is a standard service: no imageDetail.json. api lists its files by a glob that misses
    // the AppSpec.
    let text = PRINTED
        .replacen(
            "        - imagedefinitions.json\n",
            "        - imagedefinitions.json\n        - imageDetail.json\n",
            1,
        )
        .replace(
            "        - imagedefinitions.json\n        - imageDetail.json\n        - taskdef.json\n        - appspec.yaml\n",
            "        - \"*.json\"\n",
        );
    env.write("buildspec.yml", text);
    verify(&env)
    .code(1)
    .stdout_is("\
FAILED  buildspec buildspec.yml, key \"artifacts.secondary-artifacts.web.files\": holds \"imageDetail.json\", but imagedef emit writes no such file for service \"web\" of mapping imagedef.json (it writes imagedefinitions.json), so the artifact will not have it (the mapping's blueGreen would give it): remove it
FAILED  buildspec buildspec.yml, key \"artifacts.secondary-artifacts.api.files\": lacks \"appspec.yaml\", which imagedef emit writes for service \"api\" of mapping imagedef.json and its deploy action reads; add it
0 passed, 2 failed
");
}

#[test]
fn a_malformed_buildspec_is_an_error() {
    let env = project();
    for (text, says) in [
        (
            "artifacts:\n  files: &all [SHA256SUMS]\n  secondary-artifacts:\n    web:\n      files: *all\n",
            "uses a YAML alias (*all) at line 5; aliases are refused, as a few of them can expand to gigabytes: write the value out in full",
        ),
        (
            "artifacts:\n  secondary-artifacts:\n    web:\n      base-directory: imagedef-out/web\n      files: {a: 1}\n",
            "key \"artifacts.secondary-artifacts.web.files\" is an object, not a list of paths; write it as a list, e.g. files: [imagedefinitions.json]",
        ),
        (
            "version: 0.2\n---\nversion: 0.2\n",
            "holds 2 YAML documents (separated by ---); CodeBuild reads one buildspec: keep one",
        ),
    ] {
        env.write("bad.yml", text);
        env.run(&[
            "verify",
            "--buildspec",
            "bad.yml",
            "--mapping",
            "imagedef.json",
        ])
        .code(2)
        .stdout_is(&format!(
            "ERROR   buildspec bad.yml: {says}\n0 passed, 1 failed\n"
        ));
    }
}

#[test]
fn mapping_on_verify_needs_buildspec() {
    let env = project();
    env.run(&["verify", "--mapping", "imagedef.json"])
        .code(2)
        .stderr_is(
            "\
error: the following required arguments were not provided:
  --buildspec <FILE>

Usage: imagedef verify --mapping <FILE> --buildspec <FILE> [ROOT]...

For more information, try '--help'.
",
        );
}

/// The repository's buildspecs, each against the mapping its emit command names, from the
/// primary source's root as CodeBuild runs them.
#[test]
fn the_repositorys_buildspecs_match_their_mappings() {
    let env = Env::new();
    env.copy_dir(&examples().join("pipeline/source"), "src");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(root.join("buildspec.yml"), env.path("src/buildspec.yml")).unwrap();
    for (buildspec, mapping, report) in [
        (
            "buildspec.yml",
            "imagedef.json",
            "\
ok      buildspec src/buildspec.yml, artifact \"web\": service \"web\" of mapping src/imagedef.json: base-directory imagedef-out/web, files imagedefinitions.json
ok      buildspec src/buildspec.yml, artifact \"api\": service \"api\" of mapping src/imagedef.json: base-directory imagedef-out/api, files imagedefinitions.json, imageDetail.json, taskdef.json, appspec.yaml
ok      buildspec src/buildspec.yml, artifact \"batch\": service \"batch\" of mapping src/imagedef.json: base-directory imagedef-out/batch, files imagedefinitions.json
3 passed, 0 failed
",
        ),
        // web and batch are deployed by imagedef deploy --out, from the artifact that holds all
        // of imagedef-out.
        (
            "buildspec-deploy.yml",
            "imagedef-deploy.json",
            "\
ok      buildspec src/buildspec-deploy.yml, artifact \"api\": service \"api\" of mapping src/imagedef-deploy.json: base-directory imagedef-out/api, files imagedefinitions.json, imageDetail.json, taskdef.json, appspec.yaml
ok      buildspec src/buildspec-deploy.yml, artifact \"ImagedefOut\": holds the whole of imagedef-out (every service's folder of mapping src/imagedef-deploy.json)
ok      mapping src/imagedef-deploy.json, service \"web\": its folder imagedef-out/web is in artifact \"ImagedefOut\" of buildspec src/buildspec-deploy.yml, which holds the whole of imagedef-out
ok      mapping src/imagedef-deploy.json, service \"batch\": its folder imagedef-out/batch is in artifact \"ImagedefOut\" of buildspec src/buildspec-deploy.yml, which holds the whole of imagedef-out
4 passed, 0 failed
",
        ),
    ] {
        let spec = env.read(&format!("src/{buildspec}"));
        assert!(
            spec.contains(&format!("imagedef emit --mapping {mapping} --out imagedef-out")),
            "{buildspec} no longer emits from {mapping}: update this test"
        );
        env.run(&[
            "verify",
            "--buildspec",
            &format!("src/{buildspec}"),
            "--mapping",
            &format!("src/{mapping}"),
        ])
        .code(0)
        .stdout_is(report);
    }
}

/// CodeBuild also takes a lone path for `files`, and `discard-paths: yes` puts every file at the
/// artifact's root whatever its folder: both hand a service its files as well.
#[test]
fn a_lone_path_and_discard_paths_are_read_as_codebuild_reads_them() {
    let env = project();
    let web = "    web:\n      base-directory: imagedef-out/web\n      files:\n        - imagedefinitions.json\n";
    let written = PRINTED.replace(
        web,
        "    web:\n      base-directory: imagedef-out\n      discard-paths: yes\n      files: web/imagedefinitions.json\n",
    );
    assert_ne!(written, PRINTED);
    env.write("buildspec.yml", &written);
    verify(&env)
        .code(0)
        .stdout_is(&format!("{BOTH_OK}2 passed, 0 failed\n"));
    // Flattened from the wrong folder, it fails as any other file the service does not get.
    env.write(
        "buildspec.yml",
        written.replace(
            "files: web/imagedefinitions.json",
            "files: api/imagedefinitions.json",
        ),
    );
    verify(&env).code(1).stdout_is(&format!("{}FAILED  buildspec buildspec.yml, key \"artifacts.secondary-artifacts.web.files\": holds \"api/imagedefinitions.json\", but imagedef emit writes no such file for service \"web\" of mapping imagedef.json (it writes imagedefinitions.json), so the artifact will not have it: remove it\nFAILED  buildspec buildspec.yml, key \"artifacts.secondary-artifacts.web.files\": lacks \"imagedefinitions.json\", which imagedef emit writes for service \"web\" of mapping imagedef.json and its deploy action reads; add it\n1 passed, 2 failed\n", BOTH_OK.lines().nth(1).unwrap().to_owned() + "\n"));
}
