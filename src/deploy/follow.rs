//! Following deployments until they end: every service at once, one poll loop, each service with
//! its own verdict.
//!
//! Each poll reads the services (`DescribeServices`, ten a call per cluster) and, where ECS answers
//! them, the service deployments (`DescribeServiceDeployments`, twenty a call): their status,
//! lifecycle stage, pause hooks, rollback, circuit breaker and alarms. The service deployment is
//! reached through the service's `currentServiceDeployment` or `ListServiceDeployments` (its
//! target revision's task definition told by `DescribeServiceRevisions`), never built from an id;
//! where those calls do not answer, `DescribeServices` alone (`deployments[].rolloutState`, the
//! events) decides. A deployment that ends is judged once: its tasks must run the written digests
//! (`ListTasks`, `DescribeTasks`); one that failed is worded with ECS's reason and its tasks'
//! causes ([`super::cause`]).
//!
//! The clock is injected ([`Clock`]): the loop waits only through it, so tests run without
//! sleeping, and SIGTERM ends the wait.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use aws_sdk_ecs::types::{
    Deployment, DeploymentLifecycleHookStatus, DeploymentLifecycleHookTargetType,
    DeploymentRolloutState, DesiredStatus, Service, ServiceDeployment, ServiceDeploymentStatus,
    ServiceRevision, Task,
};
use aws_smithy_types::DateTime;

use super::cause;
use super::plan::strategy;
use super::{Written, id_of, revision_of, short};
use crate::aws::ecs_deploy::Ecs;
use crate::aws::ecs_deploy::wait::Woke;
use crate::aws::errors::Fault;
use crate::io::escape;

/// A progress line (state changes at once) is said again at most this often while nothing changes.
pub const HEARTBEAT: Duration = Duration::from_mins(1);

/// Polls in a row that may fail (after the SDK's own retries) before a service's follow gives up.
const FAILED_POLLS: u32 = 3;

/// Polls without finding the service deployment before following through `DescribeServices` only.
const RESOLVE_TRIES: u32 = 3;

/// Where time comes from, and how the loop waits.
pub trait Clock {
    fn now(&self) -> Instant;
    fn wait(&mut self, pause: Duration) -> Woke;
}

/// The wall clock, pausing on the AWS runtime (SIGTERM ends a pause).
pub struct WallClock<'a>(pub crate::aws::ecs_deploy::wait::Waiter<'a>);

impl Clock for WallClock<'_> {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wait(&mut self, pause: Duration) -> Woke {
        self.0.wait(pause)
    }
}

/// A line for the build log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// How a deployment goes (not with `-q`).
    Progress(String),
    /// Something the user must know (also with `-q`).
    Problem(String),
}

/// What is followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The deployment this run started.
    Deploy,
    /// The deployment of these images a stopped run started.
    Resume,
    /// `confirm`: the service's latest deployment.
    Confirm,
    /// A deployment this run did not start, waited for (`--wait-for-in-flight`).
    Foreign,
}

/// One deployment to follow.
#[derive(Clone, Debug)]
pub struct Follow {
    /// `ecs://CLUSTER/SERVICE`.
    pub shown: String,
    pub cluster: String,
    pub service: String,
    /// Which client reaches it.
    pub client: usize,
    pub mode: Mode,
    /// The task definition whose deployment is followed (for `confirm`, the one the service runs).
    pub task_definition: String,
    /// When the deployment was started (`UpdateService`), for `ListServiceDeployments` and the
    /// events; `None` when not known.
    pub since: Option<DateTime>,
    /// The service deployment, when `UpdateService`'s answer named it.
    pub service_deployment: Option<String>,
    /// The images the tasks must run.
    pub written: Vec<Written>,
}

/// How a followed deployment ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Succeeded, and its tasks run the written digests.
    Deployed,
    /// `confirm`: succeeded, and its tasks run the written digests.
    Confirmed,
    /// Failed, stopped or rolled back.
    Failed,
    /// Another deployment replaced it.
    Superseded,
    /// It ended, but tasks run other digests.
    OtherDigests,
    /// `--timeout` passed first; it goes on in ECS.
    TimedOut,
    /// SIGTERM came first; it goes on in ECS.
    Stopped,
    /// It could not be followed (calls kept failing).
    Error,
    /// A deployment this run did not start ended (`--wait-for-in-flight`).
    Ended,
}

