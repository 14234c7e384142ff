//! `verify --buildspec FILE --mapping FILE`: the buildspec hands each service of the mapping its
//! folder of `emit`'s output, as the secondary artifact named as the service, with the files the
//! service gets; and it has no artifact for a service the mapping does not have.
//!
//! Renaming a service in the mapping makes `emit` write another folder, while the buildspec still
//! hands the old one to the old artifact: `CodeBuild` then fails at `UPLOAD_ARTIFACTS`, after the
//! build, or the deploy action finds no file. Here that is a failure at build time, naming the
//! buildspec's key and value, the mapping's service, and the fix.
//!
//! What is held against what:
//! - every service S has the secondary artifact S, whose `base-directory` is `OUT/S` (OUT: `--out`,
//!   as the buildspec's `emit --out`), unless an artifact holds the whole of OUT (its
//!   `base-directory` is OUT and one of its `files` is a glob such as `**/*` that takes every
//!   service's folder, for `imagedef deploy --out`);
//! - each entry of an artifact's `files` (a path or a glob relative to its `base-directory`, as
//!   `CodeBuild` takes it; `*` stays within one folder, `**` crosses folders) matches a file the
//!   service gets, each file the service gets ([`crate::model::mapping::Service::files`]) is
//!   matched by an entry, and no `exclude-paths` entry leaves one out;
//! - every other secondary artifact is a failure: no service, so no folder to hand it;
//! - `artifacts.files` is there (`CodeBuild` requires it), and there are at most
//!   [`MAX_OUTPUT_ARTIFACTS`] secondary artifacts.

#[cfg(test)]
use std::path::Path;

use globset::{GlobBuilder, GlobMatcher};

use super::Recorder;
use crate::io::escape;
use crate::model::buildspec::{
    self, Artifacts, Entry, Inputs, MAX_BYTES, MAX_OUTPUT_ARTIFACTS, SECONDARY,
};
use crate::model::deploy::ServiceFile;
use crate::model::mapping::Mapping;

/// A service of the mapping and the files it gets.
struct Service {
    name: String,
    files: Vec<ServiceFile>,
}

/// What every message names: the two files, OUT, and the command that prints a buildspec that
/// matches.
struct Context<'a> {
    buildspec: String,
    mapping: String,
    out: &'a str,
    services: Vec<Service>,
}

