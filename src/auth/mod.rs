//! Credentials: secret formats, scopes, and the in-memory verification index. Verifying a request
//! touches no disk: the index is loaded at start-up and kept in step by every change made through
//! the API. Last-used times are kept in memory and written back in batches by the caller.

pub mod scan;
pub mod scope;
pub mod secret;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use subtle::ConstantTimeEq;

use crate::ids::{AccountId, KeyId, ProjectId, TokenId};
use crate::store::schema::{KeyRecord, TokenRecord};
pub use scope::{Scope, ScopeSet};
pub use secret::{FormatError, SecretKind};

/// Why a request's credentials were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no Authorization header")]
    Missing,
    #[error("the Authorization header is not `Bearer <secret>`")]
    MalformedHeader,
    #[error("{0}")]
    Format(FormatError),
    #[error("no such credential")]
    Unknown,
    #[error("the credential was revoked")]
    Revoked,
    #[error("the credential has expired")]
    Expired,
}

/// An API key as the hot path needs it.
#[derive(Debug)]
pub struct KeyEntry {
    pub id: KeyId,
    pub account: AccountId,
    pub project: ProjectId,
    pub label: String,
    pub created_at_ms: u64,
    pub scopes: ScopeSet,
    pub expires_at_ms: Option<u64>,
    revoked: AtomicBool,
    sha256: [u8; 32],
    last_used_ms: AtomicU64,
    persisted_last_used_ms: AtomicU64,
    /// The API layer's rendering of the fields above that never change, made on first use.
    /// A changed key is a new entry, so this never goes stale.
    pub fixed_view: OnceLock<Box<[u8]>>,
}

impl KeyEntry {
    pub fn last_used_ms(&self) -> Option<u64> {
        match self.last_used_ms.load(Ordering::Relaxed) {
            0 => None,
            v => Some(v),
        }
    }
}

/// A management token as the hot path needs it.
#[derive(Debug)]
pub struct TokenEntry {
    pub id: TokenId,
    revoked: AtomicBool,
    sha256: [u8; 32],
    last_used_ms: AtomicU64,
    persisted_last_used_ms: AtomicU64,
}

struct Maps<E> {
    by_hash: HashMap<[u8; 32], Arc<E>>,
    by_id: HashMap<u128, Arc<E>>,
}

impl<E> Default for Maps<E> {
    fn default() -> Self {
        Maps {
            by_hash: HashMap::new(),
            by_id: HashMap::new(),
        }
    }
}

/// (credential id, last-used Unix ms) pairs waiting to be written.
pub type LastUsed = Vec<(u128, u64)>;

/// The verification index for API keys and management tokens.
#[derive(Default)]
pub struct Credentials {
    keys: RwLock<Maps<KeyEntry>>,
    tokens: RwLock<Maps<TokenEntry>>,
}

impl Credentials {
    pub fn load(keys: Vec<(u128, KeyRecord)>, tokens: Vec<(u128, TokenRecord)>) -> Credentials {
        let c = Credentials::default();
        for (id, k) in keys {
            c.add_key(id, &k);
        }
        for (id, t) in tokens {
            c.add_token(id, &t);
        }
        c
    }

    pub fn add_key(&self, id: u128, k: &KeyRecord) {
        let scopes = ScopeSet::parse_names(k.scopes.iter().map(String::as_str)).unwrap_or_default();
        let last = k.last_used_at_ms.unwrap_or(0);
        let entry = Arc::new(KeyEntry {
            id: KeyId(id),
            account: AccountId(k.account),
            project: ProjectId(k.project),
            label: k.label.clone(),
            created_at_ms: k.created_at_ms,
            scopes,
            expires_at_ms: k.expires_at_ms,
            revoked: AtomicBool::new(k.revoked_at_ms.is_some()),
            sha256: k.digest.sha256,
            last_used_ms: AtomicU64::new(last),
            persisted_last_used_ms: AtomicU64::new(last),
            fixed_view: OnceLock::new(),
        });
        let mut m = write(&self.keys);
        m.by_hash.insert(k.digest.sha256, entry.clone());
        m.by_id.insert(id, entry);
    }

