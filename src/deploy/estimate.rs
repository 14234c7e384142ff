//! How long a service's own deployment configuration makes a deployment last at the least, held
//! against `--timeout`: bake time, linear or canary steps and their bake times (the estimate
//! `CloudFormation` documents for `LinearConfiguration` and `CanaryConfiguration`), and the pause
//! hooks, which wait for someone up to their timeout.

use std::time::Duration;

use aws_sdk_ecs::types::{
    DeploymentConfiguration, DeploymentLifecycleHookTargetType, DeploymentStrategy,
};

/// ECS's defaults where the service names none.
const LINEAR_STEP_PERCENT: f64 = 10.0;
const LINEAR_STEP_BAKE_MINUTES: i32 = 6;
const CANARY_BAKE_MINUTES: i32 = 10;
/// A lifecycle hook's timeout when it names none (24 hours).
const HOOK_TIMEOUT_MINUTES: i32 = 1440;

/// The least a deployment under `config` takes, and how that was reckoned; `None` for a rolling
/// deployment, whose length depends on its tasks only.
#[must_use]
pub fn least(config: &DeploymentConfiguration) -> Option<(Duration, String)> {
    let minutes =
        |m: Option<i32>, default: i32| u64::try_from(m.unwrap_or(default).max(0)).unwrap_or(0);
    let bake = minutes(config.bake_time_in_minutes(), 0);
    let (total, words) = match config.strategy()? {
        DeploymentStrategy::BlueGreen => (bake, format!("bake time {bake} min")),
        DeploymentStrategy::Linear => {
            let linear = config.linear_configuration();
            let percent = linear
                .and_then(aws_sdk_ecs::types::LinearConfiguration::step_percent)
                .filter(|p| *p > 0.0)
                .unwrap_or(LINEAR_STEP_PERCENT);
            let step_bake = minutes(
                linear.and_then(aws_sdk_ecs::types::LinearConfiguration::step_bake_time_in_minutes),
                LINEAR_STEP_BAKE_MINUTES,
            );
            let ratio = 100.0 / percent;
            // Whole steps before 100 percent (CloudFormation's formula): no bake after the last.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let steps = if (ratio - ratio.round()).abs() < 1e-9 {
                (ratio.round() as u64).saturating_sub(1)
            } else {
                ratio.floor() as u64
            };
            (
                bake + step_bake * steps,
                format!("bake time {bake} min + {steps} steps of {percent}% × {step_bake} min"),
            )
        }
        DeploymentStrategy::Canary => {
            let canary = minutes(
                config
                    .canary_configuration()
                    .and_then(aws_sdk_ecs::types::CanaryConfiguration::canary_bake_time_in_minutes),
                CANARY_BAKE_MINUTES,
            );
            (
                bake + canary,
                format!("bake time {bake} min + canary bake time {canary} min"),
            )
        }
        _ => return None,
    };
    Some((Duration::from_secs(total * 60), words))
}

/// The pause hooks of `config`, each with how long it may wait for someone: (stages, timeout).
#[must_use]
pub fn pauses(config: &DeploymentConfiguration) -> Vec<(String, Duration)> {
    config
        .lifecycle_hooks()
        .iter()
        .filter(|h| h.target_type() == Some(&DeploymentLifecycleHookTargetType::Pause))
        .map(|h| {
            let stages = h
                .lifecycle_stages()
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect::<Vec<_>>()
                .join(", ");
            let minutes = h
                .timeout_configuration()
                .and_then(aws_sdk_ecs::types::DeploymentLifecycleHookTimeoutConfiguration::timeout_in_minutes)
                .unwrap_or(HOOK_TIMEOUT_MINUTES)
                .max(0);
            (
                stages,
                Duration::from_secs(u64::try_from(minutes).unwrap_or(0) * 60),
            )
        })
        .collect()
}

/// What to say before the change when `config` cannot finish within `timeout`: a warning that
/// `--strict` makes a failure (the least it takes is longer), and a note per pause hook that may
/// wait longer.
#[must_use]
pub fn against(
    config: &DeploymentConfiguration,
    timeout: Duration,
) -> (Option<String>, Vec<String>) {
    let warning = least(config).and_then(|(least, words)| {
        (least > timeout).then(|| {
            format!(
                "its deployment configuration takes at least {} min ({words}), longer than --timeout {} s; raise --timeout (and the CodeBuild project's timeout above it), or shorten the bake times",
                least.as_secs() / 60,
                timeout.as_secs()
            )
        })
    });
    let notes = pauses(config)
        .into_iter()
        .filter(|(_, wait)| *wait > timeout)
        .map(|(stages, wait)| {
            format!(
                "a pause hook at {stages} waits up to {} min for aws ecs continue-service-deployment, longer than --timeout {} s",
                wait.as_secs() / 60,
                timeout.as_secs()
            )
        })
        .collect();
    (warning, notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::{CanaryConfiguration, LinearConfiguration};

    fn config(
        strategy: DeploymentStrategy,
    ) -> aws_sdk_ecs::types::builders::DeploymentConfigurationBuilder {
        DeploymentConfiguration::builder().strategy(strategy)
    }

    #[test]
    fn cloudformations_formula_for_linear_and_canary() {
        let minutes = |c: &DeploymentConfiguration| least(c).map(|(d, _)| d.as_secs() / 60);
        assert_eq!(minutes(&config(DeploymentStrategy::Rolling).build()), None);
        assert_eq!(
            minutes(
                &config(DeploymentStrategy::BlueGreen)
                    .bake_time_in_minutes(60)
                    .build()
            ),
            Some(60)
        );
        // 100/25 = 4 divides evenly: 3 steps.
        let linear = config(DeploymentStrategy::Linear)
            .bake_time_in_minutes(5)
            .linear_configuration(
                LinearConfiguration::builder()
                    .step_percent(25.0)
                    .step_bake_time_in_minutes(10)
                    .build(),
            )
            .build();
        assert_eq!(minutes(&linear), Some(35));
        // 100/30 = 3.33: 3 steps.
        let linear = config(DeploymentStrategy::Linear)
            .linear_configuration(
                LinearConfiguration::builder()
                    .step_percent(30.0)
                    .step_bake_time_in_minutes(20)
                    .build(),
            )
            .build();
        assert_eq!(minutes(&linear), Some(60));
        // Defaults: 10 percent, 6 minutes: 9 steps.
        assert_eq!(
            minutes(&config(DeploymentStrategy::Linear).build()),
            Some(54)
        );
        let canary = config(DeploymentStrategy::Canary)
            .bake_time_in_minutes(15)
            .canary_configuration(
                CanaryConfiguration::builder()
                    .canary_percent(5.0)
                    .canary_bake_time_in_minutes(30)
                    .build(),
            )
            .build();
        assert_eq!(minutes(&canary), Some(45));
        let (warning, _) = against(&canary, Duration::from_mins(50));
        assert!(warning.is_none());
        let (warning, _) = against(&canary, Duration::from_mins(10));
        let warning = warning.unwrap();
        assert!(
            warning.contains("at least 45 min") && warning.contains("canary bake time 30 min"),
            "{warning}"
        );
    }
}
