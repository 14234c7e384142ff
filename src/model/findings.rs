//! Scan findings thresholds (`--findings CRITICAL=0,HIGH=2`, mapping key `findings`): how many
//! findings of each severity an image may have, as `CodePipeline`'s `InspectorScan` thresholds,
//! and the counts a scan reported. A severity not named is not limited.
//!
//! Parsing is strict: an unknown severity, a value that is not a whole number (negative ones
//! included) and a severity named twice are refused; the caller names where it was written.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};
use serde_json::Value;

/// A finding's severity, worst first, as Amazon ECR names them (`UNTRIAGED` only with enhanced
/// scanning).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Informational,
    Undefined,
    Untriaged,
}

impl Severity {
    /// Every severity, worst first.
    pub const ALL: [Severity; 7] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Informational,
        Severity::Undefined,
        Severity::Untriaged,
    ];

    /// The name ECR gives it.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Severity::Critical => "CRITICAL",
            Severity::High => "HIGH",
            Severity::Medium => "MEDIUM",
            Severity::Low => "LOW",
            Severity::Informational => "INFORMATIONAL",
            Severity::Undefined => "UNDEFINED",
            Severity::Untriaged => "UNTRIAGED",
        }
    }

    /// The severity ECR names `name` (exactly, upper case).
    #[must_use]
    pub fn of_name(name: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Why `name` is no severity, with the fix.
    fn unknown(name: &str) -> UnknownSeverity {
        UnknownSeverity(name.to_owned())
    }
}

/// A name that is not a severity of a scan finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownSeverity(String);

impl fmt::Display for UnknownSeverity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.0;
        let upper = name.trim().to_ascii_uppercase();
        match Severity::of_name(&upper) {
            Some(s) if upper != *name => write!(
                f,
                "{name:?} is not a severity of a scan finding; write it as ECR does: {}",
                s.name()
            ),
            _ => write!(
                f,
                "{name:?} is not a severity of a scan finding; use one of {}",
                names()
            ),
        }
    }
}

/// Why thresholds are refused: the key (mapping) or the text (`--findings`), and the fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ThresholdsError {
    #[error(
        "key {at:?} is {value}, not an object of severity -> findings tolerated; write {JSON_EXAMPLE}"
    )]
    NotObject { at: String, value: Value },
    #[error("key \"{at}.{name}\": {unknown}")]
    KeySeverity {
        at: String,
        name: String,
        unknown: UnknownSeverity,
    },
    #[error(
        "key \"{at}.{name}\" = {value} is not a whole number of findings from 0 to {max}; write e.g. \"{name}\": 0",
        max = u32::MAX
    )]
    KeyNumber {
        at: String,
        name: String,
        value: Value,
    },
    #[error("key {0:?} names no severity; write {JSON_EXAMPLE}, or remove the key")]
    KeyEmpty(String),
    #[error("{0:?} names no severity; write SEVERITY=N pairs, {EXAMPLE}")]
    Empty(String),
    #[error("{text:?}: {pair:?} is not SEVERITY=N; write {EXAMPLE}")]
    NotPair { text: String, pair: String },
    #[error("{text:?}: {unknown}")]
    Severity {
        text: String,
        unknown: UnknownSeverity,
    },
    #[error(
        "{text:?}: {name}={number} is not a whole number of findings from 0 to {max}; write e.g. {name}=0",
        max = u32::MAX
    )]
    Number {
        text: String,
        name: String,
        number: String,
    },
    #[error("{text:?} names {name} twice; keep one {name}=N")]
    Twice { text: String, name: String },
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Severity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// `CRITICAL, HIGH, ...`.
#[must_use]
pub fn names() -> String {
    Severity::ALL
        .iter()
        .map(|s| s.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many findings of each named severity are tolerated. Never empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thresholds(BTreeMap<Severity, u32>);

/// How many findings of each severity a scan reported (severities it did not name: none).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts(pub BTreeMap<Severity, u64>);

/// One severity over its threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Over {
    pub severity: Severity,
    pub found: u64,
    pub tolerated: u32,
}

const EXAMPLE: &str = "e.g. CRITICAL=0,HIGH=2";
const JSON_EXAMPLE: &str = "e.g. {\"CRITICAL\": 0, \"HIGH\": 2}";

impl Thresholds {
    /// The severities over their threshold in `counts`, worst first; empty when all are within.
    #[must_use]
    pub fn over(&self, counts: &Counts) -> Vec<Over> {
        self.0
            .iter()
            .filter_map(|(&severity, &tolerated)| {
                let found = counts.get(severity);
                (found > u64::from(tolerated)).then_some(Over {
                    severity,
                    found,
                    tolerated,
                })
            })
            .collect()
    }

    /// The mapping's form: an object of severity -> whole number. `at` is the key's path.
    pub fn from_json(value: &Value, at: &str) -> Result<Thresholds, ThresholdsError> {
        let Value::Object(object) = value else {
            return Err(ThresholdsError::NotObject {
                at: at.to_owned(),
                value: value.clone(),
            });
        };
        let mut limits = BTreeMap::new();
        for (name, v) in object {
            let severity = Severity::of_name(name).ok_or_else(|| ThresholdsError::KeySeverity {
                at: at.to_owned(),
                name: name.clone(),
                unknown: Severity::unknown(name),
            })?;
            let tolerated = v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| ThresholdsError::KeyNumber {
                    at: at.to_owned(),
                    name: name.clone(),
                    value: v.clone(),
                })?;
            // Duplicate keys never reach here: the mapping's JSON reader refuses them.
            limits.insert(severity, tolerated);
        }
        if limits.is_empty() {
            return Err(ThresholdsError::KeyEmpty(at.to_owned()));
        }
        Ok(Thresholds(limits))
    }

    /// The limits, worst severity first.
    pub fn iter(&self) -> impl Iterator<Item = (Severity, u32)> + '_ {
        self.0.iter().map(|(s, n)| (*s, *n))
    }
}

