//! The builds that `publish` tests start from: services emitted with `--bundle` into `out`.

use std::fmt::Write as _;

use super::aws::aws_env;
use super::{Env, HOST, ecr_detail};

/// `sha256:` and `n` as 64 hex digits: a distinct, well-formed digest per service.
pub fn digest(n: u32) -> String {
    format!("sha256:{n:064x}")
}

/// A build of `count` services s1..sN, each one container `app` from the artifact `aN`
/// (repository shop/sN, tag v1), emitted with bundles into `out`; AWS variables point at
/// `endpoint`.
pub fn emitted(count: u32, endpoint: &str) -> Env {
    let mut env = Env::new();
    aws_env(&mut env, endpoint);
    emitted_in(&env, count);
    env
}

/// [`emitted`] in `env`, whose AWS variables are set already.
pub fn emitted_in(env: &Env, count: u32) {
    let mut services = serde_json::Map::new();
    for n in 1..=count {
        services.insert(
            format!("s{n}"),
            serde_json::json!({ "containers": { "app": { "repository": format!("shop/s{n}") } } }),
        );
        env.write(
            &format!("a{n}/imageDetail.json"),
            ecr_detail(&format!("shop/s{n}"), &digest(n), &["v1"]),
        );
    }
    env.write(
        "mapping.json",
        serde_json::json!({ "services": services }).to_string(),
    );
    emit_bundles(env, count);
}

/// `emit a1 .. aN --mapping mapping.json --bundle --out out`, which must succeed: run again after
/// changing an artifact, it writes the new generation.
pub fn emit_bundles(env: &Env, count: u32) {
    let roots: Vec<String> = (1..=count).map(|n| format!("a{n}")).collect();
    let mut args: Vec<&str> = vec!["emit"];
    args.extend(roots.iter().map(String::as_str));
    args.extend(["--mapping", "mapping.json", "--bundle", "--out", "out"]);
    let mut summary = String::new();
    for n in 1..=count {
        let detail: serde_json::Value =
            serde_json::from_str(&env.read(&format!("a{n}/imageDetail.json"))).unwrap();
        let digest = detail["ImageDigest"].as_str().unwrap();
        let _ = writeln!(
            summary,
            "s{n}: task definition not checked, templates off, ECR off, platform not checked, findings off\n  app = {HOST}/shop/s{n}@{}  (from a{n}:imageDetail.json)",
            &digest[..19]
        );
    }
    let services = if count == 1 { "service" } else { "services" };
    // Each service's imagedefinitions.json and zip, the report and SHA256SUMS.
    let files = 2 * count + 2;
    let _ = writeln!(summary, "wrote {files} files for {count} {services} to out");
    let run = env.run(&args);
    run.code(0).stdout_is(&summary);
    // Nothing to warn of, whatever the log level.
    assert!(
        run.stderr()
            .lines()
            .all(|line| line.starts_with("imagedef: debug: ")),
        "{run:#?}"
    );
}

/// The bytes of service sN's bundle, `out/sN.zip`.
pub fn bundle(env: &Env, n: u32) -> Vec<u8> {
    std::fs::read(env.path(&format!("out/s{n}.zip"))).unwrap()
}
