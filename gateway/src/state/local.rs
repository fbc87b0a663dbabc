//! In-process shared state for standalone mode (and the fallback while Redis is away).
//!
//! Rate limits are GCRA buckets: one timestamp per bucket (the theoretical arrival time), which
//! admits a full minute's worth as a burst, so "N per minute" admits exactly N in any minute; a
//! request of `cost` units moves it `cost` intervals. Concurrency leases are sets of lease ids
//! with an expiry; budgets are micro-dollar counters that expire at the end of their period. A
//! request's whole charge is checked and taken under one short lock — all or nothing — and the
//! lock is never held across an await. The Redis scripts do the same steps in the same order.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Charge, Crossing, RATE_PERIOD, RateStatus, Usage, Verdict};

enum Entry {
    /// A rate bucket's theoretical arrival time.
    Tat(Duration),
    /// Lease id → expiry.
    Leases(HashMap<String, Duration>),
    Counter {
        value: u64,
        expires: Duration,
    },
    /// An alert already reported this period.
    Marker {
        expires: Duration,
    },
}

/// Entries past this count trigger a sweep of expired ones.
const SWEEP_AT: usize = 4096;

pub struct LocalState {
    origin: Instant,
    entries: Mutex<HashMap<String, Entry>>,
}

impl Default for LocalState {
    fn default() -> Self {
        LocalState {
            origin: Instant::now(),
            entries: Mutex::new(HashMap::new()),
        }
    }
}

fn interval(per_minute: u64) -> Duration {
    (RATE_PERIOD / u32::try_from(per_minute.max(1)).unwrap_or(u32::MAX))
        .max(Duration::from_nanos(1))
}

impl LocalState {
    pub fn admit(&self, charge: &Charge) -> Verdict {
        self.admit_at(charge, self.origin.elapsed())
    }

    pub fn settle(&self, charge: &Charge, used: Usage, thresholds: &[u32]) -> Vec<Crossing> {
        self.settle_at(charge, used, thresholds, self.origin.elapsed())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A poisoned lock only means another thread panicked mid-update of plain numbers.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn admit_at(&self, charge: &Charge, now: Duration) -> Verdict {
        let mut entries = self.lock();
        if entries.len() > SWEEP_AT {
            sweep(&mut entries, now);
        }
        let mut rates = Vec::with_capacity(charge.rates.len());
        let mut new_tats = Vec::with_capacity(charge.rates.len());
        for (index, rate) in charge.rates.iter().enumerate() {
            let interval = interval(rate.per_minute);
            let tat = match entries.get(&rate.bucket) {
                Some(Entry::Tat(tat)) => (*tat).max(now),
                _ => now,
            };
            let new_tat = tat + interval * u32::try_from(rate.cost).unwrap_or(u32::MAX);
            let allow_at = new_tat.saturating_sub(RATE_PERIOD);
            if now < allow_at {
                return Verdict::RateLimited {
                    index,
                    retry_after: allow_at - now,
                };
            }
            let used = new_tat - now;
            rates.push(RateStatus {
                remaining: (RATE_PERIOD.saturating_sub(used).as_nanos() / interval.as_nanos())
                    as u64,
                reset: used,
            });
            new_tats.push(new_tat);
        }
        for (index, lease) in charge.leases.iter().enumerate() {
            if let Some(Entry::Leases(holders)) = entries.get_mut(&lease.bucket) {
                holders.retain(|_, expires| *expires > now);
                if holders.len() >= lease.limit as usize {
                    return Verdict::Concurrency { index };
                }
            }
        }
        let mut budgets = Vec::with_capacity(charge.budgets.len());
        for (index, budget) in charge.budgets.iter().enumerate() {
            let spent = counter(&entries, &budget.bucket, now);
            let reserved = spent.saturating_add(budget.amount);
            if spent >= budget.limit || reserved > budget.limit {
                return Verdict::OverBudget { index, spent };
            }
            budgets.push(reserved);
        }
        for (rate, new_tat) in charge.rates.iter().zip(new_tats) {
            entries.insert(rate.bucket.clone(), Entry::Tat(new_tat));
        }
        for lease in &charge.leases {
            let entry = entries
                .entry(lease.bucket.clone())
                .or_insert_with(|| Entry::Leases(HashMap::new()));
            if let Entry::Leases(holders) = entry {
                holders.insert(charge.lease_id.clone(), now + charge.lease_ttl);
            }
        }
        for (budget, spent) in charge.budgets.iter().zip(&budgets) {
            entries.insert(
                budget.bucket.clone(),
                Entry::Counter {
                    value: *spent,
                    expires: now + budget.ttl,
                },
            );
        }
        Verdict::Admitted {
            rates,
            budgets,
            local: true,
        }
    }

    fn settle_at(
        &self,
        charge: &Charge,
        used: Usage,
        thresholds: &[u32],
        now: Duration,
    ) -> Vec<Crossing> {
        let mut entries = self.lock();
        for rate in charge
            .rates
            .iter()
            .filter(|rate| rate.cost != used.of(rate))
        {
            if let Some(Entry::Tat(tat)) = entries.get_mut(&rate.bucket) {
                let step = interval(rate.per_minute);
                let units = |n: u64| step * u32::try_from(n).unwrap_or(u32::MAX);
                let used = used.of(rate);
                *tat = if used > rate.cost {
                    *tat + units(used - rate.cost)
                } else {
                    tat.saturating_sub(units(rate.cost - used)).max(now)
                };
            }
        }
        for lease in &charge.leases {
            if let Some(Entry::Leases(holders)) = entries.get_mut(&lease.bucket) {
                holders.remove(&charge.lease_id);
            }
        }
        let mut crossings = Vec::new();
        for (index, budget) in charge.budgets.iter().enumerate() {
            let spent = counter(&entries, &budget.bucket, now)
                .saturating_add(used.of_budget(budget))
                .saturating_sub(budget.amount);
            entries.insert(
                budget.bucket.clone(),
                Entry::Counter {
                    value: spent,
                    expires: now + budget.ttl,
                },
            );
            for &percent in thresholds {
                if u128::from(spent) * 100 < u128::from(budget.limit) * u128::from(percent) {
                    continue;
                }
                let marker = format!("{}:alert:{percent}", budget.bucket);
                if matches!(entries.get(&marker), Some(Entry::Marker { expires }) if *expires > now)
                {
                    continue;
                }
                entries.insert(
                    marker,
                    Entry::Marker {
                        expires: now + budget.ttl,
                    },
                );
                crossings.push(Crossing {
                    budget: index,
                    percent,
                    spent,
                });
            }
        }
        crossings
    }
}

fn counter(entries: &HashMap<String, Entry>, bucket: &str, now: Duration) -> u64 {
    match entries.get(bucket) {
        Some(Entry::Counter { value, expires }) if *expires > now => *value,
        _ => 0,
    }
}

fn sweep(entries: &mut HashMap<String, Entry>, now: Duration) {
    entries.retain(|_, entry| match entry {
        Entry::Tat(tat) => *tat > now,
        Entry::Leases(holders) => {
            holders.retain(|_, expires| *expires > now);
            !holders.is_empty()
        }
        Entry::Counter { expires, .. } | Entry::Marker { expires } => *expires > now,
    });
}

#[cfg(test)]
mod tests {
    use super::super::{BudgetCharge, LeaseCharge, LimitKind, RateCharge};
    use super::*;

