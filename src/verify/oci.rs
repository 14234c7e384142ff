//! `--oci DIR` and `--manifest FILE`: digests proven by hashing, not taken on trust.
//!
//! An image digest is the sha256 of the manifest's exact bytes. An OCI image layout holds those
//! bytes as `blobs/sha256/<hex>`, reachable from `index.json`; every descriptor on the way
//! (indexes, manifests, configs, layers) is checked: the blob exists, its size and its sha256 are
//! those the descriptor states. A digest is proven when its manifest or index checked out, or when
//! it was given as a `--manifest` file, or listed in one that is an image index.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::path::Path;

use serde_json::Value;
use sha2::Digest as _;

use super::{Report, Seen};
use crate::input::MAX_JSON;
use crate::model::Digest;

/// The read buffer for hashing blobs: large, so that hashing, not system calls, sets the pace.
const HASH_BUFFER: usize = 1024 * 1024;

const INDEX_TYPES: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];
const MANIFEST_TYPES: [&str; 2] = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// The digests proven so far, each with how it was proven.
#[derive(Clone, Debug, Default)]
pub struct Proofs {
    pub proven: BTreeMap<Digest, String>,
    /// What was given (`--oci DIR`, `--manifest FILE`), for messages.
    pub sources: Vec<String>,
}

impl Proofs {
    fn add(&mut self, digest: Digest, how: String) {
        self.proven.entry(digest).or_insert(how);
    }
}

/// Checks an OCI image layout and adds the digests of the manifests and indexes that checked out.
pub fn layout(dir: &Path, report: &mut Report, proofs: &mut Proofs) {
    let subject = format!("OCI layout {}", dir.display());
    proofs.sources.push(format!("--oci {}", dir.display()));
    let marker = dir.join("oci-layout");
    match crate::input::read_named(&marker, 64 * 1024, "oci-layout file") {
        Err(e) => {
            return report.error(
                subject,
                format!("{e}; an OCI image layout has an oci-layout file, index.json and blobs/ (e.g. from `skopeo copy ... oci:DIR`)"),
            );
        }
        Ok(bytes) => {
            let version = serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| v.get("imageLayoutVersion")?.as_str().map(str::to_owned));
            if version.is_none() {
                return report.error(
                    subject,
                    format!(
                        "{} has no \"imageLayoutVersion\"; it is not an OCI image layout marker",
                        marker.display()
                    ),
                );
            }
        }
    }
    let index_path = dir.join("index.json");
    let index = match crate::input::read_named(&index_path, MAX_JSON, "OCI index")
        .and_then(|bytes| json(&bytes).map_err(|e| format!("{}: {e}", index_path.display())))
    {
        Ok(index) => index,
        Err(e) => return report.error(subject, e),
    };
    let Some(roots) = index.get("manifests").and_then(Value::as_array) else {
        return report.error(
            subject,
            format!(
                "{} has no \"manifests\" array; it is not an OCI image index",
                index_path.display()
            ),
        );
    };
    let mut walk = Walk {
        dir,
        subject,
        report,
        proofs,
        visited: BTreeSet::new(),
        blobs: 0,
        bytes: 0,
        failures: 0,
    };
    let mut queue: Vec<(Value, String)> = roots
        .iter()
        .enumerate()
        .map(|(i, d)| (d.clone(), format!("index.json manifests[{i}]")))
        .collect();
    queue.reverse();
    while let Some((descriptor, via)) = queue.pop() {
        let mut children = walk.descriptor(&descriptor, &via);
        children.reverse();
        queue.extend(children);
    }
    if walk.failures == 0 {
        let (blobs, bytes, subject) = (walk.blobs, walk.bytes, walk.subject);
        report.ok(
            subject,
            format!("{blobs} blobs ({bytes} bytes) match their descriptors' sizes and sha256"),
        );
    }
}

struct Walk<'a> {
    dir: &'a Path,
    subject: String,
    report: &'a mut Report,
    proofs: &'a mut Proofs,
    visited: BTreeSet<Digest>,
    blobs: u64,
    bytes: u64,
    failures: usize,
}

