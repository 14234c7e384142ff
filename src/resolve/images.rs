//! Discovered files grouped into distinct images: files that name the same image with the same
//! digest are one image, whose tags are those of every file naming it.

use crate::discover::Candidate;
use crate::model::ImageDetail;

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

    /// Disagreements between the fields of the image's files, each prefixed with its file's path;
    /// empty when every file agrees with itself.
    #[must_use]
    pub fn inconsistencies(&self) -> Vec<String> {
        self.sources
            .iter()
            .filter_map(|c| c.detail.as_ref().ok().map(|d| (c, d.inconsistencies())))
            .flat_map(|(c, list)| {
                list.into_iter()
                    .map(move |p| format!("{}: {p}", c.path.display()))
            })
            .collect()
    }
}

/// Groups the usable candidates into distinct images, in order of first appearance.
#[must_use]
pub fn group<'a>(
    candidates: impl IntoIterator<Item = (&'a Candidate, &'a ImageDetail)>,
) -> Vec<Image<'a>> {
    let mut images: Vec<Image<'a>> = Vec::new();
    for (candidate, detail) in candidates {
        match images.iter_mut().find(|i| same_image(i.detail, detail)) {
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
