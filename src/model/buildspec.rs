//! A `CodeBuild` buildspec, as far as it concerns `emit`'s output: the command that writes OUT, and
//! the `artifacts` section that hands each service's folder `OUT/<service>` to the secondary
//! artifact named as the service (the pipeline's output artifact of that name).
//!
//! [`Generated::for_mapping`] is what `imagedef buildspec` prints (the text is
//! [`crate::output::buildspec`]'s); [`parse`] reads a buildspec's `artifacts` section for `verify
//! --buildspec`, every key of it checked, and leaves the rest of the document to `CodeBuild`.
//! The files of each service come from its one list ([`crate::model::mapping::Service::files`]).

use std::borrow::Cow;
use std::path::{Component, Path};

use serde_json::{Map, Value};

use super::deploy::{REPORT, SHA256SUMS, ServiceFile};
use super::json::{self, JsonError, kind as json_kind};
use super::mapping::Mapping;
use super::yaml::{self, YamlError};

/// The most output artifacts a `CodeBuild` action has in a pipeline ("Valid input and output
/// artifacts for each action type": `CodeBuild`, 0 to 5), so the most services one buildspec can
/// hand an artifact each.
pub const MAX_OUTPUT_ARTIFACTS: usize = 5;

/// The largest buildspec read: far beyond any real one, a bound rather than a `CodeBuild` limit.
pub const MAX_BYTES: u64 = 1024 * 1024;

/// The key of the secondary artifacts, as messages name it.
pub const SECONDARY: &str = "artifacts.secondary-artifacts";

/// The keys of an `artifacts` entry that the buildspec reference documents (version 0.2); the
/// top-level entry also has `secondary-artifacts`.
const ENTRY_KEYS: [&str; 7] = [
    "files",
    "name",
    "discard-paths",
    "base-directory",
    "exclude-paths",
    "enable-symlinks",
    "s3-prefix",
];

/// The buildspec `imagedef buildspec` prints for a mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generated {
    /// The build command: `imagedef emit --mapping FILE --out OUT`, its paths shell-quoted.
    pub command: String,
    /// OUT, the primary artifact's base directory (`CodeBuild` requires a primary `files` even
    /// when the pipeline takes only the secondary artifacts): `imagedef-report.json` and
    /// `SHA256SUMS`.
    pub out: String,
    /// The files of the primary artifact.
    pub primary: [&'static str; 2],
    /// One per service, in the mapping's order.
    pub artifacts: Vec<Artifact>,
}

/// One secondary artifact: a service's folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    /// The service's name, which is the pipeline's output artifact name.
    pub identifier: String,
    /// `OUT/<service>`: its files land at the artifact's root, where the deploy actions look.
    pub base_directory: String,
    /// The service's files, as `emit` writes them.
    pub files: Vec<&'static str>,
}

/// Why `imagedef buildspec` prints nothing (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error(
        "mapping {mapping} has {count} services ({services}), but a CodeBuild action has at most {MAX_OUTPUT_ARTIFACTS} output artifacts (CodePipeline: \"Valid input and output artifacts for each action type\"), so one buildspec cannot hand each service an artifact of its own; either split the services across several build actions, each with its own mapping of at most {MAX_OUTPUT_ARTIFACTS} services and its own buildspec from imagedef buildspec, or write every service's bundle with imagedef emit --mapping {mapping} --bundle and upload them with imagedef publish, for a pipeline with an S3 source action per service"
    )]
    TooMany {
        mapping: String,
        count: usize,
        services: String,
    },
}

impl Generated {
    /// The buildspec for `mapping`, whose file the build names as `mapping_file`, writing to
    /// `out` (both relative to the primary source, where `CodeBuild` runs the commands).
    pub fn for_mapping(
        mapping: &Mapping,
        mapping_file: &RelativePath,
        out: &RelativePath,
    ) -> Result<Generated, GenerateError> {
        let services: Vec<String> = mapping
            .services
            .iter()
            .filter_map(|s| s.name.as_ref().map(ToString::to_string))
            .collect();
        if services.len() > MAX_OUTPUT_ARTIFACTS {
            return Err(GenerateError::TooMany {
                mapping: mapping_file.to_string(),
                count: services.len(),
                services: services.join(", "),
            });
        }
        let artifacts = mapping
            .services
            .iter()
            .filter_map(|s| {
                let name = s.name.as_ref()?;
                Some(Artifact {
                    identifier: name.to_string(),
                    base_directory: format!("{out}/{name}"),
                    files: s.files().into_iter().map(ServiceFile::name).collect(),
                })
            })
            .collect();
        Ok(Generated {
            command: format!(
                "imagedef emit --mapping {} --out {}",
                shell_word(&mapping_file.0),
                shell_word(&out.0)
            ),
            out: out.to_string(),
            primary: [REPORT, SHA256SUMS],
            artifacts,
        })
    }
}