/// The verdict on one followed deployment.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub outcome: Outcome,
    /// The deployment as ECS's console names it (`ecs-svc/...`), else the service deployment's id.
    pub deployment: Option<String>,
    /// The service deployment's ARN, when reached.
    pub service_deployment: Option<String>,
    /// Its last status: the service deployment's (`SUCCESSFUL`, ...) or the rollout state.
    pub status: Option<String>,
    /// The lifecycle stages seen, in order.
    pub stages: Vec<String>,
    /// The tasks found running the written digests.
    pub tasks: Option<usize>,
    /// The digests the tasks run, per container.
    pub running: BTreeMap<String, BTreeSet<String>>,
    /// The one-line outcome.
    pub summary: String,
    /// ECS's reason, the tasks' causes and their fixes, the last events: a line each.
    pub cause: Vec<String>,
    /// Warnings that `--strict` turns into a failure (digests not checked).
    pub unchecked: Vec<String>,
}

impl Verdict {
    fn new(outcome: Outcome, summary: String) -> Verdict {
        Verdict {
            outcome,
            deployment: None,
            service_deployment: None,
            status: None,
            stages: Vec::new(),
            tasks: None,
            running: BTreeMap::new(),
            summary,
            cause: Vec::new(),
            unchecked: Vec::new(),
        }
    }
}

/// How the loop runs.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub poll: Duration,
    /// What is left of `--timeout`.
    pub timeout: Duration,
    /// `--timeout` as given, for messages.
    pub given: Duration,
}

impl Settings {
    /// Polling every `poll`, with what is left of `timeout` (`--timeout`) since `started` (at
    /// least a millisecond, so that a spent budget still looks once).
    #[must_use]
    pub fn left(poll: Duration, timeout: Duration, started: std::time::Instant) -> Settings {
        Settings {
            poll,
            timeout: timeout
                .saturating_sub(started.elapsed())
                .max(Duration::from_millis(1)),
            given: timeout,
        }
    }
}

/// Whether the service deployment calls answer for a service.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Api {
    /// Not tried yet, or tried this many times without finding the deployment.
    Unknown(u32),
    Works,
    /// They do not answer (an older endpoint, a local stand-in) or are denied.
    Unavailable,
}

/// What one poll made of a deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Still going: how, the lifecycle stage, and a pause hook waiting for action.
    Going {
        words: String,
        stage: Option<String>,
        pause: Option<String>,
    },
    /// ECS says it succeeded.
    Succeeded { words: String },
    /// ECS marked it failed, stopped or rolled back: why.
    Failed { words: String },
    /// Another deployment replaced it.
    Superseded { words: String },
}

struct State {
    f: Follow,
    ecs_id: Option<String>,
    sd_arn: Option<String>,
    api: Api,
    revision: Option<ServiceRevision>,
    service: Option<Service>,
    sd: Option<ServiceDeployment>,
    stages: Vec<String>,
    last: Option<(Instant, String)>,
    status: Option<String>,
    failed_polls: u32,
    verdict: Option<Verdict>,
}

impl State {
    fn new(f: Follow) -> State {
        State {
            sd_arn: None,
            f,
            ecs_id: None,
            api: Api::Unknown(0),
            revision: None,
            service: None,
            sd: None,
            stages: Vec::new(),
            last: None,
            status: None,
            failed_polls: 0,
            verdict: None,
        }
    }

    /// How lines name the deployment.
    fn deployment(&self) -> String {
        self.ecs_id
            .clone()
            .or_else(|| self.sd_arn.as_deref().map(|a| id_of(a).to_owned()))
            .map_or_else(
                || "(not listed yet)".to_owned(),
                |d| escape::value(&d).into_owned(),
            )
    }

    fn done(&mut self, mut verdict: Verdict) {
        verdict.deployment = self
            .ecs_id
            .clone()
            .or_else(|| self.sd_arn.as_deref().map(|a| id_of(a).to_owned()));
        verdict.service_deployment.clone_from(&self.sd_arn);
        if verdict.status.is_none() {
            verdict.status.clone_from(&self.status);
        }
        verdict.stages.clone_from(&self.stages);
        self.verdict = Some(verdict);
    }
}

