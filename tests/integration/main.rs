//! End-to-end tests: the real binary on real-shaped artifact layouts, one module per feature. They
//! need nothing but the binary and a Linux base system; the tests that drive other tools (moto,
//! buildah, Java, strace, ...) are in `tests/external/`, in modules of the same names.

#[path = "../util/mod.rs"]
mod util;

mod bad_image_details;
mod bad_mappings;
mod blue_green;
mod buildspec;
mod buildspec_generated;
mod checks_ran;
mod cli;
mod discover;
mod emit_bundle;
mod emit_mapping;
mod emit_single;
mod fail_closed;
mod findings;
mod generations;
mod publish_race;
mod regressions;
mod schema;
mod snapshots;
mod text_output;
mod verify_bundle;
mod verify_discovered;
mod verify_pins;
mod zip_parity;
