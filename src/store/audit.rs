//! The audit log: one record per change to credentials or money, by time-ordered id, listed
//! newest first with filters, and deleted after the configured retention.

use redb::ReadableTable;

use super::schema::{AuditRecord, table};
use super::{Result, Store, decode, put};

/// Records examined by one listing call at most: a filter that matches rarely answers with a
/// cursor to continue from instead of scanning the whole log in one request.
pub const MAX_SCANNED: usize = 10_000;

/// What an audit listing keeps. Empty fields match everything.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    /// Exact action, or a prefix ending in `.` (`key.` matches `key.create` and `key.revoke`).
    pub action: Option<String>,
    pub actor: Option<String>,
    pub target: Option<String>,
    pub since_ms: Option<u64>,
    pub until_ms: Option<u64>,
}

impl AuditFilter {
    fn matches(&self, r: &AuditRecord) -> bool {
        let action = match &self.action {
            None => true,
            Some(a) if a.ends_with('.') => r.action.starts_with(a.as_str()),
            Some(a) => r.action == *a,
        };
        action
            && self.actor.as_ref().is_none_or(|a| r.actor == *a)
            && self.target.as_ref().is_none_or(|t| r.target == *t)
    }
}

/// A page of the log, newest first. `next` is the id to pass as `before` to continue.
#[derive(Debug)]
pub struct AuditPage {
    pub items: Vec<(u128, AuditRecord)>,
    pub next: Option<u128>,
}

/// The smallest id made at `ms` or later (ids carry their creation time in the top 48 bits).
pub fn first_id_at(ms: u64) -> u128 {
    u128::from(ms) << 80
}

impl Store {
    pub fn insert_audit(&self, id: u128, rec: &AuditRecord) -> Result<()> {
        let txn = self.begin_write()?;
        put(&txn, table::AUDIT, id, rec)?;
        txn.commit()?;
        Ok(())
    }

    pub fn list_audit(
        &self,
        filter: &AuditFilter,
        before: Option<u128>,
        limit: usize,
    ) -> Result<AuditPage> {
        let txn = self.begin_read()?;
        let t = txn.open_table(table::AUDIT)?;
        let low = filter.since_ms.map_or(0, first_id_at);
        let mut high = filter
            .until_ms
            .map_or(u128::MAX, |u| first_id_at(u.saturating_add(1)));
        if let Some(b) = before {
            high = high.min(b);
        }
        let mut items = Vec::new();
        let mut next = None;
        if low < high {
            for (scanned, entry) in t.range(low..high)?.rev().enumerate() {
                let (k, v) = entry?;
                let id = k.value();
                if items.len() == limit {
                    next = items.last().map(|(i, _)| *i);
                    break;
                }
                if scanned == MAX_SCANNED {
                    // Continue from this entry (the cursor is an exclusive upper bound).
                    next = Some(id.saturating_add(1));
                    break;
                }
                let rec: AuditRecord = decode("audit", v.value())?;
                if filter.matches(&rec) {
                    items.push((id, rec));
                }
            }
        }
        Ok(AuditPage { items, next })
    }

    /// Deletes entries written before `cutoff_ms`; returns how many.
    pub fn purge_audit(&self, cutoff_ms: u64) -> Result<usize> {
        let txn = self.begin_write()?;
        let n = {
            let mut t = txn.open_table(table::AUDIT)?;
            let n = t.range(..first_id_at(cutoff_ms))?.count();
            t.retain_in(..first_id_at(cutoff_ms), |_, _| false)?;
            n
        };
        txn.commit()?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(action: &str, target: &str) -> AuditRecord {
        AuditRecord {
            at_ms: 0,
            actor: "mt_x".into(),
            action: action.into(),
            target: target.into(),
            request_id: None,
            ip: None,
            details: "{}".into(),
        }
    }

    #[test]
    fn audit_lists_newest_first_with_filters_cursor_and_retention() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        for (ms, action) in [
            (1000u64, "key.create"),
            (2000, "key.revoke"),
            (3000, "account.update"),
        ] {
            s.insert_audit(first_id_at(ms) + 7, &rec(action, "t"))
                .unwrap();
        }
        let all = s.list_audit(&AuditFilter::default(), None, 2).unwrap();
        let actions: Vec<_> = all.items.iter().map(|(_, r)| r.action.as_str()).collect();
        assert_eq!(actions, ["account.update", "key.revoke"]);
        let rest = s.list_audit(&AuditFilter::default(), all.next, 2).unwrap();
        assert_eq!(rest.items.len(), 1);
        assert!(rest.next.is_none());
        let keys = AuditFilter {
            action: Some("key.".into()),
            ..Default::default()
        };
        assert_eq!(s.list_audit(&keys, None, 10).unwrap().items.len(), 2);
        let window = AuditFilter {
            since_ms: Some(1500),
            until_ms: Some(2000),
            ..Default::default()
        };
        let w = s.list_audit(&window, None, 10).unwrap();
        assert_eq!(w.items.len(), 1);
        assert_eq!(w.items[0].1.action, "key.revoke");
        assert_eq!(s.purge_audit(2500).unwrap(), 2);
        assert_eq!(
            s.list_audit(&AuditFilter::default(), None, 10)
                .unwrap()
                .items
                .len(),
            1
        );
    }

    fn count(s: &Store) -> usize {
        s.list_audit(&AuditFilter::default(), None, 100)
            .unwrap()
            .items
            .len()
    }

    /// The entry of an audited handle is written by the transaction that makes the change, and
    /// only then: a refused change or an unknown target writes none.
    #[test]
    fn audited_changes_commit_with_their_entry_and_refusals_write_none() {
        use crate::store::schema::TokenRecord;
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let token = TokenRecord {
            label: "t".into(),
            digest: crate::store::schema::SecretDigest {
                sha256: [1; 32],
                prefix: "abcd".into(),
                last4: "wxyz".into(),
            },
            created_at_ms: 1,
            last_used_at_ms: None,
            revoked_at_ms: None,
        };
        let unknown = s.audited(first_id_at(5), rec("token.revoke", "mt_unknown"));
        assert!(
            unknown
                .update_token(42, |t| t.revoked_at_ms = Some(9))
                .unwrap()
                .is_none()
        );
        assert_eq!(count(&s), 0, "an unknown id commits nothing");

        let create = s.audited(first_id_at(10), rec("token.create", "mt_1"));
        create.insert_token(1, &token).unwrap();
        assert_eq!(count(&s), 1);
        // The entry goes with the first commit only.
        create.insert_token(2, &token).unwrap();
        assert_eq!(count(&s), 1);

        let leaked = s.audited(first_id_at(20), rec("token.leak_revoke", "mt_1"));
        assert!(leaked.revoke_leaked_token(1, 30).unwrap());
        assert_eq!(count(&s), 2);
        let again = s.audited(first_id_at(40), rec("token.leak_revoke", "mt_1"));
        assert!(!again.revoke_leaked_token(1, 50).unwrap());
        assert_eq!(
            count(&s),
            2,
            "a token already revoked is not recorded twice"
        );
        let entries = s.list_audit(&AuditFilter::default(), None, 10).unwrap();
        assert_eq!(entries.items[0].1.action, "token.leak_revoke");
        assert_eq!(entries.items[1].1.action, "token.create");
    }
}
