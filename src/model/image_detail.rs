//! `imageDetail.json`: the ECR source action's output and the hand-written blue/green shape.
//!
//! Parsing is pure: bytes in, an [`ImageDetail`] or a [`Malformed`] reason out. The reason names the
//! key, the value and the fix; the caller adds the file name.

use std::fmt;

use serde_json::Value;

use super::digest::Digest;
use super::json::{self, JsonError, kind as json_kind};
use super::reference::{ImageRef, validate_tag};

/// The keys the ECR source action writes, in the order it writes them.
pub const KEYS: [&str; 8] = [
    "ImageSizeInBytes",
    "ImageDigest",
    "Version",
    "ImagePushedAt",
    "RegistryId",
    "RepositoryName",
    "ImageURI",
    "ImageTags",
];

/// A parsed imageDetail.json. Only `ImageURI` is required.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageDetail {
    pub image_uri: ImageRef,
    pub image_digest: Option<Digest>,
    pub image_tags: Vec<String>,
    pub repository_name: Option<String>,
    pub registry_id: Option<String>,
    pub image_pushed_at: Option<String>,
    pub image_size_in_bytes: Option<String>,
    pub version: Option<String>,
}

/// Why a file is not a usable imageDetail.json.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed {
    /// The JSON key at fault, when there is one.
    pub key: Option<String>,
    /// The offending value as it appears in the file (shortened), when there is one.
    pub value: Option<String>,
    pub problem: String,
    pub fix: String,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.key, &self.value) {
            (Some(k), Some(v)) => write!(f, "key {k:?} = {v}: ")?,
            (Some(k), None) => write!(f, "key {k:?}: ")?,
            (None, Some(v)) => write!(f, "{v}: ")?,
            (None, None) => {}
        }
        write!(f, "{}; fix: {}", self.problem, self.fix)
    }
}

impl std::error::Error for Malformed {}

fn malformed(
    key: Option<&str>,
    value: Option<&Value>,
    problem: impl Into<String>,
    fix: impl Into<String>,
) -> Malformed {
    Malformed {
        key: key.map(str::to_owned),
        value: value.map(show_value),
        problem: problem.into(),
        fix: fix.into(),
    }
}

/// A JSON value as it would appear in the file, cut to a readable length.
fn show_value(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 {
        format!("{}...", s.chars().take(117).collect::<String>())
    } else {
        s
    }
}

impl ImageDetail {
    /// Parses the exact bytes of a file. A UTF-8 BOM and CRLF line ends are accepted.
    pub fn parse(bytes: &[u8]) -> Result<ImageDetail, Malformed> {
        let object = parse_object(bytes)?;
        ImageDetail::from_object(&object)
    }

    fn from_object(object: &serde_json::Map<String, Value>) -> Result<ImageDetail, Malformed> {
        let string = |key: &str| -> Result<Option<String>, Malformed> {
            match object.get(key) {
                None => Ok(None),
                Some(Value::String(s)) => check_rendered(key, s).map(|()| Some(s.clone())),
                Some(other) => Err(malformed(
                    Some(key),
                    Some(other),
                    format!("is {}, not a string", json_kind(other)),
                    format!(
                        "write it as a string, e.g. \"{key}\": {}",
                        Value::String(show_plain(other))
                    ),
                )),
            }
        };

        let Some(uri) = string("ImageURI")? else {
            return Err(malformed(
                Some("ImageURI"),
                None,
                "is missing",
                "every imageDetail.json needs \"ImageURI\"; the ECR source action writes it, and for a blue/green deploy write {\"ImageURI\": \"<registry>/<repository>@sha256:<digest>\"}",
            ));
        };
        let image_uri = uri.parse::<ImageRef>().map_err(|e| {
            malformed(
                Some("ImageURI"),
                Some(&Value::String(
                    super::reference::without_credentials(&uri).into_owned(),
                )),
                e.to_string(),
                "write the image reference the push produced, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:<64 hex>",
            )
        })?;
        let image_digest = string("ImageDigest")?
            .map(|d| {
                d.parse::<Digest>().map_err(|e| {
                    malformed(
                        Some("ImageDigest"),
                        Some(&Value::String(d.clone())),
                        format!("is not a digest: it {e}"),
                        "write the digest the push printed (sha256:<64 lowercase hex>)",
                    )
                })
            })
            .transpose()?;
        let registry_id = string("RegistryId")?;
        if let Some(id) = &registry_id
            && (id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(malformed(
                Some("RegistryId"),
                Some(&Value::String(id.clone())),
                "is not a 12-digit AWS account id",
                "write the account id of the registry, or remove the key",
            ));
        }
        let image_tags = parse_tags(object.get("ImageTags"))?;
        Ok(ImageDetail {
            image_uri,
            image_digest,
            image_tags,
            repository_name: string("RepositoryName")?,
            registry_id,
            image_pushed_at: string("ImagePushedAt")?,
            image_size_in_bytes: string("ImageSizeInBytes")?,
            version: string("Version")?,
        })
    }

