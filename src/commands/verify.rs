//! `imagedef verify`: run every check, report every finding, then exit by the worst.

use crate::aws::{self, registry};
use crate::check::ecr::Running;
use crate::check::findings::Gate;
use crate::check::platform::{self, Need};
use crate::check::{self, Check, Needs, Recorder, Report, oci, pins, task_definition};
use crate::config::VerifyConfig;
use crate::discover;
use crate::error::ExitCode;
use crate::model::TaskDefinitionSource;
use crate::model::blue_green::Which;
use crate::model::platform::Needed;

pub fn run(config: &VerifyConfig) -> anyhow::Result<ExitCode> {
    let found = if config.artifacts_only() {
        discover::Discovery::default()
    } else {
        discover::discover(&config.discover.roots, &config.discover.file_name, None)
    };
    for s in found.skipped.iter().filter(|s| !s.unreadable) {
        tracing::warn!("{}: skipped: {}", s.path.display(), s.reason);
    }
    let mut report = Report::default();
    let mut images = report.record(Check::ImageDetail, |r| {
        check::image_detail::check_discovered(&found, config.strict, r)
    });
    let bundles = report.record(Check::Bundle, |r| {
        config
            .bundles
            .iter()
            .map(|zip| check::bundle::check_bundle(zip, &config.image_placeholder, r))
            .collect::<Vec<_>>()
    });
    let in_bundles: Vec<_> = bundles.iter().flat_map(|b| b.images.clone()).collect();
    report.record(Check::BundleDeploysDiscovered, |r| {
        check::bundle::deploys_discovered(&images, &in_bundles, r);
    });
    images.extend(in_bundles);
    if let Some(inputs) = &config.blue_green {
        report.record(Check::BlueGreen, |r| {
            let subject = |which| match which {
                Which::Template => inputs.template.display().to_string(),
                Which::AppSpec => inputs.app_spec.display().to_string(),
            };
            check::blue_green::files(inputs, None, subject, false, r);
        });
    }
    if let Some(inputs) = &config.buildspec {
        report.record(Check::Buildspec, |r| check::buildspec::check(inputs, r));
    }
    if found.images().next().is_none() && report.findings().is_empty() && !config.has_artifacts() {
        report.record(Check::ImageDetail, |r| nothing_verified(config, &found, r));
    }
    if let Some(path) = &config.expect {
        report.record(Check::Pins, |r| match pins::Pins::load(path) {
            Ok(pins) => pins.check(&images, r),
            Err(e) => r.error(path.display().to_string(), e.to_string()),
        });
    }
    let mut proofs = oci::Proofs::default();
    if !(config.oci.is_empty() && config.manifests.is_empty()) {
        report.record(Check::OciLayout, |r| {
            for dir in &config.oci {
                oci::layout(dir, r, &mut proofs);
            }
        });
        report.record(Check::Manifest, |r| {
            for file in &config.manifests {
                oci::manifest(file, r, &mut proofs);
            }
        });
        report.record(Check::DigestProven, |r| {
            oci::check_proven(&images, &mut proofs, r);
        });
    }
    let (need, running) = report.record(Check::TaskDefinition, |r| need(config, r));
    let gate = config.findings.thresholds.as_ref().map(|rule| Gate {
        thresholds: rule.value.clone(),
        from: rule.from.words(None, "findings"),
    });
    for seen in &mut images {
        seen.needs = Needs {
            platform: need.clone(),
            findings: gate.clone(),
        };
    }
    let found = if config.ecr {
        let strict = config.strict.then_some("--strict");
        report.record(Check::Ecr, |r| {
            check::ecr::check(&images, &running, aws::shared, strict, r)
        })
    } else {
        Vec::new()
    };
    if need.is_some() {
        report.record(Check::Platform, |r| {
            let mut fetch = registry::config_blobs(config.registry_timeout);
            let known = proofs.offers.clone();
            platform::check(&images, &found, known, &mut fetch, (config.ecr, true), r);
        });
    }
    if config.ecr {
        report.record(Check::Findings, |r| {
            check::findings::check(&images, &found, aws::shared, config.findings.scan_wait, r);
        });
    } else {
        check::findings::not_checked(&images);
    }
    check::held::say(&bundles, config.strict, &mut report);
    report.log_events(&images, |_| None);
    said(config, &report)
}

