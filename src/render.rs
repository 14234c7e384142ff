//! The bytes of the files imagedef writes. Pure: no I/O; the same input gives the same bytes.

use crate::error::CheckFailed;
use crate::model::{ContainerName, ImageRef};

/// The size limit of `imagedefinitions.json` in `CodePipeline` (100 KB).
pub const MAX_IMAGE_DEFINITIONS: usize = 100 * 1024;

/// `imagedefinitions.json` for the ECS standard deploy action: a JSON array of
/// `{"name", "imageUri"}`, in the given order, pretty-printed with a final newline.
pub fn image_definitions(entries: &[(ContainerName, ImageRef)]) -> Result<Vec<u8>, CheckFailed> {
    #[derive(serde::Serialize)]
    struct Entry<'a> {
        name: &'a ContainerName,
        #[serde(rename = "imageUri")]
        image_uri: &'a ImageRef,
    }
    let list: Vec<Entry<'_>> = entries
        .iter()
        .map(|(name, image_uri)| Entry { name, image_uri })
        .collect();
    let bytes = to_json(&list);
    if bytes.len() > MAX_IMAGE_DEFINITIONS {
        return Err(CheckFailed::Limit(format!(
            "imagedefinitions.json would be {} bytes; CodePipeline reads at most {MAX_IMAGE_DEFINITIONS}; split the containers across services",
            bytes.len()
        )));
    }
    Ok(bytes)
}

/// `imageDetail.json` for the ECS blue/green (`CodeDeployToECS`) action: `{"ImageURI": ...}`.
#[must_use]
pub fn blue_green_image_detail(image: &ImageRef) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Detail<'a> {
        #[serde(rename = "ImageURI")]
        image_uri: &'a ImageRef,
    }
    to_json(&Detail { image_uri: image })
}

/// Pretty JSON with a final newline.
pub fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("plain data serialises");
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_definitions_bytes() {
        let entries = [
            ("web".parse().unwrap(), "a.io/web:v1".parse().unwrap()),
            ("proxy".parse().unwrap(), "nginx:1.27".parse().unwrap()),
        ];
        let got = String::from_utf8(image_definitions(&entries).unwrap()).unwrap();
        assert_eq!(
            got,
            "[\n  {\n    \"name\": \"web\",\n    \"imageUri\": \"a.io/web:v1\"\n  },\n  {\n    \"name\": \"proxy\",\n    \"imageUri\": \"nginx:1.27\"\n  }\n]\n"
        );
    }

    #[test]
    fn blue_green_bytes() {
        let got = blue_green_image_detail(&"a.io/web:v1".parse().unwrap());
        assert_eq!(got, b"{\n  \"ImageURI\": \"a.io/web:v1\"\n}\n");
    }

    #[test]
    fn the_100_kb_limit_is_enforced() {
        let uri: ImageRef = format!("a.io/{}", "w".repeat(200)).parse().unwrap();
        let entries: Vec<_> = (0..500)
            .map(|i| (format!("c{i}").parse().unwrap(), uri.clone()))
            .collect();
        let e = image_definitions(&entries).unwrap_err().to_string();
        assert!(e.contains("at most 102400"), "{e}");
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::model::Digest;
    use proptest::prelude::*;

    proptest! {
        /// What emit writes always reads back as the same containers and images.
        #[test]
        fn image_definitions_parse_back(
            entries in prop::collection::vec(("[A-Za-z0-9_-]{1,30}", "[a-z0-9]{1,20}", any::<[u8; 32]>()), 1..20)
        ) {
            let entries: Vec<(ContainerName, ImageRef)> = entries
                .into_iter()
                .map(|(name, repo, d)| {
                    let uri = format!("111122223333.dkr.ecr.us-east-1.amazonaws.com/{repo}@{}", Digest::from_array(d));
                    (name.parse().unwrap(), uri.parse().unwrap())
                })
                .collect();
            let bytes = image_definitions(&entries).unwrap();
            let back: Vec<serde_json::Value> = serde_json::from_slice(&bytes).unwrap();
            prop_assert_eq!(back.len(), entries.len());
            for (json, (name, uri)) in back.iter().zip(&entries) {
                prop_assert_eq!(json["name"].as_str(), Some(name.as_str()));
                let parsed: ImageRef = json["imageUri"].as_str().unwrap().parse().unwrap();
                prop_assert_eq!(&parsed, uri);
            }
        }
    }
}
