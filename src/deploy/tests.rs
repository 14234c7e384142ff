//! The deploy logic against the AWS SDK's own mock client (aws-smithy-mocks): each test answers
//! the ECS calls from rules, as ECS answers them in the behaviour named, and runs the real
//! orchestrator (serializers, deserializers, interceptors) with a clock that does not sleep.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_ecs::Client;
use aws_sdk_ecs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_ecs::operation::describe_service_deployments::DescribeServiceDeploymentsOutput;
use aws_sdk_ecs::operation::describe_service_revisions::DescribeServiceRevisionsOutput;
use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
use aws_sdk_ecs::operation::list_tasks::ListTasksOutput;
use aws_sdk_ecs::types::{
    Container, ContainerImage, Deployment, DeploymentLifecycleHookDetail,
    DeploymentLifecycleHookStatus, DeploymentLifecycleHookTargetType, DeploymentRolloutState,
    DesiredStatus, Service, ServiceDeployment, ServiceDeploymentLifecycleStage,
    ServiceDeploymentStatus, ServiceRevision, ServiceRevisionSummary, Task, TaskStopCode,
};
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use aws_smithy_types::retry::RetryConfig;

use super::Written;
use super::follow::{self, Clock, Follow, Line, Mode, Outcome, Verdict};
use crate::aws::ecs_deploy::Ecs;
use crate::aws::ecs_deploy::wait::Woke;

const TD_OLD: &str = "arn:aws:ecs:eu-west-1:111122223333:task-definition/web:7";
const TD_NEW: &str = "arn:aws:ecs:eu-west-1:111122223333:task-definition/web:8";
const SD: &str = "arn:aws:ecs:eu-west-1:111122223333:service-deployment/prod/web/r9i43YFjvgF";
const REV: &str =
    "arn:aws:ecs:eu-west-1:111122223333:service-revision/prod/web/4980306466373577095";
const DIGEST: &str = "sha256:5a1f0e6b8e1f4f3f2d9c7b1a6e3d2c4b5a69788f7e6d5c4b3a2918070f6e5d4c";
const OTHER: &str = "sha256:c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2";

