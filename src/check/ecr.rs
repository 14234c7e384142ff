//! `--ecr`: every image (discovered files, bundle contents, the containers `emit` writes) looked
//! up in ECR where it lives, and asked whether it can be pulled now. A missing digest, a tag that
//! moved, or an archived image fails; a lookup that could not be made is an error. The images an
//! ECS service runs now (`ecs://`), which a rollback or a scale-out of that revision pulls, are
//! asked too: one archived or gone is a warning, a failure under `--strict`. [`words`] is the one
//! wording of what ECR said.

use std::collections::BTreeMap;

use super::report::Looked;
use super::{Recorder, Seen};
use crate::aws::Aws;
use crate::aws::ecr::{self, Id, IdFailure, Lookup, LookupError, Missing, Outcome, Skipped};
use crate::aws::image_status::{self, Described, Status};
use crate::discover::Discovery;
use crate::model::ecr::Repository;
use crate::model::{Digest, ImageRef};

/// Said (as a warning) when `--ecr` finds nothing to look up: no image is in ECR.
pub const NONE_IN_ECR: &str = "--ecr: no image is in an Amazon ECR private registry (ACCOUNT.dkr.ecr.REGION.amazonaws.com), so nothing was looked up";

/// An image an ECS service runs now (`ecs://`): a rollback to that revision, or a scale-out
/// before a deploy completes, pulls it.
#[derive(Clone, Debug)]
pub struct Running {
    /// The service and container, as messages name them.
    pub subject: String,
    /// Where it runs: `ecs://CLUSTER/SERVICE`.
    pub service: String,
    pub image: ImageRef,
}

/// Looks `images` up through the client `connect` gives, called only when an image is in ECR,
/// and asks whether they, and the `running` images, can be pulled; `strict` (what asked for it):
/// a running image that cannot is a failure, not a warning. Returns what ECR said of each image,
/// in the order of `images`, for the checks that read the manifests; empty when no lookup could
/// be made (recorded as an error).
pub fn check<'a>(
    images: &[Seen],
    running: &[Running],
    connect: impl FnOnce() -> anyhow::Result<&'a Aws>,
    strict: Option<&str>,
    report: &mut Recorder,
) -> Vec<(Lookup, Outcome)> {
    let lookups: Vec<Lookup> = images
        .iter()
        .map(|s| Lookup::of(s.subject.clone(), &s.image, s.digest))
        .collect();
    let (outcomes, statuses) = match ecr::plan(&lookups) {
        Err(refused) => {
            report.error("--ecr", refused.to_string());
            return Vec::new();
        }
        Ok(batches) if batches.is_empty() => {
            tracing::warn!("{NONE_IN_ECR}");
            (
                vec![Outcome::Skipped(Skipped::NotInEcr); lookups.len()],
                BTreeMap::new(),
            )
        }
        Ok(_) => match connect().and_then(|aws| {
            let outcomes = ecr::check(aws, &lookups)?;
            let statuses = image_status::describe(aws, &asked(&outcomes, running));
            Ok((outcomes, statuses))
        }) {
            Err(e) => {
                report.error("--ecr", format!("{e:#}"));
                return Vec::new();
            }
            Ok(found) => found,
        },
    };
    for ((l, o), seen) in lookups.iter().zip(&outcomes).zip(images) {
        let said = words(l, o);
        let looked = if matches!(o, Outcome::Skipped(_)) {
            Looked::Not(said.clone())
        } else {
            Looked::Up
        };
        record(l, o, &statuses, said, report);
        if let Some(results) = report.container(seen) {
            results.ecr = Some(looked);
        }
    }
    say_running(running, &statuses, strict, report);
    lookups.into_iter().zip(outcomes).collect()
}

