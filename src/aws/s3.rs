//! `publish`: each bundle goes to S3 unless the object there already holds its bytes.
//!
//! Per object: `HeadObject` with checksum mode, comparing the stored sha256 checksum (never the
//! `ETag`, which is not an MD5 with SSE-KMS) with the bundle's; then, when it differs or the object
//! is missing, `PutObject` with `x-amz-checksum-sha256` and the SHA256 checksum algorithm (so S3
//! checks the bytes and stores the checksum for the next run's `HeadObject`). The put is
//! conditional on what the head saw (`If-None-Match: *` for no object, `If-Match: <ETag>` for
//! other bytes), so of two publishers at once only one writes a version; the other heads again,
//! and finds these bytes (unchanged) or tries again, [`RACE_ATTEMPTS`] times in all. The objects run
//! [`PARALLEL`] at a time on the one runtime; a bucket-wide error (no such bucket, access denied,
//! refused credentials) stops starting new ones.

use std::fmt::Write as _;
use std::sync::Arc;

use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::head_object::HeadObjectError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ObjectCannedAcl, ServerSideEncryption};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use tokio::task::JoinSet;

use super::Aws;
use super::errors::{self, Call};
use crate::model::Digest;
use crate::model::s3::{AccountId, BucketName, CannedAcl, ObjectKey};

/// Objects in flight at once.
pub const PARALLEL: usize = 8;

/// Head-then-conditional-put tries per object when other writers keep winning.
pub const RACE_ATTEMPTS: usize = 3;

/// Where and how the objects go.
#[derive(Clone, Debug)]
pub struct Target {
    pub bucket: BucketName,
    /// SSE-KMS with this key (id, ARN or alias).
    pub kms_key_id: Option<String>,
    /// A canned ACL (`bucket-owner-full-control`, ...).
    pub acl: Option<CannedAcl>,
    /// `ExpectedBucketOwner` on every call: the account that must own the bucket.
    pub expected_bucket_owner: Option<AccountId>,
    /// Ask (`HeadObject`) but put nothing.
    pub dry_run: bool,
}

/// One bundle to publish.
#[derive(Clone, Debug)]
pub struct Object {
    pub key: ObjectKey,
    pub bytes: Vec<u8>,
    /// The sha256 of `bytes`, already checked against `SHA256SUMS`.
    pub digest: Digest,
}

/// What happened to one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Put; the new version (`None` in a bucket without versioning).
    Uploaded { version: Option<String> },
    /// The stored sha256 checksum already equals the bundle's: left alone.
    Unchanged { version: Option<String> },
    /// `--dry-run`: would be put; `replaces` when an object with other bytes is there.
    WouldUpload { replaces: bool },
    /// The call failed after the SDK's retries. `transient` (throttling, 5xx, connection
    /// failures): another run may succeed (exit 1); otherwise a bucket, permission or credentials
    /// error (exit 2).
    Failed { message: String, transient: bool },
    /// Not tried: a bucket-wide error made the other calls pointless.
    NotTried,
}

/// Publishes `objects` to `target`, [`PARALLEL`] at a time; one outcome per object, in order.
/// `Err` only when nothing could be tried (no region, no credentials).
pub fn publish(aws: &Aws, target: &Target, objects: Vec<Object>) -> anyhow::Result<Vec<Outcome>> {
    let (client, region) = aws.s3()?;
    aws.check_credentials()?;
    let target = Arc::new(target.clone());
    let region = region.to_string();
    let count = objects.len();
    Ok(aws.block_on(async move {
        let mut outcomes = vec![Outcome::NotTried; count];
        let mut queue = objects.into_iter().enumerate();
        let mut running = JoinSet::new();
        let mut stop = false;
        loop {
            while !stop && running.len() < PARALLEL {
                let Some((i, object)) = queue.next() else {
                    break;
                };
                let (client, target, region) =
                    (client.clone(), Arc::clone(&target), region.clone());
                running.spawn(async move {
                    (i, head_then_put(&client, &target, &region, object).await)
                });
            }
            let Some(done) = running.join_next().await else {
                break;
            };
            // A task only ends by returning: the release profile aborts on panic.
            let (i, outcome) = done.expect("an upload task returns its outcome");
            if let Outcome::Failed {
                transient: false, ..
            } = &outcome
            {
                stop = true;
            }
            outcomes[i] = outcome;
        }
        outcomes
    }))
}

