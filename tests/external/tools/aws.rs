//! Live-AWS test servers, all on 127.0.0.1: one moto server per test run (a local AWS, from the
//! venv `.ci/deps-aws` makes) and a fault-injecting proxy in front of it. Tests give every resource
//! its own name, so they run in parallel against the one moto server.
//!
//! Nothing here sends traffic anywhere but loopback; the runs of the binary are set up by
//! [`crate::util::aws::aws_env`], which says how.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use sha2::{Digest as _, Sha256};

use crate::util::Run;
use crate::util::aws::SECRET;

/// moto's default account: the registry id of every repository it creates.
pub const ACCOUNT: &str = "123456789012";
pub const TOKEN: &str = "imagedefTestSessionToken0123456789SECRETTOKEN";
/// The container credentials endpoint's authorization token (`AWS_CONTAINER_AUTHORIZATION_TOKEN`).
pub const AUTH_TOKEN: &str = "imagedef-test-auth-token";

/// A run at trace level showed the SDK's own trace output, and none of the test credentials (key,
/// session token, the container endpoint's token) nor a request signature.
#[track_caller]
pub fn assert_no_secrets(run: &Run) {
    run.stderr_has("beginning attempt");
    for secret in [SECRET, TOKEN, AUTH_TOKEN] {
        assert!(
            !run.stdout().contains(secret) && !run.stderr().contains(secret),
            "{secret} leaked: {run:#?}"
        );
    }
    assert!(
        !run.stderr().contains("Signature="),
        "a signature leaked: {run:#?}"
    );
}

/// The ECR registry host of moto's account in `region`.
pub fn host(region: &str) -> String {
    format!("{ACCOUNT}.dkr.ecr.{region}.amazonaws.com")
}

/// A name no other test uses: `prefix-N`.
pub fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The moto server of this test run.
pub struct Moto {
    pub port: u16,
    /// Held until the test process exits; then the server's stdin closes and it stops.
    _stdin: ChildStdin,
    _child: Child,
}

/// The Python of the venv `.ci/deps-aws` makes (moto, awscli, junitparser).
pub fn venv_python() -> PathBuf {
    super::installed("IMAGEDEF_MOTO_VENV", "moto-venv").join("bin/python")
}

/// A program the venv of `.ci/deps-aws` installs (`cfn-lint`), beside its Python.
pub fn venv_tool(name: &str) -> PathBuf {
    venv_python().with_file_name(name)
}

/// Starts moto on first use (about half a second), from the venv `.ci/deps-aws` makes.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let python = venv_python();
        let mut child = Command::new(&python)
            .arg(root.join("tests/external/tools/moto_server.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start moto with {} ({e}); run `bash .ci/deps-aws` first",
                    python.display()
                )
            });
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().unwrap_or_else(|_| {
            panic!("moto did not print its port (got {line:?}); run `bash .ci/deps-aws`")
        });
        Moto {
            port,
            _stdin: child.stdin.take().unwrap(),
            _child: child,
        }
    })
}

