//! A real OCI registry on 127.0.0.1 (Debian's `docker-registry`, the distribution registry, with
//! filesystem storage and no auth), started once per test run, and a redirecting proxy that stands
//! where ECR's registry endpoint and S3 stand in front of a blob.
//!
//! Slow hosts stand beside them ([`Slowness`]): a registry, or the blob store it redirects to, that
//! accepts a request and never answers, or answers a byte a second.
//!
//! [`push`] copies an image of [`super::images`] (built with buildah) into the registry with skopeo
//! (digests preserved) and puts the same manifest bytes into moto, so `BatchGetImage` and the
//! registry API tell of one image.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::aws::{self, Moto};
use super::{images, tool};

const SKOPEO: &str = "skopeo (apt-get install skopeo)";

/// The registry of this test run.
pub struct Registry {
    pub port: u16,
    /// Held until the test process exits; then the wrapper's `read` returns and it stops the
    /// registry and removes its storage.
    _stdin: ChildStdin,
    _child: Child,
}

impl Registry {
    /// `http://127.0.0.1:PORT`: the value of `IMAGEDEF_REGISTRY_URL` that points at it.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Starts the registry on first use (well under a second).
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let base = fresh_dir("registry");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = base.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                base.join("storage").display()
            ),
        )
        .unwrap();
        let script = r#"docker-registry serve "$1" >"$2/log" 2>&1 & pid=$!; read -r _; kill "$pid"; wait "$pid"; rm -rf "$2""#;
        let mut child = Command::new("sh")
            .args(["-c", script, "sh"])
            .arg(&config)
            .arg(&base)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sh");
        let start = Instant::now();
        loop {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                let _ = write!(
                    s,
                    "GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                );
                let mut line = String::new();
                if BufReader::new(s).read_line(&mut line).is_ok() && line.contains(" 200 ") {
                    break;
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "docker-registry did not answer on 127.0.0.1:{port} ({}); install it: apt-get install docker-registry (see .ci/deps-verify)",
                std::fs::read_to_string(base.join("log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Registry {
            port,
            _stdin: child.stdin.take().unwrap(),
            _child: child,
        }
    })
}

/// A directory of this test run under Cargo's temp dir; those of earlier runs whose process is
/// gone are removed.
fn fresh_dir(what: &str) -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let prefix = format!("{what}-fixture-");
    if let Ok(entries) = std::fs::read_dir(tmp) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix(&prefix)
                && !Path::new("/proc").join(pid).exists()
            {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let dir = tmp.join(format!("{prefix}{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Pushes the image of `layout` (an OCI layout of [`super::images`], tagged `v1`) as `repo:tag`
/// into the registry (skopeo, digests preserved; an index with all its manifests) and puts the
/// same manifest into moto in `region`, tagged `tag`: the two then tell of one image. Returns the
/// image URI by digest (moto's registry host).
pub fn push(moto: &Moto, region: &str, layout: &Path, repo: &str, tag: &str) -> String {
    let digest = images::layout_digest(layout);
    let bytes = images::blob(layout, &digest);
    let media_type = serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()["mediaType"]
        .as_str()
        .expect("buildah writes mediaType")
        .to_owned();
    let dest = format!("docker://127.0.0.1:{}/{repo}:{tag}", registry().port);
    let src = format!("oci:{}:v1", layout.display());
    tool(
        "skopeo",
        &[
            "copy".as_ref(),
            "-q".as_ref(),
            "--all".as_ref(),
            "--preserve-digests".as_ref(),
            "--dest-tls-verify=false".as_ref(),
            src.as_ref(),
            dest.as_ref(),
        ],
        SKOPEO,
    );
    let ecr = |target: &str, body: serde_json::Value| {
        moto.call(
            "ecr",
            region,
            &format!("AmazonEC2ContainerRegistry_V20150921.{target}"),
            &body.to_string(),
        )
    };
    let (status, text) = ecr(
        "CreateRepository",
        serde_json::json!({ "repositoryName": repo }),
    );
    assert!(
        status == 200 || text.contains("RepositoryAlreadyExists"),
        "{text}"
    );
    let manifest = String::from_utf8(bytes).unwrap();
    let (status, text) = ecr(
        "PutImage",
        serde_json::json!({
            "repositoryName": repo,
            "imageManifest": manifest,
            "imageManifestMediaType": media_type,
            "imageTag": tag,
            "imageDigest": digest,
        }),
    );
    assert_eq!(status, 200, "PutImage: {text}");
    // The platform check reads these bytes: moto must give back exactly what the registry holds.
    let (status, text) = ecr(
        "BatchGetImage",
        serde_json::json!({
            "repositoryName": repo,
            "imageIds": [{ "imageDigest": digest }],
            "acceptedMediaTypes": [media_type],
        }),
    );
    assert_eq!(status, 200, "BatchGetImage: {text}");
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        answer["images"][0]["imageManifest"].as_str(),
        Some(manifest.as_str()),
        "moto changed the manifest bytes: {answer:#}"
    );
    format!("{}/{repo}@{digest}", aws::host(region))
}

/// How a slow host answers a blob request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slowness {
    /// Reads the request and never answers, holding the connection open: a host whose load
    /// balancer accepts connections while what stands behind it hangs.
    Hung,
    /// Answers 200 with the blob's length at once, then sends its bytes one a second: a host
    /// reached over a saturated link, or one that drips its answer (slowloris).
    Throttled,
}

/// What the redirecting proxy does with a blob request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Proxy {
    /// 307 to its own `/s3/...` path, which serves the registry's blob only to a request
    /// without an Authorization header (S3 refuses a pre-signed URL that also carries one).
    Redirect,
    /// As `Redirect`, but `/s3/...` serves other bytes than the blob.
    RedirectToWrongBytes,
    /// 403 to every request, as ECR does for a role without the pull actions.
    Deny,
    /// The registry itself is slow.
    Slow(Slowness),
    /// 307 to a blob store elsewhere, as ECR redirects to S3: the first blob request to the
    /// first of these origins ([`SlowStore::url`]), the next to the next, and so on round.
    RedirectTo(Vec<String>),
}

/// One request the proxy received: its path (query included) and its Authorization header.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub authorization: Option<String>,
}

