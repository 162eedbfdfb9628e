//! Signing secrets at rest. The server must sign with them, so they cannot be hashed like API
//! keys; they are sealed with ChaCha20-Poly1305 under a master key kept beside the database in
//! `webhook-master.key` (mode 0600), so a copy of the database alone does not reveal them.

use std::path::{Path, PathBuf};

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use super::sign::Secret;

pub const MASTER_KEY_FILE: &str = "webhook-master.key";
const KEY_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("webhook master key {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "webhook master key {0} must hold exactly 32 bytes; restore it from a backup (secrets sealed with another key cannot be opened)"
    )]
    BadKeyFile(PathBuf),
    #[error("cannot draw random bytes: {0}")]
    Random(getrandom::Error),
    #[error("a stored signing secret cannot be opened with this master key")]
    Unseal,
}

pub struct Vault {
    key: LessSafeKey,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(..)")
    }
}

impl Vault {
    /// Loads the master key from `data_dir`, creating it (0600) on first start.
    pub fn open(data_dir: &Path) -> Result<Vault, Error> {
        let path = data_dir.join(MASTER_KEY_FILE);
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let bytes = crate::store::disk::read_or_create_key(&path, KEY_LEN).map_err(io)?;
        let key = UnboundKey::new(&CHACHA20_POLY1305, &bytes)
            .map_err(|_| Error::BadKeyFile(path.clone()))?;
        Ok(Vault {
            key: LessSafeKey::new(key),
        })
    }

    /// nonce ‖ ciphertext ‖ tag. The secret's id is bound as associated data, so a sealed value
    /// copied onto another record does not open.
    pub fn seal(&self, id: u128, secret: &Secret) -> Result<Vec<u8>, Error> {
        let mut nonce = [0u8; NONCE_LEN];
        crate::ids::random_bytes(&mut nonce).map_err(Error::Random)?;
        let mut buf = secret.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(id.to_be_bytes()),
                &mut buf,
            )
            .map_err(|_| Error::Unseal)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    pub fn open_secret(&self, id: u128, sealed: &[u8]) -> Result<Secret, Error> {
        if sealed.len() < NONCE_LEN {
            return Err(Error::Unseal);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Error::Unseal)?;
        let mut buf = ct.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(id.to_be_bytes()), &mut buf)
            .map_err(|_| Error::Unseal)?;
        Ok(Secret::from_bytes(plain.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn seals_and_opens_with_the_same_key_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let v = Vault::open(dir.path()).unwrap();
        let path = dir.path().join(MASTER_KEY_FILE);
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.len(), 32);
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let s = Secret::generate().unwrap();
        let sealed = v.seal(7, &s).unwrap();
        assert!(!sealed.windows(32).any(|w| w == s.as_bytes()));
        assert_eq!(v.open_secret(7, &sealed).unwrap(), s);
        // Same file after a restart.
        let again = Vault::open(dir.path()).unwrap();
        assert_eq!(again.open_secret(7, &sealed).unwrap(), s);
        // Wrong record id, tampering, another key.
        assert!(v.open_secret(8, &sealed).is_err());
        let mut bad = sealed.clone();
        bad[20] ^= 1;
        assert!(v.open_secret(7, &bad).is_err());
        let other = tempfile::tempdir().unwrap();
        assert!(
            Vault::open(other.path())
                .unwrap()
                .open_secret(7, &sealed)
                .is_err()
        );
        std::fs::write(&path, b"short").unwrap();
        assert!(matches!(Vault::open(dir.path()), Err(Error::BadKeyFile(_))));
    }
}
