//! Any bytes as a mapping file: parsed or refused with a message, never a panic.
#![no_main]

use std::path::Path;

use imagedef::testing::Mapping;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match Mapping::parse(data, Path::new("")) {
        Ok(mapping) => {
            let _ = mapping.artifacts_needed();
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
});
