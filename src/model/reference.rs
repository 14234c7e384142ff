//! Image references (`[host/]repository[:tag][@sha256:...]`) and the ECR registry hosts inside them.

use std::fmt;
use std::str::FromStr;

use super::digest::{Digest, DigestError};
use super::ecr::{EcrHost, HostError};

/// The longest tag ECR stores (`ImageIdentifier.imageTag`).
const MAX_TAG_LEN: usize = 300;

/// A parsed image reference. `Display` writes it back exactly as parsed.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct ImageRef {
    host: Option<String>,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl ImageRef {
    /// The registry host (with port, if any); `None` for a Docker Hub short name.
    #[must_use]
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    #[must_use]
    pub fn repository(&self) -> &str {
        &self.repository
    }

    #[must_use]
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    #[must_use]
    pub fn digest(&self) -> Option<Digest> {
        self.digest
    }

    /// The ECR parts of the host, when the host is an Amazon ECR private registry.
    #[must_use]
    pub fn ecr(&self) -> Option<EcrHost> {
        self.host
            .as_deref()
            .and_then(|h| EcrHost::parse(h).ok().flatten())
    }

    /// `host/repository`, the name without tag or digest.
    #[must_use]
    pub fn name(&self) -> String {
        match &self.host {
            Some(h) => format!("{h}/{}", self.repository),
            None => self.repository.clone(),
        }
    }

    /// How long the reference is where ECS limits it: everything before any `@sha256:`.
    #[must_use]
    pub fn ecs_length(&self) -> usize {
        self.with(self.tag(), None).to_string().len()
    }

    /// True when ECS accepts the reference's length ([`MAX_REFERENCE_LEN`] before any digest).
    #[must_use]
    pub fn fits_ecs(&self) -> bool {
        self.ecs_length() <= MAX_REFERENCE_LEN
    }

    /// The reference as text that is read shows it: its digest shortened ([`Digest::short`]).
    #[must_use]
    pub fn short(&self) -> String {
        match self.digest {
            Some(d) => format!("{}@{}", self.with(self.tag(), None), d.short()),
            None => self.to_string(),
        }
    }

    /// The same image name with the given tag and digest.
    #[must_use]
    pub fn with(&self, tag: Option<&str>, digest: Option<Digest>) -> ImageRef {
        ImageRef {
            host: self.host.clone(),
            repository: self.repository.clone(),
            tag: tag.map(str::to_owned),
            digest,
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(h) = &self.host {
            write!(f, "{h}/")?;
        }
        f.write_str(&self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl serde::Serialize for ImageRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Why a string is not an image reference; each message says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    #[error(
        "is empty; expected an image reference such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/repo@sha256:..."
    )]
    Empty,
    #[error("contains whitespace; an image reference has none")]
    Whitespace,
    #[error("has a digest that {0}")]
    Digest(DigestError),
    #[error(
        "has a user name or password before its registry host (user:password@host/...); an image reference carries no credentials: remove them, and let the registry's login (the task's execution role for ECR) supply them"
    )]
    Credentials,
    #[error("has no repository name")]
    NoRepository,
    #[error("has repository {0:?} with uppercase letters; repository names are lowercase")]
    UppercaseRepository(String),
    #[error(
        "has repository {0:?} with a control character; a repository name is lowercase letters, digits, and . _ - / between them"
    )]
    ControlInRepository(String),
    #[error(
        "has repository {0:?}, which is not a valid name (lowercase letters, digits, and . _ - / between them)"
    )]
    BadRepository(String),
    #[error(
        "has tag {0:?}; a tag is 1-300 of letters, digits, _ . - and does not start with . or -"
    )]
    BadTag(String),
    #[error("has registry host {0:?} with an empty part (an unexpanded variable?)")]
    EmptyHostPart(String),
    #[error("has registry host {0:?}, which is not a valid host name")]
    BadHost(String),
    #[error(
        "has registry host {host:?}, which looks like Amazon ECR but {why}; ECR hosts look like 123456789012.dkr.ecr.us-east-1.amazonaws.com"
    )]
    BadEcrHost { host: String, why: HostError },
}

