//! The sound library: originals kept byte for byte under `<data_dir>/sounds/`, derived files
//! (downloads, previews) cached under `<data_dir>/sounds-cache/`, the in-memory search index
//! (rebuilt from the store at start), and the signing of download URLs with a server secret
//! kept in the data directory. The store holds the metadata and is the source of truth.

pub mod audio;
pub mod backfill;
pub mod categories;
pub mod machine;
pub mod picture;
pub mod search;
mod synonyms;
pub mod text;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::ids::hex;
use crate::store::schema::SoundRecord;
use audio::{AudioError, Format};

pub const SOUNDS_DIR: &str = "sounds";
pub const CACHE_DIR: &str = "sounds-cache";
pub const URL_KEY_FILE: &str = "library-url.key";
/// How long a signed download URL stays valid.
pub const URL_LIFETIME_S: u64 = 15 * 60;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("library file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the URL signing key {0} must hold exactly 32 bytes")]
    BadKeyFile(PathBuf),
    #[error("cannot draw random bytes: {0}")]
    Random(getrandom::Error),
    #[error(transparent)]
    Audio(#[from] AudioError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A derived file ready to serve.
#[derive(Debug, Clone)]
pub struct Derived {
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
}

/// Why a signed URL is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlRefusal {
    BadSignature,
    Expired,
}

pub struct Library {
    sounds_dir: PathBuf,
    cache_dir: PathBuf,
    url_key: [u8; 32],
    index: RwLock<search::Index>,
}

impl std::fmt::Debug for Library {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Library(..)")
    }
}

impl Library {
    /// Opens the library's folders and signing key in `data_dir` (creating them on first
    /// start) and builds the search index from `sounds`.
    pub fn open(data_dir: &Path, sounds: Vec<(String, SoundRecord)>) -> Result<Library, Error> {
        let sounds_dir = data_dir.join(SOUNDS_DIR);
        let cache_dir = data_dir.join(CACHE_DIR);
        for d in [&sounds_dir, &cache_dir] {
            std::fs::create_dir_all(d).map_err(io(d))?;
        }
        let key_path = data_dir.join(URL_KEY_FILE);
        let bytes = crate::store::disk::read_or_create_key(&key_path, 32).map_err(io(&key_path))?;
        let url_key = <[u8; 32]>::try_from(bytes.as_slice())
            .map_err(|_| Error::BadKeyFile(key_path.clone()))?;
        Ok(Library {
            sounds_dir,
            cache_dir,
            url_key,
            index: RwLock::new(search::Index::build(sounds)),
        })
    }

    pub fn sounds_dir(&self) -> &Path {
        &self.sounds_dir
    }

    pub fn original(&self, rec: &SoundRecord) -> PathBuf {
        self.sounds_dir.join(&rec.file)
    }

    pub fn index(&self) -> RwLockReadGuard<'_, search::Index> {
        match self.index.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    pub fn index_mut(&self) -> RwLockWriteGuard<'_, search::Index> {
        match self.index.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    pub fn upsert(&self, id: &str, rec: SoundRecord) {
        self.index_mut().upsert(id, Arc::new(rec));
    }

    /// Forgets a sound: index entry, original and cached derivations.
    pub fn remove(&self, id: &str, rec: &SoundRecord) {
        self.index_mut().remove(id);
        let _ = std::fs::remove_file(self.original(rec));
        let _ = std::fs::remove_dir_all(self.cache_dir.join(cache_folder(id)));
    }

    /// `?format=&normalize=&expires=&sig=` for a download: HMAC-SHA256 over the sound, format,
    /// normalisation and expiry.
    pub fn sign(&self, id: &str, format: Format, normalize: bool, expires: u64) -> String {
        let sig = self.mac(id, format, normalize, expires);
        format!(
            "format={}&normalize={normalize}&expires={expires}&sig={sig}",
            format.as_str()
        )
    }

