//! The output stage of `emit`: the files of a generation laid out in OUT ([`layout`], with the
//! report of [`report`] and the zips of [`bundle`]), delivered here (written all at once by
//! [`crate::write`], or shown with `--dry-run`), then the summary of [`summary`] on stdout; and
//! the text of the buildspec that hands them to the pipeline ([`buildspec`]).
//!
//! The stage owns [`OutFile`]; [`crate::write`] is handed borrowed views of them
//! ([`crate::write::File`]) and knows nothing of this module.

pub mod buildspec;
pub mod bundle;
mod file;
pub mod junit;
pub mod layout;
pub mod render;
pub mod report;
pub mod summary;

use std::path::Path;

pub use file::OutFile;
pub use layout::lay_out;

use crate::config::Summary;
use crate::io::stdout;
use crate::write;

/// What the check stage found, for the report file and the summaries: the findings and results
/// by container, and which checks ran for each service (in service order).
#[derive(Clone, Copy)]
pub struct Checked<'a> {
    pub report: &'a crate::check::Report,
    pub coverage: &'a [crate::check::coverage::Coverage],
}

/// How the generation is delivered.
#[derive(Clone, Copy, Debug)]
pub struct Delivery<'a> {
    pub out: &'a Path,
    /// Mapping mode: OUT belongs to imagedef and is replaced as a whole generation. Otherwise
    /// (single-image mode) the files are written one by one into a folder imagedef does not own.
    pub mapping_mode: bool,
    pub dry_run: bool,
    /// With `--dry-run`: each text file's contents under its line (`-v`).
    pub contents: bool,
    pub summary: Summary,
    /// `$CODEBUILD_SRC_DIR`, when set: outputs outside it are not found by the artifacts section.
    pub codebuild_src_dir: Option<&'a Path>,
    /// Said after the single-image mode's line, e.g. where the container name came from.
    pub note: Option<&'a str>,
    /// The longest wait for another run's lock on OUT (mapping mode).
    pub lock_timeout: std::time::Duration,
}

/// Writes (or with `--dry-run`, shows) the files, then prints the summary.
pub fn deliver(
    to: &Delivery<'_>,
    files: &[OutFile],
    services: &[crate::resolve::ResolvedService<'_>],
    checks: &Checked<'_>,
) -> anyhow::Result<()> {
    if let Some(src) = to.codebuild_src_dir {
        summary::warn_if_outside(to.out, src);
    }
    let written: Vec<write::File<'_>> = files.iter().map(OutFile::to_write).collect();
    match (to.mapping_mode, to.dry_run) {
        (true, false) => write::generation::replace(to.out, &written, to.lock_timeout)?,
        // What the real run would refuse, a dry run refuses too.
        (true, true) => write::generation::check(to.out)?,
        (false, false) => write::commit(to.out, &written)?,
        (false, true) => {}
    }
    let printed = match to.summary {
        Summary::Json => stdout::print_json(&summary::JsonSummary::of(to, files, services, checks)),
        Summary::Quiet => Ok(()),
        Summary::Text => stdout::print(&summary::text(to, files, services, checks.coverage)),
    };
    printed.map_err(|e| unprinted(e, to, files))
}

/// The summary could not be printed: say what was done all the same.
fn unprinted(e: std::io::Error, to: &Delivery<'_>, files: &[OutFile]) -> anyhow::Error {
    let done = if to.dry_run {
        "nothing was written (--dry-run)".to_owned()
    } else {
        format!(
            "all {} files were written to {}",
            files.len(),
            to.out.display()
        )
    };
    anyhow::Error::new(e).context(format!(
        "{done}, but the summary could not be printed on stdout"
    ))
}
