//! `imagedef emit`: resolve what was found, check it, and write the deploy files.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::bundle;
use anyhow::Context as _;

use crate::config::EmitConfig;
use crate::discover;
use crate::error::{CheckFailed, ExitCode};
use crate::input;
use crate::model::{ContainerName, ImageRef, TaskDefinition, TaskDefinitionSource};
use crate::render;
use crate::resolve::{self, Image};
use crate::write::{self, OutFile};

/// One container written, and where its image came from.
#[derive(Serialize)]
pub struct Resolved {
    pub service: Option<String>,
    pub container: ContainerName,
    pub image_uri: ImageRef,
    pub digest: Option<String>,
    pub tags: Vec<String>,
    /// `artifact:path` of every file naming this image; empty for a fixed image.
    pub sources: Vec<String>,
}

impl Resolved {
    #[must_use]
    pub fn from_image(
        service: Option<String>,
        container: ContainerName,
        image_uri: ImageRef,
        image: &Image<'_>,
    ) -> Resolved {
        Resolved {
            service,
            container,
            image_uri,
            digest: image.detail.digest().map(|d| d.to_string()),
            tags: image.tags().into_iter().map(str::to_owned).collect(),
            sources: image.sources.iter().map(|c| c.label()).collect(),
        }
    }
}

pub fn run(config: &EmitConfig) -> anyhow::Result<ExitCode> {
    if let Some(mapping) = &config.mapping {
        return super::emit_mapping::run(config, mapping);
    }
    let found = discover::discover(
        &config.discover.roots,
        &config.discover.file_name,
        Some(&config.out),
    );
    super::warn_unusable(&found);
    super::refuse_unreadable(&found)?;
    let image = resolve::the_only_image(&found)?;
    resolve::check_consistent(&image)?;
    let container = config
        .container
        .clone()
        .expect("config requires a container in single-image mode");
    let reference = resolve::reference(
        image.detail,
        &image.tags(),
        config.uri.unwrap_or_default(),
        &config.tags,
    )
    .with_context(|| format!("image from {}", image.source_labels()))?;
    if let Some(source) = &config.task_definition {
        check_task_definition(source, std::slice::from_ref(&container))?;
    }
    if config.ecr {
        crate::aws::ecr::require(&[crate::aws::ecr::Lookup {
            subject: image.source_labels(),
            image: reference.clone(),
            digest: image.detail.digest(),
            tag: reference.tag().map(str::to_owned),
        }])?;
    }
    let bytes = render::image_definitions(&[(container.clone(), reference.clone())])?;
    let mut files = vec![OutFile::new("imagedefinitions.json", bytes)];
    if config.bundle {
        let zip = bundle::out_file(bundle::SINGLE_NAME, &files);
        files.push(zip);
    }
    // Always, so that a SHA256SUMS left by an earlier --bundle run never vouches for a stale zip.
    files.push(write::sha256sums(&files));
    let resolved = vec![Resolved::from_image(None, container, reference, &image)];
    finish(config, &files, &resolved)
}

/// Every container must be one the task definition declares: a file, or the one an ECS service
/// runs now.
pub fn check_task_definition(
    source: &TaskDefinitionSource,
    containers: &[ContainerName],
) -> anyhow::Result<()> {
    let (task, shown) = match source {
        TaskDefinitionSource::File(path) => {
            let bytes = read_small(path, "task definition")?;
            let task = TaskDefinition::parse(&bytes)
                .map_err(|e| anyhow::anyhow!("task definition {}: {e}", path.display()))?;
            (task, path.display().to_string())
        }
        TaskDefinitionSource::Ecs { cluster, service } => {
            let (task, arn) =
                crate::aws::ecs::running_task_definition(crate::aws::shared()?, cluster, service)?;
            (
                task,
                format!("{source} ({arn}, which the service runs now)"),
            )
        }
    };
    let missing: Vec<&str> = containers
        .iter()
        .map(ContainerName::as_str)
        .filter(|c| !task.has(c))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(CheckFailed::UnknownContainer(format!(
        "container {} not in task definition {}{}, which has {}; the ECS deploy would fail with \"The AWS ECS container {} does not exist\"; fix: use the container name from the task definition",
        missing.iter().map(|c| format!("{c:?}")).collect::<Vec<_>>().join(", "),
        shown,
        task.family.as_deref().map(|f| format!(" (family {f})")).unwrap_or_default(),
        if task.containers.is_empty() {
            "no containers".to_owned()
        } else {
            format!("containers {}", task.containers.iter().map(|c| format!("{c:?}")).collect::<Vec<_>>().join(", "))
        },
        missing[0],
    ))
    .into())
}

