//! A real OCI registry on 127.0.0.1 (Debian's `docker-registry`, the distribution registry, with
//! filesystem storage and no auth), started once per test run, and a redirecting proxy that stands
//! where ECR's registry endpoint and S3 stand in front of a blob.
//!
//! [`push`] copies an image of [`super::images`] (built with buildah) into the registry with skopeo
//! (digests preserved) and puts the same manifest bytes into moto, so `BatchGetImage` and the
//! registry API tell of one image.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
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

/// What the redirecting proxy does with a blob request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proxy {
    /// 307 to its own `/s3/...` path, which serves the registry's blob only to a request
    /// without an Authorization header (S3 refuses a pre-signed URL that also carries one).
    Redirect,
    /// As `Redirect`, but `/s3/...` serves other bytes than the blob.
    RedirectToWrongBytes,
    /// 403 to every request, as ECR does for a role without the pull actions.
    Deny,
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
                std::thread::spawn(move || answer(&stream, port, upstream, mode, &record));
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

fn answer(stream: &TcpStream, port: u16, upstream: u16, mode: Proxy, record: &Mutex<Vec<Seen>>) {
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
    if mode == Proxy::Deny {
        let body = br#"{"errors":[{"code":"DENIED","message":"not authorized"}]}"#;
        reply(&mut out, "403 Forbidden", "", body);
        return;
    }
    if let Some(rest) = path.strip_prefix("/v2/") {
        let location = format!(
            "http://127.0.0.1:{port}/s3/{}?X-Amz-Signature=proxy-signature",
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
    let (status, bytes) = if mode == Proxy::RedirectToWrongBytes {
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
