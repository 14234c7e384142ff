//! From discovered files to the exact image references to write: picking the image, the tag and
//! the form of the URI. Pure: no I/O. [`mapping`] does the same for every container of a mapping.

pub mod mapping;

use regex::Regex;

use crate::discover::{Candidate, Discovery};
use crate::error::CheckFailed;
pub use crate::model::reference::{MAX_REFERENCE_LEN, UriMode};
use crate::model::{Digest, ImageDetail, ImageRef};

/// How the tag is chosen when the URI carries one.
#[derive(Clone, Debug, Default)]
pub struct TagRule {
    pub pattern: Option<Regex>,
}

/// The same image found in one or more files (same name and digest).
#[derive(Clone, Debug)]
pub struct Image<'a> {
    pub detail: &'a ImageDetail,
    pub sources: Vec<&'a Candidate>,
}

impl<'a> Image<'a> {
    /// The tags of every file naming this image, in order of first appearance: one file may be
    /// a hand-written `{"ImageURI": ...}` without tags, another the ECR source's with them.
    #[must_use]
    pub fn tags(&self) -> Vec<&'a str> {
        let mut tags: Vec<&'a str> = Vec::new();
        for detail in self.sources.iter().filter_map(|c| c.detail.as_ref().ok()) {
            for tag in detail.tags() {
                if !tags.contains(&tag) {
                    tags.push(tag);
                }
            }
        }
        tags
    }

    /// The files this image came from, as `artifact:path`, comma-separated.
    #[must_use]
    pub fn source_labels(&self) -> String {
        self.sources
            .iter()
            .map(|c| c.label())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Groups the usable candidates into distinct images: files that name the same image with the same
/// digest are one image.
#[must_use]
pub fn group<'a>(
    candidates: impl IntoIterator<Item = (&'a Candidate, &'a ImageDetail)>,
) -> Vec<Image<'a>> {
    let mut images: Vec<Image<'a>> = Vec::new();
    for (candidate, detail) in candidates {
        let same = images.iter_mut().find(|i| same_image(i.detail, detail));
        match same {
            Some(image) => image.sources.push(candidate),
            None => images.push(Image {
                detail,
                sources: vec![candidate],
            }),
        }
    }
    images
}

fn same_image(a: &ImageDetail, b: &ImageDetail) -> bool {
    match (a.digest(), b.digest()) {
        (Some(x), Some(y)) => x == y && a.image_uri.name() == b.image_uri.name(),
        _ => a.image_uri == b.image_uri,
    }
}

/// Single-image mode: exactly one distinct image must have been discovered.
pub fn the_only_image(found: &Discovery) -> anyhow::Result<Image<'_>> {
    let mut images = group(found.images());
    match images.len() {
        1 => Ok(images.remove(0)),
        0 if !found.only_refused() => {
            Err(CheckFailed::NoImage(
                "found no imageDetail.json under the artifact roots; give the directory of the ECR source artifact as ROOT, or run inside CodeBuild where $CODEBUILD_SRC_DIR_<name> points at it".to_owned(),
            )
            .into())
        }
        0 => Err(anyhow::anyhow!(
            "found no usable imageDetail.json; every candidate was refused:\n{}",
            found.listing()
        )),
        n => Err(CheckFailed::AmbiguousImage(format!(
            "found {n} different images, but without --mapping exactly one is needed:\n{}\nfix: pass the one artifact directory as ROOT, or use --mapping to name a container per image",
            found.listing()
        ))
        .into()),
    }
}

/// Checks the fields of the image's files agree with each other.
pub fn check_consistent(image: &Image<'_>) -> Result<(), CheckFailed> {
    let problems: Vec<String> = image
        .sources
        .iter()
        .filter_map(|c| c.detail.as_ref().ok().map(|d| (c, d.inconsistencies())))
        .flat_map(|(c, list)| {
            list.into_iter()
                .map(move |p| format!("{}: {p}", c.path.display()))
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CheckFailed::Inconsistent(problems.join("\n")))
    }
}

/// Picks the tag: the only tag; else those matching the pattern; else those other than `latest`.
/// Exactly one must remain.
pub fn choose_tag<'t>(tags: &[&'t str], rule: &TagRule) -> Result<&'t str, CheckFailed> {
    if let [only] = tags {
        return Ok(only);
    }
    if tags.is_empty() {
        return Err(CheckFailed::AmbiguousTag(
            "the image has no tag; use --uri digest".to_owned(),
        ));
    }
    let (remaining, how): (Vec<&str>, String) = match &rule.pattern {
        Some(re) => (
            tags.iter().copied().filter(|t| re.is_match(t)).collect(),
            format!("tags matching --tag-pattern {:?}", re.as_str()),
        ),
        None => (
            tags.iter().copied().filter(|t| *t != "latest").collect(),
            "tags other than \"latest\"".to_owned(),
        ),
    };
    match remaining.as_slice() {
        [one] => Ok(one),
        _ => Err(CheckFailed::AmbiguousTag(format!(
            "cannot choose one tag from {tags:?}: {} {how}; set --tag-pattern to a regex that matches exactly one, or use --uri digest",
            if remaining.is_empty() {
                "there are no".to_owned()
            } else {
                format!("there are {} {remaining:?}", remaining.len())
            }
        ))),
    }
}

