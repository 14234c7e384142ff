//! The report as the lines `verify` prints: `ok` for what passed (discovered images first),
//! `FAILED`/`ERROR` for each finding, then the counts. Every subject and message is escaped, so
//! none of them, whatever file it names, can start a line of its own: a message imagedef wrote on
//! several lines goes on in lines indented under it.

use std::fmt::Write as _;

use super::{Report, Severity};
use crate::io::escape;

/// The report as text, one line a result and a last line of counts; `quiet` (`-q`): only the
/// results that did not pass, and nothing when all passed.
#[must_use]
pub fn render(report: &Report, quiet: bool) -> String {
    let mut text = String::new();
    if quiet && report.findings().is_empty() {
        return text;
    }
    for p in report.passes_images_first().filter(|_| !quiet) {
        let (subject, detail) = (escape::line(&p.subject), escape::line(&p.detail));
        let _ = writeln!(text, "ok      {subject}: {detail}");
    }
    for f in report.findings() {
        let tag = match f.severity {
            Severity::Failed => "FAILED",
            Severity::Error => "ERROR ",
        };
        let subject = escape::line(&f.subject);
        let message = escape::lines(&f.message).replace('\n', "\n        ");
        let _ = writeln!(text, "{tag}  {subject}: {message}");
    }
    let _ = writeln!(
        text,
        "{} passed, {} failed",
        report.passes().len(),
        report.findings().len()
    );
    text
}

#[cfg(test)]
mod tests {
    use super::super::Check;
    use super::*;

    #[test]
    fn images_first_then_other_passes_then_findings_then_counts() {
        let mut report = Report::default();
        report.record(Check::Bundle, |r| {
            r.ok("a.zip", "reads cleanly");
            r.error("b.zip", "cannot read bundle b.zip");
        });
        report.record(Check::ImageDetail, |r| {
            r.image("web:imageDetail.json", "repo@sha256:1");
            r.fail("api:imageDetail.json", "disagrees");
        });
        assert_eq!(
            render(&report, false),
            "ok      web:imageDetail.json: repo@sha256:1\n\
             ok      a.zip: reads cleanly\n\
             ERROR   b.zip: cannot read bundle b.zip\n\
             FAILED  api:imageDetail.json: disagrees\n\
             2 passed, 2 failed\n"
        );
        assert_eq!(
            render(&report, true),
            "ERROR   b.zip: cannot read bundle b.zip\n\
             FAILED  api:imageDetail.json: disagrees\n\
             2 passed, 2 failed\n"
        );
    }

    #[test]
    fn quiet_says_nothing_when_everything_passed() {
        let mut report = Report::default();
        report.record(Check::Bundle, |r| r.ok("a.zip", "reads cleanly"));
        assert_eq!(render(&report, true), "");
    }
}