    fn rate(bucket: &str, kind: LimitKind, per_minute: u64, cost: u64) -> RateCharge {
        RateCharge {
            bucket: bucket.to_owned(),
            kind,
            per_minute,
            cost,
        }
    }

    fn requests(buckets: &[(&str, u64)]) -> Charge {
        Charge {
            rates: buckets
                .iter()
                .map(|(bucket, limit)| rate(bucket, LimitKind::Requests, *limit, 1))
                .collect(),
            ..Charge::default()
        }
    }

    fn remaining(verdict: Verdict) -> u64 {
        match verdict {
            Verdict::Admitted { rates, .. } => rates
                .iter()
                .map(|rate| rate.remaining)
                .min()
                .unwrap_or(u64::MAX),
            denied => panic!("expected admitted, got {denied:?}"),
        }
    }

    #[test]
    fn admits_exactly_the_limit_then_refills_at_the_rate() {
        let state = LocalState::default();
        let now = Duration::from_secs(100);
        for expected in (0..5).rev() {
            assert_eq!(
                remaining(state.admit_at(&requests(&[("k", 5)]), now)),
                expected
            );
        }
        let Verdict::RateLimited { retry_after, .. } = state.admit_at(&requests(&[("k", 5)]), now)
        else {
            panic!("the sixth request must be denied");
        };
        assert_eq!(retry_after, Duration::from_secs(12));
        remaining(state.admit_at(&requests(&[("k", 5)]), now + retry_after));
        remaining(state.admit_at(&requests(&[("other", 5)]), now));
    }

    #[test]
    fn a_charge_is_taken_all_or_nothing() {
        let state = LocalState::default();
        let now = Duration::from_secs(100);
        let both = requests(&[("key", 10), ("tenant", 1)]);
        assert_eq!(remaining(state.admit_at(&both, now)), 0);
        assert!(matches!(
            state.admit_at(&both, now),
            Verdict::RateLimited { index: 1, .. }
        ));
        // The denied attempt took nothing from the key's own bucket: 9 remain, 8 after this.
        assert_eq!(remaining(state.admit_at(&requests(&[("key", 10)]), now)), 8);
    }

    #[test]
    fn token_buckets_are_corrected_by_the_real_usage() {
        let state = LocalState::default();
        let now = Duration::from_secs(100);
        let charge = Charge {
            rates: vec![rate("tpm", LimitKind::Tokens, 1000, 600)],
            ..Charge::default()
        };
        assert_eq!(remaining(state.admit_at(&charge, now)), 400);
        // The request used 100 tokens, not 600: 500 come back.
        state.settle_at(&charge, Usage::used(100, 0), &[], now);
        assert_eq!(remaining(state.admit_at(&charge, now)), 300);
        // This one used 900: the bucket is overdrawn and the next estimate must wait.
        state.settle_at(&charge, Usage::used(900, 0), &[], now);
        assert!(matches!(
            state.admit_at(&charge, now),
            Verdict::RateLimited { .. }
        ));
    }

