//! The files imagedef writes for the deploy actions, and reads again to verify them: their names,
//! their shapes, and how they are serialised and parsed.
//!
//! - [`ImageDefinitions`]: `imagedefinitions.json`, for the ECS standard deploy action;
//! - [`BlueGreenDetail`]: `imageDetail.json` as `{"ImageURI": ...}`, for `CodeDeployToECS`;
//! - [`Sha256Sums`]: `SHA256SUMS`, as `sha256sum -c` reads it, and its one loader;
//! - [`ServiceFile`]: the files of a service's folder, by name;
//!
//! and the rules for names in OUT: what a bundle is ([`is_bundle`]), what a bare file name is
//! ([`is_bare_name`]), and how staging folders are named ([`StageName`]).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::json;
use super::{ContainerName, Digest, ImageRef};

/// The ECS standard deploy action's file.
pub const IMAGE_DEFINITIONS: &str = "imagedefinitions.json";
/// The blue/green (`CodeDeployToECS`) action's file; also the ECR source action's.
pub const IMAGE_DETAIL: &str = "imageDetail.json";
/// The checksums of every file written, beside them.
pub const SHA256SUMS: &str = "SHA256SUMS";
/// What resolved to what, from which file (mapping mode).
pub const REPORT: &str = "imagedef-report.json";
/// The single-image mode's bundle.
pub const SINGLE_BUNDLE: &str = "imagedefinitions.zip";

/// One file of a service's folder (and of its bundle). Which of them a service gets is
/// [`crate::model::mapping::Service::files`]: the one list `emit` writes by and `imagedef
/// buildspec` and `verify --buildspec` hand to the service's artifact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceFile {
    /// `imagedefinitions.json`, for the ECS standard deploy action: every service.
    ImageDefinitions,
    /// `imageDetail.json`, for `CodeDeployToECS`: a service with `blueGreen`.
    ImageDetail,
    /// `taskdef.json`, the checked task definition template: with `taskDefinitionTemplate`.
    TaskDefinitionTemplate,
    /// `appspec.yaml`, the checked `AppSpec`: with `appSpec`.
    AppSpec,
}

impl ServiceFile {
    /// Every file a service may get, in the order written.
    pub const ALL: [ServiceFile; 4] = [
        ServiceFile::ImageDefinitions,
        ServiceFile::ImageDetail,
        ServiceFile::TaskDefinitionTemplate,
        ServiceFile::AppSpec,
    ];

    /// The file's name in the service's folder and at the root of its bundle.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            ServiceFile::ImageDefinitions => IMAGE_DEFINITIONS,
            ServiceFile::ImageDetail => IMAGE_DETAIL,
            ServiceFile::TaskDefinitionTemplate => super::blue_green::TASKDEF,
            ServiceFile::AppSpec => super::blue_green::APPSPEC,
        }
    }
}

/// A bundle: a file name ending in `.zip`, in any case.
#[must_use]
pub fn is_bundle(name: &str) -> bool {
    bundle_stem(name).is_some()
}

/// The service a bundle is named after: `web` for `web.zip` (or `web.ZIP`); `None` for a name
/// that is no bundle.
#[must_use]
pub fn bundle_stem(name: &str) -> Option<&str> {
    let at = name.len().checked_sub(4)?;
    let (stem, ext) = (name.get(..at)?, name.get(at..)?);
    ext.eq_ignore_ascii_case(".zip").then_some(stem)
}

/// A plain file name, as a zip entry at the root or a file of a bundle: not empty, not `.` or
/// `..`, no separator (`/` or `\`) and no drive (`C:x`).
#[must_use]
pub fn is_bare_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && !(name.len() >= 2 && name.as_bytes()[1] == b':')
}

/// The name of a folder a mapping-mode run stages its generation in, or sets the previous one
/// aside in. Discovery never reads them; the next run removes those a killed run left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StageName {
    /// `.<OUT>.imagedef-stage-<pid>`, beside OUT: the new generation.
    Beside { out: String, pid: u32 },
    /// `.<OUT>.imagedef-old-<pid>`, beside OUT: the previous generation, set aside.
    Aside { out: String, pid: u32 },
    /// `.imagedef-stage-<pid>`, inside OUT (when OUT is replaced entry by entry).
    Inside { pid: u32 },
}

