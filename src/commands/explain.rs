//! Words for what `resolve` could not do: each reason said in the terms of the mode the user ran,
//! naming the option, variable or mapping key that actually set the rule in question.

use crate::config::{EmitConfig, EmitMode};
use crate::discover::Discovery;
use crate::error::CheckFailed;
use crate::model::mapping::{Selector, Source};
use crate::model::{Given, Origin, Rule, UriMode};
use crate::resolve::tags::{RefProblem, TagProblem};
use crate::resolve::{Failure, Reason, Unresolved};

/// The error that ends `emit` when resolution failed: exit 1, or exit 2 when every file found
/// was refused (the input is malformed, not missing an image).
#[must_use]
pub fn failure(failure: &Failure<'_>, config: &EmitConfig, found: &Discovery) -> anyhow::Error {
    let file = &config.discover.file_name;
    let single = matches!(config.mode, EmitMode::Single { .. });
    if failure.only_refused {
        let purpose = if single { "" } else { " for the mapping" };
        return anyhow::anyhow!(
            "found no usable {file}{purpose}; every candidate was refused:\n{}{}",
            found.listing(),
            only_here(config)
        );
    }
    let words = Words { config, found };
    let message = if single {
        words.in_single(&failure.unresolved[0])
    } else {
        let lines: Vec<String> = failure
            .unresolved
            .iter()
            .map(|u| format!("  {}", words.in_mapping(u)))
            .collect();
        let listing = if found.candidates.is_empty() && found.skipped.is_empty() {
            format!(
                "  (nothing: no {file} under the artifact roots; give the directories of the ECR source artifacts as ROOT, or run inside CodeBuild where $CODEBUILD_SRC_DIR_<name> points at them)"
            )
        } else {
            found.listing()
        };
        format!(
            "{} of the mapping's containers could not be resolved:\n{}\ndiscovered:\n{listing}",
            failure.unresolved.len(),
            lines.join("\n")
        )
    };
    CheckFailed(message).into()
}

/// True when [`failure`]'s message lists every file discovered, the refused and skipped ones with
/// their reasons, so that no warning needs to say them again.
#[must_use]
pub fn lists_discovery(failure: &Failure<'_>, config: &EmitConfig) -> bool {
    failure.only_refused
        || !matches!(config.mode, EmitMode::Single { .. })
        || matches!(
            failure.unresolved.first().map(|u| &u.reason),
            Some(Reason::Ambiguous(_))
        )
}

/// When only the current directory was searched because nothing named a root, say so.
fn only_here(config: &EmitConfig) -> &'static str {
    if config
        .discover
        .roots
        .iter()
        .all(|r| r.origin == crate::discover::CURRENT_DIRECTORY)
    {
        "\nno artifact roots were given (no ROOT argument, and $CODEBUILD_SRC_DIR is not set), so only the current directory was searched; give the ECR source artifact's directory as ROOT"
    } else {
        ""
    }
}

struct Words<'a> {
    config: &'a EmitConfig,
    found: &'a Discovery,
}

