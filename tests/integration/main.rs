//! End-to-end tests: the real binary on real-shaped artifact layouts, one module per feature.

mod util;

mod bad_inputs;
mod buildspec;
mod bundle;
mod cli;
mod discover;
mod emit_single;
mod live_aws;
mod mapping;
mod oci;
mod pins;
mod refusals;
mod regressions;
mod verify;
mod verify_bundle;
