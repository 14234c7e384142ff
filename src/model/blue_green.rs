//! The inputs of the blue/green deploy action (`CodeDeployToECS`) besides `imageDetail.json`: the
//! task definition template (`taskdef.json`) and the `AppSpec` (`appspec.yaml`), checked as the
//! action reads them. Pure: bytes in, what was found or every refusal out; the caller adds the
//! file name and reads the files.
//!
//! The action registers the template after replacing `<` + `Image1ContainerName` + `>` in a
//! container's `image` with the `ImageURI` of `imageDetail.json`, and fills `<TASK_DEFINITION>`
//! in the `AppSpec` with the revision it registered. A wrong placeholder, a `ContainerName` that
//! no container has or a `ContainerPort` that no port mapping has fails only at deploy time;
//! here they are refused at build time.

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::TaskDefinition;
use super::json::{self, JsonError};
use super::yaml;
use crate::error::Severity;

/// The template's file name in the service's folder and bundle: the action's default
/// `TaskDefinitionTemplatePath`.
pub const TASKDEF: &str = "taskdef.json";
/// The `AppSpec`'s file name in the service's folder and bundle: the action's default
/// `AppSpecTemplatePath`.
pub const APPSPEC: &str = "appspec.yaml";
/// The action's `Image1ContainerName` in the AWS tutorial (the CDK's default is `IMAGE`).
pub const DEFAULT_PLACEHOLDER: &str = "IMAGE1_NAME";
/// What the action fills in with the task definition it registers.
pub const TASK_DEFINITION: &str = "<TASK_DEFINITION>";

/// The two files and the placeholder, as the mapping or the command line names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inputs {
    /// Joined to the mapping file's directory.
    pub template: PathBuf,
    pub app_spec: PathBuf,
    /// Without angle brackets, as the action's `Image1ContainerName`.
    pub placeholder: String,
}

/// One problem with one of the files: its key, its value and the fix. `Error` (exit 2) when the
/// file cannot be read as what it should be, `Failed` (exit 1) when it reads but would not deploy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub severity: Severity,
    pub message: String,
}

impl Refusal {
    fn malformed(message: impl Into<String>) -> Refusal {
        Refusal {
            severity: Severity::Error,
            message: message.into(),
        }
    }

    fn failed(message: impl Into<String>) -> Refusal {
        Refusal {
            severity: Severity::Failed,
            message: message.into(),
        }
    }
}

/// A template that passed: its containers, and the one the action puts the image into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    pub containers: Vec<TemplateContainer>,
    /// The container whose image is the placeholder.
    pub blue_green: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateContainer {
    pub name: String,
    /// `portMappings[].containerPort`, in file order.
    pub ports: Vec<i64>,
}

/// What an `AppSpec` that passed routes the traffic to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppSpec {
    pub container: String,
    pub port: i64,
}

/// Which of the two files a refusal is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Template,
    AppSpec,
}

/// Checks the pair: the template, then the `AppSpec` against it (not checked when the template
/// is refused, as its containers are not known then).
pub fn check_pair(
    template: &[u8],
    app_spec: &[u8],
    container: Option<&str>,
    placeholder: &str,
) -> Result<(Template, AppSpec), (Which, Vec<Refusal>)> {
    let t = check_template(template, container, placeholder).map_err(|r| (Which::Template, r))?;
    let a = check_app_spec(app_spec, &t).map_err(|r| (Which::AppSpec, r))?;
    Ok((t, a))
}

/// Why an `imagePlaceholder` is refused; the caller names the key or option.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlaceholderError {
    #[error("is empty; give the action's Image1ContainerName, e.g. {DEFAULT_PLACEHOLDER}")]
    Empty,
    #[error(
        "{given}: write it without the angle brackets, as the action's Image1ContainerName ({bare})",
        given = Value::String(.0.clone()),
        bare = Value::String(.0.trim_matches(['<', '>']).to_owned())
    )]
    Brackets(String),
    #[error(
        "{given} holds a space or a control character; the action's Image1ContainerName is one word, e.g. {DEFAULT_PLACEHOLDER}",
        given = Value::String(.0.clone())
    )]
    NotOneWord(String),
}

