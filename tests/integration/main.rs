//! End-to-end tests: the real binary on real-shaped artifact layouts, one module per feature.

mod util;

mod aws_regions;
mod bad_image_details;
mod bad_mappings;
mod blue_green;
mod buildspec;
mod changes;
mod cli;
mod cloudformation;
mod deploy;
mod discover;
mod emit_bundle;
mod emit_mapping;
mod emit_single;
mod findings;
mod generations;
mod live_aws;
mod platform;
mod platform_live;
mod publish;
mod publish_race;
mod registry;
mod regressions;
mod schema;
mod snapshots;
mod text_output;
mod verify_bundle;
mod verify_discovered;
mod verify_oci;
mod verify_pins;
mod verify_report;
mod zip_parity;
