//! The top-level `buildspec.yml`, run the way CodeBuild runs it: its phase commands in order under
//! `/bin/sh`, from the primary source, with `CODEBUILD_SRC_DIR` and `CODEBUILD_SRC_DIR_<name>`
//! laid out as CodeBuild lays them out, and the built binary on `PATH`. Then every `artifacts` and
//! `secondary-artifacts` entry must match files the run produced.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use globset::GlobBuilder;
use yaml_rust2::{Yaml, YamlLoader};

use crate::util::{BIN, Env, examples};

/// The buildspec as checked in.
fn checked_in() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("buildspec.yml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The input artifacts of the example pipeline, in the order CodeBuild numbers them.
const INPUTS: [&str; 4] = ["WebImage", "ApiImage", "ProxyImage", "BatchImages"];

/// A CodeBuild-like layout: the primary source (examples/pipeline/source plus `buildspec`) in
/// `.../src/s3/00`, each other input artifact in `.../src/s3/01`, `02`, ...
struct Build {
    /// Holds the temporary directory for as long as the build lives.
    _dir: Env,
    primary: PathBuf,
    secondary: Vec<(&'static str, PathBuf)>,
}

impl Build {
    fn new(buildspec: &str) -> Build {
        let env = Env::new();
        let src = "codebuild/output/src123/src/s3";
        env.copy_dir(&examples().join("pipeline/source"), &format!("{src}/00"));
        env.write(&format!("{src}/00/buildspec.yml"), buildspec);
        let mut secondary = Vec::new();
        for (i, name) in INPUTS.iter().enumerate() {
            let dir = format!("{src}/{:02}", i + 1);
            env.copy_dir(&examples().join("pipeline").join(name), &dir);
            secondary.push((*name, env.path(&dir)));
        }
        Build {
            primary: env.path(&format!("{src}/00")),
            _dir: env,
            secondary,
        }
    }
}

/// One artifact the buildspec declares, and the files its patterns matched.
#[derive(Debug)]
struct Artifact {
    base_directory: String,
    files: BTreeSet<String>,
}

/// What a successful run produced: the primary artifact (key `""`) and each secondary artifact.
#[derive(Debug)]
struct Outcome {
    artifacts: BTreeMap<String, Artifact>,
    log: String,
}

fn s(y: &Yaml) -> Option<&str> {
    y.as_str()
}

fn keys(y: &Yaml, what: &str, allowed: &[&str]) -> Result<(), String> {
    let hash = y.as_hash().ok_or(format!("{what} is not a mapping"))?;
    for k in hash.keys() {
        let k = s(k).ok_or(format!("{what} has a key that is not a string: {k:?}"))?;
        if !allowed.contains(&k) {
            return Err(format!(
                "{what} has key {k:?}, which this test does not know (known: {allowed:?})"
            ));
        }
    }
    Ok(())
}

fn strings<'y>(y: &'y Yaml, what: &str) -> Result<Vec<&'y str>, String> {
    y.as_vec()
        .ok_or(format!("{what} is not a list"))?
        .iter()
        .map(|item| s(item).ok_or(format!("{what} holds {item:?}, not a string")))
        .collect()
}

/// The phases CodeBuild runs, in order.
const PHASES: [&str; 4] = ["install", "pre_build", "build", "post_build"];

/// Runs the buildspec in `build` as CodeBuild would, and checks its artifacts sections.
fn run(build: &Build) -> Result<Outcome, String> {
    let text = std::fs::read_to_string(build.primary.join("buildspec.yml")).unwrap();
    let docs = YamlLoader::load_from_str(&text).map_err(|e| format!("not YAML: {e}"))?;
    let [doc] = docs.as_slice() else {
        return Err(format!("{} YAML documents, not one", docs.len()));
    };
    keys(
        doc,
        "the buildspec",
        &["version", "env", "phases", "artifacts"],
    )?;
    if doc["version"].as_f64() != Some(0.2) {
        return Err(format!("version is {:?}, not 0.2", doc["version"]));
    }
    let log = execute(build, &variables(doc)?, &script(doc)?)?;
    let artifacts = artifacts(&build.primary, &doc["artifacts"])?;
    Ok(Outcome { artifacts, log })
}