/// What `verify --buildspec` holds against each other.
#[derive(Clone, Debug)]
pub struct Inputs {
    /// `--buildspec`.
    pub buildspec: std::path::PathBuf,
    /// `--mapping`.
    pub mapping: std::path::PathBuf,
    /// `--out`: the output directory of the buildspec's `imagedef emit`.
    pub out: RelativePath,
}

/// A path inside the primary source, relative to it, `/`-separated, without `.` or `..`: where
/// `CodeBuild` runs the build's commands and takes the artifacts' paths from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelativePath(String);

/// Why a path cannot be a [`RelativePath`]; each names the path (the caller names the option).
#[derive(Debug, thiserror::Error)]
pub enum RelativePathError {
    #[error("{0} is not UTF-8; a buildspec is UTF-8 text: rename it")]
    NotUtf8(String),
    #[error(
        "{0} is absolute; CodeBuild runs the build in the primary source and takes artifact paths relative to it ($CODEBUILD_SRC_DIR): give the path relative to the source's root"
    )]
    Absolute(String),
    #[error(
        "{0} leaves the folder it is relative to; CodeBuild takes artifact paths inside the primary source ($CODEBUILD_SRC_DIR) and skips the rest (\"no matching artifact paths found\"): give a path inside it"
    )]
    Leaves(String),
    #[error("{0} names the source's root; give a folder of its own, such as imagedef-out")]
    Root(String),
}

impl RelativePath {
    /// `path` as the buildspec writes it, or why it cannot be one.
    pub fn new(path: &Path) -> Result<RelativePath, RelativePathError> {
        let shown = || crate::io::escape::path(path);
        let mut parts = Vec::new();
        for part in path.components() {
            match part {
                Component::Normal(p) => {
                    parts.push(
                        p.to_str()
                            .ok_or_else(|| RelativePathError::NotUtf8(shown()))?,
                    );
                }
                Component::CurDir => {}
                Component::RootDir | Component::Prefix(_) => {
                    return Err(RelativePathError::Absolute(shown()));
                }
                Component::ParentDir => return Err(RelativePathError::Leaves(shown())),
            }
        }
        if parts.is_empty() {
            return Err(RelativePathError::Root(shown()));
        }
        Ok(RelativePath(parts.join("/")))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RelativePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `s` as one word for `/bin/sh`: as written when it holds only characters the shell takes
/// literally, else in single quotes (a `'` as `'\''`).
#[must_use]
pub fn shell_word(s: &str) -> Cow<'_, str> {
    let literal = |c: char| c.is_ascii_alphanumeric() || "_./-+,:@%=".contains(c);
    if !s.is_empty() && s.chars().all(literal) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(format!("'{}'", s.replace('\'', r"'\''")))
    }
}

/// A buildspec's `artifacts` section, as read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Artifacts {
    /// The section is there at all.
    pub present: bool,
    /// The top-level entry (`artifacts.files`, `artifacts.base-directory`, ...).
    pub primary: Entry,
    /// `artifacts.secondary-artifacts`, by identifier, in file order.
    pub secondary: Vec<(String, Entry)>,
}

/// One `artifacts` entry: what imagedef compares of it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    /// `base-directory`, without a leading `./` or a trailing `/`.
    pub base_directory: Option<String>,
    /// `files`: paths or globs relative to the base directory, as written.
    pub files: Option<Vec<String>>,
    /// `exclude-paths`, as written.
    pub exclude_paths: Vec<String>,
    /// `discard-paths: yes`: every file lands at the artifact's root, whatever folder it is in.
    pub discard_paths: bool,
}

/// Why a buildspec is not read (exit 2); the caller names the file.
#[derive(Debug, thiserror::Error)]
pub enum BuildspecError {
    #[error("{0}; save it as UTF-8")]
    Text(JsonError),
    #[error(transparent)]
    Yaml(#[from] YamlError),
    #[error("is {0}, not a mapping; a buildspec starts with version: 0.2")]
    NotMapping(&'static str),
    #[error("key {at:?} is {kind}, not a mapping; {fix}")]
    NotEntry {
        at: String,
        kind: &'static str,
        fix: &'static str,
    },
    #[error(
        "key {at:?} is {kind}, not a list of paths; write it as a list, e.g. {key}: [imagedefinitions.json]"
    )]
    NotList {
        at: String,
        key: &'static str,
        kind: &'static str,
    },
    #[error("key {at:?} holds {kind}, not a path; write the path as text")]
    NotPath { at: String, kind: &'static str },
    #[error(
        "key {at:?} is not one of an artifact's keys in the buildspec reference ({known}); correct or remove it"
    )]
    UnknownKey { at: String, known: String },
}

