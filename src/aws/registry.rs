//! The registry HTTP API v2 of an ECR registry: one blob of a repository (an image's config, for
//! its platform), fetched through the HTTPS client the SDK already links.
//!
//! `GET https://<registry host>/v2/<repository>/blobs/<digest>` with HTTP Basic credentials from
//! `GetAuthorizationToken` (one token per region and run). ECR answers with a redirect to a
//! pre-signed S3 URL: it is followed, at most [`MAX_REDIRECTS`] times, to https only (http only to
//! a loopback address), and **without** the Authorization header. The body is refused past
//! [`MAX_BLOB`] bytes without being read whole, and unless its sha256 is the digest asked for.
//!
//! [`ENV`] (`IMAGEDEF_REGISTRY_URL`, e.g. `http://127.0.0.1:5000`) replaces `https://<registry
//! host>` for every registry request: a mirror, a proxy, or a test registry on loopback. It carries
//! ECR's credentials, so it must be https unless its host is a loopback address.
//!
//! Every read of a run draws on one [`Budget`] (`--registry-timeout`): each may take what is left
//! of it, from the first request to the last byte of the body, redirects and retries included, so
//! that registries that do not answer, or answer a byte at a time, cost at most the budget in all,
//! however many hosts there are. When it is used up, the read in flight fails naming the host that
//! was slow, and every later read fails at once naming it too.
//!
//! Failures are data ([`RegistryError`]); what they mean for the run (exit 2) is the caller's.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_smithy_http_client::Connector;
use aws_smithy_runtime_api::client::http::{HttpConnector as _, HttpConnectorSettings};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::byte_stream::ByteStream;
use sha2::{Digest as _, Sha256};

use super::errors::{Call, Fault, chain};
use super::{ATTEMPT_TIMEOUT, Aws, CONNECT_TIMEOUT, MAX_ATTEMPTS, OPERATION_TIMEOUT};
use crate::io::escape;
use crate::model::Digest;
use crate::model::ecr::Repository;

/// The variable that replaces `https://<registry host>` for registry requests.
pub const ENV: &str = "IMAGEDEF_REGISTRY_URL";

/// The largest blob read: an image config is a few kilobytes; 4 MiB leaves room for long
/// histories and labels.
pub const MAX_BLOB: u64 = 4 * 1024 * 1024;

/// Redirects followed per blob (ECR makes one, to S3).
pub const MAX_REDIRECTS: usize = 5;

/// The registry state of one [`Aws`]: the HTTP connector and the tokens, made on first use, and
/// what failed for good, so that the next blobs fail at once instead of waiting for the same
/// timeouts again.
#[derive(Default)]
pub struct State {
    connector: OnceLock<Connector>,
    /// Region (with its FIPS / dual-stack endpoint choice) -> `Basic <token>`, or why there is
    /// none (the `GetAuthorizationToken` failure).
    tokens: Mutex<BTreeMap<Endpoint, Result<String, RegistryError>>>,
    /// Registry origin -> the URL that could not be reached from it, and how.
    unreachable: Mutex<BTreeMap<String, (Option<String>, Failure)>>,
}

/// A region's ECR API endpoint: the region, FIPS, dual-stack.
type Endpoint = (String, bool, bool);

/// One blob: where it lives and what it must hash to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blob {
    pub repository: Repository,
    pub digest: Digest,
}

impl Blob {
    fn path(&self) -> String {
        format!("/v2/{}/blobs/{}", self.repository.name, self.digest)
    }
}

/// Where a request goes: scheme, host and port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub https: bool,
    /// A DNS name, an IPv4 address, or an IPv6 address in brackets; lowercased.
    pub host: String,
    pub port: Option<u16>,
}

impl Origin {
    /// Whether the host is a loopback address (`localhost`, 127.0.0.0/8, `[::1]`).
    #[must_use]
    pub fn is_loopback(&self) -> bool {
        if self.host == "localhost" {
            return true;
        }
        if let Some(v6) = self
            .host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
        {
            return v6.parse::<Ipv6Addr>().is_ok_and(|a| a.is_loopback());
        }
        self.host.parse::<Ipv4Addr>().is_ok_and(|a| a.is_loopback())
    }

    /// Parses `scheme://host[:port]` (the rest of a URL after its authority is the caller's).
    fn parse_authority(scheme: &str, authority: &str) -> Result<Origin, UrlError> {
        let https = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => return Err(UrlError::Scheme(scheme.to_owned())),
        };
        if authority.contains('@') {
            return Err(UrlError::UserInformation);
        }
        let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
            let (v6, after) = rest.split_once(']').ok_or(UrlError::Unclosed)?;
            v6.parse::<Ipv6Addr>()
                .map_err(|_| UrlError::Ipv6(v6.to_owned()))?;
            let port = match after.strip_prefix(':') {
                Some(port) => Some(port),
                None if after.is_empty() => None,
                None => return Err(UrlError::AfterIpv6(after.to_owned())),
            };
            (format!("[{v6}]"), port)
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host.to_owned(), Some(port)),
                None => (authority.to_owned(), None),
            }
        };
        let valid_name = !host.is_empty()
            && (host.starts_with('[')
                || host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')));
        if !valid_name {
            return Err(UrlError::Host(host));
        }
        let port = port
            .map(|p| match p.parse::<u16>() {
                Ok(n) if n > 0 && p.chars().all(|c| c.is_ascii_digit()) => Ok(n),
                _ => Err(UrlError::Port(p.to_owned())),
            })
            .transpose()?;
        Ok(Origin {
            https,
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// `IMAGEDEF_REGISTRY_URL`'s value, refused unless it is `scheme://host[:port]` (a final `/`
    /// allowed) and https, or http to a loopback address.
    pub fn parse_override(value: &str) -> Result<Origin, UrlError> {
        let (scheme, rest) = value.split_once("://").ok_or(UrlError::NotUrl)?;
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err(UrlError::Path);
        }
        let origin = Origin::parse_authority(scheme, authority)?;
        if !origin.https && !origin.is_loopback() {
            return Err(UrlError::PlainToNetwork(origin.host));
        }
        Ok(origin)
    }

    fn url(&self, path_and_query: &str) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}{path_and_query}", self.authority())
    }

    /// `host[:port]`, as messages name a host.
    #[must_use]
    pub fn authority(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        }
    }
}

/// Why a URL is not one registry requests (or their credentials) may go to.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("the scheme {0:?} is neither https nor http")]
    Scheme(String),
    #[error("it carries user information (user@host)")]
    UserInformation,
    #[error("its IPv6 address has no closing ]")]
    Unclosed,
    #[error("[{0}] is not an IPv6 address")]
    Ipv6(String),
    #[error("{0:?} follows the IPv6 address")]
    AfterIpv6(String),
    #[error("{0:?} is not a host name or address")]
    Host(String),
    #[error("the port {0:?} is not a number from 1 to 65535")]
    Port(String),
    #[error("it is not a URL (scheme://host[:port])")]
    NotUrl,
    #[error(
        "it has a path, query or fragment; only scheme://host[:port] is taken (requests go to /v2/... on it)"
    )]
    Path,
    #[error(
        "it is http to {0}, which is not a loopback address: the registry credentials must not cross a network unencrypted"
    )]
    PlainToNetwork(String),
    #[error("a scheme-relative location is not followed")]
    SchemeRelative,
    #[error("the location is neither a URL nor an absolute path")]
    NotLocation,
    #[error("it goes to http://{0}, which is neither https nor a loopback address")]
    PlainRedirect(String),
}

