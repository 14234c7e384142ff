//! The rules that shape a written reference: the URI form and the tag pattern, each with where it
//! was set, so that a message can point at the setting that actually decided.

use std::fmt;
use std::str::FromStr;

use regex::Regex;

use super::ServiceName;
use super::reference::UriMode;

/// The longest `tagPattern` (or `path` glob) accepted: real ones are a few dozen characters, and a
/// pattern far beyond that would compile into an automaton too large to build.
pub const MAX_PATTERN: usize = 1000;

/// A tag pattern (`--tag-pattern`, mapping `tagPattern`): a regex, unanchored, parsed once where
/// it is read.
#[derive(Clone, Debug)]
pub struct TagPattern(Regex);

/// Why a string is not a tag pattern; the caller names where it was written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TagPatternError {
    #[error("is {len} characters long, more than the {MAX_PATTERN} a pattern may have; shorten it")]
    TooLong { len: usize },
    #[error("is not a valid regex ({0}); fix the pattern")]
    Invalid(String),
}

impl TagPattern {
    /// True when the pattern matches somewhere in `tag`.
    #[must_use]
    pub fn is_match(&self, tag: &str) -> bool {
        self.0.is_match(tag)
    }

    /// The pattern as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl FromStr for TagPattern {
    type Err = TagPatternError;

    fn from_str(text: &str) -> Result<TagPattern, TagPatternError> {
        if text.len() > MAX_PATTERN {
            return Err(TagPatternError::TooLong { len: text.len() });
        }
        Regex::new(text)
            .map(TagPattern)
            .map_err(|e| TagPatternError::Invalid(e.to_string()))
    }
}

impl fmt::Display for TagPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a rule was set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Nowhere: the built-in default.
    Default,
    /// When imagedef was started (an option or its environment variable; the command layer knows
    /// which).
    Started,
    /// The mapping file's top level.
    MappingTop,
    /// A service of the mapping file.
    Service(ServiceName),
}

/// A setting and where it came from.
#[derive(Clone, Debug)]
pub struct Rule<T> {
    pub value: T,
    pub from: Origin,
}

impl<T> Rule<T> {
    #[must_use]
    pub fn new(value: T, from: Origin) -> Rule<T> {
        Rule { value, from }
    }
}

/// The rules set at one level (start-up, mapping top, service); `None` where that level is silent.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    pub uri: Option<Rule<UriMode>>,
    /// Chooses among several tags (unanchored).
    pub tag_pattern: Option<Rule<TagPattern>>,
}

impl Rules {
    /// These rules, with `fallback`'s where these are silent.
    #[must_use]
    pub fn or(&self, fallback: &Rules) -> Rules {
        Rules {
            uri: self.uri.clone().or_else(|| fallback.uri.clone()),
            tag_pattern: self
                .tag_pattern
                .clone()
                .or_else(|| fallback.tag_pattern.clone()),
        }
    }

    /// The URI form in force: the rule set, else the default (`digest`).
    #[must_use]
    pub fn uri_mode(&self) -> Rule<UriMode> {
        self.uri
            .clone()
            .unwrap_or_else(|| Rule::new(UriMode::default(), Origin::Default))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_level_that_sets_a_rule_wins() {
        let service: ServiceName = "web".parse().unwrap();
        let started = Rules {
            uri: None,
            tag_pattern: Some(Rule::new("^v".parse().unwrap(), Origin::Started)),
        };
        let in_service = Rules {
            uri: Some(Rule::new(UriMode::Tag, Origin::Service(service.clone()))),
            tag_pattern: Some(Rule::new(
                "^x".parse().unwrap(),
                Origin::Service(service.clone()),
            )),
        };
        let merged = started.or(&in_service).or(&Rules::default());
        assert_eq!(merged.uri_mode().value, UriMode::Tag);
        assert_eq!(merged.uri_mode().from, Origin::Service(service));
        let pattern = merged.tag_pattern.unwrap();
        assert_eq!(
            (pattern.value.as_str(), pattern.from),
            ("^v", Origin::Started)
        );
        assert_eq!(Rules::default().uri_mode().from, Origin::Default);
    }

    #[test]
    fn tag_patterns_are_checked_once_with_the_fix() {
        assert!("^v\\d+$".parse::<TagPattern>().unwrap().is_match("v12"));
        assert!(
            "(?i)^RELEASE"
                .parse::<TagPattern>()
                .unwrap()
                .is_match("release-1")
        );
        assert_eq!(
            "x".repeat(1001)
                .parse::<TagPattern>()
                .unwrap_err()
                .to_string(),
            "is 1001 characters long, more than the 1000 a pattern may have; shorten it"
        );
        let e = "v(".parse::<TagPattern>().unwrap_err().to_string();
        assert!(
            e.starts_with("is not a valid regex (regex parse error:")
                && e.ends_with("); fix the pattern"),
            "{e}"
        );
    }
}