/// Reads a task definition or a mapping: JSON of at most [`input::MAX_JSON`] bytes.
pub fn read_small(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    input::read_bounded(path, input::MAX_JSON, what).map_err(anyhow::Error::msg)
}

/// Writes (or with `--dry-run`, shows) the files, then prints the summary.
pub fn finish(
    config: &EmitConfig,
    files: &[OutFile],
    resolved: &[Resolved],
) -> anyhow::Result<ExitCode> {
    if let Some(src) = &config.codebuild_src_dir {
        warn_if_outside(&config.out, src);
    }
    if !config.dry_run {
        write::commit(&config.out, files)?;
    }
    if config.json {
        #[derive(Serialize)]
        struct File<'a> {
            path: &'a str,
            bytes: usize,
            sha256: String,
            /// Zips only: the digest as S3's `x-amz-checksum-sha256` header takes it.
            #[serde(skip_serializing_if = "Option::is_none")]
            sha256_base64: Option<String>,
        }
        #[derive(Serialize)]
        struct Summary<'a> {
            dry_run: bool,
            out: String,
            files: Vec<File<'a>>,
            containers: &'a [Resolved],
        }
        super::print_json(&Summary {
            dry_run: config.dry_run,
            out: config.out.display().to_string(),
            files: files
                .iter()
                .map(|f| File {
                    path: &f.path,
                    bytes: f.bytes.len(),
                    sha256: f.digest().to_string(),
                    sha256_base64: bundle::is_zip(&f.path).then(|| f.digest().base64()),
                })
                .collect(),
            containers: resolved,
        })?;
        return Ok(ExitCode::Success);
    }
    let mut text = String::new();
    for r in resolved {
        let service = r
            .service
            .as_deref()
            .map(|s| format!("{s}/"))
            .unwrap_or_default();
        let from = if r.sources.is_empty() {
            "fixed image".to_owned()
        } else {
            r.sources.join(", ")
        };
        let _ = writeln!(
            text,
            "{service}{} = {}  (from {from})",
            r.container, r.image_uri
        );
    }
    for f in files {
        let path = config.out.join(&f.path);
        if config.dry_run {
            let _ = writeln!(
                text,
                "would write {} ({} bytes)",
                path.display(),
                f.bytes.len()
            );
            if !bundle::is_zip(&f.path)
                && let Ok(shown) = std::str::from_utf8(&f.bytes)
            {
                text.push_str(shown);
            }
        } else {
            let _ = writeln!(text, "wrote {} ({} bytes)", path.display(), f.bytes.len());
        }
    }
    super::print(&text)?;
    Ok(ExitCode::Success)
}

/// Warns when `out` lies outside `$CODEBUILD_SRC_DIR`: the buildspec's artifacts section takes
/// paths relative to that directory, and `CodeBuild` would fail with "no matching artifact paths
/// found".
fn warn_if_outside(out: &Path, src: &Path) {
    let (Some(out_abs), Some(src_abs)) = (absolute(out), absolute(src)) else {
        return;
    };
    if !out_abs.starts_with(&src_abs) {
        tracing::warn!(
            "--out {} ({}) lies outside $CODEBUILD_SRC_DIR ({}): the buildspec's artifacts section takes paths relative to $CODEBUILD_SRC_DIR, so CodeBuild will not find the files there and fails with \"no matching artifact paths found\"; write them inside it, e.g. --out imagedef-out",
            out.display(),
            out_abs.display(),
            src_abs.display()
        );
    }
}

/// `path` made absolute through its nearest existing ancestor, symlinks resolved; `None` when that
/// cannot be worked out (a `..` after a missing folder).
fn absolute(path: &Path) -> Option<std::path::PathBuf> {
    let mut missing = Vec::new();
    let mut at = path;
    loop {
        let probe = if at.as_os_str().is_empty() {
            Path::new(".")
        } else {
            at
        };
        if let Ok(real) = std::fs::canonicalize(probe) {
            return Some(missing.iter().rev().fold(real, |p, name| p.join(name)));
        }
        missing.push(at.file_name()?);
        at = at.parent()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_resolves_missing_folders_through_their_existing_parent() {
        let tmp = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(tmp.path()).unwrap();
        assert_eq!(absolute(&tmp.path().join("a/b")), Some(real.join("a/b")));
        assert_eq!(absolute(tmp.path()), Some(real.clone()));
        assert_eq!(absolute(&tmp.path().join("x/..")), None);
        assert!(
            absolute(&tmp.path().join("a/b"))
                .unwrap()
                .starts_with(&real)
        );
    }
}
