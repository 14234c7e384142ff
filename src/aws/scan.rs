//! `--findings`: an image's scan findings, asked of ECR with `DescribeImageScanFindings` by digest
//! where the image lives (the registry account and region of its URI), as data ([`Answer`]): the
//! scan's status, its severity counts and its worst findings. A scan still running (`IN_PROGRESS`,
//! `PENDING`) is asked again with backoff up to a wait ([`poll_all`], whose clock is injected so
//! the loop is tested without waiting). What a status or a count means (exit code, wording) is the
//! caller's to decide.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_ecr::operation::describe_image_scan_findings::{
    DescribeImageScanFindingsError, DescribeImageScanFindingsOutput,
};
use aws_sdk_ecr::types::{EnhancedImageScanFinding, ImageIdentifier, ImageScanFinding};

use super::Aws;
use super::errors::{Call, Fault};
use crate::io::escape;
use crate::model::Digest;
use crate::model::ecr::Repository;
use crate::model::findings::{Counts, Severity};

/// The findings asked for in the one call per image: the API's largest page. The counts cover
/// every finding; the worst ones are picked from this page.
pub const MAX_RESULTS: i32 = 1000;

/// How many of an image's worst findings are kept.
pub const WORST: usize = 5;

/// The first pause before a scan still running is asked again; each later one doubles, up to
/// [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_secs(2);
pub const MAX_BACKOFF: Duration = Duration::from_secs(20);

/// One image whose findings are asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub repository: Repository,
    pub digest: Digest,
}

/// `imageScanStatus.status`, as ECR names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Complete,
    /// Enhanced (continuous) scanning: scanned, and watched for new findings.
    Active,
    InProgress,
    Pending,
    Failed,
    UnsupportedImage,
    ScanEligibilityExpired,
    FindingsUnavailable,
    LimitExceeded,
    ImageArchived,
    /// A status this version does not know, or none.
    Other(String),
}

impl Status {
    fn of(name: &str) -> Status {
        match name {
            "COMPLETE" => Status::Complete,
            "ACTIVE" => Status::Active,
            "IN_PROGRESS" => Status::InProgress,
            "PENDING" => Status::Pending,
            "FAILED" => Status::Failed,
            "UNSUPPORTED_IMAGE" => Status::UnsupportedImage,
            "SCAN_ELIGIBILITY_EXPIRED" => Status::ScanEligibilityExpired,
            "FINDINGS_UNAVAILABLE" => Status::FindingsUnavailable,
            "LIMIT_EXCEEDED" => Status::LimitExceeded,
            "IMAGE_ARCHIVED" => Status::ImageArchived,
            // Kept escaped: it is only ever shown.
            other => Status::Other(crate::io::escape::value(other).into_owned()),
        }
    }

    /// The name ECR gives it.
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            Status::Complete => "COMPLETE",
            Status::Active => "ACTIVE",
            Status::InProgress => "IN_PROGRESS",
            Status::Pending => "PENDING",
            Status::Failed => "FAILED",
            Status::UnsupportedImage => "UNSUPPORTED_IMAGE",
            Status::ScanEligibilityExpired => "SCAN_ELIGIBILITY_EXPIRED",
            Status::FindingsUnavailable => "FINDINGS_UNAVAILABLE",
            Status::LimitExceeded => "LIMIT_EXCEEDED",
            Status::ImageArchived => "IMAGE_ARCHIVED",
            Status::Other(name) => name,
        }
    }

    /// The counts are final (`COMPLETE`) or kept current (`ACTIVE`): they can be compared.
    #[must_use]
    pub fn is_done(&self) -> bool {
        matches!(self, Status::Complete | Status::Active)
    }

    /// The scan is still running: asking again may find it done.
    #[must_use]
    pub fn is_running(&self) -> bool {
        matches!(self, Status::InProgress | Status::Pending)
    }
}

/// One finding, as messages show it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The vulnerability (`CVE-2024-1234`), or the finding's title.
    pub name: String,
    pub severity: Severity,
    /// The package and its version, when ECR names them.
    pub package: Option<String>,
    /// A link to the vulnerability's description.
    pub uri: Option<String>,
}

/// A scan ECR has for the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scan {
    pub status: Status,
    /// `imageScanStatus.description`.
    pub description: Option<String>,
    /// Per severity, the larger of what `findingSeverityCounts` says and how many findings the
    /// answer lists: a count that is missing or lower than the list never lets a finding pass.
    pub counts: Counts,
    /// At most [`WORST`], worst first.
    pub worst: Vec<Finding>,
    /// What in the answer cannot be judged (a severity no threshold names, a negative count): a
    /// scan with any is refused, never passed.
    pub unjudgeable: Vec<String>,
}

/// What ECR answered for one image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Scan(Scan),
    /// No scan to judge, and why.
    NoScan(NoScan),
}

