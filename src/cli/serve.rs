//! `tonearm serve`: load the configuration, set up logging, run the server.

use std::process::ExitCode;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

use super::{ConfigArg, fail};
use crate::app::Server;
use crate::config::{Config, LogConfig, LogFormat, Overrides, Source};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Address and port to listen on, over server.listen and TONEARM_LISTEN, such as
    /// 127.0.0.1:8080 or [::]:8443.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
}

pub fn run(args: ServeArgs) -> ExitCode {
    let source = Source::resolve(args.config.config.as_deref());
    let cli = Overrides {
        listen: args.listen,
    };
    let config = match Config::load_with(&source, &cli) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    init_logging(&config.log);
    for note in &config.overridden {
        tracing::info!("configuration: {note}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    // A failure is printed once, by `fail`: most come before the server ever listened, so
    // "stopped" would be wrong.
    match runtime.block_on(Server::run(config, source)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// Logs go to stderr, one line per event; stdout carries only the `listening on` line.
pub fn init_logging(cfg: &LogConfig) {
    let filter: Targets = cfg.level.parse().unwrap_or_else(|_| Targets::new());
    let registry = tracing_subscriber::registry().with(filter);
    let result = match cfg.format {
        LogFormat::Json => registry
            .with(
                // Fields at the top level next to timestamp, level and message, so a collector
                // reads `request_id` or `status` without knowing tracing's nesting.
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(false)
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
