//! `deploy` and `confirm`: the ECS calls that read a service, register its next task-definition
//! revision, update it, and follow the deployment, each as one blocking call on the runtime of
//! [`Aws`] (or, in unit tests, on a runtime and a mock client of the test's own).
//!
//! - [`copy`]: the `RegisterTaskDefinition` request copied from what `DescribeTaskDefinition`
//!   returned, with only the named containers' images replaced;
//! - [`unread`]: the keys of a task definition's JSON that the SDK did not read (a copy would
//!   drop them);
//! - [`wait`]: the pause between polls, cut short by SIGTERM.
//!
//! Every failed call comes back as a [`Fault`] naming the call, its IAM action and the resource.

pub mod copy;
pub mod unread;
pub mod wait;

use std::sync::{Arc, Mutex};

use aws_credential_types::provider::ProvideCredentials as _;
use aws_sdk_ecs::types::{
    DesiredStatus, Service, ServiceDeployment, ServiceDeploymentBrief, ServiceRevision, Tag, Task,
    TaskDefinition, TaskDefinitionField,
};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use super::errors::{Call, Fault};
use super::{AttemptLog, Aws};
use crate::model::partition;

/// `DescribeServices` takes at most this many services a call.
pub const SERVICES_PER_CALL: usize = 10;
/// `DescribeServiceDeployments` and `DescribeServiceRevisions` take at most this many ARNs a call.
pub const ARNS_PER_CALL: usize = 20;
/// `DescribeTasks` takes at most this many tasks a call.
pub const TASKS_PER_CALL: usize = 100;

/// A failed call.
pub type CallResult<T> = Result<T, Box<Fault>>;

/// An ECS client in one region, with the credentials of the build or of an assumed role.
pub struct Ecs<'a> {
    runtime: &'a tokio::runtime::Runtime,
    client: aws_sdk_ecs::Client,
    pub region: String,
    /// `--role-arn` (or the mapping's `roleArn`), when the calls are made as that role.
    pub role: Option<String>,
}

/// `DescribeServices` of some services of one cluster: those found, and ECS's reasons for the
/// others (`MISSING`), by the name asked.
#[derive(Clone, Debug, Default)]
pub struct Described {
    pub services: Vec<Service>,
    pub missing: Vec<(String, String)>,
}

/// `DescribeTaskDefinition` with its tags, and the keys of its answer the SDK did not read.
#[derive(Clone, Debug)]
pub struct Revision {
    pub task_definition: TaskDefinition,
    pub tags: Vec<Tag>,
    /// The paths of the keys the SDK did not read ([`unread`]); a copy would drop them.
    pub unread: Vec<String>,
}

impl Aws {
    /// An ECS client for the default region (`AWS_REGION`), as `role` when given: the SDK's own
    /// STS provider assumes it (session `imagedef-deploy`), at the endpoint override too. The
    /// credentials are fetched here, so a role that cannot be assumed fails before any call.
    pub fn ecs_deploy(&self, role: Option<&str>) -> anyhow::Result<Ecs<'_>> {
        let region = self.default_region("the ECS deploy", "")?;
        self.check_credentials()?;
        let mut config = aws_sdk_ecs::config::Builder::from(&self.config)
            .region(region.clone())
            .interceptor(AttemptLog);
        if let Some(role) = role {
            let provider = self.block_on(
                aws_config::sts::AssumeRoleProvider::builder(role)
                    .session_name("imagedef-deploy")
                    .region(region.clone())
                    .configure(&self.config)
                    .build(),
            );
            if let Err(e) = self.block_on(provider.provide_credentials()) {
                anyhow::bail!(
                    "cannot assume role {role} (--role-arn, or the mapping's roleArn): {}; the build role needs sts:AssumeRole on {role}, and that role's trust policy must allow the build role",
                    super::errors::chain(&e)
                );
            }
            config = config.credentials_provider(provider);
        }
        Ok(Ecs {
            runtime: &self.runtime,
            client: aws_sdk_ecs::Client::from_conf(config.build()),
            region: region.to_string(),
            role: role.map(str::to_owned),
        })
    }

    /// Listens for SIGTERM from now on (see [`wait`]).
    pub fn waiter(&self) -> wait::Waiter<'_> {
        wait::Waiter::listen(&self.runtime)
    }
}

