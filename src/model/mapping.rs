//! The mapping file of emit's mapping mode: services -> containers -> images, parsed strictly.
//!
//! Every key is checked: an unknown or duplicated key is an error naming its path in the file
//! (`services.web.containers.proxy`), so a typo never silently drops a container. Services and
//! containers keep their order in the file. Parsing is pure: bytes in, a [`Mapping`] or a message
//! out; the caller adds the file name.

use std::fmt;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::blue_green;
use super::deploy::ServiceFile;
use super::findings::Thresholds;
use super::json::{self, JsonError, kind as json_kind};
use super::reference::MAX_REFERENCE_LEN;
use super::rules::{Origin, Rule, Rules, TagPatternError};
use super::task_definition::SourceError;
use crate::model::{ContainerName, ImageDetail, ImageRef, ServiceName, TaskDefinitionSource};

/// The mapping file's JSON Schema (draft 2020-12), as `imagedef schema` prints it; kept in the
/// repository as `schema/mapping.schema.json` and held against this parser by the tests.
pub const SCHEMA: &str = include_str!("../../schema/mapping.schema.json");

/// A parsed mapping file, or the one implicit service of single-image mode ([`Mapping::single`]).
#[derive(Clone, Debug)]
pub struct Mapping {
    /// The file as given on the command line; `None` in single-image mode.
    pub path: Option<PathBuf>,
    /// The top-level `uri`, `tagPattern`, `platform` and `findings`.
    pub rules: Rules,
    /// `strict`: every check that cannot run for a service is a failure, as with `--strict`.
    pub strict: bool,
    /// In file order.
    pub services: Vec<Service>,
}

/// One ECS service: the files of one deploy action.
#[derive(Clone, Debug)]
pub struct Service {
    /// `None` for single-image mode's one service, whose files go to the output's root.
    pub name: Option<ServiceName>,
    /// In file order, which is the order written to `imagedefinitions.json`.
    pub containers: Vec<Container>,
    /// The service's `uri`, `tagPattern`, `platform` and `findings`, which win over the top level's.
    pub rules: Rules,
    /// `taskDefinition` as written in the mapping.
    pub task_definition: Option<String>,
    /// `taskDefinition`: a path relative to the directory of the mapping file, or
    /// `ecs://CLUSTER/SERVICE` (not joined to it).
    pub task_definition_source: Option<TaskDefinitionSource>,
    /// `roleArn`, beside an `ecs://` `taskDefinition`: the role assumed to reach that service
    /// (a service in another account), by `emit`'s lookup and by `deploy --out`.
    pub role_arn: Option<super::role::RoleArn>,
    /// The container whose image goes into this service's `imageDetail.json`.
    pub blue_green: Option<ContainerName>,
    /// `taskDefinitionTemplate`, `appSpec` and `imagePlaceholder` of a blue/green service: checked,
    /// then written beside its `imageDetail.json`.
    pub blue_green_inputs: Option<blue_green::Inputs>,
}

impl Service {
    /// The files `emit` writes for this service, in the order written: `imagedefinitions.json`;
    /// `imageDetail.json` with `blueGreen`; `taskdef.json` and `appspec.yaml` with
    /// `taskDefinitionTemplate` and `appSpec`. The one list of them: the writer
    /// ([`crate::output::layout`]) renders by it, and `imagedef buildspec` and `verify --buildspec`
    /// hand it to the service's artifact.
    #[must_use]
    pub fn files(&self) -> Vec<ServiceFile> {
        let mut files = vec![ServiceFile::ImageDefinitions];
        if self.blue_green.is_some() {
            files.push(ServiceFile::ImageDetail);
        }
        if self.blue_green_inputs.is_some() {
            files.extend([ServiceFile::TaskDefinitionTemplate, ServiceFile::AppSpec]);
        }
        files
    }
}

/// One container of a service and where its image comes from.
#[derive(Clone, Debug)]
pub struct Container {
    pub name: ContainerName,
    pub source: Source,
}

#[derive(Clone, Debug)]
pub enum Source {
    /// `image`: a reference written as given, not taken from an artifact.
    Fixed(ImageRef),
    /// `repository` / `artifact` / `path`: the discovered image that matches all of them.
    Select(Selector),
    /// Single-image mode: the one image discovered, whatever it is.
    Any,
}

/// Conditions on a discovered imageDetail.json, combined with AND. At least one is set.
#[derive(Clone, Debug)]
pub struct Selector {
    /// The image's repository (the repository part of its `ImageURI`).
    pub repository: Option<String>,
    /// The input artifact's name.
    pub artifact: Option<String>,
    /// A glob on the `/`-separated path inside the artifact; `*` stays within one folder.
    pub path: Option<PathGlob>,
}

/// A compiled `path` glob and the text it came from.
#[derive(Clone, Debug)]
pub struct PathGlob {
    pub text: String,
    matcher: GlobMatcher,
}

pub use super::rules::MAX_PATTERN;

/// Why a `path` glob is refused; the caller names the key.
#[derive(Clone, Debug, thiserror::Error)]
pub enum GlobError {
    #[error("is {0} characters long, more than the {MAX_PATTERN} a glob may have")]
    TooLong(usize),
    #[error("is not a valid glob ({0})")]
    Invalid(Box<globset::Error>),
}

