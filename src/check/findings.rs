//! `--findings` / mapping `findings`: each image's scan findings held against the thresholds, for
//! `verify --ecr` and `emit --ecr`. The image is judged by digest where `--ecr` found it; an image
//! index, which ECR does not scan, by its platform manifests (those that run as the platform the
//! task needs, or all of them when none is known), read from the manifest `BatchGetImage` returned
//! once its bytes are proven to be the digest's.
//!
//! [`plan`] (pure) says what to ask for each image, [`crate::aws::scan`] asks, [`verdict`] (pure)
//! words what came back: passed, failed (over a threshold, or a scan that cannot be judged: exit 1)
//! or an error (the call failed: exit 2).

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Recorder, Seen};
use crate::aws::Aws;
use crate::aws::ecr::{Lookup, Manifest, Outcome, Unproven};
use crate::aws::scan::{self, Answer, Finding, NoScan, Polled, Scan, Status, Target};
use crate::io::escape;
use crate::model::ecr::Repository;
use crate::model::findings::{Counts, Thresholds};
use crate::model::platform::{self, Offered, Platform};
use crate::model::{Digest, ImageRef};

/// Said when thresholds are given without `--ecr`.
pub const NOT_CHECKED: &str = "findings thresholds were given, but without --ecr no image was looked up in ECR, so no scan finding was checked (not passed); add --ecr";

/// The most platform manifests of one index judged (a scan call each): an index that needs more
/// is refused, never half judged.
const MAX_PLATFORM_SCANS: usize = 20;

/// One image to judge.
#[derive(Clone, Debug)]
pub struct Asked<'a> {
    /// Where the image was named (a file, a service's container), for messages.
    pub subject: String,
    pub image: &'a ImageRef,
    /// What `--ecr` found for it.
    pub outcome: &'a Outcome,
    pub thresholds: &'a Thresholds,
    /// Where the thresholds were set (`--findings`, `mapping key "services.web.findings"`).
    pub from: String,
    /// The platform the task needs, when known: an index is judged by its manifests for it.
    pub needed: Option<&'a Platform>,
}

/// What is asked for one image: the digests to judge (the image's own, or its index's platform
/// manifests), or why nothing can be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    Judge {
        repository: Repository,
        /// The digest and, for an index's manifest, its platform.
        images: Vec<(Digest, Option<Platform>)>,
    },
    /// Not in ECR, or not found there: the `--ecr` check says so; nothing to judge here.
    NotChecked(String),
    /// The manifest ECR returned cannot be trusted or read (exit 2).
    Error(String),
    /// Nothing can be judged (exit 1): an index without a platform manifest for the task.
    Failed(String),
}

/// What was judged for one image.
#[derive(Clone, Debug)]
pub struct Judged {
    pub subject: String,
    pub verdict: Verdict,
    pub message: String,
    /// Per image judged (an index's platform manifests), for the report and `--json`.
    pub findings: ContainerFindings,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    /// Over a threshold, or a scan that cannot be judged (exit 1).
    Failed,
    /// A call failed, or ECR's answer could not be trusted (exit 2).
    Error,
    /// Not looked at (not in ECR): never a pass.
    NotChecked,
}

/// The findings of one container as judged, for the report file and the `--json` summary.
#[derive(Clone, Debug)]
pub struct ContainerFindings {
    /// The thresholds applied, `{"CRITICAL": 0, "HIGH": 2}`.
    pub thresholds: Thresholds,
    /// Where they were set.
    pub from: String,
    /// `passed`, `failed`, `error` or `not checked`.
    pub verdict: &'static str,
    pub images: Vec<JudgedImage>,
}

/// One digest judged.
#[derive(Clone, Debug)]
pub struct JudgedImage {
    pub digest: Digest,
    /// For a platform manifest of an index.
    pub platform: Option<String>,
    /// ECR's scan status (`COMPLETE`, `ACTIVE`, ...), or `NOT_SCANNED` when ECR has no scan.
    pub status: String,
    /// The severity counts of a scan that is done.
    pub counts: Option<Counts>,
}

impl Verdict {
    fn name(self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::Failed => "failed",
            Verdict::Error => "error",
            Verdict::NotChecked => "not checked",
        }
    }
}

