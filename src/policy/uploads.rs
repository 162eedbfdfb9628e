//! Uploads being received at once, per API key and per account. An upload holds its place from
//! the first byte of its body until it is stored or refused, so a tenant that opens many slow
//! uploads is refused further ones instead of taking every connection and disk write.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub struct InFlightUploads {
    per_key: usize,
    per_account: usize,
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    keys: HashMap<u128, usize>,
    accounts: HashMap<u128, usize>,
}

/// Which cap refused an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadCap {
    Key(usize),
    Account(usize),
}

/// An upload's place; given back on drop.
pub struct UploadPermit {
    owner: Arc<InFlightUploads>,
    key: u128,
    account: u128,
}

impl InFlightUploads {
    pub fn new(per_key: usize, per_account: usize) -> Arc<InFlightUploads> {
        Arc::new(InFlightUploads {
            per_key,
            per_account,
            counts: Mutex::new(Counts::default()),
        })
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        match self.counts.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    pub fn try_acquire(
        self: &Arc<Self>,
        key: u128,
        account: u128,
    ) -> Result<UploadPermit, UploadCap> {
        let mut c = self.counts();
        if c.keys.get(&key).copied().unwrap_or(0) >= self.per_key {
            return Err(UploadCap::Key(self.per_key));
        }
        if c.accounts.get(&account).copied().unwrap_or(0) >= self.per_account {
            return Err(UploadCap::Account(self.per_account));
        }
        *c.keys.entry(key).or_default() += 1;
        *c.accounts.entry(account).or_default() += 1;
        Ok(UploadPermit {
            owner: self.clone(),
            key,
            account,
        })
    }
}

impl Drop for UploadPermit {
    fn drop(&mut self) {
        let mut guard = self.owner.counts();
        let c = &mut *guard;
        // Entries at zero are removed so the maps hold only keys with uploads in flight.
        for (map, id) in [(&mut c.keys, self.key), (&mut c.accounts, self.account)] {
            if let Some(n) = map.get_mut(&id) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&id);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_key_and_per_account_and_release_on_drop() {
        let u = InFlightUploads::new(2, 3);
        let a = u.try_acquire(1, 10).unwrap();
        let _b = u.try_acquire(1, 10).unwrap();
        assert_eq!(u.try_acquire(1, 10).err(), Some(UploadCap::Key(2)));
        let _c = u.try_acquire(2, 10).unwrap();
        assert_eq!(u.try_acquire(3, 10).err(), Some(UploadCap::Account(3)));
        // Another account is unaffected.
        let _d = u.try_acquire(4, 11).unwrap();
        drop(a);
        assert!(u.try_acquire(3, 10).is_ok());
        drop(_d);
        assert!(!u.counts().accounts.contains_key(&11));
    }
}
