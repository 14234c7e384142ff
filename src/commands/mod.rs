//! One driver per subcommand: each reads its config, calls the pipeline steps, prints the result.

pub mod emit;
pub mod emit_mapping;
pub mod scan;
pub mod verify;

use std::io::Write;

use crate::discover::Discovery;

/// Logs a warning for every file that takes no part: refused, unreadable, or not a regular file.
pub fn warn_unusable(found: &Discovery) {
    for c in &found.candidates {
        if let Err(e) = &c.detail {
            tracing::warn!("{}: refused: {e}", c.path.display());
        }
    }
    for s in &found.skipped {
        tracing::warn!("{}: skipped: {}", s.path.display(), s.reason);
    }
}

/// `emit` writes nothing when a file could not be read: it might have been the image that made
/// the choice ambiguous, or the one a selector wanted (exit 2).
pub fn refuse_unreadable(found: &Discovery) -> anyhow::Result<()> {
    let unreadable: Vec<String> = found
        .skipped
        .iter()
        .filter(|s| s.unreadable)
        .map(|s| format!("  {}: {}", s.path.display(), s.reason))
        .collect();
    if unreadable.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "{} path(s) could not be read, so what was found may be incomplete; nothing was written:\n{}\nfix: make them readable, or pass the artifact directories as ROOT",
        unreadable.len(),
        unreadable.join("\n")
    )
}

/// Writes `text` to stdout in one go. A closed pipe is reported as an error that `main` ignores.
pub fn print(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Pretty JSON plus a newline on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> std::io::Result<()> {
    let bytes = crate::render::to_json(value);
    print(std::str::from_utf8(&bytes).expect("JSON is UTF-8"))
}
