//! The command line: one file per subcommand. Parses arguments, calls into the library and turns
//! the outcome into an exit code; holds no business logic.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod admin;
pub mod analyze;
pub mod client;
pub mod config;
pub mod health;
pub mod manage;
pub mod serve;
pub mod webhooks;

#[derive(Debug, Parser)]
#[command(name = "tonearm", version, about = "Self-hosted audio-analysis API")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve(serve::ServeArgs),
    /// Analyse audio files offline and print the result document.
    Analyze(analyze::AnalyzeArgs),
    /// Check or print the configuration.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Operator commands that open the data directory directly (server stopped).
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Check that a running server answers /healthz (exit 0 when healthy).
    Health(health::HealthArgs),
    /// Manage accounts through the management API.
    Accounts(manage::AccountsArgs),
    /// Manage an account's projects through the management API.
    Projects(manage::ProjectsArgs),
    /// Manage API keys through the management API.
    Keys(manage::KeysArgs),
    /// Manage management tokens through the management API.
    Tokens(manage::TokensArgs),
    /// Webhook tools for receivers.
    #[command(subcommand)]
    Webhooks(webhooks::WebhooksCommand),
}

/// `--config PATH`, shared by the commands that read the configuration.
#[derive(Debug, clap::Args)]
pub struct ConfigArg {
    /// Configuration file (default: $TONEARM_CONFIG, else built-in defaults).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Analyze(args) => analyze::run(args),
        Command::Config(cmd) => config::run(cmd),
        Command::Admin(cmd) => admin::run(cmd),
        Command::Health(args) => health::run(args),
        Command::Accounts(args) => manage::accounts(args),
        Command::Projects(args) => manage::projects(args),
        Command::Keys(args) => manage::keys(args),
        Command::Tokens(args) => manage::tokens(args),
        Command::Webhooks(cmd) => webhooks::run(cmd),
    }
}

/// Prints an error with its causes and returns the failure exit code.
pub fn fail(e: &dyn std::error::Error) -> ExitCode {
    let mut msg = format!("error: {e}");
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(&format!(": {s}"));
        source = s.source();
    }
    eprintln!("{msg}");
    ExitCode::FAILURE
}
