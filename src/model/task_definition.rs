//! ECS task definitions: the container names, which every written container must match, the
//! image each names, which the written one is compared with, and the platform its images must
//! offer.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::json::{self, JsonError};
use super::platform::{self, Needed};

/// Where a task definition comes from: a file, or `ecs://CLUSTER/SERVICE`, the one that service
/// runs now (looked up live).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskDefinitionSource {
    File(PathBuf),
    Ecs { cluster: String, service: String },
}

impl TaskDefinitionSource {
    /// Parses `ecs://CLUSTER/SERVICE`, or takes any other value as a path, joined to `base` when
    /// relative (the mapping file's directory; empty for the command line).
    pub fn parse(value: &str, base: &Path) -> Result<TaskDefinitionSource, SourceError> {
        let Some(rest) = value.strip_prefix("ecs://") else {
            return Ok(TaskDefinitionSource::File(base.join(value)));
        };
        let ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 255
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        match rest.split_once('/') {
            Some((cluster, service)) if ok(cluster) && ok(service) => {
                Ok(TaskDefinitionSource::Ecs {
                    cluster: cluster.to_owned(),
                    service: service.to_owned(),
                })
            }
            _ => Err(SourceError(value.to_owned())),
        }
    }
}

/// A value that starts with `ecs://` but is not `ecs://CLUSTER/SERVICE`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not ecs://CLUSTER/SERVICE (cluster and service names are 1-255 of letters, digits, _ and -); write e.g. ecs://prod/web"
)]
pub struct SourceError(String);

/// Why bytes are not a task definition: the key that is wrong and how.
#[derive(Debug, thiserror::Error)]
pub enum TaskDefinitionError {
    #[error("{0}; {fix}", fix = match .0 {
        JsonError::NotUtf8 { .. } => "save it as UTF-8",
        JsonError::DuplicateKey(_) => "keep one of them (JSON readers disagree on which copy counts)",
        JsonError::TooDeep(_) => "no task definition nests that deep: is it the right file?",
        JsonError::Syntax(_) => "correct the JSON at that line and column",
    })]
    Json(JsonError),
    #[error(
        "has both a \"taskDefinition\" object (the output of aws ecs describe-task-definition) and a top-level \"containerDefinitions\" (a raw task definition); readers would take one or the other: keep one shape"
    )]
    BothShapes,
    #[error(
        "has no key \"containerDefinitions\"; give a task definition (the JSON of register-task-definition, or the output of aws ecs describe-task-definition)"
    )]
    NoContainers,
    #[error("key \"containerDefinitions\" is not an array; give a task definition")]
    ContainersNotArray,
    #[error(
        "key \"containerDefinitions[{0}].name\" is missing or not a string; every container definition needs a name"
    )]
    NoName(usize),
    #[error(
        "key \"containerDefinitions[{index}].image\" is {kind}, not a string; write the image as a string, e.g. \"111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web:v1\""
    )]
    ImageNotString { index: usize, kind: &'static str },
    #[error(transparent)]
    Platform(#[from] platform::PlatformError),
}

impl fmt::Display for TaskDefinitionSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskDefinitionSource::File(p) => write!(f, "{}", p.display()),
            TaskDefinitionSource::Ecs { cluster, service } => {
                write!(f, "ecs://{cluster}/{service}")
            }
        }
    }
}

/// The container names of a task definition, in file order, their images, and the platform it
/// needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskDefinition {
    pub family: Option<String>,
    pub containers: Vec<String>,
    /// Each container's `image`, as written, by container name (the first definition of a name
    /// when a file repeats it); a container without one is absent.
    pub images: BTreeMap<String, String>,
    pub platform: Needed,
}