/// Why ECR answered no scan for an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoScan {
    /// `ScanNotFoundException`: the image was never scanned.
    NotScanned,
    /// The image or its repository is not there (`ImageNotFoundException`,
    /// `RepositoryNotFoundException`).
    NoImage { code: String },
    /// The call failed (after the SDK's retries).
    Fault(Fault),
    /// ECR answered (HTTP 200), but the answer could not be read (a count out of range): why.
    Unreadable(String),
}

impl Answer {
    fn is_running(&self) -> bool {
        matches!(self, Answer::Scan(s) if s.status.is_running())
    }
}

/// One image's answer after polling: the last answer, how many calls it took and how long was
/// waited for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Polled {
    pub answer: Answer,
    pub calls: u32,
    pub waited: Duration,
}

/// Time, as the poll loop sees it.
pub trait Clock {
    fn now(&self) -> Instant;
    fn sleep(&self, pause: Duration);
}

/// The process's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep(&self, pause: Duration) {
        std::thread::sleep(pause);
    }
}

/// Asks for each of `n` images once (`ask(i)`), then asks again for those whose scan is still
/// running, after pauses of [`FIRST_BACKOFF`] doubling up to [`MAX_BACKOFF`], until none is
/// running or `wait` (shared by all) is over. A pause never goes past the end of the wait, and the
/// last call is made at its end.
pub fn poll_all(
    clock: &dyn Clock,
    wait: Duration,
    n: usize,
    mut ask: impl FnMut(usize) -> Answer,
) -> Vec<Polled> {
    let start = clock.now();
    let deadline = start + wait;
    let mut polled: Vec<Polled> = (0..n)
        .map(|i| Polled {
            answer: ask(i),
            calls: 1,
            waited: Duration::ZERO,
        })
        .collect();
    let mut pause = FIRST_BACKOFF;
    loop {
        let running: Vec<usize> = (0..n).filter(|&i| polled[i].answer.is_running()).collect();
        let left = deadline.saturating_duration_since(clock.now());
        if running.is_empty() || left.is_zero() {
            return polled;
        }
        let this = pause.min(left);
        tracing::debug!(
            "ECR DescribeImageScanFindings: {} scan(s) still running; asking again in {}s ({}s of --scan-wait left)",
            running.len(),
            this.as_secs_f32(),
            left.as_secs()
        );
        clock.sleep(this);
        pause = (pause * 2).min(MAX_BACKOFF);
        for i in running {
            polled[i].answer = ask(i);
            polled[i].calls += 1;
            polled[i].waited = clock.now().saturating_duration_since(start);
        }
    }
}

/// Asks ECR for the findings of every target, polling running scans up to `wait`. One answer per
/// target, in order; an error only when no call could be made (no credentials).
pub fn check(aws: &Aws, targets: &[Target], wait: Duration) -> anyhow::Result<Vec<Polled>> {
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    aws.check_credentials()?;
    let mut clients: BTreeMap<(String, bool, bool), aws_sdk_ecr::Client> = BTreeMap::new();
    Ok(poll_all(&SystemClock, wait, targets.len(), |i| {
        let t = &targets[i];
        let repo = &t.repository;
        let client = clients
            .entry((
                repo.registry.region.clone(),
                repo.registry.fips,
                repo.registry.dual_stack(),
            ))
            .or_insert_with(|| aws.ecr(&repo.registry));
        tracing::debug!(
            "ECR DescribeImageScanFindings: {} in {} (registry {}, region {})",
            t.digest,
            repo.name,
            repo.registry.account,
            repo.registry.region
        );
        aws.block_on(describe(client, t))
    }))
}

/// One `DescribeImageScanFindings` call.
async fn describe(client: &aws_sdk_ecr::Client, target: &Target) -> Answer {
    let repo = &target.repository;
    let result = client
        .describe_image_scan_findings()
        .registry_id(&repo.registry.account)
        .repository_name(&repo.name)
        .image_id(
            ImageIdentifier::builder()
                .image_digest(target.digest.to_string())
                .build(),
        )
        .max_results(MAX_RESULTS)
        .send()
        .await;
    match result {
        Ok(out) => Answer::Scan(scan_of(&out)),
        // A call that came back 200 but could not be read: the answer holds what the model
        // cannot (a count beyond its integers).
        Err(err)
            if err
                .raw_response()
                .is_some_and(|r| r.status().as_u16() == 200) =>
        {
            Answer::NoScan(NoScan::Unreadable(
                escape::value(&super::errors::chain(&err)).into_owned(),
            ))
        }
        Err(err) => {
            if let Some(e) = err.as_service_error() {
                if e.is_scan_not_found_exception() {
                    return Answer::NoScan(NoScan::NotScanned);
                }
                if let Some(code) = no_image(e) {
                    return Answer::NoScan(NoScan::NoImage {
                        code: code.to_owned(),
                    });
                }
            }
            let call = Call {
                service: "ECR",
                operation: "DescribeImageScanFindings",
                action: "ecr:DescribeImageScanFindings",
                resource: format!(
                    "image {} in repository {} in registry {}",
                    target.digest, repo.name, repo.registry.account
                ),
                arn: repo.arn(),
                region: repo.registry.region.clone(),
                bucket: None,
            };
            Answer::NoScan(NoScan::Fault(Fault::of(&call, &err)))
        }
    }
}

