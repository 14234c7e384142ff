//! Reading the YAML imagedef accepts (the blue/green `AppSpec`, a `CodeBuild` buildspec), as JSON
//! values, with nothing a reader could take two ways and nothing that could exhaust memory or the
//! stack:
//!
//! - one document; a key once per mapping; only characters YAML allows (no NUL);
//! - no aliases (`*name`): a few hundred bytes of nested aliases expand to gigabytes, so one is
//!   refused before anything is expanded, naming its line;
//! - at most [`MAX_DEPTH`] nested sequences and mappings, as for JSON;
//! - no tags (`!Ref`, `!!str`): `CodeDeploy` reads an `AppSpec` without them, `CodeBuild` a
//!   buildspec;
//! - plain scalars read by the YAML 1.2 core schema, except the spellings that YAML 1.1 (which
//!   `CodeDeploy` may use) reads otherwise: `010` (octal 8 in 1.1), `0o17`, `0b1`, `1_000`,
//!   `1:30`, `0e0` (a number in 1.2, text in 1.1), `yes`/`no`/`on`/`off`. In an `AppSpec` each is
//!   refused naming the plain spelling to write; in a buildspec, whose documented spellings
//!   include `discard-paths: yes` and whose keys imagedef reads are all text, each is read as the
//!   text it is written as.
//!
//! Built iteratively from the parser's events, so no recursion grows with the input.

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

pub use super::json::MAX_DEPTH;

/// Which document is read: how messages name it and its reader, and what is done with a plain
/// scalar YAML 1.1 and YAML 1.2 read differently.
#[derive(Debug, PartialEq, Eq)]
pub struct Kind {
    /// The document, as messages name it: `AppSpec`, `buildspec`.
    pub document: &'static str,
    /// The same with its article: `an AppSpec`.
    pub a_document: &'static str,
    /// The service that reads it: `CodeDeploy`.
    pub reader: &'static str,
    /// How such a document starts, said of an empty one.
    pub start: &'static str,
    /// A plain scalar the two YAML versions read differently is refused (else: read as text).
    pub refuse_ambiguous: bool,
}

/// The blue/green `AppSpec` (`appspec.yaml`): values are numbers and text that `CodeDeploy`
/// compares, so a spelling read two ways is refused.
pub const APPSPEC: Kind = Kind {
    document: "AppSpec",
    a_document: "an AppSpec",
    reader: "CodeDeploy",
    start: "an ECS AppSpec starts with version: 0.0 and Resources:",
    refuse_ambiguous: true,
};

/// A `CodeBuild` buildspec: imagedef reads only text from it (artifact identifiers, paths), and
/// its documented spellings include `discard-paths: yes`.
pub const BUILDSPEC: Kind = Kind {
    document: "buildspec",
    a_document: "a buildspec",
    reader: "CodeBuild",
    start: "a buildspec starts with version: 0.2",
    refuse_ambiguous: false,
};

/// Why a text is not YAML imagedef reads; the caller names the file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum YamlError {
    #[error("is not valid YAML: {info} at line {line} column {col}; correct it there")]
    Syntax {
        info: String,
        line: usize,
        col: usize,
    },
    #[error(
        "holds {shown} at line {line}, a character YAML does not allow; remove it (or write it escaped in a double-quoted string)",
        shown = char_name(*.character)
    )]
    Character { character: char, line: usize },
    #[error("is empty; {}", .0.start)]
    Empty(&'static Kind),
    #[error(
        "holds {0} YAML documents (separated by ---); {reader} reads one {document}: keep one",
        reader = .1.reader,
        document = .1.document
    )]
    Documents(usize, &'static Kind),
    #[error(
        "uses a YAML alias (*{name}) at line {line}; aliases are refused, as a few of them can expand to gigabytes: write the value out in full"
    )]
    Alias { name: String, line: usize },
    #[error(
        "nests sequences and mappings more than {MAX_DEPTH} deep (line {line}); {} needs a few levels: flatten it",
        kind.a_document
    )]
    TooDeep { line: usize, kind: &'static Kind },
    #[error(
        "uses the tag {tag} at line {line}; {} reads {} without tags: write the value itself",
        kind.reader,
        kind.a_document
    )]
    Tag {
        tag: String,
        line: usize,
        kind: &'static Kind,
    },
    #[error(
        "key {key:?} appears more than once (line {line}); keep one (a YAML reader would silently drop the other)"
    )]
    Duplicate { key: String, line: usize },
    #[error("has a key that is not a plain scalar (line {line}); write every key as a word")]
    Key { line: usize },
    #[error(
        "has {value} at line {line}, which YAML 1.1 reads {then} and YAML 1.2 {now}; write {fix} so that every reader agrees"
    )]
    Ambiguous {
        value: String,
        line: usize,
        then: &'static str,
        now: &'static str,
        fix: String,
    },
}

