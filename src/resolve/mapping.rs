//! Mapping mode: every container of every service to the exact reference to write, or the reasons
//! why not. Pure: no I/O.

use regex::Regex;

use super::{Image, TagRule, UriMode, check_consistent, group, reference};
use crate::discover::Discovery;
use crate::error::CheckFailed;
use crate::model::ImageRef;
use crate::model::mapping::{Container, Mapping, Selector, Service, Source};

/// Settings from the command line, which win over the mapping's.
#[derive(Clone, Copy, Debug, Default)]
pub struct Overrides<'a> {
    /// `--uri`.
    pub uri: Option<UriMode>,
    /// `--tag-pattern`.
    pub tag_pattern: Option<&'a Regex>,
}

/// One container and the reference to write for it.
#[derive(Clone, Debug)]
pub struct ResolvedContainer<'a> {
    pub container: &'a Container,
    pub reference: ImageRef,
    /// The URI mode applied; `None` for a fixed image, which is written as given.
    pub uri_mode: Option<UriMode>,
    /// The discovered image; `None` for a fixed image.
    pub image: Option<Image<'a>>,
}

/// One service with its containers, in mapping order.
#[derive(Clone, Debug)]
pub struct ResolvedService<'a> {
    pub service: &'a Service,
    pub containers: Vec<ResolvedContainer<'a>>,
}

impl ResolvedService<'_> {
    /// The reference of the service's blue/green container, when it names one.
    #[must_use]
    pub fn blue_green(&self) -> Option<&ImageRef> {
        let name = self.service.blue_green.as_ref()?;
        self.containers
            .iter()
            .find(|c| &c.container.name == name)
            .map(|c| &c.reference)
    }
}

/// Resolves every container of the mapping against what was discovered. Every container that
/// fails is reported, not only the first; the error is a [`CheckFailed`] (exit 1), except when
/// every discovered file was refused (exit 2).
pub fn resolve<'a>(
    mapping: &'a Mapping,
    found: &'a Discovery,
    overrides: Overrides<'_>,
) -> anyhow::Result<Vec<ResolvedService<'a>>> {
    let mut services = Vec::new();
    let mut failures: Vec<CheckFailed> = Vec::new();
    for service in &mapping.services {
        let uri = overrides
            .uri
            .or(service.uri)
            .or(mapping.uri)
            .unwrap_or_default();
        let rule = TagRule {
            pattern: overrides
                .tag_pattern
                .or(service.tag_pattern.as_ref())
                .or(mapping.tag_pattern.as_ref())
                .cloned(),
        };
        let mut containers = Vec::new();
        for container in &service.containers {
            match resolve_container(service, container, found, uri, &rule) {
                Ok(c) => containers.push(c),
                Err(e) => failures.push(e),
            }
        }
        services.push(ResolvedService {
            service,
            containers,
        });
    }
    if failures.is_empty() {
        return Ok(services);
    }
    if found.only_refused() {
        return Err(anyhow::anyhow!(
            "found no usable imageDetail.json for the mapping; every candidate was refused:\n{}",
            found.listing()
        ));
    }
    let lines: Vec<String> = failures.iter().map(|f| format!("  {f}")).collect();
    let listing = if found.candidates.is_empty() && found.skipped.is_empty() {
        "  (nothing: give the directories of the ECR source artifacts as ROOT, or run inside CodeBuild where $CODEBUILD_SRC_DIR_<name> points at them)".to_owned()
    } else {
        found.listing()
    };
    let message = format!(
        "{} of the mapping's containers could not be resolved:\n{}\ndiscovered:\n{listing}",
        failures.len(),
        lines.join("\n")
    );
    Err(same_kind(&failures[0], message).into())
}

fn resolve_container<'a>(
    service: &Service,
    container: &'a Container,
    found: &'a Discovery,
    uri: UriMode,
    rule: &TagRule,
) -> Result<ResolvedContainer<'a>, CheckFailed> {
    let at = format!(
        "service {:?}, container {:?}",
        service.name.as_str(),
        container.name.as_str()
    );
    let selector = match &container.source {
        Source::Fixed(reference) => {
            return Ok(ResolvedContainer {
                container,
                reference: reference.clone(),
                uri_mode: None,
                image: None,
            });
        }
        Source::Select(selector) => selector,
    };
    let image = the_selected_image(&at, selector, found)?;
    check_consistent(&image).map_err(|e| {
        CheckFailed::Inconsistent(format!("{at}: the image's file disagrees with itself: {e}"))
    })?;
    let reference = reference(image.detail, &image.tags(), uri, rule).map_err(|e| {
        let hint = if matches!(e, CheckFailed::AmbiguousTag(_)) {
            "; in the mapping, set \"tagPattern\" on the service or at the top"
        } else {
            ""
        };
        same_kind(
            &e,
            format!("{at} (image from {}): {e}{hint}", image.source_labels()),
        )
    })?;
    Ok(ResolvedContainer {
        container,
        reference,
        uri_mode: Some(uri),
        image: Some(image),
    })
}

