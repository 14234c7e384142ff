//! `deploy` and `confirm`: the ECS standard deploy action's job, done so that the pipeline learns
//! the outcome, with its cause, within one poll interval.
//!
//! config -> [`inputs`] (the deploy files: `--file` or `--out`, checked offline) -> [`plan`] (every
//! service read and checked, every refusal made, before any change) -> the change
//! (`RegisterTaskDefinition`, the service read again, `UpdateService`; in `commands::deploy`) ->
//! [`follow`] (every deployment followed at once until it ends, [`cause`] worded when it fails) ->
//! [`outcome`] (text, JSON, JUnit). [`estimate`] says when a service's own deployment
//! configuration cannot finish within `--timeout`.

pub mod cause;
pub mod estimate;
pub mod follow;
pub mod inputs;
pub mod outcome;
pub mod plan;

#[cfg(test)]
mod tests;

use crate::model::{Digest, ImageRef};

/// One service to deploy, with the images its file writes.
#[derive(Clone, Debug)]
pub struct Target {
    pub cluster: String,
    pub service: String,
    /// The emit report's service name, with `--out`.
    pub name: Option<String>,
    /// `--role-arn`, or the report's `role_arn`.
    pub role: Option<String>,
    /// The deploy file, as messages name it.
    pub file: String,
    /// In file order.
    pub images: Vec<Written>,
    /// With `--out`: the task definition the service ran when `emit` looked (the report's
    /// `running_task_definition`).
    pub emitted_running: Option<String>,
}

impl Target {
    /// `ecs://CLUSTER/SERVICE`.
    #[must_use]
    pub fn shown(&self) -> String {
        format!("ecs://{}/{}", self.cluster, self.service)
    }
}

/// One container's image as the deploy file writes it.
#[derive(Clone, Debug)]
pub struct Written {
    pub container: String,
    pub image: ImageRef,
    /// Pinned in the reference; `None` for a tag.
    pub digest: Option<Digest>,
}

/// A digest as text shows it: `sha256:` and the first 12 hex characters.
#[must_use]
pub fn short(digest: &str) -> String {
    match digest.strip_prefix("sha256:") {
        Some(hex) if hex.len() > 12 => format!("sha256:{}", &hex[..12]),
        _ => digest.to_owned(),
    }
}

/// The last part of a task definition ARN (`web:8`), or the whole text.
#[must_use]
pub fn revision_of(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The last part of an ARN (a deployment's or a task's id).
#[must_use]
pub fn id_of(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}
