//! Checks that prove what will be deployed. Each check records what it finds under its [`Check`]
//! in one [`Report`] and never stops at the first problem; the `verify` command prints the report
//! ([`report`]) and exits by its worst finding.
//!
//! - here: each discovered imageDetail.json's fields agree;
//! - [`pins`]: `--expect`, the digests a repository (or a service's container) must carry;
//! - [`oci`]: `--oci` layouts and `--manifest` files, whose blobs are re-hashed to prove digests;
//! - [`bundle`]: `--bundle` zips, their entries, shapes and `SHA256SUMS`;
//! - [`zip_view`]: a zip as `java.util.zip.ZipInputStream` reads it, against its central directory;
//! - [`blue_green`]: `--task-definition-template` / `--app-spec`, and the same pair in a bundle;
//! - [`ecr`]: `--ecr`, every ECR image looked up live;
//! - [`platform`]: every image offers the platform its task needs (`--platform`, task definitions);
//! - [`findings`]: `--findings` with `--ecr`, each image's scan findings against thresholds;
//! - [`held`]: what each bundle's content was held against, on its ok line;
//! - [`report`]: the results by check, as text, JSON and JUnit XML.

pub mod blue_green;
pub mod bundle;
pub mod ecr;
pub mod findings;
pub mod held;
pub mod oci;
pub mod pins;
pub mod platform;
pub mod report;
pub mod zip_view;

use crate::discover::Discovery;
use crate::model::identity::RepositoryId;
use crate::model::{Digest, ImageRef};

pub use report::{Check, Finding, Recorder, Report, Severity};

/// An image to hold against pins and proofs: from a discovered file or from inside a bundle.
#[derive(Clone, Debug)]
pub struct Seen {
    /// How messages name where the image was seen.
    pub subject: String,
    pub image: ImageRef,
    /// The image's digest: pinned in its URI, or declared beside it (`ImageDigest`).
    pub digest: Option<Digest>,
    /// For images inside a bundle: the bundle's service (its file stem) and container name.
    pub service: Option<String>,
    pub container: Option<String>,
}

/// Checks every discovered file: unreadable paths are errors; malformed files are warnings, or
/// errors when `strict`; files whose fields disagree fail. Returns the images of the files that
/// parsed, for pins and proofs.
pub fn check_discovered(found: &Discovery, strict: bool, report: &mut Recorder) -> Vec<Seen> {
    let mut seen = Vec::new();
    for c in &found.candidates {
        let subject = format!("{} ({})", c.label(), c.path.display());
        match &c.detail {
            Err(e) if strict => report.error(subject, e.to_string()),
            Err(e) => tracing::warn!("{subject}: not used: {e} (--strict makes this an error)"),
            Ok(d) => {
                let problems = d.inconsistencies();
                if problems.is_empty() {
                    report.image(subject.clone(), d.image_uri.to_string());
                } else {
                    for message in problems {
                        report.fail(subject.clone(), message);
                    }
                }
                seen.push(Seen {
                    subject,
                    image: d.image_uri.clone(),
                    digest: d.digest(),
                    service: None,
                    container: None,
                });
            }
        }
    }
    for s in found.skipped.iter().filter(|s| s.unreadable) {
        report.error(s.path.display().to_string(), s.reason.clone());
    }
    seen
}

/// Inside a build, a bundle must deploy what the build discovered: every image in a bundle whose
/// repository (with its registry, by its [`RepositoryId`], whatever the host's spelling) was
/// discovered must carry a digest discovered for it.
pub fn bundles_deploy_discovered(discovered: &[Seen], bundled: &[Seen], report: &mut Recorder) {
    let mut digests: std::collections::BTreeMap<RepositoryId, Vec<(Digest, &str)>> =
        std::collections::BTreeMap::new();
    for seen in discovered {
        if let Some(d) = seen.digest {
            digests
                .entry(RepositoryId::of(&seen.image))
                .or_default()
                .push((d, &seen.subject));
        }
    }
    for seen in bundled {
        let Some(found) = digests.get(&RepositoryId::of(&seen.image)) else {
            continue;
        };
        let list = found
            .iter()
            .map(|(d, from)| format!("{d} ({from})"))
            .collect::<Vec<_>>()
            .join(", ");
        match seen.digest {
            Some(d) if found.iter().any(|(f, _)| *f == d) => report.ok(
                seen.subject.clone(),
                format!("deploys {d}, the digest this build discovered for {}", seen.image.name()),
            ),
            Some(d) => report.fail(
                seen.subject.clone(),
                format!(
                    "deploys {} with digest {d}, but this build discovered {list}; the bundle is stale or was edited: write it again with imagedef emit --bundle",
                    seen.image.name()
                ),
            ),
            None => report.fail(
                seen.subject.clone(),
                format!(
                    "deploys {} without a digest, but this build discovered {list}; write the bundle with a digest-pinned imageUri (imagedef emit --uri digest or tag+digest)",
                    seen.image
                ),
            ),
        }
    }
}
