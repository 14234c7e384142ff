//! `verify --bundle` on hostile zips written byte by byte, each read one way by
//! `java.util.zip.ZipInputStream` (what `CodePipeline` uses) and another through the central
//! directory: every one is refused with words naming the disagreement. (Java reading them is in
//! `tests/external/zip_parity.rs`.)

use crate::util::Env;
use crate::util::crafted::{self, Case};

#[test]
fn every_crafted_zip_is_refused_naming_the_disagreement() {
    let cases = crafted::cases();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    let env = Env::new();
    let mut wrong = Vec::new();
    for (i, Case { label, bytes, says }) in cases.iter().enumerate() {
        let rel = format!("crafted/{i:02}/imagedefinitions.zip");
        env.write(&rel, bytes);
        let run = env.run(&["verify", "--bundle", &rel]);
        if run.code != 1
            || !run.stdout().contains(&format!("FAILED  {rel}: "))
            || !run.stdout().contains(says)
        {
            wrong.push(format!("{label}: want exit 1 and {says:?}, got {run:#?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
