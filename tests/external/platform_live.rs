//! The platform check live: real images (buildah) pushed to a real registry on 127.0.0.1 and the
//! same manifests to moto; `emit --ecr` and `verify --ecr` read the index from `BatchGetImage` and a
//! single manifest's config blob through the registry API, with the `GetAuthorizationToken`
//! credentials. Requests are counted at a proxy in front of moto and one in front of the registry.

use crate::tools::aws::{self, ACCOUNT, Fault, FaultProxy, moto, unique};
use crate::tools::images::images;
use crate::tools::registry::{self, Proxy, RedirectProxy};
use crate::util::Env;
use crate::util::aws::aws_env;
use crate::util::short_digests;

const REGION: &str = "eu-west-1";

/// What a test runs against: moto behind a counting proxy, the registry behind a redirecting one.
struct Live {
    env: Env,
    api: FaultProxy,
    blobs: RedirectProxy,
}

impl Live {
    fn new(mode: Proxy) -> Live {
        let api = FaultProxy::start(moto().port, Vec::new(), Fault::Pass);
        let blobs = RedirectProxy::start(mode);
        let mut env = Env::new();
        aws_env(&mut env, &api.endpoint());
        env.set("IMAGEDEF_REGISTRY_URL", blobs.url());
        Live { env, api, blobs }
    }

    /// Pushes the image of `layout` into a new repository and writes the artifact `art` naming
    /// it; returns the repository and the image URI.
    fn image(&self, layout: &std::path::Path, art: &str) -> (String, String) {
        let repo = unique("shop/web");
        let uri = registry::push(moto(), REGION, layout, &repo, "v1");
        let digest = uri.rsplit('@').next().unwrap();
        self.env.write(
            &format!("{art}/imageDetail.json"),
            aws::detail(REGION, &repo, digest, &["v1"]),
        );
        (repo, uri)
    }

    /// `emit img --mapping deploy/imagedef.json --ecr --out out`.
    fn emit(&self) -> crate::util::Run {
        self.env.run(&[
            "emit",
            "img",
            "--mapping",
            "deploy/imagedef.json",
            "--ecr",
            "--out",
            "out",
        ])
    }

    /// The blob requests the registry proxy answered: `/v2/...` ones (the registry API).
    fn blob_gets(&self) -> usize {
        self.blobs
            .seen()
            .iter()
            .filter(|s| s.path.starts_with("/v2/"))
            .count()
    }
}

fn mapping(repo: &str) -> String {
    serde_json::json!({
        "services": { "web": {
            "containers": { "web": { "repository": repo } },
            "taskDefinition": "arm.json"
        } }
    })
    .to_string()
}

const ARM_TASK: &str = r#"{"family":"web","requiresCompatibilities":["FARGATE"],"runtimePlatform":{"cpuArchitecture":"ARM64","operatingSystemFamily":"LINUX"},"containerDefinitions":[{"name":"web","image":"x"}]}"#;

#[test]
fn an_amd64_image_on_an_arm64_task_fails_and_nothing_is_written() {
    let live = Live::new(Proxy::Redirect);
    let (repo, uri) = live.image(&images().amd64, "img");
    live.env.write("deploy/imagedef.json", mapping(&repo));
    live.env.write("deploy/arm.json", ARM_TASK);
    let run = live.emit();
    run.code(1).stderr_has(&format!(
        "service \"web\", container \"web\": image {uri} offers linux/amd64, but task definition "
    ));
    run.stderr_has("needs linux/arm64: the task would not start")
        .stderr_has("docker buildx build --platform linux/arm64")
        .stderr_has("nothing was written");
    assert!(!live.env.path("out").exists(), "{run:#?}");
    assert_eq!(live.blob_gets(), 1, "{:?}", live.blobs.seen());
}

#[test]
fn an_arm64_single_manifest_passes_with_one_token_and_one_blob_get() {
    let live = Live::new(Proxy::Redirect);
    let (repo, uri) = live.image(&images().arm64, "img");
    live.env.write("deploy/imagedef.json", mapping(&repo));
    live.env.write("deploy/arm.json", ARM_TASK);
    live.emit().code(0).stdout_is(&short_digests(&format!(
        "web: task definition ok, templates off, ECR ok, platform ok, findings off\n  \
         web = {uri}  (from img:imageDetail.json)\n\
         wrote 3 files for 1 service to out\n"
    )));
    assert!(
        live.env
            .read("out/web/imagedefinitions.json")
            .contains(&uri)
    );
    let report: serde_json::Value =
        serde_json::from_str(&live.env.read("out/imagedef-report.json")).unwrap();
    assert_eq!(
        report["services"][0]["containers"][0]["platform"]["offers"],
        serde_json::json!(["linux/arm64"])
    );
    assert_eq!(live.api.count("GetAuthorizationToken"), 1);
    assert_eq!(live.blob_gets(), 1, "{:?}", live.blobs.seen());
    // The registry got moto's token as Basic credentials; the redirect's target got none.
    let token = aws_smithy_types::base64::encode(format!("AWS:{ACCOUNT}-auth-token"));
    let seen = live.blobs.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].authorization, Some(format!("Basic {token}")));
    assert!(seen[1].path.starts_with("/s3/"), "{seen:?}");
    assert_eq!(seen[1].authorization, None);
    // Every check that applies ran, so --strict has nothing to fail.
    live.env
        .run(&[
            "emit",
            "img",
            "--mapping",
            "deploy/imagedef.json",
            "--ecr",
            "--strict",
            "--out",
            "strict",
        ])
        .code(0)
        .stdout_has("web: task definition ok, templates off, ECR ok, platform ok, findings off\n");
}