impl StageName {
    /// The name, if it is one exactly (a pid of digits only, nothing after it).
    #[must_use]
    pub fn parse(name: &str) -> Option<StageName> {
        let pid = |tail: &str| -> Option<u32> {
            (!tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()))
                .then(|| tail.parse().ok())
                .flatten()
        };
        let rest = name.strip_prefix('.')?;
        if let Some(pid) = rest.strip_prefix("imagedef-stage-").and_then(pid) {
            return Some(StageName::Inside { pid });
        }
        let (out, kind) = rest.rsplit_once(".imagedef-")?;
        let out = out.to_owned();
        if let Some(pid) = kind.strip_prefix("stage-").and_then(pid) {
            Some(StageName::Beside { out, pid })
        } else {
            let pid = kind.strip_prefix("old-").and_then(pid)?;
            Some(StageName::Aside { out, pid })
        }
    }

    /// The process that named it.
    #[must_use]
    pub fn pid(&self) -> u32 {
        match self {
            StageName::Beside { pid, .. }
            | StageName::Aside { pid, .. }
            | StageName::Inside { pid } => *pid,
        }
    }
}

impl fmt::Display for StageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StageName::Beside { out, pid } => write!(f, ".{out}.imagedef-stage-{pid}"),
            StageName::Aside { out, pid } => write!(f, ".{out}.imagedef-old-{pid}"),
            StageName::Inside { pid } => write!(f, ".imagedef-stage-{pid}"),
        }
    }
}

/// True for the name of a staging folder (see [`StageName`]).
#[must_use]
pub fn is_staging_folder(name: &str) -> bool {
    StageName::parse(name).is_some()
}

/// CodeDeployToECS reads artifacts of at most 3 MB: the largest bundle `publish` sends and
/// `verify --bundle` opens.
pub const MAX_BUNDLE_BYTES: u64 = 3 * 1024 * 1024;

/// The size limit of `imagedefinitions.json` in `CodePipeline` (100 KB).
pub const MAX_IMAGE_DEFINITIONS: usize = 100 * 1024;

/// One `{"name", "imageUri"}` of `imagedefinitions.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImageDefinition {
    pub name: ContainerName,
    #[serde(rename = "imageUri")]
    pub image_uri: ImageRef,
}

/// `imagedefinitions.json`: the containers in the order written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageDefinitions(pub Vec<ImageDefinition>);

/// A file that would break the deploy action's size limit.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "imagedefinitions.json would be {bytes} bytes; CodePipeline reads at most {MAX_IMAGE_DEFINITIONS}; split the containers across services"
)]
pub struct TooLarge {
    pub bytes: usize,
}

/// What `imagedefinitions.json` held, item by item: the entries that are well formed, and what
/// is wrong with the others (each naming its key).
#[derive(Clone, Debug, Default)]
pub struct ParsedDefinitions {
    pub entries: Vec<ImageDefinition>,
    pub problems: Vec<String>,
}

/// Why an `imagedefinitions.json` is unusable as a whole; the caller names the file.
#[derive(Debug, thiserror::Error)]
pub enum DefinitionsError {
    #[error("{0}{hint}", hint = if matches!(.0, json::JsonError::NotUtf8 { .. }) { "; the ECS deploy action requires UTF-8" } else { "" })]
    Json(json::JsonError),
    #[error(
        "is not a JSON array; write [{{\"name\": \"<container>\", \"imageUri\": \"<image>\"}}]"
    )]
    NotArray,
}

impl ImageDefinitions {
    /// Pretty JSON with a final newline, within the 100 KB the deploy action reads.
    pub fn to_bytes(&self) -> Result<Vec<u8>, TooLarge> {
        let bytes = json::pretty(&self.0);
        if bytes.len() > MAX_IMAGE_DEFINITIONS {
            return Err(TooLarge { bytes: bytes.len() });
        }
        Ok(bytes)
    }

