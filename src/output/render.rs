//! The bytes of each resolved service's deploy files. Pure: no I/O; the same input gives the same
//! bytes.

use crate::check::blue_green::Pair;
use crate::model::deploy::{
    BlueGreenDetail, ImageDefinition, ImageDefinitions, ServiceFile, TooLarge,
};
use crate::resolve::ResolvedService;

/// The files of one service, by name, in the order of its one list
/// ([`crate::model::mapping::Service::files`]). `checked`: its task definition template and
/// `AppSpec` as the blue/green check read them, which a service that names them always has here
/// (a failed check ends the run before anything is laid out).
pub fn service_files(
    service: &ResolvedService<'_>,
    checked: Option<&Pair>,
) -> Result<Vec<(&'static str, Vec<u8>)>, TooLarge> {
    let mut files = Vec::new();
    for file in service.service.files() {
        let bytes = match file {
            ServiceFile::ImageDefinitions => ImageDefinitions(
                service
                    .containers
                    .iter()
                    .map(|c| ImageDefinition {
                        name: c.name.clone(),
                        image_uri: c.image_uri.clone(),
                    })
                    .collect(),
            )
            .to_bytes()?,
            ServiceFile::ImageDetail => BlueGreenDetail {
                image_uri: service
                    .blue_green()
                    .expect("the mapping's blueGreen names one of the service's containers")
                    .clone(),
            }
            .to_bytes(),
            ServiceFile::TaskDefinitionTemplate => checked
                .expect("a service's template and AppSpec are checked before they are laid out")
                .template
                .clone(),
            ServiceFile::AppSpec => checked
                .expect("a service's template and AppSpec are checked before they are laid out")
                .app_spec
                .clone(),
        };
        files.push((file.name(), bytes));
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
