//! The rules that shape a written reference: the URI form and the tag pattern, each with where it
//! was set, so that a message can point at the setting that actually decided.

use regex::Regex;

use super::ServiceName;
use super::reference::UriMode;

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
    pub tag_pattern: Option<Rule<Regex>>,
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
            tag_pattern: Some(Rule::new(Regex::new("^v").unwrap(), Origin::Started)),
        };
        let in_service = Rules {
            uri: Some(Rule::new(UriMode::Tag, Origin::Service(service.clone()))),
            tag_pattern: Some(Rule::new(
                Regex::new("^x").unwrap(),
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
}
