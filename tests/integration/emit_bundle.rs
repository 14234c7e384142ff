//! `emit --bundle`: the zip for an S3 source action, as its bytes say (the real readers that read
//! it back are in `tests/external/emit_bundle.rs`).

use crate::util::zips;
use std::time::{Duration, SystemTime};

use crate::util::{
    DIGEST_WEB, HOST, INPUTS_ONLY, emit_app, emit_web_bundle, short_digests, web_artifact,
};

#[test]
fn no_local_header_sets_the_data_descriptor_bit() {
    let env = web_artifact();
    emit_web_bundle(&env, "out");
    let bytes = std::fs::read(env.path("out/imagedefinitions.zip")).unwrap();
    let json = std::fs::read(env.path("out/imagedefinitions.json")).unwrap();
    let headers = zips::local_headers(&bytes);
    let names: Vec<&str> = headers.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["imagedefinitions.json"]);
    for h in &headers {
        assert_eq!(h.flags & 0x0008, 0, "{h:?}");
        assert_eq!(h.method, 8, "{h:?}");
        assert_eq!(h.size as usize, json.len(), "{h:?}");
        assert_eq!(h.crc, crc32fast::hash(&json), "{h:?}");
        assert!(h.compressed > 0, "{h:?}");
    }
}

#[test]
fn two_runs_at_different_times_give_identical_zips() {
    let env = web_artifact();
    let input = env.path("web/imageDetail.json");
    // The input as written at two moments a year apart (a zip's times count in 2 s steps).
    for (out, written) in [("one", 1_700_000_000), ("two", 1_731_536_000)] {
        std::fs::File::options()
            .write(true)
            .open(&input)
            .unwrap()
            .set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(written))
            .unwrap();
        emit_web_bundle(&env, out);
    }
    for name in [
        "imagedefinitions.zip",
        "SHA256SUMS",
        "imagedefinitions.json",
    ] {
        assert_eq!(
            std::fs::read(env.path(&format!("one/{name}"))).unwrap(),
            std::fs::read(env.path(&format!("two/{name}"))).unwrap(),
            "{name} differs between runs"
        );
    }
}

#[test]
fn dry_run_bundle_writes_nothing() {
    let env = web_artifact();
    emit_app(&env, "web", &["--bundle", "--out", "real"])
        .code(0)
        .stdout_has("wrote 3 files to real\n");
    let line = |f: &str| {
        let bytes = std::fs::read(env.path(&format!("real/{f}"))).unwrap().len();
        format!("  {f:<21}  {bytes:>7} bytes\n")
    };
    emit_app(&env, "web", &["--bundle", "--dry-run", "--out", "out"])
        .code(0)
        .stdout_is(&format!(
            "{}would write 3 files to out (--dry-run: nothing was written; -v shows each file):\n{}{}{}",
            short_digests(&format!(
                "app = {HOST}/shop/web@{DIGEST_WEB}  (from web:imageDetail.json)\n  checks: {INPUTS_ONLY}\n"
            )),
            line("imagedefinitions.json"),
            line("imagedefinitions.zip"),
            line("SHA256SUMS"),
        ));
    assert!(!env.path("out").exists());
}
