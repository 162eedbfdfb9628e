//! Webhook signing secrets of a project: insertion under a per-project limit of active secrets,
//! listing, revocation, and removal with their project. Each operation is one write transaction.

use redb::WriteTransaction;

use super::schema::{WebhookSecretRecord, table};
use super::{Error, Page, Result, Store, get_in, index_ids, put, update_in};

const NAME: &str = "webhook_secrets";

impl Store {
    /// Inserts a secret unless the project already has `max_active` unrevoked ones.
    pub fn insert_webhook_secret(
        &self,
        id: u128,
        rec: &WebhookSecretRecord,
        max_active: usize,
    ) -> Result<()> {
        let txn = self.begin_write()?;
        let active = active_in(&txn, rec.project)?.len();
        if active >= max_active {
            return Err(Error::LimitReached(max_active));
        }
        put(&txn, table::WEBHOOK_SECRETS, id, rec)?;
        txn.open_table(table::WEBHOOK_SECRETS_BY_PROJECT)?
            .insert((rec.project, id), ())?;
        txn.commit()?;
        Ok(())
    }

    pub fn list_webhook_secrets(
        &self,
        project: u128,
        after: Option<u128>,
        limit: usize,
    ) -> Result<Page<WebhookSecretRecord>> {
        self.list_by_index(
            table::WEBHOOK_SECRETS_BY_PROJECT,
            table::WEBHOOK_SECRETS,
            NAME,
            project,
            after,
            limit,
        )
    }

    /// The project's unrevoked secrets, oldest first: the ones a delivery is signed with.
    pub fn active_webhook_secrets(
        &self,
        project: u128,
    ) -> Result<Vec<(u128, WebhookSecretRecord)>> {
        let txn = self.begin_read()?;
        let idx = txn.open_table(table::WEBHOOK_SECRETS_BY_PROJECT)?;
        let t = txn.open_table(table::WEBHOOK_SECRETS)?;
        let mut out = Vec::new();
        for entry in idx.range((project, 0)..=(project, u128::MAX))? {
            let id = entry?.0.value().1;
            if let Some(rec) = get_in::<WebhookSecretRecord>(&t, NAME, id)?
                && rec.revoked_at_ms.is_none()
            {
                out.push((id, rec));
            }
        }
        Ok(out)
    }

    /// Revokes a secret of `project`; `None` when it does not exist there. Revoking twice keeps
    /// the first time.
    pub fn revoke_webhook_secret(
        &self,
        project: u128,
        id: u128,
        now_ms: u64,
    ) -> Result<Option<WebhookSecretRecord>> {
        let txn = self.begin_write()?;
        let current: Option<WebhookSecretRecord> =
            get_in(&txn.open_table(table::WEBHOOK_SECRETS)?, NAME, id)?;
        if current.is_none_or(|r| r.project != project) {
            return Ok(None);
        }
        let out = update_in::<WebhookSecretRecord>(&txn, table::WEBHOOK_SECRETS, NAME, id, |r| {
            r.revoked_at_ms.get_or_insert(now_ms);
        })?;
        txn.commit()?;
        Ok(out)
    }
}

fn active_in(txn: &WriteTransaction, project: u128) -> Result<Vec<u128>> {
    let t = txn.open_table(table::WEBHOOK_SECRETS)?;
    let mut out = Vec::new();
    for id in index_ids(txn, table::WEBHOOK_SECRETS_BY_PROJECT, project)? {
        if get_in::<WebhookSecretRecord>(&t, NAME, id)?.is_some_and(|r| r.revoked_at_ms.is_none()) {
            out.push(id);
        }
    }
    Ok(out)
}

/// Removes a project's secrets inside the caller's transaction (project or account deletion).
pub(super) fn delete_project_secrets_in(txn: &WriteTransaction, project: u128) -> Result<()> {
    for id in index_ids(txn, table::WEBHOOK_SECRETS_BY_PROJECT, project)? {
        txn.open_table(table::WEBHOOK_SECRETS)?.remove(id)?;
        txn.open_table(table::WEBHOOK_SECRETS_BY_PROJECT)?
            .remove((project, id))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(project: u128) -> WebhookSecretRecord {
        WebhookSecretRecord {
            project,
            label: "l".into(),
            created_at_ms: 1,
            revoked_at_ms: None,
            sealed: vec![1, 2, 3],
        }
    }

    #[test]
    fn limit_counts_active_secrets_and_revocation_is_per_project() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        s.insert_webhook_secret(1, &rec(10), 2).unwrap();
        s.insert_webhook_secret(2, &rec(10), 2).unwrap();
        s.insert_webhook_secret(3, &rec(11), 2).unwrap();
        assert!(matches!(
            s.insert_webhook_secret(4, &rec(10), 2),
            Err(Error::LimitReached(2))
        ));
        assert!(s.revoke_webhook_secret(11, 1, 5).unwrap().is_none());
        let r = s.revoke_webhook_secret(10, 1, 5).unwrap().unwrap();
        assert_eq!(r.revoked_at_ms, Some(5));
        assert_eq!(
            s.revoke_webhook_secret(10, 1, 9)
                .unwrap()
                .unwrap()
                .revoked_at_ms,
            Some(5)
        );
        let active: Vec<u128> = s
            .active_webhook_secrets(10)
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(active, [2]);
        s.insert_webhook_secret(4, &rec(10), 2).unwrap();
        assert_eq!(s.list_webhook_secrets(10, None, 10).unwrap().items.len(), 3);
        assert_eq!(s.delete_project(10).unwrap(), None, "no project record");
    }
}
