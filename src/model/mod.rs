//! The data imagedef reads and writes, as types that are valid once built.

pub mod digest;
pub mod image_detail;
pub mod mapping;
pub mod names;
pub mod reference;
pub mod task_definition;

pub use digest::Digest;
pub use image_detail::{ImageDetail, Malformed};
pub use names::{ContainerName, ServiceName};
pub use reference::ImageRef;
pub use task_definition::{TaskDefinition, TaskDefinitionSource};

/// How a JSON value is named in messages: "a number", "an array", "null", ...
#[must_use]
pub fn json_kind(v: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