impl TaskDefinition {
    /// Parses a raw task definition (`{"containerDefinitions": [...]}`, also the `CodeDeploy`
    /// `taskdef.json`) or the output of `aws ecs describe-task-definition`
    /// (`{"taskDefinition": {...}}`). The error says which key is wrong and how.
    pub fn parse(bytes: &[u8]) -> Result<TaskDefinition, TaskDefinitionError> {
        let value = json::parse(bytes).map_err(TaskDefinitionError::Json)?;
        let body = match value.get("taskDefinition") {
            Some(inner @ Value::Object(_)) => {
                if value.get("containerDefinitions").is_some() {
                    return Err(TaskDefinitionError::BothShapes);
                }
                inner
            }
            _ => &value,
        };
        let Some(defs) = body.get("containerDefinitions") else {
            return Err(TaskDefinitionError::NoContainers);
        };
        let Value::Array(defs) = defs else {
            return Err(TaskDefinitionError::ContainersNotArray);
        };
        let mut containers = Vec::with_capacity(defs.len());
        let mut images = BTreeMap::new();
        for (i, def) in defs.iter().enumerate() {
            let Some(Value::String(name)) = def.get("name") else {
                return Err(TaskDefinitionError::NoName(i));
            };
            match def.get("image") {
                None => {}
                Some(Value::String(image)) => {
                    images.entry(name.clone()).or_insert_with(|| image.clone());
                }
                Some(other) => {
                    return Err(TaskDefinitionError::ImageNotString {
                        index: i,
                        kind: json::kind(other),
                    });
                }
            }
            containers.push(name.clone());
        }
        Ok(TaskDefinition {
            family: body
                .get("family")
                .and_then(Value::as_str)
                .map(str::to_owned),
            containers,
            images,
            platform: platform::needed_by_task(body)?,
        })
    }

    /// The image `container` names, as written; `None` when it names none.
    #[must_use]
    pub fn image(&self, container: &str) -> Option<&str> {
        self.images.get(container).map(String::as_str)
    }

    #[must_use]
    pub fn has(&self, container: &str) -> bool {
        self.containers.iter().any(|c| c == container)
    }

    /// Holds the containers a service writes against this task definition: every one must be
    /// there (ECS refuses a deploy naming a container its task definition lacks).
    pub fn compare_containers<'a>(
        &self,
        written: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), MissingContainers> {
        let missing: Vec<String> = written
            .into_iter()
            .filter(|c| !self.has(c))
            .map(str::to_owned)
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(MissingContainers {
                missing,
                has: self.containers.clone(),
                family: self.family.clone(),
            })
        }
    }
}

