//! `tonearm analyze FILE…`: the engine without a server.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Audio files to analyse.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

pub fn run(_args: AnalyzeArgs) -> ExitCode {
    ExitCode::FAILURE
}