/// A proxy on 127.0.0.1 in front of the registry, standing for ECR's registry endpoint and S3.
pub struct RedirectProxy {
    pub port: u16,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl RedirectProxy {
    pub fn start(mode: Proxy) -> RedirectProxy {
        let upstream = registry().port;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let record = Arc::clone(&record);
                let mode = mode.clone();
                std::thread::spawn(move || answer(&stream, port, upstream, &mode, &record));
            }
        });
        RedirectProxy { port, seen }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn answer(stream: &TcpStream, port: u16, upstream: u16, mode: &Proxy, record: &Mutex<Vec<Seen>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let Some((start, headers, _)) = aws::read_message(&mut reader, false) else {
        return;
    };
    let authorization = headers
        .into_iter()
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v);
    let path = start.split(' ').nth(1).unwrap_or_default().to_owned();
    record.lock().unwrap().push(Seen {
        path: path.clone(),
        authorization: authorization.clone(),
    });
    let mut out = stream;
    let reply = |out: &mut &TcpStream, status: &str, headers: &str, body: &[u8]| {
        let _ = write!(
            out,
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n",
            body.len()
        );
        let _ = out.write_all(body);
    };
    if *mode == Proxy::Deny {
        let body = br#"{"errors":[{"code":"DENIED","message":"not authorized"}]}"#;
        reply(&mut out, "403 Forbidden", "", body);
        return;
    }
    if let Proxy::Slow(slowness) = mode {
        serve_slowly(reader, *slowness, upstream, &path);
        return;
    }
    if let Some(rest) = path.strip_prefix("/v2/") {
        let store = match mode {
            Proxy::RedirectTo(stores) => {
                let blobs = record
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|s| s.path.starts_with("/v2/"))
                    .count();
                stores[(blobs - 1) % stores.len()].clone()
            }
            _ => format!("http://127.0.0.1:{port}"),
        };
        let location = format!(
            "{store}/s3/{}?X-Amz-Signature=proxy-signature",
            rest.split('?').next().unwrap_or_default()
        );
        reply(
            &mut out,
            "307 Temporary Redirect",
            &format!("Location: {location}\r\n"),
            b"",
        );
        return;
    }
    let Some(blob) = path.strip_prefix("/s3/").and_then(|p| p.split('?').next()) else {
        reply(&mut out, "404 Not Found", "", b"");
        return;
    };
    if authorization.is_some() {
        let body = b"<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>";
        reply(&mut out, "400 Bad Request", "", body);
        return;
    }
    let (status, bytes) = if *mode == Proxy::RedirectToWrongBytes {
        (
            200,
            b"{\"architecture\":\"arm64\",\"os\":\"linux\"}".to_vec(),
        )
    } else {
        let (status, _, bytes) = aws::http_raw(upstream, "GET", &format!("/v2/{blob}"), &[], b"");
        (status, bytes)
    };
    reply(&mut out, &format!("{status} X"), "", &bytes);
}

