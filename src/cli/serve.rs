//! `tonearm serve`: load the configuration, set up logging, run the server.

use std::process::ExitCode;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

use super::{ConfigArg, fail};
use crate::app::Server;
use crate::config::{Config, LogConfig, LogFormat, Source};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub config: ConfigArg,
}

pub fn run(args: ServeArgs) -> ExitCode {
    let source = Source::resolve(args.config.config.as_deref());
    let config = match Config::load(&source) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    init_logging(&config.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    match runtime.block_on(Server::run(config, source)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "server stopped with an error");
            fail(&e)
        }
    }
}

/// Logs go to stderr, one line per event; stdout carries only the `listening on` line.
pub fn init_logging(cfg: &LogConfig) {
    let filter: Targets = cfg.level.parse().unwrap_or_else(|_| Targets::new());
    let registry = tracing_subscriber::registry().with(filter);
    let result = match cfg.format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
    if result.is_err() {
        eprintln!("warning: logging was already initialised");
    }
}
