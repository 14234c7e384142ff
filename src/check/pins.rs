//! `--expect FILE`: the digest each repository (or each service's container) must carry.
//!
//! The file is a JSON object. Its simple form maps repositories to digests:
//! `{"shop/web": "sha256:..."}`. Its full form has two optional objects:
//! `{"repositories": {"shop/web": "sha256:..."}, "containers": {"web/app": "sha256:..."}}`, where a
//! container key is `service/container` (the service is a bundle's file stem) or a bare container
//! name (any bundle). A repository key is the repository (`shop/web`) or the full name with its
//! registry host.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::model::identity::{RepositoryId, docker_hub_path};
use crate::model::json::{self, JsonError, kind as json_kind};
use crate::model::{Digest, ImageRef};

use super::{Recorder, Seen};

/// The largest expect file read.
const LIMIT: u64 = 1024 * 1024;

/// One repository pin: its key, where the file writes it, and its digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pin {
    pub key: String,
    /// The key's path in the file (`repositories.shop/web` for a nested one).
    pub at: String,
    pub digest: Digest,
}

/// The parsed pins and the file they came from.
#[derive(Clone, Debug)]
pub struct Pins {
    pub file: PathBuf,
    /// Keys with a registry host, by the repository they name (one identity, one key).
    pub registries: BTreeMap<RepositoryId, Pin>,
    /// Keys without a host, by the repository path: they hold that path in any registry.
    pub repositories: BTreeMap<String, Pin>,
    pub containers: BTreeMap<String, Digest>,
}

impl Pins {
    /// Reads and parses an expect file; the error names the file, the key, the value and the fix.
    pub fn load(path: &Path) -> Result<Pins, PinsError> {
        let bytes = crate::io::input::read_named(path, LIMIT, "expect file")?;
        Pins::parse(path, &bytes).map_err(|problem| PinsError::Malformed {
            path: path.to_path_buf(),
            problem,
        })
    }

    fn parse(path: &Path, bytes: &[u8]) -> Result<Pins, PinProblem> {
        let value = json::parse(bytes).map_err(PinProblem::Json)?;
        let Value::Object(top) = value else {
            return Err(PinProblem::NotObject(json_kind(&value)));
        };
        let mut pins = Pins {
            file: path.to_path_buf(),
            registries: BTreeMap::new(),
            repositories: BTreeMap::new(),
            containers: BTreeMap::new(),
        };
        for (key, value) in &top {
            match (key.as_str(), value) {
                ("repositories", Value::Object(map)) => {
                    for (k, v) in map {
                        let at = format!("repositories.{k}");
                        pins.repository(k, &at, digest(&at, v)?)?;
                    }
                }
                ("containers", Value::Object(map)) => {
                    for (k, v) in map {
                        pins.containers
                            .insert(k.clone(), digest(&format!("containers.{k}"), v)?);
                    }
                }
                _ => pins.repository(key, key, digest(key, value)?)?,
            }
        }
        Ok(pins)
    }

    /// Adds the repository pin `key` (written at `at`); a second key for one repository is refused.
    fn repository(&mut self, key: &str, at: &str, digest: Digest) -> Result<(), PinProblem> {
        let reference = key.parse::<ImageRef>().map_err(|error| PinProblem::Key {
            at: at.to_owned(),
            error,
        })?;
        if reference.tag().is_some() || reference.digest().is_some() {
            return Err(PinProblem::Tagged {
                at: at.to_owned(),
                name: reference.name(),
            });
        }
        let pin = Pin {
            key: key.to_owned(),
            at: at.to_owned(),
            digest,
        };
        let twice = |first: &Pin, same: String| {
            Err(PinProblem::Twice {
                first: first.at.clone(),
                at: at.to_owned(),
                same,
            })
        };
        if reference.host().is_some() {
            let id = RepositoryId::of(&reference);
            if let Some(first) = self.registries.get(&id) {
                return twice(first, format!("repository {id}"));
            }
            self.registries.insert(id, pin);
        } else {
            // `nginx` and `library/nginx` are one Docker Hub repository: both would hold it.
            let hub = docker_hub_path(reference.repository());
            if let Some((path, first)) = self
                .repositories
                .iter()
                .find(|(path, _)| docker_hub_path(path) == hub)
            {
                let same = if path == reference.repository() {
                    format!("repository {path:?}")
                } else {
                    format!("the Docker Hub repository docker.io/{hub}")
                };
                return twice(first, same);
            }
            self.repositories
                .insert(reference.repository().to_owned(), pin);
        }
        Ok(())
    }