/// `env.variables`, which CodeBuild sets for every command.
fn variables(doc: &Yaml) -> Result<Vec<(String, String)>, String> {
    let mut variables = Vec::new();
    if doc["env"].is_badvalue() {
        return Ok(variables);
    }
    keys(&doc["env"], "env", &["variables"])?;
    for (k, v) in doc["env"]["variables"]
        .as_hash()
        .ok_or("env.variables is not a mapping")?
    {
        let value = match v {
            Yaml::String(v) | Yaml::Real(v) => v.clone(),
            Yaml::Integer(i) => i.to_string(),
            other => return Err(format!("env.variables holds {other:?}")),
        };
        variables.push((s(k).ok_or("env.variables key")?.to_owned(), value));
    }
    Ok(variables)
}

/// One shell script of every phase's commands: like CodeBuild, one shell for all of them, and the
/// build stops at the first command that fails.
fn script(doc: &Yaml) -> Result<String, String> {
    use std::fmt::Write as _;
    keys(&doc["phases"], "phases", &PHASES)?;
    let mut script = String::new();
    let mut count = 0;
    for phase in PHASES {
        let p = &doc["phases"][phase];
        if p.is_badvalue() {
            continue;
        }
        keys(p, &format!("phases.{phase}"), &["commands"])?;
        for command in strings(&p["commands"], &format!("phases.{phase}.commands"))? {
            count += 1;
            let _ = write!(
                script,
                "{command}\nrc=$?; if [ $rc -ne 0 ]; then echo \"phase {phase}: command failed with exit status $rc: {}\" >&2; exit $rc; fi\n",
                command.replace('"', "'")
            );
        }
    }
    if count == 0 {
        return Err("the buildspec runs no command".into());
    }
    Ok(script)
}

/// Runs `script` under /bin/sh in the primary source with the CodeBuild variables and the built
/// binary first on PATH; returns its output, or an error with it when it fails.
fn execute(build: &Build, variables: &[(String, String)], script: &str) -> Result<String, String> {
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut sh = Command::new("/bin/sh");
    sh.arg("-c").arg(script).current_dir(&build.primary);
    for (key, _) in std::env::vars() {
        if key.starts_with("CODEBUILD_")
            || key.starts_with("IMAGEDEF_")
            || key == "CONTAINER_NAME"
            || key == "RUST_LOG"
        {
            sh.env_remove(key);
        }
    }
    sh.env("PATH", path)
        .env("CODEBUILD_SRC_DIR", &build.primary);
    for (name, dir) in &build.secondary {
        sh.env(format!("CODEBUILD_SRC_DIR_{name}"), dir);
    }
    sh.envs(variables.iter().map(|(k, v)| (k, v)));
    let out = sh
        .output()
        .map_err(|e| format!("cannot run /bin/sh: {e}"))?;
    let log = format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(log)
    } else {
        Err(format!("the build failed ({}):\n{log}", out.status))
    }
}

/// The primary artifact (key `""`) and every secondary artifact, each checked against the files
/// the run produced.
fn artifacts(primary: &Path, section: &Yaml) -> Result<BTreeMap<String, Artifact>, String> {
    keys(
        section,
        "artifacts",
        &["files", "base-directory", "secondary-artifacts"],
    )?;
    let mut artifacts = BTreeMap::new();
    artifacts.insert(String::new(), artifact(primary, section, "artifacts")?);
    if section["secondary-artifacts"].is_badvalue() {
        return Ok(artifacts);
    }
    let entries = section["secondary-artifacts"]
        .as_hash()
        .ok_or("artifacts.secondary-artifacts is not a mapping")?;
    for (id, entry) in entries {
        let id = s(id).ok_or("a secondary artifact identifier is not a string")?;
        let valid = !id.is_empty()
            && id.len() <= 100
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid {
            return Err(format!(
                "secondary artifact identifier {id:?} is not a CodePipeline artifact name"
            ));
        }
        let what = format!("artifacts.secondary-artifacts.{id}");
        keys(entry, &what, &["files", "base-directory"])?;
        artifacts.insert(id.to_owned(), artifact(primary, entry, &what)?);
    }
    Ok(artifacts)
}

