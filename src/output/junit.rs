//! `emit --junit FILE`: what `emit` checked, as JUnit XML for a `CodeBuild` report group. A test
//! suite per service, named by its artifact (the service; in single-image mode OUT), and a test
//! case per check (task definition, templates, ECR, platform, findings) whose class name is the
//! service's folder relative to the build (`imagedef-out/web`), never an absolute path, so that a
//! report group follows each case from build to build. A check that passed passes; one that was
//! off or could not run is skipped, saying why (a failure under `--strict`); one that failed fails
//! with every finding about that service. Findings about no one service (`--ecr` refused as a
//! whole) and an error that ended the run outside the checks are cases of a suite `emit`.

use std::path::Path;

use crate::check::coverage::{Coverage, Ran};
use crate::check::report::junit::{Case, Paths, render};
use crate::check::report::{Severity, service_of};
use crate::check::{Check, Report};
use crate::model::names::ServiceName;
use crate::resolve::ResolvedService;

/// One service as its cases name it.
pub struct Service<'a> {
    /// Its name; `None` in single-image mode.
    pub name: Option<&'a str>,
    pub coverage: &'a Coverage,
}

/// The suites of a run whose check stage ran; [`Cases::xml`] adds an error that ended it later.
pub struct Cases {
    suites: Vec<(String, Vec<Case>)>,
}

/// The suite of what belongs to no one service.
const RUN: &str = "emit";

