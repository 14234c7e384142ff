//! What `publish` uploads: the bundles `emit --bundle` wrote into OUT, each re-checked against
//! OUT's `SHA256SUMS` before anything is sent, and the S3 key of each from the key template.
//! [`KeyTemplate`], [`keys`] and [`precheck`] are pure; [`read`] reads OUT.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use anyhow::{anyhow, bail};

use crate::error::CheckFailed;
use crate::input;
use crate::model::Digest;
use crate::model::deploy::{
    REPORT, SHA256SUMS, SINGLE_BUNDLE, Sha256Sums, SumsLoadError, bundle_stem, is_bundle,
};
use crate::verify::bundle::MAX_BYTES;

/// The placeholder a key template may hold.
pub const PLACEHOLDER: &str = "{service}";
/// `--key`'s default.
pub const DEFAULT_KEY: &str = "{service}.zip";
/// S3 keys are at most 1024 bytes of UTF-8.
pub const MAX_KEY: usize = 1024;

/// `--key`: an S3 key, with `{service}` standing for each bundle's service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyTemplate(String);

impl FromStr for KeyTemplate {
    type Err = String;

    fn from_str(s: &str) -> Result<KeyTemplate, String> {
        if s.is_empty() {
            return Err(format!(
                "is empty; give a key such as {DEFAULT_KEY} or deploy/{PLACEHOLDER}.zip"
            ));
        }
        if s.starts_with('/') {
            return Err(format!(
                "{s:?} starts with /, which S3 keeps as part of the key (an empty first folder); write {:?}",
                s.trim_start_matches('/')
            ));
        }
        let rest = s.replace(PLACEHOLDER, "");
        if rest.contains(['{', '}']) {
            return Err(format!(
                "{s:?} has a placeholder other than {PLACEHOLDER} (the only one there is), or a stray brace; write e.g. deploy/{PLACEHOLDER}.zip"
            ));
        }
        if s.chars().any(char::is_control) {
            return Err(format!(
                "{s:?} holds a control character; S3 keys should not"
            ));
        }
        if s.len() > MAX_KEY {
            return Err(format!(
                "is {} bytes long; S3 keys are at most {MAX_KEY}",
                s.len()
            ));
        }
        Ok(KeyTemplate(s.to_owned()))
    }
}

impl fmt::Display for KeyTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl KeyTemplate {
    /// The key of `service`.
    #[must_use]
    pub fn key(&self, service: &str) -> String {
        self.0.replace(PLACEHOLDER, service)
    }
}

/// The key of each service under `template`, in order. Refused (naming them) when two services
/// would share one key, which would overwrite one bundle with another.
pub fn keys(template: &KeyTemplate, services: &[&str]) -> Result<Vec<String>, String> {
    if services.len() > 1 && !template.0.contains(PLACEHOLDER) {
        return Err(format!(
            "--key {template:?} has no {PLACEHOLDER}, so all {} services ({}) would go to one key; put {PLACEHOLDER} in it, e.g. {DEFAULT_KEY}",
            services.len(),
            services.join(", ")
        ));
    }
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    let mut keys = Vec::new();
    for service in services {
        let key = template.key(service);
        if key.len() > MAX_KEY {
            return Err(format!(
                "--key {template:?} gives service {service} the key {key:?}, {} bytes long; S3 keys are at most {MAX_KEY}",
                key.len()
            ));
        }
        if let Some(other) = seen.insert(key.clone(), service) {
            return Err(format!(
                "--key {template:?} gives services {other} and {service} the same key {key:?}; make the template tell them apart"
            ));
        }
        keys.push(key);
    }
    Ok(keys)
}

/// One bundle, checked against `SHA256SUMS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundle {
    /// The zip's file stem: the service (mapping mode), or `imagedefinitions` (single mode).
    pub service: String,
    /// The zip's file name in OUT.
    pub file: String,
    pub bytes: Vec<u8>,
    pub digest: Digest,
}

/// Why OUT is not published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// OUT holds no bundle at all (exit 2).
    NoBundles,
    /// Zips that do not match, or are missing from, `SHA256SUMS` (exit 1): each named.
    Mismatch(Vec<String>),
}

