//! The keys of a `DescribeTaskDefinition` answer that the SDK did not read: ECS is newer than the
//! SDK built into imagedef (today `trustedExecutionConfiguration`), and a copy of what the SDK read
//! would register a revision without them. The answer's JSON as it came is held against the SDK's
//! own JSON of what it read (its schema-based serializer): a key with a value in the first and
//! absent from the second, at any depth, was not read.

use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionOutput;
use aws_smithy_schema::codec::Codec as _;
use aws_smithy_schema::serde::ShapeSerializer as _;
use serde_json::Value;

/// The SDK's JSON of what it read.
#[must_use]
pub fn read(output: &DescribeTaskDefinitionOutput) -> Option<Value> {
    let codec = aws_smithy_json::codec::JsonCodec::default();
    let mut ser = codec.create_serializer();
    ser.write_struct(DescribeTaskDefinitionOutput::SCHEMA, output)
        .ok()?;
    serde_json::from_slice(&ser.finish()).ok()
}

/// The paths (`taskDefinition.containerDefinitions[0].x`) of the keys of `raw` that `read` lacks.
/// Keys whose value is `null` count as absent.
#[must_use]
pub fn unread(raw: &Value, read: &Value) -> Vec<String> {
    let mut found = Vec::new();
    walk(raw, read, "", &mut found);
    found
}

fn walk(raw: &Value, read: &Value, at: &str, found: &mut Vec<String>) {
    match (raw, read) {
        (Value::Object(raw), Value::Object(read)) => {
            for (key, value) in raw {
                if value.is_null() {
                    continue;
                }
                let path = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                match read.get(key) {
                    Some(known) => walk(value, known, &path, found),
                    None => found.push(path),
                }
            }
        }
        (Value::Array(raw), Value::Array(read)) => {
            for (i, value) in raw.iter().enumerate() {
                let path = format!("{at}[{i}]");
                match read.get(i) {
                    Some(known) => walk(value, known, &path, found),
                    None if value.is_null() => {}
                    None => found.push(path),
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_at_any_depth_that_the_other_side_lacks_are_named() {
        let raw = json!({
            "taskDefinition": {
                "family": "web",
                "trustedExecutionConfiguration": {"isolationMode": "SHARED"},
                "containerDefinitions": [{"name": "a", "newThing": 1}, {"name": "b"}],
                "gone": null
            },
            "tags": []
        });
        let read = json!({
            "taskDefinition": {"family": "web", "containerDefinitions": [{"name": "a"}, {"name": "b"}]},
            "tags": []
        });
        assert_eq!(
            unread(&raw, &read),
            [
                "taskDefinition.trustedExecutionConfiguration",
                "taskDefinition.containerDefinitions[0].newThing"
            ]
        );
        assert!(unread(&read, &read).is_empty());
    }
}