/// Checks an `imagePlaceholder` as written in the mapping or on the command line.
pub fn check_placeholder(name: &str) -> Result<(), PlaceholderError> {
    if name.is_empty() {
        return Err(PlaceholderError::Empty);
    }
    if name.contains(['<', '>']) {
        return Err(PlaceholderError::Brackets(name.to_owned()));
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(PlaceholderError::NotOneWord(name.to_owned()));
    }
    Ok(())
}

/// Checks a task definition template. `container` is the blue/green container when the mapping
/// names it; `None` takes the one container whose image is the placeholder (verify).
pub fn check_template(
    bytes: &[u8],
    container: Option<&str>,
    placeholder: &str,
) -> Result<Template, Vec<Refusal>> {
    let task = TaskDefinition::parse(bytes).map_err(|e| vec![Refusal::malformed(e.to_string())])?;
    // The same shapes TaskDefinition::parse accepted, so these reads cannot fail.
    let value = json::parse(bytes).map_err(|e| vec![Refusal::malformed(e.to_string())])?;
    let (prefix, body) = match value.get("taskDefinition") {
        Some(inner @ Value::Object(_)) => ("taskDefinition.", inner),
        _ => ("", &value),
    };
    let defs = body
        .get("containerDefinitions")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let wanted = format!("<{placeholder}>");
    let at = |i: usize| format!("{prefix}containerDefinitions[{i}]");
    let image_of = |def: &Value| def.get("image").cloned().unwrap_or(Value::Null);
    let mut problems = Vec::new();
    let blue_green = if let Some(name) = container {
        task.containers.iter().position(|c| c == name).or_else(|| {
            problems.push(Refusal::failed(format!(
                "has no container {} (its containers are {}); the blue/green container must be in the template: add it, or name one of these in blueGreen",
                Value::String(name.to_owned()),
                quoted(&task.containers)
            )));
            None
        })
    } else {
        let holding: Vec<usize> = (0..defs.len())
            .filter(|&i| image_of(&defs[i]).as_str() == Some(wanted.as_str()))
            .collect();
        match holding.as_slice() {
            [one] => Some(*one),
            [] => {
                problems.push(Refusal::failed(format!(
                        "no container's image is {} (the images are {}); CodeDeployToECS puts the image only where the template says {wanted}: write \"image\": \"{wanted}\" in the blue/green container, or give --image-placeholder the action's Image1ContainerName",
                        Value::String(wanted.clone()),
                        images(defs, &task.containers)
                    )));
                None
            }
            many => {
                problems.push(Refusal::failed(format!(
                        "{} containers have the image {} ({}); the action fills one container (Image1) per imageDetail.json: keep the placeholder in one",
                        many.len(),
                        Value::String(wanted.clone()),
                        quoted(many.iter().map(|&i| &task.containers[i]))
                    )));
                None
            }
        }
    };
    for (i, def) in defs.iter().enumerate() {
        let image = image_of(def);
        if Some(i) == blue_green {
            if image.as_str() != Some(wanted.as_str()) {
                problems.push(Refusal::failed(wrong_placeholder(
                    &at(i),
                    &task.containers[i],
                    &image,
                    placeholder,
                )));
            }
        } else if let Some(text) = image.as_str()
            && (text.contains('<') || text.contains('>'))
            // Without a blue/green container the refusal above lists every image already.
            && blue_green.is_some()
        {
            problems.push(Refusal::failed(format!(
                "key \"{}.image\" = {image} (container {}): an angle-bracket placeholder that nothing fills in: imagedef writes one imageDetail.json per service, the image of the blue/green container; write this container's image reference",
                at(i),
                Value::String(task.containers[i].clone()),
            )));
        }
    }
    let mut containers = Vec::new();
    for (i, def) in defs.iter().enumerate() {
        let ports = match def.get("portMappings") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(maps)) => maps
                .iter()
                .filter_map(|m| m.get("containerPort").and_then(Value::as_i64))
                .collect(),
            Some(other) => {
                problems.push(Refusal::malformed(format!(
                    "key \"{}.portMappings\" is {}, not an array; write [{{\"containerPort\": 8080}}]",
                    at(i),
                    json::kind(other)
                )));
                Vec::new()
            }
        };
        containers.push(TemplateContainer {
            name: task.containers[i].clone(),
            ports,
        });
    }
    match blue_green {
        Some(i) if problems.is_empty() => Ok(Template {
            blue_green: containers[i].name.clone(),
            containers,
        }),
        _ => Err(problems),
    }
}