fn no_image(e: &DescribeImageScanFindingsError) -> Option<&'static str> {
    if e.is_image_not_found_exception() {
        Some("ImageNotFoundException")
    } else if e.is_repository_not_found_exception() {
        Some("RepositoryNotFoundException")
    } else {
        None
    }
}

/// The scan in an answer: status, counts and the worst findings, and what cannot be judged.
fn scan_of(out: &DescribeImageScanFindingsOutput) -> Scan {
    let status = out.image_scan_status();
    let findings = out.image_scan_findings();
    let mut unjudgeable = Vec::new();
    let mut counts = Counts::default();
    for (s, n) in findings
        .and_then(|f| f.finding_severity_counts())
        .into_iter()
        .flatten()
    {
        let name = escape::value(s.as_str()).into_owned();
        match (Severity::of_name(s.as_str()), u64::try_from(*n)) {
            (Some(severity), Ok(n)) => {
                counts.0.insert(severity, n);
            }
            (None, _) => unjudgeable.push(format!(
                "findingSeverityCounts names severity {name:?}, which is none of {}",
                crate::model::findings::names()
            )),
            (Some(_), Err(_)) => {
                unjudgeable.push(format!("findingSeverityCounts gives {name} the count {n}"));
            }
        }
    }
    let mut all: Vec<Finding> = Vec::new();
    if let Some(f) = findings {
        for finding in f.findings() {
            match basic(finding) {
                Ok(found) => all.extend(found),
                Err(severity) => unjudgeable.push(severity),
            }
        }
        for finding in f.enhanced_findings() {
            match enhanced(finding) {
                Ok(found) => all.extend(found),
                Err(severity) => unjudgeable.push(severity),
            }
        }
    }
    for finding in &all {
        let listed = all
            .iter()
            .filter(|f| f.severity == finding.severity)
            .count() as u64;
        let counted = counts.0.entry(finding.severity).or_insert(0);
        *counted = (*counted).max(listed);
    }
    all.sort_by(|a, b| a.severity.cmp(&b.severity).then(a.name.cmp(&b.name)));
    all.dedup();
    all.truncate(WORST);
    unjudgeable.dedup();
    Scan {
        status: Status::of(status.and_then(|s| s.status()).map_or("", |s| s.as_str())),
        description: status.and_then(|s| s.description()).map(str::to_owned),
        counts,
        worst: all,
        unjudgeable,
    }
}

/// Why a listed finding cannot be judged: its severity is none a threshold names.
fn unknown_severity(severity: &str) -> String {
    format!(
        "a finding has severity {:?}, which is none of {}",
        escape::value(severity),
        crate::model::findings::names()
    )
}

/// A basic scan's finding: its package from the `package_name` and `package_version` attributes.
/// `Ok(None)` for one without a name or severity; an error for a severity no threshold names.
fn basic(f: &ImageScanFinding) -> Result<Option<Finding>, String> {
    let attribute = |key: &str| {
        f.attributes()
            .iter()
            .find(|a| a.key() == key)
            .and_then(|a| a.value())
    };
    let package = attribute("package_name").map(|name| match attribute("package_version") {
        Some(v) => format!("{name} {v}"),
        None => name.to_owned(),
    });
    let (Some(name), Some(severity)) = (f.name(), f.severity()) else {
        return Ok(None);
    };
    let severity =
        Severity::of_name(severity.as_str()).ok_or_else(|| unknown_severity(severity.as_str()))?;
    Ok(Some(Finding {
        name: name.to_owned(),
        severity,
        package,
        uri: f.uri().map(str::to_owned),
    }))
}

