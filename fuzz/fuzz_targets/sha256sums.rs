//! Any bytes as a `SHA256SUMS` file: parsed strictly or refused by line; what parses serialises
//! back to the same sums.
#![no_main]

use imagedef::testing::Sha256Sums;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(sums) = Sha256Sums::parse(bytes) {
        assert_eq!(Sha256Sums::parse(&sums.to_bytes()), Ok(sums));
    }
});
