//! Any bytes given as imageDetail.json: parsed or refused, never a panic; what parses re-parses.
#![no_main]

use imagedef::testing::{Digest, ImageDetail, ImageRef};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(detail) = ImageDetail::parse(data) {
        let uri = detail.image_uri.to_string();
        assert_eq!(uri.parse::<ImageRef>().as_ref(), Ok(&detail.image_uri));
        if let Some(d) = detail.digest() {
            assert_eq!(d.to_string().parse::<Digest>(), Ok(d));
        }
        let _ = detail.inconsistencies();
        let _ = detail.tags();
    }
});