/// Why a mapping file is refused: the key (its dotted path in the file), the value, and the fix.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("{0}; {fix}", fix = match .0 {
        JsonError::NotUtf8 { .. } => "save it as UTF-8",
        JsonError::TooDeep(_) => "no mapping nests that deep: is it the right file?",
        JsonError::Syntax(_) => "correct the JSON at that line and column",
        JsonError::DuplicateKey(_) => "keep one (a JSON reader would silently drop the other)",
    })]
    Json(JsonError),
    #[error(
        "is not a JSON object; a mapping looks like {{\"services\": {{\"web\": {{\"containers\": {{\"web\": {{\"repository\": \"shop/web\"}}}}}}}}}}"
    )]
    NotObject,
    #[error(
        "key \"services\" is missing or empty; name at least one service, e.g. \"services\": {{\"web\": {{\"containers\": {{\"web\": {{\"repository\": \"shop/web\"}}}}}}}}"
    )]
    NoServices,
    #[error(
        "keys \"services.{first}\" and \"services.{name}\" differ only in letter case; their folders and zips ({first}/ and {name}/, {first}.zip and {name}.zip) would be one file on a case-insensitive file system: rename one"
    )]
    CaseCollision { first: String, name: String },
    #[error("key {at:?}: {error} (it becomes a folder name and a buildspec artifact identifier)")]
    ServiceName {
        at: String,
        error: super::names::NameError,
    },
    #[error(
        "key {0:?}: the service name SHA256SUMS is taken by the checksum file written beside the service folders; rename the service"
    )]
    Reserved(String),
    #[error(
        "key \"{0}.containers\" is missing or empty; list the service's containers, e.g. \"containers\": {{\"web\": {{\"repository\": \"shop/web\"}}}}"
    )]
    NoContainers(String),
    #[error(
        "key \"{at}.blueGreen\" = {value}: the service has no such container (it has {has}); name one of its containers"
    )]
    BlueGreen {
        at: String,
        value: Value,
        has: String,
    },
    #[error(
        "key \"{0}.taskDefinition\" is empty; give the task definition's path relative to the mapping file or ecs://CLUSTER/SERVICE, or remove the key"
    )]
    EmptyTaskDefinition(String),
    #[error("key \"{at}.taskDefinition\" = {error}")]
    TaskDefinition { at: String, error: SourceError },
    #[error("key \"{at}.roleArn\" = {error}")]
    RoleArn {
        at: String,
        error: super::role::RoleArnError,
    },
    #[error(
        "key \"{0}.roleArn\" needs \"taskDefinition\": \"ecs://CLUSTER/SERVICE\" beside it: it is the role assumed to reach that ECS service (in another account); remove it, or name the service"
    )]
    RoleWithoutService(String),
    #[error(
        "key \"{at}.{key}\" is empty; give the file's path relative to the mapping file, or remove the key"
    )]
    EmptyPath { at: String, key: &'static str },
    #[error(
        "key \"{0}.imagePlaceholder\" is given without \"taskDefinitionTemplate\" and \"appSpec\"; name the template whose image it is, or remove the key"
    )]
    PlaceholderAlone(String),
    #[error(
        "key \"{0}.taskDefinitionTemplate\" is given without \"appSpec\"; CodeDeployToECS needs both: name the appspec.yaml too"
    )]
    TemplateAlone(String),
    #[error(
        "key \"{0}.appSpec\" is given without \"taskDefinitionTemplate\"; CodeDeployToECS needs both, and the AppSpec's ContainerName and ContainerPort are checked against the template: name the taskdef.json too"
    )]
    AppSpecAlone(String),
    #[error(
        "key \"{0}.taskDefinitionTemplate\" needs \"{0}.blueGreen\": name the container whose image goes into imageDetail.json and into the template's placeholder"
    )]
    TemplateWithoutBlueGreen(String),
    #[error("key \"{at}.imagePlaceholder\" = {error}")]
    Placeholder {
        at: String,
        error: blue_green::PlaceholderError,
    },
    #[error("key {at:?}: {error} (the name of the container in the task definition)")]
    ContainerName {
        at: String,
        error: super::names::NameError,
    },
    #[error("key \"{at}.{key}\" is empty; give a value or remove the key")]
    EmptyValue { at: String, key: &'static str },
    #[error(
        "key \"{at}.path\" = {value}: {error}; write a glob on the path inside the artifact, e.g. \"worker/imageDetail.json\" or \"images/*/imageDetail.json\""
    )]
    Path {
        at: String,
        value: Value,
        error: GlobError,
    },
    #[error(
        "key {0:?} has both \"image\" and a selector (\"repository\", \"artifact\" or \"path\"); keep \"image\" for a fixed image, or the selector for a discovered one"
    )]
    ImageAndSelector(String),
    #[error(
        "key {0:?} says nothing about its image; give \"image\" (a fixed reference) or a selector: \"repository\", \"artifact\" and/or \"path\""
    )]
    NoImage(String),
    #[error(
        "key \"{at}.image\" = {shown}: {error}; write a full image reference such as public.ecr.aws/xray/aws-xray-daemon:3.3.12"
    )]
    Image {
        at: String,
        shown: Value,
        error: Box<super::reference::RefError>,
    },
    #[error(
        "key \"{at}.image\" = {shown} is {len} characters before any @sha256:; ECS accepts at most {MAX_REFERENCE_LEN}"
    )]
    ImageTooLong {
        at: String,
        shown: Value,
        len: usize,
    },
    #[error("key \"{prefix}uri\": {error}")]
    Uri {
        prefix: String,
        error: super::reference::UriModeError,
    },
    #[error("key \"{prefix}tagPattern\" {error}")]
    PatternTooLong {
        prefix: String,
        error: TagPatternError,
    },
    #[error("key \"{prefix}tagPattern\" = {value}: {error}")]
    Pattern {
        prefix: String,
        value: Value,
        error: TagPatternError,
    },
    #[error("key \"{prefix}platform\" = {error}")]
    Platform {
        prefix: String,
        error: super::platform::PlatformError,
    },
    #[error(transparent)]
    Findings(#[from] super::findings::ThresholdsError),
    #[error("{shape} is {kind}, not an object; {KEYS_HELP}")]
    LevelNotObject { shape: String, kind: &'static str },
    #[error("key {path:?} = {value} is {kind}, not a string; write it as a string", kind = json_kind(value))]
    NotString { path: String, value: Value },
    #[error("key {path:?} is {kind}, not an object keyed by name; write e.g. {example}")]
    NotKeyed {
        path: String,
        kind: &'static str,
        example: &'static str,
    },
    #[error("{shape}: {error}{fix}", fix = if error.to_string().starts_with("unknown field") { "; fix the spelling (keys are case-sensitive) or remove the key" } else { "" })]
    Keys {
        shape: String,
        error: serde_json::Error,
    },
}

impl PathGlob {
    pub fn new(text: &str) -> Result<PathGlob, GlobError> {
        if text.len() > MAX_PATTERN {
            return Err(GlobError::TooLong(text.len()));
        }
        let glob = GlobBuilder::new(text)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| GlobError::Invalid(Box::new(e)))?;
        Ok(PathGlob {
            text: text.to_owned(),
            matcher: glob.compile_matcher(),
        })
    }

    #[must_use]
    pub fn is_match(&self, path: &str) -> bool {
        self.matcher.is_match(path)
    }
}