#[test]
fn two_single_manifests_in_one_region_share_one_token() {
    let live = Live::new(Proxy::Redirect);
    let (_, amd) = live.image(&images().amd64, "a");
    let (_, arm) = live.image(&images().arm64, "b");
    let run = live
        .env
        .run(&["verify", "a", "b", "--ecr", "--platform", "linux/amd64"]);
    run.code(1)
        .stdout_has("offers linux/amd64, which --platform needs")
        .stdout_has(&format!(
            "image {arm} offers linux/arm64, but --platform needs linux/amd64"
        ));
    assert!(
        !run.stdout().contains(&format!("image {amd} offers")),
        "{run:#?}"
    );
    assert_eq!(live.api.count("GetAuthorizationToken"), 1);
    assert_eq!(live.blob_gets(), 2, "{:?}", live.blobs.seen());
}

#[test]
fn an_index_passes_for_both_platforms_without_a_blob_get() {
    let live = Live::new(Proxy::Redirect);
    live.image(&images().index, "img");
    for platform in ["linux/amd64", "linux/arm64"] {
        live.env
            .run(&["verify", "img", "--ecr", "--platform", platform])
            .code(0)
            .stdout_has(&format!(
                "offers {platform} in its index of linux/amd64, linux/arm64, which --platform needs"
            ));
    }
    assert_eq!(live.blob_gets(), 0, "{:?}", live.blobs.seen());
    assert_eq!(live.api.count("GetAuthorizationToken"), 0);
}

#[test]
fn a_denied_registry_is_exit_2_naming_the_iam_actions_and_endpoints() {
    let live = Live::new(Proxy::Deny);
    let (repo, _) = live.image(&images().arm64, "img");
    let run = live
        .env
        .run(&["verify", "img", "--ecr", "--platform", "linux/arm64"]);
    run.code(2)
        .stdout_has("was refused (HTTP 403)")
        .stdout_has("ecr:GetAuthorizationToken (resource *)")
        .stdout_has(&format!(
            "ecr:GetDownloadUrlForLayer on arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{repo}"
        ))
        .stdout_has(&format!("com.amazonaws.{REGION}.ecr.dkr"))
        .stdout_has(&format!("S3 gateway endpoint com.amazonaws.{REGION}.s3"));
    assert!(!run.stdout().contains("which --platform needs"), "{run:#?}");
}

#[test]
fn an_http_registry_url_off_loopback_is_refused() {
    let mut live = Live::new(Proxy::Redirect);
    live.image(&images().arm64, "img");
    live.env.set("IMAGEDEF_REGISTRY_URL", "http://example.com");
    let run = live
        .env
        .run(&["verify", "img", "--ecr", "--platform", "linux/arm64"]);
    run.code(2).stdout_has(
        "IMAGEDEF_REGISTRY_URL=http://example.com is refused: it is http to example.com, which is not a loopback address",
    );
    assert_eq!(live.blob_gets(), 0);
    assert_eq!(live.api.count("GetAuthorizationToken"), 0);
}

/// A blue/green task definition template on Fargate: linux/amd64, said by no runtimePlatform.
const FARGATE_TEMPLATE: &str = r#"{"family":"web","requiresCompatibilities":["FARGATE"],"containerDefinitions":[{"name":"web","image":"<IMAGE1_NAME>","portMappings":[{"containerPort":8080}]}]}"#;
const APPSPEC: &str = "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: <TASK_DEFINITION>\n        LoadBalancerInfo:\n          ContainerName: web\n          ContainerPort: 8080\n";

#[test]
fn a_blue_green_template_without_a_task_definition_still_holds_the_platform() {
    let live = Live::new(Proxy::Redirect);
    let (repo, uri) = live.image(&images().arm64, "img");
    live.env.write(
        "deploy/imagedef.json",
        serde_json::json!({
            "services": { "web": {
                "containers": { "web": { "repository": repo } },
                "blueGreen": "web",
                "taskDefinitionTemplate": "taskdef.json",
                "appSpec": "appspec.yaml"
            } }
        })
        .to_string(),
    );
    live.env.write("deploy/taskdef.json", FARGATE_TEMPLATE);
    live.env.write("deploy/appspec.yaml", APPSPEC);
    let run = live.emit();
    run.code(1).stderr_is(&format!(
        "imagedef: error: service \"web\", container \"web\": image {uri} offers linux/arm64, but task definition template deploy/taskdef.json (FARGATE without runtimePlatform.cpuArchitecture: amd64) needs linux/amd64: the task would not start (exec format error, or no manifest for linux/amd64); fix: build the image for linux/amd64 (e.g. docker buildx build --platform linux/amd64), or set the task definition's runtimePlatform to what the image is; nothing was written\n"
    ));
    assert!(!live.env.path("out").exists());
    // verify holds the images it checks to the template it is given, as to a task definition.
    let run = live.env.run(&[
        "verify",
        "img",
        "--ecr",
        "--task-definition-template",
        "deploy/taskdef.json",
        "--app-spec",
        "deploy/appspec.yaml",
    ]);
    run.code(1).stdout_has(&format!(
        "FAILED  img:imageDetail.json (img/imageDetail.json): image {uri} offers linux/arm64, but task definition template deploy/taskdef.json (FARGATE without runtimePlatform.cpuArchitecture: amd64) needs linux/amd64: the task would not start"
    ));
}
