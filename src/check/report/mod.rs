//! What the checks found: each result recorded under the [`Check`] it belongs to, through a
//! [`Recorder`] that only [`Report::record`] hands out, so no result can land under another check;
//! and, per container `emit` writes, what the checks found of it, for the report file and
//! `--json`. The command decides its exit code once, from the worst finding ([`Report::code`]).
//! `verify` prints it as [`text`] (stdout), [`json`] (`--json`) and [`junit`] (`--junit`); `emit`
//! ends with its findings ([`Report::conclude`]).

pub mod json;
pub mod junit;
pub mod text;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Serialize, Serializer};

use super::{Seen, findings, platform};
pub use crate::error::Severity;
use crate::error::{CheckFailed, ExitCode};

/// The checks `verify` runs. Their names are the `check` of every JSON result and the JUnit
/// test suites, so they are part of the output contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Check {
    /// Each discovered imageDetail.json's fields agree (and something was found at all).
    ImageDetail,
    /// `--bundle`: each zip's entries, shapes and `SHA256SUMS`.
    Bundle,
    /// The task definition a service deploys into: readable, and holding every container written.
    TaskDefinition,
    /// Inside a build, a bundle deploys the digests the build discovered.
    BundleDeploysDiscovered,
    /// `--task-definition-template` with `--app-spec`: the blue/green pair `CodeDeployToECS` reads.
    BlueGreen,
    /// `--expect`: pinned digests.
    Pins,
    /// `--oci`: layouts whose blobs are re-hashed.
    OciLayout,
    /// `--manifest`: manifest and index files read.
    Manifest,
    /// Every image's digest proven by a layout or manifest.
    DigestProven,
    /// `--ecr`: every ECR image looked up live.
    Ecr,
    /// `--platform` / `--task-definition`: every image offers the platform its task needs.
    Platform,
    /// `--findings` with `--ecr`: each image's scan findings within the thresholds.
    Findings,
    /// `--strict` (emit): every check that could not run for a service.
    Strict,
    /// `--buildspec` with `--mapping`: the buildspec's artifacts hand each service its files.
    Buildspec,
}

impl Check {
    /// Every check, in the order `verify` runs them.
    pub const ALL: [Check; 14] = [
        Check::ImageDetail,
        Check::Bundle,
        Check::TaskDefinition,
        Check::BundleDeploysDiscovered,
        Check::BlueGreen,
        Check::Pins,
        Check::OciLayout,
        Check::Manifest,
        Check::DigestProven,
        Check::Ecr,
        Check::Platform,
        Check::Findings,
        Check::Strict,
        Check::Buildspec,
    ];

    /// The name in JSON and JUnit output.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Check::ImageDetail => "imageDetail",
            Check::Bundle => "bundle",
            Check::TaskDefinition => "task definition",
            Check::BundleDeploysDiscovered => "bundle deploys discovered",
            Check::BlueGreen => "blue/green",
            Check::Pins => "pins",
            Check::OciLayout => "oci layout",
            Check::Manifest => "manifest",
            Check::DigestProven => "digest proven",
            Check::Ecr => "ecr",
            Check::Platform => "platform",
            Check::Findings => "findings",
            Check::Strict => "strict",
            Check::Buildspec => "buildspec",
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Check {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// One problem, with the file it is about.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub check: Check,
    pub severity: Severity,
    /// The file (or `artifact:path`) the finding is about.
    pub subject: String,
    pub message: String,
}

/// What a passed result is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Passed {
    /// A discovered image whose file passed its checks; the detail is its image URI.
    Image,
    /// Anything else that held: a pin, a layout, a manifest, a bundle, a lookup.
    Check,
}

/// One result that passed.
#[derive(Clone, Debug)]
pub struct Pass {
    pub check: Check,
    pub kind: Passed,
    /// The file (or `artifact:path`, or zip entry) that passed.
    pub subject: String,
    /// What held, against what.
    pub detail: String,
}

/// Where a container is: its service (none in single-image mode) and its name.
pub type ContainerKey = (Option<String>, String);

/// What the checks found of one container, for the report file and `--json`.
#[derive(Clone, Debug, Default)]
pub struct ContainerResults {
    /// With `--ecr`: whether ECR answered for the image, or why it was not looked up.
    pub ecr: Option<Looked>,
    pub platform: Option<platform::Judged>,
    pub findings: Option<findings::ContainerFindings>,
}

/// What `--ecr` did with one image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Looked {
    /// ECR answered for it.
    Up,
    /// It was not looked up: why.
    Not(String),
}

/// Everything the checks found, passed and failed, in the order recorded.
#[derive(Clone, Debug, Default)]
pub struct Report {
    passes: Vec<Pass>,
    findings: Vec<Finding>,
    containers: BTreeMap<ContainerKey, ContainerResults>,
}