impl Selector {
    /// True when the file at `rel_path` in `artifact`, holding `detail`, meets every condition.
    #[must_use]
    pub fn matches(&self, artifact: &str, rel_path: &str, detail: &ImageDetail) -> bool {
        self.repository
            .as_deref()
            .is_none_or(|r| detail.image_uri.repository() == r)
            && self.artifact.as_deref().is_none_or(|a| artifact == a)
            && self.path.as_ref().is_none_or(|p| p.is_match(rel_path))
    }
}

impl fmt::Display for Selector {
    /// As it is written in the mapping: `{"repository": "shop/web", "artifact": "WebImage"}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = [
            ("repository", self.repository.as_deref()),
            ("artifact", self.artifact.as_deref()),
            ("path", self.path.as_ref().map(|p| p.text.as_str())),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k:?}: {}", Value::String(v.to_owned()))))
        .collect();
        write!(f, "{{{}}}", parts.join(", "))
    }
}

impl serde::Serialize for Selector {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = s.serialize_map(None)?;
        if let Some(r) = &self.repository {
            map.serialize_entry("repository", r)?;
        }
        if let Some(a) = &self.artifact {
            map.serialize_entry("artifact", a)?;
        }
        if let Some(p) = &self.path {
            map.serialize_entry("path", &p.text)?;
        }
        map.end()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    uri: Option<String>,
    #[serde(rename = "tagPattern")]
    tag_pattern: Option<String>,
    platform: Option<String>,
    findings: Option<Value>,
    strict: Option<bool>,
    services: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    containers: Option<Map<String, Value>>,
    uri: Option<String>,
    #[serde(rename = "tagPattern")]
    tag_pattern: Option<String>,
    #[serde(rename = "taskDefinition")]
    task_definition: Option<String>,
    #[serde(rename = "roleArn")]
    role_arn: Option<String>,
    platform: Option<String>,
    #[serde(rename = "blueGreen")]
    blue_green: Option<String>,
    #[serde(rename = "taskDefinitionTemplate")]
    task_definition_template: Option<String>,
    #[serde(rename = "appSpec")]
    app_spec: Option<String>,
    #[serde(rename = "imagePlaceholder")]
    image_placeholder: Option<String>,
    findings: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContainer {
    image: Option<String>,
    repository: Option<String>,
    artifact: Option<String>,
    path: Option<String>,
}

/// What a mapping's keys are for, said in every "unknown key" error.
const KEYS_HELP: &str = "a mapping has \"uri\", \"tagPattern\", \"platform\", \"findings\", \"strict\" and \"services\"; a service has \"containers\", \"uri\", \"tagPattern\", \"taskDefinition\", \"roleArn\", \"platform\", \"blueGreen\", \"taskDefinitionTemplate\", \"appSpec\", \"imagePlaceholder\" and \"findings\"; a container has \"image\", or any of \"repository\", \"artifact\" and \"path\"";

impl Mapping {
    /// Single-image mode as a mapping: one service without a name, whose one container takes the
    /// only image discovered.
    #[must_use]
    pub fn single(
        container: ContainerName,
        task_definition: Option<TaskDefinitionSource>,
    ) -> Mapping {
        Mapping {
            path: None,
            rules: Rules::default(),
            strict: false,
            services: vec![Service {
                name: None,
                containers: vec![Container {
                    name: container,
                    source: Source::Any,
                }],
                rules: Rules::default(),
                task_definition: task_definition.as_ref().map(ToString::to_string),
                task_definition_source: task_definition,
                role_arn: None,
                blue_green: None,
                blue_green_inputs: None,
            }],
        }
    }

    /// The artifacts any image can come from, when every selector names its `artifact`; `None`
    /// when some selector may match an image in any artifact. Roots outside this set cannot
    /// change the outcome, so they need not be walked.
    #[must_use]
    pub fn artifacts_needed(&self) -> Option<std::collections::BTreeSet<&str>> {
        let mut needed = std::collections::BTreeSet::new();
        for container in self.services.iter().flat_map(|s| &s.containers) {
            match &container.source {
                Source::Select(selector) => {
                    needed.insert(selector.artifact.as_deref()?);
                }
                Source::Any => return None,
                Source::Fixed(_) => {}
            }
        }
        Some(needed)
    }

    /// Reads and parses the mapping file at `path`; the error names it.
    pub fn load(path: &Path) -> anyhow::Result<Mapping> {
        let bytes = crate::io::input::read_named(path, crate::io::input::MAX_JSON, "mapping")?;
        let base = path.parent().unwrap_or_else(|| Path::new(""));
        let mut mapping = Mapping::parse(&bytes, base)
            .map_err(|e| anyhow::anyhow!("mapping {}: {e}", path.display()))?;
        mapping.path = Some(path.to_owned());
        Ok(mapping)
    }

    /// Where `key` of `service` (or of the top level) is: `mapping imagedef.json, key
    /// "services.web.taskDefinition"` ([`super::rules::key_words`]).
    #[must_use]
    pub fn key(&self, service: Option<&ServiceName>, key: &str) -> String {
        super::rules::key_words(self.path.as_deref(), service, key)
    }

    /// Where a rule named `key` was set, as messages name it ([`Origin::words`]).
    #[must_use]
    pub fn origin(&self, from: &Origin, key: &str) -> String {
        from.words(self.path.as_deref(), key)
    }

