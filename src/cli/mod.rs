//! The command line: one file per subcommand. Parses arguments, calls into the library and turns
//! the outcome into an exit code; holds no business logic.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod analyze;

#[derive(Debug, Parser)]
#[command(name = "tonearm", version, about = "Self-hosted audio-analysis API")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse audio files offline and print the result document.
    Analyze(analyze::AnalyzeArgs),
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Analyze(args) => analyze::run(args),
    }
}
