//! `verify --ecr`: every image seen (discovered files, bundle contents) looked up in ECR where it
//! lives. A missing digest, or a bundle's tag that moved, fails; a lookup that could not be made is
//! an error.

use super::{Recorder, Seen};
use crate::aws::Aws;
use crate::aws::ecr::{self, Lookup, NONE_IN_ECR, Outcome};

/// Looks `images` up through the client `connect` gives, called only when an image is in ECR.
pub fn check<'a>(
    images: &[Seen],
    connect: impl FnOnce() -> anyhow::Result<&'a Aws>,
    report: &mut Recorder,
) {
    let lookups: Vec<Lookup> = images
        .iter()
        .map(|s| Lookup::of(s.subject.clone(), &s.image, s.digest))
        .collect();
    match ecr::plan(&lookups) {
        Err(refused) => return report.error("--ecr", refused),
        Ok(batches) if batches.is_empty() => {
            tracing::warn!("{NONE_IN_ECR}");
            return;
        }
        Ok(_) => {}
    }
    let outcomes = connect().and_then(|aws| ecr::check(aws, &lookups));
    match outcomes {
        Err(e) => report.error("--ecr", format!("{e:#}")),
        Ok(outcomes) => {
            for (l, o) in lookups.iter().zip(outcomes) {
                match o {
                    Outcome::Found { detail } => report.ok(l.subject.clone(), detail),
                    Outcome::Skipped { why } => {
                        tracing::debug!("{}: {}: {why}", l.subject, l.image);
                    }
                    Outcome::Missing { message } => report.fail(l.subject.clone(), message),
                    Outcome::Error { message } => report.error(l.subject.clone(), message),
                }
            }
        }
    }
}
