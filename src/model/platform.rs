//! Platforms: the one a task needs (its `runtimePlatform`, or linux/amd64 on Fargate) and the ones
//! an image offers (the platforms its index lists, or the one its config names).
//!
//! Names are OCI's (`os/architecture[/variant]`: `linux/amd64`, `linux/arm64`), and `arm64` is
//! `arm64/v8`. For Windows only the OS family is compared: `os.version` is not.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use super::Digest;

/// `os/architecture[/variant]`, lower case.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    /// The variant, with the ones OCI implies spelt out (`arm64` is `arm64/v8`).
    fn variant(&self) -> Option<&str> {
        match (self.architecture.as_str(), self.variant.as_deref()) {
            ("arm64", None) => Some("v8"),
            (_, v) => v,
        }
    }

    /// An image of this platform runs where `needed` is asked for: the same OS and architecture,
    /// and the same variant when `needed` names one.
    #[must_use]
    pub fn runs_as(&self, needed: &Platform) -> bool {
        self.os == needed.os
            && self.architecture == needed.architecture
            && (needed.variant.is_none() || self.variant() == needed.variant())
    }

    /// From the `os`, `architecture` and `variant` of an index entry's `platform` or of an image
    /// config (`at`: where, for the message). `Ok(None)` when `os` or `architecture` is missing or
    /// empty; an error for a value that is not a word as OCI names platforms (`amd64`, `v8`),
    /// which could otherwise carry anything into a message.
    fn of_json(value: &Value, at: &str) -> Result<Option<Platform>, PlatformError> {
        let text = |key: &'static str| -> Result<Option<String>, PlatformError> {
            let Some(text) = value
                .get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            else {
                return Ok(None);
            };
            let lower = text.to_ascii_lowercase();
            if lower.len() > 32
                || !lower
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                return Err(PlatformError::Field {
                    at: format!("{at}{key}"),
                    value: text.to_owned(),
                });
            }
            Ok(Some(lower))
        };
        let (Some(os), Some(architecture)) = (text("os")?, text("architecture")?) else {
            return Ok(None);
        };
        Ok(Some(Platform {
            os,
            architecture,
            variant: text("variant")?,
        }))
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        match &self.variant {
            Some(v) => write!(f, "/{v}"),
            None => Ok(()),
        }
    }
}

/// Why a value is not a platform, or not a platform ECS or an image names as expected; each
/// names its key or field and the fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    #[error(
        "{0:?} is not a platform; write os/architecture[/variant] in lower case as OCI names them, e.g. linux/amd64 or linux/arm64"
    )]
    Syntax(String),
    #[error(
        "key \"runtimePlatform\" is {0}, not an object like {{\"cpuArchitecture\": \"ARM64\", \"operatingSystemFamily\": \"LINUX\"}}"
    )]
    RuntimeNotObject(Value),
    #[error("key \"runtimePlatform.{key}\" is {value}, not a string")]
    RuntimeNotString { key: &'static str, value: Value },
    #[error("key \"runtimePlatform.cpuArchitecture\" is {0:?}; ECS knows X86_64 and ARM64")]
    Architecture(String),
    #[error(
        "key \"runtimePlatform.operatingSystemFamily\" is {0:?}; ECS knows LINUX and WINDOWS_SERVER_* (e.g. WINDOWS_SERVER_2022_CORE)"
    )]
    OsFamily(String),
    #[error("\"manifests\" is not an array")]
    ManifestsNotArray,
    #[error("\"manifests[{0}].digest\" is not a sha256 digest")]
    EntryDigest(usize),
    #[error("neither \"manifests\" (an image index) nor \"config.digest\" (an image manifest)")]
    NeitherIndexNorManifest,
    #[error("\"config.digest\": {0}")]
    ConfigDigest(super::digest::DigestError),
    #[error(
        "the image config names no \"os\" and \"architecture\"; rebuild the image with a builder that records them"
    )]
    ConfigNamesNone,
    #[error(
        "{at:?} is {shown}, not a platform word as OCI names them (amd64, arm64, v8); the document is not trusted",
        shown = crate::io::escape::value(value)
    )]
    Field { at: String, value: String },
}

impl FromStr for Platform {
    type Err = PlatformError;

    fn from_str(s: &str) -> Result<Platform, PlatformError> {
        let parts: Vec<&str> = s.split('/').collect();
        let ok = |p: &str| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        match parts.as_slice() {
            [os, architecture, rest @ ..]
                if rest.len() <= 1 && ok(os) && ok(architecture) && rest.iter().all(|v| ok(v)) =>
            {
                Ok(Platform {
                    os: (*os).to_owned(),
                    architecture: (*architecture).to_owned(),
                    variant: rest.first().map(|v| (*v).to_owned()),
                })
            }
            _ => Err(PlatformError::Syntax(s.to_owned())),
        }
    }
}

/// What a task needs of its images' platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Needed {
    /// This platform, and why (`"runtimePlatform"`, `"FARGATE without ..."`).
    Platform { platform: Platform, from: String },
    /// Nothing can be said (EC2 or EXTERNAL without `runtimePlatform`): why, for `-v`.
    Unknown(String),
}

