//! Any bytes as a zip given to `verify --bundle`: findings, never a panic, a hang or a blow-up.
#![no_main]

use std::sync::OnceLock;

use imagedef::testing::{Check, Recorder, check_bundle};
use libfuzzer_sys::fuzz_target;

fn scratch() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap())
}

fuzz_target!(|data: &[u8]| {
    let path = scratch().path().join("web.zip");
    std::fs::write(&path, data).unwrap();
    let mut recorder = Recorder::new(Check::Bundle);
    let _ = check_bundle(&path, &mut recorder);
});