/// Follows every deployment of `follows` until each ends, `settings.timeout` passes, or SIGTERM
/// comes; a verdict per follow, in order. Lines go to `say`.
pub fn follow_all(
    clients: &[Ecs<'_>],
    follows: Vec<Follow>,
    settings: Settings,
    clock: &mut dyn Clock,
    say: &mut dyn FnMut(Line),
) -> Vec<Verdict> {
    let deadline = clock.now() + settings.timeout;
    let mut states: Vec<State> = follows.into_iter().map(State::new).collect();
    loop {
        poll(clients, &mut states, clock.now(), say);
        if states.iter().all(|s| s.verdict.is_some()) {
            break;
        }
        let now = clock.now();
        if now >= deadline {
            for s in states.iter_mut().filter(|s| s.verdict.is_none()) {
                let state = s
                    .last
                    .as_ref()
                    .map_or_else(|| "not listed yet".to_owned(), |(_, w)| w.clone());
                let summary = format!(
                    "TIMED OUT after {} (--timeout): deployment {} was {state}; it goes on in ECS (imagedef never stops, rolls back or continues a deployment): see where it ends with imagedef confirm or in the ECS console",
                    seconds(settings.given),
                    s.deployment()
                );
                s.done(Verdict::new(Outcome::TimedOut, summary));
            }
            break;
        }
        let pause = settings.poll.min(deadline - now);
        if clock.wait(pause) == Woke::Terminated {
            for s in states.iter_mut().filter(|s| s.verdict.is_none()) {
                let state = s
                    .last
                    .as_ref()
                    .map_or_else(|| "not listed yet".to_owned(), |(_, w)| w.clone());
                let summary = format!(
                    "STOPPED by SIGTERM (CodeBuild stopping the build): deployment {} was {state}; it goes on in ECS (imagedef never stops, rolls back or continues a deployment): see where it ends with imagedef confirm or in the ECS console",
                    s.deployment()
                );
                s.done(Verdict::new(Outcome::Stopped, summary));
            }
            break;
        }
    }
    states
        .into_iter()
        .map(|s| {
            s.verdict
                .expect("every state has a verdict when the loop ends")
        })
        .collect()
}

/// `1h 2m 3s`.
#[must_use]
pub fn seconds(d: Duration) -> String {
    let s = d.as_secs();
    let (h, m, s) = (s / 3600, (s / 60) % 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        let _ = write!(out, "{h}h ");
    }
    if h > 0 || m > 0 {
        let _ = write!(out, "{m}m ");
    }
    let _ = write!(out, "{s}s");
    if d.as_secs() == 0 {
        return format!("{}ms", d.as_millis());
    }
    out
}

/// One poll of every deployment still followed.
// The steps of one poll, in order, over every service.
#[allow(clippy::too_many_lines)]
fn poll(clients: &[Ecs<'_>], states: &mut [State], now: Instant, say: &mut dyn FnMut(Line)) {
    // DescribeServices, grouped by client and cluster.
    let mut groups: BTreeMap<(usize, String), Vec<usize>> = BTreeMap::new();
    for (i, s) in states.iter().enumerate() {
        if s.verdict.is_none() {
            groups
                .entry((s.f.client, s.f.cluster.clone()))
                .or_default()
                .push(i);
        }
    }
    for ((client, cluster), members) in &groups {
        let names: Vec<&str> = members
            .iter()
            .map(|i| states[*i].f.service.as_str())
            .collect();
        match clients[*client].describe_services(cluster, &names) {
            Ok(d) => {
                for i in members {
                    let s = &mut states[*i];
                    s.service = d
                        .services
                        .iter()
                        .find(|svc| svc.service_name() == Some(s.f.service.as_str()))
                        .cloned();
                    if s.service.is_none() {
                        s.done(Verdict::new(
                            Outcome::Error,
                            format!("the service is no longer listed by ECS (DescribeServices of {} in cluster {cluster})", s.f.service),
                        ));
                    } else {
                        s.failed_polls = 0;
                    }
                }
            }
            Err(fault) => {
                for i in members {
                    poll_failed(&mut states[*i], &fault, say);
                }
            }
        }
    }
    // The service deployments: found once, then described, twenty a call per client. An
    // endpoint that does not answer these calls is not asked again for any service.
    let mut gone = resolve_current(clients, states, say);
    for s in states.iter_mut().filter(|s| s.verdict.is_none()) {
        if gone.contains(&s.f.client) {
            s.api = Api::Unavailable;
        } else if s.sd_arn.is_none()
            && matches!(s.api, Api::Unknown(_))
            && resolve(&clients[s.f.client], s, say)
        {
            gone.insert(s.f.client);
        }
    }
    let mut by_client: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, s) in states.iter().enumerate() {
        if s.verdict.is_none() && s.api != Api::Unavailable && s.sd_arn.is_some() {
            by_client.entry(s.f.client).or_default().push(i);
        }
    }
    for (client, members) in by_client {
        let arns: Vec<String> = members
            .iter()
            .filter_map(|i| states[*i].sd_arn.clone())
            .collect();
        match clients[client].describe_service_deployments(&arns) {
            Ok(sds) => {
                for i in members {
                    let s = &mut states[i];
                    s.sd = sds
                        .iter()
                        .find(|d| d.service_deployment_arn() == s.sd_arn.as_deref())
                        .cloned();
                    if s.sd.is_some() {
                        s.api = Api::Works;
                    }
                }
            }
            Err(fault) => {
                for i in members {
                    let _ = api_unavailable(&mut states[i], &fault, say);
                }
            }
        }
    }
    for s in states.iter_mut().filter(|s| s.verdict.is_none()) {
        let Some(service) = s.service.clone() else {
            continue;
        };
        let sd = if s.api == Api::Unavailable {
            None
        } else {
            s.sd.clone()
        };
        let primary = service
            .deployments()
            .iter()
            .find(|d| d.status() == Some("PRIMARY"));
        let ours = match s.f.mode {
            Mode::Confirm => primary,
            _ => service
                .deployments()
                .iter()
                .find(|d| d.task_definition() == Some(s.f.task_definition.as_str())),
        };
        if let Some(id) = ours.and_then(Deployment::id) {
            s.ecs_id.get_or_insert_with(|| id.to_owned());
        }
        if s.f.mode == Mode::Confirm
            && let Some(td) = s
                .revision
                .as_ref()
                .and_then(|r| r.task_definition())
                .or_else(|| ours.and_then(Deployment::task_definition))
        {
            s.f.task_definition = td.to_owned();
        }
        let phase = judge(&s.f.task_definition, &service, ours, sd.as_ref());
        s.status = sd
            .as_ref()
            .and_then(|d| d.status().map(|st| st.as_str().to_owned()))
            .or_else(|| ours.and_then(|d| d.rollout_state().map(|r| r.as_str().to_owned())));
        if let Some(stage) = sd
            .as_ref()
            .and_then(|d| d.lifecycle_stage())
            .map(|st| st.as_str().to_owned())
            && s.stages.last() != Some(&stage)
        {
            s.stages.push(stage);
        }
        act(
            &clients[s.f.client],
            s,
            &service,
            sd.as_ref(),
            phase,
            now,
            say,
        );
    }
}

/// A poll whose `DescribeServices` failed: said, and after [`FAILED_POLLS`] in a row the follow
/// of the service ends in an error.
fn poll_failed(s: &mut State, fault: &Fault, say: &mut dyn FnMut(Line)) {
    s.failed_polls += 1;
    if s.failed_polls >= FAILED_POLLS {
        s.done(Verdict::new(
            Outcome::Error,
            format!(
                "cannot follow deployment {} any more ({FAILED_POLLS} polls in a row failed): {fault}; it goes on in ECS",
                s.deployment()
            ),
        ));
    } else {
        say(Line::Problem(format!(
            "{}: this poll failed, trying again: {fault}",
            s.f.shown
        )));
    }
}

/// The service deployment calls do not answer for this service: followed through
/// `DescribeServices` from now on; a denial is said (with the actions to grant), anything else
/// only at `-v`. True when the endpoint itself does not answer them (not a denial, which a
/// policy may make for some services only).
fn api_unavailable(s: &mut State, fault: &Fault, say: &mut dyn FnMut(Line)) -> bool {
    s.api = Api::Unavailable;
    let denied = fault
        .code()
        .is_some_and(|c| c.contains("AccessDenied") || c.contains("Unauthorized"));
    let text = format!(
        "{}: following through DescribeServices only (no lifecycle stages, pause hooks, or rollback and circuit-breaker details): {fault}",
        s.f.shown
    );
    if denied {
        say(Line::Problem(format!(
            "{text}; grant ecs:ListServiceDeployments, ecs:DescribeServiceDeployments and ecs:DescribeServiceRevisions to see them"
        )));
    } else {
        tracing::debug!("{text}");
    }
    !denied
}

/// The service deployment of each followed task definition that is not found yet, where it is
/// the service's current one (`UpdateService`'s answer names it, or `DescribeServices` does): the
/// candidates of all services of a client described at once, their target revisions too, and
/// each taken when its revision runs the followed task definition (for `confirm`, whatever it
/// runs). The clients whose endpoint does not answer these calls.
fn resolve_current(
    clients: &[Ecs<'_>],
    states: &mut [State],
    say: &mut dyn FnMut(Line),
) -> BTreeSet<usize> {
    let mut gone = BTreeSet::new();
    let mut by_client: BTreeMap<usize, Vec<(usize, String)>> = BTreeMap::new();
    for (i, s) in states.iter().enumerate() {
        if s.verdict.is_some() || s.sd_arn.is_some() || s.api != Api::Unknown(0) {
            continue;
        }
        let candidate = s.f.service_deployment.clone().or_else(|| {
            s.service
                .as_ref()
                .and_then(|svc| svc.current_service_deployment().map(str::to_owned))
        });
        if let Some(arn) = candidate {
            by_client.entry(s.f.client).or_default().push((i, arn));
        }
    }
    for (client, candidates) in by_client {
        let ecs = &clients[client];
        let arns: Vec<String> = candidates.iter().map(|(_, a)| a.clone()).collect();
        let found = ecs.describe_service_deployments(&arns).and_then(|sds| {
            let revisions: Vec<String> = sds
                .iter()
                .filter_map(|d| {
                    d.target_service_revision()
                        .and_then(|r| r.arn())
                        .map(str::to_owned)
                })
                .collect();
            let revs = if revisions.is_empty() {
                Vec::new()
            } else {
                ecs.describe_service_revisions(&revisions)?
            };
            Ok((sds, revs))
        });
        let (sds, revs) = match found {
            Ok(found) => found,
            Err(fault) => {
                for (i, _) in &candidates {
                    if api_unavailable(&mut states[*i], &fault, say) {
                        gone.insert(client);
                    }
                }
                continue;
            }
        };
        for (i, arn) in candidates {
            let s = &mut states[i];
            let revision = sds
                .iter()
                .find(|d| d.service_deployment_arn() == Some(arn.as_str()))
                .and_then(|d| d.target_service_revision())
                .and_then(|r| r.arn())
                .and_then(|rev| revs.iter().find(|r| r.service_revision_arn() == Some(rev)));
            if let Some(r) = revision
                && (s.f.mode == Mode::Confirm
                    || r.task_definition() == Some(s.f.task_definition.as_str()))
            {
                s.sd_arn = Some(arn);
                s.revision = Some(r.clone());
            }
        }
    }
    gone
}

/// Finds the service deployment of the followed task definition when it is not the service's
/// current one: the newest one `ListServiceDeployments` gives whose target revision runs it (for
/// `confirm`, the newest). True when the endpoint does not answer these calls at all.
fn resolve(ecs: &Ecs<'_>, s: &mut State, say: &mut dyn FnMut(Line)) -> bool {
    let Api::Unknown(tries) = s.api else {
        return false;
    };
    if s.service.is_none() {
        return false;
    }
    let result: Result<Option<(String, ServiceRevision)>, Box<Fault>> = (|| {
        let after =
            s.f.since
                .map(|t| DateTime::from_secs(t.secs().saturating_sub(300)));
        let mut briefs = ecs.list_service_deployments(&s.f.cluster, &s.f.service, after)?;
        briefs.sort_by_key(|b| std::cmp::Reverse(b.created_at().map(DateTime::secs)));
        briefs.truncate(crate::aws::ecs_deploy::ARNS_PER_CALL);
        let revisions: Vec<String> = briefs
            .iter()
            .filter_map(|b| b.target_service_revision_arn().map(str::to_owned))
            .collect();
        if revisions.is_empty() {
            return Ok(None);
        }
        let revs = ecs.describe_service_revisions(&revisions)?;
        for b in &briefs {
            let Some(rev) = revs
                .iter()
                .find(|r| r.service_revision_arn() == b.target_service_revision_arn())
            else {
                continue;
            };
            if (s.f.mode == Mode::Confirm
                || rev.task_definition() == Some(s.f.task_definition.as_str()))
                && let Some(arn) = b.service_deployment_arn()
            {
                return Ok(Some((arn.to_owned(), rev.clone())));
            }
        }
        Ok(None)
    })();
    match result {
        Ok(Some((arn, revision))) => {
            s.sd_arn = Some(arn);
            s.revision = Some(revision);
        }
        Ok(None) if tries + 1 >= RESOLVE_TRIES => {
            tracing::debug!(
                "{}: ECS lists no service deployment of {}; following through DescribeServices only",
                s.f.shown,
                s.f.task_definition
            );
            s.api = Api::Unavailable;
        }
        Ok(None) => s.api = Api::Unknown(tries + 1),
        Err(fault) => return api_unavailable(s, &fault, say),
    }
    false
}

/// What ECS says of the deployment of `task_definition`: from its service deployment `sd` when
/// ECS answered for it, else from the service's deployments (`ours`: the one of that task
/// definition, or for `confirm` the PRIMARY one).
#[must_use]
pub fn judge(
    task_definition: &str,
    service: &Service,
    ours: Option<&Deployment>,
    sd: Option<&ServiceDeployment>,
) -> Phase {
    if let Some(sd) = sd {
        return judge_service_deployment(task_definition, service, sd);
    }
    let primary = service
        .deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"));
    let replaced = |primary: Option<&Deployment>| {
        let Some(p) = primary else {
            return Phase::Going {
                words: "waiting for ECS to list the deployment".to_owned(),
                stage: None,
                pause: None,
            };
        };
        let reason = p.rollout_state_reason().unwrap_or_default();
        if reason.contains("rolling back") || reason.contains("circuit breaker") {
            Phase::Failed {
                words: format!(
                    "rolled back: ECS deploys {} instead ({})",
                    escape::value(revision_of(p.task_definition().unwrap_or("?"))),
                    escape::value(reason)
                ),
            }
        } else {
            Phase::Superseded {
                words: format!(
                    "another deployment replaced it: {}",
                    super::plan::deployment_words(p)
                ),
            }
        }
    };
    let Some(d) = ours else {
        if service.task_definition() == Some(task_definition) {
            return Phase::Going {
                words: "waiting for ECS to list the deployment".to_owned(),
                stage: None,
                pause: None,
            };
        }
        return replaced(primary);
    };
    let counts = format!(
        "{} of {} tasks running{}",
        d.running_count(),
        d.desired_count(),
        if d.failed_tasks() > 0 {
            format!(", {} failed", d.failed_tasks())
        } else {
            String::new()
        }
    );
    let reason = d
        .rollout_state_reason()
        .map(|r| format!(": {}", escape::value(r)))
        .unwrap_or_default();
    let is_primary = d.status() == Some("PRIMARY");
    match d.rollout_state() {
        Some(DeploymentRolloutState::Failed) => Phase::Failed {
            words: format!("FAILED{reason}"),
        },
        Some(DeploymentRolloutState::Completed) if is_primary => Phase::Succeeded {
            words: format!("COMPLETED, {counts}"),
        },
        Some(DeploymentRolloutState::Completed | DeploymentRolloutState::InProgress) | None
            if !is_primary =>
        {
            replaced(primary)
        }
        None if service.deployments().len() == 1
            && d.running_count() == d.desired_count()
            && d.pending_count() == 0 =>
        {
            Phase::Succeeded {
                words: format!("steady, {counts}"),
            }
        }
        other => Phase::Going {
            words: format!(
                "{}, {counts}",
                other.map_or("IN_PROGRESS", DeploymentRolloutState::as_str)
            ),
            stage: None,
            pause: None,
        },
    }
}

fn judge_service_deployment(
    task_definition: &str,
    service: &Service,
    sd: &ServiceDeployment,
) -> Phase {
    let status = sd
        .status()
        .map_or("UNKNOWN", ServiceDeploymentStatus::as_str);
    let stage = sd.lifecycle_stage().map(|s| s.as_str().to_owned());
    let counts = sd.target_service_revision().map(|r| {
        format!(
            "{} of {} tasks running",
            r.running_task_count(),
            r.requested_task_count()
        )
    });
    let reasons = cause::ecs_reasons(sd);
    let because = if reasons.is_empty() {
        String::new()
    } else {
        format!(": {}", reasons.join("; "))
    };
    match sd.status() {
        Some(ServiceDeploymentStatus::Successful) => Phase::Succeeded {
            words: format!(
                "{status}{}",
                counts.map(|c| format!(", {c}")).unwrap_or_default()
            ),
        },
        Some(
            ServiceDeploymentStatus::RollbackRequested
            | ServiceDeploymentStatus::RollbackInProgress,
        ) => Phase::Failed {
            words: format!("{status} (ECS is rolling it back){because}"),
        },
        Some(
            ServiceDeploymentStatus::RollbackSuccessful | ServiceDeploymentStatus::RollbackFailed,
        ) => Phase::Failed {
            words: format!("{status}{because}"),
        },
        Some(ServiceDeploymentStatus::Stopped | ServiceDeploymentStatus::StopRequested) => {
            let primary = service
                .deployments()
                .iter()
                .find(|d| d.status() == Some("PRIMARY"));
            match primary {
                Some(p)
                    if service.task_definition() != Some(task_definition)
                        && p.task_definition() != Some(task_definition) =>
                {
                    Phase::Superseded {
                        words: format!(
                            "{status}: another deployment replaced it: {}",
                            super::plan::deployment_words(p)
                        ),
                    }
                }
                _ => Phase::Failed {
                    words: format!("{status}{because}"),
                },
            }
        }
        _ => {
            let pause = sd.lifecycle_hook_details().iter().find(|h| {
                h.target_type() == Some(&DeploymentLifecycleHookTargetType::Pause)
                    && h.status() == Some(&DeploymentLifecycleHookStatus::AwaitingAction)
            });
            let pause = pause.map(|h| {
                format!(
                    "paused at stage {} by a pause hook ({}) until {}; on expiry ECS will {}; it continues when someone runs aws ecs continue-service-deployment --service-deployment-arn {} --hook-id {} (imagedef never continues a deployment)",
                    stage.as_deref().unwrap_or("?"),
                    escape::value(h.hook_id().unwrap_or("?")),
                    h.expires_at().map_or_else(|| "?".to_owned(), ToString::to_string),
                    h.timeout_action().map_or("ROLLBACK", |a| a.as_str()),
                    escape::value(sd.service_deployment_arn().unwrap_or("?")),
                    escape::value(h.hook_id().unwrap_or("?")),
                )
            });
            let mut words = status.to_owned();
            if let Some(stage) = &stage {
                let _ = write!(words, ", stage {stage}");
            }
            if let Some(c) = counts {
                let _ = write!(words, ", {c}");
            }
            Phase::Going {
                words,
                stage,
                pause,
            }
        }
    }
}

/// Says how a deployment goes, or ends its follow with a verdict.
fn act(
    ecs: &Ecs<'_>,
    s: &mut State,
    service: &Service,
    sd: Option<&ServiceDeployment>,
    phase: Phase,
    now: Instant,
    say: &mut dyn FnMut(Line),
) {
    let id = s.deployment();
    match phase {
        Phase::Going { words, pause, .. } => {
            let line = match &pause {
                Some(p) => format!("deployment {id} {p}"),
                None => format!("deployment {id} {words}"),
            };
            let due = match &s.last {
                None => true,
                Some((at, said)) => *said != line || now.duration_since(*at) >= HEARTBEAT,
            };
            if due {
                let text = format!("{}: {line}", s.f.shown);
                say(if pause.is_some() {
                    Line::Problem(text)
                } else {
                    Line::Progress(text)
                });
                s.last = Some((now, line));
            }
        }
        _ if s.f.mode == Mode::Foreign => {
            let words = match &phase {
                Phase::Succeeded { words }
                | Phase::Failed { words }
                | Phase::Superseded { words }
                | Phase::Going { words, .. } => words.clone(),
            };
            say(Line::Progress(format!(
                "{}: the deployment in flight, {id}, ended ({words})",
                s.f.shown
            )));
            s.done(Verdict::new(Outcome::Ended, words));
        }
        Phase::Succeeded { words } => {
            let verdict = succeeded(ecs, s, service, &id, &words);
            s.done(verdict);
        }
        Phase::Failed { words } => {
            let mut verdict =
                Verdict::new(Outcome::Failed, format!("FAILED: deployment {id} {words}"));
            verdict.cause = cause::gather(ecs, &s.f, service, sd);
            s.done(verdict);
        }
        Phase::Superseded { words } => {
            let mut verdict = Verdict::new(
                Outcome::Superseded,
                format!("FAILED: deployment {id} did not finish: {words}"),
            );
            if let Ok(tasks) = ecs.tasks(&s.f.cluster, &s.f.service, DesiredStatus::Running) {
                let seen = TaskDigests::of(&tasks, &s.f.written);
                verdict.running.clone_from(&seen.running);
                if !seen.others.is_empty() {
                    verdict.cause.push(format!(
                        "the tasks run other digests: {}",
                        seen.others_words()
                    ));
                }
            }
            s.done(verdict);
        }
    }
}

/// A deployment ECS says succeeded: its tasks (and the service revision's images, where known)
/// must run the written digests.
#[allow(clippy::too_many_lines)]
fn succeeded(ecs: &Ecs<'_>, s: &State, service: &Service, id: &str, words: &str) -> Verdict {
    let strategy = strategy(service);
    let tasks = match ecs.tasks(&s.f.cluster, &s.f.service, DesiredStatus::Running) {
        Ok(tasks) => tasks,
        Err(fault) => {
            return Verdict::new(
                Outcome::Error,
                format!("deployment {id} {words}, but its tasks could not be listed: {fault}"),
            );
        }
    };
    let seen = TaskDigests::of(&tasks, &s.f.written);
    let mut others = seen.others.clone();
    if let Some(rev) = &s.revision {
        for image in rev.container_images() {
            let Some(w) =
                s.f.written
                    .iter()
                    .find(|w| Some(w.container.as_str()) == image.container_name())
            else {
                continue;
            };
            if let (Some(want), Some(got)) = (w.digest, image.image_digest())
                && want.to_string() != got
            {
                others.push(Other {
                    task: format!(
                        "service revision {}",
                        id_of(rev.service_revision_arn().unwrap_or("?"))
                    ),
                    container: w.container.clone(),
                    written: Some(want.to_string()),
                    running: got.to_owned(),
                });
            }
        }
    }
    let deferred = service
        .deployment_configuration()
        .and_then(|c| c.early_success_criteria())
        .and_then(|e| e.source_service_revision_cleanup())
        .is_some_and(|c| c.as_str() == "DEFERRED");
    let kind = if s.f.mode == Mode::Confirm {
        Outcome::Confirmed
    } else {
        Outcome::Deployed
    };
    let mut verdict = if others.is_empty() || (deferred && seen.matching > 0) {
        let word = if kind == Outcome::Confirmed {
            "confirmed"
        } else {
            "deployed"
        };
        Verdict::new(
            kind,
            format!(
                "{word}: deployment {id} {words} ({strategy}); {} run the written digests ({})",
                match seen.matching {
                    1 => "1 task".to_owned(),
                    n => format!("{n} tasks"),
                },
                written_words(&s.f.written)
            ),
        )
    } else {
        let mut v = Verdict::new(
            Outcome::OtherDigests,
            format!(
                "FAILED: deployment {id} ended {words}, but tasks run other digests: {}",
                others_words(&others)
            ),
        );
        v.cause.push(
            "another deployment replaced this one, ECS rolled it back without saying so, or a tag resolved to another digest; see the service's events"
                .to_owned(),
        );
        v.cause.extend(cause::events(service, s.f.since.as_ref()));
        v
    };
    if deferred && !others.is_empty() && kind != Outcome::Confirmed {
        verdict.cause.push(format!(
            "tasks of the previous revision still run ({}): the service's early success criteria clean them up in the background (DEFERRED)",
            others_words(&others)
        ));
    }
    if seen.unknown > 0 {
        verdict.unchecked.push(format!(
            "{} task(s) report no image digest yet, so their digests were not checked",
            seen.unknown
        ));
    }
    for w in s.f.written.iter().filter(|w| w.digest.is_none()) {
        verdict.unchecked.push(format!(
            "container {} is written as {} without a digest, so the digest its tasks run ({}) was not held against one",
            escape::value(&w.container),
            escape::value(&w.image.to_string()),
            seen.running
                .get(&w.container)
                .map_or_else(|| "not reported".to_owned(), |d| d.iter().map(|d| short(d)).collect::<Vec<_>>().join(", "))
        ));
    }
    verdict.tasks = Some(seen.matching);
    verdict.running = seen.running;
    verdict
}

fn written_words(written: &[Written]) -> String {
    written
        .iter()
        .map(|w| {
            format!(
                "{} {}",
                escape::value(&w.container),
                w.digest.map_or_else(
                    || escape::value(&w.image.to_string()).into_owned(),
                    |d| short(&d.to_string())
                )
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A container that runs another digest than the one written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Other {
    /// The task's id (or the service revision).
    pub task: String,
    pub container: String,
    pub written: Option<String>,
    pub running: String,
}

fn others_words(others: &[Other]) -> String {
    others
        .iter()
        .map(|o| {
            format!(
                "container {} written {} running {} ({})",
                escape::value(&o.container),
                o.written
                    .as_deref()
                    .map_or_else(|| "without a digest".to_owned(), short),
                short(&o.running),
                escape::value(&o.task)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// What the tasks of a service run, against the written images.
#[derive(Clone, Debug, Default)]
pub struct TaskDigests {
    /// Tasks whose every written container runs the written digest (or, written as a tag, any).
    pub matching: usize,
    /// Containers running another digest.
    pub others: Vec<Other>,
    /// Tasks that report no digest for a written container (still starting).
    pub unknown: usize,
    /// Every digest seen, per written container.
    pub running: BTreeMap<String, BTreeSet<String>>,
}

impl TaskDigests {
    #[must_use]
    pub fn of(tasks: &[Task], written: &[Written]) -> TaskDigests {
        let mut seen = TaskDigests::default();
        for task in tasks {
            let id = id_of(task.task_arn().unwrap_or("?")).to_owned();
            let mut ok = true;
            let mut unknown = false;
            for w in written {
                let Some(c) = task
                    .containers()
                    .iter()
                    .find(|c| c.name() == Some(w.container.as_str()))
                else {
                    continue;
                };
                let Some(digest) = c.image_digest() else {
                    unknown = true;
                    continue;
                };
                seen.running
                    .entry(w.container.clone())
                    .or_default()
                    .insert(digest.to_owned());
                if let Some(want) = w.digest
                    && want.to_string() != digest
                {
                    ok = false;
                    seen.others.push(Other {
                        task: format!("task {id}"),
                        container: w.container.clone(),
                        written: Some(want.to_string()),
                        running: digest.to_owned(),
                    });
                }
            }
            if unknown {
                seen.unknown += 1;
            } else if ok {
                seen.matching += 1;
            }
        }
        seen
    }

    /// The containers running other digests, worded.
    #[must_use]
    pub fn others_words(&self) -> String {
        others_words(&self.others)
    }
}