    /// The image's digest: the one pinned in `ImageURI`, else `ImageDigest`.
    #[must_use]
    pub fn digest(&self) -> Option<Digest> {
        self.image_uri.digest().or(self.image_digest)
    }

    /// The image's tags: `ImageTags`, else the tag written in `ImageURI`.
    #[must_use]
    pub fn tags(&self) -> Vec<&str> {
        if self.image_tags.is_empty() {
            self.image_uri.tag().into_iter().collect()
        } else {
            self.image_tags.iter().map(String::as_str).collect()
        }
    }

    /// Disagreements between the fields of one file; empty when they agree.
    #[must_use]
    pub fn inconsistencies(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let (Some(pinned), Some(declared)) = (self.image_uri.digest(), self.image_digest)
            && pinned != declared
        {
            out.push(format!(
                    "ImageURI is pinned to {pinned} but ImageDigest is {declared}; the file was edited or assembled from two pushes: take both from the same push"
                ));
        }
        if let (Some(ecr), Some(id)) = (self.image_uri.ecr(), &self.registry_id)
            && &ecr.account != id
        {
            out.push(format!(
                    "ImageURI's registry belongs to account {} but RegistryId is {id:?}; make them name the same registry",
                    ecr.account
                ));
        }
        if let Some(name) = &self.repository_name
            && name != self.image_uri.repository()
        {
            out.push(format!(
                    "ImageURI names repository {:?} but RepositoryName is {name:?}; make them name the same repository",
                    self.image_uri.repository()
                ));
        }
        out
    }
}

/// The top-level object of an imageDetail.json, with its shape and key spelling checked.
fn parse_object(bytes: &[u8]) -> Result<serde_json::Map<String, Value>, Malformed> {
    let text = json::text(bytes)
        .map_err(|e| malformed(None, None, e.to_string(), "save the file as UTF-8"))?;
    if text.trim().is_empty() {
        return Err(malformed(
            None,
            None,
            "is empty",
            "write the ECR source action's imageDetail.json here, or at least {\"ImageURI\": \"<registry>/<repository>@sha256:<digest>\"}",
        ));
    }
    let value = json::parse_text(text).map_err(|e| match e {
        JsonError::DuplicateKey(key) => malformed(
            Some(&key),
            None,
            "appears more than once",
            "keep one of them; JSON readers disagree on which one wins",
        ),
        deep @ JsonError::TooDeep(_) => malformed(
            None,
            None,
            deep.to_string(),
            "an imageDetail.json is one flat object of strings: is it the right file?",
        ),
        other => malformed(
            None,
            None,
            other.to_string(),
            "correct the JSON at that line and column",
        ),
    })?;
    let object = match value {
        Value::Object(map) => map,
        Value::Array(items) => return Err(wrong_array(&items)),
        other => {
            return Err(malformed(
                None,
                Some(&other),
                "is not a JSON object",
                "an imageDetail.json is an object such as {\"ImageURI\": \"...\"}",
            ));
        }
    };
    for key in object.keys() {
        if KEYS.contains(&key.as_str()) {
            continue;
        }
        if let Some(known) = KEYS.iter().find(|k| same_letters(k, key)) {
            return Err(malformed(
                Some(key),
                None,
                format!("is not a key of imageDetail.json; did you mean {known:?}?"),
                format!("rename it to {known:?} (keys are PascalCase and case-sensitive)"),
            ));
        }
        tracing::debug!(key = %key, "ignoring unknown key");
    }
    Ok(object)
}

