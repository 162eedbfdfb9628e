//! `tonearm admin bootstrap`: the first management token, made by opening the data directory
//! directly. Refuses while a server holds the directory (the database lock says so).

use std::process::ExitCode;

use super::{ConfigArg, fail};
use crate::api::tokens_prepare;
use crate::config::{Config, Source};
use crate::store::Store;

#[derive(Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// Download a consistent backup from a running server (GET /admin/v1/backup) into FILE and
    /// verify it. Uses TONEARM_URL and TONEARM_TOKEN.
    Backup(super::backup::BackupArgs),
    /// Restore a backup archive into a data directory (server stopped). Every checksum is
    /// verified before anything is written.
    Restore(super::backup::RestoreArgs),
    /// Create a management token and print it once. Run with the server stopped.
    Bootstrap {
        #[command(flatten)]
        config: ConfigArg,
        /// Print `{"id": …, "token": …}`.
        #[arg(long)]
        json: bool,
        /// Label of the token.
        #[arg(long, default_value = "bootstrap")]
        label: String,
    },
}

#[derive(Debug, thiserror::Error)]
enum BootstrapError {
    #[error(transparent)]
    Config(#[from] crate::config::Error),
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error("the operating system's random number generator failed: {0}")]
    Random(getrandom::Error),
}

pub fn run(cmd: AdminCommand) -> ExitCode {
    match cmd {
        AdminCommand::Backup(args) => super::backup::backup(args),
        AdminCommand::Restore(args) => super::backup::restore(args),
        AdminCommand::Bootstrap {
            config,
            json,
            label,
        } => match bootstrap(config, label) {
            Ok((id, token)) => {
                if json {
                    println!("{}", serde_json::json!({ "id": id, "token": token }));
                } else {
                    println!("management token {id} created. Store it now; it is not shown again:");
                    println!("{token}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
    }
}

fn bootstrap(config: ConfigArg, label: String) -> Result<(String, String), BootstrapError> {
    let source = Source::resolve(config.config.as_deref());
    let config = Config::load(&source)?;
    // On stderr: stdout carries only the token. A token made in the wrong directory would be
    // "invalid" to the server with no hint, so say which directory this is.
    eprintln!(
        "data directory: {} (config: {})",
        crate::app::absolute(&config.storage.data_dir).display(),
        crate::app::describe_source(&source)
    );
    let store = Store::open(&config.storage.data_dir)?;
    let issued = tokens_prepare(label).map_err(BootstrapError::Random)?;
    let entry = crate::store::schema::AuditRecord {
        at_ms: crate::ids::now_ms(),
        actor: "cli".into(),
        action: "token.create".into(),
        target: issued.id.to_string(),
        request_id: None,
        ip: None,
        details: serde_json::json!({"label": issued.record.label, "via": "admin bootstrap"})
            .to_string(),
    };
    let audit_id = crate::ids::new_raw_id().map_err(BootstrapError::Random)?;
    store
        .audited(audit_id, entry)
        .insert_token(issued.id.0, &issued.record)?;
    Ok((issued.id.to_string(), issued.value))
}