impl Cases {
    /// The cases of `services` (written to `out`) from `report`; `strict`: a check that could not
    /// run is a failure, as `--strict` made it.
    #[must_use]
    pub fn of(
        services: &[Service<'_>],
        report: &Report,
        out: &Path,
        strict: bool,
        paths: &Paths,
    ) -> Cases {
        let out = paths.path(out);
        let mut claimed = vec![false; report.findings().len()];
        let mut suites = Vec::new();
        for s in services {
            let (artifact, folder) = match s.name {
                Some(name) => (name.to_owned(), format!("{out}/{name}")),
                None => (out.clone(), out.clone()),
            };
            let mut cases = Vec::new();
            for (check, ran) in s.coverage.checks() {
                let mut case = Case {
                    classname: folder.clone(),
                    name: check.to_owned(),
                    ..Case::default()
                };
                for (i, f) in report.findings().iter().enumerate() {
                    if f.check == Check::Strict
                        || coverage_name(f.check) != Some(check)
                        || !about(&f.subject, s.name)
                    {
                        continue;
                    }
                    claimed[i] = true;
                    let text = said(&f.subject, &f.message, paths);
                    match f.severity {
                        Severity::Failed => case.failed.push(text),
                        Severity::Error => case.errors.push(text),
                    }
                }
                if case.failed.is_empty() && case.errors.is_empty() {
                    match ran {
                        Ran::Passed => case.passed.push("passed".to_owned()),
                        Ran::Off => case.skipped = Some("off: not asked for".to_owned()),
                        Ran::NotChecked(why) if strict => case.failed.push(format!(
                            "could not run: {why}; --strict makes every check that cannot run a failure"
                        )),
                        Ran::NotChecked(why) => case.skipped = Some(format!("not checked: {why}")),
                    }
                }
                cases.push(case);
            }
            suites.push((artifact, cases));
        }
        let rest: Vec<Case> = report
            .findings()
            .iter()
            .zip(claimed)
            .filter(|(f, claimed)| !claimed && f.check != Check::Strict)
            .map(|(f, _)| {
                let mut case = Case {
                    classname: format!("imagedef.{}", f.check.name()),
                    name: paths.name(&f.subject),
                    ..Case::default()
                };
                match f.severity {
                    Severity::Failed => case.failed.push(f.message.clone()),
                    Severity::Error => case.errors.push(f.message.clone()),
                }
                case
            })
            .collect();
        if !rest.is_empty() {
            suites.push((RUN.to_owned(), rest));
        }
        Cases { suites }
    }

    /// The cases of the resolved `services`, `coverage` in their order.
    #[must_use]
    pub fn of_services(
        services: &[ResolvedService<'_>],
        coverage: &[Coverage],
        report: &Report,
        out: &Path,
        strict: bool,
    ) -> Cases {
        let named: Vec<Service<'_>> = services
            .iter()
            .zip(coverage)
            .map(|(s, coverage)| Service {
                name: s.service.name.as_ref().map(ServiceName::as_str),
                coverage,
            })
            .collect();
        Cases::of(&named, report, out, strict, &Paths::here())
    }

    /// The XML, with `ended`: the error that ended the run after the checks, if one did.
    #[must_use]
    pub fn xml(mut self, ended: Option<&str>) -> String {
        if let Some(message) = ended {
            self.suites
                .push((RUN.to_owned(), vec![ended_case(message)]));
        }
        render("imagedef emit", &self.suites)
    }
}

/// The XML of a run that ended before its checks ran (an unreadable mapping, an image no service
/// takes): one error case saying why.
#[must_use]
pub fn ended_before_checks(message: &str) -> String {
    render(
        "imagedef emit",
        &[(RUN.to_owned(), vec![ended_case(message)])],
    )
}

fn ended_case(message: &str) -> Case {
    Case {
        classname: "imagedef.emit".to_owned(),
        name: "run".to_owned(),
        errors: vec![message.to_owned()],
        ..Case::default()
    }
}

/// The name [`Coverage::checks`] gives the check a finding of `check` belongs to.
fn coverage_name(check: Check) -> Option<&'static str> {
    match check {
        Check::TaskDefinition => Some("task definition"),
        Check::BlueGreen => Some("templates"),
        Check::Ecr => Some("ECR"),
        Check::Platform => Some("platform"),
        Check::Findings => Some("findings"),
        _ => None,
    }
}

/// Whether a finding about `subject` is about the service `name` (single-image mode: the one
/// service).
fn about(subject: &str, name: Option<&str>) -> bool {
    name.is_none_or(|name| service_of(subject) == Some(name))
}

/// A finding as its case says it: its subject (relative to the build) and its message.
fn said(subject: &str, message: &str, paths: &Paths) -> String {
    if subject.is_empty() {
        message.to_owned()
    } else {
        format!("{}: {message}", paths.name(subject))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coverage(ecr: Ran) -> Coverage {
        Coverage {
            task_definition: Ran::Passed,
            templates: Ran::Off,
            ecr,
            platform: Ran::NotChecked("no task definition says which".to_owned()),
            findings: Ran::Off,
        }
    }

    #[test]
    fn a_case_per_service_and_check_findings_on_their_service() {
        let mut report = Report::default();
        report.record(Check::Ecr, |r| {
            r.fail(
                "service \"api\", container \"app\"",
                "is not in ECR; push it",
            );
        });
        report.record(Check::Findings, |r| r.error("--findings", "cannot read"));
        let (web, api) = (coverage(Ran::Passed), coverage(Ran::NotChecked("x".into())));
        let services = [
            Service {
                name: Some("web"),
                coverage: &web,
            },
            Service {
                name: Some("api"),
                coverage: &api,
            },
        ];
        let paths = Paths::of([Path::new("/build/src")]);
        let xml = Cases::of(
            &services,
            &report,
            Path::new("/build/src/imagedef-out"),
            false,
            &paths,
        )
        .xml(None);
        assert!(
            xml.contains(
                "<testsuites name=\"imagedef emit\" tests=\"11\" failures=\"1\" errors=\"1\">"
            ),
            "{xml}"
        );
        assert!(
            xml.contains(
                "<testsuite name=\"web\" tests=\"5\" failures=\"0\" errors=\"0\" skipped=\"3\">"
            ),
            "{xml}"
        );
        assert!(xml.contains("<testcase classname=\"imagedef-out/web\" name=\"ECR\">\n      <system-out>passed</system-out>"), "{xml}");
        assert!(xml.contains("<testcase classname=\"imagedef-out/api\" name=\"ECR\">\n      <failure message=\"service &quot;api&quot;, container &quot;app&quot;: is not in ECR; push it\" type=\"failed\">"), "{xml}");
        assert!(xml.contains("<testcase classname=\"imagedef-out/web\" name=\"platform\">\n      <skipped message=\"not checked: no task definition says which\"/>"), "{xml}");
        assert!(xml.contains("<testsuite name=\"emit\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\">\n    <testcase classname=\"imagedef.findings\" name=\"--findings\">\n      <error message=\"cannot read\""), "{xml}");
        assert!(!xml.contains("/build/src"), "{xml}");
    }
}
