//! Accounts: creation with their default project, listing, changes and deletion with
//! everything they own.

use super::schema::{AccountRecord, ProjectRecord, table};
use super::{Page, Result, Store, index_ids, put, webhooks};

impl Store {
    /// Creates an account together with its `default` project.
    pub fn create_account(
        &self,
        id: u128,
        account: &AccountRecord,
        default_project: (u128, &ProjectRecord),
    ) -> Result<()> {
        let txn = self.begin_write()?;
        put(&txn, table::ACCOUNTS, id, account)?;
        put(&txn, table::PROJECTS, default_project.0, default_project.1)?;
        txn.open_table(table::PROJECTS_BY_ACCOUNT)?
            .insert((id, default_project.0), ())?;
        txn.commit()?;
        Ok(())
    }

    pub fn get_account(&self, id: u128) -> Result<Option<AccountRecord>> {
        self.get(table::ACCOUNTS, "accounts", id)
    }

    pub fn list_accounts(&self, after: Option<u128>, limit: usize) -> Result<Page<AccountRecord>> {
        self.list(table::ACCOUNTS, "accounts", after, limit)
    }

    /// Applies `change` to the stored account; `Ok(None)` when there is none.
    pub fn update_account(
        &self,
        id: u128,
        change: impl FnOnce(&mut AccountRecord),
    ) -> Result<Option<AccountRecord>> {
        self.update(table::ACCOUNTS, "accounts", id, change)
    }

    /// Deletes an account with its projects and keys. Returns the ids of the deleted keys.
    pub fn delete_account(&self, id: u128) -> Result<Option<Vec<u128>>> {
        let txn = self.begin_write()?;
        if txn.open_table(table::ACCOUNTS)?.remove(id)?.is_none() {
            return Ok(None);
        }
        let projects = index_ids(&txn, table::PROJECTS_BY_ACCOUNT, id)?;
        {
            let mut t = txn.open_table(table::PROJECTS)?;
            let mut idx = txn.open_table(table::PROJECTS_BY_ACCOUNT)?;
            for p in &projects {
                t.remove(*p)?;
                idx.remove((id, *p))?;
            }
        }
        for p in &projects {
            webhooks::delete_project_secrets_in(&txn, *p)?;
        }
        let keys = index_ids(&txn, table::KEYS_BY_ACCOUNT, id)?;
        {
            let mut t = txn.open_table(table::KEYS)?;
            let mut idx = txn.open_table(table::KEYS_BY_ACCOUNT)?;
            for k in &keys {
                t.remove(*k)?;
                idx.remove((id, *k))?;
            }
        }
        txn.open_table(table::USAGE)?
            .retain_in((id, 0)..=(id, u32::MAX), |_, _| false)?;
        txn.open_table(table::LEDGER)?
            .retain_in((id, 0)..=(id, u128::MAX), |_, _| false)?;
        txn.commit()?;
        Ok(Some(keys))
    }

    pub fn all_accounts(&self) -> Result<Vec<(u128, AccountRecord)>> {
        Ok(self
            .list(table::ACCOUNTS, "accounts", None, usize::MAX)?
            .items)
    }
}