    /// Reads the file as the deploy action must find it: UTF-8 JSON, an array of objects with the
    /// string keys `name` (a valid container name, each once) and `imageUri` (a valid reference),
    /// at most 100 KB. `Err` when the file as a whole is unusable; otherwise every item's problem.
    pub fn parse(bytes: &[u8]) -> Result<ParsedDefinitions, DefinitionsError> {
        let mut parsed = ParsedDefinitions::default();
        if bytes.len() > MAX_IMAGE_DEFINITIONS {
            parsed.problems.push(format!(
                "is {} bytes; the ECS deploy action reads at most 100 KB",
                bytes.len()
            ));
        }
        let value = json::parse(bytes).map_err(DefinitionsError::Json)?;
        let Value::Array(items) = value else {
            return Err(DefinitionsError::NotArray);
        };
        if items.is_empty() {
            parsed
                .problems
                .push("is an empty array; it must name at least one container".to_owned());
        }
        let mut names = BTreeMap::new();
        for (i, item) in items.iter().enumerate() {
            let name = item.get("name").and_then(Value::as_str);
            let uri = item.get("imageUri").and_then(Value::as_str);
            let (Some(name), Some(uri)) = (name, uri) else {
                parsed.problems.push(format!(
                    "item [{i}] = {item}: needs the string keys \"name\" and \"imageUri\" (exactly so spelled)"
                ));
                continue;
            };
            let container = name.parse::<ContainerName>();
            if let Err(e) = &container {
                parsed.problems.push(format!("key \"[{i}].name\": {e}"));
            }
            if names.insert(name.to_owned(), i).is_some() {
                parsed.problems.push(format!(
                    "container {name:?} is listed twice; list each container once"
                ));
            }
            match (container, uri.parse::<ImageRef>()) {
                (_, Err(e)) => parsed.problems.push(format!(
                    "key \"[{i}].imageUri\" = {uri:?}: {e}; write a valid image reference"
                )),
                (Ok(name), Ok(image_uri)) => {
                    parsed.entries.push(ImageDefinition { name, image_uri });
                }
                (Err(_), Ok(_)) => {}
            }
        }
        Ok(parsed)
    }
}

/// `imageDetail.json` for the ECS blue/green action: `{"ImageURI": ...}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BlueGreenDetail {
    #[serde(rename = "ImageURI")]
    pub image_uri: ImageRef,
}

impl BlueGreenDetail {
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        json::pretty(self)
    }
}

/// `SHA256SUMS`: one `<hex>  <path>` line per file, sorted by path, as `sha256sum -c` reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sha256Sums(BTreeMap<String, Digest>);

impl Sha256Sums {
    /// The sums of `files` (path, digest); a path given twice keeps its last digest.
    pub fn of<'a>(files: impl IntoIterator<Item = (&'a str, Digest)>) -> Sha256Sums {
        Sha256Sums(
            files
                .into_iter()
                .map(|(path, digest)| (path.to_owned(), digest))
                .collect(),
        )
    }

    /// The digest listed for `path`.
    #[must_use]
    pub fn get(&self, path: &str) -> Option<Digest> {
        self.0.get(path).copied()
    }

    /// Every listed path, sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut text = String::new();
        for (path, digest) in &self.0 {
            text.push_str(&digest.hex());
            text.push_str("  ");
            text.push_str(path);
            text.push('\n');
        }
        text.into_bytes()
    }

    /// Parses the file strictly: every line is `<64 lowercase hex>  <path>` (or `<hex> *<path>`,
    /// the binary marker), and each path is listed once. The error names the line.
    pub fn parse(bytes: &[u8]) -> Result<Sha256Sums, SumsError> {
        let text = std::str::from_utf8(bytes).map_err(|e| SumsError {
            line: bytes[..e.valid_up_to()].split(|b| *b == b'\n').count(),
            problem: "is not UTF-8".to_owned(),
        })?;
        let mut sums = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let at = |problem: String| SumsError {
                line: i + 1,
                problem,
            };
            let parsed = line
                .split_once(' ')
                .and_then(|(hex, rest)| Some((hex, rest.strip_prefix([' ', '*'])?)))
                .filter(|(_, path)| !path.is_empty());
            let Some((hex, path)) = parsed else {
                return Err(at(format!("{line:?} is not \"<sha256 hex>  <file>\"")));
            };
            let digest = format!("sha256:{hex}")
                .parse::<Digest>()
                .map_err(|e| at(format!("the digest {hex:?} for {path} {e}")))?;
            if sums.insert(path.to_owned(), digest).is_some() {
                return Err(at(format!(
                    "{path} is listed a second time; each file has one line"
                )));
            }
        }
        Ok(Sha256Sums(sums))
    }
}