/// The refusal of the blue/green container's image when it is not the placeholder.
fn wrong_placeholder(at: &str, container: &str, image: &Value, placeholder: &str) -> String {
    let wanted = format!("<{placeholder}>");
    let head = format!(
        "key \"{at}.image\" = {image} (the blue/green container {}): CodeDeployToECS replaces only {} (the action's Image1ContainerName {placeholder})",
        Value::String(container.to_owned()),
        Value::String(wanted.clone()),
    );
    match image
        .as_str()
        .and_then(|s| s.strip_prefix('<')?.strip_suffix('>'))
    {
        Some(other) => format!(
            "{head}; write \"image\": \"{wanted}\", or, when the action's Image1ContainerName is {other}, set imagePlaceholder to {}",
            Value::String(other.to_owned())
        ),
        None => format!(
            "{head}, so the deploy would run this image instead of the one built; write \"image\": \"{wanted}\""
        ),
    }
}

/// Checks an `AppSpec` (YAML or JSON) against the template it deploys.
pub fn check_app_spec(bytes: &[u8], template: &Template) -> Result<AppSpec, Vec<Refusal>> {
    let value = read_app_spec(bytes).map_err(|e| vec![Refusal::malformed(e.to_string())])?;
    let Value::Object(top) = &value else {
        return Err(vec![Refusal::malformed(format!(
            "is {}, not a mapping; an ECS AppSpec starts with version: 0.0 and Resources:",
            json::kind(&value)
        ))]);
    };
    let mut problems = Vec::new();
    let fail = |problems: &mut Vec<Refusal>, m: String| problems.push(Refusal::failed(m));
    match top.get("version") {
        Some(Value::Number(n)) if n.is_f64() && n.as_f64() == Some(0.0) => {}
        Some(Value::String(s)) if s == "0.0" => {}
        Some(other) => fail(
            &mut problems,
            format!("key \"version\" = {other}: an ECS AppSpec is version 0.0; write version: 0.0"),
        ),
        None => fail(
            &mut problems,
            "key \"version\" is missing; an ECS AppSpec starts with version: 0.0".to_owned(),
        ),
    }
    let target = target_service(top).map_err(|m| {
        fail(&mut problems, m.to_string());
    });
    let Ok((at, properties)) = target else {
        return Err(problems);
    };
    let prop = |key: &str| properties.get(key);
    match prop("TaskDefinition") {
        Some(Value::String(s)) if s == TASK_DEFINITION => {}
        other => fail(
            &mut problems,
            format!(
                "key \"{at}.Properties.TaskDefinition\" {}: CodeDeployToECS fills in {TASK_DEFINITION} with the task definition it registers from taskdef.json; write TaskDefinition: {TASK_DEFINITION}",
                shown(other)
            ),
        ),
    }
    let lb = format!("{at}.Properties.LoadBalancerInfo");
    let Some(Value::Object(info)) = prop("LoadBalancerInfo") else {
        fail(
            &mut problems,
            format!(
                "key \"{lb}\" {}; give the ContainerName and ContainerPort that take the traffic, e.g. LoadBalancerInfo: {{ContainerName: {}, ContainerPort: 8080}}",
                shown_kind(prop("LoadBalancerInfo"), "a mapping"),
                template.blue_green
            ),
        );
        return Err(problems);
    };
    match traffic(info, &lb, template, &mut problems) {
        Some(spec) if problems.is_empty() => Ok(spec),
        _ => Err(problems),
    }
}

