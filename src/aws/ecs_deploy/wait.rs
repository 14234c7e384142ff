//! The pause between two polls of a deployment, on the runtime of the AWS calls, cut short by
//! SIGTERM: `CodeBuild` stops a build (its timeout, or a user's stop) with SIGTERM, and `deploy`
//! must then say where the deployment stood instead of dying silently. The signal is heard through
//! tokio's safe signal API (no `unsafe`, no handler of imagedef's own).

use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};

/// How a pause ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Woke {
    /// The time passed.
    Elapsed,
    /// SIGTERM came.
    Terminated,
}

/// Pauses on one runtime, hearing SIGTERM from the moment it was made.
pub struct Waiter<'a> {
    runtime: &'a tokio::runtime::Runtime,
    /// `None` when the signal could not be listened for (said at `-v`): pauses then only sleep.
    term: Option<Signal>,
    /// SIGTERM came during a pause already reported.
    terminated: bool,
}

impl<'a> Waiter<'a> {
    /// From now on SIGTERM no longer ends the process: the next [`Waiter::wait`] reports it.
    pub fn listen(runtime: &'a tokio::runtime::Runtime) -> Waiter<'a> {
        let term = runtime.block_on(async { signal(SignalKind::terminate()) });
        let term = match term {
            Ok(term) => Some(term),
            Err(e) => {
                tracing::debug!(
                    "SIGTERM cannot be listened for ({e}); it will end the run at once"
                );
                None
            }
        };
        Waiter {
            runtime,
            term,
            terminated: false,
        }
    }

    /// Sleeps `pause`, or less when SIGTERM comes (or came since the last pause).
    pub fn wait(&mut self, pause: Duration) -> Woke {
        if self.terminated {
            return Woke::Terminated;
        }
        let Some(term) = self.term.as_mut() else {
            self.runtime.block_on(tokio::time::sleep(pause));
            return Woke::Elapsed;
        };
        match self
            .runtime
            .block_on(async { tokio::time::timeout(pause, term.recv()).await })
        {
            Ok(_) => {
                self.terminated = true;
                Woke::Terminated
            }
            Err(_) => Woke::Elapsed,
        }
    }
}
