//! Logs go to stderr, never stdout, which carries data (`--json`).

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::LogConfig;

/// Sets up the global subscriber at the level `config` asks for; `RUST_LOG` overrides it.
pub fn init(config: &LogConfig) {
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
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(filter);
    let _ = if config.json {
        registry
            .with(layer.json().flatten_event(true).with_target(false))
            .try_init()
    } else {
        registry.with(layer.event_format(Plain)).try_init()
    };
}

/// The error that ended the command, printed once: `imagedef: error: ...` as text, or in JSON mode
/// one JSON log line like every other (level `ERROR`), so that log filters on the level find it.
pub fn error(config: &LogConfig, message: &str) {
    if config.json {
        tracing::error!(target: "imagedef", "{message}");
    } else {
        eprintln!("imagedef: error: {message}");
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