impl Report {
    /// Runs one check with a recorder for it; what it records belongs to `check`.
    pub fn record<T>(&mut self, check: Check, run: impl FnOnce(&mut Recorder) -> T) -> T {
        let mut recorder = Recorder::new(check);
        let out = run(&mut recorder);
        self.passes.append(&mut recorder.passes);
        self.findings.append(&mut recorder.findings);
        for (key, results) in recorder.containers {
            let kept = self.containers.entry(key).or_default();
            kept.ecr = results.ecr.or(kept.ecr.take());
            kept.platform = results.platform.or(kept.platform.take());
            kept.findings = results.findings.or(kept.findings.take());
        }
        out
    }

    /// What the checks found of the container `container` of `service`, if any.
    #[must_use]
    pub fn container(&self, service: Option<&str>, container: &str) -> Option<&ContainerResults> {
        self.containers
            .get(&(service.map(str::to_owned), container.to_owned()))
    }

    /// True when nothing failed so far: the next stage may run.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// The exit code of the run, decided once: by the worst finding.
    #[must_use]
    pub fn code(&self) -> ExitCode {
        ExitCode::worst(self.findings.iter().map(|f| f.severity))
    }

    /// A command that writes or changes something ends here when a check failed: an error naming
    /// every finding (`subject: message`, a line each, a message of several lines going on in
    /// indented lines), `done` said after them (`nothing was written`), with the exit code of the
    /// worst.
    /// With JSON logs ([`crate::io::logging::structured`]), an event per finding (`ERROR` for
    /// input that could not be read, `WARN` for a failed check) or, when nothing was found, per
    /// image that `checks` says the checks of (`INFO`), each with its fields: `check` (or `checks`),
    /// `subject`, and where the subject is one of `images`, `service`, `container`, `image` and
    /// `digest`.
    pub fn log_events(
        &self,
        images: &[super::Seen],
        checks: impl Fn(&super::Seen) -> Option<String>,
    ) {
        if !crate::io::logging::structured() {
            return;
        }
        let of = |subject: &str| images.iter().find(|s| s.subject == subject);
        for f in &self.findings {
            let seen = of(&f.subject);
            let (service, container, image, digest) = fields(seen);
            let service = service.or_else(|| service_of(&f.subject));
            let check = f.check.name();
            let subject = f.subject.as_str();
            match f.severity {
                Severity::Error => tracing::error!(
                    check, subject, service, container, image, digest, "{}", f.message
                ),
                Severity::Failed => tracing::warn!(
                    check, subject, service, container, image, digest, "{}", f.message
                ),
            }
        }
        if !self.findings.is_empty() {
            return;
        }
        for seen in images {
            let Some(checks) = checks(seen) else {
                continue;
            };
            let (service, container, image, digest) = fields(Some(seen));
            let subject = seen.subject.as_str();
            tracing::info!(
                subject, service, container, image, digest, checks, "checked"
            );
        }
    }

    pub fn conclude(&self, done: &str) -> anyhow::Result<()> {
        if self.findings.is_empty() {
            return Ok(());
        }
        let lines: Vec<String> = self
            .findings
            .iter()
            .map(|f| {
                let message = f.message.replace('\n', "\n  ");
                if f.subject.is_empty() {
                    message
                } else {
                    format!("{}: {message}", f.subject)
                }
            })
            .collect();
        let message = format!("{}; {done}", lines.join("\n"));
        match self.code() {
            ExitCode::CheckFailed => Err(CheckFailed(message).into()),
            _ => Err(anyhow::anyhow!(message)),
        }
    }

    #[must_use]
    pub fn passes(&self) -> &[Pass] {
        &self.passes
    }

    /// What passed of one kind, in the order recorded.
    pub fn passes_of(&self, kind: Passed) -> impl Iterator<Item = &Pass> {
        self.passes.iter().filter(move |p| p.kind == kind)
    }

    /// What passed: the discovered images first, then the rest.
    pub fn passes_images_first(&self) -> impl Iterator<Item = &Pass> {
        self.passes_of(Passed::Image)
            .chain(self.passes_of(Passed::Check))
    }

    #[must_use]
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// True when `check` passed for `subject`.
    #[must_use]
    pub fn passed(&self, check: Check, subject: &str) -> bool {
        self.passes
            .iter()
            .any(|p| p.check == check && p.subject == subject)
    }

    /// True when `check` recorded anything (passed or not) for `subject`.
    #[must_use]
    pub fn examined(&self, check: Check, subject: &str) -> bool {
        self.passed(check, subject)
            || self
                .findings
                .iter()
                .any(|f| f.check == check && f.subject == subject)
    }

    /// Appends `text` to the detail of what passed `check` for `subject`.
    pub fn add_detail(&mut self, check: Check, subject: &str, text: &str) {
        for p in &mut self.passes {
            if p.check == check && p.subject == subject {
                p.detail.push_str(text);
            }
        }
    }
}

/// The results of one check, as it records them; [`Report::record`] keeps them.
#[derive(Debug)]
pub struct Recorder {
    check: Check,
    passes: Vec<Pass>,
    findings: Vec<Finding>,
    containers: BTreeMap<ContainerKey, ContainerResults>,
}

