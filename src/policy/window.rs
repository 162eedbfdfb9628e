//! The per-key minute limit: a sliding-window log. It keeps the admission time of every request
//! in the last 60 seconds, so it never admits more than `limit` in ANY 60-second window (a
//! counter or GCRA can admit up to twice the limit across a window edge). Memory per key is at
//! most `limit` timestamps.

use std::collections::VecDeque;

pub const WINDOW_MS: u64 = 60_000;

/// The state of one window after a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowState {
    pub limit: u64,
    pub remaining: u64,
    /// When the oldest admission leaves the window (Unix ms): the next free slot.
    pub reset_ms: u64,
}

#[derive(Debug, Default)]
pub struct SlidingLog {
    admitted: VecDeque<u64>,
}

impl SlidingLog {
    /// Admits the request at `now_ms` if fewer than `limit` were admitted in the 60 s before it.
    pub fn try_admit(&mut self, now_ms: u64, limit: u64) -> (bool, WindowState) {
        self.expire(now_ms);
        // A lowered limit (plan change) takes effect at once: drop the oldest excess.
        while self.admitted.len() as u64 > limit {
            self.admitted.pop_front();
        }
        let ok = (self.admitted.len() as u64) < limit;
        if ok {
            self.admitted.push_back(now_ms);
        }
        (ok, self.state(now_ms, limit))
    }

    /// The window as it stands, without admitting anything.
    pub fn peek(&mut self, now_ms: u64, limit: u64) -> WindowState {
        self.expire(now_ms);
        self.state(now_ms, limit)
    }

    fn expire(&mut self, now_ms: u64) {
        while self
            .admitted
            .front()
            .is_some_and(|&t| t + WINDOW_MS <= now_ms)
        {
            self.admitted.pop_front();
        }
    }

    fn state(&self, now_ms: u64, limit: u64) -> WindowState {
        WindowState {
            limit,
            remaining: limit.saturating_sub(self.admitted.len() as u64),
            reset_ms: self.admitted.front().map_or(now_ms, |&t| t + WINDOW_MS),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_more_than_limit_in_any_window() {
        let mut w = SlidingLog::default();
        let limit = 5;
        let mut admitted = Vec::new();
        // Requests every 7 s for 5 minutes, in bursts of 3.
        for step in 0..43u64 {
            for _ in 0..3 {
                if w.try_admit(step * 7_000, limit).0 {
                    admitted.push(step * 7_000);
                }
            }
        }
        for (i, &t) in admitted.iter().enumerate() {
            let in_window = admitted[i..].iter().filter(|&&u| u < t + WINDOW_MS).count();
            assert!(
                in_window as u64 <= limit,
                "{in_window} in the window starting at {t}"
            );
        }
    }

    #[test]
    fn reset_is_when_the_oldest_admission_leaves() {
        let mut w = SlidingLog::default();
        assert!(w.try_admit(1_000, 2).0);
        let (_, s) = w.try_admit(2_000, 2);
        assert_eq!(s.remaining, 0);
        assert_eq!(s.reset_ms, 61_000);
        assert!(!w.try_admit(60_999, 2).0);
        assert!(w.try_admit(61_000, 2).0);
    }

    #[test]
    fn lowered_limit_applies_at_once() {
        let mut w = SlidingLog::default();
        for t in 0..10 {
            assert!(w.try_admit(t, 10).0);
        }
        assert!(!w.try_admit(11, 3).0);
        assert_eq!(w.peek(12, 3).remaining, 0);
    }
}
