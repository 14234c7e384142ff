//! Checks that prove what will be deployed. Each check adds to one [`Report`] and never stops at
//! the first problem; the `verify` command prints the report and exits by its worst finding.
//!
//! - here: each discovered imageDetail.json's fields agree;
//! - [`pins`]: `--expect`, the digests a repository (or a service's container) must carry;
//! - [`oci`]: `--oci` layouts and `--manifest` files, whose blobs are re-hashed to prove digests;
//! - [`bundle`]: `--bundle` zips, their entries, shapes and `SHA256SUMS`;
//! - [`ecr`]: `--ecr`, every ECR image looked up live.

pub mod bundle;
pub mod ecr;
pub mod oci;
pub mod pins;

use serde::Serialize;

use crate::discover::Discovery;
use crate::model::{Digest, ImageRef};

/// How bad a finding is; it decides the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A check failed on inputs that were read (exit 1).
    Failed,
    /// Unreadable or malformed input (exit 2).
    Error,
}

/// One problem, with the file it is about.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// The file (or `artifact:path`) the finding is about.
    pub subject: String,
    pub message: String,
}

/// One discovered image whose file passed its checks.
#[derive(Clone, Debug, Serialize)]
pub struct Passed {
    pub subject: String,
    pub image_uri: String,
}

/// One other check that passed: a pin, a layout, a manifest, a bundle.
#[derive(Clone, Debug, Serialize)]
pub struct Checked {
    pub subject: String,
    pub detail: String,
}

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

/// Everything the checks found, passed and failed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub passed: Vec<Passed>,
    pub checked: Vec<Checked>,
    pub findings: Vec<Finding>,
}

impl Report {
    /// Records a check that failed on inputs that were read (exit 1).
    pub fn fail(&mut self, subject: impl Into<String>, message: impl Into<String>) {
        self.findings.push(Finding {
            severity: Severity::Failed,
            subject: subject.into(),
            message: message.into(),
        });
    }

    /// Records unreadable or malformed input (exit 2).
    pub fn error(&mut self, subject: impl Into<String>, message: impl Into<String>) {
        self.findings.push(Finding {
            severity: Severity::Error,
            subject: subject.into(),
            message: message.into(),
        });
    }

    /// Records a check that passed.
    pub fn ok(&mut self, subject: impl Into<String>, detail: impl Into<String>) {
        self.checked.push(Checked {
            subject: subject.into(),
            detail: detail.into(),
        });
    }

    /// The worst severity found, if any.
    #[must_use]
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// Checks every discovered file: malformed files and unreadable paths are errors; files whose
/// fields disagree fail. Returns the images of the files that parsed, for pins and proofs.
pub fn discovered(found: &Discovery, report: &mut Report) -> Vec<Seen> {
    let mut seen = Vec::new();
    for c in &found.candidates {
        let subject = format!("{} ({})", c.label(), c.path.display());
        match &c.detail {
            Err(e) => report.error(subject, e.to_string()),
            Ok(d) => {
                let problems = d.inconsistencies();
                if problems.is_empty() {
                    report.passed.push(Passed {
                        subject: subject.clone(),
                        image_uri: d.image_uri.to_string(),
                    });
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
