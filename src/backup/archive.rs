//! Making, verifying and restoring backup archives. Synchronous: the server runs these on the
//! blocking pool, the CLI directly.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{Error, FORMAT, FORMAT_VERSION, FileEntry, MANIFEST, MAX_MANIFEST_BYTES, Manifest, io};
use crate::ids::hex;
use crate::store::{DB_FILE, Store};
use crate::webhooks::vault::MASTER_KEY_FILE;

/// Directories under the data directory whose files go into the archive as they are.
pub const SOUNDS_DIR: &str = "sounds";
pub const UPLOADS_DIR: &str = "uploads";

/// Frozen files ready to stream, in a private directory removed when this is dropped.
pub struct Staged {
    dir: PathBuf,
    pub manifest: Manifest,
    /// (archive path, file on disk) in manifest order.
    files: Vec<(String, PathBuf)>,
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Staged {
    pub fn total_bytes(&self) -> u64 {
        self.manifest.files.iter().map(|f| f.size).sum()
    }
}

/// Removes what a backup interrupted by a crash left in the data directory.
pub fn remove_stale(data_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(data_dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(".backup-") {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Takes the snapshot and freezes the other files beside it, then hashes everything.
pub fn prepare(store: &Store, data_dir: &Path) -> Result<Staged, Error> {
    let mut rnd = [0u8; 8];
    crate::ids::random_bytes(&mut rnd).map_err(Error::Random)?;
    let dir = data_dir.join(format!(".backup-{}", hex(&rnd)));
    std::fs::create_dir(&dir).map_err(io(&dir))?;
    let mut staged = Staged {
        dir: dir.clone(),
        manifest: Manifest {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            schema_version: 0,
            created_at: crate::ids::rfc3339(crate::ids::now_ms()),
            tonearm_version: env!("CARGO_PKG_VERSION").into(),
            files: Vec::new(),
        },
        files: Vec::new(),
    };
    let db = dir.join(DB_FILE);
    let info = store.snapshot_to(&db)?;
    staged.manifest.schema_version = info.schema_version;
    staged.files.push((DB_FILE.into(), db));
    // Uploads first, right after the snapshot: a job finishing now deletes its upload.
    for name in &info.uploads {
        let rel = format!("{UPLOADS_DIR}/{name}");
        if super::safe_path(&rel).is_err() {
            continue;
        }
        if let Some(p) = freeze(&data_dir.join(&rel), &dir.join(&rel))? {
            staged.files.push((rel, p));
        }
    }
    let key = data_dir.join(MASTER_KEY_FILE);
    if let Some(p) = freeze(&key, &dir.join(MASTER_KEY_FILE))? {
        staged.files.push((MASTER_KEY_FILE.into(), p));
    }
    let sounds = data_dir.join(SOUNDS_DIR);
    let mut found = Vec::new();
    walk(&sounds, SOUNDS_DIR, &mut found)?;
    for rel in found {
        if let Some(p) = freeze(&data_dir.join(&rel), &dir.join(&rel))? {
            staged.files.push((rel, p));
        }
    }
    for (rel, p) in &staged.files {
        let (size, sha256) = hash_file(p)?;
        staged.manifest.files.push(FileEntry {
            path: rel.clone(),
            size,
            sha256,
        });
    }
    Ok(staged)
}

/// A hard link to `src` at `dest` (a copy where linking is refused); `None` when `src` is gone.
fn freeze(src: &Path, dest: &Path) -> Result<Option<PathBuf>, Error> {
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    match std::fs::hard_link(src, dest) {
        Ok(()) => Ok(Some(dest.to_path_buf())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(_) => match std::fs::copy(src, dest) {
            Ok(_) => Ok(Some(dest.to_path_buf())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(src)(e)),
        },
    }
}

/// Regular files under `dir` as archive paths starting with `prefix`, sorted.
fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<(), Error> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(dir)(e)),
    };
    let mut names: Vec<(String, std::fs::FileType)> = Vec::new();
    for e in entries {
        let e = e.map_err(io(dir))?;
        let ft = e.file_type().map_err(io(dir))?;
        if let Some(name) = e.file_name().to_str() {
            names.push((name.to_string(), ft));
        }
    }
    names.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, ft) in names {
        let rel = format!("{prefix}/{name}");
        if ft.is_dir() {
            walk(&dir.join(&name), &rel, out)?;
        } else if ft.is_file() {
            out.push(rel);
        }
    }
    Ok(())
}

fn hash_file(p: &Path) -> Result<(u64, String), Error> {
    let mut f = File::open(p).map_err(io(p))?;
    let mut h = HashingWriter::default();
    let n = io::copy(&mut f, &mut h).map_err(io(p))?;
    Ok((n, h.hex()))
}

#[derive(Default)]
struct HashingWriter {
    hasher: Sha256,
    n: u64,
}

impl HashingWriter {
    fn hex(&self) -> String {
        hex(&self.hasher.clone().finalize())
    }
}

impl Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.hasher.update(buf);
        self.n += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes the archive: the manifest, then every staged file.
pub fn write_tar(staged: &Staged, out: impl Write) -> io::Result<()> {
    let mut tar = tar::Builder::new(out);
    let manifest = serde_json::to_vec_pretty(&staged.manifest).map_err(io::Error::other)?;
    let mtime = crate::ids::now_ms() / 1000;
    let mut h = tar::Header::new_gnu();
    h.set_size(manifest.len() as u64);
    h.set_mode(0o600);
    h.set_mtime(mtime);
    h.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut h, MANIFEST, manifest.as_slice())?;
    for ((rel, path), entry) in staged.files.iter().zip(&staged.manifest.files) {
        let f = File::open(path)?;
        let mut h = tar::Header::new_gnu();
        h.set_size(entry.size);
        h.set_mode(0o600);
        h.set_mtime(mtime);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, rel, f.take(entry.size))?;
    }
    tar.into_inner()?.flush()
}