impl Moto {
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One AWS JSON call (`X-Amz-Target`), unsigned: moto reads the region and service from the
    /// Authorization header's scope and checks no signature.
    pub fn call(&self, service: &str, region: &str, target: &str, body: &str) -> (u16, String) {
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDIMAGEDEFTEST/20260101/{region}/{service}/aws4_request, SignedHeaders=host, Signature=00"
        );
        http(
            self.port,
            "POST",
            "/",
            &[
                ("Content-Type", "application/x-amz-json-1.1"),
                ("X-Amz-Target", target),
                ("Authorization", &auth),
            ],
            body.as_bytes(),
        )
    }

    #[track_caller]
    fn ok(&self, service: &str, region: &str, target: &str, body: &str) -> serde_json::Value {
        let (status, text) = self.call(service, region, target, body);
        assert_eq!(status, 200, "{target}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Pushes a new image (a unique manifest) with `tags` into `repo` in `region`, creating the
    /// repository if needed, and returns its digest: sha256 of the manifest, as ECR computes it.
    /// (moto deletes an image whose only tag is pushed again; give it a second tag to keep it.)
    pub fn push(&self, region: &str, repo: &str, tags: &[&str]) -> String {
        let (status, text) = self.call(
            "ecr",
            region,
            "AmazonEC2ContainerRegistry_V20150921.CreateRepository",
            &serde_json::json!({ "repositoryName": repo }).to_string(),
        );
        assert!(
            status == 200 || text.contains("RepositoryAlreadyExists"),
            "{text}"
        );
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 7,
                "digest": format!("sha256:{:064x}", 7)
            },
            "layers": [],
            "annotations": { "unique": unique(repo) }
        })
        .to_string();
        let hex = Sha256::digest(manifest.as_bytes())
            .iter()
            .fold(String::new(), |mut hex, b| {
                let _ = write!(hex, "{b:02x}");
                hex
            });
        let digest = format!("sha256:{hex}");
        for tag in tags {
            self.ok(
                "ecr",
                region,
                "AmazonEC2ContainerRegistry_V20150921.PutImage",
                &serde_json::json!({
                    "repositoryName": repo,
                    "imageManifest": manifest,
                    "imageManifestMediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "imageTag": tag,
                    "imageDigest": digest,
                })
                .to_string(),
            );
        }
        digest
    }

    /// A cluster with a service running a task definition of `containers` (image `nginx`);
    /// returns its ARN.
    pub fn ecs_service(
        &self,
        region: &str,
        cluster: &str,
        service: &str,
        containers: &[&str],
    ) -> String {
        let named: Vec<(&str, &str)> = containers.iter().map(|c| (*c, "nginx")).collect();
        self.ecs_service_running(region, cluster, service, &named)
    }

    /// A cluster with a service running a task definition of `containers`, each `(name, image)`;
    /// returns its ARN.
    pub fn ecs_service_running(
        &self,
        region: &str,
        cluster: &str,
        service: &str,
        containers: &[(&str, &str)],
    ) -> String {
        let ecs = |target: &str, body: serde_json::Value| {
            self.ok(
                "ecs",
                region,
                &format!("AmazonEC2ContainerServiceV20141113.{target}"),
                &body.to_string(),
            )
        };
        ecs(
            "CreateCluster",
            serde_json::json!({ "clusterName": cluster }),
        );
        let defs: Vec<serde_json::Value> = containers
            .iter()
            .map(|(name, image)| serde_json::json!({ "name": name, "image": image, "memory": 128 }))
            .collect();
        let td = ecs(
            "RegisterTaskDefinition",
            serde_json::json!({ "family": service, "containerDefinitions": defs }),
        );
        let arn = td["taskDefinition"]["taskDefinitionArn"]
            .as_str()
            .unwrap()
            .to_owned();
        ecs(
            "CreateService",
            serde_json::json!({
                "cluster": cluster, "serviceName": service, "taskDefinition": arn, "desiredCount": 1
            }),
        );
        arn
    }
}

/// S3 in moto, through its REST API (path-style, unsigned), in the region of
/// [`crate::util::aws::aws_env`].
impl Moto {
    fn s3(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let auth = "AWS4-HMAC-SHA256 Credential=AKIDIMAGEDEFTEST/20260101/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=00";
        let mut all = vec![("Authorization", auth)];
        all.extend_from_slice(headers);
        http_raw(self.port, method, path, &all, body)
    }

    /// Creates `bucket` in eu-west-1, with versioning enabled when `versioned`.
    pub fn bucket(&self, bucket: &str, versioned: bool) {
        let config = "<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>";
        let (status, _, body) = self.s3("PUT", &format!("/{bucket}"), &[], config.as_bytes());
        assert_eq!(
            status,
            200,
            "CreateBucket {bucket}: {}",
            String::from_utf8_lossy(&body)
        );
        if versioned {
            let on = "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>";
            let (status, _, body) =
                self.s3("PUT", &format!("/{bucket}?versioning"), &[], on.as_bytes());
            assert_eq!(
                status,
                200,
                "PutBucketVersioning: {}",
                String::from_utf8_lossy(&body)
            );
        }
    }

    /// The bytes of the object's current version and its stored sha256 checksum (base64).
    pub fn object(&self, bucket: &str, key: &str) -> (Vec<u8>, Option<String>) {
        let (status, _, bytes) = self.s3("GET", &format!("/{bucket}/{key}"), &[], b"");
        assert_eq!(status, 200, "GetObject s3://{bucket}/{key}");
        let checksum = self
            .head(bucket, key)
            .into_iter()
            .find(|(k, _)| k == "x-amz-checksum-sha256")
            .map(|(_, v)| v);
        (bytes, checksum)
    }