/// Which zips of OUT are bundles: in mapping mode every `<service>.zip` at OUT's root, listed or
/// found; in single mode only `imagedefinitions.zip` (OUT is then often a source folder holding
/// other zips). `files` are the zips found in OUT with their bytes. Every bundle must be listed in
/// `sums` with its exact sha256 and every listed bundle must be there; otherwise nothing is
/// published.
pub fn precheck(
    sums: &Sha256Sums,
    mapping: bool,
    files: &BTreeMap<String, Vec<u8>>,
) -> Result<Vec<Bundle>, Refusal> {
    let is_bundle = |name: &str| {
        if mapping {
            !name.contains('/') && name.len() > 4 && is_bundle(name)
        } else {
            name == SINGLE_BUNDLE
        }
    };
    let names: BTreeSet<&str> = sums
        .paths()
        .chain(files.keys().map(String::as_str))
        .filter(|n| is_bundle(n))
        .collect();
    if names.is_empty() {
        return Err(Refusal::NoBundles);
    }
    let mut bundles = Vec::new();
    let mut problems = Vec::new();
    for name in names {
        match (sums.get(name), files.get(name)) {
            (Some(listed), Some(bytes)) => {
                let digest = Digest::of(bytes);
                if digest == listed {
                    bundles.push(Bundle {
                        service: bundle_stem(name).unwrap_or(name).to_owned(),
                        file: name.to_owned(),
                        bytes: bytes.clone(),
                        digest,
                    });
                } else {
                    problems.push(format!(
                        "{name}: sha256 is {}, but {SHA256SUMS} lists {}: the zip changed after emit wrote it",
                        digest.hex(),
                        listed.hex()
                    ));
                }
            }
            (Some(_), None) => {
                problems.push(format!("{name} is listed in {SHA256SUMS} but is not there"));
            }
            (None, _) => problems.push(format!(
                "{name} is not listed in {SHA256SUMS}, so its bytes cannot be checked"
            )),
        }
    }
    if problems.is_empty() {
        Ok(bundles)
    } else {
        Err(Refusal::Mismatch(problems))
    }
}

