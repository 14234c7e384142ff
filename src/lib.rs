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
//! [`aws`] is the only module that talks to AWS.

pub mod aws;
pub mod check;
pub mod cli;
pub mod commands;
pub mod config;
pub mod discover;
pub mod error;
pub mod io;
pub mod model;
pub mod output;
pub mod publish;
pub mod resolve;

pub mod write;

use cli::{Cli, Command};
use error::ExitCode;

/// Runs one parsed command line. Errors are returned, not printed: `main` prints them once.
pub fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Scan(args) => commands::scan::run(&config::ScanConfig::from_args(args)?),
        Command::Emit(args) => commands::emit::run(&config::EmitConfig::from_args(args, cli)?),
        Command::Verify(args) => {
            commands::verify::run(&config::VerifyConfig::from_args(args, cli)?)
        }
        Command::Publish(args) => {
            commands::publish::run(&config::PublishConfig::from_args(args, cli)?)
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
