//! What is printed as text: every fact said once, and values from files never forging a line.

use crate::util::*;

/// An unrendered template, the only file found: its refusal is the error, not also a warning.
#[test]
fn a_refused_template_is_said_once() {
    let env = Env::new();
    env.write("a/imageDetail.json", r#"{"ImageURI":"<IMAGE_URI>"}"#);
    let run = env.run(&["emit", "a", "--container", "web", "--out", "o"]);
    run.code(2);
    assert_eq!(
        run.stderr(),
        "imagedef: error: found no usable imageDetail.json; every candidate was refused:\n  a:imageDetail.json (a/imageDetail.json): refused: key \"ImageURI\" = \"<IMAGE_URI>\": holds an unrendered placeholder; fix: render the template before this step (the value must be the real one, as the ECR source action writes it)\n"
    );
}

/// A folder name that would print a fake finding and colour the terminal, were it printed raw.
const EVIL: &str = "x\n FAILED  prod.zip: digest mismatch\u{1b}[31m";
/// [`EVIL`] as imagedef prints it.
const SHOWN: &str = "x\\n FAILED  prod.zip: digest mismatch\\u{1b}[31m";

fn crafted_path() -> Env {
    let env = Env::new();
    env.write(
        &format!("r/{EVIL}/imageDetail.json"),
        ecr_detail("shop/web", DIGEST_WEB, &["1"]),
    );
    env
}

/// The two lines of `text` (a header or a result, then the row that matters or the count), after
/// checking that it holds no ESC or carriage return and no line but those imagedef composed.
#[track_caller]
fn two_lines(text: &str) -> [&str; 2] {
    assert!(
        !text.contains('\u{1b}') && !text.contains('\r'),
        "raw control character in {text:?}"
    );
    let lines: Vec<&str> = text.lines().collect();
    match lines[..] {
        [first, second] => [first, second],
        _ => panic!("not two lines: {text:?}"),
    }
}

#[test]
fn a_crafted_path_is_escaped_in_the_scan_table() {
    let env = crafted_path();
    let run = env.run(&["scan", "r"]);
    run.code(0);
    let lines = two_lines(run.stdout());
    assert_eq!(
        lines[1],
        format!("r         {SHOWN}/imageDetail.json  shop/web    1     sha256:5a1f0e6b8e1f  -")
    );
}

#[test]
fn a_crafted_path_is_escaped_in_the_emit_summary() {
    let env = crafted_path();
    let run = env.run(&["emit", "r", "--container", "app", "--out", "o"]);
    run.code(0);
    assert_eq!(
        run.stdout(),
        short_digests(&format!(
            "app = {HOST}/shop/web@{DIGEST_WEB}  (from r:{SHOWN}/imageDetail.json)\n  checks: {INPUTS_ONLY}\nwrote 2 files to o\n"
        ))
    );
}

#[test]
fn a_crafted_path_is_escaped_in_verify_lines() {
    let env = crafted_path();
    let run = env.run(&["verify", "r"]);
    run.code(0);
    let lines = two_lines(run.stdout());
    assert!(
        lines[0].starts_with(&format!(
            "ok      r:{SHOWN}/imageDetail.json (r/{SHOWN}/imageDetail.json): "
        )),
        "{}",
        run.stdout()
    );
    assert_eq!(lines[1], "1 passed, 0 failed");
}

const REFUSED: &str = "refused: key \"ImageURI\" = \"<IMAGE_URI>\": holds an unrendered placeholder; fix: render the template before this step (the value must be the real one, as the ECR source action writes it)";

/// The warning about a refused file is one log line, its path escaped.
#[test]
fn a_crafted_path_is_escaped_in_a_warning() {
    let env = crafted_path();
    env.write(
        &format!("bad/{EVIL}/imageDetail.json"),
        r#"{"ImageURI":"<IMAGE_URI>"}"#,
    );
    let run = env.run(&["emit", "bad", "r", "--container", "app", "--out", "o"]);
    run.code(0).stdout_is(&short_digests(&format!(

        "app = {HOST}/shop/web@{DIGEST_WEB}  (from r:{SHOWN}/imageDetail.json)\n  checks: {INPUTS_ONLY}\nwrote 2 files to o\n"
    )));
    assert_eq!(
        run.stderr(),
        format!("imagedef: warning: bad/{SHOWN}/imageDetail.json: {REFUSED}\n")
    );
}

/// The error that ends the run keeps its own lines, and the path in it stays on its line.
#[test]
fn a_crafted_path_is_escaped_in_the_error() {
    let env = Env::new();
    env.write(
        &format!("bad/{EVIL}/imageDetail.json"),
        r#"{"ImageURI":"<IMAGE_URI>"}"#,
    );
    let run = env.run(&["emit", "bad", "--container", "app", "--out", "o"]);
    run.code(2);
    assert_eq!(
        run.stderr(),
        format!(
            "imagedef: error: found no usable imageDetail.json; every candidate was refused:\n  bad:{SHOWN}/imageDetail.json (bad/{SHOWN}/imageDetail.json): {REFUSED}\n"
        )
    );
}

/// A tag holding a line break and ESC is refused, and shown escaped in the refusal.
#[test]
fn a_crafted_tag_is_escaped() {
    let env = Env::new();
    let detail = ecr_detail("shop/web", DIGEST_WEB, &["1"]).replace(
        r#"["1"]"#,
        r#"["v1\n FAILED  prod.zip: digest mismatch\u001b[2J"]"#,
    );
    env.write("t/imageDetail.json", detail);
    let run = env.run(&["scan", "t"]);
    run.code(0);
    let lines = two_lines(run.stdout());
    assert_eq!(
        lines[1],
        r#"t         imageDetail.json  -           -     -       key "ImageTags" = "v1\n FAILED  prod.zip: digest mismatch\u001b[2J": holds a tag that has tag "v1\n FAILED  prod.zip: digest mismatch\u{1b}[2J"; a tag is 1-300 of letters, digits, _ . - and does not start with . or -; fix: list the image's tags as ECR shows them"#
    );
}

/// A zip entry named to forge a line is listed escaped in verify's line for the bundle.
#[test]
fn a_crafted_zip_entry_name_is_escaped() {
    use std::io::Write as _;
    let env = Env::new();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("imagedefinitions.json", options).unwrap();
    zip.write_all(
        format!(r#"[{{"name":"app","imageUri":"{HOST}/shop/web@{DIGEST_WEB}"}}]"#).as_bytes(),
    )
    .unwrap();
    zip.start_file(EVIL, options).unwrap();
    zip.write_all(b"hi").unwrap();
    env.write("b.zip", zip.finish().unwrap().into_inner());
    let run = env.run(&["verify", "--bundle", "b.zip"]);
    run.code(0).stderr_is(&structure_only("b.zip"));
    let lines = two_lines(run.stdout());
    assert!(
        lines[0].starts_with(&format!(
            "ok      b.zip: zip of imagedefinitions.json, {SHOWN} at its root reads cleanly ("
        )),
        "{}",
        run.stdout()
    );
}
