//! imagedef: from the imageDetail.json of `CodePipeline` ECR source artifacts to verified ECS deploy
//! files.
//!
//! The data flows through the modules in this order: [`cli`] (what was typed) -> [`config`]
//! (resolved settings: the emit mode, the rules and where each was set) -> [`discover`] (artifact
//! roots, files) -> [`model`] (imageDetail, references, digests, the mapping, the deploy files) ->
//! [`resolve`] (which image, which tag, which URI, or typed reasons) -> [`output`] (the deploy
//! files' bytes, OUT's layout, report, `SHA256SUMS`, zip bundles, written by [`write`], the
//! summary); [`verify`] checks beside them; [`publish`] re-checks OUT's bundles for S3. [`io`] is
//! the edge: bounded reads of input files, data on stdout, logs on stderr, values from files
//! escaped for text.
//! [`commands`] drives each subcommand and words what failed; [`error`] decides the exit code;
//! [`aws`] is the only module that talks to AWS; [`deploy`] plans, makes and follows ECS
//! deployments (`deploy`, `confirm`) through it.

mod aws;
mod check;
mod cli;
mod commands;
mod config;
mod deploy;
mod discover;
mod error;
mod io;
mod model;
mod output;
mod publish;
mod resolve;
mod write;

use cli::{Cli, Command};
use error::{ExitCode, exit_code_of, is_broken_pipe};
use io::logging::{self, LogConfig};

/// What the integration tests and the fuzz targets use of the library, exposed deliberately;
/// everything else is private to the crate.
#[doc(hidden)]
pub mod testing {
    pub use crate::check::bundle::{MAX_BYTES as MAX_BUNDLE_BYTES, check as check_bundle};
    pub use crate::check::oci::{Proofs, layout as check_layout};
    pub use crate::check::zip_view::read as read_zip;
    pub use crate::check::{Check, Recorder, Report};
    pub use crate::model::deploy::Sha256Sums;
    pub use crate::model::json::{parse as parse_json, text as json_text};
    pub use crate::model::mapping::Mapping;
    pub use crate::model::{Digest, ImageDetail, ImageRef};
    pub use crate::output::OutFile;
    pub use crate::output::bundle::zip;
}

/// The whole program: parses the command line, runs the command, prints an error once (`imagedef:
/// error: ...`), and returns the exit code. Nothing else exits the process.
#[must_use]
pub fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse_args() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    let logs = config::log_config(&cli.global);
    logging::init(&logs);
    match run(&cli) {
        Ok(code) => code.into(),
        Err(err) if is_broken_pipe(&err) => ExitCode::Success.into(),
        Err(err) => {
            logging::error(&logs, &format!("{err:#}"));
            exit_code_of(&err).into()
        }
    }
}

/// `--help` and `--version` print and exit 0; a usage error exits 2 with clap's message, as one
/// JSON log line when JSON logs were asked for.
fn usage_error(e: &clap::Error) -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let env = std::env::var("IMAGEDEF_LOG_FORMAT").ok();
    let code = if e.use_stderr() {
        ExitCode::Error
    } else {
        ExitCode::Success
    };
    let from_env = Cli::env_behind(e, &args).map(|var| {
        format!("the value is ${var}'s, set in the environment: unset it, or give a value in range")
    });
    if !e.use_stderr() || !Cli::asks_for_json_logs(&args, env.as_deref()) {
        let _ = e.print();
        if let Some(note) = from_env {
            eprintln!("imagedef: {note}");
        }
        return code.into();
    }
    let logs = LogConfig {
        level: "error",
        json: true,
    };
    logging::init(&logs);
    let rendered = e.render().to_string();
    let message = match from_env {
        Some(note) => format!("{}; {note}", rendered.trim_end()),
        None => rendered.trim_end().to_owned(),
    };
    logging::error(&logs, &message);
    ExitCode::Error.into()
}

/// Runs one parsed command line. Errors are returned, not printed: [`main`] prints them once.
fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Scan(args) => commands::scan::run(&config::ScanConfig::from_args(args, cli)?),
        Command::Emit(args) => commands::emit::run(&config::EmitConfig::from_args(args, cli)?),
        Command::Buildspec(args) => {
            commands::buildspec::run(&config::BuildspecConfig::from_args(args, cli)?)
        }
        Command::Verify(args) => {
            commands::verify::run(&config::VerifyConfig::from_args(args, cli)?)
        }
        Command::Publish(args) => {
            commands::publish::run(&config::PublishConfig::from_args(args, cli)?)
        }
        Command::Deploy(args) => {
            commands::deploy::run(&config::deploy::DeployConfig::deploy(args, cli)?)
        }
        Command::Confirm(args) => {
            commands::deploy::run(&config::deploy::DeployConfig::confirm(args, cli)?)
        }
        Command::Schema(args) => {
            io::stdout::print(match args.which {
                cli::SchemaOf::Mapping => model::mapping::SCHEMA,
                cli::SchemaOf::Report => output::report::SCHEMA,
            })?;
            Ok(ExitCode::Success)
        }
    }
}