/// `LoadBalancerInfo`: a `ContainerName` of the template and one of that container's ports.
fn traffic(
    info: &Map<String, Value>,
    lb: &str,
    template: &Template,
    problems: &mut Vec<Refusal>,
) -> Option<AppSpec> {
    let fail = |problems: &mut Vec<Refusal>, m: String| problems.push(Refusal::failed(m));
    let names = || quoted(template.containers.iter().map(|c| &c.name));
    let container = match info.get("ContainerName") {
        Some(Value::String(name)) => {
            let found = template.containers.iter().find(|c| &c.name == name);
            if found.is_none() {
                fail(
                    problems,
                    format!(
                        "key \"{lb}.ContainerName\" = {}: the task definition template has no such container (it has {}); name the container that takes the traffic",
                        Value::String(name.clone()),
                        names()
                    ),
                );
            }
            found
        }
        other => {
            fail(
                problems,
                format!(
                    "key \"{lb}.ContainerName\" {}; name the container of the template that takes the traffic (one of {})",
                    shown_kind(other, "a string"),
                    names()
                ),
            );
            None
        }
    };
    let port = match info.get("ContainerPort") {
        Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        other => {
            fail(
                problems,
                format!(
                    "key \"{lb}.ContainerPort\" {}; give the port, e.g. ContainerPort: 8080",
                    shown_kind(other, "a port number")
                ),
            );
            None
        }
    };
    if let (Some(c), Some(p)) = (container, port)
        && !c.ports.contains(&p)
    {
        let has = if c.ports.is_empty() {
            "has no portMappings".to_owned()
        } else {
            format!(
                "maps containerPort {}",
                c.ports
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        fail(
            problems,
            format!(
                "key \"{lb}.ContainerPort\" = {p}: container {} of the task definition template {has}; use one of its ports, or add {{\"containerPort\": {p}}} to its portMappings",
                Value::String(c.name.clone())
            ),
        );
    }
    let (c, port) = (container?, port?);
    problems.is_empty().then(|| AppSpec {
        container: c.name.clone(),
        port,
    })
}

/// How an `AppSpec` lists its ECS service, for the messages that ask for it.
const TARGET_EXAMPLE: &str = "Resources: [{TargetService: {Type: AWS::ECS::Service, Properties: {TaskDefinition: <TASK_DEFINITION>, LoadBalancerInfo: {ContainerName: ..., ContainerPort: ...}}}}]";

/// Why `Resources` does not hold the one ECS service a deployment updates.
#[derive(Debug, thiserror::Error)]
enum TargetError {
    #[error("key \"Resources\" {0}; list the ECS service: {TARGET_EXAMPLE}")]
    NoList(String),
    #[error(
        "key \"{at}.Properties\" {shown}; give the service's Properties: TaskDefinition, LoadBalancerInfo"
    )]
    NoProperties { at: String, shown: String },
    #[error(
        "key \"Resources\" has no resource of Type AWS::ECS::Service ({has}); list the ECS service: {TARGET_EXAMPLE}",
        has = if .0.is_empty() { "it is empty".to_owned() } else { format!("it has {}", .0.join(", ")) }
    )]
    None(Vec<String>),
    #[error(
        "key \"Resources\" has {count} resources of Type AWS::ECS::Service ({list}); a deployment of CodeDeployToECS updates one service: keep one",
        count = .0.len(),
        list = .0.join(", ")
    )]
    Many(Vec<String>),
}

/// The one `AWS::ECS::Service` of `Resources`: its key path and its `Properties`.
fn target_service(top: &Map<String, Value>) -> Result<(String, &Map<String, Value>), TargetError> {
    let resources = match top.get("Resources") {
        Some(Value::Array(items)) => items,
        other => return Err(TargetError::NoList(shown_kind(other, "a list"))),
    };
    let mut targets = Vec::new();
    let mut types = Vec::new();
    for (i, item) in resources.iter().enumerate() {
        for (name, resource) in item.as_object().into_iter().flatten() {
            let kind = resource.get("Type");
            if kind.and_then(Value::as_str) == Some("AWS::ECS::Service") {
                targets.push((format!("Resources[{i}].{name}"), resource));
            } else {
                types.push(kind.map_or_else(|| "no Type".to_owned(), ToString::to_string));
            }
        }
    }
    match targets.as_slice() {
        [(at, resource)] => match resource.get("Properties") {
            Some(Value::Object(p)) => Ok((at.clone(), p)),
            other => Err(TargetError::NoProperties {
                at: at.clone(),
                shown: shown_kind(other, "a mapping"),
            }),
        },
        [] => Err(TargetError::None(types)),
        many => Err(TargetError::Many(
            many.iter().map(|(at, _)| at.clone()).collect(),
        )),
    }
}

/// Why an `AppSpec` could not be read as JSON or YAML.
#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error("{0}; save it as UTF-8")]
    Text(JsonError),
    #[error("{0}; keep one")]
    Duplicate(JsonError),
    #[error("{0}; an AppSpec nests a few levels: is it the right file?")]
    Deep(JsonError),
    #[error("{0}; correct the JSON at that line and column")]
    Json(JsonError),
    #[error(transparent)]
    Yaml(#[from] yaml::YamlError),
}

