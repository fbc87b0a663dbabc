//! In-process shared state for standalone mode: GCRA buckets in a sharded map.
//!
//! GCRA keeps one timestamp per bucket (the theoretical arrival time) and admits a full
//! period's worth of requests as a burst, so "N per minute" admits exactly N in any minute.
//! Locks are held for a few arithmetic operations and never across an await.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Decision;

const SHARDS: usize = 16;

pub struct LocalState {
    origin: Instant,
    hasher: RandomState,
    shards: Vec<Mutex<HashMap<String, Duration>>>,
}

impl Default for LocalState {
    fn default() -> Self {
        LocalState {
            origin: Instant::now(),
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }
}

impl LocalState {
    pub fn take(&self, key: &str, limit: u32, period: Duration) -> Decision {
        self.take_at(key, limit, period, self.origin.elapsed())
    }

    fn take_at(&self, key: &str, limit: u32, period: Duration, now: Duration) -> Decision {
        let limit = limit.max(1);
        let interval = period / limit;
        let shard = &self.shards[self.hasher.hash_one(key) as usize % SHARDS];
        // A poisoned shard only means another thread panicked mid-update of plain numbers.
        let mut buckets = shard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let tat = buckets.get(key).copied().unwrap_or(now).max(now);
        let new_tat = tat + interval;
        let allow_at = new_tat.saturating_sub(period);
        if now < allow_at {
            return Decision::Denied {
                retry_after: allow_at - now,
            };
        }
        buckets.insert(key.to_owned(), new_tat);
        let used = new_tat - now;
        let remaining =
            (period.saturating_sub(used).as_nanos() / interval.as_nanos().max(1)) as u32;
        Decision::Allowed {
            remaining,
            reset: used,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_exactly_the_limit_then_refills_at_the_rate() {
        let state = LocalState::default();
        let minute = Duration::from_secs(60);
        let now = Duration::from_secs(100);
        for expected_remaining in (0..5).rev() {
            match state.take_at("k", 5, minute, now) {
                Decision::Allowed { remaining, .. } => assert_eq!(remaining, expected_remaining),
                denied => panic!("expected allowed, got {denied:?}"),
            }
        }
        let Decision::Denied { retry_after } = state.take_at("k", 5, minute, now) else {
            panic!("the sixth request must be denied");
        };
        assert_eq!(retry_after, Duration::from_secs(12));
        assert!(matches!(
            state.take_at("k", 5, minute, now + retry_after),
            Decision::Allowed { .. }
        ));
        assert!(matches!(
            state.take_at("other", 5, minute, now),
            Decision::Allowed { .. }
        ));
    }
}
