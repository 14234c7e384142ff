//! Checks that prove what will be deployed: each discovered file's fields agree. Pure; the
//! `verify` command prints the findings.

use serde::Serialize;

use crate::discover::Discovery;

/// How bad a finding is; it decides the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A check failed on inputs that were read (exit 1).
    Failed,
    /// Unreadable or malformed input (exit 2).
    Error,
}

/// One problem, with the file it is about.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// The file (or `artifact:path`) the finding is about.
    pub subject: String,
    pub message: String,
}

/// One checked thing that passed.
#[derive(Clone, Debug, Serialize)]
pub struct Passed {
    pub subject: String,
    pub image_uri: String,
}

/// Checks every discovered file: malformed files and unreadable paths are errors; files whose
/// fields disagree fail.
#[must_use]
pub fn discovered(found: &Discovery) -> (Vec<Passed>, Vec<Finding>) {
    let mut passed = Vec::new();
    let mut findings = Vec::new();
    for c in &found.candidates {
        let subject = format!("{} ({})", c.label(), c.path.display());
        match &c.detail {
            Err(e) => findings.push(Finding {
                severity: Severity::Error,
                subject,
                message: e.to_string(),
            }),
            Ok(d) => {
                let problems = d.inconsistencies();
                if problems.is_empty() {
                    passed.push(Passed {
                        subject,
                        image_uri: d.image_uri.to_string(),
                    });
                } else {
                    findings.extend(problems.into_iter().map(|message| Finding {
                        severity: Severity::Failed,
                        subject: subject.clone(),
                        message,
                    }));
                }
            }
        }
    }
    for s in found.skipped.iter().filter(|s| s.unreadable) {
        findings.push(Finding {
            severity: Severity::Error,
            subject: s.path.display().to_string(),
            message: s.reason.clone(),
        });
    }
    (passed, findings)
}