impl Context<'_> {
    /// How a finding names a key of the buildspec.
    fn key(&self, key: &str) -> String {
        format!("buildspec {}, key {key:?}", self.buildspec)
    }

    fn fix(&self) -> String {
        format!(
            "imagedef buildspec --mapping {} --out {} prints the artifacts that match",
            self.mapping,
            buildspec::shell_word(self.out)
        )
    }

    fn service_names(&self) -> String {
        self.services
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Reads both files and holds them against each other; a file that cannot be read or parsed is
/// an error (exit 2), a disagreement a failure (exit 1).
pub fn check(inputs: &Inputs, report: &mut Recorder) {
    let shown = escape::path(&inputs.buildspec);
    let artifacts = crate::io::input::read_named(&inputs.buildspec, MAX_BYTES, "buildspec")
        .map_err(|e| e.to_string())
        .and_then(|bytes| buildspec::parse(&bytes).map_err(|e| e.to_string()));
    let mapping = Mapping::load(&inputs.mapping);
    let (artifacts, mapping) = match (artifacts, mapping) {
        (Ok(a), Ok(m)) => (a, m),
        (a, m) => {
            if let Err(e) = a {
                report.error(format!("buildspec {shown}"), e);
            }
            if let Err(e) = m {
                report.error(escape::path(&inputs.mapping), format!("{e:#}"));
            }
            return;
        }
    };
    let context = Context {
        buildspec: shown,
        mapping: escape::path(&inputs.mapping),
        out: inputs.out.as_str(),
        services: mapping
            .services
            .iter()
            .filter_map(|s| {
                Some(Service {
                    name: s.name.as_ref()?.to_string(),
                    files: s.files(),
                })
            })
            .collect(),
    };
    compare(&context, &artifacts, report);
}

/// Holds the artifacts against the services.
fn compare(cx: &Context<'_>, artifacts: &Artifacts, report: &mut Recorder) {
    if !artifacts.present {
        report.fail(
            cx.key("artifacts"),
            format!(
                "is missing, so CodeBuild hands the pipeline none of the files of the services of mapping {} ({}); {}",
                cx.mapping,
                cx.service_names(),
                cx.fix()
            ),
        );
        return;
    }
    if artifacts.primary.files.is_none() {
        report.fail(
            cx.key("artifacts.files"),
            format!(
                "is missing; CodeBuild requires it even when the pipeline takes only the secondary artifacts: list imagedef-report.json and SHA256SUMS under base-directory {}, as {}",
                cx.out,
                cx.fix()
            ),
        );
    }
    let count = artifacts.secondary.len();
    if count > MAX_OUTPUT_ARTIFACTS {
        report.fail(
            cx.key(SECONDARY),
            format!(
                "has {count} artifacts, but a CodeBuild action has at most {MAX_OUTPUT_ARTIFACTS} output artifacts; split the services across several build actions, each with its own mapping and buildspec, or publish bundles (imagedef emit --bundle, then imagedef publish)"
            ),
        );
    }
    let whole = whole_output(cx, artifacts);
    let orphans: Vec<&str> = artifacts
        .secondary
        .iter()
        .map(|(id, _)| id.as_str())
        .filter(|id| !cx.services.iter().any(|s| s.name == *id) && !whole.contains(id))
        .collect();
    let unserved: Vec<&Service> = cx
        .services
        .iter()
        .filter(|s| !artifacts.secondary.iter().any(|(id, _)| *id == s.name))
        .collect();
    for (id, entry) in &artifacts.secondary {
        if let Some(service) = cx.services.iter().find(|s| s.name == *id) {
            service_artifact(cx, service, entry, report);
        } else if whole.contains(&id.as_str()) {
            report.ok(
                format!("buildspec {}, artifact {id:?}", cx.buildspec),
                format!(
                    "holds the whole of {} (every service's folder of mapping {})",
                    cx.out, cx.mapping
                ),
            );
        } else {
            no_service(cx, id, &unserved, report);
        }
    }
    for service in unserved {
        no_artifact(cx, service, &orphans, whole.first().copied(), report);
    }
}

/// The secondary artifacts that hold the whole of OUT: not named as a service, `base-directory`
/// OUT, and a `files` entry that takes every file of every service (`**/*`).
fn whole_output<'a>(cx: &Context<'_>, artifacts: &'a Artifacts) -> Vec<&'a str> {
    artifacts
        .secondary
        .iter()
        .filter(|(id, entry)| {
            !cx.services.iter().any(|s| s.name == *id)
                && !entry.discard_paths
                && entry.base_directory.as_deref() == Some(cx.out)
                && entry.files.iter().flatten().any(|pattern| {
                    glob(pattern).is_ok_and(|g| {
                        cx.services.iter().all(|s| {
                            s.files
                                .iter()
                                .all(|f| g.is_match(format!("{}/{}", s.name, f.name())))
                        })
                    })
                })
        })
        .map(|(id, _)| id.as_str())
        .collect()
}

/// A `files` or `exclude-paths` entry as `CodeBuild` matches it: relative to the base directory,
/// `*` within one folder, `**` across folders.
fn glob(pattern: &str) -> Result<GlobMatcher, globset::Error> {
    GlobBuilder::new(buildspec::trimmed(pattern))
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
}

/// The artifact named as `service`: its base directory and files.
fn service_artifact(cx: &Context<'_>, service: &Service, entry: &Entry, report: &mut Recorder) {
    let at = format!("{SECONDARY}.{}", service.name);
    let base = format!("{}/{}", cx.out, service.name);
    let of = format!("service {:?} of mapping {}", service.name, cx.mapping);
    let names: Vec<&str> = service.files.iter().map(|f| f.name()).collect();
    // With discard-paths every file lands at the artifact's root: its folder may be anything, so
    // the entries are held, base directory and all, against where emit writes the files.
    let discard = entry.discard_paths;
    let full = |name: &str| {
        if discard {
            format!("{base}/{name}")
        } else {
            name.to_owned()
        }
    };
    let pattern_of = |pattern: &str| match (&entry.base_directory, discard) {
        (Some(dir), true) => format!("{dir}/{}", buildspec::trimmed(pattern)),
        _ => pattern.to_owned(),
    };
    if !discard && entry.base_directory.as_deref() != Some(base.as_str()) {
        let value = entry
            .base_directory
            .as_ref()
            .map_or_else(|| "is missing".to_owned(), |b| format!("= {b:?}"));
        report.fail(
            cx.key(&format!("{at}.base-directory")),
            format!(
                "{value}, but imagedef emit --out {out} writes the files of {of} to {base}; write base-directory: {base} (if the buildspec's emit writes elsewhere, give verify its --out)",
                out = cx.out
            ),
        );
        return;
    }
    let Some(files) = &entry.files else {
        report.fail(
            cx.key(&format!("{at}.files")),
            format!("is missing; list the files of {of}: {}", names.join(", ")),
        );
        return;
    };
    let before = report.findings().len();
    let mut matchers = Vec::new();
    for pattern in files {
        match glob(&pattern_of(pattern)) {
            Ok(g) if names.iter().any(|n| g.is_match(full(n))) => matchers.push(g),
            Ok(_) => report.fail(
                cx.key(&format!("{at}.files")),
                format!(
                    "holds {pattern:?}, but imagedef emit writes no such file for {of} (it writes {}), so the artifact will not have it{}: remove it",
                    names.join(", "),
                    grants(pattern)
                ),
            ),
            Err(e) => report.error(
                cx.key(&format!("{at}.files")),
                format!("holds {pattern:?}, which is not a glob ({e}); correct it"),
            ),
        }
    }
    for name in &names {
        if !matchers.iter().any(|g| g.is_match(full(name))) {
            report.fail(
                cx.key(&format!("{at}.files")),
                format!(
                    "lacks {name:?}, which imagedef emit writes for {of} and its deploy action reads; add it"
                ),
            );
        }
    }
    let exclude: Vec<String> = entry.exclude_paths.iter().map(|p| pattern_of(p)).collect();
    let full_names: Vec<String> = names.iter().map(|n| full(n)).collect();
    let full_names: Vec<&str> = full_names.iter().map(String::as_str).collect();
    excluded(cx, &at, &full_names, &exclude, report);
    if report.findings().len() == before {
        report.ok(
            format!("buildspec {}, artifact {:?}", cx.buildspec, service.name),
            format!("{of}: base-directory {base}, files {}", names.join(", ")),
        );
    }
}

/// For a file the service does not get: what in the mapping would give it to the service.
fn grants(pattern: &str) -> &'static str {
    match ServiceFile::ALL
        .into_iter()
        .find(|f| f.name() == buildspec::trimmed(pattern))
    {
        Some(ServiceFile::ImageDetail) => " (the mapping's blueGreen would give it)",
        Some(ServiceFile::TaskDefinitionTemplate | ServiceFile::AppSpec) => {
            " (the mapping's taskDefinitionTemplate and appSpec would give it)"
        }
        Some(ServiceFile::ImageDefinitions) | None => "",
    }
}

