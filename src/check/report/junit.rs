//! The report as JUnit XML, the format `CodeBuild` report groups read (`file-format: JUNITXML`):
//! a test suite per check, a test case per subject of that check (file x check), failing with
//! every message found for it. Pure: a [`Report`] in, the XML text out. Test case names never hold
//! an absolute build path ([`Paths`]): `CodeBuild` builds under a new `/codebuild/output/srcNNN/`
//! each time, and a report group follows a case's history by its name. [`render`] writes any
//! suites of [`Case`]s; `emit --junit` uses it too.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::{Report, Severity};

/// One test case: what passed, failed or could not be read of one subject, or why it was skipped.
#[derive(Clone, Debug, Default)]
pub struct Case {
    pub classname: String,
    pub name: String,
    pub passed: Vec<String>,
    pub failed: Vec<String>,
    pub errors: Vec<String>,
    /// Not run: why (a case that failed or errs is not skipped).
    pub skipped: Option<String>,
}

impl Case {
    fn errs(&self) -> bool {
        !self.errors.is_empty()
    }

    fn fails(&self) -> bool {
        self.errors.is_empty() && !self.failed.is_empty()
    }

    fn skips(&self) -> bool {
        self.errors.is_empty() && self.failed.is_empty() && self.skipped.is_some()
    }
}

/// The directories a build's absolute paths start with (the working directory,
/// `$CODEBUILD_SRC_DIR`, and each `$CODEBUILD_SRC_DIR_<id>`, whose paths are named `<id>:...` as
/// discovery names them): a subject's path under one is named relative to it, and an absolute
/// path in parentheses after a subject's stable name (`web:imageDetail.json (/codebuild/...)`) is
/// left out.
#[derive(Clone, Debug, Default)]
pub struct Paths {
    /// Each base ending in `/`, with what stands for it; longest first.
    bases: Vec<(String, String)>,
}

impl Paths {
    /// The bases of this process: its working directory, `$CODEBUILD_SRC_DIR` and every
    /// `$CODEBUILD_SRC_DIR_<id>`.
    #[must_use]
    pub fn here() -> Paths {
        let mut bases: Vec<(PathBuf, String)> = std::env::current_dir()
            .ok()
            .map(|d| (d, String::new()))
            .into_iter()
            .collect();
        for (name, value) in std::env::vars_os() {
            let Some(name) = name.to_str() else { continue };
            if name == "CODEBUILD_SRC_DIR" {
                bases.push((PathBuf::from(value), String::new()));
            } else if let Some(id) = name.strip_prefix("CODEBUILD_SRC_DIR_") {
                bases.push((PathBuf::from(value), format!("{id}:")));
            }
        }
        Paths::with(bases)
    }

    /// The bases `dirs`, each named relative to itself.
    #[cfg(test)]
    pub fn of<'a>(dirs: impl IntoIterator<Item = &'a Path>) -> Paths {
        Paths::with(dirs.into_iter().map(|d| (d.to_path_buf(), String::new())))
    }

    fn with(dirs: impl IntoIterator<Item = (PathBuf, String)>) -> Paths {
        let mut bases: Vec<(String, String)> = dirs
            .into_iter()
            .filter(|(d, _)| d.is_absolute() && d.parent().is_some())
            .map(|(d, to)| {
                (
                    format!("{}/", d.display().to_string().trim_end_matches('/')),
                    to,
                )
            })
            .collect();
        bases.sort_by_key(|(b, _)| std::cmp::Reverse(b.len()));
        bases.dedup_by(|a, b| a.0 == b.0);
        Paths { bases }
    }

    /// `subject` without an absolute path in closing parentheses (what follows a discovered
    /// file's `artifact:path`), and every other absolute path under a base made relative (only
    /// where a path starts: at the start, or after a space, a parenthesis or a quote).
    #[must_use]
    pub fn name(&self, subject: &str) -> String {
        let mut name = subject.to_owned();
        if name.ends_with(')')
            && let Some(at) = name.rfind(" (/")
        {
            name.truncate(at);
        }
        for (base, to) in &self.bases {
            let mut out = String::with_capacity(name.len());
            let mut rest = name.as_str();
            while let Some(at) = rest.find(base.as_str()) {
                let starts = out.is_empty() && at == 0
                    || rest[..at]
                        .chars()
                        .next_back()
                        .or_else(|| out.chars().next_back())
                        .is_some_and(|c| matches!(c, ' ' | '(' | '"' | '\''));
                out.push_str(&rest[..at]);
                out.push_str(if starts { to } else { base });
                rest = &rest[at + base.len()..];
            }
            out.push_str(rest);
            name = out;
        }
        name
    }

    /// `path` as a case names it: relative as given; under a base, relative to it; else its file
    /// name.
    #[must_use]
    pub fn path(&self, path: &Path) -> String {
        if path.is_relative() {
            return path.display().to_string();
        }
        let shown = path.display().to_string();
        self.bases
            .iter()
            .find_map(|(b, to)| {
                shown
                    .strip_prefix(b.as_str())
                    .map(|rest| format!("{to}{rest}"))
            })
            .unwrap_or_else(|| {
                path.file_name()
                    .map_or(shown.clone(), |n| n.to_string_lossy().into_owned())
            })
    }
}

