//! Any bytes to the one strict JSON reader: what it accepts, `serde_json` reads as the same value,
//! and it never accepts a document with a repeated key.
#![no_main]

use imagedef::testing::{json_text, parse_json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(value) = parse_json(bytes) {
        let text = json_text(bytes).expect("parsed text is UTF-8");
        assert_eq!(serde_json::from_str::<serde_json::Value>(text).ok(), Some(value));
    }
});
