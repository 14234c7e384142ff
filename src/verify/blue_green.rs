//! The blue/green pair: `--task-definition-template` with `--app-spec`, and the `taskdef.json` /
//! `appspec.yaml` of a bundle, held to the checks of [`crate::model::blue_green`]. A file that
//! cannot be read or parsed is an error (exit 2); one that would not deploy fails (exit 1).

use super::Recorder;
use crate::error::Severity;
use crate::model::blue_green::{self, Inputs, Which};

/// Reads and checks the two files named on the command line.
pub fn files(inputs: &Inputs, report: &mut Recorder) {
    let template_subject = inputs.template.display().to_string();
    let app_spec_subject = inputs.app_spec.display().to_string();
    let read = |path: &std::path::Path, what: &'static str| {
        crate::io::input::read_named(path, crate::model::deploy::MAX_BUNDLE_BYTES, what)
    };
    let template = read(&inputs.template, "task definition template");
    let app_spec = read(&inputs.app_spec, "AppSpec");
    match (template, app_spec) {
        (Ok(t), Ok(a)) => pair(
            (&template_subject, &t),
            (&app_spec_subject, &a),
            &inputs.placeholder,
            report,
        ),
        (t, a) => {
            for (subject, e) in [(&template_subject, t.err()), (&app_spec_subject, a.err())] {
                if let Some(e) = e {
                    report.error(subject, e);
                }
            }
        }
    }
}

/// Checks the pair in a bundle's entries, when it holds either file; one without the other fails,
/// as the action reads both from the artifact that holds them.
pub fn bundled(entries: &[(String, Vec<u8>)], zip: &str, placeholder: &str, report: &mut Recorder) {
    let find = |name: &str| entries.iter().find(|(n, _)| n == name).map(|(_, d)| d);
    let subject = |name: &str| format!("{zip}:{name}");
    match (find(blue_green::TASKDEF), find(blue_green::APPSPEC)) {
        (None, None) => {}
        (Some(t), Some(a)) => pair(
            (&subject(blue_green::TASKDEF), t),
            (&subject(blue_green::APPSPEC), a),
            placeholder,
            report,
        ),
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

fn pair(
    template: (&str, &[u8]),
    app_spec: (&str, &[u8]),
    placeholder: &str,
    report: &mut Recorder,
) {
    match blue_green::check_pair(template.1, app_spec.1, None, placeholder) {
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
        }
        Err((which, refusals)) => {
            let subject = match which {
                Which::Template => template.0,
                Which::AppSpec => app_spec.0,
            };
            for r in refusals {
                match r.severity {
                    Severity::Failed => report.fail(subject, r.message),
                    Severity::Error => report.error(subject, r.message),
                }
            }
        }
    }
}
