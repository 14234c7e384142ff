//! OUT's layout: which files a generation holds, under which paths, in which order.
//!
//! Single-image mode writes `imagedefinitions.json` (with `--bundle`, `imagedefinitions.zip`) and
//! `SHA256SUMS` at OUT's root. Mapping mode writes, per service S, its deploy files under `S/`
//! (the service's one list, [`crate::model::mapping::Service::files`]: `S/imagedefinitions.json`,
//! `S/imageDetail.json` for blue/green, and a blue/green service's `S/taskdef.json` and
//! `S/appspec.yaml` when the mapping names them, as [`render`] gives them),
//! `S.zip` with `--bundle`, then `imagedef-report.json` and `SHA256SUMS` over all of them.
//!
//! A bundle is zipped from the service's files as rendered, before they are placed under `S/`:
//! what the service's folder holds, its zip holds, with nothing stripped or dropped on the way.

use super::Checked;
use super::report::Report;
use super::{OutFile, bundle};
use crate::check::blue_green;
use crate::error::CheckFailed;
use crate::model::deploy::{MAX_BUNDLE_BYTES, SHA256SUMS, SINGLE_BUNDLE, Sha256Sums};
use crate::model::mapping::Mapping;
use crate::output::render;
use crate::resolve::ResolvedService;

/// Every file of the generation, in the order they are listed: service by service (deploy files,
/// the blue/green template and `AppSpec`, then the bundle), then the report (mapping mode, whose
/// file is `mapping`), then `SHA256SUMS`.
pub fn lay_out(
    services: &[ResolvedService<'_>],
    mapping: &Mapping,
    with_bundles: bool,
    blue_green: &blue_green::Files,
    checks: &Checked<'_>,
) -> anyhow::Result<Vec<OutFile>> {
    let mut files = Vec::new();
    let mut report = mapping.path.as_deref().map(Report::new);
    for (s, coverage) in services.iter().zip(checks.coverage) {
        let name = s.service.name.as_ref();
        let at = || {
            name.map(|n| format!("service {:?}: ", n.as_str()))
                .unwrap_or_default()
        };
        let inputs = name.and_then(|n| blue_green.get(n.as_str()));
        let rendered: Vec<OutFile> = render::service_files(s, inputs)
            .map_err(|e| CheckFailed(format!("{}{e}", at())))?
            .into_iter()
            .map(|(file, bytes)| OutFile::new(file, bytes))
            .collect();
        let zip = if with_bundles {
            let zip_name = name.map_or_else(|| SINGLE_BUNDLE.to_owned(), |n| format!("{n}.zip"));
            let bytes =
                bundle::zip(&rendered).map_err(|e| anyhow::anyhow!("{}{zip_name}: {e}", at()))?;
            Some(OutFile::new(zip_name, bytes))
        } else {
            None
        };
        if let (Some(n), Some(_)) = (name, inputs) {
            within_artifact_cap(n.as_str(), &rendered, zip.as_ref())?;
        }
        let placed: Vec<OutFile> = match name {
            Some(n) => rendered
                .into_iter()
                .map(|f| OutFile::new(format!("{n}/{}", f.path), f.bytes))
                .collect(),
            None => rendered,
        };
        if let (Some(report), Some(name)) = (report.as_mut(), name) {
            report.add(name, s, (checks.report, coverage), &placed, zip.as_ref());
        }
        files.extend(placed);
        files.extend(zip);
    }
    if let Some(report) = report {
        files.push(report.to_file());
    }
    // Always, so that a SHA256SUMS left by an earlier --bundle run never vouches for a stale zip.
    let sums = Sha256Sums::of(files.iter().map(|f| (f.path.as_str(), f.digest())));
    files.push(OutFile::new(SHA256SUMS, sums.to_bytes()));
    Ok(files)
}

/// A blue/green service's artifact holds the template and `AppSpec` that `CodeDeployToECS` reads,
/// and the action reads at most 3 MB: the zip (the bundle, or the one it would be) must fit.
fn within_artifact_cap(
    service: &str,
    files: &[OutFile],
    zip: Option<&OutFile>,
) -> anyhow::Result<()> {
    let size = match zip {
        Some(z) => z.bytes.len(),
        None => bundle::zip(files)
            .map_err(|e| anyhow::anyhow!("service {service:?}: {service}.zip: {e}"))?
            .len(),
    };
    let max = MAX_BUNDLE_BYTES;
    if size as u64 <= max {
        return Ok(());
    }
    Err(CheckFailed(format!(
        "service {service:?}: its artifact ({}) is {size} bytes zipped; CodeDeployToECS reads artifacts of at most 3 MB ({max} bytes) and fails with \"Exception while trying to read the task definition artifact file\"; shrink the task definition template or the AppSpec",
        files
            .iter()
            .map(|f| f.path.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    ))
    .into())
}
