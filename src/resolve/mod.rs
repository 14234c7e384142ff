//! From discovered files to the exact reference to write for every container of every service:
//! which image, which tag, which URI form. Pure: no I/O. What cannot be resolved comes back as
//! typed reasons ([`Failure`]), every container's, for the command layer to word.
//!
//! - [`images`]: discovered files grouped into distinct images;
//! - [`tags`]: the tag choice and the reference of one image;
//! - [`changes`]: the references resolved against those an ECS service runs now.

pub mod changes;
pub mod images;
pub mod tags;

use serde::Serialize;

use crate::discover::Discovery;
use crate::model::mapping::{Container, Mapping, Selector, Service, Source};
use crate::model::platform::{Needed, Platform};
use crate::model::{ContainerName, Digest, ImageRef, Origin, Rule, Rules, TaskDefinition, UriMode};
pub use images::Image;
use tags::RefProblem;

/// One file an image was found in.
#[derive(Clone, Debug, Serialize)]
pub struct SourceFile {
    pub artifact: String,
    /// The path inside the artifact.
    pub path: String,
}

/// One container and the reference to write for it: the row that the report, the JSON summary and the
/// printed summary all show.
#[derive(Clone, Debug)]
pub struct ResolvedContainer<'a> {
    pub name: ContainerName,
    /// The reference written.
    pub image_uri: ImageRef,
    /// The URI form applied; `None` for a fixed image, which is written as given.
    pub uri_mode: Option<UriMode>,
    /// The mapping's `image`, when the container has a fixed image.
    pub fixed: Option<ImageRef>,
    /// The mapping's selector, when the image was discovered through one.
    pub selector: Option<&'a Selector>,
    pub digest: Option<Digest>,
    pub tags: Vec<String>,
    /// Every file that named the image (several when they agree on the digest); none for a
    /// fixed image.
    pub sources: Vec<SourceFile>,
    /// Against the image the service's running task definition names (`ecs://`), once
    /// [`changes::hold_against`] has held it there.
    pub change: Option<changes::Change>,
    /// With `--resolve-tags`: the tag whose digest ECR gave, the file naming none.
    pub resolved_tag: Option<String>,
}

/// One service with its containers, in mapping order.
#[derive(Clone, Debug)]
pub struct ResolvedService<'a> {
    pub service: &'a Service,
    pub containers: Vec<ResolvedContainer<'a>>,
    /// The rules in force for it, each with where it was set: start-up's, else the service's,
    /// else the mapping's top level.
    pub rules: Rules,
    /// Its task definition (or, for a blue/green service without one, its task definition
    /// template), once the check stage has read it.
    pub task: Option<ServiceTask>,
    /// The task definition its ECS service runs now (`ecs://`), once
    /// [`changes::hold_against`] has held the containers against it.
    pub running: Option<changes::Running>,
}

impl ResolvedService<'_> {
    /// With `ecs://`: true when no container's image changes against the running task definition
    /// (every one unchanged); `None` without a running task definition.
    #[must_use]
    pub fn unchanged(&self) -> Option<bool> {
        self.running.as_ref()?;
        Some(self.containers.iter().all(|c| {
            c.change
                .as_ref()
                .is_some_and(|ch| ch.status == changes::Status::Unchanged)
        }))
    }

    /// The platform its images must offer, and where that was said: the rules', else what its
    /// task definition implies (`None` for an EC2 task definition without `runtimePlatform`).
    #[must_use]
    pub fn platform(&self) -> Option<Rule<Platform>> {
        if let Some(rule) = &self.rules.platform {
            return Some(rule.clone());
        }
        let task = self.task.as_ref()?;
        match &task.definition.platform {
            Needed::Platform { platform, from } => Some(Rule::new(
                platform.clone(),
                Origin::TaskDefinition(format!("{} ({from})", task.named)),
            )),
            Needed::Unknown(_) => None,
        }
    }

    /// The reference of the service's blue/green container, when it names one.
    #[must_use]
    pub fn blue_green(&self) -> Option<&ImageRef> {
        let name = self.service.blue_green.as_ref()?;
        self.containers
            .iter()
            .find(|c| &c.name == name)
            .map(|c| &c.image_uri)
    }
}

