//! Each discovered imageDetail.json's fields agree with themselves: its digest grammar, the
//! `ImageURI` digest against `ImageDigest`, the registry host against `RegistryId` and
//! `RepositoryName`. Unreadable paths are errors; malformed files are warnings, or errors when
//! strict; an image with a tag and no digest is a warning, or a failure when strict.

use super::{Recorder, Seen};
use crate::discover::Discovery;

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
                let unpinned = format!(
                    "ImageURI {} carries a tag and no digest (no @sha256: and no ImageDigest), so ECS resolves the tag when it deploys and what deploys is not proven to be what was checked; use the ECR source action's imageDetail.json, which pins the digest",
                    d.image_uri
                );
                if d.digest().is_none() && strict {
                    report.fail(subject.clone(), unpinned);
                } else if problems.is_empty() {
                    if d.digest().is_none() {
                        tracing::warn!("{subject}: {unpinned} (--strict makes this a failure)");
                    }
                    report.image(subject.clone(), d.image_uri.to_string());
                } else {
                    for message in problems {
                        report.fail(subject.clone(), message);
                    }
                }
                seen.push(Seen::new(
                    subject,
                    d.image_uri.clone(),
                    d.digest(),
                    (None, None),
                ));
            }
        }
    }
    for s in found.skipped.iter().filter(|s| s.unreadable) {
        report.error(s.path.display().to_string(), s.reason.clone());
    }
    seen
}
