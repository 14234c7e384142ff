//! `imagedef deploy` (and, through [`super::confirm`], `imagedef confirm`): one plan.
//!
//! config -> the deploy files, checked offline ([`deploy::inputs`]) -> every service planned and
//! checked, every refusal made ([`deploy::plan`]; with `--wait-for-in-flight`, deployments in
//! flight waited for first) -> `--ecr` -> the change: every new revision registered, every service
//! read again (another pipeline?), then updated -> every deployment followed at once
//! ([`deploy::follow`]) -> one outcome per service ([`deploy::outcome`]); the exit code is the
//! worst.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::anyhow;

use crate::aws::ecs_deploy::{self, Ecs};
use crate::aws::{self, registry};
use crate::check::ecr::Running;
use crate::check::findings::Gate;
use crate::check::platform::{Known, Need};
use crate::check::{self, Check, Needs, Report, Seen};
use crate::config::deploy::DeployConfig;
use crate::deploy::follow::{self, Clock, Follow, Line, Mode, Verdict, WallClock};
use crate::deploy::outcome::{ContainerRow, Kind, Printer, Row};
use crate::deploy::plan::{self, Action, Planned, Planning, Refusal};
use crate::deploy::{Target, estimate, inputs, revision_of, short};
use crate::error::{CheckFailed, ExitCode, Severity};
use crate::io::escape;
use crate::model::platform::Needed;

/// What a run planned: the services ready, with the rows of those already decided.
pub struct Prepared<'a> {
    pub clients: Vec<Ecs<'a>>,
    pub plans: Vec<Planned>,
    pub rows: Vec<Row>,
    pub clock: Option<WallClock<'a>>,
    /// When the run started following (waits for deployments in flight count against
    /// `--timeout`).
    pub started: Instant,
}

pub fn run(config: &DeployConfig) -> anyhow::Result<ExitCode> {
    let printer = Printer {
        output: config.output,
    };
    let command = if config.confirm { "confirm" } else { "deploy" };
    let mut prepared = match prepare(config, printer) {
        Ok(prepared) => prepared,
        Err(Stopped::Said(e)) => return Err(e),
        Err(Stopped::Before(e)) => {
            // --junit is written whatever the outcome: one case for what could not be read.
            if let Some(path) = &config.junit {
                let what = match &config.inputs {
                    crate::config::deploy::Inputs::Service {
                        cluster, service, ..
                    } => format!("ecs://{cluster}/{service}"),
                    crate::config::deploy::Inputs::Out(_) => "--out".to_owned(),
                };
                let kind = if crate::error::exit_code_of(&e) == ExitCode::CheckFailed {
                    Kind::Failed
                } else {
                    Kind::Refused
                };
                write_junit(path, command, &[Row::bare(what, kind, format!("{e:#}"))])?;
            }
            return Err(e);
        }
    };
    let rows = if config.confirm {
        super::confirm::follow(config, printer, &mut prepared)
    } else if config.dry_run {
        dry_run(&prepared)
    } else {
        change(config, printer, &mut prepared)?
    };
    let mut all = std::mem::take(&mut prepared.rows);
    all.extend(rows);
    finish(config, printer, command, &all)
}

/// Why a run ended before any change.
enum Stopped {
    /// Before any service was planned: the error alone.
    Before(anyhow::Error),
    /// Refusals, already written as JSON and JUnit per service.
    Said(anyhow::Error),
}

impl From<anyhow::Error> for Stopped {
    fn from(e: anyhow::Error) -> Stopped {
        Stopped::Before(e)
    }
}

impl From<std::io::Error> for Stopped {
    fn from(e: std::io::Error) -> Stopped {
        Stopped::Before(e.into())
    }
}