/// The largest `SHA256SUMS` read: far more than any OUT's list of files needs.
pub const MAX_SUMS: u64 = 16 * 1024 * 1024;

impl Sha256Sums {
    /// Reads and parses the `SHA256SUMS` at `path`, within [`MAX_SUMS`].
    pub fn load(path: &Path) -> Result<Sha256Sums, SumsLoadError> {
        let bytes = crate::io::input::read_named(path, MAX_SUMS, SHA256SUMS)?;
        Sha256Sums::parse(&bytes).map_err(|problem| SumsLoadError::Malformed {
            path: path.to_path_buf(),
            problem,
        })
    }
}

/// Why [`Sha256Sums::load`] gave no sums.
#[derive(Debug, thiserror::Error)]
pub enum SumsLoadError {
    #[error(transparent)]
    Unread(#[from] crate::io::input::NamedReadError),
    /// `<path>: line N: ...`
    #[error("{}: {problem}", path.display())]
    Malformed { path: PathBuf, problem: SumsError },
}

/// Why a `SHA256SUMS` file is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SumsError {
    /// 1-based.
    pub line: usize,
    pub problem: String,
}

impl fmt::Display for SumsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.problem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs(entries: &[(&str, &str)]) -> ImageDefinitions {
        ImageDefinitions(
            entries
                .iter()
                .map(|(n, u)| ImageDefinition {
                    name: n.parse().unwrap(),
                    image_uri: u.parse().unwrap(),
                })
                .collect(),
        )
    }

    #[test]
    fn image_definitions_bytes_and_back() {
        let d = defs(&[("web", "a.io/web:v1"), ("proxy", "nginx:1.27")]);
        let bytes = d.to_bytes().unwrap();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            "[\n  {\n    \"name\": \"web\",\n    \"imageUri\": \"a.io/web:v1\"\n  },\n  {\n    \"name\": \"proxy\",\n    \"imageUri\": \"nginx:1.27\"\n  }\n]\n"
        );
        let back = ImageDefinitions::parse(&bytes).unwrap();
        assert_eq!(back.entries, d.0);
        assert!(back.problems.is_empty());
    }

    #[test]
    fn the_100_kb_limit_is_enforced() {
        let uri = format!("a.io/{}", "w".repeat(200));
        let names: Vec<String> = (0..500).map(|i| format!("c{i}")).collect();
        let entries: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), uri.as_str())).collect();
        let e = defs(&entries).to_bytes().unwrap_err().to_string();
        assert!(e.contains("at most 102400"), "{e}");
    }

    #[test]
    fn blue_green_bytes() {
        let got = BlueGreenDetail {
            image_uri: "a.io/web:v1".parse().unwrap(),
        }
        .to_bytes();
        assert_eq!(got, b"{\n  \"ImageURI\": \"a.io/web:v1\"\n}\n");
    }

    #[test]
    fn staging_folders_are_told_apart_exactly() {
        for (name, pid) in [
            (".out.imagedef-stage-12", Some(12)),
            (".imagedef-out.imagedef-old-7", Some(7)),
            (".imagedef-stage-99", Some(99)),
            (".out.imagedef-stage-12x", None),
            (".out.imagedef-stage-", None),
            ("out.imagedef-stage-12", None),
            (".out.imagedef-kept-12", None),
            (".imagedef-old-3", None),
        ] {
            let parsed = StageName::parse(name);
            assert_eq!(parsed.as_ref().map(StageName::pid), pid, "{name}");
            if let Some(stage) = parsed {
                assert_eq!(stage.to_string(), name, "formats as it parses");
            }
        }
        let beside = StageName::Beside {
            out: "imagedef-out".into(),
            pid: 41,
        };
        assert_eq!(StageName::parse(&beside.to_string()), Some(beside));
    }

    #[test]
    fn a_bundle_is_a_zip_in_any_case_and_a_bare_name_has_no_folder_or_drive() {
        for (name, stem) in [
            ("web.zip", Some("web")),
            ("web.ZIP", Some("web")),
            ("a.b.Zip", Some("a.b")),
            (".zip", Some("")),
            ("web.zipx", None),
            ("zip", None),
            ("web/imagedefinitions.json", None),
            ("é.zip", Some("é")),
            ("xé", None),
        ] {
            assert_eq!(bundle_stem(name), stem, "{name}");
            assert_eq!(is_bundle(name), stem.is_some(), "{name}");
        }
        for ok in [
            "imagedefinitions.json",
            "imageDetail.json",
            "a..b",
            "web.zip",
        ] {
            assert!(is_bare_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "/etc/passwd",
            "dir/",
            "a/b.json",
            "..\\x",
            "a\\b",
            "C:x",
            "c:",
        ] {
            assert!(!is_bare_name(bad), "{bad}");
        }
    }

    #[test]
    fn sha256sums_are_loaded_within_the_one_cap() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(SHA256SUMS);
        let sums = Sha256Sums::of([("web.zip", Digest::of(b"w"))]);
        std::fs::write(&path, sums.to_bytes()).unwrap();
        assert_eq!(Sha256Sums::load(&path).unwrap(), sums);
        std::fs::write(&path, "nonsense\n").unwrap();
        assert!(matches!(
            Sha256Sums::load(&path),
            Err(SumsLoadError::Malformed {
                problem: SumsError { line: 1, .. },
                ..
            })
        ));
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(MAX_SUMS + 1).unwrap();
        assert!(matches!(
            Sha256Sums::load(&path),
            Err(SumsLoadError::Unread(crate::io::input::NamedReadError {
                reason: crate::io::input::ReadError::TooLarge {
                    limit: MAX_SUMS,
                    ..
                },
                ..
            }))
        ));
    }

    #[test]
    fn sha256sums_round_trip_sorted_by_path() {
        let sums = Sha256Sums::of([("b/x", Digest::of(b"1")), ("a/y", Digest::of(b"2"))]);
        let text = String::from_utf8(sums.to_bytes()).unwrap();
        assert_eq!(
            text,
            format!(
                "{}  a/y\n{}  b/x\n",
                Digest::of(b"2").hex(),
                Digest::of(b"1").hex()
            )
        );
        assert_eq!(Sha256Sums::parse(text.as_bytes()).unwrap(), sums);
        let binary = format!("{} *a/y\n", Digest::of(b"2").hex());
        assert_eq!(
            Sha256Sums::parse(binary.as_bytes()).unwrap().get("a/y"),
            Some(Digest::of(b"2"))
        );
    }

    #[test]
    fn malformed_or_repeated_lines_are_refused_by_line() {
        let hex = Digest::of(b"1").hex();
        for (text, want) in [
            (
                format!("{hex}  a\n{hex}  a\n"),
                "line 2: a is listed a second time",
            ),
            (
                format!("{hex}  a\nnonsense\n"),
                "line 2: \"nonsense\" is not",
            ),
            (format!("{}  a\n", &hex[..10]), "line 1: the digest"),
            (format!("{hex}  \n"), "line 1:"),
            (format!("{}  a\n", hex.to_uppercase()), "uppercase"),
        ] {
            let e = Sha256Sums::parse(text.as_bytes()).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }
}
