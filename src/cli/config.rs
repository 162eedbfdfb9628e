//! `tonearm config check [--config PATH | PATH]` and `tonearm config print [--config PATH]`.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{ConfigArg, fail};
use crate::config::{Config, Source};

#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Validate a configuration file without starting the server.
    Check {
        /// File to check (default: $TONEARM_CONFIG, else the built-in defaults).
        #[arg(conflicts_with = "config")]
        path: Option<PathBuf>,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Print the effective configuration (file + environment + defaults), secrets redacted.
    Print(ConfigArg),
}

pub fn run(cmd: ConfigCommand) -> ExitCode {
    match cmd {
        ConfigCommand::Check { path, config } => match Config::load(&Source::resolve(
            path.as_deref().or(config.config.as_deref()),
        )) {
            Ok(_) => {
                println!("configuration is valid");
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
        ConfigCommand::Print(arg) => match Config::load(&Source::resolve(arg.config.as_deref())) {
            Ok(c) => {
                print!("{}", c.to_toml());
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
    }
}