/// How a message shows a character: `NUL`, or `U+FFFE`.
fn char_name(c: char) -> String {
    if c == '\0' {
        "a NUL byte (U+0000)".to_owned()
    } else {
        format!("U+{:04X}", u32::from(c))
    }
}

/// True for a character YAML allows in a stream (`c-printable`).
#[must_use]
pub fn printable(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{85}')
        || ('\u{20}'..='\u{7e}').contains(&c)
        || ('\u{a0}'..='\u{d7ff}').contains(&c)
        || ('\u{e000}'..='\u{fffd}').contains(&c)
        || c >= '\u{10000}'
}

/// One collection being built: a sequence, or a mapping with the key that waits for its value.
enum Open {
    Sequence(Vec<Value>),
    Mapping {
        map: Map<String, Value>,
        key: Option<String>,
    },
}

/// Reads one YAML document of `kind` (a leading byte-order mark already removed) as JSON values.
pub fn parse(text: &str, kind: &'static Kind) -> Result<Value, YamlError> {
    if let Some((line, character)) = text
        .lines()
        .enumerate()
        .find_map(|(i, l)| l.chars().find(|c| !printable(*c)).map(|c| (i + 1, c)))
    {
        return Err(YamlError::Character { character, line });
    }
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Open> = Vec::new();
    let mut documents = 0;
    let mut done: Option<Value> = None;
    loop {
        let (event, mark) = parser.next_token().map_err(|e| YamlError::Syntax {
            info: e.info().to_owned(),
            line: e.marker().line(),
            col: e.marker().col() + 1,
        })?;
        let line = mark.line();
        let value = match event {
            Event::StreamEnd => break,
            Event::DocumentStart => {
                documents += 1;
                continue;
            }
            Event::Alias(_) => {
                return Err(YamlError::Alias {
                    name: alias_name(text, mark),
                    line,
                });
            }
            Event::Scalar(text, style, _, tag) => {
                if let Some(tag) = tag {
                    return Err(YamlError::Tag {
                        tag: format!("{}{}", tag.handle, tag.suffix),
                        line,
                        kind,
                    });
                }
                if let Some(Open::Mapping {
                    key: key @ None,
                    map,
                }) = stack.last_mut()
                {
                    if map.contains_key(&text) {
                        return Err(YamlError::Duplicate { key: text, line });
                    }
                    *key = Some(text);
                    continue;
                }
                scalar(text, style, line, kind.refuse_ambiguous)?
            }
            Event::SequenceStart(_, ref tag) | Event::MappingStart(_, ref tag) => {
                if let Some(tag) = tag {
                    return Err(YamlError::Tag {
                        tag: format!("{}{}", tag.handle, tag.suffix),
                        line,
                        kind,
                    });
                }
                if let Some(Open::Mapping { key: None, .. }) = stack.last() {
                    return Err(YamlError::Key { line });
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(YamlError::TooDeep { line, kind });
                }
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Open::Sequence(Vec::new())
                } else {
                    Open::Mapping {
                        map: Map::new(),
                        key: None,
                    }
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Open::Sequence(items)) => Value::Array(items),
                Some(Open::Mapping { map, .. }) => Value::Object(map),
                None => continue,
            },
            Event::Nothing | Event::StreamStart | Event::DocumentEnd => continue,
        };
        match stack.last_mut() {
            Some(Open::Sequence(items)) => items.push(value),
            Some(Open::Mapping { map, key }) => {
                if let Some(key) = key.take() {
                    map.insert(key, value);
                }
            }
            None if documents <= 1 => done = Some(value),
            None => {}
        }
    }
    match (documents, done) {
        (0, _) | (1, None) => Err(YamlError::Empty(kind)),
        (1, Some(value)) => Ok(value),
        (n, _) => Err(YamlError::Documents(n, kind)),
    }
}

