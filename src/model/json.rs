//! Reading and writing the JSON documents imagedef handles, one way for all of them: a UTF-8 BOM is
//! accepted, the text must be UTF-8, and a key that appears twice in one object is refused (JSON
//! readers disagree on which copy wins, so a duplicate is never silently resolved).

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why bytes are not a JSON document imagedef accepts. Callers add the file and the fix.
#[derive(Debug)]
pub enum JsonError {
    /// Not UTF-8: the offset of the first invalid byte (after any BOM).
    NotUtf8 { offset: usize },
    /// Not JSON (the message carries `serde_json`'s line and column).
    Syntax(serde_json::Error),
    /// The dotted path of the first key that appears twice in one object (`a.b[1].c`).
    DuplicateKey(String),
    /// The dotted path of the first array or object nested more than [`MAX_DEPTH`] deep.
    TooDeep(String),
}

/// How deep arrays and objects (YAML sequences and mappings) may nest in any document imagedef
/// reads: far more than a task definition, a manifest or an `AppSpec` needs, and little enough
/// that no reader's recursion comes near the stack's end.
pub const MAX_DEPTH: usize = 64;

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::NotUtf8 { offset } => {
                write!(f, "is not UTF-8 (invalid byte at offset {offset})")
            }
            JsonError::Syntax(e) => write!(f, "is not valid JSON: {e}"),
            JsonError::DuplicateKey(path) => write!(f, "key {path:?} appears more than once"),
            JsonError::TooDeep(path) => {
                let shown = match path.char_indices().nth(40) {
                    Some((cut, _)) => format!("{}...", &path[..cut]),
                    None => path.clone(),
                };
                write!(
                    f,
                    "nests arrays and objects more than {MAX_DEPTH} deep (at {shown:?})"
                )
            }
        }
    }
}

/// The text of a JSON file: a leading UTF-8 BOM removed, UTF-8 checked.
pub fn text(bytes: &[u8]) -> Result<&str, JsonError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| JsonError::NotUtf8 {
        offset: e.valid_up_to(),
    })
}

/// Parses a whole document; objects keep their key order.
pub fn parse(bytes: &[u8]) -> Result<Value, JsonError> {
    parse_text(text(bytes)?)
}

/// Parses a document's text, refusing duplicate keys at any depth in the same single pass.
pub fn parse_text(text: &str) -> Result<Value, JsonError> {
    let problem = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Strict {
        path: String::new(),
        depth: 0,
        problem: &problem,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    match (value, problem.into_inner()) {
        (_, Some(problem)) => Err(problem),
        (Ok(v), None) => Ok(v),
        (Err(e), None) => Err(JsonError::Syntax(e)),
    }
}

/// How a JSON value is named in messages: "a number", "an array", "null", ...
#[must_use]
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Pretty JSON with a final newline: how imagedef writes every JSON file and summary.
pub fn pretty<T: serde::Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("plain data serialises");
    bytes.push(b'\n');
    bytes
}

/// Builds a [`Value`] at `path`, `depth` arrays and objects down, recording the first duplicate
/// key or the first nesting too deep in `problem`.
struct Strict<'p> {
    path: String,
    depth: usize,
    problem: &'p RefCell<Option<JsonError>>,
}

impl Strict<'_> {
    fn child(&self, path: String) -> Self {
        Strict {
            path,
            depth: self.depth + 1,
            problem: self.problem,
        }
    }

    /// Refuses an array or object that would nest more than [`MAX_DEPTH`] deep.
    fn open<E: serde::de::Error>(&self) -> Result<(), E> {
        if self.depth < MAX_DEPTH {
            return Ok(());
        }
        *self.problem.borrow_mut() = Some(JsonError::TooDeep(self.path.clone()));
        Err(E::custom("nested too deep"))
    }
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.open()?;
        let mut items = Vec::new();
        while let Some(item) =
            seq.next_element_seed(self.child(format!("{}[{}]", self.path, items.len())))?
        {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.open()?;
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            if object.contains_key(&key) {
                *self.problem.borrow_mut() = Some(JsonError::DuplicateKey(path));
                return Err(serde::de::Error::custom("duplicate key"));
            }
            let value = map.next_value_seed(self.child(path))?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_found_at_any_depth() {
        for (text, want) in [
            (
                r#"{"a": 1, "b": {"c": [1, {"d": 1, "d": 2}]}}"#,
                Some("b.c[1].d"),
            ),
            (r#"{"a": 1, "a": 2}"#, Some("a")),
            (r#"{"a": {"x": 1}, "b": {"x": 1}}"#, None),
        ] {
            let got = match parse_text(text) {
                Err(JsonError::DuplicateKey(p)) => Some(p),
                Ok(_) => None,
                Err(e) => panic!("{text}: {e}"),
            };
            assert_eq!(got.as_deref(), want, "{text}");
        }
    }

    #[test]
    fn nesting_past_the_limit_is_refused_naming_where() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse_text(&ok).is_ok());
        let deep = format!("{{\"deep\": {}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        let e = parse_text(&deep).unwrap_err();
        assert!(
            matches!(&e, JsonError::TooDeep(path) if path.starts_with("deep[0][0]")),
            "{e}"
        );
        assert!(
            e.to_string()
                .starts_with("nests arrays and objects more than 64 deep (at \"deep[0]")
        );
    }

    #[test]
    fn the_value_is_what_serde_json_reads() {
        let text = r#"{"z": [1, -2, 3.5, true, null, "s"], "a": {"k": "v"}}"#;
        assert_eq!(
            parse_text(text).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
        let keys: Vec<String> = parse_text(text)
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, ["z", "a"], "file order is kept");
    }

    #[test]
    fn a_bom_is_accepted_and_other_bytes_are_not() {
        assert_eq!(parse(b"\xEF\xBB\xBF{}").unwrap(), serde_json::json!({}));
        assert!(matches!(
            parse(b"{\"a\": \"\xff\"}"),
            Err(JsonError::NotUtf8 { offset: 7 })
        ));
        let e = parse(b"{} x").unwrap_err().to_string();
        assert!(e.contains("is not valid JSON: trailing characters"), "{e}");
        let e = parse("[".repeat(100_000).as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("nests arrays and objects more than 64 deep (at \"[0][0]"),
            "{e}"
        );
    }
}