/// An ECS client whose calls the rules answer: the SDK's config builder as imagedef's own uses it
/// (region, credentials, imagedef's interceptors), the mock HTTP client, no retries.
fn client(rules: &[&Rule]) -> Client {
    let mut mocks = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for rule in rules {
        mocks = mocks.with_rule(rule);
    }
    let config = aws_sdk_ecs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .retry_config(RetryConfig::disabled())
        .http_client(create_mock_http_client())
        .interceptor(mocks)
        .build();
    Client::from_conf(config)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A clock that never sleeps: each wait moves it on; SIGTERM comes at the `term_at`-th wait.
struct TestClock {
    start: Instant,
    elapsed: Duration,
    waits: usize,
    term_at: Option<usize>,
}

impl TestClock {
    fn new() -> TestClock {
        TestClock {
            start: Instant::now(),
            elapsed: Duration::ZERO,
            waits: 0,
            term_at: None,
        }
    }
}

impl Clock for TestClock {
    fn now(&self) -> Instant {
        self.start + self.elapsed
    }

    fn wait(&mut self, pause: Duration) -> Woke {
        self.waits += 1;
        if self.term_at == Some(self.waits) {
            return Woke::Terminated;
        }
        self.elapsed += pause;
        Woke::Elapsed
    }
}

fn written() -> Vec<Written> {
    let image = format!("111122223333.dkr.ecr.eu-west-1.amazonaws.com/shop/web@{DIGEST}");
    vec![Written {
        container: "app".to_owned(),
        digest: Some(DIGEST.parse().unwrap()),
        image: image.parse().unwrap(),
    }]
}

fn the_follow(mode: Mode) -> Follow {
    Follow {
        shown: "ecs://prod/web".to_owned(),
        cluster: "prod".to_owned(),
        service: "web".to_owned(),
        client: 0,
        mode,
        task_definition: TD_NEW.to_owned(),
        since: None,
        service_deployment: None,
        written: written(),
    }
}

fn deployment(
    id: &str,
    td: &str,
    status: &str,
    rollout: DeploymentRolloutState,
    reason: &str,
) -> Deployment {
    Deployment::builder()
        .id(id)
        .task_definition(td)
        .status(status)
        .rollout_state(rollout)
        .rollout_state_reason(reason)
        .desired_count(2)
        .running_count(1)
        .build()
}

fn service(td: &str, deployments: Vec<Deployment>) -> Service {
    Service::builder()
        .service_name("web")
        .service_arn("arn:aws:ecs:eu-west-1:111122223333:service/prod/web")
        .task_definition(td)
        .status("ACTIVE")
        .set_deployments(Some(deployments))
        .build()
}

fn task(id: &str, td: &str, digest: &str) -> Task {
    Task::builder()
        .task_arn(format!("arn:aws:ecs:eu-west-1:111122223333:task/prod/{id}"))
        .task_definition_arn(td)
        .last_status("RUNNING")
        .containers(
            Container::builder()
                .name("app")
                .image_digest(digest)
                .build(),
        )
        .build()
}

/// `ListTasks` and `DescribeTasks`: `running` for RUNNING, `stopped` for STOPPED.
fn tasks(running: Vec<Task>, stopped: Vec<Task>) -> (Rule, Rule) {
    let arns = |ts: &[Task]| -> Vec<String> {
        ts.iter()
            .filter_map(|t| t.task_arn().map(str::to_owned))
            .collect()
    };
    let (r, s) = (arns(&running), arns(&stopped));
    let list = mock!(Client::list_tasks).then_compute_output(move |input| {
        let arns = if input.desired_status() == Some(&DesiredStatus::Stopped) {
            s.clone()
        } else {
            r.clone()
        };
        ListTasksOutput::builder().set_task_arns(Some(arns)).build()
    });
    let all: Vec<Task> = running.into_iter().chain(stopped).collect();
    let describe = mock!(Client::describe_tasks).then_compute_output(move |input| {
        let wanted = input.tasks();
        DescribeTasksOutput::builder()
            .set_tasks(Some(
                all.iter()
                    .filter(|t| t.task_arn().is_some_and(|a| wanted.iter().any(|w| w == a)))
                    .cloned()
                    .collect(),
            ))
            .build()
    });
    (list, describe)
}

/// `DescribeServices` answering with each of `services` in turn, the last one from then on.
fn services_in_turn(services: Vec<Service>) -> Rule {
    let mut seq = mock!(Client::describe_services).sequence();
    for s in services {
        seq = seq.output(move || {
            DescribeServicesOutput::builder()
                .services(s.clone())
                .build()
        });
    }
    seq.repeatedly().build()
}

/// The service deployment calls as an endpoint without them answers.
fn no_service_deployments() -> Rule {
    mock!(Client::list_service_deployments).then_http_response(|| {
        let mut answer = http_response(400, r#"{"__type":"UnknownOperationException"}"#.to_owned());
        answer
            .headers_mut()
            .insert("x-amzn-errortype", "UnknownOperationException");
        answer
    })
}

fn http_response(status: u16, body: String) -> aws_smithy_runtime_api::http::Response {
    aws_smithy_runtime_api::http::Response::new(
        aws_smithy_runtime_api::http::StatusCode::try_from(status).unwrap(),
        aws_smithy_types::body::SdkBody::from(body),
    )
}

fn run(
    rules: &[&Rule],
    follow: Follow,
    settings: follow::Settings,
    clock: &mut TestClock,
) -> (Verdict, Vec<Line>) {
    let rt = runtime();
    let ecs = Ecs::with_client(&rt, client(rules), "eu-west-1");
    let mut lines = Vec::new();
    let mut verdicts = follow::follow_all(&[ecs], vec![follow], settings, clock, &mut |l| {
        lines.push(l);
    });
    (verdicts.remove(0), lines)
}

const EVERY_SECOND: follow::Settings = follow::Settings {
    poll: Duration::from_secs(1),
    timeout: Duration::from_mins(1),
    given: Duration::from_mins(1),
};

#[test]
fn a_circuit_breaker_rollback_is_reported_at_the_next_poll_with_the_tasks_cause() {
    let going = service(
        TD_NEW,
        vec![
            deployment(
                "ecs-svc/2",
                TD_NEW,
                "PRIMARY",
                DeploymentRolloutState::InProgress,
                "ECS deployment ecs-svc/2 in progress.",
            ),
            deployment(
                "ecs-svc/1",
                TD_OLD,
                "ACTIVE",
                DeploymentRolloutState::Completed,
                "ECS deployment ecs-svc/1 completed.",
            ),
        ],
    );
    // ECS's circuit breaker: the deployment FAILED, a new PRIMARY rolls back to the old revision.
    let rolled_back = service(
        TD_OLD,
        vec![
            deployment(
                "ecs-svc/3",
                TD_OLD,
                "PRIMARY",
                DeploymentRolloutState::InProgress,
                "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1",
            ),
            deployment(
                "ecs-svc/2",
                TD_NEW,
                "ACTIVE",
                DeploymentRolloutState::Failed,
                "ECS deployment circuit breaker: tasks failed to start.",
            ),
        ],
    );
    let describe = services_in_turn(vec![going.clone(), going, rolled_back]);
    let stopped = Task::builder()
        .task_arn("arn:aws:ecs:eu-west-1:111122223333:task/prod/0f1e2d")
        .task_definition_arn(TD_NEW)
        .last_status("STOPPED")
        .stop_code(TaskStopCode::TaskFailedToStart)
        .stopped_reason("CannotPullContainerError: pull image manifest has been retried 5 time(s): image Manifest does not contain descriptor matching platform 'linux/arm64'")
        .containers(Container::builder().name("app").reason("CannotPullContainerError: image Manifest does not contain descriptor matching platform 'linux/arm64'").build())
        .build();
    let (list, tasks) = tasks(vec![], vec![stopped]);
    let none = no_service_deployments();
    let mut clock = TestClock::new();
    let (verdict, lines) = run(
        &[&describe, &list, &tasks, &none],
        the_follow(Mode::Deploy),
        EVERY_SECOND,
        &mut clock,
    );
    assert_eq!(verdict.outcome, Outcome::Failed, "{verdict:#?}");
    assert!(verdict.summary.contains("FAILED: deployment ecs-svc/2 FAILED: ECS deployment circuit breaker: tasks failed to start."), "{}", verdict.summary);
    let cause = verdict.cause.join("\n");
    assert!(
        cause.contains("task 0f1e2d (web:8) stopped (TaskFailedToStart): CannotPullContainerError"),
        "{cause}"
    );
    assert!(
        cause.contains("fix: the image has no manifest for the task's platform"),
        "{cause}"
    );
    // Seen at the third poll, after two waits: one poll interval after ECS marked it.
    assert_eq!(clock.waits, 2);
    assert_eq!(
        lines.len(),
        1,
        "one progress line while nothing changed: {lines:?}"
    );
}

#[test]
fn a_pause_hook_is_said_at_once_with_its_stage_and_expiry_then_the_deployment_succeeds() {
    let svc = Service::builder()
        .service_name("web")
        .task_definition(TD_NEW)
        .status("ACTIVE")
        .current_service_deployment(SD)
        .deployments(deployment(
            "ecs-svc/2",
            TD_NEW,
            "PRIMARY",
            DeploymentRolloutState::InProgress,
            "",
        ))
        .build();
    let describe = services_in_turn(vec![svc]);
    let sd = |status: ServiceDeploymentStatus, paused: bool| {
        let mut b = ServiceDeployment::builder()
            .service_deployment_arn(SD)
            .status(status)
            .lifecycle_stage(ServiceDeploymentLifecycleStage::PostTestTrafficShift)
            .target_service_revision(
                ServiceRevisionSummary::builder()
                    .arn(REV)
                    .requested_task_count(2)
                    .running_task_count(2)
                    .build(),
            );
        if paused {
            b = b.lifecycle_hook_details(
                DeploymentLifecycleHookDetail::builder()
                    .hook_id("ecs-pause-1")
                    .target_type(DeploymentLifecycleHookTargetType::Pause)
                    .status(DeploymentLifecycleHookStatus::AwaitingAction)
                    .expires_at(aws_smithy_types::DateTime::from_secs(1_900_000_000))
                    .build(),
            );
        }
        b.build()
    };
    let paused = sd(ServiceDeploymentStatus::InProgress, true);
    let done = sd(ServiceDeploymentStatus::Successful, false);
    let deployments = mock!(Client::describe_service_deployments)
        .sequence()
        .output({
            let p = paused.clone();
            move || {
                DescribeServiceDeploymentsOutput::builder()
                    .service_deployments(p.clone())
                    .build()
            }
        })
        .times(3)
        .output(move || {
            DescribeServiceDeploymentsOutput::builder()
                .service_deployments(done.clone())
                .build()
        })
        .repeatedly()
        .build();
    let revisions = mock!(Client::describe_service_revisions).then_output(|| {
        DescribeServiceRevisionsOutput::builder()
            .service_revisions(
                ServiceRevision::builder()
                    .service_revision_arn(REV)
                    .task_definition(TD_NEW)
                    .container_images(
                        ContainerImage::builder()
                            .container_name("app")
                            .image_digest(DIGEST)
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let (list, tasks) = tasks(
        vec![task("a1", TD_NEW, DIGEST), task("a2", TD_NEW, DIGEST)],
        vec![],
    );
    let mut clock = TestClock::new();
    let (verdict, lines) = run(
        &[&describe, &deployments, &revisions, &list, &tasks],
        the_follow(Mode::Deploy),
        EVERY_SECOND,
        &mut clock,
    );
    assert_eq!(verdict.outcome, Outcome::Deployed, "{verdict:#?}");
    assert_eq!(verdict.tasks, Some(2));
    assert_eq!(verdict.stages, ["POST_TEST_TRAFFIC_SHIFT"]);
    assert_eq!(verdict.service_deployment.as_deref(), Some(SD));
    let paused: Vec<&Line> = lines.iter().filter(|l| matches!(l, Line::Problem(t) if t.contains("paused at stage POST_TEST_TRAFFIC_SHIFT by a pause hook (ecs-pause-1) until 2030-03-17T17:46:40Z"))).collect();
    assert_eq!(paused.len(), 1, "said once, not at every poll: {lines:?}");
    assert!(verdict.summary.starts_with("deployed: deployment ecs-svc/2 SUCCESSFUL, 2 of 2 tasks running (ROLLING); 2 tasks run the written digests (app sha256:5a1f0e6b8e1f)"), "{}", verdict.summary);
}

#[test]
fn the_timeout_names_the_state_and_says_the_deployment_goes_on() {
    let going = service(
        TD_NEW,
        vec![deployment(
            "ecs-svc/2",
            TD_NEW,
            "PRIMARY",
            DeploymentRolloutState::InProgress,
            "",
        )],
    );
    let describe = services_in_turn(vec![going]);
    let none = no_service_deployments();
    let mut clock = TestClock::new();
    let settings = follow::Settings {
        poll: Duration::from_secs(15),
        timeout: Duration::from_secs(40),
        given: Duration::from_secs(40),
    };
    let (verdict, _) = run(
        &[&describe, &none],
        the_follow(Mode::Deploy),
        settings,
        &mut clock,
    );
    assert_eq!(verdict.outcome, Outcome::TimedOut);
    assert_eq!(
        clock.elapsed,
        Duration::from_secs(40),
        "the last wait is cut to the deadline"
    );
    assert!(verdict.summary.contains("TIMED OUT after 40s (--timeout): deployment ecs-svc/2 was deployment ecs-svc/2 IN_PROGRESS, 1 of 2 tasks running; it goes on in ECS"), "{}", verdict.summary);
}

#[test]
fn sigterm_ends_the_follow_saying_where_the_deployment_stood() {
    let going = service(
        TD_NEW,
        vec![deployment(
            "ecs-svc/2",
            TD_NEW,
            "PRIMARY",
            DeploymentRolloutState::InProgress,
            "",
        )],
    );
    let describe = services_in_turn(vec![going]);
    let none = no_service_deployments();
    let mut clock = TestClock::new();
    clock.term_at = Some(1);
    let (verdict, _) = run(
        &[&describe, &none],
        the_follow(Mode::Deploy),
        EVERY_SECOND,
        &mut clock,
    );
    assert_eq!(verdict.outcome, Outcome::Stopped);
    assert!(
        verdict.summary.starts_with(
            "STOPPED by SIGTERM (CodeBuild stopping the build): deployment ecs-svc/2 was"
        ),
        "{}",
        verdict.summary
    );
}

#[test]
fn a_deployment_replaced_by_another_one_fails_naming_both_and_the_digests() {
    let going = service(
        TD_NEW,
        vec![deployment(
            "ecs-svc/2",
            TD_NEW,
            "PRIMARY",
            DeploymentRolloutState::InProgress,
            "",
        )],
    );
    let td9 = "arn:aws:ecs:eu-west-1:111122223333:task-definition/web:9";
    let replaced = service(
        td9,
        vec![
            deployment(
                "ecs-svc/4",
                td9,
                "PRIMARY",
                DeploymentRolloutState::InProgress,
                "ECS deployment ecs-svc/4 in progress.",
            ),
            deployment(
                "ecs-svc/2",
                TD_NEW,
                "ACTIVE",
                DeploymentRolloutState::InProgress,
                "",
            ),
        ],
    );
    let describe = services_in_turn(vec![going, replaced]);
    let (list, tasks) = tasks(vec![task("b1", td9, OTHER)], vec![]);
    let none = no_service_deployments();
    let mut clock = TestClock::new();
    let (verdict, _) = run(
        &[&describe, &list, &tasks, &none],
        the_follow(Mode::Deploy),
        EVERY_SECOND,
        &mut clock,
    );
    assert_eq!(verdict.outcome, Outcome::Superseded, "{verdict:#?}");
    assert!(
        verdict
            .summary
            .contains("another deployment replaced it: ecs-svc/4 (task definition web:9"),
        "{}",
        verdict.summary
    );
    assert!(
        verdict.cause[0].contains(
            "container app written sha256:5a1f0e6b8e1f running sha256:c3ab8ff13720 (task b1)"
        ),
        "{:?}",
        verdict.cause
    );
}

#[test]
fn tasks_on_other_digests_after_success_fail_naming_container_and_digests() {
    let done = service(
        TD_NEW,
        vec![deployment(
            "ecs-svc/2",
            TD_NEW,
            "PRIMARY",
            DeploymentRolloutState::Completed,
            "",
        )],
    );
    let describe = services_in_turn(vec![done]);
    let (list, tasks) = tasks(
        vec![task("c1", TD_NEW, DIGEST), task("c2", TD_OLD, OTHER)],
        vec![],
    );
    let none = no_service_deployments();
    let mut clock = TestClock::new();
    let (verdict, _) = run(
        &[&describe, &list, &tasks, &none],
        the_follow(Mode::Deploy),
        EVERY_SECOND,
        &mut clock,
    );
    assert_eq!(verdict.outcome, Outcome::OtherDigests, "{verdict:#?}");
    assert!(
        verdict.summary.contains(
            "container app written sha256:5a1f0e6b8e1f running sha256:c3ab8ff13720 (task c2)"
        ),
        "{}",
        verdict.summary
    );
}

#[test]
fn fifty_services_in_one_cluster_cost_five_describe_services_a_poll() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let describe = mock!(Client::describe_services).then_compute_output(move |input| {
        let n = seen.fetch_add(1, Ordering::SeqCst);
        // Five calls a poll; complete from the second poll on.
        let state = if n >= 5 {
            DeploymentRolloutState::Completed
        } else {
            DeploymentRolloutState::InProgress
        };
        assert!(
            input.services().len() <= 10,
            "DescribeServices takes at most 10 services"
        );
        let services = input
            .services()
            .iter()
            .map(|name| {
                Service::builder()
                    .service_name(name)
                    .task_definition(TD_NEW)
                    .status("ACTIVE")
                    .deployments(deployment(
                        "ecs-svc/2",
                        TD_NEW,
                        "PRIMARY",
                        state.clone(),
                        "",
                    ))
                    .build()
            })
            .collect();
        DescribeServicesOutput::builder()
            .set_services(Some(services))
            .build()
    });
    let none = no_service_deployments();
    let (list, tasks) = tasks(vec![task("d1", TD_NEW, DIGEST)], vec![]);
    let rt = runtime();
    let ecs = Ecs::with_client(&rt, client(&[&describe, &none, &list, &tasks]), "eu-west-1");
    let follows: Vec<Follow> = (0..50)
        .map(|i| Follow {
            shown: format!("ecs://prod/svc{i}"),
            service: format!("svc{i}"),
            ..the_follow(Mode::Deploy)
        })
        .collect();
    let mut clock = TestClock::new();
    let verdicts = follow::follow_all(&[ecs], follows, EVERY_SECOND, &mut clock, &mut |_| {});
    assert!(verdicts.iter().all(|v| v.outcome == Outcome::Deployed));
    assert_eq!(clock.waits, 1, "two polls");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        10,
        "five DescribeServices a poll for 50 services"
    );
    // The endpoint does not answer the service deployment calls: asked once, then no more.
    assert_eq!(none.num_calls(), 1);
}

/// `DescribeTaskDefinition`'s answer as ECS sends it, with `extra` added to the task definition.
fn described(extra: &str) -> String {
    format!(
        r#"{{"taskDefinition":{{"taskDefinitionArn":"{TD_OLD}","family":"web","revision":7,"status":"ACTIVE","registeredAt":1.7E9,"registeredBy":"arn:aws:iam::111122223333:role/deployer","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"compatibilities":["EC2","FARGATE"],"cpu":"256","memory":"512","runtimePlatform":{{"cpuArchitecture":"ARM64","operatingSystemFamily":"LINUX"}},"requiresAttributes":[{{"name":"com.amazonaws.ecs.capability.logging-driver.awslogs"}}],"executionRoleArn":"arn:aws:iam::111122223333:role/exec","taskRoleArn":"arn:aws:iam::111122223333:role/task","volumes":[{{"name":"data","efsVolumeConfiguration":{{"fileSystemId":"fs-1","transitEncryption":"ENABLED","authorizationConfig":{{"accessPointId":"fsap-1","iam":"ENABLED"}}}}}}],"ephemeralStorage":{{"sizeInGiB":30}},"enableFaultInjection":false,"containerDefinitions":[{{"name":"app","image":"web:1","cpu":0,"essential":true,"portMappings":[{{"containerPort":8080,"hostPort":8080,"protocol":"tcp","name":"http","appProtocol":"http"}}],"environment":[{{"name":"K","value":"V"}}],"environmentFiles":[],"mountPoints":[{{"sourceVolume":"data","containerPath":"/data","readOnly":false}}],"volumesFrom":[],"secrets":[{{"name":"S","valueFrom":"arn:aws:ssm:eu-west-1:111122223333:parameter/s"}}],"dockerLabels":{{"any.label":"x"}},"ulimits":[{{"name":"nofile","softLimit":1024,"hardLimit":4096}}],"logConfiguration":{{"logDriver":"awslogs","options":{{"awslogs-group":"g"}},"secretOptions":[]}},"healthCheck":{{"command":["CMD","true"],"interval":30,"timeout":5,"retries":3,"startPeriod":10}},"linuxParameters":{{"initProcessEnabled":true,"capabilities":{{"add":["SYS_PTRACE"],"drop":[]}}}},"dependsOn":[{{"containerName":"proxy","condition":"HEALTHY"}}],"systemControls":[],"restartPolicy":{{"enabled":true,"ignoredExitCodes":[0],"restartAttemptPeriod":60}},"versionConsistency":"enabled"{extra}}},{{"name":"proxy","image":"proxy:1","essential":true,"firelensConfiguration":{{"type":"fluentbit","options":{{"enable-ecs-log-metadata":"true"}}}}}}],"placementConstraints":[]}},"tags":[{{"key":"team","value":"shop"}},{{"key":"aws:cloudformation:stack-name","value":"prod"}}]}}"#
    )
}

fn described_rule(extra: &'static str, top: &'static str) -> Rule {
    mock!(Client::describe_task_definition).then_http_response(move || {
        let body =
            described(extra).replacen(r#""family":"web","#, &format!(r#""family":"web",{top}"#), 1);
        http_response(200, body)
    })
}

#[test]
fn every_field_of_a_real_task_definition_is_read_by_the_sdk() {
    let rule = described_rule("", "");
    let rt = runtime();
    let ecs = Ecs::with_client(&rt, client(&[&rule]), "eu-west-1");
    let revision = ecs.describe_task_definition(TD_OLD).unwrap();
    assert!(revision.unread.is_empty(), "{:?}", revision.unread);
    assert_eq!(revision.tags.len(), 2);
}

#[test]
fn a_field_the_sdk_does_not_know_is_named_at_any_depth() {
    let rule = described_rule(
        r#","restartPolicyV2":{"x":1}"#,
        r#""trustedExecutionConfiguration":{"isolationMode":"SHARED"},"#,
    );
    let rt = runtime();
    let ecs = Ecs::with_client(&rt, client(&[&rule]), "eu-west-1");
    let revision = ecs.describe_task_definition(TD_OLD).unwrap();
    assert_eq!(
        revision.unread,
        [
            "taskDefinition.trustedExecutionConfiguration",
            "taskDefinition.containerDefinitions[0].restartPolicyV2"
        ]
    );
}

#[test]
fn the_registered_revision_is_the_running_one_with_only_the_named_image_and_no_aws_tags() {
    let rule = described_rule("", "");
    let captured = Arc::new(Mutex::new(None));
    let register = {
        let captured = Arc::clone(&captured);
        mock!(Client::register_task_definition).then_compute_output(move |input| {
            *captured.lock().unwrap() = Some(input.clone());
            aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionOutput::builder(
            )
            .task_definition(
                aws_sdk_ecs::types::TaskDefinition::builder()
                    .task_definition_arn(TD_NEW)
                    .build(),
            )
            .build()
        })
    };
    let rt = runtime();
    let ecs = Ecs::with_client(&rt, client(&[&rule, &register]), "eu-west-1");
    let running = ecs.describe_task_definition(TD_OLD).unwrap();
    let images = std::collections::BTreeMap::from([("app".to_owned(), format!("web@{DIGEST}"))]);
    let (request, dropped) = crate::aws::ecs_deploy::copy::request(
        ecs.register_request(),
        &running.task_definition,
        &running.tags,
        &images,
    );
    assert_eq!(dropped.len(), 1);
    let sent = crate::aws::ecs_deploy::copy::json(&request);
    let registered = ecs.register(request).unwrap();
    assert_eq!(registered.task_definition_arn(), Some(TD_NEW));
    let input = captured.lock().unwrap().clone().unwrap();
    assert_eq!(input.family(), Some("web"));
    // The body sent is the answer's task definition less what ECS sets, with the new image.
    let mut want: serde_json::Value = serde_json::from_str(&described("")).unwrap();
    let td = want["taskDefinition"].as_object_mut().unwrap();
    for key in [
        "taskDefinitionArn",
        "revision",
        "status",
        "registeredAt",
        "registeredBy",
        "compatibilities",
        "requiresAttributes",
    ] {
        td.remove(key);
    }
    td["containerDefinitions"][0]["image"] = serde_json::Value::String(format!("web@{DIGEST}"));
    // The SDK's ContainerDefinition.cpu is a plain integer: it sends ECS's default, 0.
    td["containerDefinitions"][1]["cpu"] = serde_json::json!(0);
    td.insert(
        "tags".to_owned(),
        serde_json::json!([{"key": "team", "value": "shop"}]),
    );
    let want = serde_json::Value::Object(td.clone());
    assert_eq!(sent, want);
}
