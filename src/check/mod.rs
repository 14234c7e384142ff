//! The check stage: what `emit`, `verify` and `deploy` prove before anything is written or
//! deployed. Each check records what it finds under its [`Check`] in one [`Report`] and never
//! stops at the first problem; the command decides its exit code once, from the report's worst
//! finding.
//!
//! - [`image_detail`]: each discovered imageDetail.json's fields agree;
//! - [`task_definition`]: the task definition a service deploys into (a file, or the one an ECS
//!   service runs now), and the containers it must have;
//! - [`pins`]: `--expect`, the digests a repository (or a service's container) must carry;
//! - [`oci`]: `--oci` layouts and `--manifest` files, whose blobs are re-hashed to prove digests;
//! - [`bundle`]: `--bundle` zips, their entries, shapes and `SHA256SUMS`, and what they deploy
//!   against what the build discovered;
//! - [`zip_view`]: a zip as `java.util.zip.ZipInputStream` reads it, against its central directory;
//! - [`blue_green`]: the task definition template and `AppSpec` of a blue/green deployment;
//! - [`ecr`]: `--ecr`, every ECR image looked up live;
//! - [`platform`]: every image offers the platform its task needs;
//! - [`findings`]: findings thresholds with `--ecr`, each image's scan findings;
//! - [`held`]: what each bundle's content was held against, on its ok line;
//! - [`coverage`]: which checks ran for each service, and `--strict`;
//! - [`buildspec`]: `--buildspec` with `--mapping`, the artifacts that hand each service its files;
//! - [`report`]: the results by check, as text, JSON and JUnit XML.

pub mod blue_green;
pub mod buildspec;
pub mod bundle;
pub mod coverage;
pub mod ecr;
pub mod findings;
pub mod held;
pub mod image_detail;
pub mod oci;
pub mod pins;
pub mod platform;
pub mod report;
pub mod stage;
pub mod task_definition;
pub mod zip_view;

use crate::model::mapping::Mapping;
use crate::model::platform::Needed;
use crate::model::{Digest, ImageRef};
use crate::resolve::ResolvedService;

pub use report::{Check, ContainerResults, Recorder, Report};

/// An image to hold against pins and proofs: from a discovered file or from inside a bundle.
#[derive(Clone, Debug)]
pub struct Seen {
    /// How messages name where the image was seen.
    pub subject: String,
    pub image: ImageRef,
    /// The image's digest: pinned in its URI, or declared beside it (`ImageDigest`).
    pub digest: Option<Digest>,
    /// For a container written by `emit`, or inside a bundle: its service (the bundle's file
    /// stem; none in single-image mode) and container name.
    pub service: Option<String>,
    pub container: Option<String>,
    /// What its task needs of it, beyond existing.
    pub needs: Needs,
}

impl Seen {
    /// An image seen in `subject`, with nothing asked of it yet.
    #[must_use]
    pub fn new(
        subject: String,
        image: ImageRef,
        digest: Option<Digest>,
        (service, container): (Option<String>, Option<String>),
    ) -> Seen {
        Seen {
            subject,
            image,
            digest,
            service,
            container,
            needs: Needs::default(),
        }
    }
}

/// What an image must meet beyond existing: the platform its task needs and the scan findings
/// tolerated, each with where it was said.
#[derive(Clone, Debug, Default)]
pub struct Needs {
    pub platform: Option<platform::Need>,
    pub findings: Option<findings::Gate>,
}

/// The containers of the resolved services as images to check, each with what its service needs
/// of it (the platform, the findings tolerated) and where that was said. How messages name a
/// container: its service and name, or in single-image mode the files its image came from.
#[must_use]
pub fn containers(services: &[ResolvedService<'_>], mapping: &Mapping) -> Vec<Seen> {
    let mut images = Vec::new();
    for s in services {
        let name = s.service.name.as_ref();
        let platform = s.platform();
        if let (None, Some(task)) = (&platform, &s.task)
            && let Needed::Unknown(why) = &task.definition.platform
        {
            tracing::debug!(
                "{}: the platform is not checked: {why}",
                mapping.key(name, "taskDefinition")
            );
        }
        let needs = Needs {
            platform: platform
                .map(|rule| platform::Need::of(&rule, mapping.origin(&rule.from, "platform"))),
            findings: s.rules.findings.as_ref().map(|rule| findings::Gate {
                thresholds: rule.value.clone(),
                from: mapping.origin(&rule.from, "findings"),
            }),
        };
        for c in &s.containers {
            let subject = match name {
                Some(name) => format!(
                    "service {:?}, container {:?}",
                    name.as_str(),
                    c.name.as_str()
                ),
                None => c
                    .sources
                    .iter()
                    .map(|f| format!("{}:{}", f.artifact, f.path))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            images.push(Seen {
                needs: needs.clone(),
                ..Seen::new(
                    subject,
                    c.image_uri.clone(),
                    c.digest,
                    (name.map(ToString::to_string), Some(c.name.to_string())),
                )
            });
        }
    }
    images
}

/// The images the ECS services run now (`ecs://`): every container of each running task
/// definition, written or not (a rollback or a scale-out of that revision pulls them all).
#[must_use]
pub fn running(services: &[ResolvedService<'_>]) -> Vec<ecr::Running> {
    let mut images = Vec::new();
    for s in services {
        let (Some(running), Some(task)) = (&s.running, &s.task) else {
            continue;
        };
        for (container, image) in &task.definition.images {
            let Ok(image) = image.parse::<ImageRef>() else {
                continue;
            };
            let subject = match &s.service.name {
                Some(name) => format!("service {:?}, container {container:?}", name.as_str()),
                None => format!("container {container:?}"),
            };
            images.push(ecr::Running {
                subject,
                service: running.service.clone(),
                image,
            });
        }
    }
    images
}
