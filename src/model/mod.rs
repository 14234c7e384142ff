//! The data imagedef reads and writes, as types that are valid once built.

pub mod digest;
pub mod image_detail;
pub mod names;
pub mod reference;
pub mod task_definition;

pub use digest::Digest;
pub use image_detail::{ImageDetail, Malformed};
pub use names::{ContainerName, ServiceName};
pub use reference::ImageRef;
pub use task_definition::TaskDefinition;