/// The reference to write for `detail` in `mode`, choosing among `tags` (see [`Image::tags`]).
pub fn reference(
    detail: &ImageDetail,
    tags: &[&str],
    mode: UriMode,
    rule: &TagRule,
) -> Result<ImageRef, CheckFailed> {
    let digest = || -> Result<Digest, CheckFailed> {
        detail.digest().ok_or_else(|| {
            CheckFailed::Unpinned(format!(
                "{} carries no digest (ImageURI has no @sha256: and there is no ImageDigest); use --uri tag, or use the ECR source action's imageDetail.json",
                detail.image_uri
            ))
        })
    };
    let reference = match mode {
        UriMode::Digest => detail.image_uri.with(None, Some(digest()?)),
        UriMode::Tag => detail.image_uri.with(Some(choose_tag(tags, rule)?), None),
        UriMode::TagDigest => detail
            .image_uri
            .with(Some(choose_tag(tags, rule)?), Some(digest()?)),
    };
    let named = reference.with(reference.tag(), None).to_string();
    if named.len() > MAX_REFERENCE_LEN {
        return Err(CheckFailed::Limit(format!(
            "{named} is {} characters; ECS accepts at most {MAX_REFERENCE_LEN} before @sha256:",
            named.len()
        )));
    }
    Ok(reference)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(json: &str) -> ImageDetail {
        ImageDetail::parse(json.as_bytes()).unwrap()
    }

    const D: &str = "sha256:8f1a9c2b3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcd";

    #[test]
    fn tag_choice_table() {
        let re = |s: &str| TagRule {
            pattern: Some(Regex::new(s).unwrap()),
        };
        let none = TagRule::default();
        let (v_digit, release) = (re(r"^v\d"), re("^release-"));
        let cases: Vec<(&[&str], &TagRule, Result<&str, &str>)> = vec![
            (&["latest"], &none, Ok("latest")),
            (&["latest", "e6828a4"], &none, Ok("e6828a4")),
            (&["e6828a4", "latest"], &none, Ok("e6828a4")),
            (
                &["latest", "v1", "v2"],
                &none,
                Err("there are 2 [\"v1\", \"v2\"]"),
            ),
            (&["latest", "v1.2.0", "build-77"], &v_digit, Ok("v1.2.0")),
            (
                &["latest", "v1.2.0"],
                &release,
                Err("there are no tags matching"),
            ),
            (&[], &none, Err("no tag")),
        ];
        for (tags, rule, want) in cases {
            match (choose_tag(tags, rule), want) {
                (Ok(got), Ok(w)) => assert_eq!(got, w, "{tags:?}"),
                (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{tags:?}: {e}"),
                (got, want) => panic!("{tags:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn uri_modes() {
        let d = detail(&format!(
            r#"{{"ImageURI":"111122223333.dkr.ecr.us-east-1.amazonaws.com/web@{D}","ImageTags":["latest","e6828a4"]}}"#
        ));
        let host = "111122223333.dkr.ecr.us-east-1.amazonaws.com/web";
        let rule = TagRule::default();
        let r = |m| reference(&d, &d.tags(), m, &rule).unwrap().to_string();
        assert_eq!(r(UriMode::Digest), format!("{host}@{D}"));
        assert_eq!(r(UriMode::Tag), format!("{host}:e6828a4"));
        assert_eq!(r(UriMode::TagDigest), format!("{host}:e6828a4@{D}"));
    }

    #[test]
    fn digest_mode_needs_a_digest() {
        let d = detail(r#"{"ImageURI":"a.io/web:v1"}"#);
        let e = reference(&d, &d.tags(), UriMode::Digest, &TagRule::default()).unwrap_err();
        assert!(e.to_string().contains("carries no digest"), "{e}");
        let ok = reference(&d, &d.tags(), UriMode::Tag, &TagRule::default()).unwrap();
        assert_eq!(ok.to_string(), "a.io/web:v1");
    }

    #[test]
    fn an_overlong_reference_is_refused() {
        // "a.io/" + 250 characters is exactly 255: accepted; one more is refused.
        let at = |n: usize| detail(&format!(r#"{{"ImageURI":"a.io/{}@{D}"}}"#, "r".repeat(n)));
        assert!(reference(&at(250), &[], UriMode::Digest, &TagRule::default()).is_ok());
        let e = reference(&at(251), &[], UriMode::Digest, &TagRule::default()).unwrap_err();
        assert!(e.to_string().contains("at most 255"), "{e}");
    }
}