impl Walk<'_> {
    fn fail(&mut self, message: String) {
        self.failures += 1;
        self.report.fail(self.subject.clone(), message);
    }

    fn error(&mut self, message: String) {
        self.failures += 1;
        self.report.error(self.subject.clone(), message);
    }

    /// Checks one descriptor's blob; returns the descriptors it refers to, each with where from.
    fn descriptor(&mut self, descriptor: &Value, via: &str) -> Vec<(Value, String)> {
        let Some((digest, size, kind)) = self.parse(descriptor, via) else {
            return Vec::new();
        };
        if !self.visited.insert(digest) {
            return Vec::new();
        }
        let Some(bytes) = self.blob(digest, size, kind, via) else {
            return Vec::new();
        };
        if kind == Kind::Blob {
            return Vec::new();
        }
        let rel = format!("blobs/sha256/{}", digest.hex());
        let what = if kind == Kind::Index {
            "index"
        } else {
            "manifest"
        };
        self.proofs.add(
            digest,
            format!("{what} {rel} of OCI layout {}", self.dir.display()),
        );
        let doc = match json(&bytes) {
            Ok(doc) => doc,
            Err(e) => {
                self.fail(format!("{what} {rel} {e}"));
                return Vec::new();
            }
        };
        let short = &digest.hex()[..12];
        let mut children = Vec::new();
        if kind == Kind::Manifest
            && let Some(config) = doc.get("config")
        {
            children.push((config.clone(), format!("manifest sha256:{short}... config")));
        }
        let key = if kind == Kind::Index {
            "manifests"
        } else {
            "layers"
        };
        if let Some(items) = doc.get(key).and_then(Value::as_array) {
            for (i, d) in items.iter().enumerate() {
                children.push((d.clone(), format!("{what} sha256:{short}... {key}[{i}]")));
            }
        }
        children
    }

    /// The digest, size and kind a descriptor states; `None` (and a finding) when it is unusable.
    fn parse(&mut self, descriptor: &Value, via: &str) -> Option<(Digest, u64, Kind)> {
        let Some(text) = descriptor.get("digest").and_then(Value::as_str) else {
            self.fail(format!(
                "the descriptor at {via} has no \"digest\" string; the layout is damaged: export it again"
            ));
            return None;
        };
        let digest = match text.parse::<Digest>() {
            Ok(d) => d,
            Err(e) => {
                self.fail(format!(
                    "the descriptor at {via} has digest {text:?}, which {e}; not looked up under blobs/ (only sha256:<64 lowercase hex> names a blob)"
                ));
                return None;
            }
        };
        let Some(size) = descriptor.get("size").and_then(Value::as_u64) else {
            self.fail(format!(
                "the descriptor at {via} ({digest}) has no \"size\" as a non-negative integer; the layout is damaged: export it again"
            ));
            return None;
        };
        let media_type = descriptor
            .get("mediaType")
            .and_then(Value::as_str)
            .unwrap_or("");
        let kind = if INDEX_TYPES.contains(&media_type) {
            Kind::Index
        } else if MANIFEST_TYPES.contains(&media_type) {
            Kind::Manifest
        } else {
            Kind::Blob
        };
        Some((digest, size, kind))
    }

    /// Checks that the blob exists with the stated size and sha256. The bytes of a manifest or
    /// index that checked out, nothing for any other blob that did; `None` (and a finding)
    /// otherwise.
    fn blob(&mut self, digest: Digest, size: u64, kind: Kind, via: &str) -> Option<Vec<u8>> {
        let rel = format!("blobs/sha256/{}", digest.hex());
        let path = self.dir.join(&rel);
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.fail(format!(
                    "blob {rel} is missing (named by {via}); the layout is incomplete: export it again"
                ));
                return None;
            }
            Err(e) => {
                self.error(format!("cannot read blob {rel}: {e}"));
                return None;
            }
        };
        if !meta.is_file() {
            self.fail(format!(
                "blob {rel} is not a regular file (a symlink or directory), so it is not read; a layout holds its blobs as files"
            ));
            return None;
        }
        if meta.len() != size {
            self.fail(format!(
                "blob {rel} is {} bytes, but {via} says {size}; the blob was truncated or changed",
                meta.len()
            ));
            return None;
        }
        let json_bytes = if kind == Kind::Blob {
            None
        } else if size > MAX_JSON {
            self.fail(format!(
                "{rel} is {size} bytes, more than the {MAX_JSON} a registry accepts for a manifest or index; not read"
            ));
            return None;
        } else {
            match crate::input::read_named(&path, MAX_JSON, "blob") {
                Ok(b) => Some(b),
                Err(e) => {
                    self.error(e);
                    return None;
                }
            }
        };
        let actual = match &json_bytes {
            Some(b) => Digest::of(b),
            None => match hash_file(&path) {
                Ok(d) => d,
                Err(e) => {
                    self.error(format!("cannot read blob {rel}: {e}"));
                    return None;
                }
            },
        };
        self.blobs += 1;
        self.bytes += size;
        if actual != digest {
            self.fail(format!(
                "blob {rel} hashes to {actual}, not {digest} as {via} says; the blob was modified"
            ));
            return None;
        }
        Some(json_bytes.unwrap_or_default())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Index,
    Manifest,
    Blob,
}

