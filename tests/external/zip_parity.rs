//! `verify --bundle` against `java.util.zip.ZipInputStream`, the reader `CodePipeline` uses:
//! every hostile zip is refused with words naming the disagreement, and whenever verify passes a
//! zip (crafted, or a real bundle with random bytes changed), Java read exactly the entries and
//! bytes verify checked.

use std::path::PathBuf;

use imagedef::testing::OutFile;
use imagedef::testing::{Check, MAX_BUNDLE_BYTES, Recorder, check_bundle, read_zip};

use crate::tools::readers::{java, java_batch, sha256_hex};
use crate::util::crafted;
use crate::util::{
    DIGEST_WEB, Env, HOST, emit_web_bundle, structure_only, web_artifact, zip_facts,
};

/// How many random mutations of real bundles the differential test reads.
const MUTATIONS: usize = 2400;

#[test]
fn the_crafted_baseline_passes_and_java_reads_it() {
    let env = Env::new();
    let path = env.write("base/imagedefinitions.zip", crafted::baseline().bytes());
    env.run(&["verify", "--bundle", "base/imagedefinitions.zip"])
        .code(0)
        .stdout_is(&format!(
            "ok      base/imagedefinitions.zip: zip of imagedefinitions.json at its root reads cleanly {}; only its structure and shapes were checked: nothing held its content\n1 passed, 0 failed\n",
            zip_facts(&env, "base/imagedefinitions.zip")
        ))
        .stderr_is(&structure_only("base/imagedefinitions.zip"));
    let entries = java(&path);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].name, crafted::DEFS);
    assert_eq!(entries[0].sha256, sha256_hex(&crafted::defs()));
}

/// A deterministic xorshift64* generator: the same mutations on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        self.next().to_le_bytes()[0]
    }
}

/// One to three byte-level changes: a flipped bit, a new byte, an inserted or deleted byte, a
/// truncation, or a few bytes copied from elsewhere in the zip.
fn mutate(base: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut bytes = base.to_vec();
    for _ in 0..=rng.below(3) {
        let at = rng.below(bytes.len());
        match rng.below(6) {
            0 => bytes[at] ^= 1 << rng.below(8),
            1 => bytes[at] = rng.byte(),
            2 => bytes.insert(at, rng.byte()),
            3 => {
                bytes.remove(at);
            }
            4 => bytes.truncate(at.max(1)),
            _ => {
                let from = rng.below(bytes.len());
                for k in 0..=rng.below(8) {
                    if at + k < bytes.len() && from + k < bytes.len() {
                        bytes[at + k] = bytes[from + k];
                    }
                }
            }
        }
        if bytes.is_empty() {
            bytes.push(0);
        }
    }
    bytes
}

