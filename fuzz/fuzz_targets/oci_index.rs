//! Any bytes as the `index.json` of an OCI layout (beside one real blob): findings, never a
//! panic, and never a path outside `blobs/`.
#![no_main]

use std::sync::OnceLock;

use imagedef::testing::Digest;
use imagedef::testing::{Check, Proofs, Recorder, check_layout};
use libfuzzer_sys::fuzz_target;

fn layout() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        let blob = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;
        let blobs = dir.path().join("blobs/sha256");
        std::fs::create_dir_all(&blobs).unwrap();
        std::fs::write(blobs.join(Digest::of(blob).hex()), blob).unwrap();
        std::fs::write(blobs.join(Digest::of(b"{}").hex()), b"{}").unwrap();
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let dir = layout();
    std::fs::write(dir.path().join("index.json"), data).unwrap();
    let mut recorder = Recorder::new(Check::OciLayout);
    let mut proofs = Proofs::default();
    check_layout(dir.path(), &mut recorder, &mut proofs);
});
