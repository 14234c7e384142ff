//! The platform check: every image must offer the platform its task needs, or a task would not
//! start (`exec format error`, or no manifest for the platform). What an image offers is read
//! from proven bytes only: an `--oci` layout's hashed chain, or, with `--ecr`, the manifest
//! `BatchGetImage` returned (hashed against its digest) and, for a single manifest, its config blob
//! from the registry (hashed too). An image whose platforms could not be read is reported as not
//! checked, never as passed.

use std::collections::BTreeMap;

use super::{Recorder, Seen};
use crate::aws::ecr::{Lookup, Manifest, Outcome, Unproven};
use crate::aws::registry::RegistryError;
use crate::model::ecr::Repository;
use crate::model::json::JsonError;
use crate::model::platform::{self, Offered, Offers, Platform};
use crate::model::{Digest, ImageRef, Rule};

/// A platform an image must offer, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Need {
    pub platform: Platform,
    /// What asked for it: `--platform`, the mapping's `platform`, the task definition.
    pub from: String,
    /// Asked for in so many words (`--platform`, the mapping's `platform`), not only implied by a
    /// task definition: not checking it is then a warning, not a note at `-v`.
    pub stated: bool,
}

impl Need {
    /// The need a typed rule states, worded as `from` (where it was said).
    #[must_use]
    pub fn of(rule: &Rule<Platform>, from: String) -> Need {
        Need {
            platform: rule.value.clone(),
            from,
            stated: rule.from.is_stated(),
        }
    }
}

/// What the platform check found for one container, for the report and `--json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judged {
    pub need: Need,
    pub verdict: Verdict,
}

/// What an image offers, by digest, read so far (from layouts and from ECR).
pub type Known = BTreeMap<Digest, Offers>;

/// Why what an image offers could not be read from what ECR and its registry returned (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(
        "ECR returned a manifest for {digest} whose bytes hash to {actual}, so nothing it says is proven; push the image again"
    )]
    Unproven { digest: Digest, actual: Digest },
    #[error("the manifest of {digest}: {reason}")]
    Manifest { digest: Digest, reason: String },
    #[error("the manifest of {digest}: {error}")]
    Offered {
        digest: Digest,
        error: Box<platform::PlatformError>,
    },
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(
        "the registry returned a config blob for {config} whose bytes hash to {actual}; it was refused"
    )]
    ConfigHash { config: Digest, actual: Digest },
    #[error("the config {config} of {digest}: {error}")]
    ConfigJson {
        config: Digest,
        digest: Digest,
        error: JsonError,
    },
    #[error("the config {config} of {digest}: {error}")]
    Config {
        config: Digest,
        digest: Digest,
        error: Box<platform::PlatformError>,
    },
}

/// Reads what a manifest `BatchGetImage` returned for `digest` offers. Its bytes must hash to
/// `digest`; a single manifest's config comes from `config` (the registry), whose bytes must
/// hash to the config's digest.
pub fn read_live(
    manifest: &Manifest,
    digest: Digest,
    config: impl FnOnce(Digest) -> Result<Vec<u8>, RegistryError>,
) -> Result<Offers, ReadError> {
    let document = manifest.document(digest).map_err(|e| match e {
        Unproven::Hash(actual) => ReadError::Unproven { digest, actual },
        Unproven::Json(reason) => ReadError::Manifest { digest, reason },
    })?;
    let offered = platform::offered(&document).map_err(|error| ReadError::Offered {
        digest,
        error: Box::new(error),
    })?;
    match offered {
        Offered::Index(entries) => Ok(Offers::Index(entries)),
        Offered::Manifest {
            config: config_digest,
        } => {
            let bytes = config(config_digest)?;
            let actual = Digest::of(&bytes);
            if actual != config_digest {
                return Err(ReadError::ConfigHash {
                    config: config_digest,
                    actual,
                });
            }
            let config =
                crate::model::json::parse(&bytes).map_err(|error| ReadError::ConfigJson {
                    config: config_digest,
                    digest,
                    error,
                })?;
            platform::of_config(&config)
                .map(Offers::Single)
                .map_err(|error| ReadError::Config {
                    config: config_digest,
                    digest,
                    error: Box::new(error),
                })
        }
    }
}

/// What the check found for one image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It offers the platform.
    Runs(Offers),
    /// It does not.
    Mismatch(Offers),
    /// Its platforms are not known: why.
    NotChecked(String),
}

/// Judges one image against `need` with what is known of it.
#[must_use]
pub fn judge(digest: Option<Digest>, need: &Need, known: &Known, unknown_why: &str) -> Verdict {
    let Some(offers) = digest.and_then(|d| known.get(&d)) else {
        return Verdict::NotChecked(unknown_why.to_owned());
    };
    if offers.runs_as(&need.platform) {
        Verdict::Runs(offers.clone())
    } else {
        Verdict::Mismatch(offers.clone())
    }
}

/// The words of a mismatch: the image, what it offers, what is needed and why, and the fix.
#[must_use]
pub fn mismatch(image: &ImageRef, offers: &Offers, need: &Need) -> String {
    let p = &need.platform;
    format!(
        "image {image} offers {}, but {} needs {p}: the task would not start (exec format error, or no manifest for {p}); fix: build the image for {p} (e.g. docker buildx build --platform {p}), or set the task definition's runtimePlatform to what the image is",
        offers.list(),
        need.from
    )
}

/// The words of a pass.
#[must_use]
pub fn runs(offers: &Offers, need: &Need) -> String {
    match offers {
        Offers::Single(p) => format!("offers {p}, which {} needs", need.from),
        Offers::Index(_) => format!(
            "offers {} in its {}, which {} needs",
            need.platform,
            offers.list(),
            need.from
        ),
    }
}

