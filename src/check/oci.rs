//! `--oci DIR` and `--manifest FILE`: digests proven by hashing, not taken on trust.
//!
//! An image digest is the sha256 of the manifest's (or index's) exact bytes. What proves what:
//! - Bytes prove only their own sha256. What a document is (image index, image manifest) is read
//!   from its own hashed bytes, its `mediaType` and its shape; the `mediaType` of the descriptor
//!   that points at it is a claim, and a claim that disagrees with the bytes is a finding.
//! - An OCI layout holds documents as `blobs/sha256/<hex>`, reachable from `index.json` (which is
//!   not hashed). Every descriptor on the way is checked: the blob exists, its size and sha256 are
//!   those stated. An index or manifest is proven only when its whole chain checked out, all the
//!   way down to the last config and layer.
//! - A `--manifest` file proves the sha256 of its bytes. The digests it lists under `manifests`
//!   count only when it is an image index by its own bytes *and* its digest is anchored in the
//!   same run: named by an image being verified, proven by an `--oci` layout, or listed by another
//!   index that is itself anchored. A file's own bytes never anchor it: anyone can write a JSON
//!   file that lists any digest.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;
use std::rc::Rc;

use serde_json::Value;
use sha2::Digest as _;

use super::{Recorder, Seen};
use crate::io::input::MAX_JSON;
use crate::model::Digest;
use crate::model::json::JsonError;
use crate::model::platform::{self, Offered, Offers};

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
    /// Digests proven by an `--oci` layout's hashed chain: these anchor `--manifest` indexes.
    anchors: BTreeMap<Digest, String>,
    /// `--manifest` files, whose listings wait until the anchors are known.
    files: Vec<ManifestFile>,
    /// What was given (`--oci DIR`, `--manifest FILE`), for messages.
    pub sources: Vec<String>,
    /// The platforms each index or manifest an `--oci` layout proved offers (a manifest whose
    /// config names none is absent).
    pub offers: BTreeMap<Digest, Offers>,
}

/// One `--manifest` file whose bytes were read.
#[derive(Clone, Debug)]
struct ManifestFile {
    subject: String,
    path: String,
    digest: Digest,
    /// `Ok`: the digests it lists as an image index by its own bytes; `Err`: why it is none.
    listed: Result<Vec<Digest>, NotIndex>,
    /// It has a `manifests` key, whatever it is.
    has_manifests: bool,
}

impl Proofs {
    fn add(&mut self, digest: Digest, how: String) {
        self.proven.entry(digest).or_insert(how);
    }
}

/// Checks an OCI image layout and adds the digests of the manifests and indexes that checked out.
pub fn layout(dir: &Path, report: &mut Recorder, proofs: &mut Proofs) {
    let subject = format!("OCI layout {}", dir.display());
    proofs.sources.push(format!("--oci {}", dir.display()));
    let marker = dir.join("oci-layout");
    match crate::io::input::read_named(&marker, 64 * 1024, "oci-layout file") {
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
    let index = match crate::io::input::read_named(&index_path, MAX_JSON, "OCI index")
        .map_err(|e| e.to_string())
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
        checked: BTreeMap::new(),
        configs: BTreeMap::new(),
        blobs: 0,
        bytes: 0,
        failures: 0,
    };
    for (i, descriptor) in roots.iter().enumerate() {
        walk.document(descriptor, &format!("index.json manifests[{i}]"), 0);
    }
    if walk.failures == 0 {
        let (blobs, bytes, subject) = (walk.blobs, walk.bytes, walk.subject);
        report.ok(
            subject,
            format!("{blobs} blobs ({bytes} bytes) match their descriptors' sizes and sha256"),
        );
    }
}

/// How deep indexes may nest below `index.json`; real layouts use one or two levels.
const MAX_DEPTH: usize = 8;