/// An enhanced (Amazon Inspector) finding: the vulnerability id, the first vulnerable package.
fn enhanced(f: &EnhancedImageScanFinding) -> Result<Option<Finding>, String> {
    let details = f.package_vulnerability_details();
    let package = details
        .and_then(|d| d.vulnerable_packages().first())
        .and_then(|p| {
            let name = p.name()?;
            Some(match p.version() {
                Some(v) => format!("{name} {v}"),
                None => name.to_owned(),
            })
        });
    let (Some(name), Some(severity)) = (
        details.and_then(|d| d.vulnerability_id()).or(f.title()),
        f.severity(),
    ) else {
        return Ok(None);
    };
    let severity = Severity::of_name(severity).ok_or_else(|| unknown_severity(severity))?;
    Ok(Some(Finding {
        name: name.to_owned(),
        severity,
        package,
        uri: details
            .and_then(|d| {
                d.source_url()
                    .or(d.reference_urls().first().map(String::as_str))
            })
            .map(str::to_owned),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};

    /// A clock that moves only when slept on, and records the pauses.
    struct FakeClock {
        start: Instant,
        now: Cell<Duration>,
        pauses: RefCell<Vec<Duration>>,
    }

    impl FakeClock {
        fn new() -> FakeClock {
            FakeClock {
                start: Instant::now(),
                now: Cell::new(Duration::ZERO),
                pauses: RefCell::new(Vec::new()),
            }
        }
    }

    impl Clock for FakeClock {
        fn now(&self) -> Instant {
            self.start + self.now.get()
        }

        fn sleep(&self, pause: Duration) {
            self.pauses.borrow_mut().push(pause);
            self.now.set(self.now.get() + pause);
        }
    }

    fn scan(status: Status, high: u64) -> Answer {
        Answer::Scan(Scan {
            status,
            description: None,
            counts: Counts([(Severity::High, high)].into_iter().collect()),
            worst: Vec::new(),
            unjudgeable: Vec::new(),
        })
    }

    #[test]
    fn a_running_scan_is_asked_again_with_backoff_until_it_completes() {
        let clock = FakeClock::new();
        // Image 0: done at once. Image 1: PENDING, IN_PROGRESS, IN_PROGRESS, then COMPLETE.
        let mut script = vec![
            scan(Status::Pending, 0),
            scan(Status::InProgress, 0),
            scan(Status::InProgress, 0),
            scan(Status::Complete, 3),
        ]
        .into_iter();
        let mut asked = Vec::new();
        let polled = poll_all(&clock, Duration::from_mins(1), 2, |i| {
            asked.push(i);
            if i == 0 {
                scan(Status::Complete, 1)
            } else {
                script.next().unwrap()
            }
        });
        assert_eq!(asked, [0, 1, 1, 1, 1]);
        assert_eq!(*clock.pauses.borrow(), [2, 4, 8].map(Duration::from_secs));
        assert_eq!(polled[0].calls, 1);
        assert_eq!(polled[1].calls, 4);
        assert_eq!(polled[1].waited, Duration::from_secs(14));
        assert_eq!(polled[1].answer, scan(Status::Complete, 3));
    }

    #[test]
    fn polling_stops_at_the_end_of_the_wait_with_the_last_status() {
        let clock = FakeClock::new();
        let polled = poll_all(&clock, Duration::from_secs(45), 1, |_| {
            scan(Status::InProgress, 0)
        });
        // 2 + 4 + 8 + 16 = 30, then the last 15 s (not 20): the last call at the end of the wait.
        assert_eq!(
            *clock.pauses.borrow(),
            [2, 4, 8, 16, 15].map(Duration::from_secs)
        );
        assert_eq!(polled[0].calls, 6);
        assert_eq!(polled[0].waited, Duration::from_secs(45));
        assert_eq!(polled[0].answer, scan(Status::InProgress, 0));
        // No wait: one call, no pause.
        let clock = FakeClock::new();
        let polled = poll_all(&clock, Duration::ZERO, 1, |_| scan(Status::Pending, 0));
        assert!(clock.pauses.borrow().is_empty());
        assert_eq!(polled[0].calls, 1);
    }

    #[test]
    fn only_running_scans_are_asked_again() {
        let clock = FakeClock::new();
        let mut calls = [0; 3];
        let polled = poll_all(&clock, Duration::from_secs(10), 3, |i| {
            calls[i] += 1;
            match i {
                0 => Answer::NoScan(NoScan::NotScanned),
                1 => scan(Status::Failed, 0),
                _ => scan(Status::Active, 0),
            }
        });
        assert_eq!(calls, [1, 1, 1]);
        assert!(clock.pauses.borrow().is_empty());
        assert_eq!(polled[0].answer, Answer::NoScan(NoScan::NotScanned));
    }

    #[test]
    fn statuses_keep_ecr_names() {
        for name in [
            "COMPLETE",
            "ACTIVE",
            "IN_PROGRESS",
            "PENDING",
            "FAILED",
            "UNSUPPORTED_IMAGE",
            "SCAN_ELIGIBILITY_EXPIRED",
            "FINDINGS_UNAVAILABLE",
            "LIMIT_EXCEEDED",
            "IMAGE_ARCHIVED",
            "SOMETHING_NEW",
        ] {
            assert_eq!(Status::of(name).name(), name);
        }
        assert!(Status::of("ACTIVE").is_done() && !Status::of("FAILED").is_done());
        assert!(Status::of("PENDING").is_running() && !Status::of("COMPLETE").is_running());
    }
}
