//! The registry API under `--ecr`: a single manifest's config blob read from a real registry on
//! 127.0.0.1 (`IMAGEDEF_REGISTRY_URL`), through a redirect as ECR answers, and refused when the
//! bytes are not the blob or the registry cannot be reached.

use std::net::TcpListener;

use crate::tools::aws::{self, Fault, FaultProxy, moto, unique};
use crate::tools::images::{self, images};
use crate::tools::registry::{self, Proxy, RedirectProxy};
use crate::util::Env;
use crate::util::aws::aws_env;

const REGION: &str = "us-west-2";

/// An artifact `img` naming a freshly pushed amd64 image, and runs pointed at `registry_url`.
fn env_for(registry_url: &str) -> (Env, String) {
    let repo = unique("shop/api");
    let uri = registry::push(moto(), REGION, &images().amd64, &repo, "v1");
    let mut env = Env::new();
    aws_env(&mut env, &moto().endpoint());
    env.set("IMAGEDEF_REGISTRY_URL", registry_url);
    env.write(
        "img/imageDetail.json",
        aws::detail(REGION, &repo, uri.rsplit('@').next().unwrap(), &["v1"]),
    );
    (env, uri)
}

/// The config digest of the amd64 image.
fn config_digest() -> String {
    let i = images();
    let manifest: serde_json::Value =
        serde_json::from_slice(&images::blob(&i.amd64, &i.amd64_digest)).unwrap();
    manifest["config"]["digest"].as_str().unwrap().to_owned()
}

#[test]
fn a_config_blob_is_read_from_the_registry_itself() {
    let (env, uri) = env_for(&registry::registry().url());
    env.run(&["verify", "img", "--ecr", "--platform", "linux/amd64"])
        .code(0)
        .stdout_has("offers linux/amd64, which --platform needs");
    env.run(&["verify", "img", "--ecr", "--platform", "linux/arm64"])
        .code(1)
        .stdout_has(&format!(
            "image {uri} offers linux/amd64, but --platform needs linux/arm64"
        ));
}

#[test]
fn a_redirect_gets_no_credentials_and_other_bytes_are_refused() {
    let proxy = RedirectProxy::start(Proxy::RedirectToWrongBytes);
    let (env, _) = env_for(&proxy.url());
    let run = env.run(&["verify", "img", "--ecr", "--platform", "linux/arm64"]);
    // The proxy's bytes claim arm64; they are not the blob, so nothing they say is believed.
    run.code(2).stdout_has(&format!(
        "/s3/{}/blobs/{} answered bytes whose sha256 is sha256:",
        env.read("img/imageDetail.json")
            .split("\"RepositoryName\":\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap(),
        config_digest()
    ));
    run.stdout_has(&format!(", not {}: refused", config_digest()));
    assert!(
        !run.stdout().contains("which --platform needs")
            && !run.stdout().contains("proxy-signature"),
        "{run:#?}"
    );
    let seen = proxy.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen[0]
            .authorization
            .as_deref()
            .is_some_and(|a| a.starts_with("Basic "))
    );
    assert_eq!(seen[1].authorization, None, "{seen:?}");
}

#[test]
fn an_unreachable_registry_is_exit_2_naming_the_endpoints() {
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{closed}");
    let (env, _) = env_for(&url);
    let run = env.run(&["verify", "img", "--ecr", "--platform", "linux/amd64"]);
    run.code(2)
        .stdout_has("could not connect or the connection was reset after 3 attempts")
        .stdout_has(&format!("com.amazonaws.{REGION}.ecr.dkr"))
        .stdout_has(&format!(
            "IMAGEDEF_REGISTRY_URL={url} is set: the registry requests went there"
        ));
}

#[test]
fn a_registry_url_with_a_path_is_refused() {
    let (env, _) = env_for("https://mirror.example.com/v2/");
    env.run(&["verify", "img", "--ecr", "--platform", "linux/amd64"])
        .code(2)
        .stdout_has(
            "IMAGEDEF_REGISTRY_URL=https://mirror.example.com/v2/ is refused: it has a path",
        );
}

/// A second single-manifest image in the same region, artifact `img2`.
fn second_image(env: &Env) {
    let repo = unique("shop/worker");
    let uri = registry::push(moto(), REGION, &images().arm64, &repo, "v1");
    env.write(
        "img2/imageDetail.json",
        aws::detail(REGION, &repo, uri.rsplit('@').next().unwrap(), &["v1"]),
    );
}

#[test]
fn a_registry_that_drops_connections_is_tried_three_times_in_all() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = std::sync::Arc::clone(&accepted);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(stream);
        }
    });
    let (env, _) = env_for(&format!("http://127.0.0.1:{port}"));
    second_image(&env);
    let run = env.run(&[
        "verify",
        "img",
        "img2",
        "--ecr",
        "--platform",
        "linux/amd64",
    ]);
    run.code(2);
    assert_eq!(
        run.stdout().matches("after 3 attempts").count(),
        2,
        "both images are errors: {run:#?}"
    );
    // The second image's fetch fails at once: the registry already proved unreachable.
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[test]
fn a_denied_token_is_asked_once_and_names_the_action() {
    // Two BatchGetImage calls (one per repository) pass; GetAuthorizationToken is denied.
    let api = FaultProxy::start(
        moto().port,
        vec![
            Fault::Pass,
            Fault::Pass,
            Fault::Answer(400, "AccessDeniedException"),
        ],
        Fault::Pass,
    );
    let (mut env, _) = env_for(&registry::registry().url());
    second_image(&env);
    env.set("AWS_ENDPOINT_URL", api.endpoint());
    let run = env.run(&[
        "verify",
        "img",
        "img2",
        "--ecr",
        "--platform",
        "linux/amd64",
    ]);
    run.code(2)
        .stdout_has("ECR GetAuthorizationToken on the registry of account")
        .stdout_has("failed with AccessDeniedException (HTTP 400)")
        .stdout_has("the build role needs ecr:GetAuthorizationToken on *");
    assert_eq!(api.count("BatchGetImage"), 2, "{:?}", api.targets);
    assert_eq!(api.count("GetAuthorizationToken"), 1, "{:?}", api.targets);
    assert_eq!(
        run.stdout()
            .matches("failed with AccessDeniedException")
            .count(),
        2,
        "{run:#?}"
    );
}
