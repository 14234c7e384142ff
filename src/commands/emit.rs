//! `imagedef emit`: one plan for both modes. Single-image mode is a mapping with one implicit
//! service whose one container takes the only image found.
//!
//! config -> discover (the roots the mapping needs) -> resolve -> check (task definitions and
//! blue/green inputs; with `--ecr`, ECR, platforms and findings) -> output (OUT's layout, written
//! or shown, the summary). A failed check writes nothing: the run ends naming every finding.

use super::Listed;
use crate::aws;
use crate::check::{Check, Report, ecr, stage};
use crate::config::{EmitConfig, EmitMode};
use crate::discover;
use crate::error::ExitCode;
use crate::model::Given;
use crate::model::mapping::Mapping;
use crate::output::{self, Delivery, junit};
use crate::resolve;

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
    resolve::note_resolved_tags(&mut services, &pinned);
    // What asked for --strict's failures, if anything did.
    let strict = if config.strict {
        Some("--strict".to_owned())
    } else {
        plan.strict.then(|| plan.key(None, "strict"))
    };
    let asked = stage::Asked {
        ecr: config.ecr,
        scan_wait: config.scan_wait,
        registry_timeout: config.registry_timeout,
        strict: strict.as_deref(),
    };
    let stage::Checked {
        report,
        coverage,
        blue_green,
    } = stage::run(&mut services, &plan, &asked);
    if config.junit.is_some() {
        let cases =
            junit::Cases::of_services(&services, &coverage, &report, &config.out, strict.is_some());
        *checked = Some((cases, report.is_clean()));
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
