//! The `imagedef` binary: everything is in the library, so that the tests can reach its types.

fn main() -> std::process::ExitCode {
    imagedef::main()
}
