//! `--ecr`: every image from an ECR URI is looked up with `BatchGetImage` where it lives (the
//! registry account and region of its URI), by digest, and by tag when a tag was written.
//!
//! [`plan`] groups the lookups per registry/region/repository and cuts them into calls of at most
//! [`MAX_IDS`] ids (a pure function); [`check`] makes the calls and says, image by image, whether
//! ECR has it, as data ([`Outcome`]). What a missing image means (exit code, what was written) and
//! how it is worded are the caller's to decide.

use std::collections::BTreeMap;

use aws_sdk_ecr::types::ImageIdentifier;

use super::Aws;
use super::errors::{Call, Fault};
use crate::model::ecr::Repository;
use crate::model::partition::RegionError;
use crate::model::{Digest, ImageRef};

/// `BatchGetImage` takes at most this many image ids per call.
pub const MAX_IDS: usize = 100;

/// The manifest types asked for: without them ECR may answer a Docker v2 image with a converted
/// schema 1 manifest, or refuse an index.
const MEDIA_TYPES: [&str; 4] = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
];

/// One image to look up.
#[derive(Clone, Debug)]
pub struct Lookup {
    /// Where the image was named (a file, a service's container), for messages.
    pub subject: String,
    /// The reference as written or found.
    pub image: ImageRef,
    /// The digest that must exist in the repository.
    pub digest: Option<Digest>,
    /// A tag that must still point at `digest` (with `--uri tag` / `tag+digest`).
    pub tag: Option<String>,
}

impl Lookup {
    /// The lookup of an image seen in `subject`: its digest (`digest`, or the one pinned in its
    /// URI), and the tag written in its URI.
    #[must_use]
    pub fn of(subject: String, image: &ImageRef, digest: Option<Digest>) -> Lookup {
        Lookup {
            subject,
            digest: digest.or_else(|| image.digest()),
            tag: image.tag().map(str::to_owned),
            image: image.clone(),
        }
    }
}

/// One image id asked for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Id {
    Digest(Digest),
    Tag(String),
}

/// One `BatchGetImage` call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub repository: Repository,
    /// At most [`MAX_IDS`], no duplicates.
    pub ids: Vec<Id>,
}

/// The images whose registry host names a region that is not real (or not confirmed for its
/// domain): no lookup is made at all.
#[derive(Clone, Debug)]
pub struct PlanError(pub Vec<(Lookup, RegionError)>);

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (l, region) in &self.0 {
            writeln!(
                f,
                "{}: image {}: the region of registry host {}: {region}",
                l.subject,
                l.image,
                l.image.host().unwrap_or_default()
            )?;
        }
        f.write_str("no ECR lookup was made; fix: correct the region in the image URI (ACCOUNT.dkr.ecr.REGION.amazonaws.com, e.g. eu-west-1)")
    }
}

impl std::error::Error for PlanError {}

/// The calls that check `lookups`: one per repository (per [`MAX_IDS`] ids), each id once.
/// Images outside ECR, and images with neither digest nor tag, need no call. Refused, naming
/// every such image, when a registry host names a region that is not real: no call is then made.
pub fn plan(lookups: &[Lookup]) -> Result<Vec<Batch>, PlanError> {
    let mut ids: BTreeMap<Repository, Vec<Id>> = BTreeMap::new();
    let mut refused = Vec::new();
    for l in lookups {
        let repository = match Repository::of(&l.image) {
            None => continue,
            Some(Ok(repository)) => repository,
            Some(Err(region)) => {
                refused.push((l.clone(), region));
                continue;
            }
        };
        let entry = ids.entry(repository).or_default();
        entry.extend(l.digest.map(Id::Digest));
        entry.extend(l.tag.clone().map(Id::Tag));
    }
    if !refused.is_empty() {
        return Err(PlanError(refused));
    }
    let mut batches = Vec::new();
    for (repository, mut ids) in ids {
        ids.sort();
        ids.dedup();
        for chunk in ids.chunks(MAX_IDS) {
            batches.push(Batch {
                repository: repository.clone(),
                ids: chunk.to_vec(),
            });
        }
    }
    Ok(batches)
}

