//! The command line: one file per subcommand. Parses arguments, calls into the library and turns
//! the outcome into an exit code; holds no business logic.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod admin;
pub mod analyze;
pub mod backup;
pub mod client;
pub mod config;
pub mod health;
pub mod library;
pub mod manage;
pub mod scan;
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
    /// The sound library through the management API (import).
    Library(library::LibraryArgs),
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
        Command::Library(args) => library::run(args),
    }
}

/// An error with its causes on one line. A cause the message already quotes is not repeated.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !msg.contains(&text) {
            msg.push_str(&format!(": {text}"));
        }
        source = s.source();
    }
    msg
}

/// Prints an error with its causes, once, and returns the failure exit code.
pub fn fail(e: &dyn std::error::Error) -> ExitCode {
    eprintln!("error: {}", chain(e));
    ExitCode::FAILURE
}

/// A duration on the command line, as in the configuration: `90s`, `10m`, `1h 30m`; a bare
/// number is seconds.
pub fn parse_seconds(s: &str) -> Result<f64, String> {
    if let Ok(n) = s.trim().parse::<f64>() {
        return if n.is_finite() && n > 0.0 {
            Ok(n)
        } else {
            Err("must be a positive number of seconds or a duration such as 10m".into())
        };
    }
    match humantime::parse_duration(s.trim()) {
        Ok(d) if !d.is_zero() => Ok(d.as_secs_f64()),
        _ => Err("expected seconds (600) or a duration such as 10m or 1h 30m".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every option and argument of every subcommand says what it is.
    #[test]
    fn every_argument_has_help_text() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "tonearm", &mut missing);
        assert!(missing.is_empty(), "no help text: {missing:?}");
    }

    #[test]
    fn config_is_taken_the_same_way_by_every_command_that_reads_it() {
        for args in [
            &["tonearm", "serve", "--config", "x.toml"][..],
            &["tonearm", "config", "check", "--config", "x.toml"],
            &["tonearm", "config", "print", "--config", "x.toml"],
            &["tonearm", "admin", "bootstrap", "--config", "x.toml"],
            &["tonearm", "health", "--config", "x.toml"],
        ] {
            assert!(Cli::try_parse_from(args).is_ok(), "{args:?}");
        }
    }

    #[test]
    fn errors_do_not_repeat_their_cause() {
        #[derive(Debug, thiserror::Error)]
        #[error("cannot create data directory /x: {0}")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        let text = chain(&e);
        assert_eq!(text.matches("permission denied").count(), 1, "{text}");
    }

    #[test]
    fn durations_read_like_the_configuration() {
        assert_eq!(parse_seconds("600"), Ok(600.0));
        assert_eq!(parse_seconds("10m"), Ok(600.0));
        assert_eq!(parse_seconds("1h 30m"), Ok(5400.0));
        assert_eq!(parse_seconds("2.5"), Ok(2.5));
        assert!(parse_seconds("0").is_err());
        assert!(parse_seconds("0s").is_err());
        assert!(parse_seconds("soon").is_err());
    }
}
