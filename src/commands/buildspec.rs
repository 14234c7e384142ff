//! `imagedef buildspec`: the mapping's services as a buildspec's secondary artifacts, printed on
//! stdout.

use crate::config::BuildspecConfig;
use crate::error::ExitCode;
use crate::io::stdout;
use crate::model::buildspec::Generated;
use crate::model::mapping::Mapping;
use crate::output;

pub fn run(config: &BuildspecConfig) -> anyhow::Result<ExitCode> {
    let mapping = Mapping::load(&config.mapping_file)?;
    let generated = Generated::for_mapping(&mapping, &config.mapping, &config.out)?;
    stdout::print(&output::buildspec::text(&generated))?;
    Ok(ExitCode::Success)
}