    pub fn add_token(&self, id: u128, t: &TokenRecord) {
        let last = t.last_used_at_ms.unwrap_or(0);
        let entry = Arc::new(TokenEntry {
            id: TokenId(id),
            revoked: AtomicBool::new(t.revoked_at_ms.is_some()),
            sha256: t.digest.sha256,
            last_used_ms: AtomicU64::new(last),
            persisted_last_used_ms: AtomicU64::new(last),
        });
        let mut m = write(&self.tokens);
        m.by_hash.insert(t.digest.sha256, entry.clone());
        m.by_id.insert(id, entry);
    }

    pub fn revoke_key(&self, id: u128) {
        if let Some(e) = read(&self.keys).by_id.get(&id) {
            e.revoked.store(true, Ordering::SeqCst);
        }
    }

    pub fn revoke_token(&self, id: u128) {
        if let Some(e) = read(&self.tokens).by_id.get(&id) {
            e.revoked.store(true, Ordering::SeqCst);
        }
    }

    pub fn remove_keys(&self, ids: &[u128]) {
        let mut m = write(&self.keys);
        for id in ids {
            if let Some(e) = m.by_id.remove(id) {
                m.by_hash.remove(&e.sha256);
            }
        }
    }

    /// The live (not revoked) key or token whose secret hashes to `hash`, for leak reports:
    /// (Some(key), None) or (None, Some(token id)).
    pub fn live_by_hash(&self, hash: &[u8; 32]) -> (Option<Arc<KeyEntry>>, Option<u128>) {
        let key = read(&self.keys)
            .by_hash
            .get(hash)
            .filter(|e| !e.revoked.load(Ordering::SeqCst))
            .cloned();
        let token = read(&self.tokens)
            .by_hash
            .get(hash)
            .filter(|e| !e.revoked.load(Ordering::SeqCst))
            .map(|e| e.id.0);
        (key, token)
    }

    pub fn key(&self, id: u128) -> Option<Arc<KeyEntry>> {
        read(&self.keys).by_id.get(&id).cloned()
    }

    /// Verifies an API key from an `Authorization` header value.
    pub fn verify_key(
        &self,
        header: Option<&[u8]>,
        now_ms: u64,
    ) -> Result<Arc<KeyEntry>, AuthError> {
        let hash = parse_bearer(header, SecretKind::ApiKey)?;
        let entry = read(&self.keys)
            .by_hash
            .get(&hash)
            .cloned()
            .ok_or(AuthError::Unknown)?;
        // The map lookup compared hashes already; this keeps the final equality constant-time.
        if !bool::from(entry.sha256.ct_eq(&hash)) {
            return Err(AuthError::Unknown);
        }
        if entry.revoked.load(Ordering::SeqCst) {
            return Err(AuthError::Revoked);
        }
        if entry.expires_at_ms.is_some_and(|x| x <= now_ms) {
            return Err(AuthError::Expired);
        }
        entry.last_used_ms.store(now_ms, Ordering::Relaxed);
        Ok(entry)
    }

    /// Verifies a management token from an `Authorization` header value.
    pub fn verify_token(
        &self,
        header: Option<&[u8]>,
        now_ms: u64,
    ) -> Result<Arc<TokenEntry>, AuthError> {
        let hash = parse_bearer(header, SecretKind::ManagementToken)?;
        let entry = read(&self.tokens)
            .by_hash
            .get(&hash)
            .cloned()
            .ok_or(AuthError::Unknown)?;
        if !bool::from(entry.sha256.ct_eq(&hash)) {
            return Err(AuthError::Unknown);
        }
        if entry.revoked.load(Ordering::SeqCst) {
            return Err(AuthError::Revoked);
        }
        entry.last_used_ms.store(now_ms, Ordering::Relaxed);
        Ok(entry)
    }

