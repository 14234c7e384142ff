//! What `deploy` and `confirm` say: progress lines as they come, then one outcome per service, as
//! text (stdout), JSON (`--json`) and JUnit XML (`--junit`, one test case per service, named by
//! its `ecs://CLUSTER/SERVICE`, no path in it).

use std::fmt::Write as _;

use serde::Serialize;

use super::follow::Line;
use crate::check::report::junit::{Case, render};
use crate::config::deploy::Output;
use crate::error::Severity;
use crate::io::escape;

/// How a service came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Deployed,
    Unchanged,
    Confirmed,
    /// `--dry-run`: would register and update.
    WouldDeploy,
    /// `--dry-run`: a deployment of these images is in progress; would follow it.
    WouldFollow,
    Failed,
    Superseded,
    OtherDigests,
    TimedOut,
    Stopped,
    /// Refused before any change, or not followed for an error.
    Refused,
    Error,
    /// `--out`: no `ecs://` target.
    Skipped,
}

impl Kind {
    /// The exit code's part: `None` for a success.
    #[must_use]
    pub fn severity(self) -> Option<Severity> {
        match self {
            Kind::Deployed
            | Kind::Unchanged
            | Kind::Confirmed
            | Kind::WouldDeploy
            | Kind::WouldFollow
            | Kind::Skipped => None,
            Kind::Failed
            | Kind::Superseded
            | Kind::OtherDigests
            | Kind::TimedOut
            | Kind::Stopped => Some(Severity::Failed),
            Kind::Refused | Kind::Error => Some(Severity::Error),
        }
    }
}

/// One container of a service's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct ContainerRow {
    pub name: String,
    /// The image the file writes.
    pub written: String,
    pub written_digest: Option<String>,
    /// The image the revision running before named.
    pub previous: Option<String>,
    /// `unchanged`, `changed` or `unknown` against it.
    pub change: Option<String>,
    /// The digests its tasks run now.
    pub running_digests: Vec<String>,
}

/// One service's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// `ecs://CLUSTER/SERVICE`.
    pub service: String,
    /// The emit report's service name (`--out`).
    pub name: Option<String>,
    pub outcome: Kind,
    pub controller: Option<String>,
    pub strategy: Option<String>,
    /// As ECS's console names it (`ecs-svc/...`), else the service deployment's id.
    pub deployment: Option<String>,
    pub service_deployment_arn: Option<String>,
    pub status: Option<String>,
    /// Lifecycle stages seen, in order.
    pub stages: Vec<String>,
    /// The revision deployed (registered, or followed).
    pub task_definition: Option<String>,
    /// The revision the service ran before.
    pub previous_task_definition: Option<String>,
    /// Tasks found running the written digests.
    pub tasks: Option<usize>,
    pub containers: Vec<ContainerRow>,
    /// The outcome in one line.
    pub summary: String,
    /// ECS's reason, the tasks' causes and fixes, the last events, notes.
    pub cause: Vec<String>,
}

impl Row {
    /// A row with only its service, outcome and summary.
    #[must_use]
    pub fn bare(service: String, outcome: Kind, summary: String) -> Row {
        Row {
            service,
            name: None,
            outcome,
            controller: None,
            strategy: None,
            deployment: None,
            service_deployment_arn: None,
            status: None,
            stages: Vec::new(),
            task_definition: None,
            previous_task_definition: None,
            tasks: None,
            containers: Vec::new(),
            summary,
            cause: Vec::new(),
        }
    }
}

/// Where lines go: text on stdout (progress too), or with `--json` progress on stderr and the
/// document on stdout; `-q` keeps only problems.
#[derive(Clone, Copy, Debug)]
pub struct Printer {
    pub output: Output,
}

impl Printer {
    /// Says one line now.
    pub fn say(self, line: &Line) {
        let (text, problem) = match line {
            Line::Progress(t) => (t, false),
            Line::Problem(t) => (t, true),
        };
        if self.output.quiet && !problem {
            return;
        }
        if self.output.json {
            eprintln!("imagedef: {}", escape::line(text));
        } else {
            let _ = crate::io::stdout::print(&format!("{}\n", escape::line(text)));
        }
    }

    /// The outcome of every service: text (with `-q` only the ones that did not succeed), or the
    /// JSON document.
    pub fn finish(self, command: &str, dry_run: bool, rows: &[Row]) -> std::io::Result<()> {
        if self.output.json {
            return crate::io::stdout::print_json(&Document {
                command,
                dry_run,
                services: rows,
            });
        }
        let mut text = String::new();
        for row in rows {
            if self.output.quiet && row.outcome.severity().is_none() {
                continue;
            }
            let _ = writeln!(text, "{}: {}", row.service, escape::line(&row.summary));
            for line in &row.cause {
                let _ = writeln!(text, "  {}", escape::line(line));
            }
        }
        crate::io::stdout::print(&text)
    }
}

#[derive(Serialize)]
struct Document<'a> {
    command: &'a str,
    dry_run: bool,
    services: &'a [Row],
}

/// The outcome as JUnit XML: one test case per service, failing (exit 1 outcomes) or in error
/// (exit 2) with its summary and causes, written by the one JUnit writer verify and emit use.
#[must_use]
pub fn junit(command: &str, rows: &[Row]) -> String {
    let suite = format!("imagedef {command}");
    let cases = rows
        .iter()
        .map(|row| {
            let said: Vec<String> = std::iter::once(&row.summary)
                .chain(&row.cause)
                .cloned()
                .collect();
            let mut case = Case {
                classname: suite.clone(),
                name: row.service.clone(),
                ..Case::default()
            };
            match (row.outcome.severity(), row.outcome) {
                (_, Kind::Skipped) => case.skipped = Some(row.summary.clone()),
                (None, _) => case.passed = vec![said.join("\n")],
                (Some(Severity::Failed), _) => case.failed = said,
                (Some(Severity::Error), _) => case.errors = said,
            }
            case
        })
        .collect();
    render(&suite, &[(suite.clone(), cases)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junit_has_a_case_per_service_and_escapes() {
        let mut failed = Row::bare(
            "ecs://prod/web".into(),
            Kind::Failed,
            "FAILED: <x> & \"y\"".into(),
        );
        failed.cause.push("task a stopped".into());
        let rows = [
            Row::bare("ecs://prod/api".into(), Kind::Deployed, "deployed".into()),
            failed,
            Row::bare("ecs://prod/db".into(), Kind::Refused, "refused".into()),
        ];
        let x = junit("deploy", &rows);
        assert!(x.contains("tests=\"3\" failures=\"1\" errors=\"1\""), "{x}");
        assert!(x.contains("name=\"ecs://prod/web\""), "{x}");
        assert!(x.contains("FAILED: &lt;x&gt; &amp; &quot;y&quot;"), "{x}");
        assert!(x.contains("task a stopped</failure>"), "{x}");
    }
}
