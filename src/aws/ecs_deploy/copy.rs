//! The next revision of a task definition: every member `RegisterTaskDefinition` takes, copied
//! from what `DescribeTaskDefinition` returned for the running revision, with only the named
//! containers' images replaced, and its tags (those ECS reserves, `aws:`, left out). The members
//! ECS sets itself ([`READ_ONLY`]) are not sent.
//!
//! [`COPIED`] and [`READ_ONLY`] name every member of the SDK's `TaskDefinition` by its wire name;
//! a unit test holds them against the SDK's schemas, so an SDK that gains a member fails the build's
//! tests until the copy handles it.

use std::collections::BTreeMap;

use aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder;
use aws_sdk_ecs::types::{Tag, TaskDefinition};
use aws_smithy_schema::codec::Codec as _;
use aws_smithy_schema::serde::ShapeSerializer as _;

/// The members of `TaskDefinition` that `RegisterTaskDefinition` takes, copied as they are
/// (`containerDefinitions` with the new images).
#[cfg(test)]
pub const COPIED: &[&str] = &[
    "containerDefinitions",
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "volumes",
    "placementConstraints",
    "runtimePlatform",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "inferenceAccelerators",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "ephemeralStorage",
    "enableFaultInjection",
];

/// The members of `TaskDefinition` that ECS sets itself: not sent.
#[cfg(test)]
pub const READ_ONLY: &[&str] = &[
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "deregisteredAt",
    "deleteRequestedAt",
    "registeredBy",
];

/// The members of `RegisterTaskDefinition` not in `TaskDefinition`: `tags`, which
/// `DescribeTaskDefinition` returns beside it (`include: TAGS`).
#[cfg(test)]
pub const BESIDE: &[&str] = &["tags"];

/// A tag ECS reserves: its key or its value starts with `aws:` in any case. ECS refuses to
/// register a task definition that sends one.
#[must_use]
pub fn is_reserved(tag: &Tag) -> bool {
    let reserved = |s: Option<&str>| {
        s.and_then(|s| s.get(..4))
            .is_some_and(|p| p.eq_ignore_ascii_case("aws:"))
    };
    reserved(tag.key()) || reserved(tag.value())
}

/// Fills `request` with `running` (the running revision) and the tags ECS does not reserve, every
/// container of `images` (name -> image) given its new image. Returns the request and the tags
/// left out.
#[must_use]
pub fn request(
    request: RegisterTaskDefinitionFluentBuilder,
    running: &TaskDefinition,
    tags: &[Tag],
    images: &BTreeMap<String, String>,
) -> (RegisterTaskDefinitionFluentBuilder, Vec<Tag>) {
    let td = running.clone();
    let containers = td.container_definitions.map(|defs| {
        defs.into_iter()
            .map(|mut def| {
                if let Some(image) = def.name.as_deref().and_then(|n| images.get(n)) {
                    def.image = Some(image.clone());
                }
                def
            })
            .collect()
    });
    let (kept, dropped): (Vec<Tag>, Vec<Tag>) = tags.iter().cloned().partition(|t| !is_reserved(t));
    // Deprecated by ECS, still copied: a revision that has them keeps them (ECS decides).
    #[allow(deprecated)]
    let request = request
        .set_container_definitions(containers)
        .set_family(td.family)
        .set_task_role_arn(td.task_role_arn)
        .set_execution_role_arn(td.execution_role_arn)
        .set_network_mode(td.network_mode)
        .set_volumes(td.volumes)
        .set_placement_constraints(td.placement_constraints)
        .set_runtime_platform(td.runtime_platform)
        .set_requires_compatibilities(td.requires_compatibilities)
        .set_cpu(td.cpu)
        .set_memory(td.memory)
        .set_inference_accelerators(td.inference_accelerators)
        .set_pid_mode(td.pid_mode)
        .set_ipc_mode(td.ipc_mode)
        .set_proxy_configuration(td.proxy_configuration)
        .set_ephemeral_storage(td.ephemeral_storage)
        .set_enable_fault_injection(td.enable_fault_injection)
        .set_tags((!kept.is_empty()).then_some(kept));
    (request, dropped)
}

