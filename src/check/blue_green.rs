//! The blue/green pair: a service's `taskDefinitionTemplate` and `appSpec` (emit), `verify
//! --task-definition-template` with `--app-spec`, and the `taskdef.json` / `appspec.yaml` of a
//! bundle, held to the checks of [`crate::model::blue_green`]. A file that
//! cannot be read or parsed is an error (exit 2); one that would not deploy fails (exit 1).

use std::collections::BTreeMap;

use super::Recorder;
use crate::error::Severity;
use crate::model::ContainerName;
use crate::model::blue_green::{self, Inputs, Which};
use crate::model::mapping::Mapping;
use crate::resolve::ResolvedService;

/// Reads and checks the pair `inputs` names (`container`: the blue/green container the
/// mapping names, which the template must give the image to). Each result is recorded under
/// `subject` of its file; with `name_files`, a refusal names the file too (the subject is then a
/// mapping key). Returns both files' bytes when both passed.
pub fn files(
    inputs: &Inputs,
    container: Option<&str>,
    subject: impl Fn(Which) -> String,
    name_files: bool,
    report: &mut Recorder,
) -> Option<(Vec<u8>, Vec<u8>)> {
    let (template_what, app_spec_what) = ("task definition template", "AppSpec");
    let read = |path: &std::path::Path, what: &'static str| {
        crate::io::input::read_named(path, crate::model::deploy::MAX_BUNDLE_BYTES, what)
    };
    let (t, a) = match (
        read(&inputs.template, template_what),
        read(&inputs.app_spec, app_spec_what),
    ) {
        (Ok(t), Ok(a)) => (t, a),
        (t, a) => {
            for (which, e) in [(Which::Template, t.err()), (Which::AppSpec, a.err())] {
                if let Some(e) = e {
                    report.error(subject(which), e.to_string());
                }
            }
            return None;
        }
    };
    let named = |which: Which| {
        let (what, path) = match which {
            Which::Template => (template_what, &inputs.template),
            Which::AppSpec => (app_spec_what, &inputs.app_spec),
        };
        if name_files {
            format!("{what} {}: ", path.display())
        } else {
            String::new()
        }
    };
    let passed = pair(
        (&subject(Which::Template), &t),
        (&subject(Which::AppSpec), &a),
        container,
        &inputs.placeholder,
        named,
        report,
    );
    passed.then_some((t, a))
}

/// The checked `taskdef.json` and `appspec.yaml` of each blue/green service that names them, by
/// service name: written as given.
pub type Files = BTreeMap<String, Pair>;

/// A service's task definition template and `AppSpec`, as read and checked.
#[derive(Clone, Debug)]
pub struct Pair {
    pub template: Vec<u8>,
    pub app_spec: Vec<u8>,
}

/// `emit`: each blue/green service's template and `AppSpec`, read and checked against the
/// container the mapping names (every failing service is recorded); the files to write.
pub fn services(
    services: &[ResolvedService<'_>],
    mapping: &Mapping,
    report: &mut Recorder,
) -> Files {
    let mut files = Files::new();
    for s in services {
        let (Some(name), Some(inputs)) = (&s.service.name, &s.service.blue_green_inputs) else {
            continue;
        };
        let key = |which: Which| {
            mapping.key(
                Some(name),
                match which {
                    Which::Template => "taskDefinitionTemplate",
                    Which::AppSpec => "appSpec",
                },
            )
        };
        let container = s.service.blue_green.as_ref().map(ContainerName::as_str);
        if let Some((template, app_spec)) = self::files(inputs, container, key, true, report) {
            files.insert(name.to_string(), Pair { template, app_spec });
        }
    }
    files
}

/// Checks the pair in a bundle's entries, when it holds either file; one without the other fails,
/// as the action reads both from the artifact that holds them.
pub fn bundled(entries: &[(String, Vec<u8>)], zip: &str, placeholder: &str, report: &mut Recorder) {
    let find = |name: &str| entries.iter().find(|(n, _)| n == name).map(|(_, d)| d);
    let subject = |name: &str| format!("{zip}:{name}");
    match (find(blue_green::TASKDEF), find(blue_green::APPSPEC)) {
        (None, None) => {}
        (Some(t), Some(a)) => {
            pair(
                (&subject(blue_green::TASKDEF), t),
                (&subject(blue_green::APPSPEC), a),
                None,
                placeholder,
                |_| String::new(),
                report,
            );
        }
        (Some(_), None) | (None, Some(_)) => report.fail(
            zip,
            format!(
                "holds only one of {} and {}; imagedef emit writes both for a service with taskDefinitionTemplate and appSpec: write the bundle again",
                blue_green::TASKDEF,
                blue_green::APPSPEC
            ),
        ),
    }
}

/// Checks the pair, recording each result under its file's subject, a refusal after `named` of
/// its file; true when both passed.
fn pair(
    template: (&str, &[u8]),
    app_spec: (&str, &[u8]),
    container: Option<&str>,
    placeholder: &str,
    named: impl Fn(Which) -> String,
    report: &mut Recorder,
) -> bool {
    match blue_green::check_pair(template.1, app_spec.1, container, placeholder) {
        Ok((t, a)) => {
            report.ok(
                template.0,
                format!(
                    "task definition template: container {:?} takes the image as <{placeholder}>, no other placeholder is left",
                    t.blue_green
                ),
            );
            report.ok(
                app_spec.0,
                format!(
                    "AppSpec version 0.0 deploys <TASK_DEFINITION> with traffic to container {:?} port {}, which the template maps",
                    a.container, a.port
                ),
            );
            true
        }
        Err((which, refusals)) => {
            let subject = match which {
                Which::Template => template.0,
                Which::AppSpec => app_spec.0,
            };
            for r in refusals {
                let message = format!("{}{}", named(which), r.message);
                match r.severity {
                    Severity::Failed => report.fail(subject, message),
                    Severity::Error => report.error(subject, message),
                }
            }
            false
        }
    }
}