/// `--resolve-tags`: the digest each tag-only image in ECR that `found` names (an
/// `imageDetail.json` whose `ImageURI` has a tag and no digest) points at now, looked up through
/// the client `connect` gives. Each is said; a tag ECR does not have fails, a lookup that could
/// not be made is an error.
pub fn tag_digests<'a>(
    found: &Discovery,
    connect: impl FnOnce() -> anyhow::Result<&'a Aws>,
    report: &mut Recorder,
) -> Vec<(ImageRef, Digest)> {
    let mut lookups: Vec<Lookup> = Vec::new();
    for (candidate, detail) in found.images() {
        let image = &detail.image_uri;
        let tag_only = detail.digest().is_none() && image.tag().is_some();
        if tag_only && image.ecr().is_some() && !lookups.iter().any(|l| l.image == *image) {
            lookups.push(Lookup::of(candidate.label(), image, None));
        }
    }
    if lookups.is_empty() {
        return Vec::new();
    }
    let outcomes = match connect().and_then(|aws| ecr::check(aws, &lookups)) {
        Ok(outcomes) => outcomes,
        Err(e) => {
            report.error("--resolve-tags", format!("{e:#}"));
            return Vec::new();
        }
    };
    let mut pinned = Vec::new();
    for (l, o) in lookups.iter().zip(&outcomes) {
        match o {
            Outcome::Found {
                tagged: Some(digest),
                repository,
                ..
            } => {
                report.ok(
                    l.subject.clone(),
                    format!(
                        "{} resolved to {digest}, the digest its tag points at now in {} (--resolve-tags)",
                        l.image,
                        at(repository)
                    ),
                );
                pinned.push((l.image.clone(), *digest));
            }
            Outcome::Missing(_) | Outcome::Found { .. } => {
                report.fail(l.subject.clone(), words(l, o));
            }
            Outcome::Error(_) | Outcome::Skipped(_) => {
                report.error(l.subject.clone(), words(l, o));
            }
        }
    }
    pinned
}

/// Records what ECR said of the written image of `l`: `said` ([`words`]), unless it cannot be
/// pulled now (found, or missing by its digest: an archived image may be why), or whether it can
/// could not be asked.
fn record(
    l: &Lookup,
    o: &Outcome,
    statuses: &BTreeMap<(Repository, Id), Described>,
    said: String,
    report: &mut Recorder,
) {
    let status = id_of(o).and_then(|key| statuses.get(&key).map(|d| (key, d)));
    match (o, &status) {
        (Outcome::Missing(Missing::Digest { .. }), Some((_, Described::Gone))) => {}
        (Outcome::Found { .. }, Some(((repository, _), Described::Error(fault)))) => {
            report.error(
                l.subject.clone(),
                format!(
                    "{}: whether it can be pulled (archived or not) could not be asked of {}: {fault}",
                    l.image,
                    at(repository)
                ),
            );
            return;
        }
        (
            Outcome::Found { .. } | Outcome::Missing(Missing::Digest { .. }),
            Some(((repository, id), d)),
        ) => {
            if let Some(why) = unpullable(d) {
                report.fail(
                    l.subject.clone(),
                    format!(
                        "image {} {why} ({}): a deploy would fail with CannotPullContainerError; {}",
                        l.image,
                        at(repository),
                        fix(d, repository, id)
                    ),
                );
                return;
            }
        }
        _ => {}
    }
    match o {
        Outcome::Found { .. } => report.ok(l.subject.clone(), said),
        Outcome::Skipped(_) => tracing::debug!("{}: {}: {said}", l.subject, l.image),
        Outcome::Missing(_) => report.fail(l.subject.clone(), said),
        Outcome::Error(_) => report.error(l.subject.clone(), said),
    }
}

/// Says each `running` image that cannot be pulled now (or whose status could not be asked): a
/// warning, or with `strict` (what asked for it) a failure.
fn say_running(
    running: &[Running],
    statuses: &BTreeMap<(Repository, Id), Described>,
    strict: Option<&str>,
    report: &mut Recorder,
) {
    for r in running {
        let Some((key, d)) = running_id(r).and_then(|key| statuses.get(&key).map(|d| (key, d)))
        else {
            continue;
        };
        let (repository, id) = &key;
        let said = match (d, unpullable(d)) {
            (_, Some(why)) => format!(
                "the image it runs now ({}), {}, {why} ({}): a rollback to that revision, or a scale-out before the deploy completes, would fail to pull it; {}",
                r.service,
                r.image,
                at(repository),
                fix(d, repository, id)
            ),
            (Described::Error(fault), None) => format!(
                "whether the image it runs now ({}), {}, can be pulled (archived or not) could not be asked: {fault}",
                r.service, r.image
            ),
            (Described::Listed { .. } | Described::Gone, None) => continue,
        };
        if let Some(by) = strict {
            report.fail(
                r.subject.clone(),
                format!("{said}; {by} makes it a failure"),
            );
        } else {
            tracing::warn!("{}: {said}", r.subject);
        }
    }
}