    /// The repository pins that hold `image`, the most specific first: the key with its registry,
    /// then the key of its path (for Docker Hub, as Docker normalises both).
    fn repository_pins(&self, image: &ImageRef) -> Vec<&Pin> {
        let id = RepositoryId::of(image);
        let mut pins: Vec<&Pin> = self.registries.get(&id).into_iter().collect();
        if id.is_docker_hub() {
            pins.extend(
                self.repositories
                    .iter()
                    .filter(|(k, _)| docker_hub_path(k) == id.repository())
                    .map(|(_, p)| p),
            );
        } else {
            pins.extend(self.repositories.get(id.repository()));
        }
        pins
    }

    /// Holds every image against the pins: a pinned image must carry the pinned digest. The most
    /// specific key wins (`registry/repository` over `repository`, `service/container` over
    /// `container`); a less specific key that also matches is not applied to that image, and is
    /// not reported unused. Repositories are compared by their identity, so every spelling of a
    /// registry host (ECR's FIPS and dual-stack hosts, Docker Hub's names) is held by one key.
    /// Images no pin names pass unchecked; a pin that names no image is logged as a warning.
    pub fn check(&self, images: &[Seen], report: &mut Recorder) {
        let file = self.file.display();
        let mut used = BTreeSet::new();
        for seen in images {
            let mut wanted: Vec<(String, Digest)> = Vec::new();
            let matching = self.repository_pins(&seen.image);
            for pin in &matching {
                used.insert(format!("repository {}", pin.key));
            }
            if let Some(pin) = matching.first() {
                // A key spelled otherwise than the image names the repository by its identity.
                let id = RepositoryId::of(&seen.image);
                let what = if pin.key == seen.image.name() || pin.key == seen.image.repository() {
                    format!("repository {:?}", pin.key)
                } else {
                    format!("repository {:?} (= {id})", pin.key)
                };
                wanted.push((what, pin.digest));
            }
            if let Some(container) = &seen.container {
                let mut keys = vec![container.clone()];
                if let Some(service) = &seen.service {
                    keys.insert(0, format!("{service}/{container}"));
                }
                let matching: Vec<&String> = keys
                    .iter()
                    .filter(|k| self.containers.contains_key(*k))
                    .collect();
                for key in &matching {
                    used.insert(format!("container {key}"));
                }
                if let Some(key) = matching.first() {
                    wanted.push((format!("container {key:?}"), self.containers[*key]));
                }
            }
            for (what, want) in wanted {
                match seen.digest {
                    Some(got) if got == want => report.ok(
                        seen.subject.clone(),
                        format!("{what} pinned to {want} by {file}"),
                    ),
                    Some(got) => report.fail(
                        seen.subject.clone(),
                        format!(
                            "image {} has digest {got}, but {file} pins {what} to {want}; deploy the pinned image or update {file}",
                            seen.image.name()
                        ),
                    ),
                    None => report.fail(
                        seen.subject.clone(),
                        format!(
                            "image {} carries no digest, but {file} pins {what} to {want}; use the digest-pinned ImageURI the push produced",
                            seen.image
                        ),
                    ),
                }
            }
        }
        let mut unused = String::new();
        for pin in self.registries.values().chain(self.repositories.values()) {
            if !used.contains(&format!("repository {}", pin.key)) {
                let _ = write!(unused, " repository {:?}", pin.key);
            }
        }
        for key in self.containers.keys() {
            if !used.contains(&format!("container {key}")) {
                let _ = write!(unused, " container {key:?}");
            }
        }
        if !unused.is_empty() {
            tracing::warn!("{file}: no image found for the pins of{unused}");
        }
    }
}

