//! The per-key minute limit: a sliding-window log. It keeps the admissions of the last 60
//! seconds, so it never admits more than `limit` in ANY 60-second window (a counter or GCRA can
//! admit up to twice the limit across a window edge).
//!
//! Admissions are logged in 10 ms buckets, each stamped with the END of its interval: a request
//! is treated as if admitted up to 10 ms later than it was, so it stays in the window at least
//! as long as it really should. The guarantee is therefore kept exactly (a slot frees at most
//! 10 ms late), while memory per key is bounded by 6,000 buckets whatever the limit — a log of
//! single timestamps would hold up to `limit` of them, megabytes for a high-volume key.

use std::collections::VecDeque;

pub const WINDOW_MS: u64 = 60_000;
const BUCKET_MS: u64 = 10;

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
    /// (end of the bucket's interval, admissions in it), oldest first.
    buckets: VecDeque<(u64, u64)>,
    /// Sum of the buckets' counts.
    total: u64,
}

impl SlidingLog {
    /// Admits the request at `now_ms` if fewer than `limit` were admitted in the 60 s before it.
    pub fn try_admit(&mut self, now_ms: u64, limit: u64) -> (bool, WindowState) {
        self.expire(now_ms);
        // A lowered limit (plan change) takes effect at once: forget the oldest excess.
        while self.total > limit {
            let Some(front) = self.buckets.front_mut() else {
                break;
            };
            let drop = front.1.min(self.total - limit);
            front.1 -= drop;
            self.total -= drop;
            if front.1 == 0 {
                self.buckets.pop_front();
            }
        }
        let ok = self.total < limit;
        if ok {
            let end = (now_ms / BUCKET_MS + 1) * BUCKET_MS;
            match self.buckets.back_mut() {
                // Same bucket, or a clock that stepped back: count it in the newest bucket,
                // which is the later (so the safe) stamp.
                Some(back) if back.0 >= end => back.1 += 1,
                _ => self.buckets.push_back((end, 1)),
            }
            self.total += 1;
        }
        (ok, self.state(now_ms, limit))
    }

    /// The window as it stands, without admitting anything.
    pub fn peek(&mut self, now_ms: u64, limit: u64) -> WindowState {
        self.expire(now_ms);
        self.state(now_ms, limit)
    }

    fn expire(&mut self, now_ms: u64) {
        while let Some(&(end, count)) = self.buckets.front() {
            if end + WINDOW_MS > now_ms {
                break;
            }
            self.total -= count;
            self.buckets.pop_front();
        }
    }

    fn state(&self, now_ms: u64, limit: u64) -> WindowState {
        WindowState {
            limit,
            remaining: limit.saturating_sub(self.total),
            reset_ms: self
                .buckets
                .front()
                .map_or(now_ms, |&(end, _)| end + WINDOW_MS),
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
        // Stamped with the end of its 10 ms bucket.
        assert_eq!(s.reset_ms, 61_010);
        assert!(!w.try_admit(61_009, 2).0);
        assert!(w.try_admit(61_010, 2).0);
    }

    #[test]
    fn never_more_than_limit_under_dense_traffic() {
        // Several requests per millisecond, admission times recorded exactly by the test.
        let mut w = SlidingLog::default();
        let limit = 1_000;
        let mut admitted = Vec::new();
        for t in 0..200_000u64 {
            for _ in 0..(t % 3) {
                if w.try_admit(t, limit).0 {
                    admitted.push(t);
                }
            }
        }
        let mut lo = 0;
        for hi in 0..admitted.len() {
            while admitted[lo] + WINDOW_MS <= admitted[hi] {
                lo += 1;
            }
            assert!(
                (hi - lo + 1) as u64 <= limit,
                "window ending at {}",
                admitted[hi]
            );
        }
        // Bounded memory: at most one bucket per 10 ms of the window.
        assert!(w.buckets.len() <= (WINDOW_MS / BUCKET_MS) as usize);
        // And the limit is used, not just respected: about one full window per minute.
        assert!(admitted.len() as u64 >= 3 * limit);
    }

    #[test]
    fn a_clock_step_back_never_frees_slots() {
        let mut w = SlidingLog::default();
        assert!(w.try_admit(100_000, 2).0);
        assert!(w.try_admit(50_000, 2).0);
        assert!(!w.try_admit(100_001, 2).0);
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