/// The image ids whose status is asked: each written image ECR returned (or did not return by
/// its digest: an archived image may be why), and each running image in ECR.
fn asked(outcomes: &[Outcome], running: &[Running]) -> Vec<(Repository, Id)> {
    outcomes
        .iter()
        .filter_map(id_of)
        .chain(running.iter().filter_map(running_id))
        .collect()
}

/// The id a written image's status is asked by.
fn id_of(o: &Outcome) -> Option<(Repository, Id)> {
    match o {
        Outcome::Found {
            repository,
            digest: Some(d),
            ..
        }
        | Outcome::Missing(Missing::Digest {
            repository,
            digest: d,
            ..
        }) => Some((repository.clone(), Id::Digest(*d))),
        Outcome::Found {
            repository,
            digest: None,
            tag: Some(t),
            ..
        } => Some((repository.clone(), Id::Tag(t.clone()))),
        _ => None,
    }
}

/// The id a running image's status is asked by: its digest, else its tag.
fn running_id(r: &Running) -> Option<(Repository, Id)> {
    let repository = Repository::of(&r.image)?.ok()?;
    let id = match (r.image.digest(), r.image.tag()) {
        (Some(d), _) => Id::Digest(d),
        (None, Some(t)) => Id::Tag(t.to_owned()),
        (None, None) => return None,
    };
    Some((repository, id))
}

/// Why an image cannot be pulled now, or `None` when it can (or its status is not known).
fn unpullable(d: &Described) -> Option<String> {
    match d {
        Described::Listed {
            status: Status::Archived,
            ..
        } => Some("is archived in ECR (imageStatus ARCHIVED) and cannot be pulled until restored".to_owned()),
        Described::Listed {
            status: Status::Activating,
            ..
        } => Some("is being restored from the ECR archive (imageStatus ACTIVATING) and cannot be pulled until it is ACTIVE, up to about 20 minutes after the restore began".to_owned()),
        Described::Listed {
            status: Status::Other(other),
            ..
        } => Some(format!(
            "has ECR imageStatus {other:?}, which is not ACTIVE, so it may not be pullable"
        )),
        Described::Gone => Some("is no longer in ECR".to_owned()),
        Described::Listed {
            status: Status::Active,
            ..
        }
        | Described::Error(_) => None,
    }
}

/// What to do about an image that cannot be pulled: the AWS CLI command that restores it, or
/// shows its status.
fn fix(d: &Described, repository: &Repository, id: &Id) -> String {
    let digest: Option<Digest> = match (d, id) {
        (
            Described::Listed {
                digest: Some(d), ..
            },
            _,
        )
        | (_, Id::Digest(d)) => Some(*d),
        _ => None,
    };
    let image_id = match (digest, id) {
        (Some(d), _) => format!("imageDigest={d}"),
        (None, Id::Tag(t)) => format!("imageTag={t}"),
        (None, Id::Digest(d)) => format!("imageDigest={d}"),
    };
    let repo = format!(
        "--region {} --registry-id {} --repository-name {}",
        repository.registry.region, repository.registry.account, repository.name
    );
    match d {
        Described::Listed {
            status: Status::Archived,
            ..
        } => format!(
            "restore it (up to about 20 minutes) with: aws ecr update-image-storage-class {repo} --image-id {image_id} --target-storage-class STANDARD"
        ),
        Described::Gone => "push it again, or check the repository's lifecycle policy".to_owned(),
        _ => format!(
            "run again once it is ACTIVE: aws ecr describe-images {repo} --image-ids {image_id} --filter imageStatus=ANY"
        ),
    }
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
