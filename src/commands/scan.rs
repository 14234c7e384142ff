//! `imagedef scan`: list what discovery found.

use serde::Serialize;

use crate::config::ScanConfig;
use crate::discover::{self, Candidate};
use crate::error::{ExitCode, Severity};
use crate::io::escape;

#[derive(Serialize)]
struct Row<'a> {
    artifact: &'a str,
    path: &'a str,
    file: String,
    repository: Option<&'a str>,
    image_uri: Option<String>,
    tags: Vec<&'a str>,
    digest: Option<String>,
    problems: Vec<String>,
}

impl<'a> Row<'a> {
    fn of(c: &'a Candidate) -> Row<'a> {
        let file = c.path.display().to_string();
        match &c.detail {
            Ok(d) => Row {
                artifact: &c.artifact,
                path: &c.rel_path,
                file,
                repository: Some(d.image_uri.repository()),
                image_uri: Some(d.image_uri.to_string()),
                tags: d.tags(),
                digest: d.digest().map(|x| x.to_string()),
                problems: d.inconsistencies(),
            },
            Err(e) => Row {
                artifact: &c.artifact,
                path: &c.rel_path,
                file,
                repository: None,
                image_uri: None,
                tags: Vec::new(),
                digest: None,
                problems: vec![e.to_string()],
            },
        }
    }
}

#[derive(Serialize)]
struct Skip<'a> {
    artifact: &'a str,
    file: String,
    reason: &'a str,
}

pub fn run(config: &ScanConfig) -> anyhow::Result<ExitCode> {
    let found = discover::discover(&config.discover.roots, &config.discover.file_name, None);
    let rows: Vec<Row<'_>> = found.candidates.iter().map(Row::of).collect();
    if config.json {
        #[derive(Serialize)]
        struct Out<'a> {
            images: Vec<Row<'a>>,
            skipped: Vec<Skip<'a>>,
        }
        let skipped = found
            .skipped
            .iter()
            .map(|s| Skip {
                artifact: &s.artifact,
                file: s.path.display().to_string(),
                reason: &s.reason,
            })
            .collect();
        crate::io::stdout::print_json(&Out {
            images: rows,
            skipped,
        })?;
    } else {
        // -q: only the rows with a problem.
        let rows: Vec<Row<'_>> = rows
            .into_iter()
            .filter(|r| !config.quiet || !r.problems.is_empty())
            .collect();
        if !(config.quiet && rows.is_empty()) {
            crate::io::stdout::print(&table(&rows))?;
        }
        for s in &found.skipped {
            tracing::warn!("{}: skipped: {}", s.path.display(), s.reason);
        }
        if found.candidates.is_empty() {
            tracing::warn!(
                "no {} found under {}",
                config.discover.file_name,
                roots_list(config)
            );
        }
    }
    Ok(ExitCode::worst(
        found
            .skipped
            .iter()
            .filter(|s| s.unreadable)
            .map(|_| Severity::Error),
    ))
}

fn roots_list(config: &ScanConfig) -> String {
    config
        .discover
        .roots
        .iter()
        .map(|r| format!("{} ({})", r.path.display(), r.artifact))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The widest a padded column gets; a longer cell is cut with `...` (`--json` shows it whole).
const MAX_COLUMN: usize = 100;

/// A plain table, columns padded to their widest cell (at most [`MAX_COLUMN`] characters; the last
/// column, the problem, is never cut); digests shortened to 12 hex digits; values from the files
/// escaped, so that none can start a row of its own.
fn table(rows: &[Row<'_>]) -> String {
    let header = [
        "ARTIFACT",
        "PATH",
        "REPOSITORY",
        "TAGS",
        "DIGEST",
        "PROBLEM",
    ];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                escape::value(r.artifact).into_owned(),
                escape::value(r.path).into_owned(),
                escape::value(r.repository.unwrap_or("-")).into_owned(),
                if r.tags.is_empty() {
                    "-".to_owned()
                } else {
                    let tags: Vec<_> = r.tags.iter().map(|t| escape::value(t)).collect();
                    tags.join(",")
                },
                r.digest
                    .as_deref()
                    .map_or_else(|| "-".to_owned(), |d| d.chars().take(19).collect()),
                if r.problems.is_empty() {
                    "-".to_owned()
                } else {
                    escape::line(&r.problems.join("; ")).into_owned()
                },
            ]
        })
        .collect();
    let cells: Vec<[String; 6]> = cells
        .into_iter()
        .map(|mut row| {
            for cell in &mut row[..5] {
                if cell.chars().count() > MAX_COLUMN {
                    *cell = format!(
                        "{}...",
                        cell.chars().take(MAX_COLUMN - 3).collect::<String>()
                    );
                }
            }
            row
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |row: &[&str]| {
        let mut text = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                text.push_str(cell);
            } else {
                text.push_str(cell);
                let pad = w.saturating_sub(cell.chars().count()) + 2;
                text.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&header);
    for row in &cells {
        line(&row.each_ref().map(String::as_str));
    }
    out
}