impl Words<'_> {
    /// Single-image mode: the one container of the one implicit service.
    fn in_single(&self, u: &Unresolved<'_>) -> String {
        let file = &self.config.discover.file_name;
        match &u.reason {
            Reason::NoMatch => format!(
                "found no {file} under the artifact roots; give the directory of the ECR source artifact as ROOT, or run inside CodeBuild where $CODEBUILD_SRC_DIR_<name> points at it{}",
                only_here(self.config)
            ),
            Reason::Ambiguous(images) => format!(
                "found {} different images, but without --mapping exactly one is needed:\n{}\nfix: pass the one artifact directory as ROOT, or use --mapping to name a container per image",
                images.len(),
                self.found.listing()
            ),
            Reason::Inconsistent { problems, .. } => problems.join("\n"),
            Reason::Reference { image, problem } => format!(
                "image from {}: {}",
                image.source_labels(),
                self.reference(u, problem)
            ),
        }
    }

    /// Mapping mode: one line, starting with the service and container.
    fn in_mapping(&self, u: &Unresolved<'_>) -> String {
        let at = format!(
            "service {:?}, container {:?}",
            u.service.name.as_ref().map_or("", |n| n.as_str()),
            u.container.name.as_str()
        );
        let selector = match &u.container.source {
            Source::Select(s) => Some(s),
            _ => None,
        };
        let shown = selector.map_or_else(|| "{}".to_owned(), ToString::to_string);
        match &u.reason {
            Reason::NoMatch => match self.missing_artifact(selector) {
                Some(missing) => format!(
                    "{at}: selector {} names artifact {missing:?}, but no input artifact has that name (the artifacts are: {}); fix: give the build that input artifact, or correct \"artifact\" to one of those",
                    shown,
                    self.config
                        .discover
                        .roots
                        .iter()
                        .map(|r| format!("{} ({})", r.artifact, r.path.display()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => format!(
                    "{at}: selector {shown} matches no discovered image; fix: correct the selector to match one of the files listed below, or give the build the input artifact that holds the image"
                ),
            },
            Reason::Ambiguous(images) => format!(
                "{at}: selector {} matches {} different images: {}; fix: add an \"artifact\" or \"path\" selector so that only one remains",
                shown,
                images.len(),
                images
                    .iter()
                    .map(|i| format!("{} ({})", i.source_labels(), i.detail.image_uri))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
            Reason::Inconsistent { problems, .. } => format!(
                "{at}: the image's file disagrees with itself: {}",
                problems.join("\n")
            ),
            Reason::Reference { image, problem } => format!(
                "{at} (image from {}): {}",
                image.source_labels(),
                self.reference(u, problem)
            ),
        }
    }

    /// Why the image's reference cannot be written, and which setting to change.
    fn reference(&self, u: &Unresolved<'_>, problem: &RefProblem) -> String {
        let uri = u.rules.uri_mode();
        match problem {
            RefProblem::Tag(TagProblem::NoTag) => format!(
                "the image has no tag; {}",
                self.set_uri(&uri, UriMode::Digest)
            ),
            RefProblem::Tag(TagProblem::OnlyLatest) => {
                let image = match &u.reason {
                    Reason::Reference { image, .. } => image.detail.image_uri.name(),
                    _ => String::new(),
                };
                let pattern = if self.is_single() {
                    "--tag-pattern"
                } else {
                    "\"tagPattern\" (or --tag-pattern)"
                };
                format!(
                    "image {image} has the one tag \"latest\", and --uri tag writes latest only when a tag pattern admits it (the next push moves latest, and ECS would then start that image); fix: push the image with an immutable tag (a version or commit), {} or tag+digest, or set {pattern} to a regex that matches latest",
                    self.set_uri(&uri, UriMode::Digest)
                )
            }
            RefProblem::Tag(TagProblem::Ambiguous { tags, remaining }) => {
                let pattern = u.rules.tag_pattern.as_ref();
                let how = match pattern {
                    Some(p) => format!(
                        "tags matching {} {:?}",
                        Self::named(&p.from, "tagPattern"),
                        p.value.as_str()
                    ),
                    None => "tags other than \"latest\"".to_owned(),
                };
                let left = if remaining.is_empty() {
                    "there are no".to_owned()
                } else {
                    format!("there are {} {remaining:?}", remaining.len())
                };
                let change = match pattern {
                    Some(p) => format!("change {}", Self::named(&p.from, "tagPattern")),
                    None if self.is_single() => "set --tag-pattern".to_owned(),
                    None => "set \"tagPattern\" on the service or at the top of the mapping (or --tag-pattern)".to_owned(),
                };
                format!(
                    "cannot choose one tag from {tags:?}: {left} {how}; {change} to a regex that matches exactly one, or {}",
                    self.set_uri(&uri, UriMode::Digest)
                )
            }
            RefProblem::Unpinned => {
                let image = match &u.reason {
                    Reason::Reference { image, .. } => Some(&image.detail.image_uri),
                    _ => None,
                };
                let resolve = if image.is_some_and(|i| i.ecr().is_some() && i.tag().is_some()) {
                    ", or add --ecr --resolve-tags to write the digest its tag points at in ECR now"
                } else {
                    ""
                };
                format!(
                    "{} carries no digest (ImageURI has no @sha256: and there is no ImageDigest); {}, or use the ECR source action's imageDetail.json{resolve}",
                    image.map(ToString::to_string).unwrap_or_default(),
                    self.set_uri(&uri, UriMode::Tag)
                )
            }
            RefProblem::TooLong { reference, len } => format!(
                "{reference} is {len} characters; ECS accepts at most {} before @sha256:; fix: push the image under a shorter repository name or tag{}",
                crate::model::reference::MAX_REFERENCE_LEN,
                if uri.value == UriMode::Digest {
                    ""
                } else {
                    ", or write it by digest"
                }
            ),
        }
    }

    /// The artifact `selector` names, when no root has that name.
    fn missing_artifact<'s>(&self, selector: Option<&'s Selector>) -> Option<&'s str> {
        let name = selector?.artifact.as_deref()?;
        (!self
            .config
            .discover
            .roots
            .iter()
            .any(|r| r.artifact == name))
        .then_some(name)
    }

    fn is_single(&self) -> bool {
        matches!(self.config.mode, EmitMode::Single { .. })
    }

    /// Advice to use URI form `to`, addressed to where the form in force was set.
    fn set_uri(&self, uri: &Rule<UriMode>, to: UriMode) -> String {
        match &uri.from {
            Origin::Default if self.is_single() => format!("use --uri {to}"),
            Origin::Default => format!("set \"uri\": \"{to}\" in the mapping (or use --uri {to})"),
            Origin::Started(Given::Env(var)) => format!("set {var}={to}"),
            Origin::Started(_) => format!("use --uri {to}"),
            from => format!("set {} to \"{to}\"", Self::named(from, "uri")),
        }
    }

    /// How messages name the setting `key` (`uri`, `tagPattern`) that was set at `from`: within
    /// a message about the mapping, without its file.
    fn named(from: &Origin, key: &str) -> String {
        from.words(None, key)
    }
}