/// What to ask for `asked`: pure.
#[must_use]
pub fn plan(asked: &Asked<'_>) -> Plan {
    let Outcome::Found {
        repository,
        digest: Some(digest),
        manifest,
        ..
    } = asked.outcome
    else {
        return Plan::NotChecked(match asked.outcome {
            Outcome::Skipped(_) => {
                "not in an Amazon ECR private registry, so ECR has no scan of it".to_owned()
            }
            Outcome::Found { .. } => "no digest to look its scan up by".to_owned(),
            _ => "not found in ECR (see the ecr check)".to_owned(),
        });
    };
    let own = || Plan::Judge {
        repository: repository.clone(),
        images: vec![(*digest, None)],
    };
    let Some(manifest) = manifest else {
        return own();
    };
    match index_of(manifest, *digest) {
        Err(e) => Plan::Error(format!(
            "{}: the manifest ECR returned for {digest} {e}; it is not trusted, so its findings were not judged; check the repository, or AWS_ENDPOINT_URL if it is set",
            asked.image
        )),
        Ok(None | Some(Offered::Manifest { .. })) => own(),
        Ok(Some(index @ Offered::Index(_))) => {
            let entries = index.entries_for(asked.needed);
            if entries.is_empty() {
                return Plan::Failed(format!(
                    "{} is an image index that lists no platform manifest{}, and ECR does not scan an index itself, so there is nothing to judge; push an image built for {}",
                    asked.image,
                    asked
                        .needed
                        .map(|p| format!(" for {p}"))
                        .unwrap_or_default(),
                    asked
                        .needed
                        .map_or_else(|| "the task's platform".to_owned(), ToString::to_string)
                ));
            }
            if entries.len() > MAX_PLATFORM_SCANS {
                return Plan::Failed(format!(
                    "{} is an image index of {} platform manifests{}, and judging each takes a DescribeImageScanFindings call, of which imagedef makes at most {MAX_PLATFORM_SCANS} for one image; name the platform the task needs (--platform, the mapping's platform, or the task definition's runtimePlatform) so that only its manifests are judged",
                    asked.image,
                    entries.len(),
                    asked
                        .needed
                        .map(|p| format!(" that run as {p}"))
                        .unwrap_or_default(),
                ));
            }
            Plan::Judge {
                repository: repository.clone(),
                images: entries
                    .into_iter()
                    .map(|e| (e.digest, Some(e.platform.clone())))
                    .collect(),
            }
        }
    }
}

/// What an index ECR returned offers, once its bytes are proven to be `digest`'s; `None` for any
/// other manifest, whose scan is its own.
fn index_of(manifest: &Manifest, digest: Digest) -> Result<Option<Offered>, IndexError> {
    let value = manifest.document(digest).map_err(|e| match e {
        Unproven::Hash(actual) => IndexError::Hash { actual, digest },
        Unproven::Json(e) => IndexError::NotManifest(e),
    })?;
    if value.get("manifests").is_none() {
        return Ok(None);
    }
    platform::offered(&value)
        .map(Some)
        .map_err(IndexError::NotIndex)
}

/// Why the manifest ECR returned for an image is not trusted.
#[derive(Debug, thiserror::Error)]
enum IndexError {
    #[error("has sha256 {actual}, not {digest}")]
    Hash { actual: Digest, digest: Digest },
    #[error("is not a manifest: {0}")]
    NotManifest(String),
    #[error("is not an image index: {0}")]
    NotIndex(platform::PlatformError),
}

