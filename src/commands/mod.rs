//! One driver per subcommand: each reads its config, calls the pipeline steps, prints the result.
//! [`explain`] words what `resolve` could not do.

pub mod buildspec;
pub mod confirm;
pub mod deploy;
pub mod emit;
pub mod explain;
pub mod publish;
pub mod scan;
pub mod verify;

use std::path::Path;

use crate::discover::Discovery;

/// Writes a JUnit report (`verify`'s, `deploy`'s, `confirm`'s) to `--junit PATH`, atomically.
pub fn write_junit(path: &Path, xml: &str) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| anyhow::anyhow!("--junit {} is not a file name", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new(""));
    let file = crate::write::File {
        path: &name,
        bytes: xml.as_bytes(),
    };
    crate::write::commit(dir, &[file]).map_err(|e| {
        e.context(format!(
            "cannot write the JUnit report --junit {}",
            path.display()
        ))
    })
}

/// Which of the files that take no part the error ending the run lists already.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Listed {
    Nothing,
    /// The unreadable ones ([`refuse_unreadable`]).
    Unreadable,
    /// All of them, with their reasons.
    Everything,
}

/// Logs a warning for every file that takes no part (refused, unreadable, or not a regular file)
/// and is not `listed` in the error that ends the run: each is said once.
pub fn warn_unusable(found: &Discovery, listed: Listed) {
    if listed == Listed::Everything {
        return;
    }
    for c in &found.candidates {
        if let Err(e) = &c.detail {
            tracing::warn!("{}: refused: {e}", c.path.display());
        }
    }
    for s in &found.skipped {
        if !(s.unreadable && listed == Listed::Unreadable) {
            tracing::warn!("{}: skipped: {}", s.path.display(), s.reason);
        }
    }
}

/// `emit` writes nothing when a file could not be read: it might have been the image that made
/// the choice ambiguous, or the one a selector wanted (exit 2).
pub fn refuse_unreadable(found: &Discovery) -> anyhow::Result<()> {
    let unreadable: Vec<String> = found
        .skipped
        .iter()
        .filter(|s| s.unreadable)
        .map(|s| format!("  {}: {}", crate::io::escape::path(&s.path), s.reason))
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