    #[test]
    fn leases_bound_concurrency_until_released_or_expired() {
        let state = LocalState::default();
        let now = Duration::from_secs(100);
        let lease = |id: &str| Charge {
            lease_id: id.to_owned(),
            lease_ttl: Duration::from_secs(30),
            leases: vec![LeaseCharge {
                bucket: "c".to_owned(),
                limit: 2,
            }],
            ..Charge::default()
        };
        assert!(matches!(
            state.admit_at(&lease("a"), now),
            Verdict::Admitted { .. }
        ));
        assert!(matches!(
            state.admit_at(&lease("b"), now),
            Verdict::Admitted { .. }
        ));
        assert_eq!(
            state.admit_at(&lease("c"), now),
            Verdict::Concurrency { index: 0 }
        );
        state.settle_at(&lease("a"), Usage::used(0, 0), &[], now);
        assert!(matches!(
            state.admit_at(&lease("c"), now),
            Verdict::Admitted { .. }
        ));
        // Holders that never release (a crashed node) expire.
        let later = now + Duration::from_secs(31);
        assert!(matches!(
            state.admit_at(&lease("d"), later),
            Verdict::Admitted { .. }
        ));
    }

    #[test]
    fn budgets_reserve_settle_and_alert_once() {
        let state = LocalState::default();
        let now = Duration::from_secs(100);
        let charge = Charge {
            budgets: vec![BudgetCharge {
                bucket: "b".to_owned(),
                limit: 1000,
                amount: 400,
                ttl: Duration::from_secs(3600),
            }],
            ..Charge::default()
        };
        let admitted = |verdict| matches!(verdict, Verdict::Admitted { .. });
        assert!(admitted(state.admit_at(&charge, now)));
        assert!(admitted(state.admit_at(&charge, now)));
        // 800 reserved: a third reservation of 400 would pass the limit.
        assert_eq!(
            state.admit_at(&charge, now),
            Verdict::OverBudget {
                index: 0,
                spent: 800
            }
        );
        // The first request cost 450 (800 - 400 + 450 = 850): the 80% alert fires once.
        let crossings = state.settle_at(&charge, Usage::used(0, 450), &[80, 90], now);
        assert_eq!(
            crossings,
            vec![Crossing {
                budget: 0,
                percent: 80,
                spent: 850
            }]
        );
        // The second cost 10: 460 spent, no new alert even though 80% was already passed.
        assert!(
            state
                .settle_at(&charge, Usage::used(0, 10), &[80, 90], now)
                .is_empty()
        );
        assert!(admitted(state.admit_at(&charge, now)));
        // The period ends: the counter starts again.
        assert!(admitted(
            state.admit_at(&charge, now + Duration::from_secs(3601))
        ));
    }

    #[test]
    fn an_absurd_estimate_is_refused_without_touching_the_counter() {
        let state = LocalState::default();
        let now = Duration::from_secs(100);
        let budget = |amount| Charge {
            budgets: vec![BudgetCharge {
                bucket: "b".to_owned(),
                limit: 1000,
                amount,
                ttl: Duration::from_secs(3600),
            }],
            ..Charge::default()
        };
        assert!(matches!(
            state.admit_at(&budget(600), now),
            Verdict::Admitted { .. }
        ));
        assert_eq!(
            state.admit_at(&budget(u64::MAX), now),
            Verdict::OverBudget {
                index: 0,
                spent: 600
            }
        );
        state.settle_at(&budget(600), Usage::used(0, u64::MAX), &[], now);
        assert_eq!(
            state.admit_at(&budget(1), now),
            Verdict::OverBudget {
                index: 0,
                spent: u64::MAX - 600
            }
        );
    }

    #[test]
    fn settling_as_charged_keeps_each_bucket_as_it_was_taken() {
        let state = LocalState::default();
        let now = Duration::from_secs(100);
        // One estimate of 500 tokens, clamped differently by two buckets.
        let charge = Charge {
            rates: vec![
                rate("small", LimitKind::Tokens, 200, 200),
                rate("large", LimitKind::Tokens, 1000, 500),
            ],
            ..Charge::default()
        };
        assert!(matches!(
            state.admit_at(&charge, now),
            Verdict::Admitted { .. }
        ));
        state.settle_at(&charge, Usage::AS_CHARGED, &[], now);
        let probe = |bucket: &str, limit: u64| Charge {
            rates: vec![rate(bucket, LimitKind::Tokens, limit, 1)],
            ..Charge::default()
        };
        assert!(matches!(
            state.admit_at(&probe("small", 200), now),
            Verdict::RateLimited { .. }
        ));
        assert_eq!(remaining(state.admit_at(&probe("large", 1000), now)), 499);
    }
}
