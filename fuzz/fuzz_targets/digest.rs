//! Any string as a digest: parsed or refused; what parses prints back unchanged.
#![no_main]

use imagedef::testing::Digest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|s: &str| {
    if let Ok(d) = s.parse::<Digest>() {
        assert_eq!(d.to_string(), s);
    }
});