/// The one distinct image the selector matches.
fn the_selected_image<'a>(
    at: &str,
    selector: &Selector,
    found: &'a Discovery,
) -> Result<Image<'a>, CheckFailed> {
    let mut images = group(
        found
            .images()
            .filter(|(c, d)| selector.matches(&c.artifact, &c.rel_path, d)),
    );
    match images.len() {
        1 => Ok(images.remove(0)),
        0 => Err(CheckFailed::NoImage(format!(
            "{at}: selector {selector} matches no discovered image; fix: correct the selector to match one of the files listed below, or give the build the input artifact that holds the image"
        ))),
        n => Err(CheckFailed::AmbiguousImage(format!(
            "{at}: selector {selector} matches {n} different images: {}; fix: add an \"artifact\" or \"path\" selector so that only one remains",
            images
                .iter()
                .map(|i| format!("{} ({})", i.source_labels(), i.detail.image_uri))
                .collect::<Vec<_>>()
                .join(" and ")
        ))),
    }
}

/// A failed check of the same kind as `like`, with another message.
fn same_kind(like: &CheckFailed, message: String) -> CheckFailed {
    match like {
        CheckFailed::NoImage(_) => CheckFailed::NoImage(message),
        CheckFailed::AmbiguousImage(_) => CheckFailed::AmbiguousImage(message),
        CheckFailed::AmbiguousTag(_) => CheckFailed::AmbiguousTag(message),
        CheckFailed::UnknownContainer(_) => CheckFailed::UnknownContainer(message),
        CheckFailed::DigestMismatch(_) => CheckFailed::DigestMismatch(message),
        CheckFailed::Inconsistent(_) => CheckFailed::Inconsistent(message),
        CheckFailed::Unpinned(_) => CheckFailed::Unpinned(message),
        CheckFailed::Limit(_) => CheckFailed::Limit(message),
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::discover::Candidate;
    use crate::model::ImageDetail;

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

    /// The references written, or fragments of the error.
    type Want = Result<Vec<String>, Vec<&'static str>>;

    /// (containers of one service, --uri, what is wanted)
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
                Err(vec![
                    "service \"svc\", container \"a\": selector {\"repository\": \"shop/nope\"} matches no discovered image",
                    "discovered:",
                    "Batch:cron/imageDetail.json",
                ]),
            ),
            (
                r#"{"b": {"artifact": "Batch"}}"#,
                None,
                Err(vec![
                    "matches 2 different images: Batch:cron/imageDetail.json",
                    "and Batch:worker/imageDetail.json",
                    "add an \"artifact\" or \"path\" selector",
                ]),
            ),
            (
                r#"{"b": {"artifact": "Batch", "path": "*/imageDetail.json", "repository": "shop/batch"}}"#,
                None,
                Err(vec!["matches 2 different images"]),
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
                Err(vec![
                    "2 of the mapping's containers could not be resolved",
                    "container \"b\"",
                    "container \"c\"",
                ]),
            ),
        ];
        for (containers, uri, want) in cases {
            let m = mapping(containers);
            let got = resolve(
                &m,
                &found,
                Overrides {
                    uri,
                    tag_pattern: None,
                },
            );
            match (got, want) {
                (Ok(services), Ok(want)) => {
                    let refs: Vec<String> = services[0]
                        .containers
                        .iter()
                        .map(|c| c.reference.to_string())
                        .collect();
                    assert_eq!(refs, want, "{containers}");
                }
                (Err(e), Err(want)) => {
                    let text = format!("{e:#}");
                    assert!(
                        crate::error::exit_code_of(&e) == crate::error::ExitCode::CheckFailed,
                        "{text}"
                    );
                    for w in want {
                        assert!(
                            text.contains(w),
                            "{containers}\n  error: {text}\n  lacks: {w}"
                        );
                    }
                }
                (got, want) => panic!("{containers}: got {:?}, want {want:?}", got.map(|_| ())),
            }
        }
    }

    #[test]
    fn the_command_line_wins_over_the_service_which_wins_over_the_top() {
        let found = discovery();
        let m = Mapping::parse(
            br#"{"uri": "tag", "tagPattern": "^latest$", "services": {
                "a": {"containers": {"a": {"artifact": "ApiImage"}}},
                "b": {"uri": "tag+digest", "tagPattern": "^5", "containers": {"b": {"artifact": "ApiImage"}}}
            }}"#,
            Path::new("."),
        )
        .unwrap();
        let refs = |o: Overrides<'_>| -> Vec<String> {
            resolve(&m, &found, o)
                .unwrap()
                .iter()
                .map(|s| s.containers[0].reference.to_string())
                .collect()
        };
        let api = format!("{HOST}/shop/api");
        assert_eq!(
            refs(Overrides::default()),
            [format!("{api}:latest"), format!("{api}:598@{D2}")]
        );
        let pattern = Regex::new("^598$").unwrap();
        assert_eq!(
            refs(Overrides {
                uri: Some(UriMode::Digest),
                tag_pattern: Some(&pattern)
            }),
            [format!("{api}@{D2}"), format!("{api}@{D2}")]
        );
        assert_eq!(
            refs(Overrides {
                uri: None,
                tag_pattern: Some(&pattern)
            }),
            [format!("{api}:598"), format!("{api}:598@{D2}")]
        );
    }

    #[test]
    fn only_refused_files_is_not_a_failed_check() {
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
        let e = resolve(&m, &found, Overrides::default()).unwrap_err();
        assert_eq!(
            crate::error::exit_code_of(&e),
            crate::error::ExitCode::Error
        );
        assert!(
            format!("{e:#}").contains("every candidate was refused"),
            "{e:#}"
        );
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
        let services = resolve(&m, &found, Overrides::default()).unwrap();
        assert_eq!(
            services[0].blue_green().unwrap().to_string(),
            format!("{HOST}/shop/api@{D2}")
        );
    }
}