impl FromStr for ImageRef {
    type Err = RefError;

    fn from_str(s: &str) -> Result<ImageRef, RefError> {
        if s.is_empty() {
            return Err(RefError::Empty);
        }
        if s.chars().any(char::is_whitespace) {
            return Err(RefError::Whitespace);
        }
        if credentials_end(s).is_some() {
            return Err(RefError::Credentials);
        }
        let (name_tag, digest) = match s.split_once('@') {
            Some((left, d)) => (left, Some(d.parse::<Digest>().map_err(RefError::Digest)?)),
            None => (s, None),
        };
        let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_tag[last_slash..].rfind(':') {
            Some(i) => (
                &name_tag[..last_slash + i],
                Some(&name_tag[last_slash + i + 1..]),
            ),
            None => (name_tag, None),
        };
        let (host, repository) = match name.split_once('/') {
            Some((first, rest)) if looks_like_host(first) => (Some(first), rest),
            _ => (None, name),
        };
        if let Some(h) = host {
            check_host(h)?;
        }
        check_repository(repository)?;
        if let Some(t) = tag {
            check_tag(t)?;
        }
        Ok(ImageRef {
            host: host.map(str::to_owned),
            repository: repository.to_owned(),
            tag: tag.map(str::to_owned),
            digest,
        })
    }
}

/// Docker's rule: the first component is a host when it has a dot or a port, or is `localhost`.
/// An empty first component (`/repo`, what `$REGISTRY/repo` becomes) is a host too, so it is refused.
fn looks_like_host(first: &str) -> bool {
    first.is_empty() || first.contains('.') || first.contains(':') || first == "localhost"
}

fn check_host(host: &str) -> Result<(), RefError> {
    let (name, port) = match host.rsplit_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (host, None),
    };
    if name.is_empty() || name.split('.').any(str::is_empty) {
        return Err(RefError::EmptyHostPart(host.to_owned()));
    }
    let label_ok = |l: &str| {
        l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if !name.split('.').all(label_ok) {
        return Err(RefError::BadHost(host.to_owned()));
    }
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(RefError::BadHost(host.to_owned()));
    }
    EcrHost::parse(host)
        .map(|_| ())
        .map_err(|why| RefError::BadEcrHost {
            host: host.to_owned(),
            why,
        })
}

fn check_repository(repo: &str) -> Result<(), RefError> {
    if repo.is_empty() {
        return Err(RefError::NoRepository);
    }
    if repo.chars().any(char::is_control) {
        return Err(RefError::ControlInRepository(repo.to_owned()));
    }
    if repo.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(RefError::UppercaseRepository(repo.to_owned()));
    }
    // component := [a-z0-9]+ ((. | _ | __ | -+) [a-z0-9]+)*
    let component_ok = |c: &str| {
        let b = c.as_bytes();
        if b.is_empty() || !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric()
        {
            return false;
        }
        let mut i = 0;
        while i < b.len() {
            if b[i].is_ascii_lowercase() || b[i].is_ascii_digit() {
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && matches!(b[i], b'.' | b'_' | b'-') {
                i += 1;
            }
            let sep = &c[start..i];
            let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
            if !ok || sep.is_empty() {
                return false;
            }
        }
        true
    };
    if repo.split('/').all(component_ok) {
        Ok(())
    } else {
        Err(RefError::BadRepository(repo.to_owned()))
    }
}

fn check_tag(tag: &str) -> Result<(), RefError> {
    let b = tag.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= MAX_TAG_LEN
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(RefError::BadTag(tag.to_owned()))
    }
}