/// One object: head, compare, put when the stored bytes differ.
async fn head_then_put(
    client: &aws_sdk_s3::Client,
    target: &Target,
    region: &str,
    object: Object,
) -> Outcome {
    let want = object.digest.base64();
    let call = |operation, action| Call {
        service: "S3",
        operation,
        action,
        resource: format!("s3://{}/{}", target.bucket, object.key),
        arn: format!("arn:aws:s3:::{}/{}", target.bucket, object.key),
        region: region.to_owned(),
        bucket: Some(target.bucket.to_string()),
    };
    let owner = target
        .expected_bucket_owner
        .as_ref()
        .map(|a| a.as_str().to_owned());
    let mut lost = Vec::new();
    for _ in 0..RACE_ATTEMPTS {
        let head = client
            .head_object()
            .bucket(target.bucket.as_str())
            .key(object.key.as_str())
            .checksum_mode(ChecksumMode::Enabled)
            .set_expected_bucket_owner(owner.clone())
            .send()
            .await;
        let condition = match head {
            Ok(head) => {
                if head.checksum_sha256() == Some(want.as_str()) {
                    return Outcome::Unchanged {
                        version: head.version_id().map(str::to_owned),
                    };
                }
                tracing::debug!(
                    "s3://{}/{}: stored sha256 checksum {:?}, the bundle's is {want}: uploading",
                    target.bucket,
                    object.key,
                    head.checksum_sha256()
                );
                let Some(etag) = head.e_tag() else {
                    return Outcome::Failed {
                        message: format!(
                            "s3://{}/{}: HeadObject returned no ETag, so the object cannot be replaced conditionally; not published",
                            target.bucket, object.key
                        ),
                        transient: false,
                    };
                };
                Condition::Replaces(etag.to_owned())
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(HeadObjectError::is_not_found) =>
            {
                Condition::Absent
            }
            Err(e) => return failed(&call("HeadObject", "s3:GetObject"), &e, target),
        };
        if target.dry_run {
            return Outcome::WouldUpload {
                replaces: matches!(condition, Condition::Replaces(_)),
            };
        }
        let put = put_request(client, target, &object, &want, owner.clone(), &condition);
        match put.send().await {
            Ok(put) => {
                return Outcome::Uploaded {
                    version: put.version_id().map(str::to_owned),
                };
            }
            Err(e) => match lost_race(&e, &condition) {
                Some(why) => {
                    tracing::debug!(
                        "s3://{}/{}: another writer changed the object between HeadObject and PutObject ({why}); looking again",
                        target.bucket,
                        object.key
                    );
                    lost.push(why);
                }
                None => return failed(&call("PutObject", "s3:PutObject"), &e, target),
            },
        }
    }
    lost.dedup();
    Outcome::Failed {
        message: format!(
            "s3://{}/{}: another writer changed the object between each of {RACE_ATTEMPTS} HeadObject and PutObject pairs (S3 refused each conditional put: {}); not published: run the publish again once the other writer is done",
            target.bucket,
            object.key,
            lost.join(", ")
        ),
        transient: true,
    }
}

/// The `PutObject` of `object`, conditional on what `HeadObject` saw.
fn put_request(
    client: &aws_sdk_s3::Client,
    target: &Target,
    object: &Object,
    want: &str,
    owner: Option<String>,
    condition: &Condition,
) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder {
    let mut put = client
        .put_object()
        .bucket(target.bucket.as_str())
        .key(object.key.as_str())
        .content_type("application/zip")
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .checksum_sha256(want)
        .set_expected_bucket_owner(owner)
        .body(ByteStream::from(object.bytes.clone()));
    put = match condition {
        Condition::Absent => put.if_none_match("*"),
        Condition::Replaces(etag) => put.if_match(etag),
    };
    if let Some(key) = &target.kms_key_id {
        put = put
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(key);
    }
    if let Some(acl) = &target.acl {
        put = put.acl(ObjectCannedAcl::from(acl.as_str()));
    }
    put
}

/// What a conditional put requires of the object, from what `HeadObject` saw.
enum Condition {
    /// No object: `If-None-Match: *`.
    Absent,
    /// An object with other bytes, this `ETag`: `If-Match`.
    Replaces(String),
}

/// Why a conditional put says another writer got there first, if it does: 412
/// `PreconditionFailed`, 409 `ConditionalRequestConflict`, or 404 for an `If-Match` whose object
/// was deleted in between.
fn lost_race<E>(
    err: &SdkError<E, aws_smithy_runtime_api::http::Response>,
    condition: &Condition,
) -> Option<&'static str>
where
    E: ProvideErrorMetadata,
{
    let SdkError::ServiceError(ctx) = err else {
        return None;
    };
    let code = ctx.err().code().unwrap_or_default();
    match ctx.raw().status().as_u16() {
        412 => Some("412 PreconditionFailed"),
        409 if code == "ConditionalRequestConflict" => Some("409 ConditionalRequestConflict"),
        404 if matches!(condition, Condition::Replaces(_)) => Some("404 after If-Match"),
        _ => None,
    }
}

/// The failure of `call`, worded, with the KMS permission when SSE-KMS may be why.
fn failed<E>(
    call: &Call,
    err: &SdkError<E, aws_smithy_runtime_api::http::Response>,
    target: &Target,
) -> Outcome
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let mut message = errors::describe(call, err);
    if let Some(key) = &target.kms_key_id
        && errors::is_denied_or_kms(err)
    {
        let _ = write!(
            message,
            "; with --kms-key-id the role also needs kms:GenerateDataKey (and kms:Decrypt for the checksum head) on {key}, and for a key in another account its key policy must allow the role"
        );
    }
    Outcome::Failed {
        message,
        transient: errors::is_transient(err),
    }
}