/// Containers a service writes that its task definition does not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingContainers {
    /// In the order written; never empty.
    pub missing: Vec<String>,
    /// The task definition's containers, in file order.
    pub has: Vec<String>,
    pub family: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecs_sources_are_not_joined_to_the_base() {
        let base = Path::new("deploy");
        assert_eq!(
            TaskDefinitionSource::parse("ecs://prod/web", base),
            Ok(TaskDefinitionSource::Ecs {
                cluster: "prod".into(),
                service: "web".into()
            })
        );
        assert_eq!(
            TaskDefinitionSource::parse("web.json", base),
            Ok(TaskDefinitionSource::File(PathBuf::from("deploy/web.json")))
        );
        for bad in [
            "ecs://prod",
            "ecs:///web",
            "ecs://prod/",
            "ecs://a/b/c",
            "ecs://p rod/web",
        ] {
            let e = TaskDefinitionSource::parse(bad, base)
                .unwrap_err()
                .to_string();
            assert!(e.contains("ecs://CLUSTER/SERVICE"), "{bad}: {e}");
        }
        assert_eq!(
            TaskDefinitionSource::parse("ecs://prod/web", base)
                .unwrap()
                .to_string(),
            "ecs://prod/web"
        );
    }

    #[test]
    fn reads_both_shapes() {
        let raw = br#"{"family":"web","containerDefinitions":[{"name":"web","image":"x"},{"name":"proxy"}]}"#;
        let described = br#"{"taskDefinition":{"family":"web","revision":3,"containerDefinitions":[{"name":"web"}]},"tags":[]}"#;
        let t = TaskDefinition::parse(raw).unwrap();
        assert_eq!(t.containers, ["web", "proxy"]);
        assert_eq!(t.family.as_deref(), Some("web"));
        let t = TaskDefinition::parse(described).unwrap();
        assert_eq!(t.containers, ["web"]);
        assert!(t.has("web") && !t.has("app"));
    }

    #[test]
    fn keeps_each_containers_image_as_written() {
        let t = TaskDefinition::parse(
            br#"{"containerDefinitions":[{"name":"web","image":"111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web:v1"},{"name":"proxy"},{"name":"tpl","image":"<IMAGE1_NAME>"},{"name":"web","image":"nginx"}]}"#,
        )
        .unwrap();
        assert_eq!(
            t.image("web"),
            Some("111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web:v1")
        );
        assert_eq!(t.image("proxy"), None);
        assert_eq!(t.image("tpl"), Some("<IMAGE1_NAME>"));
        assert_eq!(t.image("app"), None);
    }

    #[test]
    fn an_image_that_is_not_a_string_is_refused_naming_its_key() {
        for (image, kind) in [
            ("5", "a number"),
            ("null", "null"),
            (r#"{"uri":"x"}"#, "an object"),
        ] {
            let text = format!(
                r#"{{"taskDefinition":{{"containerDefinitions":[{{"name":"web","image":"nginx"}},{{"name":"proxy","image":{image}}}]}}}}"#
            );
            assert_eq!(
                TaskDefinition::parse(text.as_bytes())
                    .unwrap_err()
                    .to_string(),
                format!(
                    "key \"containerDefinitions[1].image\" is {kind}, not a string; write the image as a string, e.g. \"111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web:v1\""
                ),
                "{image}"
            );
        }
    }

    #[test]
    fn containers_are_compared_by_exact_name() {
        let td = |names: &[&str]| TaskDefinition {
            family: Some("web".into()),
            containers: names.iter().map(|n| (*n).to_owned()).collect(),
            images: BTreeMap::new(),
            platform: Needed::Unknown(String::new()),
        };
        let missing = |written: &[&str], has: &[&str]| MissingContainers {
            missing: written.iter().map(|n| (*n).to_owned()).collect(),
            has: has.iter().map(|n| (*n).to_owned()).collect(),
            family: Some("web".into()),
        };
        for (has, written, want) in [
            (&["web"][..], &["web"][..], Ok(())),
            (&["web", "proxy"], &["proxy", "web"], Ok(())),
            (&["web", "proxy"], &[], Ok(())),
            (&["web"], &["app"], Err(missing(&["app"], &["web"]))),
            (&["web"], &["Web"], Err(missing(&["Web"], &["web"]))),
            (
                &["web"],
                &["app", "web", "log"],
                Err(missing(&["app", "log"], &["web"])),
            ),
            (&[], &["web"], Err(missing(&["web"], &[]))),
        ] {
            assert_eq!(
                td(has).compare_containers(written.iter().copied()),
                want,
                "{has:?} holding {written:?}"
            );
        }
    }

    #[test]
    fn a_key_twice_and_two_shapes_at_once_are_refused_in_whole_words() {
        assert_eq!(
            TaskDefinition::parse(br#"{"containerDefinitions":[{"name":"web","name":"api"}]}"#)
                .unwrap_err()
                .to_string(),
            "key \"containerDefinitions[0].name\" appears more than once; keep one of them (JSON readers disagree on which copy counts)"
        );
        assert_eq!(
            TaskDefinition::parse(
                br#"{"taskDefinition":{"containerDefinitions":[{"name":"web"}]},"containerDefinitions":[{"name":"api"}]}"#
            )
            .unwrap_err()
            .to_string(),
            "has both a \"taskDefinition\" object (the output of aws ecs describe-task-definition) and a top-level \"containerDefinitions\" (a raw task definition); readers would take one or the other: keep one shape"
        );
    }

    #[test]
    fn refuses_other_json() {
        for (text, want) in [
            (&b"{}"[..], "no key \"containerDefinitions\""),
            (b"{\"containerDefinitions\":{}}", "not an array"),
            (
                b"{\"containerDefinitions\":[{\"image\":\"x\"}]}",
                "containerDefinitions[0].name",
            ),
            (b"{", "not valid JSON"),
            (
                b"{\"containerDefinitions\":[],\"runtimePlatform\":{\"cpuArchitecture\":\"arm64\"}}",
                "key \"runtimePlatform.cpuArchitecture\" is \"arm64\"; ECS knows X86_64 and ARM64",
            ),
        ] {
            let e = TaskDefinition::parse(text).unwrap_err();
            assert!(e.to_string().contains(want), "{e}");
        }
    }
}