    fn mac(&self, id: &str, format: Format, normalize: bool, expires: u64) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.url_key) else {
            return String::new();
        };
        for part in [
            id.as_bytes(),
            b"\n",
            format.as_str().as_bytes(),
            b"\n",
            if normalize { b"1" } else { b"0" },
            b"\n",
            expires.to_string().as_bytes(),
        ] {
            mac.update(part);
        }
        hex(&mac.finalize().into_bytes())
    }

    /// Checks a signed URL's parameters; the signature is checked before the expiry, so a
    /// forged URL never learns whether its time would have been valid.
    pub fn verify(
        &self,
        id: &str,
        format: Format,
        normalize: bool,
        expires: u64,
        sig: &str,
        now_s: u64,
    ) -> Result<(), UrlRefusal> {
        let expected = self.mac(id, format, normalize, expires);
        if expected.is_empty() || !bool::from(expected.as_bytes().ct_eq(sig.as_bytes())) {
            return Err(UrlRefusal::BadSignature);
        }
        if now_s > expires {
            return Err(UrlRefusal::Expired);
        }
        Ok(())
    }

    /// The file of a download, encoded on first request and cached: a second download of the
    /// same sound, format and normalisation costs no encode. Blocking: call off the runtime.
    pub fn derived(
        &self,
        id: &str,
        rec: &SoundRecord,
        format: Format,
        normalize: bool,
    ) -> Result<Derived, Error> {
        let name = format!(
            "{}-{}.{}",
            format.as_str(),
            if normalize { "norm" } else { "orig" },
            format.extension()
        );
        self.cached(id, rec, &name, |pcm, scratch| {
            Ok(audio::encode(pcm, format, normalize, scratch)?)
        })
    }

    /// The preview of a sound (cached like downloads).
    pub fn preview(&self, id: &str, rec: &SoundRecord) -> Result<Derived, Error> {
        self.cached(id, rec, "preview.ogg", |pcm, _| Ok(audio::preview(pcm)?))
    }

    fn cached(
        &self,
        id: &str,
        rec: &SoundRecord,
        name: &str,
        make: impl FnOnce(&audio::Pcm, &Path) -> Result<Vec<u8>, Error>,
    ) -> Result<Derived, Error> {
        let folder = self.cache_dir.join(cache_folder(id));
        // The original's checksum is part of the name: a sound replaced under the same id never
        // serves an old derivation.
        let sha_short = hex(&rec.sha256[..8]);
        let path = folder.join(format!("{sha_short}-{name}"));
        let sum_path = folder.join(format!("{sha_short}-{name}.sha256"));
        if let (Ok(meta), Ok(sum)) = (std::fs::metadata(&path), std::fs::read_to_string(&sum_path))
            && sum.len() == 64
        {
            return Ok(Derived {
                path,
                size: meta.len(),
                sha256: sum,
            });
        }
        std::fs::create_dir_all(&folder).map_err(io(&folder))?;
        let original = self.original(rec);
        let pcm = audio::decode(&original).map_err(AudioError::from)?;
        let unique = crate::ids::random_base62(10).map_err(Error::Random)?;
        let scratch = folder.join(format!(".{unique}.scratch"));
        let bytes = make(&pcm, &scratch)?;
        let sha: String = hex(&Sha256::digest(&bytes));
        // Written aside and renamed: a reader sees the whole file or none, and two requests
        // making the same file at once both leave a complete one.
        let tmp = folder.join(format!(".{unique}.tmp"));
        std::fs::write(&tmp, &bytes).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        let tmp_sum = folder.join(format!(".{unique}.sum"));
        std::fs::write(&tmp_sum, &sha).map_err(io(&tmp_sum))?;
        std::fs::rename(&tmp_sum, &sum_path).map_err(io(&sum_path))?;
        Ok(Derived {
            path,
            size: bytes.len() as u64,
            sha256: sha,
        })
    }
}

/// Sound ids are slugs (checked on import), safe as folder names; hex keeps it so regardless.
fn cache_folder(id: &str) -> String {
    hex(id.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_urls_verify_and_refuse_tampering_and_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let lib = Library::open(dir.path(), vec![]).unwrap();
        let q = lib.sign("door", Format::Mp3320, true, 1000);
        let sig = q.rsplit("sig=").next().unwrap();
        assert_eq!(
            lib.verify("door", Format::Mp3320, true, 1000, sig, 999),
            Ok(())
        );
        assert_eq!(
            lib.verify("door", Format::Mp3320, true, 1000, sig, 1001),
            Err(UrlRefusal::Expired)
        );
        for (id, f, n, e) in [
            ("doors", Format::Mp3320, true, 1000),
            ("door", Format::Wav24, true, 1000),
            ("door", Format::Mp3320, false, 1000),
            ("door", Format::Mp3320, true, 99_999),
        ] {
            assert_eq!(
                lib.verify(id, f, n, e, sig, 0),
                Err(UrlRefusal::BadSignature)
            );
        }
        // The key survives a restart, so URLs handed out before it still work.
        drop(lib);
        let again = Library::open(dir.path(), vec![]).unwrap();
        assert_eq!(
            again.verify("door", Format::Mp3320, true, 1000, sig, 0),
            Ok(())
        );
    }
}