impl Recorder {
    /// A recorder for `check` on its own, for a check's unit tests; `verify` uses
    /// [`Report::record`].
    #[must_use]
    pub fn new(check: Check) -> Recorder {
        Recorder {
            check,
            passes: Vec::new(),
            findings: Vec::new(),
            containers: BTreeMap::new(),
        }
    }

    /// Where to keep what this check found of the container `seen` is: `None` for an image that
    /// is not a container (a discovered file).
    pub fn container(&mut self, seen: &Seen) -> Option<&mut ContainerResults> {
        let container = seen.container.clone()?;
        Some(
            self.containers
                .entry((seen.service.clone(), container))
                .or_default(),
        )
    }

    /// Records a check that failed on inputs that were read (exit 1).
    pub fn fail(&mut self, subject: impl Into<String>, message: impl Into<String>) {
        self.finding(Severity::Failed, subject.into(), message.into());
    }

    /// Records unreadable or malformed input (exit 2).
    pub fn error(&mut self, subject: impl Into<String>, message: impl Into<String>) {
        self.finding(Severity::Error, subject.into(), message.into());
    }

    /// Records a check that passed.
    pub fn ok(&mut self, subject: impl Into<String>, detail: impl Into<String>) {
        self.pass(Passed::Check, subject.into(), detail.into());
    }

    /// Records a discovered image whose file passed its checks.
    pub fn image(&mut self, subject: impl Into<String>, image_uri: impl Into<String>) {
        self.pass(Passed::Image, subject.into(), image_uri.into());
    }

    /// What was found so far: failed checks and errors.
    #[must_use]
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    fn finding(&mut self, severity: Severity, subject: String, message: String) {
        self.findings.push(Finding {
            check: self.check,
            severity,
            subject,
            message,
        });
    }

    fn pass(&mut self, kind: Passed, subject: String, detail: String) {
        self.passes.push(Pass {
            check: self.check,
            kind,
            subject,
            detail,
        });
    }
}

/// The service a finding's subject names: `service "web"...` (a container of it) or a mapping
/// key `"services.web.<key>"`.
#[must_use]
pub fn service_of(subject: &str) -> Option<&str> {
    let name = if let Some(rest) = subject.strip_prefix("service \"") {
        rest.split('"').next()
    } else {
        let at = subject.find("\"services.")?;
        subject[at + "\"services.".len()..].split('.').next()
    }?;
    name.parse::<crate::model::names::ServiceName>()
        .is_ok()
        .then_some(name)
}

/// The fields of an event about `seen`: service, container, image and digest, each where known.
fn fields(
    seen: Option<&super::Seen>,
) -> (Option<&str>, Option<&str>, Option<String>, Option<String>) {
    (
        seen.and_then(|s| s.service.as_deref()),
        seen.and_then(|s| s.container.as_deref()),
        seen.map(|s| s.image.to_string()),
        seen.and_then(|s| s.digest.map(|d| d.to_string())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_keeps_its_name_in_the_output() {
        let names: Vec<String> = Check::ALL
            .iter()
            .map(|c| serde_json::to_string(c).unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "\"imageDetail\"",
                "\"bundle\"",
                "\"task definition\"",
                "\"bundle deploys discovered\"",
                "\"blue/green\"",
                "\"pins\"",
                "\"oci layout\"",
                "\"manifest\"",
                "\"digest proven\"",
                "\"ecr\"",
                "\"platform\"",
                "\"findings\"",
                "\"strict\"",
                "\"buildspec\"",
            ]
        );
        for c in Check::ALL {
            assert_eq!(c.to_string(), c.name());
        }
    }

    #[test]
    fn results_belong_to_the_check_that_recorded_them() {
        let mut report = Report::default();
        report.record(Check::Bundle, |r| {
            r.ok("a.zip", "reads cleanly");
            r.fail("b.zip", "is not a zip");
        });
        report.record(Check::Pins, |r| r.error("pins.json", "is not JSON"));
        let checks: Vec<(Check, &str)> = report
            .passes()
            .iter()
            .map(|p| (p.check, p.subject.as_str()))
            .chain(
                report
                    .findings()
                    .iter()
                    .map(|f| (f.check, f.subject.as_str())),
            )
            .collect();
        assert_eq!(
            checks,
            [
                (Check::Bundle, "a.zip"),
                (Check::Bundle, "b.zip"),
                (Check::Pins, "pins.json")
            ]
        );
        assert!(report.passed(Check::Bundle, "a.zip"));
        assert!(!report.passed(Check::Bundle, "b.zip"));
        assert!(report.examined(Check::Bundle, "b.zip"));
        assert!(!report.examined(Check::Pins, "a.zip"));
        report.add_detail(Check::Bundle, "a.zip", "; and more");
        assert_eq!(report.passes()[0].detail, "reads cleanly; and more");
    }
}