    /// The headers of `HeadObject` (checksum mode on), names lowercased.
    pub fn head(&self, bucket: &str, key: &str) -> Vec<(String, String)> {
        let (status, headers, _) = self.s3(
            "HEAD",
            &format!("/{bucket}/{key}"),
            &[("x-amz-checksum-mode", "ENABLED")],
            b"",
        );
        assert_eq!(status, 200, "HeadObject s3://{bucket}/{key}");
        headers
    }

    /// The line `publish` prints for `key` of `bucket` when it uploaded `bytes` there as the
    /// object's newest version.
    pub fn uploaded(&self, bucket: &str, key: &str, bytes: &[u8]) -> String {
        let version = self
            .versions(bucket, key)
            .into_iter()
            .next()
            .expect("a version");
        let hex = Sha256::digest(bytes)
            .iter()
            .fold(String::new(), |mut hex, b| {
                let _ = write!(hex, "{b:02x}");
                hex
            });
        format!("uploaded s3://{bucket}/{key} version {version} sha256 {hex}\n")
    }

    /// The version ids of `key`, newest first.
    pub fn versions(&self, bucket: &str, key: &str) -> Vec<String> {
        let (status, _, body) =
            self.s3("GET", &format!("/{bucket}?versions&prefix={key}"), &[], b"");
        let text = String::from_utf8_lossy(&body);
        assert_eq!(status, 200, "ListObjectVersions: {text}");
        text.split("<Version>")
            .skip(1)
            .filter(|v| v.contains(&format!("<Key>{key}</Key>")))
            .filter_map(|v| {
                let id = v
                    .split("<VersionId>")
                    .nth(1)?
                    .split("</VersionId>")
                    .next()?;
                Some(id.to_owned())
            })
            .collect()
    }
}

/// The ECR source action's imageDetail.json for an image in moto's registry.
pub fn detail(region: &str, repo: &str, digest: &str, tags: &[&str]) -> String {
    serde_json::json!({
        "ImageSizeInBytes": "1234",
        "ImageDigest": digest,
        "Version": "1.0",
        "ImagePushedAt": "Tue Jun 28 09:41:03 UTC 2022",
        "RegistryId": ACCOUNT,
        "RepositoryName": repo,
        "ImageURI": format!("{}/{repo}@{digest}", host(region)),
        "ImageTags": tags,
    })
    .to_string()
}

/// Sends a request that a stand-in received (its start line, headers and body) to `upstream` as
/// it came, on a connection of its own that closes after the answer; the connection, to read it.
pub fn pass_on(upstream: u16, start: &str, headers: &[(String, String)], body: &[u8]) -> TcpStream {
    let mut up = TcpStream::connect(("127.0.0.1", upstream)).unwrap();
    let mut request = format!("{start}\r\n");
    for (k, v) in headers.iter().filter(|(k, _)| k != "connection") {
        let _ = write!(request, "{k}: {v}\r\n");
    }
    request.push_str("connection: close\r\n\r\n");
    up.write_all(request.as_bytes()).unwrap();
    up.write_all(body).unwrap();
    up
}

/// A minimal HTTP/1.1 exchange over one connection: returns the status and the body.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let (status, _headers, body) = http_raw(port, method, path, headers, body);
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// [`http`], with the answer's headers (lowercased names) and its body as bytes.
pub fn http_raw(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        let _ = write!(request, "{k}: {v}\r\n");
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut reader = BufReader::new(stream);
    let (status, headers, body) =
        read_message_of(&mut reader, true, method == "HEAD").expect("an HTTP response");
    (
        status.split(' ').nth(1).unwrap().parse().unwrap(),
        headers,
        body,
    )
}

/// An HTTP message: start line, headers, body.
pub type Message = (String, Vec<(String, String)>, Vec<u8>);

/// Reads one HTTP message: the start line, the headers (lowercased names), the body (by
/// Content-Length, or to EOF for a response without one). `None` at a clean EOF.
pub fn read_message(reader: &mut BufReader<TcpStream>, response: bool) -> Option<Message> {
    read_message_of(reader, response, false)
}

/// [`read_message`]; `head`: the answer to a HEAD request, whose Content-Length is the object's
/// and which has no body.
fn read_message_of(
    reader: &mut BufReader<TcpStream>,
    response: bool,
    head: bool,
) -> Option<Message> {
    let mut start = String::new();
    if reader.read_line(&mut start).ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    let mut body = Vec::new();
    match length {
        _ if head => {}
        Some(n) => {
            body.resize(n, 0);
            reader.read_exact(&mut body).ok()?;
        }
        None if response => {
            reader.read_to_end(&mut body).ok()?;
        }
        None => {}
    }
    Some((start.trim_end().to_owned(), headers, body))
}

