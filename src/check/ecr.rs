//! `--ecr`: every image (discovered files, bundle contents, the containers `emit` writes) looked
//! up in ECR where it lives. A missing digest, or a tag that moved, fails; a lookup that could not
//! be made is an error. [`words`] is the one wording of what ECR said.

use super::report::Looked;
use super::{Recorder, Seen};
use crate::aws::Aws;
use crate::aws::ecr::{self, IdFailure, Lookup, LookupError, Missing, Outcome, Skipped};
use crate::model::ecr::Repository;

/// Said (as a warning) when `--ecr` finds nothing to look up: no image is in ECR.
pub const NONE_IN_ECR: &str = "--ecr: no image is in an Amazon ECR private registry (ACCOUNT.dkr.ecr.REGION.amazonaws.com), so nothing was looked up";

/// Looks `images` up through the client `connect` gives, called only when an image is in ECR.
/// Returns what ECR said of each image, in the order of `images`, for the checks that read the
/// manifests; empty when no lookup could be made (recorded as an error).
pub fn check<'a>(
    images: &[Seen],
    connect: impl FnOnce() -> anyhow::Result<&'a Aws>,
    report: &mut Recorder,
) -> Vec<(Lookup, Outcome)> {
    let lookups: Vec<Lookup> = images
        .iter()
        .map(|s| Lookup::of(s.subject.clone(), &s.image, s.digest))
        .collect();
    let outcomes = match ecr::plan(&lookups) {
        Err(refused) => {
            report.error("--ecr", refused.to_string());
            return Vec::new();
        }
        Ok(batches) if batches.is_empty() => {
            tracing::warn!("{NONE_IN_ECR}");
            vec![Outcome::Skipped(Skipped::NotInEcr); lookups.len()]
        }
        Ok(_) => match connect().and_then(|aws| ecr::check(aws, &lookups)) {
            Err(e) => {
                report.error("--ecr", format!("{e:#}"));
                return Vec::new();
            }
            Ok(outcomes) => outcomes,
        },
    };
    for ((l, o), seen) in lookups.iter().zip(&outcomes).zip(images) {
        let said = words(l, o);
        let looked = if matches!(o, Outcome::Skipped(_)) {
            Looked::Not(said.clone())
        } else {
            Looked::Up
        };
        match o {
            Outcome::Found { .. } => report.ok(l.subject.clone(), said),
            Outcome::Skipped(_) => tracing::debug!("{}: {}: {said}", l.subject, l.image),
            Outcome::Missing(_) => report.fail(l.subject.clone(), said),
            Outcome::Error(_) => report.error(l.subject.clone(), said),
        }
        if let Some(results) = report.container(seen) {
            results.ecr = Some(looked);
        }
    }
    lookups.into_iter().zip(outcomes).collect()
}

/// What ECR said about the image of `l`, worded: what was found, why it was not looked up, how it
/// is missing, or why the lookup failed.
#[must_use]
pub fn words(l: &Lookup, outcome: &Outcome) -> String {
    const NOT_PULLABLE: &str = "a deploy would fail with CannotPullContainerError; push the image again, or check the repository's lifecycle policy and replication";
    let image = &l.image;
    match outcome {
        Outcome::Found {
            repository,
            digest,
            tag,
            ..
        } => {
            let mut found = Vec::new();
            found.extend(digest.map(|d| format!("digest {d}")));
            found.extend(tag.as_ref().map(|t| format!("tag {t}")));
            format!("{image} in ECR ({}, {})", found.join(", "), at(repository))
        }
        Outcome::Skipped(Skipped::NotInEcr) => {
            "not in an Amazon ECR private registry; not looked up".to_owned()
        }
        Outcome::Skipped(Skipped::NothingToLookUp) => "no digest or tag to look up".to_owned(),
        Outcome::Missing(Missing::Repository(repo)) => format!(
            "{image}: repository {} does not exist in registry {} (region {}), so the image is not there; push it, or fix the image URI",
            repo.name, repo.registry.account, repo.registry.region
        ),
        Outcome::Error(LookupError::Call(fault)) => format!("{image}: {fault}"),
        Outcome::Missing(Missing::Digest {
            repository,
            digest,
            failure: Some(IdFailure { code, reason }),
        })
        | Outcome::Error(LookupError::Digest {
            repository,
            digest,
            failure: IdFailure { code, reason },
        }) => format!(
            "image {image} with digest {digest} is not in ECR ({code}: {reason}) in {}; {NOT_PULLABLE}",
            at(repository)
        ),
        Outcome::Missing(Missing::Digest {
            repository,
            digest,
            failure: None,
        }) => format!(
            "image {image} with digest {digest} is not in ECR (not returned for {}); {NOT_PULLABLE}",
            at(repository)
        ),
        Outcome::Missing(Missing::TagMoved {
            repository,
            tag,
            now,
            expected,
        }) => format!(
            "tag {tag:?} of {} now points at {now} in {}, not at {expected}; ECS would deploy a different image than was checked; emit again from the current imageDetail.json, or use --uri digest",
            image.name(),
            at(repository)
        ),
        Outcome::Error(LookupError::Tag {
            repository,
            tag,
            failure: IdFailure { code, reason },
        }) => format!(
            "tag {tag:?} of {}: {code}: {reason} in {}",
            image.name(),
            at(repository)
        ),
        Outcome::Missing(Missing::TagGone { repository, tag }) => format!(
            "tag {tag:?} of {} no longer exists in {}; ECS could not pull {image}; emit again from the current imageDetail.json, or use --uri digest",
            image.name(),
            at(repository)
        ),
    }
}

/// Where a repository is, as messages name it.
fn at(repo: &Repository) -> String {
    format!(
        "repository {} in registry {} (region {})",
        repo.name, repo.registry.account, repo.registry.region
    )
}
