//! The reference to write for one image: its tag chosen, in the URI form asked for. Pure; a
//! refusal is a typed reason that the command layer words.

use crate::model::{Digest, ImageDetail, ImageRef, TagPattern, UriMode};

/// Why no single tag could be chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TagProblem {
    /// The image has no tag at all.
    NoTag,
    /// `--uri tag` without a pattern, and the image's only tag is `latest`: a tag that moves with
    /// the next push is written only when a pattern asks for it.
    OnlyLatest,
    /// Several tags, and the rule (the pattern, else "not `latest`") left `remaining`, not one.
    Ambiguous {
        tags: Vec<String>,
        remaining: Vec<String>,
    },
}

/// Why the reference cannot be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefProblem {
    Tag(TagProblem),
    /// The URI form needs a digest, and the image carries none.
    Unpinned,
    /// Longer than ECS accepts before any `@sha256:`.
    TooLong {
        reference: String,
        len: usize,
    },
}

/// Picks the tag: with a pattern, the tags it matches; without, the tags other than `latest`.
/// Exactly one must remain: a pattern always matches the tag it picks. With `tag+digest` the
/// digest pins the image, so there a lone tag is taken whatever it is, `latest` too; `--uri tag`
/// writes `latest` only when a pattern was given and matches it.
pub fn choose_tag<'t>(
    tags: &[&'t str],
    pattern: Option<&TagPattern>,
    mode: UriMode,
) -> Result<&'t str, TagProblem> {
    if tags.is_empty() {
        return Err(TagProblem::NoTag);
    }
    if let ([only], None) = (tags, pattern) {
        return if *only == "latest" && mode == UriMode::Tag {
            Err(TagProblem::OnlyLatest)
        } else {
            Ok(only)
        };
    }
    let remaining: Vec<&str> = match pattern {
        Some(re) => tags.iter().copied().filter(|t| re.is_match(t)).collect(),
        None => tags.iter().copied().filter(|t| *t != "latest").collect(),
    };
    match remaining.as_slice() {
        [one] => Ok(one),
        _ => Err(TagProblem::Ambiguous {
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            remaining: remaining.into_iter().map(str::to_owned).collect(),
        }),
    }
}

/// The reference to write for `detail` in `mode`, choosing among `tags` (the tags of every file
/// naming the image).
pub fn reference(
    detail: &ImageDetail,
    tags: &[&str],
    mode: UriMode,
    pattern: Option<&TagPattern>,
) -> Result<ImageRef, RefProblem> {
    let digest = || -> Result<Digest, RefProblem> { detail.digest().ok_or(RefProblem::Unpinned) };
    let tag = || choose_tag(tags, pattern, mode).map_err(RefProblem::Tag);
    let reference = match mode {
        UriMode::Digest => detail.image_uri.with(None, Some(digest()?)),
        UriMode::Tag => detail.image_uri.with(Some(tag()?), None),
        UriMode::TagDigest => detail.image_uri.with(Some(tag()?), Some(digest()?)),
    };
    if !reference.fits_ecs() {
        return Err(RefProblem::TooLong {
            reference: reference.with(reference.tag(), None).to_string(),
            len: reference.ecs_length(),
        });
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

    type Case<'a> = (
        &'a [&'a str],
        Option<&'a TagPattern>,
        Result<&'a str, TagProblem>,
    );

    #[test]
    fn tag_choice_table() {
        let (v_digit, release, latest): (TagPattern, TagPattern, TagPattern) = (
            r"^v\d".parse().unwrap(),
            "^release-".parse().unwrap(),
            "^latest$".parse().unwrap(),
        );
        let ambiguous = |tags: &[&str], remaining: &[&str]| TagProblem::Ambiguous {
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            remaining: remaining.iter().map(|t| (*t).to_owned()).collect(),
        };
        let cases: Vec<Case<'_>> = vec![
            (&["latest"], None, Err(TagProblem::OnlyLatest)),
            (&["latest"], Some(&latest), Ok("latest")),
            (&["e6828a4"], None, Ok("e6828a4")),
            (
                &["latest"],
                Some(&v_digit),
                Err(ambiguous(&["latest"], &[])),
            ),
            (&["v2"], Some(&v_digit), Ok("v2")),
            (&["latest", "e6828a4"], None, Ok("e6828a4")),
            (&["e6828a4", "latest"], None, Ok("e6828a4")),
            (
                &["latest", "v1", "v2"],
                None,
                Err(ambiguous(&["latest", "v1", "v2"], &["v1", "v2"])),
            ),
            (
                &["latest", "v1.2.0", "build-77"],
                Some(&v_digit),
                Ok("v1.2.0"),
            ),
            (
                &["latest", "v1.2.0"],
                Some(&release),
                Err(ambiguous(&["latest", "v1.2.0"], &[])),
            ),
            (&[], None, Err(TagProblem::NoTag)),
        ];
        for (tags, pattern, want) in cases {
            assert_eq!(choose_tag(tags, pattern, UriMode::Tag), want, "{tags:?}");
        }
        // tag+digest is pinned by its digest: a lone `latest` is still written there.
        assert_eq!(
            choose_tag(&["latest"], None, UriMode::TagDigest),
            Ok("latest")
        );
    }

    #[test]
    fn uri_modes() {
        let d = detail(&format!(
            r#"{{"ImageURI":"111122223333.dkr.ecr.us-east-1.amazonaws.com/web@{D}","ImageTags":["latest","e6828a4"]}}"#
        ));
        let host = "111122223333.dkr.ecr.us-east-1.amazonaws.com/web";
        let r = |m| reference(&d, &d.tags(), m, None).unwrap().to_string();
        assert_eq!(r(UriMode::Digest), format!("{host}@{D}"));
        assert_eq!(r(UriMode::Tag), format!("{host}:e6828a4"));
        assert_eq!(r(UriMode::TagDigest), format!("{host}:e6828a4@{D}"));
    }

    #[test]
    fn digest_mode_needs_a_digest() {
        let d = detail(r#"{"ImageURI":"a.io/web:v1"}"#);
        assert_eq!(
            reference(&d, &d.tags(), UriMode::Digest, None),
            Err(RefProblem::Unpinned)
        );
        let ok = reference(&d, &d.tags(), UriMode::Tag, None).unwrap();
        assert_eq!(ok.to_string(), "a.io/web:v1");
    }

    #[test]
    fn an_overlong_reference_is_refused() {
        // "a.io/" + 250 characters is exactly 255: accepted; one more is refused.
        let at = |n: usize| detail(&format!(r#"{{"ImageURI":"a.io/{}@{D}"}}"#, "r".repeat(n)));
        assert!(reference(&at(250), &[], UriMode::Digest, None).is_ok());
        assert!(matches!(
            reference(&at(251), &[], UriMode::Digest, None),
            Err(RefProblem::TooLong { len: 256, .. })
        ));
    }
}
