//! Logs go to stderr, never stdout, which carries data (`--json`). In text, every log line is one
//! line whatever the values in it hold (`EscapingStderr`); JSON lines escape themselves.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::io::escape;

/// Logging: the level the flags ask for and the line format. `RUST_LOG` still overrides.
#[derive(Clone, Copy, Debug)]
pub struct LogConfig {
    /// `warn` (`-q`, and text's default), `info` (JSON's default), `debug` (`-v`) or `trace`
    /// (`-vv`).
    pub level: &'static str,
    /// One JSON object per line (for CloudWatch) instead of text.
    pub json: bool,
}

/// Whether logs are JSON lines ([`init`] with `json`): then the check stages log each finding,
/// and each container they checked, as an event of its own with its fields (`service`,
/// `container`, `image`, `digest`, `check`), for log queries to select on.
static STRUCTURED: AtomicBool = AtomicBool::new(false);

/// True when logs are JSON lines.
#[must_use]
pub fn structured() -> bool {
    STRUCTURED.load(Ordering::Relaxed)
}

/// Sets up the global subscriber at the level `config` asks for; `RUST_LOG` overrides it.
pub fn init(config: &LogConfig) {
    STRUCTURED.store(config.json, Ordering::Relaxed);
    let level = config.level;
    // RUST_LOG takes `level` or `target=level,...` directives; a value that does not parse is
    // ignored in favour of the flags.
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse::<Targets>().ok())
        .unwrap_or_else(|| {
            format!("imagedef={level}")
                .parse()
                .expect("a valid directive")
        });
    let layer = tracing_subscriber::fmt::layer();
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(secrets_filter());
    let _ = if config.json {
        registry
            .with(
                layer
                    .with_writer(std::io::stderr)
                    .json()
                    .flatten_event(true)
                    .with_target(false),
            )
            .try_init()
    } else {
        registry
            .with(
                layer
                    .with_writer(|| EscapingStderr)
                    .fmt_fields(PlainFields)
                    .event_format(Plain),
            )
            .try_init()
    };
}

/// The error that ended the command, printed once: `imagedef: error: ...` as text, or in JSON mode
/// one JSON log line like every other (level `ERROR`), so that log filters on the level find it.
pub fn error(config: &LogConfig, message: &str) {
    if config.json {
        tracing::error!(target: "imagedef", "{message}");
    } else {
        eprintln!("imagedef: error: {}", escape::lines(message));
    }
}

/// Stderr for text logs: each event comes in one write, the whole line, and goes out as one line
/// with every control character in it (a line break too, but the last) and every bidi control
/// escaped by [`escape::line`]. So no value in a log line, whoever formatted it, can start a line
/// of its own or send a control sequence to the terminal or the build log.
struct EscapingStderr;

impl std::io::Write for EscapingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let (body, end) = match text.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (&*text, ""),
        };
        let mut err = std::io::stderr().lock();
        err.write_all(escape::line(body).as_bytes())?;
        err.write_all(end.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Log targets of the AWS SDK and its HTTP stack whose events can carry signing material or
/// credentials, and the most verbose level each may log at whatever `RUST_LOG` says. `aws_sigv4`
/// logs canonical requests (with `x-amz-security-token`) and strings to sign at trace; the
/// orchestrator and the HTTP crates log whole requests (the `authorization` header) and the
/// credential endpoints' answers at trace. Debug still shows retries, attempts and timings.
pub const SECRET_TARGETS: &[(&str, LevelFilter)] = &[
    ("aws_sigv4", LevelFilter::OFF),
    ("aws_credential_types", LevelFilter::DEBUG),
    ("aws_config", LevelFilter::DEBUG),
    ("aws_runtime", LevelFilter::DEBUG),
    ("aws_smithy_runtime", LevelFilter::DEBUG),
    ("aws_smithy_runtime_api", LevelFilter::DEBUG),
    ("aws_smithy_http_client", LevelFilter::DEBUG),
    ("aws_smithy_http", LevelFilter::DEBUG),
    ("aws_sdk_ecr", LevelFilter::DEBUG),
    ("aws_sdk_ecs", LevelFilter::DEBUG),
    ("aws_sdk_sts", LevelFilter::DEBUG),
    ("aws_sdk_s3", LevelFilter::DEBUG),
    ("hyper", LevelFilter::DEBUG),
    ("hyper_util", LevelFilter::DEBUG),
    ("h2", LevelFilter::DEBUG),
    ("rustls", LevelFilter::DEBUG),
    ("tower", LevelFilter::DEBUG),
];

/// A second filter over the user's: it lets everything through except what [`SECRET_TARGETS`]
/// caps. (A `Targets` filter picks the most specific target, so `aws_smithy_runtime_api` needs
/// its own line beside `aws_smithy_runtime`.)
#[must_use]
pub fn secrets_filter() -> Targets {
    Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_targets(SECRET_TARGETS.iter().copied())
}

/// An event's fields as `message key=value ...`, the message as it was formatted and the other
/// values as Rust debug-prints them; escaping is left to [`EscapingStderr`], so that every log
/// line is escaped one way.
struct PlainFields;

impl<'w> FormatFields<'w> for PlainFields {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut visitor = PlainVisitor {
            writer: &mut writer,
            result: Ok(()),
            first: true,
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct PlainVisitor<'a, 'w> {
    writer: &'a mut Writer<'w>,
    result: fmt::Result,
    first: bool,
}

impl Visit for PlainVisitor<'_, '_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_err() {
            return;
        }
        let sep = if self.first { "" } else { " " };
        self.first = false;
        self.result = if field.name() == "message" {
            write!(self.writer, "{sep}{value:?}")
        } else {
            write!(self.writer, "{sep}{}={value:?}", field.name())
        };
    }
}

/// `imagedef: warning: message key=value`, the way command-line tools speak on stderr.
struct Plain;

impl<S, N> FormatEvent<S, N> for Plain
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let level = match *event.metadata().level() {
            Level::ERROR => "error",
            Level::WARN => "warning",
            Level::INFO => "info",
            Level::DEBUG => "debug",
            Level::TRACE => "trace",
        };
        write!(writer, "imagedef: {level}: ")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(filter: &Targets, target: &str, level: Level) -> bool {
        filter.would_enable(target, &level)
    }

    #[test]
    fn signing_and_credential_targets_never_log_at_trace() {
        let caps = secrets_filter();
        assert!(!allows(
            &caps,
            "aws_sigv4::http_request::sign",
            Level::ERROR
        ));
        for target in [
            "aws_smithy_runtime::client::orchestrator",
            "aws_smithy_runtime_api::client::orchestrator",
            "aws_config::http_credential_provider",
            "hyper_util::client::legacy::pool",
            "aws_credential_types::provider",
        ] {
            assert!(!allows(&caps, target, Level::TRACE), "{target}");
            assert!(allows(&caps, target, Level::DEBUG), "{target}");
        }
        assert!(allows(&caps, "imagedef::aws", Level::TRACE));
    }
}
