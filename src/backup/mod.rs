//! Online backup and offline restore. A backup is one tar archive: `manifest.json` first
//! (format, schema version, SHA-256 and size of every file), then a consistent snapshot of the
//! database (see `store::backup`), the webhook master key (without it the sealed signing secrets
//! cannot be opened), the uploads that unfinished jobs still need, and every file under
//! `sounds/`. The files are frozen before streaming starts: the snapshot is a new file and the
//! others are hard links taken right after it, so the server may delete or replace the originals
//! meanwhile. Restore reads the archive twice: first to verify every checksum without writing
//! anything, then to write into a staging directory that is moved into place.

pub mod archive;

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use archive::{Staged, prepare, remove_stale, restore, verify, write_tar};

pub const MANIFEST: &str = "manifest.json";
pub const FORMAT: &str = "tonearm-backup";
pub const FORMAT_VERSION: u32 = 1;
/// A manifest larger than this is not one tonearm wrote.
pub const MAX_MANIFEST_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    /// `SCHEMA_VERSION` of the database in the archive.
    pub schema_version: u64,
    pub created_at: String,
    pub tonearm_version: String,
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Path inside the archive and, on restore, inside the data directory.
    pub path: String,
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error("the archive cannot be read (truncated or not a tar file): {0}")]
    Corrupt(String),
    #[error("the archive has no valid manifest.json first: {0}")]
    Manifest(String),
    #[error(
        "the archive's database has schema version {found}; this tonearm reads up to {supported}; restore with a newer tonearm"
    )]
    SchemaTooNew { found: u64, supported: u64 },
    #[error("checksum mismatch for {0}: the archive is corrupted")]
    Checksum(String),
    #[error("size mismatch for {0}: the archive is corrupted")]
    Size(String),
    #[error("{0} is listed in the manifest but missing from the archive")]
    Missing(String),
    #[error("{0} is in the archive but not in its manifest, or appears twice")]
    Unexpected(String),
    #[error("unsafe path {0:?} in the archive")]
    UnsafePath(String),
    #[error(
        "{0} is not empty; restore into an empty directory, or pass --force to replace its contents"
    )]
    NotEmpty(PathBuf),
    #[error("{0} is in use by a running tonearm; stop it before restoring")]
    Locked(PathBuf),
    #[error("cannot draw random bytes: {0}")]
    Random(getrandom::Error),
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// An archive path is relative, `/`-separated and made of plain names only.
pub fn safe_path(p: &str) -> Result<PathBuf, Error> {
    let path = Path::new(p);
    let ok = !p.is_empty()
        && !p.contains('\\')
        && path.components().all(|c| matches!(c, Component::Normal(_)));
    if ok {
        Ok(path.to_path_buf())
    } else {
        Err(Error::UnsafePath(p.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_paths_must_stay_inside_the_data_directory() {
        for ok in ["tonearm.redb", "sounds/a/b.wav", "uploads/job_x.audio"] {
            assert!(safe_path(ok).is_ok(), "{ok}");
        }
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a\\b", "./x"] {
            assert!(safe_path(bad).is_err(), "{bad}");
        }
    }
}
