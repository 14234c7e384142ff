//! Scan findings in moto: images pushed with their exact bytes, a scan started, and the result
//! `DescribeImageScanFindings` answers set through moto's own API
//! (`POST /moto-api/static/ecr/scan-finding-results`). moto keeps the first result it hands out
//! for an image, so each test pushes its own.
//!
//! The two-platform index (linux/amd64 and linux/arm64 with an attestation entry, as docker buildx
//! pushes one) is the buildah-built one of [`super::images`], whose blobs are pushed as they are.

use std::sync::OnceLock;

use serde_json::{Value, json};

use super::aws::{Moto, http};

/// A finding as ECR's basic scanning reports it.
pub fn finding(name: &str, severity: &str, package: &str) -> Value {
    json!({
        "name": name,
        "uri": format!("https://nvd.nist.gov/vuln/detail/{name}"),
        "severity": severity,
        "attributes": [
            {"key": "package_name", "value": package},
            {"key": "package_version", "value": "1.2.3"},
        ],
    })
}

impl Moto {
    /// Creates `repo` in `region` unless it exists.
    pub fn repository(&self, region: &str, repo: &str) {
        let (status, text) = self.call(
            "ecr",
            region,
            "AmazonEC2ContainerRegistry_V20150921.CreateRepository",
            &json!({ "repositoryName": repo }).to_string(),
        );
        assert!(
            status == 200 || text.contains("RepositoryAlreadyExists"),
            "{text}"
        );
    }

    /// Puts `bytes` as an image of `repo` in `region` under `tag` (creating the repository),
    /// with its digest given, as ECR computes it: returns the digest.
    pub fn put_manifest(
        &self,
        region: &str,
        repo: &str,
        bytes: &[u8],
        media_type: &str,
        tag: Option<&str>,
    ) -> String {
        let digest = sha256(bytes);
        self.put_image(region, repo, (bytes, media_type), tag, &digest);
        digest
    }

    /// Puts `manifest` (bytes, media type) as an image of `repo` whose digest moto is told is
    /// `digest`, whatever the bytes are.
    pub fn put_image(
        &self,
        region: &str,
        repo: &str,
        manifest: (&[u8], &str),
        tag: Option<&str>,
        digest: &str,
    ) {
        self.repository(region, repo);
        let mut body = json!({
            "repositoryName": repo,
            "imageManifest": std::str::from_utf8(manifest.0).unwrap(),
            "imageManifestMediaType": manifest.1,
            "imageDigest": digest,
        });
        if let Some(tag) = tag {
            body["imageTag"] = json!(tag);
        }
        let (status, text) = self.call(
            "ecr",
            region,
            "AmazonEC2ContainerRegistry_V20150921.PutImage",
            &body.to_string(),
        );
        assert_eq!(status, 200, "PutImage: {text}");
    }

    /// Starts a scan of `digest` (moto answers `DescribeImageScanFindings` only after one).
    pub fn start_scan(&self, region: &str, repo: &str, digest: &str) {
        let (status, text) = self.call(
            "ecr",
            region,
            "AmazonEC2ContainerRegistry_V20150921.StartImageScan",
            &json!({"repositoryName": repo, "imageId": {"imageDigest": digest}}).to_string(),
        );
        assert_eq!(status, 200, "StartImageScan: {text}");
    }

    /// Scans `digest` and sets what `DescribeImageScanFindings` answers for it: `status`, the
    /// severity counts and the findings.
    pub fn scan_result(
        &self,
        region: &str,
        repo: &str,
        digest: &str,
        status: &str,
        counts: &Value,
        findings: &[Value],
    ) {
        self.start_scan(region, repo, digest);
        let result = json!({
            "registryId": super::aws::ACCOUNT,
            "repositoryName": repo,
            "imageId": {"imageDigest": digest},
            "imageScanStatus": {"status": status, "description": format!("the scan is {status}")},
            "imageScanFindings": {
                "findings": findings,
                "findingSeverityCounts": counts,
            },
        });
        self.static_result(region, &result);
    }

    /// Sets `result`, a whole `DescribeImageScanFindings` answer, for the image its
    /// `repositoryName` and `imageId` name (once scanned).
    pub fn static_result(&self, region: &str, result: &Value) {
        let body = json!({"results": [result], "region": region}).to_string();
        let (code, text) = http(
            self.port,
            "POST",
            "/moto-api/static/ecr/scan-finding-results",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        assert_eq!(code, 201, "moto-api scan-finding-results: {text}");
    }
}

/// `sha256:` + hex of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest as _, Sha256};
    use std::fmt::Write as _;
    let hex = Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        });
    format!("sha256:{hex}")
}

/// A two-platform image index and its manifests, as exact bytes.
pub struct Index {
    pub bytes: Vec<u8>,
    pub media_type: String,
    /// (platform `os/architecture`, manifest bytes, media type), in index order: linux/amd64,
    /// linux/arm64, and the attestation entry (`unknown/unknown`).
    pub manifests: Vec<(String, Vec<u8>, String)>,
}

/// The two-platform index of [`super::images`] (built once per run with buildah), read from its
/// OCI layout.
pub fn two_platform_index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let images = super::images::images();
        let bytes = super::images::blob(&images.index, &images.index_digest);
        let index: Value = serde_json::from_slice(&bytes).unwrap();
        let manifests = index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let platform = format!(
                    "{}/{}",
                    m["platform"]["os"].as_str().unwrap(),
                    m["platform"]["architecture"].as_str().unwrap()
                );
                (
                    platform,
                    super::images::blob(&images.index, m["digest"].as_str().unwrap()),
                    m["mediaType"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        Index {
            media_type: index["mediaType"]
                .as_str()
                .unwrap_or("application/vnd.oci.image.index.v1+json")
                .to_owned(),
            bytes,
            manifests,
        }
    })
}
