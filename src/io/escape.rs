//! Values taken from files (names, paths, zip entry names, tags), made safe to print as text.
//!
//! A file's content must never forge a line of imagedef's output (a fake `FAILED  prod.zip: ...`)
//! nor reach the terminal or the build log as a control sequence. So every control character,
//! line separator and bidi control (U+202A-202E, U+2066-2069, which reorder what a reader sees) is
//! written the way Rust writes it in a string literal: `\n`, `\t`, `\u{1b}`, `\u{202e}`; and a
//! backslash as `\\`, so that an escaped value reads back unambiguously. JSON and JUnit XML have
//! their own escaping and do not come through here.
//!
//! [`value`] escapes one value for a message. The sinks guard what they print as well, without
//! escaping backslashes again: [`line`] for one line (a log line, a finding), [`lines`] for text
//! of several lines that imagedef composed (stdout, the error that ends a run).

use std::borrow::Cow;

/// What a sink keeps as written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// Nothing: a value, backslashes included, is escaped.
    Nothing,
    /// Backslashes, which escaped values already carry.
    Backslashes,
    /// Backslashes and line breaks, which separate the lines imagedef composed.
    Lines,
}

/// A value from a file, every unsafe character escaped (a backslash as `\\`).
#[must_use]
pub fn value(s: &str) -> Cow<'_, str> {
    escape(s, Keep::Nothing)
}

/// One line of output: control characters (a line break included) and bidi controls escaped;
/// backslashes kept, so values escaped with [`value`] are not escaped twice.
#[must_use]
pub fn line(s: &str) -> Cow<'_, str> {
    escape(s, Keep::Backslashes)
}

/// Several lines of output: as [`line`], but `\n` stays a line break.
#[must_use]
pub fn lines(s: &str) -> Cow<'_, str> {
    escape(s, Keep::Lines)
}

/// A path from a walk or a file, escaped as a [`value`] (shown as `Path::display` shows it).
#[must_use]
pub fn path(p: &std::path::Path) -> String {
    value(&p.display().to_string()).into_owned()
}

/// The one escaping function: `s` with every character that `keep` does not keep, and that may
/// not be printed raw, written as Rust's `char::escape_debug` writes it.
fn escape(s: &str, keep: Keep) -> Cow<'_, str> {
    let unsafe_char = |c: char| match c {
        '\\' => keep == Keep::Nothing,
        '\n' => keep != Keep::Lines,
        _ => is_unsafe(c),
    };
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Control characters (C0, DEL, C1), the Unicode line and paragraph separators, and the bidi
/// embedding, override and isolate controls: what may not be printed raw.
#[must_use]
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (input, as a value)
    const VALUES: &[(&str, &str)] = &[
        ("web/imageDetail.json", "web/imageDetail.json"),
        ("caf\u{e9} \u{4e16}", "caf\u{e9} \u{4e16}"),
        ("a\nb", "a\\nb"),
        ("a\r\nb", "a\\r\\nb"),
        ("\tx", "\\tx"),
        ("\0", "\\0"),
        ("\u{1b}[31mred", "\\u{1b}[31mred"),
        ("\u{7f}\u{85}\u{9b}", "\\u{7f}\\u{85}\\u{9b}"),
        ("a\\nb", "a\\\\nb"),
        ("C:\\x", "C:\\\\x"),
        (
            "\u{202a}\u{202b}\u{202c}\u{202d}\u{202e}",
            "\\u{202a}\\u{202b}\\u{202c}\\u{202d}\\u{202e}",
        ),
        (
            "\u{2066}\u{2067}\u{2068}\u{2069}",
            "\\u{2066}\\u{2067}\\u{2068}\\u{2069}",
        ),
        ("\u{2028}\u{2029}", "\\u{2028}\\u{2029}"),
        // Neighbours of the bidi controls that reorder nothing stay as they are.
        ("\u{202f}\u{2065}\u{206a}", "\u{202f}\u{2065}\u{206a}"),
        (
            "x\n FAILED  prod.zip: digest mismatch",
            "x\\n FAILED  prod.zip: digest mismatch",
        ),
    ];

    /// (input, as a line, as lines): what the sinks keep of what a value escapes.
    const SINKS: &[(&str, &str, &str)] = &[
        ("a\nb", "a\\nb", "a\nb"),
        ("a\r\nb", "a\\r\\nb", "a\\r\nb"),
        ("a\\nb", "a\\nb", "a\\nb"),
        ("C:\\x", "C:\\x", "C:\\x"),
        (
            "x\n FAILED  prod.zip: digest mismatch",
            "x\\n FAILED  prod.zip: digest mismatch",
            "x\n FAILED  prod.zip: digest mismatch",
        ),
    ];

    #[test]
    fn escapes_controls_line_breaks_bidi_and_backslashes() {
        for (input, as_value) in VALUES {
            assert_eq!(value(input), *as_value, "value({input:?})");
            // Without a backslash or a line break, the sinks escape what a value does.
            if !input.contains(['\\', '\n']) {
                assert_eq!(line(input), *as_value, "line({input:?})");
                assert_eq!(lines(input), *as_value, "lines({input:?})");
            }
        }
        for (input, as_line, as_lines) in SINKS {
            assert_eq!(line(input), *as_line, "line({input:?})");
            assert_eq!(lines(input), *as_lines, "lines({input:?})");
        }
    }

    #[test]
    fn safe_text_is_not_copied() {
        assert!(matches!(value("shop/web:1.2"), Cow::Borrowed(_)));
        assert!(matches!(lines("a\nb\\c"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_path_is_escaped_as_a_value() {
        assert_eq!(
            path(std::path::Path::new("r/x\n\u{1b}[2J/imageDetail.json")),
            "r/x\\n\\u{1b}[2J/imageDetail.json"
        );
    }
}
