//! The registry API under `--ecr`: a single manifest's config blob read from a real registry on
//! 127.0.0.1 (`IMAGEDEF_REGISTRY_URL`), through a redirect as ECR answers, and refused when the
//! bytes are not the blob or the registry cannot be reached.

use std::net::TcpListener;

use crate::util::Env;
use crate::util::aws::{self, aws_env, moto, unique};
use crate::util::images::{self, images};
use crate::util::registry::{self, Proxy, RedirectProxy};

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
        !run.stdout.contains("which --platform needs") && !run.stdout.contains("proxy-signature"),
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
            "IMAGEDEF_REGISTRY_URL={url} is set: check that it answers"
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
