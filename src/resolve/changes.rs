//! What a deploy changes against an ECS service: per container, the image the task definition the
//! service runs now names, held against the one written, by repository identity
//! ([`RepositoryId`], whatever the host's spelling) and digest. Pure: the driver hands in the task
//! definition it looked up.

use serde::Serialize;

use super::ResolvedService;
use crate::model::identity::RepositoryId;
use crate::model::{Digest, ImageRef, TaskDefinition};

/// The task definition an ECS service runs now, which the written images are held against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Running {
    /// `ecs://CLUSTER/SERVICE`.
    pub service: String,
    /// The ARN of the task definition it runs.
    pub task_definition: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The same repository and digest.
    Unchanged,
    /// Another digest, or another repository.
    Changed,
    /// The digests cannot be compared ([`Unknown`] says why).
    Unknown,
}

/// Why a change is not known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unknown {
    /// The running image is a tag without a digest: which image it is depends on the registry.
    RunningTagOnly,
    /// The image written is a tag without a digest (a fixed image given by tag).
    WrittenTagOnly,
    /// The running image is not an image reference imagedef reads.
    NotAReference,
    /// The running task definition names no image for the container.
    NoImage,
}

impl Unknown {
    /// Why, in words.
    #[must_use]
    pub fn words(self) -> &'static str {
        match self {
            Unknown::RunningTagOnly => "the running image is a tag without a digest",
            Unknown::WrittenTagOnly => "the image written is a tag without a digest",
            Unknown::NotAReference => "the running image is not an image reference",
            Unknown::NoImage => "the running task definition names no image",
        }
    }
}

/// One container's image against the one its service runs now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    pub status: Status,
    /// The image the running task definition names, as it names it.
    pub running: Option<String>,
    /// Why the status is `unknown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Unknown>,
    /// The image written is in another repository than the running one.
    #[serde(skip)]
    pub other_repository: bool,
}

/// The image written (its reference and, when known, its digest) against `running`, the image the
/// running task definition names. Another repository is a change whatever the digests; in the same
/// repository, the digests decide, and a side without one makes the change unknown.
#[must_use]
pub fn compare(written: &ImageRef, digest: Option<Digest>, running: Option<&str>) -> Change {
    let change = |status, reason, other_repository| Change {
        status,
        running: running.map(str::to_owned),
        reason,
        other_repository,
    };
    let unknown = |why| change(Status::Unknown, Some(why), false);
    let Some(text) = running else {
        return unknown(Unknown::NoImage);
    };
    let Ok(now) = text.parse::<ImageRef>() else {
        return unknown(Unknown::NotAReference);
    };
    if RepositoryId::of(&now) != RepositoryId::of(written) {
        return change(Status::Changed, None, true);
    }
    match (now.digest(), digest) {
        (None, _) => unknown(Unknown::RunningTagOnly),
        (Some(_), None) => unknown(Unknown::WrittenTagOnly),
        (Some(now), Some(next)) if now == next => change(Status::Unchanged, None, false),
        (Some(_), Some(_)) => change(Status::Changed, None, false),
    }
}

/// Holds every container of `service` against `task`, the task definition its ECS service runs
/// now.
pub fn hold_against(service: &mut ResolvedService<'_>, task: &TaskDefinition, running: Running) {
    for c in &mut service.containers {
        c.change = Some(compare(&c.image_uri, c.digest, task.image(c.name.as_str())));
    }
    service.running = Some(running);
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEB: &str = "111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web";
    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn digest(d: &str) -> Digest {
        d.parse().unwrap()
    }
    /// `$W` is shop/web's plain host and repository, `$1`/`$2` two digests.
    fn expand(text: &str) -> String {
        text.replace("$W", WEB).replace("$1", D1).replace("$2", D2)
    }

    /// What [`compare`] says, in short: the status, `+repo` for another repository, the reason.
    fn said(written: &str, digest: Option<&str>, running: Option<&str>) -> String {
        let running = running.map(expand);
        let got = compare(
            &expand(written).parse().unwrap(),
            digest.map(|d| expand(d).parse().unwrap()),
            running.as_deref(),
        );
        assert_eq!(got.running, running, "the running image is kept as named");
        let mut short = serde_json::to_value(got.status)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned();
        if got.other_repository {
            short.push_str(" +repo");
        }
        if let Some(why) = got.reason {
            short.push(' ');
            short.push_str(serde_json::to_value(why).unwrap().as_str().unwrap());
        }
        short
    }

    /// (image written, its digest, the running image, what is said)
    #[test]
    fn comparison_table() {
        for (written, digest, running, want) in [
            ("$W@$1", Some("$1"), Some("$W@$1"), "unchanged"),
            // The tag beside the digest does not count, nor the host's spelling.
            ("$W:v2@$1", Some("$1"), Some("$W:v1@$1"), "unchanged"),
            (
                "$W@$1",
                Some("$1"),
                Some("111122223333.DKR.ECR-FIPS.us-east-1.amazonaws.com/shop/web@$1"),
                "unchanged",
            ),
            // --uri tag writes no digest, but the digest resolved is known.
            ("$W:v2", Some("$2"), Some("$W@$1"), "changed"),
            ("$W@$2", Some("$2"), Some("$W@$1"), "changed"),
            // Another repository is a change, even with the same digest, even without one.
            (
                "$W@$1",
                Some("$1"),
                Some("111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/api@$1"),
                "changed +repo",
            ),
            (
                "$W@$1",
                Some("$1"),
                Some("111122223333.dkr.ecr.us-west-2.amazonaws.com/shop/web@$1"),
                "changed +repo",
            ),
            ("$W@$1", Some("$1"), Some("nginx"), "changed +repo"),
            (
                "$W@$1",
                Some("$1"),
                Some("$W:v1"),
                "unknown running-tag-only",
            ),
            ("$W@$1", Some("$1"), Some("$W"), "unknown running-tag-only"),
            (
                "nginx:1.27",
                None,
                Some("docker.io/library/nginx:1.27"),
                "unknown running-tag-only",
            ),
            (
                "nginx:1.27",
                None,
                Some("nginx@$1"),
                "unknown written-tag-only",
            ),
            (
                "$W@$1",
                Some("$1"),
                Some("<IMAGE1_NAME>"),
                "unknown not-a-reference",
            ),
            ("$W@$1", Some("$1"), None, "unknown no-image"),
        ] {
            assert_eq!(
                said(written, digest, running),
                want,
                "{written} against {running:?}"
            );
        }
    }

    #[test]
    fn serialises_status_running_and_the_reason_of_an_unknown() {
        let changed = compare(
            &format!("{WEB}@{D2}").parse().unwrap(),
            Some(digest(D2)),
            Some(&format!("{WEB}@{D1}")),
        );
        assert_eq!(
            serde_json::to_value(&changed).unwrap(),
            serde_json::json!({"status": "changed", "running": format!("{WEB}@{D1}")})
        );
        let unknown = compare(
            &format!("{WEB}@{D2}").parse().unwrap(),
            Some(digest(D2)),
            Some(&format!("{WEB}:v1")),
        );
        assert_eq!(
            serde_json::to_value(&unknown).unwrap(),
            serde_json::json!({"status": "unknown", "running": format!("{WEB}:v1"), "reason": "running-tag-only"})
        );
    }
}