/// Judges every asked image: plans, asks ECR (through `connect`, only when something is to be
/// asked; each digest once), words the answers. An error only when no call could be made.
pub fn judge<'a>(
    asked: &[Asked<'_>],
    connect: impl FnOnce() -> anyhow::Result<&'a Aws>,
    wait: Duration,
) -> anyhow::Result<Vec<Judged>> {
    let plans: Vec<Plan> = asked.iter().map(plan).collect();
    let mut targets: Vec<Target> = Vec::new();
    let mut index: BTreeMap<(Repository, Digest), usize> = BTreeMap::new();
    for p in &plans {
        if let Plan::Judge { repository, images } = p {
            for (digest, _) in images {
                index
                    .entry((repository.clone(), *digest))
                    .or_insert_with(|| {
                        targets.push(Target {
                            repository: repository.clone(),
                            digest: *digest,
                        });
                        targets.len() - 1
                    });
            }
        }
    }
    let polled = if targets.is_empty() {
        Vec::new()
    } else {
        scan::check(connect()?, &targets, wait)?
    };
    Ok(asked
        .iter()
        .zip(plans)
        .map(|(a, p)| {
            let answers: Vec<(Digest, Option<Platform>, &Polled)> = match &p {
                Plan::Judge { repository, images } => images
                    .iter()
                    .map(|(d, platform)| {
                        (
                            *d,
                            platform.clone(),
                            &polled[index[&(repository.clone(), *d)]],
                        )
                    })
                    .collect(),
                _ => Vec::new(),
            };
            verdict(a, &p, &answers, wait)
        })
        .collect())
}

/// The verdict on one image from its plan and the answers for its digests: pure.
#[must_use]
pub fn verdict(
    asked: &Asked<'_>,
    plan: &Plan,
    answers: &[(Digest, Option<Platform>, &Polled)],
    wait: Duration,
) -> Judged {
    let judged = |verdict: Verdict, message: String, images: Vec<JudgedImage>| Judged {
        subject: asked.subject.clone(),
        verdict,
        message,
        findings: ContainerFindings {
            thresholds: asked.thresholds.clone(),
            from: asked.from.clone(),
            verdict: verdict.name(),
            images,
        },
    };
    let repository = match plan {
        Plan::Judge { repository, .. } => repository,
        Plan::NotChecked(why) => {
            return judged(
                Verdict::NotChecked,
                format!("{}: findings not checked: {why}", asked.image),
                Vec::new(),
            );
        }
        Plan::Error(m) => return judged(Verdict::Error, m.clone(), Vec::new()),
        Plan::Failed(m) => return judged(Verdict::Failed, m.clone(), Vec::new()),
    };
    let mut worst = Verdict::Passed;
    let mut said = Vec::new();
    let mut images = Vec::new();
    for (digest, platform, polled) in answers {
        let which = match platform {
            Some(p) => format!("platform {p} ({digest})"),
            None => digest.to_string(),
        };
        let (v, text, status, counts) = one(asked, repository, *digest, polled, wait);
        if v != Verdict::Passed && (worst == Verdict::Passed || v == Verdict::Error) {
            worst = v;
        }
        said.push(format!("{which}: {text}"));
        images.push(JudgedImage {
            digest: *digest,
            platform: platform.as_ref().map(ToString::to_string),
            status,
            counts,
        });
    }
    let message = format!(
        "{} ({} from {}): {}",
        asked.image,
        asked.thresholds,
        asked.from,
        said.join("; ")
    );
    judged(worst, message, images)
}

/// What one digest was judged: the verdict, its words, the status and the counts judged.
type OneVerdict = (Verdict, String, String, Option<Counts>);

/// The verdict on one digest.
fn one(
    asked: &Asked<'_>,
    repo: &Repository,
    digest: Digest,
    polled: &Polled,
    wait: Duration,
) -> OneVerdict {
    let id = format!(
        "--repository-name {} --image-id imageDigest={digest} --region {}{}",
        repo.name,
        repo.registry.region,
        registry(repo)
    );
    let start = format!("aws ecr start-image-scan {id}");
    let scan = match &polled.answer {
        Answer::Scan(scan) => scan,
        Answer::NoScan(why) => return no_scan(why, repo, &start),
    };
    if !scan.unjudgeable.is_empty() {
        return (
            Verdict::Failed,
            format!(
                "the scan {} cannot be judged: {}; the image is not passed; scan it again: {start}",
                scan.status.name(),
                scan.unjudgeable.join("; ")
            ),
            scan.status.name().to_owned(),
            None,
        );
    }
    let status = scan.status.name().to_owned();
    if scan.status.is_done() {
        let over = asked.thresholds.over(&scan.counts);
        if over.is_empty() {
            return (
                Verdict::Passed,
                format!("scan {status}: {}, within", scan.counts),
                status,
                Some(scan.counts.clone()),
            );
        }
        let over_text: Vec<String> = over
            .iter()
            .map(|o| format!("{} {} > {} tolerated", o.severity, o.found, o.tolerated))
            .collect();
        return (
            Verdict::Failed,
            format!(
                "over the findings thresholds: {} (scan {status}: {}){}; fix: rebuild the image on patched packages or a patched base image, or raise the threshold ({})",
                over_text.join(", "),
                scan.counts,
                worst_text(&scan.worst),
                asked.from
            ),
            status,
            Some(scan.counts.clone()),
        );
    }
    (
        Verdict::Failed,
        not_done(scan, &start, &id, polled, wait),
        status,
        None,
    )
}

