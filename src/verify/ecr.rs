//! `verify --ecr`: every image seen (discovered files, bundle contents) looked up in ECR where it
//! lives. A missing digest, or a bundle's tag that moved, fails; a lookup that could not be made is
//! an error.

use super::{Recorder, Seen};
use crate::aws::ecr::{self, Lookup, Outcome};

pub fn check(images: &[Seen], report: &mut Recorder) {
    let lookups: Vec<Lookup> = images
        .iter()
        .map(|s| Lookup {
            subject: s.subject.clone(),
            image: s.image.clone(),
            digest: s.digest,
            tag: s.image.tag().map(str::to_owned),
        })
        .collect();
    if ecr::plan(&lookups).is_empty() {
        tracing::warn!(
            "--ecr: no image is in an Amazon ECR private registry (ACCOUNT.dkr.ecr.REGION.amazonaws.com), so nothing was looked up"
        );
        return;
    }
    let outcomes = crate::aws::shared().and_then(|aws| ecr::check(aws, &lookups));
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