/// Everything before any change: the inputs, the clients, the plan of every service (after the
/// deployments in flight were waited for), `--ecr`. Any refusal ends the run here, naming every
/// one.
// One step after another, before any change.
#[allow(clippy::too_many_lines)]
fn prepare<'a>(config: &DeployConfig, printer: Printer) -> Result<Prepared<'a>, Stopped> {
    let command = if config.confirm { "confirm" } else { "deploy" };
    let mut report = Report::default();
    let read = inputs::read(config, &mut report)?;
    report.conclude("nothing was changed")?;
    let mut rows = Vec::new();
    if !read.skipped.is_empty() {
        printer.say(&Line::Problem(format!(
            "skipped (their taskDefinition is not ecs://CLUSTER/SERVICE): {}",
            escape::value(&read.skipped.join(", "))
        )));
        for name in &read.skipped {
            let mut row = Row::bare(
                name.clone(),
                if config.strict { Kind::Failed } else { Kind::Skipped },
                "skipped: its taskDefinition in the mapping is not ecs://CLUSTER/SERVICE, so there is no service to deploy it to".to_owned(),
            );
            row.name = Some(name.clone());
            rows.push(row);
        }
    }
    let aws = aws::shared()?;
    let mut roles: Vec<Option<String>> = Vec::new();
    let mut targets: Vec<(Target, usize)> = Vec::new();
    for t in read.targets {
        let at = roles.iter().position(|r| *r == t.role).unwrap_or_else(|| {
            roles.push(t.role.clone());
            roles.len() - 1
        });
        targets.push((t, at));
    }
    let clients = roles
        .iter()
        .map(|r| aws.ecs_deploy(r.as_deref()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let settings = plan::Settings {
        confirm: config.confirm,
        wait_for_in_flight: config.wait_for_in_flight && !config.dry_run,
    };
    let started = Instant::now();
    let mut clock: Option<WallClock<'a>> = None;
    let mut plannings = plan::plan_all(&clients, &targets, settings);
    // --wait-for-in-flight: follow each deployment in flight to its end, then plan again.
    while plannings.iter().any(|p| matches!(p, Planning::Wait { .. })) {
        let waits: Vec<Follow> = plannings
            .iter()
            .filter_map(|p| match p {
                Planning::Wait {
                    target,
                    client,
                    task_definition,
                    deployment,
                } => {
                    printer.say(&Line::Progress(format!(
                        "{}: waiting for deployment {} in flight (not started by this run) to end",
                        target.shown(),
                        escape::value(deployment)
                    )));
                    Some(Follow {
                        shown: target.shown(),
                        cluster: target.cluster.clone(),
                        service: target.service.clone(),
                        client: *client,
                        mode: Mode::Foreign,
                        task_definition: task_definition.clone(),
                        since: None,
                        service_deployment: None,
                        written: target.images.clone(),
                    })
                }
                _ => None,
            })
            .collect();
        let clock = clock.get_or_insert_with(|| WallClock(aws.waiter()));
        let verdicts = follow::follow_all(
            &clients,
            waits.clone(),
            follow::Settings::left(config.poll, config.timeout, started),
            clock,
            &mut |line| printer.say(&line),
        );
        let mut gave_up = Vec::new();
        for (w, v) in waits.iter().zip(&verdicts) {
            if v.outcome != follow::Outcome::Ended {
                gave_up.push(format!(
                    "{}: while waiting for the deployment in flight: {}",
                    w.shown, v.summary
                ));
            }
        }
        if !gave_up.is_empty() {
            return Err(Stopped::Before(
                CheckFailed(format!("{}\nnothing was changed", gave_up.join("\n"))).into(),
            ));
        }
        plannings = plan::plan_all(&clients, &targets, settings);
    }
    let mut refusals: Vec<Refusal> = Vec::new();
    let mut plans = Vec::new();
    for p in plannings {
        match p {
            Planning::Ready(p) => plans.push(*p),
            Planning::Refused(r) => refusals.push(r),
            Planning::Wait { .. } => unreachable!("waited for above"),
        }
    }
    for p in &plans {
        for note in &p.notes {
            printer.say(&Line::Progress(note.clone()));
        }
        if !config.confirm
            && matches!(p.action, Action::Register { .. } | Action::Resume { .. })
            && let Some(dc) = p.service.deployment_configuration()
        {
            let (warning, pauses) = estimate::against(dc, config.timeout);
            for pause in pauses {
                printer.say(&Line::Problem(format!("{}: {pause}", p.target.shown())));
            }
            if let Some(w) = warning {
                if config.strict {
                    refusals.push(Refusal {
                        service: p.target.shown(),
                        severity: Severity::Failed,
                        message: format!("{w} (--strict)"),
                    });
                } else {
                    printer.say(&Line::Problem(format!(
                        "{}: warning: {w}",
                        p.target.shown()
                    )));
                }
            }
        }
    }
    if config.strict && !read.skipped.is_empty() {
        refusals.push(Refusal {
            service: "--out".to_owned(),
            severity: Severity::Failed,
            message: format!(
                "services without an ecs:// target were skipped: {} (--strict)",
                escape::value(&read.skipped.join(", "))
            ),
        });
    }
    if refusals.is_empty() && config.ecr {
        ecr_checks(config, &plans, &mut report);
        report.conclude(if config.confirm {
            "nothing was confirmed"
        } else {
            "nothing was changed"
        })?;
    }
    if !refusals.is_empty() {
        return Err(Stopped::Said(refused(
            command, &refusals, config, printer, &plans,
        )));
    }
    Ok(Prepared {
        clients,
        plans,
        rows,
        clock,
        started,
    })
}

/// The error that ends a run with refusals (exit 2 when any is an error, else 1), after the JSON
/// and JUnit outcome were written.
fn refused(
    command: &str,
    refusals: &[Refusal],
    config: &DeployConfig,
    printer: Printer,
    plans: &[Planned],
) -> anyhow::Error {
    let rows: Vec<Row> = refusals
        .iter()
        .map(|r| {
            Row::bare(
                r.service.clone(),
                if r.severity == Severity::Error {
                    Kind::Refused
                } else {
                    Kind::Failed
                },
                r.message.clone(),
            )
        })
        .chain(plans.iter().map(|p| {
            Row::bare(
                p.target.shown(),
                Kind::Refused,
                "not changed: another service was refused".to_owned(),
            )
        }))
        .collect();
    if config.output.json {
        let _ = printer.finish(command, config.dry_run, &rows);
    }
    if let Some(path) = &config.junit
        && let Err(e) = write_junit(path, command, &rows)
    {
        return e;
    }
    let lines: Vec<String> = refusals
        .iter()
        .map(|r| format!("{}: {}", r.service, r.message))
        .collect();
    let message = format!(
        "{}\n{}",
        lines.join("\n"),
        if command == "confirm" {
            "nothing was confirmed"
        } else {
            "nothing was changed"
        }
    );
    if refusals.iter().any(|r| r.severity == Severity::Error) {
        anyhow!(message)
    } else {
        CheckFailed(message).into()
    }
}

/// `--ecr`: every image the files write, as `emit --ecr` checks it: in ECR, offering the platform
/// the running revision needs, within the findings thresholds.
fn ecr_checks(config: &DeployConfig, plans: &[Planned], report: &mut Report) {
    let gate = config.findings.thresholds.as_ref().map(|rule| Gate {
        thresholds: rule.value.clone(),
        from: rule.from.words(None, "findings"),
    });
    let mut images = Vec::new();
    for p in plans {
        let shown = p.target.shown();
        let platform = match ecs_deploy::platform_needed(&p.running.task_definition) {
            Ok(Needed::Platform { platform, from }) => Some(Need {
                platform,
                from: format!("task definition {} ({from})", revision_of(&p.running_arn)),
                stated: true,
            }),
            Ok(Needed::Unknown(why)) => {
                tracing::info!("{shown}: the platform is not checked: {why}");
                None
            }
            Err(e) => {
                report.record(Check::TaskDefinition, |r| {
                    r.error(shown.clone(), e.to_string());
                });
                None
            }
        };
        for c in &p.containers {
            images.push(Seen {
                needs: Needs {
                    platform: platform.clone(),
                    findings: gate.clone(),
                },
                ..Seen::new(
                    format!("{shown}, container {:?}", c.written.container),
                    c.written.image.clone(),
                    c.written.digest,
                    (Some(shown.clone()), Some(c.written.container.clone())),
                )
            });
        }
    }
    // A rollback (the circuit breaker's too) pulls the images the running revision names.
    let running: Vec<Running> = plans
        .iter()
        .flat_map(|p| {
            let shown = p.target.shown();
            p.running
                .task_definition
                .container_definitions()
                .iter()
                .filter_map(move |c| {
                    Some(Running {
                        subject: format!("{shown}, container {:?}", c.name()?),
                        service: shown.clone(),
                        image: c.image()?.parse().ok()?,
                    })
                })
        })
        .collect();
    let strict = config.strict.then_some("--strict");
    let found = report.record(Check::Ecr, |r| {
        check::ecr::check(&images, &running, aws::shared, strict, r)
    });
    if found.is_empty() {
        return;
    }
    let mut fetch = registry::config_blobs(config.registry_timeout);
    report.record(Check::Platform, |r| {
        check::platform::check(&images, &found, Known::new(), &mut fetch, (true, false), r);
    });
    report.record(Check::Findings, |r| {
        check::findings::check(&images, &found, aws::shared, config.findings.scan_wait, r);
    });
}

/// `--dry-run`: what would be registered and updated, per service.
fn dry_run(prepared: &Prepared<'_>) -> Vec<Row> {
    prepared
        .plans
        .iter()
        .map(|p| {
            let mut row = row_of(p, None);
            match &p.action {
                Action::Unchanged { tasks } => {
                    row.outcome = Kind::Unchanged;
                    row.summary = unchanged_words(p, *tasks);
                }
                Action::Resume { deployment } => {
                    row.outcome = Kind::WouldFollow;
                    row.summary = format!(
                        "would follow deployment {} of these images, in progress (nothing would be registered or updated)",
                        escape::value(deployment)
                    );
                }
                Action::Register { .. } => {
                    let _ = request_json(&p.action);
                    row.outcome = Kind::WouldDeploy;
                    row.summary = format!(
                        "would register the next revision of {} (a copy of {} with {} replaced) and update the service to it (nothing else)",
                        escape::value(p.running.task_definition.family().unwrap_or("?")),
                        escape::value(revision_of(&p.running_arn)),
                        images_word(p)
                    );
                    row.cause = diff(p);
                }
                Action::Confirm => {}
            }
            row
        })
        .collect()
}

fn request_json(action: &Action) -> Option<serde_json::Value> {
    match action {
        Action::Register { request, .. } => {
            let json = ecs_deploy::copy::json(request);
            tracing::debug!("RegisterTaskDefinition request: {json}");
            Some(json)
        }
        _ => None,
    }
}

fn images_word(p: &Planned) -> String {
    let changed: Vec<&str> = p
        .containers
        .iter()
        .filter(|c| c.running.as_deref() != Some(c.written.image.to_string().as_str()))
        .map(|c| c.written.container.as_str())
        .collect();
    match changed.len() {
        0 => "the same images".to_owned(),
        1 => format!("the image of {}", escape::value(changed[0])),
        _ => format!("the images of {}", escape::value(&changed.join(", "))),
    }
}

/// The images per container: running -> written.
fn diff(p: &Planned) -> Vec<String> {
    p.containers
        .iter()
        .map(|c| {
            format!(
                "{}: {} -> {} ({})",
                escape::value(&c.written.container),
                escape::value(c.running.as_deref().unwrap_or("(no image)")),
                escape::value(&c.written.image.to_string()),
                serde_json::to_value(c.change.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            )
        })
        .collect()
}

fn unchanged_words(p: &Planned, tasks: usize) -> String {
    format!(
        "unchanged: it runs {} with these digests ({}), its deployment ended successfully and {} run them; nothing was registered or updated",
        escape::value(revision_of(&p.running_arn)),
        p.containers
            .iter()
            .map(|c| format!(
                "{} {}",
                escape::value(&c.written.container),
                c.written
                    .digest
                    .map(|d| short(&d.to_string()))
                    .unwrap_or_default()
            ))
            .collect::<Vec<_>>()
            .join(", "),
        match tasks {
            1 => "1 task".to_owned(),
            n => format!("{n} tasks"),
        }
    )
}

/// The change: register every new revision, read every service again, update them, follow.
// Register, read again, update, follow: in this order, for every service.
#[allow(clippy::too_many_lines)]
fn change(
    config: &DeployConfig,
    printer: Printer,
    prepared: &mut Prepared<'_>,
) -> anyhow::Result<Vec<Row>> {
    let aws = aws::shared()?;
    let clock = prepared
        .clock
        .get_or_insert_with(|| WallClock(aws.waiter()));
    let clients = &prepared.clients;
    let plans = &prepared.plans;
    // Register every new revision first.
    let mut registered: BTreeMap<usize, String> = BTreeMap::new();
    for (i, p) in plans.iter().enumerate() {
        let Action::Register { request, .. } = &p.action else {
            continue;
        };
        let _ = request_json(&p.action);
        match clients[p.client].register((**request).clone()) {
            Ok(td) => {
                let arn = td.task_definition_arn().unwrap_or_default().to_owned();
                printer.say(&Line::Progress(format!(
                    "{}: registered {} (a copy of {} with {} replaced)",
                    p.target.shown(),
                    escape::value(revision_of(&arn)),
                    escape::value(revision_of(&p.running_arn)),
                    images_word(p)
                )));
                registered.insert(i, arn);
            }
            Err(fault) => {
                return Err(anyhow!(
                    "{}: {fault}\nnothing was updated{}",
                    p.target.shown(),
                    unused(&registered)
                ));
            }
        }
    }
    // Right before UpdateService: has any service changed since the plan?
    let mut changed = Vec::new();
    let mut groups: BTreeMap<(usize, &str), Vec<usize>> = BTreeMap::new();
    for i in registered.keys() {
        let p = &plans[*i];
        groups
            .entry((p.client, p.target.cluster.as_str()))
            .or_default()
            .push(*i);
    }
    for ((client, cluster), members) in &groups {
        let names: Vec<&str> = members
            .iter()
            .map(|i| plans[*i].target.service.as_str())
            .collect();
        let now = clients[*client]
            .describe_services(cluster, &names)
            .map_err(|f| anyhow!("{f}\nnothing was updated{}", unused(&registered)))?;
        for i in members {
            let p = &plans[*i];
            let service = now
                .services
                .iter()
                .find(|s| s.service_name() == Some(p.target.service.as_str()));
            let was = fingerprint(&p.service);
            let is = service.map(fingerprint);
            if is.as_ref() != Some(&was) {
                changed.push(format!(
                    "{} changed since the plan (another pipeline deploying?): {}",
                    p.target.shown(),
                    match is {
                        None => "ECS no longer lists it".to_owned(),
                        Some(is) => describe_change(&was, &is),
                    }
                ));
            }
        }
    }
    if !changed.is_empty() {
        return Err(anyhow!(
            "{}\nnothing was updated{}; run again to plan against what the services run now",
            changed.join("\n"),
            unused(&registered)
        ));
    }
    // UpdateService, then follow everything at once.
    let mut rows = Vec::new();
    let mut follows = Vec::new();
    let mut followed_plans = Vec::new();
    for (i, p) in plans.iter().enumerate() {
        match &p.action {
            Action::Unchanged { tasks } => {
                let mut row = row_of(p, None);
                row.outcome = Kind::Unchanged;
                row.summary = unchanged_words(p, *tasks);
                row.task_definition = Some(p.running_arn.clone());
                rows.push(row);
            }
            Action::Resume { .. } => {
                follows.push(follow_of(
                    p,
                    Mode::Resume,
                    p.running_arn.clone(),
                    None,
                    None,
                ));
                followed_plans.push((i, p.running_arn.clone()));
            }
            Action::Register { .. } => {
                let Some(arn) = registered.get(&i) else {
                    continue;
                };
                let since = aws_smithy_types::DateTime::from(std::time::SystemTime::now());
                match clients[p.client].update_service(&p.target.cluster, &p.target.service, arn) {
                    Ok(service) => {
                        let sd = service
                            .as_ref()
                            .and_then(|s| s.current_service_deployment())
                            .map(str::to_owned);
                        printer.say(&Line::Progress(format!(
                            "{}: updated to {}; following its deployment ({}, poll every {})",
                            p.target.shown(),
                            escape::value(revision_of(arn)),
                            plan::strategy(&p.service),
                            follow::seconds(config.poll),
                        )));
                        follows.push(follow_of(p, Mode::Deploy, arn.clone(), Some(since), sd));
                        followed_plans.push((i, arn.clone()));
                    }
                    Err(fault) => {
                        let mut row = row_of(p, None);
                        row.outcome = Kind::Error;
                        row.summary = format!(
                            "{fault}; {} was registered but the service was not updated",
                            escape::value(revision_of(arn))
                        );
                        rows.push(row);
                    }
                }
            }
            Action::Confirm => {}
        }
    }
    let verdicts = follow::follow_all(
        clients,
        follows,
        follow::Settings::left(config.poll, config.timeout, prepared.started),
        clock as &mut dyn Clock,
        &mut |line| printer.say(&line),
    );
    for ((i, arn), v) in followed_plans.into_iter().zip(verdicts) {
        let mut row = row_of(&plans[i], Some(&v));
        row.task_definition = Some(arn);
        strict(config, &mut row, &v);
        rows.push(row);
    }
    Ok(rows)
}

/// `--strict`: digests that could not be checked fail.
pub fn strict(config: &DeployConfig, row: &mut Row, v: &Verdict) {
    row.cause
        .extend(v.unchecked.iter().map(|u| format!("not checked: {u}")));
    if config.strict && !v.unchecked.is_empty() && row.outcome.severity().is_none() {
        row.outcome = Kind::Failed;
        row.summary = format!("FAILED (--strict, digests not checked): {}", row.summary);
    }
}

/// The follow of a planned service.
pub fn follow_of(
    p: &Planned,
    mode: Mode,
    task_definition: String,
    since: Option<aws_smithy_types::DateTime>,
    service_deployment: Option<String>,
) -> Follow {
    Follow {
        shown: p.target.shown(),
        cluster: p.target.cluster.clone(),
        service: p.target.service.clone(),
        client: p.client,
        mode,
        task_definition,
        since,
        service_deployment,
        written: p.target.images.clone(),
    }
}

/// A service's task definition and deployments (id, task definition), to see whether it changed.
type Fingerprint = (Option<String>, Vec<(String, String)>);

fn fingerprint(s: &aws_sdk_ecs::types::Service) -> Fingerprint {
    let mut deployments: Vec<(String, String)> = s
        .deployments()
        .iter()
        .map(|d| {
            (
                d.id().unwrap_or_default().to_owned(),
                d.task_definition().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    deployments.sort();
    (s.task_definition().map(str::to_owned), deployments)
}

fn describe_change(was: &Fingerprint, is: &Fingerprint) -> String {
    let td = |t: &Option<String>| t.as_deref().map_or("none", revision_of).to_owned();
    let list = |d: &[(String, String)]| {
        d.iter()
            .map(|(id, t)| format!("{} ({})", escape::value(id), escape::value(revision_of(t))))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = Vec::new();
    if was.0 != is.0 {
        parts.push(format!(
            "its task definition is now {}, was {}",
            escape::value(&td(&is.0)),
            escape::value(&td(&was.0))
        ));
    }
    if was.1 != is.1 {
        parts.push(format!(
            "its deployments are now [{}], were [{}]",
            list(&is.1),
            list(&was.1)
        ));
    }
    parts.join("; ")
}

/// The revisions registered but not used, said after "nothing was updated".
fn unused(registered: &BTreeMap<usize, String>) -> String {
    if registered.is_empty() {
        return String::new();
    }
    format!(
        " (registered and unused: {})",
        registered
            .values()
            .map(|a| escape::value(revision_of(a)).into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The outcome row of a planned service, with what its follow found.
pub fn row_of(p: &Planned, v: Option<&Verdict>) -> Row {
    let mut row = Row::bare(p.target.shown(), Kind::Deployed, String::new());
    row.name.clone_from(&p.target.name);
    row.controller = Some(plan::controller(&p.service).to_owned());
    row.strategy = Some(plan::strategy(&p.service).to_owned());
    row.previous_task_definition = Some(p.running_arn.clone());
    row.containers = p
        .containers
        .iter()
        .map(|c| ContainerRow {
            name: c.written.container.clone(),
            written: c.written.image.to_string(),
            written_digest: c.written.digest.map(|d| d.to_string()),
            previous: c.running.clone(),
            change: serde_json::to_value(c.change.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned)),
            running_digests: v
                .and_then(|v| v.running.get(&c.written.container))
                .map(|d| d.iter().cloned().collect())
                .unwrap_or_default(),
        })
        .collect();
    if let Some(v) = v {
        row.outcome = match v.outcome {
            follow::Outcome::Deployed | follow::Outcome::Ended => Kind::Deployed,
            follow::Outcome::Confirmed => Kind::Confirmed,
            follow::Outcome::Failed => Kind::Failed,
            follow::Outcome::Superseded => Kind::Superseded,
            follow::Outcome::OtherDigests => Kind::OtherDigests,
            follow::Outcome::TimedOut => Kind::TimedOut,
            follow::Outcome::Stopped => Kind::Stopped,
            follow::Outcome::Error => Kind::Error,
        };
        row.deployment.clone_from(&v.deployment);
        row.service_deployment_arn.clone_from(&v.service_deployment);
        row.status.clone_from(&v.status);
        row.stages.clone_from(&v.stages);
        row.tasks = v.tasks;
        row.summary.clone_from(&v.summary);
        row.cause.clone_from(&v.cause);
    }
    row
}

/// Prints the outcome, writes `--junit`, and decides the exit code: the worst service's.
fn finish(
    config: &DeployConfig,
    printer: Printer,
    command: &str,
    rows: &[Row],
) -> anyhow::Result<ExitCode> {
    if let Some(path) = &config.junit {
        write_junit(path, command, rows)?;
    }
    printer.finish(command, config.dry_run, rows)?;
    let worst = ExitCode::worst(rows.iter().filter_map(|r| r.outcome.severity()));
    let bad: Vec<String> = rows
        .iter()
        .filter(|r| r.outcome.severity().is_some())
        .map(|r| r.service.clone())
        .collect();
    let message = format!(
        "{command}: {} of {} service(s) did not succeed: {}",
        bad.len(),
        rows.len(),
        bad.join(", ")
    );
    match worst {
        ExitCode::Success => Ok(ExitCode::Success),
        ExitCode::CheckFailed => Err(CheckFailed(message).into()),
        ExitCode::Error => Err(anyhow!(message)),
    }
}

/// Writes the outcome as JUnit XML to `path`, atomically.
fn write_junit(path: &std::path::Path, command: &str, rows: &[Row]) -> anyhow::Result<()> {
    super::write_junit(path, &crate::deploy::outcome::junit(command, rows))
}
