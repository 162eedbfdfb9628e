//! `tonearm keys scan PATH…`: reports every tonearm secret in the files under the paths
//! (redacted: prefix, four characters, last four), exit 1 when there is any. `.git` directories
//! and symbolic links are skipped; files are read in full up to `MAX_FILE_BYTES`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::auth::scan::{Finding, find};

/// Larger files are skipped with a note: secrets live in source and config, not media.
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Files or directories to scan (directories recursively).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

pub fn run(args: ScanArgs, json: bool) -> ExitCode {
    let mut files = Vec::new();
    let mut errors = 0;
    for p in &args.paths {
        if let Err(e) = collect(p, &mut files) {
            eprintln!("error: {}: {e}", p.display());
            errors += 1;
        }
    }
    let mut total = 0;
    for f in &files {
        match std::fs::metadata(f) {
            Ok(m) if m.len() > MAX_FILE_BYTES => {
                eprintln!("note: {} skipped (over 64 MiB)", f.display());
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                eprintln!("error: {}: {e}", f.display());
                errors += 1;
                continue;
            }
        }
        let text = match std::fs::read(f) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {}: {e}", f.display());
                errors += 1;
                continue;
            }
        };
        for hit in find(&text) {
            total += 1;
            print_hit(f, &hit, json);
        }
    }
    if total > 0 {
        eprintln!(
            "{total} tonearm secret(s) found in {} file(s) scanned; revoke them and remove them from the files",
            files.len()
        );
        ExitCode::from(1)
    } else if errors > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_hit(file: &Path, hit: &Finding, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::json!({
                "path": file.display().to_string(),
                "line": hit.line,
                "offset": hit.offset,
                "kind": hit.kind.as_str(),
                "redacted": hit.redacted,
            })
        );
    } else {
        println!(
            "{}:{}: {} {}",
            file.display(),
            hit.line,
            hit.kind.as_str(),
            hit.redacted
        );
    }
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.is_file() {
        out.push(path.to_path_buf());
    } else if meta.is_dir() {
        if path.file_name().is_some_and(|n| n == ".git") {
            return Ok(());
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            collect(&e, out)?;
        }
    }
    Ok(())
}