/// The request's body as it would be sent (the SDK's JSON of `RegisterTaskDefinitionInput`).
#[must_use]
pub fn json(request: &RegisterTaskDefinitionFluentBuilder) -> serde_json::Value {
    let Ok(input) = request.as_input().clone().build() else {
        return serde_json::Value::Null;
    };
    let codec = aws_smithy_json::codec::JsonCodec::default();
    let mut ser = codec.create_serializer();
    if ser
        .write_struct(
            aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput::SCHEMA,
            &input,
        )
        .is_err()
    {
        return serde_json::Value::Null;
    }
    serde_json::from_slice(&ser.finish()).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
    use aws_sdk_ecs::types::{
        ContainerDefinition, CpuArchitecture, NetworkMode, OsFamily, RuntimePlatform,
    };
    use std::collections::BTreeSet;

    fn names(schema: &aws_smithy_schema::Schema<'_>) -> BTreeSet<String> {
        schema
            .members()
            .iter()
            .filter_map(|m| m.member_name().map(str::to_owned))
            .collect()
    }

    fn set(lists: &[&[&str]]) -> BTreeSet<String> {
        lists
            .iter()
            .flat_map(|l| l.iter().map(|s| (*s).to_owned()))
            .collect()
    }

    /// The SDK gained (or lost) a member: the copy must decide whether to copy it or leave it to
    /// ECS, or a new revision would silently lose it.
    #[test]
    fn every_member_of_the_sdk_schemas_is_copied_or_read_only() {
        assert_eq!(
            names(TaskDefinition::SCHEMA),
            set(&[COPIED, READ_ONLY]),
            "TaskDefinition's members changed: add each new one to COPIED (and to copy::request) or READ_ONLY"
        );
        assert_eq!(
            names(RegisterTaskDefinitionInput::SCHEMA),
            set(&[COPIED, BESIDE]),
            "RegisterTaskDefinitionInput's members changed: copy each new one in copy::request"
        );
        for c in COPIED {
            assert!(!READ_ONLY.contains(c), "{c} is in both lists");
        }
    }

    fn running() -> TaskDefinition {
        TaskDefinition::builder()
            .task_definition_arn("arn:aws:ecs:eu-west-1:111122223333:task-definition/web:7")
            .family("web")
            .revision(7)
            .network_mode(NetworkMode::Awsvpc)
            .cpu("256")
            .memory("512")
            .runtime_platform(
                RuntimePlatform::builder()
                    .cpu_architecture(CpuArchitecture::Arm64)
                    .operating_system_family(OsFamily::Linux)
                    .build(),
            )
            .enable_fault_injection(false)
            .registered_by("arn:aws:iam::111122223333:role/deployer")
            .container_definitions(
                ContainerDefinition::builder()
                    .name("app")
                    .image("repo/app:1")
                    .essential(true)
                    .build(),
            )
            .container_definitions(
                ContainerDefinition::builder()
                    .name("proxy")
                    .image("repo/proxy:1")
                    .build(),
            )
            .build()
    }

    fn client() -> aws_sdk_ecs::Client {
        let config = aws_sdk_ecs::Config::builder()
            .behavior_version(aws_sdk_ecs::config::BehaviorVersion::latest())
            .region(aws_sdk_ecs::config::Region::new("eu-west-1"))
            .build();
        aws_sdk_ecs::Client::from_conf(config)
    }

    #[test]
    fn only_the_named_containers_images_change_and_every_other_member_is_kept() {
        let images = BTreeMap::from([("app".to_owned(), "repo/app@sha256:ab".to_owned())]);
        let tags = [
            Tag::builder().key("team").value("shop").build(),
            Tag::builder()
                .key("AWS:cloudformation:stack-name")
                .value("x")
                .build(),
            Tag::builder().key("owner").value("aws:managed").build(),
        ];
        let (req, dropped) = request(
            client().register_task_definition(),
            &running(),
            &tags,
            &images,
        );
        let body = json(&req);
        assert_eq!(
            body,
            serde_json::json!({
                "family": "web",
                "networkMode": "awsvpc",
                // The SDK's ContainerDefinition.cpu is a plain integer: it sends ECS's default, 0.
                "containerDefinitions": [
                    {"name": "app", "image": "repo/app@sha256:ab", "cpu": 0, "essential": true},
                    {"name": "proxy", "image": "repo/proxy:1", "cpu": 0}
                ],
                "cpu": "256",
                "memory": "512",
                "tags": [{"key": "team", "value": "shop"}],
                "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
                "enableFaultInjection": false
            })
        );
        assert_eq!(dropped.len(), 2);
    }

    #[test]
    fn reserved_tags_are_aws_colon_in_any_case_in_key_or_value() {
        let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
        assert!(is_reserved(&tag("aws:x", "1")));
        assert!(is_reserved(&tag("Aws:x", "1")));
        assert!(is_reserved(&tag("k", "AWS:v")));
        assert!(!is_reserved(&tag("awsx", "1")));
        assert!(!is_reserved(&tag("team", "aws")));
    }
}
