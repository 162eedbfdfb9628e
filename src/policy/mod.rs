//! Access policy: plans, account status, IP allowlists, the per-key minute limit and the
//! per-account monthly quota. Decisions are made in memory; monthly counts reach the database
//! in batches (see `take_dirty_months`). Returns decisions, not HTTP responses.

pub mod auth_failures;
pub mod client_ip;
pub mod daily;
pub mod month;
pub mod uploads;
pub mod window;

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};

use ipnet::IpNet;

use crate::config::{Plan, Quota};
pub use window::WindowState;

/// What the policy needs to know of an account; replaced whole when the account changes.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountState {
    pub plan: String,
    pub disabled: bool,
    /// Empty means any address.
    pub allowed_ips: Vec<IpNet>,
}

/// The month quota as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthState {
    pub limit: u64,
    pub remaining: u64,
    /// Start of the next UTC month, Unix seconds.
    pub reset_s: u64,
}

/// Both windows, for response headers and `/api/v1/me`. `month` is `None` on plans without a
/// monthly cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub minute: WindowState,
    pub month: Option<MonthState>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Denied {
    /// The account no longer exists (deleted while a key was cached) or names an unknown plan.
    UnknownAccount,
    AccountDisabled,
    PlanRequired {
        plan: String,
    },
    IpNotAllowed {
        ip: IpAddr,
    },
    Minute,
    Month,
}

/// The outcome of `admit`: usage is present whenever the limits were consulted.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub denied: Option<Denied>,
    pub usage: Option<Usage>,
}

#[derive(Debug, Default)]
struct MonthCount {
    month: u32,
    count: u64,
    /// Count already in the database for `month`.
    persisted: u64,
    /// Per-key, per-day counts not yet written. Kept under the account's month lock, which an
    /// admitted call holds anyway, so counting by day costs no extra lock on the hot path.
    days: daily::Pending,
}

pub struct Policy {
    plans: RwLock<Arc<BTreeMap<String, Plan>>>,
    trusted_proxies: RwLock<Arc<Vec<IpNet>>>,
    accounts: RwLock<HashMap<u128, Arc<AccountState>>>,
    minute: RwLock<HashMap<u128, Arc<Mutex<window::SlidingLog>>>>,
    months: RwLock<HashMap<u128, Arc<Mutex<MonthCount>>>>,
}

impl Policy {
    pub fn new(plans: BTreeMap<String, Plan>, trusted_proxies: Vec<IpNet>) -> Policy {
        Policy {
            plans: RwLock::new(Arc::new(plans)),
            trusted_proxies: RwLock::new(Arc::new(trusted_proxies)),
            accounts: RwLock::new(HashMap::new()),
            minute: RwLock::new(HashMap::new()),
            months: RwLock::new(HashMap::new()),
        }
    }

    /// New plan numbers and proxies (SIGHUP); they apply from the next request.
    pub fn reload(&self, plans: BTreeMap<String, Plan>, trusted_proxies: Vec<IpNet>) {
        *write(&self.plans) = Arc::new(plans);
        *write(&self.trusted_proxies) = Arc::new(trusted_proxies);
    }

    pub fn plan(&self, name: &str) -> Option<Plan> {
        read(&self.plans).get(name).cloned()
    }

    pub fn plan_names(&self) -> Vec<String> {
        read(&self.plans).keys().cloned().collect()
    }

    pub fn account(&self, id: u128) -> Option<Arc<AccountState>> {
        read(&self.accounts).get(&id).cloned()
    }

    /// The plan the account is on now.
    pub fn plan_of(&self, account: u128) -> Option<Plan> {
        self.plan(&self.account(account)?.plan)
    }

    pub fn set_account(&self, id: u128, state: AccountState) {
        write(&self.accounts).insert(id, Arc::new(state));
    }

    pub fn remove_account(&self, id: u128) {
        write(&self.accounts).remove(&id);
        write(&self.months).remove(&id);
    }

    pub fn client_ip(&self, peer: IpAddr, headers: &http::HeaderMap) -> IpAddr {
        client_ip::client_ip(peer, headers, &read(&self.trusted_proxies))
    }

