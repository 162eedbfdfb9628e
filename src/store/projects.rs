//! Projects: creation under an account, listing and deletion with their keys.

use redb::ReadableTable;

use super::schema::{KeyRecord, ProjectRecord, table};
use super::{Error, Page, Result, Store, get_in, index_ids, put, webhooks};

impl Store {
    /// Creates a project; `Error::NotFound` without the account, `Error::Exists` when the
    /// account already has a project of that name.
    pub fn create_project(&self, id: u128, project: &ProjectRecord) -> Result<()> {
        let txn = self.begin_write()?;
        if txn
            .open_table(table::ACCOUNTS)?
            .get(project.account)?
            .is_none()
        {
            return Err(Error::NotFound);
        }
        for p in index_ids(&txn, table::PROJECTS_BY_ACCOUNT, project.account)? {
            let existing: Option<ProjectRecord> =
                get_in(&txn.open_table(table::PROJECTS)?, "projects", p)?;
            if existing.is_some_and(|e| e.name == project.name) {
                return Err(Error::Exists);
            }
        }
        put(&txn, table::PROJECTS, id, project)?;
        txn.open_table(table::PROJECTS_BY_ACCOUNT)?
            .insert((project.account, id), ())?;
        txn.commit()?;
        Ok(())
    }

    pub fn get_project(&self, id: u128) -> Result<Option<ProjectRecord>> {
        self.get(table::PROJECTS, "projects", id)
    }

    /// An account's projects in creation order.
    pub fn list_projects(
        &self,
        account: u128,
        after: Option<u128>,
        limit: usize,
    ) -> Result<Page<ProjectRecord>> {
        self.list_by_index(
            table::PROJECTS_BY_ACCOUNT,
            table::PROJECTS,
            "projects",
            account,
            after,
            limit,
        )
    }

    /// Deletes a project and the keys that belong to it. Returns the deleted key ids.
    pub fn delete_project(&self, id: u128) -> Result<Option<Vec<u128>>> {
        let txn = self.begin_write()?;
        let Some(project): Option<ProjectRecord> =
            get_in(&txn.open_table(table::PROJECTS)?, "projects", id)?
        else {
            return Ok(None);
        };
        txn.open_table(table::PROJECTS)?.remove(id)?;
        txn.open_table(table::PROJECTS_BY_ACCOUNT)?
            .remove((project.account, id))?;
        webhooks::delete_project_secrets_in(&txn, id)?;
        let mut deleted = Vec::new();
        for k in index_ids(&txn, table::KEYS_BY_ACCOUNT, project.account)? {
            let key: Option<KeyRecord> = get_in(&txn.open_table(table::KEYS)?, "keys", k)?;
            if key.is_some_and(|key| key.project == id) {
                txn.open_table(table::KEYS)?.remove(k)?;
                txn.open_table(table::KEYS_BY_ACCOUNT)?
                    .remove((project.account, k))?;
                deleted.push(k);
            }
        }
        txn.commit()?;
        Ok(Some(deleted))
    }
}