/// Reads the manifest (the first entry) and checks that this tonearm can restore it.
fn read_manifest<R: Read>(entries: &mut tar::Entries<'_, R>) -> Result<Manifest, Error> {
    let first = entries
        .next()
        .ok_or_else(|| Error::Manifest("the archive is empty".into()))?
        .map_err(|e| Error::Corrupt(e.to_string()))?;
    let name = first
        .path()
        .map_err(|e| Error::Corrupt(e.to_string()))?
        .to_string_lossy()
        .into_owned();
    if name != MANIFEST {
        return Err(Error::Manifest(format!("the first entry is {name:?}")));
    }
    let mut bytes = Vec::new();
    first
        .take(MAX_MANIFEST_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::Corrupt(e.to_string()))?;
    let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| Error::Manifest(e.to_string()))?;
    if m.format != FORMAT || m.format_version != FORMAT_VERSION {
        return Err(Error::Manifest(format!(
            "format {} version {} is not {FORMAT} version {FORMAT_VERSION}",
            m.format, m.format_version
        )));
    }
    let supported = crate::store::schema::SCHEMA_VERSION;
    if m.schema_version > supported {
        return Err(Error::SchemaTooNew {
            found: m.schema_version,
            supported,
        });
    }
    if !m.files.iter().any(|f| f.path == DB_FILE) {
        return Err(Error::Manifest(format!("it lists no {DB_FILE}")));
    }
    for f in &m.files {
        super::safe_path(&f.path)?;
    }
    Ok(m)
}

