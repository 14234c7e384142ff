//! `imagedef emit`: one plan for both modes. Single-image mode is a mapping with one implicit
//! service whose one container takes the only image found.
//!
//! config -> discover (the roots the mapping needs) -> resolve -> check (task definitions and
//! blue/green inputs; with `--ecr`, ECR, platforms and findings) -> output (OUT's layout, written
//! or shown, the summary). A failed check writes nothing: the run ends naming every finding.

use super::Listed;
use crate::aws::{self, registry};
use crate::check::coverage::{self, Coverage};
use crate::check::platform::{self, Known};
use crate::check::{self, Check, Report, blue_green, ecr, findings, task_definition};
use crate::config::{EmitConfig, EmitMode};
use crate::discover;
use crate::error::ExitCode;
use crate::model::Given;
use crate::model::mapping::Mapping;
use crate::model::names::ServiceName;
use crate::output::{self, Delivery, junit};
use crate::resolve::{self, ResolvedService};

pub fn run(config: &EmitConfig) -> anyhow::Result<ExitCode> {
    let mut checked = None;
    let result = emit(config, &mut checked);
    let Some(path) = &config.junit else {
        return result;
    };
    let ended = result.as_ref().err().map(|e| format!("{e:#}"));
    let xml = match checked {
        // The check stage's failures are its cases already.
        Some((cases, passed)) => cases.xml(ended.as_deref().filter(|_| passed)),
        None => junit::ended_before_checks(ended.as_deref().unwrap_or("ended before its checks")),
    };
    match (super::write_junit(path, &xml), result) {
        (Err(e), Ok(_)) => Err(e),
        (Err(e), Err(ended)) => {
            tracing::error!("{e:#}");
            Err(ended)
        }
        (Ok(()), result) => result,
    }
}

/// The plan; `checked` receives the JUnit cases once the check stage ran, and whether it passed.
fn emit(
    config: &EmitConfig,
    checked: &mut Option<(junit::Cases, bool)>,
) -> anyhow::Result<ExitCode> {
    let plan = match &config.mode {
        EmitMode::Single {
            container,
            task_definition,
            ..
        } => Mapping::single(container.clone(), task_definition.clone()),
        EmitMode::Mapping { path } => Mapping::load(path)?,
    };
    let roots = discover::roots_needed(&plan, &config.discover.roots);
    let mut found = discover::discover(&roots, &config.discover.file_name, Some(&config.out));
    if let Err(e) = super::refuse_unreadable(&found) {
        super::warn_unusable(&found, Listed::Unreadable);
        return Err(e);
    }
    let pinned = if config.resolve_tags {
        let mut report = Report::default();
        let pinned = report.record(Check::Ecr, |r| ecr::tag_digests(&found, aws::shared, r));
        report.conclude("nothing was written")?;
        found.pin(&pinned);
        pinned
    } else {
        Vec::new()
    };
    let mut services = match resolve::resolve(&plan, &found, &config.rules) {
        Ok(services) => {
            super::warn_unusable(&found, Listed::Nothing);
            services
        }
        Err(f) => {
            if !super::explain::lists_discovery(&f, config) {
                super::warn_unusable(&found, Listed::Nothing);
            }
            return Err(super::explain::failure(&f, config, &found));
        }
    };
    for c in services.iter_mut().flat_map(|s| s.containers.iter_mut()) {
        c.resolved_tag = pinned
            .iter()
            .find(|(image, digest)| Some(*digest) == c.digest && image.name() == c.image_uri.name())
            .and_then(|(image, _)| image.tag().map(str::to_owned));
    }
    // What asked for --strict's failures, if anything did.
    let strict = if config.strict {
        Some("--strict".to_owned())
    } else {
        plan.strict.then(|| plan.key(None, "strict"))
    };
    let mut report = Report::default();
    let blue_green = check(&mut services, &plan, config, strict.as_deref(), &mut report);
    let coverage: Vec<Coverage> = services
        .iter()
        .map(|s| coverage::of(s, &report, config.ecr))
        .collect();
    if let (true, Some(by)) = (report.is_clean(), &strict) {
        report.record(Check::Strict, |r| {
            coverage::strict(&services, &coverage, by, r);
        });
    }
    let images = check::containers(&services, &plan);
    report.log_events(&images, |seen| {
        let at = services.iter().position(|s| {
            s.service.name.as_ref().map(ServiceName::as_str) == seen.service.as_deref()
        })?;
        Some(coverage[at].to_string())
    });
    if config.junit.is_some() {
        *checked = Some((
            junit_cases(&services, &coverage, &report, config, strict.is_some()),
            report.is_clean(),
        ));
    }
    report.conclude("nothing was written")?;
    let checked = output::Checked {
        report: &report,
        coverage: &coverage,
    };
    let files = output::lay_out(&services, &plan, config.bundle, &blue_green, &checked)?;
    let note = match &config.mode {
        EmitMode::Single {
            container_given: Given::Env(var),
            ..
        } => Some(format!("; container name from ${var}")),
        _ => None,
    };
    output::deliver(
        &Delivery {
            out: &config.out,
            mapping_mode: plan.path.is_some(),
            dry_run: config.dry_run,
            contents: config.verbose,
            summary: config.summary,
            codebuild_src_dir: config.codebuild_src_dir.as_deref(),
            note: note.as_deref(),
            lock_timeout: config.lock_timeout,
        },
        &files,
        &services,
        &checked,
    )?;
    Ok(report.code())
}

/// The check stage: the offline checks first (every service's task definition and blue/green
/// inputs); then, when they passed and `--ecr` was given, every image in ECR, its platform and its
/// findings, all named at once. Without `--ecr`, a platform or findings stated anywhere is said to
/// be not checked. Returns the blue/green files to write.
fn check(
    services: &mut [ResolvedService<'_>],
    plan: &Mapping,
    config: &EmitConfig,
    strict: Option<&str>,
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
    let images = check::containers(services, plan);
    let mut fetch = registry::config_blobs(config.registry_timeout);
    if !config.ecr {
        report.record(Check::Platform, |r| {
            platform::check(&images, &[], Known::new(), &mut fetch, (false, false), r);
        });
        findings::not_checked(&images);
        return files;
    }
    let running = check::running(services);
    let found = report.record(Check::Ecr, |r| {
        ecr::check(&images, &running, aws::shared, strict, r)
    });
    if found.is_empty() {
        return files;
    }
    report.record(Check::Platform, |r| {
        platform::check(&images, &found, Known::new(), &mut fetch, (true, false), r);
    });
    report.record(Check::Findings, |r| {
        findings::check(&images, &found, aws::shared, config.scan_wait, r);
    });
    files
}

/// `--junit`'s cases of the checks of `services`.
fn junit_cases(
    services: &[ResolvedService<'_>],
    coverage: &[Coverage],
    report: &Report,
    config: &EmitConfig,
    strict: bool,
) -> junit::Cases {
    let named: Vec<junit::Service<'_>> = services
        .iter()
        .zip(coverage)
        .map(|(s, coverage)| junit::Service {
            name: s.service.name.as_ref().map(ServiceName::as_str),
            coverage,
        })
        .collect();
    let paths = check::report::junit::Paths::here();
    junit::Cases::of(&named, report, &config.out, strict, &paths)
}
