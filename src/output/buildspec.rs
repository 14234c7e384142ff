//! The text of the buildspec `imagedef buildspec` prints ([`crate::model::buildspec::Generated`]):
//! YAML in one fixed, readable shape, with a comment on each part. Every scalar is written plain
//! when every YAML reader takes it as the same text, else double-quoted with escapes
//! ([`scalar`]), so no path can change the document's shape or reach the terminal raw.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::io::escape;
use crate::model::buildspec::Generated;
use crate::model::yaml;

/// The buildspec as YAML text.
#[must_use]
pub fn text(g: &Generated) -> String {
    let mut y = String::from(
        "# CodeBuild buildspec written by imagedef buildspec from the mapping: the build runs imagedef\n\
         # emit, then hands each service's folder to the output artifact named as the service. After\n\
         # a change to the mapping, write it again, or check it with imagedef verify --buildspec\n\
         # FILE --mapping FILE.\n\
         version: 0.2\n\
         \n\
         phases:\n  build:\n    commands:\n",
    );
    let _ = writeln!(y, "      - {}", scalar(&g.command));
    y.push_str(
        "\nartifacts:\n  # CodeBuild requires files here even when the pipeline takes only the secondary artifacts.\n",
    );
    let _ = writeln!(y, "  base-directory: {}", scalar(&g.out));
    y.push_str("  files:\n");
    for file in g.primary {
        let _ = writeln!(y, "    - {}", scalar(file));
    }
    y.push_str(
        "  secondary-artifacts:\n    # One per service: the identifier is the pipeline's output artifact name; base-directory puts\n    # the service's files at the artifact's root, where its deploy action looks for them.\n",
    );
    for a in &g.artifacts {
        let _ = writeln!(y, "    {}:", scalar(&a.identifier));
        let _ = writeln!(y, "      base-directory: {}", scalar(&a.base_directory));
        y.push_str("      files:\n");
        for file in &a.files {
            let _ = writeln!(y, "        - {}", scalar(file));
        }
    }
    y
}

/// `s` as a YAML scalar: plain when it starts with a letter, holds only letters, digits, spaces
/// and `_./=+,@%-` (no `: ` or ` #` can then occur), does not end in a space, and is no word that
/// YAML 1.1 reads as a boolean or null; else double-quoted, with `"` and `\` escaped and every
/// character that may not be printed raw, or that YAML does not allow raw (a byte-order mark
/// included), written `\uXXXX`.
#[must_use]
pub fn scalar(s: &str) -> Cow<'_, str> {
    let keyword = ["y", "n", "yes", "no", "on", "off", "true", "false", "null"]
        .iter()
        .any(|k| s.eq_ignore_ascii_case(k));
    let plain = s.starts_with(|c: char| c.is_ascii_alphabetic())
        && !s.ends_with(' ')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || " _./=+,@%-".contains(c))
        && !keyword;
    if plain {
        return Cow::Borrowed(s);
    }
    let mut quoted = String::with_capacity(s.len() + 2);
    quoted.push('"');
    for c in s.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if escape::is_unsafe(c) || !yaml::printable(c) || c == '\u{feff}' => {
                let _ = write!(quoted, "\\u{:04x}", u32::from(c));
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    Cow::Owned(quoted)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::model::buildspec::{self, Entry, Generated, RelativePath};
    use crate::model::mapping::Mapping;

    #[test]
    fn scalars_are_plain_only_when_every_reader_agrees() {
        for (s, want) in [
            ("imagedef-out/web", "imagedef-out/web"),
            (
                "imagedef emit --mapping a.json --out b",
                "imagedef emit --mapping a.json --out b",
            ),
            ("yes", "\"yes\""),
            ("Off", "\"Off\""),
            ("010", "\"010\""),
            ("_x", "\"_x\""),
            ("a: b", "\"a: b\""),
            ("a #b", "\"a #b\""),
            ("say \"hi\"", "\"say \\\"hi\\\"\""),
            ("a\\b", "\"a\\\\b\""),
            ("x\ny\u{202e}", "\"x\\u000ay\\u202e\""),
            ("", "\"\""),
        ] {
            assert_eq!(scalar(s), want, "{s:?}");
        }
    }

    fn two_services() -> Mapping {
        Mapping::parse(
            br#"{"services": {"y": {"containers": {"web": {"artifact": "A"}}},
                "api": {"containers": {"api": {"artifact": "B"}}, "blueGreen": "api", "taskDefinitionTemplate": "t.json", "appSpec": "a.yaml"}}}"#,
            Path::new(""),
        )
        .unwrap()
    }

    /// Prints the buildspec for `mapping` and `out`, reads it back with the reader `verify
    /// --buildspec` uses, and compares what it reads with what it was written from.
    fn reads_back(m: &Mapping, mapping: &str, out: &str) -> Result<(), String> {
        let rel = |p: &str| RelativePath::new(Path::new(p)).map_err(|e| e.to_string());
        let g = Generated::for_mapping(m, &rel(mapping)?, &rel(out)?).unwrap();
        let printed = text(&g);
        let read = buildspec::parse(printed.as_bytes()).map_err(|e| format!("{printed}\n{e}"))?;
        let entry = |base: &str, files: &[&str]| Entry {
            base_directory: Some(base.to_owned()),
            files: Some(files.iter().map(|f| (*f).to_owned()).collect()),
            exclude_paths: Vec::new(),
            discard_paths: false,
        };
        let want: Vec<(String, Entry)> = g
            .artifacts
            .iter()
            .map(|a| (a.identifier.clone(), entry(&a.base_directory, &a.files)))
            .collect();
        let doc = crate::model::yaml::parse(&printed, &crate::model::yaml::BUILDSPEC)
            .map_err(|e| e.to_string())?;
        let same = read.primary == entry(&g.out, &g.primary)
            && read.secondary == want
            && doc["version"] == serde_json::json!(0.2)
            && doc["phases"]["build"]["commands"][0] == g.command.as_str();
        if same {
            Ok(())
        } else {
            Err(format!("{printed} reads back as {read:?}"))
        }
    }

    proptest::proptest! {
        /// Whatever the paths hold (quotes, colons, #, line breaks, controls, bidi, a byte-order
        /// mark), the printed buildspec reads back as written.
        #[test]
        fn any_paths_read_back(
            mapping in proptest::collection::vec("[a-z0-9 :#'\"\\\\\t\n\u{85}\u{a0}\u{e9}\u{202e}\u{feff}\u{fffe}-]{1,6}", 1..4),
            out in proptest::collection::vec("[a-z0-9 :#'\"\\\\\t\n\u{85}\u{a0}\u{e9}\u{202e}\u{feff}\u{fffe}-]{1,6}", 1..4),
        ) {
            let m = two_services();
            reads_back(&m, &mapping.join("/"), &out.join("/")).map_err(proptest::test_runner::TestCaseError::fail)?;
        }
    }

    /// What is printed reads back, through the reader `verify --buildspec` uses, as the artifacts
    /// it was written from, whatever the paths hold.
    #[test]
    fn the_printed_buildspec_reads_back_as_written() {
        let m = two_services();
        for (mapping, out) in [
            ("imagedef.json", "imagedef-out"),
            ("my dir/it's.json", "out #1/a: b"),
            ("x\"\\.json", "010"),
            ("caf\u{e9}\u{202e}.json", "yes"),
        ] {
            reads_back(&m, mapping, out).unwrap();
        }
    }
}
