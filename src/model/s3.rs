//! Where `publish` puts bundles in S3, as types valid once parsed: the bucket, the key template and
//! each key it gives, the canned ACL and the account that must own the bucket.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// The placeholder a key template may hold.
pub const PLACEHOLDER: &str = "{service}";
/// `--key`'s default.
pub const DEFAULT_KEY: &str = "{service}.zip";
/// S3 keys are at most 1024 bytes of UTF-8.
pub const MAX_KEY: usize = 1024;

/// An S3 bucket name: 3-63 of lowercase letters, digits, `.` and `-`, starting and ending with a
/// letter or digit (S3's naming rules, checked before any call).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketName(String);

/// Why a string is not a bucket name; the caller names the option.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BucketError {
    #[error(
        "{given:?} is a URI; give the bucket's name only ({bucket:?}) and the rest of the path in --key"
    )]
    Uri { given: String, bucket: String },
    #[error(
        "{0:?} is not an S3 bucket name: 3-63 of lowercase letters, digits, . and -, starting and ending with a letter or digit"
    )]
    Invalid(String),
}

impl FromStr for BucketName {
    type Err = BucketError;

    fn from_str(name: &str) -> Result<BucketName, BucketError> {
        if let Some(rest) = name.strip_prefix("s3://") {
            return Err(BucketError::Uri {
                given: name.to_owned(),
                bucket: rest.split('/').next().unwrap_or_default().to_owned(),
            });
        }
        let edge =
            |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !(3..=63).contains(&name.len())
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
            || !edge(name.chars().next())
            || !edge(name.chars().last())
        {
            return Err(BucketError::Invalid(name.to_owned()));
        }
        Ok(BucketName(name.to_owned()))
    }
}

impl BucketName {
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BucketName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// S3's canned ACLs for objects.
pub const CANNED_ACLS: &[&str] = &[
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
];

/// `--acl`: one of [`CANNED_ACLS`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CannedAcl(&'static str);

/// A string that is not a canned ACL.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a canned ACL; use one of {acls} (bucket-owner-full-control for another account's bucket)",
    acls = CANNED_ACLS.join(", ")
)]
pub struct AclError(String);

impl FromStr for CannedAcl {
    type Err = AclError;

    fn from_str(s: &str) -> Result<CannedAcl, AclError> {
        CANNED_ACLS
            .iter()
            .find(|acl| **acl == s)
            .map(|acl| CannedAcl(acl))
            .ok_or_else(|| AclError(s.to_owned()))
    }
}

impl CannedAcl {
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

/// `--expected-bucket-owner`: an AWS account id, 12 digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountId(String);

/// A string that is not an account id.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an AWS account id; give the 12 digits of the account that owns the bucket")]
pub struct AccountError(String);

impl FromStr for AccountId {
    type Err = AccountError;

    fn from_str(s: &str) -> Result<AccountId, AccountError> {
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(AccountId(s.to_owned()))
        } else {
            Err(AccountError(s.to_owned()))
        }
    }
}

impl AccountId {
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `--key`: an S3 key, with `{service}` standing for each bundle's service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyTemplate(String);

/// Why a string is not a key template; the caller names the option.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("is empty; give a key such as {DEFAULT_KEY} or deploy/{PLACEHOLDER}.zip")]
    Empty,
    #[error(
        "{given:?} starts with /, which S3 keeps as part of the key (an empty first folder); write {trimmed:?}"
    )]
    LeadingSlash { given: String, trimmed: String },
    #[error(
        "{0:?} has a placeholder other than {PLACEHOLDER} (the only one there is), or a stray brace; write e.g. deploy/{PLACEHOLDER}.zip"
    )]
    Placeholder(String),
    #[error("{0:?} holds a control character; S3 keys should not")]
    Control(String),
    #[error("is {0} bytes long; S3 keys are at most {MAX_KEY}")]
    TooLong(usize),
    #[error("{given:?} {segment}")]
    Segment { given: String, segment: BadSegment },
    #[error(
        "--key {template:?} has no {PLACEHOLDER}, so all {count} services ({services}) would go to one key; put {PLACEHOLDER} in it, e.g. {DEFAULT_KEY}"
    )]
    NoPlaceholder {
        template: String,
        count: usize,
        services: String,
    },
    #[error(
        "--key {template:?} gives service {service} the key {key:?}, {len} bytes long; S3 keys are at most {MAX_KEY}",
        len = key.len()
    )]
    KeyTooLong {
        template: String,
        service: String,
        key: String,
    },
    #[error("--key {template:?} gives service {service} the key {key:?}, which {segment}")]
    KeySegment {
        template: String,
        service: String,
        key: String,
        segment: BadSegment,
    },
    #[error(
        "--key {template:?} gives services {other} and {service} the same key {key:?}; make the template tell them apart"
    )]
    Shared {
        template: String,
        other: String,
        service: String,
        key: String,
    },
}

impl FromStr for KeyTemplate {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<KeyTemplate, KeyError> {
        if s.is_empty() {
            return Err(KeyError::Empty);
        }
        if s.starts_with('/') {
            return Err(KeyError::LeadingSlash {
                given: s.to_owned(),
                trimmed: s.trim_start_matches('/').to_owned(),
            });
        }
        let rest = s.replace(PLACEHOLDER, "");
        if rest.contains(['{', '}']) {
            return Err(KeyError::Placeholder(s.to_owned()));
        }
        if s.chars().any(char::is_control) {
            return Err(KeyError::Control(s.to_owned()));
        }
        if s.len() > MAX_KEY {
            return Err(KeyError::TooLong(s.len()));
        }
        if let Some(segment) = bad_segment(s) {
            return Err(KeyError::Segment {
                given: s.to_owned(),
                segment,
            });
        }
        Ok(KeyTemplate(s.to_owned()))
    }
}