/// What ECR said about one image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The digest and the tag asked for are there (`None`: not asked for), with the manifest ECR
    /// returned for the digest (as ECR sent it: not yet hashed against the digest).
    Found {
        repository: Repository,
        digest: Option<Digest>,
        tag: Option<String>,
        manifest: Option<Manifest>,
    },
    /// Not looked up.
    Skipped(Skipped),
    /// The image is not there, or its tag moved: a failed check.
    Missing(Missing),
    /// The lookup itself failed.
    Error(LookupError),
}

/// An image manifest (or image index) as `BatchGetImage` returned it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// The `imageManifestMediaType` ECR named, if any.
    pub media_type: Option<String>,
    /// The exact bytes of `imageManifest`.
    pub bytes: Vec<u8>,
}

/// Why a manifest ECR returned proves nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unproven {
    /// Its bytes hash to this, not to the digest looked up.
    Hash(Digest),
    /// It is not JSON (the parser's words).
    Json(String),
}

impl Manifest {
    /// The manifest's JSON, once its bytes are proven to be `digest`'s: what the platform and
    /// findings checks read.
    pub fn document(&self, digest: Digest) -> Result<serde_json::Value, Unproven> {
        let actual = Digest::of(&self.bytes);
        if actual != digest {
            return Err(Unproven::Hash(actual));
        }
        crate::model::json::parse(&self.bytes).map_err(|e| Unproven::Json(e.to_string()))
    }
}

/// Why an image was not looked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skipped {
    /// Its host is not an ECR private registry.
    NotInEcr,
    /// It has neither digest nor tag.
    NothingToLookUp,
}

/// A failure ECR named for one image id: its failure code and reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdFailure {
    pub code: String,
    pub reason: String,
}

/// How an image is missing from ECR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Missing {
    /// The repository itself does not exist.
    Repository(Repository),
    /// The digest is not in the repository: ECR named the failure, or (`None`) did not return it.
    Digest {
        repository: Repository,
        digest: Digest,
        failure: Option<IdFailure>,
    },
    /// The tag points at `now`, not at the digest looked up (`expected`).
    TagMoved {
        repository: Repository,
        tag: String,
        now: Digest,
        expected: Digest,
    },
    /// The tag no longer exists.
    TagGone { repository: Repository, tag: String },
}

/// A lookup that could not be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupError {
    /// The `BatchGetImage` call failed.
    Call(Fault),
    /// ECR refused the digest for another reason than its absence.
    Digest {
        repository: Repository,
        digest: Digest,
        failure: IdFailure,
    },
    /// ECR refused the tag for another reason than its absence.
    Tag {
        repository: Repository,
        tag: String,
        failure: IdFailure,
    },
}

/// A `BatchGetImage` call that failed as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
enum CallFailed {
    /// `RepositoryNotFoundException`: the image is not there.
    NoRepository,
    Fault(Fault),
}

/// What ECR answered for one repository's ids.
#[derive(Default)]
struct Answers {
    /// Digests found, each with the manifest ECR returned for it.
    digests: BTreeMap<Digest, Option<Manifest>>,
    /// Tag -> the digest it points at.
    tags: BTreeMap<String, Digest>,
    /// id -> the failure ECR named.
    failures: BTreeMap<Id, IdFailure>,
    /// The call failed as a whole.
    error: Option<CallFailed>,
}

/// Looks every ECR image up and returns one outcome per lookup, in order.
pub fn check(aws: &Aws, lookups: &[Lookup]) -> anyhow::Result<Vec<Outcome>> {
    let batches = plan(lookups).map_err(anyhow::Error::msg)?;
    if !batches.is_empty() {
        aws.check_credentials()?;
    }
    let mut answers: BTreeMap<Repository, Answers> = BTreeMap::new();
    for batch in &batches {
        tracing::debug!(
            "ECR BatchGetImage: {} id(s) in {} (registry {}, region {})",
            batch.ids.len(),
            batch.repository.name,
            batch.repository.registry.account,
            batch.repository.registry.region
        );
        let answer = answers.entry(batch.repository.clone()).or_default();
        aws.block_on(call(aws, batch, answer));
    }
    Ok(lookups
        .iter()
        .map(|l| {
            outcome(
                l,
                Repository::of(&l.image)
                    .and_then(Result::ok)
                    .and_then(|r| answers.get(&r).map(|a| (r, a))),
            )
        })
        .collect())
}