/// The alias's name as written at `mark` (`*name`), for the message.
fn alias_name(text: &str, mark: Marker) -> String {
    text.get(mark.index()..)
        .map(|rest| {
            rest.trim_start_matches('*')
                .chars()
                .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | ']' | '}'))
                .take(40)
                .collect()
        })
        .unwrap_or_default()
}

/// A scalar as a JSON value: quoted and block scalars are text; plain ones follow the YAML 1.2
/// core schema, and a spelling YAML 1.1 reads otherwise is refused (`refuse`) or read as text.
fn scalar(
    text: String,
    style: TScalarStyle,
    line: usize,
    refuse: bool,
) -> Result<Value, YamlError> {
    if style != TScalarStyle::Plain {
        return Ok(Value::String(text));
    }
    let ambiguous = |then: &'static str, now: &'static str, fix: String| {
        if !refuse {
            return Ok(Value::String(text.clone()));
        }
        Err(YamlError::Ambiguous {
            value: text.clone(),
            line,
            then,
            now,
            fix,
        })
    };
    let quoted = format!("\"{text}\" in quotes");
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
        "true" | "True" | "TRUE" => return Ok(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Ok(Value::Bool(false)),
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
            return ambiguous("as true", "as text", format!("true, or {quoted}"));
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
            return ambiguous("as false", "as text", format!("false, or {quoted}"));
        }
        _ => {}
    }
    let unsigned = text.trim_start_matches(['-', '+']);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if digits(unsigned) {
        if unsigned.len() > 1 && unsigned.starts_with('0') {
            let decimal = unsigned.trim_start_matches('0');
            let decimal = if decimal.is_empty() { "0" } else { decimal };
            return ambiguous(
                "as an octal number",
                "as a decimal number",
                format!("{decimal} (or {quoted})"),
            );
        }
        return Ok(text
            .parse::<i64>()
            .map_or_else(|_| Value::String(text.clone()), |n| Value::Number(n.into())));
    }
    if let Some(hex) = unsigned.strip_prefix("0x")
        && !hex.is_empty()
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
        && text == unsigned
    {
        return Ok(i64::from_str_radix(hex, 16)
            .map_or_else(|_| Value::String(text.clone()), |n| Value::Number(n.into())));
    }
    if let Some(rest) = unsigned
        .strip_prefix("0o")
        .or_else(|| unsigned.strip_prefix("0b"))
        && digits(rest)
    {
        return ambiguous(
            "as text",
            "as a number",
            format!("the decimal number, or {quoted}"),
        );
    }
    let numeric = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'_' | b':' | b'.'))
    };
    if unsigned.starts_with(|c: char| c.is_ascii_digit())
        && numeric(unsigned)
        && unsigned.contains(['_', ':'])
    {
        return ambiguous(
            "as a number",
            "as text",
            format!("the number without _ or :, or {quoted}"),
        );
    }
    if let Some(value) = float(unsigned) {
        let dotted = unsigned.contains('.');
        let signed_exponent = unsigned
            .find(['e', 'E'])
            .is_none_or(|at| matches!(unsigned.as_bytes().get(at + 1), Some(b'-' | b'+')));
        if !(dotted && signed_exponent) {
            return ambiguous(
                "as text",
                "as a number",
                format!("{:?} (or {quoted})", value.abs()),
            );
        }
        let value = if text.starts_with('-') { -value } else { value };
        return Ok(
            Number::from_f64(value).map_or_else(|| Value::String(text.clone()), Value::Number)
        );
    }
    Ok(Value::String(text))
}