    /// Last-used times that changed since they were last written, marked as written. The caller
    /// stores them; calling this once a minute bounds writes to one per key per minute.
    pub fn take_last_used(&self) -> (LastUsed, LastUsed) {
        fn take<E>(m: &Maps<E>, f: impl Fn(&E) -> (&AtomicU64, &AtomicU64)) -> Vec<(u128, u64)> {
            let mut out = Vec::new();
            for (id, e) in &m.by_id {
                let (last, persisted) = f(e);
                let l = last.load(Ordering::Relaxed);
                if l > persisted.load(Ordering::Relaxed) {
                    persisted.store(l, Ordering::Relaxed);
                    out.push((*id, l));
                }
            }
            out
        }
        let keys = take(&read(&self.keys), |e: &KeyEntry| {
            (&e.last_used_ms, &e.persisted_last_used_ms)
        });
        let tokens = take(&read(&self.tokens), |e: &TokenEntry| {
            (&e.last_used_ms, &e.persisted_last_used_ms)
        });
        (keys, tokens)
    }

    pub fn token_last_used_ms(&self, id: u128) -> Option<u64> {
        read(&self.tokens)
            .by_id
            .get(&id)
            .map(|e| e.last_used_ms.load(Ordering::Relaxed))
            .filter(|v| *v > 0)
    }
}

/// `Bearer <secret>` → the secret's SHA-256, after the offline format and checksum check.
fn parse_bearer(header: Option<&[u8]>, kind: SecretKind) -> Result<[u8; 32], AuthError> {
    let raw = header.ok_or(AuthError::Missing)?;
    let text = std::str::from_utf8(raw).map_err(|_| AuthError::MalformedHeader)?;
    let (scheme, value) = text
        .trim()
        .split_once(' ')
        .ok_or(AuthError::MalformedHeader)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::MalformedHeader);
    }
    let value = value.trim();
    if value.is_empty() {
        return Err(AuthError::MalformedHeader);
    }
    secret::parse(kind, value).map_err(AuthError::Format)
}

// A poisoned lock only means another thread panicked mid-update of a HashMap insert/remove, which
// leaves the map itself consistent; keep serving rather than failing every request.
fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema::KeyRecord;

    fn record(digest: crate::store::schema::SecretDigest) -> KeyRecord {
        KeyRecord {
            account: 1,
            project: 2,
            label: "t".into(),
            scopes: vec!["analyze".into()],
            digest,
            created_at_ms: 0,
            last_used_at_ms: None,
            expires_at_ms: Some(1000),
            revoked_at_ms: None,
        }
    }

    #[test]
    fn verify_checks_header_format_revocation_and_expiry() {
        let s = secret::generate(SecretKind::ApiKey).unwrap();
        let c = Credentials::load(vec![(9, record(s.digest))], vec![]);
        let h = format!("Bearer {}", s.value);
        assert_eq!(c.verify_key(Some(h.as_bytes()), 10).unwrap().id, KeyId(9));
        assert_eq!(
            c.verify_key(Some(h.as_bytes()), 1000).unwrap_err(),
            AuthError::Expired
        );
        assert_eq!(c.verify_key(None, 10).unwrap_err(), AuthError::Missing);
        assert_eq!(
            c.verify_key(Some(b"Basic abc"), 10).unwrap_err(),
            AuthError::MalformedHeader
        );
        assert_eq!(
            c.verify_key(Some(b"Bearer "), 10).unwrap_err(),
            AuthError::MalformedHeader
        );
        assert_eq!(
            c.verify_key(Some(s.value.as_bytes()), 10).unwrap_err(),
            AuthError::MalformedHeader
        );
        let other = secret::generate(SecretKind::ApiKey).unwrap().value;
        assert_eq!(
            c.verify_key(Some(format!("bearer {other}").as_bytes()), 10)
                .unwrap_err(),
            AuthError::Unknown
        );
        c.revoke_key(9);
        assert_eq!(
            c.verify_key(Some(h.as_bytes()), 10).unwrap_err(),
            AuthError::Revoked
        );
    }

    #[test]
    fn last_used_is_taken_once_per_change() {
        let s = secret::generate(SecretKind::ApiKey).unwrap();
        let c = Credentials::load(vec![(9, record(s.digest))], vec![]);
        let h = format!("Bearer {}", s.value);
        c.verify_key(Some(h.as_bytes()), 5).unwrap();
        c.verify_key(Some(h.as_bytes()), 7).unwrap();
        assert_eq!(c.take_last_used().0, vec![(9, 7)]);
        assert!(c.take_last_used().0.is_empty());
    }
}