/// The `AppSpec` as JSON values: JSON when it starts with `{`, else YAML (one document).
fn read_app_spec(bytes: &[u8]) -> Result<Value, ReadError> {
    let text = json::text(bytes).map_err(ReadError::Text)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('{') {
        return match json::parse_text(text) {
            Ok(value) => Ok(value),
            Err(e @ JsonError::DuplicateKey(_)) => Err(ReadError::Duplicate(e)),
            Err(e @ JsonError::TooDeep(_)) => Err(ReadError::Deep(e)),
            // Not JSON: a YAML flow mapping ({version: 0.0, ...}) is an AppSpec too.
            Err(e) => yaml::parse(text, &yaml::APPSPEC).map_err(|_| ReadError::Json(e)),
        };
    }
    Ok(yaml::parse(text, &yaml::APPSPEC)?)
}

/// `= <value>` or `is missing`, for a key that must have one exact value.
fn shown(value: Option<&Value>) -> String {
    value.map_or_else(|| "is missing".to_owned(), |v| format!("= {v}"))
}

/// `is missing`, or `= <value> is <kind>, not <wanted>`.
fn shown_kind(value: Option<&Value>, wanted: &str) -> String {
    value.map_or_else(
        || "is missing".to_owned(),
        |v| format!("= {v} is {}, not {wanted}", json::kind(v)),
    )
}

