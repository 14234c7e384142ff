use imagedef::cli::Cli;
use imagedef::config::LogConfig;
use imagedef::error::{ExitCode, exit_code_of, is_broken_pipe};

fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse_args() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    let logs = LogConfig::from_args(&cli.global);
    imagedef::io::logging::init(&logs);
    match imagedef::run(&cli) {
        Ok(code) => code.into(),
        Err(err) if is_broken_pipe(&err) => ExitCode::Success.into(),
        Err(err) => {
            imagedef::io::logging::error(&logs, &format!("{err:#}"));
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
    if !e.use_stderr() || !Cli::asks_for_json_logs(&args, env.as_deref()) {
        let _ = e.print();
        return code.into();
    }
    let logs = LogConfig {
        level: "error",
        json: true,
    };
    imagedef::io::logging::init(&logs);
    imagedef::io::logging::error(&logs, e.render().to_string().trim_end());
    ExitCode::Error.into()
}
