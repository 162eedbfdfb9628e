//! Streams a `multipart/form-data` upload to disk: the audio part goes to a file chunk by chunk
//! while its BLAKE3 and SHA-256 are computed, so no upload is ever held whole in memory. The size
//! cap, the body's pace and the audio sniff of the first bytes are enforced as bytes arrive; on
//! any failure the partial file is removed, and what the client is still sending of a refused
//! upload is read away in the background so that it sees the answer.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use http::HeaderMap;
use hyper::body::Incoming;

use super::body::{BodyError, LINGER, Pace, REFUSED_BODY_LIMIT, paced};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// Text fields are short: a file name or a URL.
const MAX_TEXT_FIELD: usize = 8 * 1024;
/// The same bound in characters, as the OpenAPI document states it (`maxLength`).
const MAX_TEXT_FIELD_CHARS: usize = 2048;
/// A JSON metadata document (a sound's title, description, tags, creator) is longer.
const MAX_METADATA_FIELD: usize = 64 * 1024;
/// The text fields of an analysis upload.
pub const ANALYZE_FIELDS: &[&str] = &["filename", "webhook_url"];
/// Bytes the container sniff needs (the longest magic number ends at byte 12).
const SNIFF_BYTES: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the request is not multipart/form-data with a boundary")]
    NotMultipart,
    #[error("malformed multipart body: {0}")]
    Malformed(String),
    #[error("the form has no `file` part")]
    MissingFile,
    #[error("the form has more than one `file` part")]
    DuplicateFile,
    #[error("unknown form field {0:?}; accepted: file, {1}")]
    UnknownField(String, String),
    #[error("the {0} field is too long")]
    FieldTooLong(String),
    #[error("the upload is larger than {0} bytes")]
    TooLarge(u64),
    #[error("the file part is empty")]
    EmptyFile,
    #[error("the file is not audio in a format tonearm reads")]
    NotAudio,
    #[error("the upload arrived too slowly")]
    TooSlow,
    #[error("cannot store the upload: {0}")]
    Io(#[from] std::io::Error),
}

/// A received upload: the file on disk (removed on drop unless kept) and the text fields.
pub struct Upload {
    pub path: PathBuf,
    pub size: u64,
    pub blake3: String,
    pub sha256: String,
    /// The container, recognised from the file's first bytes.
    pub format: &'static str,
    /// The file name the client gave in the part's Content-Disposition.
    pub part_filename: Option<String>,
    pub fields: HashMap<String, String>,
    keep: bool,
}

