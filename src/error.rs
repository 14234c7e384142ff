//! Exit codes, a documented contract, and the failed checks that map to exit code 1.

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

/// A check that failed on inputs that were read fine (exit code 1). The message names what was
/// checked, what was found, and what to do.
#[derive(Debug, thiserror::Error)]
pub enum CheckFailed {
    /// No image, or no image for a selector.
    #[error("{0}")]
    NoImage(String),
    /// Several different images where one was needed.
    #[error("{0}")]
    AmbiguousImage(String),
    /// No single tag could be chosen for `--uri tag`.
    #[error("{0}")]
    AmbiguousTag(String),
    /// A container that the task definition does not have.
    #[error("{0}")]
    UnknownContainer(String),
    /// Two digests that should be equal are not.
    #[error("{0}")]
    DigestMismatch(String),
    /// The fields of one imageDetail.json disagree with each other.
    #[error("{0}")]
    Inconsistent(String),
    /// A digest was needed but the image carries none.
    #[error("{0}")]
    Unpinned(String),
    /// A written file would break a limit of the deploy action.
    #[error("{0}")]
    Limit(String),
}

/// The exit code for an error that ended a command.
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
