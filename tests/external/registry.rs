//! The registry API under `--ecr`: a single manifest's config blob read from a real registry on
//! 127.0.0.1 (`IMAGEDEF_REGISTRY_URL`), through a redirect as ECR answers, and refused when the
//! bytes are not the blob or the registry cannot be reached; registries and blob stores that hang
//! or drip their answer are cut by the one `--registry-timeout` of the run, naming the host.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::tools::aws::{self, ACCOUNT, Fault, FaultProxy, moto, unique};
use crate::tools::images::{self, images};
use crate::tools::registry::{self, Proxy, RedirectProxy, SlowStore, Slowness};
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
    images::config_digest(&images().amd64)
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
    // Every other call passes; GetAuthorizationToken is denied.
    let api = FaultProxy::start_matching(
        moto().port,
        "GetAuthorizationToken",
        vec![Fault::Answer(400, "AccessDeniedException")],
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

// Slow registries: every registry read of a run draws on one --registry-timeout.

/// A guard against a hang, far above the 2 s budget the tests give (the real figures are measured
/// apart, not asserted).
const FINISHED_WITHIN: Duration = Duration::from_secs(30);

/// The size of the amd64 image's config blob.
fn config_size() -> usize {
    let i = images();
    images::blob(&i.amd64, &config_digest()).len()
}

/// How an error of a config blob read of the amd64 image `uri` begins.
pub(crate) fn reading(uri: &str, region: &str) -> String {
    let (name, _) = uri.split_once('@').unwrap();
    format!(
        "reading the config blob {} of {name} (registry {ACCOUNT}, region {region}) through the registry API: ",
        config_digest()
    )
}

/// What to do about `host`, and the registry URL the requests went to.
fn fix(host: &str, region: &str, registry_url: &str) -> String {
    format!(
        "fix: if {host} is only slow, raise --registry-timeout (IMAGEDEF_REGISTRY_TIMEOUT); otherwise check the network path to it: a build in a VPC reaches the registry through the interface endpoint com.amazonaws.{region}.ecr.dkr and its blobs through the S3 gateway endpoint com.amazonaws.{region}.s3 (or a NAT gateway); IMAGEDEF_REGISTRY_URL={registry_url} is set: the registry requests went there, not to the image's registry"
    )
}

/// The words of the read the 2 s budget cut short: `host` was slow at `url`, `stage`.
pub(crate) fn cut_short(
    host: &str,
    url: &str,
    stage: &str,
    region: &str,
    registry_url: &str,
) -> String {
    format!(
        "{host} was slow: GET {url} {stage} when the 2 s that all registry reads of this run may take together ran out (--registry-timeout); nothing more is read from any registry; {}",
        fix(host, region, registry_url)
    )
}

/// A run of `command` (words split at spaces) and how long it took.
fn timed(env: &Env, command: &str) -> (crate::util::Run, Duration) {
    let started = Instant::now();
    let run = env.run(&command.split(' ').collect::<Vec<_>>());
    (run, started.elapsed())
}

/// `verify img --ecr --platform linux/amd64 --registry-timeout 2`, and how long it took.
fn verify_within_two_seconds(env: &Env) -> (crate::util::Run, Duration) {
    timed(
        env,
        "verify img --ecr --platform linux/amd64 --registry-timeout 2",
    )
}

/// What `verify img --ecr` prints when the platform read of `uri` fails with `error`.
fn verified_but(uri: &str, error: &str) -> String {
    let (name, digest) = uri.split_once('@').unwrap();
    let repo = name.split_once('/').unwrap().1;
    let line = format!("img:imageDetail.json (img/imageDetail.json): {uri}");
    format!(
        "ok      {line}\nok      {line} in ECR (digest {digest}, repository {repo} in registry {ACCOUNT} (region {REGION}))\nERROR   {line}: {error}\n2 passed, 1 failed\n"
    )
}

/// `text` with the count in its one `had sent N of the M bytes` written as N; and that count,
/// which must be short of M (the body was cut) and more than nothing (it had begun).
fn bytes_sent(text: &str, of: usize) -> (String, usize) {
    let said = regex::Regex::new(&format!(r"had sent (\d+) of the {of} bytes")).unwrap();
    let captures = said.captures(text).unwrap_or_else(|| panic!("{text}"));
    let sent: usize = captures[1].parse().unwrap();
    assert!((1..of).contains(&sent), "{sent} of {of}: {text}");
    (
        said.replace(text, format!("had sent N of the {of} bytes"))
            .into_owned(),
        sent,
    )
}

#[test]
fn a_registry_that_accepts_and_never_answers_ends_the_run_when_the_budget_runs_out() {
    let proxy = RedirectProxy::start(Proxy::Slow(Slowness::Hung));
    let (env, uri) = env_for(&proxy.url());
    let (run, took) = verify_within_two_seconds(&env);
    let host = format!("127.0.0.1:{}", proxy.port);
    let url = format!(
        "http://{host}/v2/{}/blobs/{}",
        repo_of(&uri),
        config_digest()
    );
    let error = format!(
        "{}{}",
        reading(&uri, REGION),
        cut_short(&host, &url, "had not answered", REGION, &proxy.url())
    );
    run.code(2)
        .stdout_is(&verified_but(&uri, &error))
        .stderr_is("");
    assert!(took < FINISHED_WITHIN, "{took:?}");
    assert_eq!(
        proxy.seen().len(),
        1,
        "one request, cut short: {:?}",
        proxy.seen()
    );
}

/// The repository of an image URI `host/repository@digest`.
fn repo_of(uri: &str) -> &str {
    uri.split_once('/').unwrap().1.split_once('@').unwrap().0
}

/// Runs `verify` within 2 s against a registry that drips the config blob of `uri` (itself, or
/// the blob store it redirects to: `host`, asked at `url`), and asserts that the read was cut
/// part way through the body, naming them.
fn cut_while_dripping(env: &Env, uri: &str, host: &str, url: &str, registry_url: &str) {
    let (run, took) = verify_within_two_seconds(env);
    let size = config_size();
    let stage = format!("had sent N of the {size} bytes of its answer");
    let error = format!(
        "{}{}",
        reading(uri, REGION),
        cut_short(host, url, &stage, REGION, registry_url)
    );
    run.code(2).stderr_is("");
    let (stdout, _) = bytes_sent(run.stdout(), size);
    assert_eq!(stdout, verified_but(uri, &error));
    assert!(took < FINISHED_WITHIN, "{took:?}");
}

#[test]
fn a_registry_that_drips_its_answer_a_byte_a_second_is_cut_by_the_same_budget() {
    let proxy = RedirectProxy::start(Proxy::Slow(Slowness::Throttled));
    let (env, uri) = env_for(&proxy.url());
    let host = format!("127.0.0.1:{}", proxy.port);
    let url = format!(
        "http://{host}/v2/{}/blobs/{}",
        repo_of(&uri),
        config_digest()
    );
    cut_while_dripping(&env, &uri, &host, &url, &proxy.url());
}

#[test]
fn a_redirect_to_a_throttled_blob_store_is_bounded_too() {
    let store = SlowStore::start("127.0.0.2", Slowness::Throttled);
    let proxy = RedirectProxy::start(Proxy::RedirectTo(vec![store.url()]));
    let (env, uri) = env_for(&proxy.url());
    // Named without the redirect's pre-signed query, which is a credential.
    let url = format!(
        "{}/s3/{}/blobs/{}",
        store.url(),
        repo_of(&uri),
        config_digest()
    );
    cut_while_dripping(&env, &uri, &store.host(), &url, &proxy.url());
    assert_eq!(store.connections(), 1);
}

#[test]
fn two_slow_blob_stores_of_a_mapping_share_one_budget_and_the_first_is_named() {
    // Two services whose images live in two regions' registries, each redirecting to its own
    // blob store, and both stores hang: the first uses the whole budget, the second is never
    // asked (nor is the second region's token), and both errors name the first store.
    let stores = [
        SlowStore::start("127.0.0.2", Slowness::Hung),
        SlowStore::start("127.0.0.3", Slowness::Hung),
    ];
    let proxy = RedirectProxy::start(Proxy::RedirectTo(
        stores.iter().map(SlowStore::url).collect(),
    ));
    let api = FaultProxy::start(moto().port, Vec::new(), Fault::Pass);
    let mut env = Env::new();
    aws_env(&mut env, &api.endpoint());
    env.set("IMAGEDEF_REGISTRY_URL", proxy.url());
    let mut uris = Vec::new();
    for (service, region) in [("web", "us-west-2"), ("api", "eu-west-1")] {
        let repo = unique(&format!("shop/{service}"));
        let uri = registry::push(moto(), region, &images().amd64, &repo, "v1");
        env.write(
            &format!("{service}/imageDetail.json"),
            aws::detail(region, &repo, uri.rsplit('@').next().unwrap(), &["v1"]),
        );
        uris.push((uri, repo, region));
    }
    env.write(
        "imagedef.json",
        serde_json::json!({
            "platform": "linux/amd64",
            "services": {
                "web": {"containers": {"web": {"repository": uris[0].1}}},
                "api": {"containers": {"api": {"repository": uris[1].1}}}
            }
        })
        .to_string(),
    );
    let (run, took) = timed(
        &env,
        "emit web api --mapping imagedef.json --ecr --out out --registry-timeout 2",
    );
    let (first, second) = (&uris[0], &uris[1]);
    let host = stores[0].host();
    let url = format!(
        "{}/s3/{}/blobs/{}",
        stores[0].url(),
        first.1,
        config_digest()
    );
    let stderr = format!(
        "imagedef: error: service \"web\", container \"web\": {}: {}{}\nservice \"api\", container \"api\": {}: {}not read: the 2 s that all registry reads of this run may take together (--registry-timeout) ran out on an earlier read, of the config blob {} of {}, when {host} was slow (GET {url} had not answered); {}; nothing was written\n",
        first.0,
        reading(&first.0, first.2),
        cut_short(&host, &url, "had not answered", first.2, &proxy.url()),
        second.0,
        reading(&second.0, second.2),
        config_digest(),
        first.0.split_once('@').unwrap().0,
        fix(&host, first.2, &proxy.url()),
    );
    run.code(2).stdout_is("").stderr_is(&stderr);
    assert!(took < FINISHED_WITHIN, "{took:?}");
    assert_eq!(
        (stores[0].connections(), stores[1].connections()),
        (1, 0),
        "the second store is never asked"
    );
    assert_eq!(api.count("GetAuthorizationToken"), 1, "{:?}", api.targets);
    assert!(!env.path("out").exists());
}
