//! Any string as an image reference: parsed or refused; what parses prints back unchanged.
#![no_main]

use imagedef::testing::ImageRef;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|s: &str| {
    if let Ok(r) = s.parse::<ImageRef>() {
        assert_eq!(r.to_string(), s);
        let _ = r.ecr();
        assert_eq!(r.with(r.tag(), r.digest()), r);
    }
});