/// `"a", "b"`, or `none`.
fn quoted<'a>(names: impl IntoIterator<Item = &'a String>) -> String {
    let names: Vec<String> = names
        .into_iter()
        .map(|n| Value::String(n.clone()).to_string())
        .collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// `"web": "<IMAGE_NAME>", "proxy": (none)`: each container's image, for a refusal.
fn images(defs: &[Value], names: &[String]) -> String {
    if defs.is_empty() {
        return "none: the template has no containers".to_owned();
    }
    defs.iter()
        .zip(names)
        .map(|(d, n)| {
            let image = d
                .get("image")
                .map_or("(none)".to_owned(), ToString::to_string);
            format!("{}: {image}", Value::String(n.clone()))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"{
  "family": "shop-api",
  "containerDefinitions": [
    {"name": "api", "image": "<IMAGE1_NAME>", "portMappings": [{"containerPort": 8080, "protocol": "tcp"}]},
    {"name": "envoy", "image": "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.4.0-prod", "portMappings": [{"containerPort": 9901}]}
  ]
}"#;

    fn template() -> Template {
        check_template(TEMPLATE.as_bytes(), Some("api"), DEFAULT_PLACEHOLDER).unwrap()
    }

    fn messages(r: Vec<Refusal>) -> Vec<(Severity, String)> {
        r.into_iter().map(|r| (r.severity, r.message)).collect()
    }

    #[test]
    fn templates_that_pass() {
        let cdk = TEMPLATE.replace("IMAGE1_NAME", "IMAGE");
        let described = format!(r#"{{"taskDefinition": {TEMPLATE}, "tags": []}}"#);
        let crlf = TEMPLATE.replace('\n', "\r\n");
        let cases: [(&str, Option<&str>, &str); 5] = [
            (TEMPLATE, Some("api"), DEFAULT_PLACEHOLDER),
            (TEMPLATE, None, DEFAULT_PLACEHOLDER),
            (&cdk, Some("api"), "IMAGE"),
            (&described, None, DEFAULT_PLACEHOLDER),
            (&crlf, Some("api"), DEFAULT_PLACEHOLDER),
        ];
        for (text, container, placeholder) in cases {
            let t = check_template(text.as_bytes(), container, placeholder)
                .unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!(t.blue_green, "api");
            assert_eq!(t.containers[0].ports, [8080]);
            assert_eq!(t.containers[1].ports, [9901]);
        }
    }

    type TemplateCase<'a> = (String, Option<&'a str>, Vec<(Severity, &'a str)>);

    #[test]
    fn template_refusals_name_the_key_the_value_and_the_fix() {
        let e = Severity::Error;
        let f = Severity::Failed;
        let cases: Vec<TemplateCase> = vec![
            (
                "{".into(),
                Some("api"),
                vec![(
                    e,
                    "is not valid JSON: EOF while parsing an object at line 1 column 1; correct the JSON at that line and column",
                )],
            ),
            (
                "{}".into(),
                Some("api"),
                vec![(
                    e,
                    "has no key \"containerDefinitions\"; give a task definition (the JSON of register-task-definition, or the output of aws ecs describe-task-definition)",
                )],
            ),
            (
                TEMPLATE.replace("<IMAGE1_NAME>", "<IMAGE_NAME>"),
                Some("api"),
                vec![(
                    f,
                    "key \"containerDefinitions[0].image\" = \"<IMAGE_NAME>\" (the blue/green container \"api\"): CodeDeployToECS replaces only \"<IMAGE1_NAME>\" (the action's Image1ContainerName IMAGE1_NAME); write \"image\": \"<IMAGE1_NAME>\", or, when the action's Image1ContainerName is IMAGE_NAME, set imagePlaceholder to \"IMAGE_NAME\"",
                )],
            ),
            (
                TEMPLATE.replace(
                    "<IMAGE1_NAME>",
                    "111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/api:latest",
                ),
                Some("api"),
                vec![(
                    f,
                    "key \"containerDefinitions[0].image\" = \"111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/api:latest\" (the blue/green container \"api\"): CodeDeployToECS replaces only \"<IMAGE1_NAME>\" (the action's Image1ContainerName IMAGE1_NAME), so the deploy would run this image instead of the one built; write \"image\": \"<IMAGE1_NAME>\"",
                )],
            ),
            (
                TEMPLATE.replace("\"image\": \"<IMAGE1_NAME>\", ", ""),
                Some("api"),
                vec![(
                    f,
                    "key \"containerDefinitions[0].image\" = null (the blue/green container \"api\"): CodeDeployToECS replaces only \"<IMAGE1_NAME>\" (the action's Image1ContainerName IMAGE1_NAME), so the deploy would run this image instead of the one built; write \"image\": \"<IMAGE1_NAME>\"",
                )],
            ),
            (
                TEMPLATE.replace(
                    "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.4.0-prod",
                    "<IMAGE2_NAME>",
                ),
                Some("api"),
                vec![(
                    f,
                    "key \"containerDefinitions[1].image\" = \"<IMAGE2_NAME>\" (container \"envoy\"): an angle-bracket placeholder that nothing fills in: imagedef writes one imageDetail.json per service, the image of the blue/green container; write this container's image reference",
                )],
            ),
            (
                TEMPLATE.into(),
                Some("web"),
                vec![(
                    f,
                    "has no container \"web\" (its containers are \"api\", \"envoy\"); the blue/green container must be in the template: add it, or name one of these in blueGreen",
                )],
            ),
            (
                TEMPLATE.replace("<IMAGE1_NAME>", "<IMAGE_NAME>"),
                None,
                vec![(
                    f,
                    "no container's image is \"<IMAGE1_NAME>\" (the images are \"api\": \"<IMAGE_NAME>\", \"envoy\": \"public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.4.0-prod\"); CodeDeployToECS puts the image only where the template says <IMAGE1_NAME>: write \"image\": \"<IMAGE1_NAME>\" in the blue/green container, or give --image-placeholder the action's Image1ContainerName",
                )],
            ),
            (
                TEMPLATE.replace(
                    "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.4.0-prod",
                    "<IMAGE1_NAME>",
                ),
                None,
                vec![(
                    f,
                    "2 containers have the image \"<IMAGE1_NAME>\" (\"api\", \"envoy\"); the action fills one container (Image1) per imageDetail.json: keep the placeholder in one",
                )],
            ),
            (
                TEMPLATE.replace("[{\"containerPort\": 9901}]", "{\"containerPort\": 9901}"),
                Some("api"),
                vec![(
                    e,
                    "key \"containerDefinitions[1].portMappings\" is an object, not an array; write [{\"containerPort\": 8080}]",
                )],
            ),
        ];
        for (text, container, want) in cases {
            let got = check_template(text.as_bytes(), container, DEFAULT_PLACEHOLDER).unwrap_err();
            let want: Vec<(Severity, String)> =
                want.into_iter().map(|(s, m)| (s, m.to_owned())).collect();
            assert_eq!(messages(got), want, "{text}");
        }
    }

    const APPSPEC_YAML: &str = "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: <TASK_DEFINITION>\n        LoadBalancerInfo:\n          ContainerName: \"api\"\n          ContainerPort: 8080\n";

    #[test]
    fn app_specs_that_pass() {
        let json = r#"{"version": 0.0, "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {"TaskDefinition": "<TASK_DEFINITION>", "LoadBalancerInfo": {"ContainerName": "api", "ContainerPort": 8080}}}}]}"#;
        let commented = "# CodeDeploy AppSpec for the api service\nversion: 0.0 # always 0.0\nResources:\n  - TargetService: # the ECS service\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: \"<TASK_DEFINITION>\"\n        LoadBalancerInfo:\n          ContainerName: api\n          ContainerPort: \"8080\"\n        PlatformVersion: \"LATEST\"\nHooks:\n  - AfterAllowTestTraffic: \"arn:aws:lambda:us-east-1:111122223333:function:smoke\"\n";
        let crlf = APPSPEC_YAML.replace('\n', "\r\n");
        let quoted_version = APPSPEC_YAML.replace("version: 0.0", "version: '0.0'");
        let bom = format!("\u{feff}{APPSPEC_YAML}");
        let flow = "{version: 0.0, Resources: [{TargetService: {Type: AWS::ECS::Service, Properties: {TaskDefinition: <TASK_DEFINITION>, LoadBalancerInfo: {ContainerName: api, ContainerPort: 8080}}}}]}\n";
        let proxy = APPSPEC_YAML
            .replace("\"api\"", "envoy")
            .replace("8080", "9901");
        for text in [
            APPSPEC_YAML,
            json,
            commented,
            &crlf,
            &quoted_version,
            &bom,
            flow,
        ] {
            let a = check_app_spec(text.as_bytes(), &template())
                .unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!(
                a,
                AppSpec {
                    container: "api".into(),
                    port: 8080
                }
            );
        }
        let a = check_app_spec(proxy.as_bytes(), &template()).unwrap();
        assert_eq!((a.container.as_str(), a.port), ("envoy", 9901));
    }

    #[test]
    fn app_spec_refusals_name_the_key_the_value_and_the_fix() {
        let e = Severity::Error;
        let f = Severity::Failed;
        let lb = "key \"Resources[0].TargetService.Properties.LoadBalancerInfo";
        let with = |from: &str, to: &str| APPSPEC_YAML.replace(from, to);
        let cases: Vec<(String, Vec<(Severity, String)>)> = vec![
            (with("version: 0.0", "version: 0"), vec![(f, "key \"version\" = 0: an ECS AppSpec is version 0.0; write version: 0.0".into())]),
            (with("version: 0.0\n", ""), vec![(f, "key \"version\" is missing; an ECS AppSpec starts with version: 0.0".into())]),
            (with("<TASK_DEFINITION>", "arn:aws:ecs:us-east-1:111122223333:task-definition/shop-api:3"), vec![(f, "key \"Resources[0].TargetService.Properties.TaskDefinition\" = \"arn:aws:ecs:us-east-1:111122223333:task-definition/shop-api:3\": CodeDeployToECS fills in <TASK_DEFINITION> with the task definition it registers from taskdef.json; write TaskDefinition: <TASK_DEFINITION>".into())]),
            (with("\"api\"", "api-container"), vec![(f, format!("{lb}.ContainerName\" = \"api-container\": the task definition template has no such container (it has \"api\", \"envoy\"); name the container that takes the traffic"))]),
            (with("8080", "80"), vec![(f, format!("{lb}.ContainerPort\" = 80: container \"api\" of the task definition template maps containerPort 8080; use one of its ports, or add {{\"containerPort\": 80}} to its portMappings"))]),
            (with("8080", "http"), vec![(f, format!("{lb}.ContainerPort\" = \"http\" is a string, not a port number; give the port, e.g. ContainerPort: 8080"))]),
            (with("          ContainerName: \"api\"\n", ""), vec![(f, format!("{lb}.ContainerName\" is missing; name the container of the template that takes the traffic (one of \"api\", \"envoy\")"))]),
            (with("AWS::ECS::Service", "AWS::Lambda::Function"), vec![(f, "key \"Resources\" has no resource of Type AWS::ECS::Service (it has \"AWS::Lambda::Function\"); list the ECS service: Resources: [{TargetService: {Type: AWS::ECS::Service, Properties: {TaskDefinition: <TASK_DEFINITION>, LoadBalancerInfo: {ContainerName: ..., ContainerPort: ...}}}}]".into())]),
            ("version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties: {}\n  - Second:\n      Type: AWS::ECS::Service\n      Properties: {}\n".into(), vec![(f, "key \"Resources\" has 2 resources of Type AWS::ECS::Service (Resources[0].TargetService, Resources[1].Second); a deployment of CodeDeployToECS updates one service: keep one".into())]),
            ("version: 0.0\nResources: {}\n".into(), vec![(f, "key \"Resources\" = {} is an object, not a list; list the ECS service: Resources: [{TargetService: {Type: AWS::ECS::Service, Properties: {TaskDefinition: <TASK_DEFINITION>, LoadBalancerInfo: {ContainerName: ..., ContainerPort: ...}}}}]".into())]),
            (with("        LoadBalancerInfo:\n          ContainerName: \"api\"\n          ContainerPort: 8080\n", ""), vec![(f, format!("{lb}\" is missing; give the ContainerName and ContainerPort that take the traffic, e.g. LoadBalancerInfo: {{ContainerName: api, ContainerPort: 8080}}"))]),
            ("version: 0.0\nResources:\n  - TargetService:\n    Type: [\n".into(), vec![(e, "is not valid YAML: while parsing a node, did not find expected node content at line 5 column 1; correct it there".into())]),
            ("version: 0.0\nversion: 0.0\n".into(), vec![(e, "key \"version\" appears more than once (line 2); keep one (a YAML reader would silently drop the other)".into())]),
            (String::new(), vec![(e, "is empty; an ECS AppSpec starts with version: 0.0 and Resources:".into())]),
            ("- 1\n".into(), vec![(e, "is an array, not a mapping; an ECS AppSpec starts with version: 0.0 and Resources:".into())]),
            (format!("{APPSPEC_YAML}---\n{APPSPEC_YAML}"), vec![(e, "holds 2 YAML documents (separated by ---); CodeDeploy reads one AppSpec: keep one".into())]),
            ("{\"version\": 0.0,\n  \"Resources\": [\n}".into(), vec![(e, "is not valid JSON: expected value at line 3 column 1; correct the JSON at that line and column".into())]),
            ("{\"version\": 0.0, \"version\": 0.0}".into(), vec![(e, "key \"version\" appears more than once; keep one".into())]),
        ];
        for (text, want) in cases {
            let got = check_app_spec(text.as_bytes(), &template()).unwrap_err();
            assert_eq!(messages(got), want, "{text}");
        }
        let got = check_app_spec(&[0xff, b'a'], &template()).unwrap_err();
        assert_eq!(got[0].severity, e);
        assert!(got[0].message.ends_with("; save it as UTF-8"), "{got:?}");
    }

    #[test]
    fn no_mangled_input_panics_and_every_refusal_says_something() {
        for (text, is_template) in [(TEMPLATE, true), (APPSPEC_YAML, false)] {
            let bytes = text.as_bytes();
            let check = |b: &[u8]| {
                let refusals = if is_template {
                    check_template(b, Some("api"), DEFAULT_PLACEHOLDER).err()
                } else {
                    check_app_spec(b, &template()).err()
                };
                for r in refusals.into_iter().flatten() {
                    assert!(
                        r.message.len() > 20,
                        "{:?}: {}",
                        String::from_utf8_lossy(b),
                        r.message
                    );
                }
            };
            for cut in 0..bytes.len() {
                check(&bytes[..cut]);
            }
            for at in 0..bytes.len() {
                for b in [b'"', b'}', b':', b'-', b'\n', b'<', 0xff] {
                    let mut mangled = bytes.to_vec();
                    mangled[at] = b;
                    check(&mangled);
                }
            }
        }
    }

    #[test]
    fn placeholders_are_one_word_without_brackets() {
        for ok in ["IMAGE1_NAME", "IMAGE", "api-image"] {
            assert_eq!(check_placeholder(ok), Ok(()));
        }
        assert_eq!(
            check_placeholder("<IMAGE1_NAME>").unwrap_err().to_string(),
            "\"<IMAGE1_NAME>\": write it without the angle brackets, as the action's Image1ContainerName (\"IMAGE1_NAME\")"
        );
        assert_eq!(
            check_placeholder("").unwrap_err().to_string(),
            "is empty; give the action's Image1ContainerName, e.g. IMAGE1_NAME"
        );
        assert!(
            check_placeholder("IMAGE 1")
                .unwrap_err()
                .to_string()
                .contains("one word")
        );
    }
}
