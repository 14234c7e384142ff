//! `emit`'s check stage, whole: the offline checks first (every service's task definition and
//! blue/green inputs); then, when they passed and `--ecr` was given, every image in ECR, its
//! platform and its findings, all named at once. Without `--ecr`, a platform or findings stated
//! anywhere is said to be not checked. Then which checks ran for each service, and under
//! `--strict` each one that could not run as a failure.

use std::time::Duration;

use super::coverage::{self, Coverage};
use super::platform::{self, Known};
use super::{Check, Report, blue_green, ecr, findings, task_definition};
use crate::aws::{self, registry};
use crate::model::mapping::Mapping;
use crate::model::names::ServiceName;
use crate::resolve::ResolvedService;

/// What the run asked of the checks.
#[derive(Clone, Copy, Debug)]
pub struct Asked<'a> {
    /// `--ecr`.
    pub ecr: bool,
    /// `--scan-wait`.
    pub scan_wait: Duration,
    /// `--registry-timeout`: the budget of all registry reads.
    pub registry_timeout: Duration,
    /// What asked for `--strict`'s failures (the option, or the mapping's key), if anything did.
    pub strict: Option<&'a str>,
}

/// What the stage found.
pub struct Checked {
    pub report: Report,
    /// Which checks ran, per service (in service order).
    pub coverage: Vec<Coverage>,
    /// The blue/green files to write.
    pub blue_green: blue_green::Files,
}

/// Runs every check `asked` calls for on `services`.
pub fn run(services: &mut [ResolvedService<'_>], plan: &Mapping, asked: &Asked<'_>) -> Checked {
    let mut report = Report::default();
    let blue_green = checks(services, plan, asked, &mut report);
    let coverage: Vec<Coverage> = services
        .iter()
        .map(|s| coverage::of(s, &report, asked.ecr))
        .collect();
    if let (true, Some(by)) = (report.is_clean(), asked.strict) {
        report.record(Check::Strict, |r| {
            coverage::strict(services, &coverage, by, r);
        });
    }
    report.log_events(&super::containers(services, plan), |seen| {
        let at = services.iter().position(|s| {
            s.service.name.as_ref().map(ServiceName::as_str) == seen.service.as_deref()
        })?;
        Some(coverage[at].to_string())
    });
    Checked {
        report,
        coverage,
        blue_green,
    }
}

/// The checks, recorded into `report`; returns the blue/green files to write.
fn checks(
    services: &mut [ResolvedService<'_>],
    plan: &Mapping,
    asked: &Asked<'_>,
    report: &mut Report,
) -> blue_green::Files {
    report.record(Check::TaskDefinition, |r| {
        task_definition::services(services, plan, aws::shared, r);
    });
    let files = report.record(Check::BlueGreen, |r| {
        blue_green::services(services, plan, r)
    });
    if !report.is_clean() {
        return files;
    }
    let images = super::containers(services, plan);
    let mut fetch = registry::config_blobs(asked.registry_timeout);
    if !asked.ecr {
        report.record(Check::Platform, |r| {
            platform::check(&images, &[], Known::new(), &mut fetch, (false, false), r);
        });
        findings::not_checked(&images);
        return files;
    }
    let running = super::running(services);
    let found = report.record(Check::Ecr, |r| {
        ecr::check(&images, &running, aws::shared, asked.strict, r)
    });
    if found.is_empty() {
        return files;
    }
    report.record(Check::Platform, |r| {
        platform::check(&images, &found, Known::new(), &mut fetch, (true, false), r);
    });
    report.record(Check::Findings, |r| {
        findings::check(&images, &found, aws::shared, asked.scan_wait, r);
    });
    files
}
