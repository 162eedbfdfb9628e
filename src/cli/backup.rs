//! `tonearm admin backup --out FILE` (through a running server) and
//! `tonearm admin restore FILE --data-dir DIR [--force]` (server stopped).

use std::path::PathBuf;
use std::process::ExitCode;

use super::client::{ApiClient, ClientArgs};
use super::fail;

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// Where to write the archive (a tar file). Written beside as FILE.part, verified, then
    /// renamed, so FILE is always a complete backup.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The backup archive made by `tonearm admin backup`.
    file: PathBuf,
    /// Data directory to restore into (storage.data_dir of the server that will use it).
    #[arg(long, value_name = "DIR")]
    data_dir: PathBuf,
    /// Replace the contents of a non-empty data directory.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, thiserror::Error)]
enum Error {
    #[error(transparent)]
    Client(#[from] super::client::Error),
    #[error(transparent)]
    Backup(#[from] crate::backup::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub fn backup(args: BackupArgs) -> ExitCode {
    let started = std::time::Instant::now();
    match run_backup(&args) {
        Ok((bytes, m)) => {
            let summary = serde_json::json!({
                "file": args.out.display().to_string(),
                "bytes": bytes,
                "files": m.files.len(),
                "schema_version": m.schema_version,
                "created_at": m.created_at,
                "seconds": (started.elapsed().as_secs_f64() * 100.0).round() / 100.0,
            });
            if args.client.json {
                println!("{summary}");
            } else {
                println!(
                    "backup written to {} ({bytes} bytes, {} files, schema version {}), verified",
                    args.out.display(),
                    m.files.len(),
                    m.schema_version
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

fn run_backup(args: &BackupArgs) -> Result<(u64, crate::backup::Manifest), Error> {
    let client = ApiClient::new(&args.client)?;
    let mut part = args.out.clone().into_os_string();
    part.push(".part");
    let part = PathBuf::from(part);
    let io = |path: &PathBuf| {
        let path = path.clone();
        move |source| Error::Io { path, source }
    };
    let file = std::fs::File::create(&part).map_err(io(&part))?;
    let mut out = std::io::BufWriter::new(file);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(super::client::Error::Runtime)?;
    let got = runtime.block_on(client.download("/admin/v1/backup", &mut out));
    let bytes = match got {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            return Err(e.into());
        }
    };
    let file = out.into_inner().map_err(|e| Error::Io {
        path: part.clone(),
        source: e.into_error(),
    })?;
    file.sync_all().map_err(io(&part))?;
    let manifest = match crate::backup::verify(&part) {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            return Err(e.into());
        }
    };
    std::fs::rename(&part, &args.out).map_err(io(&args.out))?;
    Ok((bytes, manifest))
}

pub fn restore(args: RestoreArgs) -> ExitCode {
    match crate::backup::restore(&args.file, &args.data_dir, args.force) {
        Ok(m) => {
            println!(
                "restored {} files (schema version {}, taken {}) into {}",
                m.files.len(),
                m.schema_version,
                m.created_at,
                crate::app::absolute(&args.data_dir).display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}
