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
        run.stderr,
        "imagedef: error: found no usable imageDetail.json; every candidate was refused:\n  a:imageDetail.json (a/imageDetail.json): refused: key \"ImageURI\" = \"<IMAGE_URI>\": holds an unrendered placeholder; fix: render the template before this step (the value must be the real one, as the ECR source action writes it)\n"
    );
}
