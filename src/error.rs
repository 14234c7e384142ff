//! Exit codes, a documented contract, and the one place that decides which code an outcome gets:
//! an error that ended a command ([`exit_code_of`]), or the worst of a command's findings
//! ([`ExitCode::worst`]).

/// What `imagedef` exits with. Anything not listed here is never returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    /// Everything resolved, verified and was written.
    Success = 0,
    /// The inputs were read, but a check failed: digest mismatch, unknown container,
    /// ambiguous or missing image.
    CheckFailed = 1,
    /// Usage error, unreadable or malformed input, I/O failure.
    Error = 2,
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}

/// How bad one finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A check failed on inputs that were read (exit 1).
    Failed,
    /// Unreadable or malformed input (exit 2).
    Error,
}

impl ExitCode {
    /// The code for a run whose findings have these severities: success when there are none.
    #[must_use]
    pub fn worst(findings: impl IntoIterator<Item = Severity>) -> ExitCode {
        match findings.into_iter().max() {
            None => ExitCode::Success,
            Some(Severity::Failed) => ExitCode::CheckFailed,
            Some(Severity::Error) => ExitCode::Error,
        }
    }
}

/// A check that failed on inputs that were read fine (exit code 1). The message names what was
/// checked, what was found, and what to do.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CheckFailed(pub String);

/// The exit code for an error that ended a command: 1 when it is (or wraps) a [`CheckFailed`],
/// else 2.
#[must_use]
pub fn exit_code_of(err: &anyhow::Error) -> ExitCode {
    if err.chain().any(<dyn std::error::Error>::is::<CheckFailed>) {
        ExitCode::CheckFailed
    } else {
        ExitCode::Error
    }
}

/// True when the error is a closed stdout (`imagedef scan | head`), which is not a failure.
#[must_use]
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_finding_decides() {
        use Severity::{Error, Failed};
        assert_eq!(ExitCode::worst([]), ExitCode::Success);
        assert_eq!(ExitCode::worst([Failed, Failed]), ExitCode::CheckFailed);
        assert_eq!(ExitCode::worst([Failed, Error]), ExitCode::Error);
        let wrapped = anyhow::Error::new(CheckFailed("x".into())).context("while y");
        assert_eq!(exit_code_of(&wrapped), ExitCode::CheckFailed);
        assert_eq!(exit_code_of(&anyhow::anyhow!("z")), ExitCode::Error);
    }
}
