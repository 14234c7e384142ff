//! `imagedef confirm`: the plan of `deploy` without the change (see [`super::deploy`]), then every
//! service's latest deployment followed to its end (within `--timeout`): confirmed only when it
//! ended successfully and its tasks run the written digests.

use super::deploy::{Prepared, follow_of, row_of, strict};
use crate::config::deploy::DeployConfig;
use crate::deploy::follow::{self, Clock, Mode, WallClock};
use crate::deploy::outcome::{Printer, Row};

/// Follows the latest deployment of every planned service.
pub fn follow(config: &DeployConfig, printer: Printer, prepared: &mut Prepared<'_>) -> Vec<Row> {
    let follows: Vec<_> = prepared
        .plans
        .iter()
        .map(|p| follow_of(p, Mode::Confirm, p.running_arn.clone(), None, None))
        .collect();
    let Ok(aws) = crate::aws::shared() else {
        return Vec::new();
    };
    let clock = prepared
        .clock
        .get_or_insert_with(|| WallClock(aws.waiter()));
    let verdicts = follow::follow_all(
        &prepared.clients,
        follows,
        follow::Settings::left(config.poll, config.timeout, prepared.started),
        clock as &mut dyn Clock,
        &mut |line| printer.say(&line),
    );
    prepared
        .plans
        .iter()
        .zip(verdicts)
        .map(|(p, v)| {
            let mut row = row_of(p, Some(&v));
            row.task_definition = Some(p.running_arn.clone());
            strict(config, &mut row, &v);
            row
        })
        .collect()
}