async fn call(aws: &Aws, batch: &Batch, answer: &mut Answers) {
    let repo = &batch.repository;
    let client = aws.ecr(&repo.registry);
    let out = match send(&client, repo, &batch.ids).await {
        Ok(out) => out,
        Err(error) => {
            answer.error = Some(error);
            return;
        }
    };
    record(&out, answer);
    // ECR names the asked tag in each image's id; a server that names another tag of the image
    // instead (moto does) leaves the tag unresolved: ask for it alone, whose one image is it.
    let unresolved: Vec<Id> = batch
        .ids
        .iter()
        .filter(|id| match id {
            Id::Tag(t) => !answer.tags.contains_key(t) && !answer.failures.contains_key(id),
            Id::Digest(_) => false,
        })
        .cloned()
        .collect();
    for id in unresolved {
        let Id::Tag(tag) = &id else { continue };
        tracing::debug!("ECR BatchGetImage: tag {tag} of {} asked alone", repo.name);
        match send(&client, repo, std::slice::from_ref(&id)).await {
            Ok(out) => {
                if let Some(digest) = out
                    .images()
                    .iter()
                    .find_map(|i| i.image_id()?.image_digest()?.parse::<Digest>().ok())
                {
                    answer.tags.insert(tag.clone(), digest);
                }
                record(&out, answer);
            }
            Err(error) => {
                answer.error = Some(error);
                return;
            }
        }
    }
}

/// One `BatchGetImage` call.
async fn send(
    client: &aws_sdk_ecr::Client,
    repo: &Repository,
    ids: &[Id],
) -> Result<aws_sdk_ecr::operation::batch_get_image::BatchGetImageOutput, CallFailed> {
    let ids: Vec<ImageIdentifier> = ids
        .iter()
        .map(|id| match id {
            Id::Digest(d) => ImageIdentifier::builder()
                .image_digest(d.to_string())
                .build(),
            Id::Tag(t) => ImageIdentifier::builder().image_tag(t).build(),
        })
        .collect();
    let result = client
        .batch_get_image()
        .registry_id(&repo.registry.account)
        .repository_name(&repo.name)
        .set_image_ids(Some(ids))
        .set_accepted_media_types(Some(MEDIA_TYPES.map(str::to_owned).to_vec()))
        .send()
        .await;
    result.map_err(|err| {
        let missing_repo = err.as_service_error().is_some_and(
            aws_sdk_ecr::operation::batch_get_image::BatchGetImageError::is_repository_not_found_exception,
        );
        if missing_repo {
            return CallFailed::NoRepository;
        }
        let call = Call {
            service: "ECR",
            operation: "BatchGetImage",
            action: "ecr:BatchGetImage",
            resource: format!("repository {} in registry {}", repo.name, repo.registry.account),
            arn: repo.arn(),
            region: repo.registry.region.clone(),
            bucket: None,
        };
        CallFailed::Fault(Fault::of(&call, &err))
    })
}

/// Adds the images and failures of one answer.
fn record(
    out: &aws_sdk_ecr::operation::batch_get_image::BatchGetImageOutput,
    answer: &mut Answers,
) {
    for image in out.images() {
        let Some(id) = image.image_id() else { continue };
        let Some(digest) = id.image_digest().and_then(|d| d.parse::<Digest>().ok()) else {
            continue;
        };
        // Any tag an answer names is a tag of that image.
        if let Some(tag) = id.image_tag() {
            answer.tags.insert(tag.to_owned(), digest);
        }
        let manifest = image.image_manifest().map(|m| Manifest {
            media_type: image.image_manifest_media_type().map(str::to_owned),
            bytes: m.as_bytes().to_vec(),
        });
        let kept = answer.digests.entry(digest).or_default();
        if kept.is_none() {
            *kept = manifest;
        }
    }
    for failure in out.failures() {
        let Some(id) = failure.image_id() else {
            continue;
        };
        let key = match (
            id.image_digest().and_then(|d| d.parse::<Digest>().ok()),
            id.image_tag(),
        ) {
            (Some(d), _) => Id::Digest(d),
            (None, Some(t)) => Id::Tag(t.to_owned()),
            (None, None) => continue,
        };
        answer.failures.insert(
            key,
            IdFailure {
                code: failure
                    .failure_code()
                    .map_or_else(|| "unknown".to_owned(), |c| c.as_str().to_owned()),
                reason: failure.failure_reason().unwrap_or_default().to_owned(),
            },
        );
    }
}