/// `text` as messages may show it: a `user:password@` before the host (refused as
/// [`RefError::Credentials`]) replaced by `<credentials>@`, so that no message repeats a secret.
#[must_use]
pub fn without_credentials(text: &str) -> std::borrow::Cow<'_, str> {
    match credentials_end(text) {
        Some(at) => format!("<credentials>{}", &text[at..]).into(),
        None => text.into(),
    }
}

/// Where a `user:password@` before the host ends (at its last `@`): an `@` before the first `/`,
/// which a digest's `@` never is (it follows the repository).
fn credentials_end(text: &str) -> Option<usize> {
    let slash = text.find('/')?;
    text[..slash].rfind('@')
}

/// Checks a tag from `ImageTags` with the same rule as a tag inside a reference.
pub fn validate_tag(tag: &str) -> Result<(), RefError> {
    check_tag(tag)
}

/// The longest image reference ECS accepts before any `@sha256:`.
pub const MAX_REFERENCE_LEN: usize = 255;

/// The form of the `imageUri` written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub enum UriMode {
    /// `repo@sha256:...`: exactly the pushed image.
    #[default]
    #[serde(rename = "digest")]
    Digest,
    /// `repo:tag`.
    #[serde(rename = "tag")]
    Tag,
    /// `repo:tag@sha256:...`.
    #[serde(rename = "tag+digest")]
    TagDigest,
}

/// A string that is not a URI mode.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a URI mode; use digest, tag or tag+digest")]
pub struct UriModeError(String);

impl FromStr for UriMode {
    type Err = UriModeError;
    fn from_str(s: &str) -> Result<UriMode, UriModeError> {
        match s {
            "digest" => Ok(UriMode::Digest),
            "tag" => Ok(UriMode::Tag),
            "tag+digest" => Ok(UriMode::TagDigest),
            other => Err(UriModeError(other.to_owned())),
        }
    }
}

