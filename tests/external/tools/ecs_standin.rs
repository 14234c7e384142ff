//! A loopback stand-in for ECS deployments, in front of moto: it forwards every request to moto
//! (services, task definitions, `UpdateService`, STS) and, for the services given a [`Script`],
//! plays the deployments moto does not: the service's `deployments` and `events` in
//! `DescribeServices`, `ListServiceDeployments`, `DescribeServiceDeployments`,
//! `DescribeServiceRevisions`, and the tasks (`ListTasks`, `DescribeTasks`). Shapes as the ECS API
//! reference gives them. Each poll of a service (a `DescribeServices` naming it) moves its script
//! one step on.
//!
//! It records every request (`X-Amz-Target` and body), so tests can count the calls that change
//! something and read what was registered and updated.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::aws::read_message;

const ECS: &str = "AmazonEC2ContainerServiceV20141113.";

/// What a service's deployment does once `UpdateService` starts it, a step per poll (the last
/// step stays).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Rolling out: `IN_PROGRESS`, stage `SCALE_UP`.
    Going,
    /// Held by a pause hook at `POST_TEST_TRAFFIC_SHIFT`, `AWAITING_ACTION`.
    Paused,
    /// Done: COMPLETED / SUCCESSFUL, its tasks run its digests.
    Done,
    /// The deployment circuit breaker stops it: `ROLLBACK_IN_PROGRESS`, a new PRIMARY deploys the
    /// previous revision, the stopped tasks say `stopped_reason`.
    CircuitBreaker,
    /// The rollback ended: `ROLLBACK_SUCCESSFUL`, the previous revision runs again.
    RolledBack,
    /// Another pipeline deploys the previous revision over it: STOPPED, a new PRIMARY.
    Superseded,
}

/// How a service behaves.
#[derive(Clone, Debug)]
pub struct Script {
    /// The steps after `UpdateService`, one per poll.
    pub steps: Vec<Step>,
    /// The region answers the service deployment calls (no: as moto and older endpoints,
    /// `UnknownOperationException`).
    pub service_deployments: bool,
    /// A deployment of the running revision, not started by the test's run, is in progress for
    /// this many polls first.
    pub in_flight_polls: usize,
    /// `deploymentConfiguration.strategy`.
    pub strategy: &'static str,
    /// `deploymentConfiguration.bakeTimeInMinutes`.
    pub bake_minutes: u32,
    /// The stopped task's `stoppedReason` and its container's `reason` (circuit breaker).
    pub stopped_reason: String,
    /// Add this key to the task definition `DescribeTaskDefinition` returns.
    pub unknown_field: Option<(&'static str, Value)>,
    /// Tasks run.
    pub tasks: usize,
    /// At this poll (before any `UpdateService`), another pipeline starts a deployment (a forced
    /// new deployment of the running revision).
    pub race_at_poll: Option<usize>,
}

impl Script {
    /// A rolling deployment that succeeds at the third poll, every call answered.
    pub fn rolling_success() -> Script {
        Script {
            steps: vec![Step::Going, Step::Going, Step::Done],
            service_deployments: true,
            in_flight_polls: 0,
            strategy: "ROLLING",
            bake_minutes: 0,
            stopped_reason: String::new(),
            unknown_field: None,
            tasks: 2,
            race_at_poll: None,
        }
    }

