//! Which checks ran for each service, and why the others did not: what each service's summary
//! says, what the report file and `--json` carry, and what `--strict` (or the mapping's
//! `"strict": true`) turns into failures. A check that was not asked for (no `--ecr`, no findings
//! thresholds, a service that is not blue/green) is "off"; one that was asked for, or that the
//! deploy would need, but could not run is "not checked", never passed.

use std::fmt;

use super::platform::Verdict;
use super::report::Looked;
use super::{Recorder, Report};
use crate::model::platform::Needed;
use crate::resolve::ResolvedService;

/// What became of one check for one service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ran {
    /// It ran and passed.
    Passed,
    /// It could not run: why.
    NotChecked(String),
    /// Nobody asked for it, or it does not apply.
    Off,
}

impl Ran {
    /// `passed`, `off`, or `not checked: why`, as the report file and `--json` carry it.
    #[must_use]
    pub fn record(&self) -> String {
        match self {
            Ran::Passed => "passed".to_owned(),
            Ran::NotChecked(why) => format!("not checked: {why}"),
            Ran::Off => "off".to_owned(),
        }
    }

    /// `ok`, `off`, or `not checked`, as the summary line says it.
    fn word(&self) -> &'static str {
        match self {
            Ran::Passed => "ok",
            Ran::NotChecked(_) => "not checked",
            Ran::Off => "off",
        }
    }
}

/// The checks of one service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coverage {
    /// Its containers against its task definition (or blue/green template).
    pub task_definition: Ran,
    /// The blue/green template and `AppSpec`.
    pub templates: Ran,
    /// `--ecr`: its images in ECR.
    pub ecr: Ran,
    /// Its images offer the platform its task needs.
    pub platform: Ran,
    /// Its images' scan findings within its thresholds.
    pub findings: Ran,
}

impl Coverage {
    /// Each check by the name messages give it.
    #[must_use]
    pub fn checks(&self) -> [(&'static str, &Ran); 5] {
        [
            ("task definition", &self.task_definition),
            ("templates", &self.templates),
            ("ECR", &self.ecr),
            ("platform", &self.platform),
            ("findings", &self.findings),
        ]
    }
}

impl fmt::Display for Coverage {
    /// `task definition ok, templates off, ECR ok, platform not checked, findings off`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let said: Vec<String> = self
            .checks()
            .iter()
            .map(|(name, ran)| format!("{name} {}", ran.word()))
            .collect();
        f.write_str(&said.join(", "))
    }
}

/// What ran for `s`, from what the check stage kept of it and of its containers in `report`.
#[must_use]
pub fn of(s: &ResolvedService<'_>, report: &Report, ecr: bool) -> Coverage {
    let service = s.service.name.as_ref().map(ToString::to_string);
    let results: Vec<_> = s
        .containers
        .iter()
        .map(|c| (c, report.container(service.as_deref(), c.name.as_str())))
        .collect();
    // A check per container: passed when every container passed, else why not, each named.
    let per_container = |why: &dyn Fn(&crate::check::ContainerResults) -> Option<String>| {
        let not: Vec<String> = results
            .iter()
            .filter_map(|(c, r)| {
                let why = r.map_or_else(|| Some("not looked at".to_owned()), why)?;
                Some(format!("{}: {why}", c.name))
            })
            .collect();
        if not.is_empty() {
            Ran::Passed
        } else {
            Ran::NotChecked(not.join("; "))
        }
    };
    // What names each input: the mapping's keys, or in single-image mode the options.
    let single = s.service.name.is_none();
    let (task_key, platform_key) = if single {
        ("--task-definition", "--platform")
    } else {
        ("\"taskDefinition\"", "\"platform\"")
    };
    let task_definition = if s.task.is_some() {
        Ran::Passed
    } else {
        Ran::NotChecked(format!(
            "no task definition holds its container names (the deploy would be the first to find a wrong one); name one with {task_key} (a file, or ecs://CLUSTER/SERVICE)"
        ))
    };
    let templates = match (&s.service.blue_green, &s.service.blue_green_inputs) {
        (_, Some(_)) => Ran::Passed,
        (Some(_), None) => Ran::NotChecked(
            "no \"taskDefinitionTemplate\" and \"appSpec\" are named, so CodeDeployToECS reads its templates unchecked; name both".to_owned(),
        ),
        (None, None) => Ran::Off,
    };
    let ecr_ran = if ecr {
        per_container(&|r| match &r.ecr {
            Some(Looked::Up) => None,
            Some(Looked::Not(why)) => Some(why.clone()),
            None => Some("not looked up".to_owned()),
        })
    } else {
        Ran::Off
    };
    let platform = match s.platform() {
        None => Ran::NotChecked(match s.task.as_ref().map(|t| &t.definition.platform) {
            Some(Needed::Unknown(why)) => why.clone(),
            _ => format!(
                "no task definition or {platform_key} says which platform the task needs; give one of them"
            ),
        }),
        Some(_) => per_container(&|r| match r.platform.as_ref().map(|j| &j.verdict) {
            Some(Verdict::Runs(_)) => None,
            Some(Verdict::NotChecked(why)) => Some(why.clone()),
            Some(Verdict::Mismatch(_)) | None => Some("not read".to_owned()),
        }),
    };
    let findings = match (&s.rules.findings, ecr) {
        (None, _) => Ran::Off,
        (Some(_), false) => Ran::NotChecked(
            "thresholds are given, but scans are read with --ecr, which was not given".to_owned(),
        ),
        (Some(_), true) => per_container(&|r| match r.findings.as_ref().map(|f| f.verdict) {
            Some("passed") => None,
            Some(other) => Some(other.to_owned()),
            None => Some("no scan was read".to_owned()),
        }),
    };
    Coverage {
        task_definition,
        templates,
        ecr: ecr_ran,
        platform,
        findings,
    }
}

/// `--strict` (`by`: what asked for it): every check that could not run for a service is a
/// failure, named with why.
pub fn strict(
    services: &[ResolvedService<'_>],
    coverage: &[Coverage],
    by: &str,
    report: &mut Recorder,
) {
    for (s, c) in services.iter().zip(coverage) {
        let subject = s.service.name.as_ref().map_or_else(
            || match s.containers.as_slice() {
                [one] => format!("container {:?}", one.name.as_str()),
                _ => "the image".to_owned(),
            },
            |n| format!("service {:?}", n.as_str()),
        );
        for (name, ran) in c.checks() {
            if let Ran::NotChecked(why) = ran {
                report.fail(
                    subject.clone(),
                    format!(
                        "the {name} check could not run: {why}; {by} makes every check that cannot run a failure"
                    ),
                );
            }
        }
    }
}