/// What the proxy does with one request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Forward it to moto.
    Pass,
    /// Close the connection without an answer.
    Drop,
    /// Answer with this status and AWS JSON error code (`__type`).
    Answer(u16, &'static str),
    /// As `Answer`, with this message (anything a service could write in one).
    AnswerWith(u16, &'static str, &'static str),
    /// Another writer first: PUT these bytes at the request's path (query dropped) straight to
    /// moto, then forward the request.
    PutFirst(Arc<Vec<u8>>),
    /// Another writer of the same bytes first: send this request, without its `If-Match` and
    /// `If-None-Match`, straight to moto, then forward it.
    ReplayFirst,
    /// Forward it to moto and change moto's JSON answer before it is returned: a service that
    /// answers with what moto does not model.
    Edited(Edit),
}

/// A change to a JSON answer, for [`Fault::Edited`].
#[derive(Clone)]
pub struct Edit(pub Arc<dyn Fn(&mut serde_json::Value) + Send + Sync>);

impl std::fmt::Debug for Edit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Edit(..)")
    }
}

/// A proxy in front of moto that answers the first requests with the planned faults, then
/// `after` for every later one. It records the `X-Amz-Target` of every request it receives, or
/// for S3 (REST, no target) `S3 <METHOD> <path>`; S3 requests get their faults as S3's XML errors.
pub struct FaultProxy {
    pub port: u16,
    pub targets: Arc<Mutex<Vec<String>>>,
}

impl FaultProxy {
    pub fn start(upstream: u16, plan: Vec<Fault>, after: Fault) -> FaultProxy {
        FaultProxy::start_matching(upstream, "", plan, after)
    }

    /// [`FaultProxy::start`] whose faults apply only to the requests whose start line (`PUT
    /// /bucket/key?x-id=PutObject HTTP/1.1`) contains `matching`, or whose operation
    /// (`X-Amz-Target` `...DescribeImages`) is `matching`; the others pass.
    pub fn start_matching(
        upstream: u16,
        matching: &str,
        plan: Vec<Fault>,
        after: Fault,
    ) -> FaultProxy {
        let matching = Arc::new(matching.to_owned());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let targets = Arc::new(Mutex::new(Vec::new()));
        let plan = Arc::new(Mutex::new(VecDeque::from(plan)));
        let seen = Arc::clone(&targets);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (seen, plan, after) = (Arc::clone(&seen), Arc::clone(&plan), after.clone());
                let matching = Arc::clone(&matching);
                std::thread::spawn(move || {
                    serve(&stream, upstream, &matching, &seen, &plan, &after);
                });
            }
        });
        FaultProxy { port, targets }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// How many requests had `X-Amz-Target` ending in `.{operation}`.
    pub fn count(&self, operation: &str) -> usize {
        let suffix = format!(".{operation}");
        self.targets
            .lock()
            .unwrap()
            .iter()
            .filter(|t| t.ends_with(&suffix))
            .count()
    }

    /// How many S3 requests had this method (`PUT`, `HEAD`).
    pub fn count_s3(&self, method: &str) -> usize {
        let prefix = format!("S3 {method} ");
        self.targets
            .lock()
            .unwrap()
            .iter()
            .filter(|t| t.starts_with(&prefix))
            .count()
    }
}