/// The verdict on a digest ECR answered no scan for: the call failed, the image is not there, it
/// was never scanned, or the answer could not be read.
fn no_scan(answer: &NoScan, repo: &Repository, start: &str) -> OneVerdict {
    match answer {
        NoScan::Fault(fault) => {
            let enhanced = if fault.code().is_some_and(|c| c.contains("AccessDenied")) {
                "; with enhanced scanning (Amazon Inspector) it also needs inspector2:ListFindings"
            } else {
                ""
            };
            (
                Verdict::Error,
                format!("{fault}{enhanced}"),
                "ERROR".to_owned(),
                None,
            )
        }
        NoScan::NoImage { code } => (
            Verdict::Failed,
            format!(
                "ECR has no such image ({code}) in repository {} in registry {} (region {}); push it, or fix the image URI",
                repo.name, repo.registry.account, repo.registry.region
            ),
            "NO_IMAGE".to_owned(),
            None,
        ),
        NoScan::NotScanned => (
            Verdict::Failed,
            format!(
                "not scanned (ECR answers ScanNotFoundException), so its findings cannot be judged; scan it: {start}, and turn on scan on push (aws ecr put-image-scanning-configuration --repository-name {} --image-scanning-configuration scanOnPush=true --region {}{}) or enhanced scanning for the registry",
                repo.name,
                repo.registry.region,
                registry(repo)
            ),
            "NOT_SCANNED".to_owned(),
            None,
        ),
        NoScan::Unreadable(why) => (
            Verdict::Failed,
            format!(
                "ECR's answer could not be read ({why}), so its findings cannot be judged and the image is not passed; run again, and if it persists scan the image again: {start}"
            ),
            "UNREADABLE".to_owned(),
            None,
        ),
    }
}

/// ` --registry-id ACCOUNT`: the CLI's default registry is the caller's own account, which may not
/// be the image's.
fn registry(repo: &Repository) -> String {
    format!(" --registry-id {}", repo.registry.account)
}

/// `; worst: CVE-1 (CRITICAL, openssl 3.0.1, https://...), ...`, or nothing.
fn worst_text(worst: &[Finding]) -> String {
    if worst.is_empty() {
        return String::new();
    }
    let items: Vec<String> = worst
        .iter()
        .map(|f| {
            let mut parts = vec![f.severity.to_string()];
            parts.extend(f.package.as_deref().map(|p| escape::value(p).into_owned()));
            parts.extend(f.uri.as_deref().map(|u| escape::value(u).into_owned()));
            format!("{} ({})", escape::value(&f.name), parts.join(", "))
        })
        .collect();
    format!("; worst: {}", items.join(", "))
}