/// `ImageTags`: an array of valid tags, possibly empty.
fn parse_tags(value: Option<&Value>) -> Result<Vec<String>, Malformed> {
    match value {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(t) => {
                    check_rendered("ImageTags", t)?;
                    validate_tag(t).map_err(|e| {
                        malformed(
                            Some("ImageTags"),
                            Some(item),
                            format!("holds a tag that {e}"),
                            "list the image's tags as ECR shows them",
                        )
                    })?;
                    Ok(t.clone())
                }
                other => Err(malformed(
                    Some("ImageTags"),
                    Some(other),
                    format!("holds {}, not a string", json_kind(other)),
                    "list tags as strings, e.g. [\"latest\", \"e6828a4\"]",
                )),
            })
            .collect(),
        Some(other) => Err(malformed(
            Some("ImageTags"),
            Some(other),
            format!("is {}, not an array of strings", json_kind(other)),
            "write the tags as an array, e.g. [\"latest\", \"e6828a4\"]",
        )),
    }
}

/// `[{"name": ..., "imageUri": ...}]` is the other file; say so.
fn wrong_array(items: &[Value]) -> Malformed {
    let is_definitions = items.iter().any(|item| {
        item.as_object()
            .is_some_and(|o| o.contains_key("name") || o.contains_key("imageUri"))
    });
    if is_definitions {
        malformed(
            None,
            None,
            "is a JSON array of {\"name\", \"imageUri\"}: this is an imagedefinitions.json, not an imageDetail.json",
            "point imagedef at the ECR source artifact's imageDetail.json, or rename this file to imagedefinitions.json",
        )
    } else {
        malformed(
            None,
            None,
            "is a JSON array",
            "an imageDetail.json is one object such as {\"ImageURI\": \"...\"}",
        )
    }
}

/// Refuses template text that was never filled in.
fn check_rendered(key: &str, s: &str) -> Result<(), Malformed> {
    let value = Value::String(s.to_owned());
    let refuse = |problem: &str| {
        Err(malformed(
            Some(key),
            Some(&value),
            problem,
            "render the template before this step (the value must be the real one, as the ECR source action writes it)",
        ))
    };
    if s.is_empty() {
        return refuse("is empty");
    }
    if s.contains('<') || s.contains('>') {
        return refuse("holds an unrendered placeholder");
    }
    if s.contains("{{") || s.contains("}}") {
        return refuse("holds an unrendered template expression");
    }
    if s.contains('$') {
        return refuse("holds an unexpanded shell variable");
    }
    Ok(())
}

fn same_letters(known: &str, key: &str) -> bool {
    let norm = |s: &str| {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect::<String>()
    };
    norm(known) == norm(key)
}

