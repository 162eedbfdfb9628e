//! Failed authentications counted per client address, so that guessing keys from one address is
//! throttled while valid credentials from it keep working. In memory only: a restart forgets the
//! counts, which costs an attacker nothing they could not get by waiting a minute.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;

/// Length of one counting window.
const WINDOW_MS: u64 = 60_000;
/// Addresses tracked at once. Past it, expired windows are dropped; if every window is still
/// live, new addresses go uncounted rather than growing memory without bound.
const MAX_TRACKED: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    start_ms: u64,
    failures: u32,
}

pub struct AuthFailures {
    per_minute: u32,
    windows: Mutex<HashMap<IpAddr, Window>>,
}

impl AuthFailures {
    /// `per_minute` = 0 turns the throttle off.
    pub fn new(per_minute: u32) -> AuthFailures {
        AuthFailures {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one failed authentication from `ip`. Returns the seconds to wait when the address
    /// has now failed more than its limit in the current window.
    pub fn record(&self, ip: IpAddr, now_ms: u64) -> Option<u64> {
        if self.per_minute == 0 {
            return None;
        }
        let key = subject(ip);
        let mut windows = match self.windows.lock() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        };
        if windows.len() >= MAX_TRACKED && !windows.contains_key(&key) {
            windows.retain(|_, w| now_ms < w.start_ms + WINDOW_MS);
            if windows.len() >= MAX_TRACKED {
                return None;
            }
        }
        let w = windows.entry(key).or_insert(Window {
            start_ms: now_ms,
            failures: 0,
        });
        if now_ms >= w.start_ms + WINDOW_MS {
            *w = Window {
                start_ms: now_ms,
                failures: 0,
            };
        }
        w.failures = w.failures.saturating_add(1);
        (w.failures > self.per_minute).then(|| {
            (w.start_ms + WINDOW_MS)
                .saturating_sub(now_ms)
                .div_ceil(1000)
                .max(1)
        })
    }
}

/// What is counted: an IPv4 address, or the /64 an IPv6 address belongs to (one host usually
/// holds a whole /64, so counting single IPv6 addresses would count nothing).
fn subject(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let masked = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(masked))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_past_the_limit_are_throttled_until_the_window_ends() {
        let f = AuthFailures::new(3);
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(f.record(ip, 1_000), None);
        }
        assert_eq!(f.record(ip, 1_000), Some(60));
        assert_eq!(f.record(ip, 31_000), Some(30));
        // Another address is not affected.
        assert_eq!(f.record("192.0.2.8".parse().unwrap(), 31_000), None);
        // A new window starts clean.
        assert_eq!(f.record(ip, 61_000), None);
    }

    #[test]
    fn ipv6_addresses_count_per_64() {
        let f = AuthFailures::new(1);
        assert_eq!(f.record("2001:db8::1".parse().unwrap(), 0), None);
        assert!(f.record("2001:db8::ffff".parse().unwrap(), 0).is_some());
        assert_eq!(f.record("2001:db8:0:1::1".parse().unwrap(), 0), None);
        // An IPv4-mapped address counts as the IPv4 address.
        assert_eq!(f.record("::ffff:192.0.2.1".parse().unwrap(), 0), None);
        assert!(f.record("192.0.2.1".parse().unwrap(), 0).is_some());
    }

    #[test]
    fn zero_turns_the_throttle_off() {
        let f = AuthFailures::new(0);
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        assert!((0..1000).all(|_| f.record(ip, 0).is_none()));
    }
}