    /// Decides one authenticated API call by `key` of `account` from `ip` at `now_ms`, and on
    /// admission counts it in both windows.
    pub fn admit(&self, key: u128, account: u128, ip: IpAddr, now_ms: u64) -> Decision {
        let deny = |d: Denied| Decision {
            denied: Some(d),
            usage: None,
        };
        // Read guards instead of cloned Arcs: under concurrent requests every refcount change
        // is a cache line moving between cores.
        let accounts = read(&self.accounts);
        let Some(acct) = accounts.get(&account) else {
            return deny(Denied::UnknownAccount);
        };
        if acct.disabled {
            return deny(Denied::AccountDisabled);
        }
        let Some(plan) = self.plan(&acct.plan) else {
            // The plan was removed from the configuration: no API access until an admin
            // moves the account to a defined plan.
            return deny(Denied::PlanRequired {
                plan: acct.plan.clone(),
            });
        };
        if !plan.api_access {
            return deny(Denied::PlanRequired {
                plan: acct.plan.clone(),
            });
        }
        if !acct.allowed_ips.is_empty() && !acct.allowed_ips.iter().any(|n| n.contains(&ip)) {
            return deny(Denied::IpNotAllowed { ip });
        }
        drop(accounts);

        let month_now = month::month_index(now_ms);
        let reset_s = month::next_month_start_s(now_ms);
        let mut months = read(&self.months);
        let mut minutes = read(&self.minute);
        if !months.contains_key(&account) || !minutes.contains_key(&key) {
            drop((months, minutes));
            self.ensure_counters(key, account);
            months = read(&self.months);
            minutes = read(&self.minute);
        }
        let (Some(counter), Some(log)) = (months.get(&account), minutes.get(&key)) else {
            return deny(Denied::UnknownAccount);
        };
        // The account's month lock is held across the minute check so that the month count
        // cannot overshoot under concurrency, and a call refused by the minute limit is not
        // counted against the month.
        let mut m = lock(counter);
        if m.month != month_now {
            let days = std::mem::take(&mut m.days);
            *m = MonthCount {
                month: month_now,
                count: 0,
                persisted: 0,
                days,
            };
        }
        let month_state = |count: u64| match plan.calls_per_month {
            Quota::Unlimited => None,
            Quota::Max(limit) => Some(MonthState {
                limit,
                remaining: limit.saturating_sub(count),
                reset_s,
            }),
        };
        let mut log = lock(log);
        if let Quota::Max(limit) = plan.calls_per_month
            && m.count >= limit
        {
            return Decision {
                denied: Some(Denied::Month),
                usage: Some(Usage {
                    minute: log.peek(now_ms, plan.requests_per_minute),
                    month: month_state(m.count),
                }),
            };
        }
        let (ok, minute) = log.try_admit(now_ms, plan.requests_per_minute);
        if !ok {
            return Decision {
                denied: Some(Denied::Minute),
                usage: Some(Usage {
                    minute,
                    month: month_state(m.count),
                }),
            };
        }
        m.count += 1;
        m.days.count(key, daily::day_index(now_ms), 1, 0);
        Decision {
            denied: None,
            usage: Some(Usage {
                minute,
                month: month_state(m.count),
            }),
        }
    }

    /// Creates the key's minute log and the account's month counter on first use.
    fn ensure_counters(&self, key: u128, account: u128) {
        write(&self.minute).entry(key).or_default();
        write(&self.months).entry(account).or_default();
    }

    /// Monthly counts loaded from the database at start-up.
    pub fn load_month_counts(&self, month: u32, counts: Vec<(u128, u64)>) {
        let mut months = write(&self.months);
        for (account, count) in counts {
            months.insert(
                account,
                Arc::new(Mutex::new(MonthCount {
                    month,
                    count,
                    persisted: count,
                    days: daily::Pending::default(),
                })),
            );
        }
    }

    /// Counts that changed since the last call, as (account, month, count), marked persisted.
    /// Written by the caller once a second, so a crash loses at most a second of counts.
    pub fn take_dirty_months(&self) -> Vec<(u128, u32, u64)> {
        let months = read(&self.months);
        let mut out = Vec::new();
        for (account, c) in months.iter() {
            let mut c = lock(c);
            if c.count != c.persisted {
                c.persisted = c.count;
                out.push((*account, c.month, c.count));
            }
        }
        out
    }

