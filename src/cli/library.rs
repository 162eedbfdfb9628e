//! `tonearm library import FILE.json`: sends a library to a running server through the
//! management API, with a progress line, skipping what is already there (same id and the same
//! SHA-256), and a summary of what was refused and why.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bytes::Bytes;
use http::Method;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::client::{ApiClient, ClientArgs, Error};

#[derive(Debug, clap::Args)]
pub struct LibraryArgs {
    #[command(flatten)]
    client: ClientArgs,
    #[command(subcommand)]
    command: LibraryCommand,
}

#[derive(Debug, clap::Subcommand)]
enum LibraryCommand {
    /// Import the sounds listed in FILE.json ({"sounds": [{id, file, title, …}]}; `file` is
    /// relative to FILE.json's folder). Safe to run again: imported files are skipped.
    Import {
        /// The library description.
        file: PathBuf,
    },
}

/// The metadata fields the server takes; the rest of an entry (measurements, sources) is the
/// server's to compute or not its business.
const FIELDS: [&str; 10] = [
    "id",
    "title",
    "description",
    "tags",
    "category",
    "subcategory",
    "creator",
    "license_type",
    "license",
    "attribution_required",
];

enum Outcome {
    Imported,
    Skipped,
    Refused(String),
}

pub fn run(args: LibraryArgs) -> ExitCode {
    let LibraryCommand::Import { file } = &args.command;
    let result = ApiClient::new(&args.client).and_then(|client| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::Runtime)?
            .block_on(import(client, file))
    });
    match result {
        Ok(code) => code,
        Err(e) => super::fail(&e),
    }
}

async fn import(client: ApiClient, file: &Path) -> Result<ExitCode, Error> {
    let entries = match read_library(file) {
        Ok(e) => e,
        Err(message) => {
            eprintln!("error: {}: {message}", file.display());
            return Ok(ExitCode::from(2));
        }
    };
    let base = file.parent().unwrap_or(Path::new(".")).to_path_buf();
    let total = entries.len();
    let tty = std::io::stderr().is_terminal();
    let (mut imported, mut skipped) = (0usize, 0usize);
    let mut refused: Vec<(String, String)> = Vec::new();
    for (n, entry) in entries.iter().enumerate() {
        let label = entry["id"]
            .as_str()
            .or_else(|| entry["file"].as_str())
            .unwrap_or("?")
            .to_string();
        progress(tty, n, total, &label);
        // A keep-alive connection the server has just closed fails the next request on it; the
        // request was not processed, and an import repeated after one that was is skipped (same
        // bytes), so trying again on a fresh connection is safe.
        let mut attempt = 0;
        let outcome = loop {
            match import_one(&client, &base, entry).await {
                Err(Error::Connect { .. }) if attempt < 3 => attempt += 1,
                other => break other?,
            }
        };
        match outcome {
            Outcome::Imported => imported += 1,
            Outcome::Skipped => skipped += 1,
            Outcome::Refused(why) => refused.push((label, why)),
        }
    }
    progress(tty, total, total, "");
    if tty {
        eprintln!();
    }
    println!(
        "{imported} imported, {skipped} already there, {} refused (of {total})",
        refused.len()
    );
    for (label, why) in &refused {
        println!("  refused {label}: {why}");
    }
    Ok(if refused.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn progress(tty: bool, done: usize, total: usize, label: &str) {
    const WIDTH: usize = 30;
    let filled = (done * WIDTH).checked_div(total).unwrap_or(WIDTH);
    let bar = format!("{}{}", "#".repeat(filled), ".".repeat(WIDTH - filled));
    let mut err = std::io::stderr();
    if tty {
        let _ = write!(err, "\r[{bar}] {done}/{total} {label:<40.40}");
        let _ = err.flush();
    } else if !label.is_empty() {
        let _ = writeln!(err, "[{bar}] {}/{total} {label}", done + 1);
    }
}

fn read_library(file: &Path) -> Result<Vec<Value>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    doc["sounds"]
        .as_array()
        .cloned()
        .ok_or_else(|| "no \"sounds\" array".to_string())
}

fn sha256_hex(bytes: &[u8]) -> String {
    crate::ids::hex(&Sha256::digest(bytes))
}

async fn import_one(client: &ApiClient, base: &Path, entry: &Value) -> Result<Outcome, Error> {
    let Some(rel) = entry["file"].as_str() else {
        return Ok(Outcome::Refused("the entry has no \"file\"".into()));
    };
    let path = base.join(rel);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            return Ok(Outcome::Refused(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let sha = sha256_hex(&bytes);
    if let Some(id) = entry["id"].as_str() {
        match client
            .call(Method::GET, &format!("/admin/v1/sounds/{id}"), None)
            .await
        {
            Ok(existing) if existing["sha256"] == sha.as_str() => return Ok(Outcome::Skipped),
            Ok(_) => {
                return Ok(Outcome::Refused(format!(
                    "the id {id} is taken by a different file"
                )));
            }
            Err(Error::Api { status: 404, .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let meta: Map<String, Value> = FIELDS
        .iter()
        .filter_map(|k| entry.get(*k).map(|v| ((*k).to_string(), v.clone())))
        .collect();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().replace(['"', '\r', '\n'], "_"))
        .unwrap_or_else(|| "sound".into());
    let (content_type, body) = multipart(&name, &bytes, &Value::Object(meta));
    match client
        .send(Method::POST, "/admin/v1/sounds", Some((content_type, body)))
        .await
    {
        Ok(_) => Ok(Outcome::Imported),
        Err(Error::Api { code, body, .. })
            if code == "conflict" && body["error"]["details"]["existing_id"].is_string() =>
        {
            // The same bytes under another id: imported before, perhaps without an id.
            Ok(Outcome::Skipped)
        }
        Err(Error::Api {
            status,
            code,
            message,
            ..
        }) if (400..500).contains(&status) => Ok(Outcome::Refused(format!("{code}: {message}"))),
        Err(e) => Err(e),
    }
}

fn multipart(filename: &str, audio: &[u8], meta: &Value) -> (String, Bytes) {
    let boundary = format!("tonearm-{}", &sha256_hex(audio)[..24]);
    let mut body = Vec::with_capacity(audio.len() + 1024);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"metadata\"\r\nContent-Type: application/json\r\n\r\n{}\r\n",
            json!(meta)
        )
        .as_bytes(),
    );
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(audio);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (
        format!("multipart/form-data; boundary={boundary}"),
        Bytes::from(body),
    )
}