/// Answers the request whose head `reader` has read as `slowness` says: the registry's bytes for
/// `path` (`/v2/...`, or a blob store's `/s3/...`), a byte a second, or nothing ever. Returns once
/// the client has gone.
fn serve_slowly(mut reader: BufReader<TcpStream>, slowness: Slowness, upstream: u16, path: &str) {
    let mut out = reader.get_ref().try_clone().unwrap();
    match slowness {
        Slowness::Hung => {
            // Read until the client closes the connection: then it has given up.
            let mut buf = [0; 512];
            while reader.read(&mut buf).is_ok_and(|n| n > 0) {}
        }
        Slowness::Throttled => {
            let blob = path
                .strip_prefix("/s3/")
                .unwrap_or(path.trim_start_matches("/v2/"));
            let blob = blob.split('?').next().unwrap_or_default();
            let (status, _, bytes) =
                aws::http_raw(upstream, "GET", &format!("/v2/{blob}"), &[], b"");
            assert_eq!(status, 200, "the registry has {blob}");
            if write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                bytes.len()
            )
            .is_err()
            {
                return;
            }
            for byte in bytes {
                if out.write_all(&[byte]).and_then(|()| out.flush()).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
}

/// A blob store that a registry redirects to (as ECR redirects to S3), on a loopback address of
/// its own (`127.0.0.2`, ...: another host to the client), and slow.
pub struct SlowStore {
    pub ip: &'static str,
    pub port: u16,
    accepted: Arc<AtomicUsize>,
}

impl SlowStore {
    /// Listens on `ip` (a loopback address), serving `/s3/<repository>/blobs/<digest>` with the
    /// registry's bytes as `slowness` says.
    pub fn start(ip: &'static str, slowness: Slowness) -> SlowStore {
        let upstream = registry().port;
        let listener = TcpListener::bind((ip, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                count.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream);
                    if let Some((start, _, _)) = aws::read_message(&mut reader, false) {
                        let path = start.split(' ').nth(1).unwrap_or_default().to_owned();
                        serve_slowly(reader, slowness, upstream, &path);
                    }
                });
            }
        });
        SlowStore { ip, port, accepted }
    }

    /// `http://IP:PORT`, where the registry redirects to.
    pub fn url(&self) -> String {
        format!("http://{}:{}", self.ip, self.port)
    }

    /// `IP:PORT`, as imagedef names the host.
    pub fn host(&self) -> String {
        format!("{}:{}", self.ip, self.port)
    }

    /// How many connections it accepted.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}