/// `exclude-paths` entries that leave out a file the service's deploy action reads.
fn excluded(cx: &Context<'_>, at: &str, names: &[&str], exclude: &[String], report: &mut Recorder) {
    for pattern in exclude {
        let Ok(g) = glob(pattern) else {
            report.error(
                cx.key(&format!("{at}.exclude-paths")),
                format!("holds {pattern:?}, which is not a glob; correct it"),
            );
            continue;
        };
        for name in names.iter().filter(|n| g.is_match(n)) {
            report.fail(
                cx.key(&format!("{at}.exclude-paths")),
                format!(
                    "holds {pattern:?}, which leaves out {name:?}, a file the service's deploy action reads; remove it"
                ),
            );
        }
    }
}

/// A secondary artifact named as no service.
fn no_service(cx: &Context<'_>, id: &str, unserved: &[&Service], report: &mut Recorder) {
    let names: Vec<String> = unserved.iter().map(|s| format!("{:?}", s.name)).collect();
    let hint = match names.as_slice() {
        [] => String::new(),
        [one] => format!("; its service {one} has no artifact: was {id:?} renamed?"),
        more => format!(
            "; its services {} have no artifact: was {id:?} renamed?",
            more.join(", ")
        ),
    };
    report.fail(
        cx.key(&format!("{SECONDARY}.{id}")),
        format!(
            "names no service of mapping {} (its services: {}{hint}), so imagedef emit writes no {}/{} and CodeBuild fails at UPLOAD_ARTIFACTS (\"no matching artifact paths found\"); rename the artifact as its service (and the pipeline's output artifact with it), or remove it; {}",
            cx.mapping,
            cx.service_names(),
            cx.out,
            crate::io::escape::value(id),
            cx.fix()
        ),
    );
}