impl Upload {
    /// Moves the file to `to` and keeps it from now on.
    pub async fn persist(&mut self, to: &Path) -> std::io::Result<()> {
        tokio::fs::rename(&self.path, to).await?;
        self.path = to.to_path_buf();
        self.keep = true;
        Ok(())
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Removes a partial file unless disarmed.
struct PartialFile(Option<PathBuf>);

impl Drop for PartialFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Receives the upload; `sniff` names the container from the file's first bytes, or refuses it.
pub async fn receive(
    headers: &HeaderMap,
    body: Incoming,
    partial_path: PathBuf,
    max_bytes: u64,
    pace: Pace,
    sniff: fn(&[u8]) -> Option<&'static str>,
    text_fields: &'static [&'static str],
) -> Result<Upload, UploadError> {
    let ct = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .ok_or(UploadError::NotMultipart)?;
    let boundary = multer::parse_boundary(ct).map_err(|_| UploadError::NotMultipart)?;
    let mut form = multer::Multipart::new(paced(body, pace), boundary);
    let result = read_form(&mut form, partial_path, max_bytes, sniff, text_fields).await;
    if let Err(e) = &result
        && !matches!(e, UploadError::TooSlow | UploadError::Io(_))
    {
        linger_form(form);
    }
    result
}

/// Reads away the rest of a refused form in the background, bounded in bytes and time like
/// every other refused body.
fn linger_form(mut form: multer::Multipart<'static>) {
    tokio::spawn(async move {
        let drain = async {
            let mut seen = 0u64;
            while let Ok(Some(mut field)) = form.next_field().await {
                while let Ok(Some(c)) = field.chunk().await {
                    seen += c.len() as u64;
                    if seen > REFUSED_BODY_LIMIT {
                        return;
                    }
                }
            }
        };
        let _ = tokio::time::timeout(LINGER, drain).await;
    });
}

/// A multipart error, with a body that stopped for being too slow told apart.
fn form_error(e: multer::Error) -> UploadError {
    if let multer::Error::StreamReadFailed(inner) = &e
        && matches!(inner.downcast_ref::<BodyError>(), Some(BodyError::TooSlow))
    {
        return UploadError::TooSlow;
    }
    UploadError::Malformed(e.to_string())
}

async fn read_form(
    form: &mut multer::Multipart<'static>,
    partial_path: PathBuf,
    max_bytes: u64,
    sniff: fn(&[u8]) -> Option<&'static str>,
    text_fields: &'static [&'static str],
) -> Result<Upload, UploadError> {
    let mut guard = PartialFile(None);
    let mut file_info = None;
    let mut fields = HashMap::new();
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(form_error(e)),
        };
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            "file" => {
                if file_info.is_some() {
                    return Err(UploadError::DuplicateFile);
                }
                let part_filename = field.file_name().map(str::to_string);
                guard.0 = Some(partial_path.clone());
                let (size, blake3, sha256, format) =
                    write_part(field, &partial_path, max_bytes, sniff).await?;
                file_info = Some((size, blake3, sha256, format, part_filename));
            }
            text if text_fields.contains(&text) => {
                let (max_bytes, max_chars) = if text == "metadata" {
                    (MAX_METADATA_FIELD, MAX_METADATA_FIELD)
                } else {
                    (MAX_TEXT_FIELD, MAX_TEXT_FIELD_CHARS)
                };
                let mut value = Vec::new();
                let mut field = field;
                loop {
                    match field.chunk().await {
                        Ok(Some(c)) => {
                            if value.len() + c.len() > max_bytes {
                                return Err(UploadError::FieldTooLong(name));
                            }
                            value.extend_from_slice(&c);
                        }
                        Ok(None) => break,
                        Err(e) => return Err(form_error(e)),
                    }
                }
                let text = String::from_utf8_lossy(&value);
                if text.chars().count() > max_chars {
                    return Err(UploadError::FieldTooLong(name));
                }
                fields.insert(name, text.trim().to_string());
            }
            _ => return Err(UploadError::UnknownField(name, text_fields.join(", "))),
        }
    }
    let (size, blake3, sha256, format, part_filename) =
        file_info.ok_or(UploadError::MissingFile)?;
    guard.0 = None;
    Ok(Upload {
        path: partial_path.clone(),
        size,
        blake3,
        sha256,
        format,
        part_filename,
        fields,
        keep: false,
    })
}

async fn write_part(
    mut field: multer::Field<'static>,
    path: &Path,
    max_bytes: u64,
    sniff: fn(&[u8]) -> Option<&'static str>,
) -> Result<(u64, String, String, &'static str), UploadError> {
    let file = tokio::fs::File::create(path).await?;
    let mut out = tokio::io::BufWriter::with_capacity(256 * 1024, file);
    let mut b3 = blake3::Hasher::new();
    let mut sha = Sha256::new();
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    let mut size: u64 = 0;
    let mut format = None;
    loop {
        let chunk = match field.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => return Err(form_error(e)),
        };
        size += chunk.len() as u64;
        if size > max_bytes {
            return Err(UploadError::TooLarge(max_bytes));
        }
        // The container is recognised from the first bytes, so a large file that is not audio
        // is refused after a few KiB instead of being stored whole first.
        if format.is_none() {
            let take = (SNIFF_BYTES - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
            if head.len() == SNIFF_BYTES {
                format = Some(sniff(&head).ok_or(UploadError::NotAudio)?);
            }
        }
        b3.update(&chunk);
        sha.update(&chunk);
        out.write_all(&chunk).await?;
    }
    if size == 0 {
        return Err(UploadError::EmptyFile);
    }
    // A file shorter than the sniff window is judged on what there is.
    let format = match format {
        Some(f) => f,
        None => sniff(&head).ok_or(UploadError::NotAudio)?,
    };
    out.flush().await?;
    // The job is acknowledged only once its audio is durable.
    out.into_inner().sync_all().await?;
    let sha_hex = crate::ids::hex(&sha.finalize());
    Ok((size, b3.finalize().to_hex().to_string(), sha_hex, format))
}