impl fmt::Display for KeyTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A path segment S3 keeps but other tools read otherwise.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BadSegment {
    /// `a//b`, a trailing `/`.
    #[error(
        "has an empty path segment (// or a trailing /), which S3 keeps as a folder with no name; write e.g. deploy/{{service}}.zip"
    )]
    Empty,
    /// `.` or `..`.
    #[error(
        "has a {0:?} path segment, which S3 keeps as a folder of that name while other tools resolve it; write the key without it, e.g. deploy/{{service}}.zip"
    )]
    Dots(String),
}

/// The first path segment of `key` that S3 keeps but other tools read otherwise: empty, `.` or
/// `..`.
fn bad_segment(key: &str) -> Option<BadSegment> {
    let segment = key
        .split('/')
        .find(|segment| matches!(*segment, "" | "." | ".."))?;
    Some(if segment.is_empty() {
        BadSegment::Empty
    } else {
        BadSegment::Dots(segment.to_owned())
    })
}

/// One object's key, from a [`KeyTemplate`] and a service.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectKey(String);

impl ObjectKey {
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl KeyTemplate {
    /// The key of `service`.
    #[must_use]
    fn key(&self, service: &str) -> String {
        self.0.replace(PLACEHOLDER, service)
    }

    /// The key of each service, in order. Refused (naming them) when two services would share one
    /// key, which would overwrite one bundle with another, or when a key is too long.
    pub fn keys(&self, services: &[&str]) -> Result<Vec<ObjectKey>, KeyError> {
        if services.len() > 1 && !self.0.contains(PLACEHOLDER) {
            return Err(KeyError::NoPlaceholder {
                template: self.0.clone(),
                count: services.len(),
                services: services.join(", "),
            });
        }
        let mut seen: BTreeMap<String, &str> = BTreeMap::new();
        let mut keys = Vec::new();
        for service in services {
            let key = self.key(service);
            if key.len() > MAX_KEY {
                return Err(KeyError::KeyTooLong {
                    template: self.0.clone(),
                    service: (*service).to_owned(),
                    key,
                });
            }
            if let Some(segment) = bad_segment(&key) {
                return Err(KeyError::KeySegment {
                    template: self.0.clone(),
                    service: (*service).to_owned(),
                    key,
                    segment,
                });
            }
            if let Some(other) = seen.insert(key.clone(), service) {
                return Err(KeyError::Shared {
                    template: self.0.clone(),
                    other: other.to_owned(),
                    service: (*service).to_owned(),
                    key,
                });
            }
            keys.push(ObjectKey(key));
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(s: &str) -> Result<KeyTemplate, KeyError> {
        s.parse()
    }

    #[test]
    fn key_templates_are_checked_once() {
        for good in [
            DEFAULT_KEY,
            "deploy/..{service}.zip",
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
            (
                "deploy//{service}.zip",
                "has an empty path segment (// or a trailing /)",
            ),
            ("deploy/{service}/", "has an empty path segment"),
            ("../{service}.zip", "has a \"..\" path segment"),
            ("deploy/./{service}.zip", "has a \".\" path segment"),
            ("deploy/{service}/..", "has a \"..\" path segment"),
        ] {
            let err = template(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad:?}: {err}");
        }
        assert!(
            template(&"k".repeat(MAX_KEY + 1))
                .unwrap_err()
                .to_string()
                .contains("at most 1024")
        );
    }

    #[test]
    fn keys_are_one_per_service_and_never_shared() {
        let t = template("deploy/{service}.zip").unwrap();
        let keys: Vec<String> = t
            .keys(&["web", "api"])
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(keys, ["deploy/web.zip", "deploy/api.zip"]);
        let fixed = template("bundle.zip").unwrap();
        assert_eq!(fixed.keys(&["web"]).unwrap()[0].as_str(), "bundle.zip");
        let err = fixed.keys(&["web", "api"]).unwrap_err().to_string();
        assert_eq!(
            err,
            "--key \"bundle.zip\" has no {service}, so all 2 services (web, api) would go to one key; put {service} in it, e.g. {service}.zip"
        );
        let long = template(&format!("{}{{service}}", "k".repeat(MAX_KEY - 9))).unwrap();
        assert!(
            long.keys(&["a-long-name"])
                .unwrap_err()
                .to_string()
                .contains("at most 1024")
        );
    }

    #[test]
    fn buckets_acls_and_owners_are_parsed_once() {
        assert_eq!(
            "deploy-bundles".parse::<BucketName>().unwrap().as_str(),
            "deploy-bundles"
        );
        for (bad, says) in [
            (
                "s3://deploy/x",
                "is a URI; give the bucket's name only (\"deploy\")",
            ),
            ("ab", "is not an S3 bucket name"),
            ("Deploy", "is not an S3 bucket name"),
            ("-deploy", "is not an S3 bucket name"),
            ("deploy.", "is not an S3 bucket name"),
        ] {
            let err = bad.parse::<BucketName>().unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
        assert_eq!(
            "bucket-owner-full-control"
                .parse::<CannedAcl>()
                .unwrap()
                .as_str(),
            "bucket-owner-full-control"
        );
        assert!(
            "public"
                .parse::<CannedAcl>()
                .unwrap_err()
                .to_string()
                .starts_with("\"public\" is not a canned ACL; use one of private, ")
        );
        assert_eq!(
            "111122223333".parse::<AccountId>().unwrap().as_str(),
            "111122223333"
        );
        for bad in ["11112222333", "1111222233334", "11112222333x"] {
            assert!(bad.parse::<AccountId>().is_err(), "{bad}");
        }
    }
}
