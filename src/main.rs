use imagedef::error::{ExitCode, exit_code_of, is_broken_pipe};

fn main() -> std::process::ExitCode {
    let cli = imagedef::cli::Cli::parse_args();
    imagedef::logging::init(&imagedef::config::LogConfig::from_args(&cli.global));
    match imagedef::run(&cli) {
        Ok(code) => code.into(),
        Err(err) if is_broken_pipe(&err) => ExitCode::Success.into(),
        Err(err) => {
            eprintln!("imagedef: error: {err:#}");
            exit_code_of(&err).into()
        }
    }
}
