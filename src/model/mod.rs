//! The data imagedef reads and writes, as types that are valid once built.

pub mod blue_green;
pub mod buildspec;
pub mod deploy;
pub mod digest;
pub mod ecr;
pub mod findings;
pub mod identity;
pub mod image_detail;
pub mod json;
pub mod mapping;
pub mod names;
pub mod partition;
pub mod platform;
pub mod reference;
pub mod role;
pub mod rules;
pub mod s3;
pub mod task_definition;
pub mod yaml;

pub use digest::Digest;
pub use image_detail::{ImageDetail, Malformed};
pub use names::{ContainerName, ServiceName};
pub use reference::{ImageRef, UriMode};
pub use rules::{Given, Origin, Rule, Rules, TagPattern};
pub use task_definition::{MissingContainers, TaskDefinition, TaskDefinitionSource};