fn digest(key: &str, value: &Value) -> Result<Digest, PinProblem> {
    let Value::String(s) = value else {
        return Err(PinProblem::NotString {
            key: key.to_owned(),
            value: value.clone(),
        });
    };
    s.parse::<Digest>().map_err(|error| PinProblem::Digest {
        key: key.to_owned(),
        value: s.clone(),
        error,
    })
}

/// Why an expect file gives no pins.
#[derive(Debug, thiserror::Error)]
pub enum PinsError {
    #[error(transparent)]
    Unread(#[from] crate::io::input::NamedReadError),
    #[error("expect file {}: {problem}", path.display())]
    Malformed { path: PathBuf, problem: PinProblem },
}

/// What is wrong inside an expect file: the key, the value and the fix.
#[derive(Debug, thiserror::Error)]
pub enum PinProblem {
    #[error("{0}; {fix}", fix = match .0 {
        JsonError::DuplicateKey(_) => "keep one pin per key (a JSON reader would silently keep the last)",
        JsonError::NotUtf8 { .. } => "save it as UTF-8",
        JsonError::TooDeep(_) => "no expect file nests that deep: is it the right file?",
        JsonError::Syntax(_) => "fix the JSON at that line and column",
    })]
    Json(JsonError),
    #[error("is {0}, not a JSON object; write {{\"<repository>\": \"sha256:<64 hex>\"}}")]
    NotObject(&'static str),
    #[error(
        "key {at:?} {error}; a repository key is a repository (shop/web) or one with its registry host (111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web)"
    )]
    Key {
        at: String,
        error: crate::model::reference::RefError,
    },
    #[error(
        "key {at:?} has a tag or digest; a repository key names the repository only: write {name:?}"
    )]
    Tagged { at: String, name: String },
    #[error("keys {first:?} and {at:?} both pin {same}; keep one of them")]
    Twice {
        first: String,
        at: String,
        same: String,
    },
    #[error(
        "key {key:?} = {value}: is {kind}, not a digest string; write \"sha256:<64 lowercase hex>\"",
        kind = json_kind(value)
    )]
    NotString { key: String, value: Value },
    #[error(
        "key {key:?} = {value:?}: {error}; write the digest the push printed (sha256:<64 lowercase hex>)"
    )]
    Digest {
        key: String,
        value: String,
        error: crate::model::digest::DigestError,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

    fn parse(text: &str) -> Result<Pins, PinProblem> {
        Pins::parse(Path::new("pins.json"), text.as_bytes())
    }

    #[test]
    fn simple_and_full_forms() {
        let simple = parse(&format!(r#"{{"shop/web": "{D}"}}"#)).unwrap();
        assert_eq!(simple.repositories.len(), 1);
        let full = parse(&format!(
            r#"{{"repositories": {{"shop/web": "{D}"}}, "containers": {{"web/app": "{D}", "proxy": "{D}"}}}}"#
        ))
        .unwrap();
        assert_eq!(full.repositories.keys().collect::<Vec<_>>(), ["shop/web"]);
        assert_eq!(full.containers.len(), 2);
    }

    #[test]
    fn malformed_files_name_the_key_and_value() {
        let cases = [
            ("[]", "not a JSON object"),
            ("{", "not valid JSON"),
            (r#"{"shop/web": 3}"#, "key \"shop/web\" = 3: is a number"),
            (r#"{"shop/web": "sha256:abc"}"#, "has 3 hex digits"),
            (
                &format!(r#"{{"shop/web": "{D}", "shop/web": "{D}"}}"#),
                "key \"shop/web\" appears more than once",
            ),
            (
                &format!(r#"{{"repositories": {{"a": "{D}", "a": "{D}"}}}}"#),
                "key \"repositories.a\" appears more than once",
            ),
            (
                r#"{"containers": {"web/app": "latest"}}"#,
                "key \"containers.web/app\" = \"latest\"",
            ),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