impl fmt::Display for UriMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UriMode::Digest => "digest",
            UriMode::Tag => "tag",
            UriMode::TagDigest => "tag+digest",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn ok(s: &str) -> ImageRef {
        s.parse().unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    #[test]
    fn accepts_real_references() {
        // input, host, repository, tag, has digest
        type Row<'a> = (&'a str, Option<&'a str>, &'a str, Option<&'a str>, bool);
        let table: &[Row<'_>] = &[
            (
                &format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web@{D}"),
                Some("123456789012.dkr.ecr.us-east-1.amazonaws.com"),
                "shop/web",
                None,
                true,
            ),
            (
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:e6828a4",
                Some("123456789012.dkr.ecr.eu-west-1.amazonaws.com"),
                "web",
                Some("e6828a4"),
                false,
            ),
            (
                &format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1.2@{D}"),
                Some("123456789012.dkr.ecr.us-east-1.amazonaws.com"),
                "web",
                Some("v1.2"),
                true,
            ),
            ("nginx", None, "nginx", None, false),
            (
                "nginx:1.27-alpine",
                None,
                "nginx",
                Some("1.27-alpine"),
                false,
            ),
            (
                "library/nginx:latest",
                None,
                "library/nginx",
                Some("latest"),
                false,
            ),
            (
                "ghcr.io/org/app:sha-1",
                Some("ghcr.io"),
                "org/app",
                Some("sha-1"),
                false,
            ),
            (
                "public.ecr.aws/xray/aws-xray-daemon:3.3.12",
                Some("public.ecr.aws"),
                "xray/aws-xray-daemon",
                Some("3.3.12"),
                false,
            ),
            (
                "localhost:5000/a/b:c",
                Some("localhost:5000"),
                "a/b",
                Some("c"),
                false,
            ),
            ("localhost/a", Some("localhost"), "a", None, false),
            (
                "reg.example.com/a__b/c---d:x",
                Some("reg.example.com"),
                "a__b/c---d",
                Some("x"),
                false,
            ),
        ];
        for (input, host, repo, tag, digest) in table {
            let r = ok(input);
            assert_eq!(r.host(), *host, "{input}");
            assert_eq!(r.repository(), *repo, "{input}");
            assert_eq!(r.tag(), *tag, "{input}");
            assert_eq!(r.digest().is_some(), *digest, "{input}");
            assert_eq!(r.to_string(), *input, "round trip of {input}");
        }
    }

    #[test]
    fn recognises_every_ecr_host_form() {
        let table: &[(&str, &str, bool, bool)] = &[
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com",
                "us-east-1",
                false,
                false,
            ),
            (
                "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
                "us-gov-west-1",
                true,
                false,
            ),
            (
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
                "cn-north-1",
                false,
                false,
            ),
            (
                "123456789012.dkr-ecr.eu-central-1.on.aws",
                "eu-central-1",
                false,
                true,
            ),
            (
                "123456789012.dkr-ecr-fips.us-east-2.on.aws",
                "us-east-2",
                true,
                true,
            ),
        ];
        for (host, region, fips, dual) in table {
            let r = ok(&format!("{host}/repo:tag"));
            let ecr = r.ecr().unwrap_or_else(|| panic!("{host} not ECR"));
            assert_eq!(ecr.account, "123456789012");
            assert_eq!(ecr.region, *region);
            assert_eq!(ecr.fips, *fips, "{host}");
            assert_eq!(ecr.dual_stack(), *dual, "{host}");
        }
        assert_eq!(ok("public.ecr.aws/a/b").ecr(), None);
        assert_eq!(ok("ghcr.io/a/b").ecr(), None);
    }

    #[test]
    fn an_upper_case_ecr_host_is_ecr() {
        let r = ok("111122223333.DKR.ECR.US-EAST-1.AMAZONAWS.COM/shop/web:v1");
        let ecr = r.ecr().expect("ECR");
        assert_eq!(
            (ecr.account.as_str(), ecr.region.as_str()),
            ("111122223333", "us-east-1")
        );
        assert_eq!(
            r.to_string(),
            "111122223333.DKR.ECR.US-EAST-1.AMAZONAWS.COM/shop/web:v1"
        );
        assert!(
            ok("111122223333.Dkr-Ecr-Fips.us-east-2.ON.AWS/a")
                .ecr()
                .unwrap()
                .fips
        );
    }

    #[test]
    fn refuses_bad_references() {
        let table: &[(&str, &str)] = &[
            ("", "is empty"),
            ("repo name", "whitespace"),
            (".dkr.ecr.us-east-1.amazonaws.com/web", "empty part"),
            ("123456789012.dkr.ecr..amazonaws.com/web", "empty part"),
            ("/web:1", "empty part"),
            ("12345.dkr.ecr.us-east-1.amazonaws.com/web", "not 12 digits"),
            (
                "123456789012.dkr.ecr.us-east-1.example.com/web",
                "its domain",
            ),
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/Web",
                "uppercase",
            ),
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:abc",
                "64",
            ),
            ("123456789012.dkr.ecr.us-east-1.amazonaws.com/web:", "tag"),
            ("123456789012.dkr.ecr.us-east-1.amazonaws.com/web:.x", "tag"),
            ("a.io/-web", "not a valid name"),
            ("a.io/web//x", "not a valid name"),
            ("a.io/web", ""),
            ("reg:x/web", "not a valid host"),
        ];
        for (input, want) in table {
            match input.parse::<ImageRef>() {
                Ok(r) if want.is_empty() => assert_eq!(r.to_string(), *input),
                Ok(r) => panic!("{input:?} parsed as {r}"),
                Err(e) => assert!(e.to_string().contains(want), "{input:?}: {e}"),
            }
        }
    }

    #[test]
    fn control_characters_and_credentials_are_named_for_what_they_are() {
        let whole = |s: &str| s.parse::<ImageRef>().unwrap_err().to_string();
        assert_eq!(
            whole("111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/\u{1b}[2Jweb"),
            "has repository \"shop/\\u{1b}[2Jweb\" with a control character; a repository name is lowercase letters, digits, and . _ - / between them"
        );
        assert_eq!(
            whole("\u{1b}[1mWEB"),
            "has repository \"\\u{1b}[1mWEB\" with a control character; a repository name is lowercase letters, digits, and . _ - / between them"
        );
        for uri in [
            "user:secret@111122223333.dkr.ecr.us-east-1.amazonaws.com/shop/web:v1",
            "user@ghcr.io/org/app",
        ] {
            assert_eq!(
                whole(uri),
                "has a user name or password before its registry host (user:password@host/...); an image reference carries no credentials: remove them, and let the registry's login (the task's execution role for ECR) supply them",
                "{uri}"
            );
        }
        assert_eq!(
            without_credentials("u:p@w@a.io/web:v1"),
            "<credentials>@a.io/web:v1"
        );
        assert_eq!(
            without_credentials("a.io/web@sha256:0"),
            "a.io/web@sha256:0"
        );
        assert_eq!(
            without_credentials(&format!("u:p@a.io/web@{D}")),
            format!("<credentials>@a.io/web@{D}")
        );
        // A digest after the @ is still a digest, and a broken one is still called that.
        assert!(whole("a.io/web@md5:abc").starts_with("has a digest that"));
    }

    #[test]
    fn a_long_tag_is_refused() {
        let tag = "a".repeat(301);
        assert!(format!("a.io/web:{tag}").parse::<ImageRef>().is_err());
        assert!(
            format!("a.io/web:{}", &tag[..300])
                .parse::<ImageRef>()
                .is_ok()
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn component() -> impl Strategy<Value = String> {
        "[a-z0-9]{1,8}((\\.|_|__|-{1,3})[a-z0-9]{1,8}){0,2}"
    }

    fn host() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            Just(None),
            "[0-9]{12}".prop_map(|a| Some(format!("{a}.dkr.ecr.us-east-1.amazonaws.com"))),
            "[0-9]{12}".prop_map(|a| Some(format!("{a}.dkr-ecr-fips.eu-west-3.on.aws"))),
            Just(Some("ghcr.io".to_owned())),
            Just(Some("public.ecr.aws".to_owned())),
            Just(Some("localhost:5000".to_owned())),
        ]
    }

    fn reference()
    -> impl Strategy<Value = (Option<String>, String, Option<String>, Option<[u8; 32]>)> {
        (
            host(),
            prop::collection::vec(component(), 1..4).prop_map(|c| c.join("/")),
            prop::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,40}"),
            prop::option::of(any::<[u8; 32]>()),
        )
    }

    proptest! {
        #[test]
        fn parse_then_print_round_trips((host, repo, tag, digest) in reference()) {
            // Without a host, a first component with a dot is a host by Docker's rule.
            prop_assume!(host.is_some() || !repo.split('/').next().unwrap_or("").contains('.') || !repo.contains('/'));
            let digest = digest.map(Digest::from_array);
            let mut text = host.as_ref().map(|h| format!("{h}/")).unwrap_or_default();
            text.push_str(&repo);
            if let Some(t) = &tag { text.push(':'); text.push_str(t); }
            if let Some(d) = &digest { text.push('@'); text.push_str(&d.to_string()); }
            let parsed: ImageRef = text.parse().map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
            prop_assert_eq!(parsed.host(), host.as_deref());
            prop_assert_eq!(parsed.repository(), repo.as_str());
            prop_assert_eq!(parsed.tag(), tag.as_deref());
            prop_assert_eq!(parsed.digest(), digest);
            prop_assert_eq!(parsed.to_string(), text.clone());
            prop_assert_eq!(parsed.ecr().is_some(), text.contains(".dkr.ecr.") || text.contains(".dkr-ecr"));
        }

        #[test]
        fn any_string_parses_or_errors_without_panic(s in "\\PC{0,80}") {
            if let Ok(r) = s.parse::<ImageRef>() {
                prop_assert_eq!(r.to_string(), s);
            }
        }
    }
}
