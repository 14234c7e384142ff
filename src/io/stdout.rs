//! How every command prints data: on stdout only, each result in one go. Logs and errors go to
//! stderr ([`crate::io::logging`]).

use std::io::Write as _;

use serde::Serialize;

use crate::io::escape;

/// Writes `text` to stdout in one go. Whatever a caller missed, no control character but the line
/// breaks and no bidi control reaches the terminal raw ([`escape::lines`]). A closed pipe is
/// reported as an error that `main` ignores.
pub fn print(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(escape::lines(text).as_bytes())?;
    out.flush()
}

/// Pretty JSON plus a newline on stdout, as files are written (JSON escapes control characters
/// itself).
pub fn print_json<T: Serialize>(value: &T) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    out.write_all(b"\n")?;
    out.flush()
}
