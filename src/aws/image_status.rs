//! `DescribeImages`: whether ECR images can be pulled now. ECR's archive storage class (2025)
//! keeps an image listed but unpullable (HTTP 404) until it is restored, which takes up to about
//! 20 minutes: its `imageStatus` is `ARCHIVED`, then `ACTIVATING`, then `ACTIVE` again.
//!
//! [`describe`] asks once per repository for up to [`MAX_IDS`] images, with the status filter
//! `ANY` (without it ECR lists only active images). An answer without `imageStatus` (regions
//! without the archive class, moto) counts as active. When a call fails because one of its images
//! is gone (`ImageNotFoundException` names one image for the whole call), each of its images is
//! asked alone, so the others still get their status.

use std::collections::BTreeMap;

use aws_sdk_ecr::operation::describe_images::{DescribeImagesError, DescribeImagesOutput};
use aws_sdk_ecr::types::{DescribeImagesFilter, ImageIdentifier, ImageStatus, ImageStatusFilter};

use super::Aws;
use super::ecr::Id;
use super::errors::{Call, Fault};
use crate::model::Digest;
use crate::model::ecr::Repository;

/// `DescribeImages` takes at most this many image ids per call.
pub const MAX_IDS: usize = 100;

/// What ECR says of one image's storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// It can be pulled (also: ECR named no status).
    Active,
    /// In the archive storage class: it cannot be pulled until restored.
    Archived,
    /// Being restored from the archive: it cannot be pulled until active.
    Activating,
    /// A status this version of imagedef does not know: whether it can be pulled is not known.
    Other(String),
}

/// What one image's `DescribeImages` came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Described {
    /// ECR listed it, with its digest and status.
    Listed {
        digest: Option<Digest>,
        status: Status,
    },
    /// ECR does not have it (or its repository) at all.
    Gone,
    /// The call failed.
    Error(Fault),
}

/// The status of every image in `asked`, keyed as asked. One call per repository and
/// [`MAX_IDS`] ids, each id once.
pub fn describe(aws: &Aws, asked: &[(Repository, Id)]) -> BTreeMap<(Repository, Id), Described> {
    let mut per_repository: BTreeMap<&Repository, Vec<Id>> = BTreeMap::new();
    for (repository, id) in asked {
        per_repository
            .entry(repository)
            .or_default()
            .push(id.clone());
    }
    let mut answers = BTreeMap::new();
    for (repository, mut ids) in per_repository {
        ids.sort();
        ids.dedup();
        for chunk in ids.chunks(MAX_IDS) {
            tracing::debug!(
                "ECR DescribeImages: {} id(s) in {} (registry {}, region {})",
                chunk.len(),
                repository.name,
                repository.registry.account,
                repository.registry.region
            );
            aws.block_on(describe_chunk(aws, repository, chunk, &mut answers));
        }
    }
    answers
}

async fn describe_chunk(
    aws: &Aws,
    repository: &Repository,
    ids: &[Id],
    answers: &mut BTreeMap<(Repository, Id), Described>,
) {
    let client = aws.ecr(&repository.registry);
    match send(&client, repository, ids).await {
        Ok(out) => {
            for id in ids {
                answers.insert((repository.clone(), id.clone()), listed(&out, id));
            }
        }
        // One image of several is gone: ask each alone.
        Err(Failed::Gone) if ids.len() > 1 => {
            for id in ids {
                let answer = match send(&client, repository, std::slice::from_ref(id)).await {
                    Ok(out) => listed(&out, id),
                    Err(Failed::Gone) => Described::Gone,
                    Err(Failed::Fault(fault)) => Described::Error(fault),
                };
                answers.insert((repository.clone(), id.clone()), answer);
            }
        }
        Err(failed) => {
            let answer = match failed {
                Failed::Gone => Described::Gone,
                Failed::Fault(fault) => Described::Error(fault),
            };
            for id in ids {
                answers.insert((repository.clone(), id.clone()), answer.clone());
            }
        }
    }
}

/// A `DescribeImages` call that failed as a whole.
enum Failed {
    /// `ImageNotFoundException` or `RepositoryNotFoundException`.
    Gone,
    Fault(Fault),
}

/// One `DescribeImages` call.
async fn send(
    client: &aws_sdk_ecr::Client,
    repository: &Repository,
    ids: &[Id],
) -> Result<DescribeImagesOutput, Failed> {
    let ids: Vec<ImageIdentifier> = ids.iter().map(Id::identifier).collect();
    client
        .describe_images()
        .registry_id(&repository.registry.account)
        .repository_name(&repository.name)
        .set_image_ids(Some(ids))
        .filter(
            DescribeImagesFilter::builder()
                .image_status(ImageStatusFilter::Any)
                .build(),
        )
        .send()
        .await
        .map_err(|err| {
            let gone = err.as_service_error().is_some_and(|e| {
                matches!(
                    e,
                    DescribeImagesError::ImageNotFoundException(_)
                        | DescribeImagesError::RepositoryNotFoundException(_)
                )
            });
            if gone {
                return Failed::Gone;
            }
            let call = Call {
                service: "ECR",
                operation: "DescribeImages",
                action: "ecr:DescribeImages",
                resource: format!(
                    "repository {} in registry {}",
                    repository.name, repository.registry.account
                ),
                arn: repository.arn(),
                region: repository.registry.region.clone(),
                bucket: None,
            };
            Failed::Fault(Fault::of(&call, &err))
        })
}

/// What an answer says of `id`: the image whose digest it is, or that carries its tag.
fn listed(out: &DescribeImagesOutput, id: &Id) -> Described {
    let found = out.image_details().iter().find(|detail| match id {
        Id::Digest(d) => detail.image_digest() == Some(d.to_string().as_str()),
        Id::Tag(t) => detail.image_tags().iter().any(|tag| tag == t),
    });
    let Some(detail) = found else {
        return Described::Gone;
    };
    let status = match detail.image_status() {
        None | Some(ImageStatus::Active) => Status::Active,
        Some(ImageStatus::Archived) => Status::Archived,
        Some(ImageStatus::Activating) => Status::Activating,
        Some(other) => Status::Other(other.as_str().to_owned()),
    };
    Described::Listed {
        digest: detail.image_digest().and_then(|d| d.parse().ok()),
        status,
    }
}
