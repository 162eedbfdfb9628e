//! Calls and analyses per key and UTC day, for usage charts. Counted in memory beside the month
//! quota and written in batches with it; the database adds the batches up.

use std::collections::HashMap;

const DAY_MS: u64 = 86_400_000;

/// Days since 1970-01-01 (UTC).
pub fn day_index(now_ms: u64) -> u32 {
    u32::try_from(now_ms / DAY_MS).unwrap_or(u32::MAX)
}

/// One key's counts for one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayCount {
    pub account: u128,
    pub key: u128,
    pub day: u32,
    pub requests: u64,
    pub analyses: u64,
}

/// Counts not yet written: (key, day) → (requests, analyses). Holds at most the keys active
/// since the last write (a second), so it stays small.
#[derive(Debug, Default)]
pub struct Pending(HashMap<(u128, u32), (u64, u64)>);

impl Pending {
    pub fn count(&mut self, key: u128, day: u32, requests: u64, analyses: u64) {
        let e = self.0.entry((key, day)).or_default();
        e.0 = e.0.saturating_add(requests);
        e.1 = e.1.saturating_add(analyses);
    }

    pub fn drain_into(&mut self, account: u128, out: &mut Vec<DayCount>) {
        out.extend(self.0.drain().map(|((key, day), (r, a))| DayCount {
            account,
            key,
            day,
            requests: r,
            analyses: a,
        }));
    }

    pub fn copy_into(&self, account: u128, out: &mut Vec<DayCount>) {
        out.extend(self.0.iter().map(|(&(key, day), &(r, a))| DayCount {
            account,
            key,
            day,
            requests: r,
            analyses: a,
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_per_key_and_day_and_drain() {
        let mut p = Pending::default();
        p.count(7, 100, 1, 0);
        p.count(7, 100, 1, 1);
        p.count(7, 101, 1, 0);
        p.count(8, 100, 0, 1);
        let mut out = Vec::new();
        p.drain_into(1, &mut out);
        out.sort_by_key(|c| (c.key, c.day));
        assert_eq!(out.len(), 3);
        assert_eq!((out[0].requests, out[0].analyses), (2, 1));
        assert_eq!((out[1].day, out[1].requests), (101, 1));
        assert_eq!((out[2].key, out[2].analyses), (8, 1));
        let mut again = Vec::new();
        p.drain_into(1, &mut again);
        assert!(again.is_empty());
    }

    #[test]
    fn day_index_is_utc_days_since_the_epoch() {
        assert_eq!(day_index(0), 0);
        assert_eq!(day_index(86_399_999), 0);
        assert_eq!(day_index(86_400_000), 1);
    }
}
