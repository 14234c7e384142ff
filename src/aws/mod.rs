//! Live AWS: the one place that talks to AWS, through the AWS SDK for Rust.
//!
//! Everything here is synchronous to the rest of imagedef: [`Aws`] owns one current-thread tokio
//! runtime and blocks on each call, so no async leaks out of this module. Credentials, region,
//! retries and endpoint overrides (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`) are the SDK's
//! own defaults; imagedef adds only the HTTPS client (rustls on ring), timeouts, and a debug log
//! line for each failed attempt.
//!
//! - [`ecr`]: `BatchGetImage`, grouped per registry/region/repository (`--ecr`);
//! - [`image_status`]: `DescribeImages`, whether those images can be pulled now (not archived);
//! - [`ecs`]: `DescribeServices` + `DescribeTaskDefinition` (`ecs://CLUSTER/SERVICE`);
//! - [`ecs_deploy`]: what `deploy` and `confirm` call: the service, its next revision, the
//!   update, the deployment and its tasks;
//! - [`s3`]: `HeadObject` + `PutObject`, bounded in parallel (`publish`);
//! - [`registry`]: one blob through the registry HTTP API v2 (`GetAuthorizationToken` credentials,
//!   the S3 redirect followed without them), on the same HTTPS client;
//! - [`scan`]: `DescribeImageScanFindings` by digest, polled while a scan runs (`--findings`);
//! - [`errors`]: AWS errors as messages naming the code, operation, resource and IAM action.
//!
//! A new service (S3 for `publish`) adds a module with its calls and a client constructor like
//! [`Aws::ecr`]; the runtime, credentials check and error mapping are shared.

pub mod ecr;
pub mod ecs;
pub mod ecs_deploy;
pub mod errors;
pub mod image_status;
pub mod registry;
pub mod s3;
pub mod scan;

use crate::model::ecr::EcrHost;
use crate::model::partition;
use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::anyhow;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials as _;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

/// Attempts per call in the SDK's standard retry mode (its default; said here so that messages
/// can name it).
pub const MAX_ATTEMPTS: u32 = 3;

/// One attempt may take this long (connect, send, read the answer) before it counts as failed
/// and is retried.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);
/// A whole call, retries included.
const OPERATION_TIMEOUT: Duration = Duration::from_mins(1);
/// Connecting to an endpoint.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection to AWS: the SDK's shared configuration and the runtime that drives it.
pub struct Aws {
    runtime: tokio::runtime::Runtime,
    config: SdkConfig,
    /// The credentials check, done once before the first call.
    credentials: OnceLock<Result<(), errors::NoCredentials>>,
    /// The registry API's connector and tokens ([`registry`]).
    registry: registry::State,
}