/// The report as a JUnit XML document, case names relative to `paths`.
#[must_use]
pub fn xml(report: &Report, paths: &Paths) -> String {
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
    let mut suites: Vec<(String, Vec<Case>)> = Vec::new();
    let mut index: HashMap<(&str, &str), (usize, usize)> = HashMap::new();
    for (check, subject, severity, text) in entries {
        let (s, c) = *index.entry((check, subject)).or_insert_with(|| {
            let s = suites
                .iter()
                .position(|(name, _)| name == check)
                .unwrap_or_else(|| {
                    suites.push((check.to_owned(), Vec::new()));
                    suites.len() - 1
                });
            suites[s].1.push(Case {
                classname: format!("imagedef.{check}"),
                name: paths.name(subject),
                ..Case::default()
            });
            (s, suites[s].1.len() - 1)
        });
        let case = &mut suites[s].1[c];
        let text = text.to_owned();
        match severity {
            None => case.passed.push(text),
            Some(Severity::Failed) => case.failed.push(text),
            Some(Severity::Error) => case.errors.push(text),
        }
    }
    render("imagedef verify", &suites)
}

/// The XML of `suites` (each a name and its cases) under `<testsuites name="{title}">`.
#[must_use]
pub fn render(title: &str, suites: &[(String, Vec<Case>)]) -> String {
    let count = |cases: &[Case], pick: fn(&Case) -> bool| cases.iter().filter(|c| pick(c)).count();
    let all: Vec<Case> = suites.iter().flat_map(|(_, c)| c.iter().cloned()).collect();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\">",
        escape(title),
        all.len(),
        count(&all, Case::fails),
        count(&all, Case::errs),
    );
    for (suite, cases) in suites {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
            escape(suite),
            cases.len(),
            count(cases, Case::fails),
            count(cases, Case::errs),
            count(cases, Case::skips),
        );
        for c in cases {
            case(&mut out, c);
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// One `<testcase>`.
fn case(out: &mut String, c: &Case) {
    let _ = write!(
        out,
        "    <testcase classname=\"{}\" name=\"{}\"",
        escape(&c.classname),
        escape(&c.name)
    );
    if c.failed.is_empty() && c.errors.is_empty() && c.passed.is_empty() && c.skipped.is_none() {
        out.push_str("/>\n");
        return;
    }
    out.push_str(">\n");
    // An error (unreadable or malformed input) outranks a failed check.
    let (element, kind, messages) = if c.errors.is_empty() {
        ("failure", "failed", &c.failed)
    } else {
        ("error", "error", &c.errors)
    };
    if let Some(first) = messages.first() {
        let all: Vec<&str> = c
            .errors
            .iter()
            .chain(&c.failed)
            .map(String::as_str)
            .collect();
        let _ = writeln!(
            out,
            "      <{element} message=\"{}\" type=\"{kind}\">{}</{element}>",
            escape(first),
            escape(&all.join("\n"))
        );
    } else if let Some(why) = &c.skipped {
        let _ = writeln!(out, "      <skipped message=\"{}\"/>", escape(why));
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

/// Text made safe for XML content and attributes; characters XML 1.0 cannot hold become U+FFFD.
fn escape(text: &str) -> String {
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
        let xml = xml(&report, &Paths::default());
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

    #[test]
    fn names_hold_no_absolute_build_path() {
        let paths = Paths::of([
            Path::new("/codebuild/output/src123/src/s3/00"),
            Path::new("/codebuild/output/src123/src/s3/00/sub/"),
        ]);
        assert_eq!(
            paths.name(
                "web:imageDetail.json (/codebuild/output/src123/src/s3/00/web/imageDetail.json)"
            ),
            "web:imageDetail.json"
        );
        assert_eq!(
            paths
                .name("Api:imageDetail.json (/codebuild/output/src123/src/s3/01/imageDetail.json)"),
            "Api:imageDetail.json"
        );
        assert_eq!(
            paths.name("/codebuild/output/src123/src/s3/00/sub/out/web.zip"),
            "out/web.zip"
        );
        assert_eq!(paths.name("service \"web\" (x)"), "service \"web\" (x)");
        // Only where a path starts: a base inside another path or an image name stays.
        let short = Paths::of([Path::new("/app")]);
        assert_eq!(short.name("deploy/app/x.json"), "deploy/app/x.json");
        assert_eq!(short.name("reg.io/app/web:1"), "reg.io/app/web:1");
        assert_eq!(short.name("/app/out/web.zip"), "out/web.zip");
        assert_eq!(short.name("bundle \"/app/w.zip\""), "bundle \"w.zip\"");
        let secondary = Paths::with([(
            PathBuf::from("/codebuild/output/src1/src/s3/01"),
            "Bundles:".to_owned(),
        )]);
        assert_eq!(
            secondary.name("/codebuild/output/src1/src/s3/01/web.zip"),
            "Bundles:web.zip"
        );
        assert_eq!(
            paths.path(Path::new("/codebuild/output/src123/src/s3/00/imagedef-out")),
            "imagedef-out"
        );
        assert_eq!(paths.path(Path::new("/tmp/elsewhere/out")), "out");
        assert_eq!(paths.path(Path::new("imagedef-out")), "imagedef-out");
    }
}