    /// Counts an accepted analysis of `key` on its day.
    pub fn count_analysis(&self, key: u128, account: u128, now_ms: u64) {
        self.ensure_counters(key, account);
        if let Some(c) = read(&self.months).get(&account) {
            lock(c).days.count(key, daily::day_index(now_ms), 0, 1);
        }
    }

    /// Day counts not yet written, taken out: (account, key, day, requests, analyses).
    pub fn take_day_counts(&self) -> Vec<daily::DayCount> {
        let months = read(&self.months);
        let mut out = Vec::new();
        for (account, c) in months.iter() {
            lock(c).days.drain_into(*account, &mut out);
        }
        out
    }

    /// Day counts of `account` not yet written, left in place.
    pub fn pending_day_counts(&self, account: u128) -> Vec<daily::DayCount> {
        let mut out = Vec::new();
        if let Some(c) = read(&self.months).get(&account) {
            lock(c).days.copy_into(account, &mut out);
        }
        out
    }

    /// The account's calls this month as the limiter counts them.
    pub fn month_count(&self, account: u128, now_ms: u64) -> u64 {
        read(&self.months)
            .get(&account)
            .map(|c| lock(c))
            .filter(|c| c.month == month::month_index(now_ms))
            .map_or(0, |c| c.count)
    }

    /// `key`'s minute window now, without counting anything; `None` before its first call.
    pub fn peek_minute(&self, key: u128, limit: u64, now_ms: u64) -> Option<WindowState> {
        read(&self.minute)
            .get(&key)
            .map(|log| lock(log).peek(now_ms, limit))
    }

    /// Forgets minute windows of deleted keys.
    pub fn forget_keys(&self, keys: &[u128]) {
        let mut m = write(&self.minute);
        for k in keys {
            m.remove(k);
        }
    }
}

// A poisoned lock means a panic elsewhere mid-update of plain counters; serving on is safer
// than refusing every request.
fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

fn lock<T>(l: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    l.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(plan: Plan) -> Policy {
        let mut plans = BTreeMap::new();
        plans.insert("default".to_string(), plan);
        let p = Policy::new(plans, vec![]);
        p.set_account(
            1,
            AccountState {
                plan: "default".into(),
                disabled: false,
                allowed_ips: vec![],
            },
        );
        p
    }

    fn ip() -> IpAddr {
        "127.0.0.1".parse().unwrap()
    }

    #[test]
    fn month_quota_counts_only_admitted_calls() {
        let p = policy(Plan {
            requests_per_minute: 2,
            calls_per_month: Quota::Max(3),
            ..Plan::builtin_default()
        });
        assert!(p.admit(10, 1, ip(), 1_000).denied.is_none());
        assert!(p.admit(10, 1, ip(), 1_001).denied.is_none());
        assert_eq!(p.admit(10, 1, ip(), 1_002).denied, Some(Denied::Minute));
        let d = p.admit(11, 1, ip(), 1_003);
        assert!(d.denied.is_none());
        assert_eq!(d.usage.unwrap().month.unwrap().remaining, 0);
        assert_eq!(p.admit(12, 1, ip(), 1_004).denied, Some(Denied::Month));
        assert_eq!(p.take_dirty_months(), vec![(1, 0, 3)]);
        assert!(p.take_dirty_months().is_empty());
    }

    #[test]
    fn account_rules_come_before_limits() {
        let p = policy(Plan::builtin_default());
        p.set_account(
            2,
            AccountState {
                plan: "default".into(),
                disabled: true,
                allowed_ips: vec![],
            },
        );
        assert_eq!(p.admit(1, 2, ip(), 0).denied, Some(Denied::AccountDisabled));
        p.set_account(
            3,
            AccountState {
                plan: "default".into(),
                disabled: false,
                allowed_ips: vec!["10.0.0.0/8".parse().unwrap()],
            },
        );
        assert!(matches!(
            p.admit(1, 3, ip(), 0).denied,
            Some(Denied::IpNotAllowed { .. })
        ));
        assert!(
            p.admit(1, 3, "10.1.2.3".parse().unwrap(), 0)
                .denied
                .is_none()
        );
        assert_eq!(p.admit(1, 99, ip(), 0).denied, Some(Denied::UnknownAccount));
    }
}
