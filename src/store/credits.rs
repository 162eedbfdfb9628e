//! Usage counters, the credit balance and its ledger. Credits move inside the caller's write
//! transaction so a charge and the thing it pays for commit together.

use redb::{ReadableTable, WriteTransaction};

use super::codec::{decode, encode};
use super::schema::{AccountRecord, LedgerRecord, table};
use super::{Error, Page, Result, Store, get_in, put};

/// How many days of per-key usage are kept.
pub const DAILY_USAGE_DAYS: u32 = 400;
const PRUNED_DAY: &str = "usage_daily_pruned_day";

impl Store {
    /// Writes monthly call counts: (account, month index, count).
    pub fn record_usage(&self, counts: &[(u128, u32, u64)]) -> Result<()> {
        if counts.is_empty() {
            return Ok(());
        }
        let txn = self.begin_write()?;
        {
            let mut t = txn.open_table(table::USAGE)?;
            for &(account, month, count) in counts {
                t.insert((account, month), count)?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// Adds per-key day counts (account, key, day, calls, analyses) to the stored ones, and
    /// forgets days older than `DAILY_USAGE_DAYS` before the newest day written.
    pub fn add_day_counts(&self, counts: &[(u128, u128, u32, u64, u64)]) -> Result<()> {
        if counts.is_empty() {
            return Ok(());
        }
        let txn = self.begin_write()?;
        {
            let mut t = txn.open_table(table::USAGE_DAILY)?;
            for &(account, key, day, requests, analyses) in counts {
                let (r0, a0) = t.get((account, key, day))?.map_or((0, 0), |v| v.value());
                t.insert(
                    (account, key, day),
                    (r0.saturating_add(requests), a0.saturating_add(analyses)),
                )?;
            }
            // Pruning scans the table, so it runs once a day, when a new day is first written.
            let newest = counts.iter().map(|c| c.2).max().unwrap_or(0);
            let mut meta = txn.open_table(table::META)?;
            let pruned = meta.get(PRUNED_DAY)?.map_or(0, |v| v.value());
            if u64::from(newest) > pruned {
                let cutoff = newest.saturating_sub(DAILY_USAGE_DAYS);
                t.retain(|(_, _, day), _| day >= cutoff)?;
                meta.insert(PRUNED_DAY, u64::from(newest))?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// An account's stored day counts from `from_day` on: (key, day, calls, analyses).
    pub fn day_counts(&self, account: u128, from_day: u32) -> Result<Vec<(u128, u32, u64, u64)>> {
        let txn = self.begin_read()?;
        let t = txn.open_table(table::USAGE_DAILY)?;
        let mut out = Vec::new();
        for entry in t.range((account, 0, 0)..=(account, u128::MAX, u32::MAX))? {
            let (k, v) = entry?;
            let (_, key, day) = k.value();
            if day >= from_day {
                let (r, a) = v.value();
                out.push((key, day, r, a));
            }
        }
        Ok(out)
    }

    /// Every account's call count for one month.
    pub fn usage_for_month(&self, month: u32) -> Result<Vec<(u128, u64)>> {
        let txn = self.begin_read()?;
        let t = txn.open_table(table::USAGE)?;
        let mut out = Vec::new();
        for entry in t.iter()? {
            let (k, v) = entry?;
            let (account, m) = k.value();
            if m == month {
                out.push((account, v.value()));
            }
        }
        Ok(out)
    }

    /// Moves credits in one transaction with its ledger entries. First, when `monthly_grant` is
    /// given and the account has not had this `month`'s grant, adds it (`monthly_reset`). Then
    /// applies `change`, refusing with `InsufficientCredits` a debit the balance cannot cover.
    /// Returns the balance after.
    pub fn apply_credits(
        &self,
        account: u128,
        month: u32,
        monthly_grant: Option<i64>,
        change: Option<CreditChange>,
        now_ms: u64,
    ) -> Result<i64> {
        let txn = self.begin_write()?;
        match credits_in(&txn, account, month, monthly_grant, change, now_ms) {
            Ok((balance, wrote)) => {
                // Most reads of the balance move nothing: no commit, no fsync.
                if wrote {
                    txn.commit()?;
                }
                Ok(balance)
            }
            Err(e @ Error::InsufficientCredits { .. }) => {
                // A due monthly grant is kept even when the debit is refused.
                txn.commit()?;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Ledger entries of an account, newest first, strictly older than `before` when given.
    pub fn list_ledger(
        &self,
        account: u128,
        before: Option<u128>,
        limit: usize,
    ) -> Result<Page<LedgerRecord>> {
        let txn = self.begin_read()?;
        let t = txn.open_table(table::LEDGER)?;
        let end = before.unwrap_or(u128::MAX);
        let mut items = Vec::new();
        let mut next = None;
        if end > 0 {
            for entry in t.range((account, 0)..(account, end))?.rev() {
                let (k, v) = entry?;
                if items.len() == limit {
                    next = items.last().map(|(id, _)| *id);
                    break;
                }
                items.push((k.value().1, decode("ledger", v.value())?));
            }
        }
        Ok(Page { items, next })
    }
}

/// Credits inside a caller's write transaction (see `Store::apply_credits`): the balance after
/// and whether anything was written. On `InsufficientCredits` only the due monthly grant has
/// been written.
pub(super) fn credits_in(
    txn: &WriteTransaction,
    account: u128,
    month: u32,
    monthly_grant: Option<i64>,
    change: Option<CreditChange>,
    now_ms: u64,
) -> Result<(i64, bool)> {
    let Some(mut acct): Option<AccountRecord> =
        get_in(&txn.open_table(table::ACCOUNTS)?, "accounts", account)?
    else {
        return Err(Error::NotFound);
    };
    let mut entries = Vec::new();
    if let Some(grant) = monthly_grant
        && acct.credits_month != month
    {
        acct.credits = acct.credits.saturating_add(grant);
        acct.credits_month = month;
        entries.push(LedgerRecord {
            at_ms: now_ms,
            kind: "monthly_reset".into(),
            amount: grant,
            balance_after: acct.credits,
            reference: None,
            note: None,
        });
    }
    let mut refused = None;
    if let Some(c) = change {
        if c.amount < 0 && acct.credits.saturating_add(c.amount) < 0 {
            refused = Some(acct.credits);
        } else {
            acct.credits = acct.credits.saturating_add(c.amount);
            entries.push(LedgerRecord {
                at_ms: now_ms,
                kind: c.kind,
                amount: c.amount,
                balance_after: acct.credits,
                reference: c.reference,
                note: c.note,
            });
        }
    }
    if !entries.is_empty() {
        put(txn, table::ACCOUNTS, account, &acct)?;
        let mut t = txn.open_table(table::LEDGER)?;
        for e in &entries {
            let bytes = encode(e)?;
            t.insert((account, ledger_entry_id(e.at_ms)), bytes.as_slice())?;
        }
    }
    match refused {
        Some(balance) => Err(Error::InsufficientCredits { balance }),
        None => Ok((acct.credits, !entries.is_empty())),
    }
}

/// A credit movement to apply.
#[derive(Debug, Clone)]
pub struct CreditChange {
    pub kind: String,
    pub amount: i64,
    pub reference: Option<String>,
    pub note: Option<String>,
}

/// Ledger entry ids: Unix ms in the high bits, a process-wide sequence in the low bits, so they
/// sort by time and never collide within a process.
fn ledger_entry_id(now_ms: u64) -> u128 {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    (u128::from(now_ms) << 64) | u128::from(seq)
}