/// `IMAGEDEF_REGISTRY_URL` as set: `None` when unset or empty.
pub fn override_from_env() -> Result<Option<Origin>, RegistryError> {
    let Some(value) = std::env::var_os(ENV) else {
        return Ok(None);
    };
    let value = value.to_string_lossy().into_owned();
    if value.is_empty() {
        return Ok(None);
    }
    Origin::parse_override(&value)
        .map(Some)
        .map_err(|why| RegistryError::Override { value, why })
}

/// A URL a request goes to: its origin and its path with query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    pub origin: Origin,
    pub path_and_query: String,
}

impl Url {
    /// The URL as sent.
    fn full(&self) -> String {
        self.origin.url(&self.path_and_query)
    }

    /// The URL without its query, for messages: a pre-signed URL's query is a credential.
    #[must_use]
    pub fn shown(&self) -> String {
        let path = self.path_and_query.split('?').next().unwrap_or_default();
        escape::value(&self.origin.url(path)).into_owned()
    }

    /// Where a redirect from this URL goes: an absolute URL, or a path on the same origin.
    /// Refused unless it is https, or http to a loopback address.
    pub fn redirect(&self, location: &str) -> Result<Url, UrlError> {
        let location = location.trim();
        if location.starts_with("//") {
            return Err(UrlError::SchemeRelative);
        }
        if location.starts_with('/') {
            return Ok(Url {
                origin: self.origin.clone(),
                path_and_query: location.to_owned(),
            });
        }
        let (scheme, rest) = location.split_once("://").ok_or(UrlError::NotLocation)?;
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let origin = Origin::parse_authority(scheme, authority)?;
        if !origin.https && !origin.is_loopback() {
            return Err(UrlError::PlainRedirect(origin.host));
        }
        let tail = tail.split('#').next().unwrap_or_default();
        let path_and_query = if tail.starts_with('/') {
            tail.to_owned()
        } else {
            format!("/{tail}")
        };
        Ok(Url {
            origin,
            path_and_query,
        })
    }
}

/// The `Authorization` header value of a `GetAuthorizationToken` token: base64 of `user:password`
/// (ECR's user is `AWS`), sent as HTTP Basic credentials.
pub fn basic_credentials(token: &str) -> Result<String, TokenError> {
    let token = token.trim();
    let decoded = aws_smithy_types::base64::decode(token).map_err(|_| TokenError::NotBase64)?;
    let text = String::from_utf8(decoded).map_err(|_| TokenError::NotText)?;
    match text.split_once(':') {
        Some((user, password)) if !user.is_empty() && !password.is_empty() => {
            Ok(format!("Basic {token}"))
        }
        _ => Err(TokenError::NotUserPassword),
    }
}

/// Why `GetAuthorizationToken` answered no usable token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no authorizationData")]
    Missing,
    #[error("the authorization token is not base64")]
    NotBase64,
    #[error("the decoded authorization token is not text")]
    NotText,
    #[error("the decoded authorization token is not user:password")]
    NotUserPassword,
}

/// Why a redirect is not followed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RedirectError {
    #[error("not a URL a request can go to: {0}")]
    NotSendable(String),
    #[error("HTTP {0} without a Location header")]
    NoLocation(u16),
    #[error(transparent)]
    Refused(UrlError),
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooMany,
}

/// What one answer of the registry (or of the redirect's target) means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Body,
    Redirect,
    Denied,
    NotFound,
    /// Worth another attempt: 5xx, 429.
    Busy,
    Other,
}

fn step(status: u16) -> Step {
    match status {
        200 => Step::Body,
        301 | 302 | 303 | 307 | 308 => Step::Redirect,
        401 | 403 => Step::Denied,
        404 => Step::NotFound,
        429 | 500..=599 => Step::Busy,
        _ => Step::Other,
    }
}

/// How a request could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unreachable {
    TimedOut,
    Connection,
    Other,
}

/// The time the registry reads of one run may take together (`--registry-timeout`), and what is
/// left of it.
#[derive(Clone, Debug)]
pub struct Budget {
    limit: Duration,
    spent: Duration,
    /// The read that was in flight when the budget ran out.
    spent_by: Option<Box<Slow>>,
}

impl Budget {
    #[must_use]
    pub fn new(limit: Duration) -> Budget {
        Budget {
            limit,
            spent: Duration::ZERO,
            spent_by: None,
        }
    }

    fn left(&self) -> Duration {
        self.limit.saturating_sub(self.spent)
    }

    /// Why no read may start, when none may: nothing is left.
    fn refusal(&self) -> Option<Failure> {
        self.left().is_zero().then(|| Failure::NoTimeLeft {
            limit: self.limit,
            spent_by: self.spent_by.clone(),
        })
    }
}

/// A read that was still in flight when the budget ran out: the host that was slow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slow {
    /// The budget that ran out.
    pub limit: Duration,
    /// What was being read.
    pub blob: Blob,
    /// `host[:port]` of the URL asked last: the registry, or the blob store it redirected to.
    pub host: String,
    /// That URL, without its query.
    pub url: String,
    pub stage: Stage,
}

/// How far a request had come.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Sent (or still connecting); no answer yet.
    Waiting,
    /// Answered; its body was arriving: so many bytes, of so many when announced.
    Body { read: u64, of: Option<u64> },
    /// Failed that many attempts (no connection, an attempt that took too long, 5xx, 429), the
    /// last for `why`; waiting to try again.
    Retrying { attempts: u32, why: String },
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stage::Waiting => f.write_str("had not answered"),
            Stage::Body { read, of: Some(of) } => {
                write!(f, "had sent {read} of the {of} bytes of its answer")
            }
            Stage::Body { read, of: None } => write!(
                f,
                "had sent {read} bytes of its answer (its length not announced)"
            ),
            Stage::Retrying { attempts, why } => write!(
                f,
                "had failed {attempts} attempt(s) (the last: {}) and was to be tried again",
                escape::line(why)
            ),
        }
    }
}

/// Why a blob could not be fetched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistryError {
    /// `IMAGEDEF_REGISTRY_URL` is not a URL registry credentials may be sent to.
    Override { value: String, why: UrlError },
    /// The SDK found no credentials to ask for a token with (`why` says where it looked).
    NoCredentials { why: String },
    /// The fetch of one blob failed.
    Fetch(Box<FetchError>),
}

/// A failed fetch: the blob, the URL last asked (without its query), and what came back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchError {
    pub blob: Blob,
    /// `None` before any request (the token).
    pub url: Option<String>,
    pub failure: Failure,
}