/// Reads OUT's bundles and `SHA256SUMS` and [`precheck`]s them: a mismatch is a [`CheckFailed`]
/// (exit 1); no bundle, an unreadable file or a malformed `SHA256SUMS` an error (exit 2).
pub fn read(out: &Path) -> anyhow::Result<Vec<Bundle>> {
    let shown = out.display();
    let mapping = out.join(REPORT).is_file();
    let entries = std::fs::read_dir(out).map_err(|e| {
        anyhow!("cannot read the folder {shown}: {e}; give the OUT that emit --bundle wrote")
    })?;
    let mut files = BTreeMap::new();
    for entry in entries {
        let entry = entry.map_err(|e| anyhow!("cannot read the folder {shown}: {e}"))?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let wanted = if mapping {
            is_bundle(&name)
        } else {
            name == SINGLE_BUNDLE
        };
        if wanted {
            let bytes =
                input::read_named(&entry.path(), MAX_BYTES, "bundle").map_err(|e| anyhow!(e))?;
            files.insert(name, bytes);
        }
    }
    let sums_path = out.join(SHA256SUMS);
    let no_bundles = || {
        anyhow!(
            "{shown} holds no bundle (<service>.zip, or {SINGLE_BUNDLE}) to publish; run imagedef emit --bundle --out {shown} first"
        )
    };
    let sums = if sums_path.exists() {
        Sha256Sums::load(&sums_path).map_err(|e| match e {
            SumsLoadError::Unread(e) => anyhow!(e),
            malformed @ SumsLoadError::Malformed { .. } => {
                anyhow!("{malformed}; it is not as emit wrote it: run imagedef emit --bundle again")
            }
        })?
    } else if files.is_empty() {
        return Err(no_bundles());
    } else {
        bail!(
            "{} is missing, so the bundles in {shown} cannot be checked before they are published; run imagedef emit --bundle --out {shown} again",
            sums_path.display()
        );
    };
    precheck(&sums, mapping, &files).map_err(|refusal| match refusal {
        Refusal::NoBundles => no_bundles(),
        Refusal::Mismatch(problems) => anyhow::Error::new(CheckFailed(format!(
            "{} bundle(s) in {shown} do not match {}, so nothing was published:\n  {}\nfix: run imagedef emit --bundle again, and do not change OUT between emit and publish",
            problems.len(),
            sums_path.display(),
            problems.join("\n  ")
        ))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(s: &str) -> Result<KeyTemplate, String> {
        s.parse()
    }

    #[test]
    fn key_templates_are_checked_once() {
        for good in [
            DEFAULT_KEY,
            "deploy/{service}/bundle.zip",
            "one.zip",
            "{service}-{service}.zip",
        ] {
            assert!(template(good).is_ok(), "{good}");
        }
        for (bad, says) in [
            ("", "is empty"),
            ("/deploy/{service}.zip", "starts with /"),
            ("{name}.zip", "placeholder other than {service}"),
            ("{service.zip", "stray brace"),
            ("a\nb", "control character"),
        ] {
            let err = template(bad).unwrap_err();
            assert!(err.contains(says), "{bad:?}: {err}");
        }
        assert!(
            template(&"k".repeat(MAX_KEY + 1))
                .unwrap_err()
                .contains("at most 1024")
        );
    }

    #[test]
    fn keys_are_one_per_service_and_never_shared() {
        let t = template("deploy/{service}.zip").unwrap();
        assert_eq!(
            keys(&t, &["web", "api"]).unwrap(),
            ["deploy/web.zip", "deploy/api.zip"]
        );
        let fixed = template("bundle.zip").unwrap();
        assert_eq!(keys(&fixed, &["web"]).unwrap(), ["bundle.zip"]);
        let err = keys(&fixed, &["web", "api"]).unwrap_err();
        assert!(
            err.contains("no {service}") && err.contains("web, api"),
            "{err}"
        );
        let long = template(&format!("{}{{service}}", "k".repeat(MAX_KEY - 9))).unwrap();
        assert!(
            keys(&long, &["a-long-name"])
                .unwrap_err()
                .contains("at most 1024")
        );
    }

    fn sums(files: &[(&str, &[u8])]) -> Sha256Sums {
        Sha256Sums::of(files.iter().map(|(n, b)| (*n, Digest::of(b))))
    }

    fn on_disk(files: &[(&str, &[u8])]) -> BTreeMap<String, Vec<u8>> {
        files
            .iter()
            .map(|(n, b)| ((*n).to_owned(), b.to_vec()))
            .collect()
    }

    #[test]
    fn precheck_passes_exact_bytes_and_names_services_by_file_stem() {
        let files = [("web.zip", &b"w"[..]), ("api.zip", b"a")];
        let mut listed = vec![("web/imagedefinitions.json", &b"{}"[..])];
        listed.extend(files);
        let bundles = precheck(&sums(&listed), true, &on_disk(&files)).unwrap();
        let services: Vec<_> = bundles.iter().map(|b| b.service.as_str()).collect();
        assert_eq!(services, ["api", "web"]);
        assert_eq!(bundles[1].digest, Digest::of(b"w"));
    }

    #[test]
    fn precheck_refuses_a_changed_a_missing_and_an_unlisted_zip_all_at_once() {
        let listed = sums(&[("web.zip", b"w"), ("api.zip", b"a")]);
        let files = on_disk(&[("web.zip", b"tampered"), ("extra.zip", b"x")]);
        let Err(Refusal::Mismatch(problems)) = precheck(&listed, true, &files) else {
            panic!("must refuse");
        };
        let text = problems.join("\n");
        assert_eq!(problems.len(), 3, "{text}");
        assert!(text.contains("web.zip: sha256 is"), "{text}");
        assert!(
            text.contains("api.zip is listed in SHA256SUMS but is not there"),
            "{text}"
        );
        assert!(text.contains("extra.zip is not listed"), "{text}");
    }

    #[test]
    fn a_zip_in_capitals_is_a_bundle_too_and_must_be_listed() {
        let listed = sums(&[("web.zip", b"w")]);
        let files = on_disk(&[("web.zip", b"w"), ("API.ZIP", b"a")]);
        let Err(Refusal::Mismatch(problems)) = precheck(&listed, true, &files) else {
            panic!("must refuse");
        };
        assert_eq!(
            problems,
            ["API.ZIP is not listed in SHA256SUMS, so its bytes cannot be checked"]
        );
        let both = sums(&[("web.zip", b"w"), ("API.ZIP", b"a")]);
        let bundles = precheck(&both, true, &files).unwrap();
        let services: Vec<_> = bundles.iter().map(|b| b.service.as_str()).collect();
        assert_eq!(services, ["API", "web"]);
    }

    #[test]
    fn single_mode_publishes_only_imagedefinitions_zip() {
        let files = [(SINGLE_BUNDLE, &b"z"[..]), ("imagedefinitions.json", b"[]")];
        let mut disk = on_disk(&files[..1]);
        disk.insert("unrelated.zip".to_owned(), b"u".to_vec());
        let bundles = precheck(&sums(&files), false, &disk).unwrap();
        assert_eq!(bundles.len(), 1);
        assert_eq!(bundles[0].service, "imagedefinitions");
        assert_eq!(
            precheck(&sums(&files[1..]), false, &BTreeMap::new()),
            Err(Refusal::NoBundles)
        );
    }
}