impl FromStr for Thresholds {
    type Err = ThresholdsError;

    /// `SEVERITY=N[,SEVERITY=N...]`; the caller puts the option's name before the message.
    fn from_str(text: &str) -> Result<Thresholds, ThresholdsError> {
        let mut limits = BTreeMap::new();
        if text.trim().is_empty() {
            return Err(ThresholdsError::Empty(text.to_owned()));
        }
        for pair in text.split(',') {
            let Some((name, number)) = pair.split_once('=') else {
                return Err(ThresholdsError::NotPair {
                    text: text.to_owned(),
                    pair: pair.to_owned(),
                });
            };
            let (name, number) = (name.trim(), number.trim());
            let severity = Severity::of_name(name).ok_or_else(|| ThresholdsError::Severity {
                text: text.to_owned(),
                unknown: Severity::unknown(name),
            })?;
            let tolerated = number.parse::<u32>().map_err(|_| ThresholdsError::Number {
                text: text.to_owned(),
                name: name.to_owned(),
                number: number.to_owned(),
            })?;
            if limits.insert(severity, tolerated).is_some() {
                return Err(ThresholdsError::Twice {
                    text: text.to_owned(),
                    name: name.to_owned(),
                });
            }
        }
        Ok(Thresholds(limits))
    }
}

impl fmt::Display for Thresholds {
    /// `CRITICAL=0,HIGH=2`, worst first.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pairs: Vec<String> = self.iter().map(|(s, n)| format!("{s}={n}")).collect();
        f.write_str(&pairs.join(","))
    }
}

impl Serialize for Thresholds {
    /// `{"CRITICAL": 0, "HIGH": 2}`, the mapping's form.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter().map(|(s, n)| (s.name(), n)))
    }
}

impl Counts {
    /// The number of findings of `severity` (0 when the scan named none).
    #[must_use]
    pub fn get(&self, severity: Severity) -> u64 {
        self.0.get(&severity).copied().unwrap_or(0)
    }
}

impl fmt::Display for Counts {
    /// `CRITICAL 0, HIGH 3` for every severity named, worst first; `no findings` when none.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let named: Vec<String> = self
            .0
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(s, n)| format!("{s} {n}"))
            .collect();
        if named.is_empty() {
            f.write_str("no findings")
        } else {
            f.write_str(&named.join(", "))
        }
    }
}