/// What a fetch came back with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// `GetAuthorizationToken` failed.
    Token(Fault),
    /// `GetAuthorizationToken` answered no usable token.
    BadToken(TokenError),
    /// HTTP 401 or 403, from the registry or from the redirect's target.
    Denied { status: u16 },
    /// HTTP 404: the registry has no such blob.
    NotFound,
    /// No answer (after [`MAX_ATTEMPTS`] attempts): a connection that failed or timed out.
    Unreachable { why: Unreachable, chain: String },
    /// A redirect without a location, to a refused URL, or one too many.
    BadRedirect {
        location: Option<String>,
        why: RedirectError,
    },
    /// The body is larger than [`MAX_BLOB`] (`length`: as announced, when it was).
    TooBig { length: Option<u64> },
    /// The body does not hash to the digest asked for.
    DigestMismatch { got: Digest },
    /// Any other answer (a 5xx or 429 after [`MAX_ATTEMPTS`] attempts, a 4xx not named above).
    Status { status: u16 },
    /// The run's [`Budget`] ran out during this read.
    OutOfTime(Box<Slow>),
    /// Not tried: the run's [`Budget`] was used up (`spent_by`: by the read that ran out of it).
    NoTimeLeft {
        limit: Duration,
        spent_by: Option<Box<Slow>>,
    },
}

impl RegistryError {
    fn fetch(blob: &Blob, url: Option<&Url>, failure: Failure) -> RegistryError {
        RegistryError::Fetch(Box::new(FetchError {
            blob: blob.clone(),
            url: url.map(Url::shown),
            failure,
        }))
    }

    /// The failure of a fetch, if it came to one.
    #[must_use]
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            RegistryError::Fetch(e) => Some(&e.failure),
            _ => None,
        }
    }

    /// Whether another attempt may get past it: no connection, 5xx, 429.
    fn is_transient(&self) -> bool {
        match self.failure() {
            Some(Failure::Unreachable { .. }) => true,
            Some(Failure::Status { status }) => step(*status) == Step::Busy,
            _ => false,
        }
    }
}

/// The IAM actions a blob fetch needs, and the VPC endpoints it goes through.
fn access_hint(blob: &Blob) -> String {
    let region = &blob.repository.registry.region;
    format!(
        "the build role needs ecr:GetAuthorizationToken (resource *) and ecr:GetDownloadUrlForLayer on {} (for a repository in another account, that repository's policy must also allow this role); a build in a VPC needs the interface endpoint com.amazonaws.{region}.ecr.dkr (the registry API) and the S3 gateway endpoint com.amazonaws.{region}.s3 (ECR serves blobs through a redirect to S3), or a NAT gateway",
        blob.repository.arn()
    )
}

/// When `IMAGEDEF_REGISTRY_URL` is set, what to check about it.
fn override_hint() -> String {
    match std::env::var(ENV) {
        Ok(v) if !v.is_empty() => format!(
            "; {ENV}={} is set: the registry requests went there, not to the image's registry",
            escape::value(&v)
        ),
        _ => String::new(),
    }
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryError::Override { value, why } => write!(
                f,
                "{ENV}={} is refused: {why}; fix: set it to https://HOST[:PORT] (http only to a loopback address, e.g. http://127.0.0.1:5000), or unset it to use each image's own registry",
                escape::value(value)
            ),
            RegistryError::NoCredentials { why } => write!(
                f,
                "reading an image config through the registry API needs AWS credentials: {why}"
            ),
            RegistryError::Fetch(e) => e.fmt(f),
        }
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let blob = &self.blob;
        write!(
            f,
            "reading the config blob {} of {}/{} (registry {}, region {}) through the registry API: ",
            blob.digest,
            blob.repository.registry,
            blob.repository.name,
            blob.repository.registry.account,
            blob.repository.registry.region
        )?;
        let url = self.url.as_deref().unwrap_or("the registry");
        let hint = override_hint();
        match &self.failure {
            Failure::Token(fault) => write!(
                f,
                "{fault}; the registry API needs ecr:GetAuthorizationToken (resource *) and ecr:GetDownloadUrlForLayer on {}",
                blob.repository.arn()
            ),
            Failure::BadToken(why) => write!(
                f,
                "ECR GetAuthorizationToken answered no usable token ({why}); if AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_ECR is set, check that it points at the ECR API"
            ),
            Failure::Denied { status } => write!(
                f,
                "GET {url} was refused (HTTP {status}); {}{hint}",
                access_hint(blob)
            ),
            Failure::NotFound => write!(
                f,
                "the registry has no such blob (HTTP 404 from {url}): the image's manifest names a config that is not in the repository; push the image again{hint}"
            ),
            Failure::Unreachable { why, chain } => {
                let kind = match why {
                    Unreachable::TimedOut => "timed out",
                    Unreachable::Connection => "could not connect or the connection was reset",
                    Unreachable::Other => "could not be sent",
                };
                write!(
                    f,
                    "GET {url} {kind} after {MAX_ATTEMPTS} attempts: {}; {}{hint}",
                    escape::line(chain),
                    access_hint(blob)
                )
            }
            Failure::BadRedirect { location, why } => write!(
                f,
                "GET {url} answered a redirect that is not followed{}: {why}; redirects are followed at most {MAX_REDIRECTS} times, to https (http only to a loopback address), without the registry credentials{hint}",
                location
                    .as_deref()
                    .map(|l| format!(" (to {})", escape::value(strip_query(l))))
                    .unwrap_or_default()
            ),
            Failure::TooBig { length } => write!(
                f,
                "GET {url} answered {}more than the {MAX_BLOB} bytes an image config may have{}: refused; check that the manifest's config digest names the image config{hint}",
                length.map_or_else(String::new, |n| format!("{n} bytes, ")),
                if length.is_none() {
                    " (the read stopped there)"
                } else {
                    ""
                }
            ),
            Failure::DigestMismatch { got } => write!(
                f,
                "GET {url} answered bytes whose sha256 is {got}, not {}: refused; a proxy or mirror in between changed them, or the registry's storage is damaged{hint}",
                blob.digest
            ),
            Failure::Status { status } => write!(
                f,
                "GET {url} answered HTTP {status}{}; run the build again later, or check the registry{hint}",
                if step(*status) == Step::Busy {
                    format!(" after {MAX_ATTEMPTS} attempts")
                } else {
                    String::new()
                }
            ),
            Failure::OutOfTime(slow) => out_of_time(f, blob, slow, &hint),
            Failure::NoTimeLeft { limit, spent_by } => {
                no_time_left(f, *limit, spent_by.as_deref(), &hint)
            }
        }
    }
}

/// The words of a read that the run's budget cut short: the host that was slow, and the fix.
fn out_of_time(f: &mut fmt::Formatter<'_>, blob: &Blob, slow: &Slow, hint: &str) -> fmt::Result {
    write!(
        f,
        "{} was slow: GET {} {} when the {} that all registry reads of this run may take together ran out (--registry-timeout); nothing more is read from any registry; {}{hint}",
        escape::value(&slow.host),
        slow.url,
        slow.stage,
        seconds(slow.limit),
        slow_fix(blob, &slow.host)
    )
}

