//! Output generations in mapping mode: a scratch folder with two mappings that write different
//! generations into one OUT, and what OUT holds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{BIN, DIGEST_WEB, Env, ecr_detail, web_artifact};

/// A mapping of `services` services, each one container taking the `Web` artifact's image.
pub fn mapping(services: usize, uri: &str) -> String {
    let body: Vec<String> = (0..services)
        .map(|i| {
            format!(
                r#""svc{i:02}": {{"containers": {{"app": {{"artifact": "Web"}}}}, "blueGreen": "app"}}"#
            )
        })
        .collect();
    format!(r#"{{"uri": "{uri}", "services": {{{}}}}}"#, body.join(", "))
}

/// The environment: the web artifact (tags `latest`, `v1`) and mappings `a.json`, `b.json`.
pub fn two_mappings(a: usize, b: usize) -> Env {
    let env = web_artifact();
    env.write(
        "web/imageDetail.json",
        ecr_detail("shop/web", DIGEST_WEB, &["latest", "v1"]),
    );
    env.write("a.json", mapping(a, "digest"));
    env.write("b.json", mapping(b, "tag"));
    env
}

pub fn emit_command(env: &Env, mapping: &str, out: &str) -> Command {
    let mut cmd = Command::new(BIN);
    // The root is the whole scratch folder, OUT and what runs leave beside it included: discovery
    // must skip them (the b generation's blue/green files name the image by tag, so reading one
    // would make the image ambiguous).
    cmd.args([
        "-q",
        "emit",
        "--mapping",
        mapping,
        "--bundle",
        "--out",
        out,
        "Web=.",
    ])
    .current_dir(env.root())
    .env_remove("CODEBUILD_SRC_DIR")
    .env_remove("RUST_LOG")
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    cmd
}

/// Every file below `dir` with its bytes; folders too, as `None`.
pub fn tree(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(dir).unwrap().to_path_buf();
            let bytes = e
                .file_type()
                .is_file()
                .then(|| std::fs::read(e.path()).unwrap());
            (rel, bytes)
        })
        .collect()
}

/// A generation written to its own folder, for comparison.
pub fn reference(env: &Env, mapping: &str, out: &str) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let status = emit_command(env, mapping, out).status().unwrap();
    assert!(status.success(), "{mapping}");
    tree(&env.path(out))
}

/// Names in the environment's root other than the inputs and the given outputs.
pub fn leftovers(env: &Env, outputs: &[&str]) -> Vec<String> {
    let inputs = ["web", "a.json", "b.json"];
    std::fs::read_dir(env.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !inputs.contains(&n.as_str()) && !outputs.contains(&n.as_str()))
        .collect()
}

/// Emits `mapping` into `out`, which must succeed.
pub fn emit_ok(env: &Env, mapping: &str) {
    let status = emit_command(env, mapping, "out").status().unwrap();
    assert!(status.success(), "emit --mapping {mapping}: {status}");
}