    /// Parses the bytes of a mapping file. `base` is the directory `taskDefinition` paths are
    /// relative to (the mapping file's own directory).
    pub fn parse(bytes: &[u8], base: &Path) -> Result<Mapping, MappingError> {
        let value = json::parse(bytes).map_err(MappingError::Json)?;
        if !value.is_object() {
            return Err(MappingError::NotObject);
        }
        let raw: RawMapping = typed(
            value,
            "",
            &["uri", "tagPattern", "platform"],
            &[SERVICES_EXAMPLE],
        )?;
        let services = raw.services.unwrap_or_default();
        if services.is_empty() {
            return Err(MappingError::NoServices);
        }
        // Service names become folders and zips: two that differ only in case collide on a
        // case-insensitive file system (macOS, Windows, and the zips' consumers there).
        let mut folded: std::collections::BTreeMap<String, &str> =
            std::collections::BTreeMap::new();
        for name in services.keys() {
            if let Some(first) = folded.insert(name.to_lowercase(), name) {
                return Err(MappingError::CaseCollision {
                    first: first.to_owned(),
                    name: name.clone(),
                });
            }
        }
        Ok(Mapping {
            path: None,
            strict: raw.strict.unwrap_or(false),
            rules: rules(
                Raw {
                    uri: raw.uri.as_deref(),
                    tag_pattern: raw.tag_pattern.as_deref(),
                    platform: raw.platform.as_deref(),
                    findings: raw.findings.as_ref(),
                },
                "",
                &Origin::MappingTop,
            )?,
            services: services
                .into_iter()
                .map(|(name, value)| parse_service(&name, value, base))
                .collect::<Result<_, _>>()?,
        })
    }
}

fn parse_service(name: &str, value: Value, base: &Path) -> Result<Service, MappingError> {
    let at = format!("services.{name}");
    let name = name
        .parse::<ServiceName>()
        .map_err(|error| MappingError::ServiceName {
            at: at.clone(),
            error,
        })?;
    if name.as_str() == super::deploy::SHA256SUMS {
        return Err(MappingError::Reserved(at));
    }
    let raw: RawService = typed(
        value,
        &at,
        &[
            "uri",
            "tagPattern",
            "taskDefinition",
            "roleArn",
            "platform",
            "blueGreen",
            "taskDefinitionTemplate",
            "appSpec",
            "imagePlaceholder",
        ],
        &[CONTAINERS_EXAMPLE],
    )?;
    let containers = raw.containers.unwrap_or_default();
    if containers.is_empty() {
        return Err(MappingError::NoContainers(at));
    }
    let containers: Vec<Container> = containers
        .into_iter()
        .map(|(c, v)| parse_container(&at, &c, v))
        .collect::<Result<_, _>>()?;
    let blue_green = raw
        .blue_green
        .map(|bg| {
            containers
                .iter()
                .find(|c| c.name.as_str() == bg)
                .map(|c| c.name.clone())
                .ok_or_else(|| MappingError::BlueGreen {
                    at: at.clone(),
                    value: Value::String(bg.clone()),
                    has: list(containers.iter().map(|c| c.name.as_str())),
                })
        })
        .transpose()?;
    let blue_green_inputs = blue_green_inputs(
        &at,
        blue_green.is_some(),
        raw.task_definition_template,
        raw.app_spec,
        raw.image_placeholder,
        base,
    )?;
    if let Some(td) = &raw.task_definition
        && td.is_empty()
    {
        return Err(MappingError::EmptyTaskDefinition(at));
    }
    let task_definition_source = raw
        .task_definition
        .as_deref()
        .map(|td| TaskDefinitionSource::parse(td, base))
        .transpose()
        .map_err(|error| MappingError::TaskDefinition {
            at: at.clone(),
            error,
        })?;
    let role_arn = role_arn(
        &at,
        raw.role_arn.as_deref(),
        task_definition_source.as_ref(),
    )?;
    Ok(Service {
        rules: rules(
            Raw {
                uri: raw.uri.as_deref(),
                tag_pattern: raw.tag_pattern.as_deref(),
                platform: raw.platform.as_deref(),
                findings: raw.findings.as_ref(),
            },
            &format!("{at}."),
            &Origin::Service(name.clone()),
        )?,
        name: Some(name),
        containers,
        task_definition_source,
        task_definition: raw.task_definition,
        role_arn,
        blue_green,
        blue_green_inputs,
    })
}

/// `roleArn`: an IAM role ARN, only beside an `ecs://` `taskDefinition`.
fn role_arn(
    at: &str,
    role: Option<&str>,
    task_definition: Option<&TaskDefinitionSource>,
) -> Result<Option<super::role::RoleArn>, MappingError> {
    let Some(role) = role else { return Ok(None) };
    let role = role
        .parse::<super::role::RoleArn>()
        .map_err(|error| MappingError::RoleArn {
            at: at.to_owned(),
            error,
        })?;
    match task_definition {
        Some(TaskDefinitionSource::Ecs { .. }) => Ok(Some(role)),
        _ => Err(MappingError::RoleWithoutService(at.to_owned())),
    }
}

/// `taskDefinitionTemplate` and `appSpec` (both or neither, only beside `blueGreen`) and
/// `imagePlaceholder` (only with them; default `IMAGE1_NAME`).
fn blue_green_inputs(
    at: &str,
    has_blue_green: bool,
    template: Option<String>,
    app_spec: Option<String>,
    placeholder: Option<String>,
    base: &Path,
) -> Result<Option<blue_green::Inputs>, MappingError> {
    let path = |key: &'static str, v: Option<String>| -> Result<Option<String>, MappingError> {
        match v {
            Some(p) if p.is_empty() => Err(MappingError::EmptyPath {
                at: at.to_owned(),
                key,
            }),
            other => Ok(other),
        }
    };
    let template = path("taskDefinitionTemplate", template)?;
    let app_spec = path("appSpec", app_spec)?;
    let (template, app_spec) = match (template, app_spec) {
        (None, None) => {
            return match placeholder {
                Some(_) => Err(MappingError::PlaceholderAlone(at.to_owned())),
                None => Ok(None),
            };
        }
        (Some(t), Some(a)) => (t, a),
        (Some(_), None) => return Err(MappingError::TemplateAlone(at.to_owned())),
        (None, Some(_)) => return Err(MappingError::AppSpecAlone(at.to_owned())),
    };
    if !has_blue_green {
        return Err(MappingError::TemplateWithoutBlueGreen(at.to_owned()));
    }
    let placeholder = placeholder.unwrap_or_else(|| blue_green::DEFAULT_PLACEHOLDER.to_owned());
    blue_green::check_placeholder(&placeholder).map_err(|error| MappingError::Placeholder {
        at: at.to_owned(),
        error,
    })?;
    Ok(Some(blue_green::Inputs {
        template: base.join(template),
        app_spec: base.join(app_spec),
        placeholder,
    }))
}

