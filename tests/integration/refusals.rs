//! Every way an imageDetail.json can be wrong: the exit code, the message naming file, key, value
//! and fix, and an output directory left as it was.

use crate::util::{Env, HOST};

/// (file bytes, fragments the error must contain)
fn cases() -> Vec<(Vec<u8>, Vec<&'static str>)> {
    vec![
        (
            b"{\"ImageURI\": \"x\",".to_vec(),
            vec!["is not valid JSON", "line 1 column"],
        ),
        (
            format!("{{\n  \"ImageURI\": \"{HOST}/web:1\"\n  \"ImageTags\": []\n}}").into_bytes(),
            vec!["line 3 column"],
        ),
        (
            format!("{{\"imageURI\":\"{HOST}/web:1\"}}").into_bytes(),
            vec!["key \"imageURI\"", "did you mean \"ImageURI\"", "rename it"],
        ),
        (
            format!("{{\"ImageUri\":\"{HOST}/web:1\"}}").into_bytes(),
            vec!["key \"ImageUri\"", "did you mean \"ImageURI\""],
        ),
        (
            format!("[{{\"name\":\"web\",\"imageUri\":\"{HOST}/web:1\"}}]").into_bytes(),
            vec!["this is an imagedefinitions.json, not an imageDetail.json"],
        ),
        (
            b"{\"ImageURI\":\"<IMAGE_URI>\"}".to_vec(),
            vec![
                "key \"ImageURI\" = \"<IMAGE_URI>\"",
                "unrendered placeholder",
                "fix: render",
            ],
        ),
        (
            b"{\"ImageURI\":\"$REPO:latest\"}".to_vec(),
            vec![
                "key \"ImageURI\" = \"$REPO:latest\"",
                "unexpanded shell variable",
            ],
        ),
        (
            b"{\"ImageURI\":\".dkr.ecr.us-east-1.amazonaws.com/web:1\"}".to_vec(),
            vec!["empty part"],
        ),
        (
            b"{\"ImageURI\":\"111122223333.dkr.ecr..amazonaws.com/web:1\"}".to_vec(),
            vec!["empty part"],
        ),
        (
            format!("{{\"ImageURI\":\"{HOST}/web:1\",\"ImageTags\":\"latest\"}}").into_bytes(),
            vec!["key \"ImageTags\" = \"latest\"", "not an array of strings"],
        ),
        (
            format!("{{\"ImageURI\":\"{HOST}/web:1\",\"ImageSizeInBytes\":123}}").into_bytes(),
            vec![
                "key \"ImageSizeInBytes\" = 123",
                "is a number, not a string",
                "\"ImageSizeInBytes\": \"123\"",
            ],
        ),
        (
            format!("{{\"ImageURI\":{{\"uri\":\"{HOST}/web:1\"}}}}").into_bytes(),
            vec!["key \"ImageURI\"", "is an object, not a string"],
        ),
    ]
}

#[test]
fn each_refusal_names_file_key_value_and_fix_and_writes_nothing() {
    for (bytes, fragments) in cases() {
        let env = Env::new();
        env.write("art/imageDetail.json", &bytes);
        env.write("out/keep.txt", "keep");
        let before = env.snapshot("out");
        let run = env.run(&["emit", "Img=art", "--container", "app", "--out", "out"]);
        run.code(2)
            .stderr_has("art/imageDetail.json")
            .stderr_has("fix: ");
        for f in fragments {
            run.stderr_has(f);
        }
        assert_eq!(
            env.snapshot("out"),
            before,
            "output changed for {}",
            String::from_utf8_lossy(&bytes)
        );
        env.run(&["verify", "Img=art"])
            .code(2)
            .stdout_has("art/imageDetail.json");
    }
}

#[test]
fn crlf_and_bom_are_accepted() {
    let env = Env::new();
    let text = format!("\u{feff}{{\r\n  \"ImageURI\": \"{HOST}/web:v2\"\r\n}}\r\n");
    env.write("a/imageDetail.json", text);
    env.run(&[
        "emit",
        "a",
        "--container",
        "app",
        "--uri",
        "tag",
        "--out",
        "o",
    ])
    .code(0);
    assert!(
        env.read("o/imagedefinitions.json")
            .contains(&format!("{HOST}/web:v2"))
    );
}