    /// ECS's deployment circuit breaker rolls back a deployment whose tasks cannot pull their
    /// image for the task's platform.
    pub fn circuit_breaker_platform() -> Script {
        Script {
            steps: vec![Step::Going, Step::CircuitBreaker, Step::RolledBack],
            stopped_reason: "CannotPullContainerError: pull image manifest has been retried 5 time(s): image Manifest does not contain descriptor matching platform 'linux/arm64'".to_owned(),
            ..Script::rolling_success()
        }
    }
}

/// One deployment of the model.
#[derive(Clone, Debug)]
struct Dep {
    id: String,
    sd_id: String,
    task_definition: String,
    /// PRIMARY or ACTIVE.
    status: &'static str,
    rollout: &'static str,
    reason: String,
    /// The service deployment's status.
    sd_status: &'static str,
    stage: &'static str,
    /// A pause hook holds it, until then (seconds since the epoch).
    paused: Option<f64>,
    rollback: Option<String>,
    created: f64,
    /// What the test's run started (by `UpdateService`).
    ours: bool,
    /// A deployment of the service deployment calls (a circuit breaker's rollback is part of the
    /// deployment it rolls back there, a deployment of its own only in `DescribeServices`).
    listed: bool,
}

#[derive(Debug)]
struct Svc {
    script: Script,
    arn: String,
    cluster: String,
    account: String,
    region: String,
    deployments: Vec<Dep>,
    polls: usize,
    polls_since_update: Option<usize>,
    events: Vec<(f64, String)>,
    stopped: Vec<Value>,
    counter: usize,
}

#[derive(Default, Debug)]
struct World {
    scripts: BTreeMap<String, Script>,
    services: BTreeMap<String, Svc>,
}

/// The stand-in: its port and what it saw.
pub struct Standin {
    pub port: u16,
    world: Arc<Mutex<World>>,
    /// Every request: its target (`ECS.UpdateService`, `STS` for the query API) and body.
    pub requests: Arc<Mutex<Vec<(String, String)>>>,
}

/// Seconds since the epoch, now: the times ECS gives are the wall clock's.
fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

impl Standin {
    /// A stand-in in front of moto on `upstream`, playing `scripts` (service name -> script).
    pub fn start(upstream: u16, scripts: Vec<(String, Script)>) -> Standin {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let world = Arc::new(Mutex::new(World {
            scripts: scripts.into_iter().collect(),
            services: BTreeMap::new(),
        }));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (w, r) = (Arc::clone(&world), Arc::clone(&requests));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (w, r) = (Arc::clone(&w), Arc::clone(&r));
                std::thread::spawn(move || serve(&stream, upstream, &w, &r));
            }
        });
        Standin {
            port,
            world,
            requests,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// How many requests named `operation` (`UpdateService`).
    pub fn count(&self, operation: &str) -> usize {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, _)| t == operation)
            .count()
    }

    /// The bodies of the requests named `operation`, parsed.
    pub fn bodies(&self, operation: &str) -> Vec<Value> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, _)| t == operation)
            .map(|(_, b)| serde_json::from_str(b).unwrap_or(Value::Null))
            .collect()
    }

    /// The operations seen, in order.
    pub fn operations(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// How many polls of `service` the stand-in saw.
    pub fn polls(&self, service: &str) -> usize {
        self.world
            .lock()
            .unwrap()
            .services
            .get(service)
            .map_or(0, |s| s.polls)
    }
}

fn serve(
    stream: &TcpStream,
    upstream: u16,
    world: &Mutex<World>,
    requests: &Mutex<Vec<(String, String)>>,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    while let Some((start, headers, body)) = read_message(&mut reader, false) {
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let target = header("x-amz-target").unwrap_or_default();
        let operation = target.strip_prefix(ECS).unwrap_or("").to_owned();
        let auth = header("authorization").unwrap_or_default();
        let text = String::from_utf8_lossy(&body).into_owned();
        requests.lock().unwrap().push((
            if operation.is_empty() {
                "other".to_owned()
            } else {
                operation.clone()
            },
            text.clone(),
        ));
        let request: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let answer = match operation.as_str() {
            "ListServiceDeployments"
            | "DescribeServiceDeployments"
            | "DescribeServiceRevisions"
            | "ListTasks"
            | "DescribeTasks" => own(&operation, &request, world, upstream, &auth),
            _ => None,
        };
        let (status, extra, payload) = if let Some(answer) = answer {
            answer
        } else {
            {
                let (status, up_headers, up_body) = forward(upstream, &start, &headers, &body);
                let patched = if status == 200 {
                    patch(&operation, &request, &up_body, world)
                } else {
                    up_body
                };
                let keep: Vec<(String, String)> = up_headers
                    .into_iter()
                    .filter(|(k, _)| {
                        !matches!(
                            k.as_str(),
                            "connection" | "transfer-encoding" | "content-length"
                        )
                    })
                    .collect();
                (status, keep, patched)
            }
        };
        let mut head = format!(
            "HTTP/1.1 {status} X\r\ncontent-length: {}\r\n",
            payload.len()
        );
        for (k, v) in &extra {
            let _ = write!(head, "{k}: {v}\r\n");
        }
        if !extra.iter().any(|(k, _)| k == "content-type") {
            head.push_str("content-type: application/x-amz-json-1.1\r\n");
        }
        head.push_str("\r\n");
        let mut out = stream;
        if out.write_all(head.as_bytes()).is_err() || out.write_all(&payload).is_err() {
            return;
        }
    }
}

