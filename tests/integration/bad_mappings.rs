//! Bad mapping files: each refused with its documented exit code and a message naming the mapping
//! file, the key and the value, before anything is written.

use crate::util::{DIGEST_WEB, Env, ecr_detail};

/// (name, mapping file text, exit code, message fragment): bad mappings, each refused before
/// anything is written. Bad zips and OCI layouts given to `verify` have their own tests in
/// `verify_bundle.rs` and `oci.rs` (zip bombs, `../` entries, digests that would leave `blobs/`).
pub(crate) fn mapping_cases() -> Vec<(&'static str, String, i32, &'static str)> {
    let ok = r#""containers": {"web": {"artifact": "Web"}}"#;
    vec![
        ("service name with a path", format!(r#"{{"services": {{"../x": {{{ok}}}}}}}"#), 2, "service name \"../x\" contains '.'"),
        ("empty service name", format!(r#"{{"services": {{"": {{{ok}}}}}}}"#), 2, "service name \"\" is empty"),
        ("service name with a space", format!(r#"{{"services": {{"my web": {{{ok}}}}}}}"#), 2, "contains ' '"),
        ("container name with a slash", r#"{"services": {"web": {"containers": {"a/b": {"artifact": "Web"}}}}}"#.to_owned(), 2, "container name \"a/b\" contains '/'"),
        ("misspelt key", r#"{"services": {"web": {"containers": {"web": {"artifcat": "Web"}}}}}"#.to_owned(), 2, "artifcat"),
        ("misspelt top-level key", format!(r#"{{"service": {{"web": {{{ok}}}}}}}"#), 2, "service"),
        ("missing task definition", format!(r#"{{"services": {{"web": {{{ok}, "taskDefinition": "../deploy/nope.json"}}}}}}"#), 2, "cannot read task definition"),
        ("blue/green names no container", format!(r#"{{"services": {{"web": {{{ok}, "blueGreen": "api"}}}}}}"#), 2, "blueGreen"),
        ("image and selector together", r#"{"services": {"web": {"containers": {"web": {"image": "nginx:1", "artifact": "Web"}}}}}"#.to_owned(), 2, "image"),
        ("neither image nor selector", r#"{"services": {"web": {"containers": {"web": {}}}}}"#.to_owned(), 2, "web"),
        ("a fixed image that is not a reference", r#"{"services": {"web": {"containers": {"web": {"image": "<IMAGE>"}}}}}"#.to_owned(), 2, "<IMAGE>"),
        ("bad uri mode", format!(r#"{{"uri": "sha", "services": {{"web": {{{ok}}}}}}}"#), 2, "sha"),
        ("bad tag pattern", format!(r#"{{"tagPattern": "(", "services": {{"web": {{{ok}}}}}}}"#), 2, "tagPattern"),
        ("a glob that does not compile", r#"{"services": {"web": {"containers": {"web": {"artifact": "Web", "path": "a[b"}}}}}"#.to_owned(), 2, "a[b"),
        ("not JSON", "{\"services\": ".to_owned(), 2, "EOF while parsing"),
        ("an array", "[]".to_owned(), 2, "mapping"),
        ("no services", r#"{"services": {}}"#.to_owned(), 2, "services"),
        ("a selector that matches nothing", r#"{"services": {"web": {"containers": {"web": {"repository": "shop/nope"}}}}}"#.to_owned(), 1, "shop/nope"),
        ("a service named like the checksum file", format!(r#"{{"services": {{"SHA256SUMS": {{{ok}}}}}}}"#), 2, "SHA256SUMS"),
    ]
}

#[test]
fn every_bad_mapping_gets_its_code_and_message_and_changes_nothing() {
    let mut failures = Vec::new();
    for (name, mapping, code, message) in mapping_cases() {
        let env = Env::new();
        env.write(
            "web/imageDetail.json",
            ecr_detail("shop/web", DIGEST_WEB, &["1"]),
        );
        env.write("src/imagedef.json", &mapping);
        env.write("out/keep.txt", "keep");
        let before = env.snapshot("out");
        let run = env.run(&[
            "emit",
            "--mapping",
            "src/imagedef.json",
            "--out",
            "out",
            "Web=web",
            "Source=src",
        ]);
        let named_file = run.stderr().contains("src/imagedef.json") || code == 1;
        if run.code != code
            || !run.stderr().contains(message)
            || !named_file
            || env.snapshot("out") != before
        {
            failures.push(format!(
                "{name}: want exit {code} and {message:?}; got {run:#?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
