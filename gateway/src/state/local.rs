//! In-process shared state for standalone mode (and the fallback while Redis is away): GCRA
//! buckets in one map.
//!
//! GCRA keeps one timestamp per bucket (the theoretical arrival time) and admits a full period's
//! worth of requests as a burst, so "N per minute" admits exactly N in any minute. A request's
//! buckets (key, tenant) are checked and taken together under one short lock — all or nothing —
//! and the lock is never held across an await.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Decision;

pub struct LocalState {
    origin: Instant,
    buckets: Mutex<HashMap<String, Duration>>,
}

impl Default for LocalState {
    fn default() -> Self {
        LocalState {
            origin: Instant::now(),
            buckets: Mutex::new(HashMap::new()),
        }
    }
}

impl LocalState {
    /// Takes one unit from every bucket `(key, limit per period)`, or from none.
    pub fn take_all(&self, buckets: &[(String, u32)], period: Duration) -> Decision {
        self.take_all_at(buckets, period, self.origin.elapsed())
    }

    fn take_all_at(&self, buckets: &[(String, u32)], period: Duration, now: Duration) -> Decision {
        // A poisoned lock only means another thread panicked mid-update of plain numbers.
        let mut state = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut updates = Vec::with_capacity(buckets.len());
        let mut remaining = u32::MAX;
        let mut reset = Duration::ZERO;
        let mut retry_after = None::<Duration>;
        for (key, limit) in buckets {
            let interval = period / (*limit).max(1);
            let tat = state.get(key).copied().unwrap_or(now).max(now);
            let new_tat = tat + interval;
            let allow_at = new_tat.saturating_sub(period);
            if now < allow_at {
                retry_after = Some(retry_after.unwrap_or_default().max(allow_at - now));
                continue;
            }
            let used = new_tat - now;
            remaining = remaining
                .min((period.saturating_sub(used).as_nanos() / interval.as_nanos().max(1)) as u32);
            reset = reset.max(used);
            updates.push((key, new_tat));
        }
        if let Some(retry_after) = retry_after {
            return Decision::Denied { retry_after };
        }
        for (key, new_tat) in updates {
            state.insert(key.clone(), new_tat);
        }
        Decision::Allowed { remaining, reset }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(key: &str, limit: u32) -> Vec<(String, u32)> {
        vec![(key.to_owned(), limit)]
    }

    #[test]
    fn admits_exactly_the_limit_then_refills_at_the_rate() {
        let state = LocalState::default();
        let minute = Duration::from_secs(60);
        let now = Duration::from_secs(100);
        for expected_remaining in (0..5).rev() {
            match state.take_all_at(&one("k", 5), minute, now) {
                Decision::Allowed { remaining, .. } => assert_eq!(remaining, expected_remaining),
                denied => panic!("expected allowed, got {denied:?}"),
            }
        }
        let Decision::Denied { retry_after } = state.take_all_at(&one("k", 5), minute, now) else {
            panic!("the sixth request must be denied");
        };
        assert_eq!(retry_after, Duration::from_secs(12));
        assert!(matches!(
            state.take_all_at(&one("k", 5), minute, now + retry_after),
            Decision::Allowed { .. }
        ));
        assert!(matches!(
            state.take_all_at(&one("other", 5), minute, now),
            Decision::Allowed { .. }
        ));
    }

    #[test]
    fn buckets_are_taken_all_or_nothing() {
        let state = LocalState::default();
        let minute = Duration::from_secs(60);
        let now = Duration::from_secs(100);
        let both = vec![("key".to_owned(), 10), ("tenant".to_owned(), 1)];
        assert!(matches!(
            state.take_all_at(&both, minute, now),
            Decision::Allowed { remaining: 0, .. }
        ));
        assert!(matches!(
            state.take_all_at(&both, minute, now),
            Decision::Denied { .. }
        ));
        // The denied attempt took nothing from the key's own bucket: 9 remain.
        assert!(matches!(
            state.take_all_at(&one("key", 10), minute, now),
            Decision::Allowed { remaining: 8, .. }
        ));
    }
}
