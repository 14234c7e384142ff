//! Names that become ECS container names, folder names and buildspec artifact identifiers.

use std::fmt;
use std::str::FromStr;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {value:?} {why}; use 1-{max} of letters, digits, _ and -")]
pub struct NameError {
    pub kind: &'static str,
    pub value: String,
    pub why: String,
    pub max: usize,
}

fn check(kind: &'static str, max: usize, s: &str) -> Result<(), NameError> {
    let err = |why: String| NameError {
        kind,
        value: s.to_owned(),
        why,
        max,
    };
    if s.is_empty() {
        return Err(err("is empty".into()));
    }
    if s.len() > max {
        return Err(err(format!("is {} characters long", s.len())));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(err(format!("contains {c:?}")));
    }
    Ok(())
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
        pub struct $name(String);

        impl $name {
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, NameError> {
                check($kind, $max, s).map(|()| $name(s.to_owned()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
    };
}

name_type!(
    /// An ECS container name: 1-255 of `[A-Za-z0-9_-]`.
    ContainerName,
    "container name",
    255
);
name_type!(
    /// A service name of the mapping: a folder name and a buildspec artifact identifier,
    /// so 1-100 of `[A-Za-z0-9_-]` like a `CodePipeline` artifact name.
    ServiceName,
    "service name",
    100
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_names() {
        for good in ["app", "web-proxy", "A_1", &"x".repeat(255)] {
            assert!(good.parse::<ContainerName>().is_ok(), "{good}");
        }
        for (bad, why) in [
            ("", "is empty"),
            ("my app", "contains ' '"),
            ("../x", "contains '.'"),
            ("a/b", "contains '/'"),
            ("caf\u{e9}", "contains"),
            (&"x".repeat(256), "256 characters"),
        ] {
            let e = bad.parse::<ContainerName>().unwrap_err().to_string();
            assert!(e.contains(why), "{bad:?}: {e}");
            assert!(e.contains("1-255"), "{e}");
        }
    }

    #[test]
    fn service_names_stop_at_100() {
        assert!("s".repeat(100).parse::<ServiceName>().is_ok());
        let e = "s".repeat(101).parse::<ServiceName>().unwrap_err();
        assert!(e.to_string().contains("1-100"));
    }
}