/// Reads a buildspec's `artifacts` section: YAML as [`yaml::BUILDSPEC`] reads it (one document,
/// no aliases, no tags), every key of the section known, every path text.
pub fn parse(bytes: &[u8]) -> Result<Artifacts, BuildspecError> {
    let text = json::text(bytes).map_err(BuildspecError::Text)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value = yaml::parse(text, &yaml::BUILDSPEC)?;
    let Some(doc) = value.as_object() else {
        return Err(BuildspecError::NotMapping(json_kind(&value)));
    };
    let Some(section) = doc.get("artifacts") else {
        return Ok(Artifacts::default());
    };
    let section = mapping_at(
        section,
        "artifacts",
        "files and secondary-artifacts go under it",
    )?;
    let mut artifacts = Artifacts {
        present: true,
        primary: entry(section, "artifacts", true)?,
        secondary: Vec::new(),
    };
    if let Some(secondary) = section.get("secondary-artifacts") {
        let secondary = mapping_at(
            secondary,
            SECONDARY,
            "it maps each artifact identifier to its files and base-directory",
        )?;
        for (id, value) in secondary {
            let at = format!("{SECONDARY}.{id}");
            let value = mapping_at(value, &at, "an artifact has files and base-directory")?;
            artifacts
                .secondary
                .push((id.clone(), entry(value, &at, false)?));
        }
    }
    Ok(artifacts)
}

fn mapping_at<'v>(
    value: &'v Value,
    at: &str,
    fix: &'static str,
) -> Result<&'v Map<String, Value>, BuildspecError> {
    value.as_object().ok_or_else(|| BuildspecError::NotEntry {
        at: at.to_owned(),
        kind: json_kind(value),
        fix,
    })
}

/// One entry at `at`; `top`: the section itself, which also holds `secondary-artifacts`.
fn entry(map: &Map<String, Value>, at: &str, top: bool) -> Result<Entry, BuildspecError> {
    if let Some(key) = map
        .keys()
        .find(|k| !(ENTRY_KEYS.contains(&k.as_str()) || (top && *k == "secondary-artifacts")))
    {
        let mut known = ENTRY_KEYS.to_vec();
        if top {
            known.push("secondary-artifacts");
        }
        return Err(BuildspecError::UnknownKey {
            at: format!("{at}.{key}"),
            known: known.join(", "),
        });
    }
    let base_directory = match map.get("base-directory") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(trimmed(s).to_owned()),
        Some(other) => {
            return Err(BuildspecError::NotPath {
                at: format!("{at}.base-directory"),
                kind: json_kind(other),
            });
        }
    };
    let files = map
        .get("files")
        .map(|v| paths(v, at, "files"))
        .transpose()?;
    let exclude_paths = map
        .get("exclude-paths")
        .map(|v| paths(v, at, "exclude-paths"))
        .transpose()?
        .unwrap_or_default();
    let discard_paths = match map.get("discard-paths") {
        Some(Value::Bool(on)) => *on,
        Some(Value::String(s)) => matches!(s.to_ascii_lowercase().as_str(), "yes" | "true"),
        _ => false,
    };
    Ok(Entry {
        base_directory,
        files,
        exclude_paths,
        discard_paths,
    })
}

/// A list of paths at `at.key`.
fn paths(value: &Value, at: &str, key: &'static str) -> Result<Vec<String>, BuildspecError> {
    let at = format!("{at}.{key}");
    // One path may stand alone, as CodeBuild also takes it.
    if let Value::String(one) = value {
        return Ok(vec![one.clone()]);
    }
    let Value::Array(items) = value else {
        return Err(BuildspecError::NotList {
            at,
            key,
            kind: json_kind(value),
        });
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(s) => Ok(s.clone()),
            other => Err(BuildspecError::NotPath {
                at: format!("{at}[{i}]"),
                kind: json_kind(other),
            }),
        })
        .collect()
}