/// Fetches a config blob of a repository from its registry; an error (worded) is exit 2.
pub type FetchBlob<'a> = dyn FnMut(&Repository, Digest) -> Result<Vec<u8>, RegistryError> + 'a;

/// Adds what each image ECR returned a manifest for offers to `known`, for the images with a
/// need (`found` is in the order of `images`). Returns, by position in `images`, those whose
/// manifest (or config) could not be read, with why: an error (exit 2).
fn read_found(
    images: &[Seen],
    found: &[(Lookup, Outcome)],
    fetch: &mut FetchBlob<'_>,
    known: &mut Known,
) -> BTreeMap<usize, String> {
    let mut failed = BTreeMap::new();
    for (at, (seen, (l, outcome))) in images.iter().zip(found).enumerate() {
        let Outcome::Found {
            repository,
            digest: Some(digest),
            manifest: Some(manifest),
            ..
        } = outcome
        else {
            continue;
        };
        if seen.needs.platform.is_none() || known.contains_key(digest) {
            continue;
        }
        match read_live(manifest, *digest, |config| fetch(repository, config)) {
            Ok(offers) => {
                known.insert(*digest, offers);
            }
            Err(e) => {
                failed.insert(at, format!("{}: {e}", l.image));
            }
        }
    }
    failed
}

/// Why the platforms of an image are not known; `layouts`: `--oci` layouts could have proved
/// them (verify).
#[must_use]
pub fn unknown_why(
    image: &ImageRef,
    digest: Option<Digest>,
    ecr: bool,
    layouts: bool,
) -> &'static str {
    if digest.is_none() {
        "the image has no digest, so what it offers cannot be proven"
    } else if !ecr && layouts {
        "no --oci layout proves it, and --ecr, which reads it from ECR, was not given"
    } else if !ecr {
        "its platforms are read with --ecr, which was not given"
    } else if image.ecr().is_none() {
        "it is not in an Amazon ECR private registry, where its platforms would be read"
    } else {
        "ECR returned no manifest for it"
    }
}

/// The platform check: every image with a need against it, with what `known` holds (from `--oci`
/// layouts, `layouts` when they could have proved it) and, with `ecr`, what ECR returned (`found`,
/// in the order of `images`) and the config blobs `fetch` reads. A container's verdict is kept
/// in the report for the report file and `--json`.
pub fn check(
    images: &[Seen],
    found: &[(Lookup, Outcome)],
    mut known: Known,
    fetch: &mut FetchBlob<'_>,
    (ecr, layouts): (bool, bool),
    report: &mut Recorder,
) {
    let failed = read_found(images, found, fetch, &mut known);
    for (at, seen) in images.iter().enumerate() {
        let Some(need) = &seen.needs.platform else {
            continue;
        };
        if let Some(message) = failed.get(&at) {
            report.error(seen.subject.clone(), message.clone());
            continue;
        }
        let why = unknown_why(&seen.image, seen.digest, ecr, layouts);
        let verdict = judge(seen.digest, need, &known, why);
        match &verdict {
            Verdict::Runs(offers) => report.ok(seen.subject.clone(), runs(offers, need)),
            Verdict::Mismatch(offers) => {
                report.fail(seen.subject.clone(), mismatch(&seen.image, offers, need));
            }
            Verdict::NotChecked(why) => {
                let line = format!(
                    "{}: platform {} ({}) not checked for {}: {why}",
                    seen.subject, need.platform, need.from, seen.image
                );
                if need.stated {
                    tracing::warn!("{line}");
                } else {
                    tracing::debug!("{line}");
                }
            }
        }
        if let Some(results) = report.container(seen) {
            results.platform = Some(Judged {
                need: need.clone(),
                verdict,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need(p: &str) -> Need {
        Need {
            platform: p.parse().unwrap(),
            from: "--platform".to_owned(),
            stated: true,
        }
    }

    #[test]
    fn a_live_manifest_is_read_only_from_proven_bytes() {
        let config = br#"{"os":"linux","architecture":"arm64"}"#.to_vec();
        let config_digest = Digest::of(&config);
        let manifest = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{}}},"layers":[]}}"#,
            config.len()
        );
        let m = Manifest {
            media_type: None,
            bytes: manifest.into_bytes(),
        };
        let digest = Digest::of(&m.bytes);
        let offers = read_live(&m, digest, |d| {
            assert_eq!(d, config_digest);
            Ok(config.clone())
        })
        .unwrap();
        assert_eq!(offers, Offers::Single("linux/arm64".parse().unwrap()));
        // Bytes that are not the digest's prove nothing; a config that is not its digest's is
        // refused.
        let other = Digest::of(b"other");
        assert!(
            read_live(&m, other, |_| Ok(config.clone()))
                .unwrap_err()
                .to_string()
                .contains("hash to")
        );
        assert!(
            read_live(&m, digest, |_| Ok(b"{}".to_vec()))
                .unwrap_err()
                .to_string()
                .contains("refused")
        );
        let mut known = Known::new();
        known.insert(digest, offers);
        assert!(matches!(
            judge(Some(digest), &need("linux/arm64"), &known, ""),
            Verdict::Runs(_)
        ));
        assert!(matches!(
            judge(Some(digest), &need("linux/amd64"), &known, ""),
            Verdict::Mismatch(_)
        ));
        assert_eq!(
            judge(None, &need("linux/amd64"), &known, "no digest"),
            Verdict::NotChecked("no digest".into())
        );
    }
}
