//! `imagedef verify`: run every check, report every finding, then exit by the worst.

use std::fmt::Write as _;

use serde::Serialize;

use crate::config::VerifyConfig;
use crate::discover;
use crate::error::ExitCode;
use crate::verify::{self, Finding, Severity};

pub fn run(config: &VerifyConfig) -> anyhow::Result<ExitCode> {
    let found = discover::discover(&config.discover.roots, &config.discover.file_name);
    for s in found.skipped.iter().filter(|s| !s.unreadable) {
        tracing::warn!("{}: skipped: {}", s.path.display(), s.reason);
    }
    let (passed, mut findings) = verify::discovered(&found);
    if found.candidates.is_empty() && findings.is_empty() {
        findings.push(Finding {
            severity: Severity::Failed,
            subject: config
                .discover
                .roots
                .iter()
                .map(|r| r.path.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            message: format!(
                "no {} found, so nothing was verified; give the artifact directories as ROOT",
                config.discover.file_name
            ),
        });
    }
    let code = match findings.iter().map(|f| f.severity).max() {
        None => ExitCode::Success,
        Some(Severity::Failed) => ExitCode::CheckFailed,
        Some(Severity::Error) => ExitCode::Error,
    };
    if config.json {
        #[derive(Serialize)]
        struct Report<'a> {
            ok: bool,
            passed: &'a [verify::Passed],
            findings: &'a [Finding],
        }
        super::print_json(&Report {
            ok: code == ExitCode::Success,
            passed: &passed,
            findings: &findings,
        })?;
    } else {
        let mut text = String::new();
        for p in &passed {
            let _ = writeln!(text, "ok      {}: {}", p.subject, p.image_uri);
        }
        for f in &findings {
            let tag = match f.severity {
                Severity::Failed => "FAILED",
                Severity::Error => "ERROR ",
            };
            let _ = writeln!(text, "{tag}  {}: {}", f.subject, f.message);
        }
        let _ = writeln!(text, "{} passed, {} failed", passed.len(), findings.len());
        super::print(&text)?;
    }
    Ok(code)
}