/// A service's task definition as read, and how messages name it (`task definition
/// deploy/web.json`, `task definition template deploy/api-taskdef.json`).
#[derive(Clone, Debug)]
pub struct ServiceTask {
    pub definition: TaskDefinition,
    pub named: String,
}

/// A container that could not be resolved, and why.
#[derive(Clone, Debug)]
pub struct Unresolved<'a> {
    pub service: &'a Service,
    pub container: &'a Container,
    /// The rules in force for it, each with where it was set.
    pub rules: Rules,
    pub reason: Reason<'a>,
}

#[derive(Clone, Debug)]
pub enum Reason<'a> {
    /// The selector matches no usable discovered file.
    NoMatch,
    /// The selector matches several distinct images.
    Ambiguous(Vec<Image<'a>>),
    /// The image's files disagree with themselves (each problem names its file).
    Inconsistent { problems: Vec<String> },
    /// The image's reference cannot be written as the rules ask.
    Reference {
        image: Image<'a>,
        problem: RefProblem,
    },
}

/// Every container that could not be resolved.
#[derive(Clone, Debug)]
pub struct Failure<'a> {
    pub unresolved: Vec<Unresolved<'a>>,
    /// Files were found, but every one was refused or skipped: the input is malformed rather than
    /// missing an image.
    pub only_refused: bool,
}

/// With `--resolve-tags`: marks each container whose digest came from ECR for a tag (`pinned`:
/// each tag-only image and the digest it was given) with that tag.
pub fn note_resolved_tags(services: &mut [ResolvedService<'_>], pinned: &[(ImageRef, Digest)]) {
    for c in services.iter_mut().flat_map(|s| s.containers.iter_mut()) {
        c.resolved_tag = pinned
            .iter()
            .find(|(image, digest)| Some(*digest) == c.digest && image.name() == c.image_uri.name())
            .and_then(|(image, _)| image.tag().map(str::to_owned));
    }
}

/// Resolves every container of `mapping` against what was found. `started` are the rules given
/// at start-up, which win over the service's, which win over the mapping's top level.
pub fn resolve<'a>(
    mapping: &'a Mapping,
    found: &'a Discovery,
    started: &Rules,
) -> Result<Vec<ResolvedService<'a>>, Failure<'a>> {
    let mut services = Vec::with_capacity(mapping.services.len());
    let mut unresolved = Vec::new();
    for service in &mapping.services {
        let rules = started.or(&service.rules).or(&mapping.rules);
        let mut containers = Vec::with_capacity(service.containers.len());
        for container in &service.containers {
            match resolve_container(container, found, &rules) {
                Ok(c) => containers.push(c),
                Err(reason) => unresolved.push(Unresolved {
                    service,
                    container,
                    rules: rules.clone(),
                    reason,
                }),
            }
        }
        services.push(ResolvedService {
            service,
            containers,
            rules,
            task: None,
            running: None,
        });
    }
    if unresolved.is_empty() {
        Ok(services)
    } else {
        Err(Failure {
            unresolved,
            only_refused: found.only_refused(),
        })
    }
}