struct Walk<'a> {
    dir: &'a Path,
    subject: String,
    report: &'a mut Recorder,
    proofs: &'a mut Proofs,
    /// Every digest looked at in a role, and whether it (and all below it) checked out in that
    /// role: bytes hashed as a layer prove nothing about a manifest of the same digest.
    checked: BTreeMap<(Digest, Role), bool>,
    /// The platform each JSON config that checked out names.
    configs: BTreeMap<Digest, platform::Platform>,
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

    /// Checks the index or manifest a descriptor points at and everything below it; true when
    /// all of it checked out, and only then is its digest proven.
    fn document(&mut self, descriptor: &Value, via: &str, depth: usize) -> bool {
        let Some((digest, size, claimed)) = self.parse(descriptor, via) else {
            return false;
        };
        let key = (digest, Role::Document);
        if let Some(ok) = self.checked.get(&key) {
            return *ok;
        }
        self.checked.insert(key, false);
        let ok = self.document_below(digest, size, claimed, via, depth);
        self.checked.insert(key, ok);
        ok
    }

    fn document_below(
        &mut self,
        digest: Digest,
        size: u64,
        claimed: Kind,
        via: &str,
        depth: usize,
    ) -> bool {
        let rel = format!("blobs/sha256/{}", digest.hex());
        if depth > MAX_DEPTH {
            self.fail(format!(
                "{rel} (named by {via}) is nested more than {MAX_DEPTH} indexes deep; not followed"
            ));
            return false;
        }
        let Some(bytes) = self.blob(digest, size, true, via) else {
            return false;
        };
        let kind = match json(&bytes).and_then(|doc| Ok((kind_of(&doc)?, doc))) {
            Ok((kind, doc)) => (kind, doc),
            Err(e) => {
                self.fail(format!("{rel} (named by {via}) {e}"));
                return false;
            }
        };
        let (kind, doc) = kind;
        let mut ok = true;
        if claimed != Kind::Blob && claimed != kind {
            self.fail(format!(
                "{via} calls {rel} an {}, but its own bytes say it is an {}; the mediaType of a descriptor in index.json is not hashed, the blob is: the layout was relabelled",
                claimed.name(),
                kind.name()
            ));
            ok = false;
        }
        let short = &digest.hex()[..12];
        if kind == Kind::Index {
            for (i, d) in items(&doc, "manifests").iter().enumerate() {
                let via = format!("index sha256:{short}... manifests[{i}]");
                ok &= self.document(d, &via, depth + 1);
            }
        } else {
            if let Some(config) = doc.get("config") {
                ok &= self.leaf(
                    config,
                    Role::Config,
                    &format!("manifest sha256:{short}... config"),
                );
            }
            for (i, d) in items(&doc, "layers").iter().enumerate() {
                ok &= self.leaf(
                    d,
                    Role::Layer,
                    &format!("manifest sha256:{short}... layers[{i}]"),
                );
            }
        }
        if ok {
            let what = if kind == Kind::Index {
                "index"
            } else {
                "manifest"
            };
            let offers = match platform::offered(&doc) {
                Ok(Offered::Index(entries)) => Some(Offers::Index(entries)),
                Ok(Offered::Manifest { config }) => {
                    self.configs.get(&config).cloned().map(Offers::Single)
                }
                Err(_) => None,
            };
            if let Some(offers) = offers {
                self.proofs.offers.entry(digest).or_insert(offers);
            }
            let how = format!("{what} {rel} of OCI layout {}", self.dir.display());
            self.proofs
                .anchors
                .entry(digest)
                .or_insert_with(|| how.clone());
            self.proofs.add(digest, how);
        }
        ok
    }

    /// Checks a config or layer blob: it exists with the stated size and sha256. A config whose
    /// descriptor says it is JSON must also be JSON without a key twice.
    fn leaf(&mut self, descriptor: &Value, role: Role, via: &str) -> bool {
        let Some((digest, size, _)) = self.parse(descriptor, via) else {
            return false;
        };
        let json_config = role == Role::Config
            && size <= MAX_JSON
            && descriptor
                .get("mediaType")
                .and_then(Value::as_str)
                .is_some_and(|m| m.ends_with("json"));
        let key = (
            digest,
            if json_config {
                Role::Config
            } else {
                Role::Layer
            },
        );
        if let Some(ok) = self.checked.get(&key) {
            return *ok;
        }
        let ok = match self.blob(digest, size, json_config, via) {
            None => false,
            Some(bytes) if json_config => match json(&bytes) {
                Ok(config) => {
                    if let Ok(p) = platform::of_config(&config) {
                        self.configs.insert(digest, p);
                    }
                    true
                }
                Err(e) => {
                    let rel = format!("blobs/sha256/{}", digest.hex());
                    self.fail(format!("{rel} (the config named by {via}) {e}"));
                    false
                }
            },
            Some(_) => true,
        };
        self.checked.insert(key, ok);
        ok
    }

    /// The digest, size and kind (as its `mediaType` claims) a descriptor states; `None` (and a finding) when it is unusable.
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
        Some((digest, size, Kind::of_media_type(media_type)))
    }

    /// Checks that the blob exists with the stated size and sha256. The bytes of a manifest or
    /// index that checked out, nothing for any other blob that did; `None` (and a finding)
    /// otherwise.
    fn blob(&mut self, digest: Digest, size: u64, document: bool, via: &str) -> Option<Vec<u8>> {
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
        let json_bytes = if !document {
            None
        } else if size > MAX_JSON {
            self.fail(format!(
                "{rel} is {size} bytes, more than the {MAX_JSON} a registry accepts for a manifest or index; not read"
            ));
            return None;
        } else {
            match crate::io::input::read_named(&path, MAX_JSON, "blob") {
                Ok(b) => Some(b),
                Err(e) => {
                    self.error(e.into());
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

/// What a blob is used as; a digest is proven separately in each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    /// An index or manifest, proven with everything below it.
    Document,
    /// A JSON config, read and parsed.
    Config,
    /// A layer (or a config that is not JSON): hashed only.
    Layer,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Index,
    Manifest,
    Blob,
}

impl Kind {
    fn of_media_type(media_type: &str) -> Kind {
        if INDEX_TYPES.contains(&media_type) {
            Kind::Index
        } else if MANIFEST_TYPES.contains(&media_type) {
            Kind::Manifest
        } else {
            Kind::Blob
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Index => "image index",
            Kind::Manifest => "image manifest",
            Kind::Blob => "blob",
        }
    }
}

/// What a document is by its own bytes: its `mediaType` (when it has one) and its shape must
/// agree (an index has a `manifests` array; a manifest a `config` object and a `layers` array).
fn kind_of(doc: &Value) -> Result<Kind, DocumentError> {
    let has = |key: &str| doc.get(key).is_some();
    let index_shape =
        doc.get("manifests").is_some_and(Value::is_array) && !has("config") && !has("layers");
    let manifest_shape = doc.get("config").is_some_and(Value::is_object)
        && doc.get("layers").is_some_and(Value::is_array)
        && !has("manifests");
    let declared = doc
        .get("mediaType")
        .map(|m| m.as_str().map(Kind::of_media_type));
    match (declared, index_shape, manifest_shape) {
        (Some(Some(Kind::Index)) | None, true, false) => Ok(Kind::Index),
        (Some(Some(Kind::Manifest)) | None, false, true) => Ok(Kind::Manifest),
        _ => Err(DocumentError::Kind(doc.get("mediaType").cloned())),
    }
}

/// Why a `--manifest` file is not an image index whose listing could count.
#[derive(Clone, Debug, thiserror::Error)]
enum NotIndex {
    #[error("it is an {0} by its own bytes")]
    Other(&'static str),
    #[error("it {0}")]
    Document(Rc<DocumentError>),
}

/// Why bytes are not a document that proves anything.
#[derive(Debug, thiserror::Error)]
enum DocumentError {
    #[error("is not UTF-8 (invalid byte at offset {0}); a manifest, index or config is UTF-8 JSON")]
    NotUtf8(usize),
    #[error("{0}{fix}", fix = if matches!(.0, JsonError::DuplicateKey(_)) { ": readers of the document disagree on which copy counts, so it proves nothing; refused" } else { "" })]
    Json(JsonError),
    #[error(
        "is neither an image index nor an image manifest by its own bytes (\"mediaType\" {shown}; an index has a \"manifests\" array, a manifest a \"config\" object and a \"layers\" array, never both)",
        shown = .0.as_ref().map_or_else(|| "absent".to_owned(), ToString::to_string)
    )]
    Kind(Option<Value>),
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

/// The array under `key`, or nothing.
fn items<'a>(doc: &'a Value, key: &str) -> &'a [Value] {
    doc.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A hashed JSON document, read as strictly as every other JSON imagedef reads: a key twice in
/// one object is refused (readers disagree on which copy counts), and nothing comes before the
/// JSON (no byte-order mark: the registry serves these bytes as they are).
fn json(bytes: &[u8]) -> Result<Value, DocumentError> {
    let text = std::str::from_utf8(bytes).map_err(|e| DocumentError::NotUtf8(e.valid_up_to()))?;
    crate::model::json::parse_text(text).map_err(DocumentError::Json)
}

/// `--manifest FILE`: the sha256 of the file's exact bytes is proven; what it lists waits for
/// [`check_proven`], which knows the anchors.
pub fn manifest(path: &Path, report: &mut Recorder, proofs: &mut Proofs) {
    let subject = format!("manifest {}", path.display());
    proofs
        .sources
        .push(format!("--manifest {}", path.display()));
    let bytes = match crate::io::input::read_named(path, MAX_JSON, "manifest") {
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
    let listed = match kind_of(&doc) {
        Ok(Kind::Index) => {
            let mut listed = Vec::new();
            for (i, item) in items(&doc, "manifests").iter().enumerate() {
                let text = item.get("digest").and_then(Value::as_str).unwrap_or("");
                match text.parse::<Digest>() {
                    Ok(d) => listed.push(d),
                    Err(e) => report.error(
                        subject.clone(),
                        format!(
                            "key \"manifests[{i}].digest\" = {text:?}: {e}; an image index lists sha256:<64 lowercase hex> digests"
                        ),
                    ),
                }
            }
            Ok(listed)
        }
        Ok(kind) => Err(NotIndex::Other(kind.name())),
        Err(e) => Err(NotIndex::Document(Rc::new(e))),
    };
    proofs.files.push(ManifestFile {
        subject,
        path: path.display().to_string(),
        digest,
        listed,
        has_manifests: doc.get("manifests").is_some(),
    });
}

/// Counts what the `--manifest` indexes list, for those whose own digest is anchored: named by
/// an image being verified, proven by a layout, or listed by an index already counted. Repeats
/// until nothing changes, then reports each file.
fn count_listings(images: &[Seen], proofs: &mut Proofs, report: &mut Recorder) {
    for seen in images {
        if let Some(d) = seen.digest {
            proofs
                .anchors
                .entry(d)
                .or_insert_with(|| format!("the digest {} names", seen.subject));
        }
    }
    let files = std::mem::take(&mut proofs.files);
    let mut counted = vec![false; files.len()];
    loop {
        let mut changed = false;
        for (file, done) in files.iter().zip(counted.iter_mut()) {
            let (false, Ok(listed), Some(anchor)) = (
                *done,
                &file.listed,
                proofs.anchors.get(&file.digest).cloned(),
            ) else {
                continue;
            };
            *done = true;
            changed = true;
            for (i, d) in listed.iter().enumerate() {
                let how = format!(
                    "manifests[{i}] of image index {} ({}), whose digest is {anchor}",
                    file.path, file.digest
                );
                proofs.anchors.entry(*d).or_insert_with(|| how.clone());
                proofs.add(*d, how);
            }
        }
        if !changed {
            break;
        }
    }
    for (file, done) in files.iter().zip(&counted) {
        let detail = match (&file.listed, done) {
            (Ok(listed), true) => format!(
                "proves {}, and {} manifests it lists as an image index",
                file.digest,
                listed.len()
            ),
            (Ok(listed), false) if !listed.is_empty() => format!(
                "proves {}; the {} digests it lists count for nothing: its own digest is anchored by nothing in this run (no image names it, no --oci layout holds it, no counted index lists it), and anyone can write a file that lists a digest",
                file.digest,
                listed.len()
            ),
            (Err(why), _) if file.has_manifests => format!(
                "proves {}; what it lists under \"manifests\" counts for nothing: {why}",
                file.digest
            ),
            _ => format!("proves {}", file.digest),
        };
        report.ok(file.subject.clone(), detail);
    }
    proofs.files = files;
}

/// Every image must carry a digest that a layout or manifest proved.
pub fn check_proven(images: &[Seen], proofs: &mut Proofs, report: &mut Recorder) {
    count_listings(images, proofs, report);
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
        let mut report = super::super::Recorder::new(super::super::Check::OciLayout);
        let mut proofs = Proofs::default();
        layout(&dir, &mut report, &mut proofs);
        assert_eq!(report.findings().len(), 1, "{report:?}");
        assert!(
            report.findings()[0]
                .message
                .contains("not looked up under blobs/"),
            "{report:?}"
        );
        assert!(proofs.proven.is_empty());
    }
}
