//! `emit --ecr`: every container's image must be in ECR, and offer the platform its service
//! needs, or nothing is written. Missing images and platform mismatches fail the check (exit 1),
//! all named at once; a lookup or a manifest read that could not be made is an error (exit 2).

use anyhow::anyhow;

use crate::aws::{Aws, ecr};
use crate::error::CheckFailed;
use crate::model::ServiceName;
use crate::resolve::ResolvedService;
use crate::verify::platform::{self, FetchBlob, Known, Need, Verdict};

/// What `--ecr` found: every container's lookup with ECR's answer, in the order of the services'
/// containers, for the checks that read it; and what failed so far, to be named all at once.
pub struct Checked {
    pub found: Vec<(ecr::Lookup, ecr::Outcome)>,
    /// Lookups or reads that could not be made (exit 2).
    pub errors: Vec<String>,
    /// Checks that failed (exit 1).
    pub failures: Vec<String>,
}

impl Checked {
    /// Exit 2 naming every error (and failure), else exit 1 naming every failure; `Ok` when none.
    pub fn finish(mut self) -> anyhow::Result<()> {
        let nothing = "; nothing was written";
        if !self.errors.is_empty() {
            self.errors.extend(self.failures);
            anyhow::bail!("{}{nothing}", self.errors.join("\n"));
        }
        if !self.failures.is_empty() {
            return Err(CheckFailed(format!("{}{nothing}", self.failures.join("\n"))).into());
        }
        Ok(())
    }
}

/// Looks every container's image up and checks its platform against `needs` (one per service,
/// in order), recording what the check found on each container. What failed is returned with
/// what was found ([`Checked::finish`] says it).
pub fn require<'a>(
    services: &mut [ResolvedService<'_>],
    needs: &[Option<Need>],
    connect: impl FnOnce() -> anyhow::Result<&'a Aws>,
    fetch: &mut FetchBlob<'_>,
) -> anyhow::Result<Checked> {
    let lookups = lookups(services);
    let batches = ecr::plan(&lookups).map_err(|e| anyhow!("{e}; nothing was written"))?;
    if batches.is_empty() {
        tracing::warn!("{}", crate::verify::ecr::NONE_IN_ECR);
        not_checked(services, needs, true);
        let skipped = ecr::Outcome::Skipped(ecr::Skipped::NotInEcr);
        return Ok(Checked {
            found: lookups.into_iter().map(|l| (l, skipped.clone())).collect(),
            errors: Vec::new(),
            failures: Vec::new(),
        });
    }
    let outcomes = ecr::check(connect()?, &lookups)?;
    let mut missing = Vec::new();
    let mut failed = Vec::new();
    for (l, o) in lookups.iter().zip(&outcomes) {
        let said = crate::verify::ecr::words(l, o);
        match o {
            ecr::Outcome::Found { .. } => tracing::debug!("{}: {said}", l.subject),
            ecr::Outcome::Skipped(_) => tracing::debug!("{}: {}: {said}", l.subject, l.image),
            ecr::Outcome::Missing(_) => missing.push(format!("{}: {said}", l.subject)),
            ecr::Outcome::Error(_) => failed.push(format!("{}: {said}", l.subject)),
        }
    }
    let all: Vec<(ecr::Lookup, ecr::Outcome)> = lookups.into_iter().zip(outcomes).collect();
    let found: Vec<(ecr::Lookup, ecr::Outcome)> = all
        .iter()
        .zip(needs_per_container(services, needs))
        .filter(|(_, need)| need.is_some())
        .map(|(found, _)| found.clone())
        .collect();
    let mut known = Known::new();
    let unread = platform::read_found(&found, fetch, &mut known);
    failed.extend(
        unread
            .iter()
            .map(|(subject, why)| format!("{subject}: {why}")),
    );
    missing.extend(judge(services, needs, &known));
    Ok(Checked {
        found: all,
        errors: failed,
        failures: missing,
    })
}

/// Without `--ecr` (or with no image in ECR) nothing is read: each needed platform is recorded
/// as not checked, and a platform the mapping or `--platform` asked for is said so.
pub fn not_checked(services: &mut [ResolvedService<'_>], needs: &[Option<Need>], ecr: bool) {
    for (s, need) in services.iter_mut().zip(needs) {
        let Some(need) = need else { continue };
        let name = s.service.name.as_ref();
        for c in &mut s.containers {
            let why = platform::unknown_why(&c.image_uri, c.digest, ecr, false);
            let verdict = Verdict::NotChecked(why.to_owned());
            if need.stated {
                tracing::warn!(
                    "{}: platform {} ({}) not checked: {why}",
                    subject(name, c),
                    need.platform,
                    need.from
                );
            } else {
                tracing::debug!(
                    "{}: platform {} ({}) not checked: {why}",
                    subject(name, c),
                    need.platform,
                    need.from
                );
            }
            c.platform = Some(platform::checked(need, &verdict));
        }
    }
}

/// Each container's image against its service's need; the mismatches, worded.
fn judge(
    services: &mut [ResolvedService<'_>],
    needs: &[Option<Need>],
    known: &Known,
) -> Vec<String> {
    let mut mismatches = Vec::new();
    for (s, need) in services.iter_mut().zip(needs) {
        let Some(need) = need else { continue };
        let name = s.service.name.as_ref();
        for c in &mut s.containers {
            let why = platform::unknown_why(&c.image_uri, c.digest, true, false);
            let verdict = platform::judge(c.digest, need, known, why);
            let at = subject(name, c);
            match &verdict {
                Verdict::Runs(offers) => {
                    tracing::debug!("{at}: {}", platform::runs(offers, need));
                }
                Verdict::Mismatch(offers) => mismatches.push(format!(
                    "{at}: {}",
                    platform::mismatch(&c.image_uri, offers, need)
                )),
                Verdict::NotChecked(why) => tracing::info!(
                    "{at}: platform {} ({}) not checked for {}: {why}",
                    need.platform,
                    need.from,
                    c.image_uri
                ),
            }
            c.platform = Some(platform::checked(need, &verdict));
        }
    }
    mismatches
}

/// The need of each container's service, in the order of [`lookups`].
fn needs_per_container<'n>(
    services: &[ResolvedService<'_>],
    needs: &'n [Option<Need>],
) -> Vec<Option<&'n Need>> {
    services
        .iter()
        .zip(needs)
        .flat_map(|(s, need)| s.containers.iter().map(move |_| need.as_ref()))
        .collect()
}

/// How messages name a container: its service and name, or in single-image mode the files its
/// image came from.
fn subject(service: Option<&ServiceName>, c: &crate::resolve::ResolvedContainer<'_>) -> String {
    match service {
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
    }
}

/// What `--ecr` looks up: every container's reference, digest and tag.
fn lookups(services: &[ResolvedService<'_>]) -> Vec<ecr::Lookup> {
    services
        .iter()
        .flat_map(|s| {
            s.containers.iter().map(|c| {
                ecr::Lookup::of(subject(s.service.name.as_ref(), c), &c.image_uri, c.digest)
            })
        })
        .collect()
}
