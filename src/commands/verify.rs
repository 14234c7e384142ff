//! `imagedef verify`: run every check, report every finding, then exit by the worst.

use crate::config::VerifyConfig;
use crate::discover;
use crate::error::ExitCode;
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
    if !(config.oci.is_empty() && config.manifests.is_empty()) {
        let mut proofs = oci::Proofs::default();
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
    if config.ecr {
        let outcomes = report.record(Check::Ecr, |r| {
            verify::ecr::check(&images, crate::aws::shared, r)
        });
        if let Some((thresholds, given)) = &config.findings.thresholds {
            report.record(Check::Findings, |r| {
                let from = given.to_string();
                let wait = config.findings.scan_wait;
                verify::findings::check_seen(&images, &outcomes, thresholds, &from, wait, r);
            });
        }
    } else if config.findings.thresholds.is_some() {
        tracing::warn!("{}", verify::findings::NOT_CHECKED);
    }
    verify::held::say(&bundles, config.strict, &mut report);
    let code = ExitCode::worst(report.findings().iter().map(|f| f.severity));
    if let Some(path) = &config.junit {
        write_junit(path, &report)?;
    }
    if config.json {
        crate::stdout::print_json(&verify::report::json::document(&report))?;
    } else {
        crate::stdout::print(&verify::report::text::render(&report))?;
    }
    Ok(code)
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