fn resolve_container<'a>(
    container: &'a Container,
    found: &'a Discovery,
    rules: &Rules,
) -> Result<ResolvedContainer<'a>, Reason<'a>> {
    let selector = match &container.source {
        Source::Fixed(reference) => {
            return Ok(ResolvedContainer {
                name: container.name.clone(),
                image_uri: reference.clone(),
                uri_mode: None,
                fixed: Some(reference.clone()),
                selector: None,
                digest: reference.digest(),
                tags: reference.tag().map(str::to_owned).into_iter().collect(),
                sources: Vec::new(),
                change: None,
                resolved_tag: None,
            });
        }
        Source::Select(selector) => Some(selector),
        Source::Any => None,
    };
    let mut images = images::group(
        found
            .images()
            .filter(|(c, d)| selector.is_none_or(|s| s.matches(&c.artifact, &c.rel_path, d))),
    );
    let image = match images.len() {
        0 => return Err(Reason::NoMatch),
        1 => images.remove(0),
        _ => return Err(Reason::Ambiguous(images)),
    };
    let problems = image.inconsistencies();
    if !problems.is_empty() {
        return Err(Reason::Inconsistent { problems });
    }
    let mode = rules.uri_mode().value;
    let tags = image.tags();
    let pattern = rules.tag_pattern.as_ref().map(|r| &r.value);
    let reference = match tags::reference(image.detail, &tags, mode, pattern) {
        Ok(reference) => reference,
        Err(problem) => return Err(Reason::Reference { image, problem }),
    };
    Ok(ResolvedContainer {
        name: container.name.clone(),
        image_uri: reference,
        uri_mode: Some(mode),
        fixed: None,
        selector,
        digest: image.detail.digest(),
        tags: tags.into_iter().map(str::to_owned).collect(),
        sources: image
            .sources
            .iter()
            .map(|c| SourceFile {
                artifact: c.artifact.clone(),
                path: c.rel_path.clone(),
            })
            .collect(),
        change: None,
        resolved_tag: None,
    })
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::discover::Candidate;
    use crate::model::{ImageDetail, Origin, Rule};

    const HOST: &str = "111122223333.dkr.ecr.us-east-1.amazonaws.com";
    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    const D3: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";

    fn file(artifact: &str, rel: &str, repo: &str, digest: &str, tags: &[&str]) -> Candidate {
        let tags: Vec<String> = tags.iter().map(|t| format!("{t:?}")).collect();
        let json = format!(
            r#"{{"ImageURI":"{HOST}/{repo}@{digest}","ImageDigest":"{digest}","RepositoryName":"{repo}","ImageTags":[{}]}}"#,
            tags.join(",")
        );
        Candidate {
            artifact: artifact.into(),
            rel_path: rel.into(),
            path: PathBuf::from(artifact).join(rel),
            detail: Ok(ImageDetail::parse(json.as_bytes()).unwrap()),
        }
    }

    fn discovery() -> Discovery {
        Discovery {
            // As discover lists them: by artifact, then by path inside it.
            candidates: vec![
                file(
                    "WebImage",
                    "imageDetail.json",
                    "shop/web",
                    D1,
                    &["latest", "e6828a4"],
                ),
                file(
                    "Copy",
                    "web/imageDetail.json",
                    "shop/web",
                    D1,
                    &["latest", "e6828a4"],
                ),
                file(
                    "ApiImage",
                    "imageDetail.json",
                    "shop/api",
                    D2,
                    &["598", "latest"],
                ),
                file("Batch", "cron/imageDetail.json", "shop/batch", D3, &["c1"]),
                file(
                    "Batch",
                    "worker/imageDetail.json",
                    "shop/batch",
                    D2,
                    &["w1"],
                ),
            ],
            skipped: Vec::new(),
        }
    }

    fn mapping(containers: &str) -> Mapping {
        Mapping::parse(
            format!(r#"{{"services": {{"svc": {{"containers": {containers}}}}}}}"#).as_bytes(),
            Path::new("."),
        )
        .unwrap()
    }

    fn started(uri: Option<UriMode>, pattern: Option<&str>) -> Rules {
        let started = Origin::Started(crate::model::Given::Option("--uri"));
        Rules {
            uri: uri.map(|u| Rule::new(u, started.clone())),
            tag_pattern: pattern.map(|p| Rule::new(p.parse().unwrap(), started.clone())),
            ..Rules::default()
        }
    }

    /// The kind of each reason, with the container it is about.
    fn reasons(failure: &Failure<'_>) -> Vec<String> {
        failure
            .unresolved
            .iter()
            .map(|u| {
                let kind = match &u.reason {
                    Reason::NoMatch => "no match".to_owned(),
                    Reason::Ambiguous(images) => format!("{} images", images.len()),
                    Reason::Inconsistent { .. } => "inconsistent".to_owned(),
                    Reason::Reference { problem, .. } => format!("{problem:?}"),
                };
                format!("{}: {kind}", u.container.name)
            })
            .collect()
    }

    /// The references written, or each container's reason.
    type Want = Result<Vec<String>, Vec<&'static str>>;

    /// (containers of one service, the start-up URI form, the references written or the reasons)
    #[test]
    fn resolution_table() {
        let found = discovery();
        let web = format!("{HOST}/shop/web@{D1}");
        let cases: Vec<(&str, Option<UriMode>, Want)> = vec![
            // Two files with the same digest are one image.
            (
                r#"{"a": {"repository": "shop/web"}}"#,
                None,
                Ok(vec![web.clone()]),
            ),
            (
                r#"{"a": {"repository": "shop/web"}, "x": {"image": "public.ecr.aws/xray/aws-xray-daemon:3.3.12"}}"#,
                None,
                Ok(vec![
                    web.clone(),
                    "public.ecr.aws/xray/aws-xray-daemon:3.3.12".into(),
                ]),
            ),
            (
                r#"{"a": {"artifact": "ApiImage"}}"#,
                Some(UriMode::Tag),
                Ok(vec![format!("{HOST}/shop/api:598")]),
            ),
            (
                r#"{"w": {"path": "worker/*"}}"#,
                None,
                Ok(vec![format!("{HOST}/shop/batch@{D2}")]),
            ),
            (
                r#"{"a": {"repository": "shop/nope"}}"#,
                None,
                Err(vec!["a: no match"]),
            ),
            (
                r#"{"b": {"artifact": "Batch"}}"#,
                None,
                Err(vec!["b: 2 images"]),
            ),
            (
                r#"{"b": {"artifact": "Batch", "path": "*/imageDetail.json", "repository": "shop/batch"}}"#,
                None,
                Err(vec!["b: 2 images"]),
            ),
            // The same digest under another repository is another image.
            (
                r#"{"d": {"path": "imageDetail.json", "artifact": "ApiImage"}, "e": {"path": "worker/imageDetail.json"}}"#,
                None,
                Ok(vec![
                    format!("{HOST}/shop/api@{D2}"),
                    format!("{HOST}/shop/batch@{D2}"),
                ]),
            ),
            (
                r#"{"a": {"artifact": "WebImage"}, "b": {"artifact": "Nope"}, "c": {"artifact": "Batch"}}"#,
                None,
                Err(vec!["b: no match", "c: 2 images"]),
            ),
        ];
        for (containers, uri, want) in cases {
            let m = mapping(containers);
            match (resolve(&m, &found, &started(uri, None)), want) {
                (Ok(services), Ok(want)) => {
                    let refs: Vec<String> = services[0]
                        .containers
                        .iter()
                        .map(|c| c.image_uri.to_string())
                        .collect();
                    assert_eq!(refs, want, "{containers}");
                }
                (Err(f), Err(want)) => {
                    assert_eq!(reasons(&f), want, "{containers}");
                    assert!(!f.only_refused);
                }
                (got, want) => panic!(
                    "{containers}: got {:?}, want {want:?}",
                    got.map(|_| ()).map_err(|f| reasons(&f))
                ),
            }
        }
    }

    #[test]
    fn the_start_up_rules_win_over_the_service_which_wins_over_the_top() {
        let found = discovery();
        let m = Mapping::parse(
            br#"{"uri": "tag", "tagPattern": "^latest$", "services": {
                "a": {"containers": {"a": {"artifact": "ApiImage"}}},
                "b": {"uri": "tag+digest", "tagPattern": "^5", "containers": {"b": {"artifact": "ApiImage"}}}
            }}"#,
            Path::new("."),
        )
        .unwrap();
        let refs = |rules: Rules| -> Vec<String> {
            resolve(&m, &found, &rules)
                .unwrap()
                .iter()
                .map(|s| s.containers[0].image_uri.to_string())
                .collect()
        };
        let api = format!("{HOST}/shop/api");
        assert_eq!(
            refs(Rules::default()),
            [format!("{api}:latest"), format!("{api}:598@{D2}")]
        );
        assert_eq!(
            refs(started(Some(UriMode::Digest), Some("^598$"))),
            [format!("{api}@{D2}"), format!("{api}@{D2}")]
        );
        assert_eq!(
            refs(started(None, Some("^598$"))),
            [format!("{api}:598"), format!("{api}:598@{D2}")]
        );
    }

    #[test]
    fn a_failed_tag_choice_carries_the_rules_and_where_they_were_set() {
        let found = discovery();
        let m = Mapping::parse(
            br#"{"uri": "tag", "tagPattern": "^v", "services": {"web": {"containers": {"web": {"artifact": "WebImage"}}}}}"#,
            Path::new("."),
        )
        .unwrap();
        let failure = resolve(&m, &found, &Rules::default()).unwrap_err();
        let u = &failure.unresolved[0];
        assert_eq!(u.rules.uri_mode().from, Origin::MappingTop);
        assert_eq!(
            u.rules.tag_pattern.as_ref().unwrap().from,
            Origin::MappingTop
        );
        assert!(matches!(
            &u.reason,
            Reason::Reference { problem: RefProblem::Tag(tags::TagProblem::Ambiguous { remaining, .. }), .. } if remaining.is_empty()
        ));
    }

    #[test]
    fn single_image_mode_takes_the_only_image_or_says_how_many() {
        let container: ContainerName = "app".parse().unwrap();
        let plan = Mapping::single(container, None);
        let found = discovery();
        let failure = resolve(&plan, &found, &Rules::default()).unwrap_err();
        assert_eq!(reasons(&failure), ["app: 4 images"]);
        let one = Discovery {
            candidates: vec![discovery().candidates.remove(2)],
            skipped: Vec::new(),
        };
        let services = resolve(&plan, &one, &Rules::default()).unwrap();
        assert_eq!(services[0].service.name, None);
        assert_eq!(
            services[0].containers[0].image_uri.to_string(),
            format!("{HOST}/shop/api@{D2}")
        );
    }

    #[test]
    fn only_refused_files_are_flagged_as_such() {
        let found = Discovery {
            candidates: vec![Candidate {
                artifact: "Src".into(),
                rel_path: "imageDetail.json".into(),
                path: "Src/imageDetail.json".into(),
                detail: ImageDetail::parse(br#"{"ImageURI":"<IMAGE1_NAME>"}"#),
            }],
            skipped: Vec::new(),
        };
        let m = mapping(r#"{"a": {"artifact": "Src"}}"#);
        let failure = resolve(&m, &found, &Rules::default()).unwrap_err();
        assert!(failure.only_refused);
        assert_eq!(reasons(&failure), ["a: no match"]);
    }

    #[test]
    fn blue_green_is_the_named_containers_reference() {
        let found = discovery();
        let m = Mapping::parse(
            br#"{"services": {"api": {"blueGreen": "api", "containers": {
                "x": {"image": "a.io/x:1"}, "api": {"artifact": "ApiImage"}}}}}"#,
            Path::new("."),
        )
        .unwrap();
        let services = resolve(&m, &found, &Rules::default()).unwrap();
        assert_eq!(
            services[0].blue_green().unwrap().to_string(),
            format!("{HOST}/shop/api@{D2}")
        );
    }
}
