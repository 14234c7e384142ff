//! The bytes of each resolved service's deploy files. Pure: no I/O; the same input gives the same
//! bytes.

use crate::model::deploy::{
    BlueGreenDetail, IMAGE_DEFINITIONS, IMAGE_DETAIL, ImageDefinition, ImageDefinitions, TooLarge,
};
use crate::resolve::ResolvedService;

/// The files of one service, by file name: `imagedefinitions.json`, and `imageDetail.json` when
/// the service names a blue/green container.
pub fn service_files(
    service: &ResolvedService<'_>,
) -> Result<Vec<(&'static str, Vec<u8>)>, TooLarge> {
    let definitions = ImageDefinitions(
        service
            .containers
            .iter()
            .map(|c| ImageDefinition {
                name: c.name.clone(),
                image_uri: c.image_uri.clone(),
            })
            .collect(),
    );
    let mut files = vec![(IMAGE_DEFINITIONS, definitions.to_bytes()?)];
    if let Some(image_uri) = service.blue_green() {
        let detail = BlueGreenDetail {
            image_uri: image_uri.clone(),
        };
        files.push((IMAGE_DETAIL, detail.to_bytes()));
    }
    Ok(files)
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use crate::model::deploy::{ImageDefinition, ImageDefinitions};
    use crate::model::{ContainerName, Digest, ImageRef};

    proptest! {
        /// What emit writes always reads back as the same containers and images.
        #[test]
        fn image_definitions_parse_back(
            entries in prop::collection::vec(("[A-Za-z0-9_-]{1,30}", "[a-z0-9]{1,20}", any::<[u8; 32]>()), 1..20)
        ) {
            let mut seen = std::collections::BTreeSet::new();
            let entries: Vec<ImageDefinition> = entries
                .into_iter()
                .filter(|(name, _, _)| seen.insert(name.clone()))
                .map(|(name, repo, d)| {
                    let uri = format!("111122223333.dkr.ecr.us-east-1.amazonaws.com/{repo}@{}", Digest::from_array(d));
                    ImageDefinition { name: name.parse::<ContainerName>().unwrap(), image_uri: uri.parse::<ImageRef>().unwrap() }
                })
                .collect();
            let bytes = ImageDefinitions(entries.clone()).to_bytes().unwrap();
            let back: Vec<serde_json::Value> = serde_json::from_slice(&bytes).unwrap();
            prop_assert_eq!(back.len(), entries.len());
            for (json, entry) in back.iter().zip(&entries) {
                prop_assert_eq!(json["name"].as_str(), Some(entry.name.as_str()));
                let parsed: ImageRef = json["imageUri"].as_str().unwrap().parse().unwrap();
                prop_assert_eq!(&parsed, &entry.image_uri);
            }
            let parsed = ImageDefinitions::parse(&bytes).unwrap();
            prop_assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
            prop_assert_eq!(parsed.entries, entries);
        }
    }
}