fn show_plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:8f1a9c2b3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcd";
    const D2: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000001";
    const HOST: &str = "111122223333.dkr.ecr.us-east-1.amazonaws.com";

    fn full() -> String {
        format!(
            r#"{{"ImageSizeInBytes":"44728918","ImageDigest":"{D1}","Version":"1.0","ImagePushedAt":"Mon Jan 21 20:04:00 UTC 2019","RegistryId":"111122223333","RepositoryName":"shop/web","ImageURI":"{HOST}/shop/web@{D1}","ImageTags":["latest","e6828a4"]}}"#
        )
    }

    #[test]
    fn parses_the_compact_ecr_output() {
        let d = ImageDetail::parse(full().as_bytes()).unwrap();
        assert_eq!(d.image_uri.repository(), "shop/web");
        assert_eq!(d.digest().unwrap().to_string(), D1);
        assert_eq!(d.tags(), ["latest", "e6828a4"]);
        assert_eq!(d.image_size_in_bytes.as_deref(), Some("44728918"));
        assert!(d.inconsistencies().is_empty());
    }

    #[test]
    fn accepts_bom_crlf_and_uri_only() {
        let crlf = format!("\u{feff}{{\r\n  \"ImageURI\": \"{HOST}/web:v1\"\r\n}}\r\n");
        let d = ImageDetail::parse(crlf.as_bytes()).unwrap();
        assert_eq!(d.tags(), ["v1"]);
        assert_eq!(d.digest(), None);
    }

    /// (file text, key in the message, fragment of the message)
    #[test]
    fn refusals_name_key_and_fix() {
        let table: Vec<(String, Option<&str>, &str)> = vec![
            ("{\"ImageURI\": ".into(), None, "not valid JSON"),
            ("{\"ImageURI\": \"a.io/x\",}".into(), None, "line 1 column"),
            (
                format!("{{\"imageURI\":\"{HOST}/web:1\"}}"),
                Some("imageURI"),
                "did you mean \"ImageURI\"",
            ),
            (
                format!("{{\"image_uri\":\"{HOST}/web:1\"}}"),
                Some("image_uri"),
                "did you mean \"ImageURI\"",
            ),
            (
                format!("[{{\"name\":\"web\",\"imageUri\":\"{HOST}/web:1\"}}]"),
                None,
                "this is an imagedefinitions.json",
            ),
            (
                "{\"ImageURI\":\"<IMAGE_URI>\"}".into(),
                Some("ImageURI"),
                "unrendered placeholder",
            ),
            (
                "{\"ImageURI\":\"$REPOSITORY_URI:latest\"}".into(),
                Some("ImageURI"),
                "unexpanded shell variable",
            ),
            (
                "{\"ImageURI\":\"${REPO}@sha256:x\"}".into(),
                Some("ImageURI"),
                "unexpanded shell variable",
            ),
            (
                "{\"ImageURI\":\".dkr.ecr.us-east-1.amazonaws.com/web:1\"}".into(),
                Some("ImageURI"),
                "empty part",
            ),
            (
                "{\"ImageURI\":\"111122223333.dkr.ecr..amazonaws.com/web:1\"}".into(),
                Some("ImageURI"),
                "empty part",
            ),
            (
                format!("{{\"ImageURI\":\"{HOST}/web:1\",\"ImageSizeInBytes\":44728918}}"),
                Some("ImageSizeInBytes"),
                "is a number, not a string",
            ),
            (
                format!("{{\"ImageURI\":\"{HOST}/web:1\",\"ImageTags\":\"v1\"}}"),
                Some("ImageTags"),
                "not an array",
            ),
            (
                format!("{{\"ImageURI\":\"{HOST}/web:1\",\"ImageTags\":[1]}}"),
                Some("ImageTags"),
                "a number, not a string",
            ),
            (
                "{\"RepositoryName\":\"web\"}".into(),
                Some("ImageURI"),
                "is missing",
            ),
            ("{\"ImageURI\":\"\"}".into(), Some("ImageURI"), "is empty"),
            ("   \n".into(), None, "is empty"),
            ("\"a.io/x\"".into(), None, "not a JSON object"),
            (
                format!("{{\"ImageURI\":\"{HOST}/web:1\",\"ImageDigest\":\"sha256:EXAMPLE\"}}"),
                Some("ImageDigest"),
                "not a hex digit",
            ),
            (
                format!("{{\"ImageURI\":\"{HOST}/web:1\",\"RegistryId\":\"1234\"}}"),
                Some("RegistryId"),
                "12-digit",
            ),
            (
                format!("{{\"ImageURI\":\"{HOST}/a:1\",\"ImageURI\":\"{HOST}/b:1\"}}"),
                Some("ImageURI"),
                "more than once",
            ),
        ];
        for (text, key, fragment) in table {
            let e = ImageDetail::parse(text.as_bytes()).unwrap_err();
            assert_eq!(e.key.as_deref(), key, "{text}: {e}");
            let shown = e.to_string();
            assert!(shown.contains(fragment), "{text}: {shown}");
            assert!(shown.contains("fix: "), "{text}: {shown}");
        }
    }

    #[test]
    fn non_utf8_is_refused() {
        let e = ImageDetail::parse(b"{\"ImageURI\":\"\xff\"}").unwrap_err();
        assert!(e.to_string().contains("not UTF-8"), "{e}");
    }

    #[test]
    fn inconsistencies_are_listed() {
        let text = full()
            .replace(
                &format!("\"ImageDigest\":\"{D1}\""),
                &format!("\"ImageDigest\":\"{D2}\""),
            )
            .replace(
                "\"RegistryId\":\"111122223333\"",
                "\"RegistryId\":\"999999999999\"",
            )
            .replace(
                "\"RepositoryName\":\"shop/web\"",
                "\"RepositoryName\":\"shop/api\"",
            );
        let d = ImageDetail::parse(text.as_bytes()).unwrap();
        let found = d.inconsistencies().join("\n");
        assert!(found.contains("ImageDigest is sha256:0000"), "{found}");
        assert!(found.contains("RegistryId is \"999999999999\""), "{found}");
        assert!(found.contains("RepositoryName is \"shop/api\""), "{found}");
    }
}