/// The files an artifact entry takes: every pattern of `files` must match at least one produced
/// file under `base-directory` (relative to the primary source, as in CodeBuild).
fn artifact(primary: &Path, entry: &Yaml, what: &str) -> Result<Artifact, String> {
    let base_directory = match &entry["base-directory"] {
        Yaml::BadValue => String::new(),
        other => s(other)
            .ok_or(format!("{what}.base-directory is not a string"))?
            .to_owned(),
    };
    if base_directory.starts_with('/') || base_directory.contains('$') {
        return Err(format!(
            "{what}.base-directory {base_directory:?}: this test takes paths relative to the primary source"
        ));
    }
    let base = primary.join(&base_directory);
    let produced: Vec<String> = walkdir::WalkDir::new(&base)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(&base)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    let mut files = BTreeSet::new();
    for pattern in strings(&entry["files"], &format!("{what}.files"))? {
        let glob = GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| format!("{what}.files: {pattern:?}: {e}"))?
            .compile_matcher();
        let matched: Vec<&String> = produced
            .iter()
            .filter(|p| glob.is_match(p.as_str()))
            .collect();
        if matched.is_empty() {
            return Err(format!(
                "{what}: files pattern {pattern:?} matches nothing under {base_directory:?} (CodeBuild: \"no matching artifact paths found\"); the run produced {produced:?}"
            ));
        }
        files.extend(matched.into_iter().cloned());
    }
    Ok(Artifact {
        base_directory,
        files,
    })
}

/// The service names of the example mapping, in file order.
fn services() -> Vec<String> {
    let text = std::fs::read_to_string(examples().join("pipeline/source/imagedef.json")).unwrap();
    let mapping: serde_json::Value = serde_json::from_str(&text).unwrap();
    mapping["services"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

#[test]
fn the_buildspec_runs_and_publishes_one_artifact_per_service() {
    let build = Build::new(&checked_in());
    let outcome = run(&build).unwrap_or_else(|e| panic!("{e}"));
    let ids: BTreeSet<&str> = outcome
        .artifacts
        .keys()
        .map(String::as_str)
        .filter(|k| !k.is_empty())
        .collect();
    let services = services();
    assert_eq!(
        ids,
        services.iter().map(String::as_str).collect(),
        "one secondary artifact per service"
    );
    for service in &services {
        let a = &outcome.artifacts[service];
        assert_eq!(
            a.base_directory,
            format!("imagedef-out/{service}"),
            "{service}"
        );
        // Everything imagedef wrote for the service is published, at the artifact's root.
        let written: BTreeSet<String> = std::fs::read_dir(build.primary.join(&a.base_directory))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(a.files, written, "{service}: {}", outcome.log);
        assert!(a.files.contains("imagedefinitions.json"), "{service}");
    }
    assert!(outcome.artifacts["api"].files.contains("imageDetail.json"));
    let primary = &outcome.artifacts[""];
    assert_eq!(
        primary.files,
        BTreeSet::from(["SHA256SUMS".to_owned(), "imagedef-report.json".to_owned()])
    );
    // The scan step showed the inputs; the emit step wrote where CodeBuild looks.
    assert!(outcome.log.contains("BatchImages"), "{}", outcome.log);
    assert!(!outcome.log.contains("lies outside"), "{}", outcome.log);
    let web = std::fs::read_to_string(build.primary.join("imagedef-out/web/imagedefinitions.json"))
        .unwrap();
    assert!(
        web.contains("\"proxy\"") && web.contains("aws-xray-daemon:3.3.12"),
        "{web}"
    );
}

/// `text` with `from` replaced, which must occur in it (else the test would prove nothing).
fn broken(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "the buildspec no longer contains {from:?}; update this test"
    );
    text.replacen(from, to, 1)
}

#[test]
fn a_failing_command_fails_the_build() {
    let text = broken(
        &checked_in(),
        "imagedef emit --mapping imagedef.json",
        "imagedef emit --mapping missing.json",
    );
    let e = run(&Build::new(&text)).unwrap_err();
    assert!(e.contains("command failed with exit status 2"), "{e}");
    assert!(e.contains("cannot read mapping missing.json"), "{e}");
}

#[test]
fn a_failing_check_fails_the_build() {
    let build = Build::new(&checked_in());
    std::fs::write(
        build.secondary[0].1.join("imageDetail.json"),
        "{\"ImageURI\": \"<IMAGE1_NAME>\"}",
    )
    .unwrap();
    let e = run(&build).unwrap_err();
    assert!(e.contains("command failed with exit status 1"), "{e}");
    assert!(e.contains("selector {\"repository\": \"shop/web\", \"artifact\": \"WebImage\"} matches no discovered image"), "{e}");
}

#[test]
fn an_artifact_naming_a_file_the_build_did_not_write_fails() {
    let text = broken(
        &checked_in(),
        "base-directory: imagedef-out/web\n      files:\n",
        "base-directory: imagedef-out/web\n      files:\n        - imageDetail.json\n",
    );
    let e = run(&Build::new(&text)).unwrap_err();
    assert!(
        e.contains(
            "artifacts.secondary-artifacts.web: files pattern \"imageDetail.json\" matches nothing"
        ),
        "{e}"
    );
}