fn serve(
    stream: &TcpStream,
    upstream: u16,
    matching: &str,
    seen: &Mutex<Vec<String>>,
    plan: &Mutex<VecDeque<Fault>>,
    after: &Fault,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    while let Some((start, headers, body)) = read_message(&mut reader, false) {
        let target = headers
            .iter()
            .find(|(k, _)| k == "x-amz-target")
            .map(|(_, v)| v.clone());
        let s3 = target.is_none();
        let applies = start.contains(matching)
            || target
                .as_deref()
                .is_some_and(|t| t.ends_with(&format!(".{matching}")));
        let method = start.split(' ').next().unwrap_or_default().to_owned();
        let path = start.split(' ').nth(1).unwrap_or_default();
        seen.lock()
            .unwrap()
            .push(target.unwrap_or_else(|| format!("S3 {method} {path}")));
        let fault = if applies {
            plan.lock().unwrap().pop_front().unwrap_or(after.clone())
        } else {
            Fault::Pass
        };
        let fault = other_writer_first(fault, upstream, &start, &headers, &body);
        let mut out = stream;
        let (status, extra, answer) = match fault {
            Fault::Drop => {
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
            Fault::Answer(status, code) if s3 => (
                status,
                vec![("content-type".to_owned(), "application/xml".to_owned())],
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected {code}</Message></Error>"
                )
                .into_bytes(),
            ),
            Fault::Answer(status, code) => (
                status,
                vec![("x-amzn-errortype".to_owned(), code.to_owned())],
                serde_json::json!({ "__type": code, "message": format!("injected {code}") })
                    .to_string()
                    .into_bytes(),
            ),
            Fault::AnswerWith(status, code, message) => (
                status,
                vec![("x-amzn-errortype".to_owned(), code.to_owned())],
                serde_json::json!({ "__type": code, "message": message })
                    .to_string()
                    .into_bytes(),
            ),
            Fault::Edited(edit) => {
                let Some((status, headers, body)) =
                    forward(upstream, &start, &headers, &body, &method)
                else {
                    return;
                };
                let mut answer: serde_json::Value =
                    serde_json::from_slice(&body).expect("moto answered JSON");
                (edit.0)(&mut answer);
                (status, headers, answer.to_string().into_bytes())
            }
            Fault::Pass => {
                let Some(answer) = forward(upstream, &start, &headers, &body, &method) else {
                    return;
                };
                answer
            }
            Fault::PutFirst(_) | Fault::ReplayFirst => unreachable!("replaced by Pass above"),
        };
        let mut head = format!("HTTP/1.1 {status} X\r\n");
        if !extra.iter().any(|(k, _)| k == "content-length") {
            let _ = write!(head, "content-length: {}\r\n", answer.len());
        }
        for (k, v) in extra {
            let _ = write!(head, "{k}: {v}\r\n");
        }
        if !head.contains("content-type") {
            head.push_str("content-type: application/x-amz-json-1.1\r\n");
        }
        head.push_str("\r\n");
        if out.write_all(head.as_bytes()).is_err() || out.write_all(&answer).is_err() {
            return;
        }
    }
}

/// An HTTP answer: status, headers, body.
type Answer = (u16, Vec<(String, String)>, Vec<u8>);

/// Sends one request to moto as it came; moto's status, headers (those that still hold once the
/// body is re-framed) and body, or `None` when moto did not answer.
fn forward(
    upstream: u16,
    start: &str,
    headers: &[(String, String)],
    body: &[u8],
    method: &str,
) -> Option<Answer> {
    let mut up_reader = BufReader::new(pass_on(upstream, start, headers, body));
    let (status, up_headers, up_body) = read_message_of(&mut up_reader, true, method == "HEAD")?;
    let code = status.split(' ').nth(1).unwrap().parse().unwrap();
    let keep = up_headers
        .into_iter()
        .filter(|(k, _)| {
            !matches!(k.as_str(), "connection" | "transfer-encoding")
                && (k != "content-length" || method == "HEAD")
        })
        .collect();
    Some((code, keep, up_body))
}

/// Does what a [`Fault::PutFirst`] or [`Fault::ReplayFirst`] plans before the request it applies
/// to is forwarded; the request then passes.
fn other_writer_first(
    fault: Fault,
    upstream: u16,
    start: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Fault {
    let path = start.split(' ').nth(1).unwrap_or_default();
    match fault {
        Fault::PutFirst(bytes) => {
            let auth = "AWS4-HMAC-SHA256 Credential=AKIDIMAGEDEFTEST/20260101/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=00";
            let object = path.split('?').next().unwrap_or_default();
            let (status, _, _) =
                http_raw(upstream, "PUT", object, &[("Authorization", auth)], &bytes);
            assert_eq!(status, 200, "the other writer's PUT {object}");
            Fault::Pass
        }
        Fault::ReplayFirst => {
            let mut up = TcpStream::connect(("127.0.0.1", upstream)).unwrap();
            let mut request = format!("{start}\r\n");
            for (k, v) in headers
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "connection" | "if-match" | "if-none-match"))
            {
                let _ = write!(request, "{k}: {v}\r\n");
            }
            request.push_str("connection: close\r\n\r\n");
            up.write_all(request.as_bytes()).unwrap();
            up.write_all(body).unwrap();
            let (status, _, _) = read_message_of(&mut BufReader::new(up), true, false)
                .expect("an answer to the other writer");
            assert!(
                status.contains(" 200 "),
                "the other writer's {start}: {status}"
            );
            Fault::Pass
        }
        other => other,
    }
}