/// Sends the request to moto as it came; the answer's status, headers and body.
fn forward(
    upstream: u16,
    start: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let up = super::aws::pass_on(upstream, start, headers, body);
    let (status, headers, body) =
        read_message(&mut BufReader::new(up), true).expect("an answer from moto");
    (
        status.split(' ').nth(1).unwrap().parse().unwrap(),
        headers,
        body,
    )
}

/// One ECS call straight to moto, signed with `auth` as the caller's (moto reads the account from
/// the access key and checks no signature).
fn moto_call(upstream: u16, auth: &str, operation: &str, body: &Value) -> Value {
    let (status, text) = super::aws::http(
        upstream,
        "POST",
        "/",
        &[
            ("Content-Type", "application/x-amz-json-1.1"),
            ("X-Amz-Target", &format!("{ECS}{operation}")),
            ("Authorization", auth),
        ],
        body.to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{operation}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// The answers moto gives, changed where a script plays the service.
fn patch(operation: &str, request: &Value, body: &[u8], world: &Mutex<World>) -> Vec<u8> {
    let Ok(mut answer) = serde_json::from_slice::<Value>(body) else {
        return body.to_vec();
    };
    let mut world = world.lock().unwrap();
    match operation {
        "DescribeServices" => {
            if let Some(services) = answer["services"].as_array_mut() {
                for s in services {
                    let name = s["serviceName"].as_str().unwrap_or_default().to_owned();
                    let Some(svc) = world.service(&name, s) else {
                        continue;
                    };
                    svc.resync(s["taskDefinition"].as_str().unwrap_or_default());
                    svc.poll();
                    svc.render(s);
                }
            }
        }
        "UpdateService" => {
            let name = request["service"].as_str().unwrap_or_default();
            let name = name.rsplit('/').next().unwrap_or(name).to_owned();
            let td = answer["service"]["taskDefinition"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let s = &mut answer["service"];
            if let Some(svc) = world.service(&name, s) {
                svc.start(&td);
                svc.render(s);
            }
        }
        "DescribeTaskDefinition" => {
            let family = answer["taskDefinition"]["family"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let field = world
                .scripts
                .get(&family)
                .and_then(|s| s.unknown_field.clone());
            if let Some((key, value)) = field {
                answer["taskDefinition"][key] = value;
            }
        }
        _ => return body.to_vec(),
    }
    answer.to_string().into_bytes()
}

impl World {
    /// The model of service `name` (seen in moto's answer `s`), made on first sight.
    fn service(&mut self, name: &str, s: &Value) -> Option<&mut Svc> {
        let script = self.scripts.get(name)?.clone();
        let arn = s["serviceArn"].as_str().unwrap_or_default().to_owned();
        let parts: Vec<&str> = arn.split(':').collect();
        let (region, account) = (
            parts.get(3).copied().unwrap_or("eu-west-1").to_owned(),
            parts.get(4).copied().unwrap_or("123456789012").to_owned(),
        );
        let cluster = s["clusterArn"]
            .as_str()
            .unwrap_or_default()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let td = s["taskDefinition"].as_str().unwrap_or_default().to_owned();
        Some(self.services.entry(name.to_owned()).or_insert_with(|| {
            let in_flight = script.in_flight_polls > 0;
            Svc {
                deployments: vec![Dep {
                    id: "ecs-svc/1000000000000000001".to_owned(),
                    sd_id: "Sd1Initial".to_owned(),
                    task_definition: td,
                    status: "PRIMARY",
                    rollout: if in_flight {
                        "IN_PROGRESS"
                    } else {
                        "COMPLETED"
                    },
                    reason: if in_flight {
                        "ECS deployment ecs-svc/1000000000000000001 in progress.".to_owned()
                    } else {
                        "ECS deployment ecs-svc/1000000000000000001 completed.".to_owned()
                    },
                    sd_status: if in_flight {
                        "IN_PROGRESS"
                    } else {
                        "SUCCESSFUL"
                    },
                    stage: if in_flight { "SCALE_UP" } else { "CLEAN_UP" },
                    paused: None,
                    rollback: None,
                    created: now() - 3600.0,
                    ours: false,
                    listed: true,
                }],
                script,
                arn,
                cluster,
                account,
                region,
                polls: 0,
                polls_since_update: None,
                events: vec![(
                    now() - 3000.0,
                    format!("(service {name}) has reached a steady state."),
                )],
                stopped: Vec::new(),
                counter: 1,
            }
        }))
    }
}

impl Svc {
    fn name(&self) -> String {
        self.arn.rsplit('/').next().unwrap_or_default().to_owned()
    }

    fn sd_arn(&self, d: &Dep) -> String {
        format!(
            "arn:aws:ecs:{}:{}:service-deployment/{}/{}/{}",
            self.region,
            self.account,
            self.cluster,
            self.name(),
            d.sd_id
        )
    }

    fn revision_arn(&self, td: &str) -> String {
        let rev = td.rsplit(':').next().unwrap_or("0");
        format!(
            "arn:aws:ecs:{}:{}:service-revision/{}/{}/{rev}0000",
            self.region,
            self.account,
            self.cluster,
            self.name()
        )
    }

    fn new_id(&mut self) -> (String, String) {
        self.counter += 1;
        (
            format!("ecs-svc/100000000000000000{}", self.counter),
            format!("Sd{}Deploy", self.counter),
        )
    }

    /// `UpdateService` to `td`: a new PRIMARY deployment, `IN_PROGRESS`.
    fn start(&mut self, td: &str) {
        let (id, sd_id) = self.new_id();
        for d in &mut self.deployments {
            d.status = "ACTIVE";
        }
        self.deployments.insert(
            0,
            Dep {
                id: id.clone(),
                sd_id,
                task_definition: td.to_owned(),
                status: "PRIMARY",
                rollout: "IN_PROGRESS",
                reason: format!("ECS deployment {id} in progress."),
                sd_status: "PENDING",
                stage: "RECONCILE_SERVICE",
                paused: None,
                rollback: None,
                created: now(),
                ours: true,
                listed: true,
            },
        );
        self.polls_since_update = Some(0);
        let name = self.name();
        self.events.push((
            now(),
            format!("(service {name}) has started 2 tasks: (task 1a2b3c)."),
        ));
    }

    /// The service was deployed outside the stand-in (straight to moto, `td`): that deployment
    /// completed.
    fn resync(&mut self, td: &str) {
        if self.polls_since_update.is_none()
            && self.deployments.len() == 1
            && self.deployments[0].task_definition != td
        {
            let (id, sd_id) = self.new_id();
            let d = &mut self.deployments[0];
            td.clone_into(&mut d.task_definition);
            d.reason = format!("ECS deployment {id} completed.");
            d.id = id;
            d.sd_id = sd_id;
        }
    }

    /// One poll: the script moves on.
    // A step per arm: the script's behaviours side by side.
    #[allow(clippy::too_many_lines)]
    fn poll(&mut self) {
        self.polls += 1;
        if self.polls_since_update.is_none() && self.script.race_at_poll == Some(self.polls) {
            let (id, sd_id) = self.new_id();
            let mut other = self.deployments[0].clone();
            self.deployments[0].status = "ACTIVE";
            other.id.clone_from(&id);
            other.sd_id = sd_id;
            other.rollout = "IN_PROGRESS";
            other.sd_status = "IN_PROGRESS";
            other.reason = format!("ECS deployment {id} in progress.");
            self.deployments.insert(0, other);
        }
        if self.polls_since_update.is_none() {
            if self.script.in_flight_polls > 0 && self.polls > self.script.in_flight_polls {
                let d = &mut self.deployments[0];
                if d.rollout == "IN_PROGRESS" {
                    d.rollout = "COMPLETED";
                    d.sd_status = "SUCCESSFUL";
                    d.reason = format!("ECS deployment {} completed.", d.id);
                }
            }
            return;
        }
        let n = self.polls_since_update.unwrap() + 1;
        self.polls_since_update = Some(n);
        let step = self.script.steps[(n - 1).min(self.script.steps.len() - 1)].clone();
        let name = self.name();
        let Some(at) = self.deployments.iter().position(|d| d.ours) else {
            return;
        };
        match step {
            Step::Going => {
                let d = &mut self.deployments[at];
                d.sd_status = "IN_PROGRESS";
                d.stage = "SCALE_UP";
            }
            Step::Paused => {
                let d = &mut self.deployments[at];
                d.sd_status = "IN_PROGRESS";
                d.stage = "POST_TEST_TRAFFIC_SHIFT";
                d.paused.get_or_insert(now() + 86_400.0);
            }
            Step::Done => {
                let d = &mut self.deployments[at];
                d.sd_status = "SUCCESSFUL";
                d.stage = "CLEAN_UP";
                d.rollout = "COMPLETED";
                d.paused = None;
                d.reason = format!("ECS deployment {} completed.", d.id);
                let keep = d.clone();
                self.deployments = vec![keep];
                if self.events.last().is_none_or(|e| !e.1.contains("steady")) {
                    self.events.push((
                        now() + 60.0,
                        format!("(service {name}) has reached a steady state."),
                    ));
                }
            }
            Step::CircuitBreaker => {
                if self.deployments[at].sd_status == "ROLLBACK_IN_PROGRESS" {
                    return;
                }
                let previous = self
                    .deployments
                    .iter()
                    .find(|d| !d.ours)
                    .map(|d| d.task_definition.clone())
                    .unwrap_or_default();
                let (id, sd_id) = self.new_id();
                let ours_id = self.deployments[at].id.clone();
                {
                    let d = &mut self.deployments[at];
                    d.status = "ACTIVE";
                    d.rollout = "FAILED";
                    "ECS deployment circuit breaker: tasks failed to start."
                        .clone_into(&mut d.reason);
                    d.sd_status = "ROLLBACK_IN_PROGRESS";
                    d.rollback = Some(previous.clone());
                }
                self.deployments.retain(|d| d.ours);
                self.deployments.insert(
                    0,
                    Dep {
                        id,
                        sd_id,
                        task_definition: previous,
                        status: "PRIMARY",
                        rollout: "IN_PROGRESS",
                        reason: "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1000000000000000001".to_owned(),
                        sd_status: "IN_PROGRESS",
                        stage: "SCALE_UP",
                        paused: None,
                        rollback: None,
                        created: now(),
                        ours: false,
                        listed: false,
                    },
                );
                let td = self.deployments[1].task_definition.clone();
                for i in 0..3 {
                    self.stopped.push(json!({
                        "taskArn": format!("arn:aws:ecs:{}:{}:task/{}/deadbeef{i}", self.region, self.account, self.cluster),
                        "taskDefinitionArn": td,
                        "lastStatus": "STOPPED",
                        "desiredStatus": "STOPPED",
                        "stopCode": "TaskFailedToStart",
                        "stoppedReason": self.script.stopped_reason,
                        "stoppedAt": now() + 30.0 + f64::from(i),
                        "containers": [{"name": "app", "lastStatus": "STOPPED", "reason": self.script.stopped_reason}]
                    }));
                }
                self.events.push((now() + 80.0, format!("(service {name}) (deployment {ours_id}) deployment failed: tasks failed to start.")));
                self.events.push((
                    now() + 90.0,
                    format!(
                        "(service {name}) rolling back to deployment ecs-svc/1000000000000000001."
                    ),
                ));
            }
            Step::RolledBack => {
                // The failed deployment leaves DescribeServices but stays listed by the service
                // deployment calls, ROLLBACK_SUCCESSFUL; the rollback completes.
                self.deployments[at].sd_status = "ROLLBACK_SUCCESSFUL";
                for d in self.deployments.iter_mut().filter(|d| !d.ours) {
                    d.rollout = "COMPLETED";
                    d.sd_status = "SUCCESSFUL";
                }
            }
            Step::Superseded => {
                if self.deployments[0].ours {
                    let previous = self
                        .deployments
                        .iter()
                        .find(|d| !d.ours)
                        .map(|d| d.task_definition.clone())
                        .unwrap_or_default();
                    let (id, sd_id) = self.new_id();
                    let d = &mut self.deployments[at];
                    d.status = "ACTIVE";
                    d.sd_status = "STOPPED";
                    "ECS deployment stopped: another deployment started.".clone_into(&mut d.reason);
                    self.deployments.insert(
                        0,
                        Dep {
                            id: id.clone(),
                            sd_id,
                            task_definition: previous,
                            status: "PRIMARY",
                            rollout: "IN_PROGRESS",
                            reason: format!("ECS deployment {id} in progress."),
                            sd_status: "IN_PROGRESS",
                            stage: "SCALE_UP",
                            paused: None,
                            rollback: None,
                            created: now(),
                            ours: false,
                            listed: true,
                        },
                    );
                }
            }
        }
    }

    /// Writes the model into moto's answer `s` for the service.
    fn render(&self, s: &mut Value) {
        let primary = &self.deployments[0];
        s["taskDefinition"] = json!(primary.task_definition);
        s["deployments"] = Value::Array(
            self.deployments
                .iter()
                .filter(|d| d.sd_status != "ROLLBACK_SUCCESSFUL")
                .map(|d| {
                    let running = if d.rollout == "COMPLETED" {
                        self.script.tasks
                    } else {
                        1
                    };
                    json!({
                        "id": d.id,
                        "status": d.status,
                        "taskDefinition": d.task_definition,
                        "desiredCount": self.script.tasks,
                        "pendingCount": 0,
                        "runningCount": running,
                        "failedTasks": if d.rollout == "FAILED" { 3 } else { 0 },
                        "createdAt": d.created,
                        "updatedAt": d.created,
                        "launchType": "FARGATE",
                        "rolloutState": d.rollout,
                        "rolloutStateReason": d.reason
                    })
                })
                .collect(),
        );
        s["events"] = Value::Array(
            self.events
                .iter()
                .rev()
                .enumerate()
                .map(|(i, (t, m))| json!({"id": format!("e{i}"), "createdAt": t, "message": m}))
                .collect(),
        );
        s["deploymentConfiguration"] = json!({
            "deploymentCircuitBreaker": {"enable": true, "rollback": true},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
            "strategy": self.script.strategy,
            "bakeTimeInMinutes": self.script.bake_minutes
        });
        if self.script.service_deployments {
            let current = self.deployments.iter().find(|d| d.ours).unwrap_or(primary);
            s["currentServiceDeployment"] = json!(self.sd_arn(current));
        }
    }

    fn service_deployment(&self, d: &Dep) -> Value {
        let mut sd = json!({
            "serviceDeploymentArn": self.sd_arn(d),
            "serviceArn": self.arn,
            "clusterArn": format!("arn:aws:ecs:{}:{}:cluster/{}", self.region, self.account, self.cluster),
            "createdAt": d.created,
            "startedAt": d.created,
            "updatedAt": d.created,
            "targetServiceRevision": {
                "arn": self.revision_arn(&d.task_definition),
                "requestedTaskCount": self.script.tasks,
                "runningTaskCount": if d.sd_status == "SUCCESSFUL" { self.script.tasks } else { 1 },
                "pendingTaskCount": 0
            },
            "status": d.sd_status,
            "lifecycleStage": d.stage,
            "deploymentCircuitBreaker": {"status": "MONITORING", "failureCount": 0, "threshold": 3}
        });
        if let Some(expires) = d.paused {
            sd["lifecycleHookDetails"] = json!([{
                "hookId": "ecs-pause-0a1b2c3d",
                "targetType": "PAUSE",
                "status": "AWAITING_ACTION",
                "expiresAt": expires,
                "timeoutAction": "ROLLBACK"
            }]);
        }
        if let Some(previous) = &d.rollback {
            sd["statusReason"] = json!("ECS deployment circuit breaker: tasks failed to start.");
            sd["deploymentCircuitBreaker"] =
                json!({"status": "TRIGGERED", "failureCount": 3, "threshold": 3});
            sd["rollback"] = json!({
                "reason": "Service deployment rolled back because the circuit breaker threshold was exceeded.",
                "startedAt": now() + 90.0,
                "serviceRevisionArn": self.revision_arn(previous)
            });
        }
        if d.sd_status == "STOPPED" {
            sd["statusReason"] =
                json!("The service deployment was stopped: a newer deployment started.");
        }
        sd
    }
}

/// An answer: status, headers, body.
type Answer = (u16, Vec<(String, String)>, Vec<u8>);

/// The calls moto lacks (or answers without the script's tasks), answered from the model.
// A call per arm, each as the ECS API reference shapes its answer.
#[allow(clippy::too_many_lines)]
fn own(
    operation: &str,
    request: &Value,
    world: &Mutex<World>,
    upstream: u16,
    auth: &str,
) -> Option<Answer> {
    let world = world.lock().unwrap();
    let by_service = |name: &str| world.services.get(name.rsplit('/').next().unwrap_or(name));
    let unsupported = || {
        Some((
            400,
            vec![(
                "x-amzn-errortype".to_owned(),
                "UnknownOperationException".to_owned(),
            )],
            json!({"__type": "UnknownOperationException", "message": "Unknown operation"})
                .to_string()
                .into_bytes(),
        ))
    };
    let ok = |v: Value| Some((200, Vec::new(), v.to_string().into_bytes()));
    let sd_services = || {
        world
            .services
            .values()
            .filter(|s| s.script.service_deployments)
    };
    match operation {
        "ListServiceDeployments" => {
            let svc = by_service(request["service"].as_str().unwrap_or_default())?;
            if !svc.script.service_deployments {
                return unsupported();
            }
            let mut all: Vec<&Dep> = svc.deployments.iter().filter(|d| d.listed).collect();
            all.sort_by(|a, b| b.created.total_cmp(&a.created));
            ok(json!({"serviceDeployments": all.iter().map(|d| json!({
                "serviceDeploymentArn": svc.sd_arn(d),
                "serviceArn": svc.arn,
                "createdAt": d.created,
                "targetServiceRevisionArn": svc.revision_arn(&d.task_definition),
                "status": d.sd_status
            })).collect::<Vec<_>>()}))
        }
        "DescribeServiceDeployments" => {
            let arns: Vec<&str> = request["serviceDeploymentArns"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut found = Vec::new();
            for svc in sd_services() {
                for d in svc.deployments.iter().filter(|d| d.listed) {
                    if arns.contains(&svc.sd_arn(d).as_str()) {
                        found.push(svc.service_deployment(d));
                    }
                }
            }
            if found.is_empty()
                && world
                    .services
                    .values()
                    .all(|s| !s.script.service_deployments)
            {
                return unsupported();
            }
            ok(json!({"serviceDeployments": found, "failures": []}))
        }
        "DescribeServiceRevisions" => {
            let arns: Vec<&str> = request["serviceRevisionArns"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut found = Vec::new();
            for svc in sd_services() {
                let mut tds: Vec<&str> = svc
                    .deployments
                    .iter()
                    .map(|d| d.task_definition.as_str())
                    .collect();
                tds.extend(svc.deployments.iter().filter_map(|d| d.rollback.as_deref()));
                for td in tds {
                    let arn = svc.revision_arn(td);
                    if arns.contains(&arn.as_str())
                        && !found
                            .iter()
                            .any(|f: &Value| f["serviceRevisionArn"] == json!(arn))
                    {
                        let images = container_images(upstream, auth, td);
                        found.push(json!({
                            "serviceRevisionArn": arn,
                            "serviceArn": svc.arn,
                            "taskDefinition": td,
                            "containerImages": images,
                            "createdAt": now()
                        }));
                    }
                }
            }
            ok(json!({"serviceRevisions": found, "failures": []}))
        }
        "ListTasks" => {
            let svc = by_service(request["serviceName"].as_str().unwrap_or_default())?;
            let stopped = request["desiredStatus"].as_str() == Some("STOPPED");
            let arns: Vec<Value> = if stopped {
                svc.stopped.iter().map(|t| t["taskArn"].clone()).collect()
            } else {
                (0..svc.script.tasks)
                    .map(|i| {
                        json!(format!(
                            "arn:aws:ecs:{}:{}:task/{}/{}run{i}",
                            svc.region,
                            svc.account,
                            svc.cluster,
                            svc.name()
                        ))
                    })
                    .collect()
            };
            ok(json!({"taskArns": arns}))
        }
        "DescribeTasks" => {
            let wanted: Vec<&str> = request["tasks"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut tasks = Vec::new();
            for svc in world.services.values() {
                for t in &svc.stopped {
                    if wanted.contains(&t["taskArn"].as_str().unwrap_or_default()) {
                        tasks.push(t.clone());
                    }
                }
                let td = &svc.deployments[0].task_definition;
                for i in 0..svc.script.tasks {
                    let arn = format!(
                        "arn:aws:ecs:{}:{}:task/{}/{}run{i}",
                        svc.region,
                        svc.account,
                        svc.cluster,
                        svc.name()
                    );
                    if wanted.contains(&arn.as_str()) {
                        let containers: Vec<Value> = container_images(upstream, auth, td)
                            .into_iter()
                            .map(|c| json!({"name": c["containerName"], "image": c["image"], "imageDigest": c["imageDigest"], "lastStatus": "RUNNING"}))
                            .collect();
                        tasks.push(json!({
                            "taskArn": arn,
                            "taskDefinitionArn": td,
                            "lastStatus": "RUNNING",
                            "desiredStatus": "RUNNING",
                            "startedBy": svc.deployments[0].id,
                            "containers": containers
                        }));
                    }
                }
            }
            ok(json!({"tasks": tasks, "failures": []}))
        }
        _ => None,
    }
}

/// The containers of task definition `td` (from moto) with the digest each image pins (a tag
/// resolves to a fixed digest, as ECS would resolve it).
fn container_images(upstream: u16, auth: &str, td: &str) -> Vec<Value> {
    let answer = moto_call(
        upstream,
        auth,
        "DescribeTaskDefinition",
        &json!({"taskDefinition": td}),
    );
    answer["taskDefinition"]["containerDefinitions"]
        .as_array()
        .map(|defs| {
            defs.iter()
                .map(|c| {
                    let image = c["image"].as_str().unwrap_or_default();
                    let digest = image.split_once('@').map_or_else(
                        || format!("sha256:{}", "e".repeat(64)),
                        |(_, d)| d.to_owned(),
                    );
                    json!({"containerName": c["name"], "image": image, "imageDigest": digest})
                })
                .collect()
        })
        .unwrap_or_default()
}