fn parse_container(service_at: &str, name: &str, value: Value) -> Result<Container, MappingError> {
    let at = format!("{service_at}.containers.{name}");
    let name = name
        .parse::<ContainerName>()
        .map_err(|error| MappingError::ContainerName {
            at: at.clone(),
            error,
        })?;
    let raw: RawContainer = typed(
        value,
        &at,
        &["image", "repository", "artifact", "path"],
        &[],
    )?;
    let non_empty =
        |key: &'static str, v: Option<String>| -> Result<Option<String>, MappingError> {
            match v {
                Some(s) if s.is_empty() => Err(MappingError::EmptyValue {
                    at: at.clone(),
                    key,
                }),
                other => Ok(other),
            }
        };
    let repository = non_empty("repository", raw.repository)?;
    let artifact = non_empty("artifact", raw.artifact)?;
    let path = non_empty("path", raw.path)?
        .map(|p| {
            PathGlob::new(&p).map_err(|error| MappingError::Path {
                at: at.clone(),
                value: Value::String(p.clone()),
                error,
            })
        })
        .transpose()?;
    let selects = repository.is_some() || artifact.is_some() || path.is_some();
    let source = match (non_empty("image", raw.image)?, selects) {
        (Some(_), true) => return Err(MappingError::ImageAndSelector(at)),
        (None, false) => return Err(MappingError::NoImage(at)),
        (Some(image), false) => Source::Fixed(fixed_image(&at, &image)?),
        (None, true) => Source::Select(Selector {
            repository,
            artifact,
            path,
        }),
    };
    Ok(Container { name, source })
}

fn fixed_image(at: &str, image: &str) -> Result<ImageRef, MappingError> {
    let shown = Value::String(super::reference::without_credentials(image).into_owned());
    let reference = image
        .parse::<ImageRef>()
        .map_err(|error| MappingError::Image {
            at: at.to_owned(),
            shown: shown.clone(),
            error: Box::new(error),
        })?;
    if !reference.fits_ecs() {
        return Err(MappingError::ImageTooLong {
            at: at.to_owned(),
            shown,
            len: reference.ecs_length(),
        });
    }
    Ok(reference)
}

/// The rules of one level as written.
#[derive(Clone, Copy)]
struct Raw<'a> {
    uri: Option<&'a str>,
    tag_pattern: Option<&'a str>,
    platform: Option<&'a str>,
    findings: Option<&'a Value>,
}

/// The rules of one level; `prefix` is the level's key path with a final dot.
fn rules(raw: Raw<'_>, prefix: &str, origin: &Origin) -> Result<Rules, MappingError> {
    let prefix = || prefix.to_owned();
    let uri = rule(raw.uri, origin, |error| MappingError::Uri {
        prefix: prefix(),
        error,
    })?;
    let tag_pattern = rule(raw.tag_pattern, origin, |error| match error {
        TagPatternError::TooLong { .. } => MappingError::PatternTooLong {
            prefix: prefix(),
            error,
        },
        TagPatternError::Invalid(_) => MappingError::Pattern {
            prefix: prefix(),
            value: Value::String(raw.tag_pattern.unwrap_or_default().to_owned()),
            error,
        },
    })?;
    let platform = rule(raw.platform, origin, |error| MappingError::Platform {
        prefix: prefix(),
        error,
    })?;
    let findings = raw
        .findings
        .map(|v| {
            Thresholds::from_json(v, &format!("{}findings", prefix()))
                .map(|t| Rule::new(t, origin.clone()))
        })
        .transpose()?;
    Ok(Rules {
        uri,
        tag_pattern,
        platform,
        findings,
    })
}

/// One rule as written at `origin`, parsed; `refused` words why it is not one.
fn rule<T: std::str::FromStr>(
    value: Option<&str>,
    origin: &Origin,
    refused: impl FnOnce(T::Err) -> MappingError,
) -> Result<Option<Rule<T>>, MappingError> {
    value
        .map(|v| {
            v.parse::<T>()
                .map(|t| Rule::new(t, origin.clone()))
                .map_err(refused)
        })
        .transpose()
}

/// The keys whose values are objects keyed by name, with how one is written.
const SERVICES_EXAMPLE: (&str, &str) = (
    "services",
    r#""services": {"web": {"containers": {"web": {"repository": "shop/web"}}}}"#,
);
const CONTAINERS_EXAMPLE: (&str, &str) = (
    "containers",
    r#""containers": {"web": {"repository": "shop/web"}}"#,
);

