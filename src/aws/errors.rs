//! AWS errors as data ([`Fault`]: the call, the AWS error code, what came back) and, in one place,
//! as messages a build log can act on: the code, the operation, the resource, and what to change,
//! above all the IAM action the build role lacks. [`is_transient`] tells a failure another run may
//! get past (throttling, 5xx, connections) from one it will not.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;

use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};

use super::MAX_ATTEMPTS;
use crate::io::escape;

/// One AWS call, as messages name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// `ECR`, `ECS`: the service as AWS names it in consoles.
    pub service: &'static str,
    /// The API operation, e.g. `BatchGetImage`.
    pub operation: &'static str,
    /// The IAM action it needs, e.g. `ecr:BatchGetImage`.
    pub action: &'static str,
    /// The resource as a user knows it (repository name, cluster/service).
    pub resource: String,
    /// The resource ARN an IAM policy names; `*` when the action has no resource-level permissions.
    pub arn: String,
    pub region: String,
    /// An S3 call's bucket: S3's errors differ (see [`s3_fix`]) and name it.
    pub bucket: Option<String>,
}

/// Error codes that say the caller is not allowed to make the call.
const DENIED: &[&str] = &[
    "AccessDeniedException",
    "AccessDenied",
    "UnauthorizedOperation",
    "UnauthorizedException",
];

/// Error codes that say the credentials themselves were refused.
const BAD_CREDENTIALS: &[&str] = &[
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "InvalidClientTokenId",
    "ExpiredTokenException",
    "ExpiredToken",
];

/// Error codes of a busy or failing service, which the SDK retried before giving up.
const TRANSIENT: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ServerException",
    "InternalFailure",
    "InternalServerError",
    "SlowDown",
    "RequestTimeout",
];

/// S3 codes for a bucket in another region than the one asked.
const WRONG_REGION: &[&str] = &[
    "PermanentRedirect",
    "AuthorizationHeaderMalformed",
    "IllegalLocationConstraintException",
];

/// Whether another run may get past this failure: throttling, HTTP 5xx, timeouts and connection
/// failures, which the SDK already retried. Permission, credentials and bucket errors are not.
#[must_use]
pub fn is_transient<E>(err: &SdkError<E, aws_smithy_runtime_api::http::Response>) -> bool
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ServiceError(ctx) => {
            ctx.err().code().is_some_and(|c| TRANSIENT.contains(&c))
                || err.raw_response().is_some_and(|r| {
                    let status = r.status().as_u16();
                    status >= 500 || status == 429
                })
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
        _ => false,
    }
}

/// Whether the call was refused for permissions, or by KMS (SSE-KMS keys).
#[must_use]
pub fn is_denied_or_kms<E>(err: &SdkError<E, aws_smithy_runtime_api::http::Response>) -> bool
where
    E: ProvideErrorMetadata,
{
    let SdkError::ServiceError(ctx) = err else {
        return false;
    };
    let code = ctx.err().code().unwrap_or_default();
    DENIED.contains(&code)
        || code.starts_with("KMS")
        || err
            .raw_response()
            .is_some_and(|r| r.status().as_u16() == 403)
        || ctx.err().message().is_some_and(|m| m.contains("KMS"))
}

/// A failed AWS call, as data: which call, and what came back (worded by its `Display`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub call: Call,
    pub failure: Failure,
}

/// What a failed call came back with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// AWS answered with an error: its code (when named), HTTP status and message.
    Service {
        code: Option<String>,
        status: u16,
        message: Option<String>,
    },
    /// Every attempt timed out.
    TimedOut,
    /// The request could not be sent (after the SDK's retries); `chain` is the error and its
    /// sources on one line.
    NotSent { why: NotSent, chain: String },
    /// The answer was not an AWS response.
    NotAws { chain: String },
    /// Anything else the SDK reports.
    Other { chain: String },
}

/// Why a request could not be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotSent {
    TimedOut,
    Connection,
    Other,
}

impl Fault {
    /// The fault of `call` failing with `err`.
    #[must_use]
    pub fn of<E>(call: &Call, err: &SdkError<E, aws_smithy_runtime_api::http::Response>) -> Fault
    where
        E: ProvideErrorMetadata + StdError + 'static,
    {
        let failure = match err {
            SdkError::ServiceError(ctx) => Failure::Service {
                code: ctx.err().code().map(str::to_owned),
                status: ctx.raw().status().as_u16(),
                message: ctx.err().message().map(str::to_owned),
            },
            SdkError::TimeoutError(_) => Failure::TimedOut,
            SdkError::DispatchFailure(d) => Failure::NotSent {
                why: if d.is_timeout() {
                    NotSent::TimedOut
                } else if d.is_io() {
                    NotSent::Connection
                } else {
                    NotSent::Other
                },
                chain: chain(err),
            },
            SdkError::ResponseError(_) => Failure::NotAws { chain: chain(err) },
            _ => Failure::Other { chain: chain(err) },
        };
        Fault {
            call: call.clone(),
            failure,
        }
    }