/// The platform a task definition's body (the object holding `containerDefinitions`) needs. An
/// error names the key and the value that is neither a CPU architecture nor an OS family ECS
/// knows.
pub fn needed_by_task(body: &Value) -> Result<Needed, PlatformError> {
    let runtime = match body.get("runtimePlatform") {
        None | Some(Value::Null) => None,
        Some(r @ Value::Object(_)) => Some(r),
        Some(r) => return Err(PlatformError::RuntimeNotObject(r.clone())),
    };
    let text = |key: &'static str| -> Result<Option<&str>, PlatformError> {
        match runtime.and_then(|r| r.get(key)) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(PlatformError::RuntimeNotString {
                key,
                value: other.clone(),
            }),
        }
    };
    let fargate = body
        .get("requiresCompatibilities")
        .and_then(Value::as_array)
        .is_some_and(|c| c.iter().any(|c| c.as_str() == Some("FARGATE")));
    needed(
        text("cpuArchitecture")?,
        text("operatingSystemFamily")?,
        fargate,
    )
}

/// The platform a task needs: its `runtimePlatform` (`cpuArchitecture`, `operatingSystemFamily`),
/// else linux/amd64 when it requires FARGATE (and amd64 for Windows, which runs on `x86_64` only).
pub fn needed(
    cpu_architecture: Option<&str>,
    os_family: Option<&str>,
    fargate: bool,
) -> Result<Needed, PlatformError> {
    let architecture = match cpu_architecture {
        None => None,
        Some("X86_64") => Some("amd64"),
        Some("ARM64") => Some("arm64"),
        Some(other) => return Err(PlatformError::Architecture(other.to_owned())),
    };
    let os = match os_family {
        None => None,
        Some("LINUX") => Some("linux"),
        Some(w) if w.starts_with("WINDOWS_SERVER_") => Some("windows"),
        Some(other) => return Err(PlatformError::OsFamily(other.to_owned())),
    };
    let default = (fargate || os == Some("windows")).then_some("amd64");
    let Some(chosen) = architecture.or(default) else {
        return Ok(Needed::Unknown(
            "the task definition names no runtimePlatform.cpuArchitecture and does not require FARGATE (EC2 or EXTERNAL instances decide the platform)".to_owned(),
        ));
    };
    Ok(Needed::Platform {
        platform: Platform {
            os: os.unwrap_or("linux").to_owned(),
            architecture: chosen.to_owned(),
            variant: None,
        },
        from: if architecture.is_some() {
            "runtimePlatform".to_owned()
        } else if fargate {
            "FARGATE without runtimePlatform.cpuArchitecture: amd64".to_owned()
        } else {
            "a Windows runtimePlatform: amd64".to_owned()
        },
    })
}

/// What an image manifest or index offers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Offered {
    /// An image index (manifest list): its platform manifests, attestations left out.
    Index(Vec<Entry>),
    /// A single image manifest: its platform is in the config blob of this digest.
    Manifest { config: Digest },
}

/// One platform manifest of an index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub digest: Digest,
    pub platform: Platform,
}

impl Offered {
    /// The platform manifests of an index that run as `needed`, or all of them when nothing is
    /// needed. Empty for a single manifest.
    #[must_use]
    pub fn entries_for(&self, needed: Option<&Platform>) -> Vec<&Entry> {
        match self {
            Offered::Index(entries) => entries
                .iter()
                .filter(|e| needed.is_none_or(|n| e.platform.runs_as(n)))
                .collect(),
            Offered::Manifest { .. } => Vec::new(),
        }
    }
}

/// The platforms an image offers, once a single manifest's config was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Offers {
    /// An index's platform manifests.
    Index(Vec<Entry>),
    /// A single image manifest's platform, from its config.
    Single(Platform),
}

impl Offers {
    /// Every platform offered, in order.
    #[must_use]
    pub fn platforms(&self) -> Vec<&Platform> {
        match self {
            Offers::Index(entries) => entries.iter().map(|e| &e.platform).collect(),
            Offers::Single(p) => vec![p],
        }
    }

    /// An image offering these runs where `needed` is asked for.
    #[must_use]
    pub fn runs_as(&self, needed: &Platform) -> bool {
        self.platforms().iter().any(|p| p.runs_as(needed))
    }

    /// The platforms as one would list them: `linux/amd64, linux/arm64` (index) or `linux/amd64`.
    #[must_use]
    pub fn list(&self) -> String {
        let names: Vec<String> = self.platforms().iter().map(ToString::to_string).collect();
        match (self, names.is_empty()) {
            (Offers::Index(_), true) => "an index that lists no platform".to_owned(),
            (Offers::Index(_), false) => format!("index of {}", names.join(", ")),
            (Offers::Single(_), _) => names.join(", "),
        }
    }
}

