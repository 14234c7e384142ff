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

impl FromStr for BucketName {
    type Err = String;

    fn from_str(name: &str) -> Result<BucketName, String> {
        if let Some(rest) = name.strip_prefix("s3://") {
            return Err(format!(
                "{name:?} is a URI; give the bucket's name only ({:?}) and the rest of the path in --key",
                rest.split('/').next().unwrap_or_default()
            ));
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
            return Err(format!(
                "{name:?} is not an S3 bucket name: 3-63 of lowercase letters, digits, . and -, starting and ending with a letter or digit"
            ));
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

impl FromStr for CannedAcl {
    type Err = String;

    fn from_str(s: &str) -> Result<CannedAcl, String> {
        CANNED_ACLS
            .iter()
            .find(|acl| **acl == s)
            .map(|acl| CannedAcl(acl))
            .ok_or_else(|| {
                format!(
                    "{s:?} is not a canned ACL; use one of {} (bucket-owner-full-control for another account's bucket)",
                    CANNED_ACLS.join(", ")
                )
            })
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

impl FromStr for AccountId {
    type Err = String;

    fn from_str(s: &str) -> Result<AccountId, String> {
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(AccountId(s.to_owned()))
        } else {
            Err(format!(
                "{s:?} is not an AWS account id; give the 12 digits of the account that owns the bucket"
            ))
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
        if let Some(why) = bad_segment(s) {
            return Err(format!("{s:?} {why}"));
        }
        Ok(KeyTemplate(s.to_owned()))
    }
}

impl fmt::Display for KeyTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why `key` has a path segment S3 keeps but other tools read otherwise: empty (`a//b`, a trailing
/// `/`), `.` or `..`.
fn bad_segment(key: &str) -> Option<String> {
    let segment = key
        .split('/')
        .find(|segment| matches!(*segment, "" | "." | ".."))?;
    Some(if segment.is_empty() {
        "has an empty path segment (// or a trailing /), which S3 keeps as a folder with no name; write e.g. deploy/{service}.zip".to_owned()
    } else {
        format!(
            "has a {segment:?} path segment, which S3 keeps as a folder of that name while other tools resolve it; write the key without it, e.g. deploy/{{service}}.zip"
        )
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
    pub fn keys(&self, services: &[&str]) -> Result<Vec<ObjectKey>, String> {
        if services.len() > 1 && !self.0.contains(PLACEHOLDER) {
            return Err(format!(
                "--key {self:?} has no {PLACEHOLDER}, so all {} services ({}) would go to one key; put {PLACEHOLDER} in it, e.g. {DEFAULT_KEY}",
                services.len(),
                services.join(", ")
            ));
        }
        let mut seen: BTreeMap<String, &str> = BTreeMap::new();
        let mut keys = Vec::new();
        for service in services {
            let key = self.key(service);
            if key.len() > MAX_KEY {
                return Err(format!(
                    "--key {self:?} gives service {service} the key {key:?}, {} bytes long; S3 keys are at most {MAX_KEY}",
                    key.len()
                ));
            }
            if let Some(why) = bad_segment(&key) {
                return Err(format!(
                    "--key {self:?} gives service {service} the key {key:?}, which {why}"
                ));
            }
            if let Some(other) = seen.insert(key.clone(), service) {
                return Err(format!(
                    "--key {self:?} gives services {other} and {service} the same key {key:?}; make the template tell them apart"
                ));
            }
            keys.push(ObjectKey(key));
        }
        Ok(keys)
    }
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
        let keys: Vec<String> = t
            .keys(&["web", "api"])
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(keys, ["deploy/web.zip", "deploy/api.zip"]);
        let fixed = template("bundle.zip").unwrap();
        assert_eq!(fixed.keys(&["web"]).unwrap()[0].as_str(), "bundle.zip");
        let err = fixed.keys(&["web", "api"]).unwrap_err();
        assert!(
            err.contains("no {service}") && err.contains("web, api"),
            "{err}"
        );
        let long = template(&format!("{}{{service}}", "k".repeat(MAX_KEY - 9))).unwrap();
        assert!(
            long.keys(&["a-long-name"])
                .unwrap_err()
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
            let err = bad.parse::<BucketName>().unwrap_err();
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