#[cfg(test)]
impl<'a> Ecs<'a> {
    /// A client on `runtime` (tests: a mock client).
    #[must_use]
    pub fn with_client(
        runtime: &'a tokio::runtime::Runtime,
        client: aws_sdk_ecs::Client,
        region: &str,
    ) -> Ecs<'a> {
        Ecs {
            runtime,
            client,
            region: region.to_owned(),
            role: None,
        }
    }
}

impl Ecs<'_> {
    /// The client and its region, for the lookups of [`super::ecs`].
    pub(super) fn into_parts(self) -> (aws_sdk_ecs::Client, aws_config::Region) {
        (self.client, aws_config::Region::new(self.region))
    }

    /// `arn:PARTITION:ecs:REGION:*:what`, as IAM policies name ECS resources.
    fn arn(&self, what: &str) -> String {
        let partition = partition::of_region(&self.region).map_or("aws", |p| p.id);
        format!("arn:{partition}:ecs:{}:*:{what}", self.region)
    }

    fn call(
        &self,
        operation: &'static str,
        action: &'static str,
        resource: String,
        arn: String,
    ) -> Call {
        let resource = match &self.role {
            Some(role) => format!("{resource} (as role {role})"),
            None => resource,
        };
        Call {
            service: "ECS",
            operation,
            action,
            resource,
            arn,
            region: self.region.clone(),
            bucket: None,
        }
    }

    /// `DescribeServices` of `services` (names) in `cluster`, [`SERVICES_PER_CALL`] a call.
    pub fn describe_services(&self, cluster: &str, services: &[&str]) -> CallResult<Described> {
        let mut described = Described::default();
        for chunk in services.chunks(SERVICES_PER_CALL) {
            let call = self.call(
                "DescribeServices",
                "ecs:DescribeServices",
                format!("services {} in cluster {cluster}", chunk.join(", ")),
                self.arn(&format!("service/{cluster}/*")),
            );
            let out = self
                .runtime
                .block_on(
                    self.client
                        .describe_services()
                        .cluster(cluster)
                        .set_services(Some(chunk.iter().map(|s| (*s).to_owned()).collect()))
                        .send(),
                )
                .map_err(|e| Box::new(Fault::of(&call, &e)))?;
            for f in out.failures() {
                let name = f
                    .arn()
                    .map(|a| a.rsplit('/').next().unwrap_or(a).to_owned())
                    .unwrap_or_default();
                described
                    .missing
                    .push((name, f.reason().unwrap_or("no reason given").to_owned()));
            }
            described.services.extend(out.services.unwrap_or_default());
        }
        Ok(described)
    }

    /// `DescribeTaskDefinition` of `arn` with its tags (`include: TAGS`), and the raw response.
    pub fn describe_task_definition(&self, arn: &str) -> CallResult<Revision> {
        let call = self.call(
            "DescribeTaskDefinition",
            "ecs:DescribeTaskDefinition",
            format!("task definition {arn}"),
            "*".to_owned(),
        );
        let raw = RawBody::default();
        let out = self
            .runtime
            .block_on(
                self.client
                    .describe_task_definition()
                    .task_definition(arn)
                    .include(TaskDefinitionField::Tags)
                    .customize()
                    .interceptor(raw.clone())
                    .send(),
            )
            .map_err(|e| Box::new(Fault::of(&call, &e)))?;
        let raw = crate::model::json::parse(&raw.take()).ok();
        // Fail closed: what cannot be compared may have been dropped.
        let unread = match (raw, unread::read(&out)) {
            (Some(raw), Some(read)) => unread::unread(&raw, &read),
            _ => vec![
                "(the whole answer: its JSON could not be compared with what the SDK read)"
                    .to_owned(),
            ],
        };
        let Some(task_definition) = out.task_definition else {
            return Err(Box::new(Fault {
                call,
                failure: super::errors::Failure::Other {
                    chain: "the answer holds no task definition".to_owned(),
                },
            }));
        };
        Ok(Revision {
            task_definition,
            tags: out.tags.unwrap_or_default(),
            unread,
        })
    }

    /// Sends `request` (from [`copy::request`]); the new revision's ARN.
    pub fn register(
        &self,
        request: aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder,
    ) -> CallResult<TaskDefinition> {
        let family = request.get_family().clone().unwrap_or_default();
        let call = self.call(
            "RegisterTaskDefinition",
            "ecs:RegisterTaskDefinition",
            format!("task definition family {family}"),
            self.arn(&format!("task-definition/{family}:*")),
        );
        let out = self
            .runtime
            .block_on(request.send())
            .map_err(|e| Box::new(Fault::of(&call, &e)))?;
        out.task_definition.ok_or_else(|| {
            Box::new(Fault {
                call,
                failure: super::errors::Failure::Other {
                    chain: "the answer holds no task definition".to_owned(),
                },
            })
        })
    }

    /// A `RegisterTaskDefinition` request on this client, for [`copy::request`] to fill.
    #[must_use]
    pub fn register_request(
        &self,
    ) -> aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder
    {
        self.client.register_task_definition()
    }

    /// `UpdateService` of `service` in `cluster` to `task_definition`, and nothing else.
    pub fn update_service(
        &self,
        cluster: &str,
        service: &str,
        task_definition: &str,
    ) -> CallResult<Option<Service>> {
        let call = self.call(
            "UpdateService",
            "ecs:UpdateService",
            format!("service {service} in cluster {cluster}"),
            self.arn(&format!("service/{cluster}/{service}")),
        );
        let out = self
            .runtime
            .block_on(
                self.client
                    .update_service()
                    .cluster(cluster)
                    .service(service)
                    .task_definition(task_definition)
                    .send(),
            )
            .map_err(|e| Box::new(Fault::of(&call, &e)))?;
        Ok(out.service)
    }

    /// `ListServiceDeployments` of `service` created after `after` (first page, newest first as
    /// far as ECS orders them; the caller sorts).
    pub fn list_service_deployments(
        &self,
        cluster: &str,
        service: &str,
        after: Option<aws_smithy_types::DateTime>,
    ) -> CallResult<Vec<ServiceDeploymentBrief>> {
        let call = self.call(
            "ListServiceDeployments",
            "ecs:ListServiceDeployments",
            format!("service {service} in cluster {cluster}"),
            self.arn(&format!("service/{cluster}/{service}")),
        );
        let created = after.map(|t| aws_sdk_ecs::types::CreatedAt::builder().after(t).build());
        let out = self
            .runtime
            .block_on(
                self.client
                    .list_service_deployments()
                    .cluster(cluster)
                    .service(service)
                    .set_created_at(created)
                    .send(),
            )
            .map_err(|e| Box::new(Fault::of(&call, &e)))?;
        Ok(out.service_deployments.unwrap_or_default())
    }

    /// `DescribeServiceDeployments` of `arns`, [`ARNS_PER_CALL`] a call.
    pub fn describe_service_deployments(
        &self,
        arns: &[String],
    ) -> CallResult<Vec<ServiceDeployment>> {
        let mut all = Vec::new();
        for chunk in arns.chunks(ARNS_PER_CALL) {
            let call = self.call(
                "DescribeServiceDeployments",
                "ecs:DescribeServiceDeployments",
                format!("service deployments {}", chunk.join(", ")),
                self.arn("service-deployment/CLUSTER/SERVICE/*"),
            );
            let out = self
                .runtime
                .block_on(
                    self.client
                        .describe_service_deployments()
                        .set_service_deployment_arns(Some(chunk.to_vec()))
                        .send(),
                )
                .map_err(|e| Box::new(Fault::of(&call, &e)))?;
            all.extend(out.service_deployments.unwrap_or_default());
        }
        Ok(all)
    }

    /// `DescribeServiceRevisions` of `arns`, [`ARNS_PER_CALL`] a call.
    pub fn describe_service_revisions(&self, arns: &[String]) -> CallResult<Vec<ServiceRevision>> {
        let mut all = Vec::new();
        for chunk in arns.chunks(ARNS_PER_CALL) {
            let call = self.call(
                "DescribeServiceRevisions",
                "ecs:DescribeServiceRevisions",
                format!("service revisions {}", chunk.join(", ")),
                self.arn("service-revision/CLUSTER/SERVICE/*"),
            );
            let out = self
                .runtime
                .block_on(
                    self.client
                        .describe_service_revisions()
                        .set_service_revision_arns(Some(chunk.to_vec()))
                        .send(),
                )
                .map_err(|e| Box::new(Fault::of(&call, &e)))?;
            all.extend(out.service_revisions.unwrap_or_default());
        }
        Ok(all)
    }

    /// The tasks of `service` in `cluster` whose desired status is `status` (`ListTasks`, first
    /// page of 100), described (`DescribeTasks`).
    pub fn tasks(
        &self,
        cluster: &str,
        service: &str,
        status: DesiredStatus,
    ) -> CallResult<Vec<Task>> {
        let call = self.call(
            "ListTasks",
            "ecs:ListTasks",
            format!("tasks of service {service} in cluster {cluster}"),
            "* (with the condition ecs:cluster)".to_owned(),
        );
        let listed = self
            .runtime
            .block_on(
                self.client
                    .list_tasks()
                    .cluster(cluster)
                    .service_name(service)
                    .desired_status(status)
                    .send(),
            )
            .map_err(|e| Box::new(Fault::of(&call, &e)))?;
        let arns = listed.task_arns.unwrap_or_default();
        let mut tasks = Vec::new();
        for chunk in arns.chunks(TASKS_PER_CALL) {
            let call = self.call(
                "DescribeTasks",
                "ecs:DescribeTasks",
                format!("tasks of service {service} in cluster {cluster}"),
                self.arn(&format!("task/{cluster}/*")),
            );
            let out = self
                .runtime
                .block_on(
                    self.client
                        .describe_tasks()
                        .cluster(cluster)
                        .set_tasks(Some(chunk.to_vec()))
                        .send(),
                )
                .map_err(|e| Box::new(Fault::of(&call, &e)))?;
            tasks.extend(out.tasks.unwrap_or_default());
        }
        Ok(tasks)
    }
}

/// Keeps the body of the response it sees (one operation's).
#[derive(Clone, Debug, Default)]
struct RawBody(Arc<Mutex<Vec<u8>>>);

impl RawBody {
    fn take(&self) -> Vec<u8> {
        std::mem::take(
            &mut *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

impl Intercept for RawBody {
    fn name(&self) -> &'static str {
        "imagedef::RawBody"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(bytes) = context.response().body().bytes() {
            *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = bytes.to_vec();
        }
        Ok(())
    }
}

/// The platform the images of `td` must offer (its `runtimePlatform`; FARGATE without one:
/// linux/amd64), for `--ecr`.
pub fn platform_needed(
    td: &TaskDefinition,
) -> Result<crate::model::platform::Needed, crate::model::platform::PlatformError> {
    let runtime = td.runtime_platform();
    crate::model::platform::needed(
        runtime
            .and_then(|r| r.cpu_architecture())
            .map(aws_sdk_ecs::types::CpuArchitecture::as_str),
        runtime
            .and_then(|r| r.operating_system_family())
            .map(aws_sdk_ecs::types::OsFamily::as_str),
        td.requires_compatibilities()
            .iter()
            .any(|c| c.as_str() == "FARGATE"),
    )
}
