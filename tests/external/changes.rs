//! What changes against the running service: with `ecs://CLUSTER/SERVICE`, every container's
//! image against the one the service's task definition names now (moto on loopback), in the text
//! summary, `--json`, `--dry-run` and `imagedef-report.json`.

use serde_json::{Value, json};

use crate::tools::aws::{detail, host, moto, unique};
use crate::util::Env;
use crate::util::aws::aws_env;

/// The images' region (no ECR call is made: `ecs://` reads ECS in `AWS_REGION`, eu-west-1).
const REGION: &str = "us-west-2";
const OLD: &str = "sha256:1a2b1a2b1a2b1a2b1a2b1a2b1a2b1a2b1a2b1a2b1a2b1a2b1a2b1a2b1a2b1a2b";
const NEW: &str = "sha256:3c4d3c4d3c4d3c4d3c4d3c4d3c4d3c4d3c4d3c4d3c4d3c4d3c4d3c4d3c4d3c4d";
const PROXY: &str = "sha256:5e6f5e6f5e6f5e6f5e6f5e6f5e6f5e6f5e6f5e6f5e6f5e6f5e6f5e6f5e6f5e6f";

/// What [`build`] made: the env, the two repositories' names (host included), the `ecs://` value
/// and the ARN of the task definition the service runs.
struct Build {
    env: Env,
    web: String,
    proxy: String,
    ecs: String,
    arn: String,
}