/// The words of a read that the run's budget did not let start: what used it up, and the fix.
fn no_time_left(
    f: &mut fmt::Formatter<'_>,
    limit: Duration,
    spent_by: Option<&Slow>,
    hint: &str,
) -> fmt::Result {
    match spent_by {
        Some(slow) => write!(
            f,
            "not read: the {} that all registry reads of this run may take together (--registry-timeout) ran out on an earlier read, of the config blob {} of {}/{}, when {} was slow (GET {} {}); {}{hint}",
            seconds(limit),
            slow.blob.digest,
            slow.blob.repository.registry,
            slow.blob.repository.name,
            escape::value(&slow.host),
            slow.url,
            slow.stage,
            slow_fix(&slow.blob, &slow.host)
        ),
        None if limit.is_zero() => f.write_str(
            "not read: --registry-timeout (IMAGEDEF_REGISTRY_TIMEOUT) is 0, so nothing is read from a registry; fix: give it the seconds registry reads may take, or unset it for the default",
        ),
        None => write!(
            f,
            "not read: earlier registry reads took all of the {} that all registry reads of this run may take together (--registry-timeout); fix: raise --registry-timeout (IMAGEDEF_REGISTRY_TIMEOUT){hint}",
            seconds(limit)
        ),
    }
}

/// A budget in words: `2 s` (`0.4 s` for a part of a second, which only tests give).
fn seconds(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// What to do about a host that was slow: more time, or a look at the way to it.
fn slow_fix(blob: &Blob, host: &str) -> String {
    let region = &blob.repository.registry.region;
    format!(
        "fix: if {host} is only slow, raise --registry-timeout (IMAGEDEF_REGISTRY_TIMEOUT); otherwise check the network path to it: a build in a VPC reaches the registry through the interface endpoint com.amazonaws.{region}.ecr.dkr and its blobs through the S3 gateway endpoint com.amazonaws.{region}.s3 (or a NAT gateway)",
        host = escape::value(host)
    )
}

impl std::error::Error for RegistryError {}

fn strip_query(url: &str) -> &str {
    url.split('?').next().unwrap_or_default()
}

/// The connector of registry requests: the SDK's own HTTPS client (hyper, rustls on ring; tokio's
/// sleep for its timeouts, as the SDK's), with the same connect and read timeouts as the AWS calls.
fn connector() -> Connector {
    Connector::builder()
        .connector_settings(
            HttpConnectorSettings::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .read_timeout(ATTEMPT_TIMEOUT)
                .build(),
        )
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build()
}

impl Aws {
    /// The connector of registry requests, made on first use.
    fn registry_connector(&self) -> &Connector {
        self.registry.connector.get_or_init(connector)
    }

    /// `Basic <token>` for the registries of `blob`'s region, from `GetAuthorizationToken` on
    /// first use.
    async fn registry_credentials(&self, blob: &Blob) -> Result<String, RegistryError> {
        let repo = &blob.repository;
        let key = (
            repo.registry.region.clone(),
            repo.registry.fips,
            repo.registry.dual_stack(),
        );
        let again = |e: &RegistryError| match e {
            RegistryError::Fetch(e) => RegistryError::fetch(blob, None, e.failure.clone()),
            other => other.clone(),
        };
        if let Some(cached) = self.registry.tokens.lock().expect("not poisoned").get(&key) {
            return cached.clone().map_err(|e| again(&e));
        }
        let result = self.new_registry_credentials(blob).await;
        let kept = result.clone();
        self.registry
            .tokens
            .lock()
            .expect("not poisoned")
            .insert(key, kept);
        result
    }

    /// `GetAuthorizationToken` for `blob`'s region, decoded.
    async fn new_registry_credentials(&self, blob: &Blob) -> Result<String, RegistryError> {
        let repo = &blob.repository;
        tracing::debug!(
            "ECR GetAuthorizationToken in region {} (registry API credentials)",
            repo.registry.region
        );
        let client = self.ecr(&repo.registry);
        let out = client
            .get_authorization_token()
            .send()
            .await
            .map_err(|err| {
                let call = Call {
                    service: "ECR",
                    operation: "GetAuthorizationToken",
                    action: "ecr:GetAuthorizationToken",
                    resource: format!("the registry of account {}", repo.registry.account),
                    arn: "*".to_owned(),
                    region: repo.registry.region.clone(),
                    bucket: None,
                };
                RegistryError::fetch(blob, None, Failure::Token(Fault::of(&call, &err)))
            })?;
        let token = out
            .authorization_data()
            .iter()
            .find_map(|d| d.authorization_token())
            .ok_or_else(|| {
                RegistryError::fetch(blob, None, Failure::BadToken(TokenError::Missing))
            })?;
        basic_credentials(token)
            .map_err(|why| RegistryError::fetch(blob, None, Failure::BadToken(why)))
    }
}

/// The config blob `digest` of `repository`, through the process's AWS connection, within what is
/// left of the run's `budget`: the fetch the platform check makes for a single manifest (an error
/// is exit 2).
fn config_blob(
    repository: &Repository,
    digest: Digest,
    budget: &mut Budget,
) -> Result<Vec<u8>, RegistryError> {
    let aws = super::shared().map_err(|e| RegistryError::NoCredentials {
        why: format!("{e:#}"),
    })?;
    fetch(
        aws,
        &Blob {
            repository: repository.clone(),
            digest,
        },
        budget,
    )
}

/// [`config_blob`], every read drawing on one [`Budget`] of `limit`: the reads of the platform
/// check of one run.
pub fn config_blobs(
    limit: Duration,
) -> impl FnMut(&Repository, Digest) -> Result<Vec<u8>, RegistryError> {
    let mut budget = Budget::new(limit);
    move |repository, digest| config_blob(repository, digest, &mut budget)
}

/// Fetches `blob` through the registry API of its image's registry (or `IMAGEDEF_REGISTRY_URL`),
/// within what is left of `budget`: its bytes, proven to hash to its digest.
pub fn fetch(aws: &Aws, blob: &Blob, budget: &mut Budget) -> Result<Vec<u8>, RegistryError> {
    let origin = override_from_env()?.unwrap_or_else(|| Origin {
        https: true,
        host: blob.repository.registry.to_string(),
        port: None,
    });
    aws.check_credentials()
        .map_err(|e| RegistryError::NoCredentials {
            why: format!("{e:#}"),
        })?;
    if let Some(failure) = budget.refusal() {
        return Err(RegistryError::fetch(blob, None, failure));
    }
    aws.block_on(async {
        let credentials = aws.registry_credentials(blob).await?;
        let url = Url {
            origin,
            path_and_query: blob.path(),
        };
        let key = url.origin.url("");
        let dead = aws
            .registry
            .unreachable
            .lock()
            .expect("not poisoned")
            .get(&key)
            .cloned();
        if let Some((at, failure)) = dead {
            tracing::debug!("registry: {key} was unreachable for an earlier blob; not tried again");
            return Err(RegistryError::Fetch(Box::new(FetchError {
                blob: blob.clone(),
                url: at,
                failure,
            })));
        }
        tracing::debug!(
            "registry: GET {} (a blob of repository {}; {:.1} s of --registry-timeout left)",
            url.shown(),
            blob.repository.name,
            budget.left().as_secs_f64()
        );
        let result = timed_get(aws.registry_connector(), blob, &url, &credentials, budget).await;
        if let Err(RegistryError::Fetch(e)) = &result
            && matches!(e.failure, Failure::Unreachable { .. })
        {
            aws.registry
                .unreachable
                .lock()
                .expect("not poisoned")
                .insert(key, (e.url.clone(), e.failure.clone()));
        }
        result
    })
}

/// Where a read stands: the URL asked last and how far its answer came, for the words of a read
/// that runs out of time.
#[derive(Clone, Debug)]
struct Position {
    url: Url,
    stage: Stage,
}

/// Moves the read on: to `url` when a new request goes out, to `stage`.
fn mark(at: &Mutex<Position>, url: Option<&Url>, stage: Stage) {
    let mut position = at.lock().expect("not poisoned");
    if let Some(url) = url {
        position.url = url.clone();
    }
    position.stage = stage;
}

/// [`get`] within what is left of `budget`, which it draws on; when the budget runs out, the
/// read fails naming the host it was waiting for, and so does every later read.
async fn timed_get(
    connector: &Connector,
    blob: &Blob,
    url: &Url,
    credentials: &str,
    budget: &mut Budget,
) -> Result<Vec<u8>, RegistryError> {
    if let Some(failure) = budget.refusal() {
        return Err(RegistryError::fetch(blob, None, failure));
    }
    let at = Mutex::new(Position {
        url: url.clone(),
        stage: Stage::Waiting,
    });
    let started = Instant::now();
    let result =
        tokio::time::timeout(budget.left(), get(connector, blob, url, credentials, &at)).await;
    budget.spent += started.elapsed();
    result.unwrap_or_else(|_| {
        let Position { url, stage } = at.into_inner().expect("not poisoned");
        let slow = Box::new(Slow {
            limit: budget.limit,
            blob: blob.clone(),
            host: url.origin.authority(),
            url: url.shown(),
            stage,
        });
        budget.spent = budget.limit;
        budget.spent_by = Some(slow.clone());
        Err(RegistryError::fetch(
            blob,
            Some(&url),
            Failure::OutOfTime(slow),
        ))
    })
}

/// GETs `url` with `credentials`, following redirects without them, and returns the body once it
/// hashes to the blob's digest; transient failures (no connection, 5xx, 429) are tried again, up
/// to [`MAX_ATTEMPTS`] times. `at` follows where it stands.
async fn get(
    connector: &Connector,
    blob: &Blob,
    url: &Url,
    credentials: &str,
    at: &Mutex<Position>,
) -> Result<Vec<u8>, RegistryError> {
    let mut attempt = 1;
    loop {
        let result = tokio::time::timeout(
            OPERATION_TIMEOUT,
            get_once(connector, blob, url.clone(), credentials, at),
        )
        .await
        .unwrap_or_else(|_| {
            let Position { url, stage } = at.lock().expect("not poisoned").clone();
            Err(RegistryError::fetch(
                blob,
                Some(&url),
                Failure::Unreachable {
                    why: Unreachable::TimedOut,
                    chain: format!(
                        "an attempt took more than {} s: it {stage}",
                        OPERATION_TIMEOUT.as_secs()
                    ),
                },
            ))
        });
        match result {
            Err(e) if e.is_transient() && attempt < MAX_ATTEMPTS => {
                tracing::debug!("registry: attempt {attempt} failed ({e}); trying again");
                let why = match e.failure() {
                    Some(Failure::Unreachable { chain, .. }) => chain.clone(),
                    Some(Failure::Status { status }) => format!("HTTP {status}"),
                    _ => e.to_string(),
                };
                mark(
                    at,
                    None,
                    Stage::Retrying {
                        attempts: attempt,
                        why,
                    },
                );
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// One attempt of [`get`]: the redirects of one request, then the body.
async fn get_once(
    connector: &Connector,
    blob: &Blob,
    mut url: Url,
    credentials: &str,
    at: &Mutex<Position>,
) -> Result<Vec<u8>, RegistryError> {
    let mut authorization = Some(credentials);
    for _ in 0..=MAX_REDIRECTS {
        mark(at, Some(&url), Stage::Waiting);
        let fail = |url: &Url, failure| RegistryError::fetch(blob, Some(url), failure);
        let mut request = HttpRequest::get(url.full()).map_err(|e| {
            fail(
                &url,
                Failure::BadRedirect {
                    location: None,
                    why: RedirectError::NotSendable(e.to_string()),
                },
            )
        })?;
        request.headers_mut().insert(
            "user-agent",
            concat!("imagedef/", env!("CARGO_PKG_VERSION")),
        );
        if let Some(authorization) = authorization {
            request
                .headers_mut()
                .insert("authorization", authorization.to_owned());
        }
        let response = connector
            .call(request)
            .await
            .map_err(|e| fail(&url, unreachable(&e)))?;
        let status = response.status().as_u16();
        match step(status) {
            Step::Body => return read_body(blob, &url, response, at).await,
            Step::Redirect => {
                let Some(location) = response.headers().get("location").map(str::to_owned) else {
                    return Err(fail(
                        &url,
                        Failure::BadRedirect {
                            location: None,
                            why: RedirectError::NoLocation(status),
                        },
                    ));
                };
                url = url.redirect(&location).map_err(|why| {
                    fail(
                        &url,
                        Failure::BadRedirect {
                            location: Some(location.clone()),
                            why: RedirectError::Refused(why),
                        },
                    )
                })?;
                // The credentials are the registry's: never sent on.
                authorization = None;
            }
            Step::Denied => return Err(fail(&url, Failure::Denied { status })),
            Step::NotFound => return Err(fail(&url, Failure::NotFound)),
            Step::Busy | Step::Other => return Err(fail(&url, Failure::Status { status })),
        }
    }
    Err(RegistryError::fetch(
        blob,
        Some(&url),
        Failure::BadRedirect {
            location: None,
            why: RedirectError::TooMany,
        },
    ))
}

fn unreachable(err: &ConnectorError) -> Failure {
    let why = if err.is_timeout() {
        Unreachable::TimedOut
    } else if err.is_io() {
        Unreachable::Connection
    } else {
        Unreachable::Other
    };
    Failure::Unreachable {
        why,
        chain: chain(err),
    }
}

/// The body of a 200 answer, read chunk by chunk up to [`MAX_BLOB`] and hashed.
async fn read_body(
    blob: &Blob,
    url: &Url,
    response: aws_smithy_runtime_api::http::Response,
    at: &Mutex<Position>,
) -> Result<Vec<u8>, RegistryError> {
    let fail = |failure| RegistryError::fetch(blob, Some(url), failure);
    let announced = response
        .headers()
        .get("content-length")
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(n) = announced
        && n > MAX_BLOB
    {
        return Err(fail(Failure::TooBig { length: Some(n) }));
    }
    let mut body = ByteStream::new(response.into_body());
    let mut bytes = Vec::new();
    let mut hasher = Sha256::new();
    let body_read = |read: usize| Stage::Body {
        read: read as u64,
        of: announced,
    };
    mark(at, None, body_read(0));
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            fail(Failure::Unreachable {
                why: Unreachable::Connection,
                chain: chain(&e),
            })
        })?;
        if (bytes.len() + chunk.len()) as u64 > MAX_BLOB {
            return Err(fail(Failure::TooBig { length: None }));
        }
        hasher.update(&chunk);
        bytes.extend_from_slice(&chunk);
        mark(at, None, body_read(bytes.len()));
    }
    let got = Digest::from_array(hasher.finalize().into());
    if got != blob.digest {
        return Err(fail(Failure::DigestMismatch { got }));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead as _, BufReader, Write as _};
    use std::net::TcpListener;
    use std::sync::Arc;

    use super::*;
    use crate::model::ImageRef;

    #[test]
    fn a_body_too_big_says_how_big_when_it_was_announced() {
        let image: ImageRef = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:5a1f0e6b8e1f4f3f2d9c7b1a6e3d2c4b5a69788f7e6d5c4b3a2918070f6e5d4c".parse().unwrap();
        let blob = Blob {
            repository: Repository::of(&image).unwrap().unwrap(),
            digest: image.digest().unwrap(),
        };
        let said = |length| {
            FetchError {
                blob: blob.clone(),
                url: Some("https://r.example/v2/web/blobs/x".into()),
                failure: Failure::TooBig { length },
            }
            .to_string()
        };
        assert!(said(Some(5_000_000)).contains("GET https://r.example/v2/web/blobs/x answered 5000000 bytes, more than the 4194304 bytes an image config may have: refused"), "{}", said(Some(5_000_000)));
        assert!(said(None).contains("GET https://r.example/v2/web/blobs/x answered more than the 4194304 bytes an image config may have (the read stopped there): refused"), "{}", said(None));
    }

    #[test]
    fn the_override_is_scheme_host_and_port_only() {
        let ok = |v: &str| Origin::parse_override(v).unwrap_or_else(|e| panic!("{v}: {e}"));
        assert_eq!(
            ok("http://127.0.0.1:5000"),
            Origin {
                https: false,
                host: "127.0.0.1".into(),
                port: Some(5000)
            }
        );
        assert_eq!(ok("http://127.0.0.1:5000/").port, Some(5000));
        assert_eq!(
            ok("HTTPS://Mirror.Example.com"),
            Origin {
                https: true,
                host: "mirror.example.com".into(),
                port: None
            }
        );
        assert_eq!(ok("http://[::1]:8080").host, "[::1]");
        assert!(ok("http://localhost:5000").is_loopback());
        assert!(ok("http://127.8.9.10").is_loopback());
        let refused = |v: &str, why: &str| {
            let e = Origin::parse_override(v).expect_err(v).to_string();
            assert!(e.contains(why), "{v}: {e}");
        };
        refused("http://example.com", "not a loopback address");
        refused("http://10.0.0.1:5000", "not a loopback address");
        refused("http://[::2]:5000", "not a loopback address");
        refused("127.0.0.1:5000", "not a URL");
        refused("ftp://127.0.0.1", "neither https nor http");
        refused("https://mirror.example.com/v2", "path");
        refused("https://mirror.example.com?x=1", "query");
        refused("https://user:pw@mirror.example.com", "user information");
        refused("http://127.0.0.1:0", "port");
        refused("http://127.0.0.1:99999", "port");
        refused("http://127.0.0.1:+80", "port");
        refused("https://", "not a host");
        refused("https://bad host", "not a host");
        refused("http://[::1", "closing ]");
        refused("http://[::1]x", "follows the IPv6");
    }

    #[test]
    fn a_refused_override_names_the_variable_the_value_and_the_fix() {
        let e = RegistryError::Override {
            value: "http://example.com".into(),
            why: Origin::parse_override("http://example.com").unwrap_err(),
        };
        let text = e.to_string();
        assert!(
            text.starts_with("IMAGEDEF_REGISTRY_URL=http://example.com is refused: ")
                && text.contains("fix: set it to https://HOST[:PORT]"),
            "{text}"
        );
    }

    fn url(s: &str) -> Url {
        let (scheme, rest) = s.split_once("://").unwrap();
        let end = rest.find('/').unwrap();
        Url {
            origin: Origin::parse_authority(scheme, &rest[..end]).unwrap(),
            path_and_query: rest[end..].to_owned(),
        }
    }

    #[test]
    fn redirects_go_to_https_or_to_loopback_only() {
        let from =
            url("https://111122223333.dkr.ecr.eu-west-1.amazonaws.com/v2/web/blobs/sha256:1");
        let s3 = from
            .redirect("https://prod-eu-west-1-starport-layer-bucket.s3.eu-west-1.amazonaws.com/a/b?X-Amz-Signature=s#frag")
            .unwrap();
        assert_eq!(
            s3.full(),
            "https://prod-eu-west-1-starport-layer-bucket.s3.eu-west-1.amazonaws.com/a/b?X-Amz-Signature=s"
        );
        assert_eq!(
            s3.shown(),
            "https://prod-eu-west-1-starport-layer-bucket.s3.eu-west-1.amazonaws.com/a/b",
            "a pre-signed query is a credential: never shown"
        );
        assert_eq!(
            from.redirect("/other/path?q").unwrap().full(),
            "https://111122223333.dkr.ecr.eu-west-1.amazonaws.com/other/path?q"
        );
        assert!(
            from.redirect("http://bucket.s3.amazonaws.com/x")
                .unwrap_err()
                .to_string()
                .contains("neither https nor a loopback")
        );
        assert!(from.redirect("//evil.example/x").is_err());
        assert!(from.redirect("file:///etc/passwd").is_err());
        assert!(from.redirect("x/y").is_err());
        assert!(from.redirect("https://user@host/x").is_err());
        let local = url("http://127.0.0.1:5000/v2/web/blobs/sha256:1");
        assert_eq!(
            local
                .redirect("http://127.0.0.1:6000/s3?sig")
                .unwrap()
                .full(),
            "http://127.0.0.1:6000/s3?sig"
        );
        assert_eq!(
            local.redirect("https://127.0.0.1:6000").unwrap().full(),
            "https://127.0.0.1:6000/"
        );
    }

    #[test]
    fn a_token_is_base64_of_user_and_password() {
        // What ECR (and moto) answer: base64("AWS:<password>").
        let token = aws_smithy_types::base64::encode("AWS:eyJwYXlsb2FkIjoi");
        assert_eq!(basic_credentials(&token).unwrap(), format!("Basic {token}"));
        assert_eq!(
            basic_credentials(&format!(" {token}\n")).unwrap(),
            format!("Basic {token}")
        );
        for (bad, why) in [
            ("not base64!", "not base64"),
            (&aws_smithy_types::base64::encode("AWS"), "user:password"),
            (&aws_smithy_types::base64::encode("AWS:"), "user:password"),
            (&aws_smithy_types::base64::encode(":pw"), "user:password"),
            (
                &aws_smithy_types::base64::encode([0xff, 0xfe, b':', b'x']),
                "not text",
            ),
        ] {
            let e = basic_credentials(bad).expect_err(bad).to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn statuses_map_to_what_a_fetch_does_next() {
        for s in [301, 302, 303, 307, 308] {
            assert_eq!(step(s), Step::Redirect, "{s}");
        }
        assert_eq!(step(200), Step::Body);
        assert_eq!(step(401), Step::Denied);
        assert_eq!(step(403), Step::Denied);
        assert_eq!(step(404), Step::NotFound);
        assert_eq!(step(429), Step::Busy);
        assert_eq!(step(503), Step::Busy);
        assert_eq!(step(304), Step::Other);
        assert_eq!(step(400), Step::Other);
    }

    // The HTTP part, against a server on 127.0.0.1 that plays the registry and S3.

    /// What the test server answers to one request path.
    type Handler = dyn Fn(&str, Option<&str>) -> (String, Vec<u8>) + Send + Sync;

    /// Starts a server; returns its port and the (path, Authorization) of each request.
    /// The (path, Authorization header) of each request a test server received.
    type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

    fn server(handler: Arc<Handler>) -> (u16, Seen) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut start = String::new();
                if reader.read_line(&mut start).unwrap_or(0) == 0 {
                    continue;
                }
                let mut auth = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':')
                        && k.eq_ignore_ascii_case("authorization")
                    {
                        auth = Some(v.trim().to_owned());
                    }
                }
                let path = start.split(' ').nth(1).unwrap_or_default().to_owned();
                record.lock().unwrap().push((path.clone(), auth.clone()));
                let (head, body) = handler(&path, auth.as_deref());
                let mut out = &stream;
                let _ = write!(out, "HTTP/1.1 {head}\r\nConnection: close\r\n");
                if !head.contains("Content-Length") && !head.contains("Transfer-Encoding") {
                    let _ = write!(out, "Content-Length: {}\r\n", body.len());
                }
                let _ = write!(out, "\r\n");
                let _ = out.write_all(&body);
            }
        });
        (port, seen)
    }

    const CONFIG: &[u8] = br#"{"architecture":"arm64","os":"linux"}"#;

    fn blob() -> Blob {
        blob_of("111122223333.dkr.ecr.eu-west-1.amazonaws.com/shop/web:v1")
    }

    fn blob_of(image: &str) -> Blob {
        let image: ImageRef = image.parse().unwrap();
        Blob {
            repository: Repository::of(&image).unwrap().unwrap(),
            digest: Digest::of(CONFIG),
        }
    }

    fn fetch_from(port: u16, blob: &Blob) -> Result<Vec<u8>, RegistryError> {
        fetch_within(port, blob, &mut Budget::new(Duration::from_mins(1)))
    }

    fn fetch_within(port: u16, blob: &Blob, budget: &mut Budget) -> Result<Vec<u8>, RegistryError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let url = Url {
            origin: Origin::parse_override(&format!("http://127.0.0.1:{port}")).unwrap(),
            path_and_query: blob.path(),
        };
        runtime.block_on(timed_get(
            &connector(),
            blob,
            &url,
            "Basic QVdTOnNlY3JldA==",
            budget,
        ))
    }

    /// A registry that redirects every blob to `/s3/...` on the same server, which serves
    /// `bytes` only without an Authorization header.
    fn redirecting(bytes: &'static [u8]) -> Arc<Handler> {
        Arc::new(move |path, auth| {
            if path.starts_with("/v2/") {
                (
                    "307 Temporary Redirect\r\nLocation: /s3/blob?X-Amz-Signature=presigned"
                        .to_owned(),
                    Vec::new(),
                )
            } else if auth.is_some() {
                (
                    "400 Bad Request".to_owned(),
                    b"two auth mechanisms".to_vec(),
                )
            } else {
                ("200 OK".to_owned(), bytes.to_vec())
            }
        })
    }

    #[test]
    fn a_redirect_is_followed_without_the_credentials() {
        let (port, seen) = server(redirecting(CONFIG));
        let blob = blob();
        assert_eq!(fetch_from(port, &blob).unwrap(), CONFIG);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            [
                (
                    format!("/v2/shop/web/blobs/{}", blob.digest),
                    Some("Basic QVdTOnNlY3JldA==".to_owned())
                ),
                ("/s3/blob?X-Amz-Signature=presigned".to_owned(), None),
            ]
        );
    }

    #[test]
    fn bytes_that_are_not_the_digest_are_refused() {
        let (port, _) = server(redirecting(br#"{"architecture":"amd64","os":"linux"}"#));
        let e = fetch_from(port, &blob()).unwrap_err();
        let Some(Failure::DigestMismatch { got }) = e.failure() else {
            panic!("{e:?}")
        };
        assert_eq!(
            *got,
            Digest::of(br#"{"architecture":"amd64","os":"linux"}"#)
        );
        let text = e.to_string();
        assert!(
            text.contains(&format!("whose sha256 is {got}, not {}", blob().digest))
                && text.contains(&format!("GET http://127.0.0.1:{port}/s3/blob answered"))
                && !text.contains("presigned"),
            "{text}"
        );
    }

    #[test]
    fn a_body_over_the_cap_is_refused_unread() {
        // Announced: refused on the header, the body never sent.
        let (port, _) = server(Arc::new(|_, _| {
            (
                format!("200 OK\r\nContent-Length: {}", MAX_BLOB + 1),
                Vec::new(),
            )
        }));
        let e = fetch_from(port, &blob()).unwrap_err();
        assert_eq!(
            e.failure(),
            Some(&Failure::TooBig {
                length: Some(MAX_BLOB + 1)
            })
        );
        // Not announced (chunked): refused once past the cap, the rest not read.
        let (port, _) = server(Arc::new(|_, _| {
            let chunk = vec![b' '; MAX_BLOB as usize + 1];
            let mut body = format!("{:x}\r\n", chunk.len()).into_bytes();
            body.extend_from_slice(&chunk);
            body.extend_from_slice(b"\r\n0\r\n\r\n");
            ("200 OK\r\nTransfer-Encoding: chunked".to_owned(), body)
        }));
        let e = fetch_from(port, &blob()).unwrap_err();
        assert_eq!(e.failure(), Some(&Failure::TooBig { length: None }), "{e}");
        assert!(e.to_string().contains("more than the 4194304 bytes"), "{e}");
    }

    #[test]
    fn denied_and_missing_blobs_say_what_to_change() {
        let (port, seen) = server(Arc::new(|_, _| ("403 Forbidden".to_owned(), Vec::new())));
        let e = fetch_from(port, &blob()).unwrap_err();
        assert_eq!(e.failure(), Some(&Failure::Denied { status: 403 }));
        assert_eq!(seen.lock().unwrap().len(), 1, "a denial is not retried");
        let text = e.to_string();
        for part in [
            "ecr:GetAuthorizationToken (resource *)",
            "ecr:GetDownloadUrlForLayer on arn:aws:ecr:eu-west-1:111122223333:repository/shop/web",
            "com.amazonaws.eu-west-1.ecr.dkr",
            "S3 gateway endpoint com.amazonaws.eu-west-1.s3",
            "HTTP 403",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
        let (port, _) = server(Arc::new(|_, _| ("404 Not Found".to_owned(), Vec::new())));
        let e = fetch_from(port, &blob()).unwrap_err();
        assert_eq!(e.failure(), Some(&Failure::NotFound));
    }

    #[test]
    fn bad_redirects_are_refused() {
        let (port, _) = server(Arc::new(|_, _| {
            (
                "302 Found\r\nLocation: http://example.com/blob".to_owned(),
                Vec::new(),
            )
        }));
        let e = fetch_from(port, &blob()).unwrap_err();
        let Some(Failure::BadRedirect { location, why }) = e.failure() else {
            panic!("{e:?}")
        };
        assert_eq!(location.as_deref(), Some("http://example.com/blob"));
        assert!(
            why.to_string().contains("neither https nor a loopback"),
            "{why}"
        );
        let (port, seen) = server(Arc::new(|path, _| {
            (
                format!("307 Temporary Redirect\r\nLocation: {path}x"),
                Vec::new(),
            )
        }));
        let e = fetch_from(port, &blob()).unwrap_err();
        assert!(e.to_string().contains("more than 5 redirects"), "{e}");
        assert_eq!(seen.lock().unwrap().len(), MAX_REDIRECTS + 1);
        let (port, _) = server(Arc::new(|_, _| ("301 Moved".to_owned(), Vec::new())));
        let e = fetch_from(port, &blob()).unwrap_err();
        assert!(e.to_string().contains("without a Location header"), "{e}");
    }

    #[test]
    fn a_busy_registry_is_tried_again_and_a_closed_port_is_unreachable() {
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let n = Arc::clone(&calls);
        let (port, _) = server(Arc::new(move |_, _| {
            if n.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                ("503 Slow Down".to_owned(), Vec::new())
            } else {
                ("200 OK".to_owned(), CONFIG.to_vec())
            }
        }));
        assert_eq!(fetch_from(port, &blob()).unwrap(), CONFIG);
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
        let closed = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = fetch_from(closed, &blob()).unwrap_err();
        assert!(
            matches!(
                e.failure(),
                Some(Failure::Unreachable {
                    why: Unreachable::Connection,
                    ..
                })
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("after 3 attempts"), "{e}");
    }

    /// A server on 127.0.0.1 that reads each request, then sends `head` and the bytes of `body`
    /// one every `pause` (never anything with `head` empty); returns its port and how many
    /// connections it accepted.
    fn slow_server(
        head: &'static str,
        body: &'static [u8],
        pause: Duration,
    ) -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                        line.clear();
                    }
                    let mut out = &stream;
                    if head.is_empty() {
                        std::thread::sleep(Duration::from_mins(1));
                        return;
                    }
                    let _ = write!(out, "HTTP/1.1 {head}\r\n\r\n");
                    for byte in body {
                        if out.write_all(&[*byte]).is_err() {
                            return;
                        }
                        std::thread::sleep(pause);
                    }
                });
            }
        });
        (port, accepted)
    }

    /// A registry that answers [`CONFIG`] with its length announced, one byte every `pause`.
    fn dripping(pause: Duration) -> u16 {
        slow_server("200 OK\r\nContent-Length: 37", CONFIG, pause).0
    }

    #[test]
    fn a_registry_that_never_answers_uses_the_budget_up_and_later_reads_fail_at_once() {
        let (port, accepted) = slow_server("", b"", Duration::ZERO);
        let mut budget = Budget::new(Duration::from_secs(1));
        let started = Instant::now();
        let e = fetch_within(port, &blob(), &mut budget).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10), "{e}");
        let Some(Failure::OutOfTime(slow)) = e.failure() else {
            panic!("{e:?}")
        };
        assert_eq!(slow.host, format!("127.0.0.1:{port}"));
        assert_eq!(slow.stage, Stage::Waiting);
        assert!(
            e.to_string().contains(&format!(
                "127.0.0.1:{port} was slow: GET http://127.0.0.1:{port}/v2/shop/web/blobs/{} had not answered when the 1 s that all registry reads of this run may take together ran out (--registry-timeout)",
                blob().digest
            )),
            "{e}"
        );
        // The next read, of any host, is not tried: it names the host that used the budget up.
        let (other, other_accepted) = slow_server("200 OK", CONFIG, Duration::ZERO);
        let e = fetch_within(other, &blob(), &mut budget).unwrap_err();
        let Some(Failure::NoTimeLeft {
            spent_by: Some(by), ..
        }) = e.failure()
        else {
            panic!("{e:?}")
        };
        assert_eq!(by.host, format!("127.0.0.1:{port}"));
        assert!(
            e.to_string().contains(&format!(
                "when 127.0.0.1:{port} was slow (GET http://127.0.0.1:{port}/v2/shop/web/blobs/"
            )),
            "{e}"
        );
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(other_accepted.load(std::sync::atomic::Ordering::SeqCst), 0);
    }

    #[test]
    fn a_body_that_drips_is_cut_by_the_budget_saying_how_far_it_came() {
        let port = dripping(Duration::from_millis(100));
        let e =
            fetch_within(port, &blob(), &mut Budget::new(Duration::from_millis(1500))).unwrap_err();
        let Some(Failure::OutOfTime(slow)) = e.failure() else {
            panic!("{e:?}")
        };
        let Stage::Body { read, of } = slow.stage.clone() else {
            panic!("{slow:?}")
        };
        assert_eq!(of, Some(37));
        assert!((1..37).contains(&read), "{slow:?}");
        assert!(
            e.to_string()
                .contains(&format!("had sent {read} of the 37 bytes of its answer")),
            "{e}"
        );
    }

    #[test]
    fn a_budget_that_runs_out_between_attempts_says_why_the_last_failed() {
        let (port, _) = server(Arc::new(|_, _| ("503 Slow Down".to_owned(), Vec::new())));
        let e =
            fetch_within(port, &blob(), &mut Budget::new(Duration::from_millis(400))).unwrap_err();
        let Some(Failure::OutOfTime(slow)) = e.failure() else {
            panic!("{e:?}")
        };
        assert!(
            matches!(&slow.stage, Stage::Retrying { why, .. } if why == "HTTP 503"),
            "{slow:?}"
        );
        assert!(
            e.to_string()
                .contains("(the last: HTTP 503) and was to be tried again when the 0.4 s"),
            "{e}"
        );
    }

    #[test]
    fn a_budget_of_zero_reads_nothing() {
        let (port, accepted) = slow_server("200 OK", CONFIG, Duration::ZERO);
        let e = fetch_within(port, &blob(), &mut Budget::new(Duration::ZERO)).unwrap_err();
        assert_eq!(
            e.failure(),
            Some(&Failure::NoTimeLeft {
                limit: Duration::ZERO,
                spent_by: None
            })
        );
        assert!(
            e.to_string()
                .contains("is 0, so nothing is read from a registry"),
            "{e}"
        );
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 0);
    }

    #[test]
    fn reads_that_finish_draw_on_the_budget_too() {
        let port = dripping(Duration::from_millis(10));
        let mut budget = Budget::new(Duration::from_secs(30));
        assert_eq!(fetch_within(port, &blob(), &mut budget).unwrap(), CONFIG);
        assert!(budget.left() < Duration::from_secs(30) && budget.left() > Duration::ZERO);
    }
}