/// Goes through the archive, handing each file's verified reader to `each`, and checks every
/// size and checksum against the manifest. `each` writes to `sink` what it wants kept.
fn walk_archive(
    archive: &Path,
    mut each: impl FnMut(&FileEntry) -> Result<Box<dyn Write>, Error>,
) -> Result<Manifest, Error> {
    let f = File::open(archive).map_err(io(archive))?;
    let mut tar = tar::Archive::new(BufReader::new(f));
    let mut entries = tar.entries().map_err(|e| Error::Corrupt(e.to_string()))?;
    let manifest = read_manifest(&mut entries)?;
    let mut expected: HashMap<&str, &FileEntry> = manifest
        .files
        .iter()
        .map(|f| (f.path.as_str(), f))
        .collect();
    for entry in entries {
        let mut entry = entry.map_err(|e| Error::Corrupt(e.to_string()))?;
        let name = entry
            .path()
            .map_err(|e| Error::Corrupt(e.to_string()))?
            .to_string_lossy()
            .into_owned();
        super::safe_path(&name)?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(Error::Unexpected(name));
        }
        let Some(want) = expected.remove(name.as_str()) else {
            return Err(Error::Unexpected(name));
        };
        let mut sink = each(want)?;
        let mut h = HashingWriter::default();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = entry
                .read(&mut buf)
                .map_err(|e| Error::Corrupt(e.to_string()))?;
            if n == 0 {
                break;
            }
            h.write_all(&buf[..n])
                .map_err(|e| Error::Corrupt(e.to_string()))?;
            sink.write_all(&buf[..n]).map_err(io(Path::new(&name)))?;
        }
        sink.flush().map_err(io(Path::new(&name)))?;
        if h.n != want.size {
            return Err(Error::Size(name));
        }
        if h.hex() != want.sha256 {
            return Err(Error::Checksum(name));
        }
    }
    if let Some(missing) = expected.keys().min() {
        return Err(Error::Missing((*missing).to_string()));
    }
    Ok(manifest)
}

/// Checks the whole archive against its manifest without writing anything.
pub fn verify(archive: &Path) -> Result<Manifest, Error> {
    walk_archive(archive, |_| Ok(Box::new(io::sink())))
}

/// Restores `archive` into `target`: verifies it completely first, then writes into a staging
/// directory inside `target` (verifying again while writing) and moves the files into place.
/// A non-empty `target` is refused unless `force`, and never while a server holds it.
pub fn restore(archive: &Path, target: &Path, force: bool) -> Result<Manifest, Error> {
    verify(archive)?;
    let non_empty = match std::fs::read_dir(target) {
        Ok(mut d) => d.next().is_some(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => return Err(io(target)(e)),
    };
    if non_empty && !force {
        return Err(Error::NotEmpty(target.to_path_buf()));
    }
    let target = crate::store::prepare_data_dir(target)?;
    let db = target.join(DB_FILE);
    if db.exists() {
        match redb::Database::open(&db) {
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                return Err(Error::Locked(target.clone()));
            }
            Ok(d) => drop(d),
            // A damaged database is about to be replaced anyway.
            Err(_) => {}
        }
    }
    let mut rnd = [0u8; 8];
    crate::ids::random_bytes(&mut rnd).map_err(Error::Random)?;
    let staging = target.join(format!(".restore-{}", hex(&rnd)));
    std::fs::create_dir(&staging).map_err(io(&staging))?;
    let result = walk_archive(archive, |f| {
        let dest = staging.join(super::safe_path(&f.path)?);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let file = File::create(&dest).map_err(io(&dest))?;
        Ok(Box::new(SyncOnFlush(file)))
    });
    let manifest = match result {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    // Everything is written and verified: clear the target and move the restored files in.
    for e in std::fs::read_dir(&target).map_err(io(&target))? {
        let e = e.map_err(io(&target))?;
        let p = e.path();
        if p == staging {
            continue;
        }
        let ft = e.file_type().map_err(io(&p))?;
        if ft.is_dir() {
            std::fs::remove_dir_all(&p).map_err(io(&p))?;
        } else {
            std::fs::remove_file(&p).map_err(io(&p))?;
        }
    }
    for e in std::fs::read_dir(&staging).map_err(io(&staging))? {
        let e = e.map_err(io(&staging))?;
        let dest = target.join(e.file_name());
        std::fs::rename(e.path(), &dest).map_err(io(&dest))?;
    }
    std::fs::remove_dir(&staging).map_err(io(&staging))?;
    if let Ok(d) = File::open(&target) {
        let _ = d.sync_all();
    }
    Ok(manifest)
}

/// A file that reaches the disk when flushed: a restore must not report success for data still
/// in the page cache.
struct SyncOnFlush(File);

impl Write for SyncOnFlush {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()?;
        self.0.sync_all()
    }
}