impl Serialize for Counts {
    /// `{"CRITICAL": 0, "HIGH": 3}`: every severity ECR reported, worst first.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(s, n)| (s.name(), n)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn counts(pairs: &[(Severity, u64)]) -> Counts {
        Counts(pairs.iter().copied().collect())
    }

    #[test]
    fn thresholds_parse_as_inspector_scan_counts_them() {
        let t: Thresholds = "CRITICAL=0,HIGH=2".parse().unwrap();
        assert_eq!(t.to_string(), "CRITICAL=0,HIGH=2");
        assert_eq!(
            " HIGH = 2 , UNTRIAGED=1"
                .parse::<Thresholds>()
                .unwrap()
                .to_string(),
            "HIGH=2,UNTRIAGED=1"
        );
        assert_eq!(
            serde_json::to_value(&t).unwrap(),
            json!({"CRITICAL": 0, "HIGH": 2})
        );
        // Within: at most N; a severity not named is not limited.
        let fine = counts(&[(Severity::High, 2), (Severity::Medium, 40)]);
        assert!(t.over(&fine).is_empty());
        let bad = counts(&[(Severity::Critical, 1), (Severity::High, 3)]);
        assert_eq!(
            t.over(&bad),
            [
                Over {
                    severity: Severity::Critical,
                    found: 1,
                    tolerated: 0
                },
                Over {
                    severity: Severity::High,
                    found: 3,
                    tolerated: 2
                }
            ]
        );
        assert_eq!(bad.to_string(), "CRITICAL 1, HIGH 3");
        assert_eq!(Counts::default().to_string(), "no findings");
    }

    #[test]
    fn every_bad_threshold_is_refused_naming_the_value_and_the_fix() {
        let cases: &[(&str, &[&str])] = &[
            ("", &["names no severity", "CRITICAL=0,HIGH=2"]),
            ("CRITICAL", &["\"CRITICAL\" is not SEVERITY=N"]),
            (
                "SEVERE=1",
                &[
                    "\"SEVERE\" is not a severity",
                    "use one of CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, UNDEFINED, UNTRIAGED",
                ],
            ),
            (
                "critical=0",
                &[
                    "\"critical\" is not a severity",
                    "write it as ECR does: CRITICAL",
                ],
            ),
            (
                "HIGH=-1",
                &["HIGH=-1 is not a whole number of findings from 0"],
            ),
            ("HIGH=two", &["HIGH=two is not a whole number"]),
            ("HIGH=1.5", &["HIGH=1.5 is not a whole number"]),
            ("HIGH=", &["HIGH= is not a whole number"]),
            ("HIGH=1,HIGH=2", &["names HIGH twice"]),
            ("HIGH=1,", &["\"\" is not SEVERITY=N"]),
            (
                "HIGH=99999999999",
                &["is not a whole number of findings from 0 to 4294967295"],
            ),
        ];
        for (text, want) in cases {
            let e = text.parse::<Thresholds>().unwrap_err().to_string();
            for w in *want {
                assert!(e.contains(w), "{text:?}\n  error: {e}\n  lacks: {w}");
            }
        }
    }

    #[test]
    fn the_mapping_form_is_refused_naming_the_key() {
        let at = "services.web.findings";
        let ok = Thresholds::from_json(&json!({"CRITICAL": 0, "LOW": 10}), at).unwrap();
        assert_eq!(ok.to_string(), "CRITICAL=0,LOW=10");
        let cases: &[(Value, &str)] = &[
            (
                json!("CRITICAL=0"),
                "key \"services.web.findings\" is \"CRITICAL=0\", not an object",
            ),
            (json!({}), "key \"services.web.findings\" names no severity"),
            (
                json!({"Critical": 0}),
                "key \"services.web.findings.Critical\": \"Critical\" is not a severity of a scan finding; write it as ECR does: CRITICAL",
            ),
            (
                json!({"HIGH": -1}),
                "key \"services.web.findings.HIGH\" = -1 is not a whole number",
            ),
            (
                json!({"HIGH": "2"}),
                "key \"services.web.findings.HIGH\" = \"2\" is not a whole number",
            ),
            (
                json!({"HIGH": 2.5}),
                "key \"services.web.findings.HIGH\" = 2.5 is not a whole number",
            ),
            (json!({"HIGH": null}), "= null is not a whole number"),
        ];
        for (value, want) in cases {
            let e = Thresholds::from_json(value, at).unwrap_err().to_string();
            assert!(e.contains(want), "{value}\n  error: {e}\n  lacks: {want}");
        }
    }
}
