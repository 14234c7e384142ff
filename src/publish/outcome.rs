//! What `publish` says of each service's bundle: a row per service (uploaded, unchanged, would
//! upload, failed, not tried), printed as a line of text or as JSON.

use std::fmt::Write as _;

use serde::Serialize;

use crate::io::escape;
use crate::model::s3::{BucketName, ObjectKey};

/// What happened to one service's bundle, as printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Status {
    #[serde(rename = "uploaded")]
    Uploaded,
    #[serde(rename = "unchanged")]
    Unchanged,
    #[serde(rename = "would upload")]
    WouldUpload,
    #[serde(rename = "failed")]
    Failed,
    #[serde(rename = "not tried")]
    NotTried,
}

/// One service's outcome, as printed.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub service: String,
    pub status: Status,
    pub uri: String,
    #[serde(serialize_with = "as_text")]
    pub bucket: BucketName,
    #[serde(serialize_with = "as_text")]
    pub key: ObjectKey,
    /// The object's version (`null` for a bucket without versioning, and before an upload).
    pub version_id: Option<String>,
    pub sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn as_text<T: std::fmt::Display, S: serde::Serializer>(
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report<'a> {
    #[serde(serialize_with = "as_text")]
    pub bucket: &'a BucketName,
    pub dry_run: bool,
    pub services: &'a [Row],
}

/// One line per service that is published (or would be); failures are in the error.
#[must_use]
pub fn text(rows: &[Row]) -> String {
    let mut text = String::new();
    for r in rows {
        let version = escape::value(r.version_id.as_deref().unwrap_or("null"));
        let uri = escape::value(&r.uri);
        let _ = match r.status {
            Status::Uploaded => {
                writeln!(text, "uploaded {uri} version {version} sha256 {}", r.sha256)
            }
            Status::Unchanged => writeln!(
                text,
                "unchanged {uri} version {version} sha256 {}",
                r.sha256
            ),
            Status::WouldUpload => writeln!(text, "would upload {uri} sha256 {}", r.sha256),
            Status::Failed | Status::NotTried => Ok(()),
        };
    }
    text
}