/// Writes what `report` found: the JUnit file if asked for, then text or JSON on stdout; the exit
/// code of its worst finding.
fn said(config: &VerifyConfig, report: &Report) -> anyhow::Result<ExitCode> {
    if let Some(path) = &config.junit {
        write_junit(path, report)?;
    }
    if config.json {
        crate::io::stdout::print_json(&check::report::json::document(report))?;
    } else {
        crate::io::stdout::print(&check::report::text::render(report, config.quiet))?;
    }
    Ok(ExitCode::worst(
        report.findings().iter().map(|f| f.severity),
    ))
}

/// The platform every image must offer: `--platform`, else the one `--task-definition` needs,
/// else the one `--task-definition-template` needs (a template is a task definition). `None` when
/// none says (an EC2 task definition without runtimePlatform, said at -v) or the task definition
/// cannot be read (an error; a template's own errors are the blue/green check's). With
/// `--task-definition ecs://`, also the images that service runs now.
fn need(config: &VerifyConfig, report: &mut Recorder) -> (Option<Need>, Vec<Running>) {
    let given = config
        .platform
        .as_ref()
        .map(|rule| Need::of(rule, rule.from.words(None, "platform")));
    // With --ecr, the images an ecs:// service runs now are asked about too.
    let runs_now = config.ecr
        && matches!(
            config.task_definition,
            Some(TaskDefinitionSource::Ecs { .. })
        );
    if given.is_some() && !runs_now {
        return (given, Vec::new());
    }
    let (source, named, option) = match (&config.task_definition, &config.blue_green) {
        (Some(source), _) => (
            source.clone(),
            format!("task definition {source}"),
            format!("--task-definition {source}"),
        ),
        (None, Some(inputs)) => (
            TaskDefinitionSource::File(inputs.template.clone()),
            format!("task definition template {}", inputs.template.display()),
            format!("--task-definition-template {}", inputs.template.display()),
        ),
        (None, None) => return (given, Vec::new()),
    };
    let loaded = match task_definition::load(&source, aws::shared) {
        Ok(loaded) => loaded,
        Err(_) if config.task_definition.is_none() => return (given, Vec::new()),
        Err(e) => {
            report.error(option, e.to_string());
            return (given, Vec::new());
        }
    };
    let running = match &source {
        TaskDefinitionSource::Ecs { .. } => loaded
            .task
            .images
            .iter()
            .filter_map(|(container, image)| {
                Some(Running {
                    subject: format!("{option}, container {container:?}"),
                    service: source.to_string(),
                    image: image.parse().ok()?,
                })
            })
            .collect(),
        TaskDefinitionSource::File(_) => Vec::new(),
    };
    if given.is_some() {
        return (given, running);
    }
    let need = match loaded.task.platform {
        Needed::Platform { platform, from } => Some(Need {
            platform,
            from: format!("{named} ({from})"),
            stated: true,
        }),
        Needed::Unknown(why) => {
            tracing::info!("{option}: the platform is not checked: {why}");
            None
        }
    };
    (need, running)
}

/// Writes the report as JUnit XML to `path`, atomically.
fn write_junit(path: &std::path::Path, report: &Report) -> anyhow::Result<()> {
    let paths = check::report::junit::Paths::here();
    super::write_junit(path, &check::report::junit::xml(report, &paths))
}

/// Nothing usable was found and no artifact was given: a failed check, or an error (exit 2) when
/// the only files found were unusable, as in emit.
fn nothing_verified(config: &VerifyConfig, found: &discover::Discovery, report: &mut Recorder) {
    let unusable: Vec<String> = found
        .candidates
        .iter()
        .filter_map(|c| {
            let e = c.detail.as_ref().err()?;
            Some(format!("{} ({e})", c.path.display()))
        })
        .collect();
    let roots = config
        .discover
        .roots
        .iter()
        .map(|r| r.path.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if unusable.is_empty() {
        report.fail(
            roots,
            format!(
                "no {} found, so nothing was verified; give the artifact directories as ROOT",
                config.discover.file_name
            ),
        );
    } else {
        // As in emit: when the only candidates are malformed, that is the error (exit 2).
        report.error(
            roots,
            format!(
                "nothing was verified: the only {} files found are unusable: {}",
                config.discover.file_name,
                unusable.join("; ")
            ),
        );
    }
}
