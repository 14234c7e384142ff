//! The rules that apply to a service: the URI form and the tag pattern that shape a written
//! reference, the platform its images must offer and the scan findings they may have, each with
//! where it was set, so that a message can point at the setting that actually decided. The first
//! level that sets a rule wins: start-up (an option or its variable), the service, the mapping's
//! top level; a platform only a task definition implies comes last.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use regex::Regex;

use super::ServiceName;
use super::findings::Thresholds;
use super::platform::Platform;
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

/// How a start-up setting was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Given {
    /// On the command line, as this option (`--uri`).
    Option(&'static str),
    /// Through this environment variable (`IMAGEDEF_URI`).
    Env(String),
}

impl fmt::Display for Given {
    /// `--uri`, or `$IMAGEDEF_URI`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Given::Option(option) => f.write_str(option),
            Given::Env(var) => write!(f, "${var}"),
        }
    }
}

/// Where a rule was set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Nowhere: the built-in default.
    Default,
    /// When imagedef was started: an option or its environment variable.
    Started(Given),
    /// The mapping file's top level.
    MappingTop,
    /// A service of the mapping file.
    Service(ServiceName),
    /// Implied by the service's task definition, not stated: how messages name it
    /// (`task definition deploy/web.json (runtimePlatform.cpuArchitecture ARM64)`).
    TaskDefinition(String),
}

/// Where `key` of `service` (or of the top level) is in the mapping file `mapping`, as every
/// message names a place in the mapping: `mapping imagedef.json, key "services.web.platform"`;
/// without the file (in a message about the mapping as a whole), `key "services.web.platform"`
/// or `the mapping's top-level "platform"`.
#[must_use]
pub fn key_words(mapping: Option<&Path>, service: Option<&ServiceName>, key: &str) -> String {
    let path = match service {
        Some(name) => format!("services.{name}.{key}"),
        None => key.to_owned(),
    };
    match (mapping, service) {
        (Some(file), _) => format!("mapping {}, key {path:?}", file.display()),
        (None, Some(_)) => format!("key {path:?}"),
        (None, None) => format!("the mapping's top-level {path:?}"),
    }
}

impl Origin {
    /// Where a rule named `key` (`uri`, `platform`, ...) was set, as messages name it: the option
    /// or variable, the key in the mapping file `mapping`, the task definition that implies it, or
    /// the default.
    #[must_use]
    pub fn words(&self, mapping: Option<&Path>, key: &str) -> String {
        match self {
            Origin::Default => format!("the default {key}"),
            Origin::Started(given) => given.to_string(),
            Origin::MappingTop => key_words(mapping, None, key),
            Origin::Service(name) => key_words(mapping, Some(name), key),
            Origin::TaskDefinition(words) => words.clone(),
        }
    }

    /// Stated in so many words (an option, the mapping), not only implied by a task definition or
    /// a default: a check of it that cannot run is then a warning, not a note at `-v`.
    #[must_use]
    pub fn is_stated(&self) -> bool {
        matches!(
            self,
            Origin::Started(_) | Origin::MappingTop | Origin::Service(_)
        )
    }
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
    /// What every image must offer (`--platform`, `platform`).
    pub platform: Option<Rule<Platform>>,
    /// The scan findings tolerated, with `--ecr` (`--findings`, `findings`).
    pub findings: Option<Rule<Thresholds>>,
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
            platform: self.platform.clone().or_else(|| fallback.platform.clone()),
            findings: self.findings.clone().or_else(|| fallback.findings.clone()),
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
        let started_by = Origin::Started(Given::Option("--tag-pattern"));
        let started = Rules {
            tag_pattern: Some(Rule::new("^v".parse().unwrap(), started_by.clone())),
            ..Rules::default()
        };
        let in_service = Rules {
            uri: Some(Rule::new(UriMode::Tag, Origin::Service(service.clone()))),
            tag_pattern: Some(Rule::new(
                "^x".parse().unwrap(),
                Origin::Service(service.clone()),
            )),
            platform: Some(Rule::new(
                "linux/arm64".parse().unwrap(),
                Origin::Service(service.clone()),
            )),
            findings: None,
        };
        let top = Rules {
            platform: Some(Rule::new(
                "linux/amd64".parse().unwrap(),
                Origin::MappingTop,
            )),
            findings: Some(Rule::new("CRITICAL=0".parse().unwrap(), Origin::MappingTop)),
            ..Rules::default()
        };
        let merged = started.or(&in_service).or(&top);
        assert_eq!(merged.uri_mode().value, UriMode::Tag);
        assert_eq!(merged.uri_mode().from, Origin::Service(service));
        let pattern = merged.tag_pattern.unwrap();
        assert_eq!((pattern.value.as_str(), pattern.from), ("^v", started_by));
        let platform = merged.platform.unwrap();
        assert_eq!(platform.value.to_string(), "linux/arm64");
        assert_eq!(platform.from, Origin::Service("web".parse().unwrap()));
        assert_eq!(merged.findings.unwrap().from, Origin::MappingTop);
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