/// A service without an artifact of its name.
fn no_artifact(
    cx: &Context<'_>,
    service: &Service,
    orphans: &[&str],
    whole: Option<&str>,
    report: &mut Recorder,
) {
    let name = &service.name;
    if let Some(whole) = whole {
        report.ok(
            format!("mapping {}, service {name:?}", cx.mapping),
            format!(
                "its folder {}/{name} is in artifact {whole:?} of buildspec {}, which holds the whole of {}",
                cx.out, cx.buildspec, cx.out
            ),
        );
        return;
    }
    let hint = if orphans.is_empty() {
        String::new()
    } else {
        let orphans: Vec<String> = orphans.iter().map(|o| format!("{o:?}")).collect();
        format!(" (its artifacts without a service: {})", orphans.join(", "))
    };
    let files: Vec<&str> = service.files.iter().map(|f| f.name()).collect();
    report.fail(
        cx.key(SECONDARY),
        format!(
            "has no artifact {name:?} for service {name:?} of mapping {}{hint}, so the pipeline's output artifact {name} gets none of its files and its deploy action fails; add {name} with base-directory {}/{name} and files {}; {}",
            cx.mapping,
            cx.out,
            files.join(", "),
            cx.fix()
        ),
    );
}

/// For tests: the inputs with OUT `imagedef-out`.
#[cfg(test)]
fn inputs(buildspec: &Path, mapping: &Path) -> Inputs {
    Inputs {
        buildspec: buildspec.to_path_buf(),
        mapping: mapping.to_path_buf(),
        out: crate::model::buildspec::RelativePath::new(Path::new("imagedef-out")).unwrap(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Check;

    const MAPPING: &str = r#"{"services": {"web": {"containers": {"web": {"artifact": "A"}}},
        "api": {"containers": {"api": {"artifact": "B"}}, "blueGreen": "api"}}}"#;

    /// The findings and passes of checking `buildspec` against [`MAPPING`].
    fn run(buildspec: &str) -> (Vec<String>, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.yml"), buildspec).unwrap();
        std::fs::write(dir.path().join("m.json"), MAPPING).unwrap();
        let mut report = crate::check::Report::default();
        report.record(Check::Buildspec, |r| {
            check(
                &inputs(&dir.path().join("b.yml"), &dir.path().join("m.json")),
                r,
            );
        });
        let dir = dir.path().display().to_string();
        let shown = |s: String| s.replace(&dir, "T");
        (
            report
                .findings()
                .iter()
                .map(|f| shown(format!("{}: {}", f.subject, f.message)))
                .collect(),
            report
                .passes()
                .iter()
                .map(|p| shown(format!("{}: {}", p.subject, p.detail)))
                .collect(),
        )
    }

    const GOOD: &str = "artifacts:\n  files: [SHA256SUMS]\n  base-directory: imagedef-out\n  secondary-artifacts:\n    web:\n      base-directory: imagedef-out/web\n      files: [imagedefinitions.json]\n    api:\n      base-directory: imagedef-out/api/\n      files: ['*.json']\n";

    #[test]
    fn a_buildspec_that_matches_passes_each_service() {
        let (findings, passes) = run(GOOD);
        assert_eq!(findings, Vec::<String>::new());
        assert_eq!(
            passes,
            [
                "buildspec T/b.yml, artifact \"web\": service \"web\" of mapping T/m.json: base-directory imagedef-out/web, files imagedefinitions.json",
                "buildspec T/b.yml, artifact \"api\": service \"api\" of mapping T/m.json: base-directory imagedef-out/api, files imagedefinitions.json, imageDetail.json",
            ]
        );
    }

    #[test]
    fn files_are_held_both_ways_and_excludes_too() {
        let text = GOOD.replace("['*.json']", "[imagedefinitions.json, taskdef.json]");
        let text = text.replace(
            "files: [imagedefinitions.json]\n",
            "files: [imagedefinitions.json]\n      exclude-paths: ['image*']\n",
        );
        let (findings, passes) = run(&text);
        assert_eq!(
            findings,
            [
                "buildspec T/b.yml, key \"artifacts.secondary-artifacts.web.exclude-paths\": holds \"image*\", which leaves out \"imagedefinitions.json\", a file the service's deploy action reads; remove it",
                "buildspec T/b.yml, key \"artifacts.secondary-artifacts.api.files\": holds \"taskdef.json\", but imagedef emit writes no such file for service \"api\" of mapping T/m.json (it writes imagedefinitions.json, imageDetail.json), so the artifact will not have it (the mapping's taskDefinitionTemplate and appSpec would give it): remove it",
                "buildspec T/b.yml, key \"artifacts.secondary-artifacts.api.files\": lacks \"imageDetail.json\", which imagedef emit writes for service \"api\" of mapping T/m.json and its deploy action reads; add it",
            ]
        );
        assert!(passes.is_empty(), "{passes:?}");
    }

    #[test]
    fn an_artifact_that_holds_the_whole_output_serves_every_service() {
        let text = "artifacts:\n  files: [SHA256SUMS]\n  secondary-artifacts:\n    Out:\n      base-directory: imagedef-out\n      files: ['**/*']\n";
        let (findings, passes) = run(text);
        assert_eq!(findings, Vec::<String>::new());
        assert_eq!(passes.len(), 3, "{passes:?}");
        assert_eq!(
            passes[1],
            "mapping T/m.json, service \"web\": its folder imagedef-out/web is in artifact \"Out\" of buildspec T/b.yml, which holds the whole of imagedef-out"
        );
        // `*` stays within a folder: this one holds no service's files.
        let (findings, _) = run(&text.replace("'**/*'", "'*'"));
        assert_eq!(findings.len(), 3, "{findings:?}");
    }

    #[test]
    fn too_many_artifacts_and_no_primary_files_fail() {
        use std::fmt::Write as _;
        let mut text = "artifacts:\n  secondary-artifacts:\n".to_owned();
        for s in ["web", "api", "a", "b", "c", "d"] {
            let _ = write!(
                text,
                "    {s}:\n      base-directory: imagedef-out/{s}\n      files: ['*']\n"
            );
        }
        let (findings, _) = run(&text);
        assert!(
            findings[0].starts_with(
                "buildspec T/b.yml, key \"artifacts.files\": is missing; CodeBuild requires it"
            ),
            "{findings:?}"
        );
        assert!(findings[1].starts_with("buildspec T/b.yml, key \"artifacts.secondary-artifacts\": has 6 artifacts, but a CodeBuild action has at most 5 output artifacts"), "{findings:?}");
        assert_eq!(
            findings.len(),
            6,
            "and one for each artifact without a service: {findings:?}"
        );
    }

    #[test]
    fn unreadable_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = Recorder::new(Check::Buildspec);
        check(
            &inputs(&dir.path().join("b.yml"), &dir.path().join("m.json")),
            &mut r,
        );
        let severities: Vec<_> = r.findings().iter().map(|f| f.severity).collect();
        assert_eq!(
            severities,
            [crate::error::Severity::Error, crate::error::Severity::Error]
        );
    }
}
