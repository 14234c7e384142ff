//! The report as JUnit XML, the format `CodeBuild` report groups read (`file-format: JUNITXML`):
//! a test suite per check, a test case per subject of that check (file x check), failing with
//! every message found for it. Pure: a [`Report`] in, the XML text out.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::{Report, Severity};

/// One test case: a subject of one check, with what was found.
struct Case<'a> {
    subject: &'a str,
    passed: Vec<&'a str>,
    failed: Vec<&'a str>,
    errors: Vec<&'a str>,
}

/// The report as a JUnit XML document.
#[must_use]
pub fn xml(report: &Report) -> String {
    let entries = report
        .passes_images_first()
        .map(|p| (p.check.name(), p.subject.as_str(), None, p.detail.as_str()))
        .chain(report.findings().iter().map(|f| {
            (
                f.check.name(),
                f.subject.as_str(),
                Some(f.severity),
                f.message.as_str(),
            )
        }));
    // Suites by check and cases by subject, both in the order first seen.
    let mut suites: Vec<(&str, Vec<Case<'_>>)> = Vec::new();
    let mut index: HashMap<(&str, &str), (usize, usize)> = HashMap::new();
    for (check, subject, severity, text) in entries {
        let (s, c) = *index.entry((check, subject)).or_insert_with(|| {
            let s = suites
                .iter()
                .position(|(name, _)| *name == check)
                .unwrap_or_else(|| {
                    suites.push((check, Vec::new()));
                    suites.len() - 1
                });
            suites[s].1.push(Case {
                subject,
                passed: Vec::new(),
                failed: Vec::new(),
                errors: Vec::new(),
            });
            (s, suites[s].1.len() - 1)
        });
        let case = &mut suites[s].1[c];
        match severity {
            None => case.passed.push(text),
            Some(Severity::Failed) => case.failed.push(text),
            Some(Severity::Error) => case.errors.push(text),
        }
    }
    render(&suites)
}

/// The XML of the grouped suites.
fn render(suites: &[(&str, Vec<Case<'_>>)]) -> String {
    let count =
        |cases: &[Case<'_>], pick: fn(&Case<'_>) -> bool| cases.iter().filter(|c| pick(c)).count();
    let all: Vec<&Case<'_>> = suites.iter().flat_map(|(_, c)| c).collect();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"imagedef verify\" tests=\"{}\" failures=\"{}\" errors=\"{}\">",
        all.len(),
        all.iter()
            .filter(|c| c.errors.is_empty() && !c.failed.is_empty())
            .count(),
        all.iter().filter(|c| !c.errors.is_empty()).count(),
    );
    for (check, cases) in suites {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\">",
            escape(check),
            cases.len(),
            count(cases, |c| c.errors.is_empty() && !c.failed.is_empty()),
            count(cases, |c| !c.errors.is_empty()),
        );
        for c in cases {
            let _ = write!(
                out,
                "    <testcase classname=\"imagedef.{}\" name=\"{}\"",
                escape(check),
                escape(c.subject)
            );
            if c.failed.is_empty() && c.errors.is_empty() && c.passed.is_empty() {
                out.push_str("/>\n");
                continue;
            }
            out.push_str(">\n");
            // An error (unreadable or malformed input) outranks a failed check.
            let (element, messages) = if c.errors.is_empty() {
                ("failure", &c.failed)
            } else {
                ("error", &c.errors)
            };
            if let Some(first) = messages.first() {
                let _ = writeln!(
                    out,
                    "      <{element} message=\"{}\" type=\"{}\">{}</{element}>",
                    escape(first),
                    if element == "error" {
                        "error"
                    } else {
                        "failed"
                    },
                    escape(
                        &c.errors
                            .iter()
                            .chain(&c.failed)
                            .copied()
                            .collect::<Vec<_>>()
                            .join("\n")
                    )
                );
            }
            if !c.passed.is_empty() {
                let _ = writeln!(
                    out,
                    "      <system-out>{}</system-out>",
                    escape(&c.passed.join("\n"))
                );
            }
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Text made safe for XML content and attributes; characters XML 1.0 cannot hold become U+FFFD.
/// `deploy`'s and `confirm`'s JUnit reports use it too.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(c),
            c if u32::from(c) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::Check;
    use super::*;

    #[test]
    fn a_suite_per_check_and_a_case_per_subject() {
        let mut report = Report::default();
        report.record(Check::Bundle, |r| {
            r.ok("out/web.zip", "reads cleanly");
            r.fail("out/api.zip", "entry \"a\" <bad> & \"worse\"");
            r.fail("out/api.zip", "and a second thing");
        });
        report.record(Check::Pins, |r| {
            r.error("pins.json", "is not valid JSON\x01");
        });
        let xml = xml(&report);
        assert!(
            xml.contains(
                "<testsuites name=\"imagedef verify\" tests=\"3\" failures=\"1\" errors=\"1\">"
            ),
            "{xml}"
        );
        assert!(
            xml.contains(
                "<testsuite name=\"bundle\" tests=\"2\" failures=\"1\" errors=\"0\" skipped=\"0\">"
            ),
            "{xml}"
        );
        assert!(xml.contains("<testcase classname=\"imagedef.bundle\" name=\"out/web.zip\">\n      <system-out>reads cleanly</system-out>"), "{xml}");
        assert!(xml.contains("<failure message=\"entry &quot;a&quot; &lt;bad&gt; &amp; &quot;worse&quot;\" type=\"failed\">entry &quot;a&quot; &lt;bad&gt; &amp; &quot;worse&quot;&#10;and a second thing</failure>"), "{xml}");
        assert!(
            xml.contains("<error message=\"is not valid JSON\u{fffd}\" type=\"error\">"),
            "{xml}"
        );
    }
}