/// A build with artifacts `web` (shop/web at NEW, tag v1.3) and `proxy` (shop/proxy at PROXY, tag
/// p7), a mapping `imagedef.json` with service `shop` of both containers whose task definition is
/// `ecs://C/S`, and that ECS service running the `(container, image)` that `running` gives for the
/// two repositories' names.
fn build(running: impl FnOnce(&str, &str) -> Vec<(&'static str, String)>) -> Build {
    let moto = moto();
    let web_repo = unique("shop/web");
    let proxy_repo = unique("shop/proxy");
    let web = format!("{}/{web_repo}", host(REGION));
    let proxy = format!("{}/{proxy_repo}", host(REGION));
    let cluster = unique("prod");
    let service = unique("shop");
    let containers = running(&web, &proxy);
    let named: Vec<(&str, &str)> = containers.iter().map(|(c, i)| (*c, i.as_str())).collect();
    let arn = moto.ecs_service_running("eu-west-1", &cluster, &service, &named);
    let ecs = format!("ecs://{cluster}/{service}");
    let mut env = Env::new();
    aws_env(&mut env, &moto.endpoint());
    env.write(
        "web/imageDetail.json",
        detail(REGION, &web_repo, NEW, &["v1.3"]),
    );
    env.write(
        "proxy/imageDetail.json",
        detail(REGION, &proxy_repo, PROXY, &["p7"]),
    );
    env.write(
        "imagedef.json",
        json!({
            "services": { "shop": {
                "containers": {
                    "web": { "repository": web_repo },
                    "proxy": { "repository": proxy_repo }
                },
                "taskDefinition": ecs
            } }
        })
        .to_string(),
    );
    Build {
        env,
        web,
        proxy,
        ecs,
        arn,
    }
}

/// `emit` of the build's mapping into `out`.
fn emit(b: &Build, out: &str, extra: &[&str]) -> crate::util::Run {
    let mut args = vec![
        "emit",
        "web",
        "proxy",
        "--mapping",
        "imagedef.json",
        "--out",
        out,
    ];
    args.extend(extra);
    b.env.run(&args)
}

/// A digest as the summary shows it: `sha256:` and 12 hex characters.
fn short(digest: &str) -> &str {
    &digest[..19]
}

/// The summary's first lines: the service with the checks that ran, and where each image came
/// from.
fn resolved_line(b: &Build) -> String {
    format!(
        "shop: task definition ok, templates off, ECR off, platform not checked, findings off\n  web = {}@{}  (from web:imageDetail.json)\n  proxy = {}@{}  (from proxy:imageDetail.json)\n",
        b.web,
        short(NEW),
        b.proxy,
        short(PROXY)
    )
}

/// The build whose service runs shop/web at OLD and shop/proxy at PROXY: web changes.
fn web_changed() -> Build {
    build(|web, proxy| {
        vec![
            ("web", format!("{web}@{OLD}")),
            ("proxy", format!("{proxy}@{PROXY}")),
        ]
    })
}

/// What a mapping run shows before the files: the service's line, then `lines`, what changes
/// (each `    container: ...\n`).
fn shown(b: &Build, lines: &str) -> String {
    format!(
        "{}  against {} (runs {}):\n{lines}",
        resolved_line(b),
        b.ecs,
        b.arn,
    )
}

/// The changes of [`web_changed`].
fn web_changed_lines(b: &Build) -> String {
    format!(
        "    web: {}@{} -> @{} (v1.3)\n    proxy: unchanged\n",
        b.web,
        short(OLD),
        short(NEW)
    )
}

const WROTE: &str = "wrote 3 files for 1 service to out\n";

fn report(b: &Build) -> Value {
    serde_json::from_str(&b.env.read("out/imagedef-report.json")).unwrap()
}

#[test]
fn two_containers_one_changed_shows_the_running_digest_the_new_one_and_its_tag() {
    let b = web_changed();
    let run = emit(&b, "out", &[]);
    run.code(0);
    assert_eq!(run.stdout(), shown(&b, &web_changed_lines(&b)) + WROTE);
    let report = report(&b);
    let service = &report["services"][0];
    assert_eq!(service["task_definition"], b.ecs.as_str());
    assert_eq!(service["running_task_definition"], b.arn.as_str());
    assert_eq!(service["unchanged"], false);
    assert_eq!(
        service["containers"][0]["change"],
        json!({"status": "changed", "running": format!("{}@{OLD}", b.web)})
    );
    assert_eq!(
        service["containers"][1]["change"],
        json!({"status": "unchanged", "running": format!("{}@{PROXY}", b.proxy)})
    );
    // The deploy file is the same as without ecs://: the new image.
    assert!(
        b.env
            .read("out/shop/imagedefinitions.json")
            .contains(&format!("{}@{NEW}", b.web))
    );
}

#[test]
fn json_summary_carries_each_containers_change_and_unchanged_per_service() {
    let changed = web_changed();
    let summary = emit(&changed, "out", &["--json"]).code(0).json();
    assert_eq!(
        summary["services"],
        json!([{
            "service": "shop",
            "task_definition": changed.ecs,
            "running_task_definition": changed.arn,
            "unchanged": false
        }])
    );
    let rows = summary["containers"].as_array().unwrap();
    assert_eq!(rows[0]["container"], "web");
    assert_eq!(
        rows[0]["change"],
        json!({"status": "changed", "running": format!("{}@{OLD}", changed.web)})
    );
    assert_eq!(rows[1]["change"]["status"], "unchanged");

    // Every container unchanged: the deploy would change nothing.
    let same = build(|web, proxy| {
        vec![
            ("web", format!("{web}@{NEW}")),
            ("proxy", format!("{proxy}:p7@{PROXY}")),
            (
                "log-router",
                "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable".to_owned(),
            ),
        ]
    });
    let summary = emit(&same, "out", &["--json"]).code(0).json();
    assert_eq!(summary["services"][0]["unchanged"], true);
    assert_eq!(
        summary["containers"][1]["change"],
        json!({"status": "unchanged", "running": format!("{}:p7@{PROXY}", same.proxy)})
    );
    assert_eq!(report(&same)["services"][0]["unchanged"], true);
    let run = emit(&same, "out2", &[]);
    run.code(0);
    assert_eq!(
        run.stdout(),
        shown(&same, "    web: unchanged\n    proxy: unchanged\n")
            + "wrote 3 files for 1 service to out2\n"
    );
}

#[test]
fn a_running_tag_without_digest_is_unknown_and_said_so() {
    let b = build(|web, proxy| {
        vec![
            ("web", format!("{web}:v1.2")),
            ("proxy", format!("{proxy}@{PROXY}")),
        ]
    });
    let run = emit(&b, "out", &[]);
    run.code(0);
    let lines = format!(
        "    web: unknown (the running image is a tag without a digest): {}:v1.2 -> @{} (v1.3)\n    proxy: unchanged\n",
        b.web,
        short(NEW)
    );
    assert_eq!(run.stdout(), shown(&b, &lines) + WROTE);
    let service = &report(&b)["services"][0];
    assert_eq!(
        service["containers"][0]["change"],
        json!({"status": "unknown", "running": format!("{}:v1.2", b.web), "reason": "running-tag-only"})
    );
    // Unknown is not unchanged.
    assert_eq!(service["unchanged"], false);
}

#[test]
fn repositories_are_compared_by_identity_and_another_one_is_a_change_even_with_the_same_digest() {
    let b = build(|web, _| {
        vec![
            // The FIPS host of the same registry: the same repository.
            (
                "web",
                format!("{}@{NEW}", web.replace(".dkr.ecr.", ".dkr.ecr-fips.")),
            ),
            // Another repository holding the same digest.
            ("proxy", format!("{}/shop/envoy@{PROXY}", host(REGION))),
        ]
    });
    let run = emit(&b, "out", &[]);
    run.code(0);
    let lines = format!(
        "    web: unchanged\n    proxy: {}/shop/envoy@{} -> {}@{} (p7)\n",
        host(REGION),
        short(PROXY),
        b.proxy,
        short(PROXY),
    );
    assert_eq!(run.stdout(), shown(&b, &lines) + WROTE);
    let service = &report(&b)["services"][0];
    assert_eq!(service["containers"][1]["change"]["status"], "changed");
    assert_eq!(service["unchanged"], false);
}

#[test]
fn dry_run_shows_the_same_and_writes_nothing() {
    let b = web_changed();
    let run = emit(&b, "out", &["--dry-run"]);
    run.code(0);
    let want = shown(&b, &web_changed_lines(&b)) + "would write ";
    assert!(run.stdout().starts_with(&want), "{}", run.stdout());
    assert!(!b.env.path("out").exists());
}

#[test]
fn single_image_mode_with_ecs_shows_the_change_after_its_line() {
    let b = build(|web, _| vec![("web", format!("{web}@{OLD}"))]);
    let single = |extra: &[&str]| {
        let mut args = vec![
            "emit",
            "web",
            "--container",
            "web",
            "--task-definition",
            &b.ecs,
            "--out",
            "out",
        ];
        args.extend(extra);
        b.env.run(&args)
    };
    let run = single(&[]);
    run.code(0);
    assert_eq!(
        run.stdout(),
        format!(
            "web = {}@{}  (from web:imageDetail.json)\n  checks: task definition ok, templates off, ECR off, platform not checked, findings off\n  against {} (runs {}):\n    web: {}@{} -> @{} (v1.3)\nwrote 2 files to out\n",
            b.web,
            short(NEW),
            b.ecs,
            b.arn,
            b.web,
            short(OLD),
            short(NEW),
        )
    );
    let summary = single(&["--json"]).code(0).json();
    assert_eq!(summary["services"][0]["service"], Value::Null);
    assert_eq!(summary["services"][0]["unchanged"], false);
}

#[test]
fn task_definitions_from_files_carry_no_change_info() {
    let b = web_changed();
    // The same task definition as a file: checked for the containers, never compared.
    b.env.write(
        "td.json",
        json!({"family": "shop", "containerDefinitions": [
            {"name": "web", "image": format!("{}@{OLD}", b.web)},
            {"name": "proxy", "image": format!("{}@{PROXY}", b.proxy)}
        ]})
        .to_string(),
    );
    let mapping = b.env.read("imagedef.json").replace(&b.ecs, "td.json");
    b.env.write("imagedef.json", mapping);
    let run = emit(&b, "out", &[]);
    run.code(0);
    assert_eq!(run.stdout(), resolved_line(&b) + WROTE);
    let service = &report(&b)["services"][0];
    for key in ["running_task_definition", "unchanged"] {
        assert!(service.get(key).is_none(), "{key}: {service}");
    }
    assert!(
        service["containers"][0].get("change").is_none(),
        "{service}"
    );
    let summary = emit(&b, "out2", &["--json"]).code(0).json();
    assert!(summary.get("services").is_none(), "{summary}");
    assert!(
        summary["containers"][0].get("change").is_none(),
        "{summary}"
    );
}

#[test]
fn a_container_the_running_task_definition_lacks_still_fails() {
    let b = build(|web, _| vec![("web", format!("{web}@{OLD}"))]);
    let run = emit(&b, "out", &[]);
    run.code(1)
        .stderr_has("container \"proxy\" not in task definition")
        .stderr_has("which the service runs now");
    assert_eq!(run.stdout(), "");
    assert!(!b.env.path("out").exists());
}
