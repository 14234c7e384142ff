//! The report as `--json` prints it: `ok`, the discovered images that `passed`, the other results
//! that were `checked`, and the `findings`.

use serde::ser::{Serialize, SerializeStruct, Serializer};

use super::{Finding, Pass, Passed, Report};

/// The `--json` document.
#[derive(serde::Serialize)]
pub struct Document<'a> {
    /// No finding at all.
    ok: bool,
    /// The discovered images whose files passed: `{check, subject, image_uri}`.
    passed: Vec<&'a Pass>,
    /// Everything else that passed: `{check, subject, detail}`.
    checked: Vec<&'a Pass>,
    findings: &'a [Finding],
}

impl Serialize for Pass {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Pass", 3)?;
        s.serialize_field("check", &self.check)?;
        s.serialize_field("subject", &self.subject)?;
        let key = match self.kind {
            Passed::Image => "image_uri",
            Passed::Check => "detail",
        };
        s.serialize_field(key, &self.detail)?;
        s.end()
    }
}

/// The report as the `--json` document.
#[must_use]
pub fn document(report: &Report) -> Document<'_> {
    Document {
        ok: report.findings().is_empty(),
        passed: report.passes_of(Passed::Image).collect(),
        checked: report.passes_of(Passed::Check).collect(),
        findings: report.findings(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Check;
    use super::*;

    #[test]
    fn images_are_passed_and_the_rest_checked() {
        let mut report = Report::default();
        report.record(Check::ImageDetail, |r| r.image("web", "repo@sha256:1"));
        report.record(Check::Pins, |r| {
            r.ok("web", "pinned");
            r.fail("api", "not pinned");
        });
        assert_eq!(
            serde_json::to_value(document(&report)).unwrap(),
            serde_json::json!({
                "ok": false,
                "passed": [{"check": "imageDetail", "subject": "web", "image_uri": "repo@sha256:1"}],
                "checked": [{"check": "pins", "subject": "web", "detail": "pinned"}],
                "findings": [{"check": "pins", "severity": "failed", "subject": "api", "message": "not pinned"}],
            })
        );
    }
}