    /// The AWS error code, when AWS named one.
    #[must_use]
    pub fn code(&self) -> Option<&str> {
        match &self.failure {
            Failure::Service { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

/// The message for a failed call (exit code 2 unless the caller decides otherwise).
impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let call = &self.call;
        let what = format!(
            "{} {} on {} (region {})",
            call.service, call.operation, call.resource, call.region
        );
        match &self.failure {
            Failure::Service {
                code,
                status,
                message,
            } => {
                let named = code.as_deref();
                let code = named.map_or(Cow::Borrowed("an unnamed error"), escape::value);
                let message = message
                    .as_deref()
                    .map(|m| format!(": {}", escape::value(m)))
                    .unwrap_or_default();
                let fix = fix_for(call, named.unwrap_or_default(), *status);
                write!(
                    f,
                    "{what} failed with {code} (HTTP {status}){message}; {fix}"
                )
            }
            Failure::TimedOut => write!(
                f,
                "{what} timed out after {MAX_ATTEMPTS} attempts (the SDK's standard retry mode); {}",
                reach_hint(call)
            ),
            Failure::NotSent { why, chain } => {
                let kind = match why {
                    NotSent::TimedOut => "timed out",
                    NotSent::Connection => "could not connect or the connection was reset",
                    NotSent::Other => "could not be sent",
                };
                write!(
                    f,
                    "{what} {kind} after {MAX_ATTEMPTS} attempts (the SDK's standard retry mode): {}; {}",
                    escape::value(chain),
                    reach_hint(call)
                )
            }
            Failure::NotAws { chain } => write!(
                f,
                "{what} got an answer that is not an AWS response ({}); if AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_{} is set, check that it points at the {} API",
                escape::value(chain),
                call.service,
                call.service
            ),
            Failure::Other { chain } => write!(f, "{what} failed: {}", escape::value(chain)),
        }
    }
}

/// The message for a failed call: its [`Fault`], worded.
#[must_use]
pub fn describe<E>(call: &Call, err: &SdkError<E, aws_smithy_runtime_api::http::Response>) -> String
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    Fault::of(call, err).to_string()
}

/// What to change for a service error `code`.
fn fix_for(call: &Call, code: &str, status: u16) -> String {
    if let Some(bucket) = &call.bucket
        && let Some(fix) = s3_fix(call, bucket, code, status)
    {
        return fix;
    }
    if DENIED.contains(&code) && call.arn == "*" {
        format!(
            "the build role needs {} on * (add it to the role's IAM policy; the action has no resource-level permissions)",
            call.action
        )
    } else if DENIED.contains(&code) {
        format!(
            "the build role needs {} on {} (add it to the role's IAM policy; for a repository in another account, that repository's policy must also allow this role)",
            call.action, call.arn
        )
    } else if BAD_CREDENTIALS.contains(&code) {
        "the credentials were refused: check which ones are in use (AWS_ACCESS_KEY_ID, AWS_PROFILE, the CodeBuild service role) and that they have not expired".to_owned()
    } else if TRANSIENT.contains(&code) || status >= 500 {
        format!(
            "AWS kept failing or throttling after {MAX_ATTEMPTS} attempts (the SDK's standard retry mode); run the build again later"
        )
    } else {
        format!(
            "check {} (the IAM action is {})",
            call.resource, call.action
        )
    }
}

/// What to change for an S3 error on `bucket`, where S3 differs: HEAD answers carry no error code,
/// and a bucket in another account has a bucket policy.
fn s3_fix(call: &Call, bucket: &str, code: &str, status: u16) -> Option<String> {
    if DENIED.contains(&code) || (status == 403 && !BAD_CREDENTIALS.contains(&code)) {
        let head = if call.operation == "HeadObject" {
            format!(
                "; S3 also answers 403 for a missing key when the role lacks s3:ListBucket on arn:aws:s3:::{bucket}"
            )
        } else {
            String::new()
        };
        Some(format!(
            "the build role needs {} on {} (add it to the role's IAM policy; for a bucket in another account, its bucket policy must also allow this role){head}",
            call.action, call.arn
        ))
    } else if code == "NoSuchBucket" || (status == 404 && code.is_empty()) {
        Some(format!(
            "bucket {bucket} does not exist (region {}): check --bucket, and AWS_REGION for a bucket in another region",
            call.region
        ))
    } else if WRONG_REGION.contains(&code) || status == 301 {
        Some(format!(
            "bucket {bucket} is not in region {}: set AWS_REGION to the bucket's region",
            call.region
        ))
    } else if code.starts_with("KMS") {
        Some(
            "the SSE-KMS key was refused: check --kms-key-id (id, ARN or alias), that the key is enabled and in the bucket's region, and that the role has kms:GenerateDataKey on it"
                .to_owned(),
        )
    } else {
        None
    }
}

/// Why an endpoint may be out of reach, and what lets a build reach it.
fn reach_hint(call: &Call) -> String {
    let service = call.service.to_ascii_lowercase();
    let endpoint = match service.as_str() {
        "ecr" => format!("com.amazonaws.{}.ecr.api", call.region),
        other => format!("com.amazonaws.{}.{other}", call.region),
    };
    let overridden = [
        "AWS_ENDPOINT_URL".to_owned(),
        format!("AWS_ENDPOINT_URL_{}", call.service),
    ]
    .into_iter()
    .filter_map(|k| std::env::var(&k).ok().map(|v| format!("{k}={v}")))
    .collect::<Vec<_>>();
    if overridden.is_empty() {
        format!(
            "a build in a VPC needs the VPC endpoint {endpoint} or a NAT gateway to reach the {} API",
            call.service
        )
    } else {
        format!(
            "the endpoint is overridden ({}); check that it answers",
            overridden.join(", ")
        )
    }
}

/// The error and its sources on one line.
#[must_use]
pub fn chain(err: &dyn StdError) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let s = e.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        source = e.source();
    }
    text
}

