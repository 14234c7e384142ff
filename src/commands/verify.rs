//! `imagedef verify`: run every check, report every finding, then exit by the worst.

use crate::config::VerifyConfig;
use crate::discover;
use crate::error::ExitCode;
use crate::model::ecr::Repository;
use crate::model::{Digest, TaskDefinition, TaskDefinitionSource, platform::Needed};
use crate::verify::platform::{self, Need};
use crate::verify::{self, Check, Recorder, Report, oci, pins};

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
        verify::check_discovered(&found, config.strict, r)
    });
    let bundles = report.record(Check::Bundle, |r| {
        config
            .bundles
            .iter()
            .map(|zip| verify::bundle::check_bundle(zip, &config.image_placeholder, r))
            .collect::<Vec<_>>()
    });
    let in_bundles: Vec<_> = bundles.iter().flat_map(|b| b.images.clone()).collect();
    report.record(Check::BundleDeploysDiscovered, |r| {
        verify::bundles_deploy_discovered(&images, &in_bundles, r);
    });
    images.extend(in_bundles);
    if let Some(inputs) = &config.blue_green {
        report.record(Check::BlueGreen, |r| verify::blue_green::files(inputs, r));
    }
    if found.images().next().is_none() && report.findings().is_empty() && !config.has_artifacts() {
        report.record(Check::ImageDetail, |r| nothing_verified(config, &found, r));
    }
    if let Some(path) = &config.expect {
        report.record(Check::Pins, |r| match pins::Pins::load(path) {
            Ok(pins) => pins.check(&images, r),
            Err(e) => r.error(path.display().to_string(), e),
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
    let found = if config.ecr {
        report.record(Check::Ecr, |r| {
            verify::ecr::check(&images, crate::aws::shared, r)
        })
    } else {
        Vec::new()
    };
    let need = report.record(Check::Platform, |r| need(config, r));
    if let Some(need) = &need {
        report.record(Check::Platform, |r| {
            let mut known = proofs.offers.clone();
            let mut fetch =
                |repository: &Repository, digest: Digest| config_blob(repository, digest);
            let failed = platform::read_found(&found, &mut fetch, &mut known);
            platform::check(&images, need, &known, config.ecr, &failed, r);
        });
    }
    if let Some((thresholds, given)) = &config.findings.thresholds {
        if config.ecr {
            report.record(Check::Findings, |r| {
                let asked = verify::findings::Gate {
                    thresholds,
                    from: given.to_string(),
                    needed: need.as_ref().map(|n| &n.platform),
                    wait: config.findings.scan_wait,
                };
                verify::findings::check_seen(&images, &found, &asked, r);
            });
        } else {
            tracing::warn!("{}", verify::findings::NOT_CHECKED);
        }
    }
    verify::held::say(&bundles, config.strict, &mut report);
    let code = ExitCode::worst(report.findings().iter().map(|f| f.severity));
    if let Some(path) = &config.junit {
        write_junit(path, &report)?;
    }
    if config.json {
        crate::io::stdout::print_json(&verify::report::json::document(&report))?;
    } else {
        crate::io::stdout::print(&verify::report::text::render(&report))?;
    }
    Ok(code)
}

/// A single manifest's config blob, from its registry.
fn config_blob(repository: &Repository, digest: Digest) -> Result<Vec<u8>, String> {
    crate::aws::registry::config_blob(repository, digest)
}

/// The platform every image must offer: `--platform`, else the one `--task-definition` needs.
/// `None` when neither says (an EC2 task definition without runtimePlatform, said at -v) or the
/// task definition cannot be read (an error).
fn need(config: &VerifyConfig, report: &mut Recorder) -> Option<Need> {
    if let Some(platform) = &config.platform {
        return Some(Need {
            platform: platform.clone(),
            from: "--platform".to_owned(),
            stated: true,
        });
    }
    let source = config.task_definition.as_ref()?;
    let task = match source {
        TaskDefinitionSource::File(path) => {
            crate::io::input::read_named(path, crate::io::input::MAX_JSON, "task definition")
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    TaskDefinition::parse(&bytes)
                        .map_err(|e| format!("task definition {}: {e}", path.display()))
                })
        }
        TaskDefinitionSource::Ecs { cluster, service } => crate::aws::shared()
            .map_err(crate::aws::ecs::EcsError::Connection)
            .and_then(|aws| crate::aws::ecs::running_task_definition(aws, cluster, service))
            .map(|(task, _)| task)
            .map_err(|e| {
                format!(
                    "{:#}",
                    super::task_definition::ecs_error(&e, cluster, service)
                )
            }),
    };
    match task {
        Err(e) => {
            report.error(format!("--task-definition {source}"), e);
            None
        }
        Ok(TaskDefinition {
            platform: Needed::Platform { platform, from },
            ..
        }) => Some(Need {
            platform,
            from: format!("task definition {source} ({from})"),
            stated: true,
        }),
        Ok(TaskDefinition {
            platform: Needed::Unknown(why),
            ..
        }) => {
            tracing::info!("--task-definition {source}: the platform is not checked: {why}");
            None
        }
    }
}

/// Writes the report as JUnit XML to `path`, atomically.
fn write_junit(path: &std::path::Path, report: &Report) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| anyhow::anyhow!("--junit {} is not a file name", path.display()))?;
    let dir = path.parent().unwrap_or(std::path::Path::new(""));
    let xml = verify::report::junit::xml(report);
    let file = crate::write::File {
        path: &name,
        bytes: xml.as_bytes(),
    };
    crate::write::commit(dir, &[file]).map_err(|e| {
        e.context(format!(
            "cannot write the JUnit report --junit {}",
            path.display()
        ))
    })
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
