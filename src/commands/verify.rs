//! `imagedef verify`: run every check, report every finding, then exit by the worst.

use std::fmt::Write as _;

use serde::Serialize;

use crate::config::VerifyConfig;
use crate::discover;
use crate::error::{ExitCode, Severity};
use crate::verify::{self, Finding, Report, oci, pins};

pub fn run(config: &VerifyConfig) -> anyhow::Result<ExitCode> {
    let found = if config.artifacts_only {
        discover::Discovery::default()
    } else {
        discover::discover(&config.discover.roots, &config.discover.file_name, None)
    };
    for s in found.skipped.iter().filter(|s| !s.unreadable) {
        tracing::warn!("{}: skipped: {}", s.path.display(), s.reason);
    }
    let mut report = Report::default();
    report.checking("imageDetail");
    let mut images = verify::discovered(&found, config.strict, &mut report);
    let mut bundled = Vec::new();
    report.checking("bundle");
    for zip in &config.bundles {
        bundled.extend(verify::bundle::check_as(
            zip,
            &config.image_placeholder,
            &mut report,
        ));
    }
    report.checking("bundle deploys discovered");
    verify::bundles_deploy_discovered(&images, &bundled, &mut report);
    images.extend(bundled);
    if let Some(inputs) = &config.blue_green {
        report.checking("blue/green");
        verify::blue_green::files(inputs, &mut report);
    }
    if found.images().next().is_none() && report.findings.is_empty() && !given_files(config) {
        report.checking("imageDetail");
        nothing_verified(config, &found, &mut report);
    }
    if let Some(path) = &config.expect {
        report.checking("pins");
        match pins::Pins::load(path) {
            Ok(pins) => pins.check(&images, &mut report),
            Err(e) => report.error(path.display().to_string(), e),
        }
    }
    if !(config.oci.is_empty() && config.manifests.is_empty()) {
        let mut proofs = oci::Proofs::default();
        report.checking("oci layout");
        for dir in &config.oci {
            oci::layout(dir, &mut report, &mut proofs);
        }
        report.checking("manifest");
        for file in &config.manifests {
            oci::manifest(file, &mut report, &mut proofs);
        }
        report.checking("digest proven");
        oci::check_proven(&images, &mut proofs, &mut report);
    }
    if config.ecr {
        report.checking("ecr");
        verify::ecr::check(&images, &mut report);
    }
    let code = ExitCode::worst(report.findings.iter().map(|f| f.severity));
    if let Some(path) = &config.junit {
        write_junit(path, &report)?;
    }
    if config.json {
        #[derive(Serialize)]
        struct Out<'a> {
            ok: bool,
            passed: &'a [verify::Passed],
            checked: &'a [verify::Checked],
            findings: &'a [Finding],
        }
        crate::output::print_json(&Out {
            ok: code == ExitCode::Success,
            passed: &report.passed,
            checked: &report.checked,
            findings: &report.findings,
        })?;
    } else {
        let mut text = String::new();
        for p in &report.passed {
            let _ = writeln!(text, "ok      {}: {}", p.subject, p.image_uri);
        }
        for c in &report.checked {
            let _ = writeln!(text, "ok      {}: {}", c.subject, c.detail);
        }
        for f in &report.findings {
            let tag = match f.severity {
                Severity::Failed => "FAILED",
                Severity::Error => "ERROR ",
            };
            let _ = writeln!(text, "{tag}  {}: {}", f.subject, f.message);
        }
        let _ = writeln!(
            text,
            "{} passed, {} failed",
            report.passed.len() + report.checked.len(),
            report.findings.len()
        );
        crate::output::print(&text)?;
    }
    Ok(code)
}

/// True when files to check were named (bundles, the blue/green pair, layouts, manifests).
fn given_files(config: &VerifyConfig) -> bool {
    !(config.bundles.is_empty()
        && config.blue_green.is_none()
        && config.oci.is_empty()
        && config.manifests.is_empty())
}

/// Writes the report as JUnit XML to `path`, atomically.
fn write_junit(path: &std::path::Path, report: &Report) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| anyhow::anyhow!("--junit {} is not a file name", path.display()))?;
    let dir = path.parent().unwrap_or(std::path::Path::new(""));
    let file = crate::write::OutFile::new(name, verify::junit::xml(report).into_bytes());
    crate::write::commit(dir, &[file]).map_err(|e| {
        e.context(format!(
            "cannot write the JUnit report --junit {}",
            path.display()
        ))
    })
}

/// Nothing usable was found and no artifact was given: a failed check, or an error (exit 2) when
/// the only files found were unusable, as in emit.
fn nothing_verified(config: &VerifyConfig, found: &discover::Discovery, report: &mut Report) {
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
