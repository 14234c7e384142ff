//! `--findings` / mapping `findings` thresholds refused as they are read, before any call to AWS
//! (the findings check itself, against moto, is in `tests/external/findings.rs`).

use crate::util::Env;

#[test]
fn bad_thresholds_are_refused_naming_where_they_were_written_the_value_and_the_fix() {
    let mut env = Env::new();
    env.write(
        "img/imageDetail.json",
        crate::util::ecr_detail("shop/web", crate::util::DIGEST_WEB, &["1"]),
    );
    env.run(&["emit", "img", "--container", "web", "--findings", "SEVERE=1"])
        .code(2)
        .stderr_has("--findings \"SEVERE=1\": \"SEVERE\" is not a severity of a scan finding; use one of CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, UNDEFINED, UNTRIAGED");
    env.run(&["verify", "img", "--findings", "HIGH=1,HIGH=2"])
        .code(2)
        .stderr_has("--findings \"HIGH=1,HIGH=2\" names HIGH twice");
    env.run(&["emit", "img", "--container", "web", "--scan-wait=-1"])
        .code(2)
        .stderr_has("invalid value '-1' for '--scan-wait <SECONDS>'");
    env.write(
        "m.json",
        r#"{"services": {"web": {"containers": {"web": {"artifact": "img"}}, "findings": {"HIGH": "2"}}}}"#,
    );
    env.run(&["emit", "img", "--mapping", "m.json"])
        .code(2)
        .stderr_has("mapping m.json: key \"services.web.findings.HIGH\" = \"2\" is not a whole number of findings");
    env.set("IMAGEDEF_FINDINGS", "HIGH=-1");
    env.run(&["emit", "img", "--container", "web"])
        .code(2)
        .stderr_has("$IMAGEDEF_FINDINGS \"HIGH=-1\": HIGH=-1 is not a whole number of findings from 0 to 4294967295; write e.g. HIGH=0");
}
