//! `emit --ecr` with findings thresholds (`--findings`, else the service's `findings`, else the
//! mapping's): every container's image within them, or nothing is written. Over a threshold, or
//! a scan that cannot be judged, is a failed check (exit 1); a call that failed is an error (exit
//! 2); both are added to what `--ecr` found, so that every container is named at once. An index
//! is judged by its platform manifests for the platform the service needs (all when none is).

use std::path::Path;

use super::ecr::Checked;
use crate::aws;
use crate::config::EmitConfig;
use crate::model::findings::Thresholds;
use crate::model::mapping::Mapping;
use crate::resolve::ResolvedService;
use crate::verify::findings::{self, Asked, Verdict};
use crate::verify::platform::Need;

/// Judges every container whose service has thresholds, recording on it what was judged.
pub fn require(
    services: &mut [ResolvedService<'_>],
    plan: &Mapping,
    mapping_path: Option<&Path>,
    needs: &[Option<Need>],
    config: &EmitConfig,
    checked: &mut Checked,
) -> anyhow::Result<()> {
    let rules = thresholds(services, plan, mapping_path, config);
    let mut asked = Vec::new();
    let mut at = Vec::new();
    let mut found = checked.found.iter();
    for (si, ((s, rule), need)) in services.iter().zip(&rules).zip(needs).enumerate() {
        for (ci, c) in s.containers.iter().enumerate() {
            let Some((lookup, outcome)) = found.next() else {
                continue;
            };
            let Some((thresholds, from)) = rule else {
                continue;
            };
            asked.push(Asked {
                subject: lookup.subject.clone(),
                image: &c.image_uri,
                outcome,
                thresholds,
                from: from.clone(),
                needed: need.as_ref().map(|n| &n.platform),
            });
            at.push((si, ci));
        }
    }
    if asked.is_empty() {
        return Ok(());
    }
    let judged = findings::judge(&asked, aws::shared, config.findings.scan_wait)?;
    drop(asked);
    for (j, (si, ci)) in judged.into_iter().zip(at) {
        let line = format!("{}: findings: {}", j.subject, j.message);
        match j.verdict {
            Verdict::Passed => tracing::debug!("{line}"),
            Verdict::NotChecked => tracing::warn!("{line}"),
            Verdict::Failed => checked.failures.push(line),
            Verdict::Error => checked.errors.push(line),
        }
        services[si].containers[ci].findings = Some(j.judged);
    }
    Ok(())
}

/// Without `--ecr`: thresholds given anywhere are said to be not checked.
pub fn not_checked(config: &EmitConfig, plan: &Mapping) {
    if config.findings.thresholds.is_some()
        || plan.findings.is_some()
        || plan.services.iter().any(|s| s.findings.is_some())
    {
        tracing::warn!("{}", findings::NOT_CHECKED);
    }
}

/// Each service's thresholds and where they were set: `--findings`, else the service's, else the
/// mapping's top level.
fn thresholds<'t>(
    services: &[ResolvedService<'_>],
    plan: &'t Mapping,
    mapping_path: Option<&Path>,
    config: &'t EmitConfig,
) -> Vec<Option<(&'t Thresholds, String)>> {
    let mapping = mapping_path
        .map(|m| m.display().to_string())
        .unwrap_or_default();
    services
        .iter()
        .zip(&plan.services)
        .map(|(s, service)| {
            if let Some((t, given)) = &config.findings.thresholds {
                return Some((t, given.to_string()));
            }
            if let (Some(t), Some(name)) = (&service.findings, &s.service.name) {
                return Some((
                    t,
                    format!("mapping {mapping}, key \"services.{name}.findings\""),
                ));
            }
            plan.findings
                .as_ref()
                .map(|t| (t, format!("mapping {mapping}, key \"findings\"")))
        })
        .collect()
}
