use std::process::ExitCode;

fn main() -> ExitCode {
    tonearm::cli::run()
}
