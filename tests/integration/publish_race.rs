//! `publish`'s refusals before any upload that need no S3: keys with `..` or empty segments (the
//! races against moto's S3 are in `tests/external/publish_race.rs`).

use crate::util::bundled::emitted;

#[test]
fn publish_refuses_keys_with_dot_dot_or_empty_segments() {
    let env = emitted(1, "http://127.0.0.1:9");
    for (key, why) in [
        (
            "deploy//{service}.zip",
            "has an empty path segment (// or a trailing /), which S3 keeps as a folder with no name; write e.g. deploy/{service}.zip",
        ),
        (
            "../{service}.zip",
            "has a \"..\" path segment, which S3 keeps as a folder of that name while other tools resolve it; write the key without it, e.g. deploy/{service}.zip",
        ),
    ] {
        let run = env.run(&["publish", "out", "--bucket", "bundles", "--key", key]);
        run.code(2);
        assert_eq!(
            run.stderr(),
            format!("imagedef: error: --key {key:?} {why}\n")
        );
    }
}
