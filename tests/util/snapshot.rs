//! What a snapshot holds: a run shown whole (the command line, the exit code, the whole stderr and
//! the whole stdout), with the test's temporary folder as `[TMP]`, in a scratch directory whose
//! help is wrapped at [`COLUMNS`] whatever the terminal: clap reads `COLUMNS` when no standard
//! stream is a terminal, as in these runs (null stdin, piped stdout and stderr), and the command
//! caps it at 100.

use std::path::Path;

use super::Env;
use super::bundled::emitted;

/// The width help is wrapped at: the `max_term_width` the command sets.
pub const COLUMNS: &str = "100";

/// A scratch directory whose runs wrap help at [`COLUMNS`], without colours.
pub fn env() -> Env {
    pinned(Env::new())
}

/// `env`, its runs wrapping help at [`COLUMNS`], without colours.
pub fn pinned(mut env: Env) -> Env {
    env.set("COLUMNS", COLUMNS)
        .set("CLICOLOR_FORCE", "")
        .set("NO_COLOR", "1");
    env
}

/// The text a snapshot holds for `args` run in `env`, with `redact` (text, stand-in) applied
/// after the temporary folder.
pub fn shown(env: &Env, args: &[&str], redact: &[(&str, &str)]) -> String {
    let run = env.run(args);
    let mut text = format!(
        "$ imagedef {}\nexit code: {}\n--- stderr\n{}--- stdout\n{}",
        args.join(" "),
        run.code,
        run.stderr(),
        run.stdout()
    );
    let root = env.root();
    let canonical = root.canonicalize().unwrap();
    for tmp in [canonical.as_path(), root] {
        text = text.replace(&tmp.display().to_string(), "[TMP]");
    }
    for (from, to) in redact {
        text = text.replace(from, to);
    }
    text
}

/// One service, s1, emitted with `--bundle` into `out`; AWS variables point at `endpoint`.
pub fn bundled(endpoint: &str) -> Env {
    pinned(emitted(1, endpoint))
}

/// The snapshot files in `dir` (relative to the repository) whose name no test of `sources` (the
/// text of the files that take snapshots) gives in quotes: a renamed or removed case left them.
pub fn orphans(dir: &str, sources: &[&str]) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut orphans = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".snap")
            && !sources
                .iter()
                .any(|source| source.contains(&format!("\"{stem}\"")))
        {
            orphans.push(name);
        }
    }
    orphans
}
