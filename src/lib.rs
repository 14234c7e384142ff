//! imagedef: from the imageDetail.json of `CodePipeline` ECR source artifacts to verified ECS deploy
//! files.
//!
//! The data flows through the modules in this order: [`cli`] (what was typed) -> [`config`]
//! (resolved settings: the emit mode, the rules and where each was set) -> [`discover`] (artifact
//! roots, files, read through [`input`]) -> [`model`] (imageDetail, references, digests, the
//! mapping, the deploy files) -> [`resolve`] (which image, which tag, which URI, or typed reasons)
//! -> [`render`] (deploy file bytes) -> [`output`] (OUT's layout, report, `SHA256SUMS`, zip
//! bundles, written by [`write`], the summary); [`verify`] checks beside them; [`publishable`]
//! re-checks OUT's bundles for S3. Every command prints its data through [`stdout`]; values from files
//! are printed as text through [`escape`].
//! [`commands`] drives each subcommand and words what failed; [`error`] decides the exit code;
//! [`aws`] is the only module that talks to AWS.

pub mod aws;
pub mod cli;
pub mod commands;
pub mod config;
pub mod discover;
pub mod error;
pub mod escape;
pub mod input;
pub mod logging;
pub mod model;
pub mod output;
pub mod publishable;
pub mod render;
pub mod resolve;
pub mod stdout;
pub mod verify;
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
        Command::Schema => {
            stdout::print(model::mapping::SCHEMA)?;
            Ok(ExitCode::Success)
        }
    }
}