impl Aws {
    /// Loads the SDK's configuration the way every AWS SDK does (environment, profile files, web
    /// identity, container endpoint, instance metadata), without calling AWS yet.
    pub fn connect() -> Result<Aws, ConnectError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ConnectError(e.to_string()))?;
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let config = runtime.block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .http_client(http)
                .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
                .timeout_config(
                    TimeoutConfig::builder()
                        .connect_timeout(CONNECT_TIMEOUT)
                        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                        .operation_timeout(OPERATION_TIMEOUT)
                        .build(),
                )
                .load(),
        );
        tracing::debug!(
            "AWS: default region {}; standard retry mode, up to {MAX_ATTEMPTS} attempts per call, transient errors (throttling, HTTP 5xx, connection resets, timeouts) are retried with backoff",
            config
                .region()
                .map_or_else(|| "not set".to_owned(), ToString::to_string)
        );
        Ok(Aws {
            runtime,
            config,
            credentials: OnceLock::new(),
            registry: registry::State::default(),
        })
    }

    /// Runs one future of this module to completion.
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Fails with where the SDK looked when it finds no credentials, before any call is made.
    fn check_credentials(&self) -> anyhow::Result<()> {
        let result = self.credentials.get_or_init(|| {
            let Some(provider) = self.config.credentials_provider() else {
                return Err(errors::no_credentials(
                    "no credentials provider is configured",
                ));
            };
            match self.block_on(provider.provide_credentials()) {
                Ok(_) => Ok(()),
                Err(e) => Err(errors::no_credentials(&errors::chain(&e))),
            }
        });
        result.clone().map_err(anyhow::Error::new)
    }

    /// The SDK's own region (`AWS_REGION`, the profile's `region`), for `purpose` (`which`: the
    /// region a fix should name): refused, before any request, unless it has the form of a region
    /// of an AWS partition.
    fn default_region(&self, purpose: &str, which: &str) -> anyhow::Result<Region> {
        let region = self.config.region().cloned().ok_or_else(|| {
            anyhow!(
                "no AWS region for {purpose}: set AWS_REGION{which} (CodeBuild sets it to the build's region) or the profile's region"
            )
        })?;
        if partition::of_region(region.as_ref()).is_none() {
            let from = ["AWS_REGION", "AWS_DEFAULT_REGION"]
                .into_iter()
                .find(|k| std::env::var(k).is_ok_and(|v| v == region.as_ref()))
                .unwrap_or("the profile's region");
            let why = partition::RegionError::NotARegion {
                region: region.to_string(),
            };
            return Err(anyhow!(
                "{from} {why}; no request was made for {purpose}; fix: set AWS_REGION{which}, a region such as eu-west-1"
            ));
        }
        Ok(region)
    }

    /// An ECR client for one region (the region of the registry in an image URI), at its FIPS or
    /// dual-stack endpoint when the URI's registry host is one.
    fn ecr(&self, registry: &EcrHost) -> aws_sdk_ecr::Client {
        let mut config = aws_sdk_ecr::config::Builder::from(&self.config)
            .region(Region::new(registry.region.clone()))
            .interceptor(AttemptLog);
        // The SDK refuses FIPS or dual-stack with an overridden endpoint; the override wins.
        let overridden = self.config.endpoint_url().is_some()
            || std::env::var_os("AWS_ENDPOINT_URL_ECR").is_some();
        if registry.fips && !overridden {
            config = config.use_fips(true);
        }
        if registry.dual_stack() && !overridden {
            config = config.use_dual_stack(true);
        }
        let config = config.build();
        aws_sdk_ecr::Client::from_conf(config)
    }

    /// An ECS client for the default region.
    fn ecs(&self) -> anyhow::Result<(aws_sdk_ecs::Client, Region)> {
        let region = self.default_region("the ECS lookup", "")?;
        let config = aws_sdk_ecs::config::Builder::from(&self.config)
            .region(region.clone())
            .interceptor(AttemptLog)
            .build();
        Ok((aws_sdk_ecs::Client::from_conf(config), region))
    }

    /// An S3 client for the default region (the bucket's), path-style when the endpoint is
    /// overridden (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`): a local or private endpoint has no
    /// per-bucket host names.
    fn s3(&self) -> anyhow::Result<(aws_sdk_s3::Client, Region)> {
        let region = self.default_region("publish", " to the bucket's region")?;
        let overridden = self.config.endpoint_url().is_some()
            || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        let config = aws_sdk_s3::config::Builder::from(&self.config)
            .region(region.clone())
            .force_path_style(overridden)
            .interceptor(AttemptLog)
            .build();
        Ok((aws_sdk_s3::Client::from_conf(config), region))
    }
}

/// The process's one connection, made on first use: `--ecr` and `ecs://` may both need it.
pub fn shared() -> anyhow::Result<&'static Aws> {
    static AWS: OnceLock<Result<Aws, ConnectError>> = OnceLock::new();
    AWS.get_or_init(Aws::connect)
        .as_ref()
        .map_err(|e| anyhow::Error::new(e.clone()))
}

/// The AWS client could not be set up (its runtime did not start).
#[derive(Clone, Debug, thiserror::Error)]
#[error("cannot start the AWS client's runtime: {0}")]
pub struct ConnectError(String);

/// Logs each failed attempt at debug level (`-v`), so a user sees the SDK retrying.
#[derive(Debug)]
struct AttemptLog;

impl Intercept for AttemptLog {
    fn name(&self) -> &'static str {
        "imagedef::AttemptLog"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(Err(err)) = context.output_or_error() else {
            return Ok(());
        };
        let operation = cfg.load::<Metadata>().map_or_else(
            || "AWS call".to_owned(),
            |m| format!("{} {}", m.service(), m.name()),
        );
        let status = context
            .response()
            .map(|r| format!("HTTP {}", r.status().as_u16()));
        tracing::debug!(
            "{operation}: attempt failed ({}); the SDK's standard retry mode retries throttling, HTTP 5xx, connection resets and timeouts, up to {MAX_ATTEMPTS} attempts",
            status.unwrap_or_else(|| errors::chain(err))
        );
        Ok(())
    }
}
