//! End-to-end tests that need tools beyond the Rust toolchain, one module per feature: moto (a
//! local AWS) and cfn-lint from the venv `.ci/deps-aws` makes, buildah, skopeo and umoci (real OCI
//! images), docker-registry, Java, Python's `zipfile` and `unzip` (the zips read back), strace
//! (system calls failed on purpose). `.ci/deps-verify` installs them; a missing one fails the tests
//! that need it, saying what to install. The tests that need nothing but the binary are in
//! `tests/integration/`, which names its modules the same way.

// `tests/integration` uses every shared helper; this binary uses some of them.
#[allow(dead_code)]
#[path = "../util/mod.rs"]
mod util;

mod tools;

mod archived;
mod aws_regions;
mod cdk;
mod changes;
mod cloudformation;
mod deploy;
mod emit_bundle;
mod findings;
mod forged_lines;
mod generations;
mod live_aws;
mod platform;
mod platform_live;
mod publish;
mod publish_race;
mod registry;
mod snapshots;
mod verify_bundle;
mod verify_oci;
mod verify_report;
mod workflows;
mod zip_parity;