/// Codes of a `BatchGetImage` failure that mean the image (or tag) is not there.
fn means_missing(code: &str) -> bool {
    matches!(code, "ImageNotFound" | "ImageTagDoesNotMatchDigest")
}

fn outcome(l: &Lookup, answer: Option<(Repository, &Answers)>) -> Outcome {
    let Some((repository, a)) = answer else {
        return Outcome::Skipped(if l.image.ecr().is_none() {
            Skipped::NotInEcr
        } else {
            Skipped::NothingToLookUp
        });
    };
    match &a.error {
        Some(CallFailed::NoRepository) => return Outcome::Missing(Missing::Repository(repository)),
        Some(CallFailed::Fault(fault)) => return Outcome::Error(LookupError::Call(fault.clone())),
        None => {}
    }
    if let Some(digest) = l.digest {
        if let Some(failure) = a.failures.get(&Id::Digest(digest)) {
            let failure = failure.clone();
            return if means_missing(&failure.code) {
                Outcome::Missing(Missing::Digest {
                    repository,
                    digest,
                    failure: Some(failure),
                })
            } else {
                Outcome::Error(LookupError::Digest {
                    repository,
                    digest,
                    failure,
                })
            };
        }
        if !a.digests.contains_key(&digest) {
            return Outcome::Missing(Missing::Digest {
                repository,
                digest,
                failure: None,
            });
        }
    }
    if let Some(tag) = &l.tag {
        let tag = tag.clone();
        match (a.tags.get(&tag), a.failures.get(&Id::Tag(tag.clone()))) {
            (Some(now), _) if Some(*now) == l.digest || l.digest.is_none() => {}
            (Some(now), _) => {
                return Outcome::Missing(Missing::TagMoved {
                    repository,
                    tag,
                    now: *now,
                    expected: l.digest.expect("a tag that moved moved from a digest"),
                });
            }
            (None, Some(failure)) if !means_missing(&failure.code) => {
                return Outcome::Error(LookupError::Tag {
                    repository,
                    tag,
                    failure: failure.clone(),
                });
            }
            (None, _) => return Outcome::Missing(Missing::TagGone { repository, tag }),
        }
    }
    Outcome::Found {
        repository,
        digest: l.digest,
        tag: l.tag.clone(),
        manifest: l.digest.and_then(|d| a.digests.get(&d).cloned().flatten()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(n: usize) -> Digest {
        format!("sha256:{n:064x}").parse().unwrap()
    }

    fn lookup(account: &str, region: &str, repo: &str, n: usize, tag: Option<&str>) -> Lookup {
        Lookup {
            subject: format!("image {n}"),
            image: format!(
                "{account}.dkr.ecr.{region}.amazonaws.com/{repo}@{}",
                digest(n)
            )
            .parse()
            .unwrap(),
            digest: Some(digest(n)),
            tag: tag.map(str::to_owned),
        }
    }

    #[test]
    fn one_call_per_repository_with_every_id_once() {
        let lookups = vec![
            lookup("111122223333", "eu-west-1", "shop/web", 1, None),
            lookup("111122223333", "eu-west-1", "shop/web", 1, Some("v1")),
            lookup("111122223333", "eu-west-1", "shop/api", 2, None),
            lookup("444455556666", "eu-west-1", "shop/web", 3, None),
            lookup("111122223333", "us-east-1", "shop/web", 4, None),
        ];
        let batches = plan(&lookups).unwrap();
        let keys: Vec<(String, String, String, usize)> = batches
            .iter()
            .map(|b| {
                (
                    b.repository.registry.account.clone(),
                    b.repository.registry.region.clone(),
                    b.repository.name.clone(),
                    b.ids.len(),
                )
            })
            .collect();
        assert_eq!(
            keys,
            [
                (
                    "111122223333".into(),
                    "eu-west-1".into(),
                    "shop/api".into(),
                    1
                ),
                (
                    "111122223333".into(),
                    "eu-west-1".into(),
                    "shop/web".into(),
                    2
                ),
                (
                    "111122223333".into(),
                    "us-east-1".into(),
                    "shop/web".into(),
                    1
                ),
                (
                    "444455556666".into(),
                    "eu-west-1".into(),
                    "shop/web".into(),
                    1
                ),
            ]
        );
        assert_eq!(
            batches[1].ids,
            [Id::Digest(digest(1)), Id::Tag("v1".into())]
        );
    }

    #[test]
    fn at_most_100_ids_per_call() {
        let lookups: Vec<Lookup> = (0..250)
            .map(|n| lookup("111122223333", "eu-west-1", "shop/web", n, None))
            .collect();
        let sizes: Vec<usize> = plan(&lookups)
            .unwrap()
            .iter()
            .map(|b| b.ids.len())
            .collect();
        assert_eq!(sizes, [100, 100, 50]);
        let exactly: Vec<Lookup> = lookups[..100].to_vec();
        assert_eq!(plan(&exactly).unwrap().len(), 1);
    }

    #[test]
    fn images_outside_ecr_need_no_call() {
        let mut other = lookup("111122223333", "eu-west-1", "shop/web", 1, None);
        other.image = "public.ecr.aws/xray/aws-xray-daemon:3.3.12"
            .parse()
            .unwrap();
        assert!(plan(&[other.clone()]).unwrap().is_empty());
        assert_eq!(outcome(&other, None), Outcome::Skipped(Skipped::NotInEcr));
        // An upper-case ECR host is ECR: looked up, not skipped.
        let mut upper = lookup("111122223333", "us-east-1", "shop/web", 1, None);
        upper.image = format!(
            "111122223333.DKR.ECR.US-EAST-1.AMAZONAWS.COM/shop/web@{}",
            digest(1)
        )
        .parse()
        .unwrap();
        let batches = plan(&[upper]).unwrap();
        assert_eq!(batches.len(), 1);
        assert_eq!(
            (
                batches[0].repository.registry.account.as_str(),
                batches[0].repository.registry.region.as_str()
            ),
            ("111122223333", "us-east-1")
        );
    }

    #[test]
    fn a_moved_tag_is_a_failed_check() {
        let l = lookup("111122223333", "eu-west-1", "shop/web", 1, Some("v1"));
        let repo = Repository::of(&l.image).unwrap().unwrap();
        let mut a = Answers::default();
        a.digests.insert(digest(1), None);
        a.tags.insert("v1".into(), digest(2));
        assert_eq!(
            outcome(&l, Some((repo.clone(), &a))),
            Outcome::Missing(Missing::TagMoved {
                repository: repo.clone(),
                tag: "v1".into(),
                now: digest(2),
                expected: digest(1),
            })
        );
        a.tags.insert("v1".into(), digest(1));
        assert_eq!(
            outcome(&l, Some((repo.clone(), &a))),
            Outcome::Found {
                repository: repo,
                digest: Some(digest(1)),
                tag: Some("v1".into()),
                manifest: None,
            }
        );
    }

    #[test]
    fn arns_follow_the_partition() {
        let repo = |region: &str| {
            let image: ImageRef = format!(
                "111122223333.dkr.ecr.{region}.amazonaws.com{}/shop/web:v1",
                if region.starts_with("cn-") { ".cn" } else { "" }
            )
            .parse()
            .unwrap();
            Repository::of(&image).unwrap().unwrap()
        };
        assert_eq!(
            repo("eu-west-1").arn(),
            "arn:aws:ecr:eu-west-1:111122223333:repository/shop/web"
        );
        assert!(repo("cn-north-1").arn().starts_with("arn:aws-cn:"));
        assert!(repo("us-gov-west-1").arn().starts_with("arn:aws-us-gov:"));
    }
}