/// Deserialises one level, naming its path in the error.
/// `strings` are the keys whose values must be strings, `objects` those whose values must be
/// objects keyed by name (with an example), named in the error when they are not.
fn typed<T: serde::de::DeserializeOwned>(
    value: Value,
    at: &str,
    strings: &[&str],
    objects: &[(&str, &'static str)],
) -> Result<T, MappingError> {
    let shape = if at.is_empty() {
        "the mapping".to_owned()
    } else {
        format!("key {at:?}")
    };
    let Value::Object(object) = &value else {
        return Err(MappingError::LevelNotObject {
            shape,
            kind: json_kind(&value),
        });
    };
    for (key, v) in object {
        let path = if at.is_empty() {
            key.clone()
        } else {
            format!("{at}.{key}")
        };
        if strings.contains(&key.as_str()) && !v.is_string() {
            return Err(MappingError::NotString {
                path,
                value: v.clone(),
            });
        }
        if let Some((_, example)) = objects.iter().find(|(k, _)| k == key)
            && !v.is_object()
        {
            return Err(MappingError::NotKeyed {
                path,
                kind: json_kind(v),
                example,
            });
        }
    }
    serde_json::from_value(value).map_err(|error| MappingError::Keys { shape, error })
}

/// `"a", "b"`, or `none`.
fn list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<String> = items.into_iter().map(|s| format!("{s:?}")).collect();
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UriMode;

    fn parse(text: &str) -> Result<Mapping, MappingError> {
        Mapping::parse(text.as_bytes(), Path::new("src"))
    }

    #[test]
    fn parses_the_contract_example_in_file_order() {
        let m = parse(
            r#"{
              "uri": "digest",
              "services": {
                "web": {
                  "containers": {
                    "web":   { "repository": "shop/web" },
                    "proxy": { "artifact": "ProxyImage" },
                    "xray":  { "image": "public.ecr.aws/xray/aws-xray-daemon:3.3.12" }
                  },
                  "taskDefinition": "deploy/web-taskdef.json",
                  "blueGreen": "web"
                },
                "api": { "containers": { "api": { "artifact": "ApiImage", "path": "*.json" } }, "uri": "tag", "tagPattern": "^v" }
              }
            }"#,
        )
        .unwrap();
        assert_eq!(m.rules.uri.as_ref().unwrap().value, UriMode::Digest);
        assert_eq!(m.rules.uri.as_ref().unwrap().from, Origin::MappingTop);
        let names: Vec<_> = m
            .services
            .iter()
            .map(|s| s.name.as_ref().unwrap().as_str())
            .collect();
        assert_eq!(names, ["web", "api"]);
        let web = &m.services[0];
        let containers: Vec<_> = web.containers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(containers, ["web", "proxy", "xray"]);
        assert_eq!(
            web.task_definition_source,
            Some(TaskDefinitionSource::File(
                Path::new("src/deploy/web-taskdef.json").to_path_buf()
            ))
        );
        assert_eq!(web.blue_green.as_ref().unwrap().as_str(), "web");
        assert_eq!(web.blue_green_inputs, None);
        assert!(matches!(&web.containers[2].source, Source::Fixed(r) if r.tag() == Some("3.3.12")));
        let api = &m.services[1];
        assert_eq!(api.rules.uri.as_ref().unwrap().value, UriMode::Tag);
        let pattern = api.rules.tag_pattern.as_ref().unwrap();
        assert_eq!(pattern.value.as_str(), "^v");
        assert_eq!(pattern.from, Origin::Service("api".parse().unwrap()));
        let Source::Select(sel) = &api.containers[0].source else {
            panic!("a selector")
        };
        assert_eq!(
            sel.to_string(),
            r#"{"artifact": "ApiImage", "path": "*.json"}"#
        );
    }

    #[test]
    fn refusals_name_the_key_the_value_and_the_fix() {
        let svc = |body: &str| format!(r#"{{"services": {{"web": {body}}}}}"#);
        let one = |container: &str| svc(&format!(r#"{{"containers": {{"web": {container}}}}}"#));
        let cases: Vec<(String, &[&str])> = vec![
            ("{".into(), &["not valid JSON", "line 1 column 1"]),
            ("[]".into(), &["not a JSON object"]),
            ("{}".into(), &["\"services\" is missing or empty"]),
            (r#"{"services": {}}"#.into(), &["\"services\" is missing or empty"]),
            (r#"{"service": {}}"#.into(), &["the mapping: unknown field `service`, expected one of `uri`, `tagPattern`, `platform`, `findings`, `strict`, `services`", "fix the spelling"]),
            (svc(r#"{"containers": {}}"#), &["\"services.web.containers\" is missing or empty"]),
            (svc(r#"{"container": {}}"#), &["key \"services.web\": unknown field `container`"]),
            (svc("3"), &["key \"services.web\" is a number, not an object"]),
            (one(r#"{"repo": "shop/web"}"#), &["key \"services.web.containers.web\": unknown field `repo`", "expected one of"]),
            (one(r#"{"Repository": "shop/web"}"#), &["unknown field `Repository`", "case-sensitive"]),
            (one(r#"{"repository": 7}"#), &["key \"services.web.containers.web.repository\" = 7 is a number, not a string"]),
            (one("{}"), &["says nothing about its image", "\"image\""]),
            (one(r#"{"image": "nginx:1", "artifact": "A"}"#), &["has both \"image\" and a selector"]),
            (one(r#"{"image": "Nginx:1"}"#), &["key \"services.web.containers.web.image\" = \"Nginx:1\"", "uppercase"]),
            (one(r#"{"path": "a/[b"}"#), &["key \"services.web.containers.web.path\" = \"a/[b\": is not a valid glob"]),
            (one(r#"{"artifact": ""}"#), &["\"services.web.containers.web.artifact\" is empty"]),
            (r#"{"uri": "sha", "services": {"web": {"containers": {"w": {"artifact": "A"}}}}}"#.into(), &["key \"uri\": \"sha\" is not a URI mode; use digest, tag or tag+digest"]),
            (svc(r#"{"tagPattern": "(", "containers": {"w": {"artifact": "A"}}}"#), &["key \"services.web.tagPattern\" = \"(\": is not a valid regex"]),
            (svc(r#"{"blueGreen": "api", "containers": {"web": {"artifact": "A"}}}"#), &["key \"services.web.blueGreen\" = \"api\": the service has no such container (it has \"web\")"]),
            (svc(r#"{"taskDefinition": "", "containers": {"web": {"artifact": "A"}}}"#), &["\"services.web.taskDefinition\" is empty"]),
            (svc(r#"{"roleArn": "arn:aws:iam::210987654321:role/deploy", "taskDefinition": "web.json", "containers": {"web": {"artifact": "A"}}}"#), &["key \"services.web.roleArn\" needs \"taskDefinition\": \"ecs://CLUSTER/SERVICE\" beside it"]),
            (svc(r#"{"roleArn": "deploy", "taskDefinition": "ecs://prod/web", "containers": {"web": {"artifact": "A"}}}"#), &["key \"services.web.roleArn\" = \"deploy\" is not an IAM role ARN"]),
            (svc(r#"{"taskDefinitionTemplate": "t.json", "appSpec": "a.yaml", "containers": {"web": {"artifact": "A"}}}"#), &["key \"services.web.taskDefinitionTemplate\" needs \"services.web.blueGreen\": name the container whose image goes into imageDetail.json and into the template's placeholder"]),
            (svc(r#"{"blueGreen": "web", "taskDefinitionTemplate": "t.json", "containers": {"web": {"artifact": "A"}}}"#), &["key \"services.web.taskDefinitionTemplate\" is given without \"appSpec\"; CodeDeployToECS needs both: name the appspec.yaml too"]),
            (svc(r#"{"blueGreen": "web", "appSpec": "a.yaml", "containers": {"web": {"artifact": "A"}}}"#), &["key \"services.web.appSpec\" is given without \"taskDefinitionTemplate\"; CodeDeployToECS needs both"]),
            (svc(r#"{"blueGreen": "web", "imagePlaceholder": "IMAGE", "containers": {"web": {"artifact": "A"}}}"#), &["key \"services.web.imagePlaceholder\" is given without \"taskDefinitionTemplate\" and \"appSpec\""]),
            (svc(r#"{"blueGreen": "web", "taskDefinitionTemplate": "t.json", "appSpec": "", "containers": {"web": {"artifact": "A"}}}"#), &["key \"services.web.appSpec\" is empty; give the file's path relative to the mapping file, or remove the key"]),
            (svc(r#"{"blueGreen": "web", "taskDefinitionTemplate": "t.json", "appSpec": "a.yaml", "imagePlaceholder": "<IMAGE>", "containers": {"web": {"artifact": "A"}}}"#), &["key \"services.web.imagePlaceholder\" = \"<IMAGE>\": write it without the angle brackets, as the action's Image1ContainerName (\"IMAGE\")"]),
            (svc(r#"{"blueGreen": "web", "appSpec": 3, "containers": {"web": {"artifact": "A"}}}"#), &["key \"services.web.appSpec\" = 3 is a number, not a string"]),
            (r#"{"services": {"../x": {"containers": {"w": {"artifact": "A"}}}}}"#.into(), &["key \"services.../x\": service name \"../x\" contains '.'; use 1-100 of letters, digits, _ and -"]),
            (r#"{"services": {"": {"containers": {"w": {"artifact": "A"}}}}}"#.into(), &["service name \"\" is empty"]),
            (r#"{"services": {"SHA256SUMS": {"containers": {"w": {"artifact": "A"}}}}}"#.into(), &["SHA256SUMS is taken by the checksum file"]),
            (svc(r#"{"containers": {"my app": {"artifact": "A"}}}"#), &["container name \"my app\" contains ' '; use 1-255"]),
            (r#"{"services": {"web": {"containers": {"w": {"artifact": "A"}}}, "web": {"containers": {}}}}"#.into(), &["key \"services.web\" appears more than once"]),
            (one(r#"{"artifact": "A", "artifact": "B"}"#), &["key \"services.web.containers.web.artifact\" appears more than once"]),
            (svc(r#"{"findings": {"CRITICAL": -1}, "containers": {"web": {"artifact": "A"}}}"#), &["key \"services.web.findings.CRITICAL\" = -1 is not a whole number of findings"]),
            (svc(r#"{"findings": {"SEVERE": 0}, "containers": {"web": {"artifact": "A"}}}"#), &["key \"services.web.findings.SEVERE\": \"SEVERE\" is not a severity", "use one of CRITICAL, HIGH"]),
            (svc(r#"{"findings": {"HIGH": 1, "HIGH": 2}, "containers": {"web": {"artifact": "A"}}}"#), &["key \"services.web.findings.HIGH\" appears more than once"]),
            (r#"{"findings": "CRITICAL=0", "services": {"web": {"containers": {"w": {"artifact": "A"}}}}}"#.into(), &["key \"findings\" is \"CRITICAL=0\", not an object", "{\"CRITICAL\": 0, \"HIGH\": 2}"]),
            (r#"{"findings": {}, "services": {"web": {"containers": {"w": {"artifact": "A"}}}}}"#.into(), &["key \"findings\" names no severity"]),
        ];
        for (text, want) in cases {
            let e = parse(&text).map(|_| ()).unwrap_err().to_string();
            for w in want {
                assert!(e.contains(w), "{text}\n  error: {e}\n  lacks: {w}");
            }
        }
    }

    #[test]
    fn whole_messages_for_a_list_of_services_and_names_that_differ_in_case() {
        let whole = |text: &str| parse(text).map(|_| ()).unwrap_err().to_string();
        assert_eq!(
            whole(r#"{"services": [{"web": {}}]}"#),
            r#"key "services" is an array, not an object keyed by name; write e.g. "services": {"web": {"containers": {"web": {"repository": "shop/web"}}}}"#
        );
        assert_eq!(
            whole(r#"{"services": {"web": {"containers": ["web"]}}}"#),
            r#"key "services.web.containers" is an array, not an object keyed by name; write e.g. "containers": {"web": {"repository": "shop/web"}}"#
        );
        assert_eq!(
            whole(
                r#"{"services": {"web": {"containers": {"w": {"artifact": "A"}}}, "WEB": {"containers": {"w": {"artifact": "B"}}}}}"#
            ),
            r#"keys "services.web" and "services.WEB" differ only in letter case; their folders and zips (web/ and WEB/, web.zip and WEB.zip) would be one file on a case-insensitive file system: rename one"#
        );
    }

    #[test]
    fn findings_are_read_at_the_top_and_per_service() {
        let m = parse(
            r#"{"findings": {"CRITICAL": 0}, "services": {"web": {"containers": {"web": {"artifact": "A"}}, "findings": {"HIGH": 2, "CRITICAL": 1}}, "api": {"containers": {"api": {"artifact": "B"}}}}}"#,
        )
        .unwrap();
        assert_eq!(
            m.rules.findings.as_ref().unwrap().value.to_string(),
            "CRITICAL=0"
        );
        assert_eq!(
            m.services[0]
                .rules
                .findings
                .as_ref()
                .unwrap()
                .value
                .to_string(),
            "CRITICAL=1,HIGH=2"
        );
        assert!(m.services[1].rules.findings.is_none());
    }

    #[test]
    fn each_service_gets_the_files_its_keys_ask_for() {
        let m = parse(
            r#"{"services": {"web": {"containers": {"web": {"artifact": "A"}}},
                "api": {"containers": {"api": {"artifact": "B"}}, "blueGreen": "api"},
                "cdk": {"containers": {"app": {"artifact": "C"}}, "blueGreen": "app", "taskDefinitionTemplate": "t.json", "appSpec": "a.yaml"}}}"#,
        )
        .unwrap();
        let names =
            |s: &Service| -> Vec<&str> { s.files().into_iter().map(ServiceFile::name).collect() };
        assert_eq!(names(&m.services[0]), ["imagedefinitions.json"]);
        assert_eq!(
            names(&m.services[1]),
            ["imagedefinitions.json", "imageDetail.json"]
        );
        assert_eq!(
            names(&m.services[2]),
            [
                "imagedefinitions.json",
                "imageDetail.json",
                "taskdef.json",
                "appspec.yaml"
            ]
        );
        let single = Mapping::single("web".parse().unwrap(), None);
        assert_eq!(names(&single.services[0]), ["imagedefinitions.json"]);
    }

    #[test]
    fn blue_green_inputs_are_relative_to_the_mapping() {
        let m = parse(
            r#"{"services": {"api": {"containers": {"api": {"artifact": "A"}}, "blueGreen": "api", "taskDefinitionTemplate": "deploy/taskdef.json", "appSpec": "deploy/appspec.yaml"},
                "cdk": {"containers": {"app": {"artifact": "B"}}, "blueGreen": "app", "taskDefinitionTemplate": "t.json", "appSpec": "a.json", "imagePlaceholder": "IMAGE"}}}"#,
        )
        .unwrap();
        assert_eq!(
            m.services[0].blue_green_inputs,
            Some(blue_green::Inputs {
                template: "src/deploy/taskdef.json".into(),
                app_spec: "src/deploy/appspec.yaml".into(),
                placeholder: "IMAGE1_NAME".into(),
            })
        );
        let cdk = m.services[1].blue_green_inputs.as_ref().unwrap();
        assert_eq!(cdk.placeholder, "IMAGE");
        assert_eq!(cdk.app_spec, Path::new("src/a.json"));
    }

    #[test]
    fn selectors_combine_with_and() {
        let detail = ImageDetail::parse(
            br#"{"ImageURI":"111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web:v1"}"#,
        )
        .unwrap();
        let sel = |r: Option<&str>, a: Option<&str>, p: Option<&str>| Selector {
            repository: r.map(Into::into),
            artifact: a.map(Into::into),
            path: p.map(|p| PathGlob::new(p).unwrap()),
        };
        let at_root = ("WebImage", "imageDetail.json");
        let nested = ("Images", "web/imageDetail.json");
        let cases = [
            (sel(Some("shop/web"), None, None), true, true),
            (sel(Some("shop/api"), None, None), false, false),
            (sel(None, Some("WebImage"), None), true, false),
            (sel(Some("shop/web"), Some("Images"), None), false, true),
            (sel(None, None, Some("imageDetail.json")), true, false),
            (sel(None, None, Some("*/imageDetail.json")), false, true),
            (sel(None, None, Some("*.json")), true, false),
            (sel(None, None, Some("**/imageDetail.json")), true, true),
            (sel(None, Some("Images"), Some("api/*")), false, false),
        ];
        for (s, root, deep) in cases {
            assert_eq!(
                s.matches(at_root.0, at_root.1, &detail),
                root,
                "{s} on the root file"
            );
            assert_eq!(
                s.matches(nested.0, nested.1, &detail),
                deep,
                "{s} on the nested file"
            );
        }
    }

    #[test]
    fn no_mangled_mapping_panics_and_every_refusal_says_something() {
        let text = include_str!("../../examples/pipeline/source/imagedef.json");
        assert!(parse(text).is_ok());
        let bytes = text.as_bytes();
        // Every truncation, and every single byte replaced by a JSON-significant one.
        for cut in 0..bytes.len() {
            if let Err(e) = Mapping::parse(&bytes[..cut], Path::new(".")) {
                assert!(e.to_string().len() > 20, "{cut}: {e}");
            }
        }
        for at in 0..bytes.len() {
            for b in [b'"', b'}', b'.', 0xff] {
                let mut mangled = bytes.to_vec();
                mangled[at] = b;
                if let Err(e) = Mapping::parse(&mangled, Path::new(".")) {
                    assert!(e.to_string().len() > 20, "{at}: {e}");
                }
            }
        }
    }

    #[test]
    fn artifacts_needed_only_when_every_selector_names_one() {
        let parse = |text: &str| Mapping::parse(text.as_bytes(), Path::new("")).unwrap();
        let named = parse(
            r#"{"services":{"a":{"containers":{"x":{"artifact":"One","path":"x/*"},"y":{"image":"nginx:1"}}},"b":{"containers":{"z":{"artifact":"Two","repository":"r"}}}}}"#,
        );
        let needed: Vec<&str> = named.artifacts_needed().unwrap().into_iter().collect();
        assert_eq!(needed, ["One", "Two"]);
        let open = parse(
            r#"{"services":{"a":{"containers":{"x":{"artifact":"One"},"y":{"repository":"r"}}}}}"#,
        );
        assert_eq!(open.artifacts_needed(), None);
    }
}
