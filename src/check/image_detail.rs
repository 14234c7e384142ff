//! Each discovered imageDetail.json's fields agree with themselves: its digest grammar, the
//! `ImageURI` digest against `ImageDigest`, the registry host against `RegistryId` and
//! `RepositoryName`. Unreadable paths are errors; malformed files are warnings, or errors when
//! strict.

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
                if problems.is_empty() {
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
