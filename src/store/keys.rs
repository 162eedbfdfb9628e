//! API keys and management tokens: records holding only secret digests, listing, changes and
//! last-use times.

use super::deliveries::insert_delivery_in;
use super::schema::{KeyRecord, TokenRecord, table};
use super::{Error, NewDelivery, Page, Result, Store, get_in, index_ids, put, update_in};

impl Store {
    /// Stores a new key unless its account already holds `max_active` keys that are neither
    /// revoked nor expired at `now_ms` (checked in the same transaction, so concurrent creates
    /// cannot overshoot).
    pub fn insert_key(
        &self,
        id: u128,
        key: &KeyRecord,
        max_active: usize,
        now_ms: u64,
    ) -> Result<()> {
        let txn = self.begin_write()?;
        let mut active = 0;
        for k in index_ids(&txn, table::KEYS_BY_ACCOUNT, key.account)? {
            let existing: Option<KeyRecord> = get_in(&txn.open_table(table::KEYS)?, "keys", k)?;
            if existing.is_some_and(|e| {
                e.revoked_at_ms.is_none() && e.expires_at_ms.is_none_or(|x| x > now_ms)
            }) {
                active += 1;
            }
        }
        if active >= max_active {
            return Err(Error::LimitReached(max_active));
        }
        put(&txn, table::KEYS, id, key)?;
        txn.open_table(table::KEYS_BY_ACCOUNT)?
            .insert((key.account, id), ())?;
        txn.commit()?;
        Ok(())
    }

    /// Revokes a key reported as leaked and queues the deliveries that announce it, in one
    /// transaction. False, with nothing written, when the key is unknown or already revoked.
    pub fn revoke_leaked_key(
        &self,
        id: u128,
        now_ms: u64,
        announce: &[NewDelivery],
    ) -> Result<bool> {
        let txn = self.begin_write()?;
        let mut first = false;
        update_in::<KeyRecord>(&txn, table::KEYS, "keys", id, |k| {
            if k.revoked_at_ms.is_none() {
                k.revoked_at_ms = Some(now_ms);
                first = true;
            }
        })?;
        if !first {
            return Ok(false);
        }
        for d in announce {
            insert_delivery_in(&txn, d)?;
        }
        txn.commit()?;
        Ok(true)
    }

    /// Revokes a management token reported as leaked. False, with nothing written, when it is
    /// unknown or already revoked.
    pub fn revoke_leaked_token(&self, id: u128, now_ms: u64) -> Result<bool> {
        let txn = self.begin_write()?;
        let mut first = false;
        update_in::<TokenRecord>(&txn, table::TOKENS, "tokens", id, |t| {
            if t.revoked_at_ms.is_none() {
                t.revoked_at_ms = Some(now_ms);
                first = true;
            }
        })?;
        if first {
            txn.commit()?;
        }
        Ok(first)
    }

    pub fn get_key(&self, id: u128) -> Result<Option<KeyRecord>> {
        self.get(table::KEYS, "keys", id)
    }

    /// Keys of one account, or of all accounts, in creation order.
    pub fn list_keys(
        &self,
        account: Option<u128>,
        after: Option<u128>,
        limit: usize,
    ) -> Result<Page<KeyRecord>> {
        match account {
            Some(a) => {
                self.list_by_index(table::KEYS_BY_ACCOUNT, table::KEYS, "keys", a, after, limit)
            }
            None => self.list(table::KEYS, "keys", after, limit),
        }
    }

    pub fn update_key(
        &self,
        id: u128,
        change: impl FnOnce(&mut KeyRecord),
    ) -> Result<Option<KeyRecord>> {
        self.update(table::KEYS, "keys", id, change)
    }

    /// Every key, for building the in-memory verification index at start-up.
    pub fn all_keys(&self) -> Result<Vec<(u128, KeyRecord)>> {
        Ok(self.list(table::KEYS, "keys", None, usize::MAX)?.items)
    }

    pub fn insert_token(&self, id: u128, token: &TokenRecord) -> Result<()> {
        let txn = self.begin_write()?;
        put(&txn, table::TOKENS, id, token)?;
        txn.commit()?;
        Ok(())
    }

    pub fn list_tokens(&self, after: Option<u128>, limit: usize) -> Result<Page<TokenRecord>> {
        self.list(table::TOKENS, "tokens", after, limit)
    }

    pub fn update_token(
        &self,
        id: u128,
        change: impl FnOnce(&mut TokenRecord),
    ) -> Result<Option<TokenRecord>> {
        self.update(table::TOKENS, "tokens", id, change)
    }

    pub fn all_tokens(&self) -> Result<Vec<(u128, TokenRecord)>> {
        Ok(self.list(table::TOKENS, "tokens", None, usize::MAX)?.items)
    }

    /// Writes batched last-used times in one transaction; ids that no longer exist are skipped.
    pub fn record_last_used(&self, keys: &[(u128, u64)], tokens: &[(u128, u64)]) -> Result<()> {
        if keys.is_empty() && tokens.is_empty() {
            return Ok(());
        }
        let txn = self.begin_write()?;
        for &(id, at) in keys {
            update_in::<KeyRecord>(&txn, table::KEYS, "keys", id, |k| {
                k.last_used_at_ms = Some(at)
            })?;
        }
        for &(id, at) in tokens {
            update_in::<TokenRecord>(&txn, table::TOKENS, "tokens", id, |t| {
                t.last_used_at_ms = Some(at)
            })?;
        }
        txn.commit()?;
        Ok(())
    }
}