/// The value of an unsigned YAML 1.2 core float (`.5`, `1.`, `1.5e3`, `1e3`), if it is one.
fn float(s: &str) -> Option<f64> {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(at) => (&s[..at], Some(&s[at + 1..])),
        None => (s, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok =
        (!whole.is_empty() || !fraction.is_empty()) && digits(whole) && digits(fraction);
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    if !(mantissa_ok && exponent_ok) || !(mantissa.contains('.') || exponent.is_some()) {
        return None;
    }
    s.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_appspec_reads_as_json_values() {
        let text = "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: <TASK_DEFINITION>\n        LoadBalancerInfo:\n          ContainerName: \"api\"\n          ContainerPort: 8080\n";
        assert_eq!(
            parse(text, &APPSPEC).unwrap(),
            json!({"version": 0.0, "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {"TaskDefinition": "<TASK_DEFINITION>", "LoadBalancerInfo": {"ContainerName": "api", "ContainerPort": 8080}}}}]})
        );
        assert_eq!(
            parse(
                "a: ~\nb: true\nc: 0x1F\nd: -1.5\ne: 1.5e+3\nf: '010'\n",
                &APPSPEC
            )
            .unwrap(),
            json!({"a": null, "b": true, "c": 31, "d": -1.5, "e": 1500.0, "f": "010"})
        );
    }

    #[test]
    fn what_yaml_1_1_reads_otherwise_is_refused_naming_the_plain_spelling() {
        for (text, says) in [
            (
                "p: 010",
                "has 010 at line 1, which YAML 1.1 reads as an octal number and YAML 1.2 as a decimal number; write 10 (or \"010\" in quotes) so that every reader agrees",
            ),
            (
                "p: 0o17620",
                "which YAML 1.1 reads as text and YAML 1.2 as a number",
            ),
            (
                "p: 0b101",
                "which YAML 1.1 reads as text and YAML 1.2 as a number",
            ),
            (
                "version: 0e0",
                "has 0e0 at line 1, which YAML 1.1 reads as text and YAML 1.2 as a number; write 0.0 (or \"0e0\" in quotes)",
            ),
            ("p: 1.0e3", "YAML 1.1 reads as text"),
            (
                "p: 1_000",
                "YAML 1.1 reads as a number and YAML 1.2 as text",
            ),
            ("p: 1:30", "YAML 1.1 reads as a number and YAML 1.2 as text"),
            (
                "p: yes",
                "YAML 1.1 reads as true and YAML 1.2 as text; write true, or \"yes\" in quotes",
            ),
            ("p: Off", "YAML 1.1 reads as false"),
        ] {
            let e = parse(text, &APPSPEC).unwrap_err().to_string();
            let as_text = parse(text, &BUILDSPEC).unwrap();
            let (key, value) = text.split_once(": ").unwrap();
            assert_eq!(as_text, serde_json::json!({key: value}), "{text}");
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn aliases_tags_depth_duplicates_and_characters_are_refused_with_their_line() {
        assert_eq!(
            parse("a: &x 1\nb: *x\n", &APPSPEC).unwrap_err(),
            YamlError::Alias {
                name: "x".into(),
                line: 2
            }
        );
        assert_eq!(
            parse("a: !Ref web\n", &APPSPEC).unwrap_err(),
            YamlError::Tag {
                tag: "!Ref".into(),
                line: 1,
                kind: &APPSPEC
            }
        );
        let deep = format!("deep:\n{}x\n", "- ".repeat(10_000));
        assert_eq!(
            parse(&deep, &BUILDSPEC).unwrap_err(),
            YamlError::TooDeep {
                line: 2,
                kind: &BUILDSPEC
            }
        );
        assert_eq!(
            parse("a: 1\na: 2\n", &APPSPEC).unwrap_err(),
            YamlError::Duplicate {
                key: "a".into(),
                line: 2
            }
        );
        assert_eq!(
            parse("a: 1\nb: x\0y\n", &APPSPEC).unwrap_err(),
            YamlError::Character {
                character: '\0',
                line: 2
            }
        );
        assert_eq!(parse("", &APPSPEC).unwrap_err(), YamlError::Empty(&APPSPEC));
        assert_eq!(
            parse("", &BUILDSPEC).unwrap_err().to_string(),
            "is empty; a buildspec starts with version: 0.2"
        );
        assert_eq!(
            parse("a: 1\n---\nb: 2\n", &APPSPEC).unwrap_err(),
            YamlError::Documents(2, &APPSPEC)
        );
        assert_eq!(
            parse("? [a]\n: 1\n", &APPSPEC).unwrap_err(),
            YamlError::Key { line: 1 }
        );
    }
}
