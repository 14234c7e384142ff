//! `imagedef verify`: run every check, report every finding, then exit by the worst.

use std::fmt::Write as _;

use serde::Serialize;

use crate::config::VerifyConfig;
use crate::discover;
use crate::error::ExitCode;
use crate::verify::{self, Finding, Report, Severity, oci, pins};

pub fn run(config: &VerifyConfig) -> anyhow::Result<ExitCode> {
    let found = discover::discover(&config.discover.roots, &config.discover.file_name, None);
    for s in found.skipped.iter().filter(|s| !s.unreadable) {
        tracing::warn!("{}: skipped: {}", s.path.display(), s.reason);
    }
    let mut report = Report::default();
    let mut images = verify::discovered(&found, &mut report);
    for zip in &config.bundles {
        images.extend(verify::bundle::check(zip, &mut report));
    }
    let others =
        !(config.bundles.is_empty() && config.oci.is_empty() && config.manifests.is_empty());
    if found.candidates.is_empty() && report.findings.is_empty() && !others {
        report.fail(
            config
                .discover
                .roots
                .iter()
                .map(|r| r.path.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            format!(
                "no {} found, so nothing was verified; give the artifact directories as ROOT",
                config.discover.file_name
            ),
        );
    }
    if let Some(path) = &config.expect {
        match pins::Pins::load(path) {
            Ok(pins) => pins.check(&images, &mut report),
            Err(e) => report.error(path.display().to_string(), e),
        }
    }
    if !(config.oci.is_empty() && config.manifests.is_empty()) {
        let mut proofs = oci::Proofs::default();
        for dir in &config.oci {
            oci::layout(dir, &mut report, &mut proofs);
        }
        for file in &config.manifests {
            oci::manifest(file, &mut report, &mut proofs);
        }
        oci::check_proven(&images, &proofs, &mut report);
    }
    if config.ecr {
        verify::ecr::check(&images, &mut report);
    }
    let code = match report.worst() {
        None => ExitCode::Success,
        Some(Severity::Failed) => ExitCode::CheckFailed,
        Some(Severity::Error) => ExitCode::Error,
    };
    if config.json {
        #[derive(Serialize)]
        struct Out<'a> {
            ok: bool,
            passed: &'a [verify::Passed],
            checked: &'a [verify::Checked],
            findings: &'a [Finding],
        }
        super::print_json(&Out {
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
        super::print(&text)?;
    }
    Ok(code)
}
