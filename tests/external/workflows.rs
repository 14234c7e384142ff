//! `.github/workflows`: npm's `@action-validator/cli` (`target/node`, `.ci/deps-node`) accepts
//! every workflow, offline, and refuses a broken one; the release workflow runs on a version tag
//! only, with no permission but the four it needs, every action pinned to a commit, and publishes
//! exactly what `scripts/release.sh` writes: the image's index and single-architecture tags (the
//! layout's digests kept) to GHCR and Amazon ECR Public, the files to the GitHub release, with
//! build provenance for each.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use regex::Regex;
use yaml_rust2::{Yaml, YamlLoader};

use crate::util::Env;

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn workflows() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(repo_file(".github/workflows"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    found.sort();
    assert!(!found.is_empty());
    found
}

/// `action-validator FILE`, from `target/node` (or `$IMAGEDEF_NODE_DIR`).
fn action_validator(file: &Path) -> Output {
    let validator = crate::tools::installed("IMAGEDEF_NODE_DIR", "node")
        .join("node_modules/@action-validator/cli/cli.mjs");
    Command::new("node")
        .arg(&validator)
        .arg(file)
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run node ({e}); run `bash .ci/deps-node` first"))
}

/// The workflow as the validator is given it: `@action-validator/core` 0.6.0 (the latest, from
/// December 2024) bundles a workflow schema that predates the `attestations` permission
/// (GitHub's artifact attestations) and refuses it, so that one line is left out here; the
/// release test below holds the permissions themselves.
fn for_the_validator(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("attestations: write") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[test]
fn action_validator_accepts_every_workflow_and_refuses_a_broken_one() {
    let env = Env::new();
    for path in workflows() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let copy = env.write(&name, for_the_validator(&text));
        let out = action_validator(&copy);
        assert!(
            out.status.success(),
            "{name}: action-validator: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // The validator can fail: a misspelt key of a job.
        let broken = text.replacen("    runs-on:", "    run-on:", 1);
        assert_ne!(broken, text, "{name} has no runs-on");
        let copy = env.write(&format!("broken-{name}"), for_the_validator(&broken));
        let out = action_validator(&copy);
        assert!(!out.status.success(), "{name}: a misspelt runs-on passed");
        // The validator reports on stderr.
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            report.contains("Additional property 'run-on' is not allowed"),
            "{report}"
        );
    }
}

fn keys(y: &Yaml) -> BTreeSet<String> {
    y.as_hash()
        .map(|h| h.keys().map(|k| k.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

/// Every `run` of the job's steps, joined.
fn runs(job: &Yaml) -> String {
    job["steps"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The files a release holds, as `scripts/release.sh` lists them in its header, for `version`.
fn release_files(version: &str) -> Vec<String> {
    let script = std::fs::read_to_string(repo_file("scripts/release.sh")).unwrap();
    let line = Regex::new(r"^#   (imagedef-VERSION-\S+|SHA256SUMS)\s").unwrap();
    let mut files: Vec<String> = script
        .lines()
        .take_while(|l| l.starts_with('#'))
        .filter_map(|l| line.captures(l))
        .map(|c| c[1].replace("VERSION", version))
        .filter(|f| !f.ends_with('/'))
        .collect();
    // "imagedef-VERSION-<target>.cdx.json": one per target.
    let targets = ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"];
    files = files
        .into_iter()
        .flat_map(|f| {
            if f.contains("<target>") {
                targets.iter().map(|t| f.replace("<target>", t)).collect()
            } else {
                vec![f]
            }
        })
        .collect();
    files.sort();
    files
}

#[test]
#[allow(clippy::too_many_lines)] // the workflow read from trigger to release, one concern after another
fn the_release_workflow_publishes_what_release_sh_writes_with_least_permissions() {
    let path = repo_file(".github/workflows/release.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let doc = &YamlLoader::load_from_str(&text).unwrap()[0];

    // On a version tag, and nothing else.
    assert_eq!(keys(&doc["on"]), BTreeSet::from(["push".to_owned()]));
    assert_eq!(
        keys(&doc["on"]["push"]),
        BTreeSet::from(["tags".to_owned()])
    );
    let tags: Vec<&str> = doc["on"]["push"]["tags"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(tags, ["v[0-9]+.[0-9]+.[0-9]+*"]);

    // No permission by default; the one job asks for exactly these four.
    assert_eq!(
        doc["permissions"]
            .as_hash()
            .map(yaml_rust2::yaml::Hash::len),
        Some(0)
    );
    assert_eq!(keys(&doc["jobs"]), BTreeSet::from(["release".to_owned()]));
    let job = &doc["jobs"]["release"];
    let permissions: BTreeSet<String> = job["permissions"]
        .as_hash()
        .unwrap()
        .iter()
        .map(|(k, v)| format!("{}: {}", k.as_str().unwrap(), v.as_str().unwrap()))
        .collect();
    assert_eq!(
        permissions,
        BTreeSet::from(
            [
                "attestations: write",
                "contents: write",
                "id-token: write",
                "packages: write"
            ]
            .map(String::from)
        )
    );

    // Every action pinned to a commit, its version beside it.
    let uses = Regex::new(r"uses:\s*(\S+)(.*)").unwrap();
    let pinned = Regex::new(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$").unwrap();
    let version = Regex::new(r"^\s*# v[0-9]+\.[0-9]+\.[0-9]+$").unwrap();
    let mut actions = 0;
    for c in uses.captures_iter(&text) {
        assert!(pinned.is_match(&c[1]), "not pinned to a commit: {}", &c[1]);
        assert!(
            version.is_match(&c[2]),
            "{}: no `# vX.Y.Z` beside it",
            &c[1]
        );
        actions += 1;
    }
    assert!(actions >= 2, "{actions} actions");

    // The job runs in the Rust image the Dockerfile builds with.
    let dockerfile = std::fs::read_to_string(repo_file("docker/Dockerfile")).unwrap();
    let rust_image = Regex::new(r"(?m)^ARG RUST_IMAGE=(\S+)$")
        .unwrap()
        .captures(&dockerfile)
        .unwrap()[1]
        .to_owned();
    assert_eq!(
        job["container"]["image"].as_str(),
        Some(rust_image.as_str())
    );

    // The tag must be Cargo.toml's version; the release is tested, then built, by the scripts.
    let run = runs(job);
    assert!(
        run.contains(r#"[ "$GITHUB_REF_NAME" != "v$version" ]"#),
        "{run}"
    );
    let test_at = run
        .find("bash scripts/release-test.sh")
        .expect("release-test.sh");
    let build_at = run.find("bash scripts/release.sh").expect("release.sh");
    assert!(
        test_at < build_at,
        "the release is tested before it is built"
    );
    assert!(run.contains("bash .ci/deps-image") && run.contains("bash scripts/install-tools.sh"));

    // The image: the index with --all, then each architecture's tag, digests kept, to both
    // registries; the tags are the layout's (scripts/release-test.sh checks them).
    let release_test = std::fs::read_to_string(repo_file("scripts/release-test.sh")).unwrap();
    assert!(release_test.contains(r#""$version $version-amd64 $version-arm64 ""#));
    assert!(run.contains(r#"for repository in "$GHCR_REPOSITORY" "$ECR_PUBLIC_REPOSITORY"; do"#));
    assert!(run.contains(r#"skopeo copy --all --preserve-digests "oci:$layout:$VERSION" "docker://$repository:$VERSION""#));
    assert!(run.contains("for arch in amd64 arm64; do"));
    assert!(run.contains(r#"skopeo copy --preserve-digests "oci:$layout:$VERSION-$arch" "docker://$repository:$VERSION-$arch""#));
    assert!(
        job["env"]["GHCR_REPOSITORY"]
            .as_str()
            .unwrap()
            .starts_with("ghcr.io/")
    );
    assert!(
        job["env"]["ECR_PUBLIC_REPOSITORY"]
            .as_str()
            .unwrap()
            .starts_with("public.ecr.aws/")
    );
    assert!(run.contains("aws ecr-public get-login-password --region us-east-1"));

    // Provenance for every file of the release and for each of the three image digests.
    let steps = job["steps"].as_vec().unwrap();
    let attest: Vec<&Yaml> = steps
        .iter()
        .filter(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/attest-build-provenance@"))
        })
        .collect();
    assert_eq!(attest.len(), 4, "the files, the index, amd64, arm64");
    let subjects: Vec<String> = attest[0]["with"]["subject-path"]
        .as_str()
        .unwrap()
        .lines()
        .map(|l| l.trim().replace("${{ env.VERSION }}", "0.1.0"))
        .filter(|l| !l.is_empty())
        .collect();
    let glob = |pattern: &str, file: &str| {
        globset::Glob::new(pattern)
            .unwrap()
            .compile_matcher()
            .is_match(format!("target/release-0.1.0/{file}"))
    };
    let files = release_files("0.1.0");
    assert_eq!(files.len(), 6, "{files:?}");
    let release = run
        .split("gh release create")
        .nth(1)
        .expect("gh release create");
    let attached: Vec<String> = release
        .split_whitespace()
        .filter(|w| w.starts_with("\"$dir"))
        .map(|w| {
            w.replace('"', "")
                .replace("$dir", "target/release-0.1.0")
                .replace("$VERSION", "0.1.0")
        })
        .collect();
    for file in &files {
        assert!(
            subjects.iter().any(|s| glob(s, file)),
            "no provenance for {file}: {subjects:?}"
        );
        assert!(
            attached.iter().any(|a| glob(a, file)),
            "{file} is not attached to the release: {attached:?}"
        );
    }
    for (step, output) in attest[1..].iter().zip(["index", "amd64", "arm64"]) {
        assert_eq!(
            step["with"]["subject-digest"].as_str(),
            Some(format!("${{{{ steps.push.outputs.{output} }}}}").as_str())
        );
        assert_eq!(
            step["with"]["subject-name"].as_str(),
            Some("${{ env.GHCR_REPOSITORY }}")
        );
        assert_eq!(step["with"]["push-to-registry"].as_bool(), Some(true));
    }
}