/// Why a scan that is not done cannot be judged, and the fix.
fn not_done(scan: &Scan, start: &str, id: &str, polled: &Polled, wait: Duration) -> String {
    let status = scan.status.name();
    let said = scan
        .description
        .as_deref()
        .filter(|d| !d.is_empty())
        .map(|d| format!(" ({})", escape::value(d)))
        .unwrap_or_default();
    let fix = match &scan.status {
        Status::InProgress | Status::Pending => {
            return format!(
                "the scan is still {status}{said} after waiting {}s (--scan-wait {}, {} calls); run again once it is done, or raise --scan-wait",
                polled.waited.as_secs(),
                wait.as_secs(),
                polled.calls
            );
        }
        Status::Failed => format!("start it again: {start}"),
        Status::UnsupportedImage => "ECR cannot scan this image (its operating system or format is not supported), so the gate cannot pass for it; judge it with another scanner and remove its findings thresholds".to_owned(),
        Status::ScanEligibilityExpired => "enhanced scanning no longer watches this image (its re-scan duration ran out); lengthen the ECR re-scan duration in Amazon Inspector, or push the image again".to_owned(),
        Status::FindingsUnavailable => format!("run again later, or start a new scan: {start}"),
        Status::LimitExceeded => format!("ECR's scan limit was reached (a basic scan runs at most once a day per image); run again later, or: {start}"),
        Status::ImageArchived => format!("the image is archived, and an archived image can neither be scanned nor pulled; restore it (aws ecr update-image-storage-class {id} --target-storage-class STANDARD, which takes up to about 20 minutes), then scan it: {start}"),
        Status::Complete | Status::Active | Status::Other(_) => format!("a status imagedef does not know, so it is not judged; scan it again: {start}"),
    };
    format!("the scan is {status}{said}, so its findings cannot be judged; {fix}")
}

/// The scan findings tolerated for an image, and where they were set (`--findings`, the
/// mapping's `findings`).
#[derive(Clone, Debug)]
pub struct Gate {
    pub thresholds: Thresholds,
    pub from: String,
}

/// Without `--ecr` nothing is looked up: thresholds given for any image are said to be not
/// checked, never passed.
pub fn not_checked(images: &[Seen]) {
    if images.iter().any(|s| s.needs.findings.is_some()) {
        tracing::warn!("{NOT_CHECKED}");
    }
}