/// The real bundles mutated: single-image mode's, and a service's with both files.
fn real_bundles() -> Vec<Vec<u8>> {
    let env = web_artifact();
    emit_web_bundle(&env, "out");
    let single = std::fs::read(env.path("out/imagedefinitions.zip")).unwrap();
    let uri = format!("{HOST}/shop/web@{DIGEST_WEB}");
    let loose = [
        OutFile::new(
            "imagedefinitions.json",
            format!(r#"[{{"name":"app","imageUri":"{uri}"}}]"#).into_bytes(),
        ),
        OutFile::new(
            "imageDetail.json",
            format!(r#"{{"ImageURI":"{uri}"}}"#).into_bytes(),
        ),
    ];
    let service = imagedef::testing::zip(&loose).unwrap();
    vec![single, service]
}

/// What verify checked in a zip it passed: each entry's name and bytes; `None` when it refused.
fn verify_in_process(path: &std::path::Path) -> Option<Vec<(String, Vec<u8>)>> {
    let mut report = Recorder::new(Check::Bundle);
    check_bundle(path, &mut report);
    if !report.findings().is_empty() {
        return None;
    }
    let bytes = std::fs::read(path).unwrap();
    let entries = read_zip(&bytes, MAX_BUNDLE_BYTES).expect("verify passed it");
    Some(entries.into_iter().map(|e| (e.name, e.data)).collect())
}

#[test]
fn whenever_verify_passes_a_zip_java_reads_exactly_what_verify_checked() {
    let env = Env::new();
    let mut zips: Vec<(String, Vec<u8>)> = crafted::cases()
        .into_iter()
        .map(|c| (format!("crafted: {}", c.label), c.bytes))
        .collect();
    let crafted = zips.len();
    let bases = real_bundles();
    for (i, base) in bases.iter().enumerate() {
        zips.push((format!("real bundle {i}"), base.clone()));
    }
    let mut rng = Rng(0x1a6e_def0_5eed_2024);
    for i in 0..MUTATIONS {
        let base = &bases[i % bases.len()];
        zips.push((format!("mutation {i}"), mutate(base, &mut rng)));
    }
    let paths: Vec<PathBuf> = zips
        .iter()
        .enumerate()
        .map(|(i, (_, bytes))| env.write(&format!("zips/{i:04}.zip"), bytes))
        .collect();

    let verdicts: Vec<_> = paths.iter().map(|p| verify_in_process(p)).collect();
    let javas = java_batch(&paths);
    let mut violations = Vec::new();
    let (mut passed, mut java_refused) = (0, 0);
    for (((label, _), verdict), java) in zips.iter().zip(&verdicts).zip(&javas) {
        if java.is_err() {
            java_refused += 1;
        }
        let Some(checked) = verdict else { continue };
        passed += 1;
        let want: Vec<(String, u64, String)> = checked
            .iter()
            .map(|(name, data)| (name.clone(), data.len() as u64, sha256_hex(data)))
            .collect();
        let got = java.as_ref().map(|entries| {
            entries
                .iter()
                .map(|e| (e.name.clone(), e.read, e.sha256.clone()))
                .collect::<Vec<_>>()
        });
        if got.as_ref() != Ok(&want) {
            violations.push(format!(
                "{label}: verify checked {want:?}, Java read {got:?}"
            ));
        }
    }
    for (i, (label, _)) in zips.iter().enumerate().take(crafted) {
        assert!(verdicts[i].is_none(), "crafted case passed: {label}");
    }

    // The binary gives the same verdict: every crafted zip, every pass, every 25th mutation.
    let mut through_binary = 0;
    for (i, path) in paths.iter().enumerate() {
        if !(i < crafted + bases.len() || verdicts[i].is_some() || i % 25 == 0) {
            continue;
        }
        through_binary += 1;
        let rel = path.strip_prefix(env.root()).unwrap().to_str().unwrap();
        let run = env.run(&["verify", "--bundle", rel]);
        let want = i32::from(verdicts[i].is_none());
        assert_eq!(run.code, want, "{}: {run:#?}", zips[i].0);
        if let Some(entries) = &verdicts[i] {
            let mut names: Vec<&str> = entries.iter().map(|(name, _)| name.as_str()).collect();
            names.sort_unstable();
            run.stdout_is(&format!(
                "ok      {rel}: zip of {} at its root reads cleanly {}; only its structure and shapes were checked: nothing held its content\n1 passed, 0 failed\n",
                names.join(", "),
                zip_facts(&env, rel)
            ))
            .stderr_is(&structure_only(rel));
        } else {
            run.stdout_has(&format!("FAILED  {rel}: "));
        }
    }

    let refused = zips.len() - passed;
    eprintln!(
        "zip parity: {crafted} crafted, {MUTATIONS} mutated (+{} real bundles), {refused} refused, {passed} passed; Java threw on {java_refused}; {through_binary} run through the binary too",
        bases.len()
    );
    assert!(violations.is_empty(), "{}", violations.join("\n"));
    // The property is not vacuous: real bundles and harmless mutations pass.
    assert!(passed > bases.len(), "only {passed} passed");
}