/// The credential chain found nothing: what the SDK said, where it looked (as the environment was
/// when it looked), and how to give it some.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{0}")]
pub struct NoCredentials(String);

/// Where the credential chain looked, when it found nothing.
#[must_use]
pub fn no_credentials(why: &str) -> NoCredentials {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let home = env("HOME").unwrap_or_else(|| "~".to_owned());
    let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".to_owned());
    let config = env("AWS_CONFIG_FILE").unwrap_or_else(|| format!("{home}/.aws/config"));
    let credentials =
        env("AWS_SHARED_CREDENTIALS_FILE").unwrap_or_else(|| format!("{home}/.aws/credentials"));
    let set_or_not = |k: &str| if env(k).is_some() { "set" } else { "not set" };
    let imds = if env("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        "disabled by AWS_EC2_METADATA_DISABLED=true"
    } else {
        "not reachable"
    };
    NoCredentials(format!(
        "no AWS credentials found ({why}); looked in: the environment (AWS_ACCESS_KEY_ID {}, AWS_SECRET_ACCESS_KEY {}); profile {profile:?} in {config} and {credentials}; web identity (AWS_WEB_IDENTITY_TOKEN_FILE {}, AWS_ROLE_ARN {}); the container endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI {}, AWS_CONTAINER_CREDENTIALS_FULL_URI {}; CodeBuild sets these for its service role); instance metadata ({imds}); fix: run in CodeBuild with a service role, or set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        set_or_not("AWS_ACCESS_KEY_ID"),
        set_or_not("AWS_SECRET_ACCESS_KEY"),
        set_or_not("AWS_WEB_IDENTITY_TOKEN_FILE"),
        set_or_not("AWS_ROLE_ARN"),
        set_or_not("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
        set_or_not("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> Call {
        Call {
            service: "ECR",
            operation: "BatchGetImage",
            action: "ecr:BatchGetImage",
            resource: "repository shop/web in registry 111122223333".to_owned(),
            arn: "arn:aws:ecr:eu-west-1:111122223333:repository/shop/web".to_owned(),
            region: "eu-west-1".to_owned(),
            bucket: None,
        }
    }

    #[test]
    fn access_denied_names_the_action_and_the_arn() {
        let fix = fix_for(&call(), "AccessDeniedException", 400);
        assert!(
            fix.contains(
                "the build role needs ecr:BatchGetImage on arn:aws:ecr:eu-west-1:111122223333:repository/shop/web"
            ),
            "{fix}"
        );
    }

    #[test]
    fn throttling_and_5xx_say_the_sdk_retried() {
        for (code, status) in [("ThrottlingException", 400), ("Whatever", 503)] {
            let fix = fix_for(&call(), code, status);
            assert!(fix.contains("after 3 attempts"), "{fix}");
        }
        assert!(
            fix_for(&call(), "ExpiredTokenException", 400).contains("credentials were refused")
        );
    }

    fn s3_call(operation: &'static str, action: &'static str) -> Call {
        Call {
            service: "S3",
            operation,
            action,
            resource: "s3://deploy-bundles/web.zip".to_owned(),
            arn: "arn:aws:s3:::deploy-bundles/web.zip".to_owned(),
            region: "eu-west-1".to_owned(),
            bucket: Some("deploy-bundles".to_owned()),
        }
    }

    #[test]
    fn publish_s3_errors_name_the_bucket_the_action_and_the_fix() {
        let head = fix_for(&s3_call("HeadObject", "s3:GetObject"), "", 403);
        assert!(
            head.contains("needs s3:GetObject on arn:aws:s3:::deploy-bundles/web.zip")
                && head.contains("s3:ListBucket on arn:aws:s3:::deploy-bundles")
                && head.contains("bucket policy"),
            "{head}"
        );
        let put = s3_call("PutObject", "s3:PutObject");
        assert!(
            fix_for(&put, "NoSuchBucket", 404).contains("bucket deploy-bundles does not exist")
        );
        assert!(fix_for(&put, "PermanentRedirect", 301).contains("set AWS_REGION"));
        assert!(fix_for(&put, "KMS.NotFoundException", 400).contains("--kms-key-id"));
        assert!(fix_for(&put, "SlowDown", 503).contains("after 3 attempts"));
        assert!(!fix_for(&put, "AccessDenied", 403).contains("ListBucket"));
    }
}