/// Reads a manifest's or an index's JSON (already proven to be the bytes of its digest).
pub fn offered(document: &Value) -> Result<Offered, PlatformError> {
    if let Some(manifests) = document.get("manifests") {
        let Some(manifests) = manifests.as_array() else {
            return Err(PlatformError::ManifestsNotArray);
        };
        let mut entries = Vec::new();
        for (i, m) in manifests.iter().enumerate() {
            let attestation = m
                .pointer("/annotations/vnd.docker.reference.type")
                .and_then(Value::as_str)
                == Some("attestation-manifest");
            let platform = match m.get("platform") {
                Some(p) => Platform::of_json(p, &format!("manifests[{i}].platform."))?,
                None => None,
            };
            let Some(platform) = platform.filter(|p| !attestation && p.os != "unknown") else {
                continue;
            };
            let digest = m
                .get("digest")
                .and_then(Value::as_str)
                .and_then(|d| d.parse::<Digest>().ok())
                .ok_or(PlatformError::EntryDigest(i))?;
            entries.push(Entry { digest, platform });
        }
        return Ok(Offered::Index(entries));
    }
    let config = document
        .pointer("/config/digest")
        .and_then(Value::as_str)
        .ok_or(PlatformError::NeitherIndexNorManifest)?;
    let config = config
        .parse::<Digest>()
        .map_err(PlatformError::ConfigDigest)?;
    Ok(Offered::Manifest { config })
}

/// The platform an image config blob names (`os`, `architecture`, `variant`).
pub fn of_config(config: &Value) -> Result<Platform, PlatformError> {
    Platform::of_json(config, "")?.ok_or(PlatformError::ConfigNamesNone)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(s: &str) -> Platform {
        s.parse().unwrap()
    }

    #[test]
    fn platforms_parse_and_compare_as_oci_names_them() {
        assert_eq!(p("linux/arm64").to_string(), "linux/arm64");
        assert!(p("linux/arm64/v8").runs_as(&p("linux/arm64")));
        assert!(p("linux/arm64").runs_as(&p("linux/arm64/v8")));
        assert!(!p("linux/arm/v7").runs_as(&p("linux/arm64")));
        assert!(!p("linux/amd64").runs_as(&p("linux/arm64")));
        assert!(!p("windows/amd64").runs_as(&p("linux/amd64")));
        for bad in [
            "linux",
            "Linux/amd64",
            "linux/amd64/v8/x",
            "linux//amd64",
            "",
        ] {
            assert!(bad.parse::<Platform>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_task_needs_its_runtime_platform_or_amd64_on_fargate() {
        let needed = |v: Value| match needed_by_task(&v).unwrap() {
            Needed::Platform { platform, .. } => Some(platform.to_string()),
            Needed::Unknown(_) => None,
        };
        let arm = json!({"runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"}});
        assert_eq!(needed(arm).as_deref(), Some("linux/arm64"));
        let fargate = json!({"requiresCompatibilities": ["FARGATE"]});
        assert_eq!(needed(fargate).as_deref(), Some("linux/amd64"));
        let os_only = json!({"requiresCompatibilities": ["FARGATE"], "runtimePlatform": {"operatingSystemFamily": "LINUX", "cpuArchitecture": null}});
        assert_eq!(needed(os_only).as_deref(), Some("linux/amd64"));
        let windows =
            json!({"runtimePlatform": {"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"}});
        assert_eq!(needed(windows).as_deref(), Some("windows/amd64"));
        assert_eq!(needed(json!({"requiresCompatibilities": ["EC2"]})), None);
        assert_eq!(needed(json!({"runtimePlatform": null})), None);
        let bad = json!({"runtimePlatform": {"cpuArchitecture": "AARCH64"}});
        assert!(
            needed_by_task(&bad)
                .unwrap_err()
                .to_string()
                .contains("\"AARCH64\"")
        );
    }

    #[test]
    fn an_index_offers_its_platforms_but_not_its_attestations() {
        let d = |n: u8| format!("sha256:{}", format!("{n:02x}").repeat(32));
        let index = json!({"manifests": [
            {"digest": d(1), "platform": {"os": "linux", "architecture": "amd64"}},
            {"digest": d(2), "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
            {"digest": d(3), "platform": {"os": "unknown", "architecture": "unknown"},
             "annotations": {"vnd.docker.reference.type": "attestation-manifest"}},
        ]});
        let offered = offered(&index).unwrap();
        let all: Vec<String> = offered
            .entries_for(None)
            .iter()
            .map(|e| e.platform.to_string())
            .collect();
        assert_eq!(all, ["linux/amd64", "linux/arm64/v8"]);
        let arm = offered.entries_for(Some(&p("linux/arm64")));
        assert_eq!(arm.len(), 1);
        assert_eq!(arm[0].digest.to_string(), d(2));
        let manifest = json!({"config": {"digest": d(4)}, "layers": []});
        assert_eq!(
            super::offered(&manifest).unwrap(),
            Offered::Manifest {
                config: d(4).parse().unwrap()
            }
        );
        assert_eq!(
            of_config(&json!({"os": "linux", "architecture": "arm64"})).unwrap(),
            p("linux/arm64")
        );
    }
}