/// Every image with a gate against it. `found` is what `--ecr` found for each image, in order;
/// empty when no lookup could be made, which the ecr check reported. An index is judged by its
/// platform manifests for the platform the image's task needs (all of them when none is). A
/// container's counts are kept in the report for the report file and `--json`.
pub fn check<'a>(
    images: &[Seen],
    found: &[(Lookup, Outcome)],
    connect: impl FnOnce() -> anyhow::Result<&'a Aws>,
    wait: Duration,
    report: &mut Recorder,
) {
    let gated: Vec<(&Seen, &Gate, &Outcome)> = images
        .iter()
        .zip(found)
        .filter_map(|(s, (_, outcome))| Some((s, s.needs.findings.as_ref()?, outcome)))
        .collect();
    if gated.is_empty() {
        if found.is_empty() && images.iter().any(|s| s.needs.findings.is_some()) {
            tracing::warn!(
                "no image was looked up in ECR (see the ecr check), so no scan finding was checked"
            );
        }
        return;
    }
    let asked: Vec<Asked<'_>> = gated
        .iter()
        .map(|(s, gate, outcome)| Asked {
            subject: s.subject.clone(),
            image: &s.image,
            outcome,
            thresholds: &gate.thresholds,
            from: gate.from.clone(),
            needed: s.needs.platform.as_ref().map(|n| &n.platform),
        })
        .collect();
    let judged = match judge(&asked, connect, wait) {
        Ok(judged) => judged,
        Err(e) => {
            report.error("--findings", format!("{e:#}"));
            return;
        }
    };
    for ((seen, _, _), j) in gated.iter().zip(judged) {
        match j.verdict {
            Verdict::Passed => report.ok(j.subject.clone(), j.message.clone()),
            Verdict::Failed => report.fail(j.subject.clone(), j.message.clone()),
            Verdict::Error => report.error(j.subject.clone(), j.message.clone()),
            Verdict::NotChecked => tracing::warn!("{}: {}", j.subject, j.message),
        }
        if let Some(results) = report.container(seen) {
            results.findings = Some(j.findings);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::findings::Severity;

    fn repo() -> Repository {
        let image: ImageRef = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/shop/web:v1"
            .parse()
            .unwrap();
        crate::model::ecr::Repository::of(&image).unwrap().unwrap()
    }

    fn found(bytes: &[u8], digest: Digest) -> Outcome {
        Outcome::Found {
            repository: repo(),
            digest: Some(digest),
            tag: None,
            manifest: Some(Manifest {
                media_type: None,
                bytes: bytes.to_vec(),
            }),
        }
    }

    fn asked<'a>(
        image: &'a ImageRef,
        outcome: &'a Outcome,
        thresholds: &'a Thresholds,
        needed: Option<&'a Platform>,
    ) -> Asked<'a> {
        Asked {
            subject: "service \"web\", container \"web\"".to_owned(),
            image,
            outcome,
            thresholds,
            from: "--findings".to_owned(),
            needed,
        }
    }

    fn index(children: &[(Digest, &str)]) -> Vec<u8> {
        let manifests: Vec<serde_json::Value> = children
            .iter()
            .map(|(d, p)| {
                let (os, arch) = p.split_once('/').unwrap();
                serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d.to_string(), "size": 1, "platform": {"os": os, "architecture": arch}})
            })
            .chain(std::iter::once(serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": Digest::of(b"att").to_string(), "size": 1, "platform": {"os": "unknown", "architecture": "unknown"}, "annotations": {"vnd.docker.reference.type": "attestation-manifest"}})))
            .collect();
        serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests})).unwrap()
    }

    #[test]
    fn an_index_is_judged_by_its_platform_manifests_and_a_manifest_by_itself() {
        let image: ImageRef = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/shop/web:v1"
            .parse()
            .unwrap();
        let t: Thresholds = "HIGH=0".parse().unwrap();
        let (amd, arm) = (Digest::of(b"amd"), Digest::of(b"arm"));
        let bytes = index(&[(amd, "linux/amd64"), (arm, "linux/arm64")]);
        let outcome = found(&bytes, Digest::of(&bytes));
        let Plan::Judge { images, .. } = plan(&asked(&image, &outcome, &t, None)) else {
            panic!()
        };
        let shown: Vec<String> = images
            .iter()
            .map(|(d, p)| format!("{d} {}", p.as_ref().unwrap()))
            .collect();
        assert_eq!(
            shown,
            [format!("{amd} linux/amd64"), format!("{arm} linux/arm64")]
        );
        let needed: Platform = "linux/arm64".parse().unwrap();
        let Plan::Judge { images, .. } = plan(&asked(&image, &outcome, &t, Some(&needed))) else {
            panic!()
        };
        assert_eq!(images, [(arm, Some(needed.clone()))]);
        let windows: Platform = "windows/amd64".parse().unwrap();
        let Plan::Failed(why) = plan(&asked(&image, &outcome, &t, Some(&windows))) else {
            panic!()
        };
        assert!(
            why.contains("lists no platform manifest for windows/amd64"),
            "{why}"
        );
        // A single manifest: its own digest.
        let single = br#"{"schemaVersion": 2, "config": {"digest": "sha256:0000000000000000000000000000000000000000000000000000000000000007"}, "layers": []}"#;
        let outcome = found(single, Digest::of(single));
        assert_eq!(
            plan(&asked(&image, &outcome, &t, None)),
            Plan::Judge {
                repository: repo(),
                images: vec![(Digest::of(single), None)]
            }
        );
        // A manifest naming no config (whatever its schema) is still judged by its own digest.
        let bare = br#"{"schemaVersion": 2, "layers": []}"#;
        let outcome = found(bare, Digest::of(bare));
        assert_eq!(
            plan(&asked(&image, &outcome, &t, None)),
            Plan::Judge {
                repository: repo(),
                images: vec![(Digest::of(bare), None)]
            }
        );
        // An index whose entry is no digest is refused.
        let broken = br#"{"manifests": [{"digest": "sha256:12", "platform": {"os": "linux", "architecture": "amd64"}}]}"#;
        let outcome = found(broken, Digest::of(broken));
        let Plan::Error(why) = plan(&asked(&image, &outcome, &t, None)) else {
            panic!()
        };
        assert!(
            why.contains("is not an image index: \"manifests[0].digest\" is not a sha256 digest"),
            "{why}"
        );
        // Bytes that are not the digest's are not trusted.
        let outcome = found(&bytes, amd);
        let Plan::Error(why) = plan(&asked(&image, &outcome, &t, None)) else {
            panic!()
        };
        assert!(
            why.contains(&format!("has sha256 {}, not {amd}", Digest::of(&bytes))),
            "{why}"
        );
    }

    fn polled(answer: Answer) -> Polled {
        Polled {
            answer,
            calls: 1,
            waited: Duration::ZERO,
        }
    }

    fn scan(status: &str, counts: &[(Severity, u64)], worst: Vec<Finding>) -> Answer {
        Answer::Scan(Scan {
            status: match status {
                "COMPLETE" => Status::Complete,
                "IMAGE_ARCHIVED" => Status::ImageArchived,
                "UNSUPPORTED_IMAGE" => Status::UnsupportedImage,
                _ => Status::InProgress,
            },
            description: None,
            counts: Counts(counts.iter().copied().collect()),
            worst,
            unjudgeable: Vec::new(),
        })
    }

    #[test]
    fn verdicts_say_the_counts_the_worst_findings_and_the_fix() {
        let image: ImageRef = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/shop/web:v1"
            .parse()
            .unwrap();
        let digest = Digest::of(b"web");
        let outcome = Outcome::Found {
            repository: repo(),
            digest: Some(digest),
            tag: None,
            manifest: None,
        };
        let t: Thresholds = "CRITICAL=0,HIGH=2".parse().unwrap();
        let a = asked(&image, &outcome, &t, None);
        let p = plan(&a);
        let run = |answer: Answer| {
            let polled = polled(answer);
            verdict(&a, &p, &[(digest, None, &polled)], Duration::from_mins(5))
        };
        let ok = run(scan(
            "COMPLETE",
            &[(Severity::High, 2), (Severity::Low, 9)],
            vec![],
        ));
        assert_eq!(ok.verdict, Verdict::Passed);
        assert!(
            ok.message.contains("scan COMPLETE: HIGH 2, LOW 9, within"),
            "{}",
            ok.message
        );
        let cve = Finding {
            name: "CVE-2024-0001".into(),
            severity: Severity::Critical,
            package: Some("openssl 3.0.1".into()),
            uri: Some("https://nvd.nist.gov/vuln/detail/CVE-2024-0001".into()),
        };
        let over = run(scan(
            "COMPLETE",
            &[(Severity::Critical, 1), (Severity::High, 2)],
            vec![cve],
        ));
        assert_eq!(over.verdict, Verdict::Failed);
        for want in [
            "(CRITICAL=0,HIGH=2 from --findings)",
            "over the findings thresholds: CRITICAL 1 > 0 tolerated (scan COMPLETE: CRITICAL 1, HIGH 2)",
            "worst: CVE-2024-0001 (CRITICAL, openssl 3.0.1, https://nvd.nist.gov/vuln/detail/CVE-2024-0001)",
        ] {
            assert!(
                over.message.contains(want),
                "{}\n  lacks: {want}",
                over.message
            );
        }
        let not = run(Answer::NoScan(NoScan::NotScanned));
        assert_eq!(not.verdict, Verdict::Failed);
        assert!(not.message.contains(&format!("aws ecr start-image-scan --repository-name shop/web --image-id imageDigest={digest} --region eu-west-1 --registry-id 111122223333")), "{}", not.message);
        assert_eq!(not.findings.images[0].status, "NOT_SCANNED");
        let archived = run(scan("IMAGE_ARCHIVED", &[], vec![]));
        assert!(
            archived.message.contains("--target-storage-class STANDARD"),
            "{}",
            archived.message
        );
        let running = run(scan("IN_PROGRESS", &[], vec![]));
        assert!(
            running
                .message
                .contains("still IN_PROGRESS after waiting 0s (--scan-wait 300"),
            "{}",
            running.message
        );
        let unsupported = run(scan("UNSUPPORTED_IMAGE", &[], vec![]));
        assert_eq!(unsupported.verdict, Verdict::Failed);
        // Outside ECR: not checked, never passed.
        let outside = Outcome::Skipped(crate::aws::ecr::Skipped::NotInEcr);
        let a = asked(&image, &outside, &t, None);
        let j = verdict(&a, &plan(&a), &[], Duration::ZERO);
        assert_eq!(j.verdict, Verdict::NotChecked);
    }
}
