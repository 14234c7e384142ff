//! `imagedef publish`: OUT's bundles, re-checked against `SHA256SUMS`, to S3 under their keys;
//! one line (or JSON object) per service, and the exit code by the worst failure.

use std::collections::BTreeSet;

use anyhow::anyhow;

use crate::aws::{self, s3};
use crate::config::{PublishConfig, Summary};
use crate::error::{CheckFailed, ExitCode};
use crate::io::stdout;
use crate::publish::outcome::{Report, Row, Status, text};
use crate::publish::publishable;

pub fn run(config: &PublishConfig) -> anyhow::Result<ExitCode> {
    let bundles = publishable::read(&config.out)?;
    let services: Vec<&str> = bundles.iter().map(|b| b.service.as_str()).collect();
    let keys = config.key.keys(&services).map_err(|e| anyhow!(e))?;
    let target = s3::Target {
        bucket: config.bucket.clone(),
        kms_key_id: config.kms_key_id.clone(),
        acl: config.acl.clone(),
        expected_bucket_owner: config.expected_bucket_owner.clone(),
        dry_run: config.dry_run,
    };
    let objects = bundles
        .iter()
        .zip(&keys)
        .map(|(b, key)| s3::Object {
            key: key.clone(),
            bytes: b.bytes.clone(),
            digest: b.digest,
        })
        .collect();
    let outcomes = s3::publish(aws::shared()?, &target, objects)?;

    let mut rows = Vec::new();
    let mut transient = Vec::new();
    let mut fatal = BTreeSet::new();
    for ((bundle, key), outcome) in bundles.iter().zip(keys).zip(outcomes) {
        let uri = format!("s3://{}/{key}", config.bucket);
        let (status, version_id, error) = match outcome {
            s3::Outcome::Uploaded { version } => (Status::Uploaded, version, None),
            s3::Outcome::Unchanged { version } => (Status::Unchanged, version, None),
            s3::Outcome::WouldUpload { replaces } => {
                if replaces {
                    tracing::info!("{uri}: holds other bytes; would be replaced");
                }
                (Status::WouldUpload, None, None)
            }
            s3::Outcome::Failed {
                message,
                transient: t,
            } => {
                let line = format!("service {}: {message}", bundle.service);
                if t {
                    transient.push(line);
                } else {
                    fatal.insert(message.clone());
                }
                (Status::Failed, None, Some(message))
            }
            s3::Outcome::NotTried => (Status::NotTried, None, None),
        };
        rows.push(Row {
            service: bundle.service.clone(),
            status,
            uri,
            bucket: config.bucket.clone(),
            key,
            version_id,
            sha256: bundle.digest.hex(),
            error,
        });
    }

    match config.summary {
        Summary::Json => stdout::print_json(&Report {
            bucket: &config.bucket,
            dry_run: config.dry_run,
            services: &rows,
        })?,
        Summary::Text => stdout::print(&text(&rows))?,
        Summary::Quiet => {}
    }

    let done = rows
        .iter()
        .filter(|r| matches!(r.status, Status::Uploaded | Status::Unchanged))
        .count();
    if !fatal.is_empty() {
        return Err(anyhow!(
            "publishing to bucket {} failed ({done} of {} bundles published):\n  {}",
            config.bucket,
            rows.len(),
            fatal.into_iter().collect::<Vec<_>>().join("\n  ")
        ));
    }
    if !transient.is_empty() {
        return Err(CheckFailed(format!(
            "{} of {} uploads failed after the SDK's retries; the other {done} are published, and running the same publish again uploads only what is missing:\n  {}",
            transient.len(),
            rows.len(),
            transient.join("\n  ")
        ))
        .into());
    }
    Ok(ExitCode::Success)
}