/// The sha256 of a file, read in large blocks and never held whole.
pub fn hash_file(path: &Path) -> std::io::Result<Digest> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    let mut buffer = vec![0u8; HASH_BUFFER];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Digest::from_array(hasher.finalize().into()))
}

fn json(bytes: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("is not valid JSON: {e}"))
}

/// `--manifest FILE`: the sha256 of the file's exact bytes is proven; when the file is an image
/// index, so is every digest it lists.
pub fn manifest(path: &Path, report: &mut Report, proofs: &mut Proofs) {
    let subject = format!("manifest {}", path.display());
    proofs
        .sources
        .push(format!("--manifest {}", path.display()));
    let bytes = match crate::input::read_named(path, MAX_JSON, "manifest") {
        Ok(b) => b,
        Err(e) => return report.error(subject, e),
    };
    let doc = match json(&bytes) {
        Ok(doc) => doc,
        Err(e) => {
            return report.error(
                subject,
                format!(
                    "{e}; --manifest takes a manifest's exact bytes as the registry serves them"
                ),
            );
        }
    };
    let digest = Digest::of(&bytes);
    proofs.add(digest, format!("the bytes of {}", path.display()));
    let mut listed = 0;
    if let Some(items) = doc.get("manifests").and_then(Value::as_array) {
        for (i, item) in items.iter().enumerate() {
            let text = item.get("digest").and_then(Value::as_str).unwrap_or("");
            match text.parse::<Digest>() {
                Ok(d) => {
                    listed += 1;
                    proofs.add(
                        d,
                        format!(
                            "manifests[{i}] of image index {} ({digest})",
                            path.display()
                        ),
                    );
                }
                Err(e) => report.error(
                    subject.clone(),
                    format!(
                        "key \"manifests[{i}].digest\" = {text:?}: {e}; an image index lists sha256:<64 lowercase hex> digests"
                    ),
                ),
            }
        }
    }
    let also = if listed > 0 {
        format!(", and {listed} manifests it lists as an image index")
    } else {
        String::new()
    };
    report.ok(subject, format!("proves {digest}{also}"));
}

/// Every image must carry a digest that a layout or manifest proved.
pub fn check_proven(images: &[Seen], proofs: &Proofs, report: &mut Report) {
    let sources = proofs.sources.join(", ");
    for seen in images {
        let Some(digest) = seen.digest else {
            report.fail(
                seen.subject.clone(),
                format!(
                    "image {} carries no digest, so {sources} cannot prove it; use the digest-pinned ImageURI the push produced",
                    seen.image
                ),
            );
            continue;
        };
        if let Some(how) = proofs.proven.get(&digest) {
            report.ok(seen.subject.clone(), format!("{digest} proven by {how}"));
            continue;
        }
        let known = if proofs.proven.is_empty() {
            "nothing".to_owned()
        } else {
            proofs
                .proven
                .keys()
                .take(5)
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        report.fail(
            seen.subject.clone(),
            format!(
                "image {} has digest {digest}, which {sources} do not prove (they prove {known}); the artifact names another image than the one checked: pass that image's layout or manifest",
                seen.image
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_file_streams_the_exact_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("blob");
        let bytes: Vec<u8> = (0..3 * HASH_BUFFER + 17).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(hash_file(&path).unwrap(), Digest::of(&bytes));
    }

    #[test]
    fn a_digest_that_would_escape_blobs_is_never_a_path() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("layout");
        std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        std::fs::write(tmp.path().join("secret"), "x").unwrap();
        std::fs::write(
            dir.join("index.json"),
            r#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:../../secret","size":1}]}"#,
        )
        .unwrap();
        let mut report = Report::default();
        let mut proofs = Proofs::default();
        layout(&dir, &mut report, &mut proofs);
        assert_eq!(report.findings.len(), 1, "{report:?}");
        assert!(
            report.findings[0]
                .message
                .contains("not looked up under blobs/"),
            "{report:?}"
        );
        assert!(proofs.proven.is_empty());
    }
}