/// A path as `CodeBuild` takes it: without a leading `./` or a trailing `/`.
#[must_use]
pub fn trimmed(path: &str) -> &str {
    let mut path = path.trim_end_matches('/');
    while let Some(rest) = path.strip_prefix("./") {
        path = rest;
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(text: &str) -> Mapping {
        Mapping::parse(text.as_bytes(), Path::new("")).unwrap()
    }

    fn rel(p: &str) -> RelativePath {
        RelativePath::new(Path::new(p)).unwrap()
    }

    #[test]
    fn each_service_gets_an_artifact_of_its_name_with_its_files() {
        let m = mapping(
            r#"{"services": {"web": {"containers": {"web": {"artifact": "A"}}},
                "api": {"containers": {"api": {"artifact": "B"}}, "blueGreen": "api"}}}"#,
        );
        let g = Generated::for_mapping(&m, &rel("ci/imagedef.json"), &rel("./out/")).unwrap();
        assert_eq!(
            g.command,
            "imagedef emit --mapping ci/imagedef.json --out out"
        );
        assert_eq!(g.out, "out");
        assert_eq!(
            g.artifacts,
            [
                Artifact {
                    identifier: "web".into(),
                    base_directory: "out/web".into(),
                    files: vec!["imagedefinitions.json"],
                },
                Artifact {
                    identifier: "api".into(),
                    base_directory: "out/api".into(),
                    files: vec!["imagedefinitions.json", "imageDetail.json"],
                },
            ]
        );
    }

    #[test]
    fn paths_outside_the_source_are_refused() {
        for (path, says) in [
            ("/work/out", "is absolute"),
            ("../out", "leaves the folder"),
            ("out/../..", "leaves the folder"),
            (".", "names the source's root"),
        ] {
            let e = RelativePath::new(Path::new(path)).unwrap_err().to_string();
            assert!(e.contains(says), "{path}: {e}");
        }
        assert_eq!(rel("a//b/./c").as_str(), "a/b/c");
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("imagedef-out/x.json"), "imagedef-out/x.json");
        assert_eq!(shell_word("my dir"), "'my dir'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word("$HOME"), "'$HOME'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn the_artifacts_section_is_read_key_by_key() {
        let text = "version: 0.2\nphases:\n  build:\n    commands:\n      - imagedef emit\nartifacts:\n  files:\n    - SHA256SUMS\n  base-directory: out/\n  discard-paths: yes\n  secondary-artifacts:\n    web:\n      base-directory: ./out/web\n      files: [imagedefinitions.json]\n      exclude-paths: ['*.tmp']\n";
        let a = parse(text.as_bytes()).unwrap();
        assert!(a.present);
        assert!(a.primary.discard_paths, "discard-paths: yes");
        assert_eq!(a.primary.base_directory.as_deref(), Some("out"));
        assert_eq!(a.primary.files, Some(vec!["SHA256SUMS".to_owned()]));
        assert_eq!(
            a.secondary,
            [(
                "web".to_owned(),
                Entry {
                    base_directory: Some("out/web".into()),
                    files: Some(vec!["imagedefinitions.json".into()]),
                    exclude_paths: vec!["*.tmp".into()],
                    discard_paths: false,
                }
            )]
        );
        assert_eq!(
            parse(b"version: 0.2\n").unwrap(),
            Artifacts::default(),
            "no artifacts section"
        );
    }

    proptest::proptest! {
        /// Any text of buildspec-like pieces is read or refused with a message, never a panic.
        #[test]
        fn any_text_is_read_or_refused(pieces in proptest::collection::vec(proptest::sample::select(vec![
            "artifacts:", "secondary-artifacts:", "files:", "base-directory:", "exclude-paths:",
            "web:", "name:", "\n", "  ", "    ", "- ", "[", "]", "{", "}", ", ", ": ", "&a ", "*a",
            "!t ", "'", "\"", "yes", "010", "**/*", "---\n", "#", "?", "|\n", "x",
        ]), 0..40)) {
            match parse(pieces.concat().as_bytes()) {
                Ok(_) => {}
                Err(e) => proptest::prop_assert!(!e.to_string().is_empty()),
            }
        }
    }

    #[test]
    fn a_malformed_section_is_refused_naming_the_key() {
        for (text, says) in [
            (
                "- a\n",
                "is an array, not a mapping; a buildspec starts with version: 0.2",
            ),
            (
                "artifacts: x\n",
                "key \"artifacts\" is a string, not a mapping",
            ),
            (
                "artifacts:\n  secondary-artifacts:\n    web: [a]\n",
                "key \"artifacts.secondary-artifacts.web\" is an array, not a mapping",
            ),
            (
                "artifacts:\n  secondary-artifacts:\n    web:\n      files: 7\n",
                "key \"artifacts.secondary-artifacts.web.files\" is a number, not a list of paths; write it as a list, e.g. files: [imagedefinitions.json]",
            ),
            (
                "artifacts:\n  files:\n    - {a: 1}\n",
                "key \"artifacts.files[0]\" holds an object, not a path",
            ),
            (
                "artifacts:\n  secondary-artifacts:\n    web:\n      base_directory: out/web\n",
                "key \"artifacts.secondary-artifacts.web.base_directory\" is not one of an artifact's keys",
            ),
            ("a: &x 1\nb: *x\n", "uses a YAML alias (*x) at line 2"),
            ("", "is empty; a buildspec starts with version: 0.2"),
        ] {
            let e = parse(text.as_bytes()).unwrap_err().to_string();
            assert!(e.contains(says), "{text:?}: {e}");
        }
    }
}
